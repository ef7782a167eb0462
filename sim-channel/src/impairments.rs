//! Radio impairments, each a small stateful block over `Complex32` slices that keeps its
//! state across calls (a stream cut into blocks is processed exactly as one long call).
//!
//! - [`Cfo`]: carrier frequency offset, `y[n] = x[n] e^{j(2π Δf n / f_s + φ0)}`, phase from
//!   the absolute sample index.
//! - [`PhaseNoise`]: free-running oscillator phase noise, Wiener model: the phase is a random
//!   walk, `φ[n] = φ[n−1] + N(0, 2π β / f_s)`. The spectrum of `e^{jφ}` is Lorentzian with
//!   full 3-dB width β, `S(f) = (2πβ) / ((πβ)² + (2πf)²)`, i.e. `L(f) ≈ β / (2π f²)` far from
//!   the carrier; [`PhaseNoise::from_level`] sets β from a level in dBc/Hz at an offset.
//!   Its autocorrelation is `E[e^{j(φ(t+τ)−φ(t))}] = e^{−πβ|τ|}`.
//! - [`IqImbalance`]: `y = μ x + ν x*`, `μ = (1 + g e^{−jθ})/2`, `ν = (1 − g e^{jθ})/2` with
//!   amplitude imbalance `g` (dB) and phase imbalance `θ`; image rejection `|μ|²/|ν|²`.
//! - [`DcOffset`]: a constant added to every sample.
//! - [`Adc`]: per-rail clipping at ±full scale and uniform mid-rise quantisation to `b` bits
//!   (step `Δ = 2A / 2^b`, quantisation noise `Δ²/12` per rail when not clipping).
//! - [`Resampler`]: sample timing offset (fractional delay) and sampling-rate offset (ppm)
//!   by 32-tap Kaiser-windowed-sinc interpolation (β = 9, 512 phases with linear
//!   interpolation between them; error below −60 dB for |f| ≤ 0.35 f_s).

use crate::math::cis_turns;
use crate::rng::{Gaussian, Purpose};
use crate::{check_range, ChannelError};
use num_complex::Complex32;

/// Carrier frequency offset.
#[derive(Debug, Clone)]
pub struct Cfo {
    step: f64,
    phase0: f64,
    n: u64,
}

impl Cfo {
    /// `offset_hz` at `sample_rate_hz`, initial phase `phase0_rad`.
    pub fn new(offset_hz: f64, sample_rate_hz: f64, phase0_rad: f64) -> Result<Self, ChannelError> {
        check_range(
            "sample_rate_hz",
            sample_rate_hz,
            1e3,
            10e9,
            "1 kHz..=10 GHz",
        )?;
        check_range(
            "cfo_hz",
            offset_hz,
            -sample_rate_hz / 2.0,
            sample_rate_hz / 2.0,
            "|cfo| <= fs/2",
        )?;
        Ok(Self {
            step: offset_hz / sample_rate_hz,
            phase0: phase0_rad / (2.0 * std::f64::consts::PI),
            n: 0,
        })
    }

    /// Rotates a block in place.
    pub fn apply(&mut self, buf: &mut [Complex32]) {
        for x in buf.iter_mut() {
            *x *= cis_turns(self.step * self.n as f64 + self.phase0);
            self.n += 1;
        }
    }
}

/// Wiener phase noise (see the module doc for the spectrum).
#[derive(Clone)]
pub struct PhaseNoise {
    sigma: f32,
    phase: f64,
    g: Gaussian,
}

impl PhaseNoise {
    /// 3-dB linewidth `beta_hz` at `sample_rate_hz`; the stream is labelled by `stream`.
    pub fn new(
        beta_hz: f64,
        sample_rate_hz: f64,
        seed: u64,
        stream: u64,
    ) -> Result<Self, ChannelError> {
        check_range("phase_noise_linewidth_hz", beta_hz, 0.0, 1e7, "0..=10 MHz")?;
        check_range(
            "sample_rate_hz",
            sample_rate_hz,
            1e3,
            10e9,
            "1 kHz..=10 GHz",
        )?;
        Ok(Self {
            sigma: (2.0 * std::f64::consts::PI * beta_hz / sample_rate_hz).sqrt() as f32,
            phase: 0.0,
            g: Gaussian::new(seed, Purpose::PhaseNoise, stream, 0, 0),
        })
    }

    /// The linewidth whose Lorentzian tail is `level_dbc_hz` at `offset_hz`:
    /// `β = 2π f² 10^{L/10}` (e.g. −100 dBc/Hz at 1 MHz gives β ≈ 628 Hz).
    pub fn linewidth_for_level(level_dbc_hz: f64, offset_hz: f64) -> f64 {
        2.0 * std::f64::consts::PI * offset_hz * offset_hz * 10f64.powf(level_dbc_hz / 10.0)
    }

    /// Phase noise with level `level_dbc_hz` at `offset_hz`.
    pub fn from_level(
        level_dbc_hz: f64,
        offset_hz: f64,
        sample_rate_hz: f64,
        seed: u64,
        stream: u64,
    ) -> Result<Self, ChannelError> {
        check_range("phase_noise_offset_hz", offset_hz, 1.0, 1e9, "1 Hz..=1 GHz")?;
        Self::new(
            Self::linewidth_for_level(level_dbc_hz, offset_hz),
            sample_rate_hz,
            seed,
            stream,
        )
    }

    /// Draws the next `out.len()` phasors `e^{jφ[n]}`.
    pub fn phasors(&mut self, out: &mut [Complex32]) {
        for o in out.iter_mut() {
            self.phase += (self.g.normal() * self.sigma) as f64;
            if self.phase.abs() > 1e6 {
                self.phase = self.phase.rem_euclid(2.0 * std::f64::consts::PI);
            }
            *o = cis_turns(self.phase / (2.0 * std::f64::consts::PI));
        }
    }

    /// Applies phase noise to a block in place.
    pub fn apply(&mut self, buf: &mut [Complex32]) {
        for x in buf.iter_mut() {
            self.phase += (self.g.normal() * self.sigma) as f64;
            *x *= cis_turns(self.phase / (2.0 * std::f64::consts::PI));
        }
    }
}

/// IQ gain/phase imbalance.
#[derive(Debug, Clone, Copy)]
pub struct IqImbalance {
    mu: Complex32,
    nu: Complex32,
}

impl IqImbalance {
    /// Amplitude imbalance `gain_db`, phase imbalance `phase_deg`.
    pub fn new(gain_db: f64, phase_deg: f64) -> Result<Self, ChannelError> {
        check_range("iq_gain_db", gain_db, -10.0, 10.0, "-10..=10 dB")?;
        check_range("iq_phase_deg", phase_deg, -45.0, 45.0, "-45..=45 degrees")?;
        let g = 10f64.powf(gain_db / 20.0);
        let th = phase_deg.to_radians();
        let mu = Complex32::new(
            ((1.0 + g * th.cos()) / 2.0) as f32,
            (-g * th.sin() / 2.0) as f32,
        );
        let nu = Complex32::new(
            ((1.0 - g * th.cos()) / 2.0) as f32,
            (-g * th.sin() / 2.0) as f32,
        );
        Ok(Self { mu, nu })
    }

    /// Image rejection ratio `|μ|²/|ν|²`, dB (infinite when balanced).
    pub fn image_rejection_db(&self) -> f64 {
        10.0 * (self.mu.norm_sqr() as f64 / self.nu.norm_sqr() as f64).log10()
    }

    /// Applies the imbalance in place.
    pub fn apply(&self, buf: &mut [Complex32]) {
        for x in buf.iter_mut() {
            *x = self.mu * *x + self.nu * x.conj();
        }
    }
}

/// DC offset.
#[derive(Debug, Clone, Copy)]
pub struct DcOffset(pub Complex32);

impl DcOffset {
    /// Adds the offset in place.
    pub fn apply(&self, buf: &mut [Complex32]) {
        for x in buf.iter_mut() {
            *x += self.0;
        }
    }
}

/// ADC clipping and quantisation.
#[derive(Debug, Clone, Copy)]
pub struct Adc {
    full_scale: f32,
    step: f32,
    levels: i32,
}

impl Adc {
    /// Full scale ±`full_scale` per rail, `bits` bits per rail (1..=24).
    pub fn new(full_scale: f64, bits: u32) -> Result<Self, ChannelError> {
        check_range("adc_full_scale", full_scale, 1e-12, 1e12, "> 0")?;
        check_range("adc_bits", bits as f64, 1.0, 24.0, "1..=24")?;
        let levels = 1i32 << bits;
        Ok(Self {
            full_scale: full_scale as f32,
            step: (2.0 * full_scale / levels as f64) as f32,
            levels,
        })
    }

    /// Quantisation step Δ.
    pub fn step(&self) -> f32 {
        self.step
    }

    #[inline]
    fn q(&self, v: f32) -> f32 {
        let v = v.clamp(-self.full_scale, self.full_scale);
        let i = ((v / self.step).floor() as i32).clamp(-self.levels / 2, self.levels / 2 - 1);
        (i as f32 + 0.5) * self.step
    }

    /// Clips and quantises in place; returns how many rail values clipped.
    pub fn apply(&self, buf: &mut [Complex32]) -> usize {
        let mut clipped = 0;
        for x in buf.iter_mut() {
            clipped +=
                (x.re.abs() > self.full_scale) as usize + (x.im.abs() > self.full_scale) as usize;
            *x = Complex32::new(self.q(x.re), self.q(x.im));
        }
        clipped
    }
}

const RS_TAPS: usize = 32;
const RS_HALF: i64 = 16;
const RS_PHASES: usize = 512;

fn bessel_i0(x: f64) -> f64 {
    let mut s = 1.0;
    let mut t = 1.0;
    for k in 1..50 {
        t *= (x / (2.0 * k as f64)).powi(2);
        s += t;
    }
    s
}

/// Fractional-delay and sampling-rate-offset interpolator (see the module doc).
///
/// Output sample `k` is the input signal at input time `t_k = k·r − D − 16`, with
/// `r = 1 + ppm·1e-6` input samples per output sample, `D` the timing offset in samples
/// (positive: the signal arrives later) and 16 the interpolator's causal latency, so that
/// with `r = 1` every input block yields an output block of the same length. With `r ≠ 1`
/// the count differs from the input's by the accumulated drift;
/// [`process`](Self::process) returns it.
pub struct Resampler {
    table: Vec<f32>,
    ratio: f64,
    delay: f64,
    /// Input samples still needed, starting at absolute input index `base`.
    buf: Vec<Complex32>,
    /// Absolute input index of `buf[0]`.
    base: i64,
    /// Next output index.
    k: u64,
}

impl Resampler {
    /// Timing offset `delay_samples` (≥ 0) and clock offset `ppm`.
    pub fn new(delay_samples: f64, ppm: f64) -> Result<Self, ChannelError> {
        check_range(
            "timing_offset_samples",
            delay_samples,
            0.0,
            1e6,
            "0..=1e6 samples",
        )?;
        check_range("sro_ppm", ppm, -1000.0, 1000.0, "-1000..=1000 ppm")?;
        let beta = 9.0;
        let mut table = vec![0f32; (RS_PHASES + 1) * RS_TAPS];
        for p in 0..=RS_PHASES {
            let mu = p as f64 / RS_PHASES as f64;
            for j in 0..RS_TAPS {
                // Tap j weights input i − 15 + j for t = i + μ: offset x = j − 15 − μ.
                let x = j as f64 - (RS_HALF - 1) as f64 - mu;
                let sinc = if x.abs() < 1e-12 {
                    1.0
                } else {
                    (std::f64::consts::PI * x).sin() / (std::f64::consts::PI * x)
                };
                let r = x / RS_HALF as f64;
                let w = if r.abs() <= 1.0 {
                    bessel_i0(beta * (1.0 - r * r).sqrt()) / bessel_i0(beta)
                } else {
                    0.0
                };
                table[p * RS_TAPS + j] = (sinc * w) as f32;
            }
        }
        Ok(Self {
            table,
            ratio: 1.0 + ppm * 1e-6,
            delay: delay_samples,
            buf: vec![Complex32::new(0.0, 0.0); RS_TAPS],
            base: -(RS_TAPS as i64),
            k: 0,
        })
    }

    /// Largest number of outputs one call with `n_in` inputs can produce.
    pub fn max_output(&self, n_in: usize) -> usize {
        (n_in as f64 / self.ratio).ceil() as usize + 2
    }

    /// Consumes `input`, writes the outputs that became computable to `output` (which must
    /// hold [`max_output`](Self::max_output)`(input.len())`) and returns their count.
    pub fn process(
        &mut self,
        input: &[Complex32],
        output: &mut [Complex32],
    ) -> Result<usize, ChannelError> {
        let need = self.max_output(input.len());
        if output.len() < need {
            return Err(ChannelError::BlockLength {
                what: "resampler output",
                expected: need,
                got: output.len(),
            });
        }
        self.buf.extend_from_slice(input);
        let end = self.base + self.buf.len() as i64; // one past the last input index
        let mut produced = 0;
        loop {
            let t = self.k as f64 * self.ratio - self.delay - RS_HALF as f64;
            let i = t.floor();
            let mu = t - i;
            let i = i as i64;
            // Output k is due when its own clock time k·r has been reached by the input
            // (so r = 1 gives one output per input); D ≥ 0 then keeps every needed input
            // available: the last one is floor(k·r − D).
            if self.k as f64 * self.ratio > (end - 1) as f64 || i + RS_HALF > end - 1 {
                break;
            }
            let pos = mu * RS_PHASES as f64;
            let p = (pos.floor() as usize).min(RS_PHASES - 1);
            let frac = (pos - p as f64) as f32;
            let (c0, c1) = (
                &self.table[p * RS_TAPS..(p + 1) * RS_TAPS],
                &self.table[(p + 1) * RS_TAPS..(p + 2) * RS_TAPS],
            );
            let mut acc = Complex32::new(0.0, 0.0);
            let first = i - (RS_HALF - 1);
            for j in 0..RS_TAPS {
                let idx = first + j as i64 - self.base;
                if idx >= 0 {
                    let c = c0[j] + frac * (c1[j] - c0[j]);
                    acc += self.buf[idx as usize] * c;
                }
            }
            output[produced] = acc;
            produced += 1;
            self.k += 1;
        }
        // Keep the samples the next outputs may still need.
        let t_next = self.k as f64 * self.ratio - self.delay - RS_HALF as f64;
        let keep_from = (t_next.floor() as i64 - RS_HALF).max(self.base);
        let drop = (keep_from - self.base).max(0) as usize;
        if drop > 0 {
            self.buf.drain(..drop.min(self.buf.len()));
            self.base += drop as i64;
        }
        Ok(produced)
    }
}
