//! AVX2 LDPC kernels, 32 lanes per instruction: the encoder's XOR gather, the
//! parity check, and the lane type the shared layer update
//! (`coding::ldpc::layer`) runs on. Twins of `simd::scalar::ldpc`.

use crate::simd::lanes8::I8Lanes;
use std::arch::x86_64::*;

/// `dst[i] = XOR over e of base[offs[e] + i]` (see the scalar twin).
///
/// # Safety
/// The CPU must support AVX2, and `offs[e] + dst.len() <= base.len()` for every e.
#[target_feature(enable = "avx2")]
pub(crate) unsafe fn xor_gather(dst: &mut [u8], base: &[u8], offs: &[usize]) {
    // Whole rows of up to 12 vectors (Z <= 384, Z a multiple of 32) stay in
    // registers over all edges: one pass over `offs` instead of one per 64 bytes.
    // SAFETY (all arms): the caller's contract; N * 32 == dst.len().
    unsafe {
        match dst.len() {
            384 => return xor_gather_n::<12>(dst, base, offs),
            352 => return xor_gather_n::<11>(dst, base, offs),
            320 => return xor_gather_n::<10>(dst, base, offs),
            288 => return xor_gather_n::<9>(dst, base, offs),
            256 => return xor_gather_n::<8>(dst, base, offs),
            224 => return xor_gather_n::<7>(dst, base, offs),
            192 => return xor_gather_n::<6>(dst, base, offs),
            160 => return xor_gather_n::<5>(dst, base, offs),
            128 => return xor_gather_n::<4>(dst, base, offs),
            _ => {}
        }
    }
    let n = dst.len();
    let bp = base.as_ptr();
    let dp = dst.as_mut_ptr();
    let mut i = 0;
    // SAFETY (all loads/stores below): i + width <= n and offs[e] + n <= base.len().
    unsafe {
        while i + 64 <= n {
            let mut a = _mm256_setzero_si256();
            let mut b = _mm256_setzero_si256();
            for &o in offs {
                a = _mm256_xor_si256(a, _mm256_loadu_si256(bp.add(o + i) as *const __m256i));
                b = _mm256_xor_si256(b, _mm256_loadu_si256(bp.add(o + i + 32) as *const __m256i));
            }
            _mm256_storeu_si256(dp.add(i) as *mut __m256i, a);
            _mm256_storeu_si256(dp.add(i + 32) as *mut __m256i, b);
            i += 64;
        }
        while i + 32 <= n {
            let mut a = _mm256_setzero_si256();
            for &o in offs {
                a = _mm256_xor_si256(a, _mm256_loadu_si256(bp.add(o + i) as *const __m256i));
            }
            _mm256_storeu_si256(dp.add(i) as *mut __m256i, a);
            i += 32;
        }
        while i + 8 <= n {
            let mut a = 0u64;
            for &o in offs {
                a ^= (bp.add(o + i) as *const u64).read_unaligned();
            }
            (dp.add(i) as *mut u64).write_unaligned(a);
            i += 8;
        }
        while i < n {
            let mut a = 0u8;
            for &o in offs {
                a ^= *bp.add(o + i);
            }
            *dp.add(i) = a;
            i += 1;
        }
    }
}

/// `xor_gather` for `dst.len() == 32 * N`, the N accumulators in registers.
///
/// # Safety
/// As `xor_gather`, and `dst.len() == 32 * N`.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn xor_gather_n<const N: usize>(dst: &mut [u8], base: &[u8], offs: &[usize]) {
    debug_assert_eq!(dst.len(), 32 * N);
    let bp = base.as_ptr();
    let mut acc = [_mm256_setzero_si256(); N];
    // SAFETY: offs[e] + 32 N <= base.len() and 32 N == dst.len() (caller).
    unsafe {
        for &o in offs {
            let p = bp.add(o);
            for (v, a) in acc.iter_mut().enumerate() {
                *a = _mm256_xor_si256(*a, _mm256_loadu_si256(p.add(32 * v) as *const __m256i));
            }
        }
        let dp = dst.as_mut_ptr();
        for (v, a) in acc.iter().enumerate() {
            _mm256_storeu_si256(dp.add(32 * v) as *mut __m256i, *a);
        }
    }
}

/// 32 i8 lanes; the i16 halves are 16 lanes each.
#[derive(Clone, Copy)]
pub(crate) struct V32(__m256i);

impl I8Lanes for V32 {
    const W: usize = 32;
    type Wide = __m256i;
    /// A byte mask: a lane is set when its top bit is (what `blendv` reads).
    type Mask = __m256i;

    #[inline(always)]
    unsafe fn splat(x: i8) -> Self {
        unsafe { V32(_mm256_set1_epi8(x)) }
    }
    #[inline(always)]
    unsafe fn load(p: *const i8) -> Self {
        unsafe { V32(_mm256_loadu_si256(p as *const __m256i)) }
    }
    #[inline(always)]
    unsafe fn store(p: *mut i8, v: Self) {
        unsafe { _mm256_storeu_si256(p as *mut __m256i, v.0) }
    }
    #[inline(always)]
    unsafe fn load_wide(p: *const i16) -> __m256i {
        unsafe { _mm256_loadu_si256(p as *const __m256i) }
    }
    #[inline(always)]
    unsafe fn store_wide(p: *mut i16, v: __m256i) {
        unsafe { _mm256_storeu_si256(p as *mut __m256i, v) }
    }
    #[inline(always)]
    unsafe fn add_wide(a: __m256i, b: __m256i) -> __m256i {
        unsafe { _mm256_add_epi16(a, b) }
    }
    #[inline(always)]
    unsafe fn sub_wide(a: __m256i, b: __m256i) -> __m256i {
        unsafe { _mm256_sub_epi16(a, b) }
    }
    #[inline(always)]
    unsafe fn pack(lo: __m256i, hi: __m256i) -> Self {
        unsafe { V32(_mm256_packs_epi16(lo, hi)) }
    }
    #[inline(always)]
    unsafe fn widen(self) -> (__m256i, __m256i) {
        // Each byte doubled into a word, then shifted down with its sign: the
        // in-lane unpacks undo the in-lane pack.
        unsafe {
            (
                _mm256_srai_epi16::<8>(_mm256_unpacklo_epi8(self.0, self.0)),
                _mm256_srai_epi16::<8>(_mm256_unpackhi_epi8(self.0, self.0)),
            )
        }
    }
    #[inline(always)]
    unsafe fn min_i8(self, o: Self) -> Self {
        unsafe { V32(_mm256_min_epi8(self.0, o.0)) }
    }
    #[inline(always)]
    unsafe fn max_i8(self, o: Self) -> Self {
        unsafe { V32(_mm256_max_epi8(self.0, o.0)) }
    }
    #[inline(always)]
    unsafe fn abs_i8(self) -> Self {
        unsafe { V32(_mm256_abs_epi8(self.0)) }
    }
    #[inline(always)]
    unsafe fn sub_i8(self, o: Self) -> Self {
        unsafe { V32(_mm256_sub_epi8(self.0, o.0)) }
    }
    #[inline(always)]
    unsafe fn xor(self, o: Self) -> Self {
        unsafe { V32(_mm256_xor_si256(self.0, o.0)) }
    }
    #[inline(always)]
    unsafe fn gt(self, o: Self) -> __m256i {
        unsafe { _mm256_cmpgt_epi8(self.0, o.0) }
    }
    #[inline(always)]
    unsafe fn eq(self, o: Self) -> __m256i {
        unsafe { _mm256_cmpeq_epi8(self.0, o.0) }
    }
    #[inline(always)]
    unsafe fn negative(self) -> __m256i {
        // The sign bit is the mask bit.
        self.0
    }
    #[inline(always)]
    unsafe fn blend(m: __m256i, a: Self, b: Self) -> Self {
        unsafe { V32(_mm256_blendv_epi8(a.0, b.0, m)) }
    }
    #[inline(always)]
    unsafe fn min_u8(self, o: Self) -> Self {
        unsafe { V32(_mm256_min_epu8(self.0, o.0)) }
    }
    #[inline(always)]
    unsafe fn max_u8(self, o: Self) -> Self {
        unsafe { V32(_mm256_max_epu8(self.0, o.0)) }
    }
    #[inline(always)]
    unsafe fn adds_u8(self, o: Self) -> Self {
        unsafe { V32(_mm256_adds_epu8(self.0, o.0)) }
    }
    #[inline(always)]
    unsafe fn subs_u8(self, o: Self) -> Self {
        unsafe { V32(_mm256_subs_epu8(self.0, o.0)) }
    }
    #[inline(always)]
    unsafe fn half_u8(self) -> Self {
        // No byte shift: shift words, clear the bit that crossed from the next byte.
        unsafe {
            V32(_mm256_and_si256(
                _mm256_srli_epi16::<1>(self.0),
                _mm256_set1_epi8(0x7f),
            ))
        }
    }
    #[inline(always)]
    unsafe fn mul_q4_u8(self, alpha_16: u8) -> Self {
        unsafe {
            let z = _mm256_setzero_si256();
            let a = _mm256_set1_epi16(alpha_16 as i16);
            let lo = _mm256_srli_epi16::<4>(_mm256_mullo_epi16(_mm256_unpacklo_epi8(self.0, z), a));
            let hi = _mm256_srli_epi16::<4>(_mm256_mullo_epi16(_mm256_unpackhi_epi8(self.0, z), a));
            V32(_mm256_packus_epi16(lo, hi))
        }
    }
    #[inline(always)]
    unsafe fn lookup16(table: &[u8; 16], idx: Self) -> Self {
        // `pshufb` within each 128-bit half, the table in both.
        unsafe {
            let t = _mm256_broadcastsi128_si256(_mm_loadu_si128(table.as_ptr() as *const __m128i));
            V32(_mm256_shuffle_epi8(t, idx.0))
        }
    }
}

/// True when every check of the row (lanes < `lanes`) sees an even number of
/// negative values among `app[offs[e] + l]` (see the scalar twin).
///
/// # Safety
/// The CPU must support AVX2 and `offs[e] + lanes` rounded up to 16 must be within `app`.
#[target_feature(enable = "avx2")]
pub(crate) unsafe fn parity_ok(app: &[i16], offs: &[usize], lanes: usize) -> bool {
    let ap = app.as_ptr();
    let mut c = 0;
    // SAFETY: bounds as documented.
    unsafe {
        while c < lanes {
            let mut acc = _mm256_setzero_si256();
            for &o in offs {
                acc = _mm256_xor_si256(acc, _mm256_loadu_si256(ap.add(o + c) as *const __m256i));
            }
            // The sign of lane l is bit 2l + 1 of the byte mask.
            let mut bad = _mm256_movemask_epi8(acc) as u32 & 0xAAAA_AAAA;
            if lanes - c < 16 {
                bad &= (1u32 << (2 * (lanes - c))) - 1;
            }
            if bad != 0 {
                return false;
            }
            c += 16;
        }
    }
    true
}
