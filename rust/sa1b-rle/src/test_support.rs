//! Shared helpers of the unit tests: one deterministic generator for random masks, runs
//! and byte edits.

use crate::batch::RleBatch;

/// A xorshift64 generator.
pub(crate) struct Xorshift(u64);

impl Xorshift {
    pub(crate) fn new(seed: u64) -> Xorshift {
        Xorshift(seed)
    }

    /// The next 64 random bits.
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// `rnd(n)`: uniform-ish in `0..n` (0 for `n == 0`), from a xorshift seeded with `seed`.
pub(crate) fn rng(seed: u64) -> impl FnMut(u64) -> u64 {
    let mut x = Xorshift::new(seed);
    move |n| x.next_u64() % n.max(1)
}

/// `n` random masks of `h x w`: stripes, runs crossing columns, and noisy boxes.
pub(crate) fn random_batch(rnd: &mut impl FnMut(u64) -> u64, h: u64, w: u64, n: usize) -> RleBatch {
    let mut b = RleBatch::new(h, w).unwrap();
    for _ in 0..n {
        let mut px = vec![false; (h * w) as usize];
        match rnd(4) {
            0 => {
                // Stripes: every other row of a column range (crowded columns).
                let (c0, c1) = (rnd(w), rnd(w));
                for c in c0.min(c1)..=c0.max(c1) {
                    for r in (rnd(2)..h).step_by(2) {
                        px[(c * h + r) as usize] = true;
                    }
                }
            }
            1 => {
                let (a, len) = (rnd(h * w), rnd(3 * h));
                for p in a..(a + len).min(h * w) {
                    px[p as usize] = true;
                }
            }
            _ => {
                let (x0, y0) = (rnd(w), rnd(h));
                let (x1, y1) = (x0 + rnd(w - x0), y0 + rnd(h - y0));
                for x in x0..=x1 {
                    for y in y0..=y1 {
                        px[(x * h + y) as usize] = rnd(5) > 0;
                    }
                }
            }
        }
        let mut runs = vec![];
        let (mut val, mut len) = (false, 0u32);
        for &p in &px {
            if p != val {
                runs.push(len);
                (val, len) = (p, 0);
            }
            len += 1;
        }
        runs.push(len);
        b.push_runs(&runs).unwrap();
    }
    b
}

/// The column-major runs of a dense mask (any nonzero byte is foreground), canonical.
pub(crate) fn runs_of(m: &[u8]) -> Vec<u32> {
    let mut runs = vec![0u32];
    let mut cur = 0u8;
    for &v in m {
        let v = u8::from(v != 0);
        if v == cur {
            *runs.last_mut().unwrap() += 1;
        } else {
            runs.push(1);
            cur = v;
        }
    }
    runs
}
