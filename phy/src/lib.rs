//! ranlab physical layer.
//!
//! The data path, transmitter to receiver: transport-block CRC and code-block
//! segmentation, LDPC coding and rate matching, scrambling and modulation
//! (`coding`, `modulation`), then layer mapping, reference signals and OFDM;
//! the receiver runs it backwards with channel estimation, MIMO detection,
//! soft demapping and LDPC decoding. The PHY knows nothing of the scheduler:
//! it takes validated per-slot PDUs and returns indications.
//!
//! The types of one PUSCH or PDSCH link are re-exported here. A PUSCH from
//! one UE antenna to two gNB antennas, through a noisy ideal channel:
//!
//! ```
//! use num_complex::Complex32;
//! use ranlab_phy::{CyclicPrefix, Numerology, OfdmOptions, PuschPdu, Scs};
//! use ranlab_phy::{PuschReceiver, PuschRxConfig, PuschTransmitter};
//!
//! let num = Numerology::new(Scs::Khz30, CyclicPrefix::Normal, 24, None)?;
//! // 24 PRBs, 14 symbols, MCS 10 of table 1, the standard DM-RS.
//! let pdu = PuschPdu { n_prb: 24, mcs_index: 10, ..Default::default() };
//! let mut ue = PuschTransmitter::new(num, 1, OfdmOptions::default())?;
//! let tbs = ue.plan(&pdu)?.tbs;
//! let tb: Vec<u8> = (0..tbs).map(|i| (i * 7 % 3 == 0) as u8).collect();
//! ue.transmit(&pdu, &tb)?;
//! let mut air = vec![Complex32::default(); num.slot_len(0)];
//! ue.modulate(0, &mut [&mut air[..]])?;
//!
//! // Two antennas, each with its own small noise (a fixed LCG keeps it reproducible).
//! let mut seed = 1u32;
//! let mut noise = || {
//!     seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
//!     (seed >> 8) as f32 / (1u32 << 24) as f32 - 0.5
//! };
//! let rx: Vec<Vec<Complex32>> = (0..2)
//!     .map(|_| air.iter().map(|x| x + Complex32::new(noise(), noise()) * 0.01).collect())
//!     .collect();
//! let mut gnb = PuschReceiver::new(num, PuschRxConfig::new(2, 1))?;
//! let result = gnb.process_samples(&pdu, &[&rx[0], &rx[1]])?;
//! assert!(result.crc_ok);
//! assert_eq!(gnb.transport_block(&gnb.plan(&pdu)?), &tb[..]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! One LDPC code block (TS 38.212 §5.3.2, base graph 2, Z = 16) encoded and
//! decoded from clean LLRs (the 2Z punctured systematic bits left out):
//!
//! ```
//! use ranlab_phy::{BaseGraph, DecoderConfig, LdpcDecoder, LdpcEncoder};
//!
//! let enc = LdpcEncoder::new(BaseGraph::Bg2, 16)?;
//! let info: Vec<u8> = (0..enc.info_len()).map(|i| (i % 5 == 1) as u8).collect();
//! let mut cw = vec![0u8; enc.codeword_len()];
//! enc.encode(&info, &mut cw)?;
//! let mut dec = LdpcDecoder::new(BaseGraph::Bg2, 16, DecoderConfig::default())?;
//! // Positive LLR: bit 0; the decoder's input starts after the punctured 2Z bits.
//! let llrs: Vec<i8> = cw[2 * 16..].iter().map(|&b| if b == 0 { 20 } else { -20 }).collect();
//! let mut out = vec![0u8; dec.info_len()];
//! let n = llrs.len();
//! let outcome = dec.decode(&llrs, n, info.len(), None, &mut out)?;
//! assert!(outcome.parity_ok);
//! assert_eq!(out, info);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
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

pub use coding::ldpc::{BaseGraph, DecoderConfig, LdpcDecoder, LdpcEncoder};
pub use numerology::{CyclicPrefix, Numerology, Scs};
pub use ofdm::OfdmOptions;
pub use pdsch::{PdschReceiver, PdschTransmitter};
pub use pdu::{DmrsConfig, DmrsPorts, DmrsType, MappingType, PdschPdu, PuschPdu};
pub use pipeline::uplink_phy::{CrcIndication, UplinkPhy, UplinkPhyConfig};
pub use pusch::{PuschError, PuschReceiver, PuschResult, PuschRxConfig, PuschTransmitter};
pub use simd::SimdLevel;
