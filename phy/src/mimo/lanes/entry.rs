//! The `#[target_feature]` entry points of the MIMO kernels: the skeleton
//! of [`super`] instantiated over each instruction set's lanes
//! (`simd::avx2::mimo::V8`, `simd::avx512::mimo::V16`), which import
//! nothing of `mimo`.

/// AVX2 + FMA entry points (8 lanes).
#[cfg(target_arch = "x86_64")]
pub(crate) mod avx2 {
    use crate::mimo::lanes;
    use crate::simd::avx2::mimo::V8;
    use core::arch::x86_64::*;
    use num_complex::Complex32;

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
}

/// AVX-512 F entry points (16 lanes).
#[cfg(target_arch = "x86_64")]
pub(crate) mod avx512 {
    use crate::mimo::lanes;
    use crate::simd::avx512::mimo::V16;
    use core::arch::x86_64::*;
    use num_complex::Complex32;

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
                -1.0, 1.0, -1.0, 1.0, -1.0, 1.0, -1.0, 1.0, -1.0, 1.0, -1.0, 1.0, -1.0, 1.0, -1.0,
                1.0,
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
}
