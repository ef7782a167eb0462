//! Portable max-log QAM demapper kernel, the twin of the AVX2/AVX-512 ones.
//!
//! A square QAM with m bits per dimension is two Gray-labelled PAMs with
//! levels ±1, ±3, .., ±(2^m − 1) (scaled by 1/√norm). In grid units y = x·√norm
//! the max-log LLR of a bit is D/(norm·σ²) with D = min_{S1}(y−a)² − min_{S0}(y−a)²,
//! and D = (n0 − n1)(2y − n0 − n1) for the nearest points n0 ∈ S0, n1 ∈ S1.
//! The nested labelling of TS 38.211 §5.1 folds: bit 0 is the sign (n0/n1 =
//! nearest odd level clamped to the positive/negative half); for bit k ≥ 1,
//! v_1 = |y|, v_{k+1} = |v_k − 2^(m−k)|, and with c = 2^(m−k) the bit-0 points
//! are the odd levels in [1, c−1] and the bit-1 points those in [c+1, 2c−1].
//! Folding keeps distances, so this is exact max-log, not an approximation of it.

/// Smallest noise variance used: positive variances below it are raised to
/// it, so the LLRs of finite points stay finite. (`Demapper` refuses NaN,
/// zero and negative variances before a kernel sees them.)
pub const MIN_NOISE_VAR: f32 = 1e-12;

/// Constants of one square QAM.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QamParams {
    /// Bits per dimension m = Q_m / 2 (1..=5).
    pub m: usize,
    /// √norm (√2, √10, √42, √170, √682): grid units per amplitude unit.
    pub sqrt_norm: f32,
    /// 1/norm.
    pub inv_norm: f32,
}

impl QamParams {
    /// The constants for Q_m = 2m.
    pub fn new(m: usize) -> Self {
        let norm = (2.0 * ((1u64 << (2 * m)) as f64 - 1.0) / 3.0) as f32;
        QamParams {
            m,
            sqrt_norm: norm.sqrt(),
            inv_norm: 1.0 / norm,
        }
    }
}

/// Nearest odd integer level to `v` (ties go up): 2·⌊v/2⌋ + 1.
#[inline(always)]
fn odd(v: f32) -> f32 {
    2.0 * (0.5 * v).floor() + 1.0
}

/// The m per-dimension D values of grid coordinate `y` (bit 0 first).
#[inline(always)]
pub fn pam_levels(y: f32, m: usize, d: &mut [f32; 5]) {
    let top = ((1u32 << m) - 1) as f32;
    let q = odd(y);
    let n0 = q.clamp(1.0, top);
    let n1 = q.clamp(-top, -1.0);
    d[0] = (n0 - n1) * (2.0 * y - n0 - n1);
    let mut v = y.abs();
    for (k, dk) in d.iter_mut().enumerate().take(m).skip(1) {
        let c = (1u32 << (m - k)) as f32;
        let q = odd(v);
        let n0 = q.clamp(1.0, c - 1.0);
        let n1 = q.clamp(c + 1.0, 2.0 * c - 1.0);
        *dk = (n0 - n1) * (2.0 * v - n0 - n1);
        v = (v - c).abs();
    }
}

/// Max-log LLRs of `nv.len()` symbols: `sym` holds re, im interleaved
/// (2 per symbol), `nv` the per-symbol noise variance, `out` 2m LLRs per
/// symbol in bit order b(0) .. b(2m−1). Lengths are the caller's to check.
/// Returns whether it met a bad input (a non-finite coordinate or a noise
/// variance that is not positive, as [`any_bad_input`]): the caller then
/// erases or refuses; the LLRs of good symbols are right either way.
pub fn demap_qam(p: QamParams, sym: &[f32], nv: &[f32], out: &mut [f32]) -> bool {
    let qm = 2 * p.m;
    let mut di = [0f32; 5];
    let mut dq = [0f32; 5];
    let mut bad = false;
    for ((s, &n), o) in sym.chunks_exact(2).zip(nv).zip(out.chunks_exact_mut(qm)) {
        bad |= !(n > 0.0) || !(s[0] - s[0] == 0.0 && s[1] - s[1] == 0.0);
        let scale = p.inv_norm / n.max(MIN_NOISE_VAR);
        pam_levels(s[0] * p.sqrt_norm, p.m, &mut di);
        pam_levels(s[1] * p.sqrt_norm, p.m, &mut dq);
        for k in 0..p.m {
            o[2 * k] = di[k] * scale;
            o[2 * k + 1] = dq[k] * scale;
        }
    }
    bad
}

/// Whether any point coordinate of `sym` is NaN or infinite, or any noise
/// variance of `nv` is not positive (NaN, zero, negative): the one pass a
/// demapper makes over its input before it trusts it (AVX2 twin:
/// `simd::avx2::demap::any_bad_input`).
pub fn any_bad_input(sym: &[f32], nv: &[f32]) -> bool {
    // x − x is 0 for a finite x, NaN otherwise; !(σ² > 0) is true for NaN too.
    sym.iter().any(|&x| (x - x) != 0.0 || x.is_nan()) || nv.iter().any(|&v| !(v > 0.0))
}
