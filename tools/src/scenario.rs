//! The TOML scenario format: cells and carriers, UEs, and the channel.
//!
//! Parsing rejects unknown keys; [`Scenario::validate`] checks values against
//! the standard (SCS, bandwidths of TS 38.101-1 Table 5.3.2-1, TDD pattern)
//! and names the field and the allowed values when something is wrong.

use serde::{Deserialize, Serialize};
use std::path::Path;

/// The scenario built into the binary (`ranlab loopback --print-default-config`).
pub const DEFAULT_SCENARIO: &str = include_str!("default-scenario.toml");

/// A complete scenario.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// A label for reports.
    #[serde(default = "default_name")]
    pub name: String,
    /// How many slots to run.
    #[serde(default = "default_slots")]
    pub slots: u64,
    /// The cell.
    pub cell: Cell,
    /// UE groups; each entry may stand for `count` identical UEs.
    #[serde(rename = "ue")]
    pub ues: Vec<UeGroup>,
    /// The propagation channel.
    pub channel: Channel,
    /// The board this scenario is made for (`--radio soapy`); board
    /// profiles in `tools/examples/boards/` carry one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub radio: Option<RadioProfile>,
}

/// The SoapySDR board a scenario runs on: device args, options, gains and
/// antenna ports, and the SoapySDR module package it needs. The command
/// line's `--args` replaces `args`; `--radio-opts` is applied after `options`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RadioProfile {
    /// SoapySDR device args (`driver=uhd,type=b200`).
    #[serde(default)]
    pub args: String,
    /// `--radio-opts` text (`master_clock=30.72e6,lookahead=4`).
    #[serde(default)]
    pub options: String,
    /// The Debian/Ubuntu package of the board's SoapySDR module (`soapysdr-module-uhd`).
    #[serde(default)]
    pub module: Option<String>,
    /// Gain of every RX channel, dB.
    #[serde(default)]
    pub rx_gain_db: Option<f64>,
    /// Gain of every TX channel, dB.
    #[serde(default)]
    pub tx_gain_db: Option<f64>,
    /// RX antenna port of every RX channel (`RX2`, `LNAW`).
    #[serde(default)]
    pub rx_antenna: Option<String>,
    /// TX antenna port of every TX channel (`TX/RX`, `BAND1`).
    #[serde(default)]
    pub tx_antenna: Option<String>,
}

fn default_name() -> String {
    "scenario".into()
}
fn default_slots() -> u64 {
    400
}

/// A cell with one or more carriers.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cell {
    /// Physical cell identity, 0..=1007.
    #[serde(default)]
    pub id: u16,
    /// Component carriers; the first one is the primary.
    pub carriers: Vec<Carrier>,
    /// Uplink scheduler policy: `pf` (default), `rr`, or `qos` (PF weighted
    /// by QoS priority and head-of-line delay against the class's budget).
    #[serde(default)]
    pub scheduler: ranlab_sched::Policy,
    /// Supplementary-uplink selection, when a carrier has `duplex = "sul"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sul: Option<SulSelection>,
}

/// How UEs choose between the normal uplink (the primary carrier) and the
/// SUL: first by SS-RSRP against `rsrp-ThresholdSSB-SUL` (TS 38.331,
/// TS 38.321 §5.1.1), then per slot by expected rate with a hysteresis.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SulSelection {
    /// `rsrp-ThresholdSSB-SUL`, dBm: below it a UE starts on the SUL.
    pub threshold_dbm: f64,
    /// Relative rate advantage needed to switch (0.2: 20 % more).
    #[serde(default = "default_sul_hysteresis")]
    pub hysteresis: f64,
}

fn default_sul_hysteresis() -> f64 {
    0.2
}

/// Duplexing of a carrier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Duplex {
    /// Time-division duplex, following `tdd_pattern`.
    Tdd,
    /// Frequency-division duplex: every slot carries uplink.
    Fdd,
    /// Supplementary uplink: an uplink-only carrier.
    Sul,
}

/// One component carrier.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Carrier {
    /// A label (`n78`, `n1-fdd`, `sul-700`).
    pub name: String,
    /// The NR operating band (`n78`, `n1`, `n28`, ...).
    pub band: String,
    /// TDD, FDD or SUL.
    pub duplex: Duplex,
    /// Centre frequency, MHz.
    pub center_frequency_mhz: f64,
    /// Channel bandwidth, MHz.
    pub bandwidth_mhz: u32,
    /// Subcarrier spacing, kHz.
    pub scs_khz: u32,
    /// Slot pattern for TDD: `D`, `U`, `S` per slot, repeating.
    #[serde(default)]
    pub tdd_pattern: Option<String>,
    /// gNB antennas.
    pub antennas: u32,
    /// gNB transmit power, dBm.
    #[serde(default = "default_gnb_power")]
    pub tx_power_dbm: f64,
    /// gNB receiver noise figure, dB.
    #[serde(default = "default_nf")]
    pub noise_figure_db: f64,
    /// Open-loop PUSCH power control P0, dBm per PRB (TS 38.213 §7.1.1
    /// `p0-NominalPUSCH`); default -90. Needs path loss: refused with
    /// `channel.snr_db`, which holds every UE's per-RE SNR fixed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p0_dbm: Option<f64>,
    /// Path-loss compensation factor alpha (TS 38.213 §7.1.1), 0..=1; default 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alpha: Option<f64>,
}

/// Default open-loop P0, dBm per PRB.
pub const DEFAULT_P0_DBM: f64 = -90.0;

fn default_gnb_power() -> f64 {
    46.0
}
fn default_nf() -> f64 {
    5.0
}

/// Traffic model and QoS class of a UE: the MAC's own types.
pub use ranlab_mac::qos::QosClass;
pub use ranlab_mac::traffic::Traffic;

/// A group of identical UEs.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UeGroup {
    /// How many UEs this entry stands for.
    #[serde(default = "one")]
    pub count: u32,
    /// Distance to the gNB, metres (path loss from TR 38.901).
    #[serde(default)]
    pub distance_m: Option<f64>,
    /// Path loss, dB, instead of a distance.
    #[serde(default)]
    pub path_loss_db: Option<f64>,
    /// UE antennas.
    #[serde(default = "one")]
    pub antennas: u32,
    /// Maximum UE transmit power, dBm.
    #[serde(default = "default_ue_power")]
    pub max_tx_power_dbm: f64,
    /// Traffic model.
    #[serde(default = "default_traffic")]
    pub traffic: Traffic,
    /// QoS class.
    #[serde(default = "default_qos")]
    pub qos_class: QosClass,
    /// Mean offered rate of `video` / `ai-uplink` traffic, Mbit/s (the
    /// model's standard rate when absent; refused for other models).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_mbps: Option<f64>,
    /// Uplink carriers this UE may use, by name (all when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub carriers: Option<Vec<String>>,
}

impl UeGroup {
    /// The traffic model of these UEs.
    pub fn traffic_model(&self) -> ranlab_mac::traffic::TrafficModel {
        use ranlab_mac::traffic::TrafficModel;
        let m = TrafficModel::standard(self.traffic);
        match (m, self.rate_mbps) {
            (TrafficModel::AiUplink { fps, .. }, Some(r)) => {
                TrafficModel::AiUplink { rate_mbps: r, fps }
            }
            (TrafficModel::Video { fps, .. }, Some(r)) => TrafficModel::Video { rate_mbps: r, fps },
            (m, _) => m,
        }
    }
}

fn one() -> u32 {
    1
}
fn default_ue_power() -> f64 {
    23.0
}
fn default_traffic() -> Traffic {
    Traffic::FullBuffer
}
fn default_qos() -> QosClass {
    QosClass::BestEffort
}

/// Channel model names (`ranlab channel --model` uses the same): the
/// channel simulator's own type.
pub use ranlab_sim_channel::ModelKind as ChannelModel;

/// The propagation channel.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Channel {
    /// Fading model.
    pub model: ChannelModel,
    /// RMS delay spread, ns (TDL/CDL scaling).
    #[serde(default = "default_ds")]
    pub delay_spread_ns: f64,
    /// UE speed, km/h (sets the Doppler with the carrier frequency).
    #[serde(default)]
    pub speed_kmh: f64,
    /// Per-RE Es/N0 at the gNB, dB. When absent, derived from path loss and noise figure.
    #[serde(default)]
    pub snr_db: Option<f64>,
    /// Seed of every random stream of the run.
    #[serde(default = "default_seed")]
    pub seed: u64,
}

fn default_ds() -> f64 {
    100.0
}
fn default_seed() -> u64 {
    1
}

/// NR channel bandwidths (MHz) allowed per SCS in FR1/FR2, TS 38.101-1 Table 5.3.2-1 / 38.101-2.
pub fn allowed_bandwidths(scs_khz: u32) -> &'static [u32] {
    match scs_khz {
        15 => &[5, 10, 15, 20, 25, 30, 35, 40, 45, 50],
        30 => &[5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 60, 70, 80, 90, 100],
        60 => &[10, 15, 20, 25, 30, 35, 40, 45, 50, 60, 70, 80, 90, 100, 200],
        120 => &[50, 100, 200, 400],
        _ => &[],
    }
}

fn list<T: std::fmt::Display>(v: &[T]) -> String {
    v.iter()
        .map(|x| x.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// NR operating bands by duplex mode: FR1 of TS 38.101-1 Table 5.2-1 and
/// FR2 of TS 38.101-2 Table 5.2-1 (Rel-18). Downlink-only (SDL) bands carry
/// no uplink and are none of these.
const FDD_BANDS: &[u16] = &[
    1, 2, 3, 5, 7, 8, 12, 13, 14, 18, 20, 24, 25, 26, 28, 30, 31, 65, 66, 70, 71, 72, 74, 85, 91,
    92, 93, 94, 100, 105, 106, 109,
];
const TDD_BANDS: &[u16] = &[
    34, 38, 39, 40, 41, 46, 47, 48, 50, 51, 53, 54, 77, 78, 79, 90, 96, 101, 102, 104, 257, 258,
    259, 260, 261, 262, 263,
];
const SUL_BANDS: &[u16] = &[80, 81, 82, 83, 84, 86, 89, 95, 97, 98, 99];
const SDL_BANDS: &[u16] = &[29, 67, 75, 76];

/// The NR bands of a duplex mode (TS 38.101-1/-2 Table 5.2-1).
pub fn nr_bands(duplex: Duplex) -> &'static [u16] {
    match duplex {
        Duplex::Fdd => FDD_BANDS,
        Duplex::Tdd => TDD_BANDS,
        Duplex::Sul => SUL_BANDS,
    }
}

/// Checks that `band` (`n78`) is an NR operating band of `duplex`; `field`
/// names it in the error.
pub fn check_band(field: &str, band: &str, duplex: Duplex) -> Result<(), String> {
    let name = |d: Duplex| match d {
        Duplex::Tdd => "TDD",
        Duplex::Fdd => "FDD",
        Duplex::Sul => "SUL",
    };
    let allowed = || {
        format!(
            "allowed for {}: {}; TS 38.101-1/-2 Table 5.2-1",
            name(duplex),
            nr_bands(duplex)
                .iter()
                .map(|b| format!("n{b}"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    let n = band
        .strip_prefix('n')
        .and_then(|d| d.parse::<u16>().ok())
        .filter(|_| band[1..].bytes().all(|b| b.is_ascii_digit()));
    let Some(n) = n else {
        return Err(format!(
            "{field}: `{band}` is not an NR band name like `n78` ({})",
            allowed()
        ));
    };
    if nr_bands(duplex).contains(&n) {
        return Ok(());
    }
    let other = [Duplex::Tdd, Duplex::Fdd, Duplex::Sul]
        .into_iter()
        .find(|&d| nr_bands(d).contains(&n));
    Err(match other {
        Some(d) => format!(
            "{field}: `{band}` is {} {} band, not {} ({})",
            if d == Duplex::Tdd { "a" } else { "an" },
            name(d),
            name(duplex),
            allowed()
        ),
        None if SDL_BANDS.contains(&n) => format!(
            "{field}: `{band}` is a downlink-only (SDL) band ({})",
            allowed()
        ),
        None => format!(
            "{field}: `{band}` is not an NR operating band ({})",
            allowed()
        ),
    })
}

/// gNB transmit power range accepted, dBm: up to 1 kW (TS 38.104 §6.2.1
/// leaves the wide-area class unbounded; 60 dBm is far above any macro),
/// down to lab set-ups at -30 dBm.
pub const GNB_TX_POWER_DBM: std::ops::RangeInclusive<f64> = -30.0..=60.0;

/// Most UEs a scenario or study may hold in total.
pub const MAX_UES: u64 = 10_000;

/// `Err("FIELD: V UNIT (allowed: LO..=HI)")` unless `v` lies in `range`;
/// `unit` is empty or starts with a space (`" dB"`).
pub fn check_range<T: PartialOrd + std::fmt::Display>(
    field: &str,
    v: T,
    range: std::ops::RangeInclusive<T>,
    unit: &str,
) -> Result<(), String> {
    if range.contains(&v) {
        return Ok(());
    }
    Err(format!(
        "{field}: {v}{unit} (allowed: {}..={})",
        range.start(),
        range.end()
    ))
}

/// The radio fields of a carrier that the loopback scenario and the system
/// study both check: subcarrier spacing, bandwidth (TS 38.101-1 Table
/// 5.3.2-1), gNB antennas, duplex with its TDD pattern, noise figure.
pub struct CarrierFields<'a> {
    /// Subcarrier spacing, kHz.
    pub scs_khz: u32,
    /// Spacings the caller supports.
    pub allowed_scs_khz: &'a [u32],
    /// Channel bandwidth, MHz.
    pub bandwidth_mhz: u32,
    /// gNB antennas.
    pub antennas: u32,
    /// TDD, FDD or SUL.
    pub duplex: Duplex,
    /// TDD pattern, if given.
    pub tdd_pattern: Option<&'a str>,
    /// Noise figure, dB.
    pub noise_figure_db: f64,
}

impl CarrierFields<'_> {
    /// Checks the fields; `f(name)` gives the full field path for errors.
    pub fn check(&self, f: impl Fn(&str) -> String) -> Result<(), String> {
        if !self.allowed_scs_khz.contains(&self.scs_khz) {
            return Err(format!(
                "{}: {} kHz (allowed: {})",
                f("scs_khz"),
                self.scs_khz,
                list(self.allowed_scs_khz)
            ));
        }
        let bws = allowed_bandwidths(self.scs_khz);
        if !bws.contains(&self.bandwidth_mhz) {
            return Err(format!(
                "{}: {} MHz is not allowed at {} kHz (allowed: {})",
                f("bandwidth_mhz"),
                self.bandwidth_mhz,
                self.scs_khz,
                list(bws)
            ));
        }
        check_range(&f("antennas"), self.antennas, 1..=64, "")?;
        match (self.duplex, self.tdd_pattern) {
            (Duplex::Tdd, None) => {
                return Err(format!(
                    "{}: required for a TDD carrier (e.g. \"DDDSU\")",
                    f("tdd_pattern")
                ))
            }
            (Duplex::Tdd, Some(p)) => {
                if p.is_empty()
                    || p.len() > 80
                    || !p.chars().all(|ch| matches!(ch, 'D' | 'U' | 'S'))
                {
                    return Err(format!(
                        "{}: `{p}` (allowed: 1 to 80 of the letters D, U, S)",
                        f("tdd_pattern")
                    ));
                }
                if !p.contains('U') {
                    return Err(format!(
                        "{}: `{p}` has no uplink slot `U`",
                        f("tdd_pattern")
                    ));
                }
            }
            (_, Some(_)) => {
                return Err(format!(
                    "{}: only a TDD carrier has a TDD pattern",
                    f("tdd_pattern")
                ))
            }
            _ => {}
        }
        check_range(
            &f("noise_figure_db"),
            self.noise_figure_db,
            0.0..=30.0,
            " dB",
        )?;
        Ok(())
    }
}

impl Scenario {
    /// Parses and validates a scenario; `origin` names the source in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Scenario, String> {
        let de = toml::Deserializer::new(text);
        let s: Scenario = serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            let line = inner
                .span()
                .map(|sp| {
                    format!(
                        " (line {})",
                        text[..sp.start.min(text.len())].lines().count().max(1)
                    )
                })
                .unwrap_or_default();
            let msg = inner.message().replace('\n', " ");
            if path == "." || path.is_empty() {
                format!("{origin}: {msg}{line}")
            } else {
                format!("{origin}: {path}: {msg}{line}")
            }
        })?;
        s.validate().map_err(|e| format!("{origin}: {e}"))?;
        Ok(s)
    }

    /// Reads a scenario file.
    pub fn load(path: &Path) -> Result<Scenario, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read config `{}`: {e}", path.display()))?;
        Self::parse(&text, &path.display().to_string())
    }

    /// The built-in default.
    pub fn builtin() -> Scenario {
        Self::parse(DEFAULT_SCENARIO, "built-in scenario").expect("the built-in scenario is valid")
    }

    /// Checks values the type system cannot; the error names the field and what is allowed.
    pub fn validate(&self) -> Result<(), String> {
        if self.slots == 0 {
            return Err("slots: must be at least 1".into());
        }
        if let Some(r) = &self.radio {
            for (key, g) in [
                ("radio.rx_gain_db", r.rx_gain_db),
                ("radio.tx_gain_db", r.tx_gain_db),
            ] {
                if let Some(g) = g.filter(|g| !(g.is_finite() && (-30.0..=100.0).contains(g))) {
                    return Err(format!("{key}: {g} dB (allowed: -30 ..= 100)"));
                }
            }
            for (key, a) in [
                ("radio.rx_antenna", &r.rx_antenna),
                ("radio.tx_antenna", &r.tx_antenna),
            ] {
                if a.as_deref().is_some_and(|a| a.trim().is_empty()) {
                    return Err(format!(
                        "{key}: empty (omit it for the device's default port)"
                    ));
                }
            }
        }
        if self.cell.id > 1007 {
            return Err(format!(
                "cell.id: {} is out of range (allowed: 0..=1007)",
                self.cell.id
            ));
        }
        if self.cell.carriers.is_empty() {
            return Err("cell.carriers: at least one carrier is required".into());
        }
        for (i, c) in self.cell.carriers.iter().enumerate() {
            let f = |name: &str| format!("cell.carriers[{i}].{name}");
            CarrierFields {
                scs_khz: c.scs_khz,
                allowed_scs_khz: &[15, 30, 60, 120],
                bandwidth_mhz: c.bandwidth_mhz,
                antennas: c.antennas,
                duplex: c.duplex,
                tdd_pattern: c.tdd_pattern.as_deref(),
                noise_figure_db: c.noise_figure_db,
            }
            .check(f)?;
            check_band(&f("band"), &c.band, c.duplex)?;
            check_range(&f("tx_power_dbm"), c.tx_power_dbm, GNB_TX_POWER_DBM, " dBm")?;
            if !(c.center_frequency_mhz > 400.0 && c.center_frequency_mhz < 52_600.0) {
                return Err(format!(
                    "cell.carriers[{i}].center_frequency_mhz: {} MHz is outside NR FR1/FR2 (allowed: 410..52600)",
                    c.center_frequency_mhz
                ));
            }
        }
        if self.cell.carriers[0].duplex == Duplex::Sul {
            return Err("cell.carriers[0].duplex: the primary carrier cannot be a supplementary uplink (allowed: tdd, fdd)".into());
        }
        self.validate_uplink_options()?;
        if self.ues.is_empty() {
            return Err("ue: at least one [[ue]] entry is required".into());
        }
        let total: u64 = self.ues.iter().map(|u| u64::from(u.count)).sum();
        if total > MAX_UES {
            return Err(format!(
                "ue: {total} UEs in total (the sum of ue[].count; allowed: at most {MAX_UES})"
            ));
        }
        for (i, u) in self.ues.iter().enumerate() {
            let f = |name: &str| format!("ue[{i}].{name}");
            check_range(&f("count"), u.count, 1..=10_000, "")?;
            match (u.distance_m, u.path_loss_db) {
                (Some(_), Some(_)) => {
                    return Err(format!(
                        "ue[{i}]: give either distance_m or path_loss_db, not both"
                    ))
                }
                (Some(d), None) if !(1.0..=100_000.0).contains(&d) => {
                    return Err(format!("{}: {d} m (allowed: 1..=100000)", f("distance_m")))
                }
                (None, Some(pl)) if !(0.0..=200.0).contains(&pl) => {
                    return Err(format!("{}: {pl} dB (allowed: 0..=200)", f("path_loss_db")))
                }
                _ => {}
            }
            check_range(&f("antennas"), u.antennas, 1..=8, "")?;
            check_range(
                &f("max_tx_power_dbm"),
                u.max_tx_power_dbm,
                -40.0..=33.0,
                " dBm",
            )?;
        }
        let ch = &self.channel;
        check_range(
            "channel.delay_spread_ns",
            ch.delay_spread_ns,
            0.0..=10_000.0,
            "",
        )?;
        check_range("channel.speed_kmh", ch.speed_kmh, 0.0..=1_000.0, "")?;
        if let Some(snr) = ch.snr_db {
            if !(-30.0..=60.0).contains(&snr) {
                return Err(format!("channel.snr_db: {snr} dB (allowed: -30..=60)"));
            }
        }
        Ok(())
    }

    /// Checks carrier names, SUL selection, power control and traffic rates.
    fn validate_uplink_options(&self) -> Result<(), String> {
        let names: Vec<&str> = self.cell.carriers.iter().map(|c| c.name.as_str()).collect();
        for (i, n) in names.iter().enumerate() {
            if n.is_empty() || names[..i].contains(n) {
                return Err(format!(
                    "cell.carriers[{i}].name: `{n}` must be non-empty and unique"
                ));
            }
        }
        let sul_n = self
            .cell
            .carriers
            .iter()
            .filter(|c| c.duplex == Duplex::Sul)
            .count();
        if sul_n > 1 {
            return Err(format!(
                "cell.carriers: {sul_n} SUL carriers (allowed: at most one)"
            ));
        }
        match (&self.cell.sul, sul_n) {
            (Some(_), 0) => {
                return Err("cell.sul: no carrier has duplex = \"sul\" (remove [cell.sul] or add the SUL carrier)".into())
            }
            (None, 1) => {
                return Err("cell.sul: required with a SUL carrier (threshold_dbm, the rsrp-ThresholdSSB-SUL, and hysteresis)".into())
            }
            (Some(sel), _) => {
                check_range("cell.sul.threshold_dbm", sel.threshold_dbm, -156.0..=-31.0, " dBm")?;
                check_range("cell.sul.hysteresis", sel.hysteresis, 0.0..=10.0, "")?;
                if self.channel.snr_db.is_some() {
                    return Err("cell.sul: the SUL choice follows RSRP, which needs path loss; remove channel.snr_db (it fixes every UE's SNR)".into());
                }
            }
            (None, _) => {}
        }
        for (i, c) in self.cell.carriers.iter().enumerate() {
            for (key, v) in [("p0_dbm", c.p0_dbm), ("alpha", c.alpha)] {
                if v.is_some() && self.channel.snr_db.is_some() {
                    return Err(format!(
                        "cell.carriers[{i}].{key}: open-loop power control needs path loss, but channel.snr_db holds every UE's per-RE SNR fixed (remove one of them)"
                    ));
                }
            }
            if let Some(p0) = c.p0_dbm {
                check_range(
                    &format!("cell.carriers[{i}].p0_dbm"),
                    p0,
                    -202.0..=24.0,
                    " dBm",
                )?;
            }
            if let Some(a) = c.alpha {
                check_range(&format!("cell.carriers[{i}].alpha"), a, 0.0..=1.0, "")?;
            }
        }
        for (i, u) in self.ues.iter().enumerate() {
            if let Some(r) = u.rate_mbps {
                if !matches!(u.traffic, Traffic::Video | Traffic::AiUplink) {
                    return Err(format!(
                        "ue[{i}].rate_mbps: only video and ai-uplink traffic take a rate (this group is {:?})",
                        u.traffic
                    ));
                }
                check_range(
                    &format!("ue[{i}].rate_mbps"),
                    r,
                    0.001..=10_000.0,
                    " Mbit/s",
                )?;
            }
            if let Some(l) = &u.carriers {
                if l.is_empty() {
                    return Err(format!(
                        "ue[{i}].carriers: empty (omit it for every carrier)"
                    ));
                }
                for n in l {
                    if !names.contains(&n.as_str()) {
                        return Err(format!(
                            "ue[{i}].carriers: `{n}` is not a carrier (allowed: {})",
                            names.join(", ")
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    /// Whether UE group `g` may send on carrier `c`.
    pub fn ue_on_carrier(&self, g: &UeGroup, c: usize) -> bool {
        g.carriers
            .as_ref()
            .is_none_or(|l| l.contains(&self.cell.carriers[c].name))
    }

    /// Total number of UEs.
    pub fn ue_count(&self) -> u32 {
        self.ues.iter().map(|u| u.count).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_parses() {
        let s = Scenario::builtin();
        assert_eq!(s.ue_count(), 4);
        assert_eq!(s.cell.carriers[0].antennas, 4);
    }

    #[test]
    fn unknown_key_names_field() {
        let t = DEFAULT_SCENARIO.replace("antennas = 4 ", "antennas = 4\nfoo = 1 ");
        let e = Scenario::parse(&t, "x.toml").unwrap_err();
        assert!(
            e.contains("cell.carriers[0]") && e.contains("unknown field `foo`"),
            "{e}"
        );
        assert!(!e.contains('\n'));
    }

    #[test]
    fn bad_enum_lists_allowed_values() {
        let t = DEFAULT_SCENARIO.replace("duplex = \"tdd\"", "duplex = \"xdd\"");
        let e = Scenario::parse(&t, "x.toml").unwrap_err();
        assert!(
            e.contains("cell.carriers[0].duplex") && e.contains("`tdd`"),
            "{e}"
        );
    }

    #[test]
    fn range_errors_name_field_value_unit_and_bounds() {
        assert_eq!(check_range("a.b", 5, 1..=8, ""), Ok(()));
        assert_eq!(
            check_range("ue[0].max_tx_power_dbm", 40.0, -40.0..=33.0, " dBm"),
            Err("ue[0].max_tx_power_dbm: 40 dBm (allowed: -40..=33)".into())
        );
        assert!(check_range("x", f64::NAN, 0.0..=1.0, "").is_err());
    }

    #[test]
    fn bad_values_name_field_and_allowed() {
        let cases = [
            ("scs_khz = 30", "scs_khz = 45", "scs_khz"),
            ("bandwidth_mhz = 40", "bandwidth_mhz = 41", "bandwidth_mhz"),
            (
                "tdd_pattern = \"DDDSU\"",
                "tdd_pattern = \"DDDX\"",
                "tdd_pattern",
            ),
            ("count = 4", "count = 0", "ue[0].count"),
            ("snr_db = 20.0", "snr_db = 99.0", "channel.snr_db"),
            ("band = \"n78\"", "band = \"n1\"", "cell.carriers[0].band"),
            (
                "band = \"n78\"",
                "band = \"n9999\"",
                "cell.carriers[0].band",
            ),
            ("band = \"n78\"", "band = \"78\"", "cell.carriers[0].band"),
            ("band = \"n78\"", "band = \"n75\"", "cell.carriers[0].band"),
            (
                "tx_power_dbm = 46.0",
                "tx_power_dbm = 300.0",
                "cell.carriers[0].tx_power_dbm",
            ),
            (
                "count = 4",
                "count = 9000\n[[ue]]\ncount = 9000",
                "ue: 18000 UEs",
            ),
        ];
        for (from, to, field) in cases {
            let t = DEFAULT_SCENARIO.replace(from, to);
            assert_ne!(t, DEFAULT_SCENARIO, "`{from}` not in the default scenario");
            let e = Scenario::parse(&t, "x.toml").unwrap_err();
            assert!(e.contains(field) && e.contains("allowed"), "{e}");
        }
    }

    #[test]
    fn bands_are_checked_against_the_duplex() {
        assert_eq!(check_band("b", "n78", Duplex::Tdd), Ok(()));
        assert_eq!(check_band("b", "n1", Duplex::Fdd), Ok(()));
        assert_eq!(check_band("b", "n80", Duplex::Sul), Ok(()));
        assert_eq!(check_band("b", "n257", Duplex::Tdd), Ok(()));
        let e = check_band("b", "n78", Duplex::Fdd).unwrap_err();
        assert!(e.starts_with("b: `n78` is a TDD band, not FDD"), "{e}");
        for bad in ["", "n", "n+1", "n7a", "N78", "n65536"] {
            assert!(check_band("b", bad, Duplex::Tdd).is_err(), "{bad}");
        }
    }
}
