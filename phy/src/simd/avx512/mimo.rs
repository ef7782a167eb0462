//! AVX-512F lanes for the MIMO kernels: sixteen REs (or PRB groups) per
//! vector, complex values split and merged in order with two-source
//! permutes.

use crate::mimo::lanes::{self, Lanes, C};
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

/// Detects REs `start..end` (length a multiple of 16) with AVX-512F.
///
/// # Safety
/// The CPU must support AVX-512F; the pointers as
/// [`lanes::detector::detect_block`] requires.
#[target_feature(enable = "avx512f,avx2,fma")]
pub(crate) unsafe fn detect(
    p: &lanes::detector::DetectParams,
    y: *const Complex32,
    h: *const Complex32,
    x: *mut Complex32,
    nv: *mut f32,
    start: usize,
    end: usize,
) {
    unsafe { lanes::kernels::detect_range::<V16>(p, y, h, x, nv, start, end) }
}

/// Detects the groups `start..end` (a multiple of 16) of `r_len` REs each
/// with AVX-512.
///
/// # Safety
/// AVX-512F present; pointers as [`lanes::grouped::detect_group_block`] requires.
#[target_feature(enable = "avx512f,avx2,fma")]
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn detect_group(
    p: &lanes::grouped::GroupParams,
    y: *const Complex32,
    h: *const Complex32,
    x: *mut Complex32,
    nv: *mut f32,
    start: usize,
    end: usize,
    r_len: usize,
) {
    unsafe { lanes::grouped::detect_group_range::<V16>(p, y, h, x, nv, start, end, r_len) }
}

/// Precoders for PRB groups `start..end` (a multiple of 16) with AVX-512.
///
/// # Safety
/// AVX-512F present; pointers as [`lanes::precode::precode_block`] requires.
#[target_feature(enable = "avx512f,avx2,fma")]
pub(crate) unsafe fn precode(
    p: &lanes::precode::PrecodeParams,
    h: *const Complex32,
    w: *mut Complex32,
    start: usize,
    end: usize,
) {
    unsafe { lanes::precode::precode_range::<V16>(p, h, w, start, end) }
}

/// Applies one group's precoder to REs `r0..r1` (a multiple of 16) with AVX-512.
///
/// # Safety
/// AVX-512F present; pointers as [`lanes::precode::apply_precoder`] requires.
#[target_feature(enable = "avx512f,avx2,fma")]
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn apply_precoder(
    n_ports: usize,
    n_layers: usize,
    n: usize,
    w: *const Complex32,
    stride_w: usize,
    group: usize,
    x: *const Complex32,
    out: *mut Complex32,
    r0: usize,
    r1: usize,
) {
    unsafe {
        lanes::precode::apply_precoder::<V16>(
            n_ports, n_layers, n, w, stride_w, group, x, out, r0, r1,
        )
    }
}

/// Adds one group's precoded layers to antenna planes over REs `r0..r1` (a
/// multiple of 8) with AVX-512, on interleaved samples as the AVX2 form
/// ([`crate::simd::avx2::mimo::apply_precoder_add`]).
///
/// # Safety
/// AVX-512F present; pointers as [`lanes::precode::apply_precoder_add`] requires.
#[target_feature(enable = "avx512f,avx2,fma")]
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn apply_precoder_add(
    n_ports: usize,
    n_layers: usize,
    w: *const Complex32,
    stride_w: usize,
    group: usize,
    x: *const *const Complex32,
    out: *const *mut Complex32,
    r0: usize,
    r1: usize,
) {
    unsafe {
        let sign = _mm512_setr_ps(
            -1.0, 1.0, -1.0, 1.0, -1.0, 1.0, -1.0, 1.0, -1.0, 1.0, -1.0, 1.0, -1.0, 1.0, -1.0, 1.0,
        );
        for port in 0..n_ports {
            let o = *out.add(port) as *mut f32;
            let mut re = r0;
            while re < r1 {
                let mut acc = _mm512_loadu_ps(o.add(2 * re));
                for l in 0..n_layers {
                    let c = *w.add((port * n_layers + l) * stride_w + group);
                    let xv = _mm512_loadu_ps((*x.add(l) as *const f32).add(2 * re));
                    let xs = _mm512_permute_ps::<0xB1>(xv);
                    acc = _mm512_fmadd_ps(_mm512_set1_ps(c.re), xv, acc);
                    acc = _mm512_fmadd_ps(_mm512_mul_ps(_mm512_set1_ps(c.im), sign), xs, acc);
                }
                _mm512_storeu_ps(o.add(2 * re), acc);
                re += 8;
            }
        }
    }
}
