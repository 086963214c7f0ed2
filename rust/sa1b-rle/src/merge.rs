//! Union / intersection of masks, run for run as cocoapi's `rleMerge`.

use crate::error::Result;
use crate::rle::{common_size, Rle};

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
    let acc = merge_runs(rles.iter().map(Rle::counts), intersect).unwrap_or_default();
    Ok(Rle::from_parts_unchecked(h, w, acc))
}

/// cocoapi's fold of validated run lists of one size (`None` for no lists).
pub(crate) fn merge_runs<'a>(
    mut runs: impl Iterator<Item = &'a [u32]>,
    intersect: bool,
) -> Option<Vec<u32>> {
    let mut acc = runs.next()?.to_vec();
    // Two buffers used in turn: no allocation per fold step once they have grown.
    let mut next = Vec::new();
    for r in runs {
        merge_pair(&acc, r, intersect, &mut next);
        std::mem::swap(&mut acc, &mut next);
    }
    Some(acc)
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

    #[test]
    fn edge_cases() {
        assert_eq!(merge(&[], false).unwrap().size(), (0, 0));
        let a = Rle::new(2, 2, vec![1, 3]).unwrap();
        assert_eq!(merge(std::slice::from_ref(&a), true).unwrap(), a);
        let b = Rle::new(1, 4, vec![4]).unwrap();
        assert!(merge(&[a, b], false).is_err());
    }
}
