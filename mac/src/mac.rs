//! The MAC's per-slot API.
//!
//! Each slot, in this order:
//! 1. [`Mac::begin_slot`]: traffic arrives, discard timers run, UEs raise
//!    SRs, and each UE's buffer estimate (what the gNB knows) is refreshed;
//! 2. a scheduler reads [`Mac::ues`] and [`Mac::carriers`] and produces
//!    [`UlGrant`]s (it chooses HARQ processes: a free one for new data or
//!    one whose retransmission is due);
//! 3. [`Mac::apply_grants`] fills the transport blocks from the UE buffers
//!    (logical channels in priority order), starts HARQ transmissions, sets
//!    each grant's rv and updates the buffer view with the BSR the PUSCH carries;
//!    [`UlGrant::pusch_pdu`] then gives the PHY its PDU;
//! 4. the PHY's results come back through [`Mac::on_crc`]: delivery, HARQ
//!    retransmission or loss, outer-loop link adaptation and channel gain;
//! 5. [`Mac::end_slot`] updates the proportional-fair averages.

use crate::buffer::{Micros, Segment};
use crate::grant::{UlCrc, UlGrant};
use crate::harq::{HarqOutcome, TbInfo};
use crate::timing::{earliest_pusch_us, CarrierTiming};
use crate::ue::UeContext;

/// A carrier as the MAC and scheduler see it.
#[derive(Debug, Clone, PartialEq)]
pub struct CarrierConfig {
    /// Name in reports (`n78`, `n1`, `sul`).
    pub name: String,
    /// Slot duration and pattern.
    pub timing: CarrierTiming,
    /// Uplink PRBs.
    pub n_prb: u16,
    /// A supplementary uplink (no downlink of its own).
    pub sul: bool,
    /// The carrier whose PDCCH schedules this one (itself unless SUL).
    pub dci_carrier: usize,
    /// gNB receive antennas.
    pub rx_antennas: u16,
    /// PUSCH symbols per slot.
    pub n_symbols: u8,
    /// DM-RS REs per PRB (TS 38.214 §5.1.3.2 N_DMRS^PRB).
    pub dmrs_re_per_prb: u16,
    /// Other overhead REs per PRB (xOverhead).
    pub overhead_re: u16,
    /// Open-loop power control P0, dBm per PRB at the carrier's SCS (TS 38.213 §7.1.1).
    pub p0_dbm: f32,
    /// Path-loss compensation factor alpha.
    pub alpha: f32,
}

impl CarrierConfig {
    /// Data REs per PRB for TBS determination.
    pub fn re_per_prb(&self) -> u32 {
        crate::mcs::re_per_prb(self.n_symbols, self.dmrs_re_per_prb, self.overhead_re)
    }
}

/// MAC-wide settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MacConfig {
    /// Minimum K2 (DCI to PUSCH), slots of the uplink carrier.
    pub k2_min: u32,
    /// gNB time from the end of a PUSCH to its CRC being known, us.
    pub decode_us: Micros,
    /// Time constant of the PF rate average, seconds.
    pub pf_window_s: f32,
}

impl Default for MacConfig {
    fn default() -> Self {
        MacConfig {
            k2_min: 1,
            decode_us: 500,
            pf_window_s: 0.05,
        }
    }
}

/// The MAC of one cell: carriers, UEs and the per-slot procedure.
#[derive(Debug, Clone)]
pub struct Mac {
    /// Carriers, primary first.
    pub carriers: Vec<CarrierConfig>,
    /// UE contexts.
    pub ues: Vec<UeContext>,
    /// Settings.
    pub cfg: MacConfig,
    scratch: Vec<Segment>,
}

impl Mac {
    /// A MAC over `carriers` serving `ues`.
    pub fn new(carriers: Vec<CarrierConfig>, ues: Vec<UeContext>, cfg: MacConfig) -> Mac {
        Mac {
            carriers,
            ues,
            cfg,
            scratch: Vec::new(),
        }
    }

    /// UE contexts (what a scheduler reads).
    pub fn ues(&self) -> &[UeContext] {
        &self.ues
    }

    /// The UE (index into [`Mac::ues`]) of C-RNTI `rnti`, if any.
    pub fn ue_of(&self, rnti: u16) -> Option<u32> {
        // RNTIs are given in UE order from 0x4601 (UeContext::new); a UE
        // built otherwise is found by a search.
        let guess = rnti.wrapping_sub(0x4601) as usize;
        match self.ues.get(guess) {
            Some(u) if u.rnti == rnti => Some(guess as u32),
            _ => self
                .ues
                .iter()
                .position(|u| u.rnti == rnti)
                .map(|i| i as u32),
        }
    }

    /// Carriers.
    pub fn carriers(&self) -> &[CarrierConfig] {
        &self.carriers
    }

    /// Step 1: arrivals, discard timers, SR triggers and the buffer estimate
    /// the scheduler may use for a PUSCH starting at `now`. The estimate is
    /// the one known K2 slots earlier, when the DCI had to be sent.
    pub fn begin_slot(&mut self, now: Micros) {
        let lead = self.cfg.k2_min as Micros * self.carriers[0].timing.slot_us;
        for ue in &mut self.ues {
            for lc in &mut ue.lcs {
                lc.source.generate(now, &mut lc.buffer);
                lc.buffer.expire(now);
            }
            let unsent = ue.unsent_bytes();
            ue.view.ue_update(now, unsent);
            ue.est_bytes = ue.view.estimate(now.saturating_sub(lead));
            ue.granted_bits_slot = 0;
        }
    }

    /// Step 3: carries out the grants of a PUSCH starting at `now` (sets each
    /// grant's `rv` and `ndi`). A grant naming a HARQ process in the wrong state is
    /// skipped and reported in the returned count of rejected grants.
    pub fn apply_grants(&mut self, now: Micros, grants: &mut [UlGrant]) -> usize {
        let mut rejected = 0;
        for g in grants.iter_mut() {
            let Some(ue) = self.ues.get_mut(g.ue as usize) else {
                rejected += 1;
                continue;
            };
            let Some(ci) = ue
                .carriers
                .iter()
                .position(|c| c.carrier == g.carrier as usize)
            else {
                rejected += 1;
                continue;
            };
            let pid = g.harq_id;
            if pid as usize >= crate::harq::NUM_PROCESSES {
                rejected += 1;
                continue;
            }
            let state = ue.carriers[ci].harq.process(pid).state;
            if g.new_data {
                if state != crate::harq::HarqState::Idle {
                    rejected += 1;
                    continue;
                }
                let mut left = g.tbs_bits as u64 / 8;
                self.scratch.clear();
                for lc in &mut ue.lcs {
                    left -= lc.buffer.take(left, &mut self.scratch);
                }
                let bytes = g.tbs_bits as u64 / 8;
                let tb = TbInfo {
                    tbs_bits: g.tbs_bits,
                    mcs: g.mcs,
                    n_prb: g.n_prb,
                    layers: g.layers,
                };
                let (ndi, rv) = ue.carriers[ci]
                    .harq
                    .start_new(pid, now, tb, &mut self.scratch);
                (g.ndi, g.rv) = (ndi, rv);
                ue.view.on_grant(bytes);
                let after = ue.unsent_bytes();
                ue.view.ue_sent_bsr(now, after);
                ue.est_bytes = ue.est_bytes.saturating_sub(bytes);
                ue.granted_bits_slot += g.tbs_bits as u64;
            } else {
                if state != crate::harq::HarqState::WaitRetx {
                    rejected += 1;
                    continue;
                }
                let (ndi, rv) = ue.carriers[ci].harq.start_retx(pid);
                (g.ndi, g.rv) = (ndi, rv);
            }
            let uc = &mut ue.carriers[ci];
            uc.stats.prb_slots += g.n_prb as u64;
            uc.stats.slots_scheduled += 1;
            uc.stats.paired_grants += g.mu_group.is_some() as u64;
            uc.last_prb_power_dbm = g.tx_power_dbm - 10.0 * (g.n_prb.max(1) as f32).log10();
        }
        rejected
    }

    /// Step 4: the CRC of a PUSCH, known at `now`. On ACK the packets it
    /// carried are delivered (latency up to `now`); on a NACK the process
    /// waits for its retransmission slot; at the last transmission its
    /// packets are dropped. First transmissions drive the outer loop; a
    /// measured SINR updates the channel gain. Returns the HARQ outcome.
    pub fn on_crc(&mut self, now: Micros, crc: &UlCrc) -> HarqOutcome {
        let Some(ue) = self.ues.get_mut(crc.ue as usize) else {
            return HarqOutcome::Unexpected;
        };
        let c = crc.carrier as usize;
        let Some(ci) = ue.carriers.iter().position(|x| x.carrier == c) else {
            return HarqOutcome::Unexpected;
        };
        if crc.harq_id as usize >= crate::harq::NUM_PROCESSES {
            return HarqOutcome::Unexpected;
        }
        let timing = &self.carriers[c].timing;
        let dci = &self.carriers[self.carriers[c].dci_carrier].timing;
        let ready = earliest_pusch_us(now, dci, timing, self.cfg.k2_min);
        let uc = &mut ue.carriers[ci];
        let proc_ = uc.harq.process(crc.harq_id);
        let first_tx = proc_.tx_count == 1;
        let tbs = proc_.tb.tbs_bits;
        let layers = proc_.tb.layers;
        self.scratch.clear();
        let out = uc
            .harq
            .on_crc(crc.harq_id, crc.ok, ready, &mut self.scratch);
        if out == HarqOutcome::Unexpected {
            return out;
        }
        if first_tx {
            uc.olla.on_crc(crc.ok);
        }
        if let Some(s) = crc.sinr_db {
            // Back to the single-layer SINR the gain is kept as.
            let n_rx = self.carriers[c].rx_antennas;
            uc.gain_db = s - crate::la::layer_sinr_offset_db(layers, n_rx) - uc.last_prb_power_dbm;
        }
        match out {
            HarqOutcome::Ack => {
                uc.stats.tb_ok += 1;
                uc.stats.bits_ok += tbs as u64;
                for lc in &mut ue.lcs {
                    lc.buffer.on_delivered(now, &self.scratch);
                }
            }
            HarqOutcome::Retx => uc.stats.tb_failed += 1,
            HarqOutcome::Failed => {
                uc.stats.tb_failed += 1;
                uc.stats.tb_dropped += 1;
                for lc in &mut ue.lcs {
                    lc.buffer.on_lost(&self.scratch);
                }
            }
            HarqOutcome::Unexpected => {}
        }
        out
    }

    /// Step 5: the slot of `slot_us` microseconds is over: PF averages move
    /// towards the rate granted in it.
    pub fn end_slot(&mut self, slot_us: Micros) {
        let a = (slot_us as f32 * 1e-6 / self.cfg.pf_window_s).min(1.0);
        for ue in &mut self.ues {
            let r = ue.granted_bits_slot as f32 / (slot_us as f32 * 1e-6);
            ue.avg_rate_bps = (1.0 - a) * ue.avg_rate_bps + a * r;
            ue.avg_rate_bps = ue.avg_rate_bps.max(1.0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bsr::ReportConfig;
    use crate::harq::HarqState;
    use crate::mcs::McsTable;
    use crate::qos::QosClass;
    use crate::timing::SlotPattern;
    use crate::traffic::TrafficModel;
    use crate::ue::{LogicalChannel, UeCapability};
    use proptest::prelude::*;

    fn mac(n_ue: u32, max_tx: u8, seed: u64) -> Mac {
        let carrier = CarrierConfig {
            name: "n78".into(),
            timing: CarrierTiming::new(30, SlotPattern::tdd("DDDSU").unwrap()),
            n_prb: 51,
            sul: false,
            dci_carrier: 0,
            rx_antennas: 4,
            n_symbols: 14,
            dmrs_re_per_prb: 24,
            overhead_re: 0,
            p0_dbm: -90.0,
            alpha: 0.8,
        };
        let ues = (0..n_ue)
            .map(|i| {
                let lcs = vec![
                    LogicalChannel::new(
                        1,
                        QosClass::Premium,
                        TrafficModel::Poisson {
                            rate_mbps: 1.0,
                            packet_bytes: 700,
                        },
                        seed * 100 + i as u64,
                    ),
                    LogicalChannel::new(
                        2,
                        QosClass::BestEffort,
                        TrafficModel::Video {
                            rate_mbps: 4.0,
                            fps: 30.0,
                        },
                        seed * 100 + 50 + i as u64,
                    ),
                ];
                let cap = UeCapability {
                    ul_carriers: vec![0],
                    max_layers: 1,
                    mcs_table: McsTable::Qam64,
                    max_tx_power_dbm: 23.0,
                };
                UeContext::new(i, cap, lcs, ReportConfig::default(), max_tx)
            })
            .collect();
        Mac::new(vec![carrier], ues, MacConfig::default())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        /// Through the whole MAC (traffic, SR/BSR, HARQ with random CRCs,
        /// discard timers): packets in = delivered + dropped + queued.
        #[test]
        fn mac_accounting_under_random_traffic_and_crcs(
            seed in 0u64..1000, n_ue in 1u32..4, max_tx in 1u8..5, p_fail in 0.0f64..0.9,
            tbs in 100u32..20_000,
        ) {
            use rand::{Rng, SeedableRng};
            let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(seed);
            let mut m = mac(n_ue, max_tx, seed);
            let slot_us = m.carriers[0].timing.slot_us;
            let mut pending: Vec<(Micros, UlCrc)> = Vec::new();
            for slot in 0..600u64 {
                let now = slot * slot_us;
                m.begin_slot(now);
                pending.retain(|(t, crc)| {
                    if *t <= now { m.on_crc(*t, crc); false } else { true }
                });
                if !m.carriers[0].timing.pattern.is_ul(slot) { continue; }
                let mut grants = Vec::new();
                for (i, ue) in m.ues().iter().enumerate() {
                    let h = &ue.carriers[0].harq;
                    let (pid, new) = match h.retx_ready(now) {
                        Some(p) => (p, false),
                        None if ue.est_bytes > 0 => match h.free_process() {
                            Some(p) => (p, true),
                            None => continue,
                        },
                        None => continue,
                    };
                    grants.push(UlGrant {
                        ue: i as u32, carrier: 0, harq_id: pid, new_data: new, ndi: false, rv: 0,
                        mcs_table: 1, mcs: 10,
                        tbs_bits: if new { tbs } else { h.process(pid).tb.tbs_bits },
                        prb_start: 0, n_prb: 10, start_symbol: 0, n_symbols: 14, layers: 1,
                        dmrs_port: 0, tx_power_dbm: 20.0, expected_sinr_db: 10.0, mu_group: None,
                    });
                }
                prop_assert_eq!(m.apply_grants(now, &mut grants), 0);
                for g in &grants {
                    let ok = rng.gen::<f64>() >= p_fail;
                    let t = now + slot_us + m.cfg.decode_us;
                    pending.push((t, UlCrc { ue: g.ue, carrier: 0, harq_id: g.harq_id, ok, sinr_db: Some(10.0) }));
                }
                m.end_slot(slot_us);
                for ue in m.ues() {
                    let c = ue.counters();
                    let queued: u64 = ue.lcs.iter().map(|l| l.buffer.queued_packets()).sum();
                    prop_assert_eq!(c.packets_in, c.delivered + c.dropped() + queued);
                    let s = ue.stats();
                    let busy = ue.carriers[0].harq.busy() as u64;
                    // Every transport block started is acked, dropped or still in a process.
                    let started = (0..16).filter(|&p| ue.carriers[0].harq.process(p).state != HarqState::Idle).count() as u64;
                    prop_assert_eq!(busy, started);
                    prop_assert!(s.tb_dropped <= s.tb_failed);
                }
            }
        }
    }

    #[test]
    fn retransmission_respects_tdd_k2() {
        let mut m = mac(1, 4, 1);
        let slot_us = m.carriers[0].timing.slot_us;
        // Make data visible, then grant in the uplink slot 4 of a later period.
        for slot in 0..40u64 {
            m.begin_slot(slot * slot_us);
        }
        assert!(m.ues[0].est_bytes > 0);
        let now = 44 * slot_us; // slot 44 is uplink in DDDSU
        m.begin_slot(now);
        let mut g = vec![UlGrant {
            ue: 0,
            carrier: 0,
            harq_id: 0,
            new_data: true,
            ndi: false,
            rv: 9,
            mcs_table: 1,
            mcs: 5,
            tbs_bits: 800,
            prb_start: 0,
            n_prb: 4,
            start_symbol: 0,
            n_symbols: 14,
            layers: 1,
            dmrs_port: 0,
            tx_power_dbm: 10.0,
            expected_sinr_db: 5.0,
            mu_group: None,
        }];
        assert_eq!(m.apply_grants(now, &mut g), 0);
        assert_eq!(g[0].rv, 0);
        let crc_at = now + slot_us + m.cfg.decode_us; // slot 46 starts
        let crc = UlCrc {
            ue: 0,
            carrier: 0,
            harq_id: 0,
            ok: false,
            sinr_db: None,
        };
        assert_eq!(m.on_crc(crc_at, &crc), HarqOutcome::Retx);
        let h = &m.ues[0].carriers[0].harq;
        // DCI in slot 46 (D), K2 >= 1 -> uplink slot 49.
        assert_eq!(h.process(0).ready_us, 49 * slot_us);
        assert_eq!(h.retx_ready(48 * slot_us), None);
        assert_eq!(h.retx_ready(49 * slot_us), Some(0));
        g[0].new_data = false;
        assert_eq!(m.apply_grants(49 * slot_us, &mut g), 0);
        assert_eq!(g[0].rv, 2, "second transmission uses rv 2");
    }
}
