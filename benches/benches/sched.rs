//! Per-slot uplink scheduling decision time: 100 and 1,000 UEs with full
//! buffers, 273 PRBs on each of 2 carriers (TDD + FDD, both uplink in the
//! slot), PF and QoS policies, and PF with MU-MIMO pairing on 64 antennas.
//! A 30 kHz slot lasts 500 us; the decision must stay well inside it.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use ranlab_sched::fixture::{carriers, cell, selector, SLOT_US};
use ranlab_sched::pairing::PairingConfig;
use ranlab_sched::{Policy, SchedConfig, Scheduler, UlScheduler};

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("sched_ul_slot");
    for &n in &[100u32, 1000] {
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
            g.bench_with_input(BenchmarkId::new(label, n), &n, |b, _| {
                b.iter(|| {
                    out.clear();
                    s.schedule_ul(SLOT_US, &[true, true], &cs, mac.ues(), &mut out);
                    std::hint::black_box(out.len())
                })
            });
        }
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
