//! What SoapySDR devices are attached and what they can do (`ranlab sdr probe`).
//!
//! Read-only, so it uses the `soapysdr` crate directly.

use super::load_loopback_module;
use crate::radio::RadioError;
use crate::validate::fmt_value;
use soapysdr::{Device, Direction, Range};
use std::fmt::Write;

fn err(what: &str) -> impl Fn(soapysdr::Error) -> RadioError + '_ {
    move |e| RadioError::Device(format!("{what}: {e}"))
}

/// The devices SoapySDR finds for a filter (`""`: all), as args strings.
pub fn list_devices(filter: &str) -> Result<Vec<String>, RadioError> {
    let _ = load_loopback_module();
    let found = soapysdr::enumerate(filter).map_err(err("enumerate"))?;
    Ok(found.iter().map(|a| a.to_string()).collect())
}

fn ranges(list: &[Range], unit: &str) -> String {
    if list.is_empty() {
        return "-".into();
    }
    list.iter()
        .map(|r| {
            if r.minimum == r.maximum {
                fmt_value(r.minimum, unit)
            } else if r.step > 0.0 {
                format!(
                    "{}..{} step {}",
                    fmt_value(r.minimum, unit),
                    fmt_value(r.maximum, unit),
                    fmt_value(r.step, unit)
                )
            } else {
                format!(
                    "{}..{}",
                    fmt_value(r.minimum, unit),
                    fmt_value(r.maximum, unit)
                )
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A text report of one device: channels with rate, frequency, gain and
/// bandwidth ranges and antennas; clock and time sources; sensors with their
/// readings; hardware time.
pub fn describe(args: &str) -> Result<String, RadioError> {
    let _ = load_loopback_module();
    let d = Device::new(args).map_err(err("open"))?;
    let mut out = String::new();
    let o = &mut out;
    let _ = writeln!(
        o,
        "device: {} {} ({args})",
        d.driver_key().map_err(err("driver"))?,
        d.hardware_key().map_err(err("hardware"))?
    );
    if let Ok(info) = d.hardware_info() {
        for (k, v) in info.iter() {
            let _ = writeln!(o, "  {k}: {v}");
        }
    }
    for (dir, name) in [(Direction::Rx, "RX"), (Direction::Tx, "TX")] {
        let n = d.num_channels(dir).map_err(err("channels"))?;
        let _ = writeln!(o, "{name} channels: {n}");
        for ch in 0..n {
            let rates = d.get_sample_rate_range(dir, ch).unwrap_or_default();
            let freqs = d.frequency_range(dir, ch).unwrap_or_default();
            let bws = d.bandwidth_range(dir, ch).unwrap_or_default();
            let gain = d
                .gain_range(dir, ch)
                .map(|r| ranges(&[r], "dB"))
                .unwrap_or_else(|_| "-".into());
            let ants = d.antennas(dir, ch).unwrap_or_default().join(", ");
            let _ = writeln!(o, "  {name}{ch}: rate {}", ranges(&rates, "Hz"));
            let _ = writeln!(o, "       frequency {}", ranges(&freqs, "Hz"));
            let _ = writeln!(o, "       gain {gain}; bandwidth {}", ranges(&bws, "Hz"));
            let _ = writeln!(o, "       antennas {ants}");
        }
    }
    let _ = writeln!(
        o,
        "master clock: {}",
        d.get_master_clock_rate()
            .map(|r| fmt_value(r, "Hz"))
            .unwrap_or_else(|_| "-".into())
    );
    let _ = writeln!(
        o,
        "clock sources: {}",
        d.list_clock_sources().unwrap_or_default().join(", ")
    );
    let _ = writeln!(
        o,
        "time sources: {}",
        d.list_time_sources().unwrap_or_default().join(", ")
    );
    let sensors = d.list_sensors().unwrap_or_default();
    let _ = writeln!(o, "sensors: {}", if sensors.is_empty() { "-" } else { "" });
    for s in sensors {
        let v = d
            .read_sensor(s.as_str())
            .unwrap_or_else(|e| format!("unreadable ({e})"));
        let _ = writeln!(o, "  {s} = {v}");
    }
    let has_time = d.has_hardware_time(None).unwrap_or(false);
    if has_time {
        let t = d
            .get_hardware_time(None)
            .map(|t| format!("{t} ns"))
            .unwrap_or_else(|e| e.to_string());
        let _ = writeln!(o, "hardware time: yes (now {t})");
    } else {
        let _ = writeln!(o, "hardware time: no (untimed RX only)");
    }
    Ok(out)
}
