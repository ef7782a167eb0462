//! Device-level options of the SoapySDR backend and their `--radio-opts`
//! text form (`master_clock=30.72e6,clock=external,...`).

use crate::radio::RadioError;
use crate::validate::nr_rate_step_hz;
use std::time::Duration;

/// Timing mode of a device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timing {
    /// Timestamped streams and timed TX (needs hardware time).
    Timed {
        /// How far ahead of the RX head `TxTime::Now` bursts are scheduled, in slots.
        lookahead_slots: u32,
    },
    /// No timestamps: RX only, or TX "as soon as possible".
    Untimed,
}

/// Device-level options beside the per-stream [`RadioConfig`].
#[derive(Debug, Clone, PartialEq)]
pub struct SoapyOptions {
    /// Device RX channels used, in order (empty: no RX stream).
    pub rx_channels: Vec<usize>,
    /// Device TX channels used, in order (empty: no TX stream).
    pub tx_channels: Vec<usize>,
    /// Timed (default, 4 slots look-ahead) or untimed.
    pub timing: Timing,
    /// NR subcarrier spacing the sample rate must suit, kHz (15 by default).
    pub scs_khz: u32,
    /// Master clock rate, Hz (the driver's choice when absent).
    pub master_clock_hz: Option<f64>,
    /// Reference clock source (`internal`, `external`, `gpsdo`).
    pub clock_source: Option<String>,
    /// Time source (`internal`, `external`, `gpsdo`).
    pub time_source: Option<String>,
    /// Analog filter bandwidth of every channel, Hz (the driver's choice when absent).
    pub bandwidth_hz: Option<f64>,
    /// Set device time to 0 when configuring (at the next PPS edge with an
    /// external or GPSDO time source), so slot boundaries fall on multiples
    /// of the slot length.
    pub reset_time: bool,
    /// Samples per RX pool buffer (the stream MTU when absent).
    pub rx_block: Option<usize>,
    /// RX pool depth in buffers.
    pub rx_buffers: usize,
    /// How long to wait for a reference or GPS lock.
    pub lock_timeout: Duration,
}

impl Default for SoapyOptions {
    fn default() -> Self {
        SoapyOptions {
            rx_channels: vec![0],
            tx_channels: vec![0],
            timing: Timing::Timed { lookahead_slots: 4 },
            scs_khz: 15,
            master_clock_hz: None,
            clock_source: None,
            time_source: None,
            bandwidth_hz: None,
            reset_time: true,
            rx_block: None,
            rx_buffers: 32,
            lock_timeout: Duration::from_secs(2),
        }
    }
}

impl SoapyOptions {
    /// Applies `key=value` pairs separated by commas, as the command line's
    /// `--radio-opts` gives them: `master_clock=30.72e6`, `clock=external`,
    /// `time=gpsdo`, `bandwidth=20e6`, `lookahead=4` (slots), `untimed=1`,
    /// `scs=30`, `rx=0:1` / `tx=0` (device channels, `-` for none),
    /// `rx_block=4096`, `rx_buffers=32`, `reset_time=0`, `lock_timeout=2` (s).
    pub fn apply(&mut self, opts: &str) -> Result<(), RadioError> {
        for item in opts.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (k, v) = item.split_once('=').ok_or_else(|| RadioError::Config {
                setting: "radio options".into(),
                message: format!("{item:?} is not key=value"),
            })?;
            let (k, v) = (k.trim(), v.trim());
            let bad = |what: &str| RadioError::Config {
                setting: k.into(),
                message: format!("{v:?} is not {what}"),
            };
            let num = || {
                v.parse::<f64>()
                    .ok()
                    .filter(|x| x.is_finite() && *x > 0.0)
                    .ok_or_else(|| bad("a positive number"))
            };
            let int = || v.parse::<usize>().map_err(|_| bad("a whole number"));
            let flag = || match v {
                "1" | "true" | "yes" => Ok(true),
                "0" | "false" | "no" => Ok(false),
                _ => Err(bad("0 or 1")),
            };
            let chans = || -> Result<Vec<usize>, RadioError> {
                if v == "-" {
                    return Ok(Vec::new());
                }
                v.split(':')
                    .map(|c| {
                        c.parse::<usize>()
                            .map_err(|_| bad("channels like 0:1 or -"))
                    })
                    .collect()
            };
            match k {
                "master_clock" => self.master_clock_hz = Some(num()?),
                "clock" => self.clock_source = Some(v.into()),
                "time" => self.time_source = Some(v.into()),
                "bandwidth" => self.bandwidth_hz = Some(num()?),
                "lookahead" => {
                    let n = u32::try_from(int()?).map_err(|_| bad("a slot count"))?;
                    self.timing = Timing::Timed { lookahead_slots: n };
                }
                "untimed" => {
                    if flag()? {
                        self.timing = Timing::Untimed;
                    }
                }
                "scs" => {
                    let scs = u32::try_from(int()?).map_err(|_| bad("an SCS in kHz"))?;
                    nr_rate_step_hz(scs)?;
                    self.scs_khz = scs;
                }
                "rx" => self.rx_channels = chans()?,
                "tx" => self.tx_channels = chans()?,
                "rx_block" => self.rx_block = Some(int()?),
                "rx_buffers" => self.rx_buffers = int()?,
                "reset_time" => self.reset_time = flag()?,
                "lock_timeout" => self.lock_timeout = Duration::from_secs_f64(num()?),
                _ => {
                    return Err(RadioError::Config {
                        setting: k.into(),
                        message: "unknown radio option (master_clock, clock, time, bandwidth, lookahead, untimed, \
                                  scs, rx, tx, rx_block, rx_buffers, reset_time, lock_timeout)"
                            .into(),
                    })
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_from_text() {
        let mut o = SoapyOptions::default();
        o.apply("master_clock=30.72e6, clock=external,time=gpsdo,bandwidth=20e6,lookahead=6,scs=30,rx=0:1,tx=-,rx_buffers=8,lock_timeout=0.5")
            .unwrap();
        assert_eq!(o.master_clock_hz, Some(30.72e6));
        assert_eq!(
            (o.clock_source.as_deref(), o.time_source.as_deref()),
            (Some("external"), Some("gpsdo"))
        );
        assert_eq!(o.timing, Timing::Timed { lookahead_slots: 6 });
        assert_eq!(
            (o.scs_khz, o.rx_channels.clone(), o.tx_channels.len()),
            (30, vec![0, 1], 0)
        );
        assert_eq!(
            (o.rx_buffers, o.lock_timeout),
            (8, Duration::from_millis(500))
        );
        o.apply("untimed=1").unwrap();
        assert_eq!(o.timing, Timing::Untimed);
        for (bad, want) in [
            ("gain=3", "unknown radio option"),
            ("scs=20", "not an NR subcarrier"),
            ("rx=a", "channels like"),
            ("clock", "key=value"),
        ] {
            let e = SoapyOptions::default().apply(bad).unwrap_err().to_string();
            assert!(e.contains(want), "{bad}: {e}");
        }
    }
}
