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
//!    beyond the first and last).
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

use crate::grid::ResourceGrid;
use crate::numerology::Numerology;
use crate::pdu::DmrsType;
use crate::refsig::dmrs::{port_params, re_offset, DmrsParams, MAX_DMRS_PORTS};
use num_complex::{Complex32, Complex64};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// How DM-RS positions combine over time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeMode {
    /// One estimate for the slot (low Doppler), CFO phase tracked per symbol.
    Average,
    /// Linear interpolation between DM-RS positions.
    Interpolate,
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
            time: TimeMode::Average,
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

/// The channel estimate of one slot, with its quality figures.
#[derive(Debug, Clone)]
pub struct ChannelEstimate {
    n_rx: usize,
    n_layers: usize,
    n_sc: usize,
    n_pos: usize,
    /// Per position i: `h[i][(rx·L + layer)·n_sc + k]` (one buffer per
    /// position, exchanged with the estimator's work buffers, not copied).
    h: [Vec<Complex32>; 4],
    /// Time average (Average mode) in the same per-position layout.
    h_avg: Vec<Complex32>,
    /// Centre symbol (l̄ + (L'−1)/2) and its time in seconds, per position.
    pos_symbol: [f64; 4],
    pos_time: [f64; 4],
    /// Symbol start times (seconds) for CFO tracking.
    symbol_time: [f64; 14],
    mode: TimeMode,
    track_cfo: bool,
    noise_var_rx: Vec<f32>,
    signal_layer: Vec<f32>,
    noise_var: f32,
    timing_offset_s: f64,
    cfo_hz: Option<f64>,
    erased_dmrs: u32,
}

impl ChannelEstimate {
    /// Storage for up to `max_rx` antennas, `max_layers` layers and `max_prb` PRBs.
    pub fn new(max_rx: usize, max_layers: usize, max_prb: usize) -> Self {
        let len = max_rx * max_layers * 12 * max_prb;
        ChannelEstimate {
            n_rx: 0,
            n_layers: 0,
            n_sc: 0,
            n_pos: 0,
            h: std::array::from_fn(|_| vec![Complex32::default(); len]),
            h_avg: vec![Complex32::default(); len],
            pos_symbol: [0.0; 4],
            pos_time: [0.0; 4],
            symbol_time: [0.0; 14],
            mode: TimeMode::Average,
            track_cfo: false,
            noise_var_rx: vec![0.0; max_rx],
            signal_layer: vec![0.0; max_layers],
            noise_var: 0.0,
            timing_offset_s: 0.0,
            cfo_hz: None,
            erased_dmrs: 0,
        }
    }

    fn stride(&self) -> usize {
        self.n_rx * self.n_layers * self.n_sc
    }

    /// Receive antennas.
    pub fn n_rx(&self) -> usize {
        self.n_rx
    }

    /// Layers.
    pub fn n_layers(&self) -> usize {
        self.n_layers
    }

    /// Allocated subcarriers.
    pub fn n_sc(&self) -> usize {
        self.n_sc
    }

    /// Number of DM-RS positions.
    pub fn n_positions(&self) -> usize {
        self.n_pos
    }

    /// The estimate at DM-RS position `i`: `[(rx·L + layer)·n_sc + k]`.
    pub fn position(&self, i: usize) -> &[Complex32] {
        &self.h[i][..self.stride()]
    }

    /// The phase e^{j2π·CFO·(t_l − t̄)} the estimated CFO adds to symbol `l`
    /// relative to the stored slot average (Average mode with CFO tracking),
    /// or None when symbol `l`'s channel needs no rotation.
    pub fn symbol_phase(&self, l: usize) -> Option<Complex32> {
        match (self.mode, self.cfo_hz) {
            (TimeMode::Average, Some(cfo)) if self.track_cfo && cfo != 0.0 => {
                // Phase relative to the positions' mean time, which the average is centred on.
                let t0 = self.pos_time[..self.n_pos].iter().sum::<f64>() / self.n_pos as f64;
                let ph = std::f64::consts::TAU * cfo * (self.symbol_time[l.min(13)] - t0);
                Some(Complex32::from_polar(1.0, ph as f32))
            }
            _ => None,
        }
    }

    /// The channel of symbol `l` up to a common phase: (H, r) with the
    /// channel r·H. In Average mode H is the stored average (no copy, no
    /// per-RE work) and r the CFO phase of the symbol, which a linear
    /// detector can apply to its outputs instead (x = r·s gives s = r*·x,
    /// the noise variance is unchanged); otherwise as
    /// [`ChannelEstimate::symbol_channel`] with r = 1.
    pub fn symbol_channel_phase<'a>(
        &'a self,
        l: usize,
        buf: &'a mut [Complex32],
    ) -> (&'a [Complex32], Complex32) {
        match self.mode {
            TimeMode::Average => (
                &self.h_avg[..self.stride()],
                self.symbol_phase(l).unwrap_or(Complex32::new(1.0, 0.0)),
            ),
            TimeMode::Interpolate => (self.symbol_channel(l, buf), Complex32::new(1.0, 0.0)),
        }
    }

    /// The channel for symbol `l`, in the detector's layout. Returns the
    /// stored average when no per-symbol work is needed, else fills `buf`
    /// (at least `n_rx·n_layers·n_sc` long) and returns it.
    pub fn symbol_channel<'a>(&'a self, l: usize, buf: &'a mut [Complex32]) -> &'a [Complex32] {
        let s = self.stride();
        match self.mode {
            TimeMode::Average => {
                let avg = &self.h_avg[..s];
                match self.symbol_phase(l) {
                    Some(r) => {
                        for (b, a) in buf[..s].iter_mut().zip(avg) {
                            *b = a * r;
                        }
                        &buf[..s]
                    }
                    None => avg,
                }
            }
            TimeMode::Interpolate => {
                let lf = l as f64;
                let p = &self.pos_symbol[..self.n_pos];
                if self.n_pos == 1 || lf <= p[0] {
                    return self.position(0);
                }
                if lf >= p[self.n_pos - 1] {
                    return self.position(self.n_pos - 1);
                }
                let i = p.iter().rposition(|&x| x <= lf).unwrap_or(0);
                let w = ((lf - p[i]) / (p[i + 1] - p[i])) as f32;
                let (a, b) = (self.position(i), self.position(i + 1));
                for ((o, x), y) in buf[..s].iter_mut().zip(a).zip(b) {
                    *o = x * (1.0 - w) + y * w;
                }
                &buf[..s]
            }
        }
    }

    /// Noise variance σ² per RE (mean over antennas), relative to unit-power data.
    pub fn noise_var(&self) -> f32 {
        self.noise_var
    }

    /// σ² of each antenna.
    pub fn noise_var_rx(&self) -> &[f32] {
        &self.noise_var_rx[..self.n_rx]
    }

    /// Per-layer SNR before detection, mean over antennas and subcarriers of
    /// |h|²/σ², in dB, clamped to ±100 dB (−100 for a silent channel).
    pub fn sinr_db(&self, layer: usize) -> f32 {
        let s = self.signal_layer[layer];
        let n = self.noise_var;
        if s <= 0.0 {
            return -100.0;
        }
        if n <= 0.0 {
            return 100.0;
        }
        (10.0 * (s / n).log10()).clamp(-100.0, 100.0)
    }

    /// Estimated timing offset τ in seconds (positive: the signal arrives late).
    pub fn timing_offset_s(&self) -> f64 {
        self.timing_offset_s
    }

    /// Estimated CFO in Hz from the DM-RS, when there are at least two positions.
    pub fn cfo_hz(&self) -> Option<f64> {
        self.cfo_hz
    }

    /// DM-RS REs (over antennas) received as NaN or infinite and left out.
    pub fn erased_dmrs_res(&self) -> u32 {
        self.erased_dmrs
    }
}

/// Replaces each non-finite LS value of `z` (one k' of one symbol, pairs in
/// frequency order) by the previous finite one (the first finite one before
/// any), or 0 when none is finite; returns how many were replaced. One
/// branch-free scan when all are finite.
fn erase_non_finite(z: &mut [Complex32]) -> u32 {
    let finite = |v: &Complex32| v.re.is_finite() & v.im.is_finite();
    if z.iter().fold(true, |ok, v| ok & finite(v)) {
        return 0;
    }
    let mut held = z.iter().copied().find(finite).unwrap_or_default();
    let mut erased = 0;
    for v in z.iter_mut() {
        if finite(v) {
            held = *v;
        } else {
            *v = held;
            erased += 1;
        }
    }
    erased
}

/// The work of one DM-RS position between the estimator's steps: its own
/// sequence scratch, LS values, pair estimates, delay ramp, interpolated
/// channel and signal-power partial sums, so that the positions of a slot
/// can be estimated at the same time on different threads.
struct PositionWork {
    /// Sequences of the position's symbols (l' = 0, 1).
    seq: [Vec<Complex32>; 2],
    /// LS values Y·r*: `[rx][group][l'][k'][pair]`.
    z: Vec<Complex32>,
    /// Pair estimates: `[rx][layer][pair]`.
    pairs: Vec<Complex32>,
    /// Delay ramp over the allocation.
    ramp: Vec<Complex32>,
    /// The interpolated channel `[(rx·L + layer)·n_sc + k]`, handed to the
    /// estimate by [`ChannelEstimator::combine`].
    h: Vec<Complex32>,
    /// Σ|h|² per `[rx][layer]` after the ramp.
    power: Vec<f64>,
    /// Non-finite DM-RS REs of the position (erased from `z`).
    erased: u32,
}

/// The DM-RS channel estimator: sizes fixed at construction, no allocation per slot.
///
/// One slot's estimate is made in steps a pipeline can run as separate
/// tasks ([`ChannelEstimator::estimate`] runs them in order):
/// 1. [`ChannelEstimator::estimate_position`] per DM-RS position: LS and the
///    position's timing correlation;
/// 2. [`ChannelEstimator::interpolate_position`] per position, after step 1
///    of every position (the delay is pooled over positions): delay
///    de-rotation, CDM despreading, frequency interpolation and the ramp;
/// 3. [`ChannelEstimator::combine`] once: noise, CFO, time averaging and
///    the per-layer SNR into the [`ChannelEstimate`].
///
/// Steps 1 and 2 take `&self` and may run for different positions at once
/// (each position's buffers sit behind their own lock, uncontended when
/// every position has one task); the result does not depend on the order.
pub struct ChannelEstimator {
    opts: ChestOptions,
    max_rx: usize,
    max_layers: usize,
    max_prb: usize,
    work: [Mutex<PositionWork>; 4],
    /// Timing correlation per position (f64 re, im bits), written by step 1.
    corr: [[AtomicU64; 2]; 4],
}

impl ChannelEstimator {
    /// An estimator for up to `max_rx` antennas, `max_layers` layers and `max_prb` PRBs.
    pub fn new(max_rx: usize, max_layers: usize, max_prb: usize, opts: ChestOptions) -> Self {
        let n_ref = 6 * max_prb;
        let max_layers = max_layers.min(MAX_DMRS_PORTS);
        ChannelEstimator {
            opts,
            max_rx,
            max_layers,
            max_prb,
            work: std::array::from_fn(|_| {
                Mutex::new(PositionWork {
                    seq: [
                        vec![Complex32::default(); n_ref],
                        vec![Complex32::default(); n_ref],
                    ],
                    // 3 CDM groups × 2 symbols × 2 REs per pair × 3 pairs per PRB.
                    z: vec![Complex32::default(); max_rx * 3 * 2 * 2 * 3 * max_prb],
                    pairs: vec![Complex32::default(); max_rx * max_layers * 3 * max_prb],
                    ramp: vec![Complex32::default(); 12 * max_prb],
                    h: vec![Complex32::default(); max_rx * max_layers * 12 * max_prb],
                    power: vec![0.0; max_rx * max_layers],
                    erased: 0,
                })
            }),
            corr: std::array::from_fn(|_| [AtomicU64::new(0), AtomicU64::new(0)]),
        }
    }

    /// The options.
    pub fn options(&self) -> ChestOptions {
        self.opts
    }

    /// A [`ChannelEstimate`] sized for this estimator.
    pub fn new_estimate(&self) -> ChannelEstimate {
        ChannelEstimate::new(self.max_rx, self.max_layers, self.max_prb)
    }

    /// Checks a request (antennas of `grid`, the DM-RS `p`, the storage of
    /// `out`) against the estimator's sizes, before the split steps: they
    /// assume a checked request.
    pub fn check(
        &self,
        grid: &ResourceGrid,
        p: &DmrsParams,
        out: &ChannelEstimate,
    ) -> Result<(), ChestError> {
        let too = |what, got, max| Err(ChestError::TooLarge { what, got, max });
        if grid.ports() > self.max_rx {
            return too("receive antennas", grid.ports(), self.max_rx);
        }
        if p.n_ports > self.max_layers {
            return too("layers", p.n_ports, self.max_layers);
        }
        if p.n_prb > self.max_prb {
            return too("PRBs", p.n_prb, self.max_prb);
        }
        if p.symbols.positions().len() > 4 {
            return too("DM-RS positions", p.symbols.positions().len(), 4);
        }
        if out.noise_var_rx.len() < grid.ports()
            || out.signal_layer.len() < p.n_ports
            || out.h_avg.len() < grid.ports() * p.n_ports * 12 * p.n_prb
        {
            return Err(ChestError::Grid(
                "estimate storage too small for this request".into(),
            ));
        }
        if 12 * (p.prb_start + p.n_prb) > grid.n_sc() {
            return Err(ChestError::Grid(format!(
                "PRBs {}..{} beyond the grid's {} subcarriers",
                p.prb_start,
                p.prb_start + p.n_prb,
                grid.n_sc()
            )));
        }
        if let Some((l, _, _)) = p.symbols.iter().find(|(l, _, _)| *l >= grid.symbols()) {
            return Err(ChestError::Grid(format!(
                "DM-RS symbol {l} beyond the grid's {} symbols",
                grid.symbols()
            )));
        }
        Ok(())
    }

    /// Step 1 for DM-RS position `pos` (after [`ChannelEstimator::check`]):
    /// least squares Y·r* on the REs of every CDM group in use, for every
    /// antenna, and the position's share of the timing correlation
    /// (TS 38.211 §6.4.1.1.3 gives r and the REs).
    pub fn estimate_position(&self, grid: &ResourceGrid, p: &DmrsParams, pos: usize) {
        let mut guard = lock(&self.work[pos]);
        let w = &mut *guard;
        let t = p.config_type;
        let n_pairs = p.seq_len() / 2;
        let l0 = p.symbols.positions()[pos] as usize;
        let len = p.symbols.length() as usize;
        let first = 2 * crate::refsig::dmrs::first_pair(t, p.prb_start);
        for lp in 0..len {
            crate::refsig::dmrs::dmrs_sequence(
                p.c_init(l0 + lp),
                first,
                &mut w.seq[lp][..2 * n_pairs],
            );
        }
        let (groups, n_groups) = groups_in_use(p);
        let n_rx = grid.ports();
        let base = 12 * p.prb_start;
        let mut corr = Complex64::new(0.0, 0.0);
        w.erased = 0;
        for rx in 0..n_rx {
            for (gi, &delta) in groups[..n_groups].iter().enumerate() {
                for lp in 0..len {
                    let y = &grid.symbol(rx, l0 + lp)[base..];
                    let seq = &w.seq[lp];
                    for kp in 0..2 {
                        let o = zidx(rx, gi, lp, kp, n_groups, len, n_pairs);
                        let z = &mut w.z[o..o + n_pairs];
                        for (n, v) in z.iter_mut().enumerate() {
                            *v = y[re_offset(t, n, kp, delta)] * seq[2 * n + kp].conj();
                        }
                        w.erased += erase_non_finite(z);
                        // Same k' in neighbouring pairs: the same CDM combination, D subcarriers apart.
                        let mut c = Complex32::default();
                        for w in z.windows(2) {
                            c += w[1] * w[0].conj();
                        }
                        corr += Complex64::new(c.re as f64, c.im as f64);
                    }
                }
            }
        }
        self.corr[pos][0].store(corr.re.to_bits(), Ordering::Release);
        self.corr[pos][1].store(corr.im.to_bits(), Ordering::Release);
    }

    /// The timing offset (seconds) from the phase step between pairs,
    /// pooled over the `n_pos` positions of step 1.
    fn timing_offset(&self, n_pos: usize, scs: f64, spacing: f64) -> f64 {
        let c = self.corr[..n_pos]
            .iter()
            .fold(Complex64::new(0.0, 0.0), |acc, c| {
                acc + Complex64::new(
                    f64::from_bits(c[0].load(Ordering::Acquire)),
                    f64::from_bits(c[1].load(Ordering::Acquire)),
                )
            });
        if c.norm_sqr() > 0.0 && c.norm_sqr().is_finite() {
            -c.arg() / (std::f64::consts::TAU * scs * spacing)
        } else {
            0.0
        }
    }

    /// Step 2 for DM-RS position `pos` of a request on `n_rx` antennas,
    /// after step 1 of every position: LS values de-rotated by the pooled
    /// delay (so the CDM cover sees a flat channel), CDM despreading with
    /// w_f·w_t (TS 38.211 Table 6.4.1.1.3-1/-2), linear frequency
    /// interpolation, the delay ramp put back, and the signal power.
    pub fn interpolate_position(&self, num: &Numerology, n_rx: usize, p: &DmrsParams, pos: usize) {
        let mut guard = lock(&self.work[pos]);
        let w = &mut *guard;
        let t = p.config_type;
        let n_pairs = p.seq_len() / 2;
        let n_pos = p.symbols.positions().len();
        let nl = p.n_ports;
        let n_sc = 12 * p.n_prb;
        let len = p.symbols.length() as usize;
        let spacing = spacing(t);
        let scs = num.scs().hz();
        let tau_est = self.timing_offset(n_pos, scs, spacing);
        let tau = if self.opts.timing_correction {
            tau_est
        } else {
            0.0
        };
        // De-rotate every LS value by exp(+j2πτΔf·k) (k from the allocation
        // start), so that the CDM cover sees a flat channel, then despread.
        let step = std::f64::consts::TAU * tau * scs;
        let (groups, n_groups) = groups_in_use(p);
        for rx in 0..n_rx {
            for (gi, &delta) in groups[..n_groups].iter().enumerate() {
                for lp in 0..len {
                    for kp in 0..2 {
                        let o = zidx(rx, gi, lp, kp, n_groups, len, n_pairs);
                        if tau != 0.0 {
                            let k0 = re_offset(t, 0, kp, delta) as f64;
                            crate::ofdm::rotate(
                                &mut w.z[o..o + n_pairs],
                                step * k0,
                                step * spacing,
                            );
                        }
                    }
                }
            }
            for (layer, &port) in p.ports().iter().enumerate() {
                let pp = port_params(t, port);
                let gi = groups[..n_groups]
                    .iter()
                    .position(|&d| d == pp.delta)
                    .unwrap_or(0);
                let norm = 1.0 / (2.0 * len as f32 * p.beta);
                let e = (rx * nl + layer) * n_pairs;
                w.pairs[e..e + n_pairs].fill(Complex32::default());
                for lp in 0..len {
                    for kp in 0..2 {
                        let wt = pp.w_f[kp] * pp.w_t[lp] * norm;
                        let o = zidx(rx, gi, lp, kp, n_groups, len, n_pairs);
                        let (pairs, z) = (&mut w.pairs[e..e + n_pairs], &w.z[o..o + n_pairs]);
                        for (d, v) in pairs.iter_mut().zip(z) {
                            *d += v * wt;
                        }
                    }
                }
            }
        }
        // Frequency interpolation, then in one pass over each interpolated
        // block the ramp back and the signal power.
        let ramp = &mut w.ramp[..n_sc];
        ramp.fill(Complex32::new(1.0, 0.0));
        if tau != 0.0 {
            crate::ofdm::rotate(ramp, 0.0, -step);
        }
        let centre0 =
            |delta: u8| (re_offset(t, 0, 0, delta) + re_offset(t, 0, 1, delta)) as f64 / 2.0;
        for rx in 0..n_rx {
            for layer in 0..nl {
                let d = port_params(t, p.ports[layer]).delta;
                let ao = (rx * nl + layer) * n_sc;
                let e = (rx * nl + layer) * n_pairs;
                let h = &mut w.h[ao..ao + n_sc];
                interpolate(&w.pairs[e..e + n_pairs], centre0(d), spacing, h);
                w.power[rx * nl + layer] = ramp_power(h, &w.ramp[..n_sc]);
            }
        }
    }

    /// Step 3, once per slot after step 2 of every position: the timing
    /// offset, noise variance, CFO, the positions' channels into `out`, the
    /// time average (Average mode) and the per-layer SNR.
    pub fn combine(
        &mut self,
        num: &Numerology,
        n_rx: usize,
        p: &DmrsParams,
        out: &mut ChannelEstimate,
    ) {
        let t = p.config_type;
        let n_pairs = p.seq_len() / 2;
        let n_pos = p.symbols.positions().len();
        let nl = p.n_ports;
        let n_sc = 12 * p.n_prb;
        let len = p.symbols.length() as usize;
        let spacing = spacing(t);
        let scs = num.scs().hz();
        out.n_rx = n_rx;
        out.n_layers = nl;
        out.n_sc = n_sc;
        out.n_pos = n_pos;
        out.mode = self.opts.time;
        out.track_cfo = self.opts.cfo_correction;
        for l in 0..14.min(num.symbols_per_slot()) {
            out.symbol_time[l] = num.symbol_time_s(p.slot, l);
        }
        for (i, &l) in p.symbols.positions().iter().enumerate() {
            out.pos_symbol[i] = l as f64 + (len as f64 - 1.0) / 2.0;
            let t0 = num.symbol_time_s(p.slot, l as usize);
            let t1 = num.symbol_time_s(p.slot, l as usize + len - 1);
            out.pos_time[i] = 0.5 * (t0 + t1);
        }
        out.timing_offset_s = self.timing_offset(n_pos, scs, spacing);
        out.erased_dmrs = self.work[..n_pos]
            .iter_mut()
            .map(|m| m.get_mut().unwrap_or_else(|e| e.into_inner()).erased)
            .sum();
        let work = self
            .work
            .each_mut()
            .map(|m| m.get_mut().unwrap_or_else(|e| e.into_inner()));
        let block = |rx: usize, layer: usize| (rx * nl + layer) * n_pairs;

        // Noise from the second difference; CFO from consecutive positions.
        let scale = 2.0 * len as f32 * p.beta * p.beta / 1.5;
        for rx in 0..n_rx {
            let mut acc = 0.0f64;
            let mut cnt = 0usize;
            for w in &work[..n_pos] {
                for layer in 0..nl {
                    let b = &w.pairs[block(rx, layer)..][..n_pairs];
                    for w in b.windows(3) {
                        acc += (w[1] - (w[0] + w[2]) * 0.5).norm_sqr() as f64;
                        cnt += 1;
                    }
                }
            }
            out.noise_var_rx[rx] = if cnt > 0 {
                (acc / cnt as f64) as f32 * scale
            } else {
                0.0
            };
        }
        out.noise_var = out.noise_var_rx[..n_rx].iter().sum::<f32>() / n_rx.max(1) as f32;
        out.cfo_hz = None;
        if n_pos >= 2 {
            let (mut num_acc, mut den) = (0.0f64, 0.0f64);
            for pos in 0..n_pos - 1 {
                let mut c = Complex64::new(0.0, 0.0);
                for rx in 0..n_rx {
                    for layer in 0..nl {
                        let a = &work[pos].pairs[block(rx, layer)..][..n_pairs];
                        let b = &work[pos + 1].pairs[block(rx, layer)..][..n_pairs];
                        let mut s = Complex32::default();
                        for (x, y) in a.iter().zip(b) {
                            s += y * x.conj();
                        }
                        c += Complex64::new(s.re as f64, s.im as f64);
                    }
                }
                let dt = out.pos_time[pos + 1] - out.pos_time[pos];
                if c.norm_sqr() > 0.0 && c.norm_sqr().is_finite() && dt > 0.0 {
                    let w = c.norm();
                    num_acc += w * c.arg() / (std::f64::consts::TAU * dt);
                    den += w;
                }
            }
            out.cfo_hz = Some(if den > 0.0 { num_acc / den } else { 0.0 });
        }

        // The positions' channels into the estimate (buffers exchanged, not
        // copied, when they are the same size), then the time average.
        let stride = n_rx * nl * n_sc;
        for (w, h) in work.into_iter().zip(out.h.iter_mut()).take(n_pos) {
            if w.h.len() == h.len() {
                std::mem::swap(&mut w.h, h);
            } else {
                h[..stride].copy_from_slice(&w.h[..stride]);
            }
        }
        let average = self.opts.time == TimeMode::Average;
        let cfo = if self.opts.cfo_correction {
            out.cfo_hz.unwrap_or(0.0)
        } else {
            0.0
        };
        let t0 = out.pos_time[..n_pos].iter().sum::<f64>() / n_pos as f64;
        let mut power = [0.0f64; MAX_DMRS_PORTS];
        let work = self
            .work
            .each_mut()
            .map(|m| m.get_mut().unwrap_or_else(|e| e.into_inner()));
        for rx in 0..n_rx {
            for (layer, pw) in power.iter_mut().enumerate().take(nl) {
                let ao = (rx * nl + layer) * n_sc;
                for (pos, w) in work.iter().enumerate().take(n_pos) {
                    if average {
                        // The CFO phase of the position relative to the positions' mean time.
                        let ph = -std::f64::consts::TAU * cfo * (out.pos_time[pos] - t0);
                        let w = Complex32::from_polar(1.0 / n_pos as f32, ph as f32);
                        let (h, avg) = (&out.h[pos][ao..ao + n_sc], &mut out.h_avg[ao..ao + n_sc]);
                        accumulate(avg, h, w, pos == 0);
                    }
                    *pw += w.power[rx * nl + layer];
                }
            }
        }
        for (layer, &s) in power.iter().enumerate().take(nl) {
            let mean = s / (n_pos * n_rx * n_sc).max(1) as f64;
            // Remove the noise the estimate itself carries (σ²/(2L'β²) per pair).
            let bias = out.noise_var as f64 / (2.0 * len as f64 * (p.beta * p.beta) as f64);
            out.signal_layer[layer] = (mean - bias).max(0.0) as f32;
        }
    }

    /// Steps 2 and 3 (every position, then [`ChannelEstimator::combine`]),
    /// after [`ChannelEstimator::estimate_position`] ran for every position.
    pub fn finish(
        &mut self,
        num: &Numerology,
        n_rx: usize,
        p: &DmrsParams,
        out: &mut ChannelEstimate,
    ) {
        for pos in 0..p.symbols.positions().len() {
            self.interpolate_position(num, n_rx, p, pos);
        }
        self.combine(num, n_rx, p, out);
    }

    /// The whole estimate for one slot: [`ChannelEstimator::check`], every
    /// position, then [`ChannelEstimator::finish`]. `grid` holds the
    /// received slot (ports = antennas, whole carrier).
    pub fn estimate(
        &mut self,
        num: &Numerology,
        grid: &ResourceGrid,
        p: &DmrsParams,
        out: &mut ChannelEstimate,
    ) -> Result<(), ChestError> {
        self.check(grid, p, out)?;
        for pos in 0..p.symbols.positions().len() {
            self.estimate_position(grid, p, pos);
        }
        self.finish(num, grid.ports(), p, out);
        Ok(())
    }
}

/// A position's work buffers (a poisoned lock only means another task
/// panicked; the buffers are rewritten before they are read).
fn lock(m: &Mutex<PositionWork>) -> std::sync::MutexGuard<'_, PositionWork> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Subcarriers between neighbouring DM-RS pairs of one CDM group.
fn spacing(t: DmrsType) -> f64 {
    match t {
        DmrsType::Type1 => 4.0,
        DmrsType::Type2 => 6.0,
    }
}

/// Distinct CDM groups of the layers, as their Δ, in first-use order.
fn groups_in_use(p: &DmrsParams) -> ([u8; 3], usize) {
    let mut g = [0u8; 3];
    let mut n = 0;
    for &port in p.ports() {
        let d = port_params(p.config_type, port).delta;
        if !g[..n].contains(&d) && n < 3 {
            g[n] = d;
            n += 1;
        }
    }
    (g, n)
}

#[inline]
fn zidx(
    rx: usize,
    gi: usize,
    lp: usize,
    kp: usize,
    n_groups: usize,
    len: usize,
    n_pairs: usize,
) -> usize {
    (((rx * n_groups + gi) * len + lp) * 2 + kp) * n_pairs
}

/// h ← h·ramp; returns Σ|h|² (after the ramp), f32 partial sums in 8 lanes.
fn ramp_power(h: &mut [Complex32], ramp: &[Complex32]) -> f64 {
    let mut acc = [0.0f32; 8];
    let n = h.len().min(ramp.len());
    let (h, ramp) = (&mut h[..n], &ramp[..n]);
    for (i, (v, r)) in h.iter_mut().zip(ramp).enumerate() {
        *v *= r;
        acc[i % 8] += v.norm_sqr();
    }
    acc.iter().map(|&x| x as f64).sum()
}

/// The time average: a ← h·w (first position) or a ← a + h·w.
fn accumulate(a: &mut [Complex32], h: &[Complex32], w: Complex32, first: bool) {
    for (a, v) in a.iter_mut().zip(h) {
        *a = if first { *v * w } else { *a + *v * w };
    }
}

/// Linear interpolation of pair estimates `b` (centres at `c0 + n·d`) onto
/// subcarriers 0..h.len(), held flat outside the first and last centre.
/// Segment by segment: the weights are one multiply each, no division or
/// f64 per subcarrier.
fn interpolate(b: &[Complex32], c0: f64, d: f64, h: &mut [Complex32]) {
    let n = b.len();
    let len = h.len();
    if n == 0 {
        h.fill(Complex32::default());
        return;
    }
    // First subcarrier strictly beyond centre x (k > x), within 0..=len.
    let after = |x: f64| ((x.floor() + 1.0).max(0.0) as usize).min(len);
    let head = after(c0);
    h[..head].fill(b[0]);
    let inv = (1.0 / d) as f32;
    for seg in 0..n - 1 {
        let cs = c0 + seg as f64 * d;
        let (ks, ke) = (after(cs), after(cs + d));
        let (a, z) = (b[seg], b[seg + 1]);
        for (k, v) in h[ks..ke].iter_mut().enumerate() {
            let w = ((ks + k) as f64 - cs) as f32 * inv;
            *v = a * (1.0 - w) + z * w;
        }
    }
    let tail = after(c0 + (n - 1) as f64 * d).max(head);
    h[tail..].fill(b[n - 1]);
}

/// Applies a delay of `tau` seconds to one symbol's subcarriers (k = 0 at
/// `k0` from the reference subcarrier): X(k) ← X(k)·exp(−j2π(k0+k)Δf·τ).
/// With a negative `tau` this removes an estimated timing offset.
pub fn apply_delay(x: &mut [Complex32], k0: usize, tau: f64, scs_hz: f64) {
    let step = -std::f64::consts::TAU * tau * scs_hz;
    crate::ofdm::rotate(x, step * k0 as f64, step);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The per-subcarrier definition [`interpolate`] is written against.
    fn interpolate_reference(b: &[Complex32], c0: f64, d: f64, h: &mut [Complex32]) {
        let n = b.len();
        for (k, v) in h.iter_mut().enumerate() {
            let x = (k as f64 - c0) / d;
            *v = if x <= 0.0 {
                b[0]
            } else if x >= (n - 1) as f64 {
                b[n - 1]
            } else {
                let i = x as usize;
                let w = (x - i as f64) as f32;
                b[i] * (1.0 - w) + b[i + 1] * w
            };
        }
    }

    #[test]
    fn segment_interpolation_matches_the_definition() {
        let mut r = Rng(3);
        for (n, c0, d, len) in [
            (1usize, 1.0, 4.0, 12usize),
            (3, 1.0, 4.0, 12),
            (3, 2.0, 4.0, 12),
            (2, 0.5, 6.0, 12),
            (819, 1.0, 4.0, 3276),
            (546, 3.5, 6.0, 3276),
            (5, 30.0, 4.0, 12),
        ] {
            let b: Vec<Complex32> = (0..n).map(|_| r.cn(1.0)).collect();
            let (mut a, mut e) = (
                vec![Complex32::default(); len],
                vec![Complex32::default(); len],
            );
            interpolate(&b, c0, d, &mut a);
            interpolate_reference(&b, c0, d, &mut e);
            for (k, (x, y)) in a.iter().zip(&e).enumerate() {
                assert!(
                    (x - y).norm() < 1e-5,
                    "n {n} c0 {c0} d {d} k {k}: {x} vs {y}"
                );
            }
        }
    }
    use crate::numerology::{CyclicPrefix, Scs};
    use crate::pdu::DmrsConfig;
    use crate::refsig::dmrs::{DmrsLink, MappingType};

    struct Rng(u64);
    impl Rng {
        fn u(&mut self) -> f64 {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((self.0 >> 11) as f64 + 0.5) / (1u64 << 53) as f64
        }
        /// CN(0, var).
        fn cn(&mut self, var: f64) -> Complex32 {
            let r = (-var * self.u().ln()).sqrt();
            let ph = std::f64::consts::TAU * self.u();
            Complex32::new((r * ph.cos()) as f32, (r * ph.sin()) as f32)
        }
    }

    fn params(
        t: DmrsType,
        ports: Vec<u8>,
        add: u8,
        len: u8,
        prb_start: usize,
        n_prb: usize,
    ) -> DmrsParams {
        let cfg = DmrsConfig {
            config_type: t,
            type_a_position: 2,
            additional_position: add,
            length: len,
            ports: crate::pdu::DmrsPorts::new(&ports).expect("at most 8 ports"),
            cdm_groups_without_data: 2,
            scrambling_id: 77,
            n_scid: 0,
        };
        DmrsParams::new(
            DmrsLink::Pusch,
            MappingType::A,
            &cfg,
            3,
            0,
            14,
            prb_start,
            n_prb,
        )
        .unwrap()
    }

    /// Transmits the DM-RS of every layer through `chan(rx, layer, k, l)` plus CN(0, σ²) noise.
    fn receive(
        p: &DmrsParams,
        n_rx: usize,
        carrier_prb: usize,
        sigma2: f64,
        chan: &dyn Fn(usize, usize, usize, usize) -> Complex32,
        rng: &mut Rng,
    ) -> ResourceGrid {
        let n_sc = 12 * carrier_prb;
        let mut tx = ResourceGrid::new(p.n_ports, 14, n_sc);
        let mut seq = vec![Complex32::default(); p.seq_len()];
        for layer in 0..p.n_ports {
            for (l, _, lp) in p.symbols.iter() {
                p.map_layer(layer, l, lp, tx.symbol_mut(layer, l), &mut seq);
            }
        }
        let mut rx = ResourceGrid::new(n_rx, 14, n_sc);
        for a in 0..n_rx {
            for l in 0..14 {
                for k in 0..n_sc {
                    let mut v = rng.cn(sigma2);
                    for layer in 0..p.n_ports {
                        v += chan(a, layer, k, l) * tx.get(layer, l, k);
                    }
                    rx.set(a, l, k, v);
                }
            }
        }
        rx
    }

    fn num() -> Numerology {
        Numerology::new(Scs::Khz30, CyclicPrefix::Normal, 52, None).unwrap()
    }

    #[test]
    fn flat_channel_mse_and_noise_match_theory() {
        let n = num();
        let sigma2 = 0.01;
        for (t, ports) in [
            (DmrsType::Type1, vec![0u8, 1, 2]),
            (DmrsType::Type2, vec![0u8, 1, 4]),
        ] {
            let p = params(t, ports, 1, 1, 4, 40);
            let mut rng = Rng(5);
            let gains: Vec<Complex32> = (0..2 * 3).map(|_| rng.cn(1.0)).collect();
            let g = gains.clone();
            let rx = receive(&p, 2, 52, sigma2, &move |a, j, _, _| g[a * 3 + j], &mut rng);
            let mut est = ChannelEstimator::new(4, 4, 52, ChestOptions::default());
            let mut out = est.new_estimate();
            est.estimate(&n, &rx, &p, &mut out).unwrap();
            let mut buf = vec![Complex32::default(); 2 * 3 * 480];
            // The channel up to its CFO phase is the same channel.
            let mut buf2 = buf.clone();
            for l in [0usize, 5, 13] {
                let h = out.symbol_channel(l, &mut buf).to_vec();
                let (h0, r) = out.symbol_channel_phase(l, &mut buf2);
                assert!((r.norm() - 1.0).abs() < 1e-6);
                for (x, y) in h.iter().zip(h0) {
                    assert!((x - y * r).norm() < 1e-5, "symbol {l}");
                }
            }
            let h = out.symbol_channel(5, &mut buf);
            let mut mse = 0.0f64;
            for a in 0..2 {
                for j in 0..3 {
                    for k in 0..480 {
                        mse += (h[(a * 3 + j) * 480 + k] - gains[a * 3 + j]).norm_sqr() as f64;
                    }
                }
            }
            mse /= 6.0 * 480.0;
            // Pair noise σ²/(2β²), linear interpolation keeps ≈ 2/3 of it on
            // average, two positions halve it (edges held: a little more).
            let want = sigma2 / 4.0 * (2.0 / 3.0) / 2.0;
            assert!(
                mse > 0.6 * want && mse < 1.5 * want,
                "{t:?}: mse {mse}, expected ≈ {want}"
            );
            let nv = out.noise_var() as f64;
            assert!((nv / sigma2 - 1.0).abs() < 0.15, "{t:?}: noise {nv}");
            assert!(
                out.timing_offset_s().abs() < 2e-8,
                "{}",
                out.timing_offset_s()
            );
            assert!(out.cfo_hz().unwrap().abs() < 30.0, "{:?}", out.cfo_hz());
            let snr = out.sinr_db(0);
            let want_snr = 10.0
                * (((gains[0].norm_sqr() + gains[3].norm_sqr()) / 2.0) as f64 / sigma2).log10();
            assert!(
                (snr as f64 - want_snr).abs() < 0.7,
                "snr {snr} vs {want_snr}"
            );
        }
    }

    #[test]
    fn delay_and_cfo_are_estimated_and_tracked() {
        let n = num();
        let tau = 0.4e-6;
        let cfo = 150.0;
        let scs = n.scs().hz();
        for (t, add, len, ports) in [
            (DmrsType::Type1, 2u8, 1u8, vec![0u8, 1]),
            (DmrsType::Type2, 1, 2, vec![0u8, 7]),
        ] {
            let p = params(t, ports, add, len, 0, 52);
            let nn = n;
            let chan = move |a: usize, j: usize, k: usize, l: usize| {
                let g = Complex32::from_polar(1.0, (a * 2 + j) as f32);
                let ph = -std::f64::consts::TAU * k as f64 * scs * tau
                    + std::f64::consts::TAU * cfo * nn.symbol_time_s(3, l);
                g * Complex32::from_polar(1.0, ph as f32)
            };
            let mut rng = Rng(9);
            let rx = receive(&p, 2, 52, 1e-4, &chan, &mut rng);
            for mode in [TimeMode::Average, TimeMode::Interpolate] {
                let opts = ChestOptions {
                    time: mode,
                    ..ChestOptions::default()
                };
                let mut est = ChannelEstimator::new(2, 2, 52, opts);
                let mut out = est.new_estimate();
                est.estimate(&n, &rx, &p, &mut out).unwrap();
                assert!(
                    (out.timing_offset_s() - tau).abs() < 0.01e-6,
                    "{t:?} τ {}",
                    out.timing_offset_s()
                );
                assert!(
                    (out.cfo_hz().unwrap() - cfo).abs() < 5.0,
                    "{t:?} cfo {:?}",
                    out.cfo_hz()
                );
                let mut buf = vec![Complex32::default(); 2 * 2 * 624];
                for l in [0usize, 6, 13] {
                    let h = out.symbol_channel(l, &mut buf);
                    let mut err = 0.0f64;
                    for a in 0..2 {
                        for j in 0..2 {
                            for k in 2..622 {
                                err +=
                                    (h[(a * 2 + j) * 624 + k] - chan(a, j, k, l)).norm_sqr() as f64;
                            }
                        }
                    }
                    err /= 4.0 * 620.0;
                    // Interpolation holds beyond the outer positions, so symbol 13 drifts by the CFO there.
                    let tol = if mode == TimeMode::Interpolate && l != 6 {
                        0.01
                    } else {
                        2e-4
                    };
                    assert!(err < tol, "{t:?} {mode:?} l {l}: mse {err}");
                }
            }
        }
    }

    #[test]
    fn zero_grid_gives_finite_outputs_and_bad_sizes_are_errors() {
        let n = num();
        let p = params(DmrsType::Type1, vec![0, 1], 1, 1, 0, 52);
        let rx = ResourceGrid::new(2, 14, 624);
        let mut est = ChannelEstimator::new(2, 2, 52, ChestOptions::default());
        let mut out = est.new_estimate();
        est.estimate(&n, &rx, &p, &mut out).unwrap();
        assert!(out.position(0).iter().all(|v| v.re == 0.0 && v.im == 0.0));
        assert_eq!(out.noise_var(), 0.0);
        assert_eq!(out.sinr_db(0), -100.0);
        assert_eq!(out.timing_offset_s(), 0.0);
        assert_eq!(out.cfo_hz(), Some(0.0));
        let big = ResourceGrid::new(3, 14, 624);
        assert!(matches!(
            est.estimate(&n, &big, &p, &mut out),
            Err(ChestError::TooLarge { .. })
        ));
        let small = ResourceGrid::new(2, 14, 120);
        assert!(matches!(
            est.estimate(&n, &small, &p, &mut out),
            Err(ChestError::Grid(_))
        ));
    }
}
