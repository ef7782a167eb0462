//! `ranlab sdr probe`: what SoapySDR devices are attached and what they can do.

use crate::CliResult;
use std::process::ExitCode;

/// Arguments of `ranlab sdr`.
#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand)]
enum Command {
    /// List SoapySDR devices and describe one: channels, rate/frequency/gain
    /// ranges, antennas, clock and time sources, sensors, hardware time.
    Probe(ProbeArgs),
}

#[derive(clap::Args)]
struct ProbeArgs {
    /// SoapySDR device args of the device to describe (`driver=uhd,type=b200`);
    /// without it, the first device found is described.
    #[arg(long, value_name = "ARGS")]
    args: Option<String>,
}

pub fn run(args: Args) -> CliResult<ExitCode> {
    match args.command {
        Command::Probe(p) => probe(p),
    }
}

#[cfg(feature = "soapy")]
fn probe(p: ProbeArgs) -> CliResult<ExitCode> {
    use ranlab_sdr::soapy::probe::{describe, list_devices};
    let filter = p.args.clone().unwrap_or_default();
    let found = list_devices(&filter)?;
    println!("SoapySDR devices found ({}):", found.len());
    for d in &found {
        println!("  {d}");
    }
    let target = match (&p.args, found.first()) {
        (Some(a), _) => a.clone(),
        (None, Some(first)) => first.clone(),
        (None, None) => {
            println!("no device to describe (is its SoapySDR module installed?)");
            return Ok(ExitCode::SUCCESS);
        }
    };
    println!();
    print!("{}", describe(&target)?);
    Ok(ExitCode::SUCCESS)
}

#[cfg(not(feature = "soapy"))]
fn probe(_: ProbeArgs) -> CliResult<ExitCode> {
    Err("ranlab was built without SoapySDR: rebuild with `--features soapy` (needs libsoapysdr-dev)".into())
}
