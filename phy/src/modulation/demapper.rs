//! Soft demapper: max-log LLRs for every TS 38.211 §5.1 constellation.
//!
//! Input: received points (after equalisation) and, per point, the
//! variance σ² of the complex noise on it; output: Q_m LLRs per point,
//! ln p(b=0)/p(b=1), in bit order b(Q_m·i) ... Each square QAM is demapped as
//! two independent PAMs (exact max-log, see `simd::scalar::demap`); BPSK and
//! π/2-BPSK have the closed form 4·Re(r·p*)/σ² with p the bit-0 point.
//!
//! Edge cases: a noise variance that is NaN, zero or negative is an error
//! ([`ModulationError::NoiseVar`]): it would otherwise become LLRs of full
//! confidence. A positive σ² below 1e-12 is raised to 1e-12, so LLRs of
//! finite points stay finite; σ² = +∞ gives LLRs of zero confidence. A point
//! with a NaN or infinite coordinate is an erasure: its Q_m LLRs are 0 (on
//! every instruction set alike) and it is counted in the returned value.

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

    /// Demaps `symbols` with per-symbol noise variances `noise_var` (each
    /// positive; +∞ allowed) into `llrs` (Q_m per symbol). For π/2-BPSK the
    /// first symbol has index 0. Returns the number of non-finite symbols,
    /// erased (LLRs 0).
    pub fn demap(
        &self,
        symbols: &[Complex32],
        noise_var: &[f32],
        llrs: &mut [f32],
    ) -> Result<usize, ModulationError> {
        self.demap_from(0, symbols, noise_var, llrs)
    }

    /// As [`Demapper::demap`], the first symbol having index `first`.
    pub fn demap_from(
        &self,
        first: usize,
        symbols: &[Complex32],
        noise_var: &[f32],
        llrs: &mut [f32],
    ) -> Result<usize, ModulationError> {
        check_len("noise variances", noise_var.len(), symbols.len())?;
        check_len("LLRs", llrs.len(), symbols.len() * self.modulation.qm())?;
        let flat: &[f32] = bytemuck::cast_slice(symbols);
        // Bad inputs (non-finite points, noise variances not positive) are
        // flagged by the kernel in its own pass (a separate pass for BPSK
        // and the AVX-512 kernel); the slow checks run only when flagged.
        let bad = match self.qam {
            None => {
                demap_bpsk(
                    self.modulation == Modulation::Pi2Bpsk,
                    first,
                    symbols,
                    noise_var,
                    llrs,
                );
                scalar::any_bad_input(flat, noise_var)
            }
            Some(p) => match self.level {
                #[cfg(target_arch = "x86_64")]
                // SAFETY: the level was clamped to what the CPU supports
                // (AVX-512 implies AVX2).
                SimdLevel::Avx512 => unsafe {
                    crate::simd::avx512::demap::demap_qam(p, flat, noise_var, llrs);
                    crate::simd::avx2::demap::any_bad_input(flat, noise_var)
                },
                #[cfg(target_arch = "x86_64")]
                // SAFETY: as above.
                SimdLevel::Avx2 => unsafe {
                    crate::simd::avx2::demap::demap_qam(p, flat, noise_var, llrs)
                },
                _ => scalar::demap_qam(p, flat, noise_var, llrs),
            },
        };
        if bad {
            check_noise_var(noise_var)?;
        }
        Ok(if bad {
            erase_non_finite(symbols, self.modulation.qm(), llrs)
        } else {
            0
        })
    }
}

/// Every noise variance must be positive (+∞ allowed; NaN is not).
fn check_noise_var(nv: &[f32]) -> Result<(), ModulationError> {
    match nv.iter().position(|&x| !(x > 0.0)) {
        None => Ok(()),
        Some(index) => Err(ModulationError::NoiseVar {
            index,
            value: nv[index],
        }),
    }
}

/// Zeroes the LLRs of every symbol with a non-finite coordinate (an
/// erasure); returns how many.
fn erase_non_finite(symbols: &[Complex32], qm: usize, llrs: &mut [f32]) -> usize {
    let mut erased = 0;
    for (s, l) in symbols.iter().zip(llrs.chunks_exact_mut(qm)) {
        if !(s.re.is_finite() && s.im.is_finite()) {
            l.fill(0.0);
            erased += 1;
        }
    }
    erased
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

    #[test]
    fn input_check_twins_agree_wherever_the_bad_value_lies() {
        use crate::simd::scalar::demap::any_bad_input;
        let bad = [f32::NAN, f32::INFINITY, f32::NEG_INFINITY];
        for n in [0usize, 1, 7, 8, 9, 31, 40] {
            let sym = vec![0.5f32; 2 * n];
            let nv = vec![0.1f32; n];
            let check = |s: &[f32], v: &[f32]| {
                let want = any_bad_input(s, v);
                #[cfg(target_arch = "x86_64")]
                if SimdLevel::Avx2.is_supported() {
                    // SAFETY: AVX2 is supported.
                    let got = unsafe { crate::simd::avx2::demap::any_bad_input(s, v) };
                    assert_eq!(got, want, "n {n}");
                }
                want
            };
            assert!(!check(&sym, &nv));
            for i in 0..2 * n {
                for &b in &bad {
                    let mut s2 = sym.clone();
                    s2[i] = b;
                    assert!(check(&s2, &nv), "symbol value {b} at {i} of {n}");
                }
            }
            for i in 0..n {
                for b in [f32::NAN, 0.0, -1.0, -0.0] {
                    let mut v2 = nv.clone();
                    v2[i] = b;
                    assert!(check(&sym, &v2), "noise variance {b} at {i} of {n}");
                }
                let mut v2 = nv.clone();
                v2[i] = f32::INFINITY; // allowed: zero confidence
                assert!(!check(&sym, &v2));
            }
        }
    }
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
            // A positive variance below the floor is raised to it.
            let nv = vec![1e-30f32; x.len()];
            let mut l = vec![0f32; bits.len()];
            Demapper::new(m).demap(&x, &nv, &mut l).unwrap();
            for (b, l) in bits.iter().zip(&l) {
                assert!(l.is_finite() && (*l > 0.0) == (*b == 0), "{m:?}");
            }
            assert!(Demapper::new(m).demap(&x, &nv[1..], &mut l).is_err());
        }
    }

    #[test]
    fn nan_zero_or_negative_noise_variance_is_an_error() {
        for m in Modulation::ALL {
            let (y, mut nv) = noisy(m, 21, 5, 0.3);
            let mut l = vec![0f32; y.len() * m.qm()];
            for (i, bad) in [(0usize, 0.0f32), (9, -1.0), (20, f32::NAN), (17, -0.0)] {
                let keep = nv[i];
                nv[i] = bad;
                for level in SimdLevel::supported() {
                    let e = Demapper::with_level(m, level)
                        .demap(&y, &nv, &mut l)
                        .unwrap_err();
                    assert!(
                        matches!(e, ModulationError::NoiseVar { index, .. } if index == i),
                        "{m:?} {level}: {e}"
                    );
                    assert!(e.to_string().contains("noise variance"), "{e}");
                }
                nv[i] = keep;
            }
            // +inf: zero confidence, not an error.
            nv[3] = f32::INFINITY;
            Demapper::new(m).demap(&y, &nv, &mut l).unwrap();
            assert!(l[3 * m.qm()..4 * m.qm()].iter().all(|&x| x == 0.0));
        }
    }

    #[test]
    fn non_finite_points_are_erasures_on_every_level() {
        // NaN and ±inf in either coordinate, in the vector body and in the
        // tails of every kernel; their LLRs are 0, the others unchanged.
        let bad = [
            Complex32::new(f32::NAN, 0.1),
            Complex32::new(0.2, f32::NAN),
            Complex32::new(f32::INFINITY, 0.0),
            Complex32::new(-0.3, f32::NEG_INFINITY),
            Complex32::new(f32::NAN, f32::INFINITY),
        ];
        for m in Modulation::ALL {
            let qm = m.qm();
            for n in [1usize, 3, 4, 5, 8, 15, 16, 17, 203] {
                let (mut y, nv) = noisy(m, n, 40 + n as u64, 0.4);
                let clean = y.clone();
                let hit: Vec<usize> = [0, n / 2, n - 1, 7 % n, 16 % n]
                    .into_iter()
                    .collect::<std::collections::BTreeSet<_>>()
                    .into_iter()
                    .collect();
                for (j, &i) in hit.iter().enumerate() {
                    y[i] = bad[j % bad.len()];
                }
                let mut want = vec![0f32; n * qm];
                Demapper::with_level(m, SimdLevel::Scalar)
                    .demap(&clean, &nv, &mut want)
                    .unwrap();
                for level in SimdLevel::supported() {
                    let mut got = vec![f32::NAN; n * qm];
                    let erased = Demapper::with_level(m, level)
                        .demap(&y, &nv, &mut got)
                        .unwrap();
                    assert_eq!(erased, hit.len(), "{m:?} {level} n {n}");
                    for i in 0..n {
                        let (g, w) = (&got[i * qm..][..qm], &want[i * qm..][..qm]);
                        if hit.contains(&i) {
                            assert!(g.iter().all(|&x| x == 0.0), "{m:?} {level} {i}: {g:?}");
                        } else {
                            for (&g, &w) in g.iter().zip(w) {
                                assert!(
                                    (g - w).abs() <= 1e-4 * w.abs().max(1.0),
                                    "{m:?} {level} n {n} i {i}: {g} vs {w}"
                                );
                            }
                        }
                    }
                }
            }
        }
    }
}
