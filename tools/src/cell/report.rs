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
    /// Pipeline timing.
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
            "{:>4} {:>6} {:>10} {:>10} {:>8} {:>8} {:>7} {:>7} {:>7} {:>6} {:>7}",
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
            "SINR dB"
        );
        for u in &self.ues {
            println!(
                "{:>4} {:>6} {:>10.2} {:>10.2} {:>8.3} {:>8.4} {:>7} {:>7} {:>7} {:>6.1} {:>7.1}",
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
