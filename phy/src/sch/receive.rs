//! The shared-channel receiver ([`ShReceiver`]): OFDM demodulation per
//! antenna and symbol, the front end ([`ShFrontEnd`]: channel estimation,
//! detection, soft demapping into the G `i8` LLRs), the decode (HARQ
//! combining into the soft buffer of the (RNTI, HARQ process), rate
//! recovery, LDPC per code block, CRCs) and the measurements.
//!
//! Stages a caller can run one by one: [`ShReceiver::demodulate_symbol`] →
//! [`ShReceiver::estimate_channel`] → [`ShReceiver::detect_symbol`] →
//! [`ShReceiver::demap`] → [`ShReceiver::decode`]; or whole,
//! [`ShReceiver::process_grid`]. The decode splits per code block
//! ([`ShReceiver::decode_prepare`], [`SplitDecode::decode_block`],
//! [`ShReceiver::decode_finish`]), bit for bit what the whole decode gives.

use super::decode::soft_buffer_bound;
use super::{
    HarqBuffers, ShError, ShFrontEnd, ShPlan, ShResult, ShRxConfig, SharedChannel, SplitDecode,
};
use crate::coding::tb::TbDecoder;
use crate::grid::ResourceGrid;
use crate::numerology::Numerology;
use crate::ofdm::OfdmDemodulator;
use num_complex::Complex32;

/// The buffers of a split decode ([`ShReceiver::split_buffers`]): the
/// front end's G LLRs, the HARQ soft buffer (C·N values and C extents) and
/// the TB bits followed by the TB CRC. Code block r takes its parts
/// ([`SplitDecode::soft_range`], [`SplitDecode::bits_range`]).
pub struct SplitBuffers<'a> {
    /// The LLR buffer of the receiver's front end (the G LLRs of the last demap first).
    pub llr: &'a [i8],
    /// The soft buffer, C·N values.
    pub soft: &'a mut [i8],
    /// The extent of each block's soft values, C of them.
    pub filled: &'a mut [usize],
    /// The TB bits a followed by its CRC bits p.
    pub bits: &'a mut [u8],
}

/// Shared-channel receiver: `pusch::PuschReceiver` is the gNB side of the
/// PUSCH, `pdsch::PdschReceiver` the UE side of the PDSCH. One per worker
/// thread; every buffer is made by the constructor.
///
/// HARQ soft buffers are a pool ([`HarqBuffers`]) that decoding is handed
/// (the `_with` calls), so receivers sharing a pool decode any UE of it. A
/// receiver from [`ShReceiver::new`] also has a pool of its own, which the
/// calls without `_with` use; one from [`ShReceiver::without_harq`] has none.
pub struct ShReceiver<L: SharedChannel> {
    _link: std::marker::PhantomData<L>,
    num: Numerology,
    cfg: ShRxConfig,
    demod: OfdmDemodulator,
    grid: ResourceGrid,
    front: ShFrontEnd,
    decoder: TbDecoder,
    /// The pool of the calls without `_with` (None: none of its own).
    harq: Option<HarqBuffers>,
    /// Code blocks of the largest TB.
    max_cbs: usize,
    /// The decoded TB bits a, followed by its CRC bits p for a split decode.
    tb: Vec<u8>,
}

impl<L: SharedChannel> ShReceiver<L> {
    /// Builds every LDPC decoder and buffer its whole-TB decode can need
    /// (all lifting sizes, the largest G), so that receiving allocates
    /// nothing afterwards whatever the MCS; a real-time job calls it once.
    pub fn prepare_all(&mut self) -> Result<(), ShError> {
        let max_g = 14 * self.num.n_sc() * self.cfg.max_layers * 10;
        self.decoder
            .prepare_all(max_g, self.max_cbs)
            .map_err(|e| ShError::Coding(e.to_string()))
    }

    /// A receiver for the carrier `num`, with a pool of `cfg.harq_buffers`
    /// HARQ soft buffers of its own.
    pub fn new(num: Numerology, cfg: ShRxConfig) -> Result<Self, ShError> {
        let mut rx = Self::without_harq(num, cfg)?;
        rx.harq = Some(HarqBuffers::for_carrier(
            &num,
            cfg.max_layers,
            cfg.harq_buffers,
        ));
        Ok(rx)
    }

    /// A receiver for the carrier `num` without HARQ soft buffers of its
    /// own: every decode takes a pool (the `_with` calls).
    pub fn without_harq(num: Numerology, cfg: ShRxConfig) -> Result<Self, ShError> {
        // Sizes are checked before the buffers sized from them are allocated:
        // a codeword has at most 4 layers (8 with two, TS 38.211 §7.3.1.3),
        // and every HARQ buffer holds the carrier's largest TB.
        if !(1..=8).contains(&cfg.max_layers)
            || !(1..=64).contains(&cfg.n_rx)
            || !(1..=64).contains(&cfg.harq_buffers)
        {
            return Err(ShError::Size(format!(
                "receiver of {} layers (1..=8), {} antennas (1..=64), {} HARQ buffers (1..=64)",
                cfg.max_layers, cfg.n_rx, cfg.harq_buffers
            )));
        }
        let n_sc = num.n_sc();
        let max_prb = num.n_prb() as usize;
        let max_g = 14 * n_sc * cfg.max_layers * 10;
        let decoder = TbDecoder::new(cfg.decoder_config());
        let (_, max_cbs) = soft_buffer_bound(max_prb, cfg.max_layers);
        Ok(ShReceiver {
            _link: std::marker::PhantomData,
            num,
            cfg,
            demod: OfdmDemodulator::new(num, cfg.ofdm)?,
            grid: ResourceGrid::new(cfg.n_rx, num.symbols_per_slot(), n_sc),
            front: ShFrontEnd::new(num, cfg)?,
            decoder,
            harq: None,
            max_cbs,
            tb: vec![0; max_g + 24],
        })
    }

    /// The carrier.
    pub fn numerology(&self) -> &Numerology {
        &self.num
    }

    /// The receiver's own front end (its LLRs, measurements and split steps).
    pub fn front(&self) -> &ShFrontEnd {
        &self.front
    }

    /// The plan of `pdu` on this carrier and antenna count.
    pub fn plan(&self, pdu: &L::Pdu) -> Result<ShPlan, ShError> {
        L::plan(pdu, self.num.n_prb(), self.cfg.n_rx as u16)
    }

    /// The received grid (antennas × symbols × carrier subcarriers), for
    /// callers that run OFDM elsewhere and write it directly.
    pub fn grid_mut(&mut self) -> &mut ResourceGrid {
        &mut self.grid
    }

    /// Stage: OFDM demodulation of symbol `l` of antenna `antenna`
    /// (`samples` = that symbol's CP + N samples) into the receive grid.
    pub fn demodulate_symbol(
        &mut self,
        slot: u32,
        antenna: usize,
        l: usize,
        samples: &[Complex32],
    ) -> Result<(), ShError> {
        if antenna >= self.cfg.n_rx {
            return Err(ShError::Size(format!(
                "antenna {antenna}, built for {}",
                self.cfg.n_rx
            )));
        }
        self.demod
            .demodulate_symbol(slot, l, samples, self.grid.symbol_mut(antenna, l))?;
        Ok(())
    }

    /// Stage: OFDM demodulation of a whole slot, one sample slice per antenna.
    pub fn demodulate_slot(&mut self, slot: u32, antennas: &[&[Complex32]]) -> Result<(), ShError> {
        if antennas.len() != self.cfg.n_rx {
            return Err(ShError::Size(format!(
                "{} antenna streams, built for {}",
                antennas.len(),
                self.cfg.n_rx
            )));
        }
        for (a, s) in antennas.iter().enumerate() {
            self.demod.demodulate_slot(slot, s, &mut self.grid, a)?;
        }
        Ok(())
    }

    /// Stage: channel estimation from the DM-RS of `grid` (`None`: the receiver's own).
    pub fn estimate_channel(
        &mut self,
        plan: &ShPlan,
        grid: Option<&ResourceGrid>,
    ) -> Result<(), ShError> {
        let g = grid.unwrap_or(&self.grid);
        self.front.estimate_channel(plan, g)
    }

    /// Stage: detection of symbol `l`, whose data REs start at codeword RE
    /// `first_re`; returns the REs detected.
    pub fn detect_symbol(
        &mut self,
        plan: &ShPlan,
        grid: Option<&ResourceGrid>,
        l: usize,
        first_re: usize,
    ) -> Result<usize, ShError> {
        let g = grid.unwrap_or(&self.grid);
        self.front.detect_symbol(plan, g, l, first_re)
    }

    /// Stage: soft demapping, quantisation ([`LLR_SCALE`](super::LLR_SCALE))
    /// and descrambling of the detected symbols into the G `i8` LLRs
    /// (positive: bit 0), returned.
    pub fn demap(&mut self, plan: &ShPlan) -> Result<&[i8], ShError> {
        self.front.demap(plan)
    }

    /// The receiver's own pool, taken out for `f` (moved, not copied) and put back.
    fn with_own<T>(
        &mut self,
        f: impl FnOnce(&mut Self, &mut HarqBuffers) -> Result<T, ShError>,
    ) -> Result<T, ShError> {
        let mut harq = self.harq.take().ok_or(ShError::Size(
            "receiver without HARQ buffers of its own: hand it a pool (the _with calls)".into(),
        ))?;
        let r = f(self, &mut harq);
        self.harq = Some(harq);
        r
    }

    /// Stage: HARQ combining into the soft buffer of (RNTI, HARQ id) (cleared
    /// by new data), rate recovery, LDPC decoding per code block and the
    /// CRCs, on the receiver's own pool ([`ShReceiver::decode_with`]).
    pub fn decode(&mut self, plan: &ShPlan) -> Result<(bool, u32), ShError> {
        self.with_own(|rx, harq| rx.decode_with(plan, harq))
    }

    /// [`ShReceiver::decode`] with the soft buffers of `harq`. Returns (TB
    /// CRC passed, LDPC iterations summed over blocks).
    ///
    /// A TB decoded to all zeros is reported as failed: with nothing but
    /// erased systematic bits (a lone rv 2 or 3, a silent channel) the
    /// decoder settles on the all-zero codeword, whose CRC (zero initial
    /// register, TS 38.212 §5.1) passes; a MAC PDU is never all zeros
    /// (padding has a subheader, TS 38.321 §6.1.2).
    pub fn decode_with(
        &mut self,
        plan: &ShPlan,
        harq: &mut HarqBuffers,
    ) -> Result<(bool, u32), ShError> {
        let (i, fresh) = harq.select(plan.rnti, plan.harq_id, plan.new_data, plan.ndi);
        let entry = &mut harq.entries[i];
        entry.heard = self.front.heard() || (!fresh && entry.heard);
        let out = self
            .decoder
            .decode(
                &plan.tb,
                self.front.llr(plan),
                plan.rv,
                &mut entry.buf,
                fresh,
                &mut self.tb[..plan.tbs],
            )
            .map_err(|e| ShError::Coding(e.to_string()))?;
        let iterations = out.cbs.iter().map(|c| c.iterations).sum();
        let ok = out.tb_crc_ok && entry.heard && self.tb[..plan.tbs].contains(&1);
        entry.pending = !ok;
        Ok((ok, iterations))
    }

    /// Split decode, step 1 of 3, on the receiver's own pool
    /// ([`ShReceiver::decode_prepare_with`]).
    pub fn decode_prepare(&mut self, plan: &ShPlan) -> Result<SplitDecode, ShError> {
        self.with_own(|rx, harq| rx.decode_prepare_with(plan, harq))
    }

    /// Split decode, step 1 of 3: takes the soft buffer of the PDU's (RNTI,
    /// HARQ id) in `harq` exactly as [`ShReceiver::decode_with`] does
    /// (cleared by new data), before or after the front end. Then
    /// [`SplitDecode::decode_block`] runs once per code block r = 0..C on
    /// block r's parts of [`ShReceiver::split_buffers_with`] (any order, any
    /// threads), and [`ShReceiver::decode_finish_with`] checks the TB CRC,
    /// with the same pool. The outcome equals [`ShReceiver::decode_with`]'s.
    pub fn decode_prepare_with(
        &mut self,
        plan: &ShPlan,
        harq: &mut HarqBuffers,
    ) -> Result<SplitDecode, ShError> {
        let seg = &plan.tb.seg;
        let c = seg.num_cb;
        if c > self.max_cbs || seg.b > self.tb.len() || plan.g > self.front.llr.len() {
            return Err(ShError::Size(format!(
                "{c} code blocks of a {} bit TB exceed the receiver's buffers",
                seg.tbs
            )));
        }
        let (i, fresh) = harq.select(plan.rnti, plan.harq_id, plan.new_data, plan.ndi);
        let entry = &mut harq.entries[i];
        let layout = (seg.shape, c, plan.tb.n_cb);
        // A new layout's blocks are cleared by decode_block, each its own
        // part, on whichever thread decodes it.
        let clear = fresh || entry.buf.layout() != Some(layout);
        if clear {
            entry
                .buf
                .reset_layout(seg.shape, c, plan.tb.n_cb)
                .map_err(|e| ShError::Coding(e.to_string()))?;
        }
        Ok(SplitDecode {
            tb: plan.tb,
            rv: plan.rv,
            entry: i,
            fresh,
            clear,
        })
    }

    /// The buffers the code blocks of `job` decode into, from the
    /// receiver's own pool ([`ShReceiver::split_buffers_with`]).
    pub fn split_buffers(&mut self, job: &SplitDecode) -> Result<SplitBuffers<'_>, ShError> {
        let harq = self.harq.as_mut().ok_or(ShError::Size(
            "receiver without HARQ buffers of its own: hand it a pool (the _with calls)".into(),
        ))?;
        Ok(split_buffers(&self.front, &mut self.tb, harq, job))
    }

    /// The buffers the code blocks of `job` decode into: the soft buffer it
    /// took in `harq`, the receiver's TB bits and its own front-end LLRs.
    pub fn split_buffers_with<'a>(
        &'a mut self,
        job: &SplitDecode,
        harq: &'a mut HarqBuffers,
    ) -> SplitBuffers<'a> {
        split_buffers(&self.front, &mut self.tb, harq, job)
    }

    /// Split decode, step 3, on the receiver's own pool
    /// ([`ShReceiver::decode_finish_with`]).
    pub fn decode_finish(
        &mut self,
        plan: &ShPlan,
        job: &SplitDecode,
        iterations: u32,
        heard: bool,
    ) -> Result<(bool, u32), ShError> {
        self.with_own(|rx, harq| rx.decode_finish_with(plan, job, iterations, heard, harq))
    }

    /// Split decode, step 3: after every block of `job`, the TB CRC (with
    /// the all-zero guard of [`ShReceiver::decode_with`]); `iterations` is
    /// the blocks' LDPC iterations summed, `heard` whether the front end
    /// heard anything ([`ShFrontEnd::heard`], or a split front end's
    /// chunks), `harq` the pool of [`ShReceiver::decode_prepare_with`].
    /// Returns (TB CRC passed, LDPC iterations summed over blocks).
    pub fn decode_finish_with(
        &mut self,
        plan: &ShPlan,
        job: &SplitDecode,
        iterations: u32,
        heard: bool,
        harq: &mut HarqBuffers,
    ) -> Result<(bool, u32), ShError> {
        if job.tb != plan.tb || job.entry >= harq.len() {
            return Err(ShError::Size("decode_finish: not the prepared plan".into()));
        }
        let seg = &plan.tb.seg;
        let a = seg.tbs;
        let l = seg.tb_crc.len();
        let want = self.tb[a..a + l]
            .iter()
            .fold(0u32, |acc, &b| (acc << 1) | (b & 1) as u32);
        let crc_ok = self.decoder.crcs().get(seg.tb_crc).remainder(&self.tb[..a]) == want;
        let e = &mut harq.entries[job.entry];
        e.heard = heard || (!job.fresh && e.heard);
        let ok = crc_ok && e.heard && self.tb[..a].contains(&1);
        e.pending = !ok;
        Ok((ok, iterations))
    }

    /// The decoded transport block of the last decode (A bits).
    pub fn transport_block(&self, plan: &ShPlan) -> &[u8] {
        &self.tb[..plan.tbs]
    }

    /// Split processing, step 1: the front end of one PDU on a (possibly
    /// shared, read-only) `grid` (`None`: the receiver's own grid): channel
    /// estimation, detection, soft demapping and quantisation, then
    /// [`ShReceiver::decode_prepare`]. Then [`SplitDecode::decode_block`]
    /// runs for every code block and [`ShReceiver::finish_result`] builds
    /// the result; together they give what [`ShReceiver::process_grid`] gives.
    pub fn front_end(
        &mut self,
        plan: &ShPlan,
        grid: Option<&ResourceGrid>,
    ) -> Result<SplitDecode, ShError> {
        let g = grid.unwrap_or(&self.grid);
        self.front.process(plan, g)?;
        self.decode_prepare(plan)
    }

    /// Split processing, last step: [`ShReceiver::decode_finish`] and the
    /// measurements (SINR, EVM, timing, CFO) of the receiver's front end.
    pub fn finish_result(
        &mut self,
        plan: &ShPlan,
        job: &SplitDecode,
        iterations: u32,
    ) -> Result<ShResult, ShError> {
        let heard = self.front.heard();
        let (crc_ok, iterations) = self.decode_finish(plan, job, iterations, heard)?;
        Ok(self.front.result_of(plan, crc_ok, iterations))
    }

    /// Every stage from a received grid (`None`: the receiver's own grid,
    /// filled by the OFDM stages or [`ShReceiver::grid_mut`]): the front
    /// end, the whole-TB decode and the result, in one call.
    pub fn process_grid(
        &mut self,
        pdu: &L::Pdu,
        grid: Option<&ResourceGrid>,
    ) -> Result<ShResult, ShError> {
        self.with_own(|rx, harq| rx.process_grid_with(pdu, grid, harq))
    }

    /// [`ShReceiver::process_grid`] decoding with the soft buffers of `harq`.
    pub fn process_grid_with(
        &mut self,
        pdu: &L::Pdu,
        grid: Option<&ResourceGrid>,
        harq: &mut HarqBuffers,
    ) -> Result<ShResult, ShError> {
        let plan = self.plan(pdu)?;
        let g = grid.unwrap_or(&self.grid);
        self.front.process(&plan, g)?;
        let (crc_ok, iterations) = self.decode_with(&plan, harq)?;
        Ok(self.front.result_of(&plan, crc_ok, iterations))
    }

    /// Every stage from time samples, one slice of `slot_len(slot)` samples per antenna.
    pub fn process_samples(
        &mut self,
        pdu: &L::Pdu,
        antennas: &[&[Complex32]],
    ) -> Result<ShResult, ShError> {
        self.demodulate_slot(L::slot(pdu), antennas)?;
        self.process_grid(pdu, None)
    }
}

/// The split-decode buffers of `job` in `harq`, with the TB bits `tb` and
/// the LLRs of `front`.
fn split_buffers<'a>(
    front: &'a ShFrontEnd,
    tb: &'a mut [u8],
    harq: &'a mut HarqBuffers,
    job: &SplitDecode,
) -> SplitBuffers<'a> {
    let (soft, filled) = harq.entries[job.entry].buf.cbs_mut();
    let c = job.num_cb();
    let n = c * job.soft_per_cb();
    SplitBuffers {
        llr: &front.llr[..],
        soft: &mut soft[..n],
        filled: &mut filled[..c],
        bits: &mut tb[..c * job.bits_per_cb()],
    }
}
