//! AVX2 LDPC kernels: 32 lanes per instruction. Twins of `simd::scalar::ldpc`.

use std::arch::x86_64::*;

/// `dst[i] = XOR over e of base[offs[e] + i]` (see the scalar twin).
///
/// # Safety
/// The CPU must support AVX2, and `offs[e] + dst.len() <= base.len()` for every e.
#[target_feature(enable = "avx2")]
pub unsafe fn xor_gather(dst: &mut [u8], base: &[u8], offs: &[usize]) {
    // Whole rows of up to 12 vectors (Z <= 384, Z a multiple of 32) stay in
    // registers over all edges: one pass over `offs` instead of one per 64 bytes.
    // SAFETY (all arms): the caller's contract; N * 32 == dst.len().
    unsafe {
        match dst.len() {
            384 => return xor_gather_n::<12>(dst, base, offs),
            352 => return xor_gather_n::<11>(dst, base, offs),
            320 => return xor_gather_n::<10>(dst, base, offs),
            288 => return xor_gather_n::<9>(dst, base, offs),
            256 => return xor_gather_n::<8>(dst, base, offs),
            224 => return xor_gather_n::<7>(dst, base, offs),
            192 => return xor_gather_n::<6>(dst, base, offs),
            160 => return xor_gather_n::<5>(dst, base, offs),
            128 => return xor_gather_n::<4>(dst, base, offs),
            _ => {}
        }
    }
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

/// `xor_gather` for `dst.len() == 32 * N`, the N accumulators in registers.
///
/// # Safety
/// As `xor_gather`, and `dst.len() == 32 * N`.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn xor_gather_n<const N: usize>(dst: &mut [u8], base: &[u8], offs: &[usize]) {
    debug_assert_eq!(dst.len(), 32 * N);
    let bp = base.as_ptr();
    let mut acc = [_mm256_setzero_si256(); N];
    // SAFETY: offs[e] + 32 N <= base.len() and 32 N == dst.len() (caller).
    unsafe {
        for &o in offs {
            let p = bp.add(o);
            for (v, a) in acc.iter_mut().enumerate() {
                *a = _mm256_xor_si256(*a, _mm256_loadu_si256(p.add(32 * v) as *const __m256i));
            }
        }
        let dp = dst.as_mut_ptr();
        for (v, a) in acc.iter().enumerate() {
            _mm256_storeu_si256(dp.add(32 * v) as *mut __m256i, *a);
        }
    }
}

use crate::coding::ldpc::decoder::kernel::{LayerArgs, MinSum, BOXPLUS_TABLE, QMAX};

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
        MinSum::Offset { beta } | MinSum::Lambda3 { beta } => {
            _mm256_subs_epu8(m, _mm256_set1_epi8(beta as i8))
        }
    };
    _mm256_min_epu8(v, _mm256_set1_epi8(QMAX))
}

/// `kernel::boxplus` on 32 magnitude pairs: two table look-ups with `pshufb`.
#[inline]
#[target_feature(enable = "avx2")]
fn boxplus(a: __m256i, b: __m256i) -> __m256i {
    // SAFETY: BOXPLUS_TABLE holds 16 bytes.
    let t = _mm256_broadcastsi128_si256(unsafe {
        _mm_loadu_si128(BOXPLUS_TABLE.as_ptr() as *const __m128i)
    });
    let half = |x: __m256i| {
        _mm256_min_epu8(
            _mm256_and_si256(_mm256_srli_epi16::<1>(x), _mm256_set1_epi8(0x7f)),
            _mm256_set1_epi8(15),
        )
    };
    let lo = _mm256_min_epu8(a, b);
    let diff = _mm256_sub_epi8(_mm256_max_epu8(a, b), lo);
    let sum = _mm256_adds_epu8(a, b);
    _mm256_subs_epu8(
        _mm256_adds_epu8(lo, _mm256_shuffle_epi8(t, half(sum))),
        _mm256_shuffle_epi8(t, half(diff)),
    )
}

/// `rule.magnitudes(min1, min2, min3)` on 32 lanes: (s1, s2).
#[inline]
#[target_feature(enable = "avx2")]
fn magnitudes(m1: __m256i, m2: __m256i, m3: __m256i, rule: MinSum) -> (__m256i, __m256i) {
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
#[target_feature(enable = "avx2")]
fn widen(x: __m256i) -> (__m256i, __m256i) {
    (
        _mm256_srai_epi16::<8>(_mm256_unpacklo_epi8(x, x)),
        _mm256_srai_epi16::<8>(_mm256_unpackhi_epi8(x, x)),
    )
}

/// One layer of layered min-sum, 32 lanes at a time (see `LayerArgs`). The 8-bit
/// state and the messages in `r` are kept in `packs_epi16` lane order, which only
/// this kernel reads back.
///
/// # Safety
/// The CPU must support AVX2; for every edge e, `offs[e] + lanes` rounded up to 32
/// must be within `app`, `r` and `work` must hold `offs.len() * stride` values, and
/// `stride` must be at least `lanes` rounded up to 32; at most 256 edges.
#[target_feature(enable = "avx2")]
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
#[target_feature(enable = "avx2")]
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
    let qmax = _mm256_set1_epi8(QMAX);
    let qmin = _mm256_set1_epi8(-QMAX);
    let mut c = 0;
    // SAFETY (all loads/stores): c + 32 <= round_up(lanes, 32) <= stride, and the
    // caller's bounds on offs, r and work.
    unsafe {
        while c < lanes {
            let mut min1 = qmax;
            let mut min2 = qmax;
            let mut min3 = qmax;
            let mut idx = _mm256_setzero_si256();
            let mut sgn = _mm256_setzero_si256();
            for (e, &o) in offs.iter().enumerate() {
                let a0 = _mm256_loadu_si256(ap.add(o + c) as *const __m256i);
                let a1 = _mm256_loadu_si256(ap.add(o + c + 16) as *const __m256i);
                let rr = _mm256_loadu_si256(rp.add(e * stride + c) as *const __m256i);
                let (r0, r1) = widen(rr);
                let q0 = _mm256_sub_epi16(a0, r0);
                let q1 = _mm256_sub_epi16(a1, r1);
                _mm256_storeu_si256(wp.add(e * stride + c) as *mut __m256i, q0);
                _mm256_storeu_si256(wp.add(e * stride + c + 16) as *mut __m256i, q1);
                let q8 = _mm256_min_epi8(_mm256_max_epi8(_mm256_packs_epi16(q0, q1), qmin), qmax);
                let m = _mm256_abs_epi8(q8);
                sgn = _mm256_xor_si256(sgn, q8);
                let lt = _mm256_cmpgt_epi8(min1, m);
                if MIN3 {
                    min3 = _mm256_min_epi8(min3, _mm256_max_epi8(min2, m));
                }
                min2 = _mm256_min_epi8(min2, _mm256_max_epi8(min1, m));
                idx = _mm256_blendv_epi8(idx, _mm256_set1_epi8(e as i8), lt);
                min1 = _mm256_min_epi8(min1, m);
            }
            let (s1, s2) = magnitudes(min1, min2, min3, rule);
            for e in 0..offs.len() {
                let q0 = _mm256_loadu_si256(wp.add(e * stride + c) as *const __m256i);
                let q1 = _mm256_loadu_si256(wp.add(e * stride + c + 16) as *const __m256i);
                let q8 = _mm256_packs_epi16(q0, q1);
                let use2 = _mm256_cmpeq_epi8(idx, _mm256_set1_epi8(e as i8));
                let m = _mm256_blendv_epi8(s1, s2, use2);
                let neg = _mm256_xor_si256(sgn, q8);
                let rn = _mm256_blendv_epi8(m, _mm256_sub_epi8(_mm256_setzero_si256(), m), neg);
                _mm256_storeu_si256(rp.add(e * stride + c) as *mut __m256i, rn);
                let (r0, r1) = widen(rn);
                let n0 = _mm256_add_epi16(q0, r0);
                let n1 = _mm256_add_epi16(q1, r1);
                let put = |at: *mut i16| {
                    _mm256_storeu_si256(at as *mut __m256i, n0);
                    _mm256_storeu_si256(at.add(16) as *mut __m256i, n1);
                };
                if write_back {
                    // Lanes c.. of the shifted view sit at pos.. of the first copy
                    // or its mirror; write both copies (see `LayerArgs`).
                    let b = ap.add(bases[e]);
                    let pos = offs[e] - bases[e] + c;
                    put(b.add(pos));
                    if pos + 32 <= lanes {
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
            c += 32;
        }
    }
}

/// True when every check of the row (lanes < `lanes`) sees an even number of
/// negative values among `app[offs[e] + l]` (see the scalar twin).
///
/// # Safety
/// The CPU must support AVX2 and `offs[e] + lanes` rounded up to 16 must be within `app`.
#[target_feature(enable = "avx2")]
pub unsafe fn parity_ok(app: &[i16], offs: &[usize], lanes: usize) -> bool {
    let ap = app.as_ptr();
    let mut c = 0;
    // SAFETY: bounds as documented.
    unsafe {
        while c < lanes {
            let mut acc = _mm256_setzero_si256();
            for &o in offs {
                acc = _mm256_xor_si256(acc, _mm256_loadu_si256(ap.add(o + c) as *const __m256i));
            }
            // The sign of lane l is bit 2l + 1 of the byte mask.
            let mut bad = _mm256_movemask_epi8(acc) as u32 & 0xAAAA_AAAA;
            if lanes - c < 16 {
                bad &= (1u32 << (2 * (lanes - c))) - 1;
            }
            if bad != 0 {
                return false;
            }
            c += 16;
        }
    }
    true
}
