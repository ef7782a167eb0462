//! The length-31 Gold sequence c(n) of TS 38.211 §5.2.1.
//!
//! x1(0) = 1, x1(1..30) = 0; x2(i) = bit i of c_init (bit 0 the LSB);
//! x1(n+31) = x1(n+3) ⊕ x1(n), x2(n+31) = x2(n+3) ⊕ x2(n+2) ⊕ x2(n+1) ⊕ x2(n);
//! c(n) = x1(n + Nc) ⊕ x2(n + Nc) with Nc = 1600.
//!
//! The generator advances 32 bits per step with word-wide recurrences, and
//! skips the first Nc outputs by jumping x1 with a precomputed state and x2
//! with 32-bit steps, so a sequence costs a few instructions per word.

/// Nc of §5.2.1.
pub const NC: usize = 1600;

/// A running Gold-sequence generator for one c_init.
#[derive(Debug, Clone)]
pub struct GoldSequence {
    /// Bits n..n+30 of x1 in bits 0..30 (bit 0 = oldest).
    x1: u32,
    /// Bits n..n+30 of x2.
    x2: u32,
}

/// Advances the x1 register by one bit (used only to build the start state).
fn step_x1(s: u32) -> u32 {
    let nb = (s ^ (s >> 3)) & 1;
    (s >> 1) | (nb << 30)
}

/// Advances the x2 register by one bit.
fn step_x2(s: u32) -> u32 {
    let nb = (s ^ (s >> 1) ^ (s >> 2) ^ (s >> 3)) & 1;
    (s >> 1) | (nb << 30)
}

impl GoldSequence {
    /// The generator for `c_init` (31 bits), positioned at c(0).
    pub fn new(c_init: u32) -> Self {
        // x1 after Nc steps does not depend on c_init; computing it is 1600 shifts,
        // done once per process.
        static X1_START: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
        let x1 = *X1_START.get_or_init(|| (0..NC).fold(1u32, |s, _| step_x1(s)));
        let x2 = jump(&jump_tables().1, c_init & 0x7fff_ffff, NC);
        GoldSequence { x1, x2 }
    }

    /// The next 32 bits c(n)..c(n+31), c(n) in bit 0.
    #[inline]
    pub fn next_word(&mut self) -> u32 {
        // Produce 31 new bits per register in two word steps of 28 + 4 would be
        // fiddly; instead step 32 times with shifts of the whole register. Each
        // step derives bit n+31 from bits n..n+3, so 28 bits can be formed at once.
        let mut out = 0u32;
        let mut got = 0;
        while got < 32 {
            // Up to 28 new bits at once: bit n+31+i needs bits n+i..n+i+3, all known for i < 28.
            let take = (32 - got).min(28);
            let mask = (1u32 << take) - 1;
            out |= ((self.x1 ^ self.x2) & mask) << got;
            let n1 = (self.x1 ^ (self.x1 >> 3)) & mask;
            let n2 = (self.x2 ^ (self.x2 >> 1) ^ (self.x2 >> 2) ^ (self.x2 >> 3)) & mask;
            self.x1 = ((self.x1 >> take) | (n1 << (31 - take))) & 0x7fff_ffff;
            self.x2 = ((self.x2 >> take) | (n2 << (31 - take))) & 0x7fff_ffff;
            got += take;
        }
        out
    }

    /// Fills `out` with the next `out.len()` bits as unpacked 0/1 bytes.
    pub fn fill_bits(&mut self, out: &mut [u8]) {
        for chunk in out.chunks_mut(32) {
            let w = self.next_word();
            for (i, b) in chunk.iter_mut().enumerate() {
                *b = ((w >> i) & 1) as u8;
            }
        }
    }

    /// Skips `n` bits: long skips jump both registers with precomputed
    /// powers of their one-step matrices (a few hundred operations whatever
    /// `n`), short ones step whole words, then bit by bit.
    pub fn skip(&mut self, n: usize) {
        if n >= JUMP_MIN {
            let t = jump_tables();
            self.x1 = jump(&t.0, self.x1, n);
            self.x2 = jump(&t.1, self.x2, n);
            return;
        }
        for _ in 0..n / 32 {
            self.next_word();
        }
        for _ in 0..n % 32 {
            let n1 = (self.x1 ^ (self.x1 >> 3)) & 1;
            let n2 = (self.x2 ^ (self.x2 >> 1) ^ (self.x2 >> 2) ^ (self.x2 >> 3)) & 1;
            self.x1 = (self.x1 >> 1) | (n1 << 30);
            self.x2 = (self.x2 >> 1) | (n2 << 30);
        }
    }
}

/// Skips at least this long use the matrix jump (below it, stepping words is as cheap).
const JUMP_MIN: usize = 4096;
/// Jumps of up to 2^JUMP_BITS - 1 bits at once (longer ones repeat the top power).
const JUMP_BITS: usize = 48;

/// Column `i` of entry `k`: the register after 2^k steps from state `1 << i`.
/// The registers are linear over GF(2), so a state jumps by XOR of the
/// columns of its set bits.
type JumpTable = [[u32; 31]; JUMP_BITS];

/// The jump tables of x1 and x2, built once per process.
fn jump_tables() -> &'static (JumpTable, JumpTable) {
    static T: std::sync::OnceLock<Box<(JumpTable, JumpTable)>> = std::sync::OnceLock::new();
    T.get_or_init(|| {
        let build = |step: fn(u32) -> u32| {
            let mut t = [[0u32; 31]; JUMP_BITS];
            for (i, c) in t[0].iter_mut().enumerate() {
                *c = step(1 << i);
            }
            for k in 1..JUMP_BITS {
                let prev = t[k - 1];
                for i in 0..31 {
                    t[k][i] = apply(&prev, prev[i]);
                }
            }
            t
        };
        Box::new((build(step_x1), build(step_x2)))
    })
}

/// The 31x31 GF(2) matrix `m` (as columns) times the state `x`.
fn apply(m: &[u32; 31], x: u32) -> u32 {
    let mut out = 0;
    for (i, c) in m.iter().enumerate() {
        out ^= c & 0u32.wrapping_sub((x >> i) & 1);
    }
    out
}

/// State `x` advanced `n` steps with the powers in `t`.
fn jump(t: &JumpTable, mut x: u32, mut n: usize) -> u32 {
    let top = (1usize << (JUMP_BITS - 1)) * 2 - 1;
    while n > top {
        x = apply(&t[JUMP_BITS - 1], x);
        n -= 1 << (JUMP_BITS - 1);
    }
    for (k, m) in t.iter().enumerate() {
        if (n >> k) & 1 == 1 {
            x = apply(m, x);
        }
    }
    x
}

/// c(0..len) for `c_init`, unpacked.
pub fn gold_bits(c_init: u32, len: usize) -> Vec<u8> {
    let mut v = vec![0u8; len];
    GoldSequence::new(c_init).fill_bits(&mut v);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Straight from the §5.2.1 recurrences.
    fn reference(c_init: u32, len: usize) -> Vec<u8> {
        let total = len + NC + 31;
        let mut x1 = vec![0u8; total];
        let mut x2 = vec![0u8; total];
        x1[0] = 1;
        for i in 0..31 {
            x2[i] = ((c_init >> i) & 1) as u8;
        }
        for n in 0..total - 31 {
            x1[n + 31] = x1[n + 3] ^ x1[n];
            x2[n + 31] = x2[n + 3] ^ x2[n + 2] ^ x2[n + 1] ^ x2[n];
        }
        (0..len).map(|n| x1[n + NC] ^ x2[n + NC]).collect()
    }

    #[test]
    fn matches_the_recurrence_for_many_seeds_and_lengths() {
        for c_init in [0u32, 1, 0x7fff_ffff, 1926201984, 516255600, 12345] {
            for len in [0usize, 1, 31, 32, 33, 100, 1000] {
                assert_eq!(
                    gold_bits(c_init, len),
                    reference(c_init, len),
                    "c_init {c_init} len {len}"
                );
            }
        }
    }

    #[test]
    fn long_skips_jump_to_the_same_state_as_stepping() {
        for c_init in [1u32, 0x7fff_ffff, 516255600] {
            for n in [JUMP_MIN, JUMP_MIN + 1, 12_345, 300_001, 1 << 20] {
                let mut jumped = GoldSequence::new(c_init);
                jumped.skip(n);
                let mut stepped = GoldSequence::new(c_init);
                for _ in 0..n / 32 {
                    stepped.next_word();
                }
                stepped.skip(n % 32);
                assert_eq!(
                    (jumped.x1, jumped.x2),
                    (stepped.x1, stepped.x2),
                    "c_init {c_init} skip {n}"
                );
            }
        }
    }

    #[test]
    fn skip_matches_generate() {
        let full = reference(777, 500);
        for s in [0usize, 1, 31, 32, 65, 200] {
            let mut g = GoldSequence::new(777);
            g.skip(s);
            let mut v = vec![0u8; 100];
            g.fill_bits(&mut v);
            assert_eq!(&v[..], &full[s..s + 100], "skip {s}");
        }
    }
}
