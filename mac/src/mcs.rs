//! MCS tables and transport-block size for the scheduler, TS 38.214 §5.1.3.1 and §5.1.3.2.
//!
//! The scheduler picks an MCS index of table 1 or 2; the rows and the TBS
//! procedure are the PHY's ([`ranlab_phy::coding::tbs`], exact integer
//! arithmetic), so MAC and PHY can never disagree on a transport-block size.

use ranlab_phy::coding::tbs as phy_tbs;

/// One row of an MCS table: modulation order Q_m and target code rate.
pub use ranlab_phy::coding::tbs::Mcs as McsEntry;

/// Which MCS table: the PHY's (one vocabulary), with the scheduler's
/// helpers (`max_mcs`, `entry`, `spectral_efficiency`, `pdu_index`).
pub use ranlab_phy::coding::tbs::McsTable;

/// Resource elements for data per PRB (TS 38.214 §5.1.3.2 step 1):
/// `12 x n_symbols - dmrs_re_per_prb - overhead`, capped at 156.
pub fn re_per_prb(n_symbols: u8, dmrs_re_per_prb: u16, overhead: u16) -> u32 {
    (12 * n_symbols as i32 - dmrs_re_per_prb as i32 - overhead as i32).clamp(0, 156) as u32
}

/// Transport-block size in bits, TS 38.214 §5.1.3.2, for `n_prb` PRBs of
/// `re_per_prb` data REs, `layers` layers and `mcs` of `table` (steps 2-4
/// are the PHY's). Returns 0 when the allocation carries no data.
pub fn tbs(table: McsTable, mcs: u8, n_prb: u32, re_per_prb: u32, layers: u32) -> u32 {
    let e = table.entry(mcs);
    // N_info = N_RE·R·Q_m·v with R = r_x2048 / 2^11.
    // In u64 from the first product (156·n_PRB overflows u32 beyond 27 million PRBs).
    let num = (re_per_prb.min(156) as u64 * n_prb as u64)
        .saturating_mul(e.r_x2048 as u64 * e.qm as u64)
        .saturating_mul(layers as u64);
    if num == 0 {
        return 0;
    }
    phy_tbs::tbs_from_n_info(num, 11, e.r_x2048)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tbs_small_and_large_follow_the_procedure() {
        // 1 PRB, 12 symbols, 1 DM-RS symbol of type 1 (12 REs), MCS 0:
        // N_RE = 132, N_info = 132 * 120/1024 * 2 = 30.9 -> n = 3,
        // N'_info = max(24, 8 * floor(30.9 / 8)) = 24 -> TBS 24.
        assert_eq!(tbs(McsTable::Qam64, 0, 1, 132, 1), 24);
        // 273 PRBs, 156 REs, 256QAM MCS 27, 4 layers: the well-known largest
        // NR TBS, 1,277,992 bits (N_info 1,261,670 quantised with step 2^15
        // up to 39 x 32768, then 152 code blocks).
        let t = tbs(McsTable::Qam256, 27, 273, 156, 4);
        assert_eq!(t, 1_277_992);
        assert_eq!((t + 24) % (8 * 152), 0);
        // Monotone in PRBs and MCS.
        let mut last = 0;
        for m in 0..=28 {
            let t = tbs(McsTable::Qam64, m, 10, 144, 1);
            assert!(t >= last, "mcs {m}");
            last = t;
        }
        assert_eq!(tbs(McsTable::Qam64, 5, 0, 144, 1), 0);
    }

    #[test]
    fn rows_are_the_spec_tables() {
        // Table 5.1.3.1-1 row 9: QPSK 679; row 28: 64QAM 948.
        assert_eq!(McsTable::Qam64.entry(9).qm, 2);
        assert_eq!(McsTable::Qam64.entry(9).r_x1024(), 679.0);
        assert_eq!(McsTable::Qam64.entry(28).r_x1024(), 948.0);
        // Table 5.1.3.1-2 row 20: 256QAM 682.5; row 27: 948.
        assert_eq!(McsTable::Qam256.entry(20).qm, 8);
        assert_eq!(McsTable::Qam256.entry(20).r_x1024(), 682.5);
        assert_eq!(McsTable::Qam256.entry(27).r_x1024(), 948.0);
        assert_eq!(McsTable::Qam64.len(), 29);
        assert_eq!(McsTable::Qam256.len(), 28);
    }
}
