//! Device-to-reader (D2R) framing and the reader's receiver.
//!
//! # Transmit side (the tag)
//! info bits → CRC (TS 38.212 §5.1 polynomials, CRC16 by default; TR 38.769
//! §6.1.2.3.2) → optional convolutional code ([`super::conv`], rate 1/3 or
//! punctured 1/2; §6.1.2.3.1) → repetition (§6.1.2.3.3) → line code
//! ([`super::linecode`], §6.1.2.2) → chips, behind a known preamble of chips.
//! Each chip is then multiplied by a square subcarrier of `k` cycles (2k
//! sub-chips), which moves the backscatter away from the carrier wave
//! (§6.1.2.1: D2R on a frequency shift from the CW). The tag holds one
//! reflection state per sub-chip:
//! * BPSK: r = c·sq ∈ {+1, −1} (two opposite reflection states),
//! * OOK:  r = ((1+c)/2)·((1+sq)/2) ∈ {1, 0} (reflect / absorb).
//!
//! # Receive side (each reader site)
//! 1. Carrier-wave leakage: a least-squares fit `a + b·n` (the CW leaking
//!    from the reader's own transmitter and from other sites, with a slow
//!    phase drift) is estimated over the whole capture and subtracted.
//! 2. Noise variance from the tag-silent guard at the start of the capture
//!    (from first differences, so a residual offset does not bias it).
//! 3. Acquisition of the drifting tag clock: the preamble's subcarrier
//!    template is correlated over a grid of clock-rate hypotheses (±`max_ppm`,
//!    step so that the drift across the preamble stays under a quarter
//!    sub-chip) and start offsets, using prefix sums so each hypothesis costs
//!    one pass over the preamble's sub-chips; the best is refined on a finer
//!    grid. Its magnitude against a false-alarm threshold decides detection;
//!    its phase and size give the coherent reference and the RSSI.
//! 4. Tracking: a second-order timing loop per chip, driven by a
//!    data-independent detector on the subcarrier's guaranteed transitions
//!    inside every chip (early/late sums around each boundary, correlated with
//!    the chip's own demodulated value so noise does not bias it); a
//!    decision-directed loop follows amplitude and phase (residual CFO).
//! 5. Detection: coherent (chip LLRs from the tracked reference) or
//!    non-coherent (sub-carrier energy per chip, OOK-Manchester only).
//! 6. Line decoding, repetition combining, and per-site coded LLRs. Joint
//!    reception ([`D2rReceiver::decode`]) adds the LLRs of every site that
//!    detected the tag, then Viterbi-decodes and checks the CRC.

use super::conv::{CodeRate, Viterbi};
use super::linecode::LineCode;
use crate::coding::crc::{Crc, CrcPoly};
use num_complex::{Complex, Complex32};
use thiserror::Error;

type C64 = Complex<f64>;

/// D2R modulation of the backscatter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum D2rModulation {
    /// Two reflection states, reflect and absorb.
    Ook,
    /// Two opposite reflection states ±|Γ|.
    Bpsk,
}

/// How the reader detects chips.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Detection {
    /// With a phase reference from the preamble, tracked through the frame.
    Coherent,
    /// By subcarrier energy per chip, without phase (classic OOK reader).
    NonCoherent,
}

/// D2R link configuration (shared by the tag and the reader).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct D2rConfig {
    /// Backscatter modulation.
    pub modulation: D2rModulation,
    /// Line code.
    pub line_code: LineCode,
    /// Subcarrier cycles per chip (≥ 1).
    pub subcarrier_cycles: u32,
    /// Reader samples per sub-chip at the nominal tag clock (≥ 2).
    pub samples_per_subchip: f64,
    /// Channel code; `None` sends the CRC-protected bits uncoded.
    pub coding: Option<CodeRate>,
    /// Repetitions of the coded block (≥ 1).
    pub repetitions: u32,
    /// Preamble length in chips (16..=63).
    pub preamble_chips: usize,
    /// The tag clock error the reader searches, ± ppm.
    pub max_ppm: f64,
    /// The tag clock jitter (RMS fraction of a sub-chip) the reader's timing
    /// loop is designed for; 0 narrows the loop to the acquisition residual.
    pub max_jitter: f64,
    /// CRC polynomial.
    pub crc: CrcPoly,
    /// Chip detection.
    pub detection: Detection,
}

impl Default for D2rConfig {
    fn default() -> Self {
        D2rConfig {
            modulation: D2rModulation::Bpsk,
            line_code: LineCode::Manchester,
            subcarrier_cycles: 1,
            samples_per_subchip: 4.0,
            coding: Some(CodeRate::R1_3),
            repetitions: 1,
            preamble_chips: 32,
            max_ppm: 100_000.0,
            max_jitter: 0.01,
            crc: CrcPoly::Crc16,
            detection: Detection::Coherent,
        }
    }
}

/// Invalid D2R configuration or input.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum D2rError {
    /// A field is out of range.
    #[error("d2r.{field}: {msg}")]
    Config {
        /// Field name.
        field: &'static str,
        /// What is allowed.
        msg: String,
    },
    /// Wrong buffer length.
    #[error("{what}: length {got}, expected {expected}")]
    Length {
        /// Which buffer.
        what: &'static str,
        /// Given.
        got: usize,
        /// Expected.
        expected: usize,
    },
}

impl D2rConfig {
    /// Checks every field; the processing code assumes a valid configuration.
    pub fn validate(&self) -> Result<(), D2rError> {
        let bad = |field, msg: &str| {
            Err(D2rError::Config {
                field,
                msg: msg.into(),
            })
        };
        if !self.line_code.is_valid() {
            return bad("line_code", "Miller M must be 2, 4 or 8");
        }
        if !(1..=8).contains(&self.subcarrier_cycles) {
            return bad("subcarrier_cycles", "must be 1..=8 cycles per chip");
        }
        if !(self.samples_per_subchip >= 2.0 && self.samples_per_subchip <= 64.0) {
            return bad("samples_per_subchip", "must be 2..=64");
        }
        if !(1..=64).contains(&self.repetitions) {
            return bad("repetitions", "must be 1..=64");
        }
        if !(16..=63).contains(&self.preamble_chips) {
            return bad("preamble_chips", "must be 16..=63");
        }
        if !(0.0..=200_000.0).contains(&self.max_ppm) {
            return bad("max_ppm", "must be 0..=200000 ppm");
        }
        if !(0.0..=0.1).contains(&self.max_jitter) {
            return bad("max_jitter", "must be 0..=0.1 of a sub-chip");
        }
        if self.detection == Detection::NonCoherent
            && (self.modulation != D2rModulation::Ook || self.line_code != LineCode::Manchester)
        {
            return bad(
                "detection",
                "non-coherent detection needs OOK with Manchester (BPSK chips differ only in phase)",
            );
        }
        Ok(())
    }
}

/// Sizes of one D2R frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct D2rLayout {
    /// Information bits.
    pub info_bits: usize,
    /// Information + CRC bits.
    pub payload_bits: usize,
    /// Coded bits of one repetition.
    pub coded_bits: usize,
    /// Line-coded data chips (all repetitions).
    pub data_chips: usize,
    /// Preamble + data chips.
    pub chips: usize,
    /// Sub-chips (reflection states) of the whole frame.
    pub subchips: usize,
}

impl D2rLayout {
    /// The layout of a frame carrying `info_bits` bits with `cfg`.
    pub fn new(cfg: &D2rConfig, info_bits: usize) -> Self {
        let payload_bits = info_bits + cfg.crc.len();
        let coded_bits = match cfg.coding {
            Some(r) => r.coded_len(payload_bits),
            None => payload_bits,
        };
        let data_chips = coded_bits * cfg.repetitions as usize * cfg.line_code.chips_per_bit();
        let chips = cfg.preamble_chips + data_chips;
        D2rLayout {
            info_bits,
            payload_bits,
            coded_bits,
            data_chips,
            chips,
            subchips: chips * 2 * cfg.subcarrier_cycles as usize,
        }
    }

    /// Frame duration in reader samples at the nominal tag clock.
    pub fn samples(&self, cfg: &D2rConfig) -> f64 {
        self.subchips as f64 * cfg.samples_per_subchip
    }
}

/// The preamble chips (±1): the first `n` chips of the length-63 m-sequence
/// of x^6 + x + 1, chosen for its low autocorrelation sidelobes.
pub fn preamble(n: usize) -> Vec<f32> {
    let mut r = 0b100000u32;
    (0..n)
        .map(|_| {
            let b = r & 1;
            let fb = (r ^ (r >> 1)) & 1;
            r = (r >> 1) | (fb << 5);
            if b == 0 {
                1.0
            } else {
                -1.0
            }
        })
        .collect()
}

/// The tag's D2R frame builder.
#[derive(Debug, Clone)]
pub struct D2rTransmitter {
    cfg: D2rConfig,
    layout: D2rLayout,
    crc: Crc,
    pre: Vec<f32>,
    payload: Vec<u8>,
    coded: Vec<u8>,
    bits: Vec<u8>,
    chips: Vec<f32>,
}

impl D2rTransmitter {
    /// Plans a transmitter for `info_bits`-bit frames.
    pub fn new(cfg: D2rConfig, info_bits: usize) -> Result<Self, D2rError> {
        cfg.validate()?;
        let layout = D2rLayout::new(&cfg, info_bits);
        Ok(D2rTransmitter {
            cfg,
            layout,
            crc: Crc::new(cfg.crc),
            pre: preamble(cfg.preamble_chips),
            payload: vec![0; layout.payload_bits],
            coded: vec![0; layout.coded_bits],
            bits: vec![0; layout.coded_bits * cfg.repetitions as usize],
            chips: vec![0.0; layout.chips],
        })
    }

    /// The frame layout.
    pub fn layout(&self) -> &D2rLayout {
        &self.layout
    }

    /// Writes the frame's reflection states (one per sub-chip, see the
    /// module doc) into `states` (length `layout().subchips`).
    pub fn states(&mut self, info: &[u8], states: &mut [f32]) -> Result<(), D2rError> {
        let l = self.layout;
        if info.len() != l.info_bits {
            return Err(D2rError::Length {
                what: "info bits",
                got: info.len(),
                expected: l.info_bits,
            });
        }
        if states.len() != l.subchips {
            return Err(D2rError::Length {
                what: "states",
                got: states.len(),
                expected: l.subchips,
            });
        }
        self.payload[..l.info_bits].copy_from_slice(info);
        let (a, p) = self.payload.split_at_mut(l.info_bits);
        self.crc.parity_into(a, p);
        match self.cfg.coding {
            Some(r) => super::conv::encode_into(&self.payload, r, &mut self.coded),
            None => self.coded.copy_from_slice(&self.payload),
        }
        for rep in self.bits.chunks_exact_mut(l.coded_bits) {
            rep.copy_from_slice(&self.coded);
        }
        let np = self.pre.len();
        self.chips[..np].copy_from_slice(&self.pre);
        self.cfg
            .line_code
            .encode_into(&self.bits, &mut self.chips[np..]);
        let k2 = 2 * self.cfg.subcarrier_cycles as usize;
        for (c, s) in self.chips.iter().zip(states.chunks_exact_mut(k2)) {
            for (j, x) in s.iter_mut().enumerate() {
                let sq = if j % 2 == 0 { 1.0 } else { -1.0 };
                *x = match self.cfg.modulation {
                    D2rModulation::Bpsk => c * sq,
                    D2rModulation::Ook => 0.25 * (1.0 + c) * (1.0 + sq),
                };
            }
        }
        Ok(())
    }
}

/// Where the tag's frame may start inside a capture.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CaptureLayout {
    /// Tag-silent samples at the start (noise estimation).
    pub guard: usize,
    /// The frame starts within `[guard, guard + window]`.
    pub window: usize,
    /// Total capture length in samples.
    pub len: usize,
}

/// What one site made of a capture.
#[derive(Debug, Clone, PartialEq)]
pub struct SiteSoft {
    /// The preamble was detected above the false-alarm threshold.
    pub detected: bool,
    /// Normalised preamble correlation (exponential(1) under noise only).
    pub metric: f32,
    /// Complex amplitude per sample of a full-reflection state (after tracking).
    pub amplitude: Complex32,
    /// Noise variance per sample.
    pub noise_var: f32,
    /// Estimated SNR per sample of the full-reflection level, dB.
    pub snr_db: f32,
    /// Estimated frame start, samples.
    pub start: f64,
    /// Estimated tag clock error, ppm.
    pub ppm: f64,
    /// Coded-bit LLRs (repetitions combined); all 0 when not detected.
    pub llr: Vec<f32>,
}

/// The outcome of decoding one D2R frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct D2rOutcome {
    /// The CRC checked.
    pub crc_ok: bool,
    /// Sites whose soft bits were combined.
    pub sites: usize,
}

/// Per-site working buffers of the receiver.
#[derive(Debug, Clone, Default)]
struct SiteWork {
    x: Vec<C64>,
    s: Vec<C64>,
    nv: f64,
    amp: C64,
    amp0: C64,
    corr: C64,
    chip: Vec<f32>,
}

impl SiteWork {
    /// Prefix sum of x at fractional time t.
    #[inline]
    fn sum_at(&self, t: f64) -> C64 {
        let n = self.x.len();
        if t <= 0.0 {
            return C64::new(0.0, 0.0);
        }
        if t >= n as f64 {
            return self.s[n];
        }
        let i = t as usize;
        self.s[i] + self.x[i] * (t - i as f64)
    }

    /// The chip's subcarrier-demodulated value: Σ_j sq_j · (sum over sub-chip j).
    #[inline]
    fn demod(&self, t: f64, ts: f64, k2: usize) -> C64 {
        let mut z = C64::new(0.0, 0.0);
        let mut prev = self.sum_at(t);
        for j in 0..k2 {
            let cur = self.sum_at(t + (j + 1) as f64 * ts);
            z += if j % 2 == 0 { cur - prev } else { prev - cur };
            prev = cur;
        }
        z
    }

    /// Decision-directed amplitude/phase update from a chip value `s` (≈ amp·μ).
    fn track(&mut self, s: C64, cfg: D2rConfig) {
        let amp = self.amp;
        let proj = (s * amp.conj()).re;
        match cfg.modulation {
            D2rModulation::Bpsk => {
                let d = if proj >= 0.0 { 1.0 } else { -1.0 };
                self.amp += (s * d - amp) * LAMBDA;
            }
            D2rModulation::Ook => {
                let on = match cfg.detection {
                    Detection::Coherent => proj > 0.5 * amp.norm_sqr(),
                    Detection::NonCoherent => s.norm_sqr() > 0.25 * amp.norm_sqr(),
                };
                if on {
                    let upd = match cfg.detection {
                        Detection::Coherent => s,
                        // Keep the reference's phase; follow the magnitude only.
                        Detection::NonCoherent => amp * (s.norm() / amp.norm().max(1e-30)),
                    };
                    self.amp += (upd - amp) * LAMBDA;
                }
            }
        }
    }

    /// Correlation of `template` starting at `t0` with sub-chip length `ts`.
    fn correlate(&self, template: &[f32], t0: f64, ts: f64) -> C64 {
        let mut acc = C64::new(0.0, 0.0);
        let mut prev = self.sum_at(t0);
        for (i, &q) in template.iter().enumerate() {
            let cur = self.sum_at(t0 + (i + 1) as f64 * ts);
            acc += (cur - prev) * q as f64;
            prev = cur;
        }
        acc
    }
}

/// The reader's D2R receiver for one frame format, over one or more sites
/// that receive the same tag transmission (joint reception). Plan once, run many.
#[derive(Debug, Clone)]
pub struct D2rReceiver {
    cfg: D2rConfig,
    layout: D2rLayout,
    crc: Crc,
    viterbi: Viterbi,
    template: Vec<f32>,
    eq: f64,
    sites: Vec<SiteWork>,
    times: Vec<f64>,
    bit_llr: Vec<f32>,
    coded: Vec<f32>,
    payload: Vec<u8>,
}

/// Amplitude/phase tracking gain (per chip).
const LAMBDA: f64 = 0.05;
/// Timing-loop gain limits (per chip).
const ALPHA_MIN: f64 = 0.03;
const ALPHA_MAX: f64 = 0.3;
/// Acquisition false-alarm probability per capture.
const P_FA: f64 = 1e-3;
/// A site joins the combination when its own normalised preamble metric
/// exceeds this (noise alone has mean 1); weaker sites only add noise.
const SITE_METRIC_MIN: f64 = 3.0;

/// P(Gamma(n, 1) > x) = e^{-x} Σ_{i<n} x^i / i!.
fn gamma_tail(n: usize, x: f64) -> f64 {
    let (mut term, mut sum) = (1.0, 1.0);
    for i in 1..n {
        term *= x / i as f64;
        sum += term;
    }
    (-x).exp() * sum
}

impl D2rReceiver {
    /// Plans a receiver for `info_bits`-bit frames.
    pub fn new(cfg: D2rConfig, info_bits: usize) -> Result<Self, D2rError> {
        cfg.validate()?;
        let layout = D2rLayout::new(&cfg, info_bits);
        let k2 = 2 * cfg.subcarrier_cycles as usize;
        let mut template = Vec::with_capacity(cfg.preamble_chips * k2);
        for c in preamble(cfg.preamble_chips) {
            for j in 0..k2 {
                let sq = if j % 2 == 0 { 1.0 } else { -1.0 };
                template.push(match cfg.modulation {
                    D2rModulation::Bpsk => c * sq,
                    D2rModulation::Ook => 0.5 * (1.0 + c) * sq,
                });
            }
        }
        let eq = template.iter().map(|q| (q * q) as f64).sum();
        Ok(D2rReceiver {
            cfg,
            layout,
            crc: Crc::new(cfg.crc),
            viterbi: Viterbi::new(layout.payload_bits),
            template,
            eq,
            sites: Vec::new(),
            times: Vec::new(),
            bit_llr: vec![0.0; layout.coded_bits * cfg.repetitions as usize],
            coded: vec![0.0; layout.coded_bits],
            payload: vec![0; layout.payload_bits],
        })
    }

    /// The frame layout.
    pub fn layout(&self) -> &D2rLayout {
        &self.layout
    }

    /// The configuration.
    pub fn config(&self) -> &D2rConfig {
        &self.cfg
    }

    /// A capture that holds a frame starting anywhere in `[guard, guard + window]`
    /// at any clock error within ±`max_ppm` (plus four chips of margin for jitter).
    pub fn capture(&self, guard: usize, window: usize) -> CaptureLayout {
        let stretch = 1.0 + self.cfg.max_ppm * 1e-6;
        let chip = 2.0 * self.cfg.subcarrier_cycles as f64 * self.cfg.samples_per_subchip;
        let frame = self.layout.samples(&self.cfg) * stretch + 4.0 * chip;
        CaptureLayout {
            guard,
            window,
            len: guard + window + frame.ceil() as usize,
        }
    }

    /// A [`SiteSoft`] sized for this receiver.
    pub fn new_site_soft(&self) -> SiteSoft {
        SiteSoft {
            detected: false,
            metric: 0.0,
            amplitude: Complex32::new(0.0, 0.0),
            noise_var: 0.0,
            snr_db: f32::NEG_INFINITY,
            start: 0.0,
            ppm: 0.0,
            llr: vec![0.0; self.layout.coded_bits],
        }
    }

    /// Steps 1-2: leakage cancellation, prefix sums, noise variance.
    fn prepare(&mut self, i: usize, y: &[Complex32], guard: usize) {
        let w = &mut self.sites[i];
        let n = y.len();
        let mid = (n as f64 - 1.0) / 2.0;
        let (mut m0, mut m1, mut d2) = (C64::new(0.0, 0.0), C64::new(0.0, 0.0), 0.0);
        for (i, v) in y.iter().enumerate() {
            let v = C64::new(v.re as f64, v.im as f64);
            let d = i as f64 - mid;
            m0 += v;
            m1 += v * d;
            d2 += d * d;
        }
        let a = m0 / n as f64;
        let b = if d2 > 0.0 {
            m1 / d2
        } else {
            C64::new(0.0, 0.0)
        };
        w.x.clear();
        w.x.extend(
            y.iter()
                .enumerate()
                .map(|(i, v)| C64::new(v.re as f64, v.im as f64) - a - b * (i as f64 - mid)),
        );
        w.s.clear();
        w.s.push(C64::new(0.0, 0.0));
        let mut acc = C64::new(0.0, 0.0);
        for v in &w.x {
            acc += v;
            w.s.push(acc);
        }
        let nv = (1..guard)
            .map(|i| (w.x[i] - w.x[i - 1]).norm_sqr())
            .sum::<f64>()
            / (2.0 * (guard - 1) as f64);
        w.nv = nv.max(1e-30);
        w.chip.resize(self.layout.data_chips, 0.0);
    }

    /// Joint metric of one timing hypothesis: Σ_sites |C|² / (σ² · ts · E_q).
    fn joint_metric(&mut self, t0: f64, ts: f64) -> f64 {
        let mut m = 0.0;
        for w in self.sites.iter_mut() {
            w.corr = w.correlate(&self.template, t0, ts);
            m += w.corr.norm_sqr() / (w.nv * ts * self.eq);
        }
        m
    }

    /// The timing detector for the chip starting at `t`: the sites' early/late
    /// sums around the 2k − 1 guaranteed inner transitions, correlated with the
    /// chip's own demodulated value (so neither data nor noise biases it),
    /// normalised to samples. With `update`, the sites' amplitudes are tracked.
    fn ted(
        &mut self,
        t: f64,
        ts: f64,
        use_site: &[bool],
        d_mod: f64,
        b_mod: f64,
        update: bool,
    ) -> f64 {
        let k2 = 2 * self.cfg.subcarrier_cycles as usize;
        let cfg = self.cfg;
        let (mut num, mut den) = (0.0, 0.0);
        for (si, w) in self.sites.iter_mut().enumerate() {
            if !use_site.get(si).copied().unwrap_or(false) {
                continue;
            }
            let z = w.demod(t, ts, k2);
            let mean = (w.sum_at(t + k2 as f64 * ts) - w.sum_at(t)) / (k2 as f64 * ts);
            let hw = 0.5 * ts;
            for j in 1..k2 {
                let e = t + j as f64 * ts;
                let lr = w.sum_at(e + hw) - w.sum_at(e - hw) - mean * (2.0 * hw);
                let sq_prev = if (j - 1) % 2 == 0 { 1.0 } else { -1.0 };
                num += (lr * sq_prev * z.conj()).re / w.nv;
            }
            den += (k2 - 1) as f64 * w.amp.norm_sqr() * d_mod * b_mod * ts / w.nv;
            if update {
                w.track(z / (b_mod * ts), cfg);
            }
        }
        if den > 0.0 {
            (num / den).clamp(-0.5 * ts, 0.5 * ts)
        } else {
            0.0
        }
    }

    /// Processes the captures `ys` of one tag transmission at one or more
    /// sites (all laid out as `cap`, time-aligned), filling one [`SiteSoft`]
    /// per site. The sites share the tag's timing: acquisition adds their
    /// normalised preamble correlations, and one timing loop is driven by all
    /// of them; amplitude and phase are tracked per site.
    pub fn receive(
        &mut self,
        ys: &[&[Complex32]],
        cap: &CaptureLayout,
        softs: &mut [SiteSoft],
    ) -> Result<(), D2rError> {
        if ys.len() != softs.len() || ys.is_empty() {
            return Err(D2rError::Length {
                what: "site soft outputs",
                got: softs.len(),
                expected: ys.len(),
            });
        }
        for y in ys {
            if y.len() != cap.len || cap.guard < 8 {
                return Err(D2rError::Length {
                    what: "capture",
                    got: y.len(),
                    expected: cap.len,
                });
            }
        }
        for s in softs.iter() {
            if s.llr.len() != self.layout.coded_bits {
                return Err(D2rError::Length {
                    what: "site LLRs",
                    got: s.llr.len(),
                    expected: self.layout.coded_bits,
                });
            }
        }
        let cfg = self.cfg;
        let ns = ys.len();
        if self.sites.len() < ns {
            self.sites.resize_with(ns, SiteWork::default);
        }
        self.sites.truncate(ns);
        for (i, y) in ys.iter().enumerate() {
            self.prepare(i, y, cap.guard);
        }
        // 3. Joint acquisition over clock rate and start.
        let ts0 = cfg.samples_per_subchip;
        let np = self.template.len() as f64;
        let step = 1.0 / (2.0 * np);
        let max_eps = cfg.max_ppm * 1e-6;
        let nr = (max_eps / step).ceil() as i64;
        let t_step = (ts0 / 4.0).max(0.5);
        let nt = (cap.window as f64 / t_step).floor() as i64;
        let g = cap.guard as f64;
        let (mut best, mut be, mut bt) = (-1.0, 0.0, g);
        let mut hyps = 0usize;
        for r in -nr..=nr {
            let eps = (r as f64 * step).clamp(-max_eps, max_eps);
            let ts = ts0 * (1.0 + eps);
            for ti in 0..=nt {
                let t0 = g + ti as f64 * t_step;
                let m = self.joint_metric(t0, ts);
                hyps += 1;
                if m > best {
                    (best, be, bt) = (m, eps, t0);
                }
            }
        }
        let (ce, ct) = (be, bt);
        for r in -4..=4 {
            let eps = ce + r as f64 * step / 8.0;
            for ti in -4..=4 {
                let t0 = ct + ti as f64 * t_step / 8.0;
                let m = self.joint_metric(t0, ts0 * (1.0 + eps));
                if m > best {
                    (best, be, bt) = (m, eps, t0);
                }
            }
        }
        let mut ts = ts0 * (1.0 + be);
        self.joint_metric(bt, ts);
        // Threshold: the best of `hyps` Gamma(ns, 1) variables exceeds it with prob. P_FA.
        let target = P_FA / hyps as f64;
        let (mut lo, mut hi) = (0.0, 200.0 + 10.0 * ns as f64);
        for _ in 0..60 {
            let m = 0.5 * (lo + hi);
            if gamma_tail(ns, m) > target {
                lo = m;
            } else {
                hi = m;
            }
        }
        let detected = best > hi;
        let a_gain = match cfg.modulation {
            D2rModulation::Bpsk => 1.0,
            D2rModulation::Ook => 0.5,
        };
        let mut use_site = [false; 64];
        let mut snr_sum = 0.0;
        for (i, (w, soft)) in self.sites.iter_mut().zip(softs.iter_mut()).enumerate() {
            w.amp = w.corr / (ts * self.eq * a_gain);
            w.amp0 = w.amp;
            let m = w.corr.norm_sqr() / (w.nv * ts * self.eq);
            soft.metric = m as f32;
            soft.noise_var = w.nv as f32;
            soft.start = bt;
            soft.detected = detected && m > SITE_METRIC_MIN;
            soft.llr.iter_mut().for_each(|l| *l = 0.0);
            if i < use_site.len() {
                use_site[i] = soft.detected;
            }
            if soft.detected {
                snr_sum += w.amp.norm_sqr() / w.nv;
            }
        }
        // 4-5. Common timing loop; per-site amplitude/phase and chip detection.
        let k = cfg.subcarrier_cycles as usize;
        let k2 = 2 * k;
        let (d_mod, b_mod) = match cfg.modulation {
            D2rModulation::Bpsk => (2.0, k2 as f64),
            D2rModulation::Ook => (1.0, k as f64),
        };
        // Loop gain from the measurement noise of the timing detector,
        // var ≈ ts / (2 (2k−1) d² γ), against the clock's jitter random walk per
        // chip, 2k (jitter·ts)², for the jitter the reader is built for.
        let r_meas = ts / (2.0 * (k2 - 1) as f64 * d_mod * d_mod * snr_sum.max(1e-9));
        let q_proc = k2 as f64 * (cfg.max_jitter * ts).powi(2);
        let alpha = (q_proc / r_meas).sqrt().clamp(ALPHA_MIN, ALPHA_MAX);
        let beta = alpha * alpha / 2.0;
        let ts_lo = ts0 * (1.0 - max_eps - 0.05);
        let ts_hi = ts0 * (1.0 + max_eps + 0.05);
        let any = use_site.iter().any(|&u| u);
        let nc = if any { self.layout.data_chips } else { 0 };
        self.times.clear();
        self.times.resize(nc + 1, 0.0);
        // Forward pass of the loop, recording each chip's start.
        let mut t = bt + self.template.len() as f64 * ts;
        for ci in 0..nc {
            self.times[ci] = t;
            let delta = self.ted(t, ts, &use_site, d_mod, b_mod, true);
            ts = (ts + beta * delta / k2 as f64).clamp(ts_lo, ts_hi);
            t += k2 as f64 * ts + alpha * delta;
        }
        self.times[nc] = t;
        // Backward pass from the end; the smoothed timing averages both
        // (fixed-interval smoothing halves the noise and cancels the loop's lag).
        if nc > 0 {
            let mut tb = t;
            for ci in (0..nc).rev() {
                tb -= k2 as f64 * ts;
                let delta = self.ted(tb, ts, &use_site, d_mod, b_mod, false);
                ts = (ts - beta * delta / k2 as f64).clamp(ts_lo, ts_hi);
                tb += alpha * delta;
                self.times[ci] = 0.5 * (self.times[ci] + tb);
            }
        }
        // Detection at the smoothed chip times.
        for w in self.sites.iter_mut() {
            w.amp = w.amp0;
        }
        for ci in 0..nc {
            let t = self.times[ci];
            let tsc = (self.times[ci + 1] - t) / k2 as f64;
            for (si, w) in self.sites.iter_mut().enumerate() {
                if !use_site.get(si).copied().unwrap_or(false) {
                    continue;
                }
                let z = w.demod(t, tsc, k2);
                let s = z / (b_mod * tsc);
                let var_s = w.nv * k2 as f64 * tsc / (b_mod * tsc).powi(2);
                let amp = w.amp;
                let proj = (s * amp.conj()).re;
                w.chip[ci] = match (cfg.detection, cfg.modulation) {
                    (Detection::NonCoherent, _) => (z.norm_sqr() / (w.nv * k2 as f64 * tsc)) as f32,
                    (_, D2rModulation::Bpsk) => (4.0 * proj / var_s) as f32,
                    (_, D2rModulation::Ook) => ((2.0 * proj - amp.norm_sqr()) / var_s) as f32,
                };
                w.track(s, cfg);
            }
        }
        let ts = if nc > 0 {
            (self.times[nc] - self.times[0]) / (nc * k2) as f64
        } else {
            ts
        };
        // 6. Per-site line decoding and repetition combining.
        for (si, (w, soft)) in self.sites.iter().zip(softs.iter_mut()).enumerate() {
            soft.amplitude = Complex32::new(w.amp.re as f32, w.amp.im as f32);
            soft.snr_db = (10.0 * (w.amp.norm_sqr() / w.nv).log10()) as f32;
            soft.ppm = (ts / ts0 - 1.0) * 1e6;
            if !use_site.get(si).copied().unwrap_or(false) {
                continue;
            }
            match cfg.detection {
                Detection::Coherent => cfg.line_code.decode_soft_into(&w.chip, &mut self.bit_llr),
                Detection::NonCoherent => {
                    // Manchester OOK: bit 0 = ON OFF, so compare the two chip energies.
                    for (c, l) in w.chip.chunks_exact(2).zip(self.bit_llr.iter_mut()) {
                        *l = c[0] - c[1];
                    }
                }
            }
            for rep in self.bit_llr.chunks_exact(self.layout.coded_bits) {
                for (o, &l) in soft.llr.iter_mut().zip(rep) {
                    *o += l;
                }
            }
        }
        Ok(())
    }

    /// Combines the LLRs of every detected site, decodes and checks the CRC.
    /// `info` receives the decoded information bits even when the CRC fails
    /// (failure keeps its data).
    pub fn decode(&mut self, sites: &[&SiteSoft], info: &mut [u8]) -> Result<D2rOutcome, D2rError> {
        if info.len() != self.layout.info_bits {
            return Err(D2rError::Length {
                what: "info bits",
                got: info.len(),
                expected: self.layout.info_bits,
            });
        }
        self.coded.iter_mut().for_each(|l| *l = 0.0);
        let mut used = 0;
        for s in sites.iter().filter(|s| s.detected) {
            if s.llr.len() != self.coded.len() {
                return Err(D2rError::Length {
                    what: "site LLRs",
                    got: s.llr.len(),
                    expected: self.coded.len(),
                });
            }
            used += 1;
            for (o, &l) in self.coded.iter_mut().zip(&s.llr) {
                *o += l;
            }
        }
        match self.cfg.coding {
            Some(r) => {
                self.viterbi
                    .decode(&self.coded, r, &mut self.payload)
                    .expect("planned for this layout");
            }
            None => {
                for (b, &l) in self.payload.iter_mut().zip(&self.coded) {
                    *b = (l < 0.0) as u8;
                }
            }
        }
        info.copy_from_slice(&self.payload[..self.layout.info_bits]);
        Ok(D2rOutcome {
            crc_ok: used > 0 && self.crc.check(&self.payload),
            sites: used,
        })
    }
}

#[cfg(test)]
mod tests;
