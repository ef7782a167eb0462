//! The downlink scheduler: one UE per downlink slot on every PRB (TDM). A
//! retransmission that is due goes first (oldest first transmission);
//! otherwise proportional fairness picks among UEs with a free HARQ process:
//! the spectral efficiency of the MCS link adaptation gives the UE, over
//! its average scheduled bits per slot (first transmissions and
//! retransmissions, so a UE whose blocks fail is not served forever).

use ranlab_mac::buffer::Micros;
use ranlab_mac::dl::DlMac;

/// The UE and process a downlink slot serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DlPick {
    /// UE index.
    pub ue: usize,
    /// HARQ process.
    pub pid: u8,
    /// A new block (else the retransmission of the waiting one).
    pub new_data: bool,
}

/// Proportional-fair TDM downlink scheduler.
#[derive(Debug, Clone)]
pub struct DlScheduler {
    /// Per UE: average scheduled bits per slot.
    avg_bits: Vec<f64>,
    /// Averaging window, slots.
    window: f64,
}

impl DlScheduler {
    /// For `ues` UEs, averaging over `window_slots` slots.
    pub fn new(ues: usize, window_slots: f64) -> Self {
        DlScheduler {
            avg_bits: vec![0.0; ues],
            window: window_slots,
        }
    }

    /// Whom to serve at `now`, if anyone.
    pub fn pick(&self, now: Micros, mac: &DlMac) -> Option<DlPick> {
        let ues = mac.ues();
        let retx = ues
            .iter()
            .enumerate()
            .filter_map(|(i, u)| {
                u.harq
                    .retx_ready(now)
                    .map(|p| (u.harq.process(p).first_tx_us, i, p))
            })
            .min();
        if let Some((_, ue, pid)) = retx {
            return Some(DlPick {
                ue,
                pid,
                new_data: false,
            });
        }
        let table = mac.selector().table();
        ues.iter()
            .enumerate()
            .filter_map(|(i, u)| {
                let pid = u.harq.free_process()?;
                let se = table.spectral_efficiency(mac.mcs(i)) as f64;
                Some((se / self.avg_bits[i].max(1.0), i, pid))
            })
            .max_by(|a, b| a.0.total_cmp(&b.0).then(b.1.cmp(&a.1)))
            .map(|(_, ue, pid)| DlPick {
                ue,
                pid,
                new_data: true,
            })
    }

    /// UE `u` was sent `bits` this slot.
    pub fn served(&mut self, u: usize, bits: usize) {
        self.avg_bits[u] += bits as f64 / self.window;
    }

    /// The averages move every slot, served or not.
    pub fn end_slot(&mut self) {
        for a in &mut self.avg_bits {
            *a *= 1.0 - 1.0 / self.window;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ranlab_mac::la::McsSelector;
    use ranlab_mac::mcs::McsTable;
    use ranlab_mac::timing::SlotPattern;

    #[test]
    fn proportional_fairness_alternates_between_equal_ues() {
        let mut mac = DlMac::new(
            &[1, 2],
            &[15.0, 15.0],
            SlotPattern::tdd("DDDSU").unwrap(),
            McsSelector::shannon_gap(McsTable::Qam256, 3.0),
            4,
        );
        let mut s = DlScheduler::new(2, 100.0);
        let mut served = [0; 2];
        for _ in 0..10 {
            let p = s.pick(0, &mac).unwrap();
            assert!(p.new_data);
            served[p.ue] += 1;
            s.served(p.ue, 10_000);
            s.end_slot();
            // The block stays open: the next pick may take another process.
            let _ = mac.begin_tx(p.ue, p.pid, true);
        }
        assert_eq!(served, [5, 5]);
    }
}
