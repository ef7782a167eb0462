//! DM-RS for PUSCH and PDSCH with transform precoding off
//! (TS 38.211 §6.4.1.1 uplink, §7.4.1.1 downlink; the two are identical in
//! sequence and mapping apart from the symbol-position tables).
//!
//! - Sequence (§6.4.1.1.1.1 / §7.4.1.1.1): r(n) = [(1−2c(2n)) + j(1−2c(2n+1))]/√2,
//!   c from the Gold sequence with
//!   c_init = (2^17·(N_symb·n_s + l + 1)·(2N_ID + 1) + 2N_ID + n_SCID) mod 2^31
//!   (λ̄ = 0: the Rel-16 CDM-group term applies only with dmrs-Uplink/Downlink-r16).
//! - Mapping (§6.4.1.1.3 / §7.4.1.1.2): a(k, l̄+l') = β·w_f(k')·w_t(l')·r(2n+k'),
//!   k = 4n + 2k' + Δ (type 1) or 6n + k' + Δ (type 2), n counted from
//!   subcarrier 0 of CRB 0, over the allocated PRBs only.
//! - Ports: Tables 6.4.1.1.3-1/-2 (= 7.4.1.1.2-1/-2) give the CDM group λ, Δ, w_f and w_t.
//! - Symbols: Tables 6.4.1.1.3-3/-4 (PUSCH) and 7.4.1.1.2-3/-4 (PDSCH);
//!   intra-slot frequency hopping is not supported.
//! - β_DMRS (TS 38.214 Table 6.2.2-1 / 4.1-1): √(CDM groups without data),
//!   i.e. 0, 3 and 4.77 dB for 1, 2, 3 groups.

use super::gold::GoldSequence;
pub use crate::pdu::MappingType;
use crate::pdu::{DmrsConfig, DmrsType};
use num_complex::Complex32;

/// Physical channel, which selects the symbol-position table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DmrsLink {
    /// PUSCH, TS 38.211 §6.4.1.1.
    Pusch,
    /// PDSCH, TS 38.211 §7.4.1.1.
    Pdsch,
}

/// Why a DM-RS configuration does not fit the allocation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DmrsError {
    /// The position tables have no entry for this duration / configuration.
    #[error("no DM-RS position for mapping type {mapping:?}, duration l_d = {ld} symbols, additional_position {add}, length {len}")]
    NoPosition {
        /// Mapping type.
        mapping: MappingType,
        /// l_d of the tables.
        ld: u8,
        /// dmrs-AdditionalPosition.
        add: u8,
        /// 1 or 2 symbols.
        len: u8,
    },
    /// Mapping type A with dmrs-AdditionalPosition = pos3, or a PDSCH of
    /// l_d = 3 or 4 symbols, needs dmrs-TypeA-Position = pos2
    /// (TS 38.211 §6.4.1.1.3, §7.4.1.1.2).
    #[error("dmrs-TypeA-Position {l0} is not allowed with additional_position {add} and l_d = {ld} (needs pos2)")]
    NeedsTypeAPosition2 {
        /// dmrs-TypeA-Position (l0).
        l0: u8,
        /// dmrs-AdditionalPosition.
        add: u8,
        /// l_d.
        ld: u8,
    },
    /// A DM-RS symbol falls outside the allocated symbols.
    #[error("DM-RS symbol {symbol} outside the allocated symbols {start}..{end}")]
    OutsideAllocation {
        /// The DM-RS symbol.
        symbol: u8,
        /// First allocated symbol.
        start: u8,
        /// One past the last.
        end: u8,
    },
}

/// Port parameters of Tables 6.4.1.1.3-1/-2.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DmrsPort {
    /// CDM group λ.
    pub cdm_group: u8,
    /// Frequency offset Δ in subcarriers.
    pub delta: u8,
    /// w_f(k'), k' = 0, 1.
    pub w_f: [f32; 2],
    /// w_t(l'), l' = 0, 1.
    pub w_t: [f32; 2],
}

/// λ, Δ, w_f, w_t of port `p` (0-based: PUSCH port 1000+p / PDSCH 1000+p).
/// Ports beyond the table (8 for type 1, 12 for type 2) wrap; `validate` rejects them first.
pub fn port_params(t: DmrsType, p: u8) -> DmrsPort {
    let (groups_per_len, delta_step) = match t {
        DmrsType::Type1 => (2u8, 1u8),
        DmrsType::Type2 => (3, 2),
    };
    let per_len = 2 * groups_per_len;
    let p = p % (2 * per_len);
    let in_len = p % per_len;
    let group = in_len / 2;
    let w_f = if in_len.is_multiple_of(2) {
        [1.0, 1.0]
    } else {
        [1.0, -1.0]
    };
    let w_t = if p < per_len { [1.0, 1.0] } else { [1.0, -1.0] };
    DmrsPort {
        cdm_group: group,
        delta: group * delta_step,
        w_f,
        w_t,
    }
}

/// The DM-RS symbols of one allocation: the first symbols l̄ of the
/// positions (absolute symbol numbers in the slot) and the length (1 or 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DmrsSymbols {
    first: [u8; 4],
    count: u8,
    length: u8,
}

impl DmrsSymbols {
    /// The first symbol l̄ of each DM-RS position, in increasing order.
    pub fn positions(&self) -> &[u8] {
        &self.first[..self.count as usize]
    }

    /// 1 (single-symbol) or 2 (double-symbol).
    pub fn length(&self) -> u8 {
        self.length
    }

    /// Bit l set when symbol l carries DM-RS.
    pub fn mask(&self) -> u16 {
        let mut m = 0u16;
        for &l in self.positions() {
            for lp in 0..self.length {
                m |= 1 << (l + lp);
            }
        }
        m
    }

    /// Whether symbol `l` carries DM-RS.
    pub fn contains(&self, l: usize) -> bool {
        l < 16 && self.mask() & (1 << l) != 0
    }

    /// Every DM-RS symbol as (l, position index, l').
    pub fn iter(&self) -> impl Iterator<Item = (usize, usize, usize)> + '_ {
        self.positions()
            .iter()
            .enumerate()
            .flat_map(move |(i, &l)| {
                (0..self.length as usize).map(move |lp| (l as usize + lp, i, lp))
            })
    }
}

const L0: u8 = 255;

/// Positions per l_d (index 0 = l_d 1 .. 13 = l_d 14) and additional position 0..=3;
/// L0 stands for l0, an empty slice for "–".
type PosTable = [[&'static [u8]; 4]; 14];

const NONE4: [&[u8]; 4] = [&[], &[], &[], &[]];
const ONLY_L0: [&[u8]; 4] = [&[L0], &[L0], &[L0], &[L0]];

/// Table 6.4.1.1.3-3, PUSCH single-symbol, mapping type A.
const PUSCH_SINGLE_A: PosTable = [
    NONE4,
    NONE4,
    NONE4,
    ONLY_L0,
    ONLY_L0,
    ONLY_L0,
    ONLY_L0,
    [&[L0], &[L0, 7], &[L0, 7], &[L0, 7]],
    [&[L0], &[L0, 7], &[L0, 7], &[L0, 7]],
    [&[L0], &[L0, 9], &[L0, 6, 9], &[L0, 6, 9]],
    [&[L0], &[L0, 9], &[L0, 6, 9], &[L0, 6, 9]],
    [&[L0], &[L0, 9], &[L0, 6, 9], &[L0, 5, 8, 11]],
    [&[L0], &[L0, 11], &[L0, 7, 11], &[L0, 5, 8, 11]],
    [&[L0], &[L0, 11], &[L0, 7, 11], &[L0, 5, 8, 11]],
];

/// Table 6.4.1.1.3-3, PUSCH single-symbol, mapping type B.
const PUSCH_SINGLE_B: PosTable = [
    ONLY_L0,
    ONLY_L0,
    ONLY_L0,
    ONLY_L0,
    [&[L0], &[L0, 4], &[L0, 4], &[L0, 4]],
    [&[L0], &[L0, 4], &[L0, 4], &[L0, 4]],
    [&[L0], &[L0, 4], &[L0, 4], &[L0, 4]],
    [&[L0], &[L0, 6], &[L0, 3, 6], &[L0, 3, 6]],
    [&[L0], &[L0, 6], &[L0, 3, 6], &[L0, 3, 6]],
    [&[L0], &[L0, 8], &[L0, 4, 8], &[L0, 3, 6, 9]],
    [&[L0], &[L0, 8], &[L0, 4, 8], &[L0, 3, 6, 9]],
    [&[L0], &[L0, 10], &[L0, 5, 10], &[L0, 3, 6, 9]],
    [&[L0], &[L0, 10], &[L0, 5, 10], &[L0, 3, 6, 9]],
    [&[L0], &[L0, 10], &[L0, 5, 10], &[L0, 3, 6, 9]],
];

/// Table 6.4.1.1.3-4, PUSCH double-symbol, type A (additional position 0, 1).
const PUSCH_DOUBLE_A: PosTable = [
    NONE4,
    NONE4,
    NONE4,
    [&[L0], &[L0], &[], &[]],
    [&[L0], &[L0], &[], &[]],
    [&[L0], &[L0], &[], &[]],
    [&[L0], &[L0], &[], &[]],
    [&[L0], &[L0], &[], &[]],
    [&[L0], &[L0], &[], &[]],
    [&[L0], &[L0, 8], &[], &[]],
    [&[L0], &[L0, 8], &[], &[]],
    [&[L0], &[L0, 8], &[], &[]],
    [&[L0], &[L0, 10], &[], &[]],
    [&[L0], &[L0, 10], &[], &[]],
];

/// Table 6.4.1.1.3-4, PUSCH double-symbol, type B.
const PUSCH_DOUBLE_B: PosTable = [
    NONE4,
    NONE4,
    NONE4,
    NONE4,
    [&[L0], &[L0], &[], &[]],
    [&[L0], &[L0], &[], &[]],
    [&[L0], &[L0], &[], &[]],
    [&[L0], &[L0, 5], &[], &[]],
    [&[L0], &[L0, 5], &[], &[]],
    [&[L0], &[L0, 7], &[], &[]],
    [&[L0], &[L0, 7], &[], &[]],
    [&[L0], &[L0, 9], &[], &[]],
    [&[L0], &[L0, 9], &[], &[]],
    [&[L0], &[L0, 9], &[], &[]],
];

/// Table 7.4.1.1.2-3, PDSCH single-symbol, type A (l1 = 11; the LTE-CRS
/// exception that moves it to 12 is not modelled).
const PDSCH_SINGLE_A: PosTable = [
    NONE4,
    NONE4,
    ONLY_L0,
    ONLY_L0,
    ONLY_L0,
    ONLY_L0,
    ONLY_L0,
    [&[L0], &[L0, 7], &[L0, 7], &[L0, 7]],
    [&[L0], &[L0, 7], &[L0, 7], &[L0, 7]],
    [&[L0], &[L0, 9], &[L0, 6, 9], &[L0, 6, 9]],
    [&[L0], &[L0, 9], &[L0, 6, 9], &[L0, 6, 9]],
    [&[L0], &[L0, 9], &[L0, 6, 9], &[L0, 5, 8, 11]],
    [&[L0], &[L0, 11], &[L0, 7, 11], &[L0, 5, 8, 11]],
    [&[L0], &[L0, 11], &[L0, 7, 11], &[L0, 5, 8, 11]],
];

/// Table 7.4.1.1.2-3, PDSCH single-symbol, type B (Rel-16, durations 2..13;
/// l_d = 14 has no entry). Checked against the published table (38.211
/// V17): the dmrs-AdditionalPosition = pos3 column repeats pos2 up to
/// l_d = 10 and is l0, 3, 6, 9 from l_d = 11 (it was wrongly empty here).
const PDSCH_SINGLE_B: PosTable = [
    NONE4,
    ONLY_L0,
    ONLY_L0,
    ONLY_L0,
    [&[L0], &[L0, 4], &[L0, 4], &[L0, 4]],
    [&[L0], &[L0, 4], &[L0, 4], &[L0, 4]],
    [&[L0], &[L0, 4], &[L0, 4], &[L0, 4]],
    [&[L0], &[L0, 6], &[L0, 3, 6], &[L0, 3, 6]],
    [&[L0], &[L0, 7], &[L0, 4, 7], &[L0, 4, 7]],
    [&[L0], &[L0, 7], &[L0, 4, 7], &[L0, 4, 7]],
    [&[L0], &[L0, 8], &[L0, 4, 8], &[L0, 3, 6, 9]],
    [&[L0], &[L0, 9], &[L0, 5, 9], &[L0, 3, 6, 9]],
    [&[L0], &[L0, 9], &[L0, 5, 9], &[L0, 3, 6, 9]],
    NONE4,
];

/// Table 7.4.1.1.2-4, PDSCH double-symbol, type A.
const PDSCH_DOUBLE_A: PosTable = PUSCH_DOUBLE_A;

/// Table 7.4.1.1.2-4, PDSCH double-symbol, type B (Rel-16).
const PDSCH_DOUBLE_B: PosTable = [
    NONE4,
    NONE4,
    NONE4,
    NONE4,
    [&[L0], &[L0], &[], &[]],
    [&[L0], &[L0], &[], &[]],
    [&[L0], &[L0], &[], &[]],
    [&[L0], &[L0, 5], &[], &[]],
    [&[L0], &[L0, 5], &[], &[]],
    [&[L0], &[L0, 7], &[], &[]],
    [&[L0], &[L0, 7], &[], &[]],
    [&[L0], &[L0, 8], &[], &[]],
    [&[L0], &[L0, 8], &[], &[]],
    NONE4,
];

/// The DM-RS symbols of an allocation of `n_symbols` symbols from `start`
/// (TS 38.211 Tables 6.4.1.1.3-3/-4, 7.4.1.1.2-3/-4). For type A, l_d runs
/// from the slot start to the allocation end and positions are absolute; for
/// type B, l_d is the allocation length and positions are relative to it.
pub fn dmrs_symbols(
    link: DmrsLink,
    mapping: MappingType,
    cfg: &DmrsConfig,
    start: u8,
    n_symbols: u8,
) -> Result<DmrsSymbols, DmrsError> {
    let (ld, l0, origin) = match mapping {
        MappingType::A => (start + n_symbols, cfg.type_a_position, 0u8),
        MappingType::B => (n_symbols, 0, start),
    };
    let table = match (link, mapping, cfg.length) {
        (DmrsLink::Pusch, MappingType::A, 1) => &PUSCH_SINGLE_A,
        (DmrsLink::Pusch, MappingType::B, 1) => &PUSCH_SINGLE_B,
        (DmrsLink::Pusch, MappingType::A, _) => &PUSCH_DOUBLE_A,
        (DmrsLink::Pusch, MappingType::B, _) => &PUSCH_DOUBLE_B,
        (DmrsLink::Pdsch, MappingType::A, 1) => &PDSCH_SINGLE_A,
        (DmrsLink::Pdsch, MappingType::B, 1) => &PDSCH_SINGLE_B,
        (DmrsLink::Pdsch, MappingType::A, _) => &PDSCH_DOUBLE_A,
        (DmrsLink::Pdsch, MappingType::B, _) => &PDSCH_DOUBLE_B,
    };
    let none = DmrsError::NoPosition {
        mapping,
        ld,
        add: cfg.additional_position,
        len: cfg.length,
    };
    if !(1..=14).contains(&ld) || cfg.additional_position > 3 || !(1..=2).contains(&cfg.length) {
        return Err(none);
    }
    let row = table[ld as usize - 1][cfg.additional_position as usize];
    if row.is_empty() {
        return Err(none);
    }
    // §6.4.1.1.3 / §7.4.1.1.2: "the case dmrs-AdditionalPosition equals 3 is
    // only supported when dmrs-TypeA-Position is equal to 2", and the PDSCH
    // l_d = 3 and 4 rows apply only with dmrs-TypeA-Position 2.
    if mapping == MappingType::A
        && l0 != 2
        && (cfg.additional_position == 3 || (link == DmrsLink::Pdsch && ld <= 4))
    {
        return Err(DmrsError::NeedsTypeAPosition2 {
            l0,
            add: cfg.additional_position,
            ld,
        });
    }
    let mut s = DmrsSymbols {
        first: [0; 4],
        count: row.len() as u8,
        length: cfg.length,
    };
    for (i, &p) in row.iter().enumerate() {
        s.first[i] = origin + if p == L0 { l0 } else { p };
    }
    let end = start + n_symbols;
    for (l, _, _) in s.iter() {
        if (l as u8) < start || l as u8 >= end {
            return Err(DmrsError::OutsideAllocation {
                symbol: l as u8,
                start,
                end,
            });
        }
    }
    Ok(s)
}

/// β_DMRS: √(CDM groups without data) (TS 38.214 Table 6.2.2-1 / 4.1-1).
pub fn dmrs_beta(cdm_groups_without_data: u8) -> f32 {
    (cdm_groups_without_data.max(1) as f32).sqrt()
}

/// c_init of §6.4.1.1.1.1 / §7.4.1.1.1 for symbol `l` of slot `slot`.
pub fn dmrs_c_init(symbols_per_slot: usize, slot: u32, l: usize, n_id: u16, n_scid: u8) -> u32 {
    let a = (symbols_per_slot as u64 * slot as u64 + l as u64 + 1) * (2 * n_id as u64 + 1);
    (((a << 17) + 2 * n_id as u64 + n_scid as u64) % (1u64 << 31)) as u32
}

/// r(first + i) for i in 0..out.len(): the QPSK DM-RS sequence of `c_init`.
pub fn dmrs_sequence(c_init: u32, first: usize, out: &mut [Complex32]) {
    let mut g = GoldSequence::new(c_init);
    g.skip(2 * first);
    let a = std::f32::consts::FRAC_1_SQRT_2;
    let mut chunks = out.chunks_mut(16);
    for chunk in &mut chunks {
        let w = g.next_word();
        for (i, v) in chunk.iter_mut().enumerate() {
            let re = if (w >> (2 * i)) & 1 == 0 { a } else { -a };
            let im = if (w >> (2 * i + 1)) & 1 == 0 { a } else { -a };
            *v = Complex32::new(re, im);
        }
    }
}

/// Subcarriers per PRB of one CDM group's DM-RS: 6 (type 1) or 4 (type 2).
pub fn res_per_prb(t: DmrsType) -> usize {
    match t {
        DmrsType::Type1 => 6,
        DmrsType::Type2 => 4,
    }
}

/// Subcarrier offset (within the PRB pair block) of DM-RS pair element
/// (n, k') of CDM group offset Δ, relative to the first subcarrier of PRB
/// `prb_start`: type 1 k = 4n + 2k' + Δ, type 2 k = 6n + k' + Δ, with n
/// counted from the allocation's first pair. Pair n of the allocation
/// uses sequence elements r(2(n + n0) + k'), n0 = first pair of the allocation
/// counted from CRB 0 ([`first_pair`]).
#[inline]
pub fn re_offset(t: DmrsType, n: usize, kp: usize, delta: u8) -> usize {
    match t {
        DmrsType::Type1 => 4 * n + 2 * kp + delta as usize,
        DmrsType::Type2 => 6 * n + kp + delta as usize,
    }
}

/// Index n (from CRB 0) of the first DM-RS pair in PRB `prb_start`.
pub fn first_pair(t: DmrsType, prb_start: usize) -> usize {
    match t {
        DmrsType::Type1 => 3 * prb_start,
        DmrsType::Type2 => 2 * prb_start,
    }
}

/// Which subcarriers of a PRB may carry data on a DM-RS symbol: those of the
/// CDM groups at or above `cdm_groups_without_data` (§6.4.1.1.3: REs of the
/// groups without data are never used for data).
pub fn data_mask_in_prb(t: DmrsType, cdm_groups_without_data: u8) -> [bool; 12] {
    let mut m = [false; 12];
    for (k, v) in m.iter_mut().enumerate() {
        let group = match t {
            DmrsType::Type1 => k % 2,
            DmrsType::Type2 => (k % 6) / 2,
        };
        *v = group as u8 >= cdm_groups_without_data;
    }
    m
}

/// DM-RS of one port on one symbol: writes β·w_f(k')·w_t(l')·r(2n+k') to
/// the port's REs in PRBs `prb_start..prb_start+n_prb` of `sym` (the whole
/// carrier symbol, subcarrier 0 = CRB 0). `seq` is scratch of at least
/// `res_per_prb · n_prb` values; the other REs are left as they are.
#[allow(clippy::too_many_arguments)]
pub fn map_dmrs_symbol(
    t: DmrsType,
    port: u8,
    c_init: u32,
    lp: usize,
    prb_start: usize,
    n_prb: usize,
    beta: f32,
    sym: &mut [Complex32],
    seq: &mut [Complex32],
) {
    let pp = port_params(t, port);
    let n_ref = res_per_prb(t) * n_prb;
    let seq = &mut seq[..n_ref];
    dmrs_sequence(c_init, 2 * first_pair(t, prb_start), seq);
    let base = 12 * prb_start;
    for n in 0..n_ref / 2 {
        for kp in 0..2 {
            let k = base + re_offset(t, n, kp, pp.delta);
            sym[k] = seq[2 * n + kp] * (beta * pp.w_f[kp] * pp.w_t[lp]);
        }
    }
}

/// Largest number of DM-RS ports (layers) one PUSCH/PDSCH carries here.
pub const MAX_DMRS_PORTS: usize = 8;

/// Everything the DM-RS of one slot depends on, with plain values so that
/// the transmitter, the estimator and tests can build it without a PDU.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DmrsParams {
    /// Configuration type.
    pub config_type: DmrsType,
    /// The DM-RS symbols.
    pub symbols: DmrsSymbols,
    /// Port of each layer (0-based), first `n_ports` entries valid.
    pub ports: [u8; MAX_DMRS_PORTS],
    /// Number of layers / ports.
    pub n_ports: usize,
    /// CDM groups without data.
    pub cdm_groups_without_data: u8,
    /// N_ID for c_init.
    pub n_id: u16,
    /// n_SCID.
    pub n_scid: u8,
    /// Slot number in the frame.
    pub slot: u32,
    /// Symbols per slot (14, or 12 for extended CP).
    pub symbols_per_slot: usize,
    /// First allocated PRB (from CRB 0).
    pub prb_start: usize,
    /// Allocated PRBs.
    pub n_prb: usize,
    /// Amplitude β_DMRS.
    pub beta: f32,
}

impl DmrsParams {
    /// From a PDU's DM-RS configuration and allocation; the symbols come from
    /// [`dmrs_symbols`]. Fails when the DM-RS does not fit the allocation
    /// or more ports than [`MAX_DMRS_PORTS`] are listed.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        link: DmrsLink,
        mapping: MappingType,
        cfg: &DmrsConfig,
        slot: u32,
        start_symbol: u8,
        n_symbols: u8,
        prb_start: usize,
        n_prb: usize,
    ) -> Result<Self, DmrsError> {
        let symbols = dmrs_symbols(link, mapping, cfg, start_symbol, n_symbols)?;
        let mut ports = [0u8; MAX_DMRS_PORTS];
        let n_ports = cfg.ports.len().min(MAX_DMRS_PORTS);
        ports[..n_ports].copy_from_slice(&cfg.ports[..n_ports]);
        Ok(DmrsParams {
            config_type: cfg.config_type,
            symbols,
            ports,
            n_ports,
            cdm_groups_without_data: cfg.cdm_groups_without_data,
            n_id: cfg.scrambling_id,
            n_scid: cfg.n_scid,
            slot,
            symbols_per_slot: 14,
            prb_start,
            n_prb,
            beta: dmrs_beta(cfg.cdm_groups_without_data),
        })
    }

    /// The ports in use.
    pub fn ports(&self) -> &[u8] {
        &self.ports[..self.n_ports]
    }

    /// c_init of symbol `l`.
    pub fn c_init(&self, l: usize) -> u32 {
        dmrs_c_init(self.symbols_per_slot, self.slot, l, self.n_id, self.n_scid)
    }

    /// DM-RS sequence values per symbol over the allocation: `res_per_prb · n_prb`.
    pub fn seq_len(&self) -> usize {
        res_per_prb(self.config_type) * self.n_prb
    }

    /// Writes the DM-RS of layer `layer` into `sym` (one whole carrier
    /// symbol) for DM-RS symbol `l` with l' = `lp`; `seq` is scratch of
    /// [`DmrsParams::seq_len`] values.
    pub fn map_layer(
        &self,
        layer: usize,
        l: usize,
        lp: usize,
        sym: &mut [Complex32],
        seq: &mut [Complex32],
    ) {
        map_dmrs_symbol(
            self.config_type,
            self.ports[layer],
            self.c_init(l),
            lp,
            self.prb_start,
            self.n_prb,
            self.beta,
            sym,
            seq,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(t: DmrsType, add: u8, len: u8) -> DmrsConfig {
        DmrsConfig {
            config_type: t,
            type_a_position: 2,
            additional_position: add,
            length: len,
            ports: crate::pdu::DmrsPorts::from([0]),
            cdm_groups_without_data: 2,
            scrambling_id: 1,
            n_scid: 0,
        }
    }

    #[test]
    fn positions_follow_the_tables() {
        let p = |link, map, add, len, start, n| {
            dmrs_symbols(link, map, &cfg(DmrsType::Type1, add, len), start, n)
                .map(|s| s.positions().to_vec())
        };
        use DmrsLink::*;
        use MappingType::*;
        // The FORMAT.md cases: l_d = 14.
        assert_eq!(p(Pusch, A, 0, 1, 0, 14), Ok(vec![2]));
        assert_eq!(p(Pusch, A, 1, 1, 0, 14), Ok(vec![2, 11]));
        assert_eq!(p(Pusch, A, 2, 1, 0, 14), Ok(vec![2, 7, 11]));
        assert_eq!(p(Pusch, A, 3, 1, 0, 14), Ok(vec![2, 5, 8, 11]));
        assert_eq!(p(Pusch, A, 3, 1, 0, 12), Ok(vec![2, 5, 8, 11]));
        assert_eq!(p(Pusch, A, 2, 1, 0, 10), Ok(vec![2, 6, 9]));
        assert_eq!(p(Pusch, B, 1, 1, 4, 7), Ok(vec![4, 8]));
        assert_eq!(p(Pusch, A, 1, 2, 0, 14), Ok(vec![2, 10]));
        assert_eq!(p(Pdsch, A, 1, 1, 1, 12), Ok(vec![2, 11]));
        assert!(p(Pusch, A, 2, 2, 0, 14).is_err());
        assert!(p(Pusch, A, 0, 1, 0, 3).is_err());
        let s = dmrs_symbols(Pusch, A, &cfg(DmrsType::Type1, 1, 2), 0, 14).unwrap();
        assert_eq!(s.mask(), (1 << 2) | (1 << 3) | (1 << 10) | (1 << 11));
        // Type A with the allocation starting after l0 clashes.
        assert!(matches!(
            p(Pusch, A, 0, 1, 3, 11),
            Err(DmrsError::OutsideAllocation { symbol: 2, .. })
        ));
    }

    /// Rows quoted from the published tables (TS 38.211 V17), including the
    /// ones the tables were first written wrong or without (PDSCH type B
    /// pos3). Type B positions are relative to the allocation start.
    #[test]
    fn positions_pin_spec_rows() {
        let p = |link, map, l0: u8, add, len, start, n| {
            let mut c = cfg(DmrsType::Type1, add, len);
            c.type_a_position = l0;
            dmrs_symbols(link, map, &c, start, n).map(|s| s.positions().to_vec())
        };
        use DmrsLink::*;
        use MappingType::*;
        // Table 6.4.1.1.3-3 (PUSCH, single symbol).
        // Type A, l_d = 9, pos2: l0, 7.
        assert_eq!(p(Pusch, A, 2, 2, 1, 0, 9), Ok(vec![2, 7]));
        // Type A, l_d = 13, pos1: l0, 11; pos3: l0, 5, 8, 11.
        assert_eq!(p(Pusch, A, 3, 1, 1, 0, 13), Ok(vec![3, 11]));
        assert_eq!(p(Pusch, A, 2, 3, 1, 0, 13), Ok(vec![2, 5, 8, 11]));
        // Type A, l_d = 4: l0 only; l_d < 4: "-".
        assert_eq!(p(Pusch, A, 2, 3, 1, 0, 4), Ok(vec![2]));
        assert!(p(Pusch, A, 2, 0, 1, 0, 3).is_err());
        // Type B, l_d = 2 (< 4): l0; l_d = 6, pos1: l0, 4.
        assert_eq!(p(Pusch, B, 2, 1, 1, 5, 2), Ok(vec![5]));
        assert_eq!(p(Pusch, B, 2, 1, 1, 2, 6), Ok(vec![2, 6]));
        // Type B, l_d = 10, pos2: l0, 4, 8; pos3: l0, 3, 6, 9.
        assert_eq!(p(Pusch, B, 2, 2, 1, 4, 10), Ok(vec![4, 8, 12]));
        assert_eq!(p(Pusch, B, 2, 3, 1, 4, 10), Ok(vec![4, 7, 10, 13]));
        // Type B, l_d = 12, pos1: l0, 10; pos2: l0, 5, 10.
        assert_eq!(p(Pusch, B, 2, 1, 1, 0, 12), Ok(vec![0, 10]));
        assert_eq!(p(Pusch, B, 2, 2, 1, 1, 12), Ok(vec![1, 6, 11]));
        // Table 6.4.1.1.3-4 (PUSCH, double symbol).
        // Type A, l_d = 12, pos1: l0, 8; l_d = 14: l0, 10; l_d = 4: l0.
        assert_eq!(p(Pusch, A, 2, 1, 2, 0, 12), Ok(vec![2, 8]));
        assert_eq!(p(Pusch, A, 3, 1, 2, 0, 14), Ok(vec![3, 10]));
        assert_eq!(p(Pusch, A, 2, 1, 2, 0, 4), Ok(vec![2]));
        // Type B, l_d = 4: "-"; l_d = 8, pos1: l0, 5; l_d = 14: l0, 9.
        assert!(p(Pusch, B, 2, 0, 2, 0, 4).is_err());
        assert_eq!(p(Pusch, B, 2, 1, 2, 2, 8), Ok(vec![2, 7]));
        assert_eq!(p(Pusch, B, 2, 1, 2, 0, 14), Ok(vec![0, 9]));
        // Table 7.4.1.1.2-3 (PDSCH, single symbol).
        // Type A, l_d = 2: "-"; l_d = 3: l0 (dmrs-TypeA-Position 2 only).
        assert!(p(Pdsch, A, 2, 0, 1, 0, 2).is_err());
        assert_eq!(p(Pdsch, A, 2, 2, 1, 0, 3), Ok(vec![2]));
        assert!(matches!(
            p(Pdsch, A, 3, 0, 1, 0, 4),
            Err(DmrsError::NeedsTypeAPosition2 { l0: 3, ld: 4, .. })
        ));
        // Type A, l_d = 11, pos2: l0, 6, 9; l_d = 14, pos1: l0, l1 = 11.
        assert_eq!(p(Pdsch, A, 2, 2, 1, 0, 11), Ok(vec![2, 6, 9]));
        assert_eq!(p(Pdsch, A, 3, 1, 1, 0, 14), Ok(vec![3, 11]));
        // pos3 needs dmrs-TypeA-Position 2 (PUSCH and PDSCH alike).
        assert!(matches!(
            p(Pdsch, A, 3, 3, 1, 0, 14),
            Err(DmrsError::NeedsTypeAPosition2 { add: 3, .. })
        ));
        assert!(p(Pusch, A, 3, 3, 1, 0, 14).is_err());
        // Type B, l_d = 2: l0; l_d = 7, pos3: l0, 4; l_d = 8, pos3: l0, 3, 6.
        assert_eq!(p(Pdsch, B, 2, 3, 1, 12, 2), Ok(vec![12]));
        assert_eq!(p(Pdsch, B, 2, 3, 1, 7, 7), Ok(vec![7, 11]));
        assert_eq!(p(Pdsch, B, 2, 3, 1, 1, 8), Ok(vec![1, 4, 7]));
        // Type B, l_d = 9, pos1: l0, 7; pos3: l0, 4, 7.
        assert_eq!(p(Pdsch, B, 2, 1, 1, 2, 9), Ok(vec![2, 9]));
        assert_eq!(p(Pdsch, B, 2, 3, 1, 2, 9), Ok(vec![2, 6, 9]));
        // Type B, l_d = 11, pos2: l0, 4, 8; pos3: l0, 3, 6, 9.
        assert_eq!(p(Pdsch, B, 2, 2, 1, 1, 11), Ok(vec![1, 5, 9]));
        assert_eq!(p(Pdsch, B, 2, 3, 1, 1, 11), Ok(vec![1, 4, 7, 10]));
        // Type B, l_d = 13, pos2: l0, 5, 9; l_d = 14: "-".
        assert_eq!(p(Pdsch, B, 2, 2, 1, 0, 13), Ok(vec![0, 5, 9]));
        assert!(p(Pdsch, B, 2, 0, 1, 0, 14).is_err());
        // Table 7.4.1.1.2-4 (PDSCH, double symbol).
        // Type A, l_d = 3: "-"; l_d = 10, pos1: l0, 8; l_d = 13: l0, 10.
        assert!(p(Pdsch, A, 2, 0, 2, 0, 3).is_err());
        assert_eq!(p(Pdsch, A, 2, 1, 2, 0, 10), Ok(vec![2, 8]));
        assert_eq!(p(Pdsch, A, 2, 1, 2, 1, 12), Ok(vec![2, 10]));
        // Type B, l_d = 4: "-"; l_d = 5: l0; l_d = 13, pos1: l0, 8.
        assert!(p(Pdsch, B, 2, 0, 2, 0, 4).is_err());
        assert_eq!(p(Pdsch, B, 2, 1, 2, 3, 5), Ok(vec![3]));
        assert_eq!(p(Pdsch, B, 2, 1, 2, 1, 13), Ok(vec![1, 9]));
    }

    #[test]
    fn ports_follow_tables_1_and_2() {
        let t1: Vec<_> = (0..8).map(|p| port_params(DmrsType::Type1, p)).collect();
        assert_eq!(
            t1.iter().map(|p| p.delta).collect::<Vec<_>>(),
            [0, 0, 1, 1, 0, 0, 1, 1]
        );
        assert_eq!(t1[1].w_f, [1.0, -1.0]);
        assert_eq!(t1[5].w_t, [1.0, -1.0]);
        assert_eq!(t1[3].w_t, [1.0, 1.0]);
        let t2: Vec<_> = (0..12).map(|p| port_params(DmrsType::Type2, p)).collect();
        assert_eq!(
            t2.iter().map(|p| p.delta).collect::<Vec<_>>(),
            [0, 0, 2, 2, 4, 4, 0, 0, 2, 2, 4, 4]
        );
        assert_eq!(t2[5].cdm_group, 2);
        assert_eq!(t2[7].w_f, [1.0, -1.0]);
        assert_eq!(t2[7].w_t, [1.0, -1.0]);
    }

    #[test]
    fn sequence_and_mapping_follow_the_formulas() {
        use crate::refsig::gold::gold_bits;
        let c = dmrs_c_init(14, 7, 2, 500, 1);
        assert_eq!(
            c as u64,
            ((1u64 << 17) * (14 * 7 + 2 + 1) * 1001 + 1000 + 1) % (1 << 31)
        );
        let bits = gold_bits(c, 2 * 200);
        let mut seq = vec![Complex32::default(); 60];
        dmrs_sequence(c, 140, &mut seq);
        for (i, v) in seq.iter().enumerate() {
            let m = 140 + i;
            let re = (1.0 - 2.0 * bits[2 * m] as f32) / 2f32.sqrt();
            let im = (1.0 - 2.0 * bits[2 * m + 1] as f32) / 2f32.sqrt();
            assert_eq!(*v, Complex32::new(re, im));
        }
        // Port 3 (type 1): Δ = 1, w_f = (+1, −1), PRBs 5..8 of a 10-PRB carrier.
        let mut sym = vec![Complex32::default(); 120];
        let mut scratch = vec![Complex32::default(); 64];
        map_dmrs_symbol(
            DmrsType::Type1,
            3,
            c,
            0,
            5,
            3,
            2f32.sqrt(),
            &mut sym,
            &mut scratch,
        );
        let mut full = vec![Complex32::default(); 6 * 10];
        dmrs_sequence(c, 0, &mut full);
        for (k, v) in sym.iter().enumerate() {
            let in_alloc = (60..96).contains(&k);
            if in_alloc && k % 2 == 1 {
                let n = (k - 1) / 4;
                let kp = ((k - 1) % 4) / 2;
                let w = if kp == 0 { 1.0 } else { -1.0 };
                assert_eq!(*v, full[2 * n + kp] * (2f32.sqrt() * w), "k {k}");
            } else {
                assert_eq!(*v, Complex32::default(), "k {k}");
            }
        }
        assert_eq!(
            data_mask_in_prb(DmrsType::Type1, 1),
            [false, true].repeat(6).as_slice()
        );
        assert!(data_mask_in_prb(DmrsType::Type2, 3).iter().all(|d| !d));
        assert_eq!(
            data_mask_in_prb(DmrsType::Type2, 2)
                .iter()
                .filter(|&&d| d)
                .count(),
            4
        );
    }
}
