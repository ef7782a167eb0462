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
