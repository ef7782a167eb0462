//! Complex helpers on lanes, the Gram matrix (register-tiled for many
//! layers) and the LDL^H factorisation, solves and diagonal of `A^-1` that
//! the detectors and the precoder share.

use super::{Lanes, C};
use num_complex::Complex32;

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
pub(super) unsafe fn cmsub_conj_left<V: Lanes>(acc: C<V>, a: C<V>, b: C<V>) -> C<V> {
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
pub(super) unsafe fn gram_tiled<V: Lanes, const M: usize, const MF: bool>(
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
pub(super) unsafe fn gram_chunk<V: Lanes, const M: usize, const MF: bool>(
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
