//! Checks of radio settings against what a device reports, before streaming.
//!
//! Devices report their capabilities as lists of ranges (`min..=max` in
//! `step`s, step 0 meaning continuous), as SoapySDR does. A setting outside
//! them is an error naming the nearest values that would work.
//!
//! Sample rates must also suit NR. The rule used here: at subcarrier spacing
//! 15·2^μ kHz the rate must be a whole multiple of 1.92 MHz · 2^μ. At a rate
//! of k · 1.92 MHz the FFT size is 128k·2^-μ, the normal cyclic prefix
//! (TS 38.211 §5.3.1, 144κ·2^-μ Tc) is 9k·2^-μ samples and the extra 16κ Tc of
//! the first symbol of each half subframe is k samples: all whole exactly
//! when 2^μ divides k. Examples at 15 kHz: 7.68, 15.36, 23.04 (FFT 1536),
//! 30.72, 61.44 MS/s; at 30 kHz the step is 3.84 MS/s.

use crate::radio::RadioError;

/// One range of values a device supports: `min..=max` in `step`s (0: continuous).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SettingRange {
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
    /// Resolution; 0 means any value in between.
    pub step: f64,
}

impl SettingRange {
    /// A continuous range.
    pub fn new(min: f64, max: f64) -> Self {
        SettingRange {
            min,
            max,
            step: 0.0,
        }
    }
}

/// Relative tolerance when comparing reported and requested values (devices
/// report ranges through floating-point arithmetic).
const REL_TOL: f64 = 1e-9;

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= REL_TOL * a.abs().max(b.abs()).max(1.0)
}

/// Whether `value` is one a device with these ranges accepts.
pub fn in_ranges(value: f64, ranges: &[SettingRange]) -> bool {
    ranges.iter().any(|r| {
        if value < r.min && !close(value, r.min) || value > r.max && !close(value, r.max) {
            return false;
        }
        if r.step <= 0.0 {
            return true;
        }
        let k = ((value - r.min) / r.step).round();
        close(value, r.min + k * r.step)
    })
}

/// The nearest supported values at or below and at or above `value`.
pub fn nearest_in_ranges(value: f64, ranges: &[SettingRange]) -> (Option<f64>, Option<f64>) {
    let mut below: Option<f64> = None;
    let mut above: Option<f64> = None;
    for r in ranges {
        let (lo, hi) = if value <= r.min {
            (None, Some(r.min))
        } else if value >= r.max {
            (Some(r.max), None)
        } else if r.step <= 0.0 {
            (Some(value), Some(value))
        } else {
            let k = ((value - r.min) / r.step).floor();
            let lo = r.min + k * r.step;
            let hi = (lo + r.step).min(r.max);
            (Some(lo), Some(hi))
        };
        if let Some(lo) = lo {
            below = Some(below.map_or(lo, |b: f64| b.max(lo)));
        }
        if let Some(hi) = hi {
            above = Some(above.map_or(hi, |a: f64| a.min(hi)));
        }
    }
    (below, above)
}

/// Writes `v` in `unit` with as few digits as show it exactly (up to 6 decimals).
pub fn fmt_value(v: f64, unit: &str) -> String {
    let (scale, prefix) = match unit {
        "Hz" if v.abs() >= 1e9 => (1e9, "G"),
        "Hz" if v.abs() >= 1e6 => (1e6, "M"),
        "Hz" if v.abs() >= 1e3 => (1e3, "k"),
        _ => (1.0, ""),
    };
    let s = format!("{:.6}", v / scale);
    let s = s.trim_end_matches('0').trim_end_matches('.');
    format!("{s} {prefix}{unit}")
}

fn describe_ranges(ranges: &[SettingRange], unit: &str) -> String {
    if ranges.is_empty() {
        return "the device reports no range".into();
    }
    ranges
        .iter()
        .map(|r| {
            if close(r.min, r.max) {
                fmt_value(r.min, unit)
            } else if r.step > 0.0 {
                format!(
                    "{} to {} in steps of {}",
                    fmt_value(r.min, unit),
                    fmt_value(r.max, unit),
                    fmt_value(r.step, unit)
                )
            } else {
                format!("{} to {}", fmt_value(r.min, unit), fmt_value(r.max, unit))
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Checks `value` of `setting` against the device's ranges; the error names
/// the nearest supported values and the ranges.
pub fn check_in_ranges(
    setting: &str,
    value: f64,
    ranges: &[SettingRange],
    unit: &str,
) -> Result<(), RadioError> {
    if !value.is_finite() {
        return Err(RadioError::Config {
            setting: setting.into(),
            message: format!("{value} is not a number"),
        });
    }
    if ranges.is_empty() || in_ranges(value, ranges) {
        // A device that reports no range lets the driver decide.
        return Ok(());
    }
    let (below, above) = nearest_in_ranges(value, ranges);
    let nearest: Vec<String> = [below, above]
        .into_iter()
        .flatten()
        .map(|v| fmt_value(v, unit))
        .collect();
    Err(RadioError::Config {
        setting: setting.into(),
        message: format!(
            "{} is not supported by the device (nearest: {}; supported: {})",
            fmt_value(value, unit),
            nearest.join(" or "),
            describe_ranges(ranges, unit)
        ),
    })
}

/// 1.92 MHz: the rate at which the 15 kHz NR numerology has a 128-point FFT.
pub const NR_RATE_QUANTUM_HZ: f64 = 1.92e6;

/// The step NR sample rates must be multiples of at subcarrier spacing `scs_khz`
/// (15·2^μ kHz): 1.92 MHz · 2^μ.
pub fn nr_rate_step_hz(scs_khz: u32) -> Result<f64, RadioError> {
    match scs_khz {
        15 | 30 | 60 | 120 | 240 | 480 | 960 => Ok(NR_RATE_QUANTUM_HZ * (scs_khz / 15) as f64),
        _ => Err(RadioError::Config {
            setting: "scs_khz".into(),
            message: format!(
                "{scs_khz} kHz is not an NR subcarrier spacing (15, 30, 60, 120, 240, 480, 960)"
            ),
        }),
    }
}

/// Checks that `rate_hz` suits NR at `scs_khz` (module doc: a whole multiple of
/// 1.92 MHz · 2^μ) and that the device supports it. The error names the nearest
/// rates that satisfy both.
pub fn check_sample_rate(
    rate_hz: f64,
    scs_khz: u32,
    ranges: &[SettingRange],
) -> Result<(), RadioError> {
    let step = nr_rate_step_hz(scs_khz)?;
    let err = |message: String| RadioError::Config {
        setting: "sample_rate_hz".into(),
        message,
    };
    if !rate_hz.is_finite() || rate_hz <= 0.0 {
        return Err(err(format!("{rate_hz} is not a sample rate")));
    }
    let k = rate_hz / step;
    let nr_ok = close(k, k.round()) && k.round() >= 1.0;
    let dev_ok = ranges.is_empty() || in_ranges(rate_hz, ranges);
    if nr_ok && dev_ok {
        return Ok(());
    }
    // Nearest NR rates on either side that the device also supports.
    let ok = |r: f64| ranges.is_empty() || in_ranges(r, ranges);
    let max_k = ranges.iter().map(|r| r.max).fold(rate_hz, f64::max) / step;
    let mut below = None;
    let mut j = k.floor().min(k.round());
    while j >= 1.0 {
        if ok(j * step) && j * step < rate_hz + 0.5 {
            below = Some(j * step);
            break;
        }
        j -= 1.0;
    }
    let mut above = None;
    let mut j = k.ceil().max(1.0);
    while j <= max_k.ceil() {
        if ok(j * step) && j * step > rate_hz - 0.5 {
            above = Some(j * step);
            break;
        }
        j += 1.0;
    }
    let nearest: Vec<String> = [below, above]
        .into_iter()
        .flatten()
        .filter(|&r| !close(r, rate_hz))
        .map(|v| fmt_value(v, "Hz"))
        .collect();
    let why = if !nr_ok {
        format!(
            "{} is not a multiple of {} (NR at {scs_khz} kHz needs whole-sample FFT and cyclic prefix lengths)",
            fmt_value(rate_hz, "Hz"),
            fmt_value(step, "Hz")
        )
    } else {
        format!(
            "{} is not supported by the device (supported: {})",
            fmt_value(rate_hz, "Hz"),
            describe_ranges(ranges, "Hz")
        )
    };
    Err(err(if nearest.is_empty() {
        format!("{why}; no NR rate fits the device")
    } else {
        format!("{why}; nearest usable: {}", nearest.join(" or "))
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nr_rates_pass_and_others_name_neighbours() {
        let dev = [SettingRange::new(0.2e6, 61.44e6)];
        for r in [1.92e6, 7.68e6, 15.36e6, 23.04e6, 30.72e6, 61.44e6] {
            check_sample_rate(r, 15, &dev).unwrap();
        }
        check_sample_rate(23.04e6, 30, &dev).unwrap();
        let e = check_sample_rate(25e6, 15, &dev).unwrap_err().to_string();
        assert!(e.contains("24.96 MHz or 26.88 MHz"), "{e}");
        assert!(e.starts_with("sample_rate_hz:"), "{e}");
        // 30 kHz needs a multiple of 3.84 MHz: 5.76 is not one.
        let e = check_sample_rate(5.76e6, 30, &dev).unwrap_err().to_string();
        assert!(e.contains("3.84 MHz or 7.68 MHz"), "{e}");
        // NR-valid but beyond the device.
        let e = check_sample_rate(122.88e6, 15, &dev)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("not supported") && e.contains("61.44 MHz"),
            "{e}"
        );
        assert!(check_sample_rate(30.72e6, 17, &dev).is_err());
        assert!(check_sample_rate(0.0, 15, &dev).is_err());
    }

    #[test]
    fn stepped_ranges_and_nearest() {
        let g = [SettingRange {
            min: 0.0,
            max: 76.0,
            step: 1.0,
        }];
        assert!(in_ranges(31.0, &g));
        assert!(!in_ranges(31.5, &g));
        assert_eq!(nearest_in_ranges(31.5, &g), (Some(31.0), Some(32.0)));
        let e = check_in_ranges("rx_gain_db[0]", 80.0, &g, "dB")
            .unwrap_err()
            .to_string();
        assert!(e.contains("nearest: 76 dB"), "{e}");
        let f = [SettingRange::new(70e6, 6e9), SettingRange::new(7e9, 8e9)];
        assert_eq!(nearest_in_ranges(6.5e9, &f), (Some(6e9), Some(7e9)));
        let e = check_in_ranges("center_frequency_hz", 6.5e9, &f, "Hz")
            .unwrap_err()
            .to_string();
        assert!(e.contains("nearest: 6 GHz or 7 GHz"), "{e}");
        check_in_ranges("x", 1.0, &[], "dB").unwrap();
        assert!(check_in_ranges("x", f64::NAN, &g, "dB").is_err());
    }
}
