//! Configuring a SoapySDR device: every setting is checked against what the
//! device reports before anything is applied ([`SoapyRadio::validate`]), then
//! applied in the order hardware needs ([`SoapyRadio::apply`]): master clock,
//! clock and time source (waiting for their lock sensors), rate (read back),
//! frequency, gain, bandwidth, antennas, device time.

use super::device::Dir;
use super::{dev_err, SoapyRadio};
use crate::radio::{RadioConfig, RadioError};
use crate::validate::{check_in_ranges, check_sample_rate};
use std::sync::Arc;
use std::time::{Duration, Instant};

impl SoapyRadio {
    /// Checks every setting against what the device reports; applies nothing.
    pub(super) fn validate(&self, c: &RadioConfig) -> Result<(), RadioError> {
        let d = &self.dev;
        let o = &self.opts;
        let lists = [
            (Dir::Rx, &o.rx_channels, &c.rx_gain_db, &c.rx_antennas),
            (Dir::Tx, &o.tx_channels, &c.tx_gain_db, &c.tx_antennas),
        ];
        if let Some(m) = o.master_clock_hz {
            let ranges = d
                .master_clock_ranges()
                .map_err(dev_err("master clock rates"))?;
            check_in_ranges("master_clock_hz", m, &ranges, "Hz")?;
            if m < c.sample_rate_hz {
                return Err(Self::cfg_err(
                    "master_clock_hz",
                    format!("{m} Hz is below the sample rate {} Hz", c.sample_rate_hz),
                ));
            }
        }
        for (setting, want, list) in [
            ("clock_source", &o.clock_source, d.clock_sources()),
            ("time_source", &o.time_source, d.time_sources()),
        ] {
            if let Some(src) = want {
                let list = list.map_err(dev_err(setting))?;
                if !list.iter().any(|s| s == src) {
                    return Err(Self::cfg_err(
                        setting,
                        format!("{src:?} is not offered (available: {})", list.join(", ")),
                    ));
                }
            }
        }
        for (dir, chans, gains, antennas) in lists {
            let n = dir.name();
            if !gains.is_empty() && gains.len() != chans.len() {
                return Err(Self::cfg_err(
                    &format!("{n}_gain_db"),
                    format!("{} gains for {} channels", gains.len(), chans.len()),
                ));
            }
            if !antennas.is_empty() && antennas.len() != chans.len() {
                return Err(Self::cfg_err(
                    &format!("{n}_antennas"),
                    format!("{} antennas for {} channels", antennas.len(), chans.len()),
                ));
            }
            for (i, &ch) in chans.iter().enumerate() {
                let at = |e: RadioError| match e {
                    RadioError::Config { setting, message } => RadioError::Config {
                        setting,
                        message: format!("{n} channel {ch}: {message}"),
                    },
                    e => e,
                };
                let rates = d
                    .sample_rate_ranges(dir, ch)
                    .map_err(dev_err("sample rates"))?;
                check_sample_rate(c.sample_rate_hz, o.scs_khz, &rates).map_err(at)?;
                let freqs = d
                    .frequency_ranges(dir, ch)
                    .map_err(dev_err("frequency ranges"))?;
                check_in_ranges("center_frequency_hz", c.center_frequency_hz, &freqs, "Hz")
                    .map_err(at)?;
                if let Some(&g) = gains.get(i) {
                    let r = d.gain_range(dir, ch).map_err(dev_err("gain range"))?;
                    check_in_ranges(&format!("{n}_gain_db[{i}]"), g, &[r], "dB").map_err(at)?;
                }
                if let Some(bw) = o.bandwidth_hz {
                    let r = d.bandwidth_ranges(dir, ch).map_err(dev_err("bandwidths"))?;
                    check_in_ranges("bandwidth_hz", bw, &r, "Hz").map_err(at)?;
                }
                if let Some(a) = antennas.get(i).filter(|a| !a.is_empty()) {
                    let list = d.antennas(dir, ch).map_err(dev_err("antennas"))?;
                    if !list.contains(a) {
                        return Err(Self::cfg_err(
                            &format!("{n}_antennas[{i}]"),
                            format!(
                                "{n} channel {ch}: no antenna {a:?} (available: {})",
                                list.join(", ")
                            ),
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    /// Waits until `sensor` reads true, when the device has it.
    fn wait_lock(&self, setting: &str, source: &str, sensor: &str) -> Result<(), RadioError> {
        let sensors = self.dev.sensors().map_err(dev_err("sensors"))?;
        if !sensors.iter().any(|s| s == sensor) {
            return Ok(()); // nothing to check on this device
        }
        let start = Instant::now();
        loop {
            let v = self.dev.read_sensor(sensor).map_err(dev_err(sensor))?;
            if v.trim().eq_ignore_ascii_case("true") {
                return Ok(());
            }
            if start.elapsed() >= self.opts.lock_timeout {
                return Err(Self::cfg_err(
                    setting,
                    format!(
                        "{source}: not locked (sensor {sensor} = {v} after {:?}); check the reference cable or antenna",
                        self.opts.lock_timeout
                    ),
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub(super) fn apply(&mut self, c: &RadioConfig) -> Result<(), RadioError> {
        let d = Arc::clone(&self.dev);
        let o = self.opts.clone();
        if let Some(m) = o.master_clock_hz {
            d.set_master_clock_rate(m)
                .map_err(dev_err("master_clock_hz"))?;
        }
        if let Some(src) = &o.clock_source {
            d.set_clock_source(src).map_err(dev_err("clock_source"))?;
            if src != "internal" {
                self.wait_lock("clock_source", src, "ref_locked")?;
            }
        }
        if let Some(src) = &o.time_source {
            d.set_time_source(src).map_err(dev_err("time_source"))?;
            if src == "gpsdo" {
                self.wait_lock("time_source", src, "gps_locked")?;
            }
        }
        for (dir, chans, gains, antennas) in [
            (Dir::Rx, &o.rx_channels, &c.rx_gain_db, &c.rx_antennas),
            (Dir::Tx, &o.tx_channels, &c.tx_gain_db, &c.tx_antennas),
        ] {
            for (i, &ch) in chans.iter().enumerate() {
                d.set_sample_rate(dir, ch, c.sample_rate_hz)
                    .map_err(dev_err("sample_rate_hz"))?;
                let got = d.sample_rate(dir, ch).map_err(dev_err("sample_rate_hz"))?;
                if (got - c.sample_rate_hz).abs() > 1e-3 {
                    return Err(Self::cfg_err(
                        "sample_rate_hz",
                        format!(
                            "{} channel {ch}: asked for {} Hz, the device runs at {got} Hz \
                             (choose a master clock that the rate divides)",
                            dir.name(),
                            c.sample_rate_hz
                        ),
                    ));
                }
                d.set_frequency(dir, ch, c.center_frequency_hz)
                    .map_err(dev_err("center_frequency_hz"))?;
                if let Some(&g) = gains.get(i) {
                    d.set_gain(dir, ch, g).map_err(dev_err("gain"))?;
                }
                if let Some(bw) = o.bandwidth_hz {
                    d.set_bandwidth(dir, ch, bw)
                        .map_err(dev_err("bandwidth_hz"))?;
                }
                if let Some(a) = antennas.get(i).filter(|a| !a.is_empty()) {
                    d.set_antenna(dir, ch, a).map_err(dev_err("antenna"))?;
                }
            }
        }
        if self.has_time && o.reset_time {
            let pps = matches!(o.time_source.as_deref(), Some("external" | "gpsdo"));
            d.set_hardware_time_ns(0, if pps { "PPS" } else { "" })
                .map_err(dev_err("set time"))?;
            if pps {
                // The time is taken at the next PPS edge.
                std::thread::sleep(Duration::from_millis(1100));
            }
        }
        Ok(())
    }
}
