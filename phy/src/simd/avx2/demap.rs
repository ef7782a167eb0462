//! AVX2 + FMA max-log QAM demapper (twin: `simd::scalar::demap`).
//!
//! Eight floats (four symbols, re/im interleaved) per step: each lane is one
//! PAM dimension, so one pass of the folding formula gives the LLRs of bit
//! 2k (re lanes) and 2k+1 (im lanes) for four symbols; the m results are then
//! transposed in 64-bit pairs into bit order.

use crate::simd::scalar::demap::{demap_qam as demap_scalar, QamParams, MIN_NOISE_VAR};
#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

/// Per-dimension D values of 8 lanes in grid units, levels 0..m.
#[cfg(target_arch = "x86_64")]
#[inline]
#[target_feature(enable = "avx2,fma")]
pub(crate) fn levels8(y: __m256, m: usize, d: &mut [__m256; 5]) {
    let one = _mm256_set1_ps(1.0);
    let two = _mm256_set1_ps(2.0);
    let half = _mm256_set1_ps(0.5);
    let abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fff_ffff));
    let odd = |v: __m256| _mm256_fmadd_ps(two, _mm256_floor_ps(_mm256_mul_ps(v, half)), one);
    let top = _mm256_set1_ps(((1u32 << m) - 1) as f32);
    let q = odd(y);
    let n0 = _mm256_min_ps(_mm256_max_ps(q, one), top);
    let n1 = _mm256_max_ps(
        _mm256_min_ps(q, _mm256_set1_ps(-1.0)),
        _mm256_sub_ps(_mm256_setzero_ps(), top),
    );
    // (n0 − n1)(2y − (n0 + n1))
    d[0] = _mm256_mul_ps(
        _mm256_sub_ps(n0, n1),
        _mm256_fmsub_ps(two, y, _mm256_add_ps(n0, n1)),
    );
    let mut v = _mm256_and_ps(y, abs_mask);
    for (k, dk) in d.iter_mut().enumerate().take(m).skip(1) {
        let c = (1u32 << (m - k)) as f32;
        let cv = _mm256_set1_ps(c);
        let q = odd(v);
        let n0 = _mm256_min_ps(_mm256_max_ps(q, one), _mm256_set1_ps(c - 1.0));
        let n1 = _mm256_min_ps(
            _mm256_max_ps(q, _mm256_set1_ps(c + 1.0)),
            _mm256_set1_ps(2.0 * c - 1.0),
        );
        *dk = _mm256_mul_ps(
            _mm256_sub_ps(n0, n1),
            _mm256_fmsub_ps(two, v, _mm256_add_ps(n0, n1)),
        );
        v = _mm256_and_ps(_mm256_sub_ps(v, cv), abs_mask);
    }
}

/// Writes the m level vectors of four symbols (scaled) in bit order to `out`
/// (4·2m floats).
#[cfg(target_arch = "x86_64")]
#[inline]
#[target_feature(enable = "avx2,fma")]
pub(crate) fn store_bit_order(m: usize, d: &[__m256; 5], out: &mut [f32]) {
    debug_assert!(out.len() >= 8 * m);
    let p = out.as_mut_ptr();
    // SAFETY: `out` holds 8·m floats (checked by the callers' chunking); all
    // stores are unaligned and within it.
    unsafe {
        match m {
            1 => _mm256_storeu_ps(p, d[0]),
            2 => {
                let a = _mm256_castps_pd(d[0]);
                let b = _mm256_castps_pd(d[1]);
                let lo = _mm256_unpacklo_pd(a, b); // a0 b0 a2 b2
                let hi = _mm256_unpackhi_pd(a, b); // a1 b1 a3 b3
                _mm256_storeu_pd(p as *mut f64, _mm256_permute2f128_pd::<0x20>(lo, hi));
                _mm256_storeu_pd(p.add(8) as *mut f64, _mm256_permute2f128_pd::<0x31>(lo, hi));
            }
            4 => {
                let [a, b, c, e] = [d[0], d[1], d[2], d[3]].map(|x| _mm256_castps_pd(x));
                let t0 = _mm256_unpacklo_pd(a, b);
                let t1 = _mm256_unpackhi_pd(a, b);
                let t2 = _mm256_unpacklo_pd(c, e);
                let t3 = _mm256_unpackhi_pd(c, e);
                let q = p as *mut f64;
                _mm256_storeu_pd(q, _mm256_permute2f128_pd::<0x20>(t0, t2));
                _mm256_storeu_pd(q.add(4), _mm256_permute2f128_pd::<0x20>(t1, t3));
                _mm256_storeu_pd(q.add(8), _mm256_permute2f128_pd::<0x31>(t0, t2));
                _mm256_storeu_pd(q.add(12), _mm256_permute2f128_pd::<0x31>(t1, t3));
            }
            3 => {
                // Pairs: out = A0 B0 C0 A1 | B1 C1 A2 B2 | C2 A3 B3 C3.
                // permute4x64::<I>: lane i takes source lane (I >> 2i) & 3.
                let [a, b, c] = [d[0], d[1], d[2]].map(|x| _mm256_castps_pd(x));
                let o0 = _mm256_blend_pd::<0b0100>(
                    _mm256_blend_pd::<0b0010>(
                        _mm256_permute4x64_pd::<0b01_00_00_00>(a), // a0 . . a1
                        _mm256_permute4x64_pd::<0b00_00_00_00>(b), // . b0 . .
                    ),
                    _mm256_permute4x64_pd::<0b00_00_00_00>(c), // . . c0 .
                );
                let o1 = _mm256_blend_pd::<0b0100>(
                    _mm256_blend_pd::<0b0010>(
                        _mm256_permute4x64_pd::<0b10_00_00_01>(b), // b1 . . b2
                        _mm256_permute4x64_pd::<0b00_00_01_00>(c), // . c1 . .
                    ),
                    _mm256_permute4x64_pd::<0b00_10_00_00>(a), // . . a2 .
                );
                let o2 = _mm256_blend_pd::<0b0100>(
                    _mm256_blend_pd::<0b0010>(
                        _mm256_permute4x64_pd::<0b11_00_00_10>(c), // c2 . . c3
                        _mm256_permute4x64_pd::<0b00_00_11_00>(a), // . a3 . .
                    ),
                    _mm256_permute4x64_pd::<0b00_11_00_00>(b), // . . b3 .
                );
                let q = p as *mut f64;
                _mm256_storeu_pd(q, o0);
                _mm256_storeu_pd(q.add(4), o1);
                _mm256_storeu_pd(q.add(8), o2);
            }
            _ => {
                let mut lv = [[0u64; 4]; 5];
                for k in 0..m {
                    _mm256_storeu_si256(
                        lv[k].as_mut_ptr() as *mut __m256i,
                        _mm256_castps_si256(d[k]),
                    );
                }
                let q = p as *mut u64;
                for s in 0..4 {
                    for (k, l) in lv.iter().enumerate().take(m) {
                        q.add(s * m + k).write_unaligned(l[s]);
                    }
                }
            }
        }
    }
}

/// AVX2 max-log demapper; same contract as the scalar `demap_qam`.
///
/// # Safety
/// The CPU must support AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
pub unsafe fn demap_qam(p: QamParams, sym: &[f32], nv: &[f32], out: &mut [f32]) {
    // A copy of the loop per order, so the level loop unrolls and stays in registers.
    match p.m {
        1 => demap_m::<1>(p, sym, nv, out),
        2 => demap_m::<2>(p, sym, nv, out),
        3 => demap_m::<3>(p, sym, nv, out),
        4 => demap_m::<4>(p, sym, nv, out),
        _ => demap_m::<5>(p, sym, nv, out),
    }
}

#[cfg(target_arch = "x86_64")]
#[inline]
#[target_feature(enable = "avx2,fma")]
fn demap_m<const M: usize>(p: QamParams, sym: &[f32], nv: &[f32], out: &mut [f32]) {
    let m = M;
    let n = nv.len().min(sym.len() / 2).min(out.len() / (2 * m));
    let blocks = n / 4;
    let sn = _mm256_set1_ps(p.sqrt_norm);
    let inv_norm = _mm_set1_ps(p.inv_norm);
    let floor = _mm_set1_ps(MIN_NOISE_VAR);
    let dup = _mm256_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3);
    let mut d = [_mm256_setzero_ps(); 5];
    for b in 0..blocks {
        // SAFETY: b·4 + 4 ≤ n symbols, so 8 floats of `sym` and 4 of `nv` are in bounds.
        let (y, nv4) = unsafe {
            (
                _mm256_loadu_ps(sym.as_ptr().add(8 * b)),
                _mm_loadu_ps(nv.as_ptr().add(4 * b)),
            )
        };
        let s4 = _mm_div_ps(inv_norm, _mm_max_ps(nv4, floor));
        let s8 = _mm256_permutevar8x32_ps(_mm256_castps128_ps256(s4), dup);
        levels8(_mm256_mul_ps(y, sn), m, &mut d);
        for dk in d.iter_mut().take(m) {
            *dk = _mm256_mul_ps(*dk, s8);
        }
        store_bit_order(m, &d, &mut out[8 * m * b..8 * m * (b + 1)]);
    }
    let done = blocks * 4;
    demap_scalar(
        p,
        &sym[2 * done..2 * n],
        &nv[done..n],
        &mut out[2 * m * done..2 * m * n],
    );
}
