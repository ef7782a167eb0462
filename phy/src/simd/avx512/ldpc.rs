//! AVX-512 (F + BW) LDPC kernels, 64 lanes per instruction: the encoder's XOR
//! gather and the lane type the shared layer update (`coding::ldpc::layer`)
//! runs on. Twins of `simd::scalar::ldpc`; compiled everywhere on x86-64, run
//! only when detected.

use crate::simd::lanes8::I8Lanes;
use std::arch::x86_64::*;

/// `dst[i] = XOR over e of base[offs[e] + i]` (see the scalar twin).
///
/// # Safety
/// The CPU must support AVX-512 F and BW, and `offs[e] + dst.len() <= base.len()`.
#[target_feature(enable = "avx512f,avx512bw")]
pub(crate) unsafe fn xor_gather(dst: &mut [u8], base: &[u8], offs: &[usize]) {
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

/// 64 i8 lanes; the i16 halves are 32 lanes each.
#[derive(Clone, Copy)]
pub(crate) struct V64(__m512i);

impl I8Lanes for V64 {
    const W: usize = 64;
    type Wide = __m512i;
    type Mask = __mmask64;

    #[inline(always)]
    unsafe fn splat(x: i8) -> Self {
        unsafe { V64(_mm512_set1_epi8(x)) }
    }
    #[inline(always)]
    unsafe fn load(p: *const i8) -> Self {
        unsafe { V64(_mm512_loadu_si512(p as *const _)) }
    }
    #[inline(always)]
    unsafe fn store(p: *mut i8, v: Self) {
        unsafe { _mm512_storeu_si512(p as *mut _, v.0) }
    }
    #[inline(always)]
    unsafe fn load_wide(p: *const i16) -> __m512i {
        unsafe { _mm512_loadu_si512(p as *const _) }
    }
    #[inline(always)]
    unsafe fn store_wide(p: *mut i16, v: __m512i) {
        unsafe { _mm512_storeu_si512(p as *mut _, v) }
    }
    #[inline(always)]
    unsafe fn add_wide(a: __m512i, b: __m512i) -> __m512i {
        unsafe { _mm512_add_epi16(a, b) }
    }
    #[inline(always)]
    unsafe fn sub_wide(a: __m512i, b: __m512i) -> __m512i {
        unsafe { _mm512_sub_epi16(a, b) }
    }
    #[inline(always)]
    unsafe fn pack(lo: __m512i, hi: __m512i) -> Self {
        unsafe { V64(_mm512_packs_epi16(lo, hi)) }
    }
    #[inline(always)]
    unsafe fn widen(self) -> (__m512i, __m512i) {
        // As the AVX2 lanes: the in-lane unpacks undo the in-lane pack.
        unsafe {
            (
                _mm512_srai_epi16::<8>(_mm512_unpacklo_epi8(self.0, self.0)),
                _mm512_srai_epi16::<8>(_mm512_unpackhi_epi8(self.0, self.0)),
            )
        }
    }
    #[inline(always)]
    unsafe fn min_i8(self, o: Self) -> Self {
        unsafe { V64(_mm512_min_epi8(self.0, o.0)) }
    }
    #[inline(always)]
    unsafe fn max_i8(self, o: Self) -> Self {
        unsafe { V64(_mm512_max_epi8(self.0, o.0)) }
    }
    #[inline(always)]
    unsafe fn abs_i8(self) -> Self {
        unsafe { V64(_mm512_abs_epi8(self.0)) }
    }
    #[inline(always)]
    unsafe fn sub_i8(self, o: Self) -> Self {
        unsafe { V64(_mm512_sub_epi8(self.0, o.0)) }
    }
    #[inline(always)]
    unsafe fn xor(self, o: Self) -> Self {
        unsafe { V64(_mm512_xor_si512(self.0, o.0)) }
    }
    #[inline(always)]
    unsafe fn gt(self, o: Self) -> __mmask64 {
        unsafe { _mm512_cmpgt_epi8_mask(self.0, o.0) }
    }
    #[inline(always)]
    unsafe fn eq(self, o: Self) -> __mmask64 {
        unsafe { _mm512_cmpeq_epi8_mask(self.0, o.0) }
    }
    #[inline(always)]
    unsafe fn negative(self) -> __mmask64 {
        unsafe { _mm512_movepi8_mask(self.0) }
    }
    #[inline(always)]
    unsafe fn blend(m: __mmask64, a: Self, b: Self) -> Self {
        unsafe { V64(_mm512_mask_blend_epi8(m, a.0, b.0)) }
    }
    #[inline(always)]
    unsafe fn min_u8(self, o: Self) -> Self {
        unsafe { V64(_mm512_min_epu8(self.0, o.0)) }
    }
    #[inline(always)]
    unsafe fn max_u8(self, o: Self) -> Self {
        unsafe { V64(_mm512_max_epu8(self.0, o.0)) }
    }
    #[inline(always)]
    unsafe fn adds_u8(self, o: Self) -> Self {
        unsafe { V64(_mm512_adds_epu8(self.0, o.0)) }
    }
    #[inline(always)]
    unsafe fn subs_u8(self, o: Self) -> Self {
        unsafe { V64(_mm512_subs_epu8(self.0, o.0)) }
    }
    #[inline(always)]
    unsafe fn half_u8(self) -> Self {
        unsafe {
            V64(_mm512_and_si512(
                _mm512_srli_epi16::<1>(self.0),
                _mm512_set1_epi8(0x7f),
            ))
        }
    }
    #[inline(always)]
    unsafe fn mul_q4_u8(self, alpha_16: u8) -> Self {
        unsafe {
            let z = _mm512_setzero_si512();
            let a = _mm512_set1_epi16(alpha_16 as i16);
            let lo = _mm512_srli_epi16::<4>(_mm512_mullo_epi16(_mm512_unpacklo_epi8(self.0, z), a));
            let hi = _mm512_srli_epi16::<4>(_mm512_mullo_epi16(_mm512_unpackhi_epi8(self.0, z), a));
            V64(_mm512_packus_epi16(lo, hi))
        }
    }
    #[inline(always)]
    unsafe fn lookup16(table: &[u8; 16], idx: Self) -> Self {
        // `pshufb` within each 128-bit quarter, the table in all four.
        unsafe {
            let t = _mm512_broadcast_i32x4(_mm_loadu_si128(table.as_ptr() as *const __m128i));
            V64(_mm512_shuffle_epi8(t, idx.0))
        }
    }
}
