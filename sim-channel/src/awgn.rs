//! Additive white Gaussian noise with an exact SNR definition.
//!
//! Noise is circular complex Gaussian, independent per sample and per antenna, with variance
//! `N0 = E|n|^2` per complex sample (`N0/2` per real dimension).
//!
//! Two SNR definitions are supported ([`SnrSpec`]):
//!
//! - **Per sample**: `SNR = P_s / N0`, where `P_s` is the average received signal power per
//!   complex time-domain sample.
//! - **Per-RE Es/N0 on the occupied subcarriers** of a CP-OFDM signal with FFT size `N` and
//!   `N_occ` occupied subcarriers: with a unitary DFT (any other scaling cancels, since signal
//!   and noise see the same transform), a time-domain signal of power `P_s` per sample carries
//!   `Es = P_s N / N_occ` per occupied RE, and white time-domain noise of variance `N0` is
//!   white in frequency with `N0` per RE. Hence
//!   `Es/N0 = (P_s / N0) · N / N_occ`, i.e. `SNR_sample = Es/N0 · N_occ / N`.
//!   The cyclic prefix repeats samples, so it changes neither `P_s` nor this relation.
//!
//! Example: 40 MHz at 30 kHz is 106 PRB = 1272 occupied subcarriers in a 2048-point FFT
//! (61.44 Msps): Es/N0 = 20 dB is a per-sample SNR of 20 + 10 log10(1272/2048) = 17.93 dB.

use crate::rng::{Gaussian, Purpose};
use crate::{check_range, ChannelError};
use num_complex::Complex32;

/// How a target SNR is specified.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SnrSpec {
    /// Per-sample SNR `P_s / N0`, dB.
    PerSampleDb(f64),
    /// Per-RE `Es/N0`, dB, for an OFDM signal of FFT size `n_fft` with `n_occupied`
    /// subcarriers carrying energy.
    PerReDb {
        /// Es/N0 on the occupied REs, dB.
        es_n0_db: f64,
        /// FFT size.
        n_fft: usize,
        /// Occupied subcarriers (`12 × N_PRB` for a full allocation).
        n_occupied: usize,
    },
}

impl SnrSpec {
    /// The equivalent per-sample SNR, dB.
    pub fn per_sample_db(&self) -> Result<f64, ChannelError> {
        match *self {
            SnrSpec::PerSampleDb(s) => {
                check_range("snr_db", s, -100.0, 200.0, "-100..=200 dB")?;
                Ok(s)
            }
            SnrSpec::PerReDb {
                es_n0_db,
                n_fft,
                n_occupied,
            } => {
                check_range("es_n0_db", es_n0_db, -100.0, 200.0, "-100..=200 dB")?;
                if n_occupied == 0 || n_occupied > n_fft {
                    return Err(ChannelError::OutOfRange {
                        field: "n_occupied",
                        value: n_occupied as f64,
                        allowed: "1..=n_fft",
                    });
                }
                Ok(es_n0_db + 10.0 * (n_occupied as f64 / n_fft as f64).log10())
            }
        }
    }

    /// The noise variance per complex sample `N0` that gives this SNR for a signal of power
    /// `signal_power` per sample.
    pub fn noise_variance(&self, signal_power: f64) -> Result<f64, ChannelError> {
        check_range("signal_power", signal_power, 0.0, f64::MAX, "> 0")?;
        Ok(signal_power / 10f64.powf(self.per_sample_db()? / 10.0))
    }
}

/// Per-antenna AWGN source: independent seeded stream per antenna.
#[derive(Clone)]
pub struct Awgn {
    variance: f32,
    gens: Vec<Gaussian>,
}

impl Awgn {
    /// Noise of variance `variance` (`N0`, per complex sample) on `n_antennas` antennas, with
    /// streams labelled (`Noise`, `stream`, antenna) under `seed`. Zero variance is allowed
    /// (adds nothing).
    pub fn new(
        variance: f64,
        n_antennas: usize,
        seed: u64,
        stream: u64,
    ) -> Result<Self, ChannelError> {
        check_range("noise_variance", variance, 0.0, 1e30, "0..=1e30")?;
        let gens = (0..n_antennas)
            .map(|a| Gaussian::new(seed, Purpose::Noise, stream, a as u64, 0))
            .collect();
        Ok(Self {
            variance: variance as f32,
            gens,
        })
    }

    /// Noise variance `N0` per complex sample.
    pub fn variance(&self) -> f32 {
        self.variance
    }

    /// Changes the noise variance (streams continue).
    pub fn set_variance(&mut self, variance: f64) -> Result<(), ChannelError> {
        check_range("noise_variance", variance, 0.0, 1e30, "0..=1e30")?;
        self.variance = variance as f32;
        Ok(())
    }

    /// Adds noise to one block per antenna.
    pub fn add<R: AsMut<[Complex32]>>(&mut self, rx: &mut [R]) -> Result<(), ChannelError> {
        if rx.len() != self.gens.len() {
            return Err(ChannelError::AntennaCount {
                what: "awgn antennas",
                expected: self.gens.len(),
                got: rx.len(),
            });
        }
        if self.variance == 0.0 {
            return Ok(());
        }
        for (g, buf) in self.gens.iter_mut().zip(rx.iter_mut()) {
            g.add_complex(buf.as_mut(), self.variance);
        }
        Ok(())
    }

    /// Adds noise to one antenna's block.
    pub fn add_antenna(&mut self, antenna: usize, buf: &mut [Complex32]) {
        if self.variance > 0.0 {
            self.gens[antenna].add_complex(buf, self.variance);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_re_to_per_sample() {
        let s = SnrSpec::PerReDb {
            es_n0_db: 20.0,
            n_fft: 2048,
            n_occupied: 1272,
        };
        assert!(
            (s.per_sample_db().unwrap() - (20.0 + 10.0 * (1272.0f64 / 2048.0).log10())).abs()
                < 1e-12
        );
        assert!(SnrSpec::PerReDb {
            es_n0_db: 0.0,
            n_fft: 8,
            n_occupied: 9
        }
        .per_sample_db()
        .is_err());
        assert!((SnrSpec::PerSampleDb(10.0).noise_variance(2.0).unwrap() - 0.2).abs() < 1e-12);
    }

    #[test]
    fn measured_variance() {
        let mut a = Awgn::new(0.25, 2, 3, 0).unwrap();
        let mut b0 = vec![Complex32::new(0.0, 0.0); 200_000];
        let mut b1 = b0.clone();
        a.add(&mut [&mut b0, &mut b1]).unwrap();
        for b in [&b0, &b1] {
            let p: f64 = b.iter().map(|x| x.norm_sqr() as f64).sum::<f64>() / b.len() as f64;
            // Std error of the mean power is 0.25/sqrt(2e5) = 5.6e-4: 5 sigma bound.
            assert!((p - 0.25).abs() < 3e-3, "{p}");
        }
        assert_ne!(b0[0], b1[0]);
    }
}
