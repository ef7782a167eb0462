//! AVX2 + FMA lanes for the MIMO kernels: eight REs (or PRB groups) per
//! vector. Interleaved complex input is split with in-lane shuffles only, so
//! the lanes hold REs in the order 0,1,4,5,2,3,6,7; every operation is
//! lane-wise, complex stores undo the order with unpacks and real stores
//! with one 64-bit permute.

use crate::simd::lanes_f32::{Lanes, C};
use core::arch::x86_64::*;
use num_complex::Complex32;

/// Eight f32 lanes.
#[derive(Clone, Copy)]
pub(crate) struct V8(__m256);

impl Lanes for V8 {
    const W: usize = 8;
    #[inline(always)]
    unsafe fn splat(x: f32) -> Self {
        unsafe { V8(_mm256_set1_ps(x)) }
    }
    #[inline(always)]
    unsafe fn add(self, o: Self) -> Self {
        unsafe { V8(_mm256_add_ps(self.0, o.0)) }
    }
    #[inline(always)]
    unsafe fn sub(self, o: Self) -> Self {
        unsafe { V8(_mm256_sub_ps(self.0, o.0)) }
    }
    #[inline(always)]
    unsafe fn mul(self, o: Self) -> Self {
        unsafe { V8(_mm256_mul_ps(self.0, o.0)) }
    }
    #[inline(always)]
    unsafe fn mul_add(self, a: Self, b: Self) -> Self {
        unsafe { V8(_mm256_fmadd_ps(self.0, a.0, b.0)) }
    }
    #[inline(always)]
    unsafe fn neg_mul_add(self, a: Self, b: Self) -> Self {
        unsafe { V8(_mm256_fnmadd_ps(self.0, a.0, b.0)) }
    }
    #[inline(always)]
    unsafe fn max(self, o: Self) -> Self {
        unsafe { V8(_mm256_max_ps(self.0, o.0)) }
    }
    #[inline(always)]
    unsafe fn min(self, o: Self) -> Self {
        unsafe { V8(_mm256_min_ps(self.0, o.0)) }
    }
    #[inline(always)]
    unsafe fn recip(self) -> Self {
        // 12-bit estimate, one Newton step: r (2 - a r).
        unsafe {
            let r = _mm256_rcp_ps(self.0);
            let e = _mm256_fnmadd_ps(self.0, r, _mm256_set1_ps(2.0));
            V8(_mm256_mul_ps(r, e))
        }
    }
    #[inline(always)]
    unsafe fn recip_est(self) -> Self {
        unsafe { V8(_mm256_rcp_ps(self.0)) }
    }
    #[inline(always)]
    unsafe fn sqrt(self) -> Self {
        unsafe { V8(_mm256_sqrt_ps(self.0)) }
    }
    #[inline(always)]
    unsafe fn select_gt(self, t: Self, a: Self, b: Self) -> Self {
        unsafe {
            let m = _mm256_cmp_ps::<_CMP_GT_OQ>(self.0, t.0);
            V8(_mm256_blendv_ps(b.0, a.0, m))
        }
    }
    #[inline(always)]
    unsafe fn load_c(p: *const Complex32) -> C<Self> {
        unsafe {
            let a = _mm256_loadu_ps(p as *const f32);
            let b = _mm256_loadu_ps((p as *const f32).add(8));
            C {
                re: V8(_mm256_shuffle_ps::<0x88>(a, b)),
                im: V8(_mm256_shuffle_ps::<0xDD>(a, b)),
            }
        }
    }
    #[inline(always)]
    unsafe fn store_c(p: *mut Complex32, c: C<Self>) {
        unsafe {
            _mm256_storeu_ps(p as *mut f32, _mm256_unpacklo_ps(c.re.0, c.im.0));
            _mm256_storeu_ps((p as *mut f32).add(8), _mm256_unpackhi_ps(c.re.0, c.im.0));
        }
    }
    #[inline(always)]
    unsafe fn store_f(p: *mut f32, v: Self) {
        unsafe {
            let o = _mm256_castpd_ps(_mm256_permute4x64_pd::<0xD8>(_mm256_castps_pd(v.0)));
            _mm256_storeu_ps(p, o);
        }
    }
    #[inline(always)]
    unsafe fn load_c_strided(p: *const Complex32, stride: usize) -> C<Self> {
        // Two values per 128-bit half (64-bit loads), four per 256-bit
        // vector in element order, then load_c's split.
        unsafe {
            let q = p as *const f64;
            let pair =
                |i: usize| _mm_loadh_pd(_mm_load_sd(q.add(i * stride)), q.add((i + 1) * stride));
            let a = _mm256_castpd_ps(_mm256_set_m128d(pair(2), pair(0)));
            let b = _mm256_castpd_ps(_mm256_set_m128d(pair(6), pair(4)));
            C {
                re: V8(_mm256_shuffle_ps::<0x88>(a, b)),
                im: V8(_mm256_shuffle_ps::<0xDD>(a, b)),
            }
        }
    }
    #[inline(always)]
    unsafe fn store_c_strided(p: *mut Complex32, stride: usize, c: C<Self>) {
        unsafe {
            let q = p as *mut f64;
            let a = _mm256_castps_pd(_mm256_unpacklo_ps(c.re.0, c.im.0));
            let b = _mm256_castps_pd(_mm256_unpackhi_ps(c.re.0, c.im.0));
            for (v, i0) in [(a, 0), (b, 4)] {
                let (lo, hi) = (_mm256_castpd256_pd128(v), _mm256_extractf128_pd::<1>(v));
                _mm_storel_pd(q.add(i0 * stride), lo);
                _mm_storeh_pd(q.add((i0 + 1) * stride), lo);
                _mm_storel_pd(q.add((i0 + 2) * stride), hi);
                _mm_storeh_pd(q.add((i0 + 3) * stride), hi);
            }
        }
    }
    #[inline(always)]
    unsafe fn prefetch(p: *const Complex32) {
        // Eight values are 64 bytes: one line, or two when not aligned.
        unsafe {
            _mm_prefetch::<_MM_HINT_T0>(p as *const i8);
            _mm_prefetch::<_MM_HINT_T0>(p.wrapping_add(7) as *const i8);
        }
    }
}
