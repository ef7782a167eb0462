//! Portable scalar kernels, the reference twins of the SIMD ones.

pub mod ldpc;
pub mod demap;
