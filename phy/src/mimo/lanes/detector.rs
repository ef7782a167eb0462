//! The generic per-RE detector: the Gram matrix, `L D L^H` factor, solve
//! and per-layer outputs for any antenna and layer count (the reference the
//! tuned kernels of [`super::kernels`] match), and the one-layer case.

use super::linalg::{cmac_conj, cnorm, cscale, czero, gram_tiled, inv_diag, ldl, solve};
use super::{Lanes, ABS_FLOOR, C, MIN_BETA, REL_FLOOR, ZERO_CONFIDENCE, ZF_DEGENERATE};
use num_complex::Complex32;

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

/// The output of one layer from the solution `z`, `[A^-1]_kk`, the noise
/// (raised to the floor) and the floor: ZF `nvar = σ [A^-1]_kk` (no
/// information when the layer's gain sits at the floor); MMSE unbiased
/// `x / β`, `nvar = (1 - β) / β`, `β = 1 - σ [A^-1]_kk`.
#[inline(always)]
pub(super) unsafe fn finish<V: Lanes>(zf: bool, z: C<V>, ginv: V, sigma: V, floor: V) -> (C<V>, V) {
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
pub(super) unsafe fn finish_scale<V: Lanes>(zf: bool, ginv: V, sigma: V, floor: V) -> (V, V) {
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
pub(super) unsafe fn finish_mmse<V: Lanes>(z: C<V>, one_m_beta: V, beta: V) -> (C<V>, V) {
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
pub(super) unsafe fn detect_block_l1<V: Lanes>(
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
