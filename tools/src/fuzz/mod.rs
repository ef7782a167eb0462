//! `ranlab fuzz`: random and mutated inputs against the parsers and the
//! receive-side blocks, on stable Rust, with a budget of inputs and time.
//!
//! Each input is drawn from its own generator, seeded by (seed, index), so a
//! finding is replayed exactly by `--seed S --first I --inputs 1`. A target
//! passes when no input panics; returned errors are the expected answer to
//! bad input. Findings are printed with the command that reproduces them and
//! the run exits with status 1. See docs/fuzzing.md.

mod mutate;
mod targets;

use crate::CliResult;
use rand::SeedableRng;
use std::process::ExitCode;
use std::time::{Duration, Instant};
pub use targets::{Ctx, Target, TARGETS};

/// Arguments of `ranlab fuzz`.
#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  ranlab fuzz --list\n  ranlab fuzz --target ldpc-decoder --inputs 1000000\n  ranlab fuzz --seconds 30            # every target, 30 s each\n  ranlab fuzz --target pusch-rx --seed 7 --first 4123 --inputs 1   # replay one input"
)]
pub struct Args {
    /// Target to run (default: every target in turn); `--list` names them.
    #[arg(long, value_name = "NAME")]
    target: Option<String>,
    /// Inputs per target (the run stops at whichever of --inputs and --seconds comes first).
    #[arg(long, value_name = "N", default_value_t = 1_000_000)]
    inputs: u64,
    /// Time budget per target, seconds.
    #[arg(long, value_name = "S", default_value_t = 60.0)]
    seconds: f64,
    /// Seed of the run.
    #[arg(long, value_name = "S", default_value_t = 1)]
    seed: u64,
    /// Index of the first input (to replay a finding).
    #[arg(long, value_name = "I", default_value_t = 0)]
    first: u64,
    /// List the targets and exit.
    #[arg(long)]
    list: bool,
    /// Print the input text of `--first` (text targets) instead of running it:
    /// to save a finding, an abort among them, to the regression corpus.
    #[arg(long)]
    print_input: bool,
}

/// Where the last caught panic happened (set by the run's panic hook).
static LAST_PANIC_AT: std::sync::Mutex<String> = std::sync::Mutex::new(String::new());

/// The outcome of one target's run.
pub struct TargetRun {
    /// Inputs run.
    pub inputs: u64,
    /// Indices of the inputs that panicked, with the panic message.
    pub panics: Vec<(u64, String)>,
    /// Wall time.
    pub elapsed: Duration,
}

/// The generator of input `index` of a run seeded `seed`.
fn generator(seed: u64, index: u64) -> mutate::Gen {
    mutate::Gen::seed_from_u64(seed ^ index.wrapping_mul(0x9E37_79B9_7F4A_7C15))
}

/// A scratch directory for a target's files: in memory (/dev/shm) where
/// there is one, as file-backed temporary directories are slow for one
/// write per input.
pub fn scratch_dir(target: &str) -> std::path::PathBuf {
    let shm = std::path::Path::new("/dev/shm");
    let base = if shm.is_dir() {
        shm.to_path_buf()
    } else {
        std::env::temp_dir()
    };
    base.join(format!("ranlab-fuzz-{}-{target}", std::process::id()))
}

/// Runs `target` over inputs `first..first + inputs` (or until `budget`),
/// catching panics. Stops early on a Ctrl-C.
pub fn run_target(
    target: &targets::Target,
    seed: u64,
    first: u64,
    inputs: u64,
    budget: Duration,
) -> TargetRun {
    let dir = scratch_dir(target.name);
    let _ = std::fs::create_dir_all(&dir);
    let mut cx = targets::Ctx::new(dir.clone());
    let start = Instant::now();
    let mut panics = Vec::new();
    let mut n = 0;
    while n < inputs
        && (n % 256 != 0 || (start.elapsed() < budget && !crate::interrupt::requested()))
    {
        let index = first + n;
        let mut g = generator(seed, index);
        let r =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| target.run(&mut g, &mut cx)));
        if let Err(p) = r {
            let msg = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "panic".into());
            let at = std::mem::take(&mut *LAST_PANIC_AT.lock().unwrap_or_else(|e| e.into_inner()));
            panics.push((index, msg + &at));
        }
        n += 1;
    }
    let _ = std::fs::remove_dir_all(&dir);
    TargetRun {
        inputs: n,
        panics,
        elapsed: start.elapsed(),
    }
}

pub fn run(a: Args) -> CliResult<ExitCode> {
    if a.list {
        for t in TARGETS {
            println!("{:<16} {}", t.name, t.what);
        }
        return Ok(ExitCode::SUCCESS);
    }
    if !(a.seconds > 0.0 && a.seconds.is_finite()) {
        return Err("--seconds: must be a positive number".into());
    }
    let chosen: Vec<&targets::Target> = match &a.target {
        Some(name) => vec![TARGETS.iter().find(|t| t.name == name).ok_or_else(|| {
            format!(
                "--target {name}: no such target (targets: {})",
                TARGETS
                    .iter()
                    .map(|t| t.name)
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })?],
        None => TARGETS.iter().collect(),
    };
    if a.print_input {
        let t = chosen.first().ok_or("--print-input needs --target")?;
        let cx = targets::Ctx::new(scratch_dir(t.name));
        let text = t
            .input_text(&mut generator(a.seed, a.first), &cx)
            .ok_or_else(|| format!("--print-input: {} draws values, not text", t.name))?;
        print!("{text}");
        return Ok(ExitCode::SUCCESS);
    }
    // Panics are the findings: their default report would flood the
    // output; the hook keeps where each one happened for the report.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|info| {
        if let Some(l) = info.location() {
            *LAST_PANIC_AT.lock().unwrap_or_else(|e| e.into_inner()) = format!(" at {l}");
        }
    }));
    let mut found = 0;
    let mut interrupted = false;
    for t in chosen {
        let r = run_target(
            t,
            a.seed,
            a.first,
            a.inputs,
            Duration::from_secs_f64(a.seconds),
        );
        println!(
            "{:<16} {:>9} inputs in {:>7.1} s ({:>9.0}/s): {} panics",
            t.name,
            r.inputs,
            r.elapsed.as_secs_f64(),
            r.inputs as f64 / r.elapsed.as_secs_f64().max(1e-9),
            r.panics.len()
        );
        for (i, msg) in r.panics.iter().take(5) {
            println!(
                "  input {i}: {msg}\n    reproduce: ranlab fuzz --target {} --seed {} --first {i} --inputs 1",
                t.name, a.seed
            );
        }
        found += r.panics.len();
        if crate::interrupt::requested() {
            interrupted = true;
            break;
        }
    }
    std::panic::set_hook(hook);
    let code = if found > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    };
    Ok(crate::interrupt::exit_code(interrupted, code))
}
