//! Tapped-delay-line fading, TR 38.901 §7.7.2 (TDL-A .. TDL-E), plus flat Rayleigh and a
//! static unit channel.
//!
//! - Delays: the normalised delays of Tables 7.7.2-1..5 times the desired RMS delay spread
//!   (§7.7.3 scaling). Powers: the table's, normalised to unit total power per antenna pair.
//! - Each Rayleigh tap of each antenna pair is an independent unit-power sum-of-sinusoids
//!   process ([`crate::sos`]) with the maximum Doppler `f_D = v f_c / c`.
//! - LOS profiles TDL-D/E: the specular first tap (listed as its own tap at delay 0) has the
//!   table's power, so that with the Rayleigh tap at delay 0 it forms a Rician first tap with
//!   the table's K1 (13.3 dB for TDL-D, 22 dB for TDL-E). Its phase rotates at
//!   `f_D cos(θ_LOS)` (θ_LOS = π/4 by default) from a random initial phase. A desired K
//!   ([`TdlConfig::k_factor_db`]) sets the specular power to K × the delay-0 Rayleigh tap's,
//!   then all powers are renormalised to unit total (in the spirit of §7.7.6).
//! - MIMO: the Kronecker correlation model of TS 38.101-4 Annex B.2.3.1 / TS 38.104 Annex
//!   G.2.3 (uniform linear arrays): `R_spat = R_rx ⊗ R_tx`, each side
//!   `r_ij = ρ^{((i−j)/(N−1))^2}` with ρ = α at the gNB and β at the UE; levels Low (α=0, β=0),
//!   Medium (α=0.3, β=0.9), Medium-A (α=0.3, β=0.3874) and High (α=0.9, β=0.9) per
//!   TS 38.101-4 Table B.2.3.1.2-1. The Rayleigh part of each tap is `vec(H_l) = L g_l`
//!   with `L` the Cholesky factor of `(R_spat + a I)/(1 + a)`, `a = 1e-4` (the standard's
//!   positive-definiteness adjustment). The specular tap is applied with the same phase on
//!   every antenna pair (the correlation model defines only the diffuse part).

use crate::engine::TapSource;
use crate::math::{cis_turns, db_to_lin};
use crate::rng::{stream_rng, uniform, Purpose};
use crate::sos::SosBank;
use crate::tables::{TdlTable, TDL_A, TDL_B, TDL_C, TDL_D, TDL_E};
use crate::{check_range, ChannelError};
use num_complex::Complex32;

/// The delay profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TdlProfile {
    /// TR 38.901 TDL-A.
    A,
    /// TR 38.901 TDL-B.
    B,
    /// TR 38.901 TDL-C.
    C,
    /// TR 38.901 TDL-D (LOS).
    D,
    /// TR 38.901 TDL-E (LOS).
    E,
    /// One Rayleigh tap (flat fading).
    Rayleigh,
    /// One constant unit tap on every antenna pair (AWGN-only channel).
    Static,
}

impl TdlProfile {
    /// The standard's table, for TDL-A..E.
    pub fn table(self) -> Option<&'static TdlTable> {
        match self {
            TdlProfile::A => Some(&TDL_A),
            TdlProfile::B => Some(&TDL_B),
            TdlProfile::C => Some(&TDL_C),
            TdlProfile::D => Some(&TDL_D),
            TdlProfile::E => Some(&TDL_E),
            _ => None,
        }
    }
}

/// MIMO antenna correlation level (TS 38.101-4 Table B.2.3.1.2-1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Correlation {
    /// α = 0, β = 0 (uncorrelated).
    Low,
    /// α = 0.3, β = 0.9.
    Medium,
    /// α = 0.3, β = 0.3874.
    MediumA,
    /// α = 0.9, β = 0.9.
    High,
    /// Explicit α (gNB side) and β (UE side).
    Custom {
        /// gNB-side correlation α.
        alpha_gnb: f64,
        /// UE-side correlation β.
        beta_ue: f64,
    },
}

impl Correlation {
    /// (α at the gNB, β at the UE).
    pub fn alpha_beta(self) -> (f64, f64) {
        match self {
            Correlation::Low => (0.0, 0.0),
            Correlation::Medium => (0.3, 0.9),
            Correlation::MediumA => (0.3, 0.3874),
            Correlation::High => (0.9, 0.9),
            Correlation::Custom { alpha_gnb, beta_ue } => (alpha_gnb, beta_ue),
        }
    }
}

/// Configuration of a TDL channel.
#[derive(Debug, Clone, PartialEq)]
pub struct TdlConfig {
    /// Delay profile.
    pub profile: TdlProfile,
    /// Desired RMS delay spread, seconds (§7.7.3; e.g. 100e-9 "nominal").
    pub delay_spread_s: f64,
    /// Maximum Doppler, Hz.
    pub doppler_hz: f64,
    /// Sample rate, Hz.
    pub sample_rate_hz: f64,
    /// Receive antennas.
    pub n_rx: usize,
    /// Transmit antennas.
    pub n_tx: usize,
    /// Antenna correlation.
    pub correlation: Correlation,
    /// True when the gNB is the receiver (uplink): α applies to the receive side.
    pub gnb_is_rx: bool,
    /// Desired K-factor of the first tap for TDL-D/E, dB (None: the table's K1).
    pub k_factor_db: Option<f64>,
    /// Arrival angle of the specular path, radians (its Doppler is `f_D cos θ`).
    pub los_aoa_rad: f64,
    /// Run seed.
    pub seed: u64,
    /// Link label (e.g. UE index): separates this channel's random streams from others'.
    pub stream: u64,
}

impl Default for TdlConfig {
    fn default() -> Self {
        Self {
            profile: TdlProfile::C,
            delay_spread_s: 100e-9,
            doppler_hz: 0.0,
            sample_rate_hz: 30.72e6,
            n_rx: 1,
            n_tx: 1,
            correlation: Correlation::Low,
            gnb_is_rx: true,
            k_factor_db: None,
            los_aoa_rad: std::f64::consts::FRAC_PI_4,
            seed: 1,
            stream: 0,
        }
    }
}

/// A TDL channel (a [`TapSource`]).
#[derive(Debug, Clone)]
pub struct Tdl {
    n_rx: usize,
    n_tx: usize,
    fs: f64,
    fd: f64,
    /// All taps' delays, seconds (specular first when present).
    delays: Vec<f64>,
    /// All taps' mean powers (linear, sum 1), same order.
    powers: Vec<f64>,
    /// Rayleigh taps' amplitudes (sqrt power), in order after the specular tap.
    amps: Vec<f32>,
    /// Specular tap: amplitude, Doppler (cycles/sample), initial phase (cycles).
    los: Option<(f32, f64, f64)>,
    static_unit: bool,
    sos: SosBank,
    /// Lower-triangular Cholesky factor (links × links, row-major), None when identity.
    chol: Option<Vec<f32>>,
    g: Vec<Complex32>,
}

/// Exponential-law correlation matrix of an `n`-element ULA: `r_ij = ρ^{((i−j)/(n−1))^2}`.
pub fn ula_correlation(n: usize, rho: f64) -> Vec<f64> {
    let mut r = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..n {
            r[i * n + j] = if i == j || n == 1 {
                1.0
            } else {
                let e = ((i as f64 - j as f64) / (n as f64 - 1.0)).powi(2);
                rho.powf(e)
            };
        }
    }
    r
}

/// Kronecker product of square matrices `a` (n×n) and `b` (m×m).
pub fn kron(a: &[f64], n: usize, b: &[f64], m: usize) -> Vec<f64> {
    let nm = n * m;
    let mut k = vec![0.0; nm * nm];
    for i in 0..n {
        for j in 0..n {
            for p in 0..m {
                for q in 0..m {
                    k[(i * m + p) * nm + j * m + q] = a[i * n + j] * b[p * m + q];
                }
            }
        }
    }
    k
}

/// Cholesky factor (lower, row-major) of a symmetric positive-definite `n × n` matrix.
pub fn cholesky(a: &[f64], n: usize) -> Option<Vec<f64>> {
    let mut l = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..=i {
            let s: f64 = (0..j).map(|k| l[i * n + k] * l[j * n + k]).sum();
            if i == j {
                let d = a[i * n + i] - s;
                if d <= 0.0 {
                    return None;
                }
                l[i * n + i] = d.sqrt();
            } else {
                l[i * n + j] = (a[i * n + j] - s) / l[j * n + j];
            }
        }
    }
    Some(l)
}

impl Tdl {
    /// Builds the channel; validates every field.
    pub fn new(c: &TdlConfig) -> Result<Self, ChannelError> {
        check_range("delay_spread_s", c.delay_spread_s, 0.0, 10e-6, "0..=10 us")?;
        check_range("doppler_hz", c.doppler_hz, 0.0, 100e3, "0..=100 kHz")?;
        check_range(
            "sample_rate_hz",
            c.sample_rate_hz,
            1e3,
            10e9,
            "1 kHz..=10 GHz",
        )?;
        check_range("n_rx", c.n_rx as f64, 1.0, 256.0, "1..=256")?;
        check_range("n_tx", c.n_tx as f64, 1.0, 64.0, "1..=64")?;
        let (alpha, beta) = c.correlation.alpha_beta();
        check_range("correlation alpha", alpha, 0.0, 1.0, "0..=1")?;
        check_range("correlation beta", beta, 0.0, 1.0, "0..=1")?;
        if let Some(k) = c.k_factor_db {
            check_range("k_factor_db", k, -30.0, 60.0, "-30..=60 dB")?;
        }
        let links = c.n_rx * c.n_tx;
        // (delay s, power lin) of Rayleigh taps, and the specular tap's power.
        let (mut ray, mut los_p): (Vec<(f64, f64)>, Option<f64>) = match c.profile {
            TdlProfile::Rayleigh => (vec![(0.0, 1.0)], None),
            TdlProfile::Static => (vec![(0.0, 1.0)], None),
            p => {
                let t = p.table().expect("TDL table");
                (
                    t.taps
                        .iter()
                        .map(|&(d, p)| (d * c.delay_spread_s, db_to_lin(p)))
                        .collect(),
                    t.los.map(|(p, _)| db_to_lin(p)),
                )
            }
        };
        if let (Some(lp), Some(k)) = (los_p.as_mut(), c.k_factor_db) {
            // Rayleigh tap at delay 0 is the first listed for TDL-D/E.
            *lp = db_to_lin(k) * ray[0].1;
        }
        let total: f64 = ray.iter().map(|r| r.1).sum::<f64>() + los_p.unwrap_or(0.0);
        ray.iter_mut().for_each(|r| r.1 /= total);
        let los_p = los_p.map(|p| p / total);
        let mut delays = Vec::new();
        let mut powers = Vec::new();
        if let Some(p) = los_p {
            delays.push(0.0);
            powers.push(p);
        }
        for &(d, p) in &ray {
            delays.push(d);
            powers.push(p);
        }
        let seed = c.seed;
        let stream = c.stream;
        let n_proc = if c.profile == TdlProfile::Static {
            0
        } else {
            ray.len() * links
        };
        let sos = SosBank::new(n_proc, c.doppler_hz, c.sample_rate_hz, |p| {
            stream_rng(seed, Purpose::Fading, stream, p as u64, 0)
        });
        let los = los_p.map(|p| {
            let mut rng = stream_rng(seed, Purpose::Fading, stream, u64::MAX, 0);
            (
                p.sqrt() as f32,
                c.doppler_hz * c.los_aoa_rad.cos() / c.sample_rate_hz,
                uniform(&mut rng),
            )
        });
        let chol = if (alpha == 0.0 && beta == 0.0) || links == 1 {
            None
        } else {
            let (rho_rx, rho_tx) = if c.gnb_is_rx {
                (alpha, beta)
            } else {
                (beta, alpha)
            };
            let r = kron(
                &ula_correlation(c.n_rx, rho_rx),
                c.n_rx,
                &ula_correlation(c.n_tx, rho_tx),
                c.n_tx,
            );
            let a = 1e-4;
            let adj: Vec<f64> = r
                .iter()
                .enumerate()
                .map(|(i, &v)| (v + if i % (links + 1) == 0 { a } else { 0.0 }) / (1.0 + a))
                .collect();
            let l = cholesky(&adj, links).ok_or(ChannelError::OutOfRange {
                field: "correlation",
                value: alpha.max(beta),
                allowed: "a positive-definite correlation (alpha, beta < 1)",
            })?;
            Some(l.into_iter().map(|v| v as f32).collect())
        };
        Ok(Self {
            n_rx: c.n_rx,
            n_tx: c.n_tx,
            fs: c.sample_rate_hz,
            fd: if c.profile == TdlProfile::Static {
                0.0
            } else {
                c.doppler_hz
            },
            delays,
            powers,
            amps: ray.iter().map(|r| r.1.sqrt() as f32).collect(),
            los,
            static_unit: c.profile == TdlProfile::Static,
            sos,
            chol,
            g: vec![Complex32::new(0.0, 0.0); n_proc],
        })
    }

    /// Mean power of each tap (linear, sum 1), in the order of [`TapSource::delays_s`].
    pub fn powers(&self) -> &[f64] {
        &self.powers
    }

    /// True when the first tap is the specular (LOS) component.
    pub fn has_los(&self) -> bool {
        self.los.is_some()
    }
}

impl Tdl {
    /// Scales and correlates the unit processes in `self.g` (already evaluated at sample
    /// `n`) into tap matrices, and adds the specular tap.
    fn combine(&self, n: u64, out: &mut [Complex32]) {
        let links = self.n_rx * self.n_tx;
        if self.static_unit {
            out.iter_mut().for_each(|x| *x = Complex32::new(1.0, 0.0));
            return;
        }
        let mut o = 0;
        if let Some((amp, f, ph)) = self.los {
            let v = cis_turns(f * n as f64 + ph) * amp;
            out[..links].iter_mut().for_each(|x| *x = v);
            o = links;
        }
        for (l, &amp) in self.amps.iter().enumerate() {
            let g = &self.g[l * links..(l + 1) * links];
            let dst = &mut out[o + l * links..o + (l + 1) * links];
            match &self.chol {
                None => {
                    for (d, &v) in dst.iter_mut().zip(g) {
                        *d = v * amp;
                    }
                }
                Some(lm) => {
                    for (i, d) in dst.iter_mut().enumerate() {
                        let mut acc = Complex32::new(0.0, 0.0);
                        for (j, &v) in g.iter().enumerate().take(i + 1) {
                            acc += v * lm[i * links + j];
                        }
                        *d = acc * amp;
                    }
                }
            }
        }
    }
}

impl TapSource for Tdl {
    fn n_rx(&self) -> usize {
        self.n_rx
    }
    fn n_tx(&self) -> usize {
        self.n_tx
    }
    fn delays_s(&self) -> &[f64] {
        &self.delays
    }
    fn max_doppler_hz(&self) -> f64 {
        self.fd
    }
    fn sample_rate_hz(&self) -> f64 {
        self.fs
    }
    fn tap_powers(&self) -> Vec<f64> {
        self.powers.clone()
    }

    fn taps_at(&mut self, n: u64, out: &mut [Complex32]) {
        if !self.static_unit {
            self.sos.eval(n, &mut self.g);
        }
        self.combine(n, out);
    }

    fn taps_on_grid(&mut self, u: u64, k: u64, out: &mut [Complex32]) {
        if !self.static_unit {
            self.sos.eval_grid(u, k, &mut self.g);
        }
        self.combine(u * k, out);
    }
}
