//! MIMO detection and downlink precoding/beamforming.
//!
//! - [`detect`]: per-RE linear detection (ZF, MMSE, MMSE-IRC) for 1-64
//!   receive antennas and 1-16 layers, with the per-RE per-layer
//!   post-equalisation noise variance that scales the demapper's LLRs.
//! - [`precode`]: downlink precoders from uplink (SRS) channel estimates per
//!   PRB group: MRT, ZF and regularised ZF for up to 64 antennas x 16 users.
//! - [`beam`]: the DFT beam codebook of a uniform planar array (TS 38.214
//!   §5.2.2.2.1 type-I vectors), beam sweeping and best-beam selection.
//! - [`layers`]: layer mapping (TS 38.211 §7.3.1.3) and per-PRB-group
//!   precoding onto antenna ports for the PDSCH path.
//! - [`prg`]: one PDSCH's precoder per PRG (TS 38.214 §5.1.2.3) and its
//!   application to the layers onto the gNB's antennas (TS 38.211 §7.3.1.5).
//!
//! Data layout, shared by all of them: structure-of-arrays over REs (or PRB
//! groups), so one SIMD lane is one RE. A channel is stored as one plane of
//! `n` REs per (antenna, layer) pair, antenna-major:
//! `h[(rx * n_layers + layer) * n + re]`; received symbols as one plane per
//! antenna `y[rx * n + re]`; outputs as one plane per layer
//! `x[layer * n + re]`.

pub mod beam;
pub mod detect;
pub(crate) mod lanes;
pub mod layers;
pub mod precode;
pub mod prg;

pub use beam::{BeamCodebook, BeamIndex, BestBeam, UpaConfig};
pub use detect::{estimate_covariance, Detector, Equalizer, MimoError, ZERO_CONFIDENCE_NOISE_VAR};
pub use layers::{codeword_layers, layer_demap, layer_map, precode_add, precode_layers};
pub use precode::{PowerNorm, Precoder, PrecoderKind};
pub use prg::{PrecodingError, PrgPrecoder, PrgSize};
