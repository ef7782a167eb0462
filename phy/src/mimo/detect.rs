//! Linear MIMO detection per resource element: ZF, MMSE and MMSE-IRC.
//!
//! Model per RE: `y = H s + n`, `y` of `n_rx` antennas, `H` of
//! `n_rx x n_layers`, unit-power symbols `s` and noise of variance `σ²` per
//! antenna (MMSE-IRC: noise plus interference of covariance `R`).
//!
//! - ZF: `x = (H^H H)^-1 H^H y`, noise variance `σ² [(H^H H)^-1]_ll`.
//! - MMSE: `A = H^H H + σ² I`, `x̃ = A^-1 H^H y`, reported unbiased:
//!   `β_l = 1 - σ² [A^-1]_ll`, `x_l = x̃_l / β_l`, noise variance
//!   `(1 - β_l) / β_l = 1 / SINR_l`.
//! - MMSE-IRC: whiten with `R = C C^H` (`C^-1 y`, `C^-1 H`), then MMSE
//!   with unit noise.
//!
//! The output noise variance is what a max-log demapper divides by, so
//! `x_l = s_l + e` with `E|e|² = nvar_l`.
//!
//! Edges: the Gram matrix is factored as `L D L^H` with pivots clamped to a
//! floor of 1e-6 of its mean diagonal (plus 1e-18), so singular, rank
//! deficient and all-zero channels give finite outputs; a layer the channel
//! cannot resolve (ZF: its gain is at the floor; MMSE: `β_l < 1e-4`) gets
//! [`ZERO_CONFIDENCE_NOISE_VAR`], i.e. LLRs of zero confidence. A noise
//! variance of zero (or below the floor) is raised to the floor. Inputs must
//! be finite.

use super::lanes::{self, detector::DetectParams};
use crate::simd::SimdLevel;
use num_complex::Complex32;

/// Noise variance reported for a layer that carries no information
/// (singular or zero channel): LLRs scaled by it are zero to f32 precision.
pub const ZERO_CONFIDENCE_NOISE_VAR: f32 = lanes::ZERO_CONFIDENCE;

/// Largest number of receive antennas.
pub const MAX_RX: usize = 64;
/// Largest number of layers.
pub const MAX_LAYERS: usize = lanes::MAX_LAYERS;

/// The linear equaliser.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Equalizer {
    /// Zero forcing.
    Zf,
    /// Minimum mean-square error (white noise), unbiased output.
    Mmse,
    /// MMSE with interference rejection combining: an estimated
    /// noise-plus-interference covariance per group of REs.
    MmseIrc,
}

/// Bad detector or precoder input; names the offending argument.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MimoError {
    /// The antenna or layer count is outside 1..=64 / 1..=16, or there are
    /// more layers than antennas.
    #[error("unsupported MIMO size: {n_layers} layers on {n_rx} antennas (1..=16 layers, 1..=64 antennas, layers <= antennas)")]
    Size {
        /// Receive antennas (detection) or transmit antennas (precoding).
        n_rx: usize,
        /// Layers (detection) or users (precoding).
        n_layers: usize,
    },
    /// A buffer does not have the length the sizes imply.
    #[error("`{name}` holds {got} elements, expected {expected}")]
    Length {
        /// Argument name.
        name: &'static str,
        /// Its length.
        got: usize,
        /// The length expected.
        expected: usize,
    },
    /// The noise variance is negative or not finite.
    #[error("noise variance {0} is not a finite non-negative number")]
    NoiseVar(f32),
    /// The call does not match the detector's equaliser (IRC needs a
    /// covariance, ZF/MMSE take none).
    #[error("equaliser {0:?} does not take this call; use detect() for ZF/MMSE and detect_irc() for MMSE-IRC")]
    WrongEqualizer(Equalizer),
    /// A group size of zero.
    #[error("`{0}` must be at least 1")]
    ZeroGroup(&'static str),
}

/// A linear MIMO detector for a fixed antenna and layer count, with its
/// instruction set chosen once.
#[derive(Debug, Clone)]
pub struct Detector {
    n_rx: usize,
    n_layers: usize,
    equalizer: Equalizer,
    level: SimdLevel,
}

impl Detector {
    /// A detector for `n_rx` antennas and `n_layers` layers using the best
    /// instruction set of this CPU.
    pub fn new(n_rx: usize, n_layers: usize, equalizer: Equalizer) -> Result<Self, MimoError> {
        Self::with_level(n_rx, n_layers, equalizer, SimdLevel::detect())
    }

    /// As [`Detector::new`] with the instruction set capped at `level`
    /// (tests and benches force one this way).
    pub fn with_level(
        n_rx: usize,
        n_layers: usize,
        equalizer: Equalizer,
        level: SimdLevel,
    ) -> Result<Self, MimoError> {
        check_size(n_rx, n_layers)?;
        Ok(Detector {
            n_rx,
            n_layers,
            equalizer,
            level: level.clamp_to(SimdLevel::detect()),
        })
    }

    /// Receive antennas.
    pub fn n_rx(&self) -> usize {
        self.n_rx
    }
    /// Layers.
    pub fn n_layers(&self) -> usize {
        self.n_layers
    }
    /// The equaliser.
    pub fn equalizer(&self) -> Equalizer {
        self.equalizer
    }
    /// The instruction set in use.
    pub fn level(&self) -> SimdLevel {
        self.level
    }

    /// Real floating-point operations per RE of the detection kernel (an
    /// FMA counts two), for reporting the fraction of peak FLOP rate.
    /// MMSE-IRC's whitening pass is not included.
    pub fn flops_per_re(&self) -> f64 {
        lanes::flops::detect_flops(self.n_rx, self.n_layers, self.equalizer == Equalizer::Zf)
    }

    /// Detects `n_re = y.len() / n_rx` REs, each with its own channel (ZF or
    /// MMSE).
    ///
    /// - `y[rx * n_re + re]`: received REs, one plane per antenna;
    /// - `h[(rx * n_layers + layer) * n_re + re]`: channel estimates;
    /// - `noise_var`: noise variance per antenna relative to unit-power
    ///   symbols (as the channel estimator reports it);
    /// - `x[layer * n_re + re]`: equalised symbols (unbiased);
    /// - `nvar[layer * n_re + re]`: their noise variance (1/SINR).
    ///
    /// Allocates nothing.
    pub fn detect(
        &self,
        y: &[Complex32],
        h: &[Complex32],
        noise_var: f32,
        x: &mut [Complex32],
        nvar: &mut [f32],
    ) -> Result<(), MimoError> {
        let zf = match self.equalizer {
            Equalizer::Zf => true,
            Equalizer::Mmse => false,
            Equalizer::MmseIrc => return Err(MimoError::WrongEqualizer(self.equalizer)),
        };
        if !(noise_var >= 0.0 && noise_var.is_finite()) {
            return Err(MimoError::NoiseVar(noise_var));
        }
        let n_re = self.check_buffers(y, h, x, nvar)?;
        let p = DetectParams {
            n_rx: self.n_rx,
            n_layers: self.n_layers,
            stride: n_re,
            noise_var,
            zf,
        };
        // SAFETY: the lengths were checked against n_re above.
        unsafe { run_detect(self.level, &p, y, h, x, nvar, n_re) };
        Ok(())
    }

    /// Real floating-point operations per RE of [`Detector::detect_grouped`]
    /// with `re_per_group` REs per channel (the per-group factorisation
    /// shared among them), for reporting the fraction of peak FLOP rate.
    pub fn flops_per_re_grouped(&self, re_per_group: usize) -> f64 {
        let r = re_per_group.max(1);
        lanes::flops::detect_group_flops(
            self.n_rx,
            self.n_layers,
            self.equalizer == Equalizer::Zf,
            r,
        ) / r as f64
    }

    /// Detects REs whose channel is shared by groups of `re_per_group`
    /// consecutive REs (ZF or MMSE), e.g. one estimate per PRB and symbol:
    /// the Gram matrix, its factorisation, the post-equalisation noise
    /// variances and the unbiasing scales are computed once per group, the
    /// matched filter `H^H y` and the solve per RE. Per RE the outputs are
    /// those of [`Detector::detect`] with every RE of a group given the
    /// group's channel (to rounding).
    ///
    /// - `y[rx * n_re + re]`, `x[layer * n_re + re]`, `nvar[layer * n_re + re]`
    ///   as in [`Detector::detect`];
    /// - `h[(rx * n_layers + layer) * n_groups + group]`: one channel per
    ///   group, `n_groups = ceil(n_re / re_per_group)`; RE `re` belongs to
    ///   group `re / re_per_group` (the last group may be shorter).
    ///
    /// Allocates nothing.
    pub fn detect_grouped(
        &self,
        y: &[Complex32],
        h: &[Complex32],
        re_per_group: usize,
        noise_var: f32,
        x: &mut [Complex32],
        nvar: &mut [f32],
    ) -> Result<(), MimoError> {
        let zf = match self.equalizer {
            Equalizer::Zf => true,
            Equalizer::Mmse => false,
            Equalizer::MmseIrc => return Err(MimoError::WrongEqualizer(self.equalizer)),
        };
        if re_per_group == 0 {
            return Err(MimoError::ZeroGroup("re_per_group"));
        }
        if !(noise_var >= 0.0 && noise_var.is_finite()) {
            return Err(MimoError::NoiseVar(noise_var));
        }
        if !y.len().is_multiple_of(self.n_rx) {
            return Err(MimoError::Length {
                name: "y",
                got: y.len(),
                expected: y.len().next_multiple_of(self.n_rx),
            });
        }
        let n_re = y.len() / self.n_rx;
        let n_groups = n_re.div_ceil(re_per_group);
        check_len("h", h.len(), self.n_rx * self.n_layers * n_groups)?;
        check_len("x", x.len(), self.n_layers * n_re)?;
        check_len("nvar", nvar.len(), self.n_layers * n_re)?;
        let p = lanes::grouped::GroupParams {
            n_rx: self.n_rx,
            n_layers: self.n_layers,
            n_re,
            n_groups,
            re_per_group,
            noise_var,
            zf,
        };
        // SAFETY: the lengths were checked against n_re and n_groups above.
        unsafe { run_detect_grouped(self.level, &p, y, h, x, nvar) };
        Ok(())
    }

    /// Detects with MMSE-IRC: as [`Detector::detect`], with the noise plus
    /// interference described by `cov`, one `n_rx x n_rx` Hermitian
    /// covariance (row-major) per group of `re_per_cov` consecutive REs
    /// (the last group may be shorter), e.g. estimated from DM-RS residuals
    /// with [`estimate_covariance`]. `scratch` must hold
    /// [`Detector::irc_scratch_len`]`(n_re)` elements; its content is
    /// overwritten.
    ///
    /// A covariance that is not positive definite is regularised (diagonal
    /// loading at 1e-7 of its mean diagonal), never rejected.
    #[allow(clippy::too_many_arguments)]
    pub fn detect_irc(
        &self,
        y: &[Complex32],
        h: &[Complex32],
        cov: &[Complex32],
        re_per_cov: usize,
        x: &mut [Complex32],
        nvar: &mut [f32],
        scratch: &mut [Complex32],
    ) -> Result<(), MimoError> {
        if self.equalizer != Equalizer::MmseIrc {
            return Err(MimoError::WrongEqualizer(self.equalizer));
        }
        if re_per_cov == 0 {
            return Err(MimoError::ZeroGroup("re_per_cov"));
        }
        let n_re = self.check_buffers(y, h, x, nvar)?;
        let n = self.n_rx;
        let groups = n_re.div_ceil(re_per_cov);
        check_len("cov", cov.len(), groups * n * n)?;
        check_len("scratch", scratch.len(), self.irc_scratch_len(n_re))?;
        let (yw, rest) = scratch.split_at_mut(n * n_re);
        let (hw, winv) = rest.split_at_mut(n * self.n_layers * n_re);
        for gi in 0..groups {
            let r0 = gi * re_per_cov;
            let r1 = (r0 + re_per_cov).min(n_re);
            whitener(&cov[gi * n * n..(gi + 1) * n * n], n, winv);
            // Apply the lower-triangular whitener to y and to every layer of H.
            for a in 0..n {
                for re in r0..r1 {
                    let mut s = Complex32::new(0.0, 0.0);
                    for b in 0..=a {
                        s += winv[a * n + b] * y[b * n_re + re];
                    }
                    yw[a * n_re + re] = s;
                }
                for l in 0..self.n_layers {
                    for re in r0..r1 {
                        let mut s = Complex32::new(0.0, 0.0);
                        for b in 0..=a {
                            s += winv[a * n + b] * h[(b * self.n_layers + l) * n_re + re];
                        }
                        hw[(a * self.n_layers + l) * n_re + re] = s;
                    }
                }
            }
        }
        let p = DetectParams {
            n_rx: n,
            n_layers: self.n_layers,
            stride: n_re,
            noise_var: 1.0,
            zf: false,
        };
        // SAFETY: yw and hw have the shapes of y and h.
        unsafe { run_detect(self.level, &p, yw, hw, x, nvar, n_re) };
        Ok(())
    }

    /// Scratch elements [`Detector::detect_irc`] needs for `n_re` REs.
    pub fn irc_scratch_len(&self, n_re: usize) -> usize {
        self.n_rx * n_re * (1 + self.n_layers) + self.n_rx * self.n_rx
    }

    fn check_buffers(
        &self,
        y: &[Complex32],
        h: &[Complex32],
        x: &[Complex32],
        nvar: &[f32],
    ) -> Result<usize, MimoError> {
        if !y.len().is_multiple_of(self.n_rx) {
            return Err(MimoError::Length {
                name: "y",
                got: y.len(),
                expected: y.len().next_multiple_of(self.n_rx),
            });
        }
        let n_re = y.len() / self.n_rx;
        check_len("h", h.len(), self.n_rx * self.n_layers * n_re)?;
        check_len("x", x.len(), self.n_layers * n_re)?;
        check_len("nvar", nvar.len(), self.n_layers * n_re)?;
        Ok(n_re)
    }
}

pub(crate) fn check_size(n_rx: usize, n_layers: usize) -> Result<(), MimoError> {
    if !(1..=MAX_RX).contains(&n_rx) || !(1..=MAX_LAYERS).contains(&n_layers) || n_layers > n_rx {
        return Err(MimoError::Size { n_rx, n_layers });
    }
    Ok(())
}

pub(crate) fn check_len(name: &'static str, got: usize, expected: usize) -> Result<(), MimoError> {
    if got != expected {
        return Err(MimoError::Length {
            name,
            got,
            expected,
        });
    }
    Ok(())
}

/// Runs the kernel of `level` over whole vectors; a partial last vector is
/// done by running the kernel once more over the last whole vector's worth
/// of REs (overlapping REs already done: every RE is computed on its own,
/// so they are rewritten with the same values). Only fewer REs than one
/// vector go to the scalar twin.
///
/// # Safety
/// Buffers must have the shapes `p` implies for `n_re` REs.
unsafe fn run_detect(
    level: SimdLevel,
    p: &DetectParams,
    y: &[Complex32],
    h: &[Complex32],
    x: &mut [Complex32],
    nv: &mut [f32],
    n_re: usize,
) {
    let (yp, hp, xp, np) = (y.as_ptr(), h.as_ptr(), x.as_mut_ptr(), nv.as_mut_ptr());
    let mut done = 0;
    #[cfg(target_arch = "x86_64")]
    {
        match level {
            SimdLevel::Avx512 if n_re >= 16 => {
                let whole = n_re / 16 * 16;
                // SAFETY: level was clamped to what the CPU supports.
                unsafe { crate::mimo::lanes::entry::avx512::detect(p, yp, hp, xp, np, 0, whole) };
                if whole < n_re {
                    // SAFETY: as above; n_re - 16 >= 0.
                    unsafe {
                        crate::mimo::lanes::entry::avx512::detect(
                            p,
                            yp,
                            hp,
                            xp,
                            np,
                            n_re - 16,
                            n_re,
                        )
                    };
                }
                done = n_re;
            }
            SimdLevel::Avx2 | SimdLevel::Avx512 if n_re >= 8 => {
                let whole = n_re / 8 * 8;
                // SAFETY: as above (AVX-512 implies AVX2 + FMA here).
                unsafe { crate::mimo::lanes::entry::avx2::detect(p, yp, hp, xp, np, 0, whole) };
                if whole < n_re {
                    // SAFETY: as above; n_re - 8 >= 0.
                    unsafe {
                        crate::mimo::lanes::entry::avx2::detect(p, yp, hp, xp, np, n_re - 8, n_re)
                    };
                }
                done = n_re;
            }
            _ => {}
        }
    }
    let _ = level;
    // SAFETY: REs done..n_re are inside every plane.
    unsafe { lanes::kernels::detect_range::<f32>(p, yp, hp, xp, np, done, n_re) };
}

/// Runs the grouped kernel of `level` over the whole groups in whole
/// vectors; a partial last vector reruns the kernel over the last whole
/// vector's worth of whole groups (each group is computed on its own). The
/// rest (fewer whole groups than one vector, and a last group shorter than
/// `re_per_group`) goes to the scalar twin.
///
/// # Safety
/// Buffers must have the shapes `p` implies.
unsafe fn run_detect_grouped(
    level: SimdLevel,
    p: &lanes::grouped::GroupParams,
    y: &[Complex32],
    h: &[Complex32],
    x: &mut [Complex32],
    nv: &mut [f32],
) {
    let (yp, hp, xp, np) = (y.as_ptr(), h.as_ptr(), x.as_mut_ptr(), nv.as_mut_ptr());
    let r = p.re_per_group;
    // Groups holding re_per_group REs.
    let full = p.n_re / r;
    let mut done = 0;
    #[cfg(target_arch = "x86_64")]
    {
        let w = match level {
            SimdLevel::Avx512 if full >= 16 => 16,
            SimdLevel::Avx2 | SimdLevel::Avx512 if full >= 8 => 8,
            _ => 0,
        };
        if let Some(vectors) = full.checked_div(w) {
            let whole = vectors * w;
            let run = |s: usize, e: usize| {
                // SAFETY: level was clamped to what the CPU supports
                // (AVX-512 implies AVX2 + FMA here); groups s..e are whole.
                unsafe {
                    if w == 16 {
                        crate::mimo::lanes::entry::avx512::detect_group(p, yp, hp, xp, np, s, e, r)
                    } else {
                        crate::mimo::lanes::entry::avx2::detect_group(p, yp, hp, xp, np, s, e, r)
                    }
                }
            };
            run(0, whole);
            if whole < full {
                run(full - w, full);
            }
            done = full;
        }
    }
    let _ = level;
    // SAFETY: groups done..full are whole and inside every plane.
    unsafe { lanes::grouped::detect_group_range::<f32>(p, yp, hp, xp, np, done, full, r) };
    if full * r < p.n_re {
        // SAFETY: the last group holds n_re - full r REs.
        unsafe {
            lanes::grouped::detect_group_range::<f32>(
                p,
                yp,
                hp,
                xp,
                np,
                full,
                full + 1,
                p.n_re - full * r,
            )
        };
    }
}

/// The whitener of a noise covariance: `C^-1` with `R + εI = C C^H`
/// (Cholesky, lower), written row-major into `out[..n*n]` (upper part zero).
fn whitener(r: &[Complex32], n: usize, out: &mut [Complex32]) {
    // Cholesky in place in `out` (lower), then invert the triangle in place.
    let tr: f32 = (0..n).map(|i| r[i * n + i].re.max(0.0)).sum();
    let eps = 1e-7 * tr / n as f32 + 1e-30;
    for i in 0..n {
        for j in 0..n {
            out[i * n + j] = if j <= i {
                // Use the lower triangle, Hermitian-symmetrised.
                (r[i * n + j] + r[j * n + i].conj()) * 0.5
            } else {
                Complex32::new(0.0, 0.0)
            };
        }
        out[i * n + i] = Complex32::new(out[i * n + i].re + eps, 0.0);
    }
    for j in 0..n {
        let mut d = out[j * n + j].re;
        for k in 0..j {
            d -= out[j * n + k].norm_sqr();
        }
        let c = d.max(eps).sqrt();
        out[j * n + j] = Complex32::new(c, 0.0);
        for i in j + 1..n {
            let mut s = out[i * n + j];
            for k in 0..j {
                s -= out[i * n + k] * out[j * n + k].conj();
            }
            out[i * n + j] = s / c;
        }
    }
    // Invert the lower-triangular factor in place, row by row:
    // M = C^-1, M_ij = -(sum_{k=j}^{i-1} C_ik M_kj) / C_ii. Going j upwards,
    // row i still holds C_ik for k >= j, rows above already hold M.
    for i in 0..n {
        let cii = out[i * n + i].re;
        for j in 0..i {
            let mut s = Complex32::new(0.0, 0.0);
            for k in j..i {
                s += out[i * n + k] * out[k * n + j];
            }
            out[i * n + j] = -s / cii;
        }
        out[i * n + i] = Complex32::new(1.0 / cii, 0.0);
    }
}

/// Sample covariance of noise-plus-interference residuals:
/// `R = (1/K) Σ_k e_k e_k^H`, with `e[rx * k_len + k]` (one plane per
/// antenna, e.g. `y - H s` on DM-RS REs). Writes `n_rx x n_rx` row-major.
pub fn estimate_covariance(
    e: &[Complex32],
    n_rx: usize,
    out: &mut [Complex32],
) -> Result<(), MimoError> {
    if n_rx == 0 || n_rx > MAX_RX {
        return Err(MimoError::Size { n_rx, n_layers: 1 });
    }
    check_len("out", out.len(), n_rx * n_rx)?;
    if !e.len().is_multiple_of(n_rx) || e.is_empty() {
        return Err(MimoError::Length {
            name: "e",
            got: e.len(),
            expected: e.len().next_multiple_of(n_rx).max(n_rx),
        });
    }
    let k = e.len() / n_rx;
    for a in 0..n_rx {
        for b in 0..n_rx {
            let s: Complex32 = (0..k).map(|i| e[a * k + i] * e[b * k + i].conj()).sum();
            out[a * n_rx + b] = s / k as f32;
        }
    }
    Ok(())
}
