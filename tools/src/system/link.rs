//! Link abstraction for system-level runs: BLER curves over AWGN per MCS
//! (measured with the project's own PHY by `ranlab bler-table`) and mutual
//! information effective SINR mapping (MIESM) for frequency-selective
//! allocations and HARQ combining.
//!
//! MIESM: each PRB group's SINR is mapped to the BICM mutual information
//! per bit of the MCS's modulation, the values are averaged, and the average
//! is mapped back to the AWGN SINR with the same information; that SINR is
//! looked up in the MCS's AWGN BLER curve. The BICM information of Gray
//! square QAM is twice that of Gray PAM per dimension, computed here by
//! numerical integration once per run.

use ranlab_mac::la::McsSelector;
use ranlab_mac::mcs::McsTable;
use serde::{Deserialize, Serialize};

/// One MCS's measured BLER curve.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlerCurve {
    /// MCS index.
    pub mcs: u8,
    /// Modulation order.
    pub qm: u8,
    /// Target code rate.
    pub code_rate: f64,
    /// Transport-block size measured, bits.
    pub tbs_bits: u32,
    /// Es/N0 points, dB, increasing.
    pub snr_db: Vec<f64>,
    /// Block error rate at each point.
    pub bler: Vec<f64>,
    /// Transport blocks simulated at each point.
    pub blocks: Vec<u64>,
}

/// A set of BLER curves with their provenance (the file format of
/// `tools/data/bler-awgn.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlerTable {
    /// The command that produced the table.
    pub generated_by: String,
    /// Channel (`awgn`).
    pub channel: String,
    /// MCS table, 1 or 2.
    pub mcs_table: u8,
    /// PRBs of the allocation measured.
    pub n_prb: u16,
    /// PUSCH symbols.
    pub n_symbols: u8,
    /// DM-RS REs per PRB.
    pub dmrs_re_per_prb: u16,
    /// Receiver used (e.g. `ldpc layered min-sum, 8 iterations`).
    pub receiver: String,
    /// One curve per MCS, in MCS order.
    pub curves: Vec<BlerCurve>,
    /// `ranlab bler-table` was stopped by Ctrl-C: the curves are incomplete.
    #[serde(default)]
    pub interrupted: bool,
}

impl BlerTable {
    /// Parses a table and checks it covers every MCS of its table with
    /// increasing SNR points.
    pub fn from_json(text: &str, origin: &str) -> Result<BlerTable, String> {
        let t: BlerTable = serde_json::from_str(text).map_err(|e| format!("{origin}: {e}"))?;
        if t.interrupted {
            return Err(format!(
                "{origin}: interrupted: true: `ranlab bler-table` was stopped before it finished; re-run it"
            ));
        }
        let table = t.table().ok_or(format!(
            "{origin}: mcs_table: {} (allowed: 1, 2)",
            t.mcs_table
        ))?;
        if t.curves.len() != table.len() {
            return Err(format!(
                "{origin}: curves: {} curves for {} MCS values",
                t.curves.len(),
                table.len()
            ));
        }
        for (i, c) in t.curves.iter().enumerate() {
            if c.mcs as usize != i
                || c.snr_db.len() < 2
                || c.snr_db.len() != c.bler.len()
                || c.snr_db.windows(2).any(|w| w[0] >= w[1])
            {
                return Err(format!(
                    "{origin}: curves[{i}]: needs mcs {i} and >= 2 increasing snr_db points with one bler each"
                ));
            }
        }
        Ok(t)
    }

    /// The MCS table of the curves.
    pub fn table(&self) -> Option<McsTable> {
        match self.mcs_table {
            1 => Some(McsTable::Qam64),
            2 => Some(McsTable::Qam256),
            _ => None,
        }
    }

    /// BLER of `mcs` at `snr_db`, interpolated linearly in dB over
    /// log10(BLER); 1 below the first point's region where the curve is 1,
    /// and the last measured value (floored at 1e-5) above the last point.
    pub fn bler(&self, mcs: u8, snr_db: f64) -> f64 {
        let c = &self.curves[(mcs as usize).min(self.curves.len() - 1)];
        let lg = |b: f64| b.max(1e-5).log10();
        let n = c.snr_db.len();
        if snr_db <= c.snr_db[0] {
            return c.bler[0].max(1e-5);
        }
        if snr_db >= c.snr_db[n - 1] {
            return c.bler[n - 1].max(1e-5);
        }
        let k = c.snr_db.partition_point(|&s| s <= snr_db);
        let (s0, s1) = (c.snr_db[k - 1], c.snr_db[k]);
        let (b0, b1) = (lg(c.bler[k - 1]), lg(c.bler[k]));
        10f64.powf(b0 + (b1 - b0) * (snr_db - s0) / (s1 - s0))
    }

    /// The SNR (dB) where `mcs` first reaches `target` BLER (interpolated);
    /// the last point when it never does.
    pub fn threshold_db(&self, mcs: u8, target: f64) -> f64 {
        let c = &self.curves[mcs as usize];
        for k in 1..c.snr_db.len() {
            if c.bler[k] <= target {
                if c.bler[k - 1] <= target {
                    return c.snr_db[k - 1];
                }
                let (b0, b1) = (c.bler[k - 1].max(1e-5).log10(), c.bler[k].max(1e-5).log10());
                let t = target.log10();
                return c.snr_db[k - 1] + (c.snr_db[k] - c.snr_db[k - 1]) * (t - b0) / (b1 - b0);
            }
        }
        *c.snr_db.last().unwrap()
    }

    /// An MCS selector with each MCS's `target` BLER threshold (made
    /// non-decreasing, so an MCS is never chosen below a lower one's need).
    pub fn selector(&self, target: f64) -> McsSelector {
        let mut th: Vec<f32> = (0..self.curves.len() as u8)
            .map(|m| self.threshold_db(m, target) as f32)
            .collect();
        for k in 1..th.len() {
            th[k] = th[k].max(th[k - 1]);
        }
        McsSelector::new(self.table().unwrap_or(McsTable::Qam64), th).expect("monotone thresholds")
    }
}

/// BICM mutual information per bit of Gray square QAM, tabulated over SNR.
pub struct Miesm {
    lo_db: f64,
    step_db: f64,
    /// mi[q][k]: modulation index q (Qm = 2, 4, 6, 8) at SNR lo + k step.
    mi: [Vec<f64>; 4],
}

impl Miesm {
    /// Tabulates -20..=40 dB in 0.25 dB steps.
    pub fn new() -> Miesm {
        let (lo_db, step_db, n) = (-20.0, 0.25, 241);
        let mut mi: [Vec<f64>; 4] = Default::default();
        for (q, m) in mi.iter_mut().enumerate() {
            let qm = 2 * (q + 1) as u32;
            *m = (0..n)
                .map(|k| pam_bicm_mi_per_bit(qm / 2, lo_db + k as f64 * step_db))
                .collect();
            // Enforce monotonicity against integration noise.
            for k in 1..m.len() {
                m[k] = m[k].max(m[k - 1]);
            }
        }
        Miesm { lo_db, step_db, mi }
    }

    fn curve(&self, qm: u8) -> &[f64] {
        &self.mi[((qm / 2).clamp(1, 4) - 1) as usize]
    }

    /// Information per bit at `snr_db` for modulation order `qm`.
    pub fn info(&self, qm: u8, snr_db: f64) -> f64 {
        let c = self.curve(qm);
        let x = ((snr_db - self.lo_db) / self.step_db).clamp(0.0, (c.len() - 1) as f64);
        let k = (x.floor() as usize).min(c.len() - 2);
        let f = x - k as f64;
        c[k] * (1.0 - f) + c[k + 1] * f
    }

    /// The SNR (dB) carrying `info` bits per bit at modulation `qm`.
    pub fn inverse(&self, qm: u8, info: f64) -> f64 {
        let c = self.curve(qm);
        let k = c.partition_point(|&v| v < info);
        if k == 0 {
            return self.lo_db;
        }
        if k >= c.len() {
            return self.lo_db + (c.len() - 1) as f64 * self.step_db;
        }
        let (a, b) = (c[k - 1], c[k]);
        let f = if b > a { (info - a) / (b - a) } else { 0.0 };
        self.lo_db + (k as f64 - 1.0 + f) * self.step_db
    }

    /// Effective SINR (dB) of PRB-group SINRs `sinr_db` for modulation `qm`.
    pub fn effective_db(&self, qm: u8, sinr_db: &[f64]) -> f64 {
        if sinr_db.is_empty() {
            return self.lo_db;
        }
        let avg = sinr_db.iter().map(|&s| self.info(qm, s)).sum::<f64>() / sinr_db.len() as f64;
        self.inverse(qm, avg)
    }
}

/// BICM mutual information per bit of Gray-labelled `2^bits`-PAM with the
/// energy of half a unit QAM symbol at Es/N0 `snr_db` (per-dimension SNR equal
/// to the QAM's), by trapezoidal integration over the noise.
fn pam_bicm_mi_per_bit(bits: u32, snr_db: f64) -> f64 {
    let l = 1usize << bits;
    // Levels -(L-1)..(L-1) step 2, scaled so the mean energy is 1/2.
    let e: f64 = (0..l)
        .map(|i| (2.0 * i as f64 - (l as f64 - 1.0)).powi(2))
        .sum::<f64>()
        / l as f64;
    let scale = (0.5 / e).sqrt();
    let x: Vec<f64> = (0..l)
        .map(|i| (2.0 * i as f64 - (l as f64 - 1.0)) * scale)
        .collect();
    let label: Vec<usize> = (0..l).map(|i| i ^ (i >> 1)).collect();
    let snr = 10f64.powf(snr_db / 10.0);
    let var = 0.5 / snr; // N0 / 2 per dimension with Es = 1
    let sigma = var.sqrt();
    let n_pts = 96;
    let span = 7.0 * sigma;
    let dn = 2.0 * span / (n_pts - 1) as f64;
    let mut loss = 0.0; // E[log2(sum_all / sum_same)] summed over bits
    for (i, &xi) in x.iter().enumerate() {
        for k in 0..n_pts {
            let n = -span + k as f64 * dn;
            let w = (-(n * n) / (2.0 * var)).exp() / (2.0 * std::f64::consts::PI * var).sqrt()
                * dn
                * if k == 0 || k == n_pts - 1 { 0.5 } else { 1.0 };
            let y = xi + n;
            let mut dens = [0.0f64; 16];
            let mut all = 0.0;
            for (j, &xj) in x.iter().enumerate() {
                let d = (-(y - xj).powi(2) / (2.0 * var)).exp();
                dens[j] = d;
                all += d;
            }
            for b in 0..bits {
                let bit = (label[i] >> b) & 1;
                let same: f64 = (0..l)
                    .filter(|&j| (label[j] >> b) & 1 == bit)
                    .map(|j| dens[j])
                    .sum();
                if same > 0.0 {
                    loss += w * (all / same).log2();
                }
            }
        }
    }
    (1.0 - loss / (l as f64 * bits as f64)).clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bpsk_information_matches_known_points_and_miesm_is_consistent() {
        let m = Miesm::new();
        // QPSK = 2 x BPSK; BPSK capacity at Es/N0 = 0 dB per dimension pair:
        // at high SNR 1 bit, at very low SNR ~0.
        assert!(m.info(2, 20.0) > 0.999);
        assert!(m.info(2, -20.0) < 0.02);
        // BPSK-AWGN capacity at per-dimension SNR 0 dB (Es/N0 = 0 dB for QPSK) is 0.486 bit.
        assert!((m.info(2, 0.0) - 0.486).abs() < 0.01, "{}", m.info(2, 0.0));
        // Higher orders carry less per bit at the same SNR.
        assert!(m.info(8, 10.0) < m.info(6, 10.0) && m.info(6, 10.0) < m.info(4, 10.0));
        // Flat channel: effective = actual; spread channel: below the mean in dB.
        assert!((m.effective_db(4, &[7.0, 7.0, 7.0]) - 7.0).abs() < 0.05);
        let e = m.effective_db(4, &[0.0, 14.0]);
        assert!(e > 0.0 && e < 7.5, "{e}");
    }
}
