//! The loopback's downlink: the gNB sends a PDSCH in every downlink slot of
//! the pattern, each UE receives it through its own fading channel and
//! reports HARQ-ACK in the next uplink slot.
//!
//! - Scheduling: [`DlScheduler`] (in `sched`), one UE per downlink slot on
//!   every PRB (TDM), proportional fairness with a window of 100 slots, due
//!   retransmissions first. Every UE has full-buffer downlink traffic.
//! - PDSCH: mapping type A, symbols 2..13 (symbols 0-1 left to a PDCCH that is
//!   not modelled), one layer on antenna port 1000 sent from gNB antenna 0 (no
//!   precoding), DM-RS type 1 at symbol 2 with one additional position, the
//!   256QAM MCS table (TS 38.214 Table 5.1.3.1-2), MCS from the last SINR the
//!   UE measured (its CSI) plus an outer loop towards 10 % BLER.
//! - HARQ and link adaptation: [`DlMac`] (in `mac`), 16 processes per UE,
//!   rv 0-2-3-1, at most 4 transmissions; the UE's ACK/NACK for slot n goes
//!   in uplink slot n + K1 (TS 38.213 §9.2.3) and the gNB can act on it
//!   from the slot after that. Retransmissions are decoded on their own (the PDSCH
//!   receiver has no soft combining yet), like the uplink's.
//! - Channel: per UE, the scenario's model as a separate realisation (its own
//!   stream, not reciprocal with the uplink) from gNB antenna 0 to the UE's
//!   antennas, with the UE's noise. The channel follows absolute time, so a
//!   UE that was not served for a while sees the fading of the current slot.
//!
//! - gNB transmitter: the downlink slot pipeline ([`DownlinkJob`]: LDPC
//!   encoding per group of code blocks, PDSCH mapping per block of symbols,
//!   OFDM per group of symbols) on the run's `--workers` workers; its
//!   samples are bit-identical to `PdschTransmitter`'s.
//!
//! Everything else runs on the driving thread in slot order, and the driver
//! waits for each slot's samples, so a seed gives the same downlink with any
//! number of pipeline workers.

use super::report::{CellReport, UeReport};
use super::stats::LinkStats;
use crate::CliResult;
use num_complex::Complex32;
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use ranlab_mac::dl::DlMac;
use ranlab_mac::harq::{HarqOutcome, TbInfo};
use ranlab_mac::la::McsSelector;
use ranlab_mac::mcs::McsTable;
use ranlab_mac::timing::{SlotKind, SlotPattern};
use ranlab_phy::numerology::Numerology;
use ranlab_phy::ofdm::OfdmOptions;
use ranlab_phy::pdsch::{PdschPdu, PdschReceiver};
use ranlab_phy::pdu::{DmrsConfig, DmrsPorts, DmrsType};
use ranlab_phy::pipeline::downlink::DownlinkJob;
use ranlab_phy::pipeline::{Pipeline, PipelineConfig, PipelineMetrics, SlotJob};
use ranlab_phy::pusch::PuschRxConfig;
use ranlab_phy::refsig::dmrs::MappingType;
use ranlab_sched::dl::DlScheduler;
use ranlab_sim_channel::{LinkConfig, MultiLinkChannel};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Receive antennas of one UE this module handles.
const MAX_UE_ANTENNAS: usize = 8;
/// HARQ transmissions per downlink transport block.
const MAX_HARQ_TX: u8 = 4;
/// PF averaging window, slots.
const PF_WINDOW_SLOTS: f64 = 100.0;

/// A UE's downlink transport blocks, radio and receiver.
struct DlUe {
    /// Transport block bits per HARQ process.
    tb: Vec<Vec<u8>>,
    rng: Xoshiro256PlusPlus,
    rx: PdschReceiver,
    air: MultiLinkChannel,
    bufs: Vec<Vec<Complex32>>,
    stats: LinkStats,
    /// PDSCH receiver errors (counted as NACK).
    rx_errors: u64,
}

/// The downlink side of the loopback.
pub struct Downlink {
    pattern: SlotPattern,
    tx: Pipeline<DownlinkJob>,
    ues: Vec<DlUe>,
    mac: DlMac,
    sched: DlScheduler,
    pdu: PdschPdu,
    slot_us: u64,
}

impl Downlink {
    /// The downlink of carrier `num` with `pattern`, for the UEs whose uplinks
    /// are `ul_links` (their reverse links are built here, `dl_snr_db` each),
    /// with C-RNTIs `rntis`, cell identity `cell_id` and noise seed `seed`;
    /// the gNB transmitter's pipeline has `workers` workers.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        num: Numerology,
        pattern: SlotPattern,
        slot_us: u64,
        ul_links: &[LinkConfig],
        dl_snr_db: &[f64],
        rntis: &[u16],
        cell_id: u16,
        seed: u64,
        workers: usize,
    ) -> CliResult<Downlink> {
        let ofdm = OfdmOptions::default();
        let max_len = (0..num.slots_per_frame())
            .map(|k| num.slot_len(k))
            .max()
            .unwrap_or(0);
        let mut ues = Vec::with_capacity(ul_links.len());
        for (i, ul) in ul_links.iter().enumerate() {
            let n_ant = ul.channel.n_tx;
            if n_ant > MAX_UE_ANTENNAS {
                return Err(format!(
                    "ue[{i}]: {n_ant} antennas (the loopback downlink handles at most {MAX_UE_ANTENNAS})"
                )
                .into());
            }
            let mut link = ul.clone();
            link.channel.n_rx = n_ant;
            link.channel.n_tx = 1;
            link.channel.stream = ul.channel.stream + 0x1_0000;
            link.gain_db = dl_snr_db[i];
            let air = MultiLinkChannel::new(n_ant, &[link], 1.0, seed ^ 0xD0D0_0000 ^ i as u64)
                .map_err(|e| format!("downlink channel of UE {i}: {e}"))?;
            ues.push(DlUe {
                tb: vec![Vec::new(); 16],
                rng: Xoshiro256PlusPlus::seed_from_u64(seed ^ (0xD1_0000 + i as u64)),
                rx: PdschReceiver::new(num, PuschRxConfig::new(n_ant, 1))
                    .map_err(|e| format!("UE {i} PDSCH receiver: {e}"))?,
                air,
                bufs: vec![vec![Complex32::default(); max_len]; n_ant],
                stats: LinkStats::default(),
                rx_errors: 0,
            });
        }
        let pdu = pdsch_template(&num, cell_id, 1);
        // One gNB antenna; one slot in flight (the driver waits for its samples).
        let job = Arc::new(
            DownlinkJob::new(num, 1, ofdm, workers).map_err(|e| format!("gNB PDSCH: {e}"))?,
        );
        let slots = vec![job.new_slot(1)];
        let tx = Pipeline::new(
            job,
            slots,
            PipelineConfig {
                workers,
                pin: true,
                cores: Vec::new(),
                deadline: Duration::from_micros(2 * slot_us),
            },
        );
        let sinr: Vec<f32> = dl_snr_db.iter().map(|&s| s as f32).collect();
        Ok(Downlink {
            mac: DlMac::new(
                rntis,
                &sinr,
                pattern.clone(),
                McsSelector::shannon_gap(McsTable::Qam256, 3.0),
                MAX_HARQ_TX,
            ),
            sched: DlScheduler::new(ues.len(), PF_WINDOW_SLOTS),
            pattern,
            tx,
            ues,
            pdu,
            slot_us,
        })
    }

    /// Slot `n` (slot `slot_in_frame` of its frame, `len` samples starting at
    /// absolute sample `time`): HARQ-ACKs that have arrived are applied; in a
    /// downlink slot one UE is served.
    pub fn run_slot(&mut self, n: u64, slot_in_frame: u32, len: usize, time: i64) -> CliResult {
        let now = n * self.slot_us;
        let ues = &mut self.ues;
        self.mac.apply_feedback(n, now, |a| {
            let stats = &mut ues[a.ue].stats;
            if a.first_tx && !a.ok {
                stats.first_tx_fail += 1;
            }
            match a.outcome {
                HarqOutcome::Ack => {
                    stats.ok += 1;
                    stats.bits_ok += a.tbs_bits as u64;
                }
                HarqOutcome::Failed => stats.failed += 1,
                HarqOutcome::Retx | HarqOutcome::Unexpected => {}
            }
        });
        let dl = matches!(self.pattern.kind(n), SlotKind::Dl | SlotKind::Both);
        if dl {
            if let Some(p) = self.sched.pick(now, &self.mac) {
                self.serve(n, p.ue, p.pid, p.new_data, slot_in_frame, len, time)?;
            }
        }
        self.sched.end_slot();
        Ok(())
    }

    /// Encodes, sends and receives one PDSCH for UE `u` on process `pid`.
    #[allow(clippy::too_many_arguments)]
    fn serve(
        &mut self,
        n: u64,
        u: usize,
        pid: u8,
        new_data: bool,
        slot_in_frame: u32,
        len: usize,
        time: i64,
    ) -> CliResult {
        let now = n * self.slot_us;
        let ue = &mut self.ues[u];
        let tx = self.mac.begin_tx(u, pid, new_data);
        let (mcs, rv, ndi) = (tx.mcs, tx.rv, tx.ndi);
        let pdu = &mut self.pdu;
        pdu.rnti = self.mac.ues()[u].rnti;
        pdu.slot = slot_in_frame as u16;
        pdu.mcs_index = mcs;
        pdu.rv = rv;
        pdu.harq_id = pid;
        pdu.new_data = new_data;
        pdu.ndi = ndi;
        let job = self.tx.job();
        let plan = job.plan(pdu).map_err(|e| format!("UE {u} PDSCH: {e}"))?;
        let tb = &mut ue.tb[pid as usize];
        if new_data {
            tb.clear();
            let rng = &mut ue.rng;
            tb.extend((0..plan.tbs).map(|_| rng.gen::<u8>() & 1));
            self.mac.start_new(
                u,
                pid,
                now,
                TbInfo {
                    tbs_bits: plan.tbs as u32,
                    mcs,
                    n_prb: pdu.n_prb,
                    layers: 1,
                },
            );
            ue.stats.first_tx += 1;
        }
        self.sched.served(u, plan.tbs);
        ue.stats.transmissions += 1;
        ue.stats.mcs_sum += mcs as f64;
        // The gNB: the slot through the downlink pipeline (its one buffer is
        // free: every slot is waited for and released below).
        let i = self
            .tx
            .acquire()
            .map_err(|e| format!("downlink pipeline: {e}"))?;
        let slot = self.tx.slot(i);
        slot.set_pdus(job, slot_in_frame, std::slice::from_ref(pdu), &[&tb[..]])
            .map_err(|e| format!("UE {u} PDSCH: {e}"))?;
        self.tx.start(i, Instant::now());
        if !self.tx.wait_completed(i, Duration::from_secs(60)) {
            return Err("downlink pipeline: a slot did not complete in 60 s".into());
        }
        if let Some(e) = slot.error() {
            return Err(format!("UE {u} PDSCH transmit: {e}").into());
        }
        let samples = slot.samples();
        let gnb = &samples.antenna(0)[..len];

        // The air: this UE's channel at the slot's absolute time.
        if let Some(ch) = ue.air.link_channel(0) {
            if ch.position() != time as u64 {
                ch.reset(time as u64);
            }
        }
        let n_ant = ue.bufs.len();
        let mut outs: [&mut [Complex32]; MAX_UE_ANTENNAS] = Default::default();
        for (o, b) in outs.iter_mut().zip(ue.bufs.iter_mut()) {
            *o = &mut b[..len];
        }
        let air = ue.air.process(&[gnb], &mut outs[..n_ant]);
        drop(samples);
        self.tx.release(i);
        air.map_err(|e| format!("downlink channel of UE {u}: {e}"))?;
        let mut ins: [&[Complex32]; MAX_UE_ANTENNAS] = Default::default();
        for (i, b) in ins.iter_mut().zip(ue.bufs.iter()) {
            *i = &b[..len];
        }
        let (ok, sinr) = match ue.rx.process_samples(pdu, &ins[..n_ant]) {
            Ok(r) => {
                // The loopback knows the bits: a CRC pass with wrong bits is a NACK.
                let right = r.crc_ok && ue.rx.transport_block(&plan) == &tb[..];
                if r.crc_ok && !right {
                    ue.stats.undetected += 1;
                }
                (right, Some(r.sinr_db).filter(|s| s.is_finite()))
            }
            Err(_) => {
                ue.rx_errors += 1;
                (false, None)
            }
        };
        if let Some(s) = sinr {
            ue.stats.sinr_sum += s as f64;
            ue.stats.sinr_n += 1;
        }
        if !self.mac.report(n, now, u, pid, ok, sinr) {
            // No uplink slot can carry the HARQ-ACK: the block is lost to the gNB.
            ue.stats.dropped += 1;
        }
        Ok(())
    }

    /// The gNB transmitter pipeline's metrics and stage names.
    pub fn pipeline_metrics(&self) -> (&PipelineMetrics, &'static [&'static str]) {
        (self.tx.metrics(), self.tx.job().stages())
    }

    /// Writes the downlink figures into the report's UE rows and cell totals.
    pub fn report(&self, ues: &mut [UeReport], cell: &mut CellReport, air_s: f64) {
        let mut total = LinkStats::default();
        for ((u, m), r) in self.ues.iter().zip(self.mac.ues()).zip(ues.iter_mut()) {
            let s = &u.stats;
            r.dl_goodput_mbps = s.goodput_mbps(air_s);
            r.dl_bler = s.bler();
            r.dl_bler_first_tx = s.bler_first_tx();
            r.dl_tb_ok = s.ok;
            r.dl_tb_failed = s.failed;
            r.dl_tb_dropped = s.dropped;
            r.dl_tb_undetected = s.undetected;
            r.dl_tb_in_flight = m.harq.busy() as u64;
            r.dl_transmissions = s.transmissions;
            r.dl_mcs_mean = s.mcs_mean();
            r.dl_sinr_db = s.sinr_db().unwrap_or(m.sinr_db as f64);
            if s.dropped > 0 {
                r.dl_drop_reasons
                    .push(("no uplink slot carries the HARQ-ACK".into(), s.dropped));
            }
            if u.rx_errors > 0 {
                r.dl_drop_reasons
                    .push(("UE receiver error (counted as NACK)".into(), u.rx_errors));
            }
            total.add(s);
        }
        cell.dl_goodput_mbps = total.goodput_mbps(air_s);
        cell.dl_bler = total.bler();
        cell.dl_bler_first_tx = total.bler_first_tx();
    }
}

/// The loopback's PDSCH over every PRB of `num`, `layers` layers on DM-RS
/// ports 0.., scrambled with `n_id`: mapping type A on symbols 2-13 (after
/// a 2-symbol CORESET), DM-RS type 1 at position 2 plus one additional
/// position (TS 38.211 §7.4.1.1), 256QAM table (TS 38.214 Table
/// 5.1.3.1-2). Each slot sets its RNTI, slot, MCS, rv and HARQ fields.
pub fn pdsch_template(num: &Numerology, n_id: u16, layers: u8) -> PdschPdu {
    PdschPdu {
        rnti: 0,
        n_id,
        slot: 0,
        prb_start: 0,
        n_prb: num.n_prb(),
        start_symbol: 2,
        n_symbols: 12,
        mapping_type: MappingType::A,
        mcs_table: 2,
        mcs_index: 0,
        num_layers: layers,
        dmrs: DmrsConfig {
            config_type: DmrsType::Type1,
            type_a_position: 2,
            additional_position: 1,
            length: 1,
            ports: DmrsPorts::consecutive(0, layers).expect("at most 8 layers"),
            cdm_groups_without_data: 2,
            scrambling_id: n_id,
            n_scid: 0,
        },
        rv: 0,
        harq_id: 0,
        new_data: true,
        ndi: false,
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ranlab_phy::numerology::{CyclicPrefix, Scs};
    use ranlab_sim_channel::{ChannelConfig, ModelKind};

    /// Runs `slots` slots of a DDDSU downlink to 2 single-antenna UEs over AWGN at `snr_db`.
    fn run(snr_db: f64, slots: u64) -> (Downlink, Vec<UeReport>, CellReport) {
        let num = Numerology::new(Scs::Khz30, CyclicPrefix::Normal, 24, None).unwrap();
        let links: Vec<LinkConfig> = (0..2)
            .map(|i| {
                LinkConfig::new(
                    ChannelConfig {
                        model: ModelKind::Awgn,
                        sample_rate_hz: num.sample_rate_hz(),
                        n_rx: 4,
                        n_tx: 1,
                        seed: 3,
                        stream: i,
                        ..ChannelConfig::default()
                    },
                    snr_db,
                )
            })
            .collect();
        let pattern = SlotPattern::tdd("DDDSU").unwrap();
        let mut dl = Downlink::new(
            num,
            pattern,
            500,
            &links,
            &[snr_db, snr_db],
            &[0x4601, 0x4602],
            7,
            3,
            1,
        )
        .unwrap();
        let mut time = 0i64;
        for n in 0..slots {
            let k = (n % num.slots_per_frame() as u64) as u32;
            let len = num.slot_len(k);
            dl.run_slot(n, k, len, time).unwrap();
            time += len as i64;
        }
        let mut ues = vec![UeReport::default(); 2];
        let mut cell = CellReport::default();
        dl.report(&mut ues, &mut cell, slots as f64 * 500e-6);
        (dl, ues, cell)
    }

    /// Every block sent ends delivered, failed or dropped, or is still in HARQ.
    fn accounted(dl: &Downlink, ues: &[UeReport]) {
        for (u, r) in dl.ues.iter().zip(ues) {
            assert_eq!(
                r.dl_tb_ok + r.dl_tb_failed + r.dl_tb_dropped + r.dl_tb_in_flight,
                u.stats.first_tx,
                "{r:?}"
            );
        }
    }

    #[test]
    fn clean_downlink_delivers_every_block_to_both_ues() {
        let (dl, ues, cell) = run(30.0, 60);
        accounted(&dl, &ues);
        for r in &ues {
            assert!(r.dl_tb_ok >= 5, "PF serves both UEs: {r:?}");
            assert_eq!(r.dl_tb_failed, 0);
            assert!(
                r.dl_mcs_mean > 15.0,
                "link adaptation uses the 30 dB: {r:?}"
            );
        }
        assert!(cell.dl_goodput_mbps > 0.0 && cell.dl_bler == 0.0);
    }

    #[test]
    fn hopeless_downlink_fails_blocks_after_four_transmissions() {
        let (dl, ues, cell) = run(-25.0, 120);
        accounted(&dl, &ues);
        for r in &ues {
            assert_eq!(r.dl_tb_ok, 0, "{r:?}");
            assert!(r.dl_tb_failed >= 1, "{r:?}");
            // Each failed block was sent 4 times; blocks still in HARQ at most 4 times.
            assert!(r.dl_transmissions >= 4 * r.dl_tb_failed, "{r:?}");
            assert!(
                r.dl_transmissions <= 4 * (r.dl_tb_failed + r.dl_tb_in_flight),
                "{r:?}"
            );
        }
        assert_eq!(cell.dl_bler, 1.0);
        assert_eq!(cell.dl_goodput_mbps, 0.0);
    }
}
