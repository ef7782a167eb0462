//! The passive tag (TR 38.769 §5.1, device 1): energy harvesting, a free-running
//! clock, the envelope-detector R2D receiver and backscatter D2R.
//!
//! * Energy harvesting: the tag works only when the incident RF power reaches
//!   its sensitivity (the rectifier threshold), TR 38.769 §4.3.1.
//! * Clock (§5.3): a ring oscillator with a large static frequency error
//!   (device-1 class: thousands to 10^5 ppm) and cycle-to-cycle jitter. A period
//!   error of `ppm` stretches every tag-timed interval by `1 + ppm·10^-6`;
//!   jitter perturbs each interval independently, so edge times random-walk.
//! * Backscatter: the tag switches its antenna load between reflection states;
//!   the reflected field is the incident carrier times Γ(t). BPSK uses two
//!   opposite states ±|Γ|, OOK uses |Γ| and 0 ([`crate::piot::d2r`]).

/// The tag's free-running clock.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TagClock {
    /// Static period error in parts per million (positive = slow clock, longer chips).
    pub ppm: f64,
    /// Cycle-to-cycle jitter of each timed interval, as a fraction of it (RMS).
    pub jitter: f64,
}

impl TagClock {
    /// An ideal clock.
    pub const IDEAL: TagClock = TagClock {
        ppm: 0.0,
        jitter: 0.0,
    };

    /// The actual length of an interval the tag times as `nominal`, before jitter.
    pub fn stretch(&self, nominal: f64) -> f64 {
        nominal * (1.0 + self.ppm * 1e-6)
    }
}

/// Renders tag reflection states into a reader-rate waveform of Γ(t)/|Γ|.
///
/// `states[i]` is held for one tag-timed interval of nominal length
/// `samples_per_state` reader samples, stretched by the clock error and
/// jittered with `gauss()` (a standard normal source). The first state
/// starts at sample time `start` (fractional). Each output sample is the mean
/// of the piecewise-constant waveform over `[n, n+1)` (box anti-aliasing);
/// samples outside the frame are 0 (the tag absorbs). Returns the time just
/// after the last state, in samples.
pub fn backscatter_waveform(
    states: &[f32],
    samples_per_state: f64,
    clock: &TagClock,
    start: f64,
    gauss: &mut dyn FnMut() -> f64,
    out: &mut [f32],
) -> f64 {
    out.iter_mut().for_each(|x| *x = 0.0);
    let base = clock.stretch(samples_per_state);
    let mut t = start;
    for &s in states {
        let d = (base * (1.0 + clock.jitter * gauss())).max(0.05 * base);
        let t1 = t + d;
        add_interval(out, t, t1, s);
        t = t1;
    }
    t
}

/// Adds level `v` over the time interval `[t0, t1)` to the sample means in `out`.
fn add_interval(out: &mut [f32], t0: f64, t1: f64, v: f32) {
    if v == 0.0 || t1 <= 0.0 {
        return;
    }
    let t0 = t0.max(0.0);
    let n = out.len() as f64;
    if t0 >= n {
        return;
    }
    let t1 = t1.min(n);
    let (i0, i1) = (t0.floor() as usize, t1.floor() as usize);
    if i0 == i1 {
        out[i0] += v * (t1 - t0) as f32;
        return;
    }
    out[i0] += v * ((i0 + 1) as f64 - t0) as f32;
    let end = i1.min(out.len());
    for x in &mut out[i0 + 1..end] {
        *x += v;
    }
    if i1 < out.len() {
        out[i1] += v * (t1 - i1 as f64) as f32;
    }
}

/// A tag: harvesting threshold, reflection coefficient and clock.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tag {
    /// Minimum incident power that powers the tag, dBm.
    pub sensitivity_dbm: f64,
    /// |Γ|: amplitude of the reflection coefficient, 0 < |Γ| ≤ 1.
    pub reflection: f64,
    /// The tag's clock.
    pub clock: TagClock,
}

impl Tag {
    /// Whether the incident power (dBm) powers the tag up.
    pub fn is_powered(&self, incident_dbm: f64) -> bool {
        incident_dbm >= self.sensitivity_dbm
    }

    /// The backscatter loss 20·log10(1/|Γ|) in dB (BPSK's peak reflected power
    /// relative to the incident power).
    pub fn reflection_loss_db(&self) -> f64 {
        -20.0 * self.reflection.log10()
    }
}

/// The tag's envelope-detector R2D receiver for Manchester OOK (TR 38.769
/// §5.1: RF envelope detector, no LO). It squares the input, low-pass filters
/// it over a quarter chip, slices at the midpoint of the observed envelope
/// range, measures the chip length on the preamble in its own clock, then
/// reads each Manchester bit from the direction of its guaranteed mid-bit
/// transition, re-synchronising on every such edge, which keeps it locked
/// despite a large clock error.
#[derive(Debug, Clone)]
pub struct EnvelopeDetector {
    env: Vec<f32>,
    level: Vec<u8>,
}

/// Why the tag could not decode an R2D frame.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum R2dRxError {
    /// No on/off contrast: nothing was sent, or the envelope is flat.
    #[error("no OOK contrast in the envelope")]
    NoSignal,
    /// The preamble's edges were not found.
    #[error("preamble not found")]
    NoPreamble,
    /// A mid-bit edge was missing: the frame ended early or noise hid it.
    #[error("lost bit sync at bit {0}")]
    LostSync(usize),
}

impl Default for EnvelopeDetector {
    fn default() -> Self {
        Self::new()
    }
}

impl EnvelopeDetector {
    /// A detector with empty buffers (they grow to the longest frame seen).
    pub fn new() -> Self {
        EnvelopeDetector {
            env: Vec::new(),
            level: Vec::new(),
        }
    }

    /// Decodes `n_bits` Manchester bits that follow the R2D preamble
    /// [`crate::piot::r2d::R2D_PREAMBLE`] in the received samples `x`.
    /// `nominal_chip` is the chip length in samples as the tag believes it,
    /// i.e. the true chip length divided by the clock's stretch; the preamble
    /// measurement replaces it, so only its order of magnitude matters.
    pub fn decode_manchester(
        &mut self,
        x: &[num_complex::Complex32],
        nominal_chip: f64,
        n_bits: usize,
        out: &mut Vec<u8>,
    ) -> Result<(), R2dRxError> {
        use crate::piot::r2d::R2D_PREAMBLE;
        out.clear();
        let n = x.len();
        self.env.resize(n, 0.0);
        self.level.resize(n, 0);
        // Square-law detector + moving average over ~a quarter chip.
        let w = ((nominal_chip / 4.0).round() as usize).max(1);
        let mut acc = 0.0f32;
        for i in 0..n {
            acc += x[i].norm_sqr();
            if i >= w {
                acc -= x[i - w].norm_sqr();
            }
            self.env[i] = acc.max(0.0) / w as f32;
        }
        let (mut lo, mut hi) = (f32::MAX, f32::MIN);
        for &e in &self.env {
            lo = lo.min(e);
            hi = hi.max(e);
        }
        if !(hi > 4.0 * lo.max(1e-30)) {
            return Err(R2dRxError::NoSignal);
        }
        let thr = 0.5 * (lo + hi);
        for (l, &e) in self.level.iter_mut().zip(&self.env) {
            *l = (e > thr) as u8;
        }
        // Edges of the sliced envelope (the filter delays every edge by ~w/2 alike).
        let edges = |from: usize, to: usize, lvl: &[u8]| -> Option<usize> {
            (from.max(1)..to.min(lvl.len())).find(|&i| lvl[i] != lvl[i - 1])
        };
        // The preamble starts with an ON chip; its first rising edge is the frame start.
        let first = edges(0, n, &self.level).ok_or(R2dRxError::NoPreamble)?;
        // Count the preamble's transitions to its last one and measure its span.
        let pre = R2D_PREAMBLE;
        let trans: Vec<usize> = (1..pre.len()).filter(|&i| pre[i] != pre[i - 1]).collect();
        let last_k = *trans.last().ok_or(R2dRxError::NoPreamble)?;
        let mut pos = first;
        let mut last = first;
        for _ in &trans {
            let nx = edges(pos + 1, n, &self.level).ok_or(R2dRxError::NoPreamble)?;
            last = nx;
            pos = nx;
        }
        let chip = (last - first) as f64 / last_k as f64;
        if !(chip > 0.25 * nominal_chip && chip < 4.0 * nominal_chip) {
            return Err(R2dRxError::NoPreamble);
        }
        // First data bit's mid edge is expected 1 chip after the preamble end.
        let mut mid = first as f64 + (pre.len() as f64 + 1.0) * chip;
        for b in 0..n_bits {
            let lo_i = (mid - 0.5 * chip).max(1.0) as usize;
            let hi_i = (mid + 0.5 * chip) as usize;
            let e = edges(lo_i, hi_i + 1, &self.level).ok_or(R2dRxError::LostSync(b))?;
            // Falling mid-bit edge: high then low = bit 0.
            out.push(if self.level[e] == 0 { 0 } else { 1 });
            mid = e as f64 + 2.0 * chip;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waveform_conserves_area_and_stretches_with_ppm() {
        let states = [1.0f32, -1.0, 1.0, 1.0, -1.0];
        let mut out = vec![0.0; 100];
        let clk = TagClock {
            ppm: 100_000.0,
            jitter: 0.0,
        };
        let end = backscatter_waveform(&states, 8.0, &clk, 3.3, &mut || 0.0, &mut out);
        assert!((end - (3.3 + 5.0 * 8.8)).abs() < 1e-9);
        let area: f32 = out.iter().sum();
        assert!((area - 8.8).abs() < 1e-4, "{area}");
        assert_eq!(out[0], 0.0);
        assert!((out[3] - 0.7).abs() < 1e-6);
    }

    #[test]
    fn harvesting_threshold() {
        let t = Tag {
            sensitivity_dbm: -30.0,
            reflection: 0.5,
            clock: TagClock::IDEAL,
        };
        assert!(t.is_powered(-30.0) && !t.is_powered(-30.1));
        assert!((t.reflection_loss_db() - 6.0206).abs() < 1e-3);
    }
}
