//! Polygons and boxes -> RLE, bit-exact with cocoapi's `rleFrPoly` / `rleFrBbox`.
//!
//! cocoapi upsamples the polygon by 5, walks every edge densely, keeps the points where the
//! walk crosses a column centre, and turns the sorted crossing positions into runs. This
//! module produces exactly the same crossings without materialising the dense walk: on
//! each edge the walk's x coordinate is monotone, so the steps that can land inside the
//! image are found by binary search, and on steep edges only the steps where x changes
//! are visited. Work is bounded by the image width, not by the coordinates, so a polygon
//! with far-away vertices costs no more than one inside the image.

use crate::error::{Error, Result};
use crate::rle::{pixel_count, Rle};

pub use crate::error::MAX_COORDINATE;

const SCALE: f64 = 5.0;

/// C's `(int)` conversion of a double as compiled for x86-64 (`cvttsd2si`): truncation
/// toward zero, and `INT_MIN` for NaN or anything out of range. cocoapi relies on it for
/// a repeated vertex, where the edge slope is 0/0.
fn c_int(v: f64) -> i64 {
    if v.is_nan() || !(-2_147_483_648.0..2_147_483_648.0).contains(&v) {
        i64::from(i32::MIN)
    } else {
        v as i64
    }
}

/// One edge of the upsampled polygon, walked as cocoapi walks it.
struct Edge {
    xs: i64,
    ys: i64,
    /// Major-axis length: the walk has `steps + 1` points.
    steps: i64,
    flip: bool,
    x_major: bool,
    slope: f64,
}

impl Edge {
    fn new(x0: i64, y0: i64, x1: i64, y1: i64) -> Edge {
        let (mut xs, mut xe, mut ys, mut ye) = (x0, x1, y0, y1);
        let dx = (xe - xs).abs();
        let dy = (ys - ye).abs();
        let x_major = dx >= dy;
        let flip = (x_major && xs > xe) || (!x_major && ys > ye);
        if flip {
            std::mem::swap(&mut xs, &mut xe);
            std::mem::swap(&mut ys, &mut ye);
        }
        let slope = if x_major {
            (ye - ys) as f64 / dx as f64
        } else {
            (xe - xs) as f64 / dy as f64
        };
        Edge {
            xs,
            ys,
            steps: dx.max(dy),
            flip,
            x_major,
            slope,
        }
    }

    /// The `d`-th point of the walk (d = 0 is the edge's first vertex in polygon order).
    fn point(&self, d: i64) -> (i64, i64) {
        let t = if self.flip { self.steps - d } else { d };
        let minor = |start: i64| c_int(start as f64 + self.slope * t as f64 + 0.5);
        if self.x_major {
            (t + self.xs, minor(self.ys))
        } else {
            (minor(self.xs), t + self.ys)
        }
    }

    /// The minor-axis coordinate at walk parameter `t` (cocoapi's rounding), for an edge
    /// with `steps > 0`: the slope is then finite and the value lies between the two
    /// vertices' coordinates (|v| < 2**30), where Rust's truncating cast is C's `(int)`.
    #[inline]
    fn minor(&self, t: i64) -> i64 {
        let start = if self.x_major { self.ys } else { self.xs };
        (start as f64 + self.slope * t as f64 + 0.5) as i64
    }

    /// The walk's x at step `d` of an edge with `steps > 0` (the major axis needs no
    /// floating point).
    #[inline]
    fn u(&self, d: i64) -> i64 {
        let t = if self.flip { self.steps - d } else { d };
        if self.x_major {
            t + self.xs
        } else {
            self.minor(t)
        }
    }

    /// First `d` in `lo..=hi` with `pred(u(d))` (`hi + 1` if none), for a predicate that
    /// is monotone along the walk (false, then true). Gallops out from `guess`, so a good
    /// guess costs O(1) evaluations and a bad one O(log steps).
    fn first(&self, lo: i64, hi: i64, guess: i64, pred: impl Fn(i64) -> bool) -> i64 {
        let g = guess.clamp(lo, hi);
        // Bracket: pred false at `below` (or below == lo - 1), true at `above` (or hi + 1).
        let (mut below, mut above);
        if pred(self.u(g)) {
            above = g;
            let mut step = 1;
            loop {
                let probe = above - step;
                if probe < lo {
                    below = lo - 1;
                    break;
                }
                if !pred(self.u(probe)) {
                    below = probe;
                    break;
                }
                above = probe;
                step *= 2;
            }
        } else {
            below = g;
            let mut step = 1;
            loop {
                let probe = below + step;
                if probe > hi {
                    above = hi + 1;
                    break;
                }
                if pred(self.u(probe)) {
                    above = probe;
                    break;
                }
                below = probe;
                step *= 2;
            }
        }
        while above - below > 1 {
            let mid = below + (above - below) / 2;
            if pred(self.u(mid)) {
                above = mid;
            } else {
                below = mid;
            }
        }
        above
    }
}

/// Collects cocoapi's kept boundary points as pixel indices `x * h + y`, each with its
/// column (`column << 32 | index`), and the range of columns seen.
struct Crossings {
    h: i64,
    w: i64,
    out: Vec<u64>,
    min_column: i64,
    max_column: i64,
}

impl Crossings {
    /// cocoapi's downsampling of one step of the walk from `(u1, v1)` to `(u2, v2)`, in
    /// exact integer arithmetic. cocoapi computes `xd = (x + .5) / 5 - .5` and keeps the
    /// step only if `xd` is an integer in `[0, w - 1]`, i.e. `x = 5k + 2`; and it takes
    /// `ceil(clamp((y + .5) / 5 - .5, 0, h))`, i.e. `clamp(ceil((y - 2) / 5), 0, h)`. In
    /// doubles both are exact for |x|, |y| < 2**31 (the fractions are multiples of 1/5, far
    /// from the rounding error), so this is bit-for-bit the same selection.
    fn step(&mut self, (u1, v1): (i64, i64), (u2, v2): (i64, i64)) {
        if u2 == u1 {
            return;
        }
        let xd = if u2 < u1 { u2 } else { u2 - 1 } - 2;
        if xd < 0 || xd % 5 != 0 || xd / 5 > self.w - 1 {
            return;
        }
        self.push(xd / 5, v1.min(v2));
    }

    /// Keeps the crossing of column `k` whose lower walk y is `v`.
    #[inline]
    fn push(&mut self, k: i64, v: i64) {
        let a = v - 2;
        let y = if a <= 0 { 0 } else { ((a + 4) / 5).min(self.h) };
        // 0 <= k <= w - 1 and y <= h, so k * h + y <= h * w, which fits in u32.
        self.out.push((k as u64) << 32 | (k * self.h + y) as u64);
        self.min_column = self.min_column.min(k);
        self.max_column = self.max_column.max(k);
    }
}

/// The steps of one edge that cocoapi keeps: only where the walk's x passes the centre
/// of a column, upsampled x = 5n + 2 for column n (cocoapi's downsampling keeps exactly
/// those). x is monotone along an edge, so each column's step is found by a galloping
/// search from a linear-interpolation guess, in O(1) evaluations on normal edges.
fn column_crossings(edge: &Edge, width: u64, out: &mut Crossings) {
    let n = edge.steps;
    if edge.x_major {
        // x = xs + t exactly, one column step per walk step, so the kept steps are at
        // t = 5k + 3 - xs; the pair (t - 1, t) is the same whichever way the walk runs.
        let first_k = (edge.xs + 2).div_euclid(5); // ceil((xs - 2) / 5): t >= 1
        let last_k = (n + edge.xs - 3).div_euclid(5).min(width as i64 - 1);
        for k in first_k.max(0)..=last_k {
            let t = 5 * k + 3 - edge.xs;
            // y is monotone along the edge (IEEE products are monotone in t), so the
            // lower of the pair is known without evaluating both.
            let v = edge.minor(if edge.slope >= 0.0 { t - 1 } else { t });
            out.push(k, v);
        }
        return;
    }
    let (u0, un) = (edge.u(0), edge.u(n));
    if u0 == un {
        return;
    }
    let increasing = un > u0;
    // Kept steps have xd = min of the pair's x (rising: x(d) - 1, falling: x(d)) in
    // [u_lo, u_hi], column targets c = 5k + 2 inside the image.
    let (u_lo, u_hi) = if increasing {
        (u0, un - 1)
    } else {
        (un, u0 - 1)
    };
    let k_first = (u_lo - 2).div_euclid(5) + i64::from((u_lo - 2).rem_euclid(5) != 0);
    let k_first = k_first.max(0);
    let k_last = (u_hi - 2).div_euclid(5).min(width as i64 - 1);
    // On a steep edge y is the exact major axis: y = ys + t.
    let y = |d: i64| edge.ys + if edge.flip { n - d } else { d };
    let per_x = 1.0 / edge.slope;
    for k in k_first..=k_last {
        let c = 5 * k + 2;
        // The first step whose x reaches past c: solving x = xs + slope * t + 0.5 guesses
        // it to within a step, and the search checks it exactly.
        let target = if increasing { c + 1 } else { c };
        let t = (target as f64 - 0.5 - edge.xs as f64) * per_x;
        let guess = (if edge.flip { n as f64 - t } else { t }) as i64;
        let d = if increasing {
            edge.first(1, n, guess, |u| u >= target)
        } else {
            edge.first(1, n, guess, |u| u <= target)
        };
        if d > n {
            continue;
        }
        let ud = edge.u(d);
        if ud != target {
            // x jumped over this column centre (steep rounding): cocoapi keeps no point.
            continue;
        }
        out.step((edge.u(d - 1), y(d - 1)), (ud, y(d)));
    }
}

/// The crossings' pixel indices in ascending order: a counting sort by column over the
/// columns the polygon spans (about two crossings each), then each column's few entries
/// sorted in place. Ordering by (column, index) is ordering by index, since a column's
/// indices lie between `column * h` and `(column + 1) * h`.
fn sort_crossings(c: &Crossings) -> Result<Vec<u32>> {
    let n = c.out.len();
    let mut sorted = crate::alloc::with_capacity(n + 1, "polygon crossings")?;
    if n == 0 {
        return Ok(sorted);
    }
    let first = c.min_column as u64;
    let columns = (c.max_column - c.min_column) as usize + 1;
    let slot = |packed: u64| ((packed >> 32) - first) as usize;
    // ends[k] ends up as the end of column k's slots (and the start of column k + 1's).
    let mut ends: Vec<u32> = crate::alloc::zeroed(columns + 1, "polygon columns")?;
    for &p in &c.out {
        ends[slot(p) + 1] += 1;
    }
    for k in 1..=columns {
        ends[k] += ends[k - 1];
    }
    sorted.resize(n, 0);
    for &p in &c.out {
        let at = &mut ends[slot(p)];
        sorted[*at as usize] = p as u32;
        *at += 1;
    }
    let mut start = 0;
    for &end in &ends[..columns] {
        let column = &mut sorted[start..end as usize];
        if column.len() <= 16 {
            insertion_sort(column);
        } else {
            column.sort_unstable();
        }
        start = end as usize;
    }
    Ok(sorted)
}

fn insertion_sort(v: &mut [u32]) {
    for i in 1..v.len() {
        let x = v[i];
        let mut j = i;
        while j > 0 && v[j - 1] > x {
            v[j] = v[j - 1];
            j -= 1;
        }
        v[j] = x;
    }
}

fn scale(v: f64, index: usize) -> Result<i64> {
    if !v.is_finite() {
        return Err(Error::NonFiniteCoordinate { index, value: v });
    }
    if v.abs() >= MAX_COORDINATE {
        return Err(Error::CoordinateOutOfRange { index, value: v });
    }
    Ok(c_int(SCALE * v + 0.5))
}

/// Rasterises one polygon `[x0, y0, x1, y1, ...]` exactly as pycocotools' `frPoly` does.
///
/// # Errors
/// [`Error::PolygonOddLength`], [`Error::PolygonTooFewPoints`] (fewer than 3 points),
/// [`Error::NonFiniteCoordinate`], [`Error::CoordinateOutOfRange`] or
/// [`Error::SizeTooLarge`].
///
/// # Examples
/// ```
/// use sa1b_rle::fr_poly;
/// let r = fr_poly(&[1.0, 1.0, 4.0, 1.0, 4.0, 3.0, 1.0, 3.0], 5, 6).unwrap();
/// assert_eq!(r.area(), 6); // columns 1-3, rows 1-2
/// assert_eq!(r.bbox(), [1.0, 1.0, 3.0, 2.0]);
/// ```
pub fn fr_poly(xy: &[f64], height: u64, width: u64) -> Result<Rle> {
    pixel_count(height, width)?;
    if !xy.len().is_multiple_of(2) {
        return Err(Error::PolygonOddLength { len: xy.len() });
    }
    let k = xy.len() / 2;
    if k < 3 {
        return Err(Error::PolygonTooFewPoints { points: k });
    }
    rasterise(xy, height, width)
}

/// [`fr_poly`] for everything pycocotools' `frPoly` answers deterministically, as it
/// answers: an odd last coordinate is ignored (cocoapi takes `len // 2` points), and
/// polygons of one or two points rasterise as cocoapi's walk does (real multi-part COCO
/// segmentations hold such parts). A polygon of no points stays an error: cocoapi reads
/// past its buffer there.
///
/// # Errors
/// [`Error::PolygonTooFewPoints`] for fewer than 2 coordinates, and those of [`fr_poly`]
/// for the coordinates and size.
///
/// # Examples
/// ```
/// use sa1b_rle::polygon::fr_poly_cocoapi;
/// // A segment of two points, and a polygon with a stray seventh coordinate.
/// assert_eq!(fr_poly_cocoapi(&[1.0, 1.0, 4.0, 1.0], 5, 6).unwrap().area(), 0);
/// let odd = fr_poly_cocoapi(&[1.0, 1.0, 4.0, 1.0, 4.0, 3.0, 9.0], 5, 6).unwrap();
/// assert_eq!(odd, fr_poly_cocoapi(&[1.0, 1.0, 4.0, 1.0, 4.0, 3.0], 5, 6).unwrap());
/// assert!(fr_poly_cocoapi(&[1.0], 5, 6).is_err());
/// ```
pub fn fr_poly_cocoapi(xy: &[f64], height: u64, width: u64) -> Result<Rle> {
    pixel_count(height, width)?;
    let k = xy.len() / 2;
    if k == 0 {
        return Err(Error::PolygonTooFewPoints { points: 0 });
    }
    rasterise(&xy[..2 * k], height, width)
}

/// COCO's `annToRLE` of a polygon segmentation (`merge(frPyObjects(parts, h, w))` in
/// pycocotools): each part rasterised as [`fr_poly_cocoapi`], the parts merged by
/// cocoapi's fold (one part: itself).
///
/// # Errors
/// A part's error, wrapped with its index; none for no parts (the 0x0 mask, as
/// pycocotools' `merge([])`).
///
/// # Examples
/// ```
/// use sa1b_rle::polygon::coco_polygons;
/// let two = coco_polygons(&[vec![0.0, 0.0, 2.0, 0.0, 2.0, 2.0], vec![3.0, 3.0, 4.0, 3.0, 4.0, 4.0]], 5, 5);
/// assert!(two.unwrap().area() > 0);
/// ```
pub fn coco_polygons<P: AsRef<[f64]>>(parts: &[P], height: u64, width: u64) -> Result<Rle> {
    let rles = parts
        .iter()
        .enumerate()
        .map(|(i, p)| fr_poly_cocoapi(p.as_ref(), height, width).map_err(|e| e.at(i)))
        .collect::<Result<Vec<Rle>>>()?;
    crate::merge::merge(&rles, false)
}

/// The rasterisation of `k >= 1` points (`xy.len() == 2k`), cocoapi's walk.
fn rasterise(xy: &[f64], height: u64, width: u64) -> Result<Rle> {
    let pixels = pixel_count(height, width)?;
    let k = xy.len() / 2;
    let mut pts = Vec::with_capacity(k + 1);
    for j in 0..k {
        pts.push((scale(xy[2 * j], 2 * j)?, scale(xy[2 * j + 1], 2 * j + 1)?));
    }
    pts.push(pts[0]);

    // Room for every crossing on normal polygons: an edge crosses at most |dx| / 5 + 1
    // column centres, and never more than the image has.
    let capacity = pts
        .windows(2)
        .map(|p| ((p[1].0 - p[0].0).abs() / 5 + 2).min(width as i64))
        .sum::<i64>();
    let mut crossings = Crossings {
        h: height as i64,
        w: width as i64,
        out: Vec::with_capacity(capacity.clamp(0, 1 << 20) as usize),
        min_column: i64::MAX,
        max_column: -1,
    };
    let mut last: Option<(i64, i64)> = None;
    for pair in pts.windows(2) {
        // Room for this edge's crossings (at most one per column centre it passes, plus
        // the joint), reserved fallibly: a polygon spanning 10**8 columns must be a
        // MemoryError, not an abort.
        let most = ((pair[1].0 - pair[0].0).abs() / 5 + 2).min(width as i64 + 2);
        crate::alloc::reserve(&mut crossings.out, most as usize, "polygon crossings")?;
        let edge = Edge::new(pair[0].0, pair[0].1, pair[1].0, pair[1].1);
        let first = edge.point(0);
        if let Some(prev) = last {
            crossings.step(prev, first);
        }
        last = Some(edge.point(edge.steps));
        if edge.steps > 0 && width > 0 {
            column_crossings(&edge, width, &mut crossings);
        }
    }

    let mut a = sort_crossings(&crossings)?;
    a.push(pixels as u32);
    let mut prev = 0u32;
    for v in &mut a {
        let t = *v;
        *v -= prev;
        prev = t;
    }
    // cocoapi's coalescing: a zero difference swallows the one after it.
    let mut counts: Vec<u32> = crate::alloc::with_capacity(a.len(), "polygon runs")?;
    counts.push(a[0]);
    let mut j = 1;
    while j < a.len() {
        if a[j] > 0 {
            counts.push(a[j]);
            j += 1;
        } else {
            j += 1;
            if j < a.len() {
                if let Some(l) = counts.last_mut() {
                    *l += a[j];
                }
                j += 1;
            }
        }
    }
    Ok(Rle::from_parts_unchecked(height, width, counts))
}

/// Rasterises a box `[x, y, width, height]` as pycocotools' `frBbox` does: through the
/// polygon path, so fractional boxes follow polygon rounding.
///
/// # Errors
/// Those of [`fr_poly`]; coordinate indices refer to the box's four values.
///
/// # Examples
/// ```
/// use sa1b_rle::fr_bbox;
/// assert_eq!(fr_bbox([1.0, 1.0, 2.0, 3.0], 6, 6).unwrap().area(), 6);
/// assert_eq!(fr_bbox([0.5, 0.5, 2.0, 2.0], 10, 10).unwrap().area(), 4);
/// ```
pub fn fr_bbox(bb: [f64; 4], height: u64, width: u64) -> Result<Rle> {
    for (index, &value) in bb.iter().enumerate() {
        if !value.is_finite() {
            return Err(Error::NonFiniteCoordinate { index, value });
        }
    }
    let (xs, ys) = (bb[0], bb[1]);
    let (xe, ye) = (xs + bb[2], ys + bb[3]);
    fr_poly(&[xs, ys, xs, ye, xe, ye, xe, ys], height, width).map_err(|e| match e {
        // Report positions in the box, not in the derived polygon.
        Error::CoordinateOutOfRange { index, value } => Error::CoordinateOutOfRange {
            index: [0, 1, 0, 3, 2, 3, 2, 1][index],
            value,
        },
        e => e,
    })
}
