//! Downlink precoders for massive MIMO from uplink (SRS) channel estimates.
//!
//! Per PRB group the uplink estimate `H` (`n_tx` gNB antennas x `n_users`
//! UE ports) gives the downlink channel `H^T` by reciprocity (calibrated
//! arrays). The precoder `W` (`n_tx x n_users`, column `k` feeds user `k`):
//!
//! - MRT: `W = conj(H)` (maximum ratio, matched filter);
//! - ZF: `W = conj(H) (H^T conj(H))^-1`, so `H^T W` is diagonal;
//! - RZF: `W = conj(H) (H^T conj(H) + α I)^-1` (α is typically
//!   `n_users σ² / P`; α → 0 is ZF, α → ∞ tends to MRT).
//!
//! Both ZF forms reuse the detector's `L D L^H` factorisation of the
//! `n_users x n_users` Gram matrix, vectorised across PRB groups. `W` is
//! then power-normalised: each column to `1 / n_users` ([`PowerNorm::PerUser`],
//! keeps `H^T W` diagonal) or the whole matrix to unit Frobenius norm
//! ([`PowerNorm::Total`]). A zero channel gives a zero precoder; a
//! rank-deficient one stays finite (pivots clamped as in detection).
//!
//! Layout (as detection's): `h[(ant * n_users + user) * n_groups + group]`,
//! the same for `w`.

use super::detect::{check_len, check_size, MimoError};
use super::lanes::{self, precode::PrecodeParams};
use crate::simd::SimdLevel;
use num_complex::Complex32;

/// The precoder family.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PrecoderKind {
    /// Maximum ratio transmission.
    Mrt,
    /// Zero forcing.
    Zf,
    /// Regularised zero forcing with `alpha` added to the Gram diagonal.
    Rzf {
        /// The regularisation, `n_users σ² / P` for the MMSE-optimal one.
        alpha: f32,
    },
}

/// How `W` is scaled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PowerNorm {
    /// Every column (user) gets power `1 / n_users`.
    PerUser,
    /// `||W||_F = 1`, relative user powers as the precoder gives them.
    Total,
}

/// A precoder computation for a fixed array and user count.
#[derive(Debug, Clone)]
pub struct Precoder {
    n_tx: usize,
    n_users: usize,
    kind: PrecoderKind,
    norm: PowerNorm,
    level: SimdLevel,
}

impl Precoder {
    /// For `n_tx` antennas (1..=64) and `n_users` (1..=16, at most
    /// `n_tx`), with the best instruction set of this CPU.
    pub fn new(
        n_tx: usize,
        n_users: usize,
        kind: PrecoderKind,
        norm: PowerNorm,
    ) -> Result<Self, MimoError> {
        Self::with_level(n_tx, n_users, kind, norm, SimdLevel::detect())
    }

    /// As [`Precoder::new`] with the instruction set capped at `level`.
    pub fn with_level(
        n_tx: usize,
        n_users: usize,
        kind: PrecoderKind,
        norm: PowerNorm,
        level: SimdLevel,
    ) -> Result<Self, MimoError> {
        check_size(n_tx, n_users)?;
        if let PrecoderKind::Rzf { alpha } = kind {
            if !(alpha >= 0.0 && alpha.is_finite()) {
                return Err(MimoError::NoiseVar(alpha));
            }
        }
        Ok(Precoder {
            n_tx,
            n_users,
            kind,
            norm,
            level: level.clamp_to(SimdLevel::detect()),
        })
    }

    /// The instruction set in use.
    pub fn level(&self) -> SimdLevel {
        self.level
    }

    /// Real floating-point operations per PRB group (an FMA counts two).
    pub fn flops_per_group(&self) -> f64 {
        lanes::flops::precode_flops(self.n_tx, self.n_users, self.kind == PrecoderKind::Mrt)
    }

    /// Computes `W` for every PRB group: `n_groups = h.len() / (n_tx n_users)`.
    /// Allocates nothing.
    pub fn compute(&self, h: &[Complex32], w: &mut [Complex32]) -> Result<(), MimoError> {
        let per = self.n_tx * self.n_users;
        if !h.len().is_multiple_of(per) {
            return Err(MimoError::Length {
                name: "h",
                got: h.len(),
                expected: h.len().next_multiple_of(per),
            });
        }
        let ng = h.len() / per;
        check_len("w", w.len(), h.len())?;
        let (kind, alpha) = match self.kind {
            PrecoderKind::Mrt => (0, 0.0),
            PrecoderKind::Zf => (1, 0.0),
            PrecoderKind::Rzf { alpha } => (2, alpha),
        };
        let p = PrecodeParams {
            n_tx: self.n_tx,
            n_users: self.n_users,
            stride: ng,
            kind,
            alpha,
            per_user: self.norm == PowerNorm::PerUser,
        };
        let (hp, wp) = (h.as_ptr(), w.as_mut_ptr());
        let mut done = 0;
        #[cfg(target_arch = "x86_64")]
        match self.level {
            // A partial last vector reruns the kernel over the last whole
            // vector's worth of groups (each group is computed on its own, so
            // the overlap is rewritten with the same values): a 64 x 16 group
            // in scalar code costs as much as a whole AVX2 vector of them.
            SimdLevel::Avx512 if ng >= 16 => {
                let whole = ng / 16 * 16;
                // SAFETY: level supported (clamped at construction), lengths checked.
                unsafe { crate::mimo::lanes::entry::avx512::precode(&p, hp, wp, 0, whole) };
                if whole < ng {
                    // SAFETY: as above; ng - 16 >= 0.
                    unsafe { crate::mimo::lanes::entry::avx512::precode(&p, hp, wp, ng - 16, ng) };
                }
                done = ng;
            }
            SimdLevel::Avx2 | SimdLevel::Avx512 if ng >= 8 => {
                let whole = ng / 8 * 8;
                // SAFETY: as above (AVX-512 implies AVX2 + FMA here).
                unsafe { crate::mimo::lanes::entry::avx2::precode(&p, hp, wp, 0, whole) };
                if whole < ng {
                    // SAFETY: as above; ng - 8 >= 0.
                    unsafe { crate::mimo::lanes::entry::avx2::precode(&p, hp, wp, ng - 8, ng) };
                }
                done = ng;
            }
            _ => {}
        }
        // SAFETY: groups done..ng are inside every plane.
        unsafe { lanes::precode::precode_range::<f32>(&p, hp, wp, done, ng) };
        Ok(())
    }
}
