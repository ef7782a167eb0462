//! NR transport-channel coding, TS 38.212 (and the TS 38.214 TB size).
//!
//! Transmitter: CRC attachment and segmentation, LDPC encoding, rate
//! matching and concatenation; [`scrambling`] follows in the physical
//! channel. Receiver: de-rate-matching into a HARQ soft buffer, LDPC
//! decoding and the CRC checks. [`tbs`] sizes the transport block.

pub mod crc;
pub mod ldpc;
pub mod scrambling;
pub mod tbs;
