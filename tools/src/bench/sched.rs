//! Bench cases of the uplink scheduler: one per-slot decision for 100 and
//! 1,000 full-buffer UEs on two 273-PRB carriers (see `ranlab_sched::fixture`).

use super::Case;
use ranlab_phy::simd::SimdLevel;
use ranlab_sched::fixture::{carriers, cell, selector, SLOT_US};
use ranlab_sched::pairing::PairingConfig;
use ranlab_sched::{Policy, SchedConfig, Scheduler, UlScheduler};

/// Scheduler cases (scalar code: the SIMD level does not apply).
pub fn cases(_level: SimdLevel) -> Vec<Case> {
    let mut v = Vec::new();
    for n in [100u32, 1000] {
        for (label, policy, mu) in [
            ("pf", Policy::ProportionalFair, false),
            ("qos", Policy::Qos, false),
            ("pf-mu64", Policy::ProportionalFair, true),
        ] {
            let cs = carriers(273, if mu { 64 } else { 4 });
            let mac = cell(n, cs.clone(), 7);
            let cfg = SchedConfig {
                policy,
                mu: mu.then(PairingConfig::default),
                ..SchedConfig::default()
            };
            let mut s = UlScheduler::new(cfg, selector());
            let mut out = Vec::with_capacity(64);
            v.push(Case {
                block: "sched",
                case: format!("ul-slot-{label}-{n}ue-2x273prb"),
                info_bits: 0.0,
                res: 0.0,
                run: Box::new(move || {
                    out.clear();
                    s.schedule_ul(SLOT_US, &[true, true], &cs, mac.ues(), &mut out);
                    std::hint::black_box(out.len());
                }),
            });
        }
    }
    v
}
