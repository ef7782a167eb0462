//! AVX2 + FMA max-log QAM demapper (twin: `simd::scalar::demap`).
//!
//! Eight floats (four symbols, re/im interleaved) per vector: each lane is one
//! PAM dimension, so one pass over the m levels gives the LLRs of bit 2k (re
//! lanes) and 2k+1 (im lanes) for four symbols; the m results are then
//! transposed in 64-bit pairs into bit order. Levels with at most 3 inner
//! decision boundaries per side use a closed form (a ramp sum, no rounding);
//! wider ones (bit 0 of 256QAM/1024QAM, bit 1 of 1024QAM) the nearest-point
//! fold of the scalar twin. Eight symbols per step share one division.

use crate::simd::scalar::demap::{demap_qam as demap_scalar, QamParams, MIN_NOISE_VAR};
#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

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

/// 4·D/4 of one PAM level in closed form (exact max-log, the same value as the
/// scalar `pam_levels` fold): with w the signed distance from the level's decision
/// boundary and t = c/2 − 1 inner boundaries on each side,
/// D/4 = w + sign(w)·Σ_{j=1..t} max(|w| − 2j, 0)
/// (the slope grows by 4 at every odd-level midpoint crossed). Returns D/4
/// (positive side = bit 0 for level 0, bit 1 for the others; the caller's scale
/// carries the sign and the 4).
#[cfg(target_arch = "x86_64")]
#[inline]
#[target_feature(enable = "avx2,fma")]
fn ramp_level(w: __m256, a: __m256, t: usize) -> __m256 {
    if t == 0 {
        return w;
    }
    let zero = _mm256_setzero_ps();
    let mut acc = _mm256_max_ps(_mm256_sub_ps(a, _mm256_set1_ps(2.0)), zero);
    for j in 2..=t {
        acc = _mm256_add_ps(
            acc,
            _mm256_max_ps(_mm256_sub_ps(a, _mm256_set1_ps(2.0 * j as f32)), zero),
        );
    }
    let sign = _mm256_and_ps(w, _mm256_set1_ps(-0.0));
    _mm256_add_ps(w, _mm256_xor_ps(acc, sign))
}

/// The m level values of 8 lanes (grid units), each D/4 with the sign of the
/// LLR (bit 0 positive): closed-form ramps where a level has at most 3 inner
/// boundaries, the nearest-point fold above that.
#[cfg(target_arch = "x86_64")]
#[inline]
#[target_feature(enable = "avx2,fma")]
fn ramps8<const M: usize>(y: __m256, d: &mut [__m256; 5]) {
    let abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fff_ffff));
    let quarter = _mm256_set1_ps(0.25);
    let mut w = y;
    for (k, dk) in d.iter_mut().enumerate().take(M) {
        // Level k: boundary at c = 2^(m−k) on the folded axis (0 for level 0).
        let c = 1usize << (M - k);
        let t = c / 2 - 1;
        if k > 0 {
            w = _mm256_sub_ps(_mm256_and_ps(w, abs_mask), _mm256_set1_ps(c as f32));
        }
        let a = _mm256_and_ps(w, abs_mask);
        *dk = if t <= 3 {
            let v = ramp_level(w, a, t);
            if k == 0 {
                v
            } else {
                _mm256_sub_ps(_mm256_setzero_ps(), v)
            }
        } else if k == 0 {
            // Many inner boundaries: the nearest-point fold is cheaper.
            _mm256_mul_ps(fold_level0(w, M), quarter)
        } else {
            // On the folded axis v = |previous| = w + c.
            _mm256_mul_ps(
                fold_level(_mm256_add_ps(w, _mm256_set1_ps(c as f32)), c),
                quarter,
            )
        };
    }
}

/// D of the sign bit of an m-bit PAM by the nearest points (see the scalar `pam_levels`).
#[cfg(target_arch = "x86_64")]
#[inline]
#[target_feature(enable = "avx2,fma")]
fn fold_level0(y: __m256, m: usize) -> __m256 {
    let one = _mm256_set1_ps(1.0);
    let two = _mm256_set1_ps(2.0);
    let top = _mm256_set1_ps(((1u32 << m) - 1) as f32);
    let q = _mm256_fmadd_ps(
        two,
        _mm256_floor_ps(_mm256_mul_ps(y, _mm256_set1_ps(0.5))),
        one,
    );
    let n0 = _mm256_min_ps(_mm256_max_ps(q, one), top);
    let n1 = _mm256_max_ps(
        _mm256_min_ps(q, _mm256_set1_ps(-1.0)),
        _mm256_sub_ps(_mm256_setzero_ps(), top),
    );
    _mm256_mul_ps(
        _mm256_sub_ps(n0, n1),
        _mm256_fmsub_ps(two, y, _mm256_add_ps(n0, n1)),
    )
}

/// D of a folded level with boundary `c` at folded coordinate v >= 0 (see the scalar `pam_levels`).
#[cfg(target_arch = "x86_64")]
#[inline]
#[target_feature(enable = "avx2,fma")]
fn fold_level(v: __m256, c: usize) -> __m256 {
    let one = _mm256_set1_ps(1.0);
    let two = _mm256_set1_ps(2.0);
    let c = c as f32;
    let q = _mm256_fmadd_ps(
        two,
        _mm256_floor_ps(_mm256_mul_ps(v, _mm256_set1_ps(0.5))),
        one,
    );
    let n0 = _mm256_min_ps(_mm256_max_ps(q, one), _mm256_set1_ps(c - 1.0));
    let n1 = _mm256_min_ps(
        _mm256_max_ps(q, _mm256_set1_ps(c + 1.0)),
        _mm256_set1_ps(2.0 * c - 1.0),
    );
    _mm256_mul_ps(
        _mm256_sub_ps(n0, n1),
        _mm256_fmsub_ps(two, v, _mm256_add_ps(n0, n1)),
    )
}

/// AVX2 max-log demapper; same contract as the scalar `demap_qam`.
///
/// # Safety
/// The CPU must support AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
pub unsafe fn demap_qam(p: QamParams, sym: &[f32], nv: &[f32], out: &mut [f32]) -> bool {
    // A copy of the loop per order, so the level loop unrolls and stays in registers.
    match p.m {
        1 => demap_m::<1>(p, sym, nv, out),
        2 => demap_m::<2>(p, sym, nv, out),
        3 => demap_m::<3>(p, sym, nv, out),
        4 => demap_m::<4>(p, sym, nv, out),
        _ => demap_m::<5>(p, sym, nv, out),
    }
}

/// Eight symbols per step: one division for 8 noise variances (4/(norm σ²),
/// the 4 of D = 4·ramp folded in), two 4-symbol halves through the ramps and the
/// bit-order transpose.
#[cfg(target_arch = "x86_64")]
#[inline]
#[target_feature(enable = "avx2,fma")]
fn demap_m<const M: usize>(p: QamParams, sym: &[f32], nv: &[f32], out: &mut [f32]) -> bool {
    let m = M;
    let n = nv.len().min(sym.len() / 2).min(out.len() / (2 * m));
    let blocks = n / 8;
    let sn = _mm256_set1_ps(p.sqrt_norm);
    let four_inv_norm = _mm256_set1_ps(4.0 * p.inv_norm);
    let floor = _mm256_set1_ps(MIN_NOISE_VAR);
    let dup_lo = _mm256_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3);
    let dup_hi = _mm256_setr_epi32(4, 4, 5, 5, 6, 6, 7, 7);
    let mut d = [_mm256_setzero_ps(); 5];
    // Bad inputs, flagged in the same pass (as `any_bad_input`).
    let mut bad = _mm256_setzero_ps();
    let zero = _mm256_setzero_ps();
    for b in 0..blocks {
        // SAFETY: 8·b + 8 ≤ n symbols, so 16 floats of `sym` and 8 of `nv` are in bounds.
        let (y0, y1, nv8) = unsafe {
            (
                _mm256_loadu_ps(sym.as_ptr().add(16 * b)),
                _mm256_loadu_ps(sym.as_ptr().add(16 * b + 8)),
                _mm256_loadu_ps(nv.as_ptr().add(8 * b)),
            )
        };
        let unordered = _mm256_cmp_ps::<_CMP_UNORD_Q>(_mm256_sub_ps(y0, y0), _mm256_sub_ps(y1, y1));
        bad = _mm256_or_ps(
            bad,
            _mm256_or_ps(unordered, _mm256_cmp_ps::<_CMP_NGT_UQ>(nv8, zero)),
        );
        let s = _mm256_div_ps(four_inv_norm, _mm256_max_ps(nv8, floor));
        for (h, y) in [(0usize, y0), (1, y1)] {
            let sh = _mm256_permutevar8x32_ps(s, if h == 0 { dup_lo } else { dup_hi });
            ramps8::<M>(_mm256_mul_ps(y, sn), &mut d);
            for dk in d.iter_mut().take(m) {
                *dk = _mm256_mul_ps(*dk, sh);
            }
            let o = 16 * m * b + 8 * m * h;
            store_bit_order(m, &d, &mut out[o..o + 8 * m]);
        }
    }
    let done = blocks * 8;
    let tail_bad = demap_scalar(
        p,
        &sym[2 * done..2 * n],
        &nv[done..n],
        &mut out[2 * m * done..2 * m * n],
    );
    _mm256_movemask_ps(bad) != 0 || tail_bad
}

/// Twin of `simd::scalar::demap::any_bad_input`: one pass, 8 symbols and 8
/// noise variances per step, the flags OR-ed in a register.
///
/// # Safety
/// The CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
pub unsafe fn any_bad_input(sym: &[f32], nv: &[f32]) -> bool {
    let zero = _mm256_setzero_ps();
    let mut bad = _mm256_setzero_ps();
    let (sb, nb) = (sym.len() / 16, nv.len() / 8);
    let blocks = sb.min(nb);
    for b in 0..blocks {
        // SAFETY: 16·b + 16 ≤ sym.len() and 8·b + 8 ≤ nv.len().
        let (y0, y1, v) = unsafe {
            (
                _mm256_loadu_ps(sym.as_ptr().add(16 * b)),
                _mm256_loadu_ps(sym.as_ptr().add(16 * b + 8)),
                _mm256_loadu_ps(nv.as_ptr().add(8 * b)),
            )
        };
        // y − y is NaN for NaN and ±∞ (unordered with itself); σ² not > 0.
        let d0 = _mm256_sub_ps(y0, y0);
        let d1 = _mm256_sub_ps(y1, y1);
        bad = _mm256_or_ps(bad, _mm256_cmp_ps::<_CMP_UNORD_Q>(d0, d1));
        bad = _mm256_or_ps(bad, _mm256_cmp_ps::<_CMP_NGT_UQ>(v, zero));
    }
    _mm256_movemask_ps(bad) != 0
        || crate::simd::scalar::demap::any_bad_input(&sym[16 * blocks..], &nv[8 * blocks..])
}
