//! AVX-512F lanes for the MIMO kernels: sixteen REs (or PRB groups) per
//! vector, complex values split and merged in order with two-source
//! permutes.

use crate::simd::lanes_f32::{Lanes, C};
use core::arch::x86_64::*;
use num_complex::Complex32;

/// Sixteen f32 lanes.
#[derive(Clone, Copy)]
pub(crate) struct V16(__m512);

#[inline(always)]
unsafe fn idx(v: [i32; 16]) -> __m512i {
    unsafe { _mm512_loadu_si512(v.as_ptr() as *const _) }
}

const EVEN: [i32; 16] = [0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30];
const ODD: [i32; 16] = [1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31];
const LO: [i32; 16] = [0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23];
const HI: [i32; 16] = [8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31];

impl Lanes for V16 {
    const W: usize = 16;
    #[inline(always)]
    unsafe fn splat(x: f32) -> Self {
        unsafe { V16(_mm512_set1_ps(x)) }
    }
    #[inline(always)]
    unsafe fn add(self, o: Self) -> Self {
        unsafe { V16(_mm512_add_ps(self.0, o.0)) }
    }
    #[inline(always)]
    unsafe fn sub(self, o: Self) -> Self {
        unsafe { V16(_mm512_sub_ps(self.0, o.0)) }
    }
    #[inline(always)]
    unsafe fn mul(self, o: Self) -> Self {
        unsafe { V16(_mm512_mul_ps(self.0, o.0)) }
    }
    #[inline(always)]
    unsafe fn mul_add(self, a: Self, b: Self) -> Self {
        unsafe { V16(_mm512_fmadd_ps(self.0, a.0, b.0)) }
    }
    #[inline(always)]
    unsafe fn neg_mul_add(self, a: Self, b: Self) -> Self {
        unsafe { V16(_mm512_fnmadd_ps(self.0, a.0, b.0)) }
    }
    #[inline(always)]
    unsafe fn max(self, o: Self) -> Self {
        unsafe { V16(_mm512_max_ps(self.0, o.0)) }
    }
    #[inline(always)]
    unsafe fn min(self, o: Self) -> Self {
        unsafe { V16(_mm512_min_ps(self.0, o.0)) }
    }
    #[inline(always)]
    unsafe fn recip(self) -> Self {
        // 14-bit estimate, one Newton step.
        unsafe {
            let r = _mm512_rcp14_ps(self.0);
            let e = _mm512_fnmadd_ps(self.0, r, _mm512_set1_ps(2.0));
            V16(_mm512_mul_ps(r, e))
        }
    }
    #[inline(always)]
    unsafe fn recip_est(self) -> Self {
        unsafe { V16(_mm512_rcp14_ps(self.0)) }
    }
    #[inline(always)]
    unsafe fn sqrt(self) -> Self {
        unsafe { V16(_mm512_sqrt_ps(self.0)) }
    }
    #[inline(always)]
    unsafe fn select_gt(self, t: Self, a: Self, b: Self) -> Self {
        unsafe {
            let m = _mm512_cmp_ps_mask::<_CMP_GT_OQ>(self.0, t.0);
            V16(_mm512_mask_blend_ps(m, b.0, a.0))
        }
    }
    #[inline(always)]
    unsafe fn load_c(p: *const Complex32) -> C<Self> {
        unsafe {
            let a = _mm512_loadu_ps(p as *const f32);
            let b = _mm512_loadu_ps((p as *const f32).add(16));
            C {
                re: V16(_mm512_permutex2var_ps(a, idx(EVEN), b)),
                im: V16(_mm512_permutex2var_ps(a, idx(ODD), b)),
            }
        }
    }
    #[inline(always)]
    unsafe fn store_c(p: *mut Complex32, c: C<Self>) {
        unsafe {
            let lo = _mm512_permutex2var_ps(c.re.0, idx(LO), c.im.0);
            let hi = _mm512_permutex2var_ps(c.re.0, idx(HI), c.im.0);
            _mm512_storeu_ps(p as *mut f32, lo);
            _mm512_storeu_ps((p as *mut f32).add(16), hi);
        }
    }
    #[inline(always)]
    unsafe fn store_f(p: *mut f32, v: Self) {
        unsafe { _mm512_storeu_ps(p, v.0) }
    }
    #[inline(always)]
    unsafe fn prefetch(p: *const Complex32) {
        // Sixteen values are 128 bytes: two lines, or three when not aligned.
        unsafe {
            _mm_prefetch::<_MM_HINT_T0>(p as *const i8);
            _mm_prefetch::<_MM_HINT_T0>(p.wrapping_add(8) as *const i8);
            _mm_prefetch::<_MM_HINT_T0>(p.wrapping_add(15) as *const i8);
        }
    }
}
