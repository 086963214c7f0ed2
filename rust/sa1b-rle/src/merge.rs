//! Union / intersection of masks, run for run as cocoapi's `rleMerge`.

use crate::error::Result;
use crate::rle::{common_size, foreground_intervals_of, Rle};

/// Merges masks of one size into their union (or intersection), folding them in order
/// exactly as pycocotools does, so the run lists (including any zero-length runs it keeps)
/// are identical.
///
/// No masks give the 0x0 mask with no runs (pycocotools' `{'size': [0, 0], 'counts': b''}`).
///
/// # Errors
/// [`crate::Error::SizeMismatch`] with the index of the first mask whose size differs from
/// the first one's (pycocotools returns a 0x0 mask there).
///
/// # Examples
/// ```
/// use sa1b_rle::{merge, Rle};
/// let a = Rle::new(1, 6, vec![0, 2, 4]).unwrap();
/// let b = Rle::new(1, 6, vec![1, 2, 3]).unwrap();
/// assert_eq!(merge(&[a.clone(), b.clone()], false).unwrap().counts(), &[0, 3, 3]);
/// assert_eq!(merge(&[a, b], true).unwrap().counts(), &[1, 1, 4]);
/// ```
pub fn merge(rles: &[Rle], intersect: bool) -> Result<Rle> {
    let Some((h, w)) = common_size(rles)? else {
        return Ok(Rle::from_parts_unchecked(0, 0, Vec::new()));
    };
    let lists: Vec<&[u32]> = rles.iter().map(Rle::counts).collect();
    let acc = merge_runs(&lists, intersect).unwrap_or_default();
    Ok(Rle::from_parts_unchecked(h, w, acc))
}

/// cocoapi's fold of validated run lists of one size (`None` for no lists).
///
/// When every list is canonical (no zero-length run but a leading one) the fold's result
/// is the canonical union (intersection), which one pass per mask over foreground
/// intervals computes: each mask only touches the part of the accumulated intervals its
/// own span covers, the rest is copied. Other lists take cocoapi's run-by-run fold, which
/// keeps the zero-length runs it produces.
pub(crate) fn merge_runs(lists: &[&[u32]], intersect: bool) -> Option<Vec<u32>> {
    let (first, rest) = lists.split_first()?;
    if rest.is_empty() {
        return Some(first.to_vec());
    }
    if let Some(runs) = merge_canonical(first, rest, intersect) {
        return Some(runs);
    }
    let mut acc = first.to_vec();
    // Two buffers used in turn: no allocation per fold step once they have grown.
    let mut next = Vec::new();
    for r in rest {
        merge_pair(&acc, r, intersect, &mut next);
        std::mem::swap(&mut acc, &mut next);
    }
    Some(acc)
}

/// A foreground interval `[start, end)` of pixel indices.
type Interval = [u32; 2];

/// The foreground intervals of canonical runs (the running sums of the runs but a
/// trailing background one, in pairs) into `out`; `false` if the runs are not canonical.
fn intervals_into(runs: &[u32], out: &mut Vec<Interval>) -> bool {
    out.clear();
    if runs.is_empty() || runs[0] == 0 && runs.len() == 1 || runs[1..].contains(&0) {
        return false;
    }
    out.reserve(runs.len() / 2);
    out.extend(foreground_intervals_of(runs).map(|(s, e)| [s, e]));
    true
}

/// Runs of a mask of `total` pixels from its foreground intervals.
fn runs_of_intervals(iv: &[Interval], total: u32) -> Vec<u32> {
    let mut runs = Vec::with_capacity(2 * iv.len() + 1);
    let mut pos = 0;
    for &[s, e] in iv {
        runs.extend_from_slice(&[s - pos, e - s]);
        pos = e;
    }
    if pos < total || runs.is_empty() {
        runs.push(total - pos);
    }
    runs
}

/// The canonical merge of canonical lists (`None` if one is not canonical).
fn merge_canonical(first: &[u32], rest: &[&[u32]], intersect: bool) -> Option<Vec<u32>> {
    let total: u32 = first.iter().sum();
    let (mut acc, mut b, mut next) = (Vec::new(), Vec::new(), Vec::new());
    if !intervals_into(first, &mut acc) {
        return None;
    }
    for r in rest {
        if !intervals_into(r, &mut b) {
            return None;
        }
        let (Some(&[lo, _]), Some(&[_, hi])) = (b.first(), b.last()) else {
            // No foreground: the union is unchanged, the intersection empty.
            if intersect {
                acc.clear();
            }
            continue;
        };
        // The accumulated intervals that meet or touch b's span [lo, hi].
        let from = acc.partition_point(|iv| iv[1] < lo);
        let to = acc.partition_point(|iv| iv[0] <= hi);
        next.clear();
        if intersect {
            intersect_into(&acc[from..to], &b, &mut next);
        } else {
            next.extend_from_slice(&acc[..from]);
            union_into(&acc[from..to], &b, &mut next);
            next.extend_from_slice(&acc[to..]);
        }
        std::mem::swap(&mut acc, &mut next);
    }
    Some(runs_of_intervals(&acc, total))
}

/// The index of the first interval of `iv` after `i` that starts after `e`, where
/// `iv[i]` starts at or before it (intervals are sorted and disjoint): an exponential
/// search, since long stretches of one mask often fall inside one interval of the other.
fn first_start_after(iv: &[Interval], i: usize, e: u32) -> usize {
    let (mut lo, mut step) = (i + 1, 1);
    while lo + step <= iv.len() && iv[lo + step - 1][0] <= e {
        lo += step;
        step *= 2;
    }
    let hi = (lo + step - 1).min(iv.len());
    lo + iv[lo..hi].partition_point(|x| x[0] <= e)
}

/// Appends the union of two interval lists (touching intervals joined).
fn union_into(a: &[Interval], b: &[Interval], out: &mut Vec<Interval>) {
    out.reserve(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        let [s, mut e] = if j >= b.len() || (i < a.len() && a[i][0] <= b[j][0]) {
            i += 1;
            a[i - 1]
        } else {
            j += 1;
            b[j - 1]
        };
        // Everything starting inside (or right at the end of) the interval joins it;
        // the ends increase along each list, so the last one joined is the furthest.
        loop {
            if i < a.len() && a[i][0] <= e {
                i = first_start_after(a, i, e);
                e = e.max(a[i - 1][1]);
            } else if j < b.len() && b[j][0] <= e {
                j = first_start_after(b, j, e);
                e = e.max(b[j - 1][1]);
            } else {
                break;
            }
        }
        out.push([s, e]);
    }
}

/// Appends the intersection of two interval lists.
fn intersect_into(a: &[Interval], b: &[Interval], out: &mut Vec<Interval>) {
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        let s = a[i][0].max(b[j][0]);
        let e = a[i][1].min(b[j][1]);
        if s < e {
            out.push([s, e]);
        }
        if a[i][1] <= b[j][1] {
            i += 1;
        } else {
            j += 1;
        }
    }
}

fn merge_pair(a: &[u32], b: &[u32], intersect: bool, out: &mut Vec<u32>) {
    out.clear();
    out.reserve(a.len() + b.len());
    let mut ca = u64::from(a.first().copied().unwrap_or(0));
    let mut cb = u64::from(b.first().copied().unwrap_or(0));
    let (mut v, mut va, mut vb) = (false, false, false);
    let (mut ia, mut ib) = (1usize, 1usize);
    let mut cc = 0u64;
    loop {
        let c = ca.min(cb);
        cc += c;
        ca -= c;
        if ca == 0 && ia < a.len() {
            ca = u64::from(a[ia]);
            ia += 1;
            va = !va;
        }
        cb -= c;
        if cb == 0 && ib < b.len() {
            cb = u64::from(b[ib]);
            ib += 1;
            vb = !vb;
        }
        let done = ca + cb == 0;
        let vp = v;
        v = if intersect { va && vb } else { va || vb };
        if v != vp || done {
            out.push(cc as u32);
            cc = 0;
        }
        if done {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_cocoapi_zero_runs() {
        let a = Rle::new(1, 5, vec![3, 0, 2]).unwrap();
        let b = Rle::new(1, 5, vec![5]).unwrap();
        assert_eq!(merge(&[a, b], false).unwrap().counts(), &[3, 0, 2]);
    }

    /// The fold run by run, cocoapi's algorithm (the reference for the interval path).
    fn fold(lists: &[&[u32]], intersect: bool) -> Vec<u32> {
        let mut acc = lists[0].to_vec();
        let mut next = Vec::new();
        for r in &lists[1..] {
            merge_pair(&acc, r, intersect, &mut next);
            std::mem::swap(&mut acc, &mut next);
        }
        acc
    }

    #[test]
    fn interval_path_equals_cocoapi_fold() {
        let mut rnd = crate::test_support::rng(77);
        let mut canonical = 0;
        for round in 0..3000 {
            let (h, w) = (1 + rnd(12), 1 + rnd(12));
            let n = 2 + rnd(6) as usize;
            let b = crate::test_support::random_batch(&mut rnd, h, w, n);
            let mut lists: Vec<Vec<u32>> = (0..n).map(|i| b.runs(i).to_vec()).collect();
            if round % 5 == 0 {
                // A zero-length run inside: the fold must still be taken.
                let k = rnd(n as u64) as usize;
                lists[k].extend_from_slice(&[0, 0]);
            }
            let refs: Vec<&[u32]> = lists.iter().map(Vec::as_slice).collect();
            canonical += usize::from(merge_canonical(refs[0], &refs[1..], false).is_some());
            for intersect in [false, true] {
                assert_eq!(
                    merge_runs(&refs, intersect).unwrap(),
                    fold(&refs, intersect),
                    "{refs:?} {intersect}"
                );
            }
        }
        assert!(canonical > 1500, "{canonical}");
    }

    #[test]
    fn edge_cases() {
        assert_eq!(merge(&[], false).unwrap().size(), (0, 0));
        let a = Rle::new(2, 2, vec![1, 3]).unwrap();
        assert_eq!(merge(std::slice::from_ref(&a), true).unwrap(), a);
        let b = Rle::new(1, 4, vec![4]).unwrap();
        assert!(merge(&[a, b], false).is_err());
    }
}
