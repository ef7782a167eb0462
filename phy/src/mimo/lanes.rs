//! The shared skeleton of the MIMO kernels, written once over a lane type.
//!
//! One lane holds one resource element (detection) or one PRB group
//! (precoding): the algorithm works on structure-of-arrays complex values
//! `C { re, im }` whose parts are vectors of `W` lanes. Each instruction set
//! supplies only [`Lanes`] (arithmetic, reciprocal, select, and the
//! interleaved-complex loads and stores); `f32` is the portable scalar twin
//! with one lane. Everything here is `#[inline(always)]` so it is compiled
//! inside the `#[target_feature]` entry points of `simd::{avx2,avx512}::mimo`.
//!
//! The linear algebra is an LDL^H factorisation of the regularised Gram
//! matrix `A = H^H H + r I` (no square roots), a forward/backward solve and
//! the diagonal of `A^-1` from the inverse of the unit lower factor.

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

/// The largest number of layers (detection) or users (precoding).
pub(crate) const MAX_LAYERS: usize = 16;

/// Regularisation floor relative to the mean diagonal of the Gram matrix:
/// keeps the factorisation finite for singular and zero channels. At 1e-6 it
/// is below f32 resolution for any channel the Gram matrix can resolve.
pub(crate) const REL_FLOOR: f32 = 1e-6;
/// Absolute floor added to the relative one (an all-zero channel); large
/// enough that its square (the 2-layer determinant) is a normal f32.
pub(crate) const ABS_FLOOR: f32 = 1e-18;
/// Noise variance reported for a layer that carries no information.
pub(crate) const ZERO_CONFIDENCE: f32 = 1e20;
/// MMSE: bias `beta` below this means the layer is unresolvable.
const MIN_BETA: f32 = 1e-4;
/// ZF: a layer whose `[A^-1]_ll * floor` exceeds this sits on the floor.
const ZF_DEGENERATE: f32 = 0.1;

// ---- complex helpers ------------------------------------------------------

/// `acc + conj(a) * b`.
#[inline(always)]
pub(crate) unsafe fn cmac_conj<V: Lanes>(acc: C<V>, a: C<V>, b: C<V>) -> C<V> {
    unsafe {
        let re = a.re.mul_add(b.re, acc.re);
        let re = a.im.mul_add(b.im, re);
        let im = a.re.mul_add(b.im, acc.im);
        let im = a.im.neg_mul_add(b.re, im);
        C { re, im }
    }
}

/// `acc - a * b`.
#[inline(always)]
pub(crate) unsafe fn cmsub<V: Lanes>(acc: C<V>, a: C<V>, b: C<V>) -> C<V> {
    unsafe {
        let re = a.re.neg_mul_add(b.re, acc.re);
        let re = a.im.mul_add(b.im, re);
        let im = a.re.neg_mul_add(b.im, acc.im);
        let im = a.im.neg_mul_add(b.re, im);
        C { re, im }
    }
}

/// `acc - a * conj(b)`.
#[inline(always)]
pub(crate) unsafe fn cmsub_conj<V: Lanes>(acc: C<V>, a: C<V>, b: C<V>) -> C<V> {
    unsafe {
        let re = a.re.neg_mul_add(b.re, acc.re);
        let re = a.im.neg_mul_add(b.im, re);
        let im = a.im.neg_mul_add(b.re, acc.im);
        let im = a.re.mul_add(b.im, im);
        C { re, im }
    }
}

/// `a + b`.
#[inline(always)]
pub(crate) unsafe fn cadd<V: Lanes>(a: C<V>, b: C<V>) -> C<V> {
    unsafe {
        C {
            re: a.re.add(b.re),
            im: a.im.add(b.im),
        }
    }
}

/// `a * s` for a real `s`.
#[inline(always)]
pub(crate) unsafe fn cscale<V: Lanes>(a: C<V>, s: V) -> C<V> {
    unsafe {
        C {
            re: a.re.mul(s),
            im: a.im.mul(s),
        }
    }
}

#[inline(always)]
pub(crate) unsafe fn czero<V: Lanes>() -> C<V> {
    unsafe {
        C {
            re: V::splat(0.0),
            im: V::splat(0.0),
        }
    }
}

/// `|a|^2`.
#[inline(always)]
pub(crate) unsafe fn cnorm<V: Lanes>(a: C<V>) -> V {
    unsafe { a.re.mul_add(a.re, a.im.mul(a.im)) }
}

// ---- factorisation and solve ---------------------------------------------

/// `A = G + reg I` factored as `L D L^H` in place: on return `g[i][j]`
/// (`i > j`) holds `L_ij` and `r[j]` holds `1 / d_j`. Pivots are clamped to
/// at least `floor` so every entry stays finite. `g` holds the lower
/// triangle of the Hermitian `G` (diagonal in `re`).
#[inline(always)]
pub(crate) unsafe fn ldl<V: Lanes, const M: usize>(
    l: usize,
    g: &mut [[C<V>; M]; M],
    r: &mut [V; M],
    reg: V,
    floor: V,
) {
    unsafe {
        // t[i][k] = L_ik d_k kept in `t` while g[i][j] becomes L_ij.
        let mut t = [[czero::<V>(); M]; M];
        for j in 0..l {
            let mut d = g[j][j].re.add(reg);
            for k in 0..j {
                // Re(t_jk conj(L_jk))
                d = t[j][k].re.neg_mul_add(g[j][k].re, d);
                d = t[j][k].im.neg_mul_add(g[j][k].im, d);
            }
            d = d.max(floor);
            let rj = d.recip();
            r[j] = rj;
            for i in j + 1..l {
                let mut acc = g[i][j];
                for k in 0..j {
                    acc = cmsub_conj(acc, t[i][k], g[j][k]);
                }
                t[i][j] = acc;
                g[i][j] = cscale(acc, rj);
            }
        }
    }
}

/// Solves `L D L^H x = z` with the factor from [`ldl`]; `z` becomes `x`.
#[inline(always)]
pub(crate) unsafe fn solve<V: Lanes, const M: usize>(
    l: usize,
    f: &[[C<V>; M]; M],
    r: &[V; M],
    z: &mut [C<V>; M],
) {
    if M <= 4 {
        // Up to 4 layers the sums are at most 3 terms long.
        unsafe { solve_short(l, f, r, z) };
        return;
    }
    // Each substitution sum runs in four interleaved partial sums: one sum
    // is a chain of dependent FMAs, which left the many-layer solves
    // (precoder: one per antenna) latency bound.
    unsafe {
        for i in 0..l {
            let mut acc = [z[i], czero::<V>(), czero::<V>(), czero::<V>()];
            let mut k = 0;
            while k + 3 < i {
                for (q, a) in acc.iter_mut().enumerate() {
                    *a = cmsub(*a, f[i][k + q], z[k + q]);
                }
                k += 4;
            }
            for (q, kk) in (k..i).enumerate() {
                acc[q] = cmsub(acc[q], f[i][kk], z[kk]);
            }
            z[i] = cadd(cadd(acc[0], acc[1]), cadd(acc[2], acc[3]));
        }
        for i in 0..l {
            z[i] = cscale(z[i], r[i]);
        }
        for i in (0..l).rev() {
            // x_i -= conj(L_ki) x_k
            let mut acc = [z[i], czero::<V>(), czero::<V>(), czero::<V>()];
            let mut k = i + 1;
            while k + 3 < l {
                for (q, a) in acc.iter_mut().enumerate() {
                    *a = cmsub_conj_left(*a, f[k + q][i], z[k + q]);
                }
                k += 4;
            }
            for (q, kk) in (k..l).enumerate() {
                acc[q] = cmsub_conj_left(acc[q], f[kk][i], z[kk]);
            }
            z[i] = cadd(cadd(acc[0], acc[1]), cadd(acc[2], acc[3]));
        }
    }
}

/// [`solve`] with one running sum per row (short rows).
#[inline(always)]
unsafe fn solve_short<V: Lanes, const M: usize>(
    l: usize,
    f: &[[C<V>; M]; M],
    r: &[V; M],
    z: &mut [C<V>; M],
) {
    unsafe {
        for i in 0..l {
            let mut u = z[i];
            for k in 0..i {
                u = cmsub(u, f[i][k], z[k]);
            }
            z[i] = u;
        }
        for i in 0..l {
            z[i] = cscale(z[i], r[i]);
        }
        for i in (0..l).rev() {
            let mut x = z[i];
            for k in i + 1..l {
                // x_i -= conj(L_ki) x_k
                x = cmsub_conj_left(x, f[k][i], z[k]);
            }
            z[i] = x;
        }
    }
}

/// Solves `L D L^H x_t = z_t` for `T` right-hand sides at once (the
/// precoder's antennas), one running sum per row and right-hand side. The
/// `T` sums of a row are independent chains that share each factor entry
/// (loaded once for all of them), so the substitution is neither latency
/// bound (a single solve's chain of dependent FMAs) nor load bound (a
/// factor load per complex multiply).
#[inline(always)]
pub(crate) unsafe fn solve_multi<V: Lanes, const M: usize, const T: usize>(
    l: usize,
    f: &[[C<V>; M]; M],
    r: &[V; M],
    z: &mut [[C<V>; M]; T],
) {
    unsafe {
        for i in 0..l {
            let mut acc: [C<V>; T] = core::array::from_fn(|t| z[t][i]);
            for k in 0..i {
                let fik = f[i][k];
                for (a, zt) in acc.iter_mut().zip(z.iter()) {
                    *a = cmsub(*a, fik, zt[k]);
                }
            }
            for (a, zt) in acc.iter().zip(z.iter_mut()) {
                zt[i] = *a;
            }
        }
        for zt in z.iter_mut() {
            for i in 0..l {
                zt[i] = cscale(zt[i], r[i]);
            }
        }
        for i in (0..l).rev() {
            // x_i -= conj(L_ki) x_k
            let mut acc: [C<V>; T] = core::array::from_fn(|t| z[t][i]);
            for k in i + 1..l {
                let fki = f[k][i];
                for (a, zt) in acc.iter_mut().zip(z.iter()) {
                    *a = cmsub_conj_left(*a, fki, zt[k]);
                }
            }
            for (a, zt) in acc.iter().zip(z.iter_mut()) {
                zt[i] = *a;
            }
        }
    }
}

/// `acc - conj(a) * b`.
#[inline(always)]
unsafe fn cmsub_conj_left<V: Lanes>(acc: C<V>, a: C<V>, b: C<V>) -> C<V> {
    unsafe {
        let re = a.re.neg_mul_add(b.re, acc.re);
        let re = a.im.neg_mul_add(b.im, re);
        let im = a.re.neg_mul_add(b.im, acc.im);
        let im = a.im.mul_add(b.re, im);
        C { re, im }
    }
}

/// The diagonal of `A^-1 = L^-H D^-1 L^-1`: `[A^-1]_jj = sum_i |M_ij|^2 / d_i`
/// with `M = L^-1` (unit lower triangular), built one column at a time.
#[inline(always)]
pub(crate) unsafe fn inv_diag<V: Lanes, const M: usize>(
    l: usize,
    f: &[[C<V>; M]; M],
    r: &[V; M],
    out: &mut [V; M],
) {
    unsafe {
        for j in 0..l {
            let mut m = [czero::<V>(); M];
            let mut acc = r[j];
            for i in j + 1..l {
                // m_i = -(L_ij + sum_{k=j+1}^{i-1} L_ik m_k)
                let mut s = f[i][j];
                for k in j + 1..i {
                    s = cmac_plain(s, f[i][k], m[k]);
                }
                let mi = C {
                    re: V::splat(0.0).sub(s.re),
                    im: V::splat(0.0).sub(s.im),
                };
                m[i] = mi;
                acc = cnorm(mi).mul_add(r[i], acc);
            }
            out[j] = acc;
        }
    }
}

/// `acc + a * b`.
#[inline(always)]
pub(crate) unsafe fn cmac_plain<V: Lanes>(acc: C<V>, a: C<V>, b: C<V>) -> C<V> {
    unsafe {
        let re = a.re.mul_add(b.re, acc.re);
        let re = a.im.neg_mul_add(b.im, re);
        let im = a.re.mul_add(b.im, acc.im);
        let im = a.im.mul_add(b.re, im);
        C { re, im }
    }
}

// ---- detection -----------------------------------------------------------

/// Parameters of one detection call (per-RE channel).
#[derive(Clone, Copy, Debug)]
pub(crate) struct DetectParams {
    /// Receive antennas.
    pub n_rx: usize,
    /// Layers.
    pub n_layers: usize,
    /// Distance between antenna (y) and (antenna, layer) planes (h), and
    /// between layer planes of the outputs, in elements.
    pub stride: usize,
    /// Noise variance per receive antenna (unit-power symbols).
    pub noise_var: f32,
    /// Zero forcing (true) or MMSE (false).
    pub zf: bool,
}

/// Detects the `V::W` REs starting at `re`. `M` bounds the layers (`l <= M`);
/// with `l == M` and a constant `n` after inlining, the loops unroll.
///
/// # Safety
/// The planes of `y`, `h`, `x`, `nv` must hold `re + V::W` elements (see
/// [`DetectParams`]), and the target features of `V` must be available.
#[inline(always)]
pub(crate) unsafe fn detect_block<V: Lanes, const M: usize>(
    p: &DetectParams,
    n: usize,
    l: usize,
    y: *const Complex32,
    h: *const Complex32,
    x: *mut Complex32,
    nv: *mut f32,
    re: usize,
) {
    unsafe {
        let s = p.stride;
        let mut g = [[czero::<V>(); M]; M];
        let mut z = [czero::<V>(); M];
        if M > 4 {
            gram_tiled::<V, M, true>(n, l, y, h, s, re, &mut g, &mut z);
        } else {
            for a in 0..n {
                let ya = V::load_c(y.add(a * s + re));
                let mut hr = [czero::<V>(); M];
                for (i, hi) in hr.iter_mut().enumerate().take(l) {
                    *hi = V::load_c(h.add((a * l + i) * s + re));
                }
                for i in 0..l {
                    z[i] = cmac_conj(z[i], hr[i], ya);
                    g[i][i].re = hr[i].re.mul_add(hr[i].re, g[i][i].re);
                    g[i][i].re = hr[i].im.mul_add(hr[i].im, g[i][i].re);
                    for j in 0..i {
                        g[i][j] = cmac_conj(g[i][j], hr[i], hr[j]);
                    }
                }
            }
        }
        let mut tr = g[0][0].re;
        for i in 1..l {
            tr = tr.add(g[i][i].re);
        }
        let floor = tr
            .mul(V::splat(REL_FLOOR / l as f32))
            .add(V::splat(ABS_FLOOR));
        let sigma = V::splat(p.noise_var.max(0.0)).max(floor);
        let reg = if p.zf { floor } else { sigma };
        let mut r = [V::splat(0.0); M];
        ldl(l, &mut g, &mut r, reg, floor);
        solve(l, &g, &r, &mut z);
        let mut ginv = [V::splat(0.0); M];
        inv_diag(l, &g, &r, &mut ginv);
        for k in 0..l {
            let (xk, nk) = finish(p.zf, z[k], ginv[k], sigma, floor);
            V::store_c(x.add(k * s + re), xk);
            V::store_f(nv.add(k * s + re), nk);
        }
    }
}

/// Antennas per chunk of [`gram_tiled`]: the chunk of `h` (up to
/// `GRAM_CHUNK x M` complex vectors, 16 KB for 16 layers of AVX2) is copied
/// into a contiguous buffer that stays in L1.
const GRAM_CHUNK: usize = 16;

/// The Gram matrix `g[i][j] = sum_a conj(h_ai) h_aj` (lower triangle,
/// diagonal in `re`) and the matched filter `z[i] = sum_a conj(h_ai) y_a`,
/// register-tiled for many layers. The per-RE planes of a 64 x 16 channel
/// are 1,024 separate planes: touching each once per chunk and working from
/// a contiguous copy avoids re-walking a thousand pages per tile, and 2 x 2
/// tiles keep their accumulators in registers instead of updating the whole
/// triangle in memory for every antenna (which made the large sizes
/// load/store bound). Every entry is summed over the antennas in ascending
/// order with the same operations as the per-antenna loop, so the results
/// are identical. Without `MF` the matched filter is skipped (`y` and `z`
/// are not touched; the precoder).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn gram_tiled<V: Lanes, const M: usize, const MF: bool>(
    n: usize,
    l: usize,
    y: *const Complex32,
    h: *const Complex32,
    s: usize,
    re: usize,
    g: &mut [[C<V>; M]; M],
    z: &mut [C<V>; M],
) {
    unsafe {
        let mut hb = [[czero::<V>(); M]; GRAM_CHUNK];
        let mut yb = [czero::<V>(); GRAM_CHUNK];
        // The planes are far apart (one per antenna and layer), so no
        // hardware prefetcher follows them: ask for the block after next
        // while this one computes (a 64 x 16 block is ~20k cycles of work
        // against ~1k cache lines to fetch).
        let ahead = 2 * V::W;
        let mut a0 = 0;
        while a0 < n {
            let na = (n - a0).min(GRAM_CHUNK);
            for k in 0..na {
                let a = a0 + k;
                if MF {
                    yb[k] = V::load_c(y.add(a * s + re));
                    V::prefetch(y.wrapping_add(a * s + re + ahead));
                }
                for (i, hv) in hb[k].iter_mut().enumerate().take(l) {
                    let q = h.add((a * l + i) * s + re);
                    *hv = V::load_c(q);
                    V::prefetch(q.wrapping_add(ahead));
                }
            }
            gram_chunk::<V, M, MF>(&hb[..na], &yb[..na], l, g, z);
            a0 += na;
        }
    }
}

/// The Gram (and with `MF` matched-filter) sums of [`gram_tiled`] over one
/// chunk of antennas held contiguously (`hb[k][i]`: antenna k, layer i;
/// `yb[k]`: antenna k), added to `g` and `z` in 2 x 2 tiles.
#[inline(always)]
unsafe fn gram_chunk<V: Lanes, const M: usize, const MF: bool>(
    hb: &[[C<V>; M]],
    yb: &[C<V>],
    l: usize,
    g: &mut [[C<V>; M]; M],
    z: &mut [C<V>; M],
) {
    unsafe {
        let mut i = 0;
        while i < l {
            if i + 1 < l {
                // Diagonal 2x2 tile and matched filter of rows i, i+1.
                let (mut d0, mut d1) = (g[i][i].re, g[i + 1][i + 1].re);
                let (mut o, mut z0, mut z1) = (g[i + 1][i], z[i], z[i + 1]);
                for (hk, ya) in hb.iter().zip(yb) {
                    let (h0, h1) = (hk[i], hk[i + 1]);
                    d0 = h0.re.mul_add(h0.re, d0);
                    d0 = h0.im.mul_add(h0.im, d0);
                    d1 = h1.re.mul_add(h1.re, d1);
                    d1 = h1.im.mul_add(h1.im, d1);
                    o = cmac_conj(o, h1, h0);
                    if MF {
                        z0 = cmac_conj(z0, h0, *ya);
                        z1 = cmac_conj(z1, h1, *ya);
                    }
                }
                g[i][i].re = d0;
                g[i + 1][i + 1].re = d1;
                g[i + 1][i] = o;
                if MF {
                    z[i] = z0;
                    z[i + 1] = z1;
                }
                // Off-diagonal 2x2 tiles: rows i, i+1 by columns j, j+1
                // (i is even here, so j + 1 < i for every even j < i).
                let mut j = 0;
                while j < i {
                    let mut acc = [[g[i][j], g[i][j + 1]], [g[i + 1][j], g[i + 1][j + 1]]];
                    for hk in hb {
                        let (r0, r1, c0, c1) = (hk[i], hk[i + 1], hk[j], hk[j + 1]);
                        acc[0][0] = cmac_conj(acc[0][0], r0, c0);
                        acc[0][1] = cmac_conj(acc[0][1], r0, c1);
                        acc[1][0] = cmac_conj(acc[1][0], r1, c0);
                        acc[1][1] = cmac_conj(acc[1][1], r1, c1);
                    }
                    g[i][j] = acc[0][0];
                    g[i][j + 1] = acc[0][1];
                    g[i + 1][j] = acc[1][0];
                    g[i + 1][j + 1] = acc[1][1];
                    j += 2;
                }
                i += 2;
            } else {
                // The last row of an odd layer count (i is even).
                let (mut d0, mut z0) = (g[i][i].re, z[i]);
                for (hk, ya) in hb.iter().zip(yb) {
                    let h0 = hk[i];
                    d0 = h0.re.mul_add(h0.re, d0);
                    d0 = h0.im.mul_add(h0.im, d0);
                    if MF {
                        z0 = cmac_conj(z0, h0, *ya);
                    }
                }
                g[i][i].re = d0;
                if MF {
                    z[i] = z0;
                }
                let mut j = 0;
                while j < i {
                    let mut acc = [g[i][j], g[i][j + 1]];
                    for hk in hb {
                        acc[0] = cmac_conj(acc[0], hk[i], hk[j]);
                        acc[1] = cmac_conj(acc[1], hk[i], hk[j + 1]);
                    }
                    g[i][j] = acc[0];
                    g[i][j + 1] = acc[1];
                    j += 2;
                }
                i += 1;
            }
        }
    }
}

/// The output of one layer from the solution `z`, `[A^-1]_kk`, the noise
/// (raised to the floor) and the floor: ZF `nvar = σ [A^-1]_kk` (no
/// information when the layer's gain sits at the floor); MMSE unbiased
/// `x / β`, `nvar = (1 - β) / β`, `β = 1 - σ [A^-1]_kk`.
#[inline(always)]
unsafe fn finish<V: Lanes>(zf: bool, z: C<V>, ginv: V, sigma: V, floor: V) -> (C<V>, V) {
    unsafe {
        let big = V::splat(ZERO_CONFIDENCE);
        if zf {
            let nvk = sigma.mul(ginv).min(big);
            let deg = ginv.mul(floor);
            (z, deg.select_gt(V::splat(ZF_DEGENERATE), big, nvk))
        } else {
            let one_m_beta = sigma.mul(ginv);
            finish_mmse(z, one_m_beta, V::splat(1.0).sub(one_m_beta))
        }
    }
}

/// The per-layer part of [`finish`] (grouped detection): the scale of the
/// solution (MMSE `1 / β`, exactly [`finish`]'s factor: it is
/// [`finish`] of the solution 1; ZF 1, not applied) and the noise variance.
#[inline(always)]
unsafe fn finish_scale<V: Lanes>(zf: bool, ginv: V, sigma: V, floor: V) -> (V, V) {
    unsafe {
        let one = C {
            re: V::splat(1.0),
            im: V::splat(0.0),
        };
        let (sc, nvk) = finish(zf, one, ginv, sigma, floor);
        (sc.re, nvk)
    }
}

/// [`finish`] for MMSE from `1 - β = σ [A^-1]_kk` and `β`.
#[inline(always)]
unsafe fn finish_mmse<V: Lanes>(z: C<V>, one_m_beta: V, beta: V) -> (C<V>, V) {
    unsafe {
        let big = V::splat(ZERO_CONFIDENCE);
        let rb = beta.max(V::splat(MIN_BETA)).recip();
        let rb = beta.select_gt(V::splat(MIN_BETA), rb, V::splat(0.0));
        let nvk = one_m_beta.mul(rb).min(big);
        let nvk = beta.select_gt(V::splat(MIN_BETA), nvk, big);
        (cscale(z, rb), nvk)
    }
}

/// One layer, any antenna count: `A = g + reg` is a scalar per RE, so the
/// solve is one reciprocal. Same results as [`detect_block`] with `l = 1`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn detect_block_l1<V: Lanes>(
    p: &DetectParams,
    n: usize,
    y: *const Complex32,
    h: *const Complex32,
    x: *mut Complex32,
    nv: *mut f32,
    re: usize,
) {
    unsafe {
        let s = p.stride;
        let h0 = V::load_c(h.add(re));
        let y0 = V::load_c(y.add(re));
        let mut g = cnorm(h0);
        let mut z = cmac_conj(czero(), h0, y0);
        for a in 1..n {
            let ha = V::load_c(h.add(a * s + re));
            let ya = V::load_c(y.add(a * s + re));
            g = ha.re.mul_add(ha.re, g);
            g = ha.im.mul_add(ha.im, g);
            z = cmac_conj(z, ha, ya);
        }
        let floor = g.mul_add(V::splat(REL_FLOOR), V::splat(ABS_FLOOR));
        let sigma = V::splat(p.noise_var.max(0.0)).max(floor);
        let d = g.add(if p.zf { floor } else { sigma }).max(floor);
        let r = d.recip();
        let (xk, nk) = finish(p.zf, cscale(z, r), r, sigma, floor);
        V::store_c(x.add(re), xk);
        V::store_f(nv.add(re), nk);
    }
}

/// The channel and received vectors at element `i` of their planes.
#[inline(always)]
unsafe fn ld_hy<V: Lanes>(h: *const Complex32, y: *const Complex32, i: usize) -> (C<V>, C<V>) {
    unsafe { (V::load_c(h.add(i)), V::load_c(y.add(i))) }
}

/// MMSE with one layer on `n` antennas. With one layer the unbiased MMSE
/// output is the matched filter normalised by the channel gain: with
/// `A = g + σ`, `β = 1 - σ / A = g / A`, so `x = (z / A) / β = z / g` and
/// `(1 - β) / β = σ / g`; and `β > 1e-4` is `g > 1e-4 A`. Same outputs as
/// [`detect_block_l1`] up to rounding (`A` needs no clamp here: `σ` is at
/// least the floor), with one reciprocal instead of two on the chain. The
/// antennas are summed in two interleaved partial sums (even, odd) to
/// shorten that chain further.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn detect_block_mmse1<V: Lanes>(
    p: &DetectParams,
    n: usize,
    y: *const Complex32,
    h: *const Complex32,
    x: *mut Complex32,
    nv: *mut f32,
    re: usize,
) {
    unsafe {
        let s = p.stride;
        let ld = |a: usize| ld_hy::<V>(h, y, a * s + re);
        let (h0, y0) = ld(0);
        let (mut g0, mut z0) = (cnorm(h0), cmul_conj(h0, y0));
        let (g, z) = if n > 1 {
            let (h1, y1) = ld(1);
            let (mut g1, mut z1) = (cnorm(h1), cmul_conj(h1, y1));
            let mut a = 2;
            while a + 1 < n {
                let ((ha, ya), (hb, yb)) = (ld(a), ld(a + 1));
                g0 = cnorm_acc(ha, g0);
                z0 = cmac_conj(z0, ha, ya);
                g1 = cnorm_acc(hb, g1);
                z1 = cmac_conj(z1, hb, yb);
                a += 2;
            }
            if a < n {
                let (ha, ya) = ld(a);
                g0 = cnorm_acc(ha, g0);
                z0 = cmac_conj(z0, ha, ya);
            }
            (g0.add(g1), cadd(z0, z1))
        } else {
            (g0, z0)
        };
        let floor = g.mul_add(V::splat(REL_FLOOR), V::splat(ABS_FLOOR));
        let sigma = V::splat(p.noise_var.max(0.0)).max(floor);
        // 1e-4 A: the smallest gain of a resolvable layer (> 0).
        let t = g.add(sigma).mul(V::splat(MIN_BETA));
        let rg = g.max(t).recip();
        let big = V::splat(ZERO_CONFIDENCE);
        let nvk = g.select_gt(t, sigma.mul(rg).min(big), big);
        V::store_c(x.add(re), cscale(z, g.select_gt(t, rg, V::splat(0.0))));
        V::store_f(nv.add(re), nvk);
    }
}

/// MMSE with one layer over REs `start..end` (a multiple of `V::W`), `N`
/// antennas (`N = 0`: `p.n_rx`), a loop of its own (see
/// [`detect_range_zf2`]).
///
/// # Safety
/// As [`detect_block`] for every block; `p.n_layers == 1`, MMSE, and
/// `p.n_rx == N` when `N > 0`.
#[inline(always)]
pub(crate) unsafe fn detect_range_mmse1<V: Lanes, const N: usize>(
    p: &DetectParams,
    y: *const Complex32,
    h: *const Complex32,
    x: *mut Complex32,
    nv: *mut f32,
    start: usize,
    end: usize,
) {
    debug_assert!(!p.zf && p.n_layers == 1 && (N == 0 || p.n_rx == N));
    let n = if N == 0 { p.n_rx } else { N };
    let mut re = start;
    while re < end {
        unsafe { detect_block_mmse1::<V>(p, n, y, h, x, nv, re) };
        re += V::W;
    }
}

/// Two layers, any antenna count: the 2x2 Gram matrix inverted in closed
/// form, `det` clamped to at least `floor max(a00, a11)` against rounding
/// (so the smaller eigenvalue stays at least half the floor, as with the
/// clamped LDL pivots; exact for the all-zero channel).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn detect_block_l2<V: Lanes>(
    p: &DetectParams,
    n: usize,
    y: *const Complex32,
    h: *const Complex32,
    x: *mut Complex32,
    nv: *mut f32,
    re: usize,
) {
    unsafe {
        let s = p.stride;
        let zero = V::splat(0.0);
        let (mut g00, mut g11) = (zero, zero);
        let mut g10 = czero::<V>();
        let (mut z0, mut z1) = (czero::<V>(), czero::<V>());
        for a in 0..n {
            let h0 = V::load_c(h.add(2 * a * s + re));
            let h1 = V::load_c(h.add((2 * a + 1) * s + re));
            let ya = V::load_c(y.add(a * s + re));
            g00 = h0.re.mul_add(h0.re, g00);
            g00 = h0.im.mul_add(h0.im, g00);
            g11 = h1.re.mul_add(h1.re, g11);
            g11 = h1.im.mul_add(h1.im, g11);
            g10 = cmac_conj(g10, h1, h0);
            z0 = cmac_conj(z0, h0, ya);
            z1 = cmac_conj(z1, h1, ya);
        }
        let floor = g00
            .add(g11)
            .mul_add(V::splat(REL_FLOOR / 2.0), V::splat(ABS_FLOOR));
        let sigma = V::splat(p.noise_var.max(0.0)).max(floor);
        let reg = if p.zf { floor } else { sigma };
        let a00 = g00.add(reg);
        let a11 = g11.add(reg);
        let det = a00.mul(a11);
        let det = g10.re.neg_mul_add(g10.re, det);
        let det = g10.im.neg_mul_add(g10.im, det);
        let det = det.max(floor.mul(a00.max(a11)));
        let rd = det.recip();
        // A^-1 = [[a11, -conj(g10)], [-g10, a00]] / det.
        let x0 = cmsub_conj_left(cscale(z0, a11), g10, z1);
        let x1 = cmsub(cscale(z1, a00), g10, z0);
        let x0 = cscale(x0, rd);
        let x1 = cscale(x1, rd);
        let (xa, na) = finish(p.zf, x0, a11.mul(rd), sigma, floor);
        let (xb, nb) = finish(p.zf, x1, a00.mul(rd), sigma, floor);
        V::store_c(x.add(re), xa);
        V::store_f(nv.add(re), na);
        V::store_c(x.add(s + re), xb);
        V::store_f(nv.add(s + re), nb);
    }
}

/// `a * b`.
#[inline(always)]
unsafe fn cmul<V: Lanes>(a: C<V>, b: C<V>) -> C<V> {
    unsafe {
        C {
            re: a.im.neg_mul_add(b.im, a.re.mul(b.re)),
            im: a.im.mul_add(b.re, a.re.mul(b.im)),
        }
    }
}

/// `acc + |a|^2`.
#[inline(always)]
unsafe fn cnorm_acc<V: Lanes>(a: C<V>, acc: V) -> V {
    unsafe { a.im.mul_add(a.im, a.re.mul_add(a.re, acc)) }
}

/// `conj(a) * b`.
#[inline(always)]
unsafe fn cmul_conj<V: Lanes>(a: C<V>, b: C<V>) -> C<V> {
    unsafe {
        C {
            re: a.im.mul_add(b.im, a.re.mul(b.re)),
            im: a.im.neg_mul_add(b.re, a.re.mul(b.im)),
        }
    }
}

/// The ZF noise variance of a 2-layer layer from quantities known before
/// the reciprocal: `sa = σ a` and `a` (the other layer's regularised Gram
/// diagonal, so `[A^-1]_ll = a / d`), `f10 = 10 floor`, the determinant
/// `d > 0` and `rd = 1 / d`. As [`finish`] for ZF: the layer sits on the
/// floor when `[A^-1]_ll floor > 0.1`, tested here as `a 10 floor > d` so
/// that only one multiply per output waits for the reciprocal.
#[inline(always)]
unsafe fn zf2_nvar<V: Lanes>(sa: V, a: V, f10: V, d: V, rd: V) -> V {
    unsafe {
        let big = V::splat(ZERO_CONFIDENCE);
        a.mul(f10).select_gt(d, big, sa.mul(rd).min(big))
    }
}

/// ZF with 2 antennas and 2 layers: `x = adj(H) y conj(det H) / d` with
/// `d = |det H|^2 + floor (g00 + g11) + floor^2`, the determinant of the
/// floored Gram matrix the 2-layer path inverts, so outputs match it (to the
/// floor) without forming `H^H H` off the diagonal.
///
/// Ordered for latency: the numerators `conj(det) adj(H) y`, `σ a_ll` and
/// the degenerate-layer tests are formed beside the reciprocal, so one
/// multiply per output follows it. The kernel is bound by how many results
/// are in flight (the FP register file), not by the multiply pipes; this
/// order made it ~1.2x faster than scaling `conj(det)` by `1/d` first.
#[inline(always)]
unsafe fn detect_block_zf22<V: Lanes>(
    p: &DetectParams,
    y: *const Complex32,
    h: *const Complex32,
    x: *mut Complex32,
    nv: *mut f32,
    re: usize,
) {
    unsafe {
        let s = p.stride;
        let h00 = V::load_c(h.add(re));
        let h01 = V::load_c(h.add(s + re));
        let h10 = V::load_c(h.add(2 * s + re));
        let h11 = V::load_c(h.add(3 * s + re));
        let y0 = V::load_c(y.add(re));
        let y1 = V::load_c(y.add(s + re));
        let g00 = cnorm_acc(h10, cnorm(h00));
        let g11 = cnorm_acc(h11, cnorm(h01));
        let det = cmsub(cmul(h00, h11), h01, h10);
        let gs = g00.add(g11);
        let floor = gs.mul_add(V::splat(REL_FLOOR / 2.0), V::splat(ABS_FLOOR));
        let d = gs.add(floor).mul_add(floor, cnorm(det));
        let rd = d.recip_est();
        let sigma = V::splat(p.noise_var.max(0.0)).max(floor);
        let n0 = cmsub(cmul(h11, y0), h01, y1);
        let n1 = cmsub(cmul(h00, y1), h10, y0);
        let u0 = cmul_conj(det, n0);
        let u1 = cmul_conj(det, n1);
        // [A^-1]_00 = (g11 + floor) / d, [A^-1]_11 = (g00 + floor) / d.
        let a0 = g11.add(floor);
        let a1 = g00.add(floor);
        let f10 = floor.mul(V::splat(1.0 / ZF_DEGENERATE));
        let (sa0, sa1) = (sigma.mul(a0), sigma.mul(a1));
        V::store_c(x.add(re), cscale(u0, rd));
        V::store_f(nv.add(re), zf2_nvar(sa0, a0, f10, d, rd));
        V::store_c(x.add(s + re), cscale(u1, rd));
        V::store_f(nv.add(s + re), zf2_nvar(sa1, a1, f10, d, rd));
    }
}

/// ZF with 2 layers on any antenna count: as [`detect_block_l2`] (Gram
/// matrix inverted in closed form, the same determinant clamp) with the
/// latency order of [`detect_block_zf22`].
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn detect_block_zf2<V: Lanes>(
    p: &DetectParams,
    n: usize,
    y: *const Complex32,
    h: *const Complex32,
    x: *mut Complex32,
    nv: *mut f32,
    re: usize,
) {
    unsafe {
        let s = p.stride;
        // The first antenna's products start the sums (no zero accumulators).
        let h0 = V::load_c(h.add(re));
        let h1 = V::load_c(h.add(s + re));
        let ya = V::load_c(y.add(re));
        let mut g00 = cnorm(h0);
        let mut g11 = cnorm(h1);
        let mut g10 = cmul_conj(h1, h0);
        let mut z0 = cmul_conj(h0, ya);
        let mut z1 = cmul_conj(h1, ya);
        for a in 1..n {
            let h0 = V::load_c(h.add(2 * a * s + re));
            let h1 = V::load_c(h.add((2 * a + 1) * s + re));
            let ya = V::load_c(y.add(a * s + re));
            g00 = h0.re.mul_add(h0.re, g00);
            g00 = h0.im.mul_add(h0.im, g00);
            g11 = h1.re.mul_add(h1.re, g11);
            g11 = h1.im.mul_add(h1.im, g11);
            g10 = cmac_conj(g10, h1, h0);
            z0 = cmac_conj(z0, h0, ya);
            z1 = cmac_conj(z1, h1, ya);
        }
        let floor = g00
            .add(g11)
            .mul_add(V::splat(REL_FLOOR / 2.0), V::splat(ABS_FLOOR));
        let sigma = V::splat(p.noise_var.max(0.0)).max(floor);
        let a00 = g00.add(floor);
        let a11 = g11.add(floor);
        let det = a00.mul(a11);
        let det = g10.re.neg_mul_add(g10.re, det);
        let det = g10.im.neg_mul_add(g10.im, det);
        let det = det.max(floor.mul(a00.max(a11)));
        let rd = det.recip_est();
        // A^-1 = [[a11, -conj(g10)], [-g10, a00]] / det.
        let x0 = cmsub_conj_left(cscale(z0, a11), g10, z1);
        let x1 = cmsub(cscale(z1, a00), g10, z0);
        let f10 = floor.mul(V::splat(1.0 / ZF_DEGENERATE));
        let (sa0, sa1) = (sigma.mul(a11), sigma.mul(a00));
        V::store_c(x.add(re), cscale(x0, rd));
        V::store_f(nv.add(re), zf2_nvar(sa0, a11, f10, det, rd));
        V::store_c(x.add(s + re), cscale(x1, rd));
        V::store_f(nv.add(s + re), zf2_nvar(sa1, a00, f10, det, rd));
    }
}

/// ZF with 2 layers over REs `start..end` (a multiple of `V::W`): `N = 2`
/// is the 2-antenna kernel, `N = 4` the 4-antenna one unrolled, `N = 0`
/// any antenna count. A loop of its own so that an instruction set can
/// compile it as a separate function: inside the many-armed
/// [`detect_range`] the register allocator kept the loop counter, the
/// pointers and a constant on the stack (~5 % slower).
///
/// # Safety
/// As [`detect_block`] for every block; `p.n_layers == 2`, and
/// `p.n_rx == N` when `N > 0`.
#[inline(always)]
pub(crate) unsafe fn detect_range_zf2<V: Lanes, const N: usize>(
    p: &DetectParams,
    y: *const Complex32,
    h: *const Complex32,
    x: *mut Complex32,
    nv: *mut f32,
    start: usize,
    end: usize,
) {
    debug_assert!(p.zf && p.n_layers == 2 && (N == 0 || p.n_rx == N));
    let n = if N == 0 { p.n_rx } else { N };
    let mut re = start;
    while re < end {
        if N == 2 {
            unsafe { detect_block_zf22::<V>(p, y, h, x, nv, re) };
        } else {
            unsafe { detect_block_zf2::<V>(p, n, y, h, x, nv, re) };
        }
        re += V::W;
    }
}

/// `t - p r` for a real `r`.
#[inline(always)]
unsafe fn cnms<V: Lanes>(p: C<V>, r: V, t: C<V>) -> C<V> {
    unsafe {
        C {
            re: p.re.neg_mul_add(r, t.re),
            im: p.im.neg_mul_add(r, t.im),
        }
    }
}

/// `1 / d` as [`Lanes::recip`] computes it, in parts: the estimate `q`, its
/// Newton factor `e = 2 - d q` and `r = q e`.
#[inline(always)]
unsafe fn recip_parts<V: Lanes>(d: V) -> (V, V, V) {
    unsafe {
        let q = d.recip_est();
        let e = d.neg_mul_add(q, V::splat(2.0));
        (q, e, q.mul(e))
    }
}

/// The 4-layer Gram matrix `g_ij = sum_a conj(h_ai) h_aj` (diagonal `d`,
/// lower triangle) and matched filter `z_i = sum_a conj(h_ai) y_a` of one
/// vector of REs.
#[derive(Clone, Copy)]
struct Gram4<V> {
    d: [V; 4],
    g10: C<V>,
    g20: C<V>,
    g21: C<V>,
    g30: C<V>,
    g31: C<V>,
    g32: C<V>,
    z: [C<V>; 4],
}

impl<V: Lanes> Gram4<V> {
    #[inline(always)]
    unsafe fn zero() -> Self {
        unsafe {
            let z = czero::<V>();
            Gram4 {
                d: [V::splat(0.0); 4],
                g10: z,
                g20: z,
                g21: z,
                g30: z,
                g31: z,
                g32: z,
                z: [z; 4],
            }
        }
    }
}

/// Antenna `a`, layer `i` of a 4-layer channel.
#[inline(always)]
unsafe fn ld4<V: Lanes>(h: *const Complex32, s: usize, re: usize, a: usize, i: usize) -> C<V> {
    unsafe { V::load_c(h.add((4 * a + i) * s + re)) }
}

/// The diagonal pair `(i, i + 1)` of [`Gram4`]: `g_ii`, `g_(i+1)(i+1)`,
/// `g_(i+1)i`, `z_i` and `z_(i+1)`, each sum started by the first antenna's
/// products (no zero accumulators). 8 accumulators and 6 loaded vectors.
#[inline(always)]
#[allow(clippy::type_complexity)]
unsafe fn gram4_pair<V: Lanes>(
    n: usize,
    y: *const Complex32,
    h: *const Complex32,
    s: usize,
    re: usize,
    i: usize,
) -> (V, V, C<V>, C<V>, C<V>) {
    unsafe {
        let (h0, h1) = (ld4::<V>(h, s, re, 0, i), ld4::<V>(h, s, re, 0, i + 1));
        let ya = V::load_c(y.add(re));
        let (mut d0, mut d1) = (cnorm(h0), cnorm(h1));
        let mut o = cmul_conj(h1, h0);
        let (mut z0, mut z1) = (cmul_conj(h0, ya), cmul_conj(h1, ya));
        for a in 1..n {
            let (h0, h1) = (ld4::<V>(h, s, re, a, i), ld4::<V>(h, s, re, a, i + 1));
            let ya = V::load_c(y.add(a * s + re));
            d0 = cnorm_acc(h0, d0);
            d1 = cnorm_acc(h1, d1);
            o = cmac_conj(o, h1, h0);
            z0 = cmac_conj(z0, h0, ya);
            z1 = cmac_conj(z1, h1, ya);
        }
        (d0, d1, o, z0, z1)
    }
}

/// The off-diagonal tile of [`Gram4`]: `g20`, `g21`, `g30`, `g31` (8
/// accumulators, at most 8 loaded vectors live).
#[inline(always)]
unsafe fn gram4_tile<V: Lanes>(n: usize, h: *const Complex32, s: usize, re: usize) -> [C<V>; 4] {
    unsafe {
        let (h2, h3, h0) = (
            ld4::<V>(h, s, re, 0, 2),
            ld4::<V>(h, s, re, 0, 3),
            ld4::<V>(h, s, re, 0, 0),
        );
        let (mut g20, mut g30) = (cmul_conj(h2, h0), cmul_conj(h3, h0));
        let h1 = ld4::<V>(h, s, re, 0, 1);
        let (mut g21, mut g31) = (cmul_conj(h2, h1), cmul_conj(h3, h1));
        for a in 1..n {
            let (h2, h3) = (ld4::<V>(h, s, re, a, 2), ld4::<V>(h, s, re, a, 3));
            let h0 = ld4::<V>(h, s, re, a, 0);
            g20 = cmac_conj(g20, h2, h0);
            g30 = cmac_conj(g30, h3, h0);
            let h1 = ld4::<V>(h, s, re, a, 1);
            g21 = cmac_conj(g21, h2, h1);
            g31 = cmac_conj(g31, h3, h1);
        }
        [g20, g21, g30, g31]
    }
}

/// MMSE with 4 layers from the Gram matrix and matched filter of one vector
/// of REs: the algorithm of [`detect_block`] (`A = G + σ I` factored as
/// `L D L^H` with pivots clamped to the floor, `x̃ = A^-1 z`, `[A^-1]_ll`
/// from `L^-1`, the unbiased outputs of [`finish`]) written out for 4 layers
/// with named values and ordered for latency, the factorisation being one
/// chain of four reciprocals:
///
/// - each pivot is `d_j = a_jj - sum_k |t_jk|^2 r_k` and each
///   `t_ij = g_ij - sum_k t_ik conj(t_jk) r_k` (`t_jk = L_jk d_k`,
///   `r_k = 1 / d_k`), the products formed before `r_k` is known; the last
///   term of the next pivot takes `r_k`'s estimate and Newton factor
///   separately ([`recip_parts`]), so one FMA follows the Newton factor;
/// - the backward substitution uses `N = -L^-1` (below the diagonal), which
///   the diagonal of `A^-1` needs anyway: `x̃_j = v_j - sum_i conj(N_ij) v_i`
///   (`v = D^-1 L^-1 z`) is one sum per layer instead of a chain through
///   the layers;
/// - `β_j = 1 - σ [A^-1]_jj` is formed with one FMA after the last
///   reciprocal.
#[inline(always)]
unsafe fn mmse4_from_gram<V: Lanes>(
    p: &DetectParams,
    g: &Gram4<V>,
    x: *mut Complex32,
    nv: *mut f32,
    re: usize,
) {
    unsafe {
        let s = p.stride;
        let tr = g.d[0].add(g.d[1]).add(g.d[2].add(g.d[3]));
        let floor = tr.mul_add(V::splat(REL_FLOOR / 4.0), V::splat(ABS_FLOOR));
        let sigma = V::splat(p.noise_var.max(0.0)).max(floor);
        let a11 = g.d[1].add(sigma);
        let a22 = g.d[2].add(sigma);
        let a33 = g.d[3].add(sigma);
        // Pivot 0.
        let (_, _, r0) = recip_parts(g.d[0].add(sigma).max(floor));
        let (t10, t20, t30) = (g.g10, g.g20, g.g30);
        let (l10, l20, l30) = (cscale(t10, r0), cscale(t20, r0), cscale(t30, r0));
        // Pivot 1.
        let (q1, f1, r1) = recip_parts(cnorm(t10).neg_mul_add(r0, a11).max(floor));
        let t21 = cnms(cmul_conj(t10, t20), r0, g.g21);
        let t31 = cnms(cmul_conj(t10, t30), r0, g.g31);
        let (l21, l31) = (cscale(t21, r1), cscale(t31, r1));
        // Pivot 2.
        let b2 = cnorm(t20).neg_mul_add(r0, a22);
        let (q2, f2, r2) = recip_parts(cnorm(t21).mul(q1).neg_mul_add(f1, b2).max(floor));
        let u32 = cnms(cmul_conj(t20, t30), r0, g.g32);
        let t32 = cnms(cmul_conj(t21, t31), r1, u32);
        let l32 = cscale(t32, r2);
        // Pivot 3.
        let b3 = cnorm(t31).neg_mul_add(r1, cnorm(t30).neg_mul_add(r0, a33));
        let (q3, f3, r3) = recip_parts(cnorm(t32).mul(q2).neg_mul_add(f2, b3).max(floor));
        // N = -L^-1 below the diagonal.
        let n20 = cmsub(l20, l21, l10);
        let n31 = cmsub(l31, l32, l21);
        let n30 = cmsub(cmsub(l30, l31, l10), l32, n20);
        // [A^-1]_jj = P_j + |N_3j|^2 r3 with P_j = r_j + sum_{j<i<3}
        // |N_ij|^2 r_i: 1 - β_j = σ P_j + (σ |N_3j|^2) r3.
        let one = V::splat(1.0);
        let sp = [
            sigma.mul(cnorm(n20).mul_add(r2, cnorm(l10).mul_add(r1, r0))),
            sigma.mul(cnorm(l21).mul_add(r2, r1)),
            sigma.mul(r2),
        ];
        let sn = [
            sigma.mul(cnorm(n30)),
            sigma.mul(cnorm(n31)),
            sigma.mul(cnorm(l32)),
        ];
        let omb = [
            sn[0].mul_add(r3, sp[0]),
            sn[1].mul_add(r3, sp[1]),
            sn[2].mul_add(r3, sp[2]),
            sigma.mul(r3),
        ];
        let beta = [
            sn[0].mul(q3).neg_mul_add(f3, one.sub(sp[0])),
            sn[1].mul(q3).neg_mul_add(f3, one.sub(sp[1])),
            sn[2].mul(q3).neg_mul_add(f3, one.sub(sp[2])),
            sigma.mul(q3).neg_mul_add(f3, one),
        ];
        // Forward substitution L w = z, then v = D^-1 w.
        let [z0, z1, z2, z3] = g.z;
        let w1 = cmsub(z1, l10, z0);
        let w2 = cmsub(cmsub(z2, l20, z0), l21, w1);
        let w3 = cmsub(cmsub(cmsub(z3, l30, z0), l31, w1), l32, w2);
        let (v0, v1, v2, v3) = (
            cscale(z0, r0),
            cscale(w1, r1),
            cscale(w2, r2),
            cscale(w3, r3),
        );
        // Backward: x̃ = L^-H v = v + M^H v, M = -N.
        let xt = [
            cmsub_conj_left(
                cmsub_conj_left(cmsub_conj_left(v0, l10, v1), n20, v2),
                n30,
                v3,
            ),
            cmsub_conj_left(cmsub_conj_left(v1, l21, v2), n31, v3),
            cmsub_conj_left(v2, l32, v3),
            v3,
        ];
        for k in 0..4 {
            let (xk, nk) = finish_mmse(xt[k], omb[k], beta[k]);
            V::store_c(x.add(k * s + re), xk);
            V::store_f(nv.add(k * s + re), nk);
        }
    }
}

/// Vectors per chunk of [`detect_range_mmse4`] (the chunk's [`Gram4`]s,
/// 6 KB with AVX2, stay in L1).
const MMSE4_CHUNK: usize = 8;

/// MMSE with 4 layers over REs `start..end` (a multiple of `V::W`), `N`
/// antennas (`N = 0`: any count, `p.n_rx`). A loop of its own, as
/// [`detect_range_zf2`].
///
/// Per chunk of up to [`MMSE4_CHUNK`] vectors, the Gram matrices and
/// matched filters are formed in three passes of separate loops (layers
/// 0-1 with `z0`, `z1`; layers 2-3 with `z2`, `z3`; the tile of rows 2-3 by
/// columns 0-1), each with at most 14 live vectors, then each vector is
/// factored and solved ([`mmse4_from_gram`]). All 14 sums in one pass over
/// the antennas keep 24 accumulators and 10 loaded vectors live, which
/// spilled and reloaded accumulators on every antenna; and a vector's
/// factorisation, a chain of four reciprocals, overlaps better with the
/// next vector's when no Gram work sits between them.
///
/// # Safety
/// As [`detect_block`] for every block; `p.n_layers == 4`, MMSE, and
/// `p.n_rx == N` when `N > 0`.
#[inline(always)]
pub(crate) unsafe fn detect_range_mmse4<V: Lanes, const N: usize>(
    p: &DetectParams,
    y: *const Complex32,
    h: *const Complex32,
    x: *mut Complex32,
    nv: *mut f32,
    start: usize,
    end: usize,
) {
    debug_assert!(!p.zf && p.n_layers == 4 && (N == 0 || p.n_rx == N));
    let n = if N == 0 { p.n_rx } else { N };
    let s = p.stride;
    // Zeroed once per call; the passes write every entry of a chunk's
    // vectors before they are solved.
    let mut buf = [unsafe { Gram4::<V>::zero() }; MMSE4_CHUNK];
    let mut re = start;
    while re < end {
        let k = ((end - re) / V::W).min(MMSE4_CHUNK);
        let buf = &mut buf[..k];
        // Separate loops, so that the passes' loads of the same channel
        // vectors are not merged (which would bring back the live ranges).
        for (j, b) in buf.iter_mut().enumerate() {
            let (d0, d1, o, z0, z1) = unsafe { gram4_pair::<V>(n, y, h, s, re + j * V::W, 0) };
            (b.d[0], b.d[1], b.g10, b.z[0], b.z[1]) = (d0, d1, o, z0, z1);
        }
        for (j, b) in buf.iter_mut().enumerate() {
            let (d2, d3, o, z2, z3) = unsafe { gram4_pair::<V>(n, y, h, s, re + j * V::W, 2) };
            (b.d[2], b.d[3], b.g32, b.z[2], b.z[3]) = (d2, d3, o, z2, z3);
        }
        for (j, b) in buf.iter_mut().enumerate() {
            let t = unsafe { gram4_tile::<V>(n, h, s, re + j * V::W) };
            (b.g20, b.g21, b.g30, b.g31) = (t[0], t[1], t[2], t[3]);
        }
        for (j, b) in buf.iter().enumerate() {
            unsafe { mmse4_from_gram::<V>(p, b, x, nv, re + j * V::W) };
        }
        re += k * V::W;
    }
}

/// Detects REs `start..end` (a multiple of `V::W` long), choosing a fully
/// unrolled instance for the common small sizes.
///
/// # Safety
/// As [`detect_block`] for every block.
#[inline(always)]
pub(crate) unsafe fn detect_range<V: Lanes>(
    p: &DetectParams,
    y: *const Complex32,
    h: *const Complex32,
    x: *mut Complex32,
    nv: *mut f32,
    start: usize,
    end: usize,
) {
    debug_assert!((end - start).is_multiple_of(V::W));
    macro_rules! run {
        ($m:literal, $n:expr, $l:expr) => {{
            let mut re = start;
            while re < end {
                unsafe { detect_block::<V, $m>(p, $n, $l, y, h, x, nv, re) };
                re += V::W;
            }
        }};
    }
    macro_rules! run_l {
        ($f:ident, $n:expr) => {{
            let mut re = start;
            while re < end {
                unsafe { $f::<V>(p, $n, y, h, x, nv, re) };
                re += V::W;
            }
        }};
    }
    match (p.n_layers, p.n_rx) {
        (1, 1) if !p.zf => unsafe { detect_range_mmse1::<V, 1>(p, y, h, x, nv, start, end) },
        (1, 2) if !p.zf => unsafe { detect_range_mmse1::<V, 2>(p, y, h, x, nv, start, end) },
        (1, 4) if !p.zf => unsafe { detect_range_mmse1::<V, 4>(p, y, h, x, nv, start, end) },
        (1, _) if !p.zf => unsafe { detect_range_mmse1::<V, 0>(p, y, h, x, nv, start, end) },
        (1, 1) => run_l!(detect_block_l1, 1),
        (1, 2) => run_l!(detect_block_l1, 2),
        (1, 4) => run_l!(detect_block_l1, 4),
        (1, n) => run_l!(detect_block_l1, n),
        (2, 2) if p.zf => unsafe { detect_range_zf2::<V, 2>(p, y, h, x, nv, start, end) },
        (2, 4) if p.zf => unsafe { detect_range_zf2::<V, 4>(p, y, h, x, nv, start, end) },
        (2, _) if p.zf => unsafe { detect_range_zf2::<V, 0>(p, y, h, x, nv, start, end) },
        (2, 2) => run_l!(detect_block_l2, 2),
        (2, 4) => run_l!(detect_block_l2, 4),
        (2, n) => run_l!(detect_block_l2, n),
        (4, 4) if !p.zf => unsafe { detect_range_mmse4::<V, 4>(p, y, h, x, nv, start, end) },
        (4, 8) if !p.zf => unsafe { detect_range_mmse4::<V, 8>(p, y, h, x, nv, start, end) },
        (4, _) if !p.zf => unsafe { detect_range_mmse4::<V, 0>(p, y, h, x, nv, start, end) },
        (4, 4) => run!(4, 4, 4),
        (4, 8) => run!(4, 8, 4),
        (3, n) => run!(3, n, 3),
        (4, n) => run!(4, n, 4),
        (l, n) if l <= 8 => run!(8, n, l),
        (l, n) => run!(16, n, l),
    }
}

// ---- detection with one channel per group of REs ---------------------------

/// Parameters of one grouped detection call: the REs `g R .. (g + 1) R` of
/// every plane share the channel of group `g` (`R = re_per_group`; the last
/// group may hold fewer).
#[derive(Clone, Copy, Debug)]
pub(crate) struct GroupParams {
    /// Receive antennas.
    pub n_rx: usize,
    /// Layers.
    pub n_layers: usize,
    /// REs per plane of `y`, `x` and `nvar` (the distance between planes).
    pub n_re: usize,
    /// Groups per (antenna, layer) plane of `h`.
    pub n_groups: usize,
    /// REs sharing one channel.
    pub re_per_group: usize,
    /// Noise variance per receive antenna (unit-power symbols).
    pub noise_var: f32,
    /// Zero forcing (true) or MMSE (false).
    pub zf: bool,
}

/// Antennas per chunk of the grouped detector's sums (a chunk of the
/// channel and of the received REs is copied contiguously).
const GROUP_CHUNK: usize = 8;
/// REs of each group matched-filtered per pass over the antennas (a PRB's
/// 12 in one pass; the channel is re-read for further passes).
const GROUP_PASS: usize = 12;
/// REs solved together (`solve_multi`).
const GROUP_RHS: usize = 4;

/// Detects the REs of the `V::W` groups starting at `g0` (one group per
/// lane), each holding `r_len` REs from RE `g R`: once per group the Gram
/// matrix `H^H H` (the same sums as the per-RE detector's), its `L D L^H`
/// factor and the diagonal of `A^-1` with the per-layer scale and noise
/// variance; per RE the matched filter `H^H y` (register-tiled over
/// layers x REs, a matrix product) and the solve, `GROUP_RHS` REs at a
/// time. Per RE the same outputs as [`detect_block`] for a channel equal
/// to the group's (to rounding: the solve sums in one chain per row).
///
/// # Safety
/// `y`, `x`, `nv` planes hold the groups' REs, `h` planes hold the groups
/// `g0..g0 + V::W` (see [`GroupParams`]); target features of `V` present.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn detect_group_block<V: Lanes, const M: usize>(
    p: &GroupParams,
    n: usize,
    l: usize,
    y: *const Complex32,
    h: *const Complex32,
    x: *mut Complex32,
    nv: *mut f32,
    g0: usize,
    r_len: usize,
) {
    unsafe {
        let (nre, ng, rg) = (p.n_re, p.n_groups, p.re_per_group);
        // RE j of the group in lane i sits at base + i rg + j.
        let base = g0 * rg;
        let mut g = [[czero::<V>(); M]; M];
        let mut r = [V::splat(0.0); M];
        let mut scale = [V::splat(0.0); M];
        let mut hb = [[czero::<V>(); M]; GROUP_CHUNK];
        let mut yb = [[czero::<V>(); GROUP_PASS]; GROUP_CHUNK];
        let none = [czero::<V>(); GROUP_CHUNK];
        let mut unused = [czero::<V>(); M];
        // The channel planes are far apart: fetch the next block's early.
        let ahead = 2 * V::W;
        let mut j0 = 0;
        while j0 < r_len {
            let jn = (r_len - j0).min(GROUP_PASS);
            let first = j0 == 0;
            let mut zb = [[czero::<V>(); GROUP_PASS]; M];
            let mut a0 = 0;
            while a0 < n {
                let na = (n - a0).min(GROUP_CHUNK);
                for k in 0..na {
                    let a = a0 + k;
                    for (i, hv) in hb[k].iter_mut().enumerate().take(l) {
                        let q = h.add((a * l + i) * ng + g0);
                        *hv = V::load_c(q);
                        if first {
                            V::prefetch(q.wrapping_add(ahead));
                        }
                    }
                    let ya = y.add(a * nre + base);
                    for (j, yv) in yb[k].iter_mut().enumerate().take(jn) {
                        *yv = V::load_c_strided(ya.add(j0 + j), rg);
                    }
                    if first {
                        // The received REs of the block after next: W rg
                        // contiguous values per plane, W per prefetch.
                        let q = ya.wrapping_add(ahead * rg);
                        let mut o = 0;
                        while o < V::W * rg {
                            V::prefetch(q.wrapping_add(o));
                            o += V::W;
                        }
                    }
                }
                if first {
                    gram_chunk::<V, M, false>(&hb[..na], &none[..na], l, &mut g, &mut unused);
                }
                mf_chunk(&hb[..na], &yb[..na], l, jn, &mut zb);
                a0 += na;
            }
            if first {
                let mut tr = g[0][0].re;
                for i in 1..l {
                    tr = tr.add(g[i][i].re);
                }
                let floor = tr
                    .mul(V::splat(REL_FLOOR / l as f32))
                    .add(V::splat(ABS_FLOOR));
                let sigma = V::splat(p.noise_var.max(0.0)).max(floor);
                let reg = if p.zf { floor } else { sigma };
                ldl(l, &mut g, &mut r, reg, floor);
                let mut ginv = [V::splat(0.0); M];
                inv_diag(l, &g, &r, &mut ginv);
                for k in 0..l {
                    let (sc, nvk) = finish_scale(p.zf, ginv[k], sigma, floor);
                    scale[k] = sc;
                    // One noise variance per layer and group, for each of
                    // the group's REs.
                    let mut t = [0.0f32; 16];
                    V::store_f(t.as_mut_ptr(), nvk);
                    for (i, ti) in t.iter().enumerate().take(V::W) {
                        let q = nv.add(k * nre + base + i * rg);
                        for j in 0..r_len {
                            *q.add(j) = *ti;
                        }
                    }
                }
            }
            let out = |k: usize, j: usize, zk: C<V>| {
                let v = if p.zf { zk } else { cscale(zk, scale[k]) };
                V::store_c_strided(x.add(k * nre + base + j0 + j), rg, v);
            };
            let mut j = 0;
            while j + GROUP_RHS <= jn {
                let mut zt = [[czero::<V>(); M]; GROUP_RHS];
                for (t, ztt) in zt.iter_mut().enumerate() {
                    for (k, zk) in ztt.iter_mut().enumerate().take(l) {
                        *zk = zb[k][j + t];
                    }
                }
                solve_multi(l, &g, &r, &mut zt);
                for (t, ztt) in zt.iter().enumerate() {
                    for (k, zk) in ztt.iter().enumerate().take(l) {
                        out(k, j + t, *zk);
                    }
                }
                j += GROUP_RHS;
            }
            while j < jn {
                let mut z = [czero::<V>(); M];
                for (k, zk) in z.iter_mut().enumerate().take(l) {
                    *zk = zb[k][j];
                }
                solve(l, &g, &r, &mut z);
                for (k, zk) in z.iter().enumerate().take(l) {
                    out(k, j, *zk);
                }
                j += 1;
            }
            j0 += jn;
        }
    }
}

/// The matched filter of a chunk of antennas for up to `GROUP_PASS` REs:
/// `zb[i][j] += sum_k conj(hb[k][i]) yb[k][j]`, in tiles of 2 layers x 2
/// REs whose accumulators stay in registers (each channel value is used
/// for 2 REs, each received value for 2 layers).
#[inline(always)]
unsafe fn mf_chunk<V: Lanes, const M: usize>(
    hb: &[[C<V>; M]],
    yb: &[[C<V>; GROUP_PASS]],
    l: usize,
    jn: usize,
    zb: &mut [[C<V>; GROUP_PASS]; M],
) {
    unsafe {
        let mut i = 0;
        while i < l {
            let mut j = 0;
            while j < jn {
                match (i + 1 < l, j + 1 < jn) {
                    (true, true) => mf_tile::<V, M, 2, 2>(hb, yb, i, j, zb),
                    (true, false) => mf_tile::<V, M, 2, 1>(hb, yb, i, j, zb),
                    (false, true) => mf_tile::<V, M, 1, 2>(hb, yb, i, j, zb),
                    (false, false) => mf_tile::<V, M, 1, 1>(hb, yb, i, j, zb),
                }
                j += 2;
            }
            i += 2;
        }
    }
}

/// One `TI x TJ` tile of [`mf_chunk`] at layer `i`, RE `j`.
#[inline(always)]
unsafe fn mf_tile<V: Lanes, const M: usize, const TI: usize, const TJ: usize>(
    hb: &[[C<V>; M]],
    yb: &[[C<V>; GROUP_PASS]],
    i: usize,
    j: usize,
    zb: &mut [[C<V>; GROUP_PASS]; M],
) {
    unsafe {
        let mut acc: [[C<V>; TJ]; TI] =
            core::array::from_fn(|a| core::array::from_fn(|b| zb[i + a][j + b]));
        for (hk, yk) in hb.iter().zip(yb) {
            for (a, acc_a) in acc.iter_mut().enumerate() {
                for (b, c) in acc_a.iter_mut().enumerate() {
                    *c = cmac_conj(*c, hk[i + a], yk[j + b]);
                }
            }
        }
        for (a, acc_a) in acc.iter().enumerate() {
            for (b, c) in acc_a.iter().enumerate() {
                zb[i + a][j + b] = *c;
            }
        }
    }
}

/// Detects the groups `start..end` (a multiple of `V::W`), each holding
/// `re_per_group` REs.
///
/// # Safety
/// As [`detect_group_block`] for every block.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn detect_group_range<V: Lanes>(
    p: &GroupParams,
    y: *const Complex32,
    h: *const Complex32,
    x: *mut Complex32,
    nv: *mut f32,
    start: usize,
    end: usize,
    r_len: usize,
) {
    macro_rules! run {
        ($m:literal) => {{
            let mut g = start;
            while g < end {
                unsafe {
                    detect_group_block::<V, $m>(p, p.n_rx, p.n_layers, y, h, x, nv, g, r_len)
                };
                g += V::W;
            }
        }};
    }
    match p.n_layers {
        l if l <= 4 => run!(4),
        l if l <= 8 => run!(8),
        _ => run!(16),
    }
}

// ---- precoding -----------------------------------------------------------

/// Parameters of one precoder computation (lanes are PRB groups).
#[derive(Clone, Copy, Debug)]
pub(crate) struct PrecodeParams {
    /// Transmit antennas.
    pub n_tx: usize,
    /// Users (columns of the precoder).
    pub n_users: usize,
    /// Distance between (antenna, user) planes, in groups.
    pub stride: usize,
    /// 0 = MRT, 1 = ZF, 2 = regularised ZF.
    pub kind: u8,
    /// Regularisation of RZF, added to the Gram diagonal.
    pub alpha: f32,
    /// Per-user (true) or total (false) power normalisation.
    pub per_user: bool,
}

/// Antennas solved together by [`precode_block`] beyond 4 users.
const PRECODE_RHS: usize = 4;

/// Precoders of the `V::W` PRB groups starting at `g0`: from the uplink
/// channel `h[(m * K + k) * stride + g]` writes
/// `w[(m * K + k) * stride + g]`, `W = conj(H) (H^T conj(H) + a I)^-1`
/// (ZF/RZF) or `conj(H)` (MRT), normalised to unit total power.
///
/// # Safety
/// Planes hold `g0 + V::W` elements; the target features of `V` are present.
#[inline(always)]
pub(crate) unsafe fn precode_block<V: Lanes, const M: usize>(
    p: &PrecodeParams,
    n: usize,
    k: usize,
    h: *const Complex32,
    w: *mut Complex32,
    g0: usize,
) {
    unsafe {
        let s = p.stride;
        let mut norm = [V::splat(0.0); M];
        if p.kind == 0 {
            for a in 0..n {
                for (u, nu) in norm.iter_mut().enumerate().take(k) {
                    let c = V::load_c(h.add((a * k + u) * s + g0));
                    *nu = cnorm(c).add(*nu);
                    let c = C {
                        re: c.re,
                        im: V::splat(0.0).sub(c.im),
                    };
                    V::store_c(w.add((a * k + u) * s + g0), c);
                }
            }
        } else {
            let mut g = [[czero::<V>(); M]; M];
            if M > 4 {
                // Register-tiled from a contiguous copy, as in detection
                // (same sums in the same order as the loop below).
                let mut unused = [czero::<V>(); M];
                gram_tiled::<V, M, false>(n, k, h, h, s, g0, &mut g, &mut unused);
            } else {
                for a in 0..n {
                    let mut hr = [czero::<V>(); M];
                    for (u, hu) in hr.iter_mut().enumerate().take(k) {
                        *hu = V::load_c(h.add((a * k + u) * s + g0));
                    }
                    for i in 0..k {
                        g[i][i].re = hr[i].re.mul_add(hr[i].re, g[i][i].re);
                        g[i][i].re = hr[i].im.mul_add(hr[i].im, g[i][i].re);
                        for j in 0..i {
                            g[i][j] = cmac_conj(g[i][j], hr[i], hr[j]);
                        }
                    }
                }
            }
            let mut tr = g[0][0].re;
            for i in 1..k {
                tr = tr.add(g[i][i].re);
            }
            let floor = tr
                .mul(V::splat(REL_FLOOR / k as f32))
                .add(V::splat(ABS_FLOOR));
            let reg = if p.kind == 2 {
                V::splat(p.alpha.max(0.0)).max(floor)
            } else {
                floor
            };
            let mut r = [V::splat(0.0); M];
            ldl(k, &mut g, &mut r, reg, floor);
            // Beyond 4 users the antennas are solved PRECODE_RHS at a time.
            let mut a = 0;
            if M > 4 {
                while a + PRECODE_RHS <= n {
                    let mut z = [[czero::<V>(); M]; PRECODE_RHS];
                    for (t, zt) in z.iter_mut().enumerate() {
                        for (u, zu) in zt.iter_mut().enumerate().take(k) {
                            let c = V::load_c(h.add(((a + t) * k + u) * s + g0));
                            *zu = C {
                                re: c.re,
                                im: V::splat(0.0).sub(c.im),
                            };
                        }
                    }
                    solve_multi(k, &g, &r, &mut z);
                    for (t, zt) in z.iter().enumerate() {
                        for u in 0..k {
                            norm[u] = cnorm(zt[u]).add(norm[u]);
                            V::store_c(w.add(((a + t) * k + u) * s + g0), zt[u]);
                        }
                    }
                    a += PRECODE_RHS;
                }
            }
            for a in a..n {
                let mut z = [czero::<V>(); M];
                for (u, zu) in z.iter_mut().enumerate().take(k) {
                    let c = V::load_c(h.add((a * k + u) * s + g0));
                    *zu = C {
                        re: c.re,
                        im: V::splat(0.0).sub(c.im),
                    };
                }
                solve(k, &g, &r, &mut z);
                for u in 0..k {
                    norm[u] = cnorm(z[u]).add(norm[u]);
                    V::store_c(w.add((a * k + u) * s + g0), z[u]);
                }
            }
        }
        // Power normalisation: each column to 1/K (per user) or the whole
        // matrix to 1; an all-zero channel stays all-zero.
        let tiny = V::splat(1e-30);
        let mut scale = [V::splat(0.0); M];
        if p.per_user {
            for u in 0..k {
                let e = norm[u].mul(V::splat(k as f32)).max(tiny);
                scale[u] = e.sqrt().recip();
            }
        } else {
            let mut tot = norm[0];
            for nu in norm.iter().take(k).skip(1) {
                tot = tot.add(*nu);
            }
            let sc = tot.max(tiny).sqrt().recip();
            for su in scale.iter_mut().take(k) {
                *su = sc;
            }
        }
        for a in 0..n {
            for (u, su) in scale.iter().enumerate().take(k) {
                let q = w.add((a * k + u) * s + g0);
                V::store_c(q, cscale(V::load_c(q), *su));
            }
        }
    }
}

/// Precoders for groups `start..end` (a multiple of `V::W`).
///
/// # Safety
/// As [`precode_block`].
#[inline(always)]
pub(crate) unsafe fn precode_range<V: Lanes>(
    p: &PrecodeParams,
    h: *const Complex32,
    w: *mut Complex32,
    start: usize,
    end: usize,
) {
    macro_rules! run {
        ($m:literal, $n:expr, $k:expr) => {{
            let mut g = start;
            while g < end {
                unsafe { precode_block::<V, $m>(p, $n, $k, h, w, g) };
                g += V::W;
            }
        }};
    }
    match p.n_users {
        1 => run!(1, p.n_tx, 1),
        2 => run!(2, p.n_tx, 2),
        k if k <= 4 => run!(4, p.n_tx, k),
        k if k <= 8 => run!(8, p.n_tx, k),
        k => run!(16, p.n_tx, k),
    }
}

/// Applies per-group precoders to layer symbols:
/// `out[port * n + re] = sum_l w[(port * L + l) * stride_w + group] * x[l * n + re]`
/// for the REs `r0..r1` of one group (`r1 - r0` a multiple of `V::W`).
///
/// # Safety
/// Planes hold the indexed elements; target features of `V` present.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn apply_precoder<V: Lanes>(
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
        for port in 0..n_ports {
            let mut re = r0;
            while re < r1 {
                let mut acc = czero::<V>();
                for l in 0..n_layers {
                    let c = *w.add((port * n_layers + l) * stride_w + group);
                    let wc = C {
                        re: V::splat(c.re),
                        im: V::splat(c.im),
                    };
                    acc = cmac_plain(acc, wc, V::load_c(x.add(l * n + re)));
                }
                V::store_c(out.add(port * n + re), acc);
                re += V::W;
            }
        }
    }
}

/// Adds per-group precoded layers to antenna planes given by pointer:
/// `out[port][re] += sum_l w[(port * L + l) * stride_w + group] * x[l][re]`
/// for the REs `r0..r1` of one group (`r1 - r0` a multiple of `V::W`). The
/// PDSCH path's form of [`apply_precoder`]: its layer and antenna planes
/// are rows of different grids, and co-scheduled PDSCHs add up.
///
/// # Safety
/// `x` holds `n_layers` and `out` `n_ports` plane pointers whose planes hold
/// REs `r0..r1`; `w` holds the indexed weights; target features of `V` present.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn apply_precoder_add<V: Lanes>(
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
        for port in 0..n_ports {
            let o = *out.add(port);
            let mut re = r0;
            while re < r1 {
                let mut acc = V::load_c(o.add(re));
                for l in 0..n_layers {
                    let c = *w.add((port * n_layers + l) * stride_w + group);
                    let wc = C {
                        re: V::splat(c.re),
                        im: V::splat(c.im),
                    };
                    acc = cmac_plain(acc, wc, V::load_c((*x.add(l)).add(re)));
                }
                V::store_c(o.add(re), acc);
                re += V::W;
            }
        }
    }
}

// ---- operation counts ----------------------------------------------------

/// Real floating-point operations per RE of [`detect_block`] (an FMA counts
/// two, a reciprocal estimate plus its Newton step four, a bare estimate one), as executed.
pub(crate) fn detect_flops(n: usize, l: usize, zf: bool) -> f64 {
    let fin = if zf { 4.0 } else { 12.0 };
    match l {
        // detect_block_l1: |h|^2 and h^H y per antenna, then one reciprocal.
        1 if zf => return 12.0 * n as f64 + 11.0 + fin,
        // detect_block_mmse1: gain and matched filter 12 per antenna, the
        // first two antennas' products 3 fewer each and the join 3; floor,
        // sigma, A, 1e-4 A 5; max and reciprocal 5; selects 2, the scaled
        // symbol 2, sigma / g and its min 2.
        1 => return 12.0 * n as f64 - 3.0 + 5.0 + 5.0 + 6.0,
        // detect_block_zf22: column norms 14 (2 mul + 6 FMA), det H 14,
        // floor and d 9, reciprocal estimate 1, sigma 1, adj(H) y 28, times
        // conj(det) 12, a_ll, 10 floor and sigma a_ll 5, scaling by 1/d 4,
        // two noise variances (multiply, multiply, min, select) 8.
        2 if zf && n == 2 => return 14.0 + 14.0 + 9.0 + 1.0 + 1.0 + 28.0 + 12.0 + 5.0 + 4.0 + 8.0,
        // detect_block_zf2: Gram (2 real + 1 complex) and h^H y per antenna,
        // the first antenna's as products (8 flops fewer); closed-form 2x2
        // inverse with a reciprocal estimate, and outputs: 50.
        2 if zf => return 32.0 * n as f64 - 8.0 + 50.0,
        // detect_block_l2 (MMSE): as above with accumulators from zero,
        // closed-form 2x2 inverse.
        2 => return 32.0 * n as f64 + 45.0 + 2.0 * fin,
        4 if !zf => return mmse4_flops(n),
        _ => {}
    }
    let (n, l) = (n as f64, l as f64);
    // Gram lower triangle + matched filter, per antenna.
    let gram = n * (8.0 * l + 4.0 * l + 8.0 * l * (l - 1.0) / 2.0);
    // Trace, floor, noise floor.
    let setup = l + 4.0;
    (gram + setup + ldl_flops(l) + solve_flops(l) + inv_diag_flops(l))
        + l * if zf { 4.0 } else { 12.0 }
}

/// [`detect_range_mmse4`]: the Gram passes 96 per antenna less 24 (the
/// first antenna's products), then [`mmse4_from_gram`]: trace, floor,
/// sigma and the regularised diagonal 9; pivots 12, 34, 38 and 21
/// (reciprocals at 4); `N = -L^-1` 32; `σ P_j` 18, `σ |N_3j|^2` 12,
/// `1 - β` 7, `β` 15; forward substitution and `D^-1` 56; backward 48;
/// [`finish_mmse`] 11 per layer.
fn mmse4_flops(n: usize) -> f64 {
    96.0 * n as f64 - 24.0
        + 9.0
        + (12.0 + 34.0 + 38.0 + 21.0)
        + 32.0
        + 18.0
        + 12.0
        + 7.0
        + 15.0
        + 56.0
        + 48.0
        + 4.0 * 11.0
}

fn ldl_flops(l: f64) -> f64 {
    let mut f = 0.0;
    let li = l as usize;
    for j in 0..li {
        let j = j as f64;
        // d_j (2 FMA per k), add, max, reciprocal; then per row below:
        // j complex multiply-subtracts (4 FMA) and a complex scale (2 mul).
        f += 4.0 * j + 2.0 + 4.0 + (l - 1.0 - j) * (8.0 * j + 2.0);
    }
    f
}

fn solve_flops(l: f64) -> f64 {
    // Beyond 4 layers also the three complex adds per row and substitution
    // that join the partial sums.
    let join = if l > 4.0 { 12.0 * l } else { 0.0 };
    plain_solve_flops(l) + join
}

/// Two triangular substitutions and the 1/d scaling (`solve_multi`, and
/// `solve` up to 4 layers).
fn plain_solve_flops(l: f64) -> f64 {
    8.0 * l * (l - 1.0) / 2.0 * 2.0 + 2.0 * l
}

fn inv_diag_flops(l: f64) -> f64 {
    let li = l as usize;
    let mut f = 0.0;
    for j in 0..li {
        for i in j + 1..li {
            // (i - j - 1) complex MACs, negate (2), |m|^2 (3), accumulate (2).
            f += 8.0 * (i - j - 1) as f64 + 7.0;
        }
    }
    f
}

/// Real floating-point operations of [`detect_group_block`] for one group
/// of `r` REs (one lane), as executed.
pub(crate) fn detect_group_flops(n: usize, l: usize, zf: bool, r: usize) -> f64 {
    let (nf, lf) = (n as f64, l as f64);
    // Gram lower triangle per antenna (no matched filter), once per group.
    let gram = nf * (4.0 * lf + 8.0 * lf * (lf - 1.0) / 2.0);
    // Matched filter: a complex multiply-add per antenna, layer and RE.
    let mf = nf * lf * r as f64 * 8.0;
    // Trace, floor and noise floor; the per-layer scale and noise variance
    // (MMSE: multiply, subtract, max, reciprocal with Newton step, select,
    // multiply, min, select, and the scaling of the unit solution, 2; ZF:
    // multiply, min, multiply, select).
    let setup = lf + 4.0 + lf * if zf { 4.0 } else { 13.0 };
    // Per pass of up to GROUP_PASS REs: whole batches of GROUP_RHS take
    // `solve_multi`, the rest `solve`; MMSE scales each output (2).
    let mut solves = 0.0;
    let mut left = r;
    while left > 0 {
        let jn = left.min(GROUP_PASS);
        let multi = jn / GROUP_RHS * GROUP_RHS;
        solves += multi as f64 * plain_solve_flops(lf) + (jn - multi) as f64 * solve_flops(lf);
        left -= jn;
    }
    let scale = if zf { 0.0 } else { 2.0 * lf * r as f64 };
    gram + mf + setup + ldl_flops(lf) + inv_diag_flops(lf) + solves + scale
}

/// Real floating-point operations per PRB group of [`precode_block`]
/// (ZF/RZF; MRT when `mrt`).
pub(crate) fn precode_flops(n: usize, k: usize, mrt: bool) -> f64 {
    let (nf, kf) = (n as f64, k as f64);
    let scale = nf * kf * 2.0 + kf * 8.0;
    if mrt {
        return nf * kf * 4.0 + scale;
    }
    let gram = nf * (4.0 * kf + 8.0 * kf * (kf - 1.0) / 2.0);
    // Beyond 4 users whole batches of PRECODE_RHS antennas take
    // `solve_multi` (no partial sums to join), the rest `solve`. Per antenna
    // and user also: the conjugate (1), |w|^2 (3) and its sum (1).
    let multi = if k > 4 {
        n / PRECODE_RHS * PRECODE_RHS
    } else {
        0
    };
    let solves = multi as f64 * (plain_solve_flops(kf) + 5.0 * kf)
        + (n - multi) as f64 * (solve_flops(kf) + 5.0 * kf);
    gram + kf + 4.0 + ldl_flops(kf) + solves + scale
}
