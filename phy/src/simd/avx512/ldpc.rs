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

use crate::coding::ldpc::decoder::kernel::{LayerArgs, MinSum, INF, VMAX};

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
        MinSum::Offset { beta } => _mm512_subs_epu8(m, _mm512_set1_epi8(beta as i8)),
    };
    _mm512_min_epu8(v, _mm512_set1_epi8(VMAX))
}

/// One layer of layered min-sum, 64 lanes at a time (see `LayerArgs`).
///
/// # Safety
/// The CPU must support AVX-512 F and BW; for every edge e, `offs[e] + lanes`
/// rounded up to 64 must be within `app`, `r` and `work` must hold
/// `offs.len() * stride` values, and `stride` must be at least `lanes` rounded up
/// to 64; at most 256 edges.
#[target_feature(enable = "avx512f,avx512bw")]
pub unsafe fn layer_update(a: LayerArgs<'_>) {
    let LayerArgs {
        app,
        offs,
        r,
        work,
        stride,
        lanes,
        rule,
    } = a;
    let ap = app.as_ptr();
    let rp = r.as_mut_ptr();
    let wp = work.as_mut_ptr();
    let inf = _mm512_set1_epi8(INF);
    let vmax = _mm512_set1_epi8(VMAX);
    let vmin = _mm512_set1_epi8(-VMAX);
    let zero = _mm512_setzero_si512();
    let mut c = 0;
    // SAFETY (all loads/stores): c + 64 <= round_up(lanes, 64) <= stride, and the
    // caller's bounds on offs, r and work.
    unsafe {
        while c < lanes {
            let mut min1 = inf;
            let mut min2 = inf;
            let mut idx = zero;
            let mut sgn = zero;
            for (e, &o) in offs.iter().enumerate() {
                let v = _mm512_loadu_si512(ap.add(o + c) as *const _);
                let rr = _mm512_loadu_si512(rp.add(e * stride + c) as *const _);
                let t = _mm512_min_epi8(_mm512_max_epi8(_mm512_subs_epi8(v, rr), vmin), vmax);
                let certain = _mm512_cmpeq_epi8_mask(_mm512_abs_epi8(v), inf);
                let q = _mm512_mask_blend_epi8(certain, t, v);
                _mm512_storeu_si512(wp.add(e * stride + c) as *mut _, q);
                let m = _mm512_abs_epi8(q);
                sgn = _mm512_xor_si512(sgn, q);
                let lt = _mm512_cmpgt_epi8_mask(min1, m);
                min2 = _mm512_min_epi8(min2, _mm512_max_epi8(min1, m));
                idx = _mm512_mask_blend_epi8(lt, idx, _mm512_set1_epi8(e as i8));
                min1 = _mm512_min_epi8(min1, m);
            }
            let s1 = correct(min1, rule);
            let s2 = correct(min2, rule);
            for e in 0..offs.len() {
                let q = _mm512_loadu_si512(wp.add(e * stride + c) as *const _);
                let use2 = _mm512_cmpeq_epi8_mask(idx, _mm512_set1_epi8(e as i8));
                let m = _mm512_mask_blend_epi8(use2, s1, s2);
                let neg = _mm512_movepi8_mask(_mm512_xor_si512(sgn, q));
                let rn = _mm512_mask_blend_epi8(neg, m, _mm512_sub_epi8(zero, m));
                _mm512_storeu_si512(rp.add(e * stride + c) as *mut _, rn);
                let t = _mm512_min_epi8(_mm512_max_epi8(_mm512_adds_epi8(q, rn), vmin), vmax);
                let certain = _mm512_cmpeq_epi8_mask(_mm512_abs_epi8(q), inf);
                _mm512_storeu_si512(
                    wp.add(e * stride + c) as *mut _,
                    _mm512_mask_blend_epi8(certain, t, q),
                );
            }
            c += 64;
        }
    }
}
