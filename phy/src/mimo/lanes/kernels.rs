//! Detection kernels tuned for the common shapes (1-layer MMSE, 2-layer ZF
//! and MMSE, 4-layer MMSE), each ordered for latency, and [`detect_range`],
//! which picks one of them or the generic detector per shape.

use super::detector::{detect_block, detect_block_l1, finish, finish_mmse, DetectParams};
use super::linalg::{cadd, cmac_conj, cmsub, cmsub_conj_left, cnorm, cscale, czero};
use super::{Lanes, ABS_FLOOR, C, MIN_BETA, REL_FLOOR, ZERO_CONFIDENCE, ZF_DEGENERATE};
use num_complex::Complex32;

/// The channel and received vectors at element `i` of their planes.
#[inline(always)]
unsafe fn ld_hy<V: Lanes>(h: *const Complex32, y: *const Complex32, i: usize) -> (C<V>, C<V>) {
    unsafe { (V::load_c(h.add(i)), V::load_c(y.add(i))) }
}

/// MMSE with one layer on `n` antennas. With one layer the unbiased MMSE
/// output is the matched filter normalised by the channel gain: with
/// `A = g + σ`, `β = 1 - σ / A = g / A`, so `x = (z / A) / β = z / g` and
/// `(1 - β) / β = σ / g`; and `β > 1e-4` is `g > 1e-4 A`. Same outputs as
/// [`detect_block_l1`](super::detector::detect_block_l1) up to rounding (`A` needs no clamp here: `σ` is at
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
/// As [`detect_block`](super::detector::detect_block) for every block; `p.n_layers == 1`, MMSE, and
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
/// `d > 0` and `rd = 1 / d`. As [`finish`](super::detector::finish) for ZF: the layer sits on the
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
/// As [`detect_block`](super::detector::detect_block) for every block; `p.n_layers == 2`, and
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
/// of REs: the algorithm of [`detect_block`](super::detector::detect_block) (`A = G + σ I` factored as
/// `L D L^H` with pivots clamped to the floor, `x̃ = A^-1 z`, `[A^-1]_ll`
/// from `L^-1`, the unbiased outputs of [`finish`](super::detector::finish)) written out for 4 layers
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
/// As [`detect_block`](super::detector::detect_block) for every block; `p.n_layers == 4`, MMSE, and
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
/// As [`detect_block`](super::detector::detect_block) for every block.
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
