//! Modulation mapper, TS 38.211 §5.1.
//!
//! Square QAM with Q_m = 2m bits is two PAMs: the even-indexed bits
//! b(0), b(2), .. give I, the odd ones Q, each through the nested form
//! s_0(2^{m−1} − s_1(2^{m−2} − ..)) with s_k = 1 − 2b, divided by √norm
//! (√2, √10, √42, √170, √682) for unit average energy. The mapper keeps one
//! 2^m-entry table per dimension, built once.

use super::{check_len, Modulation, ModulationError};
use crate::coding::crc::pack8;
use num_complex::Complex32;
use std::f32::consts::FRAC_1_SQRT_2;

/// Maps bits to constellation points for one modulation.
#[derive(Debug, Clone)]
pub struct Mapper {
    modulation: Modulation,
    /// PAM amplitude per m-bit label (first bit = MSB), already normalised.
    pam: Vec<f32>,
    /// For 16QAM, 64QAM and 256QAM: the point of every Q_m-bit label (first
    /// bit = MSB), the same values `pam` gives, looked up from bits packed
    /// eight at a time.
    points: Vec<Complex32>,
}

/// The PAM level of label bits `b` (b[0] first) in grid units: §5.1 nesting.
pub fn pam_level(b: &[u8]) -> i32 {
    let m = b.len();
    let s = |k: usize| 1 - 2 * b[k] as i32;
    let mut t = 1;
    for k in (1..m).rev() {
        t = (1 << (m - k)) - s(k) * t;
    }
    s(0) * t
}

/// The normalisation norm (average energy of the integer grid) for Q_m = 2m.
pub fn qam_norm(m: usize) -> f64 {
    2.0 * ((1u64 << (2 * m)) as f64 - 1.0) / 3.0
}

impl Mapper {
    /// Builds the tables for `modulation`.
    pub fn new(modulation: Modulation) -> Self {
        let m = modulation.bits_per_dim();
        let pam = if m == 0 {
            Vec::new()
        } else {
            let a = 1.0 / qam_norm(m).sqrt();
            (0..1usize << m)
                .map(|label| {
                    let bits: Vec<u8> =
                        (0..m).map(|k| ((label >> (m - 1 - k)) & 1) as u8).collect();
                    (pam_level(&bits) as f64 * a) as f32
                })
                .collect()
        };
        let qm = modulation.qm();
        let points = if matches!(qm, 4 | 6 | 8) {
            (0..1usize << qm)
                .map(|label| {
                    let bit = |k: usize| (label >> (qm - 1 - k)) & 1;
                    let (mut li, mut lq) = (0, 0);
                    for k in 0..m {
                        li = (li << 1) | bit(2 * k);
                        lq = (lq << 1) | bit(2 * k + 1);
                    }
                    Complex32::new(pam[li], pam[lq])
                })
                .collect()
        } else {
            Vec::new()
        };
        Mapper {
            modulation,
            pam,
            points,
        }
    }

    /// The modulation.
    pub fn modulation(&self) -> Modulation {
        self.modulation
    }

    /// Maps `bits` (Q_m per symbol, b(Q_m·i) first) to `out`. For π/2-BPSK
    /// the symbol index i starts at 0 (use [`Mapper::map_from`] otherwise).
    pub fn map(&self, bits: &[u8], out: &mut [Complex32]) -> Result<(), ModulationError> {
        self.map_from(0, bits, out)
    }

    /// As [`Mapper::map`], with the first symbol having index `first` (only
    /// π/2-BPSK depends on it).
    pub fn map_from(
        &self,
        first: usize,
        bits: &[u8],
        out: &mut [Complex32],
    ) -> Result<(), ModulationError> {
        let qm = self.modulation.qm();
        check_len("bits", bits.len(), out.len() * qm)?;
        match self.modulation {
            Modulation::Bpsk | Modulation::Pi2Bpsk => {
                let pi2 = self.modulation == Modulation::Pi2Bpsk;
                for (i, (o, &b)) in out.iter_mut().zip(bits).enumerate() {
                    let s = FRAC_1_SQRT_2 * (1.0 - 2.0 * (b & 1) as f32);
                    // e^{jπ/2} (1 + j) s = (−1 + j) s on odd indices.
                    *o = if pi2 && (first + i) % 2 == 1 {
                        Complex32::new(-s, s)
                    } else {
                        Complex32::new(s, s)
                    };
                }
            }
            Modulation::Qpsk => {
                for (o, b) in out.iter_mut().zip(bits.chunks_exact(2)) {
                    *o = Complex32::new(
                        FRAC_1_SQRT_2 * (1.0 - 2.0 * (b[0] & 1) as f32),
                        FRAC_1_SQRT_2 * (1.0 - 2.0 * (b[1] & 1) as f32),
                    );
                }
            }
            // Eight bits packed to a byte at once: one 256QAM label, or two 16QAM ones.
            Modulation::Qam256 => {
                for (o, b) in out.iter_mut().zip(bits.chunks_exact(8)) {
                    *o = self.points[pack8(b) as usize];
                }
            }
            Modulation::Qam16 => {
                let mut pairs = out.chunks_exact_mut(2);
                for (o, b) in (&mut pairs).zip(bits.chunks_exact(8)) {
                    let byte = pack8(b) as usize;
                    o[0] = self.points[byte >> 4];
                    o[1] = self.points[byte & 15];
                }
                if let [last] = pairs.into_remainder() {
                    let b = &bits[bits.len() - 4..];
                    let label = b.iter().fold(0, |l, &x| (l << 1) | (x & 1) as usize);
                    *last = self.points[label];
                }
            }
            Modulation::Qam64 => {
                // 24 bits (3 bytes) are 4 labels.
                let mut quads = out.chunks_exact_mut(4);
                for (o, b) in (&mut quads).zip(bits.chunks_exact(24)) {
                    let w = (pack8(&b[..8]) << 16) | (pack8(&b[8..16]) << 8) | pack8(&b[16..]);
                    for (k, x) in o.iter_mut().enumerate() {
                        *x = self.points[((w >> (18 - 6 * k)) & 63) as usize];
                    }
                }
                let rest = quads.into_remainder();
                let tail = &bits[bits.len() - 6 * rest.len()..];
                for (x, b) in rest.iter_mut().zip(tail.chunks_exact(6)) {
                    let label = b.iter().fold(0, |l, &y| (l << 1) | (y & 1) as usize);
                    *x = self.points[label];
                }
            }
            _ => {
                let m = qm / 2;
                for (o, b) in out.iter_mut().zip(bits.chunks_exact(qm)) {
                    let (mut li, mut lq) = (0usize, 0usize);
                    for k in 0..m {
                        li = (li << 1) | (b[2 * k] & 1) as usize;
                        lq = (lq << 1) | (b[2 * k + 1] & 1) as usize;
                    }
                    *o = Complex32::new(self.pam[li], self.pam[lq]);
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// §5.1 formulas written out per order.
    fn formula(qm: usize, b: &[u8]) -> (f64, f64) {
        let s = |k: usize| 1.0 - 2.0 * b[k] as f64;
        match qm {
            2 => (s(0) / 2f64.sqrt(), s(1) / 2f64.sqrt()),
            4 => (
                s(0) * (2.0 - s(2)) / 10f64.sqrt(),
                s(1) * (2.0 - s(3)) / 10f64.sqrt(),
            ),
            6 => (
                s(0) * (4.0 - s(2) * (2.0 - s(4))) / 42f64.sqrt(),
                s(1) * (4.0 - s(3) * (2.0 - s(5))) / 42f64.sqrt(),
            ),
            8 => (
                s(0) * (8.0 - s(2) * (4.0 - s(4) * (2.0 - s(6)))) / 170f64.sqrt(),
                s(1) * (8.0 - s(3) * (4.0 - s(5) * (2.0 - s(7)))) / 170f64.sqrt(),
            ),
            _ => unreachable!(),
        }
    }

    #[test]
    fn tables_match_the_spec_formulas_and_have_unit_energy() {
        for (modu, qm) in [
            (Modulation::Qpsk, 2),
            (Modulation::Qam16, 4),
            (Modulation::Qam64, 6),
            (Modulation::Qam256, 8),
        ] {
            let mapper = Mapper::new(modu);
            let n = 1usize << qm;
            let bits: Vec<u8> = (0..n)
                .flat_map(|l| (0..qm).map(move |k| ((l >> (qm - 1 - k)) & 1) as u8))
                .collect();
            let mut out = vec![Complex32::default(); n];
            mapper.map(&bits, &mut out).unwrap();
            let mut energy = 0.0;
            for (i, o) in out.iter().enumerate() {
                let (re, im) = formula(qm, &bits[i * qm..(i + 1) * qm]);
                assert!((o.re as f64 - re).abs() < 1e-6 && (o.im as f64 - im).abs() < 1e-6);
                energy += o.norm_sqr() as f64;
            }
            assert!((energy / n as f64 - 1.0).abs() < 1e-5, "{modu:?}");
        }
        let m = Mapper::new(Modulation::Qam1024);
        let e: f64 = m.pam.iter().map(|&a| (a * a) as f64).sum::<f64>() / m.pam.len() as f64;
        assert!((2.0 * e - 1.0).abs() < 1e-5);
    }

    #[test]
    fn packed_fast_paths_equal_the_per_dimension_tables() {
        for (modu, qm) in [
            (Modulation::Qam16, 4usize),
            (Modulation::Qam64, 6),
            (Modulation::Qam256, 8),
        ] {
            let mapper = Mapper::new(modu);
            // An odd symbol count: 16QAM's last symbol is a half byte, 64QAM's last
            // symbol is not a whole group of 4.
            let n = 1001;
            let bits: Vec<u8> = (0..n * qm)
                .map(|i| ((i * 13 + i / 7) % 3 == 0) as u8)
                .collect();
            let mut out = vec![Complex32::default(); n];
            mapper.map(&bits, &mut out).unwrap();
            let m = qm / 2;
            for (i, (o, b)) in out.iter().zip(bits.chunks_exact(qm)).enumerate() {
                let (mut li, mut lq) = (0usize, 0usize);
                for k in 0..m {
                    li = (li << 1) | b[2 * k] as usize;
                    lq = (lq << 1) | b[2 * k + 1] as usize;
                }
                let want = Complex32::new(mapper.pam[li], mapper.pam[lq]);
                assert_eq!(o.re.to_bits(), want.re.to_bits(), "{modu:?} symbol {i}");
                assert_eq!(o.im.to_bits(), want.im.to_bits(), "{modu:?} symbol {i}");
            }
        }
    }

    #[test]
    fn pi2_bpsk_rotates_odd_symbols() {
        let m = Mapper::new(Modulation::Pi2Bpsk);
        let mut out = [Complex32::default(); 4];
        m.map(&[0, 0, 1, 1], &mut out).unwrap();
        let a = FRAC_1_SQRT_2;
        assert_eq!(out[0], Complex32::new(a, a));
        assert_eq!(out[1], Complex32::new(-a, a));
        assert_eq!(out[2], Complex32::new(-a, -a));
        assert_eq!(out[3], Complex32::new(a, -a));
        assert!(m.map(&[0, 1], &mut out).is_err());
    }
}
