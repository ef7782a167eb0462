//! The passive-IoT channel: an indoor hall with several reader sites, and the
//! synthesis of what a reader site receives while tags backscatter.
//!
//! Large scale: TR 38.901 InH path loss (Table 7.4.1-1, via [`crate::pathloss`]),
//! the InH LOS probability (Table 7.4.2-1), and shadow fading with its σ_SF.
//! Unlike [`crate::pathloss::LargeScale`], which draws shadowing once per link,
//! here shadowing and the LOS state are *spatially consistent* fields over
//! the hall (one per site), as TR 38.901 §7.6.3.1 asks for when positions
//! matter: a site survey and a tag at the same spot see the same shadowing.
//! Each field is Gaussian with exponential-like correlation, built on a grid
//! by separable first-order (AR(1)) filtering along x and y (correlation
//! ρ^{|Δx|}·ρ^{|Δy|}, ρ = e^{−step/d_corr}) and read by bilinear interpolation.
//! Correlation distances: shadowing 10 m in LOS and 6 m in NLOS (TR 38.901
//! Table 7.5-6, InH); the LOS state's 5 m is our assumption. The LOS state at
//! a point is LOS when Φ(field) < P_LOS(d_2D), which keeps the marginal
//! probability of Table 7.4.2-1.
//!
//! Small scale: the backscatter capture adds the CW leakage (amplitude and a
//! slow phase drift), each tag's reflection waveform times its complex gain
//! and a residual frequency offset, and complex AWGN.

use crate::pathloss::{
    los_probability, path_loss_db, shadow_sigma_db, Geometry, LosState, Scenario,
};
use crate::rng::{stream_rng, Gaussian, Purpose};
use crate::ChannelError;
use num_complex::Complex32;

/// A Gaussian random field (zero mean, unit variance) on a regular grid.
#[derive(Debug, Clone)]
pub struct Field {
    x0: f64,
    y0: f64,
    step: f64,
    nx: usize,
    ny: usize,
    v: Vec<f32>,
}

impl Field {
    /// A field covering `[x0, x0 + w] × [y0, y0 + h]` with grid `step` and
    /// correlation distance `corr_m`, drawn from `g`.
    pub fn new(x0: f64, y0: f64, w: f64, h: f64, step: f64, corr_m: f64, g: &mut Gaussian) -> Self {
        let nx = (w / step).ceil() as usize + 2;
        let ny = (h / step).ceil() as usize + 2;
        let rho = (-step / corr_m).exp() as f32;
        let innov = (1.0 - rho * rho).sqrt();
        let mut v: Vec<f32> = (0..nx * ny).map(|_| g.normal()).collect();
        // AR(1) along x (stationary start), then along y.
        for j in 0..ny {
            for i in 1..nx {
                v[j * nx + i] = rho * v[j * nx + i - 1] + innov * v[j * nx + i];
            }
        }
        for i in 0..nx {
            for j in 1..ny {
                v[j * nx + i] = rho * v[(j - 1) * nx + i] + innov * v[j * nx + i];
            }
        }
        Field {
            x0,
            y0,
            step,
            nx,
            ny,
            v,
        }
    }

    /// The field at (x, y), bilinearly interpolated (clamped to the grid).
    pub fn at(&self, x: f64, y: f64) -> f64 {
        let fx = ((x - self.x0) / self.step).clamp(0.0, (self.nx - 1) as f64 - 1e-9);
        let fy = ((y - self.y0) / self.step).clamp(0.0, (self.ny - 1) as f64 - 1e-9);
        let (i, j) = (fx as usize, fy as usize);
        let (ax, ay) = (fx - i as f64, fy - j as f64);
        let g = |i: usize, j: usize| self.v[j * self.nx + i] as f64;
        (1.0 - ay) * ((1.0 - ax) * g(i, j) + ax * g(i + 1, j))
            + ay * ((1.0 - ax) * g(i, j + 1) + ax * g(i + 1, j + 1))
    }
}

/// Standard normal CDF.
fn phi(x: f64) -> f64 {
    crate::math::q_func(-x)
}

/// An indoor hall with reader sites.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HallConfig {
    /// Hall size along x, m.
    pub width_m: f64,
    /// Hall size along y, m.
    pub length_m: f64,
    /// Carrier frequency, Hz.
    pub fc_hz: f64,
    /// Reader antenna height, m.
    pub h_reader_m: f64,
    /// Tag height, m.
    pub h_tag_m: f64,
    /// InH variant (open or mixed office: the LOS probability differs).
    pub scenario: Scenario,
    /// Spatially consistent shadowing and LOS state; `false` gives the
    /// deterministic LOS path loss everywhere (for noiseless checks).
    pub shadowing: bool,
}

/// The large-scale state of one site–point link.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HallLink {
    /// 3D distance, m.
    pub d3d_m: f64,
    /// LOS state.
    pub los: LosState,
    /// Path loss without shadowing, dB.
    pub path_loss_db: f64,
    /// Shadow fading, dB.
    pub shadow_db: f64,
}

impl HallLink {
    /// Coupling loss (path loss + shadowing), dB.
    pub fn loss_db(&self) -> f64 {
        self.path_loss_db + self.shadow_db
    }
}

/// A hall with its per-site shadowing and LOS-state fields.
#[derive(Debug, Clone)]
pub struct Hall {
    cfg: HallConfig,
    sites: Vec<(f64, f64)>,
    sf: Vec<(Field, Field)>,
    los: Vec<Field>,
}

impl Hall {
    /// Builds the fields for `sites` (x, y in m) under `seed`.
    pub fn new(cfg: HallConfig, sites: &[(f64, f64)], seed: u64) -> Result<Self, ChannelError> {
        crate::check_range("fc_hz", cfg.fc_hz, 0.5e9, 100e9, "0.5..=100 GHz")?;
        crate::check_range("width_m", cfg.width_m, 1.0, 1000.0, "1..=1000 m")?;
        crate::check_range("length_m", cfg.length_m, 1.0, 1000.0, "1..=1000 m")?;
        let (w, h) = (cfg.width_m, cfg.length_m);
        let mut sf = Vec::new();
        let mut los = Vec::new();
        for (i, _) in sites.iter().enumerate() {
            let mut g =
                Gaussian::from_rng(stream_rng(seed, Purpose::LargeScale, 0x7106, i as u64, 0));
            // Independent fields for the LOS and NLOS shadowing, and the LOS state.
            let a = Field::new(0.0, 0.0, w, h, 1.0, 10.0, &mut g);
            let b = Field::new(0.0, 0.0, w, h, 1.0, 6.0, &mut g);
            sf.push((a, b));
            los.push(Field::new(0.0, 0.0, w, h, 1.0, 5.0, &mut g));
        }
        Ok(Hall {
            cfg,
            sites: sites.to_vec(),
            sf,
            los,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &HallConfig {
        &self.cfg
    }

    /// The reader sites.
    pub fn sites(&self) -> &[(f64, f64)] {
        &self.sites
    }

    fn geometry(&self, site: usize, x: f64, y: f64) -> Geometry {
        let (sx, sy) = self.sites[site];
        // InH formulas hold from d_3D = 1 m; closer points are held at that distance.
        let d2 = ((x - sx).hypot(y - sy)).max(0.5);
        Geometry {
            scenario: self.cfg.scenario,
            d2d_m: d2,
            fc_hz: self.cfg.fc_hz,
            h_bs_m: self.cfg.h_reader_m,
            h_ut_m: self.cfg.h_tag_m,
        }
    }

    /// The deterministic LOS path loss at 3D distance `d3d_m` (the model a
    /// positioning engine assumes), dB.
    pub fn los_path_loss_db(&self, d3d_m: f64) -> f64 {
        32.4 + 17.3 * d3d_m.max(1.0).log10() + 20.0 * (self.cfg.fc_hz / 1e9).log10()
    }

    /// The link between `site` and the point (x, y).
    pub fn link(&self, site: usize, x: f64, y: f64) -> HallLink {
        let g = self.geometry(site, x, y);
        let d3 = g.d3d_m().max(1.0);
        if !self.cfg.shadowing {
            return HallLink {
                d3d_m: d3,
                los: LosState::Los,
                path_loss_db: self.los_path_loss_db(d3),
                shadow_db: 0.0,
            };
        }
        let los = if phi(self.los[site].at(x, y)) < los_probability(&g) {
            LosState::Los
        } else {
            LosState::Nlos
        };
        let pl = path_loss_db(&g, los).unwrap_or_else(|_| self.los_path_loss_db(d3));
        let (fa, fb) = &self.sf[site];
        let z = match los {
            LosState::Los => fa.at(x, y),
            LosState::Nlos => fb.at(x, y),
        };
        HallLink {
            d3d_m: d3,
            los,
            path_loss_db: pl,
            shadow_db: z * shadow_sigma_db(self.cfg.scenario, los),
        }
    }
}

/// Adds the carrier-wave leakage `amplitude·e^{j(phase0 + drift·n)}` to `out`.
pub fn add_leakage(out: &mut [Complex32], amplitude: f32, phase0: f64, drift_rad_per_sample: f64) {
    for (n, o) in out.iter_mut().enumerate() {
        *o += Complex32::from_polar(amplitude, (phase0 + drift_rad_per_sample * n as f64) as f32);
    }
}

/// Adds one tag's backscatter: its reflection waveform (Γ(t)/|Γ|, real) times
/// the complex gain `gain` rotating at `cfo_rad_per_sample`.
pub fn add_backscatter(
    out: &mut [Complex32],
    refl: &[f32],
    gain: Complex32,
    cfo_rad_per_sample: f64,
) {
    for (n, (o, &r)) in out.iter_mut().zip(refl).enumerate() {
        if r != 0.0 {
            *o += gain * Complex32::from_polar(r, (cfo_rad_per_sample * n as f64) as f32);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phi_is_the_normal_cdf() {
        assert!((phi(0.0) - 0.5).abs() < 1e-9);
        assert!((phi(1.0) - 0.841_344_7).abs() < 1e-5);
        assert!((phi(-2.0) - 0.022_750_1).abs() < 1e-5);
    }

    #[test]
    fn fields_have_unit_variance_and_spatial_correlation() {
        let mut g = Gaussian::new(1, Purpose::User, 0, 0, 0);
        let f = Field::new(0.0, 0.0, 400.0, 400.0, 1.0, 10.0, &mut g);
        let (mut s2, mut c, mut n) = (0.0, 0.0, 0.0);
        for j in 0..380 {
            for i in 0..380 {
                let a = f.at(i as f64, j as f64);
                s2 += a * a;
                c += a * f.at(i as f64 + 10.0, j as f64);
                n += 1.0;
            }
        }
        let var = s2 / n;
        let rho = c / n / var;
        assert!((var - 1.0).abs() < 0.1, "variance {var}");
        assert!((rho - (-1.0f64).exp()).abs() < 0.1, "ρ(10 m) = {rho}");
    }

    #[test]
    fn hall_links_follow_inh_and_are_repeatable() {
        let cfg = HallConfig {
            width_m: 50.0,
            length_m: 50.0,
            fc_hz: 0.9e9,
            h_reader_m: 3.0,
            h_tag_m: 1.0,
            scenario: Scenario::InHOpen,
            shadowing: true,
        };
        let h = Hall::new(cfg, &[(12.5, 12.5), (37.5, 37.5)], 7).unwrap();
        let a = h.link(0, 20.0, 30.0);
        assert_eq!(a, h.link(0, 20.0, 30.0));
        assert!(a.path_loss_db >= h.los_path_loss_db(a.d3d_m) - 1e-9);
        // Without shadowing: the deterministic LOS model.
        let h0 = Hall::new(
            HallConfig {
                shadowing: false,
                ..cfg
            },
            &[(0.0, 0.0)],
            7,
        )
        .unwrap();
        let l = h0.link(0, 30.0, 40.0);
        let d3 = (50.0f64 * 50.0 + 4.0).sqrt();
        assert!((l.loss_db() - (32.4 + 17.3 * d3.log10() + 20.0 * 0.9f64.log10())).abs() < 1e-9);
    }
}
