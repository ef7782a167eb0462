//! Decoding a shared channel's codeword: HARQ soft buffers keyed by (RNTI,
//! HARQ id) (TS 38.321 §5.4.2), rate recovery and HARQ combining
//! (TS 38.212 §5.4.2), LDPC per code block with its CRC (§5.3.2, §5.2.2),
//! then the TB CRC (§5.1).
//!
//! The whole-TB decode is [`ShReceiver::decode`](super::ShReceiver::decode).
//! Split, for a pipeline's parallel tasks: [`ShReceiver::decode_prepare`](super::ShReceiver::decode_prepare)
//! takes the soft buffer and gives a [`SplitDecode`]; then
//! [`SplitDecode::decode_block`] runs per code block on that block's part
//! of the soft buffer and of the TB (caller-provided, disjoint slices, so
//! blocks can run on any threads in any order), and
//! [`ShReceiver::decode_finish`](super::ShReceiver::decode_finish) checks the TB CRC.

use super::{ShError, ShPlan, ShRxConfig};
use crate::coding::crc::CrcPoly;
use crate::coding::ldpc::{BaseGraph, DecoderConfig, LdpcDecoder};
use crate::coding::rate_match::HarqSoftBuffer;
use crate::coding::tb::{CbOutcome, TbPlan};
use crate::numerology::Numerology;
use std::ops::Range;

/// One HARQ soft buffer and whose it is.
pub(super) struct HarqEntry {
    /// (RNTI, HARQ id) of the TB in the buffer.
    pub(super) key: Option<(u16, u8)>,
    /// The NDI of the TB in the buffer: a retransmission with another NDI
    /// belongs to a TB whose first transmission never arrived.
    pub(super) ndi: bool,
    /// Waiting for a retransmission (the last decode failed).
    pub(super) pending: bool,
    /// Whether any transmission combined into it carried energy.
    pub(super) heard: bool,
    /// Recency stamp of the last use.
    pub(super) used: u64,
    pub(super) buf: HarqSoftBuffer,
}

/// A pool of HARQ soft buffers, keyed by (RNTI, HARQ id) and all sized at
/// construction ([`HarqBuffers::for_carrier`]). Decoding takes the pool
/// ([`ShReceiver::decode_with`](super::ShReceiver::decode_with) and the
/// other `_with` calls), so whoever holds it decides which receivers share
/// it: any receiver decodes any UE whose pool it is handed. A new TB takes the buffer of its own key, else a
/// free one (never used, or whose TB decoded), else the least recently used
/// (whose retransmission then decodes on its own).
///
/// A retransmission combines only with soft bits of its own TB: the buffer
/// must hold a TB of the same NDI whose last decode failed. Otherwise (its
/// first transmission was dropped or lost, so the buffer holds the previous,
/// already decoded TB of that HARQ process) it decodes alone: combining it
/// with another TB's soft bits can converge to that TB with a passing CRC,
/// and hand an old MAC PDU up as new.
pub struct HarqBuffers {
    pub(super) entries: Vec<HarqEntry>,
    clock: u64,
}

impl HarqBuffers {
    /// `count` (at least 1) soft buffers, each for the largest TB a carrier
    /// `num` can carry on `max_layers` layers.
    pub fn for_carrier(num: &Numerology, max_layers: usize, count: usize) -> Self {
        let (cap, max_cbs) = soft_buffer_bound(num.n_prb() as usize, max_layers);
        Self::new(count, cap, max_cbs)
    }

    /// Soft buffers in the pool.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the pool has no buffer (never: it has at least one).
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub(super) fn new(count: usize, capacity: usize, max_cbs: usize) -> Self {
        HarqBuffers {
            entries: (0..count.max(1))
                .map(|_| HarqEntry {
                    key: None,
                    ndi: false,
                    pending: false,
                    heard: false,
                    used: 0,
                    buf: HarqSoftBuffer::new(capacity, max_cbs),
                })
                .collect(),
            clock: 0,
        }
    }

    /// The buffer for (rnti, harq) and a TB with `new_data` and the NDI bit
    /// `ndi`; `fresh` is true when it holds nothing of this TB (a new TB, a
    /// retransmission whose buffer was lost, or one whose buffer holds
    /// another TB: a different NDI, or a TB that decoded).
    pub fn select(&mut self, rnti: u16, harq: u8, new_data: bool, ndi: bool) -> (usize, bool) {
        self.clock += 1;
        let key = Some((rnti, harq));
        if let Some(i) = self.entries.iter().position(|e| e.key == key) {
            let e = &mut self.entries[i];
            e.used = self.clock;
            let same_tb = e.ndi == ndi && e.pending;
            e.ndi = ndi;
            return (i, new_data || !same_tb);
        }
        let i = self
            .entries
            .iter()
            .enumerate()
            .min_by_key(|(_, e)| (e.key.is_some(), e.pending, e.used))
            .map(|(i, _)| i)
            .unwrap_or(0);
        let e = &mut self.entries[i];
        e.key = key;
        e.ndi = ndi;
        e.used = self.clock;
        (i, true)
    }
}

/// Soft-buffer LLRs (C·N) and code blocks C of the largest TB a carrier of
/// `n_prb` PRBs can carry on `layers` layers (an upper bound over every MCS
/// table and DM-RS pattern).
pub(super) fn soft_buffer_bound(n_prb: usize, layers: usize) -> (usize, usize) {
    // G ≤ 12·14 REs per PRB × Q_m ≤ 10 × layers; TBS < G (R < 1). Per block,
    // N = 3K (BG1) with K within 12.5 % of K' (lifting sizes), or N = 5K for
    // BG2 (R ≤ 1/4 or TBS ≤ 3824): C·N ≤ 3.4·G·R_max + 2·N_max.
    let g = 12 * 14 * n_prb.max(1) * 10 * layers.max(1);
    let max_cbs = g.div_ceil(8424) + 2;
    let cap = (g as f64 * 3.4) as usize + 2 * 25344;
    (cap, max_cbs)
}

/// A split decode prepared by [`ShReceiver::decode_prepare`](super::ShReceiver::decode_prepare):
/// the TB plan, the HARQ soft buffer it took and whether each block clears
/// its part of it first. Plain data the caller keeps until
/// [`ShReceiver::decode_finish`](super::ShReceiver::decode_finish).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SplitDecode {
    pub(super) tb: TbPlan,
    pub(super) rv: u8,
    /// HARQ entry in use.
    pub(super) entry: usize,
    /// The entry holds nothing of this TB (new data or a lost buffer).
    pub(super) fresh: bool,
    /// Each block clears its part of the soft buffer before combining
    /// (the buffer was laid out anew by `decode_prepare`).
    pub(super) clear: bool,
}

impl SplitDecode {
    /// Code blocks C.
    pub fn num_cb(&self) -> usize {
        self.tb.seg.num_cb
    }

    /// Soft-buffer LLRs per code block (N): block r's part is `r·N..(r+1)·N`.
    pub fn soft_per_cb(&self) -> usize {
        self.tb.seg.shape.n()
    }

    /// Payload bits per code block: block r writes bits `r·p..(r+1)·p` of
    /// the TB followed by its CRC.
    pub fn bits_per_cb(&self) -> usize {
        self.tb.seg.payload_per_cb()
    }

    /// Block r's soft-buffer range.
    pub fn soft_range(&self, r: usize) -> Range<usize> {
        let n = self.soft_per_cb();
        r * n..(r + 1) * n
    }

    /// Block r's range of TB (and CRC) bits.
    pub fn bits_range(&self, r: usize) -> Range<usize> {
        let p = self.bits_per_cb();
        r * p..(r + 1) * p
    }

    /// Code block `r` of `plan` (the plan it was prepared for): rate
    /// recovery of its E LLRs out of `llrs` (the G LLRs of the front end)
    /// and HARQ combining into `soft` (its N soft values, extent `filled`),
    /// LDPC decoding with its CRC (CRC24B, or the TB CRC when C = 1) on
    /// `dec` (one per thread), and its payload bits into `bits`. Blocks
    /// take disjoint parts ([`SplitDecode::soft_range`],
    /// [`SplitDecode::bits_range`]), so they can be decoded at once on
    /// several threads, in any order, with the same outcome.
    #[allow(clippy::too_many_arguments)]
    pub fn decode_block(
        &self,
        plan: &ShPlan,
        r: usize,
        llrs: &[i8],
        soft: &mut [i8],
        filled: &mut usize,
        bits: &mut [u8],
        dec: &mut CbDecoder,
    ) -> Result<CbOutcome, ShError> {
        if self.tb != plan.tb || self.rv != plan.rv {
            return Err(ShError::Size(
                "decode_block: not the prepared plan (call decode_prepare first)".into(),
            ));
        }
        let seg = &plan.tb.seg;
        let sh = seg.shape;
        if r >= seg.num_cb {
            return Err(ShError::Size(format!("code block {r} of {}", seg.num_cb)));
        }
        if soft.len() != sh.n() || bits.len() != seg.payload_per_cb() {
            return Err(ShError::Size(format!(
                "code block {r}: {} soft values and {} bits, it has {} and {}",
                soft.len(),
                bits.len(),
                sh.n(),
                seg.payload_per_cb()
            )));
        }
        let rm = plan
            .tb
            .rate_matcher(r, plan.rv)
            .map_err(|e| ShError::Coding(e.to_string()))?;
        let off = plan.tb.cb_offset(r);
        if off + rm.e > llrs.len() {
            return Err(ShError::Size(format!(
                "code block {r}'s LLRs beyond the front end's buffer"
            )));
        }
        let llrs = &llrs[off..off + rm.e];
        if self.clear {
            HarqSoftBuffer::clear_block(sh, soft);
        }
        let crc = if seg.num_cb > 1 {
            CrcPoly::Crc24B
        } else {
            seg.tb_crc
        };
        dec.decode(plan, rm, llrs, soft, filled, crc, bits)
            .map_err(ShError::Coding)
    }
}

/// The LDPC decoders of one task thread for [`SplitDecode::decode_block`]:
/// one per (BG, Z) met (made on first use), and rate-recovery scratch.
pub struct CbDecoder {
    config: DecoderConfig,
    decoders: Vec<((BaseGraph, usize), LdpcDecoder)>,
    scratch: Vec<i8>,
    bits: Vec<u8>,
}

impl CbDecoder {
    /// Decoders with the receiver settings `cfg` (iterations, min-sum, SIMD).
    pub fn new(cfg: &ShRxConfig) -> Self {
        CbDecoder {
            config: cfg.decoder_config(),
            decoders: Vec::new(),
            scratch: Vec::new(),
            bits: vec![0; 8448],
        }
    }

    /// Builds the LDPC decoder of every base graph and lifting size and
    /// room for code blocks of up to `max_e` LLRs, so that decoding
    /// allocates nothing whatever blocks come later (a pooled decoder may
    /// meet its first block long after warm-up).
    pub fn prepare_all(&mut self, max_e: usize) -> Result<(), ShError> {
        crate::coding::tb::prepare_decoders(&mut self.decoders, self.config)
            .map_err(|e| ShError::Coding(e.to_string()))?;
        if self.scratch.len() < max_e {
            self.scratch.resize(max_e, 0);
        }
        Ok(())
    }

    /// De-rate-matches `llrs` (block r's E values) into `soft` (its N, with
    /// extent `filled`), decodes it and writes its payload bits to `out`.
    #[allow(clippy::too_many_arguments)]
    fn decode(
        &mut self,
        plan: &ShPlan,
        rm: crate::coding::rate_match::CbRateMatcher,
        llrs: &[i8],
        soft: &mut [i8],
        filled: &mut usize,
        crc: CrcPoly,
        out: &mut [u8],
    ) -> Result<CbOutcome, String> {
        let sh = plan.tb.seg.shape;
        if self.scratch.len() < rm.e {
            self.scratch.resize(rm.e, 0);
        }
        let top = rm
            .derate_match(llrs, &mut self.scratch[..rm.e], soft)
            .map_err(|e| e.to_string())?;
        *filled = (*filled).max(top);
        let config = self.config;
        let dec = crate::coding::tb::coder(&mut self.decoders, sh.bg, sh.z, || {
            LdpcDecoder::new(sh.bg, sh.z as u16, config)
        })
        .map_err(|e| e.to_string())?;
        let bits = &mut self.bits[..sh.k];
        let o = dec
            .decode(soft, *filled, sh.k_prime, Some(crc), bits)
            .map_err(|e| e.to_string())?;
        out.copy_from_slice(&bits[..out.len()]);
        Ok(CbOutcome {
            iterations: o.iterations,
            parity_ok: o.parity_ok,
            crc_ok: o.crc_ok.unwrap_or(false),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::coding::tb::TbConfig;
    #[test]
    fn harq_buffers_keep_pending_tbs_and_reuse_decoded_ones() {
        let mut h = HarqBuffers::new(2, 16, 1);
        // Two TBs take the two buffers.
        assert_eq!(h.select(1, 0, true, true), (0, true));
        assert_eq!(h.select(2, 0, true, true), (1, true));
        h.entries[0].pending = true; // UE 1's TB failed
        h.entries[1].pending = false; // UE 2's decoded
                                      // A retransmission finds its own buffer and combines.
        assert_eq!(h.select(1, 0, false, true), (0, false));
        // A new TB of another key takes the decoded one, not the pending one.
        assert_eq!(h.select(3, 7, true, false), (1, true));
        h.entries[1].pending = true;
        // All pending: the least recently used is evicted (UE 1, used before UE 3).
        assert_eq!(h.select(4, 1, true, false), (0, true));
        // UE 1's retransmission lost its buffer: it decodes alone (fresh).
        let (i, fresh) = h.select(1, 0, false, true);
        assert!(fresh);
        assert_eq!(h.entries[i].key, Some((1, 0)));
    }

    #[test]
    fn retransmissions_never_combine_with_another_tb() {
        let mut h = HarqBuffers::new(2, 16, 1);
        // TB A (NDI 0) failed: its retransmission combines.
        assert_eq!(h.select(1, 0, true, false), (0, true));
        h.entries[0].pending = true;
        assert_eq!(h.select(1, 0, false, false), (0, false));
        // A decoded. TB B (NDI 1) lost its first transmission: B's
        // retransmission finds A's buffer under another NDI and decodes alone.
        h.entries[0].pending = false;
        assert_eq!(h.select(1, 0, false, true), (0, true));
        // Then B fails and its next retransmission combines with it.
        h.entries[0].pending = true;
        assert_eq!(h.select(1, 0, false, true), (0, false));
        // Without NDI toggling (same NDI): a decoded TB's buffer is not
        // combined with a retransmission either.
        h.entries[0].pending = false;
        assert_eq!(h.select(1, 0, false, true), (0, true));
    }

    #[test]
    fn soft_buffer_bound_holds_every_mcs() {
        use crate::coding::tbs::{
            mcs as mcs_of, transport_block_size, McsTable, TbScaling, TbsParams,
        };
        for (n_prb, layers) in [(1usize, 1usize), (25, 1), (106, 1), (273, 4), (52, 2)] {
            let (cap, max_cbs) = soft_buffer_bound(n_prb, layers);
            for table in 1..=3u8 {
                let Some(t) = McsTable::pusch(table, false) else {
                    continue;
                };
                for idx in 0..=28u8 {
                    let Ok(m) = mcs_of(t, idx, false) else {
                        continue;
                    };
                    for n_dmrs in [6u32, 12, 24] {
                        let Ok(info) = transport_block_size(&TbsParams {
                            n_prb: n_prb as u32,
                            n_symb_sh: 14,
                            n_dmrs_prb: n_dmrs,
                            n_oh: 0,
                            num_layers: layers as u8,
                            mcs: m,
                            scaling: TbScaling::One,
                        }) else {
                            continue;
                        };
                        let g = (168 - n_dmrs as usize) * n_prb * m.qm as usize * layers;
                        let plan = TbPlan::new(TbConfig {
                            tbs: info.tbs as usize,
                            r_x2048: m.r_x2048,
                            qm: m.qm,
                            num_layers: layers as u8,
                            g,
                            tbs_lbrm: None,
                        })
                        .unwrap();
                        assert!(
                            plan.soft_buffer_len() <= cap,
                            "{n_prb} PRB {layers} L table {table} MCS {idx}"
                        );
                        assert!(plan.num_cb() <= max_cbs);
                    }
                }
            }
        }
    }
}
