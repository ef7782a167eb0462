//! Link adaptation: SINR to MCS, with an outer loop towards a target BLER.
//!
//! The inner loop maps the SINR measured on DM-RS/SRS to the highest MCS
//! whose BLER at that SINR stays at or below the target ([`McsSelector`],
//! thresholds taken from the link-level BLER curves). Measurements are biased
//! and noisy, so the outer loop ([`Olla`]) adds an offset that moves up by
//! `step x target` on each ACK and down by `step x (1 - target)` on each NACK
//! of a first transmission: it settles where the NACK rate equals the target.

use crate::mcs::McsTable;

/// SINR per layer of an `layers`-layer PUSCH relative to the single-layer
/// SINR after combining over `n_rx` antennas, dB (negative): the power is
/// split over the layers (TS 38.213 §7.1.1: equally over the antenna ports)
/// and a linear (MMSE/ZF) receiver keeps `n_rx - layers + 1` of the
/// `n_rx`-fold diversity per layer.
pub fn layer_sinr_offset_db(layers: u8, n_rx: u16) -> f32 {
    let r = layers.max(1) as f32;
    let n = (n_rx.max(1) as f32).max(r);
    -10.0 * r.log10() - 10.0 * (n / (n - r + 1.0)).log10()
}

/// Outer-loop link adaptation state of one UE on one carrier.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Olla {
    /// Target BLER of first transmissions (0.1 by default).
    pub target_bler: f32,
    /// Step, dB: a NACK moves the offset down by `step x (1 - target)`.
    pub step_db: f32,
    /// The offset is kept within +-`limit_db`.
    pub limit_db: f32,
    offset_db: f32,
}

impl Default for Olla {
    fn default() -> Self {
        Olla::new(0.1, 0.5)
    }
}

impl Olla {
    /// An outer loop towards `target_bler` with `step_db` per NACK.
    pub fn new(target_bler: f32, step_db: f32) -> Olla {
        Olla {
            target_bler: target_bler.clamp(1e-4, 0.9),
            step_db,
            limit_db: 20.0,
            offset_db: 0.0,
        }
    }
    /// The current offset, dB (added to the measured SINR).
    pub fn offset_db(&self) -> f32 {
        self.offset_db
    }
    /// The outcome of a first transmission.
    pub fn on_crc(&mut self, ok: bool) {
        let d = if ok {
            self.step_db * self.target_bler
        } else {
            -self.step_db * (1.0 - self.target_bler)
        };
        self.offset_db = (self.offset_db + d).clamp(-self.limit_db, self.limit_db);
    }
}

/// SINR thresholds per MCS: the SINR at which each MCS reaches the target BLER.
#[derive(Debug, Clone, PartialEq)]
pub struct McsSelector {
    table: McsTable,
    thresholds_db: Vec<f32>,
}

impl McsSelector {
    /// `thresholds_db[m]` is the SINR (dB) where MCS `m` of `table` reaches
    /// the target BLER. Values must be non-decreasing; returns `None` if not,
    /// or if the length does not match the table.
    pub fn new(table: McsTable, thresholds_db: Vec<f32>) -> Option<McsSelector> {
        (thresholds_db.len() == table.len() && thresholds_db.windows(2).all(|w| w[0] <= w[1]))
            .then_some(McsSelector {
                table,
                thresholds_db,
            })
    }
    /// Thresholds from the Shannon bound with a gap: MCS `m` needs
    /// `10 log10(2^SE_m - 1) + gap_db`. An approximation for tests, benches
    /// and drivers without measured BLER curves; system studies use the
    /// thresholds of the measured tables instead.
    pub fn shannon_gap(table: McsTable, gap_db: f32) -> McsSelector {
        let th = (0..table.len() as u8)
            .map(|m| 10.0 * (2f32.powf(table.spectral_efficiency(m)) - 1.0).log10() + gap_db)
            .collect();
        McsSelector {
            table,
            thresholds_db: th,
        }
    }

    /// The MCS table.
    pub fn table(&self) -> McsTable {
        self.table
    }
    /// The thresholds, dB.
    pub fn thresholds_db(&self) -> &[f32] {
        &self.thresholds_db
    }
    /// The highest MCS not above `max_mcs` whose threshold is at most
    /// `sinr_db`; MCS 0 when even that is above (the lowest rate is still tried).
    pub fn select(&self, sinr_db: f32, max_mcs: u8) -> u8 {
        let n = self
            .thresholds_db
            .partition_point(|&t| t <= sinr_db)
            .min(max_mcs as usize + 1);
        n.saturating_sub(1) as u8
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_xoshiro::Xoshiro256PlusPlus;

    /// A synthetic link for the test only: BLER of MCS m at SINR s is a
    /// logistic step around threshold m (1 dB per MCS) with 0.5 dB width.
    fn bler(m: u8, s: f32) -> f32 {
        1.0 / (1.0 + ((s - m as f32) / 0.5).exp())
    }

    #[test]
    fn olla_converges_to_target_bler_despite_biased_measurement() {
        // Thresholds at BLER 10 %: m + 0.5 ln 9.
        let th: Vec<f32> = (0..29).map(|m| m as f32 + 0.5 * 9f32.ln()).collect();
        let sel = McsSelector::new(McsTable::Qam64, th).unwrap();
        for bias in [-3.0f32, 0.0, 4.0] {
            let mut olla = Olla::new(0.1, 0.5);
            let mut rng = Xoshiro256PlusPlus::seed_from_u64(7);
            let (mut n, mut nack) = (0u32, 0u32);
            for i in 0..40_000 {
                let true_sinr = 12.0 + rng.gen_range(-1.0f32..1.0);
                let measured = true_sinr + bias + rng.gen_range(-1.0f32..1.0);
                let m = sel.select(measured + olla.offset_db(), 28);
                let ok = rng.gen::<f32>() >= bler(m, true_sinr);
                olla.on_crc(ok);
                if i >= 10_000 {
                    n += 1;
                    nack += !ok as u32;
                }
            }
            let b = nack as f32 / n as f32;
            assert!((b - 0.1).abs() < 0.015, "bias {bias}: BLER {b}");
            assert!(
                (olla.offset_db() + bias).abs() < 1.5,
                "offset {} should undo bias {bias}",
                olla.offset_db()
            );
        }
    }

    #[test]
    fn selector_edges() {
        let th: Vec<f32> = (0..29).map(|m| m as f32).collect();
        let sel = McsSelector::new(McsTable::Qam64, th).unwrap();
        assert_eq!(sel.select(-10.0, 28), 0);
        assert_eq!(sel.select(5.5, 28), 5);
        assert_eq!(sel.select(100.0, 28), 28);
        assert_eq!(sel.select(100.0, 16), 16);
        assert!(McsSelector::new(McsTable::Qam64, vec![0.0; 3]).is_none());
    }
}
