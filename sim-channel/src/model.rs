//! Model names and one configuration that builds any of them.

use crate::cdl::{Cdl, CdlConfig, CdlProfile, ElementPattern, Upa};
use crate::engine::{FadingChannel, TapSource};
use crate::tdl::{Correlation, Tdl, TdlConfig, TdlProfile};
use crate::{check_range, max_doppler_hz, ChannelError};
use std::str::FromStr;

/// A small-scale channel model, by its `ranlab channel --model` name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelKind {
    /// `awgn`: a static unit gain on every antenna pair (noise is added separately).
    Awgn,
    /// `rayleigh`: flat Rayleigh fading with Jakes Doppler.
    Rayleigh,
    /// `tdl-a` .. `tdl-e`: TR 38.901 §7.7.2.
    Tdl(TdlProfile),
    /// `cdl-a` .. `cdl-e`: TR 38.901 §7.7.1.
    Cdl(CdlProfile),
}

impl ModelKind {
    /// Every model, in CLI order.
    pub const ALL: [ModelKind; 12] = [
        ModelKind::Awgn,
        ModelKind::Rayleigh,
        ModelKind::Tdl(TdlProfile::A),
        ModelKind::Tdl(TdlProfile::B),
        ModelKind::Tdl(TdlProfile::C),
        ModelKind::Tdl(TdlProfile::D),
        ModelKind::Tdl(TdlProfile::E),
        ModelKind::Cdl(CdlProfile::A),
        ModelKind::Cdl(CdlProfile::B),
        ModelKind::Cdl(CdlProfile::C),
        ModelKind::Cdl(CdlProfile::D),
        ModelKind::Cdl(CdlProfile::E),
    ];

    /// The CLI name.
    pub fn name(self) -> &'static str {
        match self {
            ModelKind::Awgn => "awgn",
            ModelKind::Rayleigh => "rayleigh",
            ModelKind::Tdl(TdlProfile::A) => "tdl-a",
            ModelKind::Tdl(TdlProfile::B) => "tdl-b",
            ModelKind::Tdl(TdlProfile::C) => "tdl-c",
            ModelKind::Tdl(TdlProfile::D) => "tdl-d",
            ModelKind::Tdl(TdlProfile::E) => "tdl-e",
            ModelKind::Tdl(TdlProfile::Rayleigh) => "rayleigh",
            ModelKind::Tdl(TdlProfile::Static) => "awgn",
            ModelKind::Cdl(CdlProfile::A) => "cdl-a",
            ModelKind::Cdl(CdlProfile::B) => "cdl-b",
            ModelKind::Cdl(CdlProfile::C) => "cdl-c",
            ModelKind::Cdl(CdlProfile::D) => "cdl-d",
            ModelKind::Cdl(CdlProfile::E) => "cdl-e",
        }
    }
}

impl FromStr for ModelKind {
    type Err = ChannelError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let l = s.to_ascii_lowercase();
        ModelKind::ALL
            .into_iter()
            .find(|m| m.name() == l)
            .ok_or_else(|| ChannelError::UnknownModel(s.to_string()))
    }
}

/// Written and read by its name (`tdl-c`), as configuration files give it.
impl serde::Serialize for ModelKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> serde::Deserialize<'de> for ModelKind {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

impl std::fmt::Display for ModelKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Everything needed to build one link's small-scale channel.
#[derive(Debug, Clone, PartialEq)]
pub struct ChannelConfig {
    /// Model.
    pub model: ModelKind,
    /// RMS delay spread, seconds (TDL/CDL scaling, §7.7.3).
    pub delay_spread_s: f64,
    /// UE speed, km/h.
    pub speed_kmh: f64,
    /// Carrier frequency, Hz.
    pub carrier_hz: f64,
    /// Sample rate of the streams, Hz.
    pub sample_rate_hz: f64,
    /// Receive antennas (gNB in the uplink).
    pub n_rx: usize,
    /// Transmit antennas (UE in the uplink).
    pub n_tx: usize,
    /// TDL antenna correlation.
    pub correlation: Correlation,
    /// Desired K-factor for LOS models, dB (None: the table's).
    pub k_factor_db: Option<f64>,
    /// CDL: the gNB array (None: a horizontal half-wavelength ULA of the gNB antenna count).
    pub gnb_array: Option<Upa>,
    /// CDL: the UE array (None: a horizontal half-wavelength ULA of the UE antenna count).
    pub ue_array: Option<Upa>,
    /// CDL: gNB element pattern.
    pub gnb_pattern: ElementPattern,
    /// CDL: UE direction of travel, degrees azimuth.
    pub travel_azimuth_deg: f64,
    /// Run seed.
    pub seed: u64,
    /// Link label (UE index, or a distinct value per interferer).
    pub stream: u64,
}

impl Default for ChannelConfig {
    fn default() -> Self {
        Self {
            model: ModelKind::Tdl(TdlProfile::C),
            delay_spread_s: 100e-9,
            speed_kmh: 3.0,
            carrier_hz: 3.5e9,
            sample_rate_hz: 61.44e6,
            n_rx: 4,
            n_tx: 1,
            correlation: Correlation::Low,
            k_factor_db: None,
            gnb_array: None,
            ue_array: None,
            gnb_pattern: ElementPattern::Tr38901,
            travel_azimuth_deg: 0.0,
            seed: 1,
            stream: 0,
        }
    }
}

impl ChannelConfig {
    /// Maximum Doppler `v f_c / c`, Hz.
    pub fn doppler_hz(&self) -> f64 {
        max_doppler_hz(self.speed_kmh, self.carrier_hz)
    }

    /// Builds the streaming channel; every field is validated.
    pub fn build(&self) -> Result<FadingChannel, ChannelError> {
        Ok(FadingChannel::new(self.source()?))
    }

    /// Builds the model alone (the engine's input).
    pub fn source(&self) -> Result<Box<dyn TapSource>, ChannelError> {
        check_range("speed_kmh", self.speed_kmh, 0.0, 1000.0, "0..=1000 km/h")?;
        check_range("carrier_hz", self.carrier_hz, 1e6, 100e9, "1 MHz..=100 GHz")?;
        let profile = match self.model {
            ModelKind::Awgn => TdlProfile::Static,
            ModelKind::Rayleigh => TdlProfile::Rayleigh,
            ModelKind::Tdl(p) => p,
            ModelKind::Cdl(p) => {
                let gnb = self.gnb_array.unwrap_or(Upa::ula(self.n_rx));
                let ue = self.ue_array.unwrap_or(Upa::ula(self.n_tx));
                if gnb.len() != self.n_rx {
                    return Err(ChannelError::AntennaCount {
                        what: "gnb_array elements (n_rx)",
                        expected: self.n_rx,
                        got: gnb.len(),
                    });
                }
                if ue.len() != self.n_tx {
                    return Err(ChannelError::AntennaCount {
                        what: "ue_array elements (n_tx)",
                        expected: self.n_tx,
                        got: ue.len(),
                    });
                }
                let cdl = Cdl::new(&CdlConfig {
                    profile: p,
                    delay_spread_s: self.delay_spread_s,
                    speed_kmh: self.speed_kmh,
                    travel_azimuth_deg: self.travel_azimuth_deg,
                    carrier_hz: self.carrier_hz,
                    sample_rate_hz: self.sample_rate_hz,
                    gnb_array: gnb,
                    ue_array: ue,
                    gnb_pattern: self.gnb_pattern,
                    gnb_is_rx: true,
                    seed: self.seed,
                    stream: self.stream,
                })?;
                return Ok(Box::new(cdl));
            }
        };
        let tdl = Tdl::new(&TdlConfig {
            profile,
            delay_spread_s: self.delay_spread_s,
            doppler_hz: self.doppler_hz(),
            sample_rate_hz: self.sample_rate_hz,
            n_rx: self.n_rx,
            n_tx: self.n_tx,
            correlation: self.correlation,
            gnb_is_rx: true,
            k_factor_db: self.k_factor_db,
            los_aoa_rad: std::f64::consts::FRAC_PI_4,
            seed: self.seed,
            stream: self.stream,
        })?;
        Ok(Box::new(tdl))
    }
}
