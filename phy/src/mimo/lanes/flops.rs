//! Floating-point operation counts of the kernels, as executed (for the
//! benches' GFLOP/s figures).

use super::grouped::{GROUP_PASS, GROUP_RHS};
use super::precode::PRECODE_RHS;

/// Real floating-point operations per RE of [`detect_block`](super::detector::detect_block) (an FMA counts
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

/// [`detect_range_mmse4`](super::kernels::detect_range_mmse4): the Gram passes 96 per antenna less 24 (the
/// first antenna's products), then [`mmse4_from_gram`](super::kernels::mmse4_from_gram): trace, floor,
/// sigma and the regularised diagonal 9; pivots 12, 34, 38 and 21
/// (reciprocals at 4); `N = -L^-1` 32; `σ P_j` 18, `σ |N_3j|^2` 12,
/// `1 - β` 7, `β` 15; forward substitution and `D^-1` 56; backward 48;
/// [`finish_mmse`](super::detector::finish_mmse) 11 per layer.
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

/// Real floating-point operations of [`detect_group_block`](super::grouped::detect_group_block) for one group
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

/// Real floating-point operations per PRB group of [`precode_block`](super::precode::precode_block)
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
