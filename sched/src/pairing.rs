//! MU-MIMO pairing: semi-orthogonal user selection (SUS) under a channel
//! correlation threshold and a layer cap, and the zero-forcing SINR loss of
//! the users paired.
//!
//! Candidates are visited in scheduling-priority order; a candidate joins the
//! group when its normalised correlation `|h_i^H h_j| / (|h_i| |h_j|)` with
//! every member is at most the threshold and the group's layers stay within
//! the cap. With a zero-forcing (or MMSE at high SNR) receiver, member `k`
//! keeps the fraction `1 / [(H^H H)^-1]_kk` of its single-user SINR, `H`
//! holding the unit-norm channel vectors of the group (1 for orthogonal users).

use num_complex::Complex32;

/// Pairing settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PairingConfig {
    /// Largest allowed correlation between two members, 0..=1.
    pub corr_threshold: f32,
    /// Most layers in one group (one PRB group).
    pub layer_cap: u8,
    /// PRB groups the carrier is divided into; each gets its own group of users.
    pub prb_groups: u16,
    /// Candidates examined per group (the best by metric), bounding the work.
    pub max_candidates: usize,
}

impl Default for PairingConfig {
    fn default() -> Self {
        PairingConfig {
            corr_threshold: 0.3,
            layer_cap: 8,
            prb_groups: 4,
            max_candidates: 32,
        }
    }
}

/// Normalised correlation of two channel vectors (0 when either is zero).
pub fn correlation(a: &[Complex32], b: &[Complex32]) -> f32 {
    let mut dot = Complex32::new(0.0, 0.0);
    let (mut na, mut nb) = (0.0f32, 0.0f32);
    for (x, y) in a.iter().zip(b) {
        dot += x.conj() * y;
        na += x.norm_sqr();
        nb += y.norm_sqr();
    }
    if na == 0.0 || nb == 0.0 {
        return 0.0;
    }
    dot.norm() / (na * nb).sqrt()
}

/// Semi-orthogonal user selection. `order` lists candidate ids by priority,
/// `vec_of(id)` gives a candidate's channel vector and `layers_of(id)` its
/// layers. Chosen ids are appended to `out` (cleared first); the first
/// candidate that fits the cap is always taken.
pub fn select<'a>(
    order: &[u32],
    vec_of: impl Fn(u32) -> &'a [Complex32],
    layers_of: impl Fn(u32) -> u8,
    cfg: &PairingConfig,
    out: &mut Vec<u32>,
) {
    out.clear();
    let mut layers = 0u32;
    for &c in order.iter().take(cfg.max_candidates) {
        let l = layers_of(c) as u32;
        if layers + l > cfg.layer_cap as u32 {
            continue;
        }
        let v = vec_of(c);
        if out
            .iter()
            .all(|&m| correlation(v, vec_of(m)) <= cfg.corr_threshold)
        {
            out.push(c);
            layers += l;
            if layers >= cfg.layer_cap as u32 {
                break;
            }
        }
    }
}

/// Zero-forcing SINR retention per member, `1 / [(G)^-1]_kk` with `G` the
/// Gram matrix of the unit-normalised vectors `vec_of(0..k)`; written to
/// `out`. `scratch` is resized as needed (no allocation once warm). A
/// singular group gives 0 for every member.
pub fn zf_retention<'a>(
    k: usize,
    vec_of: impl Fn(usize) -> &'a [Complex32],
    scratch: &mut Vec<Complex32>,
    out: &mut Vec<f32>,
) {
    out.clear();
    if k == 0 {
        return;
    }
    // Augmented [G | I], Gauss-Jordan with partial pivoting.
    let w = 2 * k;
    scratch.clear();
    scratch.resize(k * w, Complex32::new(0.0, 0.0));
    // Norms go to `out` first (overwritten with the result at the end).
    for i in 0..k {
        out.push(vec_of(i).iter().map(|x| x.norm_sqr()).sum::<f32>().sqrt());
    }
    for i in 0..k {
        for j in 0..k {
            let mut d = Complex32::new(0.0, 0.0);
            for (x, y) in vec_of(i).iter().zip(vec_of(j)) {
                d += x.conj() * y;
            }
            scratch[i * w + j] = d / (out[i] * out[j]).max(1e-30);
        }
        scratch[i * w + k + i] = Complex32::new(1.0, 0.0);
    }
    out.clear();
    for col in 0..k {
        let piv = (col..k)
            .max_by(|&a, &b| {
                scratch[a * w + col]
                    .norm()
                    .total_cmp(&scratch[b * w + col].norm())
            })
            .unwrap_or(col);
        if scratch[piv * w + col].norm() < 1e-6 {
            out.clear();
            out.resize(k, 0.0);
            return;
        }
        if piv != col {
            for j in 0..w {
                scratch.swap(piv * w + j, col * w + j);
            }
        }
        let p = scratch[col * w + col];
        for j in 0..w {
            scratch[col * w + j] /= p;
        }
        for r in 0..k {
            if r != col {
                let f = scratch[r * w + col];
                if f != Complex32::new(0.0, 0.0) {
                    for j in 0..w {
                        let v = scratch[col * w + j];
                        scratch[r * w + j] -= f * v;
                    }
                }
            }
        }
    }
    for i in 0..k {
        let d = scratch[i * w + k + i].re;
        out.push(if d > 0.0 { (1.0 / d).min(1.0) } else { 0.0 });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_xoshiro::Xoshiro256PlusPlus;

    fn random_vec(rng: &mut Xoshiro256PlusPlus, n: usize) -> Vec<Complex32> {
        (0..n)
            .map(|_| Complex32::new(rng.gen_range(-1.0..1.0), rng.gen_range(-1.0..1.0)))
            .collect()
    }

    #[test]
    fn groups_never_exceed_threshold_or_layer_cap() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(5);
        for trial in 0..200 {
            let n_ant = [2, 4, 8, 16, 64][trial % 5];
            let vecs: Vec<Vec<Complex32>> = (0..40).map(|_| random_vec(&mut rng, n_ant)).collect();
            let layers: Vec<u8> = (0..40).map(|_| rng.gen_range(1..=2)).collect();
            let cfg = PairingConfig {
                corr_threshold: rng.gen_range(0.05..0.9),
                layer_cap: rng.gen_range(1..=12),
                prb_groups: 1,
                max_candidates: 40,
            };
            let order: Vec<u32> = (0..40).collect();
            let mut out = Vec::new();
            select(
                &order,
                |i| &vecs[i as usize],
                |i| layers[i as usize],
                &cfg,
                &mut out,
            );
            let total: u32 = out.iter().map(|&i| layers[i as usize] as u32).sum();
            assert!(
                total <= cfg.layer_cap as u32,
                "layers {total} > cap {}",
                cfg.layer_cap
            );
            for (a, &i) in out.iter().enumerate() {
                for &j in &out[a + 1..] {
                    let c = correlation(&vecs[i as usize], &vecs[j as usize]);
                    assert!(c <= cfg.corr_threshold, "corr {c} > {}", cfg.corr_threshold);
                }
            }
            assert!(
                !out.is_empty(),
                "the first candidate fits any cap >= 2 layers or 1-layer"
            );
        }
    }

    #[test]
    fn zf_retention_is_one_for_orthogonal_and_falls_with_correlation() {
        let e = |i: usize| {
            let mut v = vec![Complex32::new(0.0, 0.0); 4];
            v[i] = Complex32::new(1.0, 0.0);
            v
        };
        let (a, b) = (e(0), e(1));
        let mut s = Vec::new();
        let mut out = Vec::new();
        zf_retention(2, |i| [&a, &b][i], &mut s, &mut out);
        assert!((out[0] - 1.0).abs() < 1e-6 && (out[1] - 1.0).abs() < 1e-6);
        // Correlation rho between two unit vectors: retention 1 - rho^2.
        let rho = 0.6f32;
        let c = vec![
            Complex32::new(rho, 0.0),
            Complex32::new((1.0 - rho * rho).sqrt(), 0.0),
            Complex32::new(0.0, 0.0),
            Complex32::new(0.0, 0.0),
        ];
        zf_retention(2, |i| [&a, &c][i], &mut s, &mut out);
        assert!((out[0] - (1.0 - rho * rho)).abs() < 1e-5, "{out:?}");
        // Identical vectors: singular, nothing retained.
        zf_retention(2, |_| &a, &mut s, &mut out);
        assert_eq!(out, vec![0.0, 0.0]);
    }
}
