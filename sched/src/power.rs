//! Uplink power control and power sharing between carriers.
//!
//! Open loop, TS 38.213 §7.1.1 (without closed-loop and Delta_TF terms):
//! `P = min(P_CMAX, P0 + 10 log10(M) + alpha x PL)` for `M` PRBs. When a UE
//! transmits on several carriers in the same slot and the sum exceeds
//! P_CMAX, every carrier is scaled down by the same factor (TS 38.213 §7.5
//! allows the UE to reduce power; with equal priorities we scale equally),
//! so the total never exceeds P_CMAX.

/// dBm to mW.
pub fn dbm_to_mw(p: f32) -> f32 {
    10f32.powf(p / 10.0)
}

/// mW to dBm (-inf for 0).
pub fn mw_to_dbm(p: f32) -> f32 {
    10.0 * p.log10()
}

/// Power (dBm) open-loop power control asks for `n_prb` PRBs, capped at `p_max_dbm`.
pub fn open_loop_dbm(
    p0_dbm: f32,
    alpha: f32,
    path_loss_db: f32,
    n_prb: u16,
    p_max_dbm: f32,
) -> f32 {
    (p0_dbm + 10.0 * (n_prb.max(1) as f32).log10() + alpha * path_loss_db).min(p_max_dbm)
}

/// Scales the requested per-carrier powers `p_dbm` in place so their sum
/// stays within `p_cmax_dbm`, all by the same factor. Returns the scaling in
/// dB (0 when nothing was cut).
pub fn share(p_dbm: &mut [f32], p_cmax_dbm: f32) -> f32 {
    let total: f32 = p_dbm.iter().map(|&p| dbm_to_mw(p)).sum();
    let cap = dbm_to_mw(p_cmax_dbm);
    if total <= cap {
        return 0.0;
    }
    let cut_db = mw_to_dbm(cap / total);
    for p in p_dbm.iter_mut() {
        *p += cut_db;
    }
    cut_db
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sharing_keeps_total_within_pcmax_and_scales_equally() {
        let mut p = [23.0f32, 20.0];
        let cut = share(&mut p, 23.0);
        let total: f32 = p.iter().map(|&x| dbm_to_mw(x)).sum();
        assert!(mw_to_dbm(total) <= 23.0 + 1e-4, "{p:?}");
        assert!(
            (mw_to_dbm(total) - 23.0).abs() < 1e-3,
            "the whole budget is used"
        );
        assert!((p[0] - 23.0 - cut).abs() < 1e-5 && (p[1] - 20.0 - cut).abs() < 1e-5);
        assert!((cut - (-1.764)).abs() < 0.01, "{cut}");
        // Within the budget: untouched.
        let mut q = [10.0f32, 10.0];
        assert_eq!(share(&mut q, 23.0), 0.0);
        assert_eq!(q, [10.0, 10.0]);
        // Open loop: grows 3 dB per doubling of PRBs until P_CMAX.
        let a = open_loop_dbm(-100.0, 0.8, 120.0, 10, 23.0);
        let b = open_loop_dbm(-100.0, 0.8, 120.0, 20, 23.0);
        assert!((b - a - 3.0103).abs() < 1e-3);
        assert_eq!(open_loop_dbm(-100.0, 0.8, 140.0, 273, 23.0), 23.0);
    }
}
