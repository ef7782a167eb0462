//! What the PUSCH and PDSCH processors share: the data-RE layout of an
//! allocation, layer mapping onto ports, and the receive front end (channel
//! estimation, per-symbol detection, layer demapping into codeword order).
//!
//! - Layer mapping (TS 38.211 §6.3.1.3 / §7.3.1.3, one codeword):
//!   x^(j)(i) = d(v·i + j).
//! - RE mapping (§6.3.1.6 / §7.3.1.6, non-interleaved VRB→PRB, identity
//!   precoding: layer j on port j): over the allocated symbols in increasing
//!   l, and within each over the allocated subcarriers in increasing k,
//!   skipping the DM-RS REs and, on DM-RS symbols, the REs of every CDM group
//!   without data. PT-RS, CSI-RS and reserved resources are not modelled.

use crate::chest::{ChannelEstimate, ChannelEstimator, ChestError};
use crate::grid::ResourceGrid;
use crate::mimo::{Detector, MimoError};
use crate::numerology::Numerology;
use crate::refsig::dmrs::{data_mask_in_prb, DmrsParams};
use crate::simd::scalar::llr::EvmParams;
use crate::simd::SimdLevel;
use num_complex::Complex32;

/// The data REs of one allocation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SchLayout {
    /// The DM-RS of the allocation (ports, symbols, PRBs, sequence identity).
    pub dmrs: DmrsParams,
    /// First allocated symbol.
    pub start_symbol: usize,
    /// Allocated symbols.
    pub n_symbols: usize,
    /// Data subcarriers of a PRB on DM-RS symbols.
    dmrs_data_mask: [bool; 12],
    /// Data REs per layer on each symbol.
    re_per_symbol: [usize; 14],
    /// Data REs per layer in the slot.
    pub n_re: usize,
}

impl SchLayout {
    /// The layout of the allocation described by `dmrs`, on symbols
    /// `start_symbol..start_symbol+n_symbols`.
    pub fn new(dmrs: DmrsParams, start_symbol: usize, n_symbols: usize) -> Self {
        let mask = data_mask_in_prb(dmrs.config_type, dmrs.cdm_groups_without_data);
        let per_prb_dmrs = mask.iter().filter(|&&m| m).count();
        let mut re = [0usize; 14];
        for (l, r) in re.iter_mut().enumerate().skip(start_symbol).take(n_symbols) {
            *r = if dmrs.symbols.contains(l) {
                per_prb_dmrs * dmrs.n_prb
            } else {
                12 * dmrs.n_prb
            };
        }
        SchLayout {
            dmrs,
            start_symbol,
            n_symbols,
            dmrs_data_mask: mask,
            re_per_symbol: re,
            n_re: re.iter().sum(),
        }
    }

    /// Layers v.
    pub fn layers(&self) -> usize {
        self.dmrs.n_ports
    }

    /// Allocated subcarriers 12·n_PRB.
    pub fn n_sc(&self) -> usize {
        12 * self.dmrs.n_prb
    }

    /// First subcarrier of the allocation in the carrier grid.
    pub fn first_sc(&self) -> usize {
        12 * self.dmrs.prb_start
    }

    /// Data REs per layer on symbol `l`.
    pub fn res_on_symbol(&self, l: usize) -> usize {
        self.re_per_symbol.get(l).copied().unwrap_or(0)
    }

    /// Whether every allocated subcarrier of symbol `l` carries data.
    pub fn is_full(&self, l: usize) -> bool {
        self.res_on_symbol(l) == self.n_sc()
    }

    /// Coded bits G = n_RE·Q_m·v.
    pub fn g(&self, qm: usize) -> usize {
        self.n_re * qm * self.layers()
    }

    /// N_DMRS^PRB of TS 38.214 §5.1.3.2 / §6.1.4.2: DM-RS REs per PRB over the
    /// allocation, CDM groups without data included.
    pub fn n_dmrs_prb(&self) -> usize {
        let per_sym = 12 - self.dmrs_data_mask.iter().filter(|&&m| m).count();
        per_sym * self.dmrs.symbols.iter().count()
    }

    /// Calls `f(k)` for each data subcarrier k (relative to the allocation)
    /// of symbol `l`, in increasing order.
    #[inline]
    pub fn for_each_data_sc(&self, l: usize, mut f: impl FnMut(usize)) {
        if self.res_on_symbol(l) == 0 {
            return;
        }
        if self.is_full(l) {
            (0..self.n_sc()).for_each(f);
        } else {
            for prb in 0..self.dmrs.n_prb {
                for (i, &m) in self.dmrs_data_mask.iter().enumerate() {
                    if m {
                        f(12 * prb + i);
                    }
                }
            }
        }
    }

    /// Data REs per layer on the allocation's symbols before `l`: layer
    /// mapping puts symbol `l`'s first RE at codeword symbol `v` times this.
    pub fn res_before(&self, l: usize) -> usize {
        self.re_per_symbol[..l.min(14)].iter().sum()
    }

    /// Layer mapping and RE mapping of codeword symbols `d` (n_RE·v of them)
    /// onto ports 0..v of `grid` (whole-carrier symbols).
    pub fn map_data(&self, d: &[Complex32], grid: &mut ResourceGrid) {
        let symbols = grid.symbols();
        with_port_views(grid, |ports| self.map_data_symbols(d, 0..symbols, ports));
    }

    /// [`SchLayout::map_data`] for slot symbols `symbols` only: `d` holds
    /// their codeword symbols (v·Σ n_RE(l) of them, from codeword symbol
    /// v·[`SchLayout::res_before`]`(symbols.start)`), and `ports[j]` is port
    /// j's part of the grid for those symbols (symbol-major, whole-carrier
    /// symbols). Mapping a slot in blocks of symbols writes what mapping it
    /// whole writes.
    pub fn map_data_symbols(
        &self,
        d: &[Complex32],
        symbols: std::ops::Range<usize>,
        ports: &mut [&mut [Complex32]],
    ) {
        let v = self.layers();
        let base = self.first_sc();
        let n_sc = ports.first().map_or(0, |p| p.len() / symbols.len().max(1));
        let mut i = 0usize;
        for l in symbols.clone() {
            let n = self.res_on_symbol(l);
            if n == 0 {
                continue;
            }
            let o = (l - symbols.start) * n_sc;
            for (j, port) in ports.iter_mut().enumerate().take(v) {
                let sym = &mut port[o + base..o + n_sc];
                let mut r = 0;
                self.for_each_data_sc(l, |k| {
                    sym[k] = d[v * (i + r) + j];
                    r += 1;
                });
            }
            i += n;
        }
    }

    /// Writes the DM-RS of every layer into ports 0..v of `grid`; `seq` is
    /// scratch of `dmrs.seq_len()` values.
    pub fn map_dmrs(&self, grid: &mut ResourceGrid, seq: &mut [Complex32]) {
        let symbols = grid.symbols();
        with_port_views(grid, |ports| self.map_dmrs_symbols(0..symbols, ports, seq));
    }

    /// [`SchLayout::map_dmrs`] for slot symbols `symbols` only, into port
    /// views as [`SchLayout::map_data_symbols`] takes them.
    pub fn map_dmrs_symbols(
        &self,
        symbols: std::ops::Range<usize>,
        ports: &mut [&mut [Complex32]],
        seq: &mut [Complex32],
    ) {
        let n_sc = ports.first().map_or(0, |p| p.len() / symbols.len().max(1));
        for (j, port) in ports.iter_mut().enumerate().take(self.layers()) {
            for (l, _, lp) in self.dmrs.symbols.iter() {
                if symbols.contains(&l) {
                    let o = (l - symbols.start) * n_sc;
                    self.dmrs.map_layer(j, l, lp, &mut port[o..o + n_sc], seq);
                }
            }
        }
    }
}

/// Calls `f` with mutable views of every port of `grid` (at most 8 ports: the
/// layers of the shared channels).
fn with_port_views(grid: &mut ResourceGrid, f: impl FnOnce(&mut [&mut [Complex32]])) {
    let mut views: [&mut [Complex32]; 8] = Default::default();
    let mut n = 0;
    for (v, p) in views.iter_mut().zip(grid.ports_mut()) {
        *v = p;
        n += 1;
    }
    f(&mut views[..n]);
}

/// Why the receive front end failed (the PDU was validated, so these are
/// size mismatches between the request and what the processor was built for).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FrontEndError {
    /// Channel estimation refused the request.
    #[error("channel estimation: {0}")]
    Chest(#[from] ChestError),
    /// Detection refused the request.
    #[error("detection: {0}")]
    Mimo(#[from] MimoError),
    /// More layers or antennas than built for.
    #[error("{what} = {got} exceeds the processor's maximum {max}")]
    TooLarge {
        /// Which size.
        what: &'static str,
        /// Requested.
        got: usize,
        /// Built for.
        max: usize,
    },
}

/// Receive front end: channel estimation and detection of one slot into
/// codeword-ordered equalised symbols and their noise variances.
/// Buffers are sized at construction; per-slot calls allocate nothing.
///
/// Besides the whole-slot calls, the steps a pipeline runs as separate
/// tasks: [`RxFrontEnd::chest_check`], then per DM-RS position
/// [`RxFrontEnd::chest_position`] and [`RxFrontEnd::chest_interpolate`]
/// (`&self`, any thread; see [`ChannelEstimator`]), then
/// [`RxFrontEnd::chest_combine`], then [`RxFrontEnd::detect_symbol_into`]
/// per symbol (`&self` with the caller's [`DetectScratch`] and output).
pub struct RxFrontEnd {
    n_rx: usize,
    max_layers: usize,
    max_prb: usize,
    chest: ChannelEstimator,
    est: ChannelEstimate,
    detectors: Vec<Detector>,
    scratch: DetectScratch,
    /// Equalised codeword symbols d(i) and their noise variances.
    d: Vec<Complex32>,
    dnv: Vec<f32>,
}

/// Detection scratch of one thread: the gathered received REs and channel
/// of a symbol, and the detector's per-layer outputs.
#[derive(Default)]
pub struct DetectScratch {
    y: Vec<Complex32>,
    h: Vec<Complex32>,
    hsym: Vec<Complex32>,
    x: Vec<Complex32>,
    nv: Vec<f32>,
}

impl RxFrontEnd {
    /// A front end for `n_rx` antennas, up to `max_layers` layers and `max_prb` PRBs.
    pub fn new(
        n_rx: usize,
        max_layers: usize,
        max_prb: usize,
        chest_opts: crate::chest::ChestOptions,
        equalizer: crate::mimo::Equalizer,
        level: crate::simd::SimdLevel,
    ) -> Result<Self, FrontEndError> {
        let detectors = (1..=max_layers)
            .map(|v| Detector::with_level(n_rx, v, equalizer, level))
            .collect::<Result<Vec<_>, _>>()?;
        let n_sc = 12 * max_prb;
        let chest = ChannelEstimator::new(n_rx, max_layers, max_prb, chest_opts);
        let est = chest.new_estimate();
        let mut fe = RxFrontEnd {
            n_rx,
            max_layers,
            max_prb,
            chest,
            est,
            detectors,
            scratch: DetectScratch::default(),
            d: vec![Complex32::default(); 14 * max_layers * n_sc],
            dnv: vec![0.0; 14 * max_layers * n_sc],
        };
        fe.scratch = fe.new_scratch();
        Ok(fe)
    }

    /// Detection scratch sized for this front end (one per thread that
    /// calls [`RxFrontEnd::detect_symbol_into`]).
    pub fn new_scratch(&self) -> DetectScratch {
        let n_sc = 12 * self.max_prb;
        let (n_rx, v) = (self.n_rx, self.max_layers);
        DetectScratch {
            y: vec![Complex32::default(); n_rx * n_sc],
            h: vec![Complex32::default(); n_rx * v * n_sc],
            hsym: vec![Complex32::default(); n_rx * v * n_sc],
            x: vec![Complex32::default(); v * n_sc],
            nv: vec![0.0; v * n_sc],
        }
    }

    /// The latest channel estimate.
    pub fn estimate(&self) -> &ChannelEstimate {
        &self.est
    }

    fn check(&self, lay: &SchLayout, grid: &ResourceGrid) -> Result<(), FrontEndError> {
        let too = |what, got, max| Err(FrontEndError::TooLarge { what, got, max });
        if lay.layers() > self.max_layers {
            return too("layers", lay.layers(), self.max_layers);
        }
        if grid.ports() != self.n_rx {
            return too("grid antennas", grid.ports(), self.n_rx);
        }
        if lay.dmrs.n_prb > self.max_prb {
            return too("PRBs", lay.dmrs.n_prb, self.max_prb);
        }
        Ok(())
    }

    /// Split step 1: checks the request against the front end's sizes and
    /// returns the number of DM-RS positions (the tasks of the next steps).
    pub fn chest_check(
        &self,
        lay: &SchLayout,
        grid: &ResourceGrid,
    ) -> Result<usize, FrontEndError> {
        self.check(lay, grid)?;
        self.chest.check(grid, &lay.dmrs, &self.est)?;
        Ok(lay.dmrs.symbols.positions().len())
    }

    /// Split step 2, DM-RS position `pos` (after [`RxFrontEnd::chest_check`]):
    /// least squares and timing correlation ([`ChannelEstimator::estimate_position`]).
    pub fn chest_position(&self, lay: &SchLayout, grid: &ResourceGrid, pos: usize) {
        self.chest.estimate_position(grid, &lay.dmrs, pos);
    }

    /// Split step 3, DM-RS position `pos` (after step 2 of every position):
    /// despreading and frequency interpolation ([`ChannelEstimator::interpolate_position`]).
    pub fn chest_interpolate(&self, num: &Numerology, lay: &SchLayout, pos: usize) {
        self.chest
            .interpolate_position(num, self.n_rx, &lay.dmrs, pos);
    }

    /// Split step 4 (after step 3 of every position): noise, CFO and time
    /// combining into the estimate ([`ChannelEstimator::combine`]).
    pub fn chest_combine(&mut self, num: &Numerology, lay: &SchLayout) {
        self.chest.combine(num, self.n_rx, &lay.dmrs, &mut self.est);
    }

    /// Stage: channel estimation over all DM-RS positions.
    pub fn estimate_channel(
        &mut self,
        num: &Numerology,
        lay: &SchLayout,
        grid: &ResourceGrid,
    ) -> Result<(), FrontEndError> {
        let n_pos = self.chest_check(lay, grid)?;
        for pos in 0..n_pos {
            self.chest_position(lay, grid, pos);
        }
        for pos in 0..n_pos {
            self.chest_interpolate(num, lay, pos);
        }
        self.chest_combine(num, lay);
        Ok(())
    }

    /// Stage: detection of the data REs of symbol `l` into the codeword
    /// buffer, starting at RE index `first_re` (the data REs of earlier
    /// symbols). Returns the number of REs detected.
    pub fn detect_symbol(
        &mut self,
        lay: &SchLayout,
        grid: &ResourceGrid,
        l: usize,
        first_re: usize,
    ) -> Result<usize, FrontEndError> {
        let v = lay.layers();
        let n = lay.res_on_symbol(l);
        let (a, b) = (v * first_re, v * (first_re + n));
        if b > self.d.len() {
            return Err(FrontEndError::TooLarge {
                what: "codeword symbols",
                got: b,
                max: self.d.len(),
            });
        }
        let mut s = std::mem::take(&mut self.scratch);
        let (d, dnv) = (&mut self.d[a..b], &mut self.dnv[a..b]);
        let r = detect_into(
            &self.est,
            &self.detectors,
            self.n_rx,
            &mut s,
            lay,
            grid,
            l,
            d,
            dnv,
        );
        self.scratch = s;
        r
    }

    /// Detection of the data REs of symbol `l` (after the channel
    /// estimate) into `d` and `dnv`, which take exactly that symbol's
    /// codeword symbols, v·[`SchLayout::res_on_symbol`]`(l)` of them (from
    /// codeword symbol v·[`SchLayout::res_before`]`(l)`), with the caller's
    /// scratch: symbols can be detected on several threads at once and in
    /// any order, with the same result. Returns the number of REs detected.
    #[allow(clippy::too_many_arguments)]
    pub fn detect_symbol_into(
        &self,
        scratch: &mut DetectScratch,
        lay: &SchLayout,
        grid: &ResourceGrid,
        l: usize,
        d: &mut [Complex32],
        dnv: &mut [f32],
    ) -> Result<usize, FrontEndError> {
        detect_into(
            &self.est,
            &self.detectors,
            self.n_rx,
            scratch,
            lay,
            grid,
            l,
            d,
            dnv,
        )
    }

    /// Estimation then detection of every allocated symbol. Returns the
    /// equalised codeword symbols and their noise variances (n_RE·v each).
    pub fn process(
        &mut self,
        num: &Numerology,
        lay: &SchLayout,
        grid: &ResourceGrid,
    ) -> Result<(&[Complex32], &[f32]), FrontEndError> {
        self.estimate_channel(num, lay, grid)?;
        let mut first = 0;
        for l in lay.start_symbol..lay.start_symbol + lay.n_symbols {
            first += self.detect_symbol(lay, grid, l, first)?;
        }
        let m = first * lay.layers();
        Ok((&self.d[..m], &self.dnv[..m]))
    }

    /// The equalised symbols and noise variances of the last [`RxFrontEnd::process`] (first `len`).
    pub fn symbols(&self, len: usize) -> (&[Complex32], &[f32]) {
        (&self.d[..len], &self.dnv[..len])
    }

    /// The whole codeword buffers (symbols and noise variances), for a
    /// caller that hands their parts to [`RxFrontEnd::detect_symbol_into`].
    pub fn codeword_mut(&mut self) -> (&mut [Complex32], &mut [f32]) {
        (&mut self.d, &mut self.dnv)
    }
}

/// Detection of symbol `l` into its codeword symbols `d`/`dnv` (see
/// [`RxFrontEnd::detect_symbol_into`]).
#[allow(clippy::too_many_arguments)]
fn detect_into(
    est: &ChannelEstimate,
    detectors: &[Detector],
    n_rx: usize,
    s: &mut DetectScratch,
    lay: &SchLayout,
    grid: &ResourceGrid,
    l: usize,
    d: &mut [Complex32],
    dn: &mut [f32],
) -> Result<usize, FrontEndError> {
    let n = lay.res_on_symbol(l);
    if n == 0 {
        return Ok(0);
    }
    let v = lay.layers();
    if d.len() != v * n || dn.len() != v * n {
        return Err(FrontEndError::TooLarge {
            what: "codeword symbols of the symbol",
            got: d.len().max(dn.len()),
            max: v * n,
        });
    }
    let n_sc = lay.n_sc();
    let base = lay.first_sc();
    // The channel up to the symbol's CFO phase r, which is applied to the
    // detected symbols (v per RE) rather than to the channel (n_rx·v per RE).
    let (hfull, phase) = est.symbol_channel_phase(l, &mut s.hsym);
    let full = lay.is_full(l);
    // Gather y (and h on partial symbols) into the detector's planes; one
    // full antenna is read in place.
    let y: &[Complex32] = if full && n_rx == 1 {
        &grid.symbol(0, l)[base..base + n_sc]
    } else {
        for rx in 0..n_rx {
            let src = &grid.symbol(rx, l)[base..base + n_sc];
            let dst = &mut s.y[rx * n..(rx + 1) * n];
            if full {
                dst.copy_from_slice(src);
            } else {
                let mut r = 0;
                lay.for_each_data_sc(l, |k| {
                    dst[r] = src[k];
                    r += 1;
                });
            }
        }
        &s.y[..n_rx * n]
    };
    let h: &[Complex32] = if full {
        &hfull[..n_rx * v * n_sc]
    } else {
        for p in 0..n_rx * v {
            let src = &hfull[p * n_sc..(p + 1) * n_sc];
            let dst = &mut s.h[p * n..(p + 1) * n];
            let mut r = 0;
            lay.for_each_data_sc(l, |k| {
                dst[r] = src[k];
                r += 1;
            });
        }
        &s.h[..n_rx * v * n]
    };
    let det = &detectors[v - 1];
    let nvar = est.noise_var();
    let unrotated = phase == Complex32::new(1.0, 0.0);
    let (x, nv) = if v == 1 {
        // One layer: detect straight into the codeword buffers.
        (&mut d[..], &mut dn[..])
    } else {
        (&mut s.x[..v * n], &mut s.nv[..v * n])
    };
    det.detect(y, h, nvar, x, nv)?;
    let rc = phase.conj();
    if v == 1 {
        if !unrotated {
            x.iter_mut().for_each(|z| *z *= rc);
        }
        return Ok(n);
    }
    // Layer demapping: d(v·i + j) = r*·x^(j)(i).
    for j in 0..v {
        let xs = &s.x[j * n..(j + 1) * n];
        let ns = &s.nv[j * n..(j + 1) * n];
        for r in 0..n {
            d[v * r + j] = xs[r] * rc;
            dn[v * r + j] = ns[r];
        }
    }
    Ok(n)
}

/// Mean post-equalisation SINR in dB, 10·log10(1/mean σ²_post), clamped to ±100 dB.
pub fn post_sinr_db(nvar: &[f32]) -> f32 {
    if nvar.is_empty() {
        return -100.0;
    }
    // f32 partial sums in 8 lanes per block of 4096 (vectorisable), then f64.
    let m = nvar
        .chunks(4096)
        .map(|c| {
            let mut acc = [0.0f32; 8];
            let mut it = c.chunks_exact(8);
            for x in &mut it {
                for (a, &v) in acc.iter_mut().zip(x) {
                    *a += v;
                }
            }
            acc.iter().map(|&a| a as f64).sum::<f64>()
                + it.remainder().iter().map(|&v| v as f64).sum::<f64>()
        })
        .sum::<f64>()
        / nvar.len() as f64;
    if !(m > 0.0) {
        return 100.0;
    }
    (-10.0 * m.log10()).clamp(-100.0, 100.0) as f32
}

/// RMS error vector magnitude (in %) of unit-energy square-QAM symbols
/// against their nearest constellation points (decision directed), for Q_m
/// bits per symbol (2, 4, 6, 8, 10). Empty or non-QAM input gives 0; a
/// non-finite point counts as an error of 1.
pub fn evm_percent(symbols: &[Complex32], qm: usize) -> f32 {
    evm_percent_with(SimdLevel::detect(), symbols, qm)
}

/// [`evm_percent`] with the kernel of at most `level` (one pass over the
/// points, SIMD per dimension).
pub fn evm_percent_with(level: SimdLevel, symbols: &[Complex32], qm: usize) -> f32 {
    let Some(p) = EvmParams::new(qm) else {
        return 0.0;
    };
    if symbols.is_empty() {
        return 0.0;
    }
    let flat: &[f32] = bytemuck::cast_slice(symbols);
    let err = match level.clamp_to(SimdLevel::detect()) {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the level is supported by this CPU (clamped to the detected one).
        SimdLevel::Avx2 | SimdLevel::Avx512 => unsafe {
            crate::simd::avx2::llr::evm_error_sum(p, flat)
        },
        _ => crate::simd::scalar::llr::evm_error_sum(p, flat),
    };
    (100.0 * (err / symbols.len() as f64).sqrt()) as f32
}

/// Quantises float LLRs (nats) to `i8` (round-half-even of x·`scale`,
/// clamped to ±127, NaN → 0) and descrambles them: negated where the bit of
/// `mask` (c(32w + j) in bit j of word w, TS 38.211 §5.2.1) is 1. Returns
/// whether any output is non-zero. `out` takes `llrs.len()` values and
/// `mask` must cover them; shorter buffers limit the count.
pub fn quantize_descramble(
    level: SimdLevel,
    llrs: &[f32],
    scale: f32,
    mask: &[u32],
    out: &mut [i8],
) -> bool {
    let n = llrs.len().min(out.len()).min(mask.len() * 32);
    let (llrs, out) = (&llrs[..n], &mut out[..n]);
    match level.clamp_to(SimdLevel::detect()) {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the level is supported by this CPU (clamped to the detected one).
        SimdLevel::Avx2 | SimdLevel::Avx512 => unsafe {
            crate::simd::avx2::llr::quantize_descramble(llrs, scale, mask, out)
        },
        _ => crate::simd::scalar::llr::quantize_descramble(llrs, scale, mask, out),
    }
}
