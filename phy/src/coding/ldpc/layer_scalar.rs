//! The scalar layer update of layered min-sum, written lane by lane: the
//! reference the vector kernels (`super::layer::layer_update` over the AVX2
//! and AVX-512 lane types) must match bit for bit.

use super::layer::{LayerArgs, MAX_LANES, QMAX};

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

/// Checks a vector layer kernel against [`layer_update`]: random rows (Z not
/// always a multiple of the width, APP values beyond the 8-bit range, every
/// rule), dirty work buffers, and two updates in a row so the second reads the
/// messages each kernel stored in its own lane order. Panics on a difference.
///
/// # Safety
/// `kernel` must be runnable on this CPU.
#[cfg(test)]
pub(crate) unsafe fn assert_layer_twin(kernel: unsafe fn(LayerArgs<'_>)) {
    use super::layer::{MinSum, FRONT};
    let mut s = 0x9e37_79b9_7f4a_7c15u64;
    let mut rnd = move |n: u64| {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s % n
    };
    let rules = [
        MinSum::Normalized { alpha_16: 12 },
        MinSum::Offset { beta: 1 },
        MinSum::Lambda3 { beta: 0 },
        MinSum::Lambda3 { beta: 2 },
    ];
    for z in [7usize, 32, 52, 64, 100, 384] {
        for rule in rules {
            let deg = 3 + rnd(17) as usize;
            let zp = z.div_ceil(64) * 64;
            let col = 2 * z + 2 * FRONT;
            let mut app = vec![0i16; deg * col];
            let mut offs = Vec::new();
            let mut bases = Vec::new();
            for e in 0..deg {
                let b = e * col + FRONT;
                for l in 0..z {
                    let v = rnd(601) as i16 - 300;
                    app[b + l] = v;
                    app[b + z + l] = v;
                }
                bases.push(b);
                offs.push(b + rnd(z as u64) as usize);
            }
            let mut r = [vec![0i8; deg * zp], vec![0i8; deg * zp]];
            let mut work = [vec![0i16; deg * zp], vec![0i16; deg * zp]];
            for w in work.iter_mut() {
                w.iter_mut().for_each(|x| *x = rnd(65536) as i16);
            }
            for pass in 0..2 {
                for (k, (r, work)) in r.iter_mut().zip(work.iter_mut()).enumerate() {
                    let args = LayerArgs {
                        app: &mut app,
                        offs: &offs,
                        r,
                        work,
                        stride: zp,
                        lanes: z,
                        rule,
                        bases: &bases,
                        write_back: false,
                    };
                    if k == 0 {
                        layer_update(args);
                    } else {
                        // SAFETY: the caller vouches for the CPU; offs[e] + zp
                        // stays within app (shift < Z, FRONT >= 64 of slack after
                        // the doubled column), r and work hold deg * zp lanes.
                        unsafe { kernel(args) };
                    }
                }
                for e in 0..deg {
                    let (a, b) = (&work[0][e * zp..e * zp + z], &work[1][e * zp..e * zp + z]);
                    assert_eq!(a, b, "Z={z} {rule:?} degree {deg} edge {e} pass {pass}");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::simd::SimdLevel;

    /// The layer update over the AVX2 lanes against the scalar twin.
    #[test]
    #[cfg(target_arch = "x86_64")]
    #[cfg_attr(not(host_avx2), ignore = "this CPU has no AVX2/FMA")]
    fn avx2_layer_update_matches_the_scalar_twin() {
        assert!(
            SimdLevel::Avx2.is_supported(),
            "built on an AVX2 machine, run on one without: rebuild here"
        );
        // SAFETY: AVX2 is present (asserted above).
        unsafe { super::assert_layer_twin(super::super::layer::layer_update_avx2) };
    }

    /// The layer update over the AVX-512 lanes against the scalar twin.
    #[test]
    #[cfg(target_arch = "x86_64")]
    #[cfg_attr(not(host_avx512), ignore = "this CPU has no AVX-512F/BW")]
    fn avx512_layer_update_matches_the_scalar_twin() {
        assert!(
            SimdLevel::Avx512.is_supported(),
            "built on an AVX-512 machine, run on one without: rebuild here"
        );
        // SAFETY: AVX-512 F and BW are present (asserted above).
        unsafe { super::assert_layer_twin(super::super::layer::layer_update_avx512) };
    }
}
