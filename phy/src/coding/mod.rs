//! NR transport-channel coding, TS 38.212 (and the TS 38.214 TB size).
//!
//! Transmitter: CRC attachment and segmentation ([`segmentation`]), LDPC
//! encoding ([`ldpc`]), rate matching and concatenation ([`rate_match`]);
//! [`scrambling`] follows in the physical channel. Receiver: de-rate-matching
//! into a HARQ soft buffer ([`rate_match`]), LDPC decoding and the CRC
//! checks. [`tbs`] sizes the transport block; [`tb`] chains it all per TB.

pub mod crc;
pub mod ldpc;
pub mod rate_match;
pub mod scrambling;
pub mod segmentation;
pub mod tb;
pub mod tbs;
