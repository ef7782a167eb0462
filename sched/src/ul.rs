//! The uplink scheduler: policies, carrier aggregation with power sharing,
//! SUL selection and MU-MIMO pairing.
//!
//! Per call, for each carrier with an uplink slot:
//! 1. retransmissions that are due go first, with their original PRB count,
//!    MCS and TBS (oldest first);
//! 2. UEs with buffered data (the gNB's estimate), a free HARQ process and
//!    this carrier allowed (SUL rule) are ranked by the policy metric; the
//!    best `max_ues_per_carrier` are served;
//! 3. single-user: each gets contiguous PRBs, as many as its data needs, at
//!    most an equal share of the PRBs left among the UEs still to serve, and
//!    no more than still raise its rate noticeably (a power-limited UE gains
//!    little from PRBs it cannot fill with power); MU-MIMO: the free PRBs are
//!    split into groups and each group gets a semi-orthogonal set of UEs.
//!
//! Then the powers of each UE over all carriers of the slot are shared
//! within P_CMAX ([`crate::power::share`]) and the MCS of new transport
//! blocks follows from the resulting SINR plus the OLLA offset.

use crate::pairing::{self, PairingConfig};
use crate::power::{self, open_loop_dbm};
use crate::sul::{self, UlChoice};
use crate::{Micros, SchedStats, Scheduler};
use ranlab_mac::harq::NUM_PROCESSES;
use ranlab_mac::la::{layer_sinr_offset_db, McsSelector};
use ranlab_mac::mcs::tbs;
use ranlab_mac::ue::UeContext;
use ranlab_mac::{CarrierConfig, UlGrant};

/// Ranking policy of new transmissions (`rr`, `pf`, `qos` in configuration files).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum Policy {
    /// Round robin: the UE unserved longest first.
    #[serde(rename = "rr")]
    RoundRobin,
    /// Proportional fair: instantaneous rate over average rate.
    #[default]
    #[serde(rename = "pf")]
    ProportionalFair,
    /// QoS-aware: PF weighted by QoS priority and by the head-of-line delay
    /// relative to the packet delay budget, `w_prio x exp(3 min(d/PDB, 2))`
    /// (a delay-weighted PF in the spirit of M-LWDF).
    #[serde(rename = "qos")]
    Qos,
}

impl Policy {
    /// Name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Policy::RoundRobin => "rr",
            Policy::ProportionalFair => "pf",
            Policy::Qos => "qos",
        }
    }
}

/// A normal uplink with a supplementary uplink.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SulConfig {
    /// Carrier index of the normal uplink.
    pub nul: usize,
    /// Carrier index of the supplementary uplink.
    pub sul: usize,
    /// rsrp-ThresholdSSB-SUL, dBm.
    pub threshold_dbm: f32,
    /// Relative throughput margin needed to switch.
    pub hysteresis: f32,
}

/// Scheduler settings.
#[derive(Debug, Clone, PartialEq)]
pub struct SchedConfig {
    /// Ranking policy.
    pub policy: Policy,
    /// Most UEs served per carrier per slot (PDCCH capacity).
    pub max_ues_per_carrier: usize,
    /// MU-MIMO pairing, on carriers with at least `mu_min_antennas` antennas.
    pub mu: Option<PairingConfig>,
    /// Antennas a carrier needs for MU-MIMO.
    pub mu_min_antennas: u16,
    /// Supplementary uplink, if the cell has one.
    pub sul: Option<SulConfig>,
    /// Highest MCS used.
    pub max_mcs: u8,
}

impl Default for SchedConfig {
    fn default() -> Self {
        SchedConfig {
            policy: Policy::ProportionalFair,
            max_ues_per_carrier: 16,
            mu: None,
            mu_min_antennas: 8,
            sul: None,
            max_mcs: 27,
        }
    }
}

/// A PUSCH on the air: until `end_us`, on `carrier`, at `mw` milliwatts.
#[derive(Debug, Clone, Copy, Default)]
struct Ongoing {
    end_us: Micros,
    carrier: u8,
    mw: f32,
}

/// PUSCHs of one UE on the air at once (one per carrier).
const MAX_ONGOING: usize = 8;

#[derive(Debug, Clone, Copy)]
struct Cand {
    ue: u32,
    ci: u8,
    pid: u8,
    metric: f32,
}

#[derive(Debug, Clone, Copy)]
struct Plan {
    ue: u32,
    ci: u8,
    carrier: u8,
    pid: u8,
    new_data: bool,
    prb_start: u16,
    n_prb: u16,
    layers: u8,
    dmrs_port: u8,
    mu_group: Option<u16>,
    retention: f32,
    p_dbm: f32,
}

/// The uplink scheduler (see the module documentation).
pub struct UlScheduler {
    cfg: SchedConfig,
    sel: McsSelector,
    stats: SchedStats,
    last_served: Vec<Micros>,
    sul_state: Vec<Option<UlChoice>>,
    remaining: Vec<u64>,
    granted_on: Vec<u32>,
    psum: Vec<f32>,
    /// Per UE: its PUSCHs still on the air (carriers with longer slots
    /// than the timeline's step), which keep their power and block the
    /// other of the NUL/SUL pair.
    ongoing: Vec<[Ongoing; MAX_ONGOING]>,
    cands: Vec<Cand>,
    retx: Vec<Cand>,
    plans: Vec<Plan>,
    order: Vec<u32>,
    group: Vec<u32>,
    retention: Vec<f32>,
    gram: Vec<num_complex::Complex32>,
    active_prev: Vec<u32>,
    mu_group_next: u16,
}

impl UlScheduler {
    /// A scheduler with `cfg`, choosing MCS with `sel` (thresholds from the
    /// link-level BLER curves at the target BLER).
    pub fn new(cfg: SchedConfig, sel: McsSelector) -> UlScheduler {
        UlScheduler {
            cfg,
            sel,
            stats: SchedStats::default(),
            last_served: Vec::new(),
            sul_state: Vec::new(),
            remaining: Vec::new(),
            granted_on: Vec::new(),
            psum: Vec::new(),
            ongoing: Vec::new(),
            cands: Vec::new(),
            retx: Vec::new(),
            plans: Vec::new(),
            order: Vec::new(),
            group: Vec::new(),
            retention: Vec::new(),
            gram: Vec::new(),
            active_prev: Vec::new(),
            mu_group_next: 0,
        }
    }

    /// The settings.
    pub fn config(&self) -> &SchedConfig {
        &self.cfg
    }

    /// The current NUL/SUL choice of UE `i` (None before it was first seen).
    pub fn sul_choice(&self, i: usize) -> Option<UlChoice> {
        self.sul_state.get(i).copied().flatten()
    }

    /// Spectral efficiency (bits/RE) the selector gives at `sinr_db`.
    fn se(&self, sinr_db: f32) -> f32 {
        if sinr_db < self.sel.thresholds_db()[0] {
            return 0.0;
        }
        let m = self.sel.select(sinr_db, self.cfg.max_mcs);
        self.sel.table().spectral_efficiency(m)
    }

    /// Per-PRB SINR (dB, with OLLA) of `ue` on its carrier entry `ci` with
    /// `m` PRBs under a power budget `budget_dbm`.
    fn sinr_at(c: &CarrierConfig, ue: &UeContext, ci: usize, m: u16, budget_dbm: f32) -> f32 {
        let uc = &ue.carriers[ci];
        let p = open_loop_dbm(c.p0_dbm, c.alpha, uc.path_loss_db, m, budget_dbm);
        p - 10.0 * (m.max(1) as f32).log10() + uc.gain_db + uc.olla.offset_db()
    }

    /// Expected rate (bits per slot) on `c` with the UE's fair share of PRBs.
    fn expected_bits(&self, c: &CarrierConfig, ue: &UeContext, ci: usize, share: u16) -> f32 {
        let m = self.best_prbs(c, ue, ci, share.max(1), ue.cap.max_tx_power_dbm);
        let s = Self::sinr_at(c, ue, ci, m, ue.cap.max_tx_power_dbm);
        m as f32 * c.re_per_prb() as f32 * self.se(s)
    }

    /// The smallest PRB count up to `m_hi` reaching 95 % of the best rate
    /// among `m_hi`, its halvings and the open-loop full-power point.
    fn best_prbs(
        &self,
        c: &CarrierConfig,
        ue: &UeContext,
        ci: usize,
        m_hi: u16,
        budget: f32,
    ) -> u16 {
        let uc = &ue.carriers[ci];
        let rate = |m: u16| m as f32 * self.se(Self::sinr_at(c, ue, ci, m, budget));
        let m_pc = 10f32
            .powf((budget - c.p0_dbm - c.alpha * uc.path_loss_db) / 10.0)
            .clamp(1.0, m_hi as f32) as u16;
        let mut best = (rate(m_hi), m_hi);
        let mut cands = [0u16; 18];
        let mut n = 0;
        let mut m = m_hi;
        while m >= 1 && n < 17 {
            cands[n] = m;
            n += 1;
            m /= 2;
        }
        cands[n] = m_pc;
        n += 1;
        for &m in &cands[..n] {
            let r = rate(m);
            if r > best.0 {
                best = (r, m);
            }
        }
        let mut pick = best.1;
        for &m in &cands[..n] {
            if m < pick && rate(m) >= 0.95 * best.0 {
                pick = m;
            }
        }
        pick
    }

    fn metric(&self, now: Micros, c: &CarrierConfig, ue: &UeContext, ci: usize, i: usize) -> f32 {
        match self.cfg.policy {
            Policy::RoundRobin => (now.saturating_sub(self.last_served[i]) as f32 + 1.0) * 1e-3,
            Policy::ProportionalFair | Policy::Qos => {
                let uc = &ue.carriers[ci];
                let psd = c.p0_dbm + c.alpha * uc.path_loss_db;
                let s = psd.min(ue.cap.max_tx_power_dbm) + uc.gain_db + uc.olla.offset_db();
                let r = (self.se(s) + 0.05) * c.re_per_prb() as f32 * c.n_prb as f32
                    / (c.timing.slot_us as f32 * 1e-6);
                let pf = r / ue.avg_rate_bps.max(1.0);
                if self.cfg.policy == Policy::ProportionalFair {
                    return pf;
                }
                let q = ue.qos().params();
                let hol = ue.hol(now);
                if q.gbr {
                    // GBR flows (premium, streaming, AI uplink) go before the
                    // others, earliest deadline first: the least slack
                    // (budget minus head-of-line delay) ranks highest, so a
                    // 200 ms flow near its deadline goes before a 20 ms flow
                    // that has just started waiting.
                    let slack_ms = hol.map_or(q.pdb_ms, |(d, pdb)| pdb - d) as f32;
                    return 1e15 + (2000.0 - slack_ms).clamp(0.0, 4000.0) * 1e11;
                }
                let w_prio = 10f32.powf((90.0 - q.priority as f32) / 40.0);
                let x = hol.map(|(d, pdb)| (d / pdb).min(2.0) as f32).unwrap_or(0.0);
                pf * w_prio * (3.0 * x).exp()
            }
        }
    }

    /// Which of the UE's carriers `c` may carry new data in this slot, by the SUL rule.
    fn sul_allows(
        &mut self,
        i: usize,
        ue: &UeContext,
        c: usize,
        ul_slot: &[bool],
        carriers: &[CarrierConfig],
    ) -> bool {
        let Some(s) = self.cfg.sul else { return true };
        if c != s.nul && c != s.sul {
            return true;
        }
        let (Some(ni), Some(si)) = (
            ue.carriers.iter().position(|x| x.carrier == s.nul),
            ue.carriers.iter().position(|x| x.carrier == s.sul),
        ) else {
            return true;
        };
        let nul_ul = ul_slot.get(s.nul).copied().unwrap_or(false);
        let sul_ul = ul_slot.get(s.sul).copied().unwrap_or(false);
        let choice =
            *self.sul_state[i].get_or_insert(sul::initial_choice(ue.rsrp_dbm, s.threshold_dbm));
        if !(nul_ul && sul_ul) {
            // Only one of them has an uplink slot now: the SUL carries the
            // slots the NUL has none in, for every UE; the NUL is used by
            // the UEs that prefer it (an edge UE on the SUL gains nothing
            // from a NUL slot it cannot close).
            return c == s.sul || choice == UlChoice::Nul;
        }
        if c == s.nul {
            // Evaluate switching once per slot (when the NUL is visited first).
            let share = |k: usize| {
                (carriers[k].n_prb as u32 / self.active_prev.get(k).copied().unwrap_or(1).max(1))
                    as u16
            };
            // Both have an uplink slot now and the UE can use one: compare
            // what one slot of each carries (the other one's slot is lost).
            let t_n = self.expected_bits(&carriers[s.nul], ue, ni, share(s.nul)) as f64;
            let t_s = self.expected_bits(&carriers[s.sul], ue, si, share(s.sul)) as f64;
            let next = sul::switch(choice, t_n as f32, t_s as f32, s.hysteresis);
            if next != choice {
                self.stats.sul_switches += 1;
                self.sul_state[i] = Some(next);
            }
        }
        let choice = self.sul_state[i].unwrap_or(choice);
        (c == s.nul) == (choice == UlChoice::Nul)
    }

    fn plan_carrier(
        &mut self,
        now: Micros,
        c: usize,
        ul_slot: &[bool],
        carriers: &[CarrierConfig],
        ues: &[UeContext],
    ) {
        let cc = &carriers[c];
        let n_prb = cc.n_prb;
        let mut next_prb = 0u16;
        // 1. Retransmissions due on this carrier.
        self.retx.clear();
        self.cands.clear();
        for (i, ue) in ues.iter().enumerate() {
            let Some(ci) = ue.carriers.iter().position(|x| x.carrier == c) else {
                continue;
            };
            if self.pair_busy(i, c, now) {
                continue; // on the air on the other of NUL/SUL: never both at once
            }
            // Less than a tenth of P_CMAX left by PUSCHs already on the air or
            // planned on other carriers: a PUSCH here would be lost in noise.
            if self.psum[i] > 0.9 * power::dbm_to_mw(ue.cap.max_tx_power_dbm) {
                continue;
            }
            let h = &ue.carriers[ci].harq;
            if let Some(pid) = h.retx_ready(now) {
                let age = now.saturating_sub(h.process(pid).first_tx_us) as f32;
                self.retx.push(Cand {
                    ue: i as u32,
                    ci: ci as u8,
                    pid,
                    metric: age,
                });
                continue;
            }
            if self.remaining[i] == 0 || self.granted_on[i] & (1 << c) != 0 {
                continue;
            }
            // SUL and NUL are never used in the same slot (one PUSCH at a time).
            if let Some(s) = self.cfg.sul {
                let other = if c == s.nul {
                    Some(s.sul)
                } else if c == s.sul {
                    Some(s.nul)
                } else {
                    None
                };
                if other.is_some_and(|o| self.granted_on[i] & (1 << o) != 0) {
                    continue;
                }
            }
            let Some(pid) = h.free_process() else {
                continue;
            };
            if !self.sul_allows(i, ue, c, ul_slot, carriers) {
                continue;
            }
            let metric = self.metric(now, cc, ue, ci, i);
            self.cands.push(Cand {
                ue: i as u32,
                ci: ci as u8,
                pid,
                metric,
            });
        }
        if self.active_prev.len() < carriers.len() {
            self.active_prev.resize(carriers.len(), 1);
        }
        self.active_prev[c] = self.cands.len() as u32;
        self.retx
            .sort_unstable_by(|a, b| b.metric.total_cmp(&a.metric));
        let mut served = 0usize;
        for k in 0..self.retx.len() {
            let r = self.retx[k];
            let ue = &ues[r.ue as usize];
            let p = ue.carriers[r.ci as usize].harq.process(r.pid);
            let m = p.tb.n_prb;
            if next_prb + m > n_prb || served >= self.cfg.max_ues_per_carrier {
                continue;
            }
            let i = r.ue as usize;
            let budget = self.planning_budget(i, ue, c, ul_slot);
            let uc = &ue.carriers[r.ci as usize];
            self.push_plan(Plan {
                ue: r.ue,
                ci: r.ci,
                carrier: c as u8,
                pid: r.pid,
                new_data: false,
                prb_start: next_prb,
                n_prb: m,
                layers: p.tb.layers.max(1),
                dmrs_port: 0,
                mu_group: None,
                retention: 1.0,
                p_dbm: open_loop_dbm(cc.p0_dbm, cc.alpha, uc.path_loss_db, m, budget),
            });
            self.granted_on[r.ue as usize] |= 1 << c;
            next_prb += m;
            served += 1;
        }
        // 2. Rank new-data candidates, keep the best few.
        let k = self.cfg.max_ues_per_carrier.saturating_sub(served);
        if self.cands.len() > k && k > 0 {
            self.cands
                .select_nth_unstable_by(k - 1, |a, b| b.metric.total_cmp(&a.metric));
            self.cands.truncate(k);
        } else if k == 0 {
            self.cands.clear();
        }
        self.cands
            .sort_unstable_by(|a, b| b.metric.total_cmp(&a.metric));
        let free = n_prb - next_prb;
        if free == 0 || self.cands.is_empty() {
            return;
        }
        let mu = self
            .cfg
            .mu
            .filter(|_| cc.rx_antennas >= self.cfg.mu_min_antennas);
        match mu {
            Some(pc) => self.plan_mu(c, cc, next_prb, free, ues, ul_slot, &pc, now),
            None => self.plan_su(c, cc, next_prb, free, ues, ul_slot, now),
        }
    }

    /// Power a UE may plan with on carrier `c`: what is left of P_CMAX after
    /// the carriers planned before it in this slot, split evenly over `c` and
    /// the UE's later carriers with an uplink slot now (the final check is
    /// [`power::share`] once all carriers are planned).
    fn planning_budget(&self, i: usize, ue: &UeContext, c: usize, ul_slot: &[bool]) -> f32 {
        let n = ue
            .carriers
            .iter()
            .filter(|x| x.carrier >= c && ul_slot.get(x.carrier).copied().unwrap_or(false))
            .count()
            .max(1);
        let left = (power::dbm_to_mw(ue.cap.max_tx_power_dbm) - self.psum[i]).max(1e-6);
        power::mw_to_dbm(left / n as f32)
    }

    /// Whether UE `i` is still transmitting on the other carrier of the
    /// NUL/SUL pair than `c` at `now` (TS 38.213 §7.3.1: one of them at a time).
    fn pair_busy(&self, i: usize, c: usize, now: Micros) -> bool {
        let Some(s) = self.cfg.sul else { return false };
        let other = if c == s.nul {
            s.sul
        } else if c == s.sul {
            s.nul
        } else {
            return false;
        };
        self.ongoing[i]
            .iter()
            .any(|o| o.end_us > now && o.carrier as usize == other)
    }

    /// Uplink rank (SU-MIMO layers, TS 38.214 §6.1.1) of a UE whose
    /// single-layer SINR is `s` dB: the count up to its capability, the
    /// gNB antennas and 4 that carries the most bits.
    fn rank(&self, cc: &CarrierConfig, ue: &UeContext, s: f32) -> u8 {
        let max = ue.cap.max_layers.min(cc.rx_antennas.min(4) as u8).max(1);
        (1..=max)
            .map(|r| {
                (
                    r,
                    r as f32 * self.se(s + layer_sinr_offset_db(r, cc.rx_antennas)),
                )
            })
            .fold(
                (1, 0.0),
                |best, x| if x.1 > best.1 * 1.05 { x } else { best },
            )
            .0
    }

    fn push_plan(&mut self, p: Plan) {
        self.psum[p.ue as usize] += power::dbm_to_mw(p.p_dbm);
        self.plans.push(p);
    }

    fn bytes_per_prb(&self, cc: &CarrierConfig, sinr_db: f32, layers: u8) -> f32 {
        cc.re_per_prb() as f32 * self.se(sinr_db) * layers as f32 / 8.0
    }

    #[allow(clippy::too_many_arguments)]
    fn plan_su(
        &mut self,
        c: usize,
        cc: &CarrierConfig,
        mut next_prb: u16,
        mut free: u16,
        ues: &[UeContext],
        ul_slot: &[bool],
        now: Micros,
    ) {
        for k in 0..self.cands.len() {
            if free == 0 {
                break;
            }
            let cd = self.cands[k];
            let i = cd.ue as usize;
            let ue = &ues[i];
            let ci = cd.ci as usize;
            let budget = self.planning_budget(i, ue, c, ul_slot);
            // PRBs the data needs at the open-loop PSD.
            let s_pc = Self::sinr_at(cc, ue, ci, 1, budget);
            let bpp = self.bytes_per_prb(cc, s_pc, 1).max(1.0);
            // Frequency-domain sharing: at most an equal share of what is left
            // among the candidates still to serve (each UE brings its own
            // power, so splitting the band among power-limited UEs raises
            // the cell's throughput); UEs needing less leave more to the next.
            let n_left = (self.cands.len() - k) as u32;
            // QoS policy: a GBR flow (ranked first when urgent) takes what its
            // data needs; the others share what it leaves.
            let share = if self.cfg.policy == Policy::Qos && ue.qos().params().gbr {
                free as u32
            } else {
                (free as u32).div_ceil(n_left).max(1)
            };
            let need = ((self.remaining[i] as f32 / bpp).ceil() as u32).clamp(1, share) as u16;
            let m = self.best_prbs(cc, ue, ci, need, budget);
            let uc = &ue.carriers[ci];
            let p = open_loop_dbm(cc.p0_dbm, cc.alpha, uc.path_loss_db, m, budget);
            let s = p - 10.0 * (m as f32).log10() + uc.gain_db + uc.olla.offset_db();
            // Not even MCS 0 decodable at the measured SINR: skip. The outer
            // loop's offset does not lock a UE out (at MCS 0 its ACKs and
            // HARQ combining are what bring the offset back).
            if self.se(s - uc.olla.offset_db()) == 0.0 {
                continue;
            }
            let layers = self.rank(cc, ue, s);
            let s = s + layer_sinr_offset_db(layers, cc.rx_antennas);
            self.push_plan(Plan {
                ue: cd.ue,
                ci: cd.ci,
                carrier: c as u8,
                pid: cd.pid,
                new_data: true,
                prb_start: next_prb,
                n_prb: m,
                layers,
                dmrs_port: 0,
                mu_group: None,
                retention: 1.0,
                p_dbm: p,
            });
            let bytes = (m as f32 * self.bytes_per_prb(cc, s, layers)) as u64;
            self.remaining[i] = self.remaining[i].saturating_sub(bytes);
            self.granted_on[i] |= 1 << c;
            self.last_served[i] = now;
            next_prb += m;
            free -= m;
            *self.stats.group_size_hist.get_mut(1).unwrap() += 1;
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn plan_mu(
        &mut self,
        c: usize,
        cc: &CarrierConfig,
        start: u16,
        free: u16,
        ues: &[UeContext],
        ul_slot: &[bool],
        pc: &PairingConfig,
        now: Micros,
    ) {
        let groups = pc.prb_groups.clamp(1, free);
        let base = free / groups;
        let mut prb = start;
        for g in 0..groups {
            let size = if g == groups - 1 {
                start + free - prb
            } else {
                base
            };
            // Candidates still unserved on this carrier, by metric, with a channel estimate.
            self.order.clear();
            for cd in &self.cands {
                let i = cd.ue as usize;
                if self.granted_on[i] & (1 << c) == 0
                    && !ues[i].carriers[cd.ci as usize].spatial.is_empty()
                    && self.remaining[i] > 0
                {
                    self.order.push(cd.ue);
                }
            }
            if self.order.is_empty() {
                break;
            }
            let ci_of = |u: u32| {
                ues[u as usize]
                    .carriers
                    .iter()
                    .position(|x| x.carrier == c)
                    .unwrap_or(0)
            };
            pairing::select(
                &self.order,
                |u| &ues[u as usize].carriers[ci_of(u)].spatial[..],
                |_| 1,
                pc,
                &mut self.group,
            );
            let group = &self.group;
            let vec_of = |k: usize| {
                let u = group[k];
                &ues[u as usize].carriers[ci_of(u)].spatial[..]
            };
            pairing::zf_retention(group.len(), vec_of, &mut self.gram, &mut self.retention);
            let n = self.group.len();
            if self.stats.group_size_hist.len() <= n {
                self.stats.group_size_hist.resize(n + 1, 0);
            }
            self.stats.group_size_hist[n] += 1;
            self.stats.max_group_layers = self.stats.max_group_layers.max(n as u32);
            let gid = if n > 1 {
                self.stats.mu_groups += 1;
                self.stats.mu_members += n as u64;
                for a in 0..n {
                    for b in a + 1..n {
                        let r = pairing::correlation(vec_of(a), vec_of(b));
                        self.stats.max_pair_corr = self.stats.max_pair_corr.max(r);
                    }
                }
                self.mu_group_next = self.mu_group_next.wrapping_add(1);
                Some(self.mu_group_next)
            } else {
                None
            };
            for k in 0..n {
                let u = self.group[k];
                let i = u as usize;
                let ue = &ues[i];
                let ci = ci_of(u);
                let pid = self
                    .cands
                    .iter()
                    .find(|cd| cd.ue == u)
                    .map(|cd| cd.pid)
                    .unwrap_or(0);
                let budget = self.planning_budget(i, ue, c, ul_slot);
                let uc = &ue.carriers[ci];
                let ret = self.retention[k].max(1e-6);
                let p = open_loop_dbm(cc.p0_dbm, cc.alpha, uc.path_loss_db, size, budget);
                let s = p - 10.0 * (size as f32).log10()
                    + uc.gain_db
                    + uc.olla.offset_db()
                    + 10.0 * ret.log10();
                if self.se(s) == 0.0 {
                    continue;
                }
                self.push_plan(Plan {
                    ue: u,
                    ci: ci as u8,
                    carrier: c as u8,
                    pid,
                    new_data: true,
                    prb_start: prb,
                    n_prb: size,
                    layers: 1,
                    dmrs_port: k as u8,
                    mu_group: gid,
                    retention: ret,
                    p_dbm: p,
                });
                let bytes = (size as f32 * self.bytes_per_prb(cc, s, 1)) as u64;
                self.remaining[i] = self.remaining[i].saturating_sub(bytes);
                self.granted_on[i] |= 1 << c;
                self.last_served[i] = now;
            }
            prb += size;
        }
    }
}

impl Scheduler for UlScheduler {
    fn name(&self) -> &'static str {
        self.cfg.policy.name()
    }

    fn stats(&self) -> &SchedStats {
        &self.stats
    }

    fn schedule_ul(
        &mut self,
        now: Micros,
        ul_slot: &[bool],
        carriers: &[CarrierConfig],
        ues: &[UeContext],
        out: &mut Vec<UlGrant>,
    ) {
        let n = ues.len();
        self.stats.calls += 1;
        if self.last_served.len() != n {
            self.last_served.resize(n, 0);
            self.sul_state.resize(n, None);
            self.remaining.resize(n, 0);
            self.granted_on.resize(n, 0);
            self.psum.resize(n, 0.0);
            self.ongoing.resize(n, [Ongoing::default(); MAX_ONGOING]);
        }
        if self.stats.group_size_hist.len() < 2 {
            self.stats.group_size_hist.resize(2, 0);
        }
        if self.stats.prb_slots.len() < carriers.len() {
            self.stats.prb_slots.resize(carriers.len(), 0);
        }
        for (r, ue) in self.remaining.iter_mut().zip(ues) {
            *r = ue.est_bytes;
        }
        self.granted_on.iter_mut().for_each(|g| *g = 0);
        // Power already on the air (PUSCHs started earlier on longer slots)
        // is kept; new PUSCHs share what is left of P_CMAX (TS 38.213 §7.5).
        for (p, on) in self.psum.iter_mut().zip(&self.ongoing) {
            *p = on.iter().filter(|o| o.end_us > now).map(|o| o.mw).sum();
        }
        self.plans.clear();
        for c in 0..carriers.len().min(ul_slot.len()).min(32) {
            if ul_slot[c] {
                self.plan_carrier(now, c, ul_slot, carriers, ues);
            }
        }
        // Power sharing over the carriers of each UE (TS 38.213 §7.5).
        for p in &self.plans {
            self.psum[p.ue as usize] = 0.0;
        }
        for p in &self.plans {
            self.psum[p.ue as usize] += power::dbm_to_mw(p.p_dbm);
        }
        for k in 0..self.plans.len() {
            let p = &mut self.plans[k];
            let i = p.ue as usize;
            let ue = &ues[i];
            let total = self.psum[i];
            let on_air: f32 = self.ongoing[i]
                .iter()
                .filter(|o| o.end_us > now)
                .map(|o| o.mw)
                .sum();
            let cap = (power::dbm_to_mw(ue.cap.max_tx_power_dbm) - on_air).max(1e-6);
            if total > cap * 1.0001 {
                p.p_dbm += power::mw_to_dbm(cap / total);
                self.stats.power_shared += 1;
            }
        }
        // What goes on the air now, until the end of its carrier's slot.
        for p in &self.plans {
            let on = &mut self.ongoing[p.ue as usize];
            if let Some(o) = on.iter_mut().min_by_key(|o| o.end_us) {
                *o = Ongoing {
                    end_us: now + carriers[p.carrier as usize].timing.slot_us,
                    carrier: p.carrier,
                    mw: power::dbm_to_mw(p.p_dbm),
                };
            }
        }
        // MCS and TBS from the final power.
        for p in &self.plans {
            let ue = &ues[p.ue as usize];
            let cc = &carriers[p.carrier as usize];
            let uc = &ue.carriers[p.ci as usize];
            let sinr = p.p_dbm - 10.0 * (p.n_prb.max(1) as f32).log10()
                + uc.gain_db
                + 10.0 * p.retention.log10()
                + layer_sinr_offset_db(p.layers, cc.rx_antennas);
            let (mcs, tbs_bits) = if p.new_data {
                let m = self
                    .sel
                    .select(sinr + uc.olla.offset_db(), self.cfg.max_mcs);
                (
                    m,
                    tbs(
                        self.sel.table(),
                        m,
                        p.n_prb as u32,
                        cc.re_per_prb(),
                        p.layers as u32,
                    ),
                )
            } else {
                let tb = uc.harq.process(p.pid).tb;
                (tb.mcs, tb.tbs_bits)
            };
            if p.new_data {
                self.stats.new_grants += 1;
            } else {
                self.stats.retx_grants += 1;
            }
            self.stats.prb_slots[p.carrier as usize] += p.n_prb as u64;
            debug_assert!((p.pid as usize) < NUM_PROCESSES);
            out.push(UlGrant {
                ue: p.ue,
                carrier: p.carrier,
                harq_id: p.pid,
                new_data: p.new_data,
                // rv and NDI are the MAC's (Mac::apply_grants).
                ndi: false,
                rv: 0,
                mcs_table: self.sel.table().pdu_index(),
                mcs,
                tbs_bits,
                prb_start: p.prb_start,
                n_prb: p.n_prb,
                start_symbol: 0,
                n_symbols: cc.n_symbols,
                layers: p.layers,
                dmrs_port: p.dmrs_port,
                tx_power_dbm: p.p_dbm,
                expected_sinr_db: sinr + uc.olla.offset_db(),
                mu_group: p.mu_group,
            });
        }
    }
}
