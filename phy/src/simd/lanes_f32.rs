//! The f32 lane contract of the MIMO kernels (`mimo::lanes`, written once
//! over it): what an instruction set supplies (`simd::avx2::mimo::V8`,
//! `simd::avx512::mimo::V16`), and `f32`, the portable scalar twin with one lane.

use num_complex::Complex32;

/// Vector of `W` f32 lanes. All methods are `unsafe` because the SIMD
/// implementations need their target feature, and the loads and stores take
/// raw pointers to `W` consecutive elements.
pub(crate) trait Lanes: Copy {
    /// Number of lanes.
    const W: usize;
    unsafe fn splat(x: f32) -> Self;
    unsafe fn add(self, o: Self) -> Self;
    unsafe fn sub(self, o: Self) -> Self;
    unsafe fn mul(self, o: Self) -> Self;
    /// `self * a + b`.
    unsafe fn mul_add(self, a: Self, b: Self) -> Self;
    /// `b - self * a`.
    unsafe fn neg_mul_add(self, a: Self, b: Self) -> Self;
    unsafe fn max(self, o: Self) -> Self;
    unsafe fn min(self, o: Self) -> Self;
    /// `1 / self` to about 1 ulp (reciprocal estimate plus a Newton step);
    /// finite for finite non-zero input.
    unsafe fn recip(self) -> Self;
    /// `1 / self` to about 12 bits: the hardware estimate without the
    /// Newton step (relative error below 4e-4; exact in the scalar twin).
    /// For the 2-layer ZF outputs, where it is a common scale of the symbol
    /// and its noise variance far below any LLR's precision, and its
    /// latency sits on the kernel's critical path.
    #[inline(always)]
    unsafe fn recip_est(self) -> Self {
        unsafe { self.recip() }
    }
    unsafe fn sqrt(self) -> Self;
    /// Per lane: `if self > t { a } else { b }`.
    unsafe fn select_gt(self, t: Self, a: Self, b: Self) -> Self;
    /// Loads `W` interleaved complex values into the lane order.
    unsafe fn load_c(p: *const Complex32) -> C<Self>;
    /// Stores `W` complex values (inverse of `load_c`).
    unsafe fn store_c(p: *mut Complex32, c: C<Self>);
    /// Stores `W` reals, lane order as `load_c`'s, in element order.
    unsafe fn store_f(p: *mut f32, v: Self);
    /// Loads the complex values `p[i * stride]`, `i < W`, into the lane
    /// order of `load_c` (lane of element `i` as `load_c(p)` puts `p[i]`).
    #[inline(always)]
    unsafe fn load_c_strided(p: *const Complex32, stride: usize) -> C<Self> {
        let mut t = [Complex32::new(0.0, 0.0); 16];
        for (i, ti) in t.iter_mut().enumerate().take(Self::W) {
            // SAFETY: the caller guarantees the W elements are readable.
            *ti = unsafe { *p.add(i * stride) };
        }
        // SAFETY: t holds W <= 16 elements.
        unsafe { Self::load_c(t.as_ptr()) }
    }
    /// Stores `c` to `p[i * stride]`, `i < W` (inverse of `load_c_strided`).
    #[inline(always)]
    unsafe fn store_c_strided(p: *mut Complex32, stride: usize, c: C<Self>) {
        let mut t = [Complex32::new(0.0, 0.0); 16];
        // SAFETY: t holds W <= 16 elements; the caller guarantees the
        // targets are writable.
        unsafe {
            Self::store_c(t.as_mut_ptr(), c);
            for (i, ti) in t.iter().enumerate().take(Self::W) {
                *p.add(i * stride) = *ti;
            }
        }
    }
    /// Hints that the `W` complex values at `p` will be read soon (never
    /// faults; `p` may point anywhere). No-op by default.
    #[inline(always)]
    unsafe fn prefetch(_p: *const Complex32) {}
}

/// A complex value per lane, split into real and imaginary vectors.
#[derive(Clone, Copy)]
pub(crate) struct C<V> {
    pub re: V,
    pub im: V,
}

impl Lanes for f32 {
    const W: usize = 1;
    #[inline(always)]
    unsafe fn splat(x: f32) -> Self {
        x
    }
    #[inline(always)]
    unsafe fn add(self, o: Self) -> Self {
        self + o
    }
    #[inline(always)]
    unsafe fn sub(self, o: Self) -> Self {
        self - o
    }
    #[inline(always)]
    unsafe fn mul(self, o: Self) -> Self {
        self * o
    }
    #[inline(always)]
    unsafe fn mul_add(self, a: Self, b: Self) -> Self {
        self * a + b
    }
    #[inline(always)]
    unsafe fn neg_mul_add(self, a: Self, b: Self) -> Self {
        b - self * a
    }
    #[inline(always)]
    unsafe fn max(self, o: Self) -> Self {
        f32::max(self, o)
    }
    #[inline(always)]
    unsafe fn min(self, o: Self) -> Self {
        f32::min(self, o)
    }
    #[inline(always)]
    unsafe fn recip(self) -> Self {
        1.0 / self
    }
    #[inline(always)]
    unsafe fn sqrt(self) -> Self {
        f32::sqrt(self)
    }
    #[inline(always)]
    unsafe fn select_gt(self, t: Self, a: Self, b: Self) -> Self {
        if self > t {
            a
        } else {
            b
        }
    }
    #[inline(always)]
    unsafe fn load_c(p: *const Complex32) -> C<Self> {
        // SAFETY: the caller guarantees `p` is valid for one read.
        let v = unsafe { *p };
        C { re: v.re, im: v.im }
    }
    #[inline(always)]
    unsafe fn store_c(p: *mut Complex32, c: C<Self>) {
        // SAFETY: the caller guarantees `p` is valid for one write.
        unsafe { *p = Complex32::new(c.re, c.im) }
    }
    #[inline(always)]
    unsafe fn store_f(p: *mut f32, v: Self) {
        // SAFETY: as above.
        unsafe { *p = v }
    }
}
