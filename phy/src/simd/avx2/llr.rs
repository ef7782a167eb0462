//! AVX2 LLR quantisation with descrambling and the EVM error sum (twins:
//! `simd::scalar::llr`).

use crate::simd::scalar::llr::{self as scalar, EvmParams};
#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

/// Eight LLRs with sign flips from the 8 mask bits `bits`, scaled, clamped
/// to ±127, NaN → 0, rounded half-even to i32.
#[cfg(target_arch = "x86_64")]
#[inline]
#[target_feature(enable = "avx2")]
fn quant8(x: __m256, bits: u32, scale: __m256) -> __m256i {
    let sel = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
    let b = _mm256_and_si256(_mm256_set1_epi32(bits as i32), sel);
    let flip = _mm256_slli_epi32::<31>(_mm256_cmpeq_epi32(b, sel));
    let v = _mm256_xor_ps(_mm256_mul_ps(x, scale), _mm256_castsi256_ps(flip));
    let v = _mm256_and_ps(v, _mm256_cmp_ps::<_CMP_ORD_Q>(v, v));
    let lim = _mm256_set1_ps(127.0);
    let v = _mm256_min_ps(
        _mm256_max_ps(v, _mm256_sub_ps(_mm256_setzero_ps(), lim)),
        lim,
    );
    // The default rounding mode (nearest, ties to even), as the scalar twin.
    _mm256_cvtps_epi32(v)
}

/// AVX2 [`scalar::quantize_descramble`].
///
/// # Safety
/// The CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
pub unsafe fn quantize_descramble(llrs: &[f32], scale: f32, mask: &[u32], out: &mut [i8]) -> bool {
    let n = llrs.len().min(out.len()).min(mask.len() * 32);
    let blocks = n / 32;
    let sc = _mm256_set1_ps(scale);
    let order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    let mut any = _mm256_setzero_si256();
    for w in 0..blocks {
        let m = mask[w];
        let src = &llrs[32 * w..32 * w + 32];
        // SAFETY: `src` holds 32 floats; unaligned loads.
        let (a, b, c, d) = unsafe {
            let p = src.as_ptr();
            (
                quant8(_mm256_loadu_ps(p), m, sc),
                quant8(_mm256_loadu_ps(p.add(8)), m >> 8, sc),
                quant8(_mm256_loadu_ps(p.add(16)), m >> 16, sc),
                quant8(_mm256_loadu_ps(p.add(24)), m >> 24, sc),
            )
        };
        // Values are within ±127, so the saturating packs are exact; they
        // interleave 128-bit lanes, which the permutation undoes.
        let ab = _mm256_packs_epi32(a, b);
        let cd = _mm256_packs_epi32(c, d);
        let v = _mm256_permutevar8x32_epi32(_mm256_packs_epi16(ab, cd), order);
        any = _mm256_or_si256(any, v);
        let dst = &mut out[32 * w..32 * w + 32];
        // SAFETY: `dst` holds 32 bytes.
        unsafe { _mm256_storeu_si256(dst.as_mut_ptr() as *mut __m256i, v) };
    }
    let tail_any = {
        let done = 32 * blocks;
        scalar_tail(&llrs[done..n], scale, &mask[blocks..], &mut out[done..n])
    };
    _mm256_testz_si256(any, any) == 0 || tail_any
}

#[cfg(target_arch = "x86_64")]
fn scalar_tail(llrs: &[f32], scale: f32, mask: &[u32], out: &mut [i8]) -> bool {
    if llrs.is_empty() {
        return false;
    }
    scalar::quantize_descramble(llrs, scale, mask, out)
}

/// Squared distance of 8 dimensions to their nearest levels.
#[cfg(target_arch = "x86_64")]
#[inline]
#[target_feature(enable = "avx2,fma")]
fn err8(x: __m256, p: EvmParams) -> __m256 {
    let s1 = _mm256_set1_ps((p.side - 1) as f32);
    let norm = _mm256_set1_ps(p.norm);
    let half = _mm256_set1_ps(0.5);
    let t = _mm256_fmadd_ps(_mm256_fmadd_ps(x, norm, s1), half, half);
    // Truncation of the clamped non-negative value, as the scalar twin.
    let t = _mm256_min_ps(_mm256_max_ps(t, _mm256_setzero_ps()), _mm256_set1_ps(2.0e9));
    let s = _mm256_cvtepi32_ps(_mm256_min_epi32(
        _mm256_cvttps_epi32(t),
        _mm256_set1_epi32(p.side - 1),
    ));
    let lvl = _mm256_div_ps(_mm256_sub_ps(_mm256_add_ps(s, s), s1), norm);
    let e = _mm256_sub_ps(x, lvl);
    _mm256_mul_ps(e, e)
}

/// AVX2 [`scalar::evm_error_sum`] (f32 partial sums per block of 1024 points,
/// accumulated in f64).
///
/// # Safety
/// The CPU must support AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
pub unsafe fn evm_error_sum(p: EvmParams, flat: &[f32]) -> f64 {
    let n = flat.len() / 2 * 2;
    let full = n / 8 * 8;
    let one = _mm256_set1_ps(1.0);
    let inf = _mm256_set1_ps(f32::INFINITY);
    let mut total = 0.0f64;
    for block in flat[..full].chunks(2048) {
        let mut acc = _mm256_setzero_ps();
        for c in block.chunks_exact(8) {
            // SAFETY: `c` holds 8 floats.
            let x = unsafe { _mm256_loadu_ps(c.as_ptr()) };
            let e = err8(x, p);
            // Per complex point: e_re + e_im, non-finite → 1 (on both lanes of
            // the pair: 0.5 + 0.5).
            let pair = _mm256_add_ps(e, _mm256_permute_ps::<0b10_11_00_01>(e));
            let bad = _mm256_cmp_ps::<_CMP_NLT_UQ>(pair, inf);
            let e = _mm256_blendv_ps(e, _mm256_mul_ps(one, _mm256_set1_ps(0.5)), bad);
            acc = _mm256_add_ps(acc, e);
        }
        let mut l = [0f32; 8];
        // SAFETY: 8 floats.
        unsafe { _mm256_storeu_ps(l.as_mut_ptr(), acc) };
        total += l.iter().map(|&v| v as f64).sum::<f64>();
    }
    total + scalar::evm_error_sum(p, &flat[full..n])
}

#[cfg(all(test, target_arch = "x86_64"))]
mod tests {
    use super::*;

    fn avx2() -> bool {
        let ok = std::arch::is_x86_feature_detected!("avx2")
            && std::arch::is_x86_feature_detected!("fma");
        if !ok {
            println!("skipped: this CPU has no AVX2/FMA, the AVX2 twin was not run");
        }
        ok
    }

    fn lcg(s: &mut u64) -> u32 {
        *s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (*s >> 32) as u32
    }

    #[test]
    fn quantize_descramble_matches_scalar() {
        if !avx2() {
            return;
        }
        let mut s = 11u64;
        for len in [0usize, 1, 31, 32, 33, 64, 100, 1000, 2048] {
            let mut x: Vec<f32> = (0..len)
                .map(|_| (lcg(&mut s) as i32 as f32) / (1u64 << 31) as f32 * 40.0)
                .collect();
            // Edges: ties, saturation, non-finite values, signed zeros.
            for (i, v) in [
                0.0625f32,
                0.1875,
                -0.0625,
                15.875,
                -15.875,
                1e9,
                -1e9,
                f32::INFINITY,
                f32::NEG_INFINITY,
                f32::NAN,
                -0.0,
            ]
            .into_iter()
            .enumerate()
            {
                if i < len {
                    x[i * len / 11] = v;
                }
            }
            let mask: Vec<u32> = (0..len.div_ceil(32)).map(|_| lcg(&mut s)).collect();
            let (mut a, mut b) = (vec![5i8; len], vec![-5i8; len]);
            let ra = scalar::quantize_descramble(&x, 8.0, &mask, &mut a);
            // SAFETY: AVX2 checked above.
            let rb = unsafe { quantize_descramble(&x, 8.0, &mask, &mut b) };
            assert_eq!(a, b, "len {len}");
            assert_eq!(ra, rb, "len {len}");
            assert_eq!(ra, a.iter().any(|&v| v != 0));
        }
        // All-zero input: nothing heard.
        let z = vec![0.0f32; 96];
        let mut o = vec![1i8; 96];
        // SAFETY: AVX2 checked above.
        assert!(!unsafe { quantize_descramble(&z, 8.0, &[u32::MAX; 3], &mut o) });
        assert!(o.iter().all(|&v| v == 0));
    }

    #[test]
    fn quantize_descramble_flips_signs_where_c_is_one() {
        let x = vec![1.0f32; 40];
        let mask = [0b1010u32, 1];
        let mut o = vec![0i8; 40];
        scalar::quantize_descramble(&x, 8.0, &mask, &mut o);
        assert_eq!(&o[..5], &[8, -8, 8, -8, 8]);
        assert_eq!((o[32], o[33]), (-8, 8));
        assert!(scalar::quantize_descramble(
            &[0.0625, 0.1875, -0.0625],
            8.0,
            &[0],
            &mut o[..3]
        ));
        // Ties to even: 0.5 → 0, 1.5 → 2, −0.5 → 0.
        assert_eq!(&o[..3], &[0, 2, 0]);
    }

    #[test]
    fn evm_error_sum_matches_scalar() {
        if !avx2() {
            return;
        }
        let mut s = 5u64;
        for qm in [2usize, 4, 6, 8, 10] {
            let p = EvmParams::new(qm).unwrap();
            for len in [0usize, 2, 6, 8, 10, 4096, 5002] {
                let mut x: Vec<f32> = (0..len)
                    .map(|_| (lcg(&mut s) as i32 as f32) / (1u64 << 31) as f32 * 1.3)
                    .collect();
                if len > 8 {
                    x[3] = f32::NAN;
                    x[8] = f32::INFINITY;
                    x[9] = 7.0;
                }
                let a = scalar::evm_error_sum(p, &x);
                // SAFETY: AVX2 checked above.
                let b = unsafe { evm_error_sum(p, &x) };
                assert!(
                    (a - b).abs() <= 1e-4 * a.abs().max(1e-3),
                    "qm {qm} len {len}: {a} vs {b}"
                );
            }
        }
        // Points on the constellation have no error.
        let p = EvmParams::new(4).unwrap();
        let n = (10.0f32).sqrt();
        let pts = [
            1.0 / n,
            3.0 / n,
            -1.0 / n,
            -3.0 / n,
            1.0 / n,
            1.0 / n,
            3.0 / n,
            -3.0 / n,
        ];
        assert!(scalar::evm_error_sum(p, &pts) < 1e-10);
    }
}
