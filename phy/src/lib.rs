//! ranlab physical layer.
//!
//! The data path, transmitter to receiver: transport-block CRC and code-block
//! segmentation, LDPC coding and rate matching, scrambling and modulation
//! (`coding`, `modulation`), then layer mapping, reference signals and OFDM;
//! the receiver runs it backwards with channel estimation, MIMO detection,
//! soft demapping and LDPC decoding. The PHY knows nothing of the scheduler:
//! it takes validated per-slot PDUs and returns indications.
#![warn(missing_docs)]

pub mod chest;
pub mod coding;
pub mod grid;
pub mod mimo;
pub mod modulation;
pub mod numerology;
pub mod ofdm;
pub mod pdsch;
pub mod pdu;
pub mod piot;
pub mod pipeline;
pub mod pusch;
pub mod refsig;
pub mod sch;
pub mod simd;
