//! Detection with one channel per group of REs: the Gram matrix and its
//! factor once per group, the matched filter and solve per RE.

use super::detector::finish_scale;
use super::linalg::{cmac_conj, cscale, czero, gram_chunk, inv_diag, ldl, solve, solve_multi};
use super::{Lanes, ABS_FLOOR, C, REL_FLOOR};
use num_complex::Complex32;

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
pub(super) const GROUP_PASS: usize = 12;
/// REs solved together (`solve_multi`).
pub(super) const GROUP_RHS: usize = 4;

/// Detects the REs of the `V::W` groups starting at `g0` (one group per
/// lane), each holding `r_len` REs from RE `g R`: once per group the Gram
/// matrix `H^H H` (the same sums as the per-RE detector's), its `L D L^H`
/// factor and the diagonal of `A^-1` with the per-layer scale and noise
/// variance; per RE the matched filter `H^H y` (register-tiled over
/// layers x REs, a matrix product) and the solve, `GROUP_RHS` REs at a
/// time. Per RE the same outputs as [`detect_block`](super::detector::detect_block) for a channel equal
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
