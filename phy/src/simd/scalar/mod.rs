//! Portable scalar kernels, the reference twins of the SIMD ones.

pub mod demap;
pub(crate) mod ldpc;
pub mod llr;
