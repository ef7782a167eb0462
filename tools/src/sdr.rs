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
    let hint = || match crate::cell::radio::module_for_args(&target) {
        Some(m) => format!("; is its SoapySDR module installed? (package: {m})"),
        None => String::new(),
    };
    if p.args.is_some() && found.is_empty() {
        return Err(format!("no SoapySDR device matches `{target}`{}", hint()).into());
    }
    println!();
    let text = describe(&target).map_err(|e| format!("{e}{}", hint()))?;
    print!("{text}");
    if let Some(profile) = suggest_profile(&text) {
        println!("board profile: tools/examples/boards/{profile} (ranlab loopback --config ... --radio soapy)");
    }
    Ok(ExitCode::SUCCESS)
}

/// The shipped board profile for a device, from its `device:` line
/// (driver and hardware keys).
pub fn suggest_profile(description: &str) -> Option<&'static str> {
    let line = description
        .lines()
        .find(|l| l.starts_with("device:"))?
        .to_ascii_lowercase();
    [
        ("b210", "b210-20mhz-2x2.toml"),
        ("b200", "b210-20mhz-2x2.toml"),
        ("n310", "n310-100mhz-4x4.toml"),
        ("n3xx", "n310-100mhz-4x4.toml"),
        ("limesdr-mini", "limesdr-mini-10mhz-1x1.toml"),
        ("limesdr mini", "limesdr-mini-10mhz-1x1.toml"),
        ("lime", "limesdr-mini-10mhz-1x1.toml"),
    ]
    .iter()
    .find(|(k, _)| line.contains(k))
    .map(|&(_, f)| f)
}

#[cfg(not(feature = "soapy"))]
fn probe(_: ProbeArgs) -> CliResult<ExitCode> {
    Err("ranlab was built without SoapySDR: rebuild with `--features soapy` (needs libsoapysdr-dev)".into())
}

#[cfg(test)]
mod tests {
    use super::suggest_profile;

    #[test]
    fn probe_suggests_the_profile_of_known_boards() {
        let d = |s: &str| format!("device: {s} (args)\n  rx 0\n");
        assert_eq!(suggest_profile(&d("uhd B210")), Some("b210-20mhz-2x2.toml"));
        assert_eq!(
            suggest_profile(&d("lime LimeSDR-Mini")),
            Some("limesdr-mini-10mhz-1x1.toml")
        );
        assert_eq!(
            suggest_profile(&d("uhd n3xx")),
            Some("n310-100mhz-4x4.toml")
        );
        assert_eq!(suggest_profile(&d("ranlab_loopback ranlab-loopback")), None);
    }
}
