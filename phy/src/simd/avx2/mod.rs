//! AVX2 kernels (`#[target_feature(enable = "avx2")]`), runtime-gated by the callers.

pub mod ldpc;
pub(crate) mod mimo;
pub mod demap;
