//! Sample conversion between the CS16 wire format and `Complex32`.
//!
//! CS16 is interleaved little-endian `i16` I/Q, as SoapySDR and SigMF `ci16_le`
//! carry it. Wire bytes are viewed as `i16` pairs with bytemuck (no copy);
//! the conversion itself is an AVX2 kernel with a scalar twin. The
//! instruction set is phy's [`SimdLevel`], detected once per process
//! ([`level`]); the `_at` variants force one (clamped to what the CPU has).
//! Full scale is ±1.0 ↔ ±32767; converting to CS16 rounds to nearest and
//! saturates.

use num_complex::Complex32;
pub use ranlab_phy::simd::SimdLevel;
use std::sync::OnceLock;

/// The instruction set the conversions use: [`SimdLevel::detect`], once per process.
pub fn level() -> SimdLevel {
    static L: OnceLock<SimdLevel> = OnceLock::new();
    *L.get_or_init(SimdLevel::detect)
}

/// The kernel that runs at `level` on this CPU: AVX2 for AVX2 and above (there is no
/// AVX-512 kernel), scalar below or when the CPU lacks it.
pub fn kernel_at(level: SimdLevel) -> SimdLevel {
    level.clamp_to(self::level()).min(SimdLevel::Avx2)
}

/// Full-scale value of CS16.
pub const CS16_FULL_SCALE: f32 = 32767.0;

/// Views little-endian CS16 wire bytes as interleaved `i16` I/Q without copying.
/// Fails when the length is not a whole number of samples or the bytes are misaligned.
pub fn cs16_from_bytes(bytes: &[u8]) -> Result<&[i16], String> {
    if !bytes.len().is_multiple_of(4) {
        return Err(format!(
            "{} bytes is not a whole number of CS16 samples (4 bytes each)",
            bytes.len()
        ));
    }
    bytemuck::try_cast_slice(bytes).map_err(|e| format!("CS16 buffer: {e:?}"))
}

/// `dst[i] = (src[2i] + j src[2i+1]) / 32767`. `src.len()` must be `2 * dst.len()`.
pub fn cs16_to_cf32(src: &[i16], dst: &mut [Complex32]) {
    cs16_to_cf32_at(level(), src, dst)
}

/// [`cs16_to_cf32`] with the kernel of `level` ([`kernel_at`]).
pub fn cs16_to_cf32_at(level: SimdLevel, src: &[i16], dst: &mut [Complex32]) {
    assert_eq!(
        src.len(),
        2 * dst.len(),
        "CS16 source must hold two i16 per sample"
    );
    match kernel_at(level) {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `kernel_at` never exceeds the detected level, whose Avx2 (and
        // Avx512, as in phy) means AVX2; the lengths were checked above.
        SimdLevel::Avx2 => unsafe { avx2::cs16_to_cf32(src, dst) },
        _ => cs16_to_cf32_scalar(src, dst),
    }
}

/// Scalar twin of [`cs16_to_cf32`].
pub fn cs16_to_cf32_scalar(src: &[i16], dst: &mut [Complex32]) {
    let k = 1.0 / CS16_FULL_SCALE;
    for (d, s) in dst.iter_mut().zip(src.chunks_exact(2)) {
        *d = Complex32::new(s[0] as f32 * k, s[1] as f32 * k);
    }
}

/// `dst = round(src * 32767)`, saturating. `dst.len()` must be `2 * src.len()`.
pub fn cf32_to_cs16(src: &[Complex32], dst: &mut [i16]) {
    cf32_to_cs16_at(level(), src, dst)
}

/// [`cf32_to_cs16`] with the kernel of `level` ([`kernel_at`]).
pub fn cf32_to_cs16_at(level: SimdLevel, src: &[Complex32], dst: &mut [i16]) {
    assert_eq!(
        dst.len(),
        2 * src.len(),
        "CS16 destination must hold two i16 per sample"
    );
    match kernel_at(level) {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: as in `cs16_to_cf32_at`; the lengths were checked above.
        SimdLevel::Avx2 => unsafe { avx2::cf32_to_cs16(src, dst) },
        _ => cf32_to_cs16_scalar(src, dst),
    }
}

/// Scalar twin of [`cf32_to_cs16`]: round half to even, as the vector conversion does.
pub fn cf32_to_cs16_scalar(src: &[Complex32], dst: &mut [i16]) {
    let q = |x: f32| {
        let v = (x * CS16_FULL_SCALE).round_ties_even();
        if v.is_nan() {
            0
        } else {
            v.clamp(-32768.0, 32767.0) as i16
        }
    };
    for (s, d) in src.iter().zip(dst.chunks_exact_mut(2)) {
        d[0] = q(s.re);
        d[1] = q(s.im);
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::CS16_FULL_SCALE;
    use num_complex::Complex32;
    use std::arch::x86_64::*;

    /// 8 i16 (4 samples) per step.
    #[target_feature(enable = "avx2")]
    pub unsafe fn cs16_to_cf32(src: &[i16], dst: &mut [Complex32]) {
        let n = src.len() / 8;
        let k = _mm256_set1_ps(1.0 / CS16_FULL_SCALE);
        let out = dst.as_mut_ptr() as *mut f32;
        for i in 0..n {
            // SAFETY: i*8+8 <= src.len() and the f32 view of dst has the same length.
            unsafe {
                let v = _mm_loadu_si128(src.as_ptr().add(i * 8) as *const __m128i);
                let f = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi16_epi32(v)), k);
                _mm256_storeu_ps(out.add(i * 8), f);
            }
        }
        super::cs16_to_cf32_scalar(&src[n * 8..], &mut dst[n * 4..]);
    }

    /// 8 floats (4 samples) per step; NaN becomes 0 like the scalar twin.
    #[target_feature(enable = "avx2")]
    pub unsafe fn cf32_to_cs16(src: &[Complex32], dst: &mut [i16]) {
        let n = src.len() / 8;
        let k = _mm256_set1_ps(CS16_FULL_SCALE);
        let lo = _mm256_set1_ps(-32768.0);
        let hi = _mm256_set1_ps(32767.0);
        let inp = src.as_ptr() as *const f32;
        for i in 0..n {
            // SAFETY: 16 floats from sample i*8 are in range; 16 i16 written to dst.
            unsafe {
                let a = _mm256_mul_ps(_mm256_loadu_ps(inp.add(i * 16)), k);
                let b = _mm256_mul_ps(_mm256_loadu_ps(inp.add(i * 16 + 8)), k);
                // NaN -> 0 (ordered compare), then clamp so the conversion never overflows.
                let a = _mm256_and_ps(a, _mm256_cmp_ps(a, a, _CMP_ORD_Q));
                let b = _mm256_and_ps(b, _mm256_cmp_ps(b, b, _CMP_ORD_Q));
                let a = _mm256_min_ps(_mm256_max_ps(a, lo), hi);
                let b = _mm256_min_ps(_mm256_max_ps(b, lo), hi);
                let p = _mm256_packs_epi32(_mm256_cvtps_epi32(a), _mm256_cvtps_epi32(b));
                // packs works per 128-bit lane: restore order a0..a7 b0..b7.
                let p = _mm256_permute4x64_epi64(p, 0b11_01_10_00);
                _mm256_storeu_si256(dst.as_mut_ptr().add(i * 16) as *mut __m256i, p);
            }
        }
        super::cf32_to_cs16_scalar(&src[n * 8..], &mut dst[n * 16..]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples(n: usize) -> Vec<Complex32> {
        let mut x = 0x9e37_79b9u32;
        (0..n)
            .map(|_| {
                let mut r = || {
                    x ^= x << 13;
                    x ^= x >> 17;
                    x ^= x << 5;
                    (x as f32 / u32::MAX as f32) * 2.4 - 1.2 // exceeds full scale: tests saturation
                };
                Complex32::new(r(), r())
            })
            .collect()
    }

    /// Every level this CPU supports (AVX2 where present) against the scalar twins,
    /// from dirty outputs; the detected level is what the plain functions use.
    #[test]
    fn simd_matches_scalar_both_ways_including_saturation_and_nan() {
        if !SimdLevel::Avx2.is_supported() {
            println!("AVX2 not supported on this CPU: only the scalar kernel is compared");
        }
        assert_eq!(kernel_at(SimdLevel::Scalar), SimdLevel::Scalar);
        assert!(kernel_at(SimdLevel::Avx512) <= SimdLevel::Avx2);
        for level in SimdLevel::supported() {
            for n in [0usize, 1, 3, 4, 7, 8, 9, 64, 1001] {
                let mut s = samples(n);
                if n > 5 {
                    s[5] = Complex32::new(f32::NAN, 1e9);
                }
                let mut a = vec![7i16; 2 * n];
                let mut b = vec![0i16; 2 * n];
                cf32_to_cs16_at(level, &s, &mut a);
                cf32_to_cs16_scalar(&s, &mut b);
                assert_eq!(a, b, "{level} cf32 -> cs16, n = {n}");
                let mut x = vec![Complex32::new(3.0, 3.0); n];
                let mut y = vec![Complex32::default(); n];
                cs16_to_cf32_at(level, &a, &mut x);
                cs16_to_cf32_scalar(&a, &mut y);
                assert_eq!(x, y, "{level} cs16 -> cf32, n = {n}");
            }
        }
        let (s, mut a, mut b) = (samples(33), vec![0i16; 66], vec![0i16; 66]);
        cf32_to_cs16(&s, &mut a);
        cf32_to_cs16_at(level(), &s, &mut b);
        assert_eq!(a, b);
    }

    #[test]
    fn round_trip_within_half_lsb_and_bytes_view() {
        let s: Vec<Complex32> = samples(100).into_iter().map(|c| c * 0.5).collect();
        let mut w = vec![0i16; 200];
        cf32_to_cs16(&s, &mut w);
        let bytes: &[u8] = bytemuck::cast_slice(&w);
        let view = cs16_from_bytes(bytes).unwrap();
        let mut back = vec![Complex32::default(); 100];
        cs16_to_cf32(view, &mut back);
        for (a, b) in s.iter().zip(&back) {
            assert!((a - b).norm() <= 0.71 / CS16_FULL_SCALE, "{a} vs {b}");
        }
        assert!(cs16_from_bytes(&bytes[..7]).is_err());
    }
}
