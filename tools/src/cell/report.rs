//! The loopback summary: per-UE and cell goodput, BLER, transport-block
//! accounting, MCS and SINR, pipeline timing and radio counters; printed for
//! people and written as JSON for scripts.

use ranlab_phy::pipeline::{LatencyHistogram, PipelineMetrics};
use ranlab_sdr::radio::EventCounts;
use serde::Serialize;
use std::sync::atomic::Ordering;

/// Per-UE results.
#[derive(Debug, Clone, Default, Serialize)]
pub struct UeReport {
    /// UE index.
    pub id: u32,
    /// C-RNTI.
    pub rnti: u16,
    /// Uplink goodput, Mbit/s of air time.
    pub ul_goodput_mbps: f64,
    /// Downlink goodput, Mbit/s of air time.
    pub dl_goodput_mbps: f64,
    /// Residual BLER: failed after HARQ / (delivered + failed).
    pub bler: f64,
    /// BLER of first transmissions.
    pub bler_first_tx: f64,
    /// Transport blocks delivered.
    pub tb_ok: u64,
    /// Transport blocks failed after the last HARQ transmission.
    pub tb_failed: u64,
    /// Transport blocks dropped (with reasons in `drop_reasons`).
    pub tb_dropped: u64,
    /// Transmissions whose CRC passed with wrong bits (counted as NACKs).
    pub tb_undetected: u64,
    /// Transport blocks still in HARQ when the run ended.
    pub tb_in_flight: u64,
    /// Transmissions (first and retransmissions).
    pub transmissions: u64,
    /// Mean MCS index used.
    pub mcs_mean: f64,
    /// Mean uplink layers per transmission (rank chosen by the scheduler).
    pub layers_mean: f64,
    /// Mean measured SINR (DM-RS), dB.
    pub sinr_db: f64,
    /// Drop reasons and counts.
    pub drop_reasons: Vec<(String, u64)>,
    /// Uplink carriers used.
    pub ul_carriers: Vec<String>,
    /// Downlink residual BLER: failed after HARQ / (delivered + failed).
    pub dl_bler: f64,
    /// Downlink BLER of first transmissions.
    pub dl_bler_first_tx: f64,
    /// Downlink transport blocks delivered.
    pub dl_tb_ok: u64,
    /// Downlink transport blocks failed after the last HARQ transmission.
    pub dl_tb_failed: u64,
    /// Downlink transport blocks dropped (reasons in `dl_drop_reasons`).
    pub dl_tb_dropped: u64,
    /// Downlink transmissions whose CRC passed with wrong bits (counted as NACKs).
    pub dl_tb_undetected: u64,
    /// Downlink transport blocks still in HARQ when the run ended.
    pub dl_tb_in_flight: u64,
    /// Downlink transmissions (first and retransmissions).
    pub dl_transmissions: u64,
    /// Mean downlink MCS index.
    pub dl_mcs_mean: f64,
    /// Mean SINR the UE measured on the PDSCH DM-RS, dB.
    pub dl_sinr_db: f64,
    /// Downlink drop reasons and counts.
    pub dl_drop_reasons: Vec<(String, u64)>,
    /// QoS class of the UE's traffic.
    pub qos_class: String,
    /// SS-RSRP on the primary carrier, dBm (when path loss is modelled).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rsrp_dbm: Option<f64>,
    /// Uplink packets: accounting and air-interface latency.
    pub packets: PacketReport,
    /// Latency p99 of delivered uplink packets, ms (also in `packets`).
    pub latency_p99_ms: Option<f64>,
    /// Per uplink carrier the UE may use.
    pub carriers: Vec<UeCarrierReport>,
}

/// One UE's uplink on one carrier.
#[derive(Debug, Clone, Default, Serialize)]
pub struct UeCarrierReport {
    /// Carrier name.
    pub name: String,
    /// Bits of transport blocks delivered on this carrier, Mbit/s of air time.
    pub ul_goodput_mbps: f64,
    /// Slots with a grant on this carrier.
    pub slots_used: u64,
    /// Transport blocks delivered.
    pub tb_ok: u64,
    /// Transport blocks failed after HARQ.
    pub tb_failed: u64,
    /// Transport blocks dropped.
    pub tb_dropped: u64,
    /// BLER of first transmissions.
    pub bler_first_tx: f64,
    /// Mean MCS index.
    pub mcs_mean: f64,
    /// Mean layers per transmission (uplink rank).
    pub layers_mean: f64,
    /// Mean measured SINR (DM-RS), dB.
    pub sinr_db: Option<f64>,
    /// Per-RE Es/N0 at one antenna with the UE's maximum power over the whole carrier, dB.
    pub snr_max_power_db: f64,
}

/// A UE's uplink packets: every packet that entered its buffer is delivered,
/// dropped (HARQ failure or discard timer) or still queued. Latency runs
/// from arrival in the UE's buffer to the successful decode at the gNB
/// (SR, BSR, grant delay, queueing and HARQ included).
#[derive(Debug, Clone, Default, Serialize)]
pub struct PacketReport {
    /// Offered load, Mbit/s (absent for full buffer).
    pub offered_mbps: Option<f64>,
    /// Delivered packet bytes, Mbit/s of air time.
    pub delivered_mbps: f64,
    /// Packets that entered the buffer.
    pub packets_in: u64,
    /// Packets delivered whole.
    pub delivered: u64,
    /// Dropped: a HARQ process carrying part of them failed.
    pub dropped_harq: u64,
    /// Dropped: PDCP discard timer (TS 38.323 §5.2.2.1).
    pub dropped_expired: u64,
    /// Waiting or in flight when the run ended.
    pub queued: u64,
    /// Latency percentiles of delivered packets, ms.
    pub latency_p50_ms: Option<f64>,
    pub latency_p95_ms: Option<f64>,
    pub latency_p99_ms: Option<f64>,
    /// The class's packet delay budget, ms.
    pub budget_ms: f64,
    /// Delivered packets later than the budget.
    pub over_budget: u64,
}

impl PacketReport {
    /// The packets of `ue` over `air_s` seconds.
    pub fn of(ue: &ranlab_mac::ue::UeContext, air_s: f64) -> Self {
        let cnt = ue.counters();
        let mut lat = latencies_ms(ue);
        let budget = ue.lcs.first().map_or(f64::INFINITY, |l| l.params.pdb_ms);
        let offered: f64 = ue.lcs.iter().map(|l| l.source.offered_mbps()).sum();
        PacketReport {
            offered_mbps: offered.is_finite().then_some(offered),
            delivered_mbps: if air_s > 0.0 {
                cnt.delivered_bytes as f64 * 8.0 / air_s / 1e6
            } else {
                0.0
            },
            packets_in: cnt.packets_in,
            delivered: cnt.delivered,
            dropped_harq: cnt.dropped_harq,
            dropped_expired: cnt.dropped_expired,
            queued: cnt.queued(),
            over_budget: lat.iter().filter(|&&l| l as f64 > budget).count() as u64,
            latency_p50_ms: percentile(&mut lat, 50.0),
            latency_p95_ms: percentile(&mut lat, 95.0),
            latency_p99_ms: percentile(&mut lat, 99.0),
            budget_ms: budget,
        }
    }
}

/// The latencies of every packet `ue` delivered, ms, over its logical channels.
pub fn latencies_ms(ue: &ranlab_mac::ue::UeContext) -> Vec<f32> {
    ue.lcs
        .iter()
        .flat_map(|l| l.buffer.latencies_ms().iter().copied())
        .collect()
}

/// Percentile `p` (0..=100, nearest rank) of `v`, sorted in place; None when empty.
pub fn percentile(v: &mut [f32], p: f64) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f32::total_cmp);
    let k = ((p / 100.0) * (v.len() - 1) as f64).round() as usize;
    Some(v[k.min(v.len() - 1)] as f64)
}

/// The packets of one QoS class, pooled over its UEs.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ClassReport {
    /// QoS class.
    pub qos_class: String,
    /// UEs of the class.
    pub ues: u64,
    /// Packet delay budget, ms.
    pub budget_ms: f64,
    /// Packets delivered.
    pub delivered: u64,
    /// Packets dropped (HARQ or discard timer).
    pub dropped: u64,
    /// Pooled latency percentiles, ms.
    pub latency_p50_ms: Option<f64>,
    pub latency_p99_ms: Option<f64>,
    /// Delivered packets later than the budget.
    pub over_budget: u64,
    /// UEs whose own p99 latency is within the budget.
    pub ues_within_budget: u64,
    /// Full-buffer UEs of the class: their latency is the standing
    /// backlog's (the model keeps the buffer full), not a service figure.
    pub full_buffer_ues: u64,
}

impl ClassReport {
    /// One entry per class present among `ues`, in order of first appearance.
    pub fn pool(ues: &[ranlab_mac::ue::UeContext]) -> Vec<ClassReport> {
        let mut out: Vec<(ClassReport, Vec<f32>)> = Vec::new();
        for ue in ues {
            let Some(lc) = ue.lcs.first() else { continue };
            let name = lc.qos.name();
            let k = match out.iter().position(|(c, _)| c.qos_class == name) {
                Some(k) => k,
                None => {
                    out.push((
                        ClassReport {
                            qos_class: name.into(),
                            budget_ms: lc.params.pdb_ms,
                            ..ClassReport::default()
                        },
                        Vec::new(),
                    ));
                    out.len() - 1
                }
            };
            let (c, lat) = &mut out[k];
            let cnt = ue.counters();
            c.ues += 1;
            c.full_buffer_ues += ue.lcs.iter().any(|l| !l.source.offered_mbps().is_finite()) as u64;
            c.delivered += cnt.delivered;
            c.dropped += cnt.dropped();
            let mut own = latencies_ms(ue);
            c.over_budget += own.iter().filter(|&&l| l as f64 > c.budget_ms).count() as u64;
            lat.extend_from_slice(&own);
            if percentile(&mut own, 99.0).is_none_or(|p| p <= c.budget_ms) {
                c.ues_within_budget += 1;
            }
        }
        out.into_iter()
            .map(|(mut c, mut lat)| {
                c.latency_p50_ms = percentile(&mut lat, 50.0);
                c.latency_p99_ms = percentile(&mut lat, 99.0);
                c
            })
            .collect()
    }
}

/// One carrier of a multi-carrier cell.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CarrierReport {
    /// Carrier name.
    pub name: String,
    /// tdd, fdd or sul.
    pub duplex: &'static str,
    /// PRBs.
    pub n_prb: u16,
    /// Subcarrier spacing, kHz.
    pub scs_khz: u32,
    /// Uplink slots run.
    pub ul_slots: u64,
    /// Transport-block bits delivered on the carrier, Mbit/s.
    pub ul_goodput_mbps: f64,
    /// Its uplink pipeline's timing.
    pub timing: Timing,
    /// Its radio's counters.
    pub radio: RadioReport,
}

/// Per-stage timing.
#[derive(Debug, Clone, Serialize)]
pub struct StageTiming {
    /// Stage name.
    pub name: String,
    /// Stage wall latency p50, µs.
    pub p50_us: f64,
    /// Stage wall latency p99, µs.
    pub p99_us: f64,
    /// Stage wall latency max, µs.
    pub max_us: f64,
    /// CPU time spent in the stage's tasks, ms.
    pub cpu_ms: f64,
}

/// Pipeline timing.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Timing {
    /// Slot processing latency p50 (arrival to results), µs.
    pub slot_p50_us: f64,
    /// p99, µs.
    pub slot_p99_us: f64,
    /// Max, µs.
    pub slot_max_us: f64,
    /// The deadline each slot is held to, µs.
    pub budget_us: f64,
    /// Slots completed after their deadline.
    pub deadline_misses: u64,
    /// Slots dropped because the pipeline was behind.
    pub dropped_slots: u64,
    /// Air time / wall time (> 1 is faster than real time).
    pub realtime_factor: f64,
    /// Wall time of the run, s.
    pub wall_s: f64,
    /// Worker threads.
    pub workers: usize,
    /// Slots the pipeline completed.
    pub slots: u64,
    /// Per-stage timings.
    pub stages: Vec<StageTiming>,
    /// The downlink (gNB transmit) pipeline's slot and stage timings, when
    /// the run has a downlink (its `downlink` is empty).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub downlink: Option<Box<Timing>>,
}

/// Cell totals.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CellReport {
    /// Uplink goodput, Mbit/s.
    pub ul_goodput_mbps: f64,
    /// Downlink goodput, Mbit/s.
    pub dl_goodput_mbps: f64,
    /// Residual BLER over all UEs.
    pub bler: f64,
    /// First-transmission BLER over all UEs.
    pub bler_first_tx: f64,
    /// Downlink residual BLER over all UEs.
    pub dl_bler: f64,
    /// Downlink first-transmission BLER over all UEs.
    pub dl_bler_first_tx: f64,
}

/// Radio counters.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RadioReport {
    /// Backend (`sim`, `soapy`).
    pub driver: String,
    /// Receive overflows.
    pub overflows: u64,
    /// Transmit underflows.
    pub underflows: u64,
    /// Late bursts.
    pub late: u64,
    /// Time errors.
    pub time_errors: u64,
}

impl From<(&str, EventCounts)> for RadioReport {
    fn from((driver, e): (&str, EventCounts)) -> Self {
        RadioReport {
            driver: driver.into(),
            overflows: e.overflows,
            underflows: e.underflows,
            late: e.late,
            time_errors: e.time_errors,
        }
    }
}

/// The whole summary.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    /// `ranlab` version that made the report.
    pub version: String,
    /// The effective scenario (after `--config`, `--set`, `--slots`, `--seed`).
    pub config: Option<crate::scenario::Scenario>,
    /// Scenario name.
    pub scenario: String,
    /// Slots run.
    pub slots: u64,
    /// Seed.
    pub seed: u64,
    /// Whether the run was interrupted (Ctrl-C).
    pub interrupted: bool,
    /// Air time covered, s.
    pub air_time_s: f64,
    /// Cell totals.
    pub cell: CellReport,
    /// Per-UE results.
    pub ues: Vec<UeReport>,
    /// Uplink packets per QoS class.
    pub classes: Vec<ClassReport>,
    /// Per carrier, when the cell has more than one.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub carriers: Vec<CarrierReport>,
    /// Uplink pipeline timing of the primary carrier; deadline misses and
    /// dropped slots count every carrier.
    pub timing: Timing,
    /// Radio counters.
    pub radio: RadioReport,
    /// What the link ran (waveform, channel, receiver).
    pub link: String,
    /// Whether the run held real time and delivered.
    pub verdict: Verdict,
}

/// The run's verdict: real time held (when asked for) and data delivered.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Verdict {
    /// `--pace realtime` was asked for.
    pub realtime_asked: bool,
    /// No deadline miss, dropped slot, late burst, overflow or underflow.
    pub realtime_held: bool,
    /// Slot budget left at the p99 slot latency, % of the budget (negative: over).
    pub slot_margin_p99_percent: f64,
    /// Transport blocks delivered, uplink and downlink.
    pub tb_delivered: u64,
    /// Transport blocks that ended (delivered, failed or dropped).
    pub tb_ended: u64,
    /// Blocks ended and none of them was delivered.
    pub nothing_delivered: bool,
}

impl Verdict {
    /// The verdict of a run paced `realtime_asked`, from its figures.
    pub fn of(realtime_asked: bool, t: &Timing, r: &RadioReport, ues: &[UeReport]) -> Self {
        let delivered: u64 = ues.iter().map(|u| u.tb_ok + u.dl_tb_ok).sum();
        let ended: u64 = delivered
            + ues
                .iter()
                .map(|u| u.tb_failed + u.tb_dropped + u.dl_tb_failed + u.dl_tb_dropped)
                .sum::<u64>();
        Verdict {
            realtime_asked,
            realtime_held: t.deadline_misses == 0
                && t.dropped_slots == 0
                && r.late == 0
                && r.overflows == 0
                && r.underflows == 0,
            slot_margin_p99_percent: if t.budget_us > 0.0 {
                100.0 * (1.0 - t.slot_p99_us / t.budget_us)
            } else {
                0.0
            },
            tb_delivered: delivered,
            tb_ended: ended,
            nothing_delivered: ended > 0 && delivered == 0,
        }
    }

    /// One line for people.
    pub fn line(&self, t: &Timing, r: &RadioReport) -> String {
        format!(
            "verdict: real time {} (slot p99 {:.0} of {:.0} us, margin {:+.0} %); late bursts {}, overflows {}, underflows {}, deadline misses {}, dropped slots {}; {} of {} ended transport blocks delivered",
            match (self.realtime_asked, self.realtime_held) {
                (_, true) => "held",
                (true, false) => "NOT HELD",
                (false, false) => "not held (free pace: not asked for)",
            },
            t.slot_p99_us,
            t.budget_us,
            self.slot_margin_p99_percent,
            r.late,
            r.overflows,
            r.underflows,
            t.deadline_misses,
            t.dropped_slots,
            self.tb_delivered,
            self.tb_ended
        )
    }

    /// The exit status the verdict asks for: 4 when real time was asked
    /// for and not held, 5 when nothing was delivered.
    pub fn exit_status(&self) -> Option<u8> {
        if self.realtime_asked && !self.realtime_held {
            Some(EXIT_NOT_REALTIME)
        } else if self.nothing_delivered {
            Some(EXIT_NOTHING_DELIVERED)
        } else {
            None
        }
    }
}

/// Exit status of a run that asked for real time and did not hold it.
pub const EXIT_NOT_REALTIME: u8 = 4;
/// Exit status of a run in which every block that ended failed.
pub const EXIT_NOTHING_DELIVERED: u8 = 5;

fn us(h: &LatencyHistogram, q: f64) -> f64 {
    h.quantile(q).as_secs_f64() * 1e6
}

impl Timing {
    /// Timing from pipeline metrics.
    pub fn from_metrics(
        m: &PipelineMetrics,
        stages: &[&str],
        budget_us: f64,
        workers: usize,
    ) -> Self {
        Timing {
            slot_p50_us: us(&m.slot_latency, 0.5),
            slot_p99_us: us(&m.slot_latency, 0.99),
            slot_max_us: m.slot_latency.max().as_secs_f64() * 1e6,
            budget_us,
            deadline_misses: m.deadline_misses.load(Ordering::Relaxed),
            dropped_slots: m.dropped_behind.load(Ordering::Relaxed),
            realtime_factor: 0.0,
            wall_s: 0.0,
            workers,
            slots: m.completed.load(Ordering::Relaxed),
            downlink: None,
            stages: stages
                .iter()
                .enumerate()
                .map(|(i, n)| StageTiming {
                    name: n.to_string(),
                    p50_us: us(&m.stage_latency[i], 0.5),
                    p99_us: us(&m.stage_latency[i], 0.99),
                    max_us: m.stage_latency[i].max().as_secs_f64() * 1e6,
                    cpu_ms: m.task_time[i].total().as_secs_f64() * 1e3,
                })
                .collect(),
        }
    }
}

impl Report {
    /// A report with one UE and a downlink, every field at its default:
    /// the shape `--expect` keys are checked against before a run.
    pub fn template() -> Self {
        Report {
            ues: vec![UeReport::default()],
            timing: Timing {
                downlink: Some(Box::default()),
                ..Timing::default()
            },
            ..Report::default()
        }
    }

    /// Prints the summary for people.
    pub fn print(&self) {
        println!(
            "ranlab loopback: {} — {} slots ({:.1} ms of air time), seed {}{}",
            self.scenario,
            self.slots,
            self.air_time_s * 1e3,
            self.seed,
            if self.interrupted {
                " — INTERRUPTED"
            } else {
                ""
            }
        );
        println!("link: {}", self.link);
        println!(
            "{:>4} {:>6} {:>10} {:>10} {:>8} {:>8} {:>7} {:>7} {:>7} {:>6} {:>4} {:>7}",
            "UE",
            "RNTI",
            "UL Mbit/s",
            "DL Mbit/s",
            "BLER1st",
            "BLER",
            "TB ok",
            "failed",
            "dropped",
            "MCS",
            "L",
            "SINR dB"
        );
        for u in &self.ues {
            println!(
                "{:>4} {:>6} {:>10.2} {:>10.2} {:>8.3} {:>8.4} {:>7} {:>7} {:>7} {:>6.1} {:>4.1} {:>7.1}",
                u.id,
                u.rnti,
                u.ul_goodput_mbps,
                u.dl_goodput_mbps,
                u.bler_first_tx,
                u.bler,
                u.tb_ok,
                u.tb_failed,
                u.tb_dropped,
                u.mcs_mean,
                u.layers_mean,
                u.sinr_db
            );
            if u.tb_undetected > 0 {
                println!("       {} transmissions passed CRC with wrong bits (undetected errors, handled as NACK)", u.tb_undetected);
            }
            for (why, n) in &u.drop_reasons {
                println!("       dropped {n}: {why}");
            }
        }
        if self.ues.iter().any(|u| u.dl_transmissions > 0) {
            println!(
                "{:>4} {:>6} {:>10} {:>8} {:>8} {:>7} {:>7} {:>7} {:>6} {:>7}",
                "UE",
                "",
                "DL Mbit/s",
                "BLER1st",
                "BLER",
                "TB ok",
                "failed",
                "dropped",
                "MCS",
                "SINR dB"
            );
            for u in &self.ues {
                println!(
                    "{:>4} {:>6} {:>10.2} {:>8.3} {:>8.4} {:>7} {:>7} {:>7} {:>6.1} {:>7.1}",
                    u.id,
                    "DL",
                    u.dl_goodput_mbps,
                    u.dl_bler_first_tx,
                    u.dl_bler,
                    u.dl_tb_ok,
                    u.dl_tb_failed,
                    u.dl_tb_dropped,
                    u.dl_mcs_mean,
                    u.dl_sinr_db
                );
                if u.dl_tb_undetected > 0 {
                    println!(
                        "       {} DL transmissions passed CRC with wrong bits (handled as NACK)",
                        u.dl_tb_undetected
                    );
                }
                for (why, n) in &u.dl_drop_reasons {
                    println!("       DL dropped {n}: {why}");
                }
            }
        }
        if self.ues.iter().any(|u| u.carriers.len() > 1) {
            println!(
                "{:>4} {:>8} {:>10} {:>7} {:>7} {:>7} {:>8} {:>6} {:>7} {:>9}",
                "UE",
                "carrier",
                "UL Mbit/s",
                "slots",
                "TB ok",
                "failed",
                "BLER1st",
                "MCS",
                "SINR dB",
                "SNRmax dB"
            );
            for u in &self.ues {
                for c in &u.carriers {
                    println!(
                        "{:>4} {:>8} {:>10.2} {:>7} {:>7} {:>7} {:>8.3} {:>6.1} {:>7} {:>9.1}",
                        u.id,
                        c.name,
                        c.ul_goodput_mbps,
                        c.slots_used,
                        c.tb_ok,
                        c.tb_failed,
                        c.bler_first_tx,
                        c.mcs_mean,
                        c.sinr_db.map_or("-".into(), |s| format!("{s:.1}")),
                        c.snr_max_power_db
                    );
                }
            }
        }
        println!(
            "{:>4} {:>12} {:>9} {:>9} {:>8} {:>8} {:>7} {:>7} {:>7} {:>7} {:>6}",
            "UE",
            "class",
            "offered",
            "deliv.",
            "packets",
            "deliv.",
            "dropped",
            "queued",
            "p50 ms",
            "p99 ms",
            "> PDB"
        );
        let ms = |v: Option<f64>| v.map_or("-".into(), |x| format!("{x:.1}"));
        for u in &self.ues {
            let p = &u.packets;
            println!(
                "{:>4} {:>12} {:>9} {:>9.2} {:>8} {:>8} {:>7} {:>7} {:>7} {:>7} {:>6}",
                u.id,
                u.qos_class,
                p.offered_mbps.map_or("full".into(), |o| format!("{o:.2}")),
                p.delivered_mbps,
                p.packets_in,
                p.delivered,
                p.dropped_harq + p.dropped_expired,
                p.queued,
                ms(p.latency_p50_ms),
                ms(p.latency_p99_ms),
                p.over_budget
            );
        }
        for c in &self.classes {
            println!(
                "class {:<12} {} UEs: p50 {} ms, p99 {} ms against {:.0} ms; {} of {} UEs within budget at p99; {} packets over budget, {} dropped{}",
                c.qos_class, c.ues, ms(c.latency_p50_ms), ms(c.latency_p99_ms), c.budget_ms, c.ues_within_budget, c.ues, c.over_budget, c.dropped,
                if c.full_buffer_ues > 0 { format!(" ({} full-buffer UEs: their latency is the standing backlog's)", c.full_buffer_ues) } else { String::new() }
            );
        }
        for c in &self.carriers {
            println!(
                "carrier {:<8} {} {} PRB at {} kHz: {} UL slots, {:.2} Mbit/s; slot p50 {:.0} us, p99 {:.0} us of {:.0}; {} misses, {} dropped",
                c.name, c.duplex, c.n_prb, c.scs_khz, c.ul_slots, c.ul_goodput_mbps, c.timing.slot_p50_us, c.timing.slot_p99_us, c.timing.budget_us, c.timing.deadline_misses, c.timing.dropped_slots
            );
        }
        println!(
            "cell: UL {:.2} Mbit/s (BLER first tx {:.3}, after HARQ {:.4}), DL {:.2} Mbit/s (BLER first tx {:.3}, after HARQ {:.4})",
            self.cell.ul_goodput_mbps,
            self.cell.bler_first_tx,
            self.cell.bler,
            self.cell.dl_goodput_mbps,
            self.cell.dl_bler_first_tx,
            self.cell.dl_bler
        );
        let t = &self.timing;
        println!(
            "timing ({} worker{}): slot p50 {:.0} us, p99 {:.0} us, max {:.0} us against a {:.0} us budget; {} deadline misses, {} slots dropped; real-time factor {:.2}",
            t.workers, if t.workers == 1 { "" } else { "s" }, t.slot_p50_us, t.slot_p99_us, t.slot_max_us, t.budget_us, t.deadline_misses, t.dropped_slots, t.realtime_factor
        );
        let stages = |t: &Timing| {
            for s in &t.stages {
                println!(
                    "  stage {:<13} p50 {:>8.0} us  p99 {:>8.0} us  cpu {:>9.1} ms",
                    s.name, s.p50_us, s.p99_us, s.cpu_ms
                );
            }
        };
        stages(t);
        if let Some(d) = &t.downlink {
            println!(
                "downlink transmit pipeline: slot p50 {:.0} us, p99 {:.0} us, max {:.0} us ({} PDSCH slots)",
                d.slot_p50_us, d.slot_p99_us, d.slot_max_us, d.slots
            );
            stages(d);
        }
        let r = &self.radio;
        println!(
            "radio ({}): {} overflows, {} underflows, {} late, {} time errors",
            r.driver, r.overflows, r.underflows, r.late, r.time_errors
        );
    }
}
