//! Per-UE transport-block counters of one link direction (uplink PUSCH or
//! downlink PDSCH) and the figures the report derives from them.

/// What one UE's transport blocks did in one direction.
#[derive(Debug, Default, Clone)]
pub(crate) struct LinkStats {
    /// Transmissions (first and HARQ retransmissions).
    pub transmissions: u64,
    /// First transmissions.
    pub first_tx: u64,
    /// First transmissions whose CRC failed.
    pub first_tx_fail: u64,
    /// Blocks delivered.
    pub ok: u64,
    /// Blocks failed after the last HARQ transmission.
    pub failed: u64,
    /// Blocks dropped (with a reason kept by the caller).
    pub dropped: u64,
    /// Bits delivered.
    pub bits_ok: u64,
    /// Transmissions that passed the CRC with wrong bits (handled as NACK).
    pub undetected: u64,
    /// Sum of the MCS indices used, per transmission.
    pub mcs_sum: f64,
    /// Sum of the measured SINRs (dB) and their count.
    pub sinr_sum: f64,
    /// Number of SINR measurements.
    pub sinr_n: u64,
    /// Sum of the layer counts, per transmission.
    pub layers_sum: u64,
}

impl LinkStats {
    /// Goodput over `air_s` seconds of air time, Mbit/s.
    pub fn goodput_mbps(&self, air_s: f64) -> f64 {
        self.bits_ok as f64 / air_s / 1e6
    }
    /// Residual BLER: blocks failed after HARQ over blocks finished.
    pub fn bler(&self) -> f64 {
        self.failed as f64 / (self.ok + self.failed).max(1) as f64
    }
    /// BLER of first transmissions.
    pub fn bler_first_tx(&self) -> f64 {
        self.first_tx_fail as f64 / self.first_tx.max(1) as f64
    }
    /// Mean MCS per transmission.
    pub fn mcs_mean(&self) -> f64 {
        self.mcs_sum / self.transmissions.max(1) as f64
    }
    /// Mean layers per transmission (0 without transmissions).
    pub fn layers_mean(&self) -> f64 {
        self.layers_sum as f64 / self.transmissions.max(1) as f64
    }
    /// Mean measured SINR in dB, if any was measured.
    pub fn sinr_db(&self) -> Option<f64> {
        (self.sinr_n > 0).then(|| self.sinr_sum / self.sinr_n as f64)
    }
    /// Adds `o`'s counters (cell totals).
    pub fn add(&mut self, o: &LinkStats) {
        self.transmissions += o.transmissions;
        self.layers_sum += o.layers_sum;
        self.first_tx += o.first_tx;
        self.first_tx_fail += o.first_tx_fail;
        self.ok += o.ok;
        self.failed += o.failed;
        self.dropped += o.dropped;
        self.bits_ok += o.bits_ok;
        self.undetected += o.undetected;
        self.mcs_sum += o.mcs_sum;
        self.sinr_sum += o.sinr_sum;
        self.sinr_n += o.sinr_n;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_figures_and_totals() {
        let a = LinkStats {
            transmissions: 5,
            first_tx: 4,
            first_tx_fail: 1,
            ok: 3,
            failed: 1,
            bits_ok: 3_000_000,
            mcs_sum: 50.0,
            sinr_sum: 30.0,
            sinr_n: 2,
            ..LinkStats::default()
        };
        assert_eq!(a.goodput_mbps(0.5), 6.0);
        assert_eq!(a.bler(), 0.25);
        assert_eq!(a.bler_first_tx(), 0.25);
        assert_eq!(a.mcs_mean(), 10.0);
        assert_eq!(a.sinr_db(), Some(15.0));
        assert_eq!(LinkStats::default().sinr_db(), None);
        assert_eq!(LinkStats::default().bler(), 0.0);
        let mut t = a.clone();
        t.add(&a);
        assert_eq!((t.ok, t.failed, t.bits_ok), (6, 2, 6_000_000));
        assert_eq!(t.bler(), a.bler());
    }
}
