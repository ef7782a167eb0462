//! Clustered-delay-line fading, TR 38.901 §7.7.1 (CDL-A .. CDL-E), with uniform planar
//! arrays at the gNB (up to 64 elements and more) and the UE.
//!
//! Generation, following the §7.7.1 steps:
//! 1. Cluster delays `τ_n = τ_norm,n · DS` (§7.7.3), powers from the table, normalised.
//! 2. 20 rays per cluster: `φ_n,m = φ_n + c_AS · α_m` with the offsets `α_m` of Table 7.5-3
//!    (±0.0447 .. ±2.1551), likewise for AOA, ZOD, ZOA with their own `c_*`.
//! 3. Random coupling of rays within a cluster: AOD↔AOA, AOD↔ZOD and AOD↔ZOA by independent
//!    random permutations (seeded).
//! 4. Polarisation: single vertically polarised elements at both ends (ζ = 0), so only the
//!    θθ term of eq. 7.5-28 remains; the XPR (which only weights the cross-polar terms) is
//!    therefore not needed. Dual-polarised arrays are not modelled.
//! 5. Random initial phase `Φ_n,m ~ U(−π, π)` per ray.
//! 6. Coefficients (eq. 7.5-22 for the clustered rays, 7.5-29 for the specular LOS ray of
//!    CDL-D/E, which is one ray at the cluster angles with a random phase):
//!    `H_u,s,n(t) = sqrt(P_n/M) Σ_m F_rx F_tx e^{jΦ} e^{j2π r̂_rx·d̄_u/λ} e^{j2π r̂_tx·d̄_s/λ}
//!    e^{j2π r̂_UE·v̄ t/λ}`.
//!
//! Angles: the tables' departure angles (AOD/ZOD) are at the gNB and the arrival angles
//! (AOA/ZOA) at the UE (downlink as tabulated); for the uplink (`gnb_is_rx`) the same rays
//! are used in reverse (reciprocity), so the gNB receives from AOD/ZOD. The Doppler always
//! uses the UE-side angles and the UE velocity `v̄` (azimuth `travel_azimuth_deg`,
//! horizontal). Angle scaling (§7.7.5.1) is not applied.
//!
//! Arrays: element (row r, column c) of a UPA sits at `(0, c·d_h, r·d_v)` wavelengths
//! (broadside +x, rows vertical), index `r · cols + c`. The gNB elements may use the
//! TR 38.901 Table 7.3-1 pattern (65° beamwidths, 30 dB limits, 8 dBi); UE elements are
//! isotropic. The channel is normalised to unit mean power per antenna pair averaged over
//! the rays (so the pattern shapes the angular power, not the link budget).

use crate::engine::TapSource;
use crate::math::{cis_turns, db_to_lin};
use crate::rng::{stream_rng, uniform, Purpose};
use crate::tables::{CdlTable, CDL_A, CDL_B, CDL_C, CDL_D, CDL_E, RAYS_PER_CLUSTER, RAY_OFFSETS};
use crate::{check_range, ChannelError, SPEED_OF_LIGHT};
use num_complex::Complex32;
use rand::RngCore;

/// CDL profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CdlProfile {
    /// CDL-A (NLOS).
    A,
    /// CDL-B (NLOS).
    B,
    /// CDL-C (NLOS).
    C,
    /// CDL-D (LOS).
    D,
    /// CDL-E (LOS).
    E,
}

impl CdlProfile {
    /// The standard's table.
    pub fn table(self) -> &'static CdlTable {
        match self {
            CdlProfile::A => &CDL_A,
            CdlProfile::B => &CDL_B,
            CdlProfile::C => &CDL_C,
            CdlProfile::D => &CDL_D,
            CdlProfile::E => &CDL_E,
        }
    }
}

/// A uniform planar array of single-polarised elements.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Upa {
    /// Rows (vertical).
    pub rows: usize,
    /// Columns (horizontal).
    pub cols: usize,
    /// Vertical spacing, wavelengths.
    pub dv: f64,
    /// Horizontal spacing, wavelengths.
    pub dh: f64,
}

impl Upa {
    /// A horizontal uniform linear array of `n` elements at half-wavelength spacing.
    pub fn ula(n: usize) -> Self {
        Self {
            rows: 1,
            cols: n,
            dv: 0.5,
            dh: 0.5,
        }
    }
    /// `rows × cols` at half-wavelength spacing.
    pub fn new(rows: usize, cols: usize) -> Self {
        Self {
            rows,
            cols,
            dv: 0.5,
            dh: 0.5,
        }
    }
    /// Number of elements.
    pub fn len(&self) -> usize {
        self.rows * self.cols
    }
    /// True for an empty array.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Position of element `i` in wavelengths.
    pub fn position(&self, i: usize) -> [f64; 3] {
        let (r, c) = (i / self.cols, i % self.cols);
        [0.0, c as f64 * self.dh, r as f64 * self.dv]
    }
}

/// gNB element radiation pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ElementPattern {
    /// Isotropic (0 dBi).
    Isotropic,
    /// TR 38.901 Table 7.3-1 (single sector element).
    Tr38901,
}

/// Field amplitude of the Table 7.3-1 element at zenith `theta` and azimuth `phi` (degrees).
pub fn element_field_38901(theta_deg: f64, phi_deg: f64) -> f64 {
    let phi = (phi_deg + 180.0).rem_euclid(360.0) - 180.0;
    let a_v = -(12.0 * ((theta_deg - 90.0) / 65.0).powi(2)).min(30.0);
    let a_h = -(12.0 * (phi / 65.0).powi(2)).min(30.0);
    let a = -(-(a_v + a_h)).min(30.0);
    db_to_lin(8.0 + a).sqrt()
}

/// Configuration of a CDL channel.
#[derive(Debug, Clone, PartialEq)]
pub struct CdlConfig {
    /// Profile.
    pub profile: CdlProfile,
    /// Desired RMS delay spread, seconds.
    pub delay_spread_s: f64,
    /// UE speed, km/h.
    pub speed_kmh: f64,
    /// Direction of travel, degrees azimuth (horizontal motion).
    pub travel_azimuth_deg: f64,
    /// Carrier frequency, Hz.
    pub carrier_hz: f64,
    /// Sample rate, Hz.
    pub sample_rate_hz: f64,
    /// gNB array.
    pub gnb_array: Upa,
    /// UE array.
    pub ue_array: Upa,
    /// gNB element pattern.
    pub gnb_pattern: ElementPattern,
    /// True when the gNB receives (uplink).
    pub gnb_is_rx: bool,
    /// Run seed.
    pub seed: u64,
    /// Link label.
    pub stream: u64,
}

impl Default for CdlConfig {
    fn default() -> Self {
        Self {
            profile: CdlProfile::C,
            delay_spread_s: 100e-9,
            speed_kmh: 3.0,
            travel_azimuth_deg: 0.0,
            carrier_hz: 3.5e9,
            sample_rate_hz: 61.44e6,
            gnb_array: Upa::new(4, 8),
            ue_array: Upa::ula(1),
            gnb_pattern: ElementPattern::Tr38901,
            gnb_is_rx: true,
            seed: 1,
            stream: 0,
        }
    }
}

fn unit(theta_deg: f64, phi_deg: f64) -> [f64; 3] {
    let (t, p) = (theta_deg.to_radians(), phi_deg.to_radians());
    [t.sin() * p.cos(), t.sin() * p.sin(), t.cos()]
}

fn dot(a: [f64; 3], b: [f64; 3]) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

/// One ray (gNB and UE angles, degrees) of a CDL realisation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ray {
    /// Cluster index.
    pub cluster: usize,
    /// Power share of the ray (linear, before normalisation).
    pub power: f64,
    /// gNB side azimuth (AOD of the table).
    pub gnb_az: f64,
    /// gNB side zenith (ZOD).
    pub gnb_zen: f64,
    /// UE side azimuth (AOA).
    pub ue_az: f64,
    /// UE side zenith (ZOA).
    pub ue_zen: f64,
}

/// A CDL channel (a [`TapSource`]).
#[derive(Debug, Clone)]
pub struct Cdl {
    n_rx: usize,
    n_tx: usize,
    fs: f64,
    fd: f64,
    delays: Vec<f64>,
    rays: Vec<Ray>,
    /// Per ray: complex amplitude (power, phase, patterns, normalisation).
    coef: Vec<Complex32>,
    /// Per ray: Doppler, cycles per sample.
    nu: Vec<f64>,
    /// Per ray: receive steering vector (n_rx), then transmit steering vector (n_tx).
    steer: Vec<Complex32>,
    /// Ray index ranges per cluster.
    cluster_rays: Vec<(usize, usize)>,
    w: Vec<Complex32>,
}

fn permutation(rng: &mut impl RngCore, n: usize) -> Vec<usize> {
    let mut p: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        let j = (uniform(rng) * (i + 1) as f64) as usize;
        p.swap(i, j.min(i));
    }
    p
}

impl Cdl {
    /// Builds the channel; validates every field.
    pub fn new(c: &CdlConfig) -> Result<Self, ChannelError> {
        check_range("delay_spread_s", c.delay_spread_s, 0.0, 10e-6, "0..=10 us")?;
        check_range("speed_kmh", c.speed_kmh, 0.0, 1000.0, "0..=1000 km/h")?;
        check_range("carrier_hz", c.carrier_hz, 1e6, 100e9, "1 MHz..=100 GHz")?;
        check_range(
            "sample_rate_hz",
            c.sample_rate_hz,
            1e3,
            10e9,
            "1 kHz..=10 GHz",
        )?;
        check_range(
            "gnb elements",
            c.gnb_array.len() as f64,
            1.0,
            1024.0,
            "1..=1024",
        )?;
        check_range("ue elements", c.ue_array.len() as f64, 1.0, 64.0, "1..=64")?;
        let t = c.profile.table();
        let mut rng = stream_rng(c.seed, Purpose::Fading, c.stream, 0xCD1, 0);
        let total: f64 = t.clusters.iter().map(|cl| db_to_lin(cl.1)).sum();
        let offsets: Vec<f64> = RAY_OFFSETS.iter().flat_map(|&a| [a, -a]).collect();
        debug_assert_eq!(offsets.len(), RAYS_PER_CLUSTER);
        let [c_asd, c_asa, c_zsd, c_zsa] = t.spreads;
        let mut rays = Vec::new();
        let mut cluster_rays = Vec::new();
        let mut delays = Vec::new();
        for (n, &(dn, pdb, aod, aoa, zod, zoa)) in t.clusters.iter().enumerate() {
            let p = db_to_lin(pdb) / total;
            delays.push(dn * c.delay_spread_s);
            let start = rays.len();
            if t.los && n == 0 {
                rays.push(Ray {
                    cluster: n,
                    power: p,
                    gnb_az: aod,
                    gnb_zen: zod,
                    ue_az: aoa,
                    ue_zen: zoa,
                });
            } else {
                let p_aoa = permutation(&mut rng, RAYS_PER_CLUSTER);
                let p_zod = permutation(&mut rng, RAYS_PER_CLUSTER);
                let p_zoa = permutation(&mut rng, RAYS_PER_CLUSTER);
                for m in 0..RAYS_PER_CLUSTER {
                    rays.push(Ray {
                        cluster: n,
                        power: p / RAYS_PER_CLUSTER as f64,
                        gnb_az: aod + c_asd * offsets[m],
                        gnb_zen: zod + c_zsd * offsets[p_zod[m]],
                        ue_az: aoa + c_asa * offsets[p_aoa[m]],
                        ue_zen: zoa + c_zsa * offsets[p_zoa[m]],
                    });
                }
            }
            cluster_rays.push((start, rays.len()));
        }
        let lambda = SPEED_OF_LIGHT / c.carrier_hz;
        let v = c.speed_kmh / 3.6;
        let vdir = unit(90.0, c.travel_azimuth_deg);
        let fd = v / lambda;
        let (rx_arr, tx_arr) = if c.gnb_is_rx {
            (c.gnb_array, c.ue_array)
        } else {
            (c.ue_array, c.gnb_array)
        };
        let (n_rx, n_tx) = (rx_arr.len(), tx_arr.len());
        let gnb_f = |r: &Ray| match c.gnb_pattern {
            ElementPattern::Isotropic => 1.0,
            ElementPattern::Tr38901 => element_field_38901(r.gnb_zen, r.gnb_az),
        };
        let norm: f64 = rays.iter().map(|r| r.power * gnb_f(r).powi(2)).sum();
        let mut coef = Vec::with_capacity(rays.len());
        let mut nu = Vec::with_capacity(rays.len());
        let mut steer = Vec::with_capacity(rays.len() * (n_rx + n_tx));
        for r in &rays {
            let phase = uniform(&mut rng);
            let amp = (r.power / norm).sqrt() * gnb_f(r);
            coef.push(cis_turns(phase) * amp as f32);
            let ue_dir = unit(r.ue_zen, r.ue_az);
            nu.push(fd * dot(ue_dir, vdir) / c.sample_rate_hz);
            let gnb_dir = unit(r.gnb_zen, r.gnb_az);
            let (rx_dir, tx_dir) = if c.gnb_is_rx {
                (gnb_dir, ue_dir)
            } else {
                (ue_dir, gnb_dir)
            };
            for i in 0..n_rx {
                steer.push(cis_turns(dot(rx_dir, rx_arr.position(i))));
            }
            for i in 0..n_tx {
                steer.push(cis_turns(dot(tx_dir, tx_arr.position(i))));
            }
        }
        Ok(Self {
            n_rx,
            n_tx,
            fs: c.sample_rate_hz,
            fd,
            delays,
            w: vec![Complex32::new(0.0, 0.0); n_rx],
            rays,
            coef,
            nu,
            steer,
            cluster_rays,
        })
    }

    /// The rays of this realisation (angles after offsets and coupling).
    pub fn rays(&self) -> &[Ray] {
        &self.rays
    }
}

impl TapSource for Cdl {
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
        self.cluster_rays
            .iter()
            .map(|&(a, b)| self.coef[a..b].iter().map(|c| c.norm_sqr() as f64).sum())
            .collect()
    }

    fn taps_at(&mut self, n: u64, out: &mut [Complex32]) {
        let (n_rx, n_tx) = (self.n_rx, self.n_tx);
        let m = n_rx * n_tx;
        let stride = n_rx + n_tx;
        let t = n as f64;
        for (cl, &(a, b)) in self.cluster_rays.iter().enumerate() {
            let o = &mut out[cl * m..(cl + 1) * m];
            o.iter_mut().for_each(|x| *x = Complex32::new(0.0, 0.0));
            for r in a..b {
                let c = self.coef[r] * cis_turns(self.nu[r] * t);
                let s = &self.steer[r * stride..(r + 1) * stride];
                let (srx, stx) = s.split_at(n_rx);
                for (w, &x) in self.w.iter_mut().zip(srx) {
                    *w = c * x;
                }
                if n_tx == 1 {
                    crate::engine::axpy(stx[0], &self.w, o);
                } else {
                    for (i, &w) in self.w.iter().enumerate() {
                        crate::engine::axpy(w, stx, &mut o[i * n_tx..(i + 1) * n_tx]);
                    }
                }
            }
        }
    }
}
