//! Portable scalar kernels, the reference twins of the SIMD ones.

pub mod demap;
pub mod ldpc;
pub mod llr;
