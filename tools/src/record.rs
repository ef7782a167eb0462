//! `ranlab record`: write what a radio receives as a SigMF recording
//! (`BASE.sigmf-data` + `BASE.sigmf-meta`, one annotation per slot).
//!
//! `--radio sim` records the gNB side of the loopback main job over the
//! scenario's simulated channel, and with each slot the PUSCH PDUs the
//! scheduler granted in it (the `ranlab` extension namespace, see
//! [`crate::record_ext`]), so `ranlab replay` can run the receiver over it.

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
    /// The loopback main job over the scenario's simulated channel: the UEs'
    /// PUSCHs as the gNB antennas receive them, with the scheduled PDUs.
    Sim,
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
#[command(
    after_help = "Examples:\n  ranlab record --radio sim --slots 200 --out sim        # the simulated cell, with its PUSCH PDUs\n  ranlab record --radio soapy --args driver=lime --slots 200 --out cap   # build with --features soapy"
)]
pub struct Args {
    /// Base name of the recording: writes BASE.sigmf-data and BASE.sigmf-meta.
    #[arg(long, value_name = "BASENAME")]
    out: PathBuf,
    /// Where the samples come from (default: soapy in a build with the
    /// `soapy` feature, else the simulated channel).
    #[arg(long, value_enum, default_value = if cfg!(feature = "soapy") { "soapy" } else { "sim" })]
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
    /// Seed of the simulated channel and traffic (`--radio sim`; overrides `channel.seed`).
    #[arg(long, value_name = "S")]
    seed: Option<u64>,
    /// Sample rate, Hz (a multiple of 1.92 MHz · SCS/15 kHz; 23.04e6 when absent).
    /// `--radio sim` runs at the carrier's rate.
    #[arg(long, value_name = "HZ")]
    rate: Option<f64>,
    /// Scenario whose primary carrier gives the centre frequency and SCS (the built-in one when absent).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Receive channels.
    #[arg(long, value_name = "N", default_value_t = 1)]
    channels: usize,
    /// Receive gain, dB.
    #[arg(long, value_name = "DB", default_value_t = 30.0)]
    gain: f64,
    /// Sample format of the data file (ci16 from a device, cf32 from `--radio sim`).
    #[arg(long, value_enum)]
    datatype: Option<DataFormat>,
}

pub fn run(a: Args) -> CliResult<ExitCode> {
    if a.slots == 0 {
        return Err("--slots: must be at least 1".into());
    }
    if a.channels == 0 || a.channels > 16 {
        return Err("--channels: must be between 1 and 16".into());
    }
    let mut scenario = match &a.config {
        Some(p) => Scenario::load(p)?,
        None => Scenario::builtin(),
    };
    if a.radio == RadioKind::Sim {
        scenario.slots = a.slots;
        if let Some(seed) = a.seed {
            scenario.channel.seed = seed;
        }
        return record_sim(&a, &scenario);
    }
    let rate = a.rate.unwrap_or(23.04e6);
    let carrier = &scenario.cell.carriers[0];
    let freq = carrier.center_frequency_mhz * 1e6;
    let scs = carrier.scs_khz;
    let config = RadioConfig {
        sample_rate_hz: rate,
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
    let slot = (rate / (1000.0 * f64::from(scs / 15))).round() as usize;
    let datatype = match a.datatype.unwrap_or(DataFormat::Ci16) {
        DataFormat::Ci16 => Datatype::Ci16Le,
        DataFormat::Cf32 => Datatype::Cf32Le,
    };
    let mut w = SigmfWriter::create(
        &a.out,
        datatype,
        rate,
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
        rate / 1e6
    ));
    let mut bufs = vec![vec![Complex32::default(); slot]; a.channels];
    let want = a.slots * slot as u64;
    radio.start()?;
    // Ctrl-C stops after the current block: the samples already written get
    // their metadata, so the capture stays replayable.
    let mut interrupted = false;
    while w.samples() < want {
        if crate::interrupt::requested() {
            interrupted = true;
            break;
        }
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
    if interrupted {
        w.set_description(&format!(
            "ranlab record (interrupted after {written} of {want} samples): {} slots of carrier {} ({} kHz SCS) at {} MS/s",
            a.slots,
            carrier.name,
            scs,
            rate / 1e6
        ));
    }
    let meta = w.finish()?;
    let (mp, dp) = ranlab_sdr::sigmf::paths(&a.out);
    if interrupted {
        eprintln!("interrupted: {written} of {want} samples recorded, metadata written");
    }
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
    Ok(crate::interrupt::exit_code(interrupted, ExitCode::SUCCESS))
}

/// `--radio sim`: the loopback main job with a tap on the gNB's received slots.
fn record_sim(a: &Args, scenario: &Scenario) -> CliResult<ExitCode> {
    use crate::cell::{numerology, Cell, CellOptions, RxSlot};
    use crate::record_ext as ext;
    use ranlab_sdr::sigmf::Annotation;

    if a.datatype == Some(DataFormat::Ci16) {
        return Err(
            "--datatype ci16: the simulated channel's samples are not scaled to a DAC's \
                    full scale (noise has unit power); record them as cf32"
                .into(),
        );
    }
    if a.channels != 1 || !a.args.is_empty() || !a.radio_opts.is_empty() {
        return Err(
            "--radio sim: --channels, --args and --radio-opts are for devices; \
                    the scenario gives the gNB antennas"
                .into(),
        );
    }
    if scenario.cell.carriers.len() > 1 {
        return Err(format!(
            "cell.carriers: {} carriers; a SigMF recording holds one carrier's samples (keep one carrier, or run `ranlab loopback` for carrier aggregation and SUL)",
            scenario.cell.carriers.len()
        )
        .into());
    }
    let c = &scenario.cell.carriers[0];
    let num = numerology(scenario)?;
    let n_prb = num.n_prb();
    if let Some(r) = a.rate.filter(|&r| (r - num.sample_rate_hz()).abs() > 1e-3) {
        return Err(format!(
            "--rate {r}: the simulated carrier runs at {} Hz ({} PRB at {} kHz)",
            num.sample_rate_hz(),
            n_prb,
            c.scs_khz
        )
        .into());
    }
    let n_rx = c.antennas as usize;
    let mut w = SigmfWriter::create(
        &a.out,
        Datatype::Cf32Le,
        num.sample_rate_hz(),
        n_rx,
        c.center_frequency_mhz * 1e6,
        &format!(
            "ranlab simulated channel: {} ({} ns, {} km/h), {} UEs, {} gNB antennas",
            scenario.channel.model.name(),
            scenario.channel.delay_spread_ns,
            scenario.channel.speed_kmh,
            scenario.ue_count(),
            n_rx
        ),
        None,
    )?;
    w.set_description(&format!(
        "ranlab record --radio sim: scenario {}, {} slots of carrier {} ({} PRB at {} kHz), seed {}; \
         slot annotations carry the scheduled PUSCH PDUs (ranlab:pusch)",
        scenario.name, scenario.slots, c.name, n_prb, c.scs_khz, scenario.channel.seed
    ));
    w.declare_extension(ext::NAMESPACE, ext::VERSION, true);
    w.set_global(
        ext::CARRIER,
        ext::carrier_json(&num, scenario.cell.id, n_rx),
    )?;
    // Ctrl-C ends the run after the current slot; the metadata of what
    // was recorded is written.
    let stop = crate::interrupt::stop_flag();
    let mut cell = Cell::new(scenario, &CellOptions::default())?;
    let mut pdus = 0usize;
    let report = {
        let mut tap = |slot: RxSlot<'_>| -> CliResult {
            let start = w.samples();
            w.write(slot.samples, Some(slot.time))?;
            pdus += slot.pdus.len();
            w.push_annotation(Annotation {
                sample_start: start,
                sample_count: Some(slot.samples.first().map_or(0, |s| s.len()) as u64),
                label: Some(format!("slot {}", slot.index)),
                extra: ext::slot_fields(slot.slot_in_frame, slot.pdus),
            })?;
            Ok(())
        };
        loop {
            if stop.load(std::sync::atomic::Ordering::Relaxed) {
                cell.interrupt();
            }
            if cell.run_slot(Some(&mut tap))?.is_none() {
                break;
            }
        }
        cell.finish()?
    };
    let written = w.samples();
    let meta = w.finish()?;
    let (mp, dp) = ranlab_sdr::sigmf::paths(&a.out);
    report.print();
    println!(
        "recorded {written} samples x {n_rx} channels ({} slots, {pdus} PUSCH PDUs) from the simulated channel to {} and {}",
        meta.annotations.len(),
        dp.display(),
        mp.display()
    );
    Ok(crate::interrupt::exit_code(
        report.interrupted,
        ExitCode::SUCCESS,
    ))
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
            let radio = SoapyRadio::open(&a.args, opts).map_err(|e| {
                match crate::cell::radio::module_for_args(&a.args) {
                    Some(m) => {
                        format!("{e}; is the board's SoapySDR module installed? (package: {m})")
                    }
                    None => e.to_string(),
                }
            })?;
            Ok(Box::new(radio))
        }
        // Recorded by `record_sim` through the loopback engine.
        RadioKind::Sim => Err("--radio sim opens no device".into()),
    }
}

#[cfg(not(feature = "soapy"))]
fn open_radio(_: &Args, _: u32) -> CliResult<Box<dyn Radio>> {
    Err("--radio soapy: ranlab was built without SoapySDR; rebuild with `--features soapy`".into())
}
