//! D2R and R2D line codes: Manchester, FM0 and Miller-M.
//!
//! A line code maps each data bit to a fixed number of *chips* with values
//! ±1 (`+1` = high / reflecting state A, `-1` = low / state B).
//!
//! * Manchester (TR 38.769 §6.1.1.2, §6.1.2.2): bit 0 → `+1 -1`, bit 1 → `-1 +1`.
//!   Two chips per bit; every bit has a mid-bit transition.
//! * FM0 (EPC Gen2 §6.3.1.3.2.1, bi-phase space): the level inverts at every
//!   bit boundary; a data-0 has an extra mid-bit inversion. Two chips per bit.
//! * Miller-M (EPC Gen2 §6.3.1.3.2.3): Miller baseband (inversion in the middle
//!   of a data-1, and at the boundary between two consecutive data-0s) multiplied
//!   by a square subcarrier of M = 2, 4 or 8 cycles per bit. 2·M chips per bit
//!   (one chip per half subcarrier cycle).
//!
//! The soft decoders take chip LLRs (positive = chip `+1`, which is the
//! project's "positive means bit 0" convention with chip `+1` ≙ 0) and return
//! one LLR per bit. They decide bit by bit: FM0 and Miller carry a little more
//! information in their inter-bit memory, which a sequence detector could use;
//! the loss of the symbol-by-symbol decoder is accepted for simplicity.

/// A line code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LineCode {
    /// Manchester: `+-` for 0, `-+` for 1.
    Manchester,
    /// FM0 (bi-phase space).
    Fm0,
    /// Miller with M subcarrier cycles per bit (2, 4 or 8).
    Miller(u8),
}

impl LineCode {
    /// Chips per data bit.
    pub const fn chips_per_bit(self) -> usize {
        match self {
            LineCode::Manchester | LineCode::Fm0 => 2,
            LineCode::Miller(m) => 2 * m as usize,
        }
    }

    /// Whether the parameters are allowed (Miller M ∈ {2, 4, 8}).
    pub fn is_valid(self) -> bool {
        !matches!(self, LineCode::Miller(m) if !matches!(m, 2 | 4 | 8))
    }

    /// The name used in configuration files: `manchester`, `fm0`, `miller2`, `miller4`, `miller8`.
    pub fn name(self) -> &'static str {
        match self {
            LineCode::Manchester => "manchester",
            LineCode::Fm0 => "fm0",
            LineCode::Miller(2) => "miller2",
            LineCode::Miller(4) => "miller4",
            LineCode::Miller(8) => "miller8",
            LineCode::Miller(_) => "miller?",
        }
    }

    /// Parses a configuration name (see [`LineCode::name`]).
    pub fn from_name(s: &str) -> Option<Self> {
        Some(match s {
            "manchester" => LineCode::Manchester,
            "fm0" => LineCode::Fm0,
            "miller2" => LineCode::Miller(2),
            "miller4" => LineCode::Miller(4),
            "miller8" => LineCode::Miller(8),
            _ => return None,
        })
    }

    /// Encodes unpacked `bits` into `chips` (length `bits.len() * chips_per_bit()`).
    /// FM0 and Miller start from level `+1` before the first bit.
    pub fn encode_into(self, bits: &[u8], chips: &mut [f32]) {
        let cpb = self.chips_per_bit();
        assert_eq!(chips.len(), bits.len() * cpb, "chip buffer length");
        match self {
            LineCode::Manchester => {
                for (b, c) in bits.iter().zip(chips.chunks_exact_mut(2)) {
                    let s = if b & 1 == 0 { 1.0 } else { -1.0 };
                    c[0] = s;
                    c[1] = -s;
                }
            }
            LineCode::Fm0 => {
                // The level before the first boundary is -1, so the first bit starts at +1.
                let mut level = -1.0f32;
                for (b, c) in bits.iter().zip(chips.chunks_exact_mut(2)) {
                    level = -level; // inversion at every boundary
                    c[0] = level;
                    if b & 1 == 0 {
                        level = -level; // data-0: mid-bit inversion
                    }
                    c[1] = level;
                }
            }
            LineCode::Miller(m) => {
                let m = m as usize;
                let mut level = 1.0f32;
                let mut prev: Option<u8> = None;
                for (b, c) in bits.iter().zip(chips.chunks_exact_mut(2 * m)) {
                    let b = b & 1;
                    if b == 0 && prev == Some(0) {
                        level = -level; // boundary between two data-0s
                    }
                    let (h0, h1) = if b == 1 {
                        (level, -level)
                    } else {
                        (level, level)
                    };
                    if b == 1 {
                        level = -level;
                    }
                    for (j, x) in c.iter_mut().enumerate() {
                        let h = if j < m { h0 } else { h1 };
                        // Square subcarrier: one chip per half cycle.
                        *x = if j % 2 == 0 { h } else { -h };
                    }
                    prev = Some(b);
                }
            }
        }
    }

    /// Encodes into a new vector.
    pub fn encode(self, bits: &[u8]) -> Vec<f32> {
        let mut v = vec![0.0; bits.len() * self.chips_per_bit()];
        self.encode_into(bits, &mut v);
        v
    }

    /// Soft decoding: chip LLRs (positive = chip `+1`) to bit LLRs (positive = bit 0).
    pub fn decode_soft_into(self, chip_llr: &[f32], bit_llr: &mut [f32]) {
        let cpb = self.chips_per_bit();
        assert_eq!(chip_llr.len(), bit_llr.len() * cpb, "LLR buffer length");
        match self {
            LineCode::Manchester => {
                // log P(+,-)/P(-,+) = l0 - l1.
                for (c, out) in chip_llr.chunks_exact(2).zip(bit_llr.iter_mut()) {
                    *out = c[0] - c[1];
                }
            }
            LineCode::Fm0 => {
                // data-0 ⇔ halves differ.
                for (c, out) in chip_llr.chunks_exact(2).zip(bit_llr.iter_mut()) {
                    *out = -boxplus(c[0], c[1]);
                }
            }
            LineCode::Miller(m) => {
                let m = m as usize;
                for (c, out) in chip_llr.chunks_exact(2 * m).zip(bit_llr.iter_mut()) {
                    // Strip the subcarrier: each half-bit level is observed by M chips.
                    let mut h = [0.0f32; 2];
                    for (j, &l) in c.iter().enumerate() {
                        h[j / m] += if j % 2 == 0 { l } else { -l };
                    }
                    // data-0 ⇔ halves equal.
                    *out = boxplus(h[0], h[1]);
                }
            }
        }
    }

    /// Hard decoding of ±1 chips (or any real chip soft values) to bits.
    pub fn decode_hard(self, chips: &[f32]) -> Vec<u8> {
        let mut llr = vec![0.0; chips.len() / self.chips_per_bit()];
        self.decode_soft_into(&chips[..llr.len() * self.chips_per_bit()], &mut llr);
        llr.iter().map(|&l| (l < 0.0) as u8).collect()
    }
}

/// LLR of the XOR-complement: log P(a = b)/P(a ≠ b) for chip LLRs `a`, `b`
/// (exact `2 atanh(tanh(a/2) tanh(b/2))`, clamped against overflow).
fn boxplus(a: f32, b: f32) -> f32 {
    let t = ((0.5 * a).tanh() * (0.5 * b).tanh()).clamp(-0.999_999, 0.999_999);
    // 2 atanh(t) = ln((1+t)/(1-t))
    ((1.0 + t) / (1.0 - t)).ln()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bits(n: usize, seed: u32) -> Vec<u8> {
        let mut x = seed | 1;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                (x & 1) as u8
            })
            .collect()
    }

    const ALL: [LineCode; 5] = [
        LineCode::Manchester,
        LineCode::Fm0,
        LineCode::Miller(2),
        LineCode::Miller(4),
        LineCode::Miller(8),
    ];

    #[test]
    fn round_trip_every_code() {
        for code in ALL {
            let b = bits(257, 7);
            let chips = code.encode(&b);
            assert_eq!(chips.len(), b.len() * code.chips_per_bit());
            assert_eq!(code.decode_hard(&chips), b, "{code:?}");
            let llr: Vec<f32> = chips.iter().map(|c| 4.0 * c).collect();
            let mut out = vec![0.0; b.len()];
            code.decode_soft_into(&llr, &mut out);
            for (o, &bit) in out.iter().zip(&b) {
                assert_eq!((*o < 0.0) as u8, bit);
                assert!(o.abs() > 1.0);
            }
        }
    }

    #[test]
    fn fm0_and_miller_follow_gen2_transition_rules() {
        // FM0: inversion at every boundary; data-0 also mid-bit.
        let c = LineCode::Fm0.encode(&[1, 0, 0, 1]);
        assert_eq!(c, vec![1., 1., -1., 1., -1., 1., -1., -1.]);
        // Miller baseband (strip the subcarrier): 1 → mid-bit inversion,
        // 0 0 → boundary inversion, 1 0 → none at the boundary.
        let c = LineCode::Miller(2).encode(&[0, 0, 1, 0]);
        let base: Vec<f32> = c
            .chunks_exact(2)
            .map(|p| p[0]) // first chip of each half-bit carries the level
            .collect();
        assert_eq!(base, vec![1., 1., -1., -1., -1., 1., 1., 1.]);
        // The subcarrier makes every Miller chip pair alternate.
        assert!(c.chunks_exact(2).all(|p| p[0] == -p[1]));
    }

    #[test]
    fn names_round_trip() {
        for code in ALL {
            assert_eq!(LineCode::from_name(code.name()), Some(code));
            assert!(code.is_valid());
        }
        assert!(!LineCode::Miller(3).is_valid());
    }
}
