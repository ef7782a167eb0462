//! AVX2 kernels (`#[target_feature(enable = "avx2")]`), runtime-gated by the callers.

pub mod demap;
pub(crate) mod ldpc;
pub mod llr;
pub(crate) mod mimo;
