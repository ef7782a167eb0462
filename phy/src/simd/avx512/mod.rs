//! AVX-512 (F + BW) kernels, runtime-gated by the callers.

pub mod demap;
pub(crate) mod ldpc;
pub(crate) mod mimo;
