//! SoapySDR hardware backend (feature `soapy`): USRP (UHD), LimeSDR and any
//! other SoapySDR device behind the [`Radio`] trait.
//!
//! - Device selection by SoapySDR args (`driver=uhd,type=b200`, `driver=lime`).
//! - [`Radio::configure`] checks every setting against the ranges the device
//!   reports before anything is applied (sample rate also against the NR rule
//!   of [`crate::validate`]), then applies master clock, clock and time
//!   source (waiting for `ref_locked` / `gps_locked` where the device has the
//!   sensor), rate, frequency, gain, bandwidth and antennas, and reads the
//!   rate back: a device that rounds it is refused.
//! - Timed mode (the default) needs hardware time; TX bursts go out at device
//!   times, `TxTime::Now` meaning "the RX head plus the look-ahead". Untimed
//!   mode exists for RX-only use without hardware time.
//! - CS16 on the wire; a dedicated RX thread per device fills a fixed pool of
//!   buffers ([`rx`]); `receive` converts to `Complex32` with the SIMD kernel.
//! - Overflow, underflow, late and time errors are counted into
//!   [`RadioEvents`], logged once per burst ([`events`]); after a gap the
//!   receive side resumes at the next slot boundary from the timestamps.
//!
//! The project's loopback device (`driver=ranlab_loopback`, built from
//! `sdr/soapy-loopback/loopback.cpp`) lets all of this run in CI; see
//! [`load_loopback_module`].

mod configure;
pub mod device;
pub mod events;
mod options;
mod plugin;
pub mod probe;
pub mod rx;

pub use options::{SoapyOptions, Timing};
pub use plugin::{load_loopback_module, loopback_module_path};

use crate::convert::{cf32_to_cs16, cs16_to_cf32};
use crate::radio::{
    check_shape, EventCounts, Radio, RadioConfig, RadioError, RadioEvents, RadioInfo, RxMetadata,
    Ticks, TxTime,
};
use crate::validate::nr_rate_step_hz;
use device::{code, flag, Device, Dir, SoapyError, Stream};
use events::{EventKind, EventLog};
use num_complex::Complex32;
use rx::{RxBlock, RxWorker};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn dev_err(what: &str) -> impl Fn(SoapyError) -> RadioError + '_ {
    move |e| RadioError::Device(format!("{what}: {e}"))
}

/// `round(a / b)` for `b > 0`, exact in integers.
fn div_round(a: i128, b: i128) -> i128 {
    (2 * a + b).div_euclid(2 * b)
}

/// Converts between device nanoseconds and sample ticks at an integral rate.
#[derive(Debug, Clone, Copy)]
struct TickClock {
    rate: i128,
}

impl TickClock {
    fn to_ns(self, t: Ticks) -> i64 {
        div_round(t as i128 * 1_000_000_000, self.rate) as i64
    }
    fn to_ticks(self, ns: i64) -> Ticks {
        div_round(ns as i128 * self.rate, 1_000_000_000) as Ticks
    }
}

/// Receive-side state between calls.
#[derive(Default)]
struct RxState {
    /// The block being consumed and how far.
    cur: Option<(RxBlock, usize)>,
    /// Time expected for the next sample (continuity check).
    expect: Option<Ticks>,
    /// A gap was seen: skip to the next slot boundary, then flag overflow.
    gap: bool,
}

/// A SoapySDR device as a [`Radio`].
pub struct SoapyRadio {
    dev: Arc<Device>,
    args: String,
    opts: SoapyOptions,
    driver: String,
    hardware: String,
    has_time: bool,
    clock: Option<TickClock>,
    rate_hz: f64,
    started: bool,
    slot: Ticks,
    events: Arc<RadioEvents>,
    log: Arc<EventLog>,
    rx_stream: Option<Stream>,
    tx_stream: Option<Stream>,
    rx_block: usize,
    tx_mtu: usize,
    worker: Option<RxWorker>,
    rx: RxState,
    tx_scratch: Vec<Vec<i16>>,
    tx_in_burst: bool,
    tx_dropping: bool,
    burst_acks: u64,
}

impl SoapyRadio {
    /// Opens the device matching SoapySDR `args` (`driver=uhd,serial=...`,
    /// `driver=lime`, `driver=ranlab_loopback`). Refuses a device without
    /// hardware time in timed mode, and channels the device does not have.
    pub fn open(args: &str, opts: SoapyOptions) -> Result<Self, RadioError> {
        // The loopback device is optional: hardware works without it.
        let _ = load_loopback_module();
        let cfg = |setting: &str, message: String| RadioError::Config {
            setting: setting.into(),
            message,
        };
        if opts.rx_channels.is_empty() && opts.tx_channels.is_empty() {
            return Err(cfg("channels", "no RX and no TX channel selected".into()));
        }
        if opts.rx_buffers < 2 {
            return Err(cfg(
                "rx_buffers",
                format!("{} buffers: at least 2 are needed", opts.rx_buffers),
            ));
        }
        nr_rate_step_hz(opts.scs_khz)?;
        let dev = Device::open(args).map_err(|e| {
            RadioError::Device(format!(
                "no SoapySDR device matches {args:?}: {e} (`ranlab sdr probe` lists the devices found)"
            ))
        })?;
        let driver = dev.driver_key().map_err(dev_err("driver key"))?;
        let hardware = dev.hardware_key().map_err(dev_err("hardware key"))?;
        for (dir, chans) in [(Dir::Rx, &opts.rx_channels), (Dir::Tx, &opts.tx_channels)] {
            let have = dev.num_channels(dir).map_err(dev_err("channel count"))?;
            if let Some(&c) = chans.iter().find(|&&c| c >= have) {
                return Err(cfg(
                    &format!("{}_channels", dir.name()),
                    format!(
                        "channel {c} does not exist: {driver} {hardware} has {have} {} channels",
                        dir.name()
                    ),
                ));
            }
        }
        let has_time = dev.has_hardware_time("");
        if matches!(opts.timing, Timing::Timed { .. }) && !has_time {
            return Err(cfg(
                "timing",
                format!(
                    "{driver} {hardware} has no hardware time, so timed TX and timestamped RX are impossible; \
                     use untimed mode for RX-only work"
                ),
            ));
        }
        let log = Arc::new(EventLog::new(&format!("{driver}:{hardware}")));
        Ok(SoapyRadio {
            dev: Arc::new(dev),
            args: args.into(),
            tx_scratch: Vec::new(),
            opts,
            driver,
            hardware,
            has_time,
            clock: None,
            rate_hz: 0.0,
            started: false,
            slot: 0,
            events: Arc::new(RadioEvents::default()),
            log,
            rx_stream: None,
            tx_stream: None,
            rx_block: 0,
            tx_mtu: 0,
            worker: None,
            rx: RxState::default(),
            tx_in_burst: false,
            tx_dropping: false,
            burst_acks: 0,
        })
    }

    /// The device's (RX, TX) channel counts.
    pub fn device_channels(&self) -> Result<(usize, usize), RadioError> {
        Ok((
            self.dev
                .num_channels(Dir::Rx)
                .map_err(dev_err("channel count"))?,
            self.dev
                .num_channels(Dir::Tx)
                .map_err(dev_err("channel count"))?,
        ))
    }

    /// Chooses the device channels used (before [`Radio::configure`]); an
    /// empty list means no stream in that direction.
    pub fn select_channels(&mut self, rx: Vec<usize>, tx: Vec<usize>) -> Result<(), RadioError> {
        if self.rx_stream.is_some() || self.tx_stream.is_some() || self.started {
            return Err(Self::cfg_err(
                "channels",
                "choose channels before configuring".into(),
            ));
        }
        let (have_rx, have_tx) = self.device_channels()?;
        for (dir, chans, have) in [("rx", &rx, have_rx), ("tx", &tx, have_tx)] {
            if let Some(&c) = chans.iter().find(|&&c| c >= have) {
                return Err(Self::cfg_err(
                    &format!("{dir}_channels"),
                    format!(
                        "channel {c} does not exist: {} {} has {have} {dir} channels",
                        self.driver, self.hardware
                    ),
                ));
            }
        }
        if rx.is_empty() && tx.is_empty() {
            return Err(Self::cfg_err(
                "channels",
                "no RX and no TX channel selected".into(),
            ));
        }
        self.opts.rx_channels = rx;
        self.opts.tx_channels = tx;
        Ok(())
    }

    /// The options the radio runs with.
    pub fn options(&self) -> &SoapyOptions {
        &self.opts
    }

    /// How many samples the RX thread may read ahead of the consumer (its
    /// pool), valid after [`Radio::configure`]. A free-running device (the
    /// loopback device) advances its clock that far ahead, so timed bursts
    /// must be scheduled further ahead than this.
    pub fn rx_read_ahead(&self) -> usize {
        self.rx_block * self.opts.rx_buffers
    }

    /// Bursts whose end the device acknowledged (`SOAPY_SDR_END_BURST` status).
    pub fn burst_acks(&self) -> u64 {
        self.burst_acks
    }

    /// Samples per slot at the configured rate (the re-alignment grid).
    pub fn slot_samples(&self) -> Ticks {
        self.slot
    }

    /// Sets a driver setting (`writeSetting`), e.g. test hooks of the loopback device.
    pub fn write_setting(&self, key: &str, value: &str) -> Result<(), RadioError> {
        self.dev.write_setting(key, value).map_err(dev_err(key))
    }

    fn cfg_err(setting: &str, message: String) -> RadioError {
        RadioError::Config {
            setting: setting.into(),
            message,
        }
    }

    /// Device time of the newest received sample, or the device's clock.
    fn now_ticks(&self) -> Option<Ticks> {
        let clock = self.clock?;
        if let Some(w) = &self.worker {
            let h = w.head_ns.load(Ordering::Relaxed);
            if h != i64::MIN {
                return Some(clock.to_ticks(h));
            }
        }
        self.dev
            .hardware_time_ns()
            .ok()
            .map(|ns| clock.to_ticks(ns))
    }

    /// Counts the TX status events the device has queued.
    fn drain_tx_status(&mut self) {
        let Some(tx) = self.tx_stream.as_mut() else {
            return;
        };
        while let Some(st) = tx.read_status(0) {
            let at = format!("device time {} ns", st.time_ns);
            match st.code {
                0 if st.flags & flag::END_BURST != 0 => self.burst_acks += 1,
                0 => {}
                code::UNDERFLOW => {
                    RadioEvents::count(&self.events.underflows);
                    self.log.note(EventKind::Underflow, &at);
                }
                code::TIME_ERROR => {
                    RadioEvents::count(&self.events.late);
                    self.log.note(EventKind::Late, &at);
                }
                _ => {
                    RadioEvents::count(&self.events.time_errors);
                    self.log.note(
                        EventKind::TimeError,
                        &format!("TX status {}", device::code_name(st.code)),
                    );
                }
            }
        }
    }

    fn give_back(&mut self, blk: RxBlock) {
        if let Some(w) = &self.worker {
            let _ = w.free.send(blk);
        }
    }
}

impl Radio for SoapyRadio {
    fn info(&self) -> RadioInfo {
        RadioInfo {
            driver: self.driver.clone(),
            hardware: format!("{} ({})", self.hardware, self.args),
            rx_channels: self.opts.rx_channels.len(),
            tx_channels: self.opts.tx_channels.len(),
            has_hardware_time: self.has_time,
            mtu: self.rx_block,
        }
    }

    fn configure(&mut self, config: &RadioConfig) -> Result<(), RadioError> {
        if self.started {
            return Err(Self::cfg_err(
                "configure",
                "stop the stream before reconfiguring".into(),
            ));
        }
        self.validate(config)?;
        self.apply(config)?;
        let rate = config.sample_rate_hz.round() as i128;
        self.clock = self.has_time.then_some(TickClock { rate });
        self.rate_hz = config.sample_rate_hz;
        // Slot of the configured numerology: 1 ms / 2^μ (TS 38.211 §4.3.2).
        let mu_slots = (self.opts.scs_khz / 15) as i128;
        self.slot = (rate / (1000 * mu_slots)) as Ticks;
        self.rx_stream = None;
        self.tx_stream = None;
        if !self.opts.rx_channels.is_empty() {
            let s = self
                .dev
                .stream_cs16(Dir::Rx, &self.opts.rx_channels)
                .map_err(dev_err("RX stream"))?;
            self.rx_block = self.opts.rx_block.unwrap_or_else(|| s.mtu()).max(1);
            self.rx_stream = Some(s);
        }
        if !self.opts.tx_channels.is_empty() {
            let s = self
                .dev
                .stream_cs16(Dir::Tx, &self.opts.tx_channels)
                .map_err(dev_err("TX stream"))?;
            self.tx_mtu = s.mtu().max(1);
            self.tx_scratch = vec![vec![0i16; 2 * self.tx_mtu]; self.opts.tx_channels.len()];
            self.tx_stream = Some(s);
        }
        Ok(())
    }

    fn start(&mut self) -> Result<(), RadioError> {
        if self.started {
            return Ok(());
        }
        if self.rx_stream.is_none() && self.tx_stream.is_none() {
            return Err(Self::cfg_err(
                "start",
                "configure the radio before starting it".into(),
            ));
        }
        if let Some(tx) = self.tx_stream.as_mut() {
            tx.activate(None).map_err(dev_err("activate TX"))?;
        }
        if let Some(mut s) = self.rx_stream.take() {
            s.activate(None).map_err(dev_err("activate RX"))?;
            let w = RxWorker::spawn(
                s,
                self.opts.rx_channels.len(),
                self.rx_block,
                self.opts.rx_buffers,
                self.rate_hz,
                Arc::clone(&self.events),
                Arc::clone(&self.log),
            )
            .map_err(|e| RadioError::Device(format!("RX thread: {e}")))?;
            self.worker = Some(w);
        }
        self.rx = RxState::default();
        self.tx_in_burst = false;
        self.tx_dropping = false;
        self.started = true;
        Ok(())
    }

    fn stop(&mut self) -> Result<(), RadioError> {
        self.started = false;
        if let Some(w) = self.worker.take() {
            if let Some(mut s) = w.join() {
                s.deactivate().map_err(dev_err("deactivate RX"))?;
                self.rx_stream = Some(s);
            }
        }
        self.drain_tx_status();
        if let Some(tx) = self.tx_stream.as_mut() {
            tx.deactivate().map_err(dev_err("deactivate TX"))?;
        }
        self.rx = RxState::default();
        self.log.flush();
        Ok(())
    }

    fn hardware_time(&self) -> Option<Ticks> {
        let clock = self.clock?;
        self.dev
            .hardware_time_ns()
            .ok()
            .map(|ns| clock.to_ticks(ns))
    }

    fn receive(
        &mut self,
        buffers: &mut [&mut [Complex32]],
        timeout: Duration,
    ) -> Result<RxMetadata, RadioError> {
        let want = check_shape(buffers, self.opts.rx_channels.len(), |b| b.len())?;
        if self.worker.is_none() {
            return Err(RadioError::NotStreaming);
        }
        let deadline = Instant::now() + timeout;
        let mut meta = RxMetadata::default();
        while meta.samples < want {
            let (blk, off) = match self.rx.cur.take() {
                Some(x) => x,
                None => {
                    let w = self.worker.as_ref().expect("checked above");
                    let left = deadline.saturating_duration_since(Instant::now());
                    match w.filled.recv_timeout(left) {
                        Ok(b) => (b, 0),
                        Err(_) if meta.samples > 0 => break,
                        Err(_) => return Err(RadioError::Timeout(timeout)),
                    }
                }
            };
            if let Some(e) = &blk.error {
                let e = RadioError::Device(format!("receive: {e}"));
                self.give_back(blk);
                return Err(e);
            }
            let t_blk = match (self.clock, blk.time_ns) {
                (Some(c), Some(ns)) => Some(c.to_ticks(ns)),
                (Some(_), None) => self.rx.expect, // a driver that skips a stamp: assume continuity
                (None, _) => None,
            };
            let t = t_blk.map(|t| t + off as Ticks);
            if off == 0 && !self.rx.gap {
                let jump = matches!((self.rx.expect, t), (Some(e), Some(t)) if e != t);
                if jump && !blk.overflow {
                    // A gap the device did not announce.
                    RadioEvents::count(&self.events.time_errors);
                    self.log.note(
                        EventKind::TimeError,
                        &format!("timestamp jump from {:?} to {:?}", self.rx.expect, t),
                    );
                }
                if blk.overflow || jump {
                    self.rx.gap = true;
                }
            }
            if self.rx.gap && meta.samples > 0 {
                // Hand out what is contiguous; the gap is reported next call.
                self.rx.cur = Some((blk, off));
                break;
            }
            let mut off = off;
            if self.rx.gap {
                // Re-align to the next slot boundary (device time multiple of the slot).
                if let (Some(t), true) = (t, self.slot > 0) {
                    let skip = ((self.slot - t.rem_euclid(self.slot)) % self.slot) as usize;
                    let avail = blk.samples - off;
                    if skip >= avail {
                        self.rx.expect = t_blk.map(|tb| tb + blk.samples as Ticks);
                        self.give_back(blk);
                        continue;
                    }
                    off += skip;
                }
                self.rx.gap = false;
                meta.overflow = true;
            }
            let t = t_blk.map(|tb| tb + off as Ticks);
            if meta.samples == 0 {
                meta.time = t;
            }
            let n = (blk.samples - off).min(want - meta.samples);
            for (dst, src) in buffers.iter_mut().zip(&blk.data) {
                cs16_to_cf32(
                    &src[2 * off..2 * (off + n)],
                    &mut dst[meta.samples..meta.samples + n],
                );
            }
            meta.samples += n;
            self.rx.expect = t.map(|t| t + n as Ticks);
            let done = off + n == blk.samples;
            if done {
                let eob = blk.end_of_burst;
                self.give_back(blk);
                if eob {
                    meta.end_of_burst = true;
                    break;
                }
            } else {
                // Offset 0 marks a fresh block; keep the partly read one with its offset.
                self.rx.cur = Some((blk, off + n));
            }
        }
        Ok(meta)
    }

    fn transmit(
        &mut self,
        buffers: &[&[Complex32]],
        time: TxTime,
        end_of_burst: bool,
    ) -> Result<usize, RadioError> {
        let n = check_shape(buffers, self.opts.tx_channels.len(), |b| b.len())?;
        if !self.started || self.tx_stream.is_none() {
            return Err(RadioError::NotStreaming);
        }
        if self.tx_dropping && time == TxTime::Now {
            // The rest of a burst that was dropped as late.
            self.tx_dropping = !end_of_burst;
            return Ok(n);
        }
        let timed = matches!(self.opts.timing, Timing::Timed { .. });
        let at: Option<Ticks> = match (time, self.opts.timing) {
            (TxTime::At(_), Timing::Untimed) => {
                return Err(Self::cfg_err(
                    "timing",
                    "a timed burst needs timed mode (hardware time)".into(),
                ))
            }
            (TxTime::At(t), _) => Some(t),
            (TxTime::Now, Timing::Timed { lookahead_slots }) if !self.tx_in_burst => {
                let now = self.now_ticks().ok_or(RadioError::NotStreaming)?;
                Some(now + lookahead_slots as Ticks * self.slot)
            }
            (TxTime::Now, _) => None,
        };
        if at.is_some() {
            self.tx_dropping = false;
        }
        if let (Some(t), true) = (at, timed) {
            if let Some(now) = self.now_ticks() {
                if t < now {
                    // Already past on the RX side: it cannot land. Drop the burst.
                    RadioEvents::count(&self.events.late);
                    self.log
                        .note(EventKind::Late, &format!("burst for {t}, device at {now}"));
                    self.tx_dropping = !end_of_burst;
                    self.tx_in_burst = false;
                    return Ok(n);
                }
            }
        }
        let clock = self.clock;
        let mut time_ns = at.and_then(|t| clock.map(|c| c.to_ns(t)));
        let mut sent = 0;
        let chans = buffers.len();
        while sent < n || (n == 0 && sent == 0 && end_of_burst) {
            let len = (n - sent).min(self.tx_mtu);
            for (scratch, src) in self.tx_scratch.iter_mut().zip(buffers) {
                cf32_to_cs16(&src[sent..sent + len], &mut scratch[..2 * len]);
            }
            let bufs: Vec<&[i16]> = self.tx_scratch[..chans]
                .iter()
                .map(|s| &s[..2 * len])
                .collect();
            let last = sent + len == n;
            let tx = self.tx_stream.as_mut().expect("checked above");
            match tx.write(&bufs, time_ns, end_of_burst && last, 1_000_000) {
                Ok(k) => {
                    sent += k;
                    if k > 0 {
                        time_ns = None; // only the first block of a burst carries the time
                    }
                    if n == 0 {
                        break;
                    }
                }
                Err(e) if e.code == code::TIME_ERROR => {
                    RadioEvents::count(&self.events.late);
                    self.log.note(EventKind::Late, "write");
                    self.tx_dropping = !end_of_burst;
                    self.tx_in_burst = false;
                    return Ok(n);
                }
                Err(e) if e.code == code::UNDERFLOW => {
                    RadioEvents::count(&self.events.underflows);
                    self.log.note(EventKind::Underflow, "write");
                }
                Err(e) if e.code == code::TIMEOUT => {
                    self.drain_tx_status();
                    return if sent > 0 {
                        Ok(sent)
                    } else {
                        Err(RadioError::Timeout(Duration::from_secs(1)))
                    };
                }
                Err(e) => return Err(RadioError::Device(format!("transmit: {e}"))),
            }
        }
        self.tx_in_burst = !end_of_burst;
        self.drain_tx_status();
        Ok(sent)
    }

    fn events(&self) -> EventCounts {
        self.events.snapshot()
    }
}

impl Drop for SoapyRadio {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}
