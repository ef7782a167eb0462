//! The errors of the LDPC blocks.

use crate::simd::SimdLevel;

/// Errors of the LDPC blocks; each names the offending quantity.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LdpcError {
    /// Z is not one of the 51 lifting sizes of Table 5.3.2-1.
    #[error("lifting size {0} is not in TS 38.212 Table 5.3.2-1")]
    LiftingSize(u16),
    /// The information block is not K = 22Z or 10Z bits long.
    #[error("info: {got} bits given, the encoder takes K = {expected}")]
    InfoLength {
        /// K.
        expected: usize,
        /// Length given.
        got: usize,
    },
    /// The codeword buffer is not N_ldpc = 68Z or 52Z bits long.
    #[error("codeword: buffer of {got} bits, N_ldpc = {expected}")]
    CodewordLength {
        /// N_ldpc.
        expected: usize,
        /// Length given.
        got: usize,
    },
    /// The LLR buffer is not N = 66Z or 50Z long.
    #[error("llrs: {got} values given, the circular buffer holds N = {expected}")]
    LlrLength {
        /// N.
        expected: usize,
        /// Length given.
        got: usize,
    },
    /// The output buffer is not K bits long.
    #[error("out_bits: buffer of {got} bits, K = {expected}")]
    OutputLength {
        /// K.
        expected: usize,
        /// Length given.
        got: usize,
    },
    /// `n_filled` exceeds N.
    #[error("n_filled = {n_filled} exceeds the circular buffer length N = {n}")]
    FilledLength {
        /// Value given.
        n_filled: usize,
        /// N.
        n: usize,
    },
    /// K' is zero or larger than K.
    #[error("k_prime = {k_prime} must be in 1..={k}")]
    KPrime {
        /// Value given.
        k_prime: usize,
        /// K.
        k: usize,
    },
    /// The iteration cap is zero or implausibly large.
    #[error("max_iterations = {0} must be in 1..=100")]
    Iterations(u32),
    /// The min-sum correction is out of range.
    #[error("min-sum parameter: {0}")]
    Algorithm(&'static str),
    /// The instruction set was forced but this CPU lacks it.
    #[error("instruction set {0} is not supported by this CPU")]
    Simd(SimdLevel),
    /// A CRC given for early termination is longer than K'.
    #[error("CRC of {crc_len} bits does not fit in K' = {k_prime}")]
    CrcLength {
        /// L.
        crc_len: usize,
        /// K'.
        k_prime: usize,
    },
}
