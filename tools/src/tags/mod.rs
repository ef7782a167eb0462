//! `ranlab tags`: a cellular passive-IoT reader network in an indoor hall.
//!
//! Hundreds to thousands of batteryless tags (TR 38.769 device 1) are
//! inventoried by several reader sites (base stations) that illuminate
//! together and receive jointly. Prints tags read over time, the read rate,
//! slot efficiency against framed slotted ALOHA's 1/e, missed tags, RSSI and
//! positioning error; `--coverage` measures the D2R coverage gain instead.

pub mod config;
mod coverage;
mod sim;

use crate::CliResult;
use config::{TagsConfig, DEFAULT_TAGS};
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `ranlab tags`.
#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  ranlab tags --json tags.json --expect \"position_error_p90_m<=7\"\n  ranlab tags --coverage --trials 200"
)]
pub struct Args {
    /// TOML configuration (see --print-default-config).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Number of tags (overrides tags.count).
    #[arg(long, value_name = "N")]
    tags: Option<usize>,
    /// Number of reader sites on a regular grid (overrides readers.count and positions).
    #[arg(long, value_name = "N")]
    readers: Option<usize>,
    /// Random seed (tag positions, clocks, channel).
    #[arg(long, default_value_t = 1, value_name = "S")]
    seed: u64,
    /// Write the results as JSON to this file.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Thresholds over the JSON report that the run must meet (exit 3
    /// naming each unmet term), e.g. "position_error_p90_m<=7".
    #[arg(long, value_name = "EXPR", value_parser = crate::expect::parse)]
    expect: Option<crate::expect::Expectation>,
    /// Measure the D2R coverage gain instead of running an inventory.
    #[arg(long)]
    coverage: bool,
    /// Read reliability for --coverage (fraction of tag-ID frames decoded).
    #[arg(long, default_value_t = 0.9, value_name = "P")]
    reliability: f64,
    /// Frames per SNR point for --coverage.
    #[arg(long, default_value_t = 100, value_name = "N")]
    trials: usize,
    /// Print the built-in configuration and exit.
    #[arg(long)]
    print_default_config: bool,
}

fn write_json<T: serde::Serialize>(path: &PathBuf, v: &T) -> CliResult {
    std::fs::write(path, serde_json::to_string_pretty(v)?)
        .map_err(|e| format!("cannot write `{}`: {e}", path.display()))?;
    Ok(())
}

pub fn run(args: Args) -> CliResult<ExitCode> {
    if args.print_default_config {
        print!("{DEFAULT_TAGS}");
        return Ok(ExitCode::SUCCESS);
    }
    let mut cfg = match &args.config {
        Some(p) => TagsConfig::load(p)?,
        None => TagsConfig::parse(DEFAULT_TAGS, "built-in config")?,
    };
    if let Some(n) = args.tags {
        cfg.tags.count = n;
    }
    if let Some(n) = args.readers {
        cfg.readers.count = n;
        cfg.readers.positions = None;
        if n == 0 {
            return Err("--readers: at least one reader site is needed".into());
        }
    }
    cfg.validate()?;
    if args.coverage {
        if !(args.reliability > 0.0 && args.reliability < 1.0) {
            return Err("--reliability: must be between 0 and 1".into());
        }
        if !(10..=100_000).contains(&args.trials) {
            return Err("--trials: must be 10..=100000".into());
        }
        let r = coverage::run(&cfg, args.seed, args.reliability, args.trials)?;
        // The JSON first: stdout may be a closed pipe.
        if let Some(p) = &args.json {
            write_json(p, &r)?;
        }
        if r.interrupted {
            println!("INTERRUPTED: the receivers measured so far");
        }
        println!(
            "D2R coverage at {:.0} % read reliability (96-bit tag ID + CRC16, {} frames per SNR point, clock error ±{} ppm)",
            r.reliability * 100.0,
            r.trials_per_point,
            cfg.tags.max_ppm
        );
        println!(
            "{:<46} {:>12} {:>9} {:>10} {:>13} {:>10}",
            "receiver", "SNR_req dB", "gain dB", "frame ms", "Eb gain dB", "range m"
        );
        for row in &r.rows {
            println!(
                "{:<46} {:>12.1} {:>9.1} {:>10.2} {:>13.1} {:>10.1}",
                row.name,
                row.required_snr_db,
                row.gain_db,
                row.frame_ms,
                row.energy_gain_db,
                row.d2r_range_m
            );
        }
        println!(
            "tag power-up (harvesting) range at {} dBm sensitivity: {:.1} m; white paper's claim: {:.0} dB",
            cfg.tags.sensitivity_dbm, r.power_up_range_m, r.white_paper_gain_db
        );
        return Ok(crate::interrupt::exit_code(r.interrupted, gate(&args, &r)?));
    }
    let r = sim::run(&cfg, args.seed)?;
    if let Some(p) = &args.json {
        write_json(p, &r)?;
    }
    if r.interrupted {
        println!(
            "INTERRUPTED: the inventory was stopped early; results cover the tags read so far"
        );
    }
    println!(
        "hall {} m x {} m, {} reader sites, {} tags ({} powered), seed {}",
        cfg.hall.width_m, cfg.hall.length_m, r.readers, r.tags, r.tags_powered, args.seed
    );
    println!("tags read over time:");
    for (t, n) in &r.read_over_time {
        println!("  {:>8.2} s  {:>6} tags", t, n);
    }
    println!(
        "tags read: {} of {} ({:.2} %), missed: {} ({} never powered up)",
        r.tags_read,
        r.tags,
        100.0 * r.read_fraction,
        r.tags_missed,
        r.tags - r.tags_powered
    );
    println!(
        "inventory time: {:.2} s, read rate: {:.1} tags/s (Msg1 {:.2} ms, Msg3 {:.2} ms on air)",
        r.inventory_time_s, r.read_rate_tags_per_s, r.msg1_ms, r.msg3_ms
    );
    println!(
        "access occasions: {} (read {}, empty {}, collision {}, NACK {}, captures {})",
        r.access_occasions,
        r.tags_read,
        r.empty_occasions,
        r.collision_occasions,
        r.nack_occasions,
        r.captures
    );
    println!(
        "slot efficiency: {:.3} with capture, {:.3} on an ideal collision channel (framed slotted ALOHA bound 1/e = {:.3}); uplink PRB share used: {:.1} %",
        r.slot_efficiency,
        r.slot_efficiency_no_capture,
        r.aloha_bound,
        100.0 * r.ul_prb_share
    );
    println!(
        "RSSI per site (dBm): p10 {:.1}, p50 {:.1}, p90 {:.1}",
        r.rssi_dbm_p10, r.rssi_dbm_p50, r.rssi_dbm_p90
    );
    println!(
        "position error: p50 {:.2} m, p90 {:.2} m over {} tags (trilateration p50 {:.2} m, fingerprinting p50 {:.2} m, fusion weight {:.2})",
        r.position_error_p50_m,
        r.position_error_p90_m,
        r.positioned,
        r.trilateration_error_p50_m,
        r.fingerprint_error_p50_m,
        r.fusion_weight_trilateration
    );
    Ok(crate::interrupt::exit_code(r.interrupted, gate(&args, &r)?))
}

/// The exit status `--expect` gives report `r` (success without it).
fn gate<T: serde::Serialize>(args: &Args, r: &T) -> CliResult<ExitCode> {
    Ok(match &args.expect {
        Some(e) => e
            .gate(&serde_json::to_value(r)?)
            .unwrap_or(ExitCode::SUCCESS),
        None => ExitCode::SUCCESS,
    })
}
