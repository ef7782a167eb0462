//! `ranlab`: the command-line front end of the ranlab RAN data plane.

use clap::{Parser, Subcommand};
use ranlab::{
    bench, bler, blertable, channel, conform, fuzz, info, link, loopback, record, replay, sdr,
    system, tags,
};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "ranlab",
    version,
    about = "SDR-backed 5G-Advanced RAN data plane: NR PHY, MAC/scheduler and passive-IoT reader",
    long_about = "ranlab runs an NR uplink/downlink data plane over a software channel model or \
                  SoapySDR radios, checks its PHY blocks against independent test vectors and \
                  measures their throughput per core."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the main job: UEs transmit through the software channel (or SoapySDR radios) to the gNB receiver.
    Loopback(loopback::Args),
    /// Check PHY blocks against JSON Lines test vectors (see shared/vectors/FORMAT.md).
    Conform(conform::Args),
    /// Measure PHY block throughput per core (median and p99 per call).
    Bench(bench::Args),
    /// Write channel realisations (tap gains over time) as a NumPy .npy file plus JSON.
    Channel(channel::Args),
    /// Measure AWGN BLER curves per MCS with the transport chain (the system mode's link table).
    BlerTable(blertable::Args),
    /// System-level study: many UEs, TR 38.901 path loss, the MAC/scheduler and a link abstraction.
    System(system::Args),
    /// Inventory and locate passive IoT tags in an indoor hall (or --coverage).
    Tags(tags::Args),
    /// PUSCH/PDSCH link-level BLER and throughput over fading channels, the whole receiver.
    Link(link::Args),
    /// Block error rate of the LDPC code on AWGN (QPSK, rv 0), with confidence intervals.
    Bler(bler::Args),
    /// Fuzz the parsers and receive-side blocks with random and mutated inputs (see docs/fuzzing.md).
    Fuzz(fuzz::Args),
    /// Show the CPU, the SIMD level detected at run time and the kernel each block uses.
    Info(info::Args),
    /// SoapySDR devices: `ranlab sdr probe [--args ARGS]`.
    Sdr(sdr::Args),
    /// Record what a radio receives as SigMF (BASE.sigmf-data + BASE.sigmf-meta).
    Record(record::Args),
    /// Run the receive side over a SigMF recording and report what it holds.
    Replay(replay::Args),
}

/// Whether a panic payload is std's failure to print to stdout (a closed
/// pipe, a full disk): then the command's output simply ends.
fn stdout_failure(payload: &(dyn std::any::Any + Send)) -> Option<String> {
    let msg = payload
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| payload.downcast_ref::<&str>().copied())?;
    msg.strip_prefix("failed printing to stdout: ")
        .map(str::to_string)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Output to a closed pipe (`ranlab info | head -1`) or a full disk ends
    // the command without a panic message: std's print macros panic on a
    // write error, so that one panic is caught here and made quiet.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if stdout_failure(info.payload()).is_none() {
            default_hook(info);
        }
    }));
    ranlab::interrupt::install();
    // A bad RANLAB_SIMD is an error, not a silently ignored setting.
    if let Err(e) = ranlab_phy::simd::SimdLevel::from_env() {
        eprintln!("error: {e}");
        return ExitCode::from(2);
    }
    let outcome = std::panic::catch_unwind(move || dispatch(cli.command));
    match outcome {
        Ok(code) => code,
        Err(payload) => match stdout_failure(payload.as_ref()) {
            // A reader that went away: end quietly, as `head` expects.
            Some(e) if e.contains("Broken pipe") => ExitCode::from(141),
            Some(e) => {
                eprintln!("error: cannot write to stdout: {e}");
                ExitCode::from(1)
            }
            None => ExitCode::from(101),
        },
    }
}

fn dispatch(command: Command) -> ExitCode {
    let result = match command {
        Command::Loopback(a) => loopback::run(a),
        Command::Conform(a) => conform::run(a),
        Command::Bench(a) => bench::run(a),
        Command::Bler(a) => bler::run(a),
        Command::Link(a) => link::run(a),
        Command::Info(a) => info::run(a),
        Command::Fuzz(a) => fuzz::run(a),
        Command::Sdr(a) => sdr::run(a),
        Command::Record(a) => record::run(a),
        Command::Replay(a) => replay::run(a),
        Command::Channel(a) => channel::run(a),
        Command::System(a) => system::run(a),
        Command::Tags(a) => tags::run(a),
        Command::BlerTable(a) => blertable::run(a),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}
