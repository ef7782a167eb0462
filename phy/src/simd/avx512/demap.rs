//! AVX-512 max-log QAM demapper (twin: `simd::scalar::demap`).
//!
//! Sixteen floats (eight symbols) per step for the folding arithmetic; the
//! bit-order transpose reuses the AVX2 one on each 256-bit half.

use crate::simd::avx2::demap::store_bit_order;
use crate::simd::scalar::demap::{demap_qam as demap_scalar, QamParams, MIN_NOISE_VAR};
#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

#[cfg(target_arch = "x86_64")]
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx2,fma")]
fn levels16(y: __m512, m: usize, d: &mut [__m512; 5]) {
    let one = _mm512_set1_ps(1.0);
    let two = _mm512_set1_ps(2.0);
    let half = _mm512_set1_ps(0.5);
    // round toward −inf, no exceptions
    let odd = |v: __m512| {
        _mm512_fmadd_ps(
            two,
            _mm512_roundscale_ps::<0x09>(_mm512_mul_ps(v, half)),
            one,
        )
    };
    let top = _mm512_set1_ps(((1u32 << m) - 1) as f32);
    let q = odd(y);
    let n0 = _mm512_min_ps(_mm512_max_ps(q, one), top);
    let n1 = _mm512_max_ps(
        _mm512_min_ps(q, _mm512_set1_ps(-1.0)),
        _mm512_sub_ps(_mm512_setzero_ps(), top),
    );
    d[0] = _mm512_mul_ps(
        _mm512_sub_ps(n0, n1),
        _mm512_fmsub_ps(two, y, _mm512_add_ps(n0, n1)),
    );
    let mut v = _mm512_abs_ps(y);
    for (k, dk) in d.iter_mut().enumerate().take(m).skip(1) {
        let c = (1u32 << (m - k)) as f32;
        let q = odd(v);
        let n0 = _mm512_min_ps(_mm512_max_ps(q, one), _mm512_set1_ps(c - 1.0));
        let n1 = _mm512_min_ps(
            _mm512_max_ps(q, _mm512_set1_ps(c + 1.0)),
            _mm512_set1_ps(2.0 * c - 1.0),
        );
        *dk = _mm512_mul_ps(
            _mm512_sub_ps(n0, n1),
            _mm512_fmsub_ps(two, v, _mm512_add_ps(n0, n1)),
        );
        v = _mm512_abs_ps(_mm512_sub_ps(v, _mm512_set1_ps(c)));
    }
}

/// AVX-512 max-log demapper; same contract as the scalar `demap_qam`.
///
/// # Safety
/// The CPU must support AVX-512 F and BW, AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx2,fma")]
pub unsafe fn demap_qam(p: QamParams, sym: &[f32], nv: &[f32], out: &mut [f32]) {
    let m = p.m;
    let n = nv.len().min(sym.len() / 2).min(out.len() / (2 * m));
    let blocks = n / 8;
    let sn = _mm512_set1_ps(p.sqrt_norm);
    let inv_norm = _mm256_set1_ps(p.inv_norm);
    let floor = _mm256_set1_ps(MIN_NOISE_VAR);
    let dup = _mm512_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7);
    let mut d = [_mm512_setzero_ps(); 5];
    let mut lo = [_mm256_setzero_ps(); 5];
    let mut hi = [_mm256_setzero_ps(); 5];
    for b in 0..blocks {
        // SAFETY: 8·b + 8 ≤ n symbols: 16 floats of `sym`, 8 of `nv` in bounds.
        let (y, nv8) = unsafe {
            (
                _mm512_loadu_ps(sym.as_ptr().add(16 * b)),
                _mm256_loadu_ps(nv.as_ptr().add(8 * b)),
            )
        };
        let s8 = _mm256_div_ps(inv_norm, _mm256_max_ps(nv8, floor));
        let s16 = _mm512_permutexvar_ps(dup, _mm512_castps256_ps512(s8));
        levels16(_mm512_mul_ps(y, sn), m, &mut d);
        for k in 0..m {
            let x = _mm512_castps_pd(_mm512_mul_ps(d[k], s16));
            lo[k] = _mm256_castpd_ps(_mm512_castpd512_pd256(x));
            hi[k] = _mm256_castpd_ps(_mm512_extractf64x4_pd::<1>(x));
        }
        let o = &mut out[16 * m * b..16 * m * (b + 1)];
        let (o_lo, o_hi) = o.split_at_mut(8 * m);
        store_bit_order(m, &lo, o_lo);
        store_bit_order(m, &hi, o_hi);
    }
    let done = blocks * 8;
    demap_scalar(
        p,
        &sym[2 * done..2 * n],
        &nv[done..n],
        &mut out[2 * m * done..2 * m * n],
    );
}
