//! AVX2 LDPC kernels: 32 lanes per instruction. Twins of `simd::scalar::ldpc`.

use std::arch::x86_64::*;

/// `dst[i] = XOR over e of base[offs[e] + i]` (see the scalar twin).
///
/// # Safety
/// The CPU must support AVX2, and `offs[e] + dst.len() <= base.len()` for every e.
#[target_feature(enable = "avx2")]
pub unsafe fn xor_gather(dst: &mut [u8], base: &[u8], offs: &[usize]) {
    let n = dst.len();
    let bp = base.as_ptr();
    let dp = dst.as_mut_ptr();
    let mut i = 0;
    // SAFETY (all loads/stores below): i + width <= n and offs[e] + n <= base.len().
    unsafe {
        while i + 64 <= n {
            let mut a = _mm256_setzero_si256();
            let mut b = _mm256_setzero_si256();
            for &o in offs {
                a = _mm256_xor_si256(a, _mm256_loadu_si256(bp.add(o + i) as *const __m256i));
                b = _mm256_xor_si256(b, _mm256_loadu_si256(bp.add(o + i + 32) as *const __m256i));
            }
            _mm256_storeu_si256(dp.add(i) as *mut __m256i, a);
            _mm256_storeu_si256(dp.add(i + 32) as *mut __m256i, b);
            i += 64;
        }
        while i + 32 <= n {
            let mut a = _mm256_setzero_si256();
            for &o in offs {
                a = _mm256_xor_si256(a, _mm256_loadu_si256(bp.add(o + i) as *const __m256i));
            }
            _mm256_storeu_si256(dp.add(i) as *mut __m256i, a);
            i += 32;
        }
        while i + 8 <= n {
            let mut a = 0u64;
            for &o in offs {
                a ^= (bp.add(o + i) as *const u64).read_unaligned();
            }
            (dp.add(i) as *mut u64).write_unaligned(a);
            i += 8;
        }
        while i < n {
            let mut a = 0u8;
            for &o in offs {
                a ^= *bp.add(o + i);
            }
            *dp.add(i) = a;
            i += 1;
        }
    }
}

use crate::coding::ldpc::decoder::kernel::{LayerArgs, MinSum, INF, VMAX};

/// |R| = rule(m) on 32 magnitudes (0..=127), as `MinSum::apply`.
#[inline]
#[target_feature(enable = "avx2")]
fn correct(m: __m256i, rule: MinSum) -> __m256i {
    let v = match rule {
        MinSum::Normalized { alpha_16 } => {
            let z = _mm256_setzero_si256();
            let a = _mm256_set1_epi16(alpha_16 as i16);
            let lo = _mm256_srli_epi16::<4>(_mm256_mullo_epi16(_mm256_unpacklo_epi8(m, z), a));
            let hi = _mm256_srli_epi16::<4>(_mm256_mullo_epi16(_mm256_unpackhi_epi8(m, z), a));
            _mm256_packus_epi16(lo, hi)
        }
        MinSum::Offset { beta } => _mm256_subs_epu8(m, _mm256_set1_epi8(beta as i8)),
    };
    _mm256_min_epu8(v, _mm256_set1_epi8(VMAX))
}

/// One layer of layered min-sum, 32 lanes at a time (see `LayerArgs`).
///
/// # Safety
/// The CPU must support AVX2; for every edge e, `offs[e] + lanes` rounded up to 32
/// must be within `app`, `r` and `work` must hold `offs.len() * stride` values, and
/// `stride` must be at least `lanes` rounded up to 32; at most 256 edges.
#[target_feature(enable = "avx2")]
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
    let inf = _mm256_set1_epi8(INF);
    let vmax = _mm256_set1_epi8(VMAX);
    let vmin = _mm256_set1_epi8(-VMAX);
    let mut c = 0;
    // SAFETY (all loads/stores): c + 32 <= round_up(lanes, 32) <= stride, and the
    // caller's bounds on offs, r and work.
    unsafe {
        while c < lanes {
            let mut min1 = inf;
            let mut min2 = inf;
            let mut idx = _mm256_setzero_si256();
            let mut sgn = _mm256_setzero_si256();
            for (e, &o) in offs.iter().enumerate() {
                let v = _mm256_loadu_si256(ap.add(o + c) as *const __m256i);
                let rr = _mm256_loadu_si256(rp.add(e * stride + c) as *const __m256i);
                let t = _mm256_min_epi8(_mm256_max_epi8(_mm256_subs_epi8(v, rr), vmin), vmax);
                let certain = _mm256_cmpeq_epi8(_mm256_abs_epi8(v), inf);
                let q = _mm256_blendv_epi8(t, v, certain);
                _mm256_storeu_si256(wp.add(e * stride + c) as *mut __m256i, q);
                let m = _mm256_abs_epi8(q);
                sgn = _mm256_xor_si256(sgn, q);
                let lt = _mm256_cmpgt_epi8(min1, m);
                min2 = _mm256_min_epi8(min2, _mm256_max_epi8(min1, m));
                idx = _mm256_blendv_epi8(idx, _mm256_set1_epi8(e as i8), lt);
                min1 = _mm256_min_epi8(min1, m);
            }
            let s1 = correct(min1, rule);
            let s2 = correct(min2, rule);
            for e in 0..offs.len() {
                let q = _mm256_loadu_si256(wp.add(e * stride + c) as *const __m256i);
                let use2 = _mm256_cmpeq_epi8(idx, _mm256_set1_epi8(e as i8));
                let m = _mm256_blendv_epi8(s1, s2, use2);
                let neg = _mm256_xor_si256(sgn, q);
                let rn = _mm256_blendv_epi8(m, _mm256_sub_epi8(_mm256_setzero_si256(), m), neg);
                _mm256_storeu_si256(rp.add(e * stride + c) as *mut __m256i, rn);
                let t = _mm256_min_epi8(_mm256_max_epi8(_mm256_adds_epi8(q, rn), vmin), vmax);
                let certain = _mm256_cmpeq_epi8(_mm256_abs_epi8(q), inf);
                _mm256_storeu_si256(
                    wp.add(e * stride + c) as *mut __m256i,
                    _mm256_blendv_epi8(t, q, certain),
                );
            }
            c += 32;
        }
    }
}

/// True when every check of the row (lanes < `lanes`) sees an even number of
/// negative values among `app[offs[e] + l]` (see the scalar twin).
///
/// # Safety
/// The CPU must support AVX2 and `offs[e] + lanes` rounded up to 32 must be within `app`.
#[target_feature(enable = "avx2")]
pub unsafe fn parity_ok(app: &[i8], offs: &[usize], lanes: usize) -> bool {
    let ap = app.as_ptr();
    let mut c = 0;
    // SAFETY: bounds as documented.
    unsafe {
        while c < lanes {
            let mut acc = _mm256_setzero_si256();
            for &o in offs {
                acc = _mm256_xor_si256(acc, _mm256_loadu_si256(ap.add(o + c) as *const __m256i));
            }
            let mut bad = _mm256_movemask_epi8(acc) as u32;
            if lanes - c < 32 {
                bad &= (1u32 << (lanes - c)) - 1;
            }
            if bad != 0 {
                return false;
            }
            c += 32;
        }
    }
    true
}
