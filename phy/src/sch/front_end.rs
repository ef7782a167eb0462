//! The receive front end of one shared channel ([`ShFrontEnd`]): channel
//! estimation and detection ([`RxFrontEnd`]), then soft demapping (max-log
//! LLRs scaled by the post-equalisation noise variance), quantisation to
//! `i8` at [`LLR_SCALE`] and descrambling (TS 38.211 §6.3.1.1 / §7.3.1.1)
//! in one SIMD pass, into the G LLRs the decoder takes.
//!
//! Whole-slot calls run on the front end's own buffers. The split steps a
//! pipeline runs as parallel tasks take `&self` and the state they work on
//! from the caller: the estimate ([`ChannelEstimate`]), a DM-RS position's
//! work ([`ChestPosition`]), a block of symbols' codeword symbols, a chunk
//! of [`DEMAP_CHUNK`] codeword symbols and its LLRs, and the calling
//! thread's [`FrontScratch`]. Together they give what the whole-slot calls
//! give, bit for bit.

use super::{
    evm_percent_with, post_sinr_db, qm_slot, quantize_descramble, DetectScratch, RxFrontEnd,
    ShError, ShPlan, ShResult, ShRxConfig, LLR_SCALE, QMS,
};
use crate::chest::{ChannelEstimate, ChestPosition};
use crate::grid::ResourceGrid;
use crate::modulation::{Demapper, Modulation};
use crate::numerology::Numerology;
use crate::refsig::gold::GoldSequence;
use crate::simd::SimdLevel;
use num_complex::{Complex32, Complex64};
use std::ops::Range;

/// Codeword symbols demapped per chunk: their float LLRs stay in L1 before
/// they are quantised (a multiple of 32 LLRs for every Q_m, so the
/// scrambling words stay aligned). Chunk c holds codeword symbols
/// `c·DEMAP_CHUNK..` ([`ShPlan::demap_chunk`]).
pub const DEMAP_CHUNK: usize = 256;

/// The scratch of one thread running the split steps
/// ([`ShFrontEnd::detect_symbols`], [`ShFrontEnd::demap_chunk`]): detection
/// planes, one chunk of float LLRs, its scrambling words and the
/// scrambling generator where the last chunk left it.
pub struct FrontScratch {
    detect: DetectScratch,
    llr_f: Vec<f32>,
    mask: Vec<u32>,
    /// (c_init, bit position, generator there) after the last chunk.
    gold: Option<(u32, usize, GoldSequence)>,
}

impl Default for FrontScratch {
    /// Empty scratch (no allocation); [`ShFrontEnd::new_scratch`] makes a usable one.
    fn default() -> Self {
        FrontScratch {
            detect: DetectScratch::default(),
            llr_f: Vec::new(),
            mask: Vec::new(),
            gold: None,
        }
    }
}

/// The scrambling generator of `c_init` at bit `bit`: the one the last
/// chunk left in `gold` when it is of the same sequence and not beyond
/// `bit` (the chunks a thread demaps mostly come in increasing order), else
/// a new one. The sequence depends only on the position, so either way the
/// bits are the same.
fn gold_at(
    gold: &mut Option<(u32, usize, GoldSequence)>,
    c_init: u32,
    bit: usize,
) -> &mut GoldSequence {
    let reuse = matches!(gold, Some((c, at, _)) if *c == c_init && *at <= bit);
    if !reuse {
        *gold = Some((c_init, 0, GoldSequence::new(c_init)));
    }
    let (_, at, gen) = gold.as_mut().expect("set above");
    gen.skip(bit - *at);
    *at = bit;
    gen
}

/// Soft demapping, quantisation ([`LLR_SCALE`]) and descrambling of the
/// codeword symbols `d` (noise variances `nv`, at most [`DEMAP_CHUNK`]) into
/// `out` (Q_m per symbol), with `gold` at the chunk's first bit. Returns
/// whether any LLR is non-zero, and the symbols erased (non-finite: LLRs 0).
#[allow(clippy::too_many_arguments)]
fn demap_chunk(
    demapper: &Demapper,
    level: SimdLevel,
    d: &[Complex32],
    nv: &[f32],
    gold: &mut GoldSequence,
    llr_f: &mut [f32],
    mask: &mut [u32],
    out: &mut [i8],
) -> Result<(bool, u32), ShError> {
    let n = out.len();
    let f = &mut llr_f[..n];
    let erased = demapper
        .demap(d, nv, f)
        .map_err(|e| ShError::Coding(e.to_string()))?;
    let words = n.div_ceil(32);
    for w in &mut mask[..words] {
        *w = gold.next_word();
    }
    let heard = quantize_descramble(level, f, LLR_SCALE, &mask[..words], out);
    Ok((heard, erased as u32))
}

/// The receive front end of one shared channel: channel estimation,
/// detection, soft demapping, quantisation and descrambling into the G
/// `i8` LLRs. A [`ShReceiver`](super::ShReceiver) has its own and runs it
/// whole ([`ShFrontEnd::process`]).
///
/// Split steps (a pipeline runs them as tasks, each `&self` on the
/// caller's state): [`ShFrontEnd::chest_begin`], then per DM-RS position
/// [`ShFrontEnd::chest_position`] and [`ShFrontEnd::chest_interpolate`],
/// then [`ShFrontEnd::chest_combine`], then [`ShFrontEnd::detect_symbols`]
/// per block of symbols and [`ShFrontEnd::demap_chunk`] per chunk of
/// codeword symbols once every symbol it holds is detected; then
/// [`ShFrontEnd::split_result`].
pub struct ShFrontEnd {
    num: Numerology,
    cfg: ShRxConfig,
    fe: RxFrontEnd,
    demappers: Vec<Demapper>,
    /// Own scratch (whole-slot calls).
    scratch: FrontScratch,
    /// The G quantised, descrambled LLRs of the slot (whole-slot calls).
    pub(super) llr: Vec<i8>,
    /// Whether the last demapped slot carried any non-zero LLR.
    heard: bool,
    /// Codeword symbols of the last slot erased by the demapper.
    erased: u32,
    n_sym: usize,
}

impl ShFrontEnd {
    /// A front end for the carrier `num` and the receiver settings `cfg`
    /// (antennas, layers, estimator, detector, instruction set).
    pub fn new(num: Numerology, cfg: ShRxConfig) -> Result<Self, ShError> {
        let n_sc = num.n_sc();
        let fe = RxFrontEnd::new(
            cfg.n_rx,
            cfg.max_layers,
            num.n_prb() as usize,
            cfg.chest,
            cfg.equalizer,
            cfg.level,
        )?;
        let max_g = 14 * n_sc * cfg.max_layers * 10;
        let mut f = ShFrontEnd {
            num,
            cfg,
            fe,
            demappers: QMS
                .iter()
                .map(|&q| {
                    Demapper::with_level(
                        Modulation::from_qm(q, false).unwrap_or(Modulation::Qpsk),
                        cfg.level,
                    )
                })
                .collect(),
            scratch: FrontScratch::default(),
            llr: vec![0; max_g],
            heard: false,
            erased: 0,
            n_sym: 0,
        };
        f.scratch = f.new_scratch();
        Ok(f)
    }

    /// The carrier.
    pub fn numerology(&self) -> &Numerology {
        &self.num
    }

    /// Scratch for one thread running the split steps.
    pub fn new_scratch(&self) -> FrontScratch {
        FrontScratch {
            detect: self.fe.new_scratch(),
            llr_f: vec![0.0; DEMAP_CHUNK * 10],
            mask: vec![0; DEMAP_CHUNK * 10 / 32],
            gold: None,
        }
    }

    /// A channel estimate sized for this front end (split steps).
    pub fn new_estimate(&self) -> ChannelEstimate {
        self.fe.new_estimate()
    }

    /// The work of one DM-RS position sized for this front end (split steps).
    pub fn new_position(&self) -> ChestPosition {
        self.fe.new_position()
    }

    /// Codeword symbols (n_RE·v) of the largest allocation: the length of
    /// the codeword buffers of the split steps (LLRs: 10 per symbol).
    pub fn max_codeword(&self) -> usize {
        self.fe.codeword_len()
    }

    /// Stage: channel estimation from the DM-RS of `g`.
    pub fn estimate_channel(&mut self, plan: &ShPlan, g: &ResourceGrid) -> Result<(), ShError> {
        self.fe.estimate_channel(&self.num, &plan.layout, g)?;
        Ok(())
    }

    /// Stage: detection of symbol `l`, whose data REs start at codeword RE
    /// `first_re`; returns the REs detected.
    pub fn detect_symbol(
        &mut self,
        plan: &ShPlan,
        g: &ResourceGrid,
        l: usize,
        first_re: usize,
    ) -> Result<usize, ShError> {
        Ok(self.fe.detect_symbol(&plan.layout, g, l, first_re)?)
    }

    /// Stage: soft demapping, quantisation ([`LLR_SCALE`]) and descrambling
    /// of the detected symbols into the G `i8` LLRs (positive: bit 0), returned.
    pub fn demap(&mut self, plan: &ShPlan) -> Result<&[i8], ShError> {
        let qm = plan.qm;
        let n_sym = plan.g / qm;
        if plan.g > self.llr.len() || n_sym > self.fe.codeword_len() {
            return Err(ShError::Size(format!(
                "{n_sym} codeword symbols exceed the receiver's buffers"
            )));
        }
        let (d, nv) = self.fe.symbols(n_sym);
        let demapper = &self.demappers[qm_slot(qm)];
        let mut gold = GoldSequence::new(plan.c_init);
        let (mut heard, mut erased) = (false, 0);
        let s = &mut self.scratch;
        for (c, (dc, nc)) in d
            .chunks(DEMAP_CHUNK)
            .zip(nv.chunks(DEMAP_CHUNK))
            .enumerate()
        {
            let off = c * DEMAP_CHUNK * qm;
            let out = &mut self.llr[off..off + dc.len() * qm];
            let (h, e) = demap_chunk(
                demapper,
                self.cfg.level,
                dc,
                nc,
                &mut gold,
                &mut s.llr_f,
                &mut s.mask,
                out,
            )?;
            heard |= h;
            erased += e;
        }
        self.heard = heard;
        self.erased = erased;
        self.n_sym = n_sym;
        Ok(&self.llr[..plan.g])
    }

    /// The G LLRs of the last [`ShFrontEnd::demap`] or [`ShFrontEnd::process`].
    pub fn llr(&self, plan: &ShPlan) -> &[i8] {
        &self.llr[..plan.g.min(self.llr.len())]
    }

    /// Checks that `g` holds the allocation of `plan` on the receiver's antennas.
    fn check_grid(&self, plan: &ShPlan, g: &ResourceGrid) -> Result<(), ShError> {
        if g.ports() != self.cfg.n_rx
            || g.n_sc() < plan.layout.first_sc() + plan.layout.n_sc()
            || g.symbols() < 14
        {
            return Err(ShError::Size(format!(
                "grid of {} antennas × {} symbols × {} subcarriers does not hold the allocation on {} antennas",
                g.ports(),
                g.symbols(),
                g.n_sc(),
                self.cfg.n_rx
            )));
        }
        Ok(())
    }

    /// Channel estimation, detection and demapping of `plan` from `g`, on
    /// this thread and the front end's own buffers.
    pub fn process(&mut self, plan: &ShPlan, g: &ResourceGrid) -> Result<(), ShError> {
        self.check_grid(plan, g)?;
        self.estimate_channel(plan, g)?;
        let lay = &plan.layout;
        let mut first = 0;
        for l in lay.start_symbol..lay.start_symbol + lay.n_symbols {
            first += self.fe.detect_symbol(lay, g, l, first)?;
        }
        self.demap(plan)?;
        Ok(())
    }

    /// Whether the last demapped slot carried any non-zero LLR.
    pub fn heard(&self) -> bool {
        self.heard
    }

    /// The measurements of the last whole-slot front end with the decode outcome.
    pub fn result_of(&self, plan: &ShPlan, crc_ok: bool, iterations: u32) -> ShResult {
        let (d, nv) = self.fe.symbols(self.n_sym);
        self.split_result(
            plan,
            self.fe.estimate(),
            d,
            nv,
            self.erased,
            crc_ok,
            iterations,
        )
    }

    /// Split front end, step 1: checks `g` against `plan`, the front end's
    /// sizes and the storage of `est`. Returns the DM-RS positions P: steps
    /// 2 and 3 ([`ShFrontEnd::chest_position`], then
    /// [`ShFrontEnd::chest_interpolate`]) run for p = 0..P in any order, on
    /// any threads, each on the position's own [`ChestPosition`].
    pub fn chest_begin(
        &self,
        plan: &ShPlan,
        g: &ResourceGrid,
        est: &ChannelEstimate,
    ) -> Result<usize, ShError> {
        self.check_grid(plan, g)?;
        let n_sym = plan.g / plan.qm;
        if plan.g > self.llr.len() || n_sym > self.fe.codeword_len() {
            return Err(ShError::Size(format!(
                "{n_sym} codeword symbols exceed the receiver's buffers"
            )));
        }
        Ok(self.fe.chest_check(&plan.layout, g, est)?)
    }

    /// Split front end, step 2 for DM-RS position `pos`: least squares on
    /// the DM-RS REs (TS 38.211 §6.4.1.1.3) and the position's timing
    /// correlation, into `w`. Needs the same `g` as [`ShFrontEnd::chest_begin`].
    pub fn chest_position(
        &self,
        plan: &ShPlan,
        g: &ResourceGrid,
        pos: usize,
        w: &mut ChestPosition,
    ) {
        self.fe.chest_position(&plan.layout, g, pos, w);
    }

    /// Split front end, step 3 for the position of `w`, after step 2 of
    /// every position (the delay is pooled over them: `corrs` are their
    /// [`ChestPosition::correlation`]s in position order): delay
    /// de-rotation, CDM despreading and frequency interpolation.
    pub fn chest_interpolate(&self, plan: &ShPlan, corrs: &[Complex64], w: &mut ChestPosition) {
        self.fe.chest_interpolate(&self.num, &plan.layout, corrs, w);
    }

    /// Split front end, step 4, after step 3 of every position (`work`, in
    /// position order): noise variance, CFO, time averaging and SNR into `est`.
    pub fn chest_combine(
        &self,
        plan: &ShPlan,
        work: &mut [&mut ChestPosition],
        est: &mut ChannelEstimate,
    ) {
        self.fe.chest_combine(&self.num, &plan.layout, work, est);
    }

    /// Split front end, step 5: detection (ZF/MMSE per RE, CFO phase, layer
    /// demapping) with the estimate `est` of the allocated symbols among
    /// `symbols` into `d` and `dnv`, their codeword symbols
    /// ([`ShPlan::codeword_range`]`(symbols)`, exactly). `scratch` is the
    /// calling thread's; `g` as in [`ShFrontEnd::chest_begin`]. Blocks of
    /// symbols can be detected on several threads at once, in any order.
    #[allow(clippy::too_many_arguments)]
    pub fn detect_symbols(
        &self,
        plan: &ShPlan,
        g: &ResourceGrid,
        est: &ChannelEstimate,
        symbols: Range<usize>,
        scratch: &mut FrontScratch,
        d: &mut [Complex32],
        dnv: &mut [f32],
    ) -> Result<(), ShError> {
        let lay = &plan.layout;
        let v = lay.layers();
        let cw = plan.codeword_range(symbols.clone());
        if d.len() != cw.len() || dnv.len() != cw.len() {
            return Err(ShError::Size(format!(
                "detect_symbols: {} codeword symbols for symbols {symbols:?}, which have {}",
                d.len().min(dnv.len()),
                cw.len()
            )));
        }
        let range = symbols.start.max(lay.start_symbol)
            ..symbols.end.min(lay.start_symbol + lay.n_symbols).min(14);
        for l in range {
            let a = v * lay.res_before(l) - cw.start;
            let b = a + v * lay.res_on_symbol(l);
            if a == b {
                continue;
            }
            self.fe.detect_symbol_into(
                est,
                &mut scratch.detect,
                lay,
                g,
                l,
                &mut d[a..b],
                &mut dnv[a..b],
            )?;
        }
        Ok(())
    }

    /// Split front end, step 6 for chunk `c` of the codeword
    /// ([`ShPlan::demap_chunk`]), once every symbol it holds is detected:
    /// soft demapping, quantisation and descrambling of its codeword
    /// symbols `d` (noise variances `nv`) into its LLRs `out` (Q_m per
    /// symbol). Returns whether any LLR is non-zero and the symbols erased.
    #[allow(clippy::too_many_arguments)]
    pub fn demap_chunk(
        &self,
        plan: &ShPlan,
        c: usize,
        d: &[Complex32],
        nv: &[f32],
        out: &mut [i8],
        scratch: &mut FrontScratch,
    ) -> Result<(bool, u32), ShError> {
        let qm = plan.qm;
        let want = plan.demap_chunk(c);
        if d.len() != want.len() || nv.len() != want.len() || out.len() != want.len() * qm {
            return Err(ShError::Size(format!(
                "demap_chunk {c}: {} symbols and {} LLRs, the chunk has {} symbols",
                d.len().min(nv.len()),
                out.len(),
                want.len()
            )));
        }
        let bit = want.start * qm;
        let FrontScratch {
            llr_f, mask, gold, ..
        } = scratch;
        let gen = gold_at(gold, plan.c_init, bit);
        let r = demap_chunk(
            &self.demappers[qm_slot(qm)],
            self.cfg.level,
            d,
            nv,
            gen,
            llr_f,
            mask,
            out,
        )?;
        // The chunk used whole scrambling words.
        if let Some((_, at, _)) = gold {
            *at = bit + out.len().div_ceil(32) * 32;
        }
        Ok(r)
    }

    /// The measurements of a split front end with the decode outcome:
    /// `est` its estimate, `d` and `nv` its n_RE·v codeword symbols and
    /// noise variances, `erased` the symbols its chunks erased.
    #[allow(clippy::too_many_arguments)]
    pub fn split_result(
        &self,
        plan: &ShPlan,
        est: &ChannelEstimate,
        d: &[Complex32],
        nv: &[f32],
        erased: u32,
        crc_ok: bool,
        iterations: u32,
    ) -> ShResult {
        ShResult {
            crc_ok,
            sinr_db: post_sinr_db(nv),
            dmrs_snr_db: est.sinr_db(0),
            evm_percent: evm_percent_with(self.cfg.level, d, plan.qm),
            timing_offset_s: est.timing_offset_s(),
            cfo_hz: est.cfo_hz().unwrap_or(0.0),
            noise_var: est.noise_var(),
            ldpc_iterations: iterations,
            erased_res: erased,
            erased_dmrs_res: est.erased_dmrs_res(),
        }
    }
}
