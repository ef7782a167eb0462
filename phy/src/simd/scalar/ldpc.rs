//! Scalar LDPC kernels: the encoder's XOR gather and the decoder's layer update,
//! written lane by lane: the reference of the vector kernels (one skeleton,
//! `coding::ldpc::layer::layer_update`, over the AVX2 and AVX-512 lane types),
//! which must give identical results.

use crate::coding::ldpc::layer::{LayerArgs, MAX_LANES, QMAX};

/// `dst[i] = XOR over e of base[offs[e] + i]` for every i < dst.len().
///
/// Panics only if an offset runs past `base` (callers check once at construction).
pub(crate) fn xor_gather(dst: &mut [u8], base: &[u8], offs: &[usize]) {
    let n = dst.len();
    dst.fill(0);
    for &o in offs {
        for (d, s) in dst.iter_mut().zip(&base[o..o + n]) {
            *d ^= *s;
        }
    }
}

/// One layer (base row) of layered min-sum over the first `a.lanes` lanes.
///
/// See [`LayerArgs`] for the buffers and the exact fixed-point rules. Edge-major
/// loops over per-lane state so the compiler can vectorise even this twin.
pub(crate) fn layer_update(a: LayerArgs<'_>) {
    let LayerArgs {
        app,
        offs,
        r,
        work,
        stride,
        lanes,
        rule,
        bases: _,
        write_back: _,
    } = a;
    let app = &*app;
    const MAXL: usize = MAX_LANES;
    let lanes = lanes.min(MAXL);
    let mut min1 = [QMAX as u8; MAXL];
    let mut min2 = [QMAX as u8; MAXL];
    let mut min3 = [QMAX as u8; MAXL];
    let mut idx = [0u8; MAXL];
    let mut sgn = [0u8; MAXL];
    for (e, &o) in offs.iter().enumerate() {
        let src = &app[o..o + lanes];
        let re = &r[e * stride..e * stride + lanes];
        let we = &mut work[e * stride..e * stride + lanes];
        for l in 0..lanes {
            let q = src[l].wrapping_sub(re[l] as i16);
            we[l] = q;
            let m = q.clamp(-(QMAX as i16), QMAX as i16).unsigned_abs() as u8;
            sgn[l] ^= (q < 0) as u8;
            if m < min1[l] {
                min3[l] = min2[l];
                min2[l] = min1[l];
                min1[l] = m;
                idx[l] = e as u8;
            } else if m < min2[l] {
                min3[l] = min2[l];
                min2[l] = m;
            } else if m < min3[l] {
                min3[l] = m;
            }
        }
    }
    let mut s1 = [0u8; MAXL];
    let mut s2 = [0u8; MAXL];
    for l in 0..lanes {
        (s1[l], s2[l]) = rule.magnitudes(min1[l], min2[l], min3[l]);
    }
    for e in 0..offs.len() {
        let re = &mut r[e * stride..e * stride + lanes];
        let we = &mut work[e * stride..e * stride + lanes];
        for l in 0..lanes {
            let q = we[l];
            let m = if idx[l] == e as u8 { s2[l] } else { s1[l] } as i8;
            let rn = if (sgn[l] ^ (q < 0) as u8) != 0 { -m } else { m };
            re[l] = rn;
            we[l] = q.wrapping_add(rn as i16);
        }
    }
}

/// True when, for every lane l < `lanes`, the hard decisions (sign bits) of
/// `app[offs[e] + l]` have even parity over e: the check rows are satisfied.
pub(crate) fn parity_ok(app: &[i16], offs: &[usize], lanes: usize) -> bool {
    (0..lanes).all(|l| {
        offs.iter()
            .fold(0u8, |acc, &o| acc ^ (app[o + l] < 0) as u8)
            == 0
    })
}
