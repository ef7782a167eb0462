//! The complex multiply-accumulate kernel every fading path spends its time in:
//! `y += h · x` over `Complex32` slices, as a portable scalar reference and an AVX2+FMA
//! version (`x86_64`, detected once at run time and cached). The AVX2 body and its
//! scalar tail use the same fused multiply-adds in the same order, so results do not
//! depend on where a block boundary falls (the streaming path is bit-identical for any
//! split of a stream); the two implementations agree to f32 rounding.

use num_complex::Complex32;
use std::sync::OnceLock;

/// True when the AVX2+FMA kernel is used on this CPU.
pub fn avx2_fma() -> bool {
    static L: OnceLock<bool> = OnceLock::new();
    *L.get_or_init(|| {
        #[cfg(target_arch = "x86_64")]
        {
            std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            false
        }
    })
}

/// Name of the kernel in use ("avx2" or "scalar").
pub fn kernel_name() -> &'static str {
    if avx2_fma() {
        "avx2"
    } else {
        "scalar"
    }
}

/// `y += h · x` (over `min(x.len(), y.len())` elements), best kernel for this CPU.
#[inline]
pub fn axpy(h: Complex32, x: &[Complex32], y: &mut [Complex32]) {
    #[cfg(target_arch = "x86_64")]
    if avx2_fma() {
        // SAFETY: the CPU supports AVX2 and FMA (checked above).
        unsafe { axpy_avx2(h, x, y) };
        return;
    }
    axpy_scalar(h, x, y);
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
        if !avx2_fma() {
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
        if !avx2_fma() {
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
}
