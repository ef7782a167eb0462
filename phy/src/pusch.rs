//! The PUSCH processors: transport block ↔ resource grid ↔ time samples
//! (TS 38.211 §6.3.1, §6.4.1.1; TS 38.212 §6.2; TS 38.214 §6.1.4).
//!
//! Transmit: TB → CRC, segmentation, LDPC, rate matching (`coding::tb`) →
//! scrambling with c_init = n_RNTI·2^15 + n_ID (§6.3.1.1) → modulation
//! (§6.3.1.2) → layer mapping x^(j)(i) = d(v·i + j) (§6.3.1.3) → identity
//! (non-codebook) precoding, RE mapping and DM-RS (β_DMRS from the CDM groups
//! without data) → CP-OFDM per port. Transform precoding, PT-RS, UCI
//! multiplexing and frequency hopping are not supported.
//!
//! Receive, in stages a pipeline can schedule separately:
//! [`PuschReceiver::demodulate_symbol`] (OFDM per antenna and symbol) →
//! [`PuschReceiver::estimate_channel`] (DM-RS LS, CDM despreading,
//! interpolation, noise, timing offset, CFO) →
//! [`PuschReceiver::detect_symbol`] (ZF or MMSE per RE, post-equalisation
//! noise variance per layer) → [`PuschReceiver::demap`] (max-log LLRs scaled
//! by that noise variance, descrambling) → [`PuschReceiver::decode`] (rate
//! recovery, LDPC per code block, CRCs).
//!
//! Plan once, run many: the constructors make FFT plans, detectors,
//! demappers and every buffer for the largest allocation; a slot then
//! allocates nothing.

use crate::chest::ChestOptions;
use crate::coding::scrambling::{c_init_pusch, descramble_llrs_f32, scramble_bits_into};
use crate::coding::tbs::{mcs, transport_block_size, McsTable, TbScaling, TbsError, TbsParams};
use crate::grid::ResourceGrid;
use crate::mimo::Equalizer;
use crate::modulation::{Demapper, Mapper, Modulation};
use crate::numerology::Numerology;
use crate::ofdm::{OfdmDemodulator, OfdmError, OfdmModulator, OfdmOptions};
use crate::pdu::{PduError, PuschPdu};
use crate::refsig::dmrs::{DmrsError, DmrsLink, DmrsParams, MappingType};
use crate::sch::{evm_percent, post_sinr_db, FrontEndError, RxFrontEnd, SchLayout};
use crate::simd::SimdLevel;
use num_complex::Complex32;

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
    /// HARQ process.
    pub harq_id: u8,
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
    pub harq_id: u8,
}

impl ShPlan {
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
            harq_id: pdu.harq_id,
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
        Ok(ShPlan {
            layout,
            modulation,
            qm,
            r_x2048: m.r_x2048,
            tbs: info.tbs as usize,
            g: layout.g(qm),
            c_init: r.c_init,
            rv: r.rv,
            new_data: r.new_data,
            harq_id: r.harq_id,
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

/// Shared-channel transmitter: TB → coded bits → grid → time samples.
/// [`PuschTransmitter`] is the UE side of the PUSCH (tests, the link
/// simulator, conformance); `pdsch::PdschTransmitter` the gNB side of the PDSCH.
pub struct ShTransmitter<L: SharedChannel> {
    _link: std::marker::PhantomData<L>,
    num: Numerology,
    max_layers: usize,
    mods: Vec<OfdmModulator>,
    grid: ResourceGrid,
    mappers: Vec<Mapper>,
    encoder: tbchain::TbEncoder,
    coded: Vec<u8>,
    scrambled: Vec<u8>,
    d: Vec<Complex32>,
    seq: Vec<Complex32>,
}

/// The PUSCH transmitter.
pub type PuschTransmitter = ShTransmitter<Pusch>;

impl<L: SharedChannel> ShTransmitter<L> {
    /// A transmitter for the carrier `num`, up to `max_layers` layers.
    pub fn new(num: Numerology, max_layers: usize, ofdm: OfdmOptions) -> Result<Self, PuschError> {
        let n_sc = num.n_sc();
        let max_g = 14 * n_sc * max_layers * 10;
        Ok(ShTransmitter {
            _link: std::marker::PhantomData,
            num,
            max_layers,
            mods: (0..max_layers)
                .map(|_| OfdmModulator::new(num, ofdm))
                .collect::<Result<_, _>>()?,
            grid: ResourceGrid::new(max_layers, num.symbols_per_slot(), n_sc),
            mappers: QMS
                .iter()
                .map(|&q| Mapper::new(Modulation::from_qm(q, false).unwrap_or(Modulation::Qpsk)))
                .collect(),
            encoder: tbchain::TbEncoder::new(max_g),
            coded: vec![0; max_g],
            scrambled: vec![0; max_g],
            d: vec![Complex32::default(); 14 * n_sc * max_layers],
            seq: vec![Complex32::default(); 6 * num.n_prb() as usize],
        })
    }

    /// The carrier.
    pub fn numerology(&self) -> &Numerology {
        &self.num
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
            .encode(
                tb,
                plan.r_x2048,
                plan.qm,
                plan.layout.layers(),
                plan.rv,
                out,
            )
            .map_err(|e| PuschError::Coding(e.to_string()))?;
        Ok(&self.coded[..plan.g])
    }

    /// Stage: scrambling, modulation, layer mapping, RE mapping and DM-RS of
    /// `coded` (G bits before scrambling) into the transmit grid (ports =
    /// layers), which is returned. The scrambled bits are kept
    /// ([`PuschTransmitter::scrambled_bits`]).
    pub fn map(&mut self, plan: &ShPlan, coded: &[u8]) -> Result<&ResourceGrid, PuschError> {
        if coded.len() != plan.g {
            return Err(PuschError::Size(format!(
                "{} coded bits, G is {}",
                coded.len(),
                plan.g
            )));
        }
        let g = plan.g;
        scramble_bits_into(plan.c_init, coded, &mut self.scrambled[..g]);
        let n_sym = g / plan.qm;
        self.mappers[qm_slot(plan.qm)]
            .map(&self.scrambled[..g], &mut self.d[..n_sym])
            .map_err(|e| PuschError::Coding(e.to_string()))?;
        self.grid.clear();
        plan.layout.map_data(&self.d[..n_sym], &mut self.grid);
        plan.layout.map_dmrs(&mut self.grid, &mut self.seq);
        Ok(&self.grid)
    }

    /// The scrambled bits of the last [`PuschTransmitter::map`] (the modulator input).
    pub fn scrambled_bits(&self, plan: &ShPlan) -> &[u8] {
        &self.scrambled[..plan.g]
    }

    /// TB → grid: [`PuschTransmitter::encode`] then [`PuschTransmitter::map`].
    pub fn transmit(
        &mut self,
        pdu: &L::Pdu,
        tb: &[u8],
    ) -> Result<(ShPlan, &ResourceGrid), PuschError> {
        let plan = self.plan(pdu)?;
        self.encode(&plan, tb)?;
        let coded = std::mem::take(&mut self.coded);
        let r = self.map(&plan, &coded[..plan.g]).map(|_| ());
        self.coded = coded;
        r?;
        Ok((plan, &self.grid))
    }

    /// The transmit grid (ports = layers).
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
    /// OFDM options (half-subcarrier shift).
    pub ofdm: OfdmOptions,
    /// Instruction set cap.
    pub level: SimdLevel,
}

impl PuschRxConfig {
    /// Defaults for `n_rx` antennas and `max_layers` layers: ZF, slot-averaged
    /// channel with delay and CFO tracking, 6 LDPC iterations.
    pub fn new(n_rx: usize, max_layers: usize) -> Self {
        PuschRxConfig {
            n_rx,
            max_layers,
            equalizer: Equalizer::Zf,
            chest: ChestOptions::default(),
            ldpc_iterations: 6,
            ofdm: OfdmOptions::default(),
            level: SimdLevel::detect(),
        }
    }
}

/// Shared-channel receiver: [`PuschReceiver`] is the gNB side of the PUSCH,
/// `pdsch::PdschReceiver` the UE side of the PDSCH. One per worker thread;
/// every buffer is made by the constructor.
pub struct ShReceiver<L: SharedChannel> {
    _link: std::marker::PhantomData<L>,
    num: Numerology,
    cfg: PuschRxConfig,
    demod: OfdmDemodulator,
    grid: ResourceGrid,
    fe: RxFrontEnd,
    demappers: Vec<Demapper>,
    decoder: tbchain::TbDecoder,
    llr: Vec<f32>,
    tb: Vec<u8>,
    n_sym: usize,
}

/// The PUSCH receiver.
pub type PuschReceiver = ShReceiver<Pusch>;

impl<L: SharedChannel> ShReceiver<L> {
    /// A receiver for the carrier `num`.
    pub fn new(num: Numerology, cfg: PuschRxConfig) -> Result<Self, PuschError> {
        let n_sc = num.n_sc();
        let max_prb = num.n_prb() as usize;
        let fe = RxFrontEnd::new(
            cfg.n_rx,
            cfg.max_layers,
            max_prb,
            cfg.chest,
            cfg.equalizer,
            cfg.level,
        )?;
        let max_g = 14 * n_sc * cfg.max_layers * 10;
        Ok(ShReceiver {
            _link: std::marker::PhantomData,
            num,
            cfg,
            demod: OfdmDemodulator::new(num, cfg.ofdm)?,
            grid: ResourceGrid::new(cfg.n_rx, num.symbols_per_slot(), n_sc),
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
            decoder: tbchain::TbDecoder::new(cfg.ldpc_iterations, cfg.level, max_g),
            llr: vec![0.0; max_g],
            tb: vec![0; max_g],
            n_sym: 0,
        })
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

    /// Stage: channel estimation from the DM-RS of `grid`.
    pub fn estimate_channel(
        &mut self,
        plan: &ShPlan,
        grid: Option<&ResourceGrid>,
    ) -> Result<(), PuschError> {
        let g = grid.unwrap_or(&self.grid);
        self.fe.estimate_channel(&self.num, &plan.layout, g)?;
        Ok(())
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
        Ok(self.fe.detect_symbol(&plan.layout, g, l, first_re)?)
    }

    /// Stage: soft demapping and descrambling of the detected symbols into
    /// the G LLRs (ln p(0)/p(1)), returned.
    pub fn demap(&mut self, plan: &ShPlan) -> Result<&[f32], PuschError> {
        let n_sym = plan.g / plan.qm;
        let (d, nv) = self.fe.symbols(n_sym);
        self.demappers[qm_slot(plan.qm)]
            .demap(d, nv, &mut self.llr[..plan.g])
            .map_err(|e| PuschError::Coding(e.to_string()))?;
        descramble_llrs_f32(plan.c_init, &mut self.llr[..plan.g]);
        self.n_sym = n_sym;
        Ok(&self.llr[..plan.g])
    }

    /// Stage: rate recovery, LDPC decoding per code block and the CRCs.
    /// Returns (TB CRC passed, LDPC iterations).
    pub fn decode(&mut self, plan: &ShPlan) -> Result<(bool, u32), PuschError> {
        let r = self
            .decoder
            .decode(
                &self.llr[..plan.g],
                plan.tbs,
                plan.r_x2048,
                plan.qm,
                plan.layout.layers(),
                plan.rv,
                &mut self.tb[..plan.tbs],
            )
            .map_err(|e| PuschError::Coding(e.to_string()))?;
        Ok(r)
    }

    /// The decoded transport block of the last decode (A bits).
    pub fn transport_block(&self, plan: &ShPlan) -> &[u8] {
        &self.tb[..plan.tbs]
    }

    /// Every stage from a received grid (`None`: the receiver's own grid,
    /// filled by the OFDM stages or [`PuschReceiver::grid_mut`]).
    pub fn process_grid(
        &mut self,
        pdu: &L::Pdu,
        grid: Option<&ResourceGrid>,
    ) -> Result<PuschResult, PuschError> {
        let plan = self.plan(pdu)?;
        let g = grid.unwrap_or(&self.grid);
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
        self.fe.process(&self.num, &plan.layout, g)?;
        self.demap(&plan)?;
        let (crc_ok, iterations) = self.decode(&plan)?;
        let (d, nv) = self.fe.symbols(self.n_sym);
        let est = self.fe.estimate();
        Ok(PuschResult {
            crc_ok,
            sinr_db: post_sinr_db(nv),
            dmrs_snr_db: est.sinr_db(0),
            evm_percent: evm_percent(d, plan.qm),
            timing_offset_s: est.timing_offset_s(),
            cfo_hz: est.cfo_hz().unwrap_or(0.0),
            noise_var: est.noise_var(),
            ldpc_iterations: iterations,
        })
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

/// The transport-channel chain of TS 38.212 §6.2/§7.2 for one TB, joining
/// the transport blocks of `coding` (CRC, segmentation, LDPC, rate matching);
/// nothing here re-implements them. Encoders and decoders are made per
/// (BG, Z) on first use and kept, so a steady state allocates nothing.
/// Retransmissions are decoded on their own (no HARQ soft combining here:
/// `coding::rate_match::HarqSoftBuffer` is the place for it).
mod tbchain {
    use crate::coding::crc::Crc;
    use crate::coding::ldpc::{BaseGraph, DecoderConfig, LdpcDecoder, LdpcEncoder};
    use crate::coding::rate_match::{e_r, CbRateMatcher};
    use crate::coding::segmentation::{select_base_graph, Segmentation};
    use crate::simd::SimdLevel;

    fn err(e: impl std::fmt::Display) -> String {
        e.to_string()
    }

    /// Quantisation of float LLRs (nats) to the decoder's i8.
    const LLR_SCALE: f32 = 4.0;

    /// Largest circular buffer N_ldpc = 68·384.
    const MAX_NLDPC: usize = 68 * 384;

    pub struct TbEncoder {
        encoders: Vec<(BaseGraph, usize, LdpcEncoder)>,
        b: Vec<u8>,
        info: Vec<u8>,
        cw: Vec<u8>,
        scratch: Vec<u8>,
    }

    impl TbEncoder {
        pub fn new(max_g: usize) -> Self {
            TbEncoder {
                encoders: Vec::new(),
                b: vec![0; max_g + 24],
                info: vec![0; 8448],
                cw: vec![0; MAX_NLDPC],
                scratch: vec![0; max_g],
            }
        }

        /// TB bits → the G rate-matched, interleaved, concatenated bits f.
        pub fn encode(
            &mut self,
            tb: &[u8],
            r_x2048: u32,
            qm: usize,
            layers: usize,
            rv: u8,
            out: &mut [u8],
        ) -> Result<(), String> {
            let a = tb.len();
            let g = out.len();
            let bg = select_base_graph(a, r_x2048);
            let seg = Segmentation::new(a, bg).map_err(err)?;
            let sh = seg.shape;
            if self.b.len() < seg.b {
                return Err(format!("TB of {a} bits exceeds the encoder's buffers"));
            }
            self.b[..a].copy_from_slice(tb);
            let (head, tail) = self.b.split_at_mut(a);
            Crc::new(seg.tb_crc).parity_into(head, &mut tail[..seg.tb_crc.len()]);
            let enc = match self
                .encoders
                .iter()
                .position(|(b, z, _)| *b == bg && *z == sh.z)
            {
                Some(i) => i,
                None => {
                    self.encoders
                        .push((bg, sh.z, LdpcEncoder::new(bg, sh.z as u16).map_err(err)?));
                    self.encoders.len() - 1
                }
            };
            let p = seg.payload_per_cb();
            let mut off = 0;
            for r in 0..seg.num_cb {
                let info = &mut self.info[..sh.k];
                info.fill(0);
                info[..p].copy_from_slice(&self.b[r * p..(r + 1) * p]);
                if let Some(poly) = seg.cb_crc() {
                    let (pl, par) = info.split_at_mut(p);
                    Crc::new(poly).parity_into(pl, &mut par[..24]);
                }
                let cw = &mut self.cw[..sh.n_ldpc()];
                self.encoders[enc]
                    .2
                    .encode(&self.info[..sh.k], cw)
                    .map_err(err)?;
                let e = e_r(g, seg.num_cb, layers, qm, r);
                let rm = CbRateMatcher::new(sh, sh.n(), rv, e, qm as u8).map_err(err)?;
                if off + e > g {
                    return Err(format!("rate matching overruns G = {g}"));
                }
                rm.rate_match(cw, &mut self.scratch[..e], &mut out[off..off + e])
                    .map_err(err)?;
                off += e;
            }
            Ok(())
        }
    }

    pub struct TbDecoder {
        iterations: u32,
        level: SimdLevel,
        decoders: Vec<(BaseGraph, usize, LdpcDecoder)>,
        q: Vec<i8>,
        scratch: Vec<i8>,
        soft: Vec<i8>,
        bits: Vec<u8>,
        b: Vec<u8>,
    }

    impl TbDecoder {
        pub fn new(iterations: u32, level: SimdLevel, max_g: usize) -> Self {
            TbDecoder {
                iterations: iterations.clamp(1, 100),
                level,
                decoders: Vec::new(),
                q: vec![0; max_g],
                scratch: vec![0; max_g],
                soft: vec![0; MAX_NLDPC],
                bits: vec![0; 8448],
                b: vec![0; max_g + 24],
            }
        }

        /// The G descrambled LLRs → TB bits into `tb` (A of them).
        /// Returns (TB CRC passed, LDPC iterations summed over blocks).
        #[allow(clippy::too_many_arguments)]
        pub fn decode(
            &mut self,
            llrs: &[f32],
            a: usize,
            r_x2048: u32,
            qm: usize,
            layers: usize,
            rv: u8,
            tb: &mut [u8],
        ) -> Result<(bool, u32), String> {
            let g = llrs.len();
            let bg = select_base_graph(a, r_x2048);
            let seg = Segmentation::new(a, bg).map_err(err)?;
            let sh = seg.shape;
            if self.b.len() < seg.b || self.q.len() < g {
                return Err(format!("TB of {a} bits exceeds the decoder's buffers"));
            }
            let dec = match self
                .decoders
                .iter()
                .position(|(b, z, _)| *b == bg && *z == sh.z)
            {
                Some(i) => i,
                None => {
                    // Normalized min-sum (alpha 0.75): the quantisation below keeps weak
                    // received bits at magnitude 3, which an offset of 4 would erase.
                    let cfg = DecoderConfig {
                        max_iterations: self.iterations,
                        level: self.level.clamp_to(SimdLevel::detect()),
                        algorithm: crate::coding::ldpc::MinSum::Normalized { alpha_16: 12 },
                        ..DecoderConfig::default()
                    };
                    self.decoders.push((
                        bg,
                        sh.z,
                        LdpcDecoder::new(bg, sh.z as u16, cfg).map_err(err)?,
                    ));
                    self.decoders.len() - 1
                }
            };
            let p = seg.payload_per_cb();
            let mut off = 0;
            let mut iters = 0;
            for r in 0..seg.num_cb {
                let e = e_r(g, seg.num_cb, layers, qm, r);
                let rm = CbRateMatcher::new(sh, sh.n(), rv, e, qm as u8).map_err(err)?;
                let l = &llrs[off..off + e];
                // Quantisation: the mean |LLR| goes to 24 (min-sum is scale invariant),
                // but never above LLR_SCALE steps per nat, so the near-zero LLRs of an
                // unusable channel stay near zero. In a strong block (mean above
                // 6 nats) the weak bits are the LSBs of high-order QAM, 1/60 of the
                // MSBs: they are kept at magnitude ≥ 3, because the decoder's
                // normalised min-sum floors messages of 1 to 0 and the punctured
                // columns of a high-rate block would never be recovered.
                // Mean |LLR| with 8 independent sums (vectorisable).
                let mut acc = [0.0f32; 8];
                let mut chunks = l.chunks_exact(8);
                for c in &mut chunks {
                    for (a, x) in acc.iter_mut().zip(c) {
                        *a += if x.is_finite() { x.abs() } else { 0.0 };
                    }
                }
                let rest: f32 = chunks
                    .remainder()
                    .iter()
                    .map(|x| if x.is_finite() { x.abs() } else { 0.0 })
                    .sum();
                let mean = (acc.iter().sum::<f32>() + rest) / e as f32;
                let scale = if mean > 0.0 && mean.is_finite() {
                    (24.0 / mean).min(LLR_SCALE)
                } else {
                    LLR_SCALE
                };
                let floor = if scale < LLR_SCALE { 3.0 } else { 0.0 };
                // Round half away from zero by truncation (no libm call); NaN → 0; clamp ±127.
                for (q, &x) in self.q[..e].iter_mut().zip(l) {
                    let v = x * scale;
                    let m = (v.abs() + 0.5).min(127.0);
                    let m = if x != 0.0 { m.max(floor) } else { 0.0 };
                    let m = if m.is_nan() { 0.0 } else { m };
                    *q = (if v < 0.0 { -m } else { m }) as i8;
                }
                let soft = &mut self.soft[..sh.n()];
                soft.fill(0);
                rm.mark_fillers(soft);
                let n_filled = rm
                    .derate_match(&self.q[..e], &mut self.scratch[..e], soft)
                    .map_err(err)?;
                let out = self.decoders[dec]
                    .2
                    .decode(
                        soft,
                        n_filled.max(1),
                        sh.k_prime,
                        seg.cb_crc(),
                        &mut self.bits[..sh.k],
                    )
                    .map_err(err)?;
                iters += out.iterations;
                self.b[r * p..(r + 1) * p].copy_from_slice(&self.bits[..p]);
                off += e;
            }
            // An all-erased input decodes to the all-zero word, whose CRC (zero
            // initial register) passes: that is no reception.
            let heard = self.q[..g].iter().any(|&x| x != 0);
            let ok = heard && Crc::new(seg.tb_crc).check(&self.b[..seg.b]);
            tb[..a].copy_from_slice(&self.b[..a]);
            Ok((ok, iters))
        }
    }
}
