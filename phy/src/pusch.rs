//! The PUSCH processors: transport block ↔ resource grid ↔ time samples
//! (TS 38.211 §6.3.1, §6.4.1.1; TS 38.212 §6.2; TS 38.214 §6.1.4).
//!
//! Transmit: TB → CRC, segmentation, LDPC, rate matching (`coding::tb`) →
//! scrambling with c_init = n_RNTI·2^15 + n_ID (§6.3.1.1) → modulation
//! (§6.3.1.2) → layer mapping x^(j)(i) = d(v·i + j) (§6.3.1.3) → identity
//! (non-codebook) precoding, RE mapping and DM-RS (β_DMRS from the CDM groups
//! without data) → CP-OFDM per port. The shared transmitter also precodes
//! per PRG onto its antennas (`mimo::PrgPrecoder`, the PDSCH's §7.3.1.5). Transform precoding, PT-RS, UCI
//! multiplexing and frequency hopping are not supported.
//!
//! Receive, in stages a pipeline can schedule separately:
//! [`PuschReceiver::demodulate_symbol`] (OFDM per antenna and symbol) →
//! [`PuschReceiver::estimate_channel`] (DM-RS LS, CDM despreading,
//! interpolation, noise, timing offset, CFO) →
//! [`PuschReceiver::detect_symbol`] (ZF or MMSE per RE, post-equalisation
//! noise variance per layer) → [`PuschReceiver::demap`] (max-log LLRs scaled
//! by that noise variance, quantised to `i8` at a fixed [`LLR_SCALE`] and
//! descrambled in one SIMD pass) → [`PuschReceiver::decode`] (`coding::tb`:
//! HARQ combining into the soft buffer of the (RNTI, HARQ process), rate
//! recovery, LDPC per code block, CRCs).
//!
//! Finer, for a pipeline's parallel tasks: the front end ([`ShFrontEnd`])
//! per DM-RS position ([`ShFrontEnd::chest_position`],
//! [`ShFrontEnd::chest_interpolate`]), once per PUSCH
//! ([`ShFrontEnd::chest_combine`]) and per block of symbols
//! ([`ShFrontEnd::detect_symbols`]); the decode per code block
//! ([`PuschReceiver::decode_prepare`], [`PuschReceiver::decode_code_block`],
//! [`PuschReceiver::decode_finish`]). Each gives, bit for bit, what the
//! whole-slot calls give.
//!
//! Plan once, run many: the constructors make FFT plans, detectors,
//! demappers and every buffer for the largest allocation; a slot then
//! allocates nothing.

use crate::chest::ChestOptions;
use crate::coding::crc::CrcPoly;
use crate::coding::ldpc::{BaseGraph, DecoderConfig, LdpcDecoder, MinSum};
use crate::coding::rate_match::HarqSoftBuffer;
use crate::coding::scrambling::{c_init_pusch, scramble_bits_at};
use crate::coding::tb::{CbOutcome, TbConfig, TbDecoder, TbEncoder, TbPlan};
use crate::coding::tbs::{mcs, transport_block_size, McsTable, TbScaling, TbsError, TbsParams};
use crate::grid::ResourceGrid;
use crate::mimo::{Equalizer, PrecodingError, PrgPrecoder};
use crate::modulation::{Demapper, Mapper, Modulation};
use crate::numerology::Numerology;
use crate::ofdm::{OfdmDemodulator, OfdmError, OfdmModulator, OfdmOptions};
use crate::pdu::{PduError, PuschPdu};
use crate::refsig::dmrs::{DmrsError, DmrsLink, DmrsParams, MappingType};
use crate::refsig::gold::GoldSequence;
use crate::sch::{
    evm_percent_with, post_sinr_db, quantize_descramble, DetectScratch, FrontEndError, RxFrontEnd,
    SchLayout,
};
use crate::simd::SimdLevel;
use num_complex::Complex32;
use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU8, AtomicUsize, Ordering};

/// Why a PUSCH could not be processed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PuschError {
    /// The PDU does not fit the carrier.
    #[error("invalid PDU: {0}")]
    Pdu(#[from] PduError),
    /// The DM-RS does not fit the allocation.
    #[error("invalid DM-RS: {0}")]
    Dmrs(#[from] DmrsError),
    /// No transport block size for this MCS.
    #[error("TBS: {0}")]
    Tbs(#[from] TbsError),
    /// A buffer of the wrong length, or a request beyond the processor's sizes.
    #[error("{0}")]
    Size(String),
    /// OFDM stage.
    #[error("OFDM: {0}")]
    Ofdm(#[from] OfdmError),
    /// Estimation or detection stage.
    #[error("{0}")]
    FrontEnd(#[from] FrontEndError),
    /// Transport-channel coding.
    #[error("coding: {0}")]
    Coding(String),
    /// The precoder does not fit the PDSCH or the transmitter.
    #[error("precoding: {0}")]
    Precoding(#[from] PrecodingError),
    /// Detection or decoding failed on a part of a PUSCH split over tasks.
    #[error("detection or LDPC failed on a part of the PUSCH")]
    PartFailed,
    /// The slot holding the PDU has not been processed (yet).
    #[error("not processed")]
    NotProcessed,
}

/// Everything derived from one PDU: layout, modulation, sizes, scrambling.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ShPlan {
    /// The data REs and DM-RS.
    pub layout: SchLayout,
    /// Modulation.
    pub modulation: Modulation,
    /// Q_m.
    pub qm: usize,
    /// Target code rate R·2048.
    pub r_x2048: u32,
    /// Transport block size A.
    pub tbs: usize,
    /// Coded bits G.
    pub g: usize,
    /// Scrambling c_init.
    pub c_init: u32,
    /// Redundancy version.
    pub rv: u8,
    /// New data (clears the HARQ soft buffer).
    pub new_data: bool,
    /// The NDI bit: with (RNTI, HARQ id) the identity of the TB.
    pub ndi: bool,
    /// HARQ process.
    pub harq_id: u8,
    /// The RNTI (with `harq_id`, the key of the HARQ soft buffer).
    pub rnti: u16,
    /// The transport-block coding plan (segmentation, E_r, N_cb).
    pub tb: TbPlan,
}

/// The plan of a PUSCH.
pub type PuschPlan = ShPlan;

/// The common fields of a PUSCH or PDSCH request.
pub(crate) struct ShRequest<'a> {
    pub link: DmrsLink,
    pub mapping: MappingType,
    pub dmrs: &'a crate::pdu::DmrsConfig,
    pub slot: u32,
    pub start_symbol: u8,
    pub n_symbols: u8,
    pub prb_start: u16,
    pub n_prb: u16,
    pub table: Option<McsTable>,
    pub mcs_table: u8,
    pub mcs_index: u8,
    pub num_layers: u8,
    pub c_init: u32,
    pub rv: u8,
    pub new_data: bool,
    pub ndi: bool,
    pub harq_id: u8,
    pub rnti: u16,
}

impl ShPlan {
    /// The allocation's PRBs.
    pub fn prbs(&self) -> Range<usize> {
        let d = &self.layout.dmrs;
        d.prb_start..d.prb_start + d.n_prb
    }

    /// The allocation's OFDM symbols.
    pub fn symbols(&self) -> Range<usize> {
        self.layout.start_symbol..self.layout.start_symbol + self.layout.n_symbols
    }

    /// Whether the two allocations share an RE (PRBs and symbols intersect):
    /// then the second adds to the first on the antennas (MU-MIMO).
    pub fn overlaps(&self, other: &ShPlan) -> bool {
        let (a, b) = (self.prbs(), other.prbs());
        let (s, t) = (self.symbols(), other.symbols());
        a.start < b.end && b.start < a.end && s.start < t.end && t.start < s.end
    }

    /// Validates `pdu` against a carrier of `carrier_prbs` PRBs and
    /// `rx_antennas` antennas, and derives the PUSCH plan (mapping type A).
    pub fn pusch(pdu: &PuschPdu, carrier_prbs: u16, rx_antennas: u16) -> Result<Self, PuschError> {
        pdu.validate(carrier_prbs, rx_antennas)?;
        Self::from_request(&ShRequest {
            link: DmrsLink::Pusch,
            mapping: MappingType::A,
            dmrs: &pdu.dmrs,
            slot: pdu.slot as u32,
            start_symbol: pdu.start_symbol,
            n_symbols: pdu.n_symbols,
            prb_start: pdu.prb_start,
            n_prb: pdu.n_prb,
            table: McsTable::pusch(pdu.mcs_table, false),
            mcs_table: pdu.mcs_table,
            mcs_index: pdu.mcs_index,
            num_layers: pdu.num_layers,
            c_init: c_init_pusch(pdu.rnti, pdu.n_id),
            rv: pdu.rv,
            new_data: pdu.new_data,
            ndi: pdu.ndi,
            harq_id: pdu.harq_id,
            rnti: pdu.rnti,
        })
    }

    pub(crate) fn from_request(r: &ShRequest<'_>) -> Result<Self, PuschError> {
        let dmrs = DmrsParams::new(
            r.link,
            r.mapping,
            r.dmrs,
            r.slot,
            r.start_symbol,
            r.n_symbols,
            r.prb_start as usize,
            r.n_prb as usize,
        )?;
        let layout = SchLayout::new(dmrs, r.start_symbol as usize, r.n_symbols as usize);
        if layout.n_re == 0 {
            return Err(PuschError::Dmrs(DmrsError::NoPosition {
                mapping: r.mapping,
                ld: r.start_symbol + r.n_symbols,
                add: r.dmrs.additional_position,
                len: r.dmrs.length,
            }));
        }
        let table = r.table.ok_or(PduError::Field {
            field: "mcs_table",
            value: r.mcs_table as u32,
            allowed: "1, 2, 3",
        })?;
        let m = mcs(table, r.mcs_index, false)?;
        let info = transport_block_size(&TbsParams {
            n_prb: r.n_prb as u32,
            n_symb_sh: r.n_symbols,
            n_dmrs_prb: layout.n_dmrs_prb() as u32,
            n_oh: 0,
            num_layers: r.num_layers,
            mcs: m,
            scaling: TbScaling::One,
        })?;
        let qm = m.qm as usize;
        let modulation = Modulation::from_qm(qm, false).ok_or(PduError::Field {
            field: "mcs_index",
            value: r.mcs_index as u32,
            allowed: "an index with QPSK or higher (no transform precoding)",
        })?;
        let g = layout.g(qm);
        let tb = TbPlan::new(TbConfig {
            tbs: info.tbs as usize,
            r_x2048: m.r_x2048,
            qm: qm as u8,
            num_layers: r.num_layers,
            g,
            tbs_lbrm: None,
        })
        .map_err(|e| PuschError::Coding(e.to_string()))?;
        Ok(ShPlan {
            layout,
            modulation,
            qm,
            r_x2048: m.r_x2048,
            tbs: info.tbs as usize,
            g,
            c_init: r.c_init,
            rv: r.rv,
            new_data: r.new_data,
            ndi: r.ndi,
            harq_id: r.harq_id,
            rnti: r.rnti,
            tb,
        })
    }
}

/// A physical shared channel: how its PDU becomes a plan.
pub trait SharedChannel {
    /// The per-slot request.
    type Pdu;
    /// Validates `pdu` against the carrier and antennas and derives the plan.
    fn plan(pdu: &Self::Pdu, carrier_prbs: u16, antennas: u16) -> Result<ShPlan, PuschError>;
    /// The slot number of `pdu`.
    fn slot(pdu: &Self::Pdu) -> u32;
}

/// The PUSCH.
#[derive(Debug, Clone, Copy)]
pub struct Pusch;

impl SharedChannel for Pusch {
    type Pdu = PuschPdu;
    fn plan(pdu: &PuschPdu, carrier_prbs: u16, antennas: u16) -> Result<ShPlan, PuschError> {
        ShPlan::pusch(pdu, carrier_prbs, antennas)
    }
    fn slot(pdu: &PuschPdu) -> u32 {
        pdu.slot as u32
    }
}

/// What a PUSCH receive reports.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct PuschResult {
    /// Transport-block CRC passed.
    pub crc_ok: bool,
    /// Mean post-equalisation SINR over layers and REs, dB.
    pub sinr_db: f32,
    /// Per-antenna SNR of layer 0 from the DM-RS, dB.
    pub dmrs_snr_db: f32,
    /// RMS EVM of the equalised symbols, %.
    pub evm_percent: f32,
    /// Estimated timing offset, seconds.
    pub timing_offset_s: f64,
    /// Estimated CFO, Hz (0 when the DM-RS has a single position).
    pub cfo_hz: f64,
    /// Noise variance per RE from the DM-RS.
    pub noise_var: f32,
    /// LDPC iterations summed over code blocks.
    pub ldpc_iterations: u32,
    /// Codeword symbols (data RE × layer) whose equalised value was NaN or
    /// infinite: erased, their LLRs 0 (zero confidence).
    pub erased_res: u32,
    /// DM-RS REs (per antenna) that were NaN or infinite: left out of the
    /// channel estimate (replaced by their nearest finite neighbour).
    pub erased_dmrs_res: u32,
}

/// Index of a modulation's mapper/demapper in the per-Q_m tables.
fn qm_slot(qm: usize) -> usize {
    match qm {
        2 => 0,
        4 => 1,
        6 => 2,
        8 => 3,
        _ => 4,
    }
}

const QMS: [usize; 5] = [2, 4, 6, 8, 10];

/// Scrambling, modulation, layer mapping, RE mapping and DM-RS of a shared
/// channel's coded bits into a grid, one block of OFDM symbols at a time,
/// with its own scratch: the mapping stage of [`ShTransmitter`]
/// ([`ShTransmitter::map`] runs it over the whole slot), which a pipeline
/// runs per block of symbols on several workers at once.
pub struct ShSymbolMapper {
    n_sc: usize,
    max_layers: usize,
    mappers: Vec<Mapper>,
    bits: Vec<u8>,
    d: Vec<Complex32>,
    seq: Vec<Complex32>,
    /// Layers x symbols x subcarriers: the layers of a precoded (or
    /// overlapping) shared channel before they are added to the antennas.
    layers: Vec<Complex32>,
}

impl ShSymbolMapper {
    /// Scratch for carrier `num` and up to `max_layers` layers.
    pub fn new(num: &Numerology, max_layers: usize) -> Self {
        let n_sc = num.n_sc();
        ShSymbolMapper {
            n_sc,
            mappers: QMS
                .iter()
                .map(|&q| Mapper::new(Modulation::from_qm(q, false).unwrap_or(Modulation::Qpsk)))
                .collect(),
            bits: vec![0; 14 * n_sc * max_layers * 10],
            d: vec![Complex32::default(); 14 * n_sc * max_layers],
            seq: vec![Complex32::default(); 6 * num.n_prb() as usize],
            max_layers,
            layers: vec![Complex32::default(); 14 * n_sc * max_layers],
        }
    }

    /// Maps slot symbols `symbols` of `plan` from `coded` (all G coded bits,
    /// before scrambling) into `ports`: `ports[j]` is port j's part of the
    /// grid for those symbols (symbol-major, whole-carrier symbols), for
    /// every layer j. Only the allocation's REs are written; the symbols'
    /// other REs keep what they had. The symbols' bits are scrambled as
    /// their part of the whole codeword (TS 38.211 §6.3.1.1 / §7.3.1.1), so
    /// mapping a slot in blocks writes exactly what mapping it whole writes.
    pub fn map_symbols(
        &mut self,
        plan: &ShPlan,
        coded: &[u8],
        symbols: std::ops::Range<usize>,
        ports: &mut [&mut [Complex32]],
    ) -> Result<(), PuschError> {
        if coded.len() != plan.g {
            return Err(PuschError::Size(format!(
                "{} coded bits, G is {}",
                coded.len(),
                plan.g
            )));
        }
        let lay = &plan.layout;
        let v = lay.layers();
        let span = symbols.end.saturating_sub(symbols.start);
        let want = span * self.n_sc;
        if symbols.end > 14 || ports.len() < v || ports.iter().any(|p| p.len() != want) {
            return Err(PuschError::Size(format!(
                "symbols {symbols:?} into {} port views (need {v} of {want} REs)",
                ports.len()
            )));
        }
        let (i0, i1) = (lay.res_before(symbols.start), lay.res_before(symbols.end));
        let (b0, b1) = (plan.qm * v * i0, plan.qm * v * i1);
        let n_sym = v * (i1 - i0);
        if b1 - b0 > self.bits.len() || n_sym > self.d.len() {
            return Err(PuschError::Size(format!(
                "{} coded bits exceed the mapper's {}",
                b1 - b0,
                self.bits.len()
            )));
        }
        let bits = &mut self.bits[..b1 - b0];
        bits.copy_from_slice(&coded[b0..b1]);
        scramble_bits_at(plan.c_init, b0, bits);
        self.mappers[qm_slot(plan.qm)]
            .map(bits, &mut self.d[..n_sym])
            .map_err(|e| PuschError::Coding(e.to_string()))?;
        lay.map_data_symbols(&self.d[..n_sym], symbols.clone(), ports);
        lay.map_dmrs_symbols(symbols, ports, &mut self.seq);
        Ok(())
    }

    /// Maps symbols `symbols` of `plan` as [`ShSymbolMapper::map_symbols`]
    /// does, onto antennas: `antennas[a]` is antenna a's part of the grid for
    /// those symbols. The shared channel's contribution is
    /// - without `precoding` and with `add` false, its layers written in
    ///   place, layer j on antenna j (what `map_symbols` does: the REs were
    ///   clear);
    /// - without `precoding` and with `add`, layer j added to antenna j;
    /// - with `precoding`, `W x` added to every antenna, `W` the matrix of
    ///   each RE's PRG (TS 38.211 §7.3.1.5; TS 38.214 §5.1.2.3), over every
    ///   RE of the allocation: data and DM-RS alike, so the UE estimates the
    ///   precoded channel (§7.4.1.1.2), and the REs a layer leaves empty (the
    ///   other CDM groups' DM-RS) add nothing.
    ///
    /// Adding is how co-scheduled (MU-MIMO) channels on the same REs sum.
    /// `precoding` has been checked against the plan
    /// ([`PrgPrecoder::check`]); `antennas` are then its `n_tx` antennas.
    #[allow(clippy::too_many_arguments)]
    pub fn map_precoded(
        &mut self,
        plan: &ShPlan,
        coded: &[u8],
        symbols: Range<usize>,
        precoding: Option<&PrgPrecoder>,
        add: bool,
        level: SimdLevel,
        antennas: &mut [&mut [Complex32]],
    ) -> Result<(), PuschError> {
        if precoding.is_none() && !add {
            return self.map_symbols(plan, coded, symbols, antennas);
        }
        let v = plan.layout.layers();
        let n_sc = self.n_sc;
        let want = symbols.end.saturating_sub(symbols.start) * n_sc;
        if v > self.max_layers.min(8) || v * want > self.layers.len() || antennas.len() < v {
            return Err(PuschError::Size(format!(
                "{v} layers of {want} REs onto {} antennas (mapper of {} layers)",
                antennas.len(),
                self.max_layers
            )));
        }
        // The allocated symbols among `symbols`, as rows of the views.
        let alloc = plan.symbols();
        let rows = alloc.start.max(symbols.start).saturating_sub(symbols.start)
            ..alloc.end.min(symbols.end).saturating_sub(symbols.start);
        let sc = 12 * plan.layout.dmrs.prb_start
            ..12 * (plan.layout.dmrs.prb_start + plan.layout.dmrs.n_prb);
        let mut scratch = std::mem::take(&mut self.layers);
        let mut views: [&mut [Complex32]; 8] = Default::default();
        for (view, chunk) in views.iter_mut().zip(scratch.chunks_exact_mut(want)).take(v) {
            // The mapper writes data and its layer's DM-RS only: clear the
            // rest, on the symbols without data on every subcarrier (DM-RS).
            for r in rows.clone() {
                if !plan.layout.is_full(symbols.start + r) {
                    chunk[r * n_sc + sc.start..r * n_sc + sc.end].fill(Complex32::default());
                }
            }
            *view = chunk;
        }
        let mapped = self.map_symbols(plan, coded, symbols, &mut views[..v]);
        let r = mapped.and_then(|()| {
            let mut xs: [&[Complex32]; 8] = Default::default();
            for (x, view) in xs.iter_mut().zip(views.iter()) {
                *x = view;
            }
            match precoding {
                Some(p) => p
                    .apply_add(level, &xs[..v], n_sc, rows.clone(), plan.prbs(), antennas)
                    .map_err(PuschError::from),
                None => {
                    for (ant, x) in antennas.iter_mut().zip(&xs[..v]) {
                        for r in rows.clone() {
                            let re = r * n_sc + sc.start..r * n_sc + sc.end;
                            for (o, i) in ant[re.clone()].iter_mut().zip(&x[re]) {
                                *o += *i;
                            }
                        }
                    }
                    Ok(())
                }
            }
        });
        self.layers = scratch;
        r
    }

    /// The scrambled bits of the last [`ShSymbolMapper::map_symbols`] (its
    /// symbols' part of the codeword).
    pub fn scrambled_bits(&self, len: usize) -> &[u8] {
        &self.bits[..len.min(self.bits.len())]
    }
}

/// Shared-channel transmitter: TB → coded bits → grid → time samples.
/// [`PuschTransmitter`] is the UE side of the PUSCH (tests, the link
/// simulator, conformance); `pdsch::PdschTransmitter` the gNB side of the PDSCH.
///
/// Its stages ([`ShTransmitter::encode`], [`ShTransmitter::map`],
/// [`ShTransmitter::modulate`]) are made of pieces a pipeline can run in
/// parallel: [`TbEncoder::encode_blocks`] per group of code blocks,
/// [`ShSymbolMapper::map_symbols`] per block of symbols and
/// [`OfdmModulator::modulate_symbol`] per antenna and symbol.
///
/// Its grid has one port per antenna. Without a precoder layer j goes to
/// antenna j; with one ([`ShTransmitter::transmit_precoded`], a
/// [`PrgPrecoder`] per channel) every antenna carries `W x` per PRG. The
/// grid is the sum of the slot's channels' contributions: channels on the
/// same REs (MU-MIMO, on different DM-RS ports) add up.
pub struct ShTransmitter<L: SharedChannel> {
    _link: std::marker::PhantomData<L>,
    num: Numerology,
    max_layers: usize,
    level: SimdLevel,
    mods: Vec<OfdmModulator>,
    grid: ResourceGrid,
    mapper: ShSymbolMapper,
    encoder: TbEncoder,
    coded: Vec<u8>,
    /// The channels in the grid since it was cleared (up to its capacity;
    /// beyond, every later channel is taken to overlap, which only costs time).
    added: Vec<ShPlan>,
    added_all: bool,
}

/// Channels a transmitter remembers per slot to tell overlapping ones.
const ADDED_CAPACITY: usize = 32;

/// The PUSCH transmitter.
pub type PuschTransmitter = ShTransmitter<Pusch>;

impl<L: SharedChannel> ShTransmitter<L> {
    /// A transmitter for the carrier `num` with `max_layers` antennas
    /// (1..=64; grid ports), sending up to `min(max_layers, 8)` layers.
    pub fn new(num: Numerology, max_layers: usize, ofdm: OfdmOptions) -> Result<Self, PuschError> {
        if !(1..=crate::mimo::prg::MAX_PRECODER_ANTENNAS).contains(&max_layers) {
            return Err(PuschError::Size(format!(
                "{max_layers} transmit antennas (1..=64)"
            )));
        }
        let n_sc = num.n_sc();
        let layers = max_layers.min(8);
        let max_g = 14 * n_sc * layers * 10;
        Ok(ShTransmitter {
            _link: std::marker::PhantomData,
            num,
            max_layers,
            level: SimdLevel::detect(),
            mods: (0..max_layers)
                .map(|_| OfdmModulator::new(num, ofdm))
                .collect::<Result<_, _>>()?,
            grid: ResourceGrid::new(max_layers, num.symbols_per_slot(), n_sc),
            mapper: ShSymbolMapper::new(&num, layers),
            encoder: TbEncoder::new(),
            coded: vec![0; max_g],
            added: Vec::with_capacity(ADDED_CAPACITY),
            added_all: false,
        })
    }

    /// The carrier.
    pub fn numerology(&self) -> &Numerology {
        &self.num
    }

    /// Largest number of layers (the grid's ports).
    pub fn max_layers(&self) -> usize {
        self.max_layers
    }

    /// Antennas (the grid's ports, the `n_tx` of a precoder).
    pub fn n_tx(&self) -> usize {
        self.grid.ports()
    }

    fn clear_grid(&mut self) {
        self.grid.clear();
        self.added.clear();
        self.added_all = false;
    }

    /// The plan of `pdu` on this carrier.
    pub fn plan(&self, pdu: &L::Pdu) -> Result<ShPlan, PuschError> {
        L::plan(pdu, self.num.n_prb(), self.max_layers as u16)
    }

    /// Stage: channel coding of transport block `tb` (A bits) into the G
    /// coded bits (before scrambling), returned.
    pub fn encode(&mut self, plan: &ShPlan, tb: &[u8]) -> Result<&[u8], PuschError> {
        if tb.len() != plan.tbs {
            return Err(PuschError::Size(format!(
                "transport block of {} bits, the PDU's TBS is {}",
                tb.len(),
                plan.tbs
            )));
        }
        let out = &mut self.coded[..plan.g];
        self.encoder
            .encode(&plan.tb, tb, plan.rv, out)
            .map_err(|e| PuschError::Coding(e.to_string()))?;
        Ok(&self.coded[..plan.g])
    }

    /// Stage: scrambling, modulation, layer mapping, RE mapping and DM-RS of
    /// `coded` (G bits before scrambling) into the transmit grid (ports =
    /// layers), which is cleared first and returned. The scrambled bits are
    /// kept ([`PuschTransmitter::scrambled_bits`]).
    pub fn map(&mut self, plan: &ShPlan, coded: &[u8]) -> Result<&ResourceGrid, PuschError> {
        self.clear_grid();
        self.map_add(plan, coded)?;
        Ok(&self.grid)
    }

    /// As [`ShTransmitter::map`] without clearing the grid first: adds
    /// another shared channel of the slot to what the grid holds (on the
    /// same REs, the two add up).
    pub fn map_add(&mut self, plan: &ShPlan, coded: &[u8]) -> Result<(), PuschError> {
        self.map_add_precoded(plan, coded, None)
    }

    /// As [`ShTransmitter::map_add`] with the channel's layers precoded onto
    /// every antenna by `precoding` (`None`: layer j on antenna j), which is
    /// checked against the plan and the transmitter's antennas first.
    pub fn map_add_precoded(
        &mut self,
        plan: &ShPlan,
        coded: &[u8],
        precoding: Option<&PrgPrecoder>,
    ) -> Result<(), PuschError> {
        if let Some(p) = precoding {
            p.check(self.grid.ports(), plan.layout.layers(), plan.prbs())?;
        }
        // Onto clear REs a channel without precoder is written in place;
        // where an earlier one lies it is added.
        let add = self.added_all || self.added.iter().any(|a| a.overlaps(plan));
        if self.added.len() < ADDED_CAPACITY {
            self.added.push(*plan);
        } else {
            self.added_all = true;
        }
        let symbols = self.grid.symbols();
        let mut views: [&mut [Complex32]; crate::mimo::prg::MAX_PRECODER_ANTENNAS] =
            std::array::from_fn(|_| Default::default());
        let mut n = 0;
        for (v, p) in views.iter_mut().zip(self.grid.ports_mut()) {
            *v = p;
            n += 1;
        }
        self.mapper.map_precoded(
            plan,
            coded,
            0..symbols,
            precoding,
            add,
            self.level,
            &mut views[..n],
        )
    }

    /// The scrambled bits of the last [`PuschTransmitter::map`] (the modulator input).
    pub fn scrambled_bits(&self, plan: &ShPlan) -> &[u8] {
        self.mapper.scrambled_bits(plan.g)
    }

    /// TB → grid: [`PuschTransmitter::encode`] then [`PuschTransmitter::map`].
    pub fn transmit(
        &mut self,
        pdu: &L::Pdu,
        tb: &[u8],
    ) -> Result<(ShPlan, &ResourceGrid), PuschError> {
        self.transmit_precoded(pdu, tb, None)
    }

    /// As [`ShTransmitter::transmit`] with the layers precoded per PRG onto
    /// every antenna ([`ShTransmitter::map_add_precoded`]).
    pub fn transmit_precoded(
        &mut self,
        pdu: &L::Pdu,
        tb: &[u8],
        precoding: Option<&PrgPrecoder>,
    ) -> Result<(ShPlan, &ResourceGrid), PuschError> {
        self.clear_grid();
        let plan = self.transmit_add_precoded(pdu, tb, precoding)?;
        Ok((plan, &self.grid))
    }

    /// As [`ShTransmitter::transmit`] without clearing the grid first (see
    /// [`ShTransmitter::map_add`]): a slot with several shared channels is
    /// `transmit` of the first and `transmit_add` of the others.
    pub fn transmit_add(&mut self, pdu: &L::Pdu, tb: &[u8]) -> Result<ShPlan, PuschError> {
        self.transmit_add_precoded(pdu, tb, None)
    }

    /// As [`ShTransmitter::transmit_add`] with a precoder
    /// ([`ShTransmitter::map_add_precoded`]).
    pub fn transmit_add_precoded(
        &mut self,
        pdu: &L::Pdu,
        tb: &[u8],
        precoding: Option<&PrgPrecoder>,
    ) -> Result<ShPlan, PuschError> {
        let plan = self.plan(pdu)?;
        if let Some(p) = precoding {
            p.check(self.grid.ports(), plan.layout.layers(), plan.prbs())?;
        }
        self.encode(&plan, tb)?;
        let coded = std::mem::take(&mut self.coded);
        let r = self.map_add_precoded(&plan, &coded[..plan.g], precoding);
        self.coded = coded;
        r?;
        Ok(plan)
    }

    /// The transmit grid (ports = antennas).
    pub fn grid(&self) -> &ResourceGrid {
        &self.grid
    }

    /// Stage: CP-OFDM of the grid's first `out.len()` ports, one slot each
    /// (`numerology().slot_len(slot)` samples per port).
    pub fn modulate(&mut self, slot: u32, out: &mut [&mut [Complex32]]) -> Result<(), PuschError> {
        if out.len() > self.max_layers {
            return Err(PuschError::Size(format!(
                "{} output ports, built for {}",
                out.len(),
                self.max_layers
            )));
        }
        for (p, o) in out.iter_mut().enumerate() {
            self.mods[p].modulate_slot(slot, &self.grid, p, o)?;
        }
        Ok(())
    }
}

/// Receiver options.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PuschRxConfig {
    /// Receive antennas.
    pub n_rx: usize,
    /// Largest number of layers.
    pub max_layers: usize,
    /// Linear detector.
    pub equalizer: Equalizer,
    /// Channel-estimation options.
    pub chest: ChestOptions,
    /// LDPC iterations per code block (at most).
    pub ldpc_iterations: u32,
    /// LDPC check-node correction.
    pub ldpc_algorithm: MinSum,
    /// Stop a code block's LDPC iterations as soon as its parity checks or
    /// CRC pass (otherwise every block runs `ldpc_iterations`).
    pub ldpc_early_stop: bool,
    /// HARQ soft buffers the receiver keeps (each sized for the largest
    /// transport block of the carrier): one per (RNTI, HARQ process) awaiting
    /// a retransmission. At least 1.
    pub harq_buffers: usize,
    /// OFDM options (half-subcarrier shift).
    pub ofdm: OfdmOptions,
    /// Instruction set cap.
    pub level: SimdLevel,
}

impl PuschRxConfig {
    /// Defaults for `n_rx` antennas and `max_layers` layers: ZF, slot-averaged
    /// channel with delay and CFO tracking, 6 LDPC iterations of offset
    /// min-sum with β = 4 (tuned for LLRs at [`LLR_SCALE`]; pinned here, not
    /// taken from the LDPC default, so the chain's conformance does not move
    /// with it), 16 HARQ buffers.
    pub fn new(n_rx: usize, max_layers: usize) -> Self {
        PuschRxConfig {
            n_rx,
            max_layers,
            equalizer: Equalizer::Zf,
            chest: ChestOptions::default(),
            ldpc_iterations: 6,
            ldpc_algorithm: MinSum::Offset { beta: 4 },
            ldpc_early_stop: true,
            harq_buffers: 16,
            ofdm: OfdmOptions::default(),
            level: SimdLevel::detect(),
        }
    }

    /// The LDPC decoder settings of these receiver settings (iterations
    /// clamped to 1..=100, SIMD level to what this CPU has).
    pub fn decoder_config(&self) -> DecoderConfig {
        DecoderConfig {
            max_iterations: self.ldpc_iterations.clamp(1, 100),
            algorithm: self.ldpc_algorithm,
            level: self.level.clamp_to(SimdLevel::detect()),
            early_stop: self.ldpc_early_stop,
        }
    }
}

/// Quantisation of the demapper's LLRs (nats) to the decoder's `i8`: one
/// unit is 1/8 nat, the scale the LDPC offset min-sum is tuned for. A fixed
/// scale (not one fitted to each slot) keeps LLRs of different
/// transmissions commensurable, so HARQ combining adds like with like.
/// Saturation at ±127 is ±15.9 nats: an error probability of 1e-7.
pub const LLR_SCALE: f32 = 8.0;

/// Symbols demapped per chunk: their float LLRs stay in L1 before they are
/// quantised (a multiple of 32 LLRs for every Q_m, so the scrambling words
/// stay aligned).
const DEMAP_CHUNK: usize = 256;

/// One HARQ soft buffer and whose it is.
struct HarqEntry {
    /// (RNTI, HARQ id) of the TB in the buffer.
    key: Option<(u16, u8)>,
    /// The NDI of the TB in the buffer: a retransmission with another NDI
    /// belongs to a TB whose first transmission never arrived.
    ndi: bool,
    /// Waiting for a retransmission (the last decode failed).
    pending: bool,
    /// Whether any transmission combined into it carried energy.
    heard: bool,
    /// Recency stamp of the last use.
    used: u64,
    buf: HarqSoftBuffer,
}

/// The receiver's HARQ soft buffers, keyed by (RNTI, HARQ id) and all
/// sized at construction. A new TB takes the buffer of its own key, else a
/// free one (never used, or whose TB decoded), else the least recently used
/// (whose retransmission then decodes on its own).
///
/// A retransmission combines only with soft bits of its own TB: the buffer
/// must hold a TB of the same NDI whose last decode failed. Otherwise (its
/// first transmission was dropped or lost, so the buffer holds the previous,
/// already decoded TB of that HARQ process) it decodes alone: combining it
/// with another TB's soft bits can converge to that TB with a passing CRC,
/// and hand an old MAC PDU up as new.
struct HarqBuffers {
    entries: Vec<HarqEntry>,
    clock: u64,
}

impl HarqBuffers {
    fn new(count: usize, capacity: usize, max_cbs: usize) -> Self {
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

    /// The buffer for (rnti, harq); `fresh` is true when it holds nothing
    /// of this TB (a new TB, or a retransmission whose buffer was lost).
    fn select(&mut self, rnti: u16, harq: u8, new_data: bool, ndi: bool) -> (usize, bool) {
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
fn soft_buffer_bound(n_prb: usize, layers: usize) -> (usize, usize) {
    // G ≤ 12·14 REs per PRB × Q_m ≤ 10 × layers; TBS < G (R < 1). Per block,
    // N = 3K (BG1) with K within 12.5 % of K' (lifting sizes), or N = 5K for
    // BG2 (R ≤ 1/4 or TBS ≤ 3824): C·N ≤ 3.4·G·R_max + 2·N_max.
    let g = 12 * 14 * n_prb.max(1) * 10 * layers.max(1);
    let max_cbs = g.div_ceil(8424) + 2;
    let cap = (g as f64 * 3.4) as usize + 2 * 25344;
    (cap, max_cbs)
}

/// A raw pointer handed between the split-decode steps (see
/// [`ShReceiver::decode_code_block`] for why its use is sound).
#[derive(Clone, Copy)]
struct SendPtr<T>(*mut T);

// SAFETY: the pointee buffers belong to the receiver and the split-decode
// claims give each code block's range to one caller at a time.
unsafe impl<T: Send> Send for SendPtr<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Sync for SendPtr<T> {}

/// The state of a split decode between its three steps.
struct SplitState {
    /// The prepared TB plan; None when no split decode is open.
    plan: Option<TbPlan>,
    rv: u8,
    /// HARQ entry in use.
    entry: usize,
    /// The entry holds nothing of this TB (new data or a lost buffer).
    fresh: bool,
    /// Each block clears its part of the soft buffer before combining
    /// (the buffer was laid out anew by `decode_prepare`).
    clear: bool,
    soft: SendPtr<i8>,
    filled: SendPtr<usize>,
    bits: SendPtr<u8>,
    /// Per code block: decoded (or being decoded) in this split.
    claims: Vec<AtomicBool>,
    iterations: Vec<AtomicU32>,
}

impl SplitState {
    fn new(max_cbs: usize) -> Self {
        SplitState {
            plan: None,
            rv: 0,
            entry: 0,
            fresh: true,
            clear: false,
            soft: SendPtr(std::ptr::null_mut()),
            filled: SendPtr(std::ptr::null_mut()),
            bits: SendPtr(std::ptr::null_mut()),
            claims: (0..max_cbs).map(|_| AtomicBool::new(false)).collect(),
            iterations: (0..max_cbs).map(|_| AtomicU32::new(0)).collect(),
        }
    }

    fn clear(&mut self) {
        self.plan = None;
    }
}

/// The state of a split front end between [`ShReceiver::chest_combine`]
/// and the last [`ShReceiver::detect_symbols`].
struct FrontSplit {
    /// The plan the split is open for; None when closed.
    plan: Option<ShPlan>,
    /// The receiver's codeword symbols, their noise variances and LLRs.
    d: SendPtr<Complex32>,
    dnv: SendPtr<f32>,
    llr: SendPtr<i8>,
    /// Codeword symbols n_RE·v of the plan.
    n_sym: usize,
    /// Per OFDM symbol: detected (or being detected) in this split.
    claims: [AtomicBool; 14],
    /// Per chunk of [`DEMAP_CHUNK`] codeword symbols: OFDM symbols of it
    /// still to detect; the task that detects the last one demaps it.
    chunks: Vec<AtomicU8>,
    /// Chunks not yet demapped.
    pending: AtomicUsize,
    /// The scrambling sequence of the plan at c(0).
    gold: GoldSequence,
}

impl FrontSplit {
    fn new(max_sym: usize) -> Self {
        FrontSplit {
            plan: None,
            d: SendPtr(std::ptr::null_mut()),
            dnv: SendPtr(std::ptr::null_mut()),
            llr: SendPtr(std::ptr::null_mut()),
            n_sym: 0,
            claims: std::array::from_fn(|_| AtomicBool::new(false)),
            chunks: (0..max_sym.div_ceil(DEMAP_CHUNK) + 1)
                .map(|_| AtomicU8::new(0))
                .collect(),
            pending: AtomicUsize::new(0),
            gold: GoldSequence::new(0),
        }
    }
}

/// The scratch of one thread running [`ShReceiver::detect_symbols`]:
/// detection planes, one chunk of float LLRs and its scrambling words.
pub struct FrontScratch {
    detect: DetectScratch,
    llr_f: Vec<f32>,
    mask: Vec<u32>,
}

impl Default for FrontScratch {
    /// Empty scratch (no allocation); [`ShReceiver::new_scratch`] makes a usable one.
    fn default() -> Self {
        FrontScratch {
            detect: DetectScratch::default(),
            llr_f: Vec::new(),
            mask: Vec::new(),
        }
    }
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
) -> Result<(bool, u32), PuschError> {
    let n = out.len();
    let f = &mut llr_f[..n];
    let erased = demapper
        .demap(d, nv, f)
        .map_err(|e| PuschError::Coding(e.to_string()))?;
    let words = n.div_ceil(32);
    for w in &mut mask[..words] {
        *w = gold.next_word();
    }
    let heard = quantize_descramble(level, f, LLR_SCALE, &mask[..words], out);
    Ok((heard, erased as u32))
}

/// The LDPC decoders of one task thread for [`ShReceiver::decode_code_block`]:
/// one per (BG, Z) met (made on first use), and rate-recovery scratch.
pub struct CbDecoder {
    config: DecoderConfig,
    decoders: Vec<((BaseGraph, usize), LdpcDecoder)>,
    scratch: Vec<i8>,
    bits: Vec<u8>,
}

impl CbDecoder {
    /// Decoders with the receiver settings `cfg` (iterations, min-sum, SIMD).
    pub fn new(cfg: &PuschRxConfig) -> Self {
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
    pub fn prepare_all(&mut self, max_e: usize) -> Result<(), PuschError> {
        crate::coding::tb::prepare_decoders(&mut self.decoders, self.config)
            .map_err(|e| PuschError::Coding(e.to_string()))?;
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

/// The receive front end of one shared channel: channel estimation,
/// detection, soft demapping, quantisation and descrambling into the G
/// `i8` LLRs, with the estimate, equalised symbols and LLRs it keeps for
/// the decode and the measurements. A [`ShReceiver`] has its own; a
/// pipeline that keeps several slots in flight holds one per slot and
/// PUSCH and hands it to [`ShReceiver::decode_code_block_with`] and
/// [`ShReceiver::finish_result_with`].
///
/// Split steps (a pipeline runs them as tasks): [`ShFrontEnd::chest_begin`],
/// then per DM-RS position [`ShFrontEnd::chest_position`] and
/// [`ShFrontEnd::chest_interpolate`], then [`ShFrontEnd::chest_combine`],
/// then [`ShFrontEnd::detect_symbols`] per block of symbols;
/// [`ShFrontEnd::process`] runs them in order on one thread.
pub struct ShFrontEnd {
    num: Numerology,
    cfg: PuschRxConfig,
    fe: RxFrontEnd,
    demappers: Vec<Demapper>,
    /// Own scratch (whole-slot calls).
    scratch: FrontScratch,
    /// The G quantised, descrambled LLRs of the slot.
    llr: Vec<i8>,
    /// Whether the last demapped slot carried any non-zero LLR.
    heard: AtomicBool,
    /// Codeword symbols of the last slot erased by the demapper.
    erased: AtomicU32,
    n_sym: usize,
    fsplit: FrontSplit,
}

impl ShFrontEnd {
    /// A front end for the carrier `num` and the receiver settings `cfg`
    /// (antennas, layers, estimator, detector, instruction set).
    pub fn new(num: Numerology, cfg: PuschRxConfig) -> Result<Self, PuschError> {
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
            heard: AtomicBool::new(false),
            erased: AtomicU32::new(0),
            n_sym: 0,
            fsplit: FrontSplit::new(14 * n_sc * cfg.max_layers),
        };
        f.scratch = f.new_scratch();
        Ok(f)
    }

    /// Front-end scratch for one thread calling [`ShFrontEnd::detect_symbols`].
    pub fn new_scratch(&self) -> FrontScratch {
        FrontScratch {
            detect: self.fe.new_scratch(),
            llr_f: vec![0.0; DEMAP_CHUNK * 10],
            mask: vec![0; DEMAP_CHUNK * 10 / 32],
        }
    }

    /// Stage: channel estimation from the DM-RS of `g`.
    pub fn estimate_channel(&mut self, plan: &ShPlan, g: &ResourceGrid) -> Result<(), PuschError> {
        self.fsplit.plan = None;
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
    ) -> Result<usize, PuschError> {
        self.fsplit.plan = None;
        Ok(self.fe.detect_symbol(&plan.layout, g, l, first_re)?)
    }

    /// Stage: soft demapping, quantisation ([`LLR_SCALE`]) and descrambling
    /// of the detected symbols into the G `i8` LLRs (positive: bit 0), returned.
    pub fn demap(&mut self, plan: &ShPlan) -> Result<&[i8], PuschError> {
        self.fsplit.plan = None;
        let qm = plan.qm;
        let n_sym = plan.g / qm;
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
        self.heard.store(heard, Ordering::Relaxed);
        self.erased.store(erased, Ordering::Relaxed);
        self.n_sym = n_sym;
        Ok(&self.llr[..plan.g])
    }

    /// Checks that `g` holds the allocation of `plan` on the receiver's antennas.
    fn check_grid(&self, plan: &ShPlan, g: &ResourceGrid) -> Result<(), PuschError> {
        if g.ports() != self.cfg.n_rx
            || g.n_sc() < plan.layout.first_sc() + plan.layout.n_sc()
            || g.symbols() < 14
        {
            return Err(PuschError::Size(format!(
                "grid of {} antennas × {} symbols × {} subcarriers does not hold the allocation on {} antennas",
                g.ports(),
                g.symbols(),
                g.n_sc(),
                self.cfg.n_rx
            )));
        }
        Ok(())
    }

    /// Channel estimation, detection and demapping of `plan` from `g`: the
    /// split steps in order, on this thread.
    pub fn process(&mut self, plan: &ShPlan, g: &ResourceGrid) -> Result<(), PuschError> {
        let n_pos = self.chest_begin(plan, g)?;
        for pos in 0..n_pos {
            self.chest_position(plan, g, pos);
        }
        for pos in 0..n_pos {
            self.chest_interpolate(plan, pos);
        }
        self.chest_combine(plan)?;
        let mut s = std::mem::take(&mut self.scratch);
        let r = self.detect_symbols(plan, g, 0..14, &mut s);
        self.scratch = s;
        r
    }

    /// Split front end, step 1: checks `g` against `plan` and the front
    /// end's sizes. Returns the DM-RS positions P, the tasks of steps 2 and
    /// 3: [`ShFrontEnd::chest_position`] and then
    /// [`ShFrontEnd::chest_interpolate`] for p = 0..P (`&self`, any order,
    /// any threads), [`ShFrontEnd::chest_combine`], then
    /// [`ShFrontEnd::detect_symbols`] over the slot's symbols in blocks
    /// (`&self`, any order, any threads). Together they give what
    /// [`ShFrontEnd::process`] gives, bit for bit.
    pub fn chest_begin(&mut self, plan: &ShPlan, g: &ResourceGrid) -> Result<usize, PuschError> {
        self.fsplit.plan = None;
        self.check_grid(plan, g)?;
        Ok(self.fe.chest_check(&plan.layout, g)?)
    }

    /// Split front end, step 2 for DM-RS position `pos`: least squares on
    /// the DM-RS REs (TS 38.211 §6.4.1.1.3) and the position's timing
    /// correlation. Needs the same `g` as [`ShFrontEnd::chest_begin`].
    pub fn chest_position(&self, plan: &ShPlan, g: &ResourceGrid, pos: usize) {
        self.fe.chest_position(&plan.layout, g, pos);
    }

    /// Split front end, step 3 for DM-RS position `pos`, after step 2 of
    /// every position (the delay is pooled over them): delay de-rotation,
    /// CDM despreading and frequency interpolation of that position.
    pub fn chest_interpolate(&self, plan: &ShPlan, pos: usize) {
        self.fe.chest_interpolate(&self.num, &plan.layout, pos);
    }

    /// Split front end, step 4, after step 3 of every position: noise
    /// variance, CFO, time averaging and SNR (see `chest`); then opens the
    /// detection of `plan`'s symbols by [`ShFrontEnd::detect_symbols`].
    pub fn chest_combine(&mut self, plan: &ShPlan) -> Result<(), PuschError> {
        self.fe.chest_combine(&self.num, &plan.layout);
        let lay = &plan.layout;
        let v = lay.layers();
        let n_sym = plan.g / plan.qm;
        let (d, dnv) = self.fe.codeword_mut();
        let fs = &mut self.fsplit;
        if n_sym > d.len()
            || plan.g > self.llr.len()
            || n_sym.div_ceil(DEMAP_CHUNK) > fs.chunks.len()
        {
            return Err(PuschError::Size(format!(
                "{n_sym} codeword symbols exceed the receiver's buffers"
            )));
        }
        fs.d = SendPtr(d.as_mut_ptr());
        fs.dnv = SendPtr(dnv.as_mut_ptr());
        fs.llr = SendPtr(self.llr.as_mut_ptr());
        fs.n_sym = n_sym;
        for c in &mut fs.claims {
            *c.get_mut() = false;
        }
        let n_chunks = n_sym.div_ceil(DEMAP_CHUNK);
        for c in &mut fs.chunks[..n_chunks] {
            *c.get_mut() = 0;
        }
        for l in lay.start_symbol..lay.start_symbol + lay.n_symbols {
            let n = lay.res_on_symbol(l);
            if n == 0 {
                continue;
            }
            let (a, b) = (v * lay.res_before(l), v * (lay.res_before(l) + n));
            for c in &mut fs.chunks[a / DEMAP_CHUNK..=(b - 1) / DEMAP_CHUNK] {
                *c.get_mut() += 1;
            }
        }
        *fs.pending.get_mut() = n_chunks;
        fs.gold = GoldSequence::new(plan.c_init);
        fs.plan = Some(*plan);
        *self.heard.get_mut() = false;
        *self.erased.get_mut() = 0;
        self.n_sym = n_sym;
        Ok(())
    }

    /// Split front end, step 5: detection (ZF/MMSE per RE, CFO phase, layer
    /// demapping) of the allocated symbols among `symbols`, each into its
    /// place in the codeword; then soft demapping, quantisation and
    /// descrambling (TS 38.211 §6.3.1.1) of every chunk of
    /// 256 codeword symbols whose last OFDM symbol this call
    /// detected, so each chunk is demapped once, whoever finishes it.
    /// `scratch` is the calling thread's ([`ShFrontEnd::new_scratch`]);
    /// `g` as in [`ShFrontEnd::chest_begin`]. A symbol detected twice in
    /// one split is an error.
    pub fn detect_symbols(
        &self,
        plan: &ShPlan,
        g: &ResourceGrid,
        symbols: Range<usize>,
        scratch: &mut FrontScratch,
    ) -> Result<(), PuschError> {
        let fs = &self.fsplit;
        if fs.plan != Some(*plan) {
            return Err(PuschError::Size(
                "detect_symbols: not the plan of chest_combine".into(),
            ));
        }
        let lay = &plan.layout;
        let v = lay.layers();
        let range = symbols.start.max(lay.start_symbol)
            ..symbols.end.min(lay.start_symbol + lay.n_symbols).min(14);
        for l in range.clone() {
            if fs.claims[l].swap(true, Ordering::AcqRel) {
                return Err(PuschError::Size(format!(
                    "detect_symbols: symbol {l} already detected"
                )));
            }
        }
        let span = |l: usize| {
            let i0 = lay.res_before(l);
            (v * i0, v * (i0 + lay.res_on_symbol(l)))
        };
        for l in range.clone() {
            let (a, b) = span(l);
            if a == b {
                continue;
            }
            // SAFETY: chest_combine (under &mut self) took these pointers
            // from the front end's codeword buffers (≥ n_sym values, never
            // reallocated; every &mut method that writes them closes the
            // split first) and checked b ≤ n_sym. The claim above gives
            // symbol l, whose codeword symbols are [a, b), to this call alone.
            let (d, dnv) = unsafe {
                (
                    std::slice::from_raw_parts_mut(fs.d.0.add(a), b - a),
                    std::slice::from_raw_parts_mut(fs.dnv.0.add(a), b - a),
                )
            };
            self.fe
                .detect_symbol_into(&mut scratch.detect, lay, g, l, d, dnv)?;
        }
        // Count the detected symbols down in each chunk they touch; the
        // chunks this call completes come in increasing order, so one
        // scrambling generator walks forward through them.
        let qm = plan.qm;
        let demapper = &self.demappers[qm_slot(qm)];
        let mut gold: Option<(GoldSequence, usize)> = None;
        let mut heard = false;
        for l in range {
            let (a, b) = span(l);
            if a == b {
                continue;
            }
            for c in a / DEMAP_CHUNK..=(b - 1) / DEMAP_CHUNK {
                if fs.chunks[c].fetch_sub(1, Ordering::AcqRel) != 1 {
                    continue;
                }
                let (s0, s1) = (c * DEMAP_CHUNK, ((c + 1) * DEMAP_CHUNK).min(fs.n_sym));
                let bit = s0 * qm;
                let (gen, at) = gold.get_or_insert_with(|| (fs.gold.clone(), 0));
                if bit < *at {
                    (*gen, *at) = (fs.gold.clone(), 0);
                }
                gen.skip(bit - *at);
                // SAFETY: every symbol of chunk c has been detected (its
                // countdown reached zero with acquire ordering, after each
                // detecting call's writes), so its codeword symbols are no
                // longer written; its LLRs [s0·Q_m, s1·Q_m) are written only
                // here, by the one call that took the countdown to zero.
                let (dc, nc, out) = unsafe {
                    (
                        std::slice::from_raw_parts(fs.d.0.add(s0), s1 - s0),
                        std::slice::from_raw_parts(fs.dnv.0.add(s0), s1 - s0),
                        std::slice::from_raw_parts_mut(fs.llr.0.add(bit), (s1 - s0) * qm),
                    )
                };
                let (h, e) = demap_chunk(
                    demapper,
                    self.cfg.level,
                    dc,
                    nc,
                    gen,
                    &mut scratch.llr_f,
                    &mut scratch.mask,
                    out,
                )?;
                heard |= h;
                if e > 0 {
                    self.erased.fetch_add(e, Ordering::Relaxed);
                }
                *at = bit + ((s1 - s0) * qm).div_ceil(32) * 32;
                fs.pending.fetch_sub(1, Ordering::AcqRel);
            }
        }
        if heard {
            self.heard.store(true, Ordering::Relaxed);
        }
        Ok(())
    }

    /// The measurements of the last front end with the decode outcome.
    fn result_of(&self, plan: &ShPlan, crc_ok: bool, iterations: u32) -> PuschResult {
        let (d, nv) = self.fe.symbols(self.n_sym);
        let est = self.fe.estimate();
        PuschResult {
            crc_ok,
            sinr_db: post_sinr_db(nv),
            dmrs_snr_db: est.sinr_db(0),
            evm_percent: evm_percent_with(self.cfg.level, d, plan.qm),
            timing_offset_s: est.timing_offset_s(),
            cfo_hz: est.cfo_hz().unwrap_or(0.0),
            noise_var: est.noise_var(),
            ldpc_iterations: iterations,
            erased_res: self.erased.load(Ordering::Relaxed),
            erased_dmrs_res: est.erased_dmrs_res(),
        }
    }

    /// Whether the last demapped slot carried any non-zero LLR.
    fn heard(&self) -> bool {
        self.heard.load(Ordering::Relaxed)
    }
}

/// Shared-channel receiver: [`PuschReceiver`] is the gNB side of the PUSCH,
/// `pdsch::PdschReceiver` the UE side of the PDSCH. One per worker thread;
/// every buffer is made by the constructor, including the HARQ soft buffers
/// (retransmissions of a TB combine when they reach the same receiver).
pub struct ShReceiver<L: SharedChannel> {
    _link: std::marker::PhantomData<L>,
    num: Numerology,
    cfg: PuschRxConfig,
    demod: OfdmDemodulator,
    grid: ResourceGrid,
    front: ShFrontEnd,
    decoder: TbDecoder,
    harq: HarqBuffers,
    /// The decoded TB bits a, followed by its CRC bits p for a split decode.
    tb: Vec<u8>,
    split: SplitState,
}

/// The PUSCH receiver.
pub type PuschReceiver = ShReceiver<Pusch>;

impl<L: SharedChannel> ShReceiver<L> {
    /// Builds every LDPC decoder and buffer its whole-TB decode can need
    /// (all lifting sizes, the largest G), so that receiving allocates
    /// nothing afterwards whatever the MCS; a real-time job calls it once.
    pub fn prepare_all(&mut self) -> Result<(), PuschError> {
        let max_g = 14 * self.num.n_sc() * self.cfg.max_layers * 10;
        let (_, max_cbs) = soft_buffer_bound(self.num.n_prb() as usize, self.cfg.max_layers);
        self.decoder
            .prepare_all(max_g, max_cbs)
            .map_err(|e| PuschError::Coding(e.to_string()))
    }

    /// A receiver for the carrier `num`.
    pub fn new(num: Numerology, cfg: PuschRxConfig) -> Result<Self, PuschError> {
        // Sizes are checked before the buffers sized from them are allocated:
        // a codeword has at most 4 layers (8 with two, TS 38.211 §7.3.1.3),
        // and every HARQ buffer holds the carrier's largest TB.
        if !(1..=8).contains(&cfg.max_layers)
            || !(1..=64).contains(&cfg.n_rx)
            || !(1..=64).contains(&cfg.harq_buffers)
        {
            return Err(PuschError::Size(format!(
                "receiver of {} layers (1..=8), {} antennas (1..=64), {} HARQ buffers (1..=64)",
                cfg.max_layers, cfg.n_rx, cfg.harq_buffers
            )));
        }
        let n_sc = num.n_sc();
        let max_prb = num.n_prb() as usize;
        let max_g = 14 * n_sc * cfg.max_layers * 10;
        let decoder = TbDecoder::new(cfg.decoder_config());
        let (cap, max_cbs) = soft_buffer_bound(max_prb, cfg.max_layers);
        Ok(ShReceiver {
            _link: std::marker::PhantomData,
            num,
            cfg,
            demod: OfdmDemodulator::new(num, cfg.ofdm)?,
            grid: ResourceGrid::new(cfg.n_rx, num.symbols_per_slot(), n_sc),
            front: ShFrontEnd::new(num, cfg)?,
            decoder,
            harq: HarqBuffers::new(cfg.harq_buffers, cap, max_cbs),
            tb: vec![0; max_g + 24],
            split: SplitState::new(max_cbs),
        })
    }

    /// Front-end scratch for one thread calling [`ShReceiver::detect_symbols`].
    pub fn new_scratch(&self) -> FrontScratch {
        self.front.new_scratch()
    }

    /// The carrier.
    pub fn numerology(&self) -> &Numerology {
        &self.num
    }

    /// The plan of `pdu` on this carrier and antenna count.
    pub fn plan(&self, pdu: &L::Pdu) -> Result<ShPlan, PuschError> {
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
    ) -> Result<(), PuschError> {
        if antenna >= self.cfg.n_rx {
            return Err(PuschError::Size(format!(
                "antenna {antenna}, built for {}",
                self.cfg.n_rx
            )));
        }
        self.demod
            .demodulate_symbol(slot, l, samples, self.grid.symbol_mut(antenna, l))?;
        Ok(())
    }

    /// Stage: OFDM demodulation of a whole slot, one sample slice per antenna.
    pub fn demodulate_slot(
        &mut self,
        slot: u32,
        antennas: &[&[Complex32]],
    ) -> Result<(), PuschError> {
        if antennas.len() != self.cfg.n_rx {
            return Err(PuschError::Size(format!(
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
    ) -> Result<(), PuschError> {
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
    ) -> Result<usize, PuschError> {
        let g = grid.unwrap_or(&self.grid);
        self.front.detect_symbol(plan, g, l, first_re)
    }

    /// Stage: soft demapping, quantisation ([`LLR_SCALE`]) and descrambling
    /// of the detected symbols into the G `i8` LLRs (positive: bit 0), returned.
    pub fn demap(&mut self, plan: &ShPlan) -> Result<&[i8], PuschError> {
        self.split.clear();
        self.front.demap(plan)
    }

    /// Stage: HARQ combining into the soft buffer of (RNTI, HARQ id) (cleared
    /// by new data), rate recovery, LDPC decoding per code block and the
    /// CRCs. Returns (TB CRC passed, LDPC iterations summed over blocks).
    ///
    /// A TB decoded to all zeros is reported as failed: with nothing but
    /// erased systematic bits (a lone rv 2 or 3, a silent channel) the
    /// decoder settles on the all-zero codeword, whose CRC (zero initial
    /// register, TS 38.212 §5.1) passes; a MAC PDU is never all zeros
    /// (padding has a subheader, TS 38.321 §6.1.2).
    pub fn decode(&mut self, plan: &ShPlan) -> Result<(bool, u32), PuschError> {
        self.split.clear();
        let (i, fresh) = self
            .harq
            .select(plan.rnti, plan.harq_id, plan.new_data, plan.ndi);
        let entry = &mut self.harq.entries[i];
        entry.heard = self.front.heard() || (!fresh && entry.heard);
        let out = self
            .decoder
            .decode(
                &plan.tb,
                &self.front.llr[..plan.g],
                plan.rv,
                &mut entry.buf,
                fresh,
                &mut self.tb[..plan.tbs],
            )
            .map_err(|e| PuschError::Coding(e.to_string()))?;
        let iterations = out.cbs.iter().map(|c| c.iterations).sum();
        let ok = out.tb_crc_ok && entry.heard && self.tb[..plan.tbs].contains(&1);
        entry.pending = !ok;
        Ok((ok, iterations))
    }

    /// Split decode, step 1 of 3: takes the HARQ soft buffer of the PDU's
    /// (RNTI, HARQ id) exactly as [`ShReceiver::decode`] does (cleared by
    /// new data), before or after the front end (whether the slot carried
    /// any energy is taken by [`ShReceiver::decode_finish`]). Then
    /// [`ShReceiver::decode_code_block`] runs once per code block
    /// r = 0..C ([`ShPlan::tb`]`.num_cb()`), in any order and from any
    /// threads (it takes `&self`; each block writes only its own part of the
    /// soft buffer and of the TB), and [`ShReceiver::decode_finish`] checks
    /// the TB CRC. The outcome equals [`ShReceiver::decode`]'s.
    pub fn decode_prepare(&mut self, plan: &ShPlan) -> Result<(), PuschError> {
        self.split.clear();
        let seg = &plan.tb.seg;
        let c = seg.num_cb;
        if c > self.split.claims.len() || seg.b > self.tb.len() || plan.g > self.front.llr.len() {
            return Err(PuschError::Size(format!(
                "{c} code blocks of a {} bit TB exceed the receiver's buffers",
                seg.tbs
            )));
        }
        let (i, fresh) = self
            .harq
            .select(plan.rnti, plan.harq_id, plan.new_data, plan.ndi);
        let entry = &mut self.harq.entries[i];
        let layout = (seg.shape, c, plan.tb.n_cb);
        // A new layout's blocks are cleared by decode_code_block, each its
        // own part, on whichever thread decodes it.
        let clear = fresh || entry.buf.layout() != Some(layout);
        if clear {
            entry
                .buf
                .reset_layout(seg.shape, c, plan.tb.n_cb)
                .map_err(|e| PuschError::Coding(e.to_string()))?;
        }
        let (soft, filled) = entry.buf.cbs_mut();
        let sp = &mut self.split;
        sp.soft = SendPtr(soft.as_mut_ptr());
        sp.filled = SendPtr(filled.as_mut_ptr());
        sp.bits = SendPtr(self.tb.as_mut_ptr());
        sp.entry = i;
        sp.fresh = fresh;
        sp.clear = clear;
        for (k, cl) in sp.claims[..c].iter().enumerate() {
            cl.store(false, Ordering::Relaxed);
            sp.iterations[k].store(0, Ordering::Relaxed);
        }
        sp.plan = Some(plan.tb);
        sp.rv = plan.rv;
        Ok(())
    }

    /// Split decode, step 2: rate recovery and HARQ combining of code block
    /// `r` into its part of the soft buffer, LDPC decoding with its CRC
    /// (CRC24B, or the TB CRC when C = 1) on `dec` (one per thread), and its
    /// payload bits into the TB. Each block can be decoded once per
    /// [`ShReceiver::decode_prepare`]; a second call for the same block, a
    /// block out of range or a plan other than the prepared one is an error.
    pub fn decode_code_block(
        &self,
        plan: &ShPlan,
        r: usize,
        dec: &mut CbDecoder,
    ) -> Result<CbOutcome, PuschError> {
        self.decode_code_block_with(&self.front, plan, r, dec)
    }

    /// [`ShReceiver::decode_code_block`] on the LLRs of `front` (a front
    /// end other than the receiver's own, e.g. one per pipeline slot), whose
    /// split front end must have demapped every symbol of `plan`.
    pub fn decode_code_block_with(
        &self,
        front: &ShFrontEnd,
        plan: &ShPlan,
        r: usize,
        dec: &mut CbDecoder,
    ) -> Result<CbOutcome, PuschError> {
        let sp = &self.split;
        if sp.plan != Some(plan.tb) || sp.rv != plan.rv {
            return Err(PuschError::Size(
                "decode_code_block: not the prepared plan (call decode_prepare first)".into(),
            ));
        }
        if front.fsplit.pending.load(Ordering::Acquire) != 0 {
            return Err(PuschError::Size(
                "decode_code_block: the split front end has not demapped every symbol".into(),
            ));
        }
        let seg = &plan.tb.seg;
        let sh = seg.shape;
        if r >= seg.num_cb {
            return Err(PuschError::Size(format!(
                "code block {r} of {}",
                seg.num_cb
            )));
        }
        if sp.claims[r].swap(true, Ordering::AcqRel) {
            return Err(PuschError::Size(format!(
                "code block {r} already decoded for this plan"
            )));
        }
        let rm = plan
            .tb
            .rate_matcher(r, plan.rv)
            .map_err(|e| PuschError::Coding(e.to_string()))?;
        let off = plan.tb.cb_offset(r);
        if off + rm.e > front.llr.len() {
            return Err(PuschError::Size(format!(
                "code block {r}'s LLRs beyond the front end's buffer"
            )));
        }
        let llrs = &front.llr[off..off + rm.e];
        let n = sh.n();
        let p = seg.payload_per_cb();
        // SAFETY: decode_prepare (under &mut self) took these pointers from
        // the HARQ soft buffer (C·N LLRs, C extents) and the TB buffer (≥ B
        // bits), which are never reallocated; every &mut method clears the
        // plan first, so they are live while `sp.plan` is set. The claim
        // above makes block r's ranges — LLRs [r·N, (r+1)·N), extent r, bits
        // [r·p, (r+1)·p) of a ‖ p — exclusive to this call.
        let (soft, filled, bits) = unsafe {
            (
                std::slice::from_raw_parts_mut(sp.soft.0.add(r * n), n),
                &mut *sp.filled.0.add(r),
                std::slice::from_raw_parts_mut(sp.bits.0.add(r * p), p),
            )
        };
        if sp.clear {
            HarqSoftBuffer::clear_block(sh, soft);
        }
        let crc = if seg.num_cb > 1 {
            CrcPoly::Crc24B
        } else {
            seg.tb_crc
        };
        let o = dec
            .decode(plan, rm, llrs, soft, filled, crc, bits)
            .map_err(|e| PuschError::Coding(e.to_string()))?;
        sp.iterations[r].store(o.iterations, Ordering::Release);
        Ok(o)
    }

    /// Split decode, step 3: after every block, the TB CRC (with the
    /// all-zero guard of [`ShReceiver::decode`]). Returns (TB CRC passed,
    /// LDPC iterations summed over blocks).
    pub fn decode_finish(&mut self, plan: &ShPlan) -> Result<(bool, u32), PuschError> {
        let heard = self.front.heard();
        self.decode_finish_heard(plan, heard)
    }

    /// [`ShReceiver::decode_finish`] after a front end `front` other than
    /// the receiver's own (the one [`ShReceiver::decode_code_block_with`] read).
    pub fn decode_finish_with(
        &mut self,
        front: &ShFrontEnd,
        plan: &ShPlan,
    ) -> Result<(bool, u32), PuschError> {
        self.decode_finish_heard(plan, front.heard())
    }

    /// Split decode, step 3, with whether the front end heard anything.
    fn decode_finish_heard(
        &mut self,
        plan: &ShPlan,
        heard: bool,
    ) -> Result<(bool, u32), PuschError> {
        let sp = &mut self.split;
        if sp.plan != Some(plan.tb) {
            return Err(PuschError::Size(
                "decode_finish: not the prepared plan".into(),
            ));
        }
        let seg = &plan.tb.seg;
        let c = seg.num_cb;
        if let Some(r) = sp.claims[..c]
            .iter()
            .position(|cl| !cl.load(Ordering::Acquire))
        {
            return Err(PuschError::Size(format!(
                "decode_finish: code block {r} was not decoded"
            )));
        }
        let iterations = sp.iterations[..c]
            .iter()
            .map(|x| x.load(Ordering::Acquire))
            .sum();
        let (entry, fresh) = (sp.entry, sp.fresh);
        sp.clear();
        let a = seg.tbs;
        let l = seg.tb_crc.len();
        let want = self.tb[a..a + l]
            .iter()
            .fold(0u32, |acc, &b| (acc << 1) | (b & 1) as u32);
        let crc_ok = self.decoder.crcs().get(seg.tb_crc).remainder(&self.tb[..a]) == want;
        let e = &mut self.harq.entries[entry];
        e.heard = heard || (!fresh && e.heard);
        let ok = crc_ok && e.heard && self.tb[..a].contains(&1);
        e.pending = !ok;
        Ok((ok, iterations))
    }

    /// The decoded transport block of the last decode (A bits).
    pub fn transport_block(&self, plan: &ShPlan) -> &[u8] {
        &self.tb[..plan.tbs]
    }

    /// Channel estimation, detection and demapping of `plan` from `grid`
    /// (`None`: the receiver's own grid) on this thread ([`ShFrontEnd::process`]).
    fn front(&mut self, plan: &ShPlan, grid: Option<&ResourceGrid>) -> Result<(), PuschError> {
        self.split.clear();
        let g = grid.unwrap_or(&self.grid);
        self.front.process(plan, g)
    }

    /// Split front end on the receiver's own [`ShFrontEnd`], step 1 (see
    /// [`ShFrontEnd::chest_begin`]; `grid` `None`: the receiver's own); also
    /// ends any split decode.
    pub fn chest_begin(
        &mut self,
        plan: &ShPlan,
        grid: Option<&ResourceGrid>,
    ) -> Result<usize, PuschError> {
        self.split.clear();
        let g = grid.unwrap_or(&self.grid);
        self.front.chest_begin(plan, g)
    }

    /// [`ShFrontEnd::chest_position`] on the receiver's own front end.
    pub fn chest_position(&self, plan: &ShPlan, grid: Option<&ResourceGrid>, pos: usize) {
        self.front
            .chest_position(plan, grid.unwrap_or(&self.grid), pos);
    }

    /// [`ShFrontEnd::chest_interpolate`] on the receiver's own front end.
    pub fn chest_interpolate(&self, plan: &ShPlan, pos: usize) {
        self.front.chest_interpolate(plan, pos);
    }

    /// [`ShFrontEnd::chest_combine`] on the receiver's own front end.
    pub fn chest_combine(&mut self, plan: &ShPlan) -> Result<(), PuschError> {
        self.front.chest_combine(plan)
    }

    /// [`ShFrontEnd::detect_symbols`] on the receiver's own front end.
    pub fn detect_symbols(
        &self,
        plan: &ShPlan,
        grid: Option<&ResourceGrid>,
        symbols: Range<usize>,
        scratch: &mut FrontScratch,
    ) -> Result<(), PuschError> {
        self.front
            .detect_symbols(plan, grid.unwrap_or(&self.grid), symbols, scratch)
    }

    /// Split processing, step 1: the front end of one PDU on a (possibly
    /// shared, read-only) `grid` (`None`: the receiver's own grid): channel
    /// estimation, detection, soft demapping and quantisation, then
    /// [`ShReceiver::decode_prepare`]. Then [`ShReceiver::decode_code_block`]
    /// runs for every code block (any order, any thread) and
    /// [`ShReceiver::finish_result`] builds the result; together they give
    /// what [`ShReceiver::process_grid`] gives.
    pub fn front_end(
        &mut self,
        plan: &ShPlan,
        grid: Option<&ResourceGrid>,
    ) -> Result<(), PuschError> {
        self.front(plan, grid)?;
        self.decode_prepare(plan)
    }

    /// Split processing, last step: [`ShReceiver::decode_finish`] and the
    /// measurements (SINR, EVM, timing, CFO) of the front end.
    pub fn finish_result(&mut self, plan: &ShPlan) -> Result<PuschResult, PuschError> {
        let (crc_ok, iterations) = self.decode_finish(plan)?;
        Ok(self.front.result_of(plan, crc_ok, iterations))
    }

    /// [`ShReceiver::finish_result`] with the measurements of `front`, the
    /// front end [`ShReceiver::decode_code_block_with`] read.
    pub fn finish_result_with(
        &mut self,
        front: &ShFrontEnd,
        plan: &ShPlan,
    ) -> Result<PuschResult, PuschError> {
        let (crc_ok, iterations) = self.decode_finish_with(front, plan)?;
        Ok(front.result_of(plan, crc_ok, iterations))
    }

    /// Every stage from a received grid (`None`: the receiver's own grid,
    /// filled by the OFDM stages or [`PuschReceiver::grid_mut`]): the front
    /// end, the whole-TB decode and the result, in one call.
    pub fn process_grid(
        &mut self,
        pdu: &L::Pdu,
        grid: Option<&ResourceGrid>,
    ) -> Result<PuschResult, PuschError> {
        let plan = self.plan(pdu)?;
        self.front(&plan, grid)?;
        let (crc_ok, iterations) = self.decode(&plan)?;
        Ok(self.front.result_of(&plan, crc_ok, iterations))
    }

    /// Every stage from time samples, one slice of `slot_len(slot)` samples per antenna.
    pub fn process_samples(
        &mut self,
        pdu: &L::Pdu,
        antennas: &[&[Complex32]],
    ) -> Result<PuschResult, PuschError> {
        self.demodulate_slot(L::slot(pdu), antennas)?;
        self.process_grid(pdu, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
