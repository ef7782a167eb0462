//! ranlab scheduler: per slot and carrier, who transmits on which PRBs,
//! layers and MCS.
//!
//! The [`Scheduler`] trait is what a driver (`ranlab loopback`, `ranlab
//! system`, a test) calls once per uplink slot: it reads the MAC's UE
//! contexts ([`ranlab_mac::ue::UeContext`]: the gNB's buffer estimate, HARQ
//! processes, channel gain, OLLA offset, QoS, spatial signature) and writes
//! [`UlGrant`]s, which the MAC turns into transport blocks
//! ([`ranlab_mac::Mac::apply_grants`]) and the PHY receives as
//! [`ranlab_phy::pdu::PuschPdu`]s ([`UlGrant::pusch_pdu`]).
//!
//! [`UlScheduler`] implements round robin, proportional fair and a QoS-aware
//! delay-weighted PF, with uplink carrier aggregation under a shared power
//! budget ([`power`]), supplementary-uplink selection ([`sul`]) and MU-MIMO
//! pairing ([`pairing`]).
#![warn(missing_docs)]

pub mod dl;
pub mod fixture;
pub mod pairing;
pub mod power;
pub mod sul;
mod ul;

pub use ranlab_mac::buffer::Micros;
use ranlab_mac::ue::UeContext;
pub use ranlab_mac::{CarrierConfig, UlGrant};
pub use ul::{Policy, SchedConfig, SulConfig, UlScheduler};

/// Counters a scheduler keeps about its own decisions.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SchedStats {
    /// Calls of [`Scheduler::schedule_ul`].
    pub calls: u64,
    /// Grants for new data.
    pub new_grants: u64,
    /// Grants for retransmissions.
    pub retx_grants: u64,
    /// MU-MIMO groups of two or more UEs formed.
    pub mu_groups: u64,
    /// UEs in those groups.
    pub mu_members: u64,
    /// Histogram of group sizes (index = UEs in the group, 1 = unpaired).
    pub group_size_hist: Vec<u64>,
    /// Largest correlation between two co-scheduled UEs seen.
    pub max_pair_corr: f32,
    /// Largest number of layers in one PRB group seen.
    pub max_group_layers: u32,
    /// Grants whose power was cut to share P_CMAX between carriers.
    pub power_shared: u64,
    /// NUL/SUL switches by the throughput rule.
    pub sul_switches: u64,
    /// PRB-slots granted per carrier.
    pub prb_slots: Vec<u64>,
}

/// A per-slot uplink scheduler.
pub trait Scheduler {
    /// A short name for reports (`rr`, `pf`, `qos`).
    fn name(&self) -> &'static str;

    /// Decides the PUSCHs that start at `now`. `ul_slot[c]` says whether
    /// carrier `c` has an uplink slot starting at `now`; `ues` is the MAC's
    /// read-only UE list. Grants are appended to `out` (not cleared): at most
    /// one per UE per carrier, retransmissions with their original TBS and
    /// MCS, new data on free HARQ processes, within each carrier's PRBs, and
    /// with each UE's powers summing to at most its P_CMAX.
    fn schedule_ul(
        &mut self,
        now: Micros,
        ul_slot: &[bool],
        carriers: &[CarrierConfig],
        ues: &[UeContext],
        out: &mut Vec<UlGrant>,
    );

    /// The scheduler's counters.
    fn stats(&self) -> &SchedStats;
}
