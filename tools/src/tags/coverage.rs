//! `ranlab tags --coverage`: the D2R coverage gain of coded, coherent,
//! two-site joint reception over uncoded, single-site, non-coherent
//! reception, measured by simulation.
//!
//! For each receiver, the required SNR for a fixed read reliability (the
//! fraction of 96-bit tag-ID Msg3 frames whose CRC checks and whose bits are
//! right, acquisition included) is found by bisection over the per-site SNR,
//! with the full waveform chain: tag clock error (uniform in ±max_ppm) and
//! jitter, CW leakage and its cancellation, residual CFO, AWGN. SNR is
//! quoted per chip bandwidth (E_chip/N0 of the full-reflection level, i.e.
//! the received backscatter power over the noise in a bandwidth equal to the
//! chip rate). The SNR gain converts to range with the TR 38.901 InH-LOS path
//! loss over the two-way backscatter link (monostatic; the joint receivers
//! see the tag at the same distance, the best case for combining).

use super::config::TagsConfig;
use num_complex::Complex32;
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use ranlab_phy::coding::crc::CrcPoly;
use ranlab_phy::piot::conv::CodeRate;
use ranlab_phy::piot::d2r::{
    D2rConfig, D2rModulation, D2rReceiver, D2rTransmitter, Detection, SiteSoft,
};
use ranlab_phy::piot::linecode::LineCode;
use ranlab_phy::piot::tag::{backscatter_waveform, TagClock};
use ranlab_sim_channel::piot::{add_backscatter, add_leakage};
use ranlab_sim_channel::rng::{Gaussian, Purpose};

/// One receiver configuration under test.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CoverageRow {
    pub name: String,
    pub modulation: String,
    pub coding: String,
    pub detection: String,
    pub sites: usize,
    /// Required SNR per chip bandwidth at the target reliability, dB.
    pub required_snr_db: f64,
    /// Gain over the baseline (first row), dB.
    pub gain_db: f64,
    /// Airtime of the 96-bit ID frame, ms.
    pub frame_ms: f64,
    /// Gain in energy per information bit (SNR gain minus the airtime ratio), dB.
    pub energy_gain_db: f64,
    /// Monostatic D2R-limited range (InH-LOS), m.
    pub d2r_range_m: f64,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct CoverageReport {
    /// Ctrl-C stopped the run: the receivers measured so far.
    pub interrupted: bool,
    pub reliability: f64,
    pub trials_per_point: usize,
    pub rows: Vec<CoverageRow>,
    /// Range at which the tag still powers up (R2D/harvesting limit), m.
    pub power_up_range_m: f64,
    pub white_paper_gain_db: f64,
}

struct Bench {
    tx: D2rTransmitter,
    rx: D2rReceiver,
    cfg: D2rConfig,
    sites: usize,
}

impl Bench {
    fn success(
        &mut self,
        snr_sample_db: f64,
        trials: usize,
        tc: &TagsConfig,
        rng: &mut Xoshiro256PlusPlus,
        g: &mut Gaussian,
    ) -> f64 {
        let chip = 2.0 * self.cfg.subcarrier_cycles as f64 * self.cfg.samples_per_subchip;
        let cap = self.rx.capture(64, (4.0 * chip) as usize);
        let mut states = vec![0.0; self.tx.layout().subchips];
        let mut refl = vec![0.0f32; cap.len];
        let mut ys = vec![vec![Complex32::new(0.0, 0.0); cap.len]; self.sites];
        let mut softs: Vec<SiteSoft> = (0..self.sites).map(|_| self.rx.new_site_soft()).collect();
        let mut out = vec![0u8; 96];
        let mut ok = 0;
        let amp = 10f32.powf(snr_sample_db as f32 / 20.0);
        let leak = 10f32.powf(tc.readers.leakage_db as f32 / 20.0);
        let cfo = std::f64::consts::TAU * tc.readers.cfo_hz / (tc.d2r.chip_rate_khz * 1e3 * chip);
        for _ in 0..trials {
            let info: Vec<u8> = (0..96).map(|_| rng.gen_range(0..2)).collect();
            self.tx.states(&info, &mut states).expect("sized");
            let clock = TagClock {
                ppm: rng.gen_range(-tc.tags.max_ppm..=tc.tags.max_ppm.max(0.0)),
                jitter: tc.tags.jitter,
            };
            let start = cap.guard as f64 + rng.gen_range(0.0..cap.window as f64);
            let mut gs = || g.normal() as f64;
            backscatter_waveform(
                &states,
                self.cfg.samples_per_subchip,
                &clock,
                start,
                &mut gs,
                &mut refl,
            );
            for y in ys.iter_mut() {
                y.iter_mut().for_each(|v| *v = Complex32::new(0.0, 0.0));
                add_leakage(y, leak, rng.gen_range(0.0..std::f64::consts::TAU), 1e-5);
                add_backscatter(
                    y,
                    &refl,
                    Complex32::from_polar(amp, rng.gen_range(0.0..std::f32::consts::TAU)),
                    cfo * rng.gen_range(-1.0..1.0),
                );
                g.add_complex(y, 1.0);
            }
            let yr: Vec<&[Complex32]> = ys.iter().map(|y| &y[..]).collect();
            self.rx.receive(&yr, &cap, &mut softs).expect("sized");
            let refs: Vec<&SiteSoft> = softs.iter().collect();
            let o = self.rx.decode(&refs, &mut out).expect("sized");
            ok += (o.crc_ok && out == info) as usize;
        }
        ok as f64 / trials as f64
    }
}

/// InH-LOS path loss, TR 38.901 Table 7.4.1-1.
fn pl_los(d3: f64, fc_ghz: f64) -> f64 {
    32.4 + 17.3 * d3.max(1.0).log10() + 20.0 * fc_ghz.log10()
}

/// Largest d with f(d) ≥ 0 for a decreasing f, by bisection on [1, 10 km].
fn max_range(f: impl Fn(f64) -> f64) -> f64 {
    if f(1.0) < 0.0 {
        return 0.0;
    }
    let (mut lo, mut hi) = (1.0f64, 10_000.0f64);
    for _ in 0..60 {
        let m = (lo * hi).sqrt();
        if f(m) >= 0.0 {
            lo = m
        } else {
            hi = m
        }
    }
    lo
}

pub fn run(
    tc: &TagsConfig,
    seed: u64,
    reliability: f64,
    trials: usize,
) -> Result<CoverageReport, String> {
    tc.validate()?;
    let base = D2rConfig {
        modulation: D2rModulation::Ook,
        line_code: LineCode::Manchester,
        subcarrier_cycles: tc.d2r.subcarrier_cycles,
        samples_per_subchip: tc.d2r.samples_per_subchip as f64,
        coding: None,
        repetitions: 1,
        preamble_chips: tc.d2r.preamble_chips,
        max_ppm: tc.tags.max_ppm,
        max_jitter: tc.tags.jitter.max(0.002),
        crc: CrcPoly::Crc16,
        detection: Detection::NonCoherent,
    };
    let variants: Vec<(&str, D2rConfig, usize)> = vec![
        ("baseline: OOK, uncoded, non-coherent, 1 site", base, 1),
        (
            "OOK, uncoded, coherent, 1 site",
            D2rConfig {
                detection: Detection::Coherent,
                ..base
            },
            1,
        ),
        (
            "OOK, rate-1/3 code, coherent, 1 site",
            D2rConfig {
                detection: Detection::Coherent,
                coding: Some(CodeRate::R1_3),
                ..base
            },
            1,
        ),
        (
            "OOK, rate-1/3 code, coherent, 2-site joint",
            D2rConfig {
                detection: Detection::Coherent,
                coding: Some(CodeRate::R1_3),
                ..base
            },
            2,
        ),
        (
            "BPSK, rate-1/3 code, coherent, 2-site joint",
            D2rConfig {
                detection: Detection::Coherent,
                coding: Some(CodeRate::R1_3),
                modulation: D2rModulation::Bpsk,
                ..base
            },
            2,
        ),
    ];
    let chip_samples = 2.0 * base.subcarrier_cycles as f64 * base.samples_per_subchip;
    let fs = tc.d2r.chip_rate_khz * 1e3 * chip_samples;
    let fc = tc.hall.carrier_mhz / 1e3;
    let n_chip = -174.0 + 10.0 * (tc.d2r.chip_rate_khz * 1e3).log10() + tc.readers.noise_figure_db;
    let refl = 20.0 * tc.tags.reflection.log10();
    let dh = tc.hall.reader_height_m - tc.hall.tag_height_m;
    let mut rows: Vec<CoverageRow> = Vec::new();
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed ^ 0xc0);
    let mut g = Gaussian::new(seed, Purpose::Noise, 0xc0, 0, 0);
    // Ctrl-C stops between bisection steps; the receiver in progress is left out.
    let mut interrupted = false;
    'variants: for (name, cfg, sites) in variants {
        let mut b = Bench {
            tx: D2rTransmitter::new(cfg, 96).map_err(|e| e.to_string())?,
            rx: D2rReceiver::new(cfg, 96).map_err(|e| e.to_string())?,
            cfg,
            sites,
        };
        // Bisection on the per-sample SNR.
        let (mut lo, mut hi) = (-35.0f64, 30.0f64);
        for _ in 0..9 {
            if crate::interrupt::requested() {
                interrupted = true;
                break 'variants;
            }
            let m = 0.5 * (lo + hi);
            if b.success(m, trials, tc, &mut rng, &mut g) >= reliability {
                hi = m
            } else {
                lo = m
            }
        }
        let req = hi + 10.0 * chip_samples.log10();
        let frame_ms = b.tx.layout().samples(&cfg) / fs * 1e3;
        let (gain, egain) = match rows.first() {
            Some(r0) => (
                r0.required_snr_db - req,
                r0.required_snr_db - req - 10.0 * (frame_ms / r0.frame_ms).log10(),
            ),
            None => (0.0, 0.0),
        };
        let range = max_range(|d| {
            tc.readers.tx_power_dbm - 2.0 * pl_los(d.hypot(dh), fc) + refl - n_chip - req
        });
        rows.push(CoverageRow {
            name: name.into(),
            modulation: format!("{:?}", cfg.modulation).to_lowercase(),
            coding: cfg.coding.map_or("none".into(), |r| format!("{r:?}")),
            detection: format!("{:?}", cfg.detection).to_lowercase(),
            sites,
            required_snr_db: req,
            gain_db: gain,
            frame_ms,
            energy_gain_db: egain,
            d2r_range_m: range,
        });
    }
    let power_up =
        max_range(|d| tc.readers.tx_power_dbm - pl_los(d.hypot(dh), fc) - tc.tags.sensitivity_dbm);
    Ok(CoverageReport {
        interrupted,
        reliability,
        trials_per_point: trials,
        rows,
        power_up_range_m: power_up,
        white_paper_gain_db: 20.0,
    })
}
