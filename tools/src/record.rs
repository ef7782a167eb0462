//! `ranlab record`: write what a radio receives as a SigMF recording
//! (`BASE.sigmf-data` + `BASE.sigmf-meta`, one annotation per slot).

use crate::scenario::Scenario;
use crate::CliResult;
use num_complex::Complex32;
use ranlab_sdr::sigmf::{Datatype, SigmfWriter};
use ranlab_sdr::{Radio, RadioConfig};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// Radio backends `record` can read from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum RadioKind {
    /// A SoapySDR device chosen by `--args` (build with `--features soapy`).
    Soapy,
}

/// Sample formats of the data file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum DataFormat {
    /// Complex int16 (`ci16_le`), the CS16 wire format.
    Ci16,
    /// Complex float32 (`cf32_le`).
    Cf32,
}

/// Arguments of `ranlab record`.
#[derive(clap::Args)]
pub struct Args {
    /// Base name of the recording: writes BASE.sigmf-data and BASE.sigmf-meta.
    #[arg(long, value_name = "BASENAME")]
    out: PathBuf,
    /// Where the samples come from.
    #[arg(long, value_enum, default_value = "soapy")]
    radio: RadioKind,
    /// SoapySDR device args (`driver=uhd,type=b200`, `driver=lime`, `driver=ranlab_loopback`).
    #[arg(long, value_name = "ARGS", default_value = "")]
    args: String,
    /// Radio options (`master_clock=30.72e6,clock=external,time=gpsdo,bandwidth=20e6,lookahead=4`).
    #[arg(long, value_name = "K=V,...", default_value = "")]
    radio_opts: String,
    /// Slots to record.
    #[arg(long, value_name = "N", default_value_t = 100)]
    slots: u64,
    /// Sample rate, Hz (a multiple of 1.92 MHz · SCS/15 kHz).
    #[arg(long, value_name = "HZ", default_value_t = 23.04e6)]
    rate: f64,
    /// Scenario whose primary carrier gives the centre frequency and SCS (the built-in one when absent).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Receive channels.
    #[arg(long, value_name = "N", default_value_t = 1)]
    channels: usize,
    /// Receive gain, dB.
    #[arg(long, value_name = "DB", default_value_t = 30.0)]
    gain: f64,
    /// Sample format of the data file.
    #[arg(long, value_enum, default_value = "ci16")]
    datatype: DataFormat,
}

pub fn run(a: Args) -> CliResult<ExitCode> {
    if a.slots == 0 {
        return Err("--slots: must be at least 1".into());
    }
    if a.channels == 0 || a.channels > 16 {
        return Err("--channels: must be between 1 and 16".into());
    }
    let scenario = match &a.config {
        Some(p) => Scenario::load(p)?,
        None => Scenario::builtin(),
    };
    let carrier = &scenario.cell.carriers[0];
    let freq = carrier.center_frequency_mhz * 1e6;
    let scs = carrier.scs_khz;
    let config = RadioConfig {
        sample_rate_hz: a.rate,
        center_frequency_hz: freq,
        rx_gain_db: vec![a.gain; a.channels],
        tx_gain_db: vec![],
        rx_antennas: vec![],
        tx_antennas: vec![],
    };
    let mut radio = open_radio(&a, scs)?;
    radio.configure(&config)?;
    let info = radio.info();
    // Slot length at this numerology: 1 ms / 2^μ (TS 38.211 §4.3.2).
    let slot = (a.rate / (1000.0 * f64::from(scs / 15))).round() as usize;
    let datatype = match a.datatype {
        DataFormat::Ci16 => Datatype::Ci16Le,
        DataFormat::Cf32 => Datatype::Cf32Le,
    };
    let mut w = SigmfWriter::create(
        &a.out,
        datatype,
        a.rate,
        a.channels,
        freq,
        &format!("{} {}", info.driver, info.hardware),
        Some(slot as u64),
    )?;
    w.set_description(&format!(
        "ranlab record: {} slots of carrier {} ({} kHz SCS) at {} MS/s",
        a.slots,
        carrier.name,
        scs,
        a.rate / 1e6
    ));
    let mut bufs = vec![vec![Complex32::default(); slot]; a.channels];
    let want = a.slots * slot as u64;
    radio.start()?;
    while w.samples() < want {
        let n = (want - w.samples()).min(slot as u64) as usize;
        let mut views: Vec<&mut [Complex32]> = bufs.iter_mut().map(|b| &mut b[..n]).collect();
        let m = radio.receive(&mut views, Duration::from_secs(5))?;
        if m.samples == 0 && m.end_of_burst {
            break;
        }
        let blocks: Vec<&[Complex32]> = bufs.iter().map(|b| &b[..m.samples]).collect();
        w.write(&blocks, m.time)?;
    }
    radio.stop()?;
    let ev = radio.events();
    let written = w.samples();
    let meta = w.finish()?;
    let (mp, dp) = ranlab_sdr::sigmf::paths(&a.out);
    println!(
        "recorded {written} samples x {} channels ({} slots, {} capture segments) from {} to {} and {}",
        a.channels,
        meta.annotations.len(),
        meta.captures.len(),
        info.driver,
        dp.display(),
        mp.display()
    );
    println!(
        "radio.overflows {} radio.underflows {} radio.late {} radio.time_errors {}",
        ev.overflows, ev.underflows, ev.late, ev.time_errors
    );
    Ok(ExitCode::SUCCESS)
}

#[cfg(feature = "soapy")]
fn open_radio(a: &Args, scs_khz: u32) -> CliResult<Box<dyn Radio>> {
    use ranlab_sdr::soapy::{SoapyOptions, SoapyRadio};
    match a.radio {
        RadioKind::Soapy => {
            let mut opts = SoapyOptions {
                rx_channels: (0..a.channels).collect(),
                tx_channels: vec![],
                scs_khz,
                ..SoapyOptions::default()
            };
            opts.apply(&a.radio_opts)?;
            if opts.rx_channels.len() != a.channels {
                return Err(format!(
                    "--radio-opts rx= names {} channels but --channels is {}",
                    opts.rx_channels.len(),
                    a.channels
                )
                .into());
            }
            Ok(Box::new(SoapyRadio::open(&a.args, opts)?))
        }
    }
}

#[cfg(not(feature = "soapy"))]
fn open_radio(_: &Args, _: u32) -> CliResult<Box<dyn Radio>> {
    Err("--radio soapy: ranlab was built without SoapySDR; rebuild with `--features soapy`".into())
}
