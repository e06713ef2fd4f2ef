//! A small seeded generator (xorshift64) for test streams that must be the
//! same on every run.

pub struct Xorshift(u64);

impl Xorshift {
    /// Any seed; zero (which xorshift never leaves) is replaced.
    pub fn new(seed: u64) -> Self {
        Xorshift(if seed == 0 {
            0x2545_f491_4f6c_dd1d
        } else {
            seed
        })
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// Uniform on [0, 1).
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}
