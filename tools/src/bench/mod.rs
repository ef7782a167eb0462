//! `ranlab bench`: throughput of each PHY block on one pinned core.
//!
//! Each case is a closure doing one call of a block on fixed-seed input; the
//! harness times single calls (batched when a call is too short for the clock),
//! and reports the median and 99th percentile per call and the information
//! throughput at the median. The criterion benches in `benches/` run these same
//! cases with criterion's statistics; this table is for quick comparison by script.

pub mod channel;
pub mod coding;
pub mod ldpc;
pub mod mimo;
pub mod ofdm;
pub mod piot;
pub mod sched;
pub mod slot;
pub mod slot_dl;
pub mod transport;

use crate::CliResult;
use ranlab_phy::simd::SimdLevel;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The cores the driving thread could use before `ranlab bench` pinned it.
static UNPINNED_CORES: OnceLock<Vec<usize>> = OnceLock::new();

/// The cores a case's own worker threads (a pipeline's) should be spread
/// over: those of the process before the bench pinned its driving thread to
/// one, or empty (= wherever the caller may run) without pinning.
pub fn unpinned_cores() -> Vec<usize> {
    UNPINNED_CORES.get().cloned().unwrap_or_default()
}

/// Arguments of `ranlab bench`.
#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  ranlab bench --list\n  ranlab bench --only slot --time 1 --json slot.json\n  ranlab bench --only ldpc_decode --all-impls      # every instruction set, side by side"
)]
pub struct Args {
    /// Only run the cases of this block: crc, ldpc_encode, ldpc_decode,
    /// rate_match, derate_match, scrambling, demap, mimo, precoder, ofdm,
    /// chest, pusch, slot, channel, sched, piot_viterbi, piot_d2r_rx (`--list`
    /// shows every case).
    #[arg(long, value_name = "BLOCK")]
    only: Option<String>,
    /// Only run the cases whose name contains this text.
    #[arg(long, value_name = "TEXT")]
    case: Option<String>,
    /// Instruction set: auto (best detected), or force scalar, avx2 or avx512.
    #[arg(long = "impl", value_name = "IMPL", default_value = "auto")]
    implementation: String,
    /// Run every instruction set this CPU supports, not just the chosen one.
    #[arg(long)]
    all_impls: bool,
    /// Measuring time per case, seconds.
    #[arg(long, default_value_t = 1.0, value_name = "SECONDS")]
    time: f64,
    /// Write the results as a JSON list to this file.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Do not pin the thread to a core.
    #[arg(long)]
    no_pin: bool,
    /// List the blocks and cases (with `--only` / `--case`, those selected) and exit.
    #[arg(long)]
    list: bool,
}

/// One benchmark case: a block call on prepared input.
pub struct Case {
    /// Block name (`ldpc_decode`, `crc`, ...).
    pub block: &'static str,
    /// Case name, stable for scripts.
    pub case: String,
    /// Information bits processed per call (0 when not meaningful).
    pub info_bits: f64,
    /// Resource elements (or samples) processed per call (0 when not meaningful).
    pub res: f64,
    /// One call of the block.
    pub run: Box<dyn FnMut()>,
}

/// The measurement of one case.
#[derive(serde::Serialize)]
pub struct Measurement {
    block: &'static str,
    case: String,
    #[serde(rename = "impl")]
    implementation: &'static str,
    median_us: f64,
    p99_us: f64,
    median_mbps: f64,
    mres_per_s: f64,
    calls: usize,
    /// Slot duration / median processing time, for whole-slot cases (`slot`).
    #[serde(skip_serializing_if = "Option::is_none")]
    realtime_factor: Option<f64>,
}

/// All cases for `level`. Each block family registers its cases here.
pub fn cases(level: SimdLevel) -> Vec<Case> {
    let mut v = Vec::new();
    v.extend(coding::cases(level));
    v.extend(channel::cases(level));
    v.extend(sched::cases(level));
    v.extend(mimo::cases(level));
    v.extend(ofdm::cases(level));
    v.extend(ofdm::pusch_cases(level));
    v.extend(transport::cases(level));
    v.extend(piot::cases(level));
    v.extend(ldpc::cases(level));
    v.extend(slot::cases(level));
    v.extend(slot_dl::cases(level));
    v
}

/// What `--json` holds: the cases measured, and whether Ctrl-C cut the run
/// short (the case being measured then is left out: its statistics are
/// incomplete).
#[derive(serde::Serialize)]
struct Report {
    interrupted: bool,
    results: Vec<Measurement>,
}

/// Measures one case; `None` when an interrupt came before it finished.
fn measure(case: &mut Case, time: Duration, level: SimdLevel) -> Option<Measurement> {
    // Calibrate a batch so each timed sample lasts at least ~20 us.
    let t0 = Instant::now();
    (case.run)();
    let one = t0.elapsed().max(Duration::from_nanos(20));
    let batch = (Duration::from_micros(20).as_nanos() / one.as_nanos()).max(1) as usize;
    let mut samples = Vec::new();
    let start = Instant::now();
    while start.elapsed() < time || samples.len() < 11 {
        if crate::interrupt::requested() {
            return None;
        }
        let t = Instant::now();
        for _ in 0..batch {
            (case.run)();
        }
        samples.push(t.elapsed().as_secs_f64() * 1e6 / batch as f64);
        if samples.len() >= 200_000 {
            break;
        }
    }
    samples.sort_by(f64::total_cmp);
    let median = samples[samples.len() / 2];
    let p99 = samples[((samples.len() as f64 * 0.99) as usize).min(samples.len() - 1)];
    Some(Measurement {
        block: case.block,
        case: case.case.clone(),
        implementation: level.name(),
        median_us: median,
        p99_us: p99,
        median_mbps: case.info_bits / median,
        mres_per_s: case.res / median,
        calls: samples.len() * batch,
        realtime_factor: slot::slot_us(case.block, &case.case).map(|s| s / median),
    })
}

pub fn run(args: Args) -> CliResult<ExitCode> {
    let detected = SimdLevel::detect();
    let levels: Vec<SimdLevel> = if args.all_impls {
        SimdLevel::supported()
    } else if args.implementation == "auto" {
        vec![detected]
    } else {
        let l: SimdLevel = args
            .implementation
            .parse()
            .map_err(|e: String| format!("--impl: {e}"))?;
        if !l.is_supported() {
            return Err(format!("--impl {l}: this CPU supports only {}", detected).into());
        }
        vec![l]
    };
    if !(args.time > 0.0 && args.time <= 600.0) {
        return Err("--time must be between 0 and 600 seconds".into());
    }
    let mut blocks: Vec<&'static str> = Vec::new();
    for c in cases(levels[0]) {
        if !blocks.contains(&c.block) {
            blocks.push(c.block);
        }
    }
    if let Some(b) = args.only.as_deref().filter(|b| !blocks.contains(b)) {
        return Err(format!("--only {b}: no such block (blocks: {})", blocks.join(", ")).into());
    }
    if args.list {
        for c in cases(levels[0]) {
            let selected = args.only.as_deref().is_none_or(|b| b == c.block)
                && args.case.as_deref().is_none_or(|t| c.case.contains(t));
            if selected {
                println!("{:<14} {}", c.block, c.case);
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    if !args.no_pin {
        let cores = core_affinity::get_core_ids().unwrap_or_default();
        let _ = UNPINNED_CORES.set(cores.iter().map(|c| c.id).collect());
        if let Some(&core) = cores.first() {
            core_affinity::set_for_current(core);
        }
    }
    let mut results = Vec::new();
    // Ctrl-C ends the run after the current timed batch: the finished cases
    // are written (`"interrupted": true`) and the exit status is 130.
    let mut interrupted = false;
    println!(
        "{:<14} {:<40} {:<7} {:>12} {:>12} {:>12} {:>10}",
        "block", "case", "impl", "median_us", "p99_us", "Mbit/s", "MRE/s"
    );
    'levels: for level in levels {
        if crate::interrupt::requested() {
            interrupted = true;
            break;
        }
        let mut all = cases(level);
        all.retain(|c| args.only.as_deref().is_none_or(|b| b == c.block));
        all.retain(|c| args.case.as_deref().is_none_or(|t| c.case.contains(t)));
        for mut c in all {
            let Some(m) = measure(&mut c, Duration::from_secs_f64(args.time), level) else {
                interrupted = true;
                break 'levels;
            };
            println!(
                "{:<14} {:<40} {:<7} {:>12.2} {:>12.2} {:>12.1} {:>10.1}",
                m.block,
                m.case,
                m.implementation,
                m.median_us,
                m.p99_us,
                m.median_mbps,
                m.mres_per_s
            );
            if let Some(r) = m.realtime_factor {
                println!("{:<14} {:<40} real-time factor {r:.3}", "", "");
            }
            results.push(m);
        }
    }
    if results.is_empty() && !interrupted {
        return Err(format!(
            "no benchmark case matches (--only {:?}, --case {:?})",
            args.only.unwrap_or_default(),
            args.case.unwrap_or_default()
        )
        .into());
    }
    if let Some(path) = args.json {
        let report = Report {
            interrupted,
            results,
        };
        std::fs::write(&path, serde_json::to_string_pretty(&report)?)
            .map_err(|e| format!("cannot write `{}`: {e}", path.display()))?;
    }
    if interrupted {
        eprintln!("interrupted: the case being measured is left out");
    }
    Ok(crate::interrupt::exit_code(interrupted, ExitCode::SUCCESS))
}
