//! Cyclic redundancy checks, TS 38.212 §5.1.
//!
//! Bits are unpacked (one bit per byte, value 0 or 1), a_0 first. The
//! register starts at zero, nothing is reflected and there is no final XOR:
//! the parity p_0..p_{L-1} is the remainder of a(D)·D^L divided by g(D),
//! p_0 the highest-order coefficient. The calculator folds 64 bits per step
//! with eight independent table look-ups (slicing by 8), then a byte per
//! look-up, then single bits.

/// The CRC generator polynomials of TS 38.212 §5.1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CrcPoly {
    /// g_CRC24A(D): transport blocks larger than 3824 bits.
    Crc24A,
    /// g_CRC24B(D): code blocks when a TB is segmented.
    Crc24B,
    /// g_CRC24C(D): DCI and BCH (polar codes).
    Crc24C,
    /// g_CRC16(D): transport blocks of at most 3824 bits.
    Crc16,
    /// g_CRC11(D): UCI with polar coding.
    Crc11,
    /// g_CRC6(D): short UCI with polar coding.
    Crc6,
}

impl CrcPoly {
    /// All six polynomials.
    pub const ALL: [CrcPoly; 6] = [
        CrcPoly::Crc24A,
        CrcPoly::Crc24B,
        CrcPoly::Crc24C,
        CrcPoly::Crc16,
        CrcPoly::Crc11,
        CrcPoly::Crc6,
    ];

    /// The number of parity bits L.
    pub const fn len(self) -> usize {
        match self {
            CrcPoly::Crc24A | CrcPoly::Crc24B | CrcPoly::Crc24C => 24,
            CrcPoly::Crc16 => 16,
            CrcPoly::Crc11 => 11,
            CrcPoly::Crc6 => 6,
        }
    }

    /// The exponents of g(D)'s non-zero terms, highest first, as written in §5.1.
    pub const fn exponents(self) -> &'static [u32] {
        match self {
            CrcPoly::Crc24A => &[24, 23, 18, 17, 14, 11, 10, 7, 6, 5, 4, 3, 1, 0],
            CrcPoly::Crc24B => &[24, 23, 6, 5, 1, 0],
            CrcPoly::Crc24C => &[24, 23, 21, 20, 17, 15, 13, 12, 8, 4, 2, 1, 0],
            CrcPoly::Crc16 => &[16, 12, 5, 0],
            CrcPoly::Crc11 => &[11, 10, 9, 5, 0],
            CrcPoly::Crc6 => &[6, 5, 0],
        }
    }

    /// The spec's name, as used in test vectors (`CRC24A`, ...).
    pub const fn name(self) -> &'static str {
        match self {
            CrcPoly::Crc24A => "CRC24A",
            CrcPoly::Crc24B => "CRC24B",
            CrcPoly::Crc24C => "CRC24C",
            CrcPoly::Crc16 => "CRC16",
            CrcPoly::Crc11 => "CRC11",
            CrcPoly::Crc6 => "CRC6",
        }
    }

    /// Looks a polynomial up by its spec name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.name() == name)
    }

    /// g(D) without its leading term, as an L-bit mask (bit i = coefficient of D^i).
    const fn mask(self) -> u32 {
        let e = self.exponents();
        let mut m = 0u32;
        let mut i = 1; // skip D^L
        while i < e.len() {
            m |= 1 << e[i];
            i += 1;
        }
        m
    }
}

/// One [`Crc`] per polynomial of TS 38.212 §5.1, built once (about 50 KiB
/// of tables), for code that meets several (TB and code-block CRCs).
#[derive(Clone)]
pub struct CrcSet {
    crcs: Vec<Crc>,
}

impl CrcSet {
    /// Tables for all six polynomials.
    pub fn new() -> Self {
        CrcSet {
            crcs: CrcPoly::ALL.iter().map(|&p| Crc::new(p)).collect(),
        }
    }

    /// The calculator of `poly`.
    pub fn get(&self, poly: CrcPoly) -> &Crc {
        // ALL lists every variant, so the search always succeeds.
        let i = CrcPoly::ALL.iter().position(|&p| p == poly).unwrap_or(0);
        &self.crcs[i]
    }
}

impl Default for CrcSet {
    fn default() -> Self {
        Self::new()
    }
}

/// A table-driven CRC calculator for one polynomial. Build once, use many times.
#[derive(Clone)]
pub struct Crc {
    poly: CrcPoly,
    /// Remainder contribution of each input byte, aligned to the top of a 32-bit register.
    table: [u32; 256],
    /// Slicing tables: `slices[k][b]` is `table[b]` advanced by k + 1 more
    /// zero bytes, so 8 bytes are folded by 8 independent look-ups.
    slices: [[u32; 256]; 7],
}

impl std::fmt::Debug for Crc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Crc").field("poly", &self.poly).finish()
    }
}

/// Eight unpacked bits (first = most significant) as a byte. Bit i of the
/// chunk goes to bit 7 − i: with the bits in bytes 0..8 of x, the product
/// places b_i·2^(63−i) without carries (0x8040201008040201 = Σ 2^(63−9i)).
#[inline(always)]
pub(crate) fn pack8(c: &[u8]) -> u32 {
    let x = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]])
        & 0x0101_0101_0101_0101;
    (x.wrapping_mul(0x8040_2010_0804_0201) >> 56) as u32
}

impl Crc {
    /// Builds the byte and slicing tables for `poly`.
    pub fn new(poly: CrcPoly) -> Self {
        // Work with the register left-aligned in 32 bits so every L is handled alike.
        let g = poly.mask() << (32 - poly.len());
        let mut table = [0u32; 256];
        for (b, t) in table.iter_mut().enumerate() {
            let mut r = (b as u32) << 24;
            for _ in 0..8 {
                r = if r & 0x8000_0000 != 0 {
                    (r << 1) ^ g
                } else {
                    r << 1
                };
            }
            *t = r;
        }
        let mut slices = [[0u32; 256]; 7];
        let mut prev = table;
        for sl in slices.iter_mut() {
            for (b, v) in sl.iter_mut().enumerate() {
                *v = (prev[b] << 8) ^ table[(prev[b] >> 24) as usize];
            }
            prev = *sl;
        }
        Crc {
            poly,
            table,
            slices,
        }
    }

    /// The polynomial.
    pub fn poly(&self) -> CrcPoly {
        self.poly
    }

    /// The remainder of the unpacked bits `bits` (a_0 first), as an L-bit integer
    /// whose most significant bit is p_0.
    pub fn remainder(&self, bits: &[u8]) -> u32 {
        let mut r = 0u32; // left-aligned register
                          // Slicing by 8: 64 bits (8 bytes) per step, the look-ups independent.
        let mut words = bits.chunks_exact(64);
        for w in &mut words {
            let b: [u32; 8] = std::array::from_fn(|i| pack8(&w[8 * i..8 * i + 8]));
            let hi = r ^ (b[0] << 24 | b[1] << 16 | b[2] << 8 | b[3]);
            let t = &self.slices;
            r = t[6][(hi >> 24) as usize]
                ^ t[5][((hi >> 16) & 0xff) as usize]
                ^ t[4][((hi >> 8) & 0xff) as usize]
                ^ t[3][(hi & 0xff) as usize]
                ^ t[2][b[4] as usize]
                ^ t[1][b[5] as usize]
                ^ t[0][b[6] as usize]
                ^ self.table[b[7] as usize];
        }
        let bits = words.remainder();
        let mut chunks = bits.chunks_exact(8);
        for c in &mut chunks {
            let byte = pack8(c);
            r = (r << 8) ^ self.table[((r >> 24) ^ byte) as usize];
        }
        for &b in chunks.remainder() {
            let top = (r >> 31) ^ (b & 1) as u32;
            r <<= 1;
            if top != 0 {
                r ^= self.poly.mask() << (32 - self.poly.len());
            }
        }
        r >> (32 - self.poly.len())
    }

    /// Writes p_0..p_{L-1} for `bits` into `parity` (length L).
    pub fn parity_into(&self, bits: &[u8], parity: &mut [u8]) {
        let l = self.poly.len();
        assert_eq!(parity.len(), l, "parity buffer must hold L bits");
        let r = self.remainder(bits);
        for (i, p) in parity.iter_mut().enumerate() {
            *p = ((r >> (l - 1 - i)) & 1) as u8;
        }
    }

    /// Returns a_0..a_{A-1} p_0..p_{L-1} (§5.1 CRC attachment).
    pub fn attach(&self, bits: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(bits.len() + self.poly.len());
        out.extend_from_slice(bits);
        out.resize(bits.len() + self.poly.len(), 0);
        let (a, p) = out.split_at_mut(bits.len());
        self.parity_into(a, p);
        out
    }

    /// True when `bits_with_parity` (a_0.. followed by the L parity bits) checks.
    pub fn check(&self, bits_with_parity: &[u8]) -> bool {
        bits_with_parity.len() >= self.poly.len() && self.remainder(bits_with_parity) == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bit-by-bit long division straight from the §5.1 definition.
    fn reference(poly: CrcPoly, bits: &[u8]) -> Vec<u8> {
        let l = poly.len();
        let mut reg = vec![0u8; bits.len() + l];
        reg[..bits.len()].copy_from_slice(bits);
        let mut g = vec![0u8; l + 1];
        for &e in poly.exponents() {
            g[l - e as usize] = 1;
        }
        for i in 0..bits.len() {
            if reg[i] == 1 {
                for (j, &gj) in g.iter().enumerate() {
                    reg[i + j] ^= gj;
                }
            }
        }
        reg[bits.len()..].to_vec()
    }

    #[test]
    fn table_matches_long_division_for_every_poly_and_length() {
        let mut x = 0x1234_5678u32;
        for poly in CrcPoly::ALL {
            let crc = Crc::new(poly);
            for len in [0usize, 1, 7, 8, 9, 23, 63, 64, 65, 101, 200, 3824] {
                let bits: Vec<u8> = (0..len)
                    .map(|_| {
                        x ^= x << 13;
                        x ^= x >> 17;
                        x ^= x << 5;
                        (x & 1) as u8
                    })
                    .collect();
                let with = crc.attach(&bits);
                assert_eq!(
                    &with[len..],
                    &reference(poly, &bits)[..],
                    "{poly:?} len {len}"
                );
                assert!(crc.check(&with));
                let mut bad = with.clone();
                if len > 0 {
                    bad[len / 2] ^= 1;
                    assert!(!crc.check(&bad), "{poly:?} must detect a single bit error");
                }
            }
        }
    }

    #[test]
    fn crc_set_gives_each_polynomial_its_own_calculator() {
        let set = CrcSet::new();
        let bits: Vec<u8> = (0..77).map(|i| ((i * 5) % 3 == 0) as u8).collect();
        for poly in CrcPoly::ALL {
            let c = set.get(poly);
            assert_eq!(c.poly(), poly);
            assert_eq!(c.attach(&bits), Crc::new(poly).attach(&bits));
        }
    }

    #[test]
    fn names_round_trip() {
        for p in CrcPoly::ALL {
            assert_eq!(CrcPoly::from_name(p.name()), Some(p));
            assert_eq!(p.exponents()[0] as usize, p.len());
        }
    }
}
