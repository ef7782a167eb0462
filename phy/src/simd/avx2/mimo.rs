//! AVX2 + FMA lanes for the MIMO kernels: eight REs (or PRB groups) per
//! vector. Interleaved complex input is split with in-lane shuffles only, so
//! the lanes hold REs in the order 0,1,4,5,2,3,6,7; every operation is
//! lane-wise, complex stores undo the order with unpacks and real stores
//! with one 64-bit permute.

use crate::mimo::lanes::{self, Lanes, C};
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

/// Detects REs `start..end` (length a multiple of 8) with AVX2.
///
/// # Safety
/// The CPU must support AVX2 and FMA; the pointers as
/// [`lanes::detector::detect_block`] requires.
#[target_feature(enable = "avx2,fma")]
pub(crate) unsafe fn detect(
    p: &lanes::detector::DetectParams,
    y: *const Complex32,
    h: *const Complex32,
    x: *mut Complex32,
    nv: *mut f32,
    start: usize,
    end: usize,
) {
    match (p.n_layers, p.n_rx, p.zf) {
        // SAFETY: same contract; the shape matches the entry point.
        (2, 2, true) => unsafe { detect_zf2::<2>(p, y, h, x, nv, start, end) },
        (2, 4, true) => unsafe { detect_zf2::<4>(p, y, h, x, nv, start, end) },
        (1, 4, false) => unsafe { detect_mmse1::<4>(p, y, h, x, nv, start, end) },
        (4, 4, false) => unsafe { detect_mmse4::<4>(p, y, h, x, nv, start, end) },
        (4, 8, false) => unsafe { detect_mmse4::<8>(p, y, h, x, nv, start, end) },
        _ => unsafe { lanes::kernels::detect_range::<V8>(p, y, h, x, nv, start, end) },
    }
}

/// The 2-layer ZF loops compiled apart from the other shapes (see
/// [`lanes::kernels::detect_range_zf2`]).
///
/// # Safety
/// As [`detect`]; `p` has 2 layers, ZF, and `N` antennas.
#[target_feature(enable = "avx2,fma")]
#[inline(never)]
unsafe fn detect_zf2<const N: usize>(
    p: &lanes::detector::DetectParams,
    y: *const Complex32,
    h: *const Complex32,
    x: *mut Complex32,
    nv: *mut f32,
    start: usize,
    end: usize,
) {
    unsafe { lanes::kernels::detect_range_zf2::<V8, N>(p, y, h, x, nv, start, end) }
}

/// Detects the groups `start..end` (a multiple of 8) of `r_len` REs each
/// with AVX2.
///
/// # Safety
/// AVX2 and FMA present; pointers as [`lanes::grouped::detect_group_block`] requires.
#[target_feature(enable = "avx2,fma")]
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
    unsafe { lanes::grouped::detect_group_range::<V8>(p, y, h, x, nv, start, end, r_len) }
}

/// Precoders for PRB groups `start..end` (a multiple of 8) with AVX2.
///
/// # Safety
/// AVX2 and FMA present; pointers as [`lanes::precode::precode_block`] requires.
#[target_feature(enable = "avx2,fma")]
pub(crate) unsafe fn precode(
    p: &lanes::precode::PrecodeParams,
    h: *const Complex32,
    w: *mut Complex32,
    start: usize,
    end: usize,
) {
    unsafe { lanes::precode::precode_range::<V8>(p, h, w, start, end) }
}

/// Applies one group's precoder to REs `r0..r1` (a multiple of 8) with AVX2.
///
/// # Safety
/// AVX2 and FMA present; pointers as [`lanes::precode::apply_precoder`] requires.
#[target_feature(enable = "avx2,fma")]
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
        lanes::precode::apply_precoder::<V8>(
            n_ports, n_layers, n, w, stride_w, group, x, out, r0, r1,
        )
    }
}

/// Adds one group's precoded layers to antenna planes over REs `r0..r1` (a
/// multiple of 4) with AVX2, on interleaved samples: per layer
/// `out += w.re · x + [-w.im, w.im] · swap(x)`, one in-lane swap per
/// 4 REs instead of the planar kernels' de-/re-interleaving of `x` and `out`.
/// The same products and sums per RE as the scalar twin
/// ([`lanes::precode::apply_precoder_add`]), fused.
///
/// # Safety
/// AVX2 and FMA present; pointers as [`lanes::precode::apply_precoder_add`] requires.
#[target_feature(enable = "avx2,fma")]
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
        let sign = _mm256_setr_ps(-1.0, 1.0, -1.0, 1.0, -1.0, 1.0, -1.0, 1.0);
        for port in 0..n_ports {
            let o = *out.add(port) as *mut f32;
            let mut re = r0;
            while re < r1 {
                let mut acc = _mm256_loadu_ps(o.add(2 * re));
                for l in 0..n_layers {
                    let c = *w.add((port * n_layers + l) * stride_w + group);
                    let xv = _mm256_loadu_ps((*x.add(l) as *const f32).add(2 * re));
                    let xs = _mm256_permute_ps::<0xB1>(xv);
                    acc = _mm256_fmadd_ps(_mm256_set1_ps(c.re), xv, acc);
                    acc = _mm256_fmadd_ps(_mm256_mul_ps(_mm256_set1_ps(c.im), sign), xs, acc);
                }
                _mm256_storeu_ps(o.add(2 * re), acc);
                re += 4;
            }
        }
    }
}

/// 1-layer MMSE on `N` antennas compiled apart from the other shapes (see
/// [`lanes::kernels::detect_range_mmse1`]).
///
/// # Safety
/// As [`detect`]; `p` has 1 layer, MMSE, and `N` antennas.
#[target_feature(enable = "avx2,fma")]
#[inline(never)]
unsafe fn detect_mmse1<const N: usize>(
    p: &lanes::detector::DetectParams,
    y: *const Complex32,
    h: *const Complex32,
    x: *mut Complex32,
    nv: *mut f32,
    start: usize,
    end: usize,
) {
    unsafe { lanes::kernels::detect_range_mmse1::<V8, N>(p, y, h, x, nv, start, end) }
}

/// 4-layer MMSE on `N` antennas compiled apart from the other shapes (see
/// [`lanes::kernels::detect_range_mmse4`]).
///
/// # Safety
/// As [`detect`]; `p` has 4 layers, MMSE, and `N` antennas.
#[target_feature(enable = "avx2,fma")]
#[inline(never)]
unsafe fn detect_mmse4<const N: usize>(
    p: &lanes::detector::DetectParams,
    y: *const Complex32,
    h: *const Complex32,
    x: *mut Complex32,
    nv: *mut f32,
    start: usize,
    end: usize,
) {
    unsafe { lanes::kernels::detect_range_mmse4::<V8, N>(p, y, h, x, nv, start, end) }
}
