//! Soft demapper: max-log LLRs for every TS 38.211 §5.1 constellation.
//!
//! Input: received points (after equalisation) and, per point, the
//! variance σ² of the complex noise on it; output: Q_m LLRs per point,
//! ln p(b=0)/p(b=1), in bit order b(Q_m·i) ... Each square QAM is demapped as
//! two independent PAMs (exact max-log, see `simd::scalar::demap`); BPSK and
//! π/2-BPSK have the closed form 4·Re(r·p*)/σ² with p the bit-0 point.
//!
//! Edge cases: σ² ≤ 1e-12 (including 0 and NaN) is raised to 1e-12, so LLRs
//! stay finite; a NaN or infinite point gives NaN/infinite LLRs for its own
//! bits only.

use super::{check_len, Modulation, ModulationError};
use crate::simd::scalar::demap::{self as scalar, QamParams, MIN_NOISE_VAR};
use crate::simd::SimdLevel;
use num_complex::Complex32;

/// A demapper for one modulation, with its kernel chosen once.
#[derive(Debug, Clone, Copy)]
pub struct Demapper {
    modulation: Modulation,
    level: SimdLevel,
    qam: Option<QamParams>,
}

impl Demapper {
    /// A demapper using the best instruction set of this CPU.
    pub fn new(modulation: Modulation) -> Self {
        Self::with_level(modulation, SimdLevel::detect())
    }

    /// A demapper using at most `level` (lowered to what the CPU supports).
    pub fn with_level(modulation: Modulation, level: SimdLevel) -> Self {
        let level = level.clamp_to(SimdLevel::detect());
        let m = modulation.bits_per_dim();
        Demapper {
            modulation,
            level,
            qam: (m > 0).then(|| QamParams::new(m)),
        }
    }

    /// The modulation.
    pub fn modulation(&self) -> Modulation {
        self.modulation
    }

    /// The instruction set in use.
    pub fn level(&self) -> SimdLevel {
        self.level
    }

    /// Demaps `symbols` with per-symbol noise variances `noise_var` into
    /// `llrs` (Q_m per symbol). For π/2-BPSK the first symbol has index 0.
    pub fn demap(
        &self,
        symbols: &[Complex32],
        noise_var: &[f32],
        llrs: &mut [f32],
    ) -> Result<(), ModulationError> {
        self.demap_from(0, symbols, noise_var, llrs)
    }

    /// As [`Demapper::demap`], the first symbol having index `first`.
    pub fn demap_from(
        &self,
        first: usize,
        symbols: &[Complex32],
        noise_var: &[f32],
        llrs: &mut [f32],
    ) -> Result<(), ModulationError> {
        check_len("noise variances", noise_var.len(), symbols.len())?;
        check_len("LLRs", llrs.len(), symbols.len() * self.modulation.qm())?;
        let flat: &[f32] = bytemuck::cast_slice(symbols);
        match self.qam {
            None => demap_bpsk(
                self.modulation == Modulation::Pi2Bpsk,
                first,
                symbols,
                noise_var,
                llrs,
            ),
            Some(p) => match self.level {
                #[cfg(target_arch = "x86_64")]
                // SAFETY: the level was clamped to what the CPU supports.
                SimdLevel::Avx512 => unsafe {
                    crate::simd::avx512::demap::demap_qam(p, flat, noise_var, llrs)
                },
                #[cfg(target_arch = "x86_64")]
                // SAFETY: as above.
                SimdLevel::Avx2 => unsafe {
                    crate::simd::avx2::demap::demap_qam(p, flat, noise_var, llrs)
                },
                _ => scalar::demap_qam(p, flat, noise_var, llrs),
            },
        }
        Ok(())
    }
}

fn demap_bpsk(pi2: bool, first: usize, symbols: &[Complex32], nv: &[f32], llrs: &mut [f32]) {
    // 4·Re(r·p*)/σ² with p = (1 + j)/√2, or (−1 + j)/√2 on odd π/2-BPSK indices.
    let k = 4.0 * std::f32::consts::FRAC_1_SQRT_2;
    for (i, ((r, &n), l)) in symbols.iter().zip(nv).zip(llrs.iter_mut()).enumerate() {
        let re = if pi2 && (first + i) % 2 == 1 {
            -r.re
        } else {
            r.re
        };
        *l = k * (re + r.im) / n.max(MIN_NOISE_VAR);
    }
}

/// The exact LLRs ln Σ_{x: b=0} e^{−|r−x|²/σ²} − ln Σ_{x: b=1} …, by
/// log-sum-exp over the whole constellation in f64: the reference the fast
/// demapper is tested against (slow: 2^Q_m points per symbol).
pub fn demap_exact(
    modulation: Modulation,
    first: usize,
    symbols: &[Complex32],
    noise_var: &[f32],
    llrs: &mut [f64],
) {
    let qm = modulation.qm();
    let mapper = super::Mapper::new(modulation);
    for (i, ((r, &n), out)) in symbols
        .iter()
        .zip(noise_var)
        .zip(llrs.chunks_exact_mut(qm))
        .enumerate()
    {
        let n = n.max(MIN_NOISE_VAR) as f64;
        let mut metrics = Vec::with_capacity(1 << qm);
        for label in 0..1usize << qm {
            let bits: Vec<u8> = (0..qm)
                .map(|k| ((label >> (qm - 1 - k)) & 1) as u8)
                .collect();
            let mut x = [Complex32::default()];
            mapper
                .map_from(first + i, &bits, &mut x)
                .expect("lengths match");
            let d = (r.re as f64 - x[0].re as f64).powi(2) + (r.im as f64 - x[0].im as f64).powi(2);
            metrics.push((bits, -d / n));
        }
        let lse = |b: u8, k: usize| {
            let it = metrics
                .iter()
                .filter(|(bits, _)| bits[k] == b)
                .map(|(_, m)| *m);
            let mx = it.clone().fold(f64::NEG_INFINITY, f64::max);
            mx + it.map(|m| (m - mx).exp()).sum::<f64>().ln()
        };
        for (k, o) in out.iter_mut().enumerate() {
            *o = lse(0, k) - lse(1, k);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modulation::Mapper;
    use rand::{Rng, SeedableRng};
    use rand_xoshiro::Xoshiro256PlusPlus;

    /// Max-log by brute force over every point.
    fn maxlog_brute(m: Modulation, first: usize, r: &[Complex32], nv: &[f32]) -> Vec<f64> {
        let qm = m.qm();
        let mapper = Mapper::new(m);
        let mut out = vec![0.0; r.len() * qm];
        for (i, (s, &n)) in r.iter().zip(nv).enumerate() {
            let n = n.max(MIN_NOISE_VAR) as f64;
            let mut best = vec![[f64::INFINITY; 2]; qm];
            for label in 0..1usize << qm {
                let bits: Vec<u8> = (0..qm)
                    .map(|k| ((label >> (qm - 1 - k)) & 1) as u8)
                    .collect();
                let mut x = [Complex32::default()];
                mapper.map_from(first + i, &bits, &mut x).unwrap();
                let d =
                    (s.re as f64 - x[0].re as f64).powi(2) + (s.im as f64 - x[0].im as f64).powi(2);
                for k in 0..qm {
                    let b = bits[k] as usize;
                    best[k][b] = best[k][b].min(d);
                }
            }
            for k in 0..qm {
                out[i * qm + k] = (best[k][1] - best[k][0]) / n;
            }
        }
        out
    }

    fn noisy(m: Modulation, n: usize, seed: u64, sigma: f32) -> (Vec<Complex32>, Vec<f32>) {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
        let bits: Vec<u8> = (0..n * m.qm()).map(|_| rng.gen_range(0..2)).collect();
        let mut x = vec![Complex32::default(); n];
        Mapper::new(m).map(&bits, &mut x).unwrap();
        let nv: Vec<f32> = (0..n)
            .map(|_| sigma * sigma * rng.gen_range(0.5..2.0))
            .collect();
        let y = x
            .iter()
            .map(|p| {
                // Uniform noise is enough to visit every decision region; includes far-out points.
                *p + Complex32::new(rng.gen_range(-1.5..1.5), rng.gen_range(-1.5..1.5))
                    * sigma
                    * 2.0
            })
            .collect();
        (y, nv)
    }

    #[test]
    fn every_level_matches_brute_force_max_log() {
        for m in Modulation::ALL {
            let (y, nv) = noisy(m, 203, 7, 0.3);
            let want = maxlog_brute(m, 0, &y, &nv);
            for level in SimdLevel::supported() {
                let d = Demapper::with_level(m, level);
                let mut got = vec![0f32; y.len() * m.qm()];
                d.demap(&y, &nv, &mut got).unwrap();
                for (i, (&g, &w)) in got.iter().zip(&want).enumerate() {
                    assert!(
                        (g as f64 - w).abs() <= 1e-3 * w.abs().max(1.0),
                        "{m:?} {level}: LLR {i} got {g} want {w}"
                    );
                }
            }
        }
        if !SimdLevel::Avx512.is_supported() {
            println!("AVX-512 not supported on this CPU: avx512 demapper twin test skipped");
        }
    }

    #[test]
    fn simd_kernels_agree_with_scalar_twin_bit_for_bit_close() {
        for m in Modulation::ALL.into_iter().filter(|m| m.bits_per_dim() > 0) {
            for n in [0usize, 1, 3, 4, 5, 8, 15, 16, 17, 1000] {
                let (y, nv) = noisy(m, n, 11 + n as u64, 0.5);
                let mut want = vec![0f32; n * m.qm()];
                Demapper::with_level(m, SimdLevel::Scalar)
                    .demap(&y, &nv, &mut want)
                    .unwrap();
                for level in SimdLevel::supported() {
                    let mut got = vec![f32::NAN; n * m.qm()];
                    Demapper::with_level(m, level)
                        .demap(&y, &nv, &mut got)
                        .unwrap();
                    for (i, (&g, &w)) in got.iter().zip(&want).enumerate() {
                        assert!(
                            (g - w).abs() <= 1e-4 * w.abs().max(1.0),
                            "{m:?} {level} n {n} i {i}: {g} vs {w}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn max_log_is_close_to_exact_and_has_its_sign_when_confident() {
        // |exact − max-log| ≤ ln(2^{Q_m−1}) for every bit.
        for m in Modulation::ALL {
            let (y, nv) = noisy(m, 300, 3, 0.15);
            let mut fast = vec![0f32; y.len() * m.qm()];
            Demapper::new(m).demap(&y, &nv, &mut fast).unwrap();
            let mut exact = vec![0f64; fast.len()];
            demap_exact(m, 0, &y, &nv, &mut exact);
            let bound = ((m.qm() - 1) as f64) * std::f64::consts::LN_2 + 1e-3;
            for (i, (&f, &e)) in fast.iter().zip(&exact).enumerate() {
                assert!(
                    (f as f64 - e).abs() <= bound * (1.0 + 1e-4 * e.abs()),
                    "{m:?} {i}: {f} vs {e}"
                );
                if e.abs() > 2.0 * bound {
                    assert_eq!(f > 0.0, e > 0.0, "{m:?} {i}");
                }
            }
        }
    }

    #[test]
    fn noiseless_points_decide_their_own_bits_and_zero_noise_stays_finite() {
        for m in Modulation::ALL {
            let qm = m.qm();
            let bits: Vec<u8> = (0..(1usize << qm) * qm)
                .map(|i| ((i / qm) >> (qm - 1 - i % qm)) as u8 & 1)
                .collect();
            let mut x = vec![Complex32::default(); 1 << qm];
            Mapper::new(m).map(&bits, &mut x).unwrap();
            let nv = vec![0.0f32; x.len()];
            let mut l = vec![0f32; bits.len()];
            Demapper::new(m).demap(&x, &nv, &mut l).unwrap();
            for (b, l) in bits.iter().zip(&l) {
                assert!(l.is_finite() && (*l > 0.0) == (*b == 0), "{m:?}");
            }
            assert!(Demapper::new(m).demap(&x, &nv[1..], &mut l).is_err());
        }
    }
}
