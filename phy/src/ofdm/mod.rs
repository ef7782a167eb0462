//! CP-OFDM modulation and demodulation, TS 38.211 §5.3.1.
//!
//! Grid subcarrier k (0..12·N_RB, k = 0 the lowest) sits at baseband
//! frequency (k − 12·N_RB/2 + s)·Δf, with s = 0 by default (the §5.3.1
//! signal: k₀ = 0 for a carrier whose grid is the whole channel) and
//! s = 1/2 when the half-subcarrier shift is on (the 7.5 kHz uplink shift,
//! `frequencyShift7p5khz`, §5.3.1 Δ_shift). The shift is applied in time,
//! continuous over the symbol *and its CP* as in §5.3.1 (time measured from
//! the end of the CP), so with s = 1/2 the CP is the negated tail.
//!
//! Scaling: the modulator and demodulator each scale by 1/√N, so a
//! demodulated grid equals the modulated one (round trip exact to float
//! precision) and a unit-energy RE spreads to unit energy over N samples.
//!
//! Time-domain windowing on transmit (optional): each symbol is extended by
//! W cyclic-suffix samples; the first W samples of the CP and the suffix are
//! tapered with a raised cosine and the suffix overlaps the next symbol's CP.
//! With W smaller than the CP the receiver's FFT window is untouched.
//!
//! Plans are made once per (de)modulator; per-symbol calls allocate nothing.

mod demodulator;
mod modulator;

pub use demodulator::OfdmDemodulator;
pub use modulator::OfdmModulator;

use num_complex::Complex32;

/// Options shared by the modulator and demodulator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OfdmOptions {
    /// Shift every subcarrier by Δf/2 (TS 38.211 §5.3.1 7.5 kHz shift).
    pub half_subcarrier_shift: bool,
    /// Transmit window length W in samples (0 = none); must be below the shortest CP.
    pub window_len: usize,
}

/// Why an OFDM stage cannot be built or run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OfdmError {
    /// Window longer than the CP.
    #[error("window_len {window} must be below the shortest CP ({cp} samples)")]
    Window {
        /// Requested W.
        window: usize,
        /// Shortest CP.
        cp: usize,
    },
    /// A buffer of the wrong size.
    #[error("{what}: length {got}, expected {want}")]
    Length {
        /// Which buffer.
        what: &'static str,
        /// Its length.
        got: usize,
        /// The length needed.
        want: usize,
    },
}

pub(crate) fn check_len(what: &'static str, got: usize, want: usize) -> Result<(), OfdmError> {
    if got == want {
        Ok(())
    } else {
        Err(OfdmError::Length { what, got, want })
    }
}

/// Multiplies `x` by exp(j(φ₀ + n·Δφ)), n = 0.., in place: a frequency
/// shift of Δφ·f_s/(2π) Hz starting at phase φ₀. The phasor is recomputed
/// exactly every 64 samples so errors do not accumulate. Returns the phase
/// after the last sample (to continue across calls).
pub fn rotate(x: &mut [Complex32], phase0: f64, step: f64) -> f64 {
    let mut ph = phase0;
    let inc = Complex32::from_polar(1.0, step as f32);
    for chunk in x.chunks_mut(64) {
        let mut r = Complex32::from_polar(1.0, ph as f32);
        for v in chunk.iter_mut() {
            *v *= r;
            r *= inc;
        }
        ph = (ph + step * chunk.len() as f64) % std::f64::consts::TAU;
    }
    ph
}

/// Corrects a carrier frequency offset of `cfo_hz` on samples taken at
/// `fs_hz`, starting at sample index `n0` of the time base (so successive
/// blocks stay phase-continuous): x(n) ← x(n)·exp(−j2π·cfo·(n0+n)/fs).
pub fn correct_cfo(x: &mut [Complex32], cfo_hz: f64, fs_hz: f64, n0: u64) {
    let step = -std::f64::consts::TAU * cfo_hz / fs_hz;
    let phase0 = (step * n0 as f64) % std::f64::consts::TAU;
    rotate(x, phase0, step);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grid::ResourceGrid;
    use crate::numerology::{CyclicPrefix, Numerology, Scs};

    fn lcg(seed: &mut u64) -> f32 {
        *seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((*seed >> 40) as f32 / (1u64 << 24) as f32) - 0.5
    }

    fn random_grid(n: &Numerology, seed: u64) -> ResourceGrid {
        let mut s = seed;
        let mut g = ResourceGrid::new(1, n.symbols_per_slot(), n.n_sc());
        for v in g.as_mut_slice() {
            *v = Complex32::new(lcg(&mut s), lcg(&mut s));
        }
        g
    }

    /// Naive §5.3.1 signal: s(t') = Σ_k a_k exp(j2π(k − K/2 + s)t'/N)/√N, t' from −N_CP.
    fn naive_symbol(
        n: &Numerology,
        slot: u32,
        l: usize,
        a: &[Complex32],
        half: bool,
    ) -> Vec<Complex32> {
        let nfft = n.fft_size() as f64;
        let cp = n.cp_len(slot, l) as i64;
        let shift = if half { 0.5 } else { 0.0 };
        (-cp..n.fft_size() as i64)
            .map(|t| {
                let mut acc = num_complex::Complex64::new(0.0, 0.0);
                for (k, v) in a.iter().enumerate() {
                    let f = k as f64 - (a.len() / 2) as f64 + shift;
                    let ph = std::f64::consts::TAU * f * t as f64 / nfft;
                    acc += num_complex::Complex64::new(v.re as f64, v.im as f64)
                        * num_complex::Complex64::from_polar(1.0, ph);
                }
                acc /= nfft.sqrt();
                Complex32::new(acc.re as f32, acc.im as f32)
            })
            .collect()
    }

    #[test]
    fn modulator_matches_the_spec_formula() {
        for half in [false, true] {
            let n = Numerology::new(Scs::Khz30, CyclicPrefix::Normal, 6, Some(128)).unwrap();
            let g = random_grid(&n, 3);
            let opts = OfdmOptions {
                half_subcarrier_shift: half,
                window_len: 0,
            };
            let mut m = OfdmModulator::new(n, opts).unwrap();
            let mut out = vec![Complex32::new(0.0, 0.0); n.slot_len(1)];
            m.modulate_slot(1, &g, 0, &mut out).unwrap();
            for l in [0usize, 1, 7, 13] {
                let want = naive_symbol(&n, 1, l, g.symbol(0, l), half);
                let o = n.symbol_offset(1, l);
                for (i, w) in want.iter().enumerate() {
                    assert!((out[o + i] - w).norm() < 1e-5, "half {half} l {l} i {i}");
                }
            }
        }
    }

    #[test]
    fn round_trip_is_exact_to_float_precision() {
        for (scs, cp, prb, fft) in [
            (Scs::Khz15, CyclicPrefix::Normal, 106, 2048),
            (Scs::Khz30, CyclicPrefix::Normal, 273, 4096),
            (Scs::Khz60, CyclicPrefix::Extended, 24, 512),
            (Scs::Khz120, CyclicPrefix::Normal, 66, 1024),
        ] {
            for opts in [
                OfdmOptions::default(),
                OfdmOptions {
                    half_subcarrier_shift: true,
                    window_len: 8,
                },
            ] {
                let n = Numerology::new(scs, cp, prb, Some(fft)).unwrap();
                let g = random_grid(&n, 11);
                let mut m = OfdmModulator::new(n, opts).unwrap();
                let mut d = OfdmDemodulator::new(n, opts).unwrap();
                let mut time = vec![Complex32::new(0.0, 0.0); n.slot_len(0)];
                m.modulate_slot(0, &g, 0, &mut time).unwrap();
                let mut back = ResourceGrid::new(1, n.symbols_per_slot(), n.n_sc());
                d.demodulate_slot(0, &time, &mut back, 0).unwrap();
                let err = g
                    .as_slice()
                    .iter()
                    .zip(back.as_slice())
                    .map(|(a, b)| (a - b).norm())
                    .fold(0.0f32, f32::max);
                // Values are O(0.5); f32 FFTs of size N lose about log2(N) ulps.
                assert!(err < 2e-6, "{scs:?} {opts:?}: max error {err}");
            }
        }
    }

    #[test]
    fn cfo_is_estimated_from_the_cp_and_corrected() {
        let n = Numerology::new(Scs::Khz30, CyclicPrefix::Normal, 51, Some(1024)).unwrap();
        for half in [false, true] {
            let opts = OfdmOptions {
                half_subcarrier_shift: half,
                window_len: 0,
            };
            let g = random_grid(&n, 5);
            let mut m = OfdmModulator::new(n, opts).unwrap();
            let mut time = vec![Complex32::new(0.0, 0.0); n.slot_len(0)];
            m.modulate_slot(0, &g, 0, &mut time).unwrap();
            let clean = time.clone();
            let cfo = 2345.0;
            correct_cfo(&mut time, -cfo, n.sample_rate_hz(), 0);
            let d = OfdmDemodulator::new(n, opts).unwrap();
            let est = d.estimate_cfo_cp(0, &time);
            assert!((est - cfo).abs() < 1.0, "half {half}: {est}");
            correct_cfo(&mut time, est, n.sample_rate_hz(), 0);
            let err = time
                .iter()
                .zip(&clean)
                .map(|(a, b)| (a - b).norm())
                .fold(0.0f32, f32::max);
            assert!(err < 1e-3, "residual {err}");
        }
    }
}
