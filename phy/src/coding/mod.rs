//! NR transport-channel coding, TS 38.212.

pub mod crc;
pub mod ldpc;
