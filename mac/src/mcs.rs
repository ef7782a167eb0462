//! MCS tables and transport-block size, TS 38.214 §5.1.3.1 and §5.1.3.2.
//!
//! The scheduler picks an MCS index; these tables give its modulation order
//! and target code rate, and [`tbs`] the transport-block size for an
//! allocation. Only the tables for CP-OFDM PUSCH/PDSCH are here (tables 1 and 2).

/// One row of an MCS table: modulation order Q_m and target code rate R x 1024.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct McsEntry {
    /// Bits per modulation symbol (2, 4, 6, 8).
    pub qm: u8,
    /// Target code rate x 1024.
    pub rate_x1024: f32,
}

const fn e(qm: u8, rate_x1024: f32) -> McsEntry {
    McsEntry { qm, rate_x1024 }
}

/// TS 38.214 Table 5.1.3.1-1 (up to 64QAM), I_MCS 0..=28.
pub const MCS_TABLE_1: [McsEntry; 29] = [
    e(2, 120.0),
    e(2, 157.0),
    e(2, 193.0),
    e(2, 251.0),
    e(2, 308.0),
    e(2, 379.0),
    e(2, 449.0),
    e(2, 526.0),
    e(2, 602.0),
    e(2, 679.0),
    e(4, 340.0),
    e(4, 378.0),
    e(4, 434.0),
    e(4, 490.0),
    e(4, 553.0),
    e(4, 616.0),
    e(4, 658.0),
    e(6, 438.0),
    e(6, 466.0),
    e(6, 517.0),
    e(6, 567.0),
    e(6, 616.0),
    e(6, 666.0),
    e(6, 719.0),
    e(6, 772.0),
    e(6, 822.0),
    e(6, 873.0),
    e(6, 910.0),
    e(6, 948.0),
];

/// TS 38.214 Table 5.1.3.1-2 (up to 256QAM), I_MCS 0..=27.
pub const MCS_TABLE_2: [McsEntry; 28] = [
    e(2, 120.0),
    e(2, 193.0),
    e(2, 308.0),
    e(2, 449.0),
    e(2, 602.0),
    e(4, 378.0),
    e(4, 434.0),
    e(4, 490.0),
    e(4, 553.0),
    e(4, 616.0),
    e(4, 658.0),
    e(6, 466.0),
    e(6, 517.0),
    e(6, 567.0),
    e(6, 616.0),
    e(6, 666.0),
    e(6, 719.0),
    e(6, 772.0),
    e(6, 822.0),
    e(6, 873.0),
    e(8, 682.5),
    e(8, 711.0),
    e(8, 754.0),
    e(8, 797.0),
    e(8, 841.0),
    e(8, 885.0),
    e(8, 916.5),
    e(8, 948.0),
];

/// Which MCS table (the PDU's `mcs_table` field, 1 or 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum McsTable {
    /// Table 5.1.3.1-1, up to 64QAM.
    Qam64,
    /// Table 5.1.3.1-2, up to 256QAM.
    Qam256,
}

impl McsTable {
    /// The rows of the table.
    pub fn entries(self) -> &'static [McsEntry] {
        match self {
            McsTable::Qam64 => &MCS_TABLE_1,
            McsTable::Qam256 => &MCS_TABLE_2,
        }
    }
    /// The highest I_MCS carrying data.
    pub fn max_mcs(self) -> u8 {
        self.entries().len() as u8 - 1
    }
    /// The value of the PDU's `mcs_table` field.
    pub fn pdu_index(self) -> u8 {
        match self {
            McsTable::Qam64 => 1,
            McsTable::Qam256 => 2,
        }
    }
    /// Spectral efficiency Q_m x R of `mcs`, bits per RE per layer.
    pub fn spectral_efficiency(self, mcs: u8) -> f32 {
        let r = self.entries()[mcs as usize];
        r.qm as f32 * r.rate_x1024 / 1024.0
    }
}

/// TS 38.214 Table 5.1.3.2-1: TBS for N_info <= 3824.
const TBS_TABLE: [u32; 93] = [
    24, 32, 40, 48, 56, 64, 72, 80, 88, 96, 104, 112, 120, 128, 136, 144, 152, 160, 168, 176, 184,
    192, 208, 224, 240, 256, 272, 288, 304, 320, 336, 352, 368, 384, 408, 432, 456, 480, 504, 528,
    552, 576, 608, 640, 672, 704, 736, 768, 808, 848, 888, 928, 984, 1032, 1064, 1128, 1160, 1192,
    1224, 1256, 1288, 1320, 1352, 1416, 1480, 1544, 1608, 1672, 1736, 1800, 1864, 1928, 2024, 2088,
    2152, 2216, 2280, 2408, 2472, 2536, 2600, 2664, 2728, 2792, 2856, 2976, 3104, 3240, 3368, 3496,
    3624, 3752, 3824,
];

/// Resource elements for data per PRB (TS 38.214 §5.1.3.2 step 1):
/// `12 x n_symbols - dmrs_re_per_prb - overhead`, capped at 156.
pub fn re_per_prb(n_symbols: u8, dmrs_re_per_prb: u16, overhead: u16) -> u32 {
    (12 * n_symbols as i32 - dmrs_re_per_prb as i32 - overhead as i32).clamp(0, 156) as u32
}

/// Transport-block size in bits, TS 38.214 §5.1.3.2, for `n_prb` PRBs of
/// `re_per_prb` data REs, `layers` layers and `mcs` of `table`.
/// Returns 0 when the allocation carries no data.
pub fn tbs(table: McsTable, mcs: u8, n_prb: u32, re_per_prb: u32, layers: u32) -> u32 {
    let entry = table.entries()[(mcs as usize).min(table.entries().len() - 1)];
    let n_re = (re_per_prb.min(156) * n_prb) as f64;
    let r = entry.rate_x1024 as f64 / 1024.0;
    let n_info = n_re * r * entry.qm as f64 * layers as f64;
    if n_info <= 0.0 {
        return 0;
    }
    if n_info <= 3824.0 {
        let n = ((n_info.log2().floor() as i32) - 6).max(3);
        let step = (1u64 << n) as f64;
        let n_info_q = (step * (n_info / step).floor()).max(24.0) as u32;
        return *TBS_TABLE.iter().find(|&&t| t >= n_info_q).unwrap_or(&3824);
    }
    let n = ((n_info - 24.0).log2().floor() as i32) - 5;
    let step = (1u64 << n) as f64;
    let n_info_q = (step * ((n_info - 24.0) / step).round()).max(3840.0);
    let ceil = |a: f64, b: f64| (a / b).ceil();
    let tbs = if r <= 0.25 {
        let c = ceil(n_info_q + 24.0, 3816.0);
        8.0 * c * ceil(n_info_q + 24.0, 8.0 * c) - 24.0
    } else if n_info_q > 8424.0 {
        let c = ceil(n_info_q + 24.0, 8424.0);
        8.0 * c * ceil(n_info_q + 24.0, 8.0 * c) - 24.0
    } else {
        8.0 * ceil(n_info_q + 24.0, 8.0) - 24.0
    };
    tbs as u32
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
    fn table_entries_are_in_the_tbs_table_range() {
        // N_info exactly 3824 maps to the last table entry.
        assert_eq!(TBS_TABLE.len(), 93);
        assert!(TBS_TABLE.windows(2).all(|w| w[0] < w[1]));
    }
}
