//! `ranlab channel`: writes channel realisations (tap gains over time) as a NumPy `.npy`
//! file so anyone can check the statistics with their own tools, and a JSON file beside it
//! describing them.
//!
//! The array is complex64, shape `[samples, rx, tx, taps]`: element `[n, r, t, l]` is the
//! gain of tap `l` from transmit antenna `t` to receive antenna `r` at time `n / R`
//! (exact, not held between gain updates as the streaming path does). The NPY v1.0 header
//! (magic, version, little-endian header length, Python dict literal padded to a multiple
//! of 64 bytes) is written here directly.

use crate::CliResult;
use num_complex::Complex32;
use ranlab_sim_channel::cdl::Upa;
use ranlab_sim_channel::model::{ChannelConfig, ModelKind};
use ranlab_sim_channel::tdl::Correlation;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Arguments of `ranlab channel`.
#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  ranlab channel --model tdl-c --out h.npy     # tap gains over time, NumPy + JSON sidecar"
)]
pub struct Args {
    /// Model: awgn, rayleigh, tdl-a .. tdl-e, cdl-a .. cdl-e.
    #[arg(long, value_name = "M")]
    model: String,
    /// RMS delay spread, ns (TR 38.901 §7.7.3 scaling).
    #[arg(long, default_value_t = 100.0, value_name = "D")]
    delay_spread_ns: f64,
    /// UE speed, km/h.
    #[arg(long, default_value_t = 3.0, value_name = "V")]
    speed_kmh: f64,
    /// Carrier frequency, GHz.
    #[arg(long, default_value_t = 3.5, value_name = "F")]
    fc_ghz: f64,
    /// Receive antennas (CDL: a horizontal half-wavelength ULA).
    #[arg(long, default_value_t = 1, value_name = "N")]
    rx: usize,
    /// Transmit antennas.
    #[arg(long, default_value_t = 1, value_name = "N")]
    tx: usize,
    /// Time samples to write.
    #[arg(long, default_value_t = 10_000, value_name = "N")]
    samples: usize,
    /// Sample rate of the written gains, Hz.
    #[arg(long, default_value_t = 30.72e6, value_name = "R")]
    sample_rate_hz: f64,
    /// Seed of the realisation.
    #[arg(long, default_value_t = 1, value_name = "S")]
    seed: u64,
    /// TDL antenna correlation: low, medium, medium-a, high (TS 38.101-4 B.2.3.1).
    #[arg(long, default_value = "low", value_name = "C")]
    correlation: String,
    /// Desired K-factor for TDL-D/E, dB (default: the table's).
    #[arg(long, value_name = "DB")]
    k_factor_db: Option<f64>,
    /// Output file (.npy); the description goes to the same name with .json.
    #[arg(long, value_name = "FILE.npy")]
    out: PathBuf,
}

/// Largest array written (complex elements): 2^27 (1 GiB).
const MAX_ELEMENTS: u128 = 1 << 27;

fn npy_header(shape: &[usize]) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let mut dict = format!(
        "{{'descr': '<c8', 'fortran_order': False, 'shape': ({}{}), }}",
        dims.join(", "),
        if shape.len() == 1 { "," } else { "" }
    );
    // Magic (6) + version (2) + length (2) + dict + '\n', padded to a multiple of 64.
    let total = 10 + dict.len() + 1;
    dict.push_str(&" ".repeat((64 - total % 64) % 64));
    dict.push('\n');
    let mut h = b"\x93NUMPY\x01\x00".to_vec();
    h.extend_from_slice(&(dict.len() as u16).to_le_bytes());
    h.extend_from_slice(dict.as_bytes());
    h
}

fn json_path(out: &Path) -> PathBuf {
    out.with_extension("json")
}

pub fn run(a: Args) -> CliResult<ExitCode> {
    // The description goes beside the data as NAME.json: a data path that
    // is that same file would be overwritten by its own description.
    if json_path(&a.out) == a.out {
        return Err(format!(
            "--out {}: the data and its JSON description would be the same file; name it .npy",
            a.out.display()
        )
        .into());
    }
    let model: ModelKind = a.model.parse()?;
    let correlation = match a.correlation.to_ascii_lowercase().as_str() {
        "low" => Correlation::Low,
        "medium" => Correlation::Medium,
        "medium-a" => Correlation::MediumA,
        "high" => Correlation::High,
        o => {
            return Err(
                format!("--correlation: `{o}` (allowed: low, medium, medium-a, high)").into(),
            )
        }
    };
    if !(a.delay_spread_ns.is_finite() && (0.0..=10_000.0).contains(&a.delay_spread_ns)) {
        return Err(format!(
            "--delay-spread-ns: {} (allowed: 0..=10000)",
            a.delay_spread_ns
        )
        .into());
    }
    if !(a.speed_kmh.is_finite() && (0.0..=1000.0).contains(&a.speed_kmh)) {
        return Err(format!("--speed-kmh: {} (allowed: 0..=1000)", a.speed_kmh).into());
    }
    if !(a.fc_ghz.is_finite() && (0.1..=100.0).contains(&a.fc_ghz)) {
        return Err(format!("--fc-ghz: {} (allowed: 0.1..=100)", a.fc_ghz).into());
    }
    if !(a.sample_rate_hz.is_finite() && (1e3..=10e9).contains(&a.sample_rate_hz)) {
        return Err(format!(
            "--sample-rate-hz: {} (allowed: 1e3..=1e10)",
            a.sample_rate_hz
        )
        .into());
    }
    if !(1..=256).contains(&a.rx) {
        return Err(format!("--rx: {} (allowed: 1..=256)", a.rx).into());
    }
    if !(1..=64).contains(&a.tx) {
        return Err(format!("--tx: {} (allowed: 1..=64)", a.tx).into());
    }
    if a.samples == 0 {
        return Err("--samples: 0 (allowed: at least 1)".into());
    }
    let cfg = ChannelConfig {
        model,
        delay_spread_s: a.delay_spread_ns * 1e-9,
        speed_kmh: a.speed_kmh,
        carrier_hz: a.fc_ghz * 1e9,
        sample_rate_hz: a.sample_rate_hz,
        n_rx: a.rx,
        n_tx: a.tx,
        correlation,
        k_factor_db: a.k_factor_db,
        gnb_array: Some(Upa::ula(a.rx)),
        ue_array: Some(Upa::ula(a.tx)),
        seed: a.seed,
        ..Default::default()
    };
    let mut src = cfg.source()?;
    let taps = src.delays_s().len();
    let elements = a.samples as u128 * a.rx as u128 * a.tx as u128 * taps as u128;
    if elements > MAX_ELEMENTS {
        return Err(format!(
            "--samples: {} samples x {} rx x {} tx x {taps} taps = {elements} values (at most {MAX_ELEMENTS})",
            a.samples, a.rx, a.tx
        )
        .into());
    }
    let file = std::fs::File::create(&a.out)
        .map_err(|e| format!("cannot write `{}`: {e}", a.out.display()))?;
    let mut w = std::io::BufWriter::new(file);
    let wr = |e: std::io::Error| format!("cannot write `{}`: {e}", a.out.display());
    w.write_all(&npy_header(&[a.samples, a.rx, a.tx, taps]))
        .map_err(wr)?;
    let m = a.rx * a.tx;
    let mut h = vec![Complex32::new(0.0, 0.0); taps * m];
    let mut bytes = Vec::with_capacity(taps * m * 8);
    for n in 0..a.samples {
        src.taps_at(n as u64, &mut h);
        bytes.clear();
        // [tap][rx][tx] -> [rx][tx][tap]
        for i in 0..m {
            for l in 0..taps {
                let v = h[l * m + i];
                bytes.extend_from_slice(&v.re.to_le_bytes());
                bytes.extend_from_slice(&v.im.to_le_bytes());
            }
        }
        w.write_all(&bytes).map_err(wr)?;
    }
    w.flush().map_err(wr)?;
    let powers = src.tap_powers();
    let desc = serde_json::json!({
        "model": model.name(),
        "shape": [a.samples, a.rx, a.tx, taps],
        "axes": ["sample", "rx", "tx", "tap"],
        "dtype": "complex64",
        "delays_ns": src.delays_s().iter().map(|d| d * 1e9).collect::<Vec<_>>(),
        "tap_powers": powers,
        "tap_powers_db": powers.iter().map(|p| 10.0 * p.log10()).collect::<Vec<_>>(),
        "sample_rate_hz": a.sample_rate_hz,
        "doppler_hz": cfg.doppler_hz(),
        "speed_kmh": a.speed_kmh,
        "fc_ghz": a.fc_ghz,
        "delay_spread_ns": a.delay_spread_ns,
        "correlation": a.correlation.to_ascii_lowercase(),
        "k_factor_db": a.k_factor_db,
        "seed": a.seed,
        "reference": match model {
            ModelKind::Tdl(p) => p.table().map(|t| t.name).unwrap_or("").to_string(),
            ModelKind::Cdl(p) => format!("{}; ULA, half-wavelength, TR 38.901 Table 7.3-1 gNB element", p.table().name),
            ModelKind::Rayleigh => "flat Rayleigh, Clarke/Jakes Doppler (sum of 20 sinusoids)".into(),
            ModelKind::Awgn => "static unit gain on every antenna pair".into(),
        },
        "normalisation": "sum over taps of the mean power per antenna pair is 1",
    });
    let jp = json_path(&a.out);
    std::fs::write(&jp, serde_json::to_string_pretty(&desc)?)
        .map_err(|e| format!("cannot write `{}`: {e}", jp.display()))?;
    println!(
        "ranlab channel: {} [{} samples x {} rx x {} tx x {taps} taps] at {} Hz, Doppler {:.2} Hz -> {} (+ {})",
        model.name(),
        a.samples,
        a.rx,
        a.tx,
        a.sample_rate_hz,
        cfg.doppler_hz(),
        a.out.display(),
        jp.display()
    );
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::npy_header;

    #[test]
    fn header_is_aligned_and_terminated() {
        for shape in [vec![1usize, 2, 3, 4], vec![100_000, 64, 4, 24], vec![7]] {
            let h = npy_header(&shape);
            assert_eq!(h.len() % 64, 0);
            assert_eq!(&h[..8], b"\x93NUMPY\x01\x00");
            assert_eq!(u16::from_le_bytes([h[8], h[9]]) as usize, h.len() - 10);
            assert_eq!(*h.last().unwrap(), b'\n');
        }
    }
}
