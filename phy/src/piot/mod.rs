//! Cellular passive IoT (3GPP Rel-19 Ambient IoT, TR 38.769; EPC Gen2 where
//! TR 38.769 leaves a choice open): the reader's and the tag's physical layer.
//!
//! * [`linecode`]: Manchester, FM0, Miller-M.
//! * [`conv`]: the rate-1/3 (puncturable to 1/2) convolutional code and soft Viterbi.
//! * [`r2d`]: reader-to-device OOK inside an NR carrier (OFDM-based OOK) and PIE.
//! * [`tag`]: the tag: energy harvesting, envelope detector, drifting clock, backscatter.
//! * [`d2r`]: device-to-reader framing and the reader receiver (leakage
//!   cancellation, clock recovery, coherent/non-coherent detection, decoding,
//!   joint reception over several sites).

pub mod conv;
pub mod d2r;
pub mod linecode;
pub mod r2d;
pub mod tag;
