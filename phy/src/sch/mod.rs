//! The physical shared channel, the chain the PUSCH and the PDSCH have in
//! common: transport block ↔ resource grid ↔ time samples (TS 38.211
//! §6.3.1 / §7.3.1, §6.4.1.1 / §7.4.1.1; TS 38.212 §6.2 / §7.2; TS 38.214
//! §5.1 / §6.1.4). The links differ only in their rules (`pusch`, `pdsch`:
//! scrambling c_init, DM-RS tables, MCS tables, validation), which reach
//! this module through [`SharedChannel`]; nothing here knows either link.
//!
//! One file per job:
//! - `plan.rs`: the data-RE layout ([`SchLayout`]) and the plan of a PDU
//!   ([`ShPlan`]);
//! - `transmit.rs`: TB → CRC, segmentation, LDPC, rate matching
//!   (`coding::tb`) → scrambling → modulation → layer mapping → identity or
//!   per-PRG precoding, RE mapping and DM-RS → CP-OFDM per port
//!   ([`ShSymbolMapper`], [`ShTransmitter`]). Transform precoding, PT-RS,
//!   UCI multiplexing and frequency hopping are not supported;
//! - `detect.rs`: channel estimation and detection into codeword order
//!   ([`RxFrontEnd`]);
//! - `front_end.rs`: the receive front end of one channel, down to the G
//!   quantised, descrambled `i8` LLRs ([`ShFrontEnd`]);
//! - `decode.rs`: HARQ soft buffers, rate recovery and LDPC per code block
//!   ([`CbDecoder`], [`SplitDecode`]);
//! - `receive.rs`: the whole receiver ([`ShReceiver`]): OFDM, front end,
//!   decode, measurements.
//!
//! Blocks, not threads: every step a pipeline runs as a parallel task
//! takes `&self` and the state it works on from the caller (a DM-RS
//! position's [`ChestPosition`](crate::chest::ChestPosition), a detection
//! block's codeword symbols, a code block's part of the soft buffer), so
//! the pipeline (`crate::pipeline`) owns whatever several tasks share.
//!
//! Plan once, run many: the constructors make FFT plans, detectors,
//! demappers and every buffer for the largest allocation; a slot then
//! allocates nothing.

mod decode;
mod detect;
mod front_end;
mod plan;
mod receive;
mod transmit;

pub use decode::{CbDecoder, HarqBuffers, SplitDecode};
pub use detect::{
    evm_percent, evm_percent_with, post_sinr_db, quantize_descramble, DetectScratch, FrontEndError,
    RxFrontEnd,
};
pub use front_end::{FrontScratch, ShFrontEnd, DEMAP_CHUNK};
pub(crate) use plan::ShRequest;
pub use plan::{SchLayout, ShPlan};
pub use receive::{ShReceiver, SplitBuffers};
pub use transmit::{ShSymbolMapper, ShTransmitter};

use crate::chest::ChestOptions;
use crate::coding::ldpc::{DecoderConfig, MinSum};
use crate::coding::tbs::TbsError;
use crate::mimo::{Equalizer, PrecodingError};
use crate::ofdm::{OfdmError, OfdmOptions};
use crate::pdu::PduError;
use crate::refsig::dmrs::DmrsError;
use crate::simd::SimdLevel;

/// Why a shared channel (PUSCH or PDSCH) could not be processed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ShError {
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

/// A physical shared channel: how its PDU becomes a plan.
pub trait SharedChannel {
    /// The per-slot request.
    type Pdu;
    /// Validates `pdu` against the carrier and antennas and derives the plan.
    fn plan(pdu: &Self::Pdu, carrier_prbs: u16, antennas: u16) -> Result<ShPlan, ShError>;
    /// The slot number of `pdu`.
    fn slot(pdu: &Self::Pdu) -> u32;
}

/// What a shared-channel receive reports.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ShResult {
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
pub(crate) fn qm_slot(qm: usize) -> usize {
    match qm {
        2 => 0,
        4 => 1,
        6 => 2,
        8 => 3,
        _ => 4,
    }
}

pub(crate) const QMS: [usize; 5] = [2, 4, 6, 8, 10];

/// Receiver options.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ShRxConfig {
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

impl ShRxConfig {
    /// Defaults for `n_rx` antennas and `max_layers` layers: ZF, slot-averaged
    /// channel with delay and CFO tracking, 6 LDPC iterations of offset
    /// min-sum with β = 4 (tuned for LLRs at [`LLR_SCALE`]; pinned here, not
    /// taken from the LDPC default, so the chain's conformance does not move
    /// with it), 16 HARQ buffers.
    pub fn new(n_rx: usize, max_layers: usize) -> Self {
        ShRxConfig {
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
