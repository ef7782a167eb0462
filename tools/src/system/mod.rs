//! `ranlab system`: system-level studies of the MAC and scheduler with many
//! UEs, TR 38.901 path loss and a link abstraction (MIESM over BLER curves
//! measured with the project's own PHY).

pub mod config;
pub mod link;
pub mod sim;

use crate::CliResult;
use config::SystemConfig;
use link::{BlerTable, Miesm};
use sim::{percentile, Outcome, Overrides};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The measured BLER table shipped with ranlab (regenerate with `ranlab bler-table`).
const SHIPPED_BLER_TABLE: &str = include_str!("../../data/bler-awgn.json");

/// Where the shipped BLER table lives in the source tree.
pub const DEFAULT_BLER_TABLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/data/bler-awgn.json");

/// Arguments of `ranlab system`.
#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  ranlab system --config tools/examples/ul-ca.toml --json ca.json\n  ranlab system --config tools/examples/qos.toml --scheduler qos --expect \"ul_goodput_mbps>=50\""
)]
pub struct Args {
    /// System configuration (TOML; examples in tools/examples/), or a
    /// loopback scenario (a file with a `[cell]` table).
    #[arg(
        long,
        value_name = "FILE",
        required_unless_present = "print_default_config"
    )]
    config: Option<PathBuf>,
    /// Print a scenario to start from (`tools/examples/ai-uplink.toml`, in
    /// the loopback format both `loopback` and `system` read) and exit.
    #[arg(long)]
    print_default_config: bool,
    /// Write the results as JSON to this file.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Thresholds over the JSON report that the run must meet (exit 3
    /// naming each unmet term), e.g. "ul_goodput_mbps>=100 && bler<=0.1".
    #[arg(long, value_name = "EXPR", value_parser = crate::expect::parse)]
    expect: Option<crate::expect::Expectation>,
    /// Seed of every random stream (overrides `seed`).
    #[arg(long, value_name = "S")]
    seed: Option<u64>,
    /// Slots to simulate (overrides `slots`).
    #[arg(long, value_name = "N")]
    slots: Option<u64>,
    /// Use only these carriers, by name, comma-separated (e.g. `n78` or `n78,sul`).
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    carriers: Option<Vec<String>>,
    /// Scheduler policy (overrides `scheduler`): rr, pf, qos.
    #[arg(long, value_name = "POLICY")]
    scheduler: Option<String>,
    /// Switch MU-MIMO pairing off (single-user MIMO).
    #[arg(long)]
    no_mu_mimo: bool,
    /// BLER table file (default: the table in tools/data/).
    #[arg(long, value_name = "FILE")]
    bler_table: Option<PathBuf>,
    /// Print one line per UE.
    #[arg(long)]
    per_ue: bool,
}

/// Loads the BLER table: an explicit file, else the measured table built
/// into the binary (`tools/data/bler-awgn.json`).
pub fn load_table(explicit: Option<&Path>) -> Result<BlerTable, String> {
    let Some(path) = explicit else {
        return BlerTable::from_json(SHIPPED_BLER_TABLE, DEFAULT_BLER_TABLE);
    };
    let t = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read BLER table `{}`: {e}", path.display()))?;
    BlerTable::from_json(&t, &path.display().to_string())
}

/// The scenario `system --print-default-config` prints.
const START_SCENARIO: &str = include_str!("../../examples/ai-uplink.toml");

pub fn run(args: Args) -> CliResult<ExitCode> {
    if args.print_default_config {
        print!("{START_SCENARIO}");
        return Ok(ExitCode::SUCCESS);
    }
    let Some(config) = args.config.clone() else {
        return Err("--config FILE is required".into());
    };
    if args.slots == Some(0) {
        return Err("--slots: must be at least 1".into());
    }
    if let Some(s) = &args.scheduler {
        if !["rr", "pf", "qos"].contains(&s.as_str()) {
            return Err(format!("--scheduler: `{s}` (allowed: rr, pf, qos)").into());
        }
    }
    let text = std::fs::read_to_string(&config)
        .map_err(|e| format!("cannot read config `{}`: {e}", config.display()))?;
    let origin = config.display().to_string();
    // One scenario format: a waveform scenario (it has a [cell] table) runs
    // here with the link abstraction in place of waveforms.
    let is_scenario = text
        .parse::<toml::Table>()
        .is_ok_and(|t| t.contains_key("cell"));
    let cfg = if is_scenario {
        let sc = crate::scenario::Scenario::parse(&text, &origin)?;
        let mut notes = Vec::new();
        let cfg =
            SystemConfig::from_scenario(&sc, &mut notes).map_err(|e| format!("{origin}: {e}"))?;
        for n in notes {
            eprintln!("note: {n}");
        }
        cfg
    } else {
        SystemConfig::parse(&text, &origin)?
    };
    let table = load_table(args.bler_table.as_deref())?;
    if let Some(p) = &args.bler_table {
        if cfg.link.bler_table.is_some() {
            eprintln!(
                "note: --bler-table {} overrides link.bler_table",
                p.display()
            );
        }
    }
    let table = match (&args.bler_table, &cfg.link.bler_table) {
        (None, Some(p)) => {
            let base = config.parent().unwrap_or(Path::new("."));
            load_table(Some(&base.join(p)))?
        }
        _ => table,
    };
    let miesm = Miesm::new();
    let ov = Overrides {
        carriers: args.carriers.clone(),
        no_mu_mimo: args.no_mu_mimo,
        scheduler: args.scheduler.clone(),
        slots: args.slots,
        seed: args.seed,
    };
    let t0 = std::time::Instant::now();
    let out = sim::run(&cfg, &ov, &table, &miesm)?;
    let wall = t0.elapsed().as_secs_f64();
    let interrupted = out.interrupted;
    let report = summarise(&cfg, &ov, &table, out, wall, args.per_ue);
    // The JSON first: stdout may be a closed pipe.
    if let Some(p) = &args.json {
        std::fs::write(p, serde_json::to_string_pretty(&report.1)?)
            .map_err(|e| format!("cannot write `{}`: {e}", p.display()))?;
    }
    print!("{}", report.0);
    let code = match &args.expect {
        Some(e) => e.gate(&report.1).unwrap_or(ExitCode::SUCCESS),
        None => ExitCode::SUCCESS,
    };
    Ok(crate::interrupt::exit_code(interrupted, code))
}

fn fmt_opt(v: Option<f64>) -> String {
    v.map(|x| format!("{x:.1}")).unwrap_or_else(|| "-".into())
}

/// The text report and the JSON document.
fn summarise(
    cfg: &SystemConfig,
    ov: &Overrides,
    table: &BlerTable,
    mut o: Outcome,
    wall: f64,
    per_ue: bool,
) -> (String, serde_json::Value) {
    use std::fmt::Write;
    let mut s = String::new();
    let slots = o.slots_run;
    let seed = ov.seed.unwrap_or(cfg.seed);
    let sched = ov.scheduler.clone().unwrap_or(cfg.scheduler.clone());
    let mu = cfg.mu_mimo.is_some() && !ov.no_mu_mimo;
    let _ = writeln!(
        s,
        "ranlab system: {} ({} UEs{}, {} slots = {:.2} s of air time, seed {seed}, scheduler {sched}{}), {:.1} s wall{}",
        cfg.name,
        o.ues.len(),
        if cfg.isolated_ues { ", each alone in the cell" } else { "" },
        slots,
        o.air_s,
        if mu { ", MU-MIMO" } else { "" },
        wall,
        if !o.interrupted {
            String::new()
        } else if cfg.isolated_ues {
            " — INTERRUPTED: the UEs finished so far".into()
        } else {
            format!(
                " — INTERRUPTED after {slots} of {} slots",
                ov.slots.unwrap_or(cfg.slots)
            )
        }
    );
    let _ = writeln!(s, "link: MIESM over BLER table `{}`", table.generated_by);
    let (mut ok, mut failed, mut dropped) = (0, 0, 0);
    let (mut pin, mut deliv, mut dh, mut de, mut q) = (0, 0, 0, 0, 0);
    for u in &o.ues {
        ok += u.tb_ok;
        failed += u.tb_failed;
        dropped += u.tb_dropped;
        pin += u.packets_in;
        deliv += u.delivered;
        dh += u.dropped_harq;
        de += u.dropped_expired;
        q += u.queued;
    }
    let cell_mbps: f64 = o.ues.iter().map(|u| u.ul_goodput_mbps).sum();
    let bler = failed as f64 / (ok + failed).max(1) as f64;
    for c in &o.carriers {
        let _ = writeln!(
            s,
            "carrier {:<8} {:<3} {:>3} PRB  {:>6} UL slots  PRB use {:>5.1} %  {:>8.2} Mbit/s",
            c.name,
            c.duplex,
            c.n_prb,
            c.ul_slots,
            100.0 * c.prb_utilisation,
            c.ul_goodput_mbps
        );
    }
    let st = &o.sched;
    let mean_group = if st.mu_groups > 0 {
        st.mu_members as f64 / st.mu_groups as f64
    } else {
        0.0
    };
    if mu {
        let _ = writeln!(
            s,
            "pairing: {} MU groups, mean {:.2} UEs, largest {} layers, max correlation {:.2}, sizes {:?}",
            st.mu_groups, mean_group, st.max_group_layers, st.max_pair_corr, st.group_size_hist
        );
    }
    // Per QoS class.
    let mut classes = serde_json::Map::new();
    for class in ranlab_mac::qos::QosClass::ALL {
        let members: Vec<&sim::UeResult> = o
            .ues
            .iter()
            .filter(|u| u.qos_class == class.name())
            .collect();
        if members.is_empty() {
            continue;
        }
        let mut lat: Vec<f32> = members
            .iter()
            .flat_map(|u| u.latencies_ms.iter().copied())
            .collect();
        let p99 = percentile(&mut lat, 99.0);
        let mbps: f64 = members.iter().map(|u| u.ul_goodput_mbps).sum();
        let pdb = class.params().pdb_ms;
        let meet = members
            .iter()
            .filter(|u| u.latency_p99_ms.is_some_and(|p| p <= pdb))
            .count();
        let dropped: u64 = members
            .iter()
            .map(|u| u.dropped_expired + u.dropped_harq)
            .sum();
        let pin: u64 = members.iter().map(|u| u.packets_in).sum();
        let mut line = format!(
            "qos {:<12} {:>4} UEs  {:>8.2} Mbit/s  p99 {:>7} ms (budget {pdb} ms, {meet}/{} UEs within)  dropped {:.2} %",
            class.name(),
            members.len(),
            mbps,
            fmt_opt(p99),
            members.len(),
            100.0 * dropped as f64 / pin.max(1) as f64
        );
        let mut j = serde_json::json!({
            "ues": members.len(), "ul_goodput_mbps": mbps, "latency_p99_ms": p99,
            "pdb_ms": pdb, "ues_within_pdb_at_p99": meet, "drop_share": dropped as f64 / pin.max(1) as f64,
        });
        if class == ranlab_mac::qos::QosClass::AiUplink {
            let good = members
                .iter()
                .filter(|u| u.ul_goodput_mbps >= 20.0 && u.latency_p99_ms.is_some_and(|p| p < 20.0))
                .count();
            let _ = write!(line, "  >=20 Mbit/s & p99<20 ms: {good}/{}", members.len());
            j["ues_meeting_20mbps_20ms"] = good.into();
            j["share_meeting_20mbps_20ms"] = (good as f64 / members.len() as f64).into();
        }
        let _ = writeln!(s, "{line}");
        classes.insert(class.name().into(), j);
    }
    let _ = writeln!(
        s,
        "cell: UL goodput {cell_mbps:.2} Mbit/s, BLER {bler:.3}, TB ok {ok} failed {failed} dropped {dropped}; packets in {pin} = delivered {deliv} + dropped (HARQ {dh}, expired {de}) + queued {q}"
    );
    if o.rejected_grants > 0 {
        let _ = writeln!(
            s,
            "warning: {} grants rejected by the MAC",
            o.rejected_grants
        );
    }
    if per_ue || o.ues.len() <= 24 {
        for u in &o.ues {
            let _ = writeln!(
                s,
                "  UE {:>4} {:>6.0} m RSRP {:>6.1} dBm {:<11} {:>8.2} Mbit/s  BLER {:.3}  p50/p99 {:>6}/{:>6} ms  on {}",
                u.id,
                u.distance_m,
                u.rsrp_dbm,
                u.qos_class,
                u.ul_goodput_mbps,
                u.bler,
                fmt_opt(u.latency_p50_ms),
                fmt_opt(u.latency_p99_ms),
                u.ul_carriers.join("+")
            );
        }
    }
    for u in &mut o.ues {
        u.latencies_ms.clear();
    }
    let json = serde_json::json!({
        "name": cfg.name,
        "interrupted": o.interrupted,
        "slots": slots,
        "seed": seed,
        "scheduler": sched,
        "isolated_ues": cfg.isolated_ues,
        "air_time_s": o.air_s,
        "link": {"mapping": "miesm", "bler_table": table.generated_by},
        "cell": {
            "ul_goodput_mbps": cell_mbps, "dl_goodput_mbps": 0.0, "bler": bler,
            "tb_ok": ok, "tb_failed": failed, "tb_dropped": dropped,
            "packets_in": pin, "delivered": deliv, "dropped_harq": dh, "dropped_expired": de, "queued": q,
        },
        "carriers": o.carriers,
        "pairing": {
            "enabled": mu, "groups": st.mu_groups, "mean_group_size": mean_group,
            "max_group_layers": st.max_group_layers, "max_pair_corr": st.max_pair_corr,
            "group_size_hist": st.group_size_hist,
        },
        "scheduler_stats": {
            "new_grants": st.new_grants, "retx_grants": st.retx_grants,
            "power_shared": st.power_shared, "sul_switches": st.sul_switches,
            "rejected_grants": o.rejected_grants,
        },
        "qos": classes,
        "ues": o.ues,
    });
    (s, json)
}
