//! AVX-512 (F + BW) kernels, runtime-gated by the callers.

pub mod ldpc;
pub(crate) mod mimo;
pub mod demap;
