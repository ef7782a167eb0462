//! Transport block size determination, TS 38.214 §5.1.3.2 (PDSCH) and
//! §6.1.4.2 (PUSCH), with the MCS tables of §5.1.3.1 and §6.1.4.1.
//!
//! Everything is exact integer arithmetic. The target code rate R is kept as
//! R·2048 (the tables give R·1024 with a few `.5` entries), so N_info =
//! S·N_RE·R·Q_m·v is the rational `N_RE·(R·2048)·Q_m·v / (2048/S)`, and every
//! floor, log2 and "round" of §5.1.3.2 is done on that fraction. No float ever
//! touches N_info.

use thiserror::Error;

/// An MCS index table (TS 38.214 §5.1.3.1, §6.1.4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum McsTable {
    /// Table 5.1.3.1-1 (`qam64`), MCS table 1.
    Qam64,
    /// Table 5.1.3.1-2 (`qam256`), MCS table 2.
    Qam256,
    /// Table 5.1.3.1-3 (`qam64LowSE`), MCS table 3.
    Qam64LowSe,
    /// Table 6.1.4.1-1: PUSCH with transform precoding, 64QAM.
    TransformPrecodingQam64,
    /// Table 6.1.4.1-2: PUSCH with transform precoding, 64QAM low SE.
    TransformPrecodingQam64LowSe,
}

impl McsTable {
    /// The table a PUSCH uses (§6.1.4.1): `table` 1..=3 as configured
    /// (mcs-Table / mcs-TableTransformPrecoder); with transform precoding,
    /// 1 and 3 select Tables 6.1.4.1-1 and -2 and 2 selects Table 5.1.3.1-2.
    pub fn pusch(table: u8, transform_precoding: bool) -> Option<Self> {
        Some(match (table, transform_precoding) {
            (1, false) => McsTable::Qam64,
            (2, _) => McsTable::Qam256,
            (3, false) => McsTable::Qam64LowSe,
            (1, true) => McsTable::TransformPrecodingQam64,
            (3, true) => McsTable::TransformPrecodingQam64LowSe,
            _ => return None,
        })
    }

    /// The table a PDSCH uses: 1..=3 for Tables 5.1.3.1-1..3.
    pub fn pdsch(table: u8) -> Option<Self> {
        Self::pusch(table, false)
    }

    /// The value of a PDU's `mcs_table` field (1..=3) that selects this table.
    pub fn pdu_index(self) -> u8 {
        match self {
            McsTable::Qam64 | McsTable::TransformPrecodingQam64 => 1,
            McsTable::Qam256 => 2,
            McsTable::Qam64LowSe | McsTable::TransformPrecodingQam64LowSe => 3,
        }
    }

    /// The highest I_MCS carrying data (§5.1.3.1, §6.1.4.1: 28 in Tables
    /// 5.1.3.1-1 and -3, 27 in the others).
    pub fn max_mcs(self) -> u8 {
        (self.rows().len() - 1) as u8
    }

    /// Number of I_MCS rows carrying data.
    pub fn len(self) -> usize {
        self.rows().len()
    }

    /// Never empty; here for the `len` convention.
    pub fn is_empty(self) -> bool {
        false
    }

    /// Q_m and target rate of `index`, clamped to the highest data row.
    pub fn entry(self, index: u8) -> Mcs {
        mcs(self, index.min(self.max_mcs()), false).unwrap_or(Mcs { qm: 2, r_x2048: 0 })
    }

    /// Spectral efficiency Q_m x R of `index`, bits per RE per layer.
    pub fn spectral_efficiency(self, index: u8) -> f32 {
        let r = self.entry(index);
        (r.qm as f64 * r.r_x1024() / 1024.0) as f32
    }

    /// (Q_m, R·2048) for each usable index. Q_m = 0 marks a π/2-BPSK row of
    /// the transform-precoding tables (Q_m = q, R = value/q, see [`mcs`]).
    fn rows(self) -> &'static [(u8, u32)] {
        // R·1024 values doubled, so 682.5 -> 1365 and 916.5 -> 1833.
        const T1: [(u8, u32); 29] = [
            (2, 240),
            (2, 314),
            (2, 386),
            (2, 502),
            (2, 616),
            (2, 758),
            (2, 898),
            (2, 1052),
            (2, 1204),
            (2, 1358),
            (4, 680),
            (4, 756),
            (4, 868),
            (4, 980),
            (4, 1106),
            (4, 1232),
            (4, 1316),
            (6, 876),
            (6, 932),
            (6, 1034),
            (6, 1134),
            (6, 1232),
            (6, 1332),
            (6, 1438),
            (6, 1544),
            (6, 1644),
            (6, 1746),
            (6, 1820),
            (6, 1896),
        ];
        const T2: [(u8, u32); 28] = [
            (2, 240),
            (2, 386),
            (2, 616),
            (2, 898),
            (2, 1204),
            (4, 756),
            (4, 868),
            (4, 980),
            (4, 1106),
            (4, 1232),
            (4, 1316),
            (6, 932),
            (6, 1034),
            (6, 1134),
            (6, 1232),
            (6, 1332),
            (6, 1438),
            (6, 1544),
            (6, 1644),
            (6, 1746),
            (8, 1365),
            (8, 1422),
            (8, 1508),
            (8, 1594),
            (8, 1682),
            (8, 1770),
            (8, 1833),
            (8, 1896),
        ];
        const T3: [(u8, u32); 29] = [
            (2, 60),
            (2, 80),
            (2, 100),
            (2, 128),
            (2, 156),
            (2, 198),
            (2, 240),
            (2, 314),
            (2, 386),
            (2, 502),
            (2, 616),
            (2, 758),
            (2, 898),
            (2, 1052),
            (2, 1204),
            (4, 680),
            (4, 756),
            (4, 868),
            (4, 980),
            (4, 1106),
            (4, 1232),
            (6, 876),
            (6, 932),
            (6, 1034),
            (6, 1134),
            (6, 1232),
            (6, 1332),
            (6, 1438),
            (6, 1544),
        ];
        // Rows with Q_m = 0 are the q rows: the value is R·2048 for q = 1.
        const TP1: [(u8, u32); 28] = [
            (0, 480),
            (0, 628),
            (2, 386),
            (2, 502),
            (2, 616),
            (2, 758),
            (2, 898),
            (2, 1052),
            (2, 1204),
            (2, 1358),
            (4, 680),
            (4, 756),
            (4, 868),
            (4, 980),
            (4, 1106),
            (4, 1232),
            (4, 1316),
            (6, 932),
            (6, 1034),
            (6, 1134),
            (6, 1232),
            (6, 1332),
            (6, 1438),
            (6, 1544),
            (6, 1644),
            (6, 1746),
            (6, 1820),
            (6, 1896),
        ];
        const TP2: [(u8, u32); 28] = [
            (0, 120),
            (0, 160),
            (0, 200),
            (0, 256),
            (0, 312),
            (0, 396),
            (2, 240),
            (2, 314),
            (2, 386),
            (2, 502),
            (2, 616),
            (2, 758),
            (2, 898),
            (2, 1052),
            (2, 1204),
            (2, 1358),
            (4, 756),
            (4, 868),
            (4, 980),
            (4, 1106),
            (4, 1232),
            (4, 1316),
            (4, 1398),
            (4, 1544),
            (6, 1134),
            (6, 1232),
            // Row 26 is 666 (spectral efficiency 3.9023 = 6·666/1024), not
            // 666.5.
            (6, 1332),
            (6, 1544),
        ];
        match self {
            McsTable::Qam64 => &T1,
            McsTable::Qam256 => &T2,
            McsTable::Qam64LowSe => &T3,
            McsTable::TransformPrecodingQam64 => &TP1,
            McsTable::TransformPrecodingQam64LowSe => &TP2,
        }
    }
}

/// A modulation order and target code rate from an MCS table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Mcs {
    /// Modulation order Q_m (1 = π/2-BPSK, 2, 4, 6, 8).
    pub qm: u8,
    /// Target code rate R times 2048 (exact: the tables give R·1024 in halves).
    pub r_x2048: u32,
}

impl Mcs {
    /// R·1024 as the tables print it (682.5 stays 682.5).
    pub fn r_x1024(self) -> f64 {
        self.r_x2048 as f64 / 2.0
    }
}

/// Why a transport block size cannot be determined.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TbsError {
    /// The MCS index is beyond the table or a reserved row (the TBS then
    /// comes from the initial transmission, §5.1.3.2).
    #[error("MCS index {index} has no code rate in {table:?} (reserved or out of range)")]
    ReservedMcs {
        /// The table.
        table: McsTable,
        /// The index.
        index: u8,
    },
    /// No resource elements (or no layers) to carry data.
    #[error("no resources: N_RE = {n_re}, layers = {layers}")]
    NoResources {
        /// N_RE.
        n_re: u32,
        /// Layers v.
        layers: u8,
    },
    /// N_RE or N_info beyond what a 32-bit TBS can carry (n_PRB or layers
    /// far beyond NR's 275 PRBs and 8 layers).
    #[error(
        "n_PRB = {n_prb}, {layers} layers: N_info = N_RE·R·Q_m·v = {n_info} exceeds {max} \
         (NR carriers have at most 275 PRBs, TS 38.101-1 Table 5.3.2-1)"
    )]
    TooLarge {
        /// Allocated PRBs.
        n_prb: u32,
        /// Layers v.
        layers: u8,
        /// N_info, rounded down (saturated when it does not fit).
        n_info: u64,
        /// The largest N_info accepted.
        max: u64,
    },
    /// N'_RE would be negative (more DM-RS/overhead REs than the PRB holds).
    #[error("overhead of {overhead} REs exceeds 12·{n_symb} REs per PRB")]
    Overhead {
        /// N_DMRS + N_oh.
        overhead: u32,
        /// Allocated symbols.
        n_symb: u8,
    },
}

/// Q_m and R for `index` of `table` (§5.1.3.1 / §6.1.4.1). `tp_pi2bpsk`
/// is the `tp-pi2BPSK` flag: in the transform-precoding tables q = 1 when it
/// is set (π/2-BPSK) and q = 2 otherwise.
pub fn mcs(table: McsTable, index: u8, tp_pi2bpsk: bool) -> Result<Mcs, TbsError> {
    let &(qm, r) = table
        .rows()
        .get(index as usize)
        .ok_or(TbsError::ReservedMcs { table, index })?;
    Ok(if qm == 0 {
        let q = if tp_pi2bpsk { 1 } else { 2 };
        Mcs {
            qm: q,
            r_x2048: r / q as u32,
        }
    } else {
        Mcs { qm, r_x2048: r }
    })
}

/// Table 5.1.3.2-1: the TBS values for N_info ≤ 3824.
pub const TBS_TABLE: [u32; 93] = [
    24, 32, 40, 48, 56, 64, 72, 80, 88, 96, 104, 112, 120, 128, 136, 144, 152, 160, 168, 176, 184,
    192, 208, 224, 240, 256, 272, 288, 304, 320, 336, 352, 368, 384, 408, 432, 456, 480, 504, 528,
    552, 576, 608, 640, 672, 704, 736, 768, 808, 848, 888, 928, 984, 1032, 1064, 1128, 1160, 1192,
    1224, 1256, 1288, 1320, 1352, 1416, 1480, 1544, 1608, 1672, 1736, 1800, 1864, 1928, 2024, 2088,
    2152, 2216, 2280, 2408, 2472, 2536, 2600, 2664, 2728, 2792, 2856, 2976, 3104, 3240, 3368, 3496,
    3624, 3752, 3824,
];

/// The TB scaling factor S of Table 5.1.3.2-2 (P-RNTI / RA-RNTI PDSCH).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum TbScaling {
    /// S = 1 (every C-RNTI transmission).
    #[default]
    One,
    /// S = 0.5.
    Half,
    /// S = 0.25.
    Quarter,
}

impl TbScaling {
    fn shift(self) -> u32 {
        match self {
            TbScaling::One => 0,
            TbScaling::Half => 1,
            TbScaling::Quarter => 2,
        }
    }
}

/// The resources and MCS of one transmission, the inputs of §5.1.3.2.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TbsParams {
    /// Allocated PRBs n_PRB.
    pub n_prb: u32,
    /// Allocated OFDM symbols N_symb^sh.
    pub n_symb_sh: u8,
    /// DM-RS REs per PRB in the allocation, N_DMRS^PRB (CDM groups without data included).
    pub n_dmrs_prb: u32,
    /// Overhead N_oh^PRB (xOverhead: 0, 6, 12 or 18).
    pub n_oh: u32,
    /// Layers v.
    pub num_layers: u8,
    /// Modulation order and target code rate.
    pub mcs: Mcs,
    /// Scaling factor S.
    pub scaling: TbScaling,
}

/// The intermediate quantities and the TBS of §5.1.3.2.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TbsInfo {
    /// N'_RE = 12·N_symb − N_DMRS − N_oh (per PRB).
    pub n_re_prime: u32,
    /// N_RE = min(156, N'_RE)·n_PRB.
    pub n_re: u32,
    /// N_info as an exact fraction: numerator over 2^`n_info_den_log2`.
    pub n_info_num: u64,
    /// log2 of N_info's denominator.
    pub n_info_den_log2: u32,
    /// The transport block size A.
    pub tbs: u32,
}

impl TbsInfo {
    /// N_info as a float, for display only (exact for every realistic value).
    pub fn n_info(&self) -> f64 {
        self.n_info_num as f64 / (1u64 << self.n_info_den_log2) as f64
    }
}

/// floor(log2(num / 2^den_log2)) for num > 0.
fn floor_log2_frac(num: u64, den_log2: u32) -> i64 {
    63 - num.leading_zeros() as i64 - den_log2 as i64
}

fn ceil_div(a: u64, b: u64) -> u64 {
    a.div_ceil(b)
}

/// Steps 2-4 of §5.1.3.2: the TBS for N_info = `num`/2^`den_log2` (> 0) and
/// target rate R = `r_x2048`/2048.
pub fn tbs_from_n_info(num: u64, den_log2: u32, r_x2048: u32) -> u32 {
    let one = 1u64 << den_log2;
    if num <= 3824 * one {
        // n = max(3, floor(log2 N_info) − 6); N'_info = max(24, 2^n·floor(N_info/2^n)).
        let n = (floor_log2_frac(num, den_log2) - 6).max(3) as u32;
        let n_prime = ((num >> (n + den_log2)) << n).max(24);
        *TBS_TABLE
            .iter()
            .find(|&&t| t as u64 >= n_prime)
            .expect("N'_info <= 3824 is within Table 5.1.3.2-1")
    } else {
        // n = floor(log2(N_info − 24)) − 5; N'_info = max(3840, 2^n·round((N_info − 24)/2^n)),
        // ties rounded up.
        let x = num - 24 * one;
        let n = (floor_log2_frac(x, den_log2) - 5) as u32;
        let sh = n + den_log2;
        let rounded = (x + (1u64 << (sh - 1))) >> sh;
        let n_prime = (rounded << n).max(3840);
        let t = if r_x2048 <= 512 {
            // R ≤ 1/4
            let c = ceil_div(n_prime + 24, 3816);
            8 * c * ceil_div(n_prime + 24, 8 * c) - 24
        } else if n_prime > 8424 {
            let c = ceil_div(n_prime + 24, 8424);
            8 * c * ceil_div(n_prime + 24, 8 * c) - 24
        } else {
            8 * ceil_div(n_prime + 24, 8) - 24
        };
        t as u32
    }
}

/// The largest N_info [`transport_block_size`] accepts: 2^31, so that the
/// TBS (at most N_info plus one code block's rounding) fits a `u32`.
pub const MAX_N_INFO: u64 = 1 << 31;

/// The transport block size of one PDSCH/PUSCH transmission (§5.1.3.2, step 1
/// to 4; PUSCH §6.1.4.2 uses the same steps). Arithmetic is checked: an
/// allocation whose N_info exceeds [`MAX_N_INFO`] is
/// [`TbsError::TooLarge`], never a wrapped value.
pub fn transport_block_size(p: &TbsParams) -> Result<TbsInfo, TbsError> {
    let total = 12 * p.n_symb_sh as u32;
    let overhead = p.n_dmrs_prb.saturating_add(p.n_oh);
    let n_re_prime = total.checked_sub(overhead).ok_or(TbsError::Overhead {
        overhead,
        n_symb: p.n_symb_sh,
    })?;
    let den_log2 = 11 + p.scaling.shift();
    let too_large = |num: Option<u64>| TbsError::TooLarge {
        n_prb: p.n_prb,
        layers: p.num_layers,
        n_info: num.map_or(u64::MAX, |n| n >> den_log2),
        max: MAX_N_INFO,
    };
    // N_RE = min(156, N'_RE)·n_PRB (u64: no wrap), N_info·2^den as below.
    let n_re64 = n_re_prime.min(156) as u64 * p.n_prb as u64;
    let num = n_re64
        .checked_mul(p.mcs.r_x2048 as u64)
        .and_then(|x| x.checked_mul(p.mcs.qm as u64))
        .and_then(|x| x.checked_mul(p.num_layers as u64));
    let n_re = u32::try_from(n_re64).map_err(|_| too_large(num))?;
    let num = match num {
        Some(n) if n >> den_log2 <= MAX_N_INFO => n,
        _ => return Err(too_large(num)),
    };
    if num == 0 {
        return Err(TbsError::NoResources {
            n_re,
            layers: p.num_layers,
        });
    }
    Ok(TbsInfo {
        n_re_prime,
        n_re,
        n_info_num: num,
        n_info_den_log2: den_log2,
        tbs: tbs_from_n_info(num, den_log2, p.mcs.r_x2048),
    })
}

/// n_PRB,LBRM of TS 38.212 Table 5.4.2.1-1 from the largest BWP size.
pub fn n_prb_lbrm(max_bwp_prbs: u32) -> u32 {
    match max_bwp_prbs {
        0..=32 => 32,
        33..=66 => 66,
        67..=107 => 107,
        108..=135 => 135,
        136..=162 => 162,
        163..=217 => 217,
        _ => 273,
    }
}

/// TBS_LBRM of TS 38.212 §5.4.2.1: the TBS for N_RE = 156·n_PRB,LBRM, R =
/// 948/1024, the largest Q_m (`max_qm`: 8 with a 256QAM table, else 6) and
/// `layers` (for DL-SCH min(max layers, 4); for UL-SCH the maximum layers).
pub fn tbs_lbrm(n_prb_lbrm: u32, layers: u8, max_qm: u8) -> u32 {
    let r_x2048 = 1896;
    let num = 156 * n_prb_lbrm as u64 * r_x2048 * max_qm as u64 * layers as u64;
    tbs_from_n_info(num.max(1), 11, r_x2048 as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An independent float-free reference in the most literal form: the
    /// fraction kept as (numerator, denominator) and every step on u128.
    fn reference(n_re: u64, r_x2048: u64, qm: u64, v: u64) -> u32 {
        let (num, den) = (
            n_re as u128 * r_x2048 as u128 * qm as u128 * v as u128,
            2048u128,
        );
        let log2_floor = |n: u128, d: u128| {
            let mut k = 0i32;
            while (1u128 << (k + 1)) * d <= n {
                k += 1;
            }
            k
        };
        if num <= 3824 * den {
            let n = (log2_floor(num, den) - 6).max(3) as u32;
            let p = 1u128 << n;
            let np = (p * (num / (den * p))).max(24);
            *TBS_TABLE.iter().find(|&&t| t as u128 >= np).unwrap()
        } else {
            let x = num - 24 * den;
            let n = (log2_floor(x, den) - 5) as u32;
            let p = 1u128 << n;
            // round(x/(den p)) with ties up = floor((2x + den p) / (2 den p))
            let np = (p * ((2 * x + den * p) / (2 * den * p))).max(3840);
            let c = if r_x2048 * 4 <= 2048 {
                (np + 24).div_ceil(3816)
            } else if np > 8424 {
                (np + 24).div_ceil(8424)
            } else {
                1
            };
            (8 * c * (np + 24).div_ceil(8 * c) - 24) as u32
        }
    }

    #[test]
    fn tables_have_the_spec_row_counts_and_are_sorted() {
        assert_eq!(TBS_TABLE.len(), 93);
        assert!(TBS_TABLE.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(McsTable::Qam64.rows().len(), 29);
        assert_eq!(McsTable::Qam256.rows().len(), 28);
        assert_eq!(McsTable::Qam64LowSe.rows().len(), 29);
        assert!(mcs(McsTable::Qam64, 29, false).is_err());
        assert_eq!(
            mcs(McsTable::Qam256, 20, false).unwrap(),
            Mcs {
                qm: 8,
                r_x2048: 1365
            }
        );
        assert_eq!(
            mcs(McsTable::TransformPrecodingQam64, 0, true).unwrap().qm,
            1
        );
        // TS 38.214 Table 6.1.4.1-2 rows 25-27: (6, 616), (6, 666), (6, 772).
        for (i, r) in [(25u8, 1232u32), (26, 1332), (27, 1544)] {
            assert_eq!(
                mcs(McsTable::TransformPrecodingQam64LowSe, i, false).unwrap(),
                Mcs { qm: 6, r_x2048: r }
            );
        }
        assert_eq!(
            mcs(McsTable::TransformPrecodingQam64, 0, false).unwrap(),
            Mcs {
                qm: 2,
                r_x2048: 240
            }
        );
    }

    #[test]
    fn matches_the_literal_reference_over_a_sweep() {
        for table in [McsTable::Qam64, McsTable::Qam256, McsTable::Qam64LowSe] {
            for idx in 0..table.rows().len() as u8 {
                let m = mcs(table, idx, false).unwrap();
                for n_prb in [1u32, 2, 5, 11, 24, 51, 106, 217, 273] {
                    for n_symb in [2u8, 4, 7, 12, 14] {
                        for v in [1u8, 2, 4] {
                            let p = TbsParams {
                                n_prb,
                                n_symb_sh: n_symb,
                                n_dmrs_prb: 12,
                                n_oh: 0,
                                num_layers: v,
                                mcs: m,
                                scaling: TbScaling::One,
                            };
                            let got = transport_block_size(&p).unwrap();
                            let want =
                                reference(got.n_re as u64, m.r_x2048 as u64, m.qm as u64, v as u64);
                            assert_eq!(got.tbs, want, "{table:?} {idx} {n_prb} {n_symb} {v}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn known_values() {
        // 273 PRBs, 12 data symbols, 256QAM 948/1024, 4 layers: the usual peak TBS.
        let p = TbsParams {
            n_prb: 273,
            n_symb_sh: 14,
            n_dmrs_prb: 12,
            n_oh: 0,
            num_layers: 4,
            mcs: mcs(McsTable::Qam256, 27, false).unwrap(),
            scaling: TbScaling::One,
        };
        let t = transport_block_size(&p).unwrap();
        assert_eq!(t.n_re, 156 * 273);
        assert_eq!(t.tbs, 1_277_992);
        assert!(transport_block_size(&TbsParams {
            n_dmrs_prb: 200,
            ..p
        })
        .is_err());
        assert!(transport_block_size(&TbsParams { n_prb: 0, ..p }).is_err());
    }

    #[test]
    fn huge_allocations_are_errors_not_wrapped_sizes() {
        let p = TbsParams {
            n_prb: 1_000_000_000,
            n_symb_sh: 14,
            n_dmrs_prb: 12,
            n_oh: 0,
            num_layers: 4,
            mcs: mcs(McsTable::Qam256, 27, false).unwrap(),
            scaling: TbScaling::One,
        };
        for n_prb in [1_000_000_000u32, u32::MAX, 30_000_000] {
            let e = transport_block_size(&TbsParams { n_prb, ..p }).unwrap_err();
            assert!(
                matches!(e, TbsError::TooLarge { n_prb: n, .. } if n == n_prb),
                "{n_prb}: {e}"
            );
            assert!(e.to_string().contains("n_PRB"), "{e}");
        }
        let e = transport_block_size(&TbsParams {
            n_prb: 275,
            num_layers: u8::MAX,
            n_dmrs_prb: u32::MAX,
            ..p
        })
        .unwrap_err();
        assert!(matches!(e, TbsError::Overhead { .. }), "{e}");
        // Just below the bound the TBS is computed and fits.
        let t = transport_block_size(&TbsParams {
            n_prb: 100_000,
            ..p
        })
        .unwrap();
        let n_info = t.n_info_num >> t.n_info_den_log2;
        assert!(n_info > 400_000_000 && (t.tbs as u64).abs_diff(n_info) < n_info / 16);
    }
}
