//! LDPC coding of TS 38.212 §5.3.2: base graphs, encoder and decoders.
//!
//! * [`base_graph`]: BG1/BG2 from Tables 5.3.2-2/-3 (kept in `tables.rs`), the lifting
//!   sizes of Table 5.3.2-1 and the lifted parity-check structure.
//! * [`encoder`]: systematic encoding of K = 22Z or 10Z bits (fillers as 0) into the
//!   full mother codeword of N_ldpc = 68Z or 52Z bits.
//! * [`decoder`]: the fast layered min-sum decoder on 8-bit LLRs, SIMD kernels chosen
//!   at run time.
//! * [`bp_reference`]: a floating-point flooding sum-product decoder, the slow twin
//!   the fast decoder is tested against.

pub mod base_graph;
pub mod bp_reference;
pub mod decoder;
pub mod encoder;
mod error;
pub(crate) mod layer;
pub(crate) mod layer_scalar;
mod tables;

pub use base_graph::{lifting_set_index, select_lifting, BaseGraph, LiftedGraph, LIFTING_SIZES};
pub use bp_reference::BpDecoder;
pub use decoder::{active_rows, quantize_llrs, DecodeOutcome, DecoderConfig, LdpcDecoder, MinSum};
pub use encoder::LdpcEncoder;
pub use error::LdpcError;
