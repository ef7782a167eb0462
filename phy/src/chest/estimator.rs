//! The DM-RS channel estimator's steps (see the module doc of `chest`).

use super::{ChannelEstimate, ChestError, ChestOptions, TimeMode};
use crate::grid::ResourceGrid;
use crate::numerology::Numerology;
use crate::pdu::DmrsType;
use crate::refsig::dmrs::{port_params, re_offset, DmrsParams, MAX_DMRS_PORTS};
use num_complex::{Complex32, Complex64};

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
/// channel, signal-power partial sums and timing correlation. The caller
/// owns it ([`ChannelEstimator::new_position`]), so the positions of a slot
/// can be estimated at the same time on different threads, each on its own.
pub struct ChestPosition {
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
    /// The position's share of the timing correlation (step 1).
    corr: Complex64,
}

impl ChestPosition {
    /// The position's timing correlation, as step 1 left it: step 2 of
    /// every position needs those of all positions.
    pub fn correlation(&self) -> Complex64 {
        self.corr
    }
}

/// The work of one position for `max_rx` antennas, `max_layers` layers and `max_prb` PRBs.
fn position(max_rx: usize, max_layers: usize, max_prb: usize) -> ChestPosition {
    let n_ref = 6 * max_prb;
    ChestPosition {
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
        corr: Complex64::new(0.0, 0.0),
    }
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
/// The steps take `&self` and the caller's work of the position
/// ([`ChestPosition`]), so different positions may run at once on different
/// threads; the result does not depend on the order. The whole-slot
/// [`ChannelEstimator::estimate`] runs them on the estimator's own positions.
pub struct ChannelEstimator {
    opts: ChestOptions,
    max_rx: usize,
    max_layers: usize,
    max_prb: usize,
    /// The positions of the whole-slot [`ChannelEstimator::estimate`].
    work: [ChestPosition; 4],
}

impl ChannelEstimator {
    /// An estimator for up to `max_rx` antennas, `max_layers` layers and `max_prb` PRBs.
    pub fn new(max_rx: usize, max_layers: usize, max_prb: usize, opts: ChestOptions) -> Self {
        let max_layers = max_layers.min(MAX_DMRS_PORTS);
        ChannelEstimator {
            opts,
            max_rx,
            max_layers,
            max_prb,
            work: std::array::from_fn(|_| position(max_rx, max_layers, max_prb)),
        }
    }

    /// The work of one DM-RS position, sized for this estimator.
    pub fn new_position(&self) -> ChestPosition {
        position(self.max_rx, self.max_layers, self.max_prb)
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
    /// (TS 38.211 §6.4.1.1.3 gives r and the REs), into `w`.
    pub fn estimate_position(
        &self,
        grid: &ResourceGrid,
        p: &DmrsParams,
        pos: usize,
        w: &mut ChestPosition,
    ) {
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
        w.corr = corr;
    }

    /// The timing offset (seconds) from the phase step between pairs,
    /// pooled over the positions' correlations `corrs` of step 1.
    fn timing_offset(corrs: impl Iterator<Item = Complex64>, scs: f64, spacing: f64) -> f64 {
        let c = corrs.fold(Complex64::new(0.0, 0.0), |acc, c| acc + c);
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
    /// interpolation, the delay ramp put back, and the signal power, into
    /// `w`. `corrs` are the correlations of every position (in position
    /// order, [`ChestPosition::correlation`]).
    pub fn interpolate_position(
        &self,
        num: &Numerology,
        n_rx: usize,
        p: &DmrsParams,
        corrs: &[Complex64],
        w: &mut ChestPosition,
    ) {
        let t = p.config_type;
        let n_pairs = p.seq_len() / 2;
        let n_pos = p.symbols.positions().len();
        let nl = p.n_ports;
        let n_sc = 12 * p.n_prb;
        let len = p.symbols.length() as usize;
        let spacing = spacing(t);
        let scs = num.scs().hz();
        let tau_est = Self::timing_offset(corrs[..n_pos].iter().copied(), scs, spacing);
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
    ///
    /// `work` holds every position's work after step 2 (in position order;
    /// their channel buffers are exchanged with the estimate's, not copied).
    pub fn combine(
        &self,
        num: &Numerology,
        n_rx: usize,
        p: &DmrsParams,
        work: &mut [&mut ChestPosition],
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
        out.timing_offset_s =
            Self::timing_offset(work[..n_pos].iter().map(|w| w.corr), scs, spacing);
        out.erased_dmrs = work[..n_pos].iter().map(|w| w.erased).sum();
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
        for (w, h) in work.iter_mut().zip(out.h.iter_mut()).take(n_pos) {
            if w.h.len() == h.len() {
                std::mem::swap(&mut w.h, h);
            } else {
                h[..stride].copy_from_slice(&w.h[..stride]);
            }
        }
        out.mode = match self.opts.time {
            TimeMode::Auto
                if n_pos >= 2
                    && time_selective(
                        work,
                        n_pos,
                        n_rx * nl,
                        n_pairs,
                        out.noise_var,
                        len,
                        p.beta,
                    ) =>
            {
                TimeMode::Interpolate
            }
            TimeMode::Auto => TimeMode::Average,
            m => m,
        };
        let average = out.mode == TimeMode::Average;
        let cfo = if self.opts.cfo_correction {
            out.cfo_hz.unwrap_or(0.0)
        } else {
            0.0
        };
        let t0 = out.pos_time[..n_pos].iter().sum::<f64>() / n_pos as f64;
        let mut power = [0.0f64; MAX_DMRS_PORTS];
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

    /// The whole estimate for one slot on the estimator's own positions:
    /// [`ChannelEstimator::check`], step 1 of every position, step 2 of
    /// every position, then [`ChannelEstimator::combine`]. `grid` holds the
    /// received slot (ports = antennas, whole carrier).
    pub fn estimate(
        &mut self,
        num: &Numerology,
        grid: &ResourceGrid,
        p: &DmrsParams,
        out: &mut ChannelEstimate,
    ) -> Result<(), ChestError> {
        self.check(grid, p, out)?;
        // The positions are taken out for the steps (empty ones, which
        // allocate nothing, hold their place) and put back.
        let mut work =
            std::mem::replace(&mut self.work, std::array::from_fn(|_| position(0, 0, 0)));
        let n_pos = p.symbols.positions().len();
        for (pos, w) in work.iter_mut().enumerate().take(n_pos) {
            self.estimate_position(grid, p, pos, w);
        }
        let corrs: [Complex64; 4] = std::array::from_fn(|i| work[i].corr);
        for w in work.iter_mut().take(n_pos) {
            self.interpolate_position(num, grid.ports(), p, &corrs[..n_pos], w);
        }
        let mut refs = work.each_mut();
        self.combine(num, grid.ports(), p, &mut refs[..], out);
        self.work = work;
        Ok(())
    }
}

/// Whether the channel changed between consecutive DM-RS positions by more
/// than time averaging gains against the estimation noise (the rule of
/// [`TimeMode::Auto`] in the module documentation): 1 − ρ > 0.65·σ_e²/P for
/// any consecutive pair of positions, over `blocks` (antenna, layer) blocks
/// of `n_pairs` pair estimates, each with noise σ_e² = σ²/(2L'β²).
fn time_selective(
    work: &[&mut ChestPosition],
    n_pos: usize,
    blocks: usize,
    n_pairs: usize,
    noise_var: f32,
    len: usize,
    beta: f32,
) -> bool {
    let n = (blocks * n_pairs) as f64;
    let sigma_e = noise_var as f64 / (2.0 * len as f64 * (beta * beta) as f64);
    (0..n_pos - 1).any(|pos| {
        let (a, b) = (
            &work[pos].pairs[..blocks * n_pairs],
            &work[pos + 1].pairs[..blocks * n_pairs],
        );
        let (mut c, mut pa, mut pb) = (Complex64::new(0.0, 0.0), 0.0f64, 0.0f64);
        for (x, y) in a.iter().zip(b) {
            let v = y * x.conj();
            c += Complex64::new(v.re as f64, v.im as f64);
            pa += x.norm_sqr() as f64;
            pb += y.norm_sqr() as f64;
        }
        let (pa, pb) = (pa - n * sigma_e, pb - n * sigma_e);
        if !(pa > 0.0 && pb > 0.0) {
            return false; // nothing above the noise: averaging is best
        }
        let rho = (c.norm() / (pa * pb).sqrt()).min(1.0);
        let p = 0.5 * (pa + pb) / n;
        1.0 - rho > 0.65 * sigma_e / p
    })
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
pub(super) fn interpolate(b: &[Complex32], c0: f64, d: f64, h: &mut [Complex32]) {
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
