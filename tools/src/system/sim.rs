//! The system-level simulation: a cell of many UEs, the MAC and scheduler of
//! `ranlab-mac`/`ranlab-sched`, and a link abstraction in place of the PHY.
//!
//! Per UE and carrier: TR 38.901 path loss, LOS and shadowing
//! (`ranlab_sim_channel::pathloss`), a frequency-selective Rayleigh fading
//! per PRB group with up to four independent receive branches (tapped delay
//! line with an exponential profile, AR(1) in time at the Doppler of the UE
//! speed), and for MU-MIMO a spatial signature over the gNB's uniform linear
//! array (three paths around the UE's azimuth with the configured angular
//! spread). The gNB learns the channel gain from SRS every 10 ms (with 0.5 dB
//! estimation error) and the spatial signature exactly.
//!
//! Each PUSCH's PRB-group SINRs (power after power sharing, path gain,
//! fading, MU-MIMO zero-forcing loss) are mapped to one effective SINR by
//! MIESM, HARQ retransmissions add their SINRs (Chase combining), and the
//! transport block fails with the BLER of its MCS at that SINR from the AWGN
//! BLER table.

use super::config::{SysUe, SystemConfig};
use super::link::{BlerTable, Miesm};
use crate::scenario::{Duplex, Traffic};
use num_complex::Complex32;
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use ranlab_mac::bsr::ReportConfig;
use ranlab_mac::buffer::Micros;
use ranlab_mac::harq::HarqState;
use ranlab_mac::mcs::McsTable;
use ranlab_mac::timing::{CarrierTiming, SlotPattern};
use ranlab_mac::traffic::TrafficModel;
use ranlab_mac::ue::{LogicalChannel, UeCapability, UeContext};
use ranlab_mac::{CarrierConfig, Mac, MacConfig, UlCrc, UlGrant};
use ranlab_phy::numerology::{carrier_prbs, FrequencyRange, Scs};
use ranlab_sched::pairing::{zf_retention, PairingConfig};
use ranlab_sched::{Policy, SchedConfig, SchedStats, Scheduler, SulConfig, UlScheduler};
use ranlab_sim_channel::pathloss::{Geometry, LargeScale, LosMode, LosState, Scenario};

/// Command-line overrides of a configuration.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// Use only these carriers (names).
    pub carriers: Option<Vec<String>>,
    /// Switch MU-MIMO pairing off.
    pub no_mu_mimo: bool,
    /// Scheduler policy.
    pub scheduler: Option<String>,
    /// Slots.
    pub slots: Option<u64>,
    /// Seed.
    pub seed: Option<u64>,
}

/// Where a UE is.
#[derive(Debug, Clone)]
struct UeSpec {
    id: u32,
    group: usize,
    distance_m: f64,
    azimuth_rad: f64,
}

/// Per-UE results.
#[derive(Debug, Clone, serde::Serialize)]
pub struct UeResult {
    pub id: u32,
    pub distance_m: f64,
    pub rsrp_dbm: f64,
    pub qos_class: &'static str,
    pub ul_carriers: Vec<String>,
    pub offered_mbps: Option<f64>,
    pub ul_goodput_mbps: f64,
    pub bler: f64,
    pub tb_ok: u64,
    pub tb_failed: u64,
    pub tb_dropped: u64,
    pub packets_in: u64,
    pub delivered: u64,
    pub dropped_harq: u64,
    pub dropped_expired: u64,
    pub queued: u64,
    pub latency_p50_ms: Option<f64>,
    pub latency_p95_ms: Option<f64>,
    pub latency_p99_ms: Option<f64>,
    /// Delivered-packet latencies (not serialised; for pooled percentiles).
    #[serde(skip)]
    pub latencies_ms: Vec<f32>,
    /// Bits that passed CRC per carrier index (of the active list).
    #[serde(skip)]
    pub bits_per_carrier: Vec<u64>,
}

/// Per-carrier results.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CarrierResult {
    pub name: String,
    pub duplex: &'static str,
    pub n_prb: u16,
    pub ul_slots: u64,
    /// PRB-layers granted / PRBs available in uplink slots (can exceed 1 with MU-MIMO).
    pub prb_utilisation: f64,
    pub ul_goodput_mbps: f64,
}

/// The outcome of a run.
pub struct Outcome {
    pub ues: Vec<UeResult>,
    pub carriers: Vec<CarrierResult>,
    pub sched: SchedStats,
    pub air_s: f64,
    pub rejected_grants: usize,
    /// Slots simulated (per UE when each is alone in the cell).
    pub slots_run: u64,
    /// Ctrl-C stopped the run early: the results cover `slots_run` slots
    /// (and, with isolated UEs, only the UEs finished).
    pub interrupted: bool,
}

pub use crate::cell::report::percentile;
use crate::cell::report::{latencies_ms, PacketReport};

fn traffic_model(u: &SysUe) -> TrafficModel {
    match u.traffic {
        Traffic::FullBuffer => TrafficModel::FullBuffer {
            backlog_bytes: 400_000,
        },
        Traffic::PeriodicIot => {
            // rate_mbps sets the report size at one report per second (default 100 bytes).
            let bytes = u
                .rate_mbps
                .map(|r| (r * 1e6 / 8.0) as u32)
                .unwrap_or(100)
                .max(1);
            TrafficModel::PeriodicIot {
                period_ms: 1000.0,
                bytes,
            }
        }
        Traffic::AiUplink => TrafficModel::AiUplink {
            rate_mbps: u.rate_mbps.unwrap_or(24.0),
            fps: 30.0,
        },
        Traffic::Video => TrafficModel::Video {
            rate_mbps: u.rate_mbps.unwrap_or(8.0),
            fps: 30.0,
        },
    }
}

/// Block fading over PRB groups with `branches` receive branches.
struct Fading {
    /// taps[branch][tap]
    taps: Vec<Complex32>,
    branches: usize,
    n_taps: usize,
    /// Per-tap power.
    power: Vec<f32>,
    /// Phase rotation of tap k at group g: phase[g * n_taps + k].
    phase: Vec<Complex32>,
    /// Power per PRB group (mean 1).
    gain: Vec<f32>,
}

impl Fading {
    fn new(
        n_groups: usize,
        group_hz: f64,
        delay_spread_ns: f64,
        branches: usize,
        rng: &mut Xoshiro256PlusPlus,
    ) -> Fading {
        let n_taps = if delay_spread_ns > 0.0 { 6 } else { 1 };
        // Exponential profile: delays 0, ds/2, ds, ..., normalised power.
        let delays: Vec<f64> = (0..n_taps)
            .map(|k| k as f64 * 0.6 * delay_spread_ns * 1e-9)
            .collect();
        let mut power: Vec<f32> = (0..n_taps).map(|k| (-(k as f32) * 0.6).exp()).collect();
        let s: f32 = power.iter().sum();
        power.iter_mut().for_each(|p| *p /= s);
        let mut phase = Vec::with_capacity(n_groups * n_taps);
        for g in 0..n_groups {
            let f = (g as f64 + 0.5) * group_hz;
            for &d in &delays {
                let a = -2.0 * std::f64::consts::PI * f * d;
                phase.push(Complex32::new(a.cos() as f32, a.sin() as f32));
            }
        }
        let mut taps = Vec::with_capacity(branches * n_taps);
        for _ in 0..branches {
            for &p in &power {
                taps.push(cn(rng, p));
            }
        }
        let mut fd = Fading {
            taps,
            branches,
            n_taps,
            power,
            phase,
            gain: vec![1.0; n_groups],
        };
        fd.refresh_gain();
        fd
    }

    fn evolve(&mut self, rho: f32, rng: &mut Xoshiro256PlusPlus) {
        let s = (1.0 - rho * rho).max(0.0).sqrt();
        for b in 0..self.branches {
            for k in 0..self.n_taps {
                let t = &mut self.taps[b * self.n_taps + k];
                *t = *t * rho + cn(rng, self.power[k]) * s;
            }
        }
        self.refresh_gain();
    }

    fn refresh_gain(&mut self) {
        let n_groups = self.gain.len();
        for g in 0..n_groups {
            let ph = &self.phase[g * self.n_taps..(g + 1) * self.n_taps];
            let mut acc = 0.0;
            for b in 0..self.branches {
                let mut h = Complex32::new(0.0, 0.0);
                for k in 0..self.n_taps {
                    h += self.taps[b * self.n_taps + k] * ph[k];
                }
                acc += h.norm_sqr();
            }
            self.gain[g] = acc / self.branches as f32;
        }
    }
}

/// A circularly symmetric complex Gaussian of variance `var`.
fn cn(rng: &mut Xoshiro256PlusPlus, var: f32) -> Complex32 {
    let u1: f32 = rng.gen_range(f32::EPSILON..1.0);
    let u2: f32 = rng.gen();
    let r = (-var * u1.ln()).sqrt();
    let a = 2.0 * std::f32::consts::PI * u2;
    Complex32::new(r * a.cos(), r * a.sin())
}

/// The spatial signature over an `n`-element half-wavelength ULA: three
/// paths around `az` with angular spread `as_rad`, unit norm.
fn spatial(n: usize, az: f64, as_rad: f64, rng: &mut Xoshiro256PlusPlus) -> Vec<Complex32> {
    let mut v = vec![Complex32::new(0.0, 0.0); n];
    for _ in 0..3 {
        let z: f64 = {
            let u1: f64 = rng.gen_range(f64::EPSILON..1.0);
            let u2: f64 = rng.gen();
            (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
        };
        let th = az + z * as_rad;
        let g = cn(rng, 1.0);
        for (k, x) in v.iter_mut().enumerate() {
            let a = std::f64::consts::PI * k as f64 * th.sin();
            *x += g * Complex32::new(a.cos() as f32, a.sin() as f32);
        }
    }
    let norm = v
        .iter()
        .map(|x| x.norm_sqr())
        .sum::<f32>()
        .sqrt()
        .max(1e-12);
    v.iter_mut().for_each(|x| *x /= norm);
    v
}

/// Expands the UE groups into individual UEs with positions.
fn place(cfg: &SystemConfig, seed: u64) -> Vec<UeSpec> {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed ^ 0x5eed_u64);
    let mut out = Vec::new();
    let sector = cfg.layout.sector_deg.to_radians();
    for (gi, g) in cfg.ues.iter().enumerate() {
        let dists: Vec<Option<f64>> = if let Some(d) = g.distance_m {
            vec![Some(d)]
        } else if let Some(ds) = &g.distances_m {
            ds.iter().map(|&d| Some(d)).collect()
        } else {
            vec![None]
        };
        for d in dists {
            for _ in 0..g.count {
                let distance_m = d.unwrap_or_else(|| {
                    let [a, b] = g.distance_range_m.unwrap_or([100.0, 500.0]);
                    (a * a + rng.gen::<f64>() * (b * b - a * a)).sqrt()
                });
                out.push(UeSpec {
                    id: out.len() as u32,
                    group: gi,
                    distance_m,
                    azimuth_rad: rng.gen_range(-sector..=sector),
                });
            }
        }
    }
    out
}

/// Runs a configuration (after overrides), all UEs together or each alone.
pub fn run(
    cfg: &SystemConfig,
    ov: &Overrides,
    table: &BlerTable,
    miesm: &Miesm,
) -> Result<Outcome, String> {
    let mut cfg = cfg.clone();
    if let Some(s) = ov.slots {
        cfg.slots = s;
    }
    if let Some(s) = ov.seed {
        cfg.seed = s;
    }
    if let Some(s) = &ov.scheduler {
        cfg.scheduler = s.clone();
    }
    if ov.no_mu_mimo {
        cfg.mu_mimo = None;
    }
    if let Some(names) = &ov.carriers {
        for n in names {
            if !cfg.carriers.iter().any(|c| &c.name == n) {
                let all: Vec<&str> = cfg.carriers.iter().map(|c| c.name.as_str()).collect();
                return Err(format!("--carriers: `{n}` (allowed: {})", all.join(", ")));
            }
        }
        cfg.carriers.retain(|c| names.contains(&c.name));
        if cfg.carriers.is_empty() {
            return Err("--carriers: at least one carrier".into());
        }
        if cfg.carriers[0].duplex == Duplex::Sul {
            return Err(
                "--carriers: the first carrier kept must not be the supplementary uplink".into(),
            );
        }
        if !cfg.carriers.iter().any(|c| c.duplex == Duplex::Sul) {
            cfg.sul = None; // the SUL is switched off: nothing to select
        }
        for u in &mut cfg.ues {
            if let Some(l) = &mut u.carriers {
                l.retain(|n| names.contains(n));
                if l.is_empty() {
                    return Err(format!(
                        "--carriers: leaves UEs that may only use {:?} without a carrier",
                        u.carriers
                    ));
                }
            }
        }
    }
    cfg.validate()?;
    let specs = place(&cfg, cfg.seed);
    if cfg.isolated_ues {
        let mut all: Option<Outcome> = None;
        let mut merged = 0usize;
        for s in &specs {
            let o = simulate(&cfg, std::slice::from_ref(s), table, miesm)?;
            if o.interrupted {
                // The UE in progress is left out unless it is the only one.
                match &mut all {
                    Some(a) => a.interrupted = true,
                    None => {
                        all = Some(o);
                        merged = 1;
                    }
                }
                break;
            }
            merged += 1;
            match &mut all {
                None => all = Some(o),
                Some(a) => {
                    a.ues.extend(o.ues);
                    for (x, y) in a.carriers.iter_mut().zip(&o.carriers) {
                        x.ul_goodput_mbps += y.ul_goodput_mbps;
                        x.prb_utilisation += y.prb_utilisation;
                    }
                    a.rejected_grants += o.rejected_grants;
                    merge_stats(&mut a.sched, &o.sched);
                }
            }
        }
        let mut a = all.ok_or("no UEs")?;
        for c in &mut a.carriers {
            c.prb_utilisation /= merged.max(1) as f64;
        }
        Ok(a)
    } else {
        simulate(&cfg, &specs, table, miesm)
    }
}

fn merge_stats(a: &mut SchedStats, b: &SchedStats) {
    a.calls += b.calls;
    a.new_grants += b.new_grants;
    a.retx_grants += b.retx_grants;
    a.mu_groups += b.mu_groups;
    a.mu_members += b.mu_members;
    if a.group_size_hist.len() < b.group_size_hist.len() {
        a.group_size_hist.resize(b.group_size_hist.len(), 0);
    }
    for (x, y) in a.group_size_hist.iter_mut().zip(&b.group_size_hist) {
        *x += y;
    }
    a.max_pair_corr = a.max_pair_corr.max(b.max_pair_corr);
    a.max_group_layers = a.max_group_layers.max(b.max_group_layers);
    a.power_shared += b.power_shared;
    a.sul_switches += b.sul_switches;
}

struct Link {
    /// Large-scale gain: SINR per PRB at 0 dBm per PRB, dB (includes receive array gain).
    gain_db: f32,
    fading: Fading,
    spatial: Vec<Complex32>,
}

fn simulate(
    cfg: &SystemConfig,
    specs: &[UeSpec],
    table: &BlerTable,
    miesm: &Miesm,
) -> Result<Outcome, String> {
    let seed = cfg.seed;
    let scen = if cfg.layout.scenario == "umi" {
        Scenario::UMi
    } else {
        Scenario::UMa
    };
    let los_mode = match cfg.layout.los.as_str() {
        "los" => LosMode::Fixed(LosState::Los),
        "nlos" => LosMode::Fixed(LosState::Nlos),
        _ => LosMode::Random,
    };
    // Carriers.
    let mut carriers = Vec::new();
    let mut noise_prb = Vec::new();
    for c in &cfg.carriers {
        let scs = Scs::from_khz(c.scs_khz).map_err(|e| format!("carrier {}: {e}", c.name))?;
        let n_prb = carrier_prbs(FrequencyRange::Fr1, c.bandwidth_mhz, scs)
            .map_err(|e| format!("carrier {}: {e}", c.name))?;
        let pattern = match c.duplex {
            Duplex::Tdd => SlotPattern::tdd(c.tdd_pattern.as_deref().unwrap_or("U"))?,
            Duplex::Fdd => SlotPattern::fdd(),
            Duplex::Sul => SlotPattern::sul(),
        };
        let is_sul = c.duplex == Duplex::Sul;
        let idx = carriers.len();
        carriers.push(CarrierConfig {
            name: c.name.clone(),
            timing: CarrierTiming::new(c.scs_khz, pattern),
            n_prb,
            sul: is_sul,
            dci_carrier: if is_sul { 0 } else { idx },
            rx_antennas: c.antennas,
            n_symbols: 14,
            dmrs_re_per_prb: 24,
            overhead_re: 0,
            p0_dbm: c.p0_dbm,
            alpha: c.alpha,
        });
        noise_prb.push(
            (-174.0 + 10.0 * (12.0 * c.scs_khz as f64 * 1e3).log10() + c.noise_figure_db) as f32,
        );
    }
    let tick_us = carriers
        .iter()
        .map(|c| c.timing.slot_us)
        .min()
        .unwrap_or(500);
    let sul_idx = carriers.iter().position(|c| c.sul);
    // UEs and their links.
    let mut ues = Vec::new();
    let mut links: Vec<Vec<Link>> = Vec::new();
    let mut rsrp = Vec::new();
    for (k, s) in specs.iter().enumerate() {
        let g = &cfg.ues[s.group];
        let allowed: Vec<usize> = (0..carriers.len())
            .filter(|&i| {
                g.carriers
                    .as_ref()
                    .is_none_or(|l| l.contains(&carriers[i].name))
            })
            .collect();
        if allowed.is_empty() {
            return Err(format!(
                "ue group {}: none of its carriers is active",
                s.group
            ));
        }
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(
            seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ s.id as u64,
        );
        let qos = g.qos_class;
        let lc = LogicalChannel::new(1, qos, traffic_model(g), seed ^ (s.id as u64) << 20);
        let cap = UeCapability {
            ul_carriers: allowed.clone(),
            max_layers: 1,
            mcs_table: table.table().unwrap_or(McsTable::Qam256),
            max_tx_power_dbm: g.max_tx_power_dbm,
        };
        let mut ue = UeContext::new(
            s.id,
            cap,
            vec![lc],
            ReportConfig::default(),
            cfg.max_harq_tx,
        );
        let mut ue_links = Vec::new();
        let mut rsrp_dbm = 0.0;
        for (ci, &c) in allowed.iter().enumerate() {
            let cc = &cfg.carriers[c];
            let geo = Geometry::new(scen, s.distance_m, cc.center_frequency_mhz * 1e6);
            let ls = LargeScale::draw(&geo, los_mode, cfg.layout.shadowing, seed, s.id as u64)
                .map_err(|e| format!("path loss of UE {}: {e}", s.id))?;
            let loss = ls.loss_db() as f32;
            let gain_db = -loss - noise_prb[c] + 10.0 * (cc.antennas as f32).log10();
            let n_groups = (carriers[c].n_prb as usize).div_ceil(8).clamp(1, 36);
            let group_hz =
                carriers[c].n_prb as f64 * 12.0 * cc.scs_khz as f64 * 1e3 / n_groups as f64;
            let fading = Fading::new(
                n_groups,
                group_hz,
                cfg.layout.delay_spread_ns,
                (cc.antennas as usize).clamp(1, 4),
                &mut rng,
            );
            let sp = if cc.antennas >= 2 {
                spatial(
                    cc.antennas as usize,
                    s.azimuth_rad,
                    cfg.layout.angular_spread_deg.to_radians(),
                    &mut rng,
                )
            } else {
                Vec::new()
            };
            let uc = &mut ue.carriers[ci];
            uc.gain_db = gain_db;
            uc.path_loss_db = loss;
            uc.spatial = sp.clone();
            ue_links.push(Link {
                gain_db,
                fading,
                spatial: sp,
            });
            if c == 0 {
                let n_re = carriers[0].n_prb as f64 * 12.0;
                rsrp_dbm = cc.tx_power_dbm - 10.0 * n_re.log10() - loss as f64;
            }
        }
        if !allowed.contains(&0) {
            // RSRP is measured on the primary even if the UE sends no uplink there.
            let cc = &cfg.carriers[0];
            let geo = Geometry::new(scen, s.distance_m, cc.center_frequency_mhz * 1e6);
            let ls = LargeScale::draw(&geo, los_mode, cfg.layout.shadowing, seed, s.id as u64)
                .map_err(|e| format!("path loss of UE {}: {e}", s.id))?;
            rsrp_dbm =
                cc.tx_power_dbm - 10.0 * (carriers[0].n_prb as f64 * 12.0).log10() - ls.loss_db();
        }
        ue.rsrp_dbm = rsrp_dbm as f32;
        rsrp.push(rsrp_dbm);
        ues.push(ue);
        links.push(ue_links);
        let _ = k;
    }
    let mut mac = Mac::new(carriers.clone(), ues, MacConfig::default());
    let policy = match cfg.scheduler.as_str() {
        "rr" => Policy::RoundRobin,
        "qos" => Policy::Qos,
        _ => Policy::ProportionalFair,
    };
    let sched_cfg = SchedConfig {
        policy,
        max_ues_per_carrier: cfg.ues_per_slot,
        mu: cfg.mu_mimo.as_ref().map(|m| PairingConfig {
            corr_threshold: m.corr_threshold,
            layer_cap: m.layer_cap,
            prb_groups: m.prb_groups,
            max_candidates: 32,
        }),
        mu_min_antennas: 8,
        sul: match (&cfg.sul, sul_idx) {
            (Some(s), Some(i)) => Some(SulConfig {
                nul: 0,
                sul: i,
                threshold_dbm: s.threshold_dbm,
                hysteresis: s.hysteresis,
            }),
            _ => None,
        },
        max_mcs: table.table().unwrap_or(McsTable::Qam256).max_mcs(),
    };
    let mut sched = UlScheduler::new(sched_cfg, table.selector(cfg.target_bler));
    // Doppler per carrier; fading updated every 2 ms.
    let fade_every_us: Micros = 2_000;
    let rho: Vec<f32> = cfg
        .carriers
        .iter()
        .map(|c| {
            let fd = cfg.layout.speed_kmh / 3.6 * c.center_frequency_mhz * 1e6 / 299_792_458.0;
            let x = 2.0 * std::f64::consts::PI * fd * fade_every_us as f64 * 1e-6;
            // J0(x) ~ exp(-x^2/4) for small x; clamp for fast UEs.
            (-(x * x) / 4.0).exp().clamp(0.0, 1.0) as f32
        })
        .collect();
    let srs_every_us: Micros = 10_000;
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed ^ 0xC0FFEE);
    let mut pending: Vec<(Micros, UlCrc)> = Vec::new();
    let mut grants: Vec<UlGrant> = Vec::new();
    let mut ul_slot = vec![false; carriers.len()];
    let mut ul_slots = vec![0u64; carriers.len()];
    let mut rejected = 0;
    let mut sinrs: Vec<f64> = Vec::new();
    let mut retention: Vec<f32> = Vec::new();
    let mut gram = Vec::new();
    let mut members: Vec<usize> = Vec::new();
    let decode_us = mac.cfg.decode_us;
    // Ctrl-C ends the run after the current slot; the results cover the
    // slots simulated.
    let mut n_ticks = cfg.slots;
    let mut interrupted = false;
    for tick in 0..cfg.slots {
        if crate::interrupt::requested() {
            (n_ticks, interrupted) = (tick, true);
            break;
        }
        let now = tick * tick_us;
        mac.begin_slot(now);
        // CRCs due.
        let mut k = 0;
        while k < pending.len() {
            if pending[k].0 <= now {
                let (t, crc) = pending.swap_remove(k);
                mac.on_crc(t, &crc);
            } else {
                k += 1;
            }
        }
        // Channel evolution and SRS.
        if now % fade_every_us == 0 && now > 0 {
            for (u, ue_links) in links.iter_mut().enumerate() {
                for (ci, l) in ue_links.iter_mut().enumerate() {
                    let c = mac.ues[u].carriers[ci].carrier;
                    l.fading.evolve(rho[c], &mut rng);
                }
            }
        }
        if now % srs_every_us == 0 {
            for (u, ue) in mac.ues.iter_mut().enumerate() {
                for (ci, uc) in ue.carriers.iter_mut().enumerate() {
                    let l = &links[u][ci];
                    let mean = l.fading.gain.iter().sum::<f32>() / l.fading.gain.len() as f32;
                    let err: f32 = rng.gen_range(-0.87f32..0.87); // uniform, 0.5 dB rms
                    uc.gain_db = l.gain_db + 10.0 * mean.max(1e-6).log10() + err;
                }
            }
        }
        let mut any = false;
        for (c, cc) in carriers.iter().enumerate() {
            let starts = now % cc.timing.slot_us == 0;
            ul_slot[c] = starts && cc.timing.pattern.is_ul(now / cc.timing.slot_us);
            if ul_slot[c] {
                ul_slots[c] += 1;
                any = true;
            }
        }
        if any {
            grants.clear();
            sched.schedule_ul(now, &ul_slot, &carriers, mac.ues(), &mut grants);
            rejected += mac.apply_grants(now, &mut grants);
            for gi in 0..grants.len() {
                let g = &grants[gi];
                let u = g.ue as usize;
                let c = g.carrier as usize;
                let Some(ci) = mac.ues[u].carriers.iter().position(|x| x.carrier == c) else {
                    continue;
                };
                if mac.ues[u].carriers[ci].harq.process(g.harq_id).state != HarqState::InFlight {
                    continue; // rejected grant
                }
                // MU-MIMO: retention with the true signatures of the group.
                let mut ret = 1.0f32;
                if let Some(gid) = g.mu_group {
                    members.clear();
                    members.extend((0..grants.len()).filter(|&j| {
                        grants[j].carrier == g.carrier && grants[j].mu_group == Some(gid)
                    }));
                    let pos = members.iter().position(|&j| j == gi).unwrap_or(0);
                    let vec_of = |k: usize| {
                        let gj = &grants[members[k]];
                        let uj = gj.ue as usize;
                        let cj = mac.ues[uj]
                            .carriers
                            .iter()
                            .position(|x| x.carrier == c)
                            .unwrap_or(0);
                        &links[uj][cj].spatial[..]
                    };
                    zf_retention(members.len(), vec_of, &mut gram, &mut retention);
                    ret = retention.get(pos).copied().unwrap_or(0.0).max(1e-6);
                }
                let l = &links[u][ci];
                let n_groups = l.fading.gain.len();
                let group_prbs = (carriers[c].n_prb as usize).div_ceil(n_groups);
                let lo = g.prb_start as usize / group_prbs;
                let hi = ((g.prb_start + g.n_prb).max(1) as usize - 1) / group_prbs;
                let p_prb = g.tx_power_dbm - 10.0 * (g.n_prb.max(1) as f32).log10();
                sinrs.clear();
                for gr in lo..=hi.min(n_groups - 1) {
                    let s = p_prb
                        + l.gain_db
                        + 10.0 * l.fading.gain[gr].max(1e-9).log10()
                        + 10.0 * ret.log10();
                    sinrs.push(s as f64);
                }
                let qm = table.curves[g.mcs as usize].qm;
                let eff_db = miesm.effective_db(qm, &sinrs);
                let combined = mac.ues[u].carriers[ci]
                    .harq
                    .combine_sinr(g.harq_id, 10f32.powf(eff_db as f32 / 10.0));
                let bler = table.bler(g.mcs, 10.0 * (combined as f64).log10());
                let ok = rng.gen::<f64>() >= bler;
                let t = now + carriers[c].timing.slot_us + decode_us;
                pending.push((
                    t,
                    UlCrc {
                        ue: g.ue,
                        carrier: g.carrier,
                        harq_id: g.harq_id,
                        ok,
                        sinr_db: None,
                    },
                ));
            }
        }
        mac.end_slot(tick_us);
    }
    let air_s = n_ticks as f64 * tick_us as f64 * 1e-6;
    // Rates over the air time simulated (0 when no slot ran).
    let per_s = |x: f64| if air_s > 0.0 { x / air_s } else { 0.0 };
    // Results.
    let mut ue_res = Vec::new();
    for (u, ue) in mac.ues.iter().enumerate() {
        let st = ue.stats();
        // Packets, latency and offered load as the waveform cell reports them.
        let pk = PacketReport::of(ue, air_s);
        let used: Vec<String> = ue
            .carriers
            .iter()
            .filter(|c| c.stats.slots_scheduled > 0)
            .map(|c| {
                if carriers[c.carrier].sul {
                    "sul".to_string()
                } else {
                    carriers[c.carrier].name.clone()
                }
            })
            .collect();
        let mut bits = vec![0u64; carriers.len()];
        for c in &ue.carriers {
            bits[c.carrier] += c.stats.bits_ok;
        }
        ue_res.push(UeResult {
            id: ue.id,
            distance_m: specs[u].distance_m,
            rsrp_dbm: rsrp[u],
            qos_class: ue.lcs[0].qos.name(),
            ul_carriers: used,
            offered_mbps: pk.offered_mbps,
            ul_goodput_mbps: pk.delivered_mbps,
            bler: st.tb_failed as f64 / (st.tb_ok + st.tb_failed).max(1) as f64,
            tb_ok: st.tb_ok,
            tb_failed: st.tb_failed,
            tb_dropped: st.tb_dropped,
            packets_in: pk.packets_in,
            delivered: pk.delivered,
            dropped_harq: pk.dropped_harq,
            dropped_expired: pk.dropped_expired,
            queued: pk.queued,
            latency_p50_ms: pk.latency_p50_ms,
            latency_p95_ms: pk.latency_p95_ms,
            latency_p99_ms: pk.latency_p99_ms,
            latencies_ms: latencies_ms(ue),
            bits_per_carrier: bits,
        });
    }
    let carrier_res = carriers
        .iter()
        .enumerate()
        .map(|(c, cc)| {
            let prb: u64 = mac
                .ues
                .iter()
                .filter_map(|u| u.on_carrier(c))
                .map(|x| x.stats.prb_slots)
                .sum();
            let bits: u64 = ue_res.iter().map(|u| u.bits_per_carrier[c]).sum();
            CarrierResult {
                name: cc.name.clone(),
                duplex: match cfg.carriers[c].duplex {
                    Duplex::Tdd => "tdd",
                    Duplex::Fdd => "fdd",
                    Duplex::Sul => "sul",
                },
                n_prb: cc.n_prb,
                ul_slots: ul_slots[c],
                prb_utilisation: prb as f64 / (cc.n_prb as f64 * ul_slots[c].max(1) as f64),
                ul_goodput_mbps: per_s(bits as f64) / 1e6,
            }
        })
        .collect();
    Ok(Outcome {
        ues: ue_res,
        carriers: carrier_res,
        sched: sched.stats().clone(),
        air_s,
        rejected_grants: rejected,
        slots_run: n_ticks,
        interrupted,
    })
}
