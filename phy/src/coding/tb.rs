//! The transport-block coding chains of the shared channels (TS 38.212 §6.2
//! UL-SCH, §7.2 DL-SCH): [`TbEncoder`] and [`TbDecoder`].
//!
//! Transmitter, A TB bits -> G coded bits: TB CRC (§7.2.1), segmentation and
//! CB CRC24B (§5.2.2), LDPC encoding (§5.3.2), rate matching with E_r per
//! block and bit interleaving (§5.4.2), concatenation (§5.5). Scrambling and
//! modulation (TS 38.211) are the physical channel's.
//!
//! Receiver, G LLRs (descrambled, i8, positive = 0) -> A bits: de-interleave
//! and de-rate-match into the HARQ process's soft buffer (combining with what
//! earlier rvs left there), LDPC-decode each block with its CB CRC (or the TB
//! CRC when C = 1) for early termination, reassemble and check the TB CRC.
//!
//! Plan once, run many: [`TbPlan`] is plain arithmetic (no allocation) made
//! from a [`TbConfig`]; encoders/decoders keep one LDPC coder per (BG, Z)
//! they have met and scratch that grows to the largest block seen, so a
//! steady stream of slots allocates nothing.
//!
//! ```text
//! let plan = TbPlan::new(TbConfig { tbs, r_x2048, qm, num_layers, g, tbs_lbrm: None })?;
//! encoder.encode(&plan, &tb_bits, rv, &mut coded /* G */)?;
//! let out = decoder.decode(&plan, &llrs /* G */, rv, pool.get_mut(harq)?, new_data, &mut tb /* A */)?;
//! out.tb_crc_ok; out.cbs[r].crc_ok; out.cbs[r].iterations
//! ```

use crate::coding::crc::{CrcPoly, CrcSet};
use crate::coding::ldpc::{
    BaseGraph, DecoderConfig, LdpcDecoder, LdpcEncoder, LdpcError, LIFTING_SIZES,
};
use crate::coding::rate_match::{
    circular_buffer_len, e_r, CbRateMatcher, HarqSoftBuffer, RateMatchError, SoftBufferError,
};
use crate::coding::segmentation::{select_base_graph, Segmentation, SegmentationError};
use thiserror::Error;

/// Why a TB could not be planned, encoded or decoded.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TbError {
    /// Segmentation refused the TB size.
    #[error("segmentation: {0}")]
    Segmentation(#[from] SegmentationError),
    /// Rate matching refused a block.
    #[error("rate matching: {0}")]
    RateMatch(#[from] RateMatchError),
    /// The soft buffer is too small or missing.
    #[error("soft buffer: {0}")]
    SoftBuffer(#[from] SoftBufferError),
    /// The LDPC coder failed.
    #[error("LDPC: {0}")]
    Ldpc(#[from] LdpcError),
    /// A caller buffer of the wrong length.
    #[error("{what}: length {got}, expected {expected}")]
    Length {
        /// Which buffer.
        what: &'static str,
        /// Its length.
        got: usize,
        /// Required length.
        expected: usize,
    },
    /// A configuration value out of range.
    #[error("{0}")]
    Config(String),
}

/// What a TB transmission needs to know (TS 38.214 gives TBS and R, the
/// resource grid gives G).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TbConfig {
    /// Transport block size A (bits).
    pub tbs: usize,
    /// Target code rate R·2048 of the MCS (selects the base graph, §7.2.2).
    pub r_x2048: u32,
    /// Modulation order Q_m (1, 2, 4, 6, 8, 10).
    pub qm: u8,
    /// Layers N_L of the codeword.
    pub num_layers: u8,
    /// G: coded bits available to the TB.
    pub g: usize,
    /// TBS_LBRM for limited-buffer rate matching (I_LBRM = 1), or None.
    pub tbs_lbrm: Option<u32>,
}

/// The fixed arithmetic of one TB configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TbPlan {
    /// The configuration.
    pub cfg: TbConfig,
    /// Base graph, C, K', Z, fillers ...
    pub seg: Segmentation,
    /// N_cb of every block.
    pub n_cb: usize,
}

impl TbPlan {
    /// Plans `cfg` with the base graph of §7.2.2.
    pub fn new(cfg: TbConfig) -> Result<Self, TbError> {
        Self::with_base_graph(cfg, select_base_graph(cfg.tbs, cfg.r_x2048))
    }

    /// Plans `cfg` with a given base graph.
    pub fn with_base_graph(cfg: TbConfig, bg: BaseGraph) -> Result<Self, TbError> {
        if !matches!(cfg.qm, 1 | 2 | 4 | 6 | 8 | 10) {
            return Err(RateMatchError::Qm(cfg.qm).into());
        }
        if cfg.num_layers == 0 || cfg.num_layers > 8 {
            return Err(TbError::Config(format!(
                "num_layers {} (allowed: 1..=8)",
                cfg.num_layers
            )));
        }
        let seg = Segmentation::new(cfg.tbs, bg)?;
        let unit = cfg.num_layers as usize * cfg.qm as usize;
        if !cfg.g.is_multiple_of(unit) || cfg.g / unit < seg.num_cb {
            return Err(RateMatchError::G { g: cfg.g, unit }.into());
        }
        let n_cb = circular_buffer_len(&seg.shape, seg.num_cb, cfg.tbs_lbrm);
        let plan = TbPlan { cfg, seg, n_cb };
        // Validates N_cb against the fillers once (E and rv are known-good).
        plan.rate_matcher(0, 0)?;
        Ok(plan)
    }

    /// C.
    pub fn num_cb(&self) -> usize {
        self.seg.num_cb
    }

    /// E_r of block `r`.
    pub fn e_r(&self, r: usize) -> usize {
        e_r(
            self.cfg.g,
            self.seg.num_cb,
            self.cfg.num_layers as usize,
            self.cfg.qm as usize,
            r,
        )
    }

    /// Where block `r`'s bits start in the G concatenated bits (§5.5).
    pub fn cb_offset(&self, r: usize) -> usize {
        let c = self.seg.num_cb;
        let small_blocks =
            c - (self.cfg.g / (self.cfg.num_layers as usize * self.cfg.qm as usize)) % c;
        let small = self.e_r(0);
        if r <= small_blocks {
            r * small
        } else {
            small_blocks * small + (r - small_blocks) * self.e_r(c - 1)
        }
    }

    /// The rate matcher of block `r` for `rv`.
    pub fn rate_matcher(&self, r: usize, rv: u8) -> Result<CbRateMatcher, RateMatchError> {
        CbRateMatcher::new(self.seg.shape, self.n_cb, rv, self.e_r(r), self.cfg.qm)
    }

    /// Soft-buffer LLRs one HARQ process needs for this TB: C·N.
    pub fn soft_buffer_len(&self) -> usize {
        self.seg.num_cb * self.seg.shape.n()
    }
}

/// Bits of the virtual sequence a ‖ p in [start, end): the part in `a` and the part in `p`.
fn virtual_ranges(
    al: usize,
    start: usize,
    end: usize,
) -> (std::ops::Range<usize>, std::ops::Range<usize>) {
    let a_end = end.min(al);
    let a_start = start.min(a_end);
    let p_start = start.max(al) - al;
    let p_end = end.max(al) - al;
    (a_start..a_end, p_start..p_end)
}

/// Copies bits [start, start+dst.len()) of the virtual sequence a ‖ p into dst.
fn copy_virtual(a: &[u8], p: &[u8], start: usize, dst: &mut [u8]) {
    let (ra, rp) = virtual_ranges(a.len(), start, start + dst.len());
    let (d0, d1) = dst.split_at_mut(ra.len());
    d0.copy_from_slice(&a[ra]);
    d1.copy_from_slice(&p[rp]);
}

/// Writes src into bits [start, ..) of the virtual sequence a ‖ p.
fn store_virtual(a: &mut [u8], p: &mut [u8], start: usize, src: &[u8]) {
    let (ra, rp) = virtual_ranges(a.len(), start, start + src.len());
    let (s0, s1) = src.split_at(ra.len());
    a[ra].copy_from_slice(s0);
    p[rp].copy_from_slice(s1);
}

fn grow<T: Copy + Default>(v: &mut Vec<T>, len: usize) {
    if v.len() < len {
        v.resize(len, T::default());
    }
}

/// Adds the LDPC decoder of every base graph and lifting size (TS 38.212
/// Table 5.3.2-1) missing from `list`, so that no later code block builds
/// one. Zero-initialised buffers: memory is touched only by sizes in use.
pub(crate) fn prepare_decoders(
    list: &mut Vec<((BaseGraph, usize), LdpcDecoder)>,
    config: DecoderConfig,
) -> Result<(), LdpcError> {
    for bg in [BaseGraph::Bg1, BaseGraph::Bg2] {
        for &z in LIFTING_SIZES.iter() {
            coder(list, bg, z as usize, || LdpcDecoder::new(bg, z, config))?;
        }
    }
    Ok(())
}

/// Finds or makes the coder for (bg, z).
pub(crate) fn coder<T>(
    list: &mut Vec<((BaseGraph, usize), T)>,
    bg: BaseGraph,
    z: usize,
    make: impl FnOnce() -> Result<T, LdpcError>,
) -> Result<&mut T, LdpcError> {
    let i = match list.iter().position(|(k, _)| *k == (bg, z)) {
        Some(i) => i,
        None => {
            list.push(((bg, z), make()?));
            list.len() - 1
        }
    };
    Ok(&mut list[i].1)
}

/// Transport-block encoder: A bits -> G rate-matched, concatenated bits.
pub struct TbEncoder {
    encoders: Vec<((BaseGraph, usize), LdpcEncoder)>,
    cb: Vec<u8>,
    codeword: Vec<u8>,
    scratch: Vec<u8>,
    /// The CRC tables (8 KiB each, too costly to build per call): CB CRC24B,
    /// and the TB CRCs CRC24A / CRC16 (§7.2.1).
    crcs: CrcSet,
}

impl Default for TbEncoder {
    fn default() -> Self {
        Self::new()
    }
}

impl TbEncoder {
    /// An encoder; LDPC tables are built on first use of each (BG, Z).
    pub fn new() -> Self {
        TbEncoder {
            encoders: Vec::new(),
            cb: Vec::new(),
            codeword: Vec::new(),
            scratch: Vec::new(),
            crcs: CrcSet::new(),
        }
    }

    /// Encodes TB `tb` (A bits) for `plan` at redundancy version `rv` into
    /// `out` (G bits, f of block 0 first).
    pub fn encode(
        &mut self,
        plan: &TbPlan,
        tb: &[u8],
        rv: u8,
        out: &mut [u8],
    ) -> Result<(), TbError> {
        check_len("coded bits", out.len(), plan.cfg.g)?;
        self.encode_blocks(plan, tb, rv, 0..plan.num_cb(), out)
    }

    /// Builds the LDPC coders of every (BG, Z) of TS 38.212 Table 5.3.2-1
    /// and scratch for rate-matched blocks of up to `max_e` bits, so that no
    /// later encode allocates (about a millisecond, a few hundred KiB).
    pub fn prepare_all(&mut self, max_e: usize) -> Result<(), TbError> {
        for bg in [BaseGraph::Bg1, BaseGraph::Bg2] {
            for &z in LIFTING_SIZES.iter() {
                coder(&mut self.encoders, bg, z as usize, || {
                    LdpcEncoder::new(bg, z)
                })?;
            }
        }
        grow(&mut self.cb, 22 * 384);
        grow(&mut self.codeword, 68 * 384);
        grow(&mut self.scratch, max_e);
        Ok(())
    }

    /// Encodes code blocks `blocks` of TB `tb` (A bits): code-block CRC,
    /// LDPC, rate matching at `rv` and interleaving of each, into `out`, the
    /// blocks' part of the G concatenated bits
    /// (`plan.cb_offset(blocks.start)..plan.cb_offset(blocks.end)`).
    /// The TB CRC is computed only when one of the blocks carries part of it.
    /// Blocks are independent, so different ranges can be encoded at once by
    /// different encoders into disjoint parts of the G bits;
    /// [`TbEncoder::encode`] is this over every block.
    pub fn encode_blocks(
        &mut self,
        plan: &TbPlan,
        tb: &[u8],
        rv: u8,
        blocks: std::ops::Range<usize>,
        out: &mut [u8],
    ) -> Result<(), TbError> {
        let seg = &plan.seg;
        let sh = seg.shape;
        check_len("TB bits", tb.len(), seg.tbs)?;
        if blocks.start > blocks.end || blocks.end > seg.num_cb {
            return Err(TbError::Config(format!(
                "code blocks {}..{} of {}",
                blocks.start, blocks.end, seg.num_cb
            )));
        }
        let base = plan.cb_offset(blocks.start);
        check_len("coded bits", out.len(), plan.cb_offset(blocks.end) - base)?;
        let payload = seg.payload_per_cb();
        let mut parity = [0u8; 24];
        let parity = &mut parity[..seg.tb_crc.len()];
        // Block r carries bits r·payload.. of the TB followed by its CRC.
        if blocks.end * payload > seg.tbs {
            self.crcs.get(seg.tb_crc).parity_into(tb, parity);
        }
        let cb_crc = self.crcs.get(CrcPoly::Crc24B);
        grow(&mut self.cb, sh.k);
        grow(&mut self.codeword, sh.n_ldpc());
        let enc = coder(&mut self.encoders, sh.bg, sh.z, || {
            LdpcEncoder::new(sh.bg, sh.z as u16)
        })?;
        let cb = &mut self.cb[..sh.k];
        let cw = &mut self.codeword[..sh.n_ldpc()];
        for r in blocks {
            copy_virtual(tb, parity, r * payload, &mut cb[..payload]);
            if seg.num_cb > 1 {
                let (data, crc) = cb[..sh.k_prime].split_at_mut(payload);
                cb_crc.parity_into(data, crc);
            }
            cb[sh.k_prime..].fill(0);
            enc.encode(cb, cw)?;
            let rm = plan.rate_matcher(r, rv)?;
            grow(&mut self.scratch, rm.e);
            let off = plan.cb_offset(r) - base;
            rm.rate_match(cw, &mut self.scratch[..rm.e], &mut out[off..off + rm.e])?;
        }
        Ok(())
    }
}

/// The decoding result of one code block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CbOutcome {
    /// LDPC iterations run.
    pub iterations: u32,
    /// Whether the hard decisions satisfied the parity checks.
    pub parity_ok: bool,
    /// The CB CRC24B (C > 1) or, for a lone block, the TB CRC.
    pub crc_ok: bool,
}

/// The decoding result of a TB; `cbs` borrows the decoder's per-block list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TbOutcome<'a> {
    /// Whether the TB CRC checked: the TB bits are good.
    pub tb_crc_ok: bool,
    /// One entry per code block.
    pub cbs: &'a [CbOutcome],
}

impl TbOutcome<'_> {
    /// The largest iteration count over the blocks.
    pub fn max_iterations(&self) -> u32 {
        self.cbs.iter().map(|c| c.iterations).max().unwrap_or(0)
    }
}

/// Transport-block decoder: G LLRs -> HARQ soft buffer -> A bits + CRCs.
pub struct TbDecoder {
    config: DecoderConfig,
    decoders: Vec<((BaseGraph, usize), LdpcDecoder)>,
    scratch: Vec<i8>,
    cb_bits: Vec<u8>,
    outcomes: Vec<CbOutcome>,
    crcs: CrcSet,
}

impl TbDecoder {
    /// A decoder with LDPC settings `config` (iteration cap, min-sum, SIMD level).
    pub fn new(config: DecoderConfig) -> Self {
        TbDecoder {
            config,
            decoders: Vec::new(),
            scratch: Vec::new(),
            cb_bits: Vec::new(),
            outcomes: Vec::new(),
            crcs: CrcSet::new(),
        }
    }

    /// The CRC calculators it checks TBs and code blocks with.
    pub fn crcs(&self) -> &CrcSet {
        &self.crcs
    }

    /// Builds every decoder and buffer a TB of up to `max_cbs` code blocks
    /// of up to `max_e` LLRs each can need, so that decoding allocates
    /// nothing afterwards (real-time receivers call it once; otherwise
    /// decoders are built on first use).
    pub fn prepare_all(&mut self, max_e: usize, max_cbs: usize) -> Result<(), TbError> {
        prepare_decoders(&mut self.decoders, self.config)?;
        grow(&mut self.scratch, max_e);
        grow(&mut self.cb_bits, 8448);
        self.outcomes.reserve(max_cbs);
        Ok(())
    }

    /// Combines the G LLRs `llrs` (descrambled; f order, block 0 first) of
    /// redundancy version `rv` into `soft` and decodes the TB into `tb_out`
    /// (A bits). `new_data` (or a buffer laid out for another TB) clears the
    /// soft buffer first. A failed CRC is an outcome, not an error.
    pub fn decode<'s>(
        &'s mut self,
        plan: &TbPlan,
        llrs: &[i8],
        rv: u8,
        soft: &mut HarqSoftBuffer,
        new_data: bool,
        tb_out: &mut [u8],
    ) -> Result<TbOutcome<'s>, TbError> {
        let seg = &plan.seg;
        let sh = seg.shape;
        check_len("LLRs", llrs.len(), plan.cfg.g)?;
        check_len("TB output", tb_out.len(), seg.tbs)?;
        if rv > 3 {
            return Err(RateMatchError::Rv(rv).into());
        }
        if new_data || soft.layout() != Some((sh, seg.num_cb, plan.n_cb)) {
            soft.reset(sh, seg.num_cb, plan.n_cb)?;
        }
        grow(&mut self.cb_bits, sh.k);
        self.outcomes.clear();
        self.outcomes.resize(seg.num_cb, CbOutcome::default());
        let config = self.config;
        let dec = coder(&mut self.decoders, sh.bg, sh.z, || {
            LdpcDecoder::new(sh.bg, sh.z as u16, config)
        })?;
        let mut parity = [0u8; 24];
        let parity = &mut parity[..seg.tb_crc.len()];
        let payload = seg.payload_per_cb();
        let cb_crc = if seg.num_cb > 1 {
            CrcPoly::Crc24B
        } else {
            seg.tb_crc
        };
        for r in 0..seg.num_cb {
            let rm = plan.rate_matcher(r, rv)?;
            grow(&mut self.scratch, rm.e);
            let off = plan.cb_offset(r);
            let (buf, n_filled) = soft.cb_mut(r);
            let top = rm.derate_match(&llrs[off..off + rm.e], &mut self.scratch[..rm.e], buf)?;
            *n_filled = (*n_filled).max(top);
            let filled = *n_filled;
            let bits = &mut self.cb_bits[..sh.k];
            let o = dec.decode(buf, filled, sh.k_prime, Some(cb_crc), bits)?;
            self.outcomes[r] = CbOutcome {
                iterations: o.iterations,
                parity_ok: o.parity_ok,
                crc_ok: o.crc_ok.unwrap_or(false),
            };
            store_virtual(tb_out, parity, r * payload, &bits[..payload]);
        }
        let tb_crc = self.crcs.get(seg.tb_crc);
        let want = parity
            .iter()
            .fold(0u32, |acc, &b| (acc << 1) | (b & 1) as u32);
        let tb_crc_ok = tb_crc.remainder(tb_out) == want;
        Ok(TbOutcome {
            tb_crc_ok,
            cbs: &self.outcomes,
        })
    }
}

fn check_len(what: &'static str, got: usize, expected: usize) -> Result<(), TbError> {
    if got == expected {
        Ok(())
    } else {
        Err(TbError::Length {
            what,
            got,
            expected,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_are_prefix_sums_of_e_r() {
        for (tbs, g, qm, v) in [
            (352440usize, 474240usize, 8u8, 4u8),
            (1000, 3000, 2, 1),
            (50000, 120000, 6, 2),
        ] {
            let plan = TbPlan::new(TbConfig {
                tbs: if tbs == 50000 { 50184 } else { tbs },
                r_x2048: 1200,
                qm,
                num_layers: v,
                g,
                tbs_lbrm: None,
            })
            .unwrap();
            let mut acc = 0;
            for r in 0..plan.num_cb() {
                assert_eq!(plan.cb_offset(r), acc, "tbs {tbs} r {r}");
                acc += plan.e_r(r);
            }
            assert_eq!(acc, g);
        }
    }

    #[test]
    fn blocks_encoded_in_pieces_equal_the_whole_tb() {
        // Several blocks (C > 1) with unequal E_r, and a lone block (C = 1).
        for (tbs, g, qm) in [(50184usize, 120000usize, 6u8), (1000, 3000, 2)] {
            let plan = TbPlan::new(TbConfig {
                tbs,
                r_x2048: 1200,
                qm,
                num_layers: 2,
                g,
                tbs_lbrm: None,
            })
            .unwrap();
            let tb: Vec<u8> = (0..tbs).map(|i| ((i * 13 + 1) % 5 < 2) as u8).collect();
            for rv in [0u8, 2] {
                let mut whole = vec![0u8; g];
                TbEncoder::new().encode(&plan, &tb, rv, &mut whole).unwrap();
                let mut pieces = vec![9u8; g];
                let c = plan.num_cb();
                let mut enc = TbEncoder::new();
                let mut r = 0;
                while r < c {
                    // Pieces of 1 and 2 blocks, so the TB CRC straddling two blocks is covered by either.
                    let end = (r + 1 + r % 2).min(c);
                    let (a, b) = (plan.cb_offset(r), plan.cb_offset(end));
                    enc.encode_blocks(&plan, &tb, rv, r..end, &mut pieces[a..b])
                        .unwrap();
                    r = end;
                }
                assert_eq!(pieces, whole, "tbs {tbs} rv {rv}");
            }
            let mut short = vec![0u8; 3];
            assert!(TbEncoder::new()
                .encode_blocks(&plan, &tb, 0, 0..1, &mut short)
                .is_err());
        }
    }

    #[test]
    fn virtual_copies_span_the_tb_crc_boundary() {
        let a: Vec<u8> = (0..10).collect();
        let p = [100u8, 101, 102];
        let mut d = [0u8; 5];
        copy_virtual(&a, &p, 8, &mut d);
        assert_eq!(d, [8, 9, 100, 101, 102]);
        let mut e = [0u8; 3];
        copy_virtual(&a, &p, 2, &mut e);
        assert_eq!(e, [2, 3, 4]);
        let mut f = [0u8; 2];
        copy_virtual(&a, &p, 11, &mut f);
        assert_eq!(f, [101, 102]);
        let (mut a2, mut p2) = (vec![0u8; 10], [0u8; 3]);
        store_virtual(&mut a2, &mut p2, 8, &d);
        assert_eq!((&a2[8..], p2), (&[8u8, 9][..], p));
    }
}
