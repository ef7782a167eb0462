//! ranlab software channel: what runs in place of the air and the radio boards.
//!
//! The data path of one uplink, UE antenna ports to gNB antenna ports:
//!
//! ```text
//! UE tx blocks ─► [impairments at the UE: CFO, timing] ─► fading (TDL/CDL, time domain)
//!      ─► large-scale gain (path loss + shadowing) ─► Σ over UEs and the interfering cell
//!      ─► + AWGN ─► [impairments at the gNB: phase noise, IQ, DC, ADC] ─► gNB rx blocks
//! ```
//!
//! - [`awgn`]: complex Gaussian noise with an exact SNR definition (per sample, and per-RE
//!   Es/N0 on the occupied subcarriers of an OFDM signal).
//! - [`tdl`], [`cdl`]: TR 38.901 §7.7.2 tapped-delay-line and §7.7.1 clustered-delay-line
//!   small-scale fading (UPA at both ends); [`tables`] holds the standard's tables as data,
//!   one place per table.
//! - [`engine`]: the time-domain streaming convolution shared by all fading models, with
//!   state continuity across blocks, and the frequency-domain per-RE fast path.
//! - [`pathloss`]: TR 38.901 §7.4 path loss, shadowing and LOS probability for UMa, UMi and
//!   InH, and the link budget that turns them into a per-UE SNR.
//! - [`impairments`]: CFO, timing and sampling-rate offset, phase noise, IQ imbalance, DC
//!   offset, ADC clipping and quantisation.
//! - [`multilink`]: several UEs (and a second cell) through their own channels, summed at the
//!   gNB antennas with noise: the streaming API the simulated radio uses.
//! - [`rng`]: seeded, independent random streams per purpose, UE and antenna, and a fast
//!   Gaussian generator.
//!
//! Everything is reproducible from one `u64` seed. Per-block calls take caller-owned slices
//! and do not allocate once the largest block size has been seen.
//!
//! One UE antenna through TDL-C (300 ns, 30 km/h at 3.5 GHz) to two gNB antennas at an
//! Es/N0 of 20 dB per sample (noise of unit variance, the link's gain 20 dB):
//!
//! ```
//! use num_complex::Complex32;
//! use ranlab_sim_channel::tdl::TdlProfile;
//! use ranlab_sim_channel::{ChannelConfig, LinkConfig, ModelKind, MultiLinkChannel};
//!
//! let link = LinkConfig::new(
//!     ChannelConfig {
//!         model: ModelKind::Tdl(TdlProfile::C),
//!         delay_spread_s: 300e-9,
//!         speed_kmh: 30.0,
//!         carrier_hz: 3.5e9,
//!         sample_rate_hz: 30.72e6,
//!         n_rx: 2,
//!         n_tx: 1,
//!         seed: 7,
//!         ..ChannelConfig::default()
//!     },
//!     20.0,
//! );
//! let mut air = MultiLinkChannel::new(2, &[link], 1.0, 7)?;
//! let tx = vec![Complex32::new(1.0, 0.0); 4096];
//! let mut rx = vec![vec![Complex32::default(); 4096]; 2];
//! air.process(&[&tx[..]], &mut rx)?;
//! // Signal at 20 dB over unit noise: about 100 times the noise power, on average.
//! let p: f32 = rx[0].iter().map(|x| x.norm_sqr()).sum::<f32>() / 4096.0;
//! assert!(p.is_finite() && p > 1.0);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![warn(missing_docs)]

pub mod awgn;
pub mod cdl;
pub mod engine;
pub mod impairments;
pub mod kernels;
pub mod math;
pub mod model;
pub mod multilink;
pub mod pathloss;
pub mod piot;
pub mod rng;
pub mod sos;
pub mod tables;
pub mod tdl;

pub use awgn::{Awgn, SnrSpec};
pub use engine::{FadingChannel, TapSource};
pub use model::{ChannelConfig, ModelKind};
pub use multilink::{LinkConfig, MultiLinkChannel};
pub use num_complex::Complex32;

/// Errors of channel construction and of per-block calls. Each names the offending field.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ChannelError {
    /// A parameter is outside its allowed range.
    #[error("{field}: {value} is out of range (allowed: {allowed})")]
    OutOfRange {
        /// Parameter name.
        field: &'static str,
        /// The rejected value.
        value: f64,
        /// The allowed range, as text.
        allowed: &'static str,
    },
    /// The number of antenna streams passed does not match the configuration.
    #[error("{what}: expected {expected} antenna streams, got {got}")]
    AntennaCount {
        /// Which side (UE transmit, gNB receive ...).
        what: &'static str,
        /// Configured count.
        expected: usize,
        /// Passed count.
        got: usize,
    },
    /// The per-antenna blocks of one call do not all have the same length.
    #[error("block lengths differ: {what} has {got} samples, expected {expected}")]
    BlockLength {
        /// Which stream.
        what: &'static str,
        /// Expected length.
        expected: usize,
        /// Passed length.
        got: usize,
    },
    /// An unknown model name.
    #[error(
        "unknown channel model `{0}` (allowed: awgn, rayleigh, tdl-a .. tdl-e, cdl-a .. cdl-e)"
    )]
    UnknownModel(String),
}

/// Checks `lo <= v <= hi` (and that `v` is finite).
pub(crate) fn check_range(
    field: &'static str,
    v: f64,
    lo: f64,
    hi: f64,
    allowed: &'static str,
) -> Result<(), ChannelError> {
    if v.is_finite() && v >= lo && v <= hi {
        Ok(())
    } else {
        Err(ChannelError::OutOfRange {
            field,
            value: v,
            allowed,
        })
    }
}

/// Speed of light, m/s.
pub const SPEED_OF_LIGHT: f64 = 299_792_458.0;

/// Maximum Doppler shift `f_D = v f_c / c` for a UE speed in km/h and a carrier in Hz.
pub fn max_doppler_hz(speed_kmh: f64, carrier_hz: f64) -> f64 {
    speed_kmh / 3.6 * carrier_hz / SPEED_OF_LIGHT
}
