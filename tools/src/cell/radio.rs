//! Which radio `ranlab loopback` runs over: the simulated channel, or
//! SoapySDR devices (one board whose TX channels feed its RX channels by
//! cable, or a UE board and a gNB board), and how the engine drives it.

use super::{Pace, Pending, Tap};
use crate::scenario::RadioProfile;
use crate::CliResult;
use num_complex::Complex32;
use ranlab_phy::numerology::Numerology;
use ranlab_sdr::radio::RadioConfig;
use ranlab_sdr::reader::TimedReader;
use ranlab_sdr::sim::{Pace as SimPace, SimRadio};
use ranlab_sdr::Radio;
use ranlab_sim_channel::MultiLinkChannel;
use std::time::Duration;

/// Radio backends of the loopback.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum RadioKind {
    /// The software channel of the scenario (TR 38.901 fading, path loss, noise).
    Sim,
    /// SoapySDR devices chosen by `--args` (and `--ue-args`); build with `--features soapy`.
    Soapy,
}

/// The radio the user chose.
#[derive(Clone, Debug)]
#[cfg_attr(not(feature = "soapy"), allow(dead_code))]
pub struct RadioChoice {
    /// Backend.
    pub kind: RadioKind,
    /// SoapySDR args of the gNB device (it also transmits for the UEs without `ue_args`).
    pub args: String,
    /// SoapySDR args of a separate UE device.
    pub ue_args: Option<String>,
    /// `SoapyOptions` text (`master_clock=..,clock=..,lookahead=..`).
    pub radio_opts: String,
    /// The scenario's board profile: gains and antenna ports (its args and
    /// options are merged into the fields above by [`RadioChoice::with_profile`]).
    pub profile: Option<RadioProfile>,
}

impl RadioChoice {
    /// This choice over the board `profile`: its args unless the command
    /// line gave some, its options before the command line's.
    pub fn with_profile(&self, profile: Option<&RadioProfile>) -> Self {
        let Some(p) = profile else {
            return self.clone();
        };
        RadioChoice {
            kind: self.kind,
            args: if self.args.is_empty() {
                p.args.clone()
            } else {
                self.args.clone()
            },
            ue_args: self.ue_args.clone(),
            radio_opts: [p.options.as_str(), self.radio_opts.as_str()]
                .iter()
                .filter(|s| !s.is_empty())
                .copied()
                .collect::<Vec<_>>()
                .join(","),
            profile: Some(p.clone()),
        }
    }

    /// What to install when no device answers `args`: the profile's module,
    /// or the package of the driver it names.
    pub fn module_hint(&self) -> Option<String> {
        self.profile
            .as_ref()
            .and_then(|p| p.module.clone())
            .or_else(|| module_for_args(&self.args).map(str::to_string))
    }
}

/// The Debian/Ubuntu package of the SoapySDR module for `driver=...` in `args`.
pub fn module_for_args(args: &str) -> Option<&'static str> {
    let driver = args
        .split(',')
        .find_map(|kv| kv.trim().strip_prefix("driver="))?
        .trim();
    Some(match driver {
        "uhd" => "soapysdr-module-uhd (and uhd-host for the FPGA images)",
        "lime" => "soapysdr-module-lms7",
        "bladerf" => "soapysdr-module-bladerf",
        "hackrf" => "soapysdr-module-hackrf",
        "xtrx" => "soapysdr-module-xtrx",
        "rtlsdr" => "soapysdr-module-rtlsdr",
        "remote" => "soapysdr-module-remote",
        "plutosdr" => "soapysdr-module-plutosdr (build SoapyPlutoSDR where no package exists)",
        _ => return None,
    })
}

impl Default for RadioChoice {
    fn default() -> Self {
        RadioChoice {
            kind: RadioKind::Sim,
            args: String::new(),
            ue_args: None,
            radio_opts: String::new(),
            profile: None,
        }
    }
}

/// The radio the engine runs over and how it drives it.
pub struct Link {
    /// The radio: RX channels are the gNB antennas, TX channels carry the UEs.
    pub radio: Box<dyn Radio>,
    /// gNB receive antennas.
    pub n_rx: usize,
    /// TX channels: UE antenna stream `s` (UEs in order, their antennas in
    /// order) goes out on channel `s % tx_channels`, added to the others there.
    pub tx_channels: usize,
    /// Factor on UE samples before transmission (DAC back-off on hardware).
    pub tx_scale: f32,
    /// Slots the UE side transmits ahead of the slot the gNB receives.
    pub lookahead: usize,
    /// What the summary should say about the radio.
    pub note: Option<String>,
}

/// What the scenario asks of the devices.
#[cfg_attr(not(feature = "soapy"), allow(dead_code))]
pub struct Request {
    /// gNB antennas in the scenario.
    pub n_rx: usize,
    /// UE antenna streams in the scenario.
    pub tx_streams: usize,
    /// Sample rate of the carrier, Hz.
    pub sample_rate_hz: f64,
    /// RF centre frequency, Hz.
    pub center_frequency_hz: f64,
    /// Subcarrier spacing, kHz.
    pub scs_khz: u32,
    /// Longest slot, samples.
    pub slot_len: usize,
    /// Used subcarriers over the FFT size (the carrier's share of the band).
    pub occupancy: f64,
}

/// RMS level of a fully loaded carrier below DAC full scale: OFDM peaks run
/// some 10-11 dB above the mean, so 14 dB keeps the CS16 wire from clipping.
#[cfg_attr(not(feature = "soapy"), allow(dead_code))]
pub const TX_BACKOFF_DB: f64 = 14.0;

#[cfg(not(feature = "soapy"))]
pub fn open_soapy(_: &RadioChoice, _: &Request) -> CliResult<Link> {
    Err("--radio soapy: ranlab was built without SoapySDR; rebuild with `--features soapy` (needs libsoapysdr-dev)".into())
}

/// Opens, sets up and configures the SoapySDR device(s) for the scenario.
#[cfg(feature = "soapy")]
pub fn open_soapy(choice: &RadioChoice, req: &Request) -> CliResult<Link> {
    use ranlab_sdr::soapy::{SoapyOptions, SoapyRadio, Timing};
    use ranlab_sdr::split::SplitRadio;
    use ranlab_sdr::RadioConfig;

    let mut opts = SoapyOptions {
        scs_khz: req.scs_khz,
        ..SoapyOptions::default()
    };
    opts.apply(&choice.radio_opts)?;
    let Timing::Timed { lookahead_slots } = opts.timing else {
        return Err(
            "--radio-opts untimed=1: the loopback schedules every UE burst at a device time; it needs timed mode"
                .into(),
        );
    };
    let has = |k: &str| {
        choice
            .radio_opts
            .split(',')
            .any(|i| i.split('=').next().map(str::trim) == Some(k))
    };
    let (set_rx, set_tx) = (has("rx"), has("tx"));
    let open = |args: &str| {
        SoapyRadio::open(args, opts.clone()).map_err(|e| match choice.module_hint() {
            Some(m) => format!("{e}; is the board's SoapySDR module installed? (package: {m})"),
            None => e.to_string(),
        })
    };
    let mut gnb = open(&choice.args)?;
    let (dev_rx, dev_tx) = gnb.device_channels()?;
    let mut note = None;
    let rx: Vec<usize> = if set_rx {
        opts.rx_channels.clone()
    } else {
        let n = req.n_rx.min(dev_rx);
        if n < req.n_rx {
            note = Some(format!(
                "the scenario has {} gNB antennas, the device {dev_rx} RX channels: using {n}",
                req.n_rx
            ));
        }
        (0..n).collect()
    };
    if rx.is_empty() {
        return Err("--radio-opts rx=-: the gNB needs at least one RX channel".into());
    }
    let n_rx = rx.len();
    // The profile's gains and antenna ports on every channel a device opens.
    let p = choice.profile.clone().unwrap_or_default();
    let config = |n_rx: usize, n_tx: usize| RadioConfig {
        sample_rate_hz: req.sample_rate_hz,
        center_frequency_hz: req.center_frequency_hz,
        rx_gain_db: p.rx_gain_db.map_or(vec![], |g| vec![g; n_rx]),
        tx_gain_db: p.tx_gain_db.map_or(vec![], |g| vec![g; n_tx]),
        rx_antennas: p.rx_antenna.clone().map_or(vec![], |a| vec![a; n_rx]),
        tx_antennas: p.tx_antenna.clone().map_or(vec![], |a| vec![a; n_tx]),
    };
    let (radio, tx_channels, read_ahead): (Box<dyn Radio>, usize, usize) = match &choice.ue_args {
        None => {
            // One board: its TX channels feed its RX channels (cable or loopback).
            let tx: Vec<usize> = if set_tx {
                opts.tx_channels.clone()
            } else {
                (0..dev_tx.min(n_rx).min(req.tx_streams).max(1)).collect()
            };
            if tx.is_empty() {
                return Err("--radio-opts tx=-: the UEs need at least one TX channel".into());
            }
            let n_tx = tx.len();
            gnb.select_channels(rx, tx)?;
            gnb.configure(&config(n_rx, n_tx))?;
            let ahead = gnb.rx_read_ahead();
            (Box::new(gnb), n_tx, ahead)
        }
        Some(ue_args) => {
            // Two boards: the gNB board receives, the UE board transmits.
            gnb.select_channels(rx, vec![])?;
            gnb.configure(&config(n_rx, 0))?;
            let mut ue = open(ue_args)?;
            let (_, ue_tx) = ue.device_channels()?;
            let tx: Vec<usize> = if set_tx {
                opts.tx_channels.clone()
            } else {
                (0..ue_tx.min(req.tx_streams).max(1)).collect()
            };
            if tx.is_empty() {
                return Err("--radio-opts tx=-: the UEs need at least one TX channel".into());
            }
            let n_tx = tx.len();
            ue.select_channels(vec![], tx)?;
            ue.configure(&config(0, n_tx))?;
            let ahead = gnb.rx_read_ahead();
            (
                Box::new(SplitRadio::new(Box::new(gnb), Box::new(ue))),
                n_tx,
                ahead,
            )
        }
    };
    // A free-running device's clock runs as far ahead as the RX thread reads:
    // bursts must be scheduled beyond that, and at least the asked look-ahead.
    let lookahead = (lookahead_slots as usize).max(read_ahead.div_ceil(req.slot_len.max(1)) + 1);
    // Unitary OFDM: a fully loaded carrier has mean power `occupancy` per sample.
    let tx_scale = (10f64.powf(-TX_BACKOFF_DB / 20.0) / req.occupancy.max(1e-3).sqrt()) as f32;
    Ok(Link {
        radio,
        n_rx,
        tx_channels,
        tx_scale,
        lookahead,
        note,
    })
}

/// The simulated radio: the scenario's multi-link channel behind a
/// [`SimRadio`] paced like the run.
#[allow(clippy::too_many_arguments)]
pub(super) fn sim_link(
    num: &Numerology,
    c: &crate::scenario::Carrier,
    links: &[ranlab_sim_channel::LinkConfig],
    n_rx: usize,
    tx_streams: usize,
    max_slot_len: usize,
    pace: Pace,
    seed: u64,
) -> CliResult<Link> {
    let air = MultiLinkChannel::new(n_rx, links, 1.0, seed).map_err(|e| format!("channel: {e}"))?;
    let mut radio: Box<dyn Radio> = Box::new(SimRadio::new(
        Box::new(air),
        tx_streams,
        n_rx,
        4 * max_slot_len,
        max_slot_len,
        if pace == Pace::Realtime {
            SimPace::Realtime
        } else {
            SimPace::Free
        },
    ));
    radio.configure(&RadioConfig {
        sample_rate_hz: num.sample_rate_hz(),
        center_frequency_hz: c.center_frequency_mhz * 1e6,
        rx_gain_db: vec![0.0; n_rx],
        tx_gain_db: vec![0.0; tx_streams],
        rx_antennas: vec![],
        tx_antennas: vec![],
    })?;
    Ok(Link {
        radio,
        n_rx,
        tx_channels: tx_streams,
        tx_scale: 1.0,
        lookahead: 0,
        note: None,
    })
}

/// Antenna streams one radio or PHY call handles (gNB antennas, radio TX
/// channels, one UE's antennas): their slice lists live on the stack.
pub(super) const MAX_STREAMS: usize = 64;

/// `&mut b[..len]` of every buffer (at most [`MAX_STREAMS`]), in a stack array.
pub(crate) fn stack_mut(
    bufs: &mut [Vec<Complex32>],
    len: usize,
) -> [&mut [Complex32]; MAX_STREAMS] {
    let mut refs: [&mut [Complex32]; MAX_STREAMS] = std::array::from_fn(|_| Default::default());
    for (r, b) in refs.iter_mut().zip(bufs.iter_mut()) {
        *r = &mut b[..len];
    }
    refs
}

/// `&b[..len]` of every buffer (at most [`MAX_STREAMS`]), in a stack array.
pub(super) fn stack_ref(bufs: &[Vec<Complex32>], len: usize) -> [&[Complex32]; MAX_STREAMS] {
    let mut refs: [&[Complex32]; MAX_STREAMS] = [&[]; MAX_STREAMS];
    for (r, b) in refs.iter_mut().zip(bufs.iter()) {
        *r = &b[..len];
    }
    refs
}

/// Reads the slot of `p` (its `len` samples at device time `p.time`) into
/// `bufs` and hands it to the tap, without allocating.
pub(super) fn receive_slot(
    reader: &mut TimedReader,
    radio: &mut dyn Radio,
    bufs: &mut [Vec<Complex32>],
    p: &Pending,
    tap: &mut Option<Tap<'_>>,
) -> CliResult {
    let n = bufs.len();
    let mut refs = stack_mut(bufs, p.len);
    reader.read_at(radio, p.time, &mut refs[..n], RX_TIMEOUT)?;
    if let Some(tap) = tap.as_mut() {
        let mut view: [&[Complex32]; MAX_STREAMS] = [&[]; MAX_STREAMS];
        for (v, r) in view.iter_mut().zip(refs[..n].iter()) {
            *v = r;
        }
        tap(p.rx_slot(&view[..n]))?;
    }
    Ok(())
}

/// How long the gNB waits for a slot's samples.
const RX_TIMEOUT: Duration = Duration::from_secs(1);

/// Adds UE antenna stream `s` onto TX channel `s % out.len()`, scaled.
pub(super) fn mix<'a>(
    streams: impl Iterator<Item = &'a [Complex32]>,
    out: &mut [Vec<Complex32>],
    len: usize,
    scale: f32,
) {
    let ch = out.len();
    for (s, x) in streams.enumerate() {
        let o = &mut out[s % ch][..len];
        if s < ch {
            o.copy_from_slice(x);
        } else {
            o.iter_mut().zip(x).for_each(|(o, x)| *o += *x);
        }
    }
    if scale != 1.0 {
        out.iter_mut()
            .for_each(|o| o[..len].iter_mut().for_each(|x| *x *= scale));
    }
}
