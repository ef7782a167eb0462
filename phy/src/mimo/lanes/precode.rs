//! Downlink precoders per PRB group (MRT, ZF, RZF) and their application to
//! layer symbols.

use super::linalg::{
    cmac_conj, cmac_plain, cnorm, cscale, czero, gram_tiled, ldl, solve, solve_multi,
};
use super::{Lanes, ABS_FLOOR, C, REL_FLOOR};
use num_complex::Complex32;

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
pub(super) const PRECODE_RHS: usize = 4;

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
