//! Shared helpers of the unit tests: one deterministic generator for random masks, runs
//! and byte edits.

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
