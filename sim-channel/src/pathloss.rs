//! Large-scale propagation, TR 38.901 §7.4: path loss (Table 7.4.1-1), shadow fading
//! standard deviations (same table), LOS probability (Table 7.4.2-1), and the link budget
//! that turns a UE's transmit power, the coupling loss and the gNB noise figure into SNR.
//!
//! Conventions: `f_c` in Hz at the API, in GHz inside the formulas as the table writes them;
//! `d_3D = sqrt(d_2D² + (h_BS − h_UT)²)`; breakpoint `d'_BP = 4 h'_BS h'_UT f_c / c` with
//! effective heights `h' = h − h_E`, `h_E = 1 m` (the table's value for UMi, and for UMa
//! when `h_UT < 13 m`; UMa UEs above 13 m are outside this implementation and rejected).
//! Shadow fading is log-normal with the table's σ_SF, drawn once per link from its own
//! seeded stream (spatial correlation of shadowing between UEs is not modelled).

use crate::rng::{stream_rng, uniform, Gaussian, Purpose};
use crate::{check_range, ChannelError, SPEED_OF_LIGHT};

/// Deployment scenario of TR 38.901 §7.2.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    /// Urban macro (h_BS = 25 m).
    UMa,
    /// Urban micro street canyon (h_BS = 10 m).
    UMi,
    /// Indoor hotspot, mixed office (h_BS = 3 m); LOS probability of the mixed office.
    InHMixed,
    /// Indoor hotspot, open office (h_BS = 3 m); LOS probability of the open office.
    InHOpen,
}

impl Scenario {
    /// The standard's default BS height, m.
    pub fn default_h_bs(self) -> f64 {
        match self {
            Scenario::UMa => 25.0,
            Scenario::UMi => 10.0,
            Scenario::InHMixed | Scenario::InHOpen => 3.0,
        }
    }
    /// Typical UE height, m (1.5 m outdoors, 1 m indoors).
    pub fn default_h_ut(self) -> f64 {
        match self {
            Scenario::UMa | Scenario::UMi => 1.5,
            Scenario::InHMixed | Scenario::InHOpen => 1.0,
        }
    }
}

/// Line-of-sight state of a link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LosState {
    /// Line of sight.
    Los,
    /// Non line of sight.
    Nlos,
}

/// Geometry and carrier of a link.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Geometry {
    /// Scenario.
    pub scenario: Scenario,
    /// Horizontal BS–UE distance, m.
    pub d2d_m: f64,
    /// Carrier frequency, Hz.
    pub fc_hz: f64,
    /// BS antenna height, m.
    pub h_bs_m: f64,
    /// UE antenna height, m.
    pub h_ut_m: f64,
}

impl Geometry {
    /// A link at `d2d_m` with the scenario's default heights.
    pub fn new(scenario: Scenario, d2d_m: f64, fc_hz: f64) -> Self {
        Self {
            scenario,
            d2d_m,
            fc_hz,
            h_bs_m: scenario.default_h_bs(),
            h_ut_m: scenario.default_h_ut(),
        }
    }

    /// 3D distance, m.
    pub fn d3d_m(&self) -> f64 {
        (self.d2d_m.powi(2) + (self.h_bs_m - self.h_ut_m).powi(2)).sqrt()
    }

    fn validate(&self) -> Result<(), ChannelError> {
        check_range("fc_hz", self.fc_hz, 0.5e9, 100e9, "0.5..=100 GHz")?;
        match self.scenario {
            Scenario::UMa => {
                check_range("d2d_m", self.d2d_m, 10.0, 5000.0, "10..=5000 m for UMa")?;
                check_range("h_ut_m", self.h_ut_m, 1.5, 13.0, "1.5..=13 m for UMa")?;
                check_range("h_bs_m", self.h_bs_m, 10.0, 100.0, "10..=100 m")?;
            }
            Scenario::UMi => {
                check_range("d2d_m", self.d2d_m, 10.0, 5000.0, "10..=5000 m for UMi")?;
                check_range("h_ut_m", self.h_ut_m, 1.5, 22.5, "1.5..=22.5 m for UMi")?;
                check_range("h_bs_m", self.h_bs_m, 3.0, 100.0, "3..=100 m")?;
            }
            Scenario::InHMixed | Scenario::InHOpen => {
                check_range("d3d_m", self.d3d_m(), 1.0, 150.0, "1..=150 m for InH")?;
                check_range("h_ut_m", self.h_ut_m, 0.5, 3.0, "0.5..=3 m for InH")?;
                check_range("h_bs_m", self.h_bs_m, 1.0, 10.0, "1..=10 m for InH")?;
            }
        }
        Ok(())
    }
}

/// Path loss in dB, TR 38.901 Table 7.4.1-1.
pub fn path_loss_db(g: &Geometry, los: LosState) -> Result<f64, ChannelError> {
    g.validate()?;
    let fc = g.fc_hz / 1e9;
    let d3 = g.d3d_m();
    let lf = 20.0 * fc.log10();
    let dbp = 4.0 * (g.h_bs_m - 1.0) * (g.h_ut_m - 1.0) * g.fc_hz / SPEED_OF_LIGHT;
    let dh2 = (g.h_bs_m - g.h_ut_m).powi(2);
    let pl_los = match g.scenario {
        Scenario::UMa => {
            if g.d2d_m <= dbp {
                28.0 + 22.0 * d3.log10() + lf
            } else {
                28.0 + 40.0 * d3.log10() + lf - 9.0 * (dbp * dbp + dh2).log10()
            }
        }
        Scenario::UMi => {
            if g.d2d_m <= dbp {
                32.4 + 21.0 * d3.log10() + lf
            } else {
                32.4 + 40.0 * d3.log10() + lf - 9.5 * (dbp * dbp + dh2).log10()
            }
        }
        Scenario::InHMixed | Scenario::InHOpen => 32.4 + 17.3 * d3.log10() + lf,
    };
    Ok(match los {
        LosState::Los => pl_los,
        LosState::Nlos => {
            let pl_n = match g.scenario {
                Scenario::UMa => 13.54 + 39.08 * d3.log10() + lf - 0.6 * (g.h_ut_m - 1.5),
                Scenario::UMi => {
                    35.3 * d3.log10() + 22.4 + 21.3 * fc.log10() - 0.3 * (g.h_ut_m - 1.5)
                }
                Scenario::InHMixed | Scenario::InHOpen => {
                    38.3 * d3.log10() + 17.30 + 24.9 * fc.log10()
                }
            };
            pl_los.max(pl_n)
        }
    })
}

/// Shadow-fading standard deviation σ_SF, dB (Table 7.4.1-1).
pub fn shadow_sigma_db(s: Scenario, los: LosState) -> f64 {
    match (s, los) {
        (Scenario::UMa, LosState::Los) => 4.0,
        (Scenario::UMa, LosState::Nlos) => 6.0,
        (Scenario::UMi, LosState::Los) => 4.0,
        (Scenario::UMi, LosState::Nlos) => 7.82,
        (_, LosState::Los) => 3.0,
        (_, LosState::Nlos) => 8.03,
    }
}

/// LOS probability, TR 38.901 Table 7.4.2-1 (outdoor UEs; `d2d_m` is the outdoor distance).
pub fn los_probability(g: &Geometry) -> f64 {
    let d = g.d2d_m;
    match g.scenario {
        Scenario::UMa => {
            if d <= 18.0 {
                1.0
            } else {
                let c = if g.h_ut_m <= 13.0 {
                    0.0
                } else {
                    ((g.h_ut_m - 13.0) / 10.0).powf(1.5)
                };
                (18.0 / d + (-d / 63.0).exp() * (1.0 - 18.0 / d))
                    * (1.0 + c * 1.25 * (d / 100.0).powi(3) * (-d / 150.0).exp())
            }
        }
        Scenario::UMi => {
            if d <= 18.0 {
                1.0
            } else {
                18.0 / d + (-d / 36.0).exp() * (1.0 - 18.0 / d)
            }
        }
        Scenario::InHMixed => {
            if d <= 1.2 {
                1.0
            } else if d < 6.5 {
                (-(d - 1.2) / 4.7).exp()
            } else {
                (-(d - 6.5) / 32.6).exp() * 0.32
            }
        }
        Scenario::InHOpen => {
            if d <= 5.0 {
                1.0
            } else if d <= 49.0 {
                (-(d - 5.0) / 70.8).exp()
            } else {
                (-(d - 49.0) / 211.7).exp() * 0.54
            }
        }
    }
}

/// How the LOS state of a link is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LosMode {
    /// Drawn with the probability of Table 7.4.2-1.
    Random,
    /// Given explicitly.
    Fixed(LosState),
}

/// The large-scale state of one link.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LargeScale {
    /// LOS state used.
    pub los: LosState,
    /// Path loss, dB.
    pub path_loss_db: f64,
    /// Shadow fading drawn, dB (adds to the loss).
    pub shadow_db: f64,
}

impl LargeScale {
    /// Draws the LOS state (if random) and shadowing of link `link` under `seed`.
    pub fn draw(
        g: &Geometry,
        mode: LosMode,
        shadowing: bool,
        seed: u64,
        link: u64,
    ) -> Result<Self, ChannelError> {
        let mut rng = stream_rng(seed, Purpose::LargeScale, link, 0, 0);
        let los = match mode {
            LosMode::Fixed(s) => s,
            LosMode::Random => {
                if uniform(&mut rng) < los_probability(g) {
                    LosState::Los
                } else {
                    LosState::Nlos
                }
            }
        };
        let pl = path_loss_db(g, los)?;
        let shadow_db = if shadowing {
            let mut gs = Gaussian::new(seed, Purpose::LargeScale, link, 1, 0);
            gs.normal() as f64 * shadow_sigma_db(g.scenario, los)
        } else {
            0.0
        };
        Ok(Self {
            los,
            path_loss_db: pl,
            shadow_db,
        })
    }

    /// Total coupling loss (path loss + shadowing), dB.
    pub fn loss_db(&self) -> f64 {
        self.path_loss_db + self.shadow_db
    }
}

/// Thermal noise density at 290 K, dBm/Hz.
pub const THERMAL_DBM_PER_HZ: f64 = -174.0;

/// Uplink link budget: the UE power limit and the gNB noise figure.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LinkBudget {
    /// Maximum UE transmit power, dBm (23 dBm for power class 3).
    pub ue_max_power_dbm: f64,
    /// gNB receiver noise figure, dB.
    pub gnb_noise_figure_db: f64,
    /// Antenna gains (gNB + UE) minus other losses, dB.
    pub antenna_gain_db: f64,
}

impl LinkBudget {
    /// Received power, dBm, for a requested transmit power (clipped to the UE maximum).
    pub fn rx_power_dbm(&self, requested_tx_dbm: f64, loss_db: f64) -> f64 {
        requested_tx_dbm.min(self.ue_max_power_dbm) + self.antenna_gain_db - loss_db
    }

    /// Noise power in `bandwidth_hz`, dBm: `−174 + 10 log10 B + NF`.
    pub fn noise_dbm(&self, bandwidth_hz: f64) -> f64 {
        THERMAL_DBM_PER_HZ + 10.0 * bandwidth_hz.log10() + self.gnb_noise_figure_db
    }

    /// Per-RE Es/N0 at one gNB antenna, dB, when the UE spreads its power (the requested
    /// power, clipped to the maximum) evenly over `n_subcarriers` of spacing `scs_hz`:
    /// `Es/N0 = P_tx − 10 log10 N_sc + G − L − (−174 + 10 log10 Δf + NF)`.
    pub fn snr_per_re_db(
        &self,
        requested_tx_dbm: f64,
        loss_db: f64,
        n_subcarriers: usize,
        scs_hz: f64,
    ) -> f64 {
        self.rx_power_dbm(requested_tx_dbm, loss_db)
            - 10.0 * (n_subcarriers.max(1) as f64).log10()
            - self.noise_dbm(scs_hz)
    }
}

impl Default for LinkBudget {
    fn default() -> Self {
        Self {
            ue_max_power_dbm: 23.0,
            gnb_noise_figure_db: 5.0,
            antenna_gain_db: 0.0,
        }
    }
}
