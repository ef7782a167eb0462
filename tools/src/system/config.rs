//! The system-level configuration (`ranlab system --config FILE`).
//!
//! A TOML file of its own, because a system study needs more than a link
//! (layout, scheduler, pairing, SUL), but it reuses the loopback scenario's
//! vocabulary: carriers with `duplex = "tdd" | "fdd" | "sul"`, the NR
//! bandwidth table, `traffic` and `qos_class` names. Unknown keys are
//! rejected; every error is one line naming the field and the allowed values.

use crate::scenario::{
    check_range, CarrierFields, Duplex, QosClass, Traffic, GNB_TX_POWER_DBM, MAX_UES,
};
use serde::Deserialize;

/// A system-level study.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SystemConfig {
    /// Label for reports.
    #[serde(default = "default_name")]
    pub name: String,
    /// Slots to simulate (of the finest numerology).
    #[serde(default = "default_slots")]
    pub slots: u64,
    /// Seed of every random stream.
    #[serde(default = "one_u64")]
    pub seed: u64,
    /// Scheduling policy: rr, pf, qos.
    #[serde(default = "default_sched")]
    pub scheduler: String,
    /// Target BLER of first transmissions.
    #[serde(default = "default_bler")]
    pub target_bler: f64,
    /// Maximum HARQ transmissions per transport block.
    #[serde(default = "default_harq")]
    pub max_harq_tx: u8,
    /// Most UEs per carrier per slot.
    #[serde(default = "default_ues_per_slot")]
    pub ues_per_slot: usize,
    /// Simulate each UE alone in its own copy of the cell (single-user studies).
    #[serde(default)]
    pub isolated_ues: bool,
    /// Layout and propagation.
    #[serde(default)]
    pub layout: Layout,
    /// Link abstraction.
    #[serde(default)]
    pub link: Link,
    /// MU-MIMO pairing (absent: single-user MIMO only).
    #[serde(default)]
    pub mu_mimo: Option<MuMimo>,
    /// Supplementary uplink selection (needs a carrier with `duplex = "sul"`).
    #[serde(default)]
    pub sul: Option<Sul>,
    /// Carriers; the first is the primary (it carries the SSB for RSRP).
    #[serde(rename = "carrier")]
    pub carriers: Vec<SysCarrier>,
    /// UE groups.
    #[serde(rename = "ue")]
    pub ues: Vec<SysUe>,
}

fn default_name() -> String {
    "system".into()
}
fn default_slots() -> u64 {
    2000
}
fn one_u64() -> u64 {
    1
}
fn default_sched() -> String {
    "pf".into()
}
fn default_bler() -> f64 {
    0.1
}
fn default_harq() -> u8 {
    4
}
fn default_ues_per_slot() -> usize {
    16
}

/// Cell layout and propagation.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Layout {
    /// TR 38.901 scenario: uma, umi.
    #[serde(default = "default_scenario")]
    pub scenario: String,
    /// LOS state: random (Table 7.4.2-1), los, nlos.
    #[serde(default = "default_los")]
    pub los: String,
    /// Log-normal shadowing.
    #[serde(default = "yes")]
    pub shadowing: bool,
    /// RMS delay spread for frequency-selective fading, ns (0: flat).
    #[serde(default = "default_ds")]
    pub delay_spread_ns: f64,
    /// UE speed, km/h (time variation of the fading).
    #[serde(default = "default_speed")]
    pub speed_kmh: f64,
    /// Angular spread around each UE's direction, degrees (MU-MIMO correlation).
    #[serde(default = "default_as")]
    pub angular_spread_deg: f64,
    /// Sector half-width: UEs are placed at azimuths within +-this, degrees.
    #[serde(default = "default_sector")]
    pub sector_deg: f64,
}

impl Default for Layout {
    fn default() -> Self {
        Layout {
            scenario: default_scenario(),
            los: default_los(),
            shadowing: true,
            delay_spread_ns: default_ds(),
            speed_kmh: default_speed(),
            angular_spread_deg: default_as(),
            sector_deg: default_sector(),
        }
    }
}
fn default_scenario() -> String {
    "uma".into()
}
fn default_los() -> String {
    "random".into()
}
fn yes() -> bool {
    true
}
fn default_ds() -> f64 {
    300.0
}
fn default_speed() -> f64 {
    3.0
}
fn default_as() -> f64 {
    5.0
}
fn default_sector() -> f64 {
    60.0
}

/// Link abstraction settings.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Link {
    /// A BLER table file (the format of `ranlab bler-table`); default: the shipped one.
    #[serde(default)]
    pub bler_table: Option<String>,
}

/// MU-MIMO pairing.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MuMimo {
    /// Largest correlation between co-scheduled UEs, 0..=1.
    #[serde(default = "default_corr")]
    pub corr_threshold: f32,
    /// Most layers per PRB group.
    #[serde(default = "default_cap")]
    pub layer_cap: u8,
    /// PRB groups per carrier.
    #[serde(default = "default_groups")]
    pub prb_groups: u16,
}
fn default_corr() -> f32 {
    0.3
}
fn default_cap() -> u8 {
    8
}
fn default_groups() -> u16 {
    4
}

/// SUL selection.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sul {
    /// rsrp-ThresholdSSB-SUL, dBm (TS 38.321 §5.1.1), within the SS-RSRP
    /// reporting range −156..=−31 dBm (TS 38.133 §10.1.6.1, the RSRP-Range of
    /// TS 38.331).
    pub threshold_dbm: f32,
    /// Relative throughput margin to switch (0.2: the other carrier must
    /// promise 20 % more), 0..=10; a ratio, not dB.
    #[serde(default = "default_hyst")]
    pub hysteresis: f32,
}
fn default_hyst() -> f32 {
    0.2
}

/// A carrier.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SysCarrier {
    /// Name in reports (`sul` for a supplementary uplink is customary).
    pub name: String,
    /// tdd, fdd or sul.
    pub duplex: Duplex,
    /// Centre frequency, MHz.
    pub center_frequency_mhz: f64,
    /// Channel bandwidth, MHz.
    pub bandwidth_mhz: u32,
    /// Subcarrier spacing, kHz (15 or 30).
    pub scs_khz: u32,
    /// TDD pattern (D, U, S per slot).
    #[serde(default)]
    pub tdd_pattern: Option<String>,
    /// gNB receive antennas.
    pub antennas: u16,
    /// gNB transmit power, dBm (RSRP of the primary carrier).
    #[serde(default = "default_gnb_power")]
    pub tx_power_dbm: f64,
    /// gNB noise figure, dB.
    #[serde(default = "default_nf")]
    pub noise_figure_db: f64,
    /// Open-loop power control P0 per PRB, dBm.
    #[serde(default = "default_p0")]
    pub p0_dbm: f32,
    /// Path-loss compensation alpha.
    #[serde(default = "default_alpha")]
    pub alpha: f32,
}
fn default_gnb_power() -> f64 {
    46.0
}
fn default_nf() -> f64 {
    5.0
}
fn default_p0() -> f32 {
    -90.0
}
fn default_alpha() -> f32 {
    0.8
}

/// A group of UEs.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SysUe {
    /// UEs per distance.
    #[serde(default = "one_u32")]
    pub count: u32,
    /// A fixed distance, m.
    #[serde(default)]
    pub distance_m: Option<f64>,
    /// One set of `count` UEs at each of these distances, m.
    #[serde(default)]
    pub distances_m: Option<Vec<f64>>,
    /// Uniformly over the area between these distances, m.
    #[serde(default)]
    pub distance_range_m: Option<[f64; 2]>,
    /// Maximum transmit power, dBm.
    #[serde(default = "default_ue_power")]
    pub max_tx_power_dbm: f32,
    /// Traffic model.
    #[serde(default = "default_traffic")]
    pub traffic: Traffic,
    /// Mean rate for ai-uplink and video, Mbit/s; report size in bytes x 8 / period for IoT.
    #[serde(default)]
    pub rate_mbps: Option<f64>,
    /// QoS class.
    #[serde(default = "default_qos")]
    pub qos_class: QosClass,
    /// Carriers the UE may use (names); default all.
    #[serde(default)]
    pub carriers: Option<Vec<String>>,
}
fn one_u32() -> u32 {
    1
}
fn default_ue_power() -> f32 {
    23.0
}
fn default_traffic() -> Traffic {
    Traffic::FullBuffer
}
fn default_qos() -> QosClass {
    QosClass::BestEffort
}

impl SystemConfig {
    /// Parses and validates; errors are one line naming the field.
    pub fn parse(text: &str, origin: &str) -> Result<SystemConfig, String> {
        let de = toml::Deserializer::new(text);
        let c: SystemConfig = serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            let msg = inner.message().replace('\n', " ");
            if path == "." || path.is_empty() {
                format!("{origin}: {msg}")
            } else {
                format!("{origin}: {path}: {msg}")
            }
        })?;
        c.validate().map_err(|e| format!("{origin}: {e}"))?;
        Ok(c)
    }

    /// The system study of a waveform scenario (`ranlab loopback`'s
    /// format): the same carriers, UEs, traffic, QoS classes, scheduler and
    /// SUL selection, with the link abstraction in place of waveforms. A
    /// key the abstraction cannot honour is an error naming it; `notes`
    /// says what the abstraction models differently.
    pub fn from_scenario(
        sc: &crate::scenario::Scenario,
        notes: &mut Vec<String>,
    ) -> Result<SystemConfig, String> {
        if sc.channel.snr_db.is_some() {
            return Err("channel.snr_db: the system study derives every SNR from path loss (give the UEs distance_m instead)".into());
        }
        if sc.radio.is_some() {
            notes.push("[radio]: board settings play no part in the system study".into());
        }
        notes.push(format!(
            "channel.model = {}: the link abstraction fades with its own exponential delay profile at delay_spread_ns and speed_kmh (TR 38.901 UMa NLOS path loss, as in loopback; no shadowing)",
            sc.channel.model.name()
        ));
        let mut ues = Vec::with_capacity(sc.ues.len());
        for (i, g) in sc.ues.iter().enumerate() {
            if g.path_loss_db.is_some() {
                return Err(format!("ue[{i}].path_loss_db: the system study places UEs by distance (give distance_m)"));
            }
            if g.antennas > 1 {
                return Err(format!(
                    "ue[{i}].antennas = {}: the system study models single-layer UEs",
                    g.antennas
                ));
            }
            ues.push(SysUe {
                count: g.count,
                distance_m: Some(g.distance_m.unwrap_or(100.0)),
                distances_m: None,
                distance_range_m: None,
                max_tx_power_dbm: g.max_tx_power_dbm as f32,
                traffic: g.traffic,
                rate_mbps: g.rate_mbps,
                qos_class: g.qos_class,
                carriers: g.carriers.clone(),
            });
        }
        let cfg = SystemConfig {
            name: sc.name.clone(),
            slots: sc.slots,
            seed: sc.channel.seed,
            scheduler: match sc.cell.scheduler {
                ranlab_sched::Policy::RoundRobin => "rr",
                ranlab_sched::Policy::ProportionalFair => "pf",
                ranlab_sched::Policy::Qos => "qos",
            }
            .into(),
            target_bler: default_bler(),
            max_harq_tx: default_harq(),
            ues_per_slot: 16,
            isolated_ues: false,
            layout: Layout {
                scenario: "uma".into(),
                los: "nlos".into(),
                shadowing: false,
                delay_spread_ns: sc.channel.delay_spread_ns,
                speed_kmh: sc.channel.speed_kmh,
                ..Layout::default()
            },
            link: Link::default(),
            mu_mimo: None,
            sul: sc.cell.sul.map(|s| Sul {
                threshold_dbm: s.threshold_dbm as f32,
                hysteresis: s.hysteresis as f32,
            }),
            carriers: sc
                .cell
                .carriers
                .iter()
                .map(|c| SysCarrier {
                    name: c.name.clone(),
                    duplex: c.duplex,
                    center_frequency_mhz: c.center_frequency_mhz,
                    bandwidth_mhz: c.bandwidth_mhz,
                    scs_khz: c.scs_khz,
                    tdd_pattern: c.tdd_pattern.clone(),
                    antennas: c.antennas as u16,
                    tx_power_dbm: c.tx_power_dbm,
                    noise_figure_db: c.noise_figure_db,
                    p0_dbm: c.p0_dbm.unwrap_or(crate::scenario::DEFAULT_P0_DBM) as f32,
                    alpha: c.alpha.unwrap_or(1.0) as f32,
                })
                .collect(),
            ues,
        };
        cfg.validate()?;
        Ok(cfg)
    }

    /// Checks the values.
    pub fn validate(&self) -> Result<(), String> {
        check_range("slots", self.slots, 1..=10_000_000, "")?;
        if !["rr", "pf", "qos"].contains(&self.scheduler.as_str()) {
            return Err(format!(
                "scheduler: `{}` (allowed: rr, pf, qos)",
                self.scheduler
            ));
        }
        check_range("target_bler", self.target_bler, 0.001..=0.5, "")?;
        check_range("max_harq_tx", self.max_harq_tx, 1..=8, "")?;
        check_range("ues_per_slot", self.ues_per_slot, 1..=64, "")?;
        let l = &self.layout;
        if !["uma", "umi"].contains(&l.scenario.as_str()) {
            return Err(format!(
                "layout.scenario: `{}` (allowed: uma, umi)",
                l.scenario
            ));
        }
        if !["random", "los", "nlos"].contains(&l.los.as_str()) {
            return Err(format!(
                "layout.los: `{}` (allowed: random, los, nlos)",
                l.los
            ));
        }
        check_range(
            "layout.delay_spread_ns",
            l.delay_spread_ns,
            0.0..=5000.0,
            "",
        )?;
        check_range("layout.speed_kmh", l.speed_kmh, 0.0..=500.0, "")?;
        check_range(
            "layout.angular_spread_deg",
            l.angular_spread_deg,
            0.0..=60.0,
            "",
        )?;
        check_range("layout.sector_deg", l.sector_deg, 0.0..=180.0, "")?;
        if let Some(m) = &self.mu_mimo {
            check_range("mu_mimo.corr_threshold", m.corr_threshold, 0.0..=1.0, "")?;
            check_range("mu_mimo.layer_cap", m.layer_cap, 1..=12, "")?;
            check_range("mu_mimo.prb_groups", m.prb_groups, 1..=64, "")?;
        }
        if self.carriers.is_empty() {
            return Err("carrier: at least one [[carrier]] is required".into());
        }
        if self.carriers.len() > 8 {
            return Err("carrier: at most 8 carriers".into());
        }
        for (i, c) in self.carriers.iter().enumerate() {
            let f = |n: &str| format!("carrier[{i}].{n}");
            if self.carriers[..i].iter().any(|o| o.name == c.name) {
                return Err(format!(
                    "{}: `{}` is used twice (names must be unique)",
                    f("name"),
                    c.name
                ));
            }
            CarrierFields {
                scs_khz: c.scs_khz,
                allowed_scs_khz: &[15, 30],
                bandwidth_mhz: c.bandwidth_mhz,
                antennas: c.antennas as u32,
                duplex: c.duplex,
                tdd_pattern: c.tdd_pattern.as_deref(),
                noise_figure_db: c.noise_figure_db,
            }
            .check(f)?;
            if !(500.0..=7125.0).contains(&c.center_frequency_mhz) {
                return Err(format!(
                    "{}: {} MHz (allowed: 500..=7125, FR1 above the path-loss model's 0.5 GHz)",
                    f("center_frequency_mhz"),
                    c.center_frequency_mhz
                ));
            }
            check_range(&f("tx_power_dbm"), c.tx_power_dbm, GNB_TX_POWER_DBM, " dBm")?;
            check_range(&f("p0_dbm"), c.p0_dbm, -130.0..=0.0, " dBm")?;
            check_range(&f("alpha"), c.alpha, 0.0..=1.0, "")?;
        }
        if self.carriers[0].duplex == Duplex::Sul {
            return Err("carrier[0].duplex: the primary carrier cannot be a supplementary uplink (allowed: tdd, fdd)".into());
        }
        let n_sul = self
            .carriers
            .iter()
            .filter(|c| c.duplex == Duplex::Sul)
            .count();
        if n_sul > 1 {
            return Err("carrier: at most one carrier with duplex = \"sul\"".into());
        }
        if self.ues.is_empty() {
            return Err("ue: at least one [[ue]] is required".into());
        }
        // count UEs at each of distances_m: the product is what gets allocated.
        let total: u64 = self
            .ues
            .iter()
            .map(|u| {
                let places = u.distances_m.as_ref().map_or(1, |d| d.len().max(1)) as u64;
                u64::from(u.count).saturating_mul(places)
            })
            .fold(0u64, u64::saturating_add);
        if total > MAX_UES {
            return Err(format!(
                "ue: {total} UEs in total (ue[].count x the entries of ue[].distances_m; allowed: at most {MAX_UES})"
            ));
        }
        for (i, u) in self.ues.iter().enumerate() {
            let f = |n: &str| format!("ue[{i}].{n}");
            check_range(&f("count"), u.count, 1..=2000, "")?;
            let given = u.distance_m.is_some() as u8
                + u.distances_m.is_some() as u8
                + u.distance_range_m.is_some() as u8;
            if given != 1 {
                return Err(format!(
                    "ue[{i}]: give exactly one of distance_m, distances_m, distance_range_m"
                ));
            }
            let ok = |d: f64| (10.0..=5000.0).contains(&d);
            let ds: Vec<f64> = u
                .distance_m
                .into_iter()
                .chain(u.distances_m.clone().unwrap_or_default())
                .chain(u.distance_range_m.map(|r| r.to_vec()).unwrap_or_default())
                .collect();
            if ds.is_empty() || !ds.iter().all(|&d| ok(d)) {
                return Err(format!(
                    "{}: {ds:?} m (allowed: 10..=5000, the TR 38.901 UMa/UMi range)",
                    f("distance_m")
                ));
            }
            if let Some([a, b]) = u.distance_range_m {
                if a >= b {
                    return Err(format!(
                        "{}: [{a}, {b}] (allowed: [min, max] with min < max)",
                        f("distance_range_m")
                    ));
                }
            }
            check_range(
                &f("max_tx_power_dbm"),
                u.max_tx_power_dbm,
                -40.0..=33.0,
                " dBm",
            )?;
            if let Some(r) = u.rate_mbps {
                if !(0.001..=10_000.0).contains(&r) {
                    return Err(format!("{}: {r} (allowed: 0.001..=10000)", f("rate_mbps")));
                }
            }
            if let Some(cs) = &u.carriers {
                for n in cs {
                    if !self.carriers.iter().any(|c| &c.name == n) {
                        let names: Vec<&str> =
                            self.carriers.iter().map(|c| c.name.as_str()).collect();
                        return Err(format!(
                            "{}: `{n}` (allowed: {})",
                            f("carriers"),
                            names.join(", ")
                        ));
                    }
                }
            }
        }
        if let Some(sul) = &self.sul {
            if n_sul == 0 {
                return Err("sul: needs a [[carrier]] with duplex = \"sul\"".into());
            }
            check_range(
                "sul.threshold_dbm",
                sul.threshold_dbm,
                -156.0..=-31.0,
                " dBm",
            )?;
            check_range("sul.hysteresis", sul.hysteresis, 0.0..=10.0, "")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: &str = r#"
[[carrier]]
name = "n78"
duplex = "tdd"
center_frequency_mhz = 3500.0
bandwidth_mhz = 100
scs_khz = 30
tdd_pattern = "DDDSU"
antennas = 4

[[ue]]
distance_m = 200.0
"#;

    #[test]
    fn minimal_parses_and_errors_name_fields() {
        SystemConfig::parse(MIN, "x.toml").unwrap();
        for (from, to, needle) in [
            (
                "bandwidth_mhz = 100",
                "bandwidth_mhz = 101",
                "carrier[0].bandwidth_mhz",
            ),
            ("duplex = \"tdd\"", "duplex = \"xdd\"", "carrier[0].duplex"),
            ("distance_m = 200.0", "distance_m = 2.0", "ue[0].distance_m"),
            (
                "distance_m = 200.0",
                "distance_m = 200.0\nwarp = 1",
                "unknown field `warp`",
            ),
            ("[[ue]]", "scheduler = \"edf\"\n[[ue]]", "scheduler"),
            (
                "antennas = 4",
                "antennas = 4\ntx_power_dbm = 99.0",
                "carrier[0].tx_power_dbm: 99 dBm (allowed: -30..=60)",
            ),
            (
                "distance_m = 200.0",
                "count = 2000\ndistances_m = [100.0, 200.0, 300.0, 400.0, 500.0, 600.0]",
                "ue: 12000 UEs in total",
            ),
        ] {
            let e = SystemConfig::parse(&MIN.replace(from, to), "x.toml").unwrap_err();
            assert!(e.contains(needle), "{e}");
            assert!(!e.contains('\n'), "{e}");
        }
        let e = SystemConfig::parse(&format!("scheduler = \"edf\"\n{MIN}"), "x.toml").unwrap_err();
        assert!(
            e.contains("scheduler") && e.contains("allowed: rr, pf, qos"),
            "{e}"
        );
    }
}
