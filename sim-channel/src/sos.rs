//! Sum-of-sinusoids Rayleigh fading processes (Clarke/Jakes spectrum).
//!
//! Each process is `g(t) = M^{-1/2} Σ_m exp(j(2π f_D cos(α_m) t + φ_m))` with `M` sinusoids,
//! arrival angles stratified over the circle, `α_m = 2π (m + u_m) / M` with `u_m ~ U[0,1)`,
//! and phases `φ_m ~ U[0, 2π)`, all drawn once from the process's own seeded stream.
//! Because every `α_m` is uniform on its stratum, the ensemble autocorrelation is exactly
//! `E[g(t+τ) g*(t)] = J0(2π f_D τ)` (Clarke's model) for any `M`, and `E|g|^2 = 1`;
//! the amplitude tends to Rayleigh as `M` grows (`M = 20` here).
//!
//! `g` is a pure function of the sample index, so a stream cut into blocks sees exactly the
//! same channel as one long call, and time can also be queried out of order.

use crate::math::cis_turns;
use crate::rng::uniform;
use num_complex::Complex32;
use rand_xoshiro::Xoshiro256PlusPlus;

/// Sinusoids per process.
pub const SINUSOIDS: usize = 20;

/// A bank of independent unit-power sum-of-sinusoids processes.
#[derive(Debug, Clone)]
pub struct SosBank {
    /// Per sinusoid: Doppler in cycles per sample.
    freq: Vec<f64>,
    /// Per sinusoid: initial phase in cycles.
    phase: Vec<f64>,
    n_proc: usize,
}

impl SosBank {
    /// `n_proc` processes with maximum Doppler `doppler_hz` at `sample_rate_hz`, each drawing
    /// its angles and phases from `rngs(p)`.
    pub fn new(
        n_proc: usize,
        doppler_hz: f64,
        sample_rate_hz: f64,
        mut rngs: impl FnMut(usize) -> Xoshiro256PlusPlus,
    ) -> Self {
        let mut freq = Vec::with_capacity(n_proc * SINUSOIDS);
        let mut phase = Vec::with_capacity(n_proc * SINUSOIDS);
        for p in 0..n_proc {
            let mut rng = rngs(p);
            for m in 0..SINUSOIDS {
                let alpha =
                    2.0 * std::f64::consts::PI * (m as f64 + uniform(&mut rng)) / SINUSOIDS as f64;
                freq.push(doppler_hz * alpha.cos() / sample_rate_hz);
                phase.push(uniform(&mut rng));
            }
        }
        Self {
            freq,
            phase,
            n_proc,
        }
    }

    /// Number of processes.
    pub fn len(&self) -> usize {
        self.n_proc
    }

    /// True when the bank holds no process.
    pub fn is_empty(&self) -> bool {
        self.n_proc == 0
    }

    /// All processes at sample index `n`, into `out[p]`.
    pub fn eval(&self, n: u64, out: &mut [Complex32]) {
        let scale = 1.0 / (SINUSOIDS as f32).sqrt();
        let t = n as f64;
        for (p, o) in out.iter_mut().enumerate().take(self.n_proc) {
            let base = p * SINUSOIDS;
            let mut acc = Complex32::new(0.0, 0.0);
            for m in base..base + SINUSOIDS {
                acc += cis_turns(self.freq[m] * t + self.phase[m]);
            }
            *o = acc * scale;
        }
    }
}
