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

/// Coordinates must satisfy `|v| < MAX_COORDINATE` (so that `5 * v` and every difference
/// of two scaled coordinates stay within a C `int`, as cocoapi's arithmetic needs).
pub const MAX_COORDINATE: f64 = (1u64 << 30) as f64 / 5.0;

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

    fn u(&self, d: i64) -> i64 {
        self.point(d).0
    }

    /// First `d` in `lo..=hi` with `pred(u(d))`, for a predicate that is monotone along the
    /// walk; `hi + 1` if there is none.
    fn first(&self, mut lo: i64, hi: i64, pred: impl Fn(i64) -> bool) -> i64 {
        let mut end = hi + 1;
        while lo < end {
            let mid = lo + (end - lo) / 2;
            if pred(self.u(mid)) {
                end = mid;
            } else {
                lo = mid + 1;
            }
        }
        lo
    }
}

/// Collects cocoapi's kept boundary points as pixel indices `x * h + y`.
struct Crossings {
    h: u64,
    w: f64,
    out: Vec<u64>,
}

impl Crossings {
    /// cocoapi's downsampling of one step of the walk from `(u1, v1)` to `(u2, v2)`.
    fn step(&mut self, (u1, v1): (i64, i64), (u2, v2): (i64, i64)) {
        if u2 == u1 {
            return;
        }
        let xd = if u2 < u1 { u2 } else { u2 - 1 };
        let xd = (xd as f64 + 0.5) / SCALE - 0.5;
        if xd.floor() != xd || xd < 0.0 || xd > self.w - 1.0 {
            return;
        }
        let mut yd = (v1.min(v2) as f64 + 0.5) / SCALE - 0.5;
        let h = self.h as f64;
        if yd < 0.0 {
            yd = 0.0;
        } else if yd > h {
            yd = h;
        }
        let yd = yd.ceil();
        self.out.push(xd as u64 * self.h + yd as u64);
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
    let pixels = pixel_count(height, width)?;
    if xy.len() % 2 != 0 {
        return Err(Error::PolygonOddLength { len: xy.len() });
    }
    let k = xy.len() / 2;
    if k < 3 {
        return Err(Error::PolygonTooFewPoints { points: k });
    }
    let mut pts = Vec::with_capacity(k + 1);
    for j in 0..k {
        pts.push((scale(xy[2 * j], 2 * j)?, scale(xy[2 * j + 1], 2 * j + 1)?));
    }
    pts.push(pts[0]);

    let mut crossings = Crossings {
        h: height,
        w: width as f64,
        out: Vec::new(),
    };
    // Crossings can only be kept where the walk's x lies in [2, 5w - 2].
    let (lo_u, hi_u) = (2i64, 5 * width as i64 - 2);
    let mut last: Option<(i64, i64)> = None;
    for pair in pts.windows(2) {
        let edge = Edge::new(pair[0].0, pair[0].1, pair[1].0, pair[1].1);
        let first = edge.point(0);
        if let Some(prev) = last {
            crossings.step(prev, first);
        }
        last = Some(edge.point(edge.steps));
        if edge.steps == 0 || hi_u < lo_u {
            continue;
        }
        let n = edge.steps;
        let (d_lo, d_hi) = if edge.u(n) >= edge.u(0) {
            (
                edge.first(1, n, |u| u >= lo_u),
                edge.first(1, n, |u| u > hi_u) - 1,
            )
        } else {
            (
                edge.first(1, n, |u| u <= hi_u),
                edge.first(1, n, |u| u < lo_u) - 1,
            )
        };
        if d_lo > d_hi {
            continue;
        }
        if edge.x_major || d_hi - d_lo < 256 {
            let mut prev = edge.point(d_lo - 1);
            for d in d_lo..=d_hi {
                let p = edge.point(d);
                crossings.step(prev, p);
                prev = p;
            }
        } else {
            // Steep edge: x changes at most once per step, and rarely; jump from change
            // to change instead of visiting every step.
            let mut d = d_lo;
            loop {
                crossings.step(edge.point(d - 1), edge.point(d));
                let u = edge.u(d);
                let next = if edge.u(n) >= edge.u(0) {
                    edge.first(d + 1, d_hi, |v| v > u)
                } else {
                    edge.first(d + 1, d_hi, |v| v < u)
                };
                if next > d_hi {
                    break;
                }
                d = next;
            }
        }
    }

    let mut a = crossings.out;
    a.push(pixels);
    a.sort_unstable();
    let mut prev = 0u64;
    for v in &mut a {
        let t = *v;
        *v -= prev;
        prev = t;
    }
    // cocoapi's coalescing: a zero difference swallows the one after it.
    let mut counts: Vec<u32> = Vec::with_capacity(a.len());
    counts.push(a[0] as u32);
    let mut j = 1;
    while j < a.len() {
        if a[j] > 0 {
            counts.push(a[j] as u32);
            j += 1;
        } else {
            j += 1;
            if j < a.len() {
                if let Some(l) = counts.last_mut() {
                    *l += a[j] as u32;
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
            index: [0, 1, 0, 1, 2, 3, 2, 1][index],
            value,
        },
        e => e,
    })
}
