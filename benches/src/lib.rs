//! Shared set-up for ranlab's criterion benchmarks (inputs with fixed seeds).
#![warn(missing_docs)]
