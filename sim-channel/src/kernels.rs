//! The complex multiply-accumulate kernel every fading path spends its time in:
//! `y += h · x` over `Complex32` slices, as a portable scalar reference and an AVX2+FMA
//! version (`x86_64`). The instruction set is phy's [`SimdLevel`]: detected once per
//! process ([`level`]) and used by [`axpy`]; [`axpy_at`] forces a level (clamped to
//! what the CPU supports), as phy's blocks take one at construction. The AVX2 body and
//! its scalar tail use the same fused multiply-adds in the same order, so results do not
//! depend on where a block boundary falls (the streaming path is bit-identical for any
//! split of a stream); the two implementations agree to f32 rounding.

use num_complex::Complex32;
pub use ranlab_phy::simd::SimdLevel;
use std::sync::OnceLock;

/// The instruction set [`axpy`] uses: [`SimdLevel::detect`], once per process.
pub fn level() -> SimdLevel {
    static L: OnceLock<SimdLevel> = OnceLock::new();
    *L.get_or_init(SimdLevel::detect)
}

/// True when the AVX2+FMA kernel is used on this CPU.
pub fn avx2_fma() -> bool {
    level() >= SimdLevel::Avx2
}

/// Name of the kernel in use ("avx2" or "scalar").
pub fn kernel_name() -> &'static str {
    kernel_at(level()).name()
}

/// The kernel that runs at `level` on this CPU: AVX2 for AVX2 and above (there is no
/// AVX-512 kernel), scalar below or when the CPU lacks it.
pub fn kernel_at(level: SimdLevel) -> SimdLevel {
    level.clamp_to(self::level()).min(SimdLevel::Avx2)
}

/// `y += h · x` (over `min(x.len(), y.len())` elements), best kernel for this CPU.
#[inline]
pub fn axpy(h: Complex32, x: &[Complex32], y: &mut [Complex32]) {
    axpy_at(level(), h, x, y)
}

/// [`axpy`] with the kernel of `level` ([`kernel_at`]): lets tests and benches force one.
#[inline]
pub fn axpy_at(level: SimdLevel, h: Complex32, x: &[Complex32], y: &mut [Complex32]) {
    match kernel_at(level) {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `kernel_at` never exceeds the detected level, and a detected Avx2 (or
        // Avx512, whose CPUs all have AVX2 and FMA, as phy also assumes) means AVX2+FMA.
        SimdLevel::Avx2 => unsafe { axpy_avx2(h, x, y) },
        _ => axpy_scalar(h, x, y),
    }
}

/// Portable reference of [`axpy`].
pub fn axpy_scalar(h: Complex32, x: &[Complex32], y: &mut [Complex32]) {
    for (yv, xv) in y.iter_mut().zip(x) {
        yv.re += h.re * xv.re - h.im * xv.im;
        yv.im += h.re * xv.im + h.im * xv.re;
    }
}

/// AVX2+FMA [`axpy`]: four complex values per iteration, interleaved layout.
///
/// # Safety
/// The CPU must support AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
pub unsafe fn axpy_avx2(h: Complex32, x: &[Complex32], y: &mut [Complex32]) {
    use std::arch::x86_64::*;
    let n = x.len().min(y.len());
    let xp = x.as_ptr() as *const f32;
    let yp = y.as_mut_ptr() as *mut f32;
    let hr = _mm256_set1_ps(h.re);
    let hi = _mm256_setr_ps(-h.im, h.im, -h.im, h.im, -h.im, h.im, -h.im, h.im);
    let mut i = 0;
    while i + 4 <= n {
        // SAFETY: i + 4 <= n elements of 8 bytes are in bounds of both slices.
        unsafe {
            let xv = _mm256_loadu_ps(xp.add(2 * i));
            let xs = _mm256_permute_ps(xv, 0xB1); // (im, re) pairs
            let yv = _mm256_loadu_ps(yp.add(2 * i));
            let t = _mm256_fmadd_ps(hr, xv, yv);
            _mm256_storeu_ps(yp.add(2 * i), _mm256_fmadd_ps(hi, xs, t));
        }
        i += 4;
    }
    // Same operations as the vector body, element by element (fused, same order).
    for k in i..n {
        let (xv, yv) = (x[k], &mut y[k]);
        let tr = h.re.mul_add(xv.re, yv.re);
        let ti = h.re.mul_add(xv.im, yv.im);
        yv.re = (-h.im).mul_add(xv.im, tr);
        yv.im = h.im.mul_add(xv.re, ti);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The AVX2 kernel and the scalar twin agree to f32 rounding on every length 0..70 and
    /// unaligned offsets, starting from dirty (non-zero) outputs.
    #[test]
    fn avx2_matches_scalar() {
        if !SimdLevel::Avx2.is_supported() {
            println!("AVX2+FMA not supported on this CPU: twin test skipped");
            return;
        }
        let x: Vec<Complex32> = (0..80)
            .map(|i| Complex32::new((i as f32 * 0.37).sin(), (i as f32 * 0.11).cos()))
            .collect();
        let h = Complex32::new(0.7, -1.3);
        for len in 0..70 {
            for off in 0..3 {
                let mut a: Vec<Complex32> =
                    (0..len).map(|i| Complex32::new(i as f32, -1.0)).collect();
                let mut b = a.clone();
                axpy_scalar(h, &x[off..off + len], &mut a);
                // SAFETY: support checked above.
                unsafe { axpy_avx2(h, &x[off..off + len], &mut b) };
                for (p, q) in a.iter().zip(&b) {
                    assert!((p - q).norm() <= 1e-5 * (1.0 + p.norm()), "len {len}");
                }
            }
        }
    }

    /// Splitting a vector anywhere gives bit-identical AVX2 results (body/tail consistency).
    #[test]
    fn avx2_split_invariant() {
        if !SimdLevel::Avx2.is_supported() {
            println!("AVX2+FMA not supported on this CPU: split test skipped");
            return;
        }
        let x: Vec<Complex32> = (0..37)
            .map(|i| Complex32::new(i as f32 * 0.1, 0.3))
            .collect();
        let h = Complex32::new(0.3, 0.9);
        let mut whole = vec![Complex32::new(0.5, 0.25); 37];
        axpy(h, &x, &mut whole);
        for cut in 0..37 {
            let mut s = vec![Complex32::new(0.5, 0.25); 37];
            let (a, b) = s.split_at_mut(cut);
            axpy(h, &x[..cut], a);
            axpy(h, &x[cut..], b);
            assert_eq!(s, whole, "cut {cut}");
        }
    }

    /// A forced level runs that kernel: scalar is bit-exact with the reference at any
    /// detected level, and a level above the CPU's falls back to what it has.
    #[test]
    fn forced_level_selects_the_kernel() {
        assert_eq!(kernel_at(SimdLevel::Scalar), SimdLevel::Scalar);
        assert_eq!(kernel_at(SimdLevel::Avx512), kernel_at(level()));
        assert!(kernel_at(SimdLevel::Avx512) <= SimdLevel::Avx2);
        assert_eq!(kernel_name(), kernel_at(level()).name());
        let x: Vec<Complex32> = (0..41)
            .map(|i| Complex32::new((i as f32).sin(), 0.5 - i as f32 * 0.01))
            .collect();
        let h = Complex32::new(-0.4, 0.8);
        let mut a = vec![Complex32::new(1.0, 2.0); 41];
        let mut b = a.clone();
        axpy_at(SimdLevel::Scalar, h, &x, &mut a);
        axpy_scalar(h, &x, &mut b);
        assert_eq!(a, b);
        for l in SimdLevel::supported() {
            let mut c = vec![Complex32::new(1.0, 2.0); 41];
            axpy_at(l, h, &x, &mut c);
            for (p, q) in b.iter().zip(&c) {
                assert!((p - q).norm() <= 1e-5 * (1.0 + p.norm()), "{l}");
            }
        }
    }
}
