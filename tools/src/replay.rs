//! `ranlab replay`: run the receive side over a SigMF recording.
//!
//! The recording is opened as a [`SigmfRadio`] and streamed through the
//! `Radio` trait exactly as a live device would be: configured with the
//! recording's rate and frequency, received slot by slot (slot boundaries
//! from its annotations), gaps seen as overflows. It reports what the file
//! holds and per-channel signal statistics.

use crate::CliResult;
use num_complex::Complex32;
use ranlab_sdr::sigmf::SigmfRadio;
use ranlab_sdr::{Radio, RadioConfig};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// Arguments of `ranlab replay`.
#[derive(clap::Args)]
pub struct Args {
    /// The recording: BASE, BASE.sigmf-meta or BASE.sigmf-data.
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// Write the report as JSON to this file.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
}

pub fn run(a: Args) -> CliResult<ExitCode> {
    let mut radio = SigmfRadio::open(&a.file)?;
    let meta = radio.metadata().clone();
    let total = radio.total_samples();
    let info = radio.info();
    println!("recording: {}", info.hardware);
    println!(
        "  {} x {} channels of {} at {} MS/s ({:.3} s), recorder {}",
        total,
        meta.num_channels,
        meta.datatype.name(),
        meta.sample_rate_hz / 1e6,
        total as f64 / meta.sample_rate_hz,
        meta.recorder.as_deref().unwrap_or("unknown")
    );
    if let Some(d) = &meta.description {
        println!("  {d}");
    }
    for c in &meta.captures {
        println!(
            "  capture at sample {}: device time {}, {} MHz, {}",
            c.sample_start,
            c.global_index.map_or("-".into(), |g| g.to_string()),
            c.frequency_hz
                .map_or("-".into(), |f| format!("{}", f / 1e6)),
            c.datetime.as_deref().unwrap_or("-")
        );
    }
    // Slot length from the first full slot annotation, else 1 ms.
    let slot = meta
        .annotations
        .iter()
        .filter_map(|x| x.sample_count)
        .max()
        .unwrap_or((meta.sample_rate_hz / 1000.0) as u64)
        .max(1) as usize;
    let config = RadioConfig {
        sample_rate_hz: meta.sample_rate_hz,
        center_frequency_hz: meta.captures[0].frequency_hz.unwrap_or(0.0),
        rx_gain_db: vec![],
        tx_gain_db: vec![],
        rx_antennas: vec![],
        tx_antennas: vec![],
    };
    radio.configure(&config)?;
    radio.start()?;
    let ch = meta.num_channels;
    let mut bufs = vec![vec![Complex32::default(); slot]; ch];
    let (mut energy, mut peak) = (vec![0f64; ch], vec![0f32; ch]);
    let (mut samples, mut blocks, mut gaps) = (0u64, 0u64, 0u64);
    loop {
        let mut views: Vec<&mut [Complex32]> = bufs.iter_mut().map(|b| b.as_mut_slice()).collect();
        let m = radio.receive(&mut views, Duration::ZERO)?;
        gaps += u64::from(m.overflow);
        for c in 0..ch {
            for x in &bufs[c][..m.samples] {
                energy[c] += f64::from(x.norm_sqr());
                peak[c] = peak[c].max(x.norm());
            }
        }
        samples += m.samples as u64;
        blocks += u64::from(m.samples > 0);
        if m.end_of_burst {
            break;
        }
    }
    radio.stop()?;
    let db = |p: f64| {
        if p > 0.0 {
            10.0 * p.log10()
        } else {
            f64::NEG_INFINITY
        }
    };
    println!(
        "  streamed {samples} samples in {blocks} blocks of up to {slot} ({} slot annotations), {gaps} gaps",
        meta.annotations.len()
    );
    let mut chans = Vec::new();
    for c in 0..ch {
        let mean = if samples > 0 {
            energy[c] / samples as f64
        } else {
            0.0
        };
        println!(
            "  channel {c}: mean power {:.1} dBFS, peak {:.1} dBFS",
            db(mean),
            db(f64::from(peak[c]).powi(2))
        );
        chans.push(serde_json::json!({
            "channel": c,
            "mean_power_dbfs": if mean > 0.0 { Some(db(mean)) } else { None },
            "peak_dbfs": if peak[c] > 0.0 { Some(db(f64::from(peak[c]).powi(2))) } else { None },
        }));
    }
    if let Some(path) = &a.json {
        let report = serde_json::json!({
            "datatype": meta.datatype.name(),
            "sample_rate_hz": meta.sample_rate_hz,
            "num_channels": ch,
            "hw": meta.hw,
            "samples": samples,
            "captures": meta.captures.len(),
            "slots": meta.annotations.len(),
            "gaps": gaps,
            "channels": chans,
        });
        std::fs::write(path, serde_json::to_string_pretty(&report)? + "\n")
            .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    if samples != total {
        return Err(format!("streamed {samples} samples but the file holds {total}").into());
    }
    Ok(ExitCode::SUCCESS)
}
