//! LLR quantisation with descrambling, and the EVM error sum (scalar
//! references of `simd::avx2::llr`).
//!
//! [`quantize_descramble`]: float LLRs (nats) → the decoder's `i8`:
//! round-half-even(x·scale) clamped to ±127, negated where the scrambling
//! bit c(i) is 1 (TS 38.211 §6.3.1.1: descrambling of soft bits flips the
//! sign), NaN → 0 (erased). `mask` holds c(32w..32w+31) in word w, c(32w) in
//! bit 0. Returns whether any output is non-zero (something was received).
//!
//! [`evm_error_sum`]: Σ |z − ẑ|² over unit-energy square-QAM points with ẑ
//! the nearest constellation point per dimension (non-finite errors count 1).

/// Quantises and descrambles `llrs` into `out` (same length; `mask` holds
/// at least `ceil(len/32)` words). Returns whether any output is non-zero.
pub fn quantize_descramble(llrs: &[f32], scale: f32, mask: &[u32], out: &mut [i8]) -> bool {
    debug_assert_eq!(llrs.len(), out.len());
    debug_assert!(mask.len() * 32 >= llrs.len());
    let mut any = 0i8;
    for (i, (o, &x)) in out.iter_mut().zip(llrs).enumerate() {
        let flip = (mask[i / 32] >> (i % 32)) & 1 != 0;
        let v = x * scale;
        let v = if v.is_nan() {
            0.0
        } else {
            v.clamp(-127.0, 127.0)
        };
        let q = v.round_ties_even() as i8;
        *o = if flip { -q } else { q };
        any |= *o;
    }
    any != 0
}

/// The slicer of one PAM dimension of a square QAM with `side` levels per
/// dimension, scaled by `norm` (√ of the mean energy on the integer grid).
#[derive(Debug, Clone, Copy)]
pub struct EvmParams {
    /// Levels per dimension √M.
    pub side: i32,
    /// √(2(M−1)/3).
    pub norm: f32,
}

impl EvmParams {
    /// The slicer of Q_m bits per symbol (2, 4, 6, 8, 10); None otherwise.
    pub fn new(qm: usize) -> Option<Self> {
        if !(2..=10).contains(&qm) || !qm.is_multiple_of(2) {
            return None;
        }
        let side = 1i32 << (qm / 2);
        let norm = (2.0 * ((side * side) as f64 - 1.0) / 3.0).sqrt() as f32;
        Some(EvmParams { side, norm })
    }

    /// The squared distance of one dimension to its nearest level.
    #[inline]
    pub fn err2(&self, x: f32) -> f32 {
        let s1 = (self.side - 1) as f32;
        // Level index of the nearest point by truncation of a non-negative
        // value: (x·norm + side − 1)/2 rounded, clamped to 0..side−1.
        let t = (x * self.norm + s1) * 0.5 + 0.5;
        let s = (t.max(0.0) as i32).min(self.side - 1) as f32;
        let e = x - (2.0 * s - s1) / self.norm;
        e * e
    }
}

/// Σ |z − ẑ|² over `flat` (re, im interleaved), each complex point's error
/// counting 1 when it is not finite.
pub fn evm_error_sum(p: EvmParams, flat: &[f32]) -> f64 {
    let mut acc = 0.0f64;
    for c in flat.chunks_exact(2) {
        let e = p.err2(c[0]) + p.err2(c[1]);
        acc += if e.is_finite() { e as f64 } else { 1.0 };
    }
    acc
}
