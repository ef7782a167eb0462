//! The `ranlab tags` configuration: a small TOML file of its own. Unknown
//! keys are rejected; every invalid value is one line naming the field.

use ranlab_phy::piot::conv::CodeRate;
use ranlab_phy::piot::d2r::{D2rModulation, Detection};
use ranlab_phy::piot::linecode::LineCode;
use serde::Deserialize;
use std::path::Path;

/// The built-in configuration (`ranlab tags --print-default-config`).
pub const DEFAULT_TAGS: &str = include_str!("default-tags.toml");

/// A whole `ranlab tags` configuration.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct TagsConfig {
    pub hall: HallCfg,
    pub readers: ReadersCfg,
    pub tags: TagsCfg,
    pub d2r: D2rCfg,
    pub r2d: R2dCfg,
    pub inventory: InventoryCfg,
    pub nr: NrCfg,
    pub positioning: PositioningCfg,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HallCfg {
    pub width_m: f64,
    pub length_m: f64,
    pub scenario: String,
    pub carrier_mhz: f64,
    pub reader_height_m: f64,
    pub tag_height_m: f64,
    pub shadowing: bool,
}
impl Default for HallCfg {
    fn default() -> Self {
        HallCfg {
            width_m: 50.0,
            length_m: 50.0,
            scenario: "inh-open".into(),
            carrier_mhz: 900.0,
            reader_height_m: 3.0,
            tag_height_m: 1.0,
            shadowing: true,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReadersCfg {
    pub count: usize,
    pub positions: Option<Vec<[f64; 2]>>,
    pub tx_power_dbm: f64,
    pub noise_figure_db: f64,
    pub leakage_db: f64,
    pub cfo_hz: f64,
}
impl Default for ReadersCfg {
    fn default() -> Self {
        ReadersCfg {
            count: 4,
            positions: None,
            tx_power_dbm: 30.0,
            noise_figure_db: 7.0,
            leakage_db: 60.0,
            cfo_hz: 10.0,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TagsCfg {
    pub count: usize,
    pub sensitivity_dbm: f64,
    pub reflection: f64,
    pub max_ppm: f64,
    pub jitter: f64,
    pub fast_fading_db: f64,
}
impl Default for TagsCfg {
    fn default() -> Self {
        TagsCfg {
            count: 1000,
            sensitivity_dbm: -30.0,
            reflection: 0.5,
            max_ppm: 100_000.0,
            jitter: 0.01,
            fast_fading_db: 1.0,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct D2rCfg {
    pub modulation: String,
    pub line_code: String,
    pub coding: String,
    pub repetitions: u32,
    pub chip_rate_khz: f64,
    pub subcarrier_cycles: u32,
    pub samples_per_subchip: u32,
    pub preamble_chips: usize,
}
impl Default for D2rCfg {
    fn default() -> Self {
        D2rCfg {
            modulation: "bpsk".into(),
            line_code: "manchester".into(),
            coding: "1/2".into(),
            repetitions: 1,
            chip_rate_khz: 40.0,
            subcarrier_cycles: 1,
            samples_per_subchip: 4,
            preamble_chips: 32,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct R2dCfg {
    pub chip_us: f64,
}
impl Default for R2dCfg {
    fn default() -> Self {
        R2dCfg { chip_us: 71.4 }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct InventoryCfg {
    pub initial_q: u8,
    pub c: f64,
}
impl Default for InventoryCfg {
    fn default() -> Self {
        InventoryCfg {
            initial_q: 4,
            c: 0.3,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NrCfg {
    pub slot_ms: f64,
    pub ul_prbs: u32,
    pub d2r_prbs: u32,
    pub dl_prbs: u32,
    pub r2d_prbs: u32,
}
impl Default for NrCfg {
    fn default() -> Self {
        NrCfg {
            slot_ms: 1.0,
            ul_prbs: 52,
            d2r_prbs: 2,
            dl_prbs: 52,
            r2d_prbs: 4,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PositioningCfg {
    pub survey_step_m: f64,
    pub k: usize,
}
impl Default for PositioningCfg {
    fn default() -> Self {
        PositioningCfg {
            survey_step_m: 1.0,
            k: 3,
        }
    }
}

fn range(field: &str, v: f64, lo: f64, hi: f64) -> Result<(), String> {
    if v.is_finite() && v >= lo && v <= hi {
        Ok(())
    } else {
        Err(format!(
            "{field}: {v} is out of range (allowed: {lo}..={hi})"
        ))
    }
}

impl TagsConfig {
    /// Parses and validates; `origin` names the source in errors.
    pub fn parse(text: &str, origin: &str) -> Result<TagsConfig, String> {
        let de = toml::Deserializer::new(text);
        let c: TagsConfig = serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            let msg = e.into_inner().message().replace('\n', " ");
            if path == "." || path.is_empty() {
                format!("{origin}: {msg}")
            } else {
                format!("{origin}: {path}: {msg}")
            }
        })?;
        Ok(c)
    }

    /// Reads a configuration file.
    pub fn load(path: &Path) -> Result<TagsConfig, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read config `{}`: {e}", path.display()))?;
        Self::parse(&text, &path.display().to_string())
    }

    /// Reader positions: explicit, or a regular grid (cell centres).
    pub fn reader_positions(&self) -> Vec<(f64, f64)> {
        if let Some(p) = &self.readers.positions {
            return p.iter().map(|a| (a[0], a[1])).collect();
        }
        let n = self.readers.count;
        if n == 0 {
            return Vec::new();
        }
        let cols = (n as f64).sqrt().ceil() as usize;
        let rows = n.div_ceil(cols);
        let (w, h) = (self.hall.width_m, self.hall.length_m);
        (0..n)
            .map(|i| {
                let (r, c) = (i / cols, i % cols);
                let in_row = if r == rows - 1 { n - r * cols } else { cols };
                (
                    (c as f64 + 0.5) * w / in_row as f64,
                    (r as f64 + 0.5) * h / rows as f64,
                )
            })
            .collect()
    }

    pub fn modulation(&self) -> D2rModulation {
        if self.d2r.modulation == "ook" {
            D2rModulation::Ook
        } else {
            D2rModulation::Bpsk
        }
    }
    pub fn line_code(&self) -> LineCode {
        LineCode::from_name(&self.d2r.line_code).unwrap_or(LineCode::Manchester)
    }
    pub fn coding(&self) -> Option<CodeRate> {
        match self.d2r.coding.as_str() {
            "1/3" => Some(CodeRate::R1_3),
            "1/2" => Some(CodeRate::R1_2),
            _ => None,
        }
    }
    pub fn detection(&self) -> Detection {
        Detection::Coherent
    }

    /// Checks every value; the error names the field and what is allowed.
    pub fn validate(&self) -> Result<(), String> {
        let h = &self.hall;
        range("hall.width_m", h.width_m, 2.0, 500.0)?;
        range("hall.length_m", h.length_m, 2.0, 500.0)?;
        if !matches!(h.scenario.as_str(), "inh-open" | "inh-mixed") {
            return Err(format!(
                "hall.scenario: `{}` is not allowed (allowed: inh-open, inh-mixed)",
                h.scenario
            ));
        }
        range("hall.carrier_mhz", h.carrier_mhz, 500.0, 7125.0)?;
        range("hall.reader_height_m", h.reader_height_m, 1.0, 10.0)?;
        range("hall.tag_height_m", h.tag_height_m, 0.5, 3.0)?;
        let r = &self.readers;
        if let Some(p) = &r.positions {
            if p.is_empty() {
                return Err("readers.positions: at least one reader site is needed".into());
            }
            for (i, a) in p.iter().enumerate() {
                if !(0.0..=h.width_m).contains(&a[0]) || !(0.0..=h.length_m).contains(&a[1]) {
                    return Err(format!(
                        "readers.positions[{i}]: ({}, {}) is outside the {} m x {} m hall",
                        a[0], a[1], h.width_m, h.length_m
                    ));
                }
            }
        } else if !(1..=64).contains(&r.count) {
            return Err(format!(
                "readers.count: {} is out of range (allowed: 1..=64)",
                r.count
            ));
        }
        range("readers.tx_power_dbm", r.tx_power_dbm, -10.0, 50.0)?;
        range("readers.noise_figure_db", r.noise_figure_db, 0.0, 20.0)?;
        range("readers.leakage_db", r.leakage_db, 0.0, 100.0)?;
        range("readers.cfo_hz", r.cfo_hz, 0.0, 1000.0)?;
        let t = &self.tags;
        if t.count == 0 {
            return Err("tags.count: must be at least 1 (there is nothing to inventory)".into());
        }
        if t.count > 20_000 {
            return Err(format!(
                "tags.count: {} is out of range (allowed: 1..=20000)",
                t.count
            ));
        }
        range("tags.sensitivity_dbm", t.sensitivity_dbm, -60.0, 20.0)?;
        if t.sensitivity_dbm > r.tx_power_dbm {
            return Err(format!(
                "tags.sensitivity_dbm: {} dBm is above readers.tx_power_dbm {} dBm: no tag can ever power up",
                t.sensitivity_dbm, r.tx_power_dbm
            ));
        }
        range("tags.reflection", t.reflection, 0.01, 1.0)?;
        range("tags.max_ppm", t.max_ppm, 0.0, 150_000.0)?;
        range("tags.jitter", t.jitter, 0.0, 0.05)?;
        range("tags.fast_fading_db", t.fast_fading_db, 0.0, 10.0)?;
        let d = &self.d2r;
        if !matches!(d.modulation.as_str(), "bpsk" | "ook") {
            return Err(format!(
                "d2r.modulation: `{}` is not allowed (allowed: bpsk, ook)",
                d.modulation
            ));
        }
        if LineCode::from_name(&d.line_code).is_none() {
            return Err(format!(
                "d2r.line_code: `{}` is not allowed (allowed: manchester, fm0, miller2, miller4, miller8)",
                d.line_code
            ));
        }
        if !matches!(d.coding.as_str(), "none" | "1/2" | "1/3") {
            return Err(format!(
                "d2r.coding: `{}` is not allowed (allowed: none, 1/2, 1/3)",
                d.coding
            ));
        }
        if !(1..=16).contains(&d.repetitions) {
            return Err(format!(
                "d2r.repetitions: {} is out of range (allowed: 1..=16)",
                d.repetitions
            ));
        }
        range("d2r.chip_rate_khz", d.chip_rate_khz, 0.5, 1000.0)?;
        if !(1..=8).contains(&d.subcarrier_cycles) {
            return Err(format!(
                "d2r.subcarrier_cycles: {} is out of range (allowed: 1..=8)",
                d.subcarrier_cycles
            ));
        }
        if !(2..=32).contains(&d.samples_per_subchip) {
            return Err(format!(
                "d2r.samples_per_subchip: {} is out of range (allowed: 2..=32)",
                d.samples_per_subchip
            ));
        }
        if !(16..=63).contains(&d.preamble_chips) {
            return Err(format!(
                "d2r.preamble_chips: {} is out of range (allowed: 16..=63)",
                d.preamble_chips
            ));
        }
        range("r2d.chip_us", self.r2d.chip_us, 1.0, 10_000.0)?;
        if self.inventory.initial_q > 15 {
            return Err(format!(
                "inventory.initial_q: {} is out of range (allowed: 0..=15)",
                self.inventory.initial_q
            ));
        }
        range("inventory.c", self.inventory.c, 0.1, 0.5)?;
        let n = &self.nr;
        range("nr.slot_ms", n.slot_ms, 0.0625, 1.0)?;
        if n.d2r_prbs == 0 || n.d2r_prbs > n.ul_prbs {
            return Err(format!(
                "nr.d2r_prbs: {} must be 1..=nr.ul_prbs ({})",
                n.d2r_prbs, n.ul_prbs
            ));
        }
        if n.r2d_prbs == 0 || n.r2d_prbs > n.dl_prbs {
            return Err(format!(
                "nr.r2d_prbs: {} must be 1..=nr.dl_prbs ({})",
                n.r2d_prbs, n.dl_prbs
            ));
        }
        range(
            "positioning.survey_step_m",
            self.positioning.survey_step_m,
            0.5,
            50.0,
        )?;
        if !(1..=32).contains(&self.positioning.k) {
            return Err(format!(
                "positioning.k: {} is out of range (allowed: 1..=32)",
                self.positioning.k
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_parses_validates_and_equals_the_defaults() {
        let c = TagsConfig::parse(DEFAULT_TAGS, "built-in").unwrap();
        c.validate().unwrap();
        let d = TagsConfig::default();
        assert_eq!(c.tags.count, d.tags.count);
        assert_eq!(c.readers.count, d.readers.count);
        assert_eq!(c.d2r.coding, d.d2r.coding);
        assert_eq!(
            c.reader_positions(),
            vec![(12.5, 12.5), (37.5, 12.5), (12.5, 37.5), (37.5, 37.5)]
        );
    }

    #[test]
    fn unknown_key_is_named() {
        let e = TagsConfig::parse("[tags]\ncount = 3\ncolour = 1\n", "x.toml").unwrap_err();
        assert!(e.contains("x.toml") && e.contains("colour"), "{e}");
    }
}
