//! Channel estimation from PUSCH/PDSCH DM-RS (TS 38.211 §6.4.1.1, §7.4.1.1).
//!
//! Per receive antenna, DM-RS position and layer:
//! 1. Least squares and CDM despreading: for each DM-RS pair n (the two REs
//!    k' = 0, 1 sharing w_f, and both symbols l' of a double-symbol DM-RS),
//!    ĥ(n) = Σ w_f(k')·w_t(l')·Y(k, l)·r*(2n+k') / (2·L'·β). The orthogonal
//!    cover removes the other ports of the CDM group as long as the channel
//!    is flat over the pair.
//! 2. Timing offset: the phase step between neighbouring pairs,
//!    arg Σ ĥ(n+1)ĥ*(n) = −2π·τ·Δf·D (D = 4 or 6 subcarriers), pooled over
//!    antennas, layers and positions. The pair estimates are de-rotated by τ
//!    before frequency interpolation and the ramp put back after, so a delay
//!    does not cost interpolation accuracy.
//! 3. Frequency interpolation: linear between pair centres, held flat
//!    beyond the first and last centre.
//! 4. Noise variance: from the de-rotated pair estimates, the residual of
//!    each interior pair against the mean of its neighbours,
//!    e = ĥ(n) − (ĥ(n−1)+ĥ(n+1))/2, has E|e|² = 1.5·σ²/(2L'β²) for a channel
//!    that is linear over three pairs; σ² per antenna is the mean over
//!    layers and positions. With a single pair per position nothing is known
//!    and σ² = 0 is reported.
//! 5. CFO: with two or more positions, the phase rate between consecutive
//!    positions, arg Σ ĥ_{i+1}ĥ_i* / (t_{i+1} − t_i), averaged with weights
//!    |Σ|; unambiguous within ±1/(2·Δt).
//! 6. Time: [`TimeMode::Average`] averages the positions (after removing the
//!    estimated CFO phase, which is put back per symbol) or
//!    [`TimeMode::Interpolate`] interpolates linearly between them (held
//!    beyond the first and last); [`TimeMode::Auto`] (the default) chooses
//!    per slot. With noise σ_e² per estimate and power P, averaging two
//!    positions leaves σ_e²/2 of noise plus about 0.4·P·(1−ρ) of model error
//!    over the slot's symbols (ρ the correlation of the channel between the
//!    positions), interpolation about 0.76·σ_e²; so Auto interpolates when
//!    1−ρ > 0.65·σ_e²/P, ρ measured from the positions' LS estimates with the
//!    noise power taken out of their norms.
//!
//! Output layout, per position and per symbol: `h[(rx·L + layer)·n_sc + k]`
//! over the allocated subcarriers k = 0..12·n_prb, the layout of
//! `mimo::Detector::detect`. Noise variance is relative to unit-power data
//! symbols (the channel absorbs nothing of β_DMRS).
//!
//! Edges: an all-zero grid gives zero channels, σ² = 0, SINR 0 (reported as
//! −100 dB) and τ = CFO = 0; nothing is NaN. A DM-RS RE received as NaN or
//! infinite is an erasure: its LS value is replaced by the previous finite one
//! of the same k' (held, as beyond the band edges), or 0 when there is none, and counted
//! ([`ChannelEstimate::erased_dmrs_res`]), so one bad sample does not spread
//! over the band through interpolation and the noise estimate.
//!
//! Files: `estimate.rs` holds the estimate ([`ChannelEstimate`]),
//! `estimator.rs` the steps ([`ChannelEstimator`]) and the per-position
//! work ([`ChestPosition`]) they run on.

use num_complex::Complex32;

mod estimate;
mod estimator;
#[cfg(test)]
mod tests;

pub use estimate::ChannelEstimate;
pub use estimator::{ChannelEstimator, ChestPosition};

/// How DM-RS positions combine over time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeMode {
    /// One estimate for the slot (low Doppler), CFO phase tracked per symbol.
    Average,
    /// Linear interpolation between DM-RS positions.
    Interpolate,
    /// Per slot, from the DM-RS themselves: interpolate when the channel
    /// changed between positions by more than averaging would gain against
    /// the estimation noise, else average (see [`ChannelEstimator::combine`]).
    Auto,
}

/// Estimator options.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChestOptions {
    /// Time combining.
    pub time: TimeMode,
    /// Remove the estimated delay ramp before frequency interpolation.
    pub timing_correction: bool,
    /// Track the estimated CFO phase across symbols (Average mode).
    pub cfo_correction: bool,
}

impl Default for ChestOptions {
    fn default() -> Self {
        ChestOptions {
            time: TimeMode::Auto,
            timing_correction: true,
            cfo_correction: true,
        }
    }
}

/// Why an estimate cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChestError {
    /// The request exceeds the sizes the estimator was built for.
    #[error("{what} = {got} exceeds the estimator's maximum {max}")]
    TooLarge {
        /// Which size.
        what: &'static str,
        /// Requested.
        got: usize,
        /// Built for.
        max: usize,
    },
    /// The grid does not match the request.
    #[error("grid: {0}")]
    Grid(String),
}

/// Applies a delay of `tau` seconds to one symbol's subcarriers (k = 0 at
/// `k0` from the reference subcarrier): X(k) ← X(k)·exp(−j2π(k0+k)Δf·τ).
/// With a negative `tau` this removes an estimated timing offset.
pub fn apply_delay(x: &mut [Complex32], k0: usize, tau: f64, scs_hz: f64) {
    let step = -std::f64::consts::TAU * tau * scs_hz;
    crate::ofdm::rotate(x, step * k0 as f64, step);
}
