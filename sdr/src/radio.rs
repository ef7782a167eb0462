//! The `Radio` trait and its data types.

use num_complex::Complex32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use thiserror::Error;

/// Device time, in samples at the configured sample rate since the device's epoch.
///
/// Sample ticks (not nanoseconds) keep timed bursts exact to the sample; a
/// backend whose device speaks nanoseconds converts at its sample rate.
pub type Ticks = i64;

/// What a device is and can do, as reported before streaming.
#[derive(Debug, Clone, PartialEq)]
pub struct RadioInfo {
    /// Driver name (`sim`, `uhd`, `lime`, ...).
    pub driver: String,
    /// Hardware description for reports and recordings.
    pub hardware: String,
    /// Receive channels.
    pub rx_channels: usize,
    /// Transmit channels.
    pub tx_channels: usize,
    /// Whether the device timestamps samples (SoapySDR `hasHardwareTime`).
    pub has_hardware_time: bool,
    /// Largest number of samples one receive call returns per channel.
    pub mtu: usize,
}

/// Stream settings, validated by the backend before streaming starts.
#[derive(Debug, Clone, PartialEq)]
pub struct RadioConfig {
    /// Sample rate, samples per second (per channel).
    pub sample_rate_hz: f64,
    /// RF centre frequency of every channel, Hz.
    pub center_frequency_hz: f64,
    /// Receive gain per channel, dB.
    pub rx_gain_db: Vec<f64>,
    /// Transmit gain per channel, dB.
    pub tx_gain_db: Vec<f64>,
    /// Antenna name per receive channel (empty: the device default).
    pub rx_antennas: Vec<String>,
    /// Antenna name per transmit channel (empty: the device default).
    pub tx_antennas: Vec<String>,
}

/// When a burst goes on the air.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxTime {
    /// As soon as possible.
    Now,
    /// At this device time; a time already past is a late burst.
    At(Ticks),
}

/// What came with a block of received samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RxMetadata {
    /// Samples written per channel.
    pub samples: usize,
    /// Device time of the first sample, when the device has hardware time.
    pub time: Option<Ticks>,
    /// Samples were lost before this block (overflow): `time` tells where the stream resumes.
    pub overflow: bool,
    /// The block ends a burst.
    pub end_of_burst: bool,
}

/// Stream fault counters. Backends count into them from any thread.
#[derive(Debug, Default)]
pub struct RadioEvents {
    /// Receive overflows (samples dropped because the host was too slow).
    pub overflows: AtomicU64,
    /// Transmit underflows (the device ran out of samples mid-burst).
    pub underflows: AtomicU64,
    /// Bursts that arrived after their scheduled time.
    pub late: AtomicU64,
    /// Other timing errors (time jumps, bad timestamps).
    pub time_errors: AtomicU64,
}

/// A plain copy of [`RadioEvents`] for reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EventCounts {
    /// See [`RadioEvents::overflows`].
    pub overflows: u64,
    /// See [`RadioEvents::underflows`].
    pub underflows: u64,
    /// See [`RadioEvents::late`].
    pub late: u64,
    /// See [`RadioEvents::time_errors`].
    pub time_errors: u64,
}

impl RadioEvents {
    /// The current counts.
    pub fn snapshot(&self) -> EventCounts {
        EventCounts {
            overflows: self.overflows.load(Ordering::Relaxed),
            underflows: self.underflows.load(Ordering::Relaxed),
            late: self.late.load(Ordering::Relaxed),
            time_errors: self.time_errors.load(Ordering::Relaxed),
        }
    }

    /// Adds one to a counter.
    pub fn count(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// Why a radio call failed. Stream faults are not errors: they are counted.
#[derive(Debug, Error)]
pub enum RadioError {
    /// A setting the device cannot do; names it and what is possible.
    #[error("{setting}: {message}")]
    Config {
        /// The setting (`sample_rate_hz`, `rx_gain_db[1]`, ...).
        setting: String,
        /// What is wrong and what would be valid.
        message: String,
    },
    /// Buffers do not match the channel count or each other.
    #[error("buffer shape: {0}")]
    Shape(String),
    /// Nothing arrived within the timeout.
    #[error("receive timed out after {0:?}")]
    Timeout(Duration),
    /// The stream is not running.
    #[error("the stream is not started")]
    NotStreaming,
    /// The device or its driver reported an error.
    #[error("device: {0}")]
    Device(String),
}

/// A timestamped multi-antenna radio.
///
/// Receive fills caller buffers (one per RX channel, equal lengths) and tells
/// the device time of the first sample; transmit sends a burst per TX channel
/// now or at a device time. The same trait serves the simulated channel, SoapySDR
/// devices and SigMF replay.
pub trait Radio: Send {
    /// What the device is.
    fn info(&self) -> RadioInfo;

    /// Applies and checks stream settings (before [`Radio::start`]).
    fn configure(&mut self, config: &RadioConfig) -> Result<(), RadioError>;

    /// Starts streaming; device time continues from where it was.
    fn start(&mut self) -> Result<(), RadioError>;

    /// Stops streaming.
    fn stop(&mut self) -> Result<(), RadioError>;

    /// The device time now, when the device has hardware time.
    fn hardware_time(&self) -> Option<Ticks>;

    /// Receives up to `buffers[0].len()` samples per channel.
    fn receive(
        &mut self,
        buffers: &mut [&mut [Complex32]],
        timeout: Duration,
    ) -> Result<RxMetadata, RadioError>;

    /// Sends one block of a burst on every TX channel; `end_of_burst` closes it.
    /// Returns the samples accepted per channel.
    fn transmit(
        &mut self,
        buffers: &[&[Complex32]],
        time: TxTime,
        end_of_burst: bool,
    ) -> Result<usize, RadioError>;

    /// Stream fault counters.
    fn events(&self) -> EventCounts;
}

/// Checks that `n` buffers of equal length were given for `channels` channels.
pub fn check_shape<T>(
    buffers: &[T],
    channels: usize,
    len: impl Fn(&T) -> usize,
) -> Result<usize, RadioError> {
    if buffers.len() != channels {
        return Err(RadioError::Shape(format!(
            "{} buffers for {channels} channels",
            buffers.len()
        )));
    }
    let n = buffers.first().map(&len).unwrap_or(0);
    if buffers.iter().any(|b| len(b) != n) {
        return Err(RadioError::Shape("channel buffers differ in length".into()));
    }
    Ok(n)
}
