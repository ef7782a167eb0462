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
