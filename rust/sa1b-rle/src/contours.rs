//! Masks to COCO polygons: pixel-edge contours, holes bridged into their outline.
//!
//! Every boundary between a foreground pixel and a background one (or the image's
//! edge) is an edge between two pixel corners; the edges link into closed loops
//! (outlines clockwise, holes anticlockwise, in image coordinates). pycocotools fills a
//! polygon by the parity of its boundary crossings in each column, so a hole joined to
//! its outline by a segment walked there and back (a "bridge", which adds no crossing
//! or two equal ones) stays empty: each 4-connected piece of the mask becomes one
//! polygon whose rasterisation is exactly the piece, holes included.

use std::collections::HashMap;

/// Corner `(x, y)`, `0 <= x <= width`, `0 <= y <= height`.
type Corner = (u32, u32);

/// The polygons of a row-major `height x width` mask (nonzero = foreground): one per
/// 4-connected piece, as COCO flat lists `[x0, y0, x1, y1, ...]` of pixel-corner
/// coordinates, holes bridged in. With `tolerance > 0` each loop is simplified
/// (Douglas-Peucker, in pixels) before bridging; at 0 only collinear corners are
/// dropped and `frPyObjects` + `merge` of the result gives back the mask exactly.
///
/// # Examples
/// ```
/// use sa1b_rle::contours::mask_to_polygons;
/// // A 2x2 block at rows 1-2, columns 1-2 of a 4x4 mask.
/// let m = [0, 0, 0, 0,
///          0, 1, 1, 0,
///          0, 1, 1, 0,
///          0, 0, 0, 0];
/// assert_eq!(mask_to_polygons(&m, 4, 4, 0.0).unwrap(), vec![vec![1.0, 1.0, 3.0, 1.0, 3.0, 3.0, 1.0, 3.0]]);
/// ```
///
/// # Errors
/// [`crate::Error::OutOfMemory`] when the work area (4 bytes a pixel) cannot be had.
pub fn mask_to_polygons(
    mask: &[u8],
    height: usize,
    width: usize,
    tolerance: f64,
) -> crate::Result<Vec<Vec<f64>>> {
    let (h, w) = (height, width);
    if Some(mask.len()) != h.checked_mul(w) || h == 0 || w == 0 {
        return Ok(Vec::new());
    }
    let fg = |x: i64, y: i64| {
        x >= 0
            && y >= 0
            && (x as usize) < w
            && (y as usize) < h
            && mask[y as usize * w + x as usize] != 0
    };
    // 4-connected pieces, to group each loop with the piece it bounds.
    let piece = pieces(mask, h, w)?;
    // Boundary edges (interior on the right walking along them), keyed by start corner,
    // each with the piece of the foreground pixel beside it.
    let mut out_edges: HashMap<Corner, Out> = HashMap::new();
    let mut order: Vec<Corner> = Vec::new();
    for y in 0..h as i64 {
        for x in 0..w as i64 {
            if !fg(x, y) {
                continue;
            }
            let p = piece[y as usize * w + x as usize];
            let (x0, y0, x1, y1) = (x as u32, y as u32, x as u32 + 1, y as u32 + 1);
            let mut add = |a: Corner, b: Corner| {
                out_edges.entry(a).or_default().push((b, p));
                order.push(a);
            };
            if !fg(x, y - 1) {
                add((x0, y0), (x1, y0));
            }
            if !fg(x + 1, y) {
                add((x1, y0), (x1, y1));
            }
            if !fg(x, y + 1) {
                add((x1, y1), (x0, y1));
            }
            if !fg(x - 1, y) {
                add((x0, y1), (x0, y0));
            }
        }
    }
    // Link the edges into loops. At a corner where two pieces touch diagonally, take
    // the edge of the piece being traced, so a loop never crosses into another piece.
    let mut loops: Vec<(u32, Vec<Corner>)> = Vec::new();
    for start in order {
        let Some(first) = out_edges.get_mut(&start).and_then(Out::pop) else {
            continue;
        };
        let p = first.1;
        let mut corners = vec![start];
        let mut at = first.0;
        while at != start {
            corners.push(at);
            let Some(next) = out_edges.get_mut(&at) else {
                break;
            };
            let Some(edge) = next.take_for(p) else {
                break;
            };
            at = edge.0;
        }
        loops.push((p, drop_collinear(&corners)));
    }
    // One polygon per piece: its outline first, then each hole bridged from the
    // outline's first corner and back.
    let mut by_piece: HashMap<u32, Vec<Vec<Corner>>> = HashMap::new();
    let mut pieces_order = Vec::new();
    for (p, corners) in loops {
        let corners = if tolerance > 0.0 {
            simplify(&corners, tolerance)
        } else {
            corners
        };
        if corners.len() < 3 {
            continue;
        }
        let entry = by_piece.entry(p).or_default();
        if entry.is_empty() {
            pieces_order.push(p);
        }
        // The outline (clockwise: positive area in image coordinates) goes first.
        if signed_area(&corners) > 0 {
            entry.insert(0, corners);
        } else {
            entry.push(corners);
        }
    }
    Ok(pieces_order
        .into_iter()
        .filter_map(|p| by_piece.remove(&p))
        .map(|group| bridged(&group))
        .collect())
}

/// One flat polygon of a piece's loops (outline first): each hole entered from the
/// outline's first corner and left back to it.
fn bridged(group: &[Vec<Corner>]) -> Vec<f64> {
    let mut poly: Vec<f64> = Vec::new();
    let anchor = group[0][0];
    for (k, lp) in group.iter().enumerate() {
        for &(x, y) in lp {
            poly.extend([f64::from(x), f64::from(y)]);
        }
        // Close the loop, then (for holes) walk back to the anchor.
        if k > 0 {
            poly.extend([f64::from(lp[0].0), f64::from(lp[0].1)]);
            poly.extend([f64::from(anchor.0), f64::from(anchor.1)]);
        } else if group.len() > 1 {
            poly.extend([f64::from(anchor.0), f64::from(anchor.1)]);
        }
    }
    poly
}

/// The (at most two) unused edges leaving a corner, with their pieces.
#[derive(Default, Clone, Copy)]
struct Out {
    edges: [(Corner, u32); 2],
    len: u8,
}

impl Out {
    fn push(&mut self, e: (Corner, u32)) {
        // A corner has at most two boundary edges leaving it (four pixels meet there).
        if (self.len as usize) < 2 {
            self.edges[self.len as usize] = e;
            self.len += 1;
        }
    }

    fn pop(&mut self) -> Option<(Corner, u32)> {
        (self.len > 0).then(|| {
            self.len -= 1;
            self.edges[self.len as usize]
        })
    }

    /// An edge of piece `p` if there is one, else any.
    fn take_for(&mut self, p: u32) -> Option<(Corner, u32)> {
        if self.len == 2 && self.edges[0].1 == p && self.edges[1].1 != p {
            self.edges.swap(0, 1);
        }
        self.pop()
    }
}

/// Labels of the 4-connected foreground pieces (0 for background), row-major.
fn pieces(mask: &[u8], h: usize, w: usize) -> crate::Result<Vec<u32>> {
    let mut label: Vec<u32> = crate::alloc::zeroed(h * w, "polygon tracing")?;
    let mut next = 0u32;
    let mut stack = Vec::new();
    for s in 0..h * w {
        if mask[s] == 0 || label[s] != 0 {
            continue;
        }
        next += 1;
        label[s] = next;
        stack.push(s);
        while let Some(p) = stack.pop() {
            let (y, x) = (p / w, p % w);
            let mut visit = |q: usize| {
                if mask[q] != 0 && label[q] == 0 {
                    label[q] = next;
                    stack.push(q);
                }
            };
            if x > 0 {
                visit(p - 1);
            }
            if x + 1 < w {
                visit(p + 1);
            }
            if y > 0 {
                visit(p - w);
            }
            if y + 1 < h {
                visit(p + w);
            }
        }
    }
    Ok(label)
}

/// Twice the signed area of a closed loop (positive for clockwise in image
/// coordinates, y pointing down).
fn signed_area(c: &[Corner]) -> i64 {
    let n = c.len();
    (0..n)
        .map(|i| {
            let (a, b) = (c[i], c[(i + 1) % n]);
            i64::from(a.0) * i64::from(b.1) - i64::from(b.0) * i64::from(a.1)
        })
        .sum()
}

/// The corners where a closed loop turns.
fn drop_collinear(c: &[Corner]) -> Vec<Corner> {
    let n = c.len();
    let turns = |i: usize| {
        let (a, b, d) = (c[(i + n - 1) % n], c[i], c[(i + 1) % n]);
        let (ux, uy) = (
            i64::from(b.0) - i64::from(a.0),
            i64::from(b.1) - i64::from(a.1),
        );
        let (vx, vy) = (
            i64::from(d.0) - i64::from(b.0),
            i64::from(d.1) - i64::from(b.1),
        );
        ux * vy - uy * vx != 0 || ux * vx + uy * vy < 0
    };
    (0..n).filter(|&i| turns(i)).map(|i| c[i]).collect()
}

/// Douglas-Peucker simplification of a closed loop, split at its first corner and the
/// corner farthest from it.
fn simplify(c: &[Corner], tolerance: f64) -> Vec<Corner> {
    let n = c.len();
    if n < 4 {
        return c.to_vec();
    }
    let p = |k: usize| (f64::from(c[k].0), f64::from(c[k].1));
    let far = (1..n)
        .max_by(|&a, &b| {
            let d = |k: usize| (p(k).0 - p(0).0).powi(2) + (p(k).1 - p(0).1).powi(2);
            d(a).total_cmp(&d(b))
        })
        .unwrap_or(n / 2);
    let mut keep = vec![false; n];
    keep[0] = true;
    keep[far] = true;
    let mut stack = vec![(0, far), (far, n)];
    while let Some((a, b)) = stack.pop() {
        if b <= a + 1 {
            continue;
        }
        let (ax, ay) = p(a);
        let (bx, by) = p(b % n);
        let len = ((bx - ax).powi(2) + (by - ay).powi(2)).sqrt();
        let dist = |k: usize| {
            let (x, y) = p(k);
            if len == 0.0 {
                ((x - ax).powi(2) + (y - ay).powi(2)).sqrt()
            } else {
                ((bx - ax) * (ay - y) - (ax - x) * (by - ay)).abs() / len
            }
        };
        let (k, d) = (a + 1..b)
            .map(|k| (k, dist(k)))
            .max_by(|x, y| x.1.total_cmp(&y.1))
            .unwrap_or((a, 0.0));
        if d > tolerance {
            keep[k] = true;
            stack.push((a, k));
            stack.push((k, b));
        }
    }
    (0..n).filter(|&k| keep[k]).map(|k| c[k]).collect()
}

/// [`mask_to_polygons`] of mask `i` of a batch, traced in its box only (no full-size
/// decode): corner coordinates are the image's.
///
/// # Errors
/// [`crate::Error::IndexOutOfRange`] for `i` past the end.
///
/// # Examples
/// ```
/// use sa1b_rle::{contours::batch_polygons, RleBatch};
/// // 4x4, a 2x2 block at rows 1-2, columns 1-2 (column-major runs).
/// let b = RleBatch::from_runs(4, 4, &[vec![5, 2, 2, 2, 5]]).unwrap();
/// assert_eq!(batch_polygons(&b, 0, 0.0).unwrap(), vec![vec![1.0, 1.0, 3.0, 1.0, 3.0, 3.0, 1.0, 3.0]]);
/// ```
pub fn batch_polygons(
    batch: &crate::RleBatch,
    i: usize,
    tolerance: f64,
) -> crate::Result<Vec<Vec<f64>>> {
    if i >= batch.len() {
        return Err(crate::Error::IndexOutOfRange {
            index: i,
            len: batch.len(),
        });
    }
    let (h, w) = (batch.height(), batch.width());
    let runs = batch.runs(i);
    let [bx, by, bw, bh] = crate::rle::bbox_of_runs(h, w, runs);
    let (x0, y0, bw, bh) = (bx as usize, by as usize, bw as usize, bh as usize);
    if bw == 0 || bh == 0 {
        return Ok(Vec::new());
    }
    let mut buf: Vec<u8> = crate::alloc::zeroed(
        crate::alloc::product(bw as u64, bh as u64, "polygon tracing")?,
        "polygon tracing",
    )?;
    crate::rle::for_each_column_piece(h, runs, |col, s, e| {
        let col = col as usize - x0;
        for r in s as usize..e as usize {
            buf[(r - y0) * bw + col] = 1;
        }
    });
    let mut polys = mask_to_polygons(&buf, bh, bw, tolerance)?;
    for p in &mut polys {
        for (k, v) in p.iter_mut().enumerate() {
            *v += if k % 2 == 0 { bx } else { by };
        }
    }
    Ok(polys)
}
