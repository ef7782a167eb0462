//! AVX-512 (F + BW) LDPC kernels: 64 lanes per instruction. Twins of
//! `simd::scalar::ldpc`; compiled everywhere on x86-64, run only when detected.

use std::arch::x86_64::*;

/// `dst[i] = XOR over e of base[offs[e] + i]` (see the scalar twin).
///
/// # Safety
/// The CPU must support AVX-512 F and BW, and `offs[e] + dst.len() <= base.len()`.
#[target_feature(enable = "avx512f,avx512bw")]
pub unsafe fn xor_gather(dst: &mut [u8], base: &[u8], offs: &[usize]) {
    let n = dst.len();
    let bp = base.as_ptr();
    let dp = dst.as_mut_ptr();
    let mut i = 0;
    // SAFETY (all loads/stores below): i + width <= n, or masked to n, and
    // offs[e] + n <= base.len().
    unsafe {
        while i + 64 <= n {
            let mut a = _mm512_setzero_si512();
            for &o in offs {
                a = _mm512_xor_si512(a, _mm512_loadu_si512(bp.add(o + i) as *const _));
            }
            _mm512_storeu_si512(dp.add(i) as *mut _, a);
            i += 64;
        }
        if i < n {
            let k: __mmask64 = (1u64 << (n - i)) - 1;
            let mut a = _mm512_setzero_si512();
            for &o in offs {
                a = _mm512_xor_si512(a, _mm512_maskz_loadu_epi8(k, bp.add(o + i) as *const i8));
            }
            _mm512_mask_storeu_epi8(dp.add(i) as *mut i8, k, a);
        }
    }
}

use crate::coding::ldpc::decoder::kernel::{LayerArgs, MinSum, BOXPLUS_TABLE, QMAX};

/// |R| = rule(m) on 64 magnitudes (0..=127), as `MinSum::apply`.
#[inline]
#[target_feature(enable = "avx512f,avx512bw")]
fn correct(m: __m512i, rule: MinSum) -> __m512i {
    let v = match rule {
        MinSum::Normalized { alpha_16 } => {
            let z = _mm512_setzero_si512();
            let a = _mm512_set1_epi16(alpha_16 as i16);
            let lo = _mm512_srli_epi16::<4>(_mm512_mullo_epi16(_mm512_unpacklo_epi8(m, z), a));
            let hi = _mm512_srli_epi16::<4>(_mm512_mullo_epi16(_mm512_unpackhi_epi8(m, z), a));
            _mm512_packus_epi16(lo, hi)
        }
        MinSum::Offset { beta } | MinSum::Lambda3 { beta } => {
            _mm512_subs_epu8(m, _mm512_set1_epi8(beta as i8))
        }
    };
    _mm512_min_epu8(v, _mm512_set1_epi8(QMAX))
}

/// `kernel::boxplus` on 64 magnitude pairs: two table look-ups with `pshufb`.
#[inline]
#[target_feature(enable = "avx512f,avx512bw")]
fn boxplus(a: __m512i, b: __m512i) -> __m512i {
    // SAFETY: BOXPLUS_TABLE holds 16 bytes.
    let t = _mm512_broadcast_i32x4(unsafe {
        _mm_loadu_si128(BOXPLUS_TABLE.as_ptr() as *const __m128i)
    });
    let half = |x: __m512i| {
        _mm512_min_epu8(
            _mm512_and_si512(_mm512_srli_epi16::<1>(x), _mm512_set1_epi8(0x7f)),
            _mm512_set1_epi8(15),
        )
    };
    let lo = _mm512_min_epu8(a, b);
    let diff = _mm512_sub_epi8(_mm512_max_epu8(a, b), lo);
    let sum = _mm512_adds_epu8(a, b);
    _mm512_subs_epu8(
        _mm512_adds_epu8(lo, _mm512_shuffle_epi8(t, half(sum))),
        _mm512_shuffle_epi8(t, half(diff)),
    )
}

/// `rule.magnitudes(min1, min2, min3)` on 64 lanes: (s1, s2).
#[inline]
#[target_feature(enable = "avx512f,avx512bw")]
fn magnitudes(m1: __m512i, m2: __m512i, m3: __m512i, rule: MinSum) -> (__m512i, __m512i) {
    match rule {
        MinSum::Lambda3 { .. } => (
            correct(boxplus(boxplus(m1, m2), m3), rule),
            correct(boxplus(m2, m3), rule),
        ),
        _ => (correct(m1, rule), correct(m2, rule)),
    }
}

/// Sign-extends the bytes of `x` in `packs_epi16(a, b)` order back to (a, b) order.
#[inline]
#[target_feature(enable = "avx512f,avx512bw")]
fn widen(x: __m512i) -> (__m512i, __m512i) {
    (
        _mm512_srai_epi16::<8>(_mm512_unpacklo_epi8(x, x)),
        _mm512_srai_epi16::<8>(_mm512_unpackhi_epi8(x, x)),
    )
}

/// One layer of layered min-sum, 64 lanes at a time (see `LayerArgs`); 8-bit
/// state and messages in `packs_epi16` lane order, as in the AVX2 kernel.
///
/// # Safety
/// The CPU must support AVX-512 F and BW; for every edge e, `offs[e] + lanes`
/// rounded up to 64 must be within `app`, `r` and `work` must hold
/// `offs.len() * stride` values, and `stride` must be at least `lanes` rounded up
/// to 64; at most 256 edges.
#[target_feature(enable = "avx512f,avx512bw")]
pub unsafe fn layer_update(a: LayerArgs<'_>) {
    // SAFETY: the caller's contract, passed on.
    unsafe {
        if matches!(a.rule, MinSum::Lambda3 { .. }) {
            layer_update_inner::<true>(a)
        } else {
            layer_update_inner::<false>(a)
        }
    }
}

/// `layer_update`, tracking min3 when `MIN3`.
#[inline]
#[target_feature(enable = "avx512f,avx512bw")]
unsafe fn layer_update_inner<const MIN3: bool>(a: LayerArgs<'_>) {
    let LayerArgs {
        app,
        offs,
        r,
        work,
        stride,
        lanes,
        rule,
        bases,
        write_back,
    } = a;
    let ap = app.as_mut_ptr();
    let rp = r.as_mut_ptr();
    let wp = work.as_mut_ptr();
    let qmax = _mm512_set1_epi8(QMAX);
    let qmin = _mm512_set1_epi8(-QMAX);
    let zero = _mm512_setzero_si512();
    let mut c = 0;
    // SAFETY (all loads/stores): c + 64 <= round_up(lanes, 64) <= stride, and the
    // caller's bounds on offs, r and work.
    unsafe {
        while c < lanes {
            let mut min1 = qmax;
            let mut min2 = qmax;
            let mut min3 = qmax;
            let mut idx = zero;
            let mut sgn = zero;
            for (e, &o) in offs.iter().enumerate() {
                let a0 = _mm512_loadu_si512(ap.add(o + c) as *const _);
                let a1 = _mm512_loadu_si512(ap.add(o + c + 32) as *const _);
                let rr = _mm512_loadu_si512(rp.add(e * stride + c) as *const _);
                let (r0, r1) = widen(rr);
                let q0 = _mm512_sub_epi16(a0, r0);
                let q1 = _mm512_sub_epi16(a1, r1);
                _mm512_storeu_si512(wp.add(e * stride + c) as *mut _, q0);
                _mm512_storeu_si512(wp.add(e * stride + c + 32) as *mut _, q1);
                let q8 = _mm512_min_epi8(_mm512_max_epi8(_mm512_packs_epi16(q0, q1), qmin), qmax);
                let m = _mm512_abs_epi8(q8);
                sgn = _mm512_xor_si512(sgn, q8);
                let lt = _mm512_cmpgt_epi8_mask(min1, m);
                if MIN3 {
                    min3 = _mm512_min_epi8(min3, _mm512_max_epi8(min2, m));
                }
                min2 = _mm512_min_epi8(min2, _mm512_max_epi8(min1, m));
                idx = _mm512_mask_blend_epi8(lt, idx, _mm512_set1_epi8(e as i8));
                min1 = _mm512_min_epi8(min1, m);
            }
            let (s1, s2) = magnitudes(min1, min2, min3, rule);
            for e in 0..offs.len() {
                let q0 = _mm512_loadu_si512(wp.add(e * stride + c) as *const _);
                let q1 = _mm512_loadu_si512(wp.add(e * stride + c + 32) as *const _);
                let q8 = _mm512_packs_epi16(q0, q1);
                let use2 = _mm512_cmpeq_epi8_mask(idx, _mm512_set1_epi8(e as i8));
                let m = _mm512_mask_blend_epi8(use2, s1, s2);
                let neg = _mm512_movepi8_mask(_mm512_xor_si512(sgn, q8));
                let rn = _mm512_mask_blend_epi8(neg, m, _mm512_sub_epi8(zero, m));
                _mm512_storeu_si512(rp.add(e * stride + c) as *mut _, rn);
                let (r0, r1) = widen(rn);
                let n0 = _mm512_add_epi16(q0, r0);
                let n1 = _mm512_add_epi16(q1, r1);
                let put = |at: *mut i16| {
                    _mm512_storeu_si512(at as *mut _, n0);
                    _mm512_storeu_si512(at.add(32) as *mut _, n1);
                };
                if write_back {
                    // As in the AVX2 kernel.
                    let b = ap.add(bases[e]);
                    let pos = offs[e] - bases[e] + c;
                    put(b.add(pos));
                    if pos + 64 <= lanes {
                        put(b.add(pos + lanes));
                    } else if pos >= lanes {
                        put(b.add(pos - lanes));
                    } else {
                        put(b.add(pos + lanes));
                        put(b.sub(lanes - pos));
                    }
                } else {
                    put(wp.add(e * stride + c));
                }
            }
            c += 64;
        }
    }
}
