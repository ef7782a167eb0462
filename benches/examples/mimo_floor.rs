//! Where the 2-layer ZF detector's time goes: its compute-bound rate, the
//! memory floor of its loads and stores, and what a smaller channel format
//! would give (AVX2 + FMA + F16C machines only).
//!
//! ```text
//! cargo run --release -p ranlab-benches --example mimo_floor [FILTER[,FILTER..]] [ROUNDS]
//! ```
//!
//! Every case is timed in rounds, one sample per case per round (so slow
//! phases of a shared machine hit every case alike), each sample after an
//! untimed call of the same case (the data is as warm as in `ranlab bench`,
//! which repeats one case back to back). It prints the median and the 10th
//! percentile per call (its MRE/s count REs, not REs x layers as
//! `ranlab bench` does). Cases (each at `L1` = 2 PRB x 14 symbols repeated,
//! `L2` = 24 PRB and `slot` = 106 PRB x 14 symbols, 17,808 REs):
//!
//! - `det-zf-LxN`, `det-mmse-LxN`: `Detector::detect` (ZF or MMSE, L layers, N
//!   antennas), as the `mimo-zf-*` and `mimo-mmse-*` bench rows (which name
//!   MMSE 4 layers on 8 antennas `8x4`, here `4x8`); at `L1` this is the
//!   compute-bound rate;
//! - `copy-LxN-{f32,f16}[-nt]`: the same loads (channel and received REs as
//!   interleaved f32, or f16) and the same stores (symbols and noise
//!   variances, `-nt` non-temporal) with no arithmetic: the memory floor;
//! - `zf-LxN-h16b`: the detector's kernels with the channel held as f16 in
//!   blocks of 8 REs (8 real parts, then 8 imaginary parts) and the received
//!   REs as f32 (the grid's format): what the channel format alone changes;
//! - `zf-2x4-il`, `-ilh`, `-ilb`: the 2x4 kernel with the Gram and
//!   matched-filter sums accumulated on the interleaved vectors as loaded
//!   (no de-interleave; one in-lane swap of `h0` and of `y` per 4 REs) and
//!   pair-reduced once per 8 REs: with `hadd`/`hsub` (antenna-major, or
//!   `-ilh` one 4-RE half after the other), or `-ilb` with blends and one
//!   swap per sum (lanes in the order 0,4,1,5,2,6,3,7, undone by the
//!   stores). With `MIMO_FLOOR_CHECK=1` set, their outputs are first
//!   compared with `zf-2x4-f32`'s on random data (largest relative
//!   differences printed).
//!
//! Not part of the library: the variant kernels here are measuring tools.

#[cfg(target_arch = "x86_64")]
mod probe {
    use core::arch::x86_64::*;
    use num_complex::Complex32;
    use ranlab_phy::mimo::{Detector, Equalizer};
    use std::time::Instant;

    /// One cache line of `f32`s.
    #[derive(Clone, Copy)]
    #[repr(C, align(64))]
    struct Line([f32; 16]);

    /// 64-byte aligned storage of `f32`s (or twice as many `u16`s).
    struct Buf(Vec<Line>);
    impl Buf {
        fn new(floats: usize) -> Self {
            Buf(vec![Line([0.0; 16]); floats.div_ceil(16) + 1])
        }
        fn ptr(&self) -> *const u8 {
            self.0.as_ptr() as *const u8
        }
        fn ptr_mut(&mut self) -> *mut f32 {
            self.0.as_mut_ptr() as *mut f32
        }
    }

    fn uniform(seed: &mut u64) -> f32 {
        *seed ^= *seed << 13;
        *seed ^= *seed >> 7;
        *seed ^= *seed << 17;
        ((*seed >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }

    /// IEEE binary16 of `x`, round to nearest even (normal range; smaller
    /// magnitudes flush to zero, enough for test data in [-1, 1]).
    fn f16_bits(x: f32) -> u16 {
        let b = x.to_bits();
        let sign = ((b >> 16) & 0x8000) as u16;
        let e = ((b >> 23) & 0xff) as i32 - 127 + 15;
        if e <= 0 {
            return sign;
        }
        let m = b & 0x7f_ffff;
        let mut r = ((e as u32) << 10) | (m >> 13);
        let rem = m & 0x1fff;
        if rem > 0x1000 || (rem == 0x1000 && r & 1 == 1) {
            r += 1;
        }
        sign | r as u16
    }

    /// Eight complex values as real and imaginary vectors.
    #[derive(Clone, Copy)]
    struct Cv {
        re: __m256,
        im: __m256,
    }

    /// A storage format of complex planes; `ld` reads 8 values at
    /// element `idx` (a multiple of 8).
    trait Fmt {
        const F16: bool;
        unsafe fn ld(base: *const u8, idx: usize) -> Cv;
    }
    /// Interleaved f32 (`Complex32`), the detector's format.
    struct F32;
    /// Interleaved f16.
    struct F16;
    /// f16 in blocks of 8: 8 real parts then 8 imaginary parts.
    struct F16B;
    impl Fmt for F32 {
        const F16: bool = false;
        #[inline(always)]
        unsafe fn ld(base: *const u8, idx: usize) -> Cv {
            unsafe {
                let p = (base as *const f32).add(2 * idx);
                let a = _mm256_loadu_ps(p);
                let b = _mm256_loadu_ps(p.add(8));
                Cv {
                    re: _mm256_shuffle_ps::<0x88>(a, b),
                    im: _mm256_shuffle_ps::<0xDD>(a, b),
                }
            }
        }
    }
    impl Fmt for F16 {
        const F16: bool = true;
        #[inline(always)]
        unsafe fn ld(base: *const u8, idx: usize) -> Cv {
            unsafe {
                let p = (base as *const u16).add(2 * idx);
                let a = _mm256_cvtph_ps(_mm_loadu_si128(p as *const __m128i));
                let b = _mm256_cvtph_ps(_mm_loadu_si128(p.add(8) as *const __m128i));
                Cv {
                    re: _mm256_shuffle_ps::<0x88>(a, b),
                    im: _mm256_shuffle_ps::<0xDD>(a, b),
                }
            }
        }
    }
    impl Fmt for F16B {
        const F16: bool = true;
        #[inline(always)]
        unsafe fn ld(base: *const u8, idx: usize) -> Cv {
            unsafe {
                let p = (base as *const u16).add(2 * idx);
                Cv {
                    re: _mm256_cvtph_ps(_mm_loadu_si128(p as *const __m128i)),
                    im: _mm256_cvtph_ps(_mm_loadu_si128(p.add(8) as *const __m128i)),
                }
            }
        }
    }

    /// Stores 8 complex values in the detector's output order.
    #[inline(always)]
    unsafe fn st_c<const NT: bool>(p: *mut f32, c: Cv) {
        unsafe {
            let a = _mm256_unpacklo_ps(c.re, c.im);
            let b = _mm256_unpackhi_ps(c.re, c.im);
            if NT {
                _mm256_stream_ps(p, a);
                _mm256_stream_ps(p.add(8), b);
            } else {
                _mm256_storeu_ps(p, a);
                _mm256_storeu_ps(p.add(8), b);
            }
        }
    }
    #[inline(always)]
    unsafe fn st_f<const NT: bool>(p: *mut f32, v: __m256) {
        unsafe {
            let o = _mm256_castpd_ps(_mm256_permute4x64_pd::<0xD8>(_mm256_castps_pd(v)));
            if NT {
                _mm256_stream_ps(p, o)
            } else {
                _mm256_storeu_ps(p, o)
            }
        }
    }

    /// One call's buffers: `n` REs per plane, planes as the detector's.
    struct Io {
        n: usize,
        y: *const u8,
        h: *const u8,
        x: *mut f32,
        nv: *mut f32,
    }

    /// Loads the 2 x `NA` channel and `NA` received REs of 8 REs and stores
    /// both layers' symbols and noise variances, with adds only.
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn copy<H: Fmt, const NA: usize, const NT: bool>(io: &Io) {
        let s = io.n;
        let mut re = 0;
        while re < s {
            unsafe {
                let z = _mm256_setzero_ps();
                let (mut a, mut b, mut c, mut d) = (z, z, z, z);
                for ant in 0..NA {
                    let h0 = H::ld(io.h, 2 * ant * s + re);
                    let h1 = H::ld(io.h, (2 * ant + 1) * s + re);
                    let y = H::ld(io.y, ant * s + re);
                    a = _mm256_add_ps(a, _mm256_add_ps(h0.re, y.re));
                    b = _mm256_add_ps(b, _mm256_add_ps(h0.im, y.im));
                    c = _mm256_add_ps(c, h1.re);
                    d = _mm256_add_ps(d, h1.im);
                }
                st_c::<NT>(io.x.add(2 * re), Cv { re: a, im: b });
                st_c::<NT>(io.x.add(2 * (s + re)), Cv { re: c, im: d });
                st_f::<NT>(io.nv.add(re), a);
                st_f::<NT>(io.nv.add(s + re), c);
            }
            re += 8;
        }
    }

    const REL: f32 = 1e-6;
    const ABS: f32 = 1e-18;
    const BIG: f32 = 1e20;

    /// `a b - c d`.
    #[inline(always)]
    unsafe fn cdet(a: Cv, b: Cv, c: Cv, d: Cv) -> Cv {
        unsafe {
            let re = _mm256_fnmadd_ps(a.im, b.im, _mm256_mul_ps(a.re, b.re));
            let re = _mm256_fmadd_ps(c.im, d.im, _mm256_fnmadd_ps(c.re, d.re, re));
            let im = _mm256_fmadd_ps(a.im, b.re, _mm256_mul_ps(a.re, b.im));
            let im = _mm256_fnmadd_ps(c.im, d.re, _mm256_fnmadd_ps(c.re, d.im, im));
            Cv { re, im }
        }
    }

    /// `|a|^2 + |b|^2`.
    #[inline(always)]
    unsafe fn norm2(a: Cv, b: Cv) -> __m256 {
        unsafe {
            let t = _mm256_fmadd_ps(a.im, a.im, _mm256_mul_ps(a.re, a.re));
            _mm256_fmadd_ps(b.im, b.im, _mm256_fmadd_ps(b.re, b.re, t))
        }
    }

    /// Noise variance of a layer: `deg ? BIG : min(sa / d, BIG)` with the
    /// degenerate test `a 10 floor > d` (as `lanes::kernels::zf2_nvar`).
    #[inline(always)]
    unsafe fn nvar(sa: __m256, a: __m256, f10: __m256, d: __m256, rd: __m256) -> __m256 {
        unsafe {
            let big = _mm256_set1_ps(BIG);
            let m = _mm256_cmp_ps::<_CMP_GT_OQ>(_mm256_mul_ps(a, f10), d);
            _mm256_blendv_ps(_mm256_min_ps(_mm256_mul_ps(sa, rd), big), big, m)
        }
    }

    /// The library's 2x2 ZF kernel (`lanes::kernels::detect_block_zf22`, same
    /// operations and order) with the channel read in format `H`.
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn zf22<H: Fmt>(io: &Io, noise: f32) {
        let s = io.n;
        let mut re = 0;
        while re < s {
            unsafe {
                let h00 = H::ld(io.h, re);
                let h01 = H::ld(io.h, s + re);
                let h10 = H::ld(io.h, 2 * s + re);
                let h11 = H::ld(io.h, 3 * s + re);
                let y0 = F32::ld(io.y, re);
                let y1 = F32::ld(io.y, s + re);
                let g00 = norm2(h00, h10);
                let g11 = norm2(h01, h11);
                let det = cdet(h00, h11, h01, h10);
                let gs = _mm256_add_ps(g00, g11);
                let floor = _mm256_fmadd_ps(gs, _mm256_set1_ps(REL / 2.0), _mm256_set1_ps(ABS));
                let dsq = _mm256_fmadd_ps(det.re, det.re, _mm256_mul_ps(det.im, det.im));
                let d = _mm256_fmadd_ps(_mm256_add_ps(gs, floor), floor, dsq);
                let rd = _mm256_rcp_ps(d);
                let sigma = _mm256_max_ps(_mm256_set1_ps(noise), floor);
                let n0 = cdet(h11, y0, h01, y1);
                let n1 = cdet(h00, y1, h10, y0);
                // conj(det) n, then / d.
                let u = |n: Cv| Cv {
                    re: _mm256_mul_ps(
                        _mm256_fmadd_ps(det.im, n.im, _mm256_mul_ps(det.re, n.re)),
                        rd,
                    ),
                    im: _mm256_mul_ps(
                        _mm256_fnmadd_ps(det.im, n.re, _mm256_mul_ps(det.re, n.im)),
                        rd,
                    ),
                };
                let a0 = _mm256_add_ps(g11, floor);
                let a1 = _mm256_add_ps(g00, floor);
                let f10 = _mm256_mul_ps(floor, _mm256_set1_ps(10.0));
                let sa0 = _mm256_mul_ps(sigma, a0);
                let sa1 = _mm256_mul_ps(sigma, a1);
                st_c::<false>(io.x.add(2 * re), u(n0));
                st_f::<false>(io.nv.add(re), nvar(sa0, a0, f10, d, rd));
                st_c::<false>(io.x.add(2 * (s + re)), u(n1));
                st_f::<false>(io.nv.add(s + re), nvar(sa1, a1, f10, d, rd));
            }
            re += 8;
        }
    }

    /// The library's 2-layer ZF kernel for 4 antennas
    /// (`lanes::kernels::detect_block_zf2`) with the channel read in format `H`.
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn zf24<H: Fmt>(io: &Io, noise: f32) {
        let s = io.n;
        let mut re = 0;
        while re < s {
            unsafe {
                let z = _mm256_setzero_ps();
                let (mut g00, mut g11, mut g10r, mut g10i) = (z, z, z, z);
                let (mut z0r, mut z0i, mut z1r, mut z1i) = (z, z, z, z);
                for a in 0..4 {
                    let h0 = H::ld(io.h, 2 * a * s + re);
                    let h1 = H::ld(io.h, (2 * a + 1) * s + re);
                    let y = F32::ld(io.y, a * s + re);
                    g00 = _mm256_fmadd_ps(h0.im, h0.im, _mm256_fmadd_ps(h0.re, h0.re, g00));
                    g11 = _mm256_fmadd_ps(h1.im, h1.im, _mm256_fmadd_ps(h1.re, h1.re, g11));
                    g10r = _mm256_fmadd_ps(h1.im, h0.im, _mm256_fmadd_ps(h1.re, h0.re, g10r));
                    g10i = _mm256_fnmadd_ps(h1.im, h0.re, _mm256_fmadd_ps(h1.re, h0.im, g10i));
                    z0r = _mm256_fmadd_ps(h0.im, y.im, _mm256_fmadd_ps(h0.re, y.re, z0r));
                    z0i = _mm256_fnmadd_ps(h0.im, y.re, _mm256_fmadd_ps(h0.re, y.im, z0i));
                    z1r = _mm256_fmadd_ps(h1.im, y.im, _mm256_fmadd_ps(h1.re, y.re, z1r));
                    z1i = _mm256_fnmadd_ps(h1.im, y.re, _mm256_fmadd_ps(h1.re, y.im, z1i));
                }
                let floor = _mm256_fmadd_ps(
                    _mm256_add_ps(g00, g11),
                    _mm256_set1_ps(REL / 2.0),
                    _mm256_set1_ps(ABS),
                );
                let sigma = _mm256_max_ps(_mm256_set1_ps(noise), floor);
                let a00 = _mm256_add_ps(g00, floor);
                let a11 = _mm256_add_ps(g11, floor);
                let det = _mm256_fnmadd_ps(g10r, g10r, _mm256_mul_ps(a00, a11));
                let det = _mm256_fnmadd_ps(g10i, g10i, det);
                let det = _mm256_max_ps(det, _mm256_mul_ps(floor, _mm256_max_ps(a00, a11)));
                let rd = _mm256_rcp_ps(det);
                // x0 = a11 z0 - conj(g10) z1, x1 = a00 z1 - g10 z0, then / det.
                let x0r = _mm256_fnmadd_ps(
                    g10i,
                    z1i,
                    _mm256_fnmadd_ps(g10r, z1r, _mm256_mul_ps(z0r, a11)),
                );
                let x0i = _mm256_fmadd_ps(
                    g10i,
                    z1r,
                    _mm256_fnmadd_ps(g10r, z1i, _mm256_mul_ps(z0i, a11)),
                );
                let x1r = _mm256_fmadd_ps(
                    g10i,
                    z0i,
                    _mm256_fnmadd_ps(g10r, z0r, _mm256_mul_ps(z1r, a00)),
                );
                let x1i = _mm256_fnmadd_ps(
                    g10i,
                    z0r,
                    _mm256_fnmadd_ps(g10r, z0i, _mm256_mul_ps(z1i, a00)),
                );
                let f10 = _mm256_mul_ps(floor, _mm256_set1_ps(10.0));
                let sa0 = _mm256_mul_ps(sigma, a11);
                let sa1 = _mm256_mul_ps(sigma, a00);
                let x0 = Cv {
                    re: _mm256_mul_ps(x0r, rd),
                    im: _mm256_mul_ps(x0i, rd),
                };
                let x1 = Cv {
                    re: _mm256_mul_ps(x1r, rd),
                    im: _mm256_mul_ps(x1i, rd),
                };
                st_c::<false>(io.x.add(2 * re), x0);
                st_f::<false>(io.nv.add(re), nvar(sa0, a11, f10, det, rd));
                st_c::<false>(io.x.add(2 * (s + re)), x1);
                st_f::<false>(io.nv.add(s + re), nvar(sa1, a00, f10, det, rd));
            }
            re += 8;
        }
    }

    /// `zf24::<F32>` with the Gram and matched-filter sums accumulated on
    /// the interleaved vectors as loaded (products `a b` whose pair sums are
    /// `Re(conj(a) b)`, and `a swap(b)` whose pair differences are
    /// `Im(conj(a) b)`), pair-reduced once per 8 REs (`HALVES` = process the
    /// two 4-RE halves one after the other, else both at once).
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn zf24il<const HALVES: bool>(io: &Io, noise: f32) {
        let s = io.n;
        let hp = io.h as *const f32;
        let yp = io.y as *const f32;
        let mut re = 0;
        while re < s {
            unsafe {
                let mut acc = [[_mm256_setzero_ps(); 8]; 2];
                let step = |acc: &mut [__m256; 8], a: usize, off: usize| {
                    let h0 = _mm256_loadu_ps(hp.add(2 * (2 * a * s) + off));
                    let h1 = _mm256_loadu_ps(hp.add(2 * ((2 * a + 1) * s) + off));
                    let y = _mm256_loadu_ps(yp.add(2 * (a * s) + off));
                    let h0s = _mm256_permute_ps::<0xB1>(h0);
                    let ys = _mm256_permute_ps::<0xB1>(y);
                    acc[0] = _mm256_fmadd_ps(h0, h0, acc[0]);
                    acc[1] = _mm256_fmadd_ps(h1, h1, acc[1]);
                    acc[2] = _mm256_fmadd_ps(h1, h0, acc[2]);
                    acc[3] = _mm256_fmadd_ps(h1, h0s, acc[3]);
                    acc[4] = _mm256_fmadd_ps(h0, y, acc[4]);
                    acc[5] = _mm256_fmadd_ps(h0, ys, acc[5]);
                    acc[6] = _mm256_fmadd_ps(h1, y, acc[6]);
                    acc[7] = _mm256_fmadd_ps(h1, ys, acc[7]);
                };
                if HALVES {
                    for (half, ah) in acc.iter_mut().enumerate() {
                        for a in 0..4 {
                            step(ah, a, 2 * re + 8 * half);
                        }
                    }
                } else {
                    for a in 0..4 {
                        for (half, ah) in acc.iter_mut().enumerate() {
                            step(ah, a, 2 * re + 8 * half);
                        }
                    }
                }
                let [lo, hi] = acc;
                let g00 = _mm256_hadd_ps(lo[0], hi[0]);
                let g11 = _mm256_hadd_ps(lo[1], hi[1]);
                let g10r = _mm256_hadd_ps(lo[2], hi[2]);
                let g10i = _mm256_hsub_ps(lo[3], hi[3]);
                let z0r = _mm256_hadd_ps(lo[4], hi[4]);
                let z0i = _mm256_hsub_ps(lo[5], hi[5]);
                let z1r = _mm256_hadd_ps(lo[6], hi[6]);
                let z1i = _mm256_hsub_ps(lo[7], hi[7]);
                zf2_tail::<false>(io, re, noise, g00, g11, g10r, g10i, z0r, z0i, z1r, z1i);
            }
            re += 8;
        }
    }

    /// As [`zf24il`], reduced with blends and one in-lane swap per sum:
    /// lanes hold REs 0,4,1,5,2,6,3,7 (the stores undo it).
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn zf24il2(io: &Io, noise: f32) {
        let s = io.n;
        let hp = io.h as *const f32;
        let yp = io.y as *const f32;
        let mut re = 0;
        while re < s {
            unsafe {
                let mut acc = [[_mm256_setzero_ps(); 8]; 2];
                for a in 0..4 {
                    for (half, ah) in acc.iter_mut().enumerate() {
                        let off = 2 * re + 8 * half;
                        let h0 = _mm256_loadu_ps(hp.add(2 * (2 * a * s) + off));
                        let h1 = _mm256_loadu_ps(hp.add(2 * ((2 * a + 1) * s) + off));
                        let y = _mm256_loadu_ps(yp.add(2 * (a * s) + off));
                        let h0s = _mm256_permute_ps::<0xB1>(h0);
                        let ys = _mm256_permute_ps::<0xB1>(y);
                        ah[0] = _mm256_fmadd_ps(h0, h0, ah[0]);
                        ah[1] = _mm256_fmadd_ps(h1, h1, ah[1]);
                        ah[2] = _mm256_fmadd_ps(h1, h0, ah[2]);
                        ah[4] = _mm256_fmadd_ps(h0, y, ah[4]);
                        ah[6] = _mm256_fmadd_ps(h1, y, ah[6]);
                        if half == 0 {
                            ah[3] = _mm256_fmadd_ps(h1, h0s, ah[3]);
                            ah[5] = _mm256_fmadd_ps(h0, ys, ah[5]);
                            ah[7] = _mm256_fmadd_ps(h1, ys, ah[7]);
                        } else {
                            ah[3] = _mm256_fnmadd_ps(h1, h0s, ah[3]);
                            ah[5] = _mm256_fnmadd_ps(h0, ys, ah[5]);
                            ah[7] = _mm256_fnmadd_ps(h1, ys, ah[7]);
                        }
                    }
                }
                let [lo, hi] = acc;
                let red = |k: usize| {
                    let t = _mm256_blend_ps::<0xAA>(lo[k], hi[k]);
                    let u = _mm256_permute_ps::<0xB1>(_mm256_blend_ps::<0xAA>(hi[k], lo[k]));
                    // Odd k > 1 are the imaginary parts (pair differences;
                    // the second half's were accumulated negated).
                    if k % 2 == 1 && k > 1 {
                        _mm256_sub_ps(t, u)
                    } else {
                        _mm256_add_ps(t, u)
                    }
                };
                let (g00, g11, g10r, g10i) = (red(0), red(1), red(2), red(3));
                let (z0r, z0i, z1r, z1i) = (red(4), red(5), red(6), red(7));
                zf2_tail::<true>(io, re, noise, g00, g11, g10r, g10i, z0r, z0i, z1r, z1i);
            }
            re += 8;
        }
    }

    /// The closed-form 2x2 solve and stores of [`zf24`] from its sums, the
    /// same operations; lanes hold REs 0,1,4,5,2,3,6,7 (as `F32::ld`'s), or
    /// 0,4,1,5,2,6,3,7 with `ODD`.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    unsafe fn zf2_tail<const ODD: bool>(
        io: &Io,
        re: usize,
        noise: f32,
        g00: __m256,
        g11: __m256,
        g10r: __m256,
        g10i: __m256,
        z0r: __m256,
        z0i: __m256,
        z1r: __m256,
        z1i: __m256,
    ) {
        let s = io.n;
        unsafe {
            let floor = _mm256_fmadd_ps(
                _mm256_add_ps(g00, g11),
                _mm256_set1_ps(REL / 2.0),
                _mm256_set1_ps(ABS),
            );
            let sigma = _mm256_max_ps(_mm256_set1_ps(noise), floor);
            let a00 = _mm256_add_ps(g00, floor);
            let a11 = _mm256_add_ps(g11, floor);
            let det = _mm256_fnmadd_ps(g10r, g10r, _mm256_mul_ps(a00, a11));
            let det = _mm256_fnmadd_ps(g10i, g10i, det);
            let det = _mm256_max_ps(det, _mm256_mul_ps(floor, _mm256_max_ps(a00, a11)));
            let rd = _mm256_rcp_ps(det);
            let x0r = _mm256_fnmadd_ps(
                g10i,
                z1i,
                _mm256_fnmadd_ps(g10r, z1r, _mm256_mul_ps(z0r, a11)),
            );
            let x0i = _mm256_fmadd_ps(
                g10i,
                z1r,
                _mm256_fnmadd_ps(g10r, z1i, _mm256_mul_ps(z0i, a11)),
            );
            let x1r = _mm256_fmadd_ps(
                g10i,
                z0i,
                _mm256_fnmadd_ps(g10r, z0r, _mm256_mul_ps(z1r, a00)),
            );
            let x1i = _mm256_fnmadd_ps(
                g10i,
                z0r,
                _mm256_fnmadd_ps(g10r, z0i, _mm256_mul_ps(z1i, a00)),
            );
            let f10 = _mm256_mul_ps(floor, _mm256_set1_ps(10.0));
            let sa0 = _mm256_mul_ps(sigma, a11);
            let sa1 = _mm256_mul_ps(sigma, a00);
            let x0 = Cv {
                re: _mm256_mul_ps(x0r, rd),
                im: _mm256_mul_ps(x0i, rd),
            };
            let x1 = Cv {
                re: _mm256_mul_ps(x1r, rd),
                im: _mm256_mul_ps(x1i, rd),
            };
            let n0 = nvar(sa0, a11, f10, det, rd);
            let n1 = nvar(sa1, a00, f10, det, rd);
            if ODD {
                let sc = |p: *mut f32, c: Cv| {
                    let lo = _mm256_blend_ps::<0xAA>(c.re, _mm256_permute_ps::<0xB1>(c.im));
                    let hi = _mm256_blend_ps::<0xAA>(_mm256_permute_ps::<0xB1>(c.re), c.im);
                    _mm256_storeu_ps(p, lo);
                    _mm256_storeu_ps(p.add(8), hi);
                };
                let idx = _mm256_setr_epi32(0, 2, 4, 6, 1, 3, 5, 7);
                sc(io.x.add(2 * re), x0);
                _mm256_storeu_ps(io.nv.add(re), _mm256_permutevar8x32_ps(n0, idx));
                sc(io.x.add(2 * (s + re)), x1);
                _mm256_storeu_ps(io.nv.add(s + re), _mm256_permutevar8x32_ps(n1, idx));
            } else {
                st_c::<false>(io.x.add(2 * re), x0);
                st_f::<false>(io.nv.add(re), n0);
                st_c::<false>(io.x.add(2 * (s + re)), x1);
                st_f::<false>(io.nv.add(s + re), n1);
            }
        }
    }

    struct Case {
        name: String,
        res: usize,
        reps: usize,
        run: Box<dyn FnMut()>,
        samples: Vec<f64>,
    }

    fn detector_case(
        tag: &str,
        eq: Equalizer,
        layers: usize,
        ants: usize,
        n: usize,
        reps: usize,
    ) -> Case {
        let mut seed = 0x1234_5678_9abc_def1 ^ (n * 31 + ants) as u64;
        let mut c = |len: usize| -> Vec<Complex32> {
            (0..len)
                .map(|_| Complex32::new(uniform(&mut seed), uniform(&mut seed)))
                .collect()
        };
        let h = c(layers * ants * n);
        let y = c(ants * n);
        let mut x = vec![Complex32::new(0.0, 0.0); layers * n];
        let mut v = vec![0.0f32; layers * n];
        let det = Detector::new(ants, layers, eq).expect("valid size");
        let kind = if eq == Equalizer::Zf { "zf" } else { "mmse" };
        Case {
            name: format!("det-{kind}-{layers}x{ants}-{tag}"),
            res: n,
            reps,
            run: Box::new(move || {
                det.detect(&y, &h, 0.05, &mut x, &mut v)
                    .expect("valid buffers");
                std::hint::black_box((&x, &v));
            }),
            samples: Vec::new(),
        }
    }

    /// Fills planes in format `H` (blocked layouts hold the same random
    /// numbers in another order; only the byte count matters here).
    fn planes<H: Fmt>(len: usize, seed: &mut u64) -> Buf {
        let v: Vec<f32> = (0..2 * len).map(|_| uniform(seed)).collect();
        let mut b = Buf::new(2 * len);
        // SAFETY: `b` holds at least 2 len f32s (or twice as many u16s).
        unsafe {
            if H::F16 {
                let q = b.ptr_mut() as *mut u16;
                for (i, x) in v.iter().enumerate() {
                    *q.add(i) = f16_bits(*x);
                }
            } else {
                std::ptr::copy_nonoverlapping(v.as_ptr(), b.ptr_mut(), v.len());
            }
        }
        b
    }

    type Kernel = unsafe fn(&Io, f32);

    fn kernel_case<H: Fmt, Y: Fmt>(
        name: String,
        ants: usize,
        n: usize,
        reps: usize,
        k: Kernel,
    ) -> Case {
        let mut seed = 0x9876_5432_1fed_cba1 ^ n as u64;
        let h = planes::<H>(2 * ants * n, &mut seed);
        let y = planes::<Y>(ants * n, &mut seed);
        let mut x = Buf::new(4 * n);
        let mut v = Buf::new(2 * n);
        Case {
            name,
            res: n,
            reps,
            run: Box::new(move || {
                let io = Io {
                    n,
                    y: y.ptr(),
                    h: h.ptr(),
                    x: x.ptr_mut(),
                    nv: v.ptr_mut(),
                };
                // SAFETY: the CPU features were checked in main; the planes
                // hold the 2 x ants (h), ants (y) and 2 (x, v) planes of n REs.
                unsafe { k(&io, 0.05) };
                std::hint::black_box((&x.0, &v.0));
            }),
            samples: Vec::new(),
        }
    }

    macro_rules! copy_kernel {
        ($h:ty, $na:literal, $nt:literal) => {{
            unsafe fn k(io: &Io, _noise: f32) {
                // SAFETY: forwarded from the case's caller.
                unsafe { copy::<$h, $na, $nt>(io) }
            }
            k as Kernel
        }};
    }

    pub fn main() {
        if !(is_x86_feature_detected!("avx2")
            && is_x86_feature_detected!("fma")
            && is_x86_feature_detected!("f16c"))
        {
            println!("mimo_floor needs AVX2, FMA and F16C; this CPU lacks one: nothing measured");
            return;
        }
        let args: Vec<String> = std::env::args().collect();
        let filter = args.get(1).cloned().unwrap_or_default();
        let rounds: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(200);
        let mut cases = Vec::new();
        for (tag, prb, reps) in [("L1", 2, 100), ("L2", 24, 5), ("slot", 106, 1)] {
            let n = prb * 12 * 14;
            for (l, a) in [(1, 1), (2, 2), (2, 4)] {
                cases.push(detector_case(tag, Equalizer::Zf, l, a, n, reps));
            }
            for (l, a) in [(1, 4), (4, 4), (4, 8)] {
                cases.push(detector_case(tag, Equalizer::Mmse, l, a, n, reps));
            }
            let name = |s: &str| format!("{s}-{tag}");
            cases.push(kernel_case::<F32, F32>(
                name("copy-2x2-f32"),
                2,
                n,
                reps,
                copy_kernel!(F32, 2, false),
            ));
            cases.push(kernel_case::<F32, F32>(
                name("copy-2x2-f32-nt"),
                2,
                n,
                reps,
                copy_kernel!(F32, 2, true),
            ));
            cases.push(kernel_case::<F16, F16>(
                name("copy-2x2-f16"),
                2,
                n,
                reps,
                copy_kernel!(F16, 2, false),
            ));
            cases.push(kernel_case::<F32, F32>(
                name("copy-2x4-f32"),
                4,
                n,
                reps,
                copy_kernel!(F32, 4, false),
            ));
            cases.push(kernel_case::<F32, F32>(
                name("copy-2x4-f32-nt"),
                4,
                n,
                reps,
                copy_kernel!(F32, 4, true),
            ));
            cases.push(kernel_case::<F16, F16>(
                name("copy-2x4-f16"),
                4,
                n,
                reps,
                copy_kernel!(F16, 4, false),
            ));
            cases.push(kernel_case::<F32, F32>(
                name("zf-2x2-f32"),
                2,
                n,
                reps,
                zf22::<F32>,
            ));
            cases.push(kernel_case::<F16B, F32>(
                name("zf-2x2-h16b"),
                2,
                n,
                reps,
                zf22::<F16B>,
            ));
            cases.push(kernel_case::<F32, F32>(
                name("zf-2x4-f32"),
                4,
                n,
                reps,
                zf24::<F32>,
            ));
            cases.push(kernel_case::<F32, F32>(
                name("zf-2x4-il"),
                4,
                n,
                reps,
                zf24il::<false>,
            ));
            cases.push(kernel_case::<F32, F32>(
                name("zf-2x4-ilb"),
                4,
                n,
                reps,
                zf24il2,
            ));
            cases.push(kernel_case::<F32, F32>(
                name("zf-2x4-ilh"),
                4,
                n,
                reps,
                zf24il::<true>,
            ));
            cases.push(kernel_case::<F16B, F32>(
                name("zf-2x4-h16b"),
                4,
                n,
                reps,
                zf24::<F16B>,
            ));
        }
        if std::env::var_os("MIMO_FLOOR_CHECK").is_some() {
            let n = 336;
            let mut seed = 77u64;
            let h = planes::<F32>(8 * n, &mut seed);
            let y = planes::<F32>(4 * n, &mut seed);
            let ks: [Kernel; 4] = [zf24::<F32>, zf24il::<false>, zf24il::<true>, zf24il2];
            let mut outs = Vec::new();
            for k in ks {
                let mut x = Buf::new(4 * n);
                let mut v = Buf::new(2 * n);
                let io = Io {
                    n,
                    y: y.ptr(),
                    h: h.ptr(),
                    x: x.ptr_mut(),
                    nv: v.ptr_mut(),
                };
                // SAFETY: features checked above; buffers sized as in kernel_case.
                unsafe { k(&io, 0.05) };
                // SAFETY: the buffers hold at least 4 n and 2 n f32s.
                let xs: Vec<f32> =
                    unsafe { std::slice::from_raw_parts(x.ptr() as *const f32, 4 * n) }.to_vec();
                let vs: Vec<f32> =
                    unsafe { std::slice::from_raw_parts(v.ptr() as *const f32, 2 * n) }.to_vec();
                outs.push((xs, vs));
            }
            for (i, o) in outs.iter().enumerate().skip(1) {
                let dx =
                    o.0.iter()
                        .zip(&outs[0].0)
                        .map(|(a, b)| (a - b).abs() / (1.0 + b.abs()))
                        .fold(0.0f32, f32::max);
                let dv =
                    o.1.iter()
                        .zip(&outs[0].1)
                        .map(|(a, b)| (a - b).abs() / (1e-3 + b.abs()))
                        .fold(0.0f32, f32::max);
                println!("variant {i}: max rel diff x {dx:e} nv {dv:e}");
            }
        }
        cases.retain(|c| filter.split(',').any(|f| c.name.contains(f)));
        if let Some(core) = core_affinity::get_core_ids().and_then(|c| c.last().copied()) {
            core_affinity::set_for_current(core);
        }
        for _ in 0..rounds {
            for c in cases.iter_mut() {
                (c.run)();
                let t = Instant::now();
                for _ in 0..c.reps {
                    (c.run)();
                }
                c.samples
                    .push(t.elapsed().as_secs_f64() * 1e6 / c.reps as f64);
            }
        }
        println!(
            "{:<22} {:>6}  {:>10}  {:>8}  {:>8}",
            "case", "REs", "median us", "MRE/s", "p10 MRE/s"
        );
        for c in cases.iter_mut() {
            c.samples.sort_by(f64::total_cmp);
            let med = c.samples[c.samples.len() / 2];
            let p10 = c.samples[c.samples.len() / 10];
            println!(
                "{:<22} {:>6}  {:>10.2}  {:>8.1}  {:>8.1}",
                c.name,
                c.res,
                med,
                c.res as f64 / med,
                c.res as f64 / p10
            );
        }
    }
}

fn main() {
    #[cfg(target_arch = "x86_64")]
    probe::main();
    #[cfg(not(target_arch = "x86_64"))]
    println!("mimo_floor measures x86-64 kernels; nothing to do on this architecture");
}
