//! `ranlab loopback`: the main job. UEs transmit through the software channel
//! or SoapySDR radios (`--radio soapy`, see [`radio`]) to the gNB receiver
//! (uplink, through the slot pipeline), the gNB transmits
//! to the UEs in the downlink slots (`downlink`), and the run is summarised
//! per UE and per cell.

use crate::cell::radio::{self, RadioChoice};
use crate::cell::{Cell, CellOptions};
use crate::scenario::{Scenario, DEFAULT_SCENARIO};
use crate::CliResult;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

pub use crate::cell::Pace;

/// Arguments of `ranlab loopback`.
#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  ranlab loopback\n  ranlab loopback --set channel.snr_db=12 --slots 2000 --json run.json --expect \"bler<=0.1\"\n  ranlab loopback --config tools/examples/boards/b210-20mhz-2x2.toml --radio soapy --pace realtime"
)]
pub struct Args {
    /// Scenario file (TOML); the built-in default when absent.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Print the built-in scenario as a starting file and exit.
    #[arg(long)]
    print_default_config: bool,
    /// Replace one scenario value, e.g. `--set channel.snr_db=12 --set
    /// cell.carriers.0.bandwidth_mhz=20` (dotted path; a number picks an
    /// array element; repeatable).
    #[arg(long, value_name = "KEY=VALUE")]
    set: Vec<String>,
    /// Slots to run (overrides the scenario's `slots`).
    #[arg(long, value_name = "N")]
    slots: Option<u64>,
    /// Seed of every random stream (overrides `channel.seed`).
    #[arg(long, value_name = "S")]
    seed: Option<u64>,
    /// Radio clock pacing.
    #[arg(long, value_enum, default_value = "free")]
    pace: Pace,
    /// Worker threads of the slot pipeline: `auto` (the cores this
    /// process may run on) or a number.
    #[arg(long, value_name = "N|auto", default_value = "auto", value_parser = parse_workers)]
    workers: usize,
    /// Write the summary as JSON to this file.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Thresholds over the JSON report that the run must meet (exit 3
    /// naming each unmet term), e.g. "ul_goodput_mbps>=30 && bler<=0.1".
    #[arg(long, value_name = "EXPR", value_parser = crate::expect::parse)]
    expect: Option<crate::expect::Expectation>,
    /// The radio: the scenario's simulated channel, or SoapySDR devices
    /// (`--args`; build with `--features soapy`).
    #[arg(long, value_enum, default_value = "sim")]
    radio: radio::RadioKind,
    /// SoapySDR args of the gNB device (`driver=uhd,type=b200`, `driver=lime`,
    /// `driver=ranlab_loopback`); without `--ue-args` its TX channels carry the
    /// UEs, cabled (or looped back) to its RX channels.
    #[arg(long, value_name = "ARGS", default_value = "")]
    args: String,
    /// SoapySDR args of a separate UE device (two boards, on a shared time source).
    #[arg(long, value_name = "ARGS")]
    ue_args: Option<String>,
    /// Radio options (`master_clock=..,clock=external,time=gpsdo,bandwidth=..,lookahead=4,rx=0:1,tx=0`).
    #[arg(long, value_name = "K=V,...", default_value = "")]
    radio_opts: String,
}

/// `--workers`: `auto` is the cores this process may run on.
pub(crate) fn parse_workers(s: &str) -> Result<usize, String> {
    if s == "auto" {
        return Ok(std::thread::available_parallelism().map_or(1, |n| n.get()));
    }
    s.parse()
        .map_err(|_| format!("`{s}` is neither `auto` nor a number of workers"))
}

/// Most pipeline workers, whatever the machine: each holds a receiver's
/// buffers for the whole carrier.
pub const MAX_WORKERS: usize = 64;

/// Most pipeline workers here: 4 per core (more only contend), at most
/// [`MAX_WORKERS`].
pub fn max_workers() -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    cores.saturating_mul(4).clamp(1, MAX_WORKERS)
}

pub fn run(args: Args) -> CliResult<ExitCode> {
    if args.print_default_config {
        print!("{DEFAULT_SCENARIO}");
        return Ok(ExitCode::SUCCESS);
    }
    let (text, origin) = match &args.config {
        Some(p) => (
            std::fs::read_to_string(p)
                .map_err(|e| format!("cannot read config `{}`: {e}", p.display()))?,
            p.display().to_string(),
        ),
        None => (
            DEFAULT_SCENARIO.to_string(),
            "built-in scenario".to_string(),
        ),
    };
    let mut scenario = if args.set.is_empty() {
        Scenario::parse(&text, &origin)?
    } else {
        Scenario::parse(
            &crate::overrides::apply(&text, &args.set)?,
            &format!("{origin} with --set"),
        )?
    };
    if let Some(s) = args.slots {
        if s == 0 {
            return Err("--slots: must be at least 1".into());
        }
        scenario.slots = s;
    }
    if let Some(seed) = args.seed {
        scenario.channel.seed = seed;
    }
    if args.radio == radio::RadioKind::Sim
        && (!args.args.is_empty() || args.ue_args.is_some() || !args.radio_opts.is_empty())
    {
        return Err(
            "--args, --ue-args and --radio-opts choose SoapySDR devices: add `--radio soapy`"
                .into(),
        );
    }
    let max_workers = max_workers();
    if args.workers == 0 || args.workers > max_workers {
        return Err(format!(
            "--workers {}: allowed 1..={max_workers} (4 per core of this machine, at most {MAX_WORKERS})",
            args.workers
        )
        .into());
    }
    // Ctrl-C ends the run after the current slot; the summary and JSON are
    // still written (marked interrupted) and the exit status is 130.
    let stop = crate::interrupt::stop_flag();
    let opts = CellOptions {
        pace: args.pace,
        workers: args.workers,
        radio: RadioChoice {
            kind: args.radio,
            args: args.args.clone(),
            ue_args: args.ue_args.clone(),
            radio_opts: args.radio_opts.clone(),
            profile: None,
        },
        fixed_ul: None,
    };
    if let Some(e) = &args.expect {
        e.check_keys(&serde_json::to_value(
            crate::cell::report::Report::template(),
        )?)?;
    }
    let mut cell = Cell::new(&scenario, &opts)?;
    let progress = std::io::stderr().is_terminal() && scenario.slots >= 200;
    let bar = progress.then(|| {
        let b = indicatif::ProgressBar::new(scenario.slots);
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "{bar:40} {pos}/{len} slots {elapsed} eta {eta}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        b
    });
    loop {
        if stop.load(std::sync::atomic::Ordering::Relaxed) {
            cell.interrupt();
        }
        let Some(step) = cell.run_slot(None)? else {
            break;
        };
        if let (Some(b), Some(_)) = (&bar, step.received) {
            b.inc(1);
        }
    }
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let report = cell.finish()?;
    // The JSON first: stdout may be a closed pipe.
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_string_pretty(&report)?)
            .map_err(|e| format!("cannot write `{}`: {e}", path.display()))?;
    }
    report.print();
    println!("{}", report.verdict.line(&report.timing, &report.radio));
    let unmet = match &args.expect {
        Some(e) => e.gate(&serde_json::to_value(&report)?),
        None => None,
    };
    let code = unmet
        .or_else(|| report.verdict.exit_status().map(ExitCode::from))
        .unwrap_or(ExitCode::SUCCESS);
    Ok(crate::interrupt::exit_code(report.interrupted, code))
}
