//! Scheduler tests over a small MAC: grant validity, power sharing across
//! carriers, SUL selection, MU-MIMO pairing limits and QoS ranking.

use num_complex::Complex32;
use ranlab_mac::bsr::ReportConfig;
use ranlab_mac::la::McsSelector;
use ranlab_mac::mcs::McsTable;
use ranlab_mac::qos::QosClass;
use ranlab_mac::timing::{CarrierTiming, SlotPattern};
use ranlab_mac::traffic::TrafficModel;
use ranlab_mac::ue::{LogicalChannel, UeCapability, UeContext};
use ranlab_mac::{CarrierConfig, Mac, MacConfig, UlGrant};
use ranlab_sched::pairing::{correlation, PairingConfig};
use ranlab_sched::power::dbm_to_mw;
use ranlab_sched::sul::UlChoice;
use ranlab_sched::{Policy, SchedConfig, Scheduler, SulConfig, UlScheduler};

fn carrier(
    name: &str,
    scs: u32,
    pattern: SlotPattern,
    n_prb: u16,
    ant: u16,
    sul: bool,
) -> CarrierConfig {
    CarrierConfig {
        name: name.into(),
        timing: CarrierTiming::new(scs, pattern),
        n_prb,
        sul,
        dci_carrier: 0,
        rx_antennas: ant,
        n_symbols: 14,
        dmrs_re_per_prb: 24,
        overhead_re: 0,
        p0_dbm: -90.0,
        alpha: 0.8,
    }
}

/// `gain_db` is the SINR per PRB at 0 dBm per PRB: about `113 - PL` at 30 kHz
/// with a 5 dB noise figure, plus the receive array gain.
fn ue(
    id: u32,
    carriers: Vec<usize>,
    qos: QosClass,
    model: TrafficModel,
    gain_db: f32,
    pl_db: f32,
) -> UeContext {
    let cap = UeCapability {
        ul_carriers: carriers,
        max_layers: 1,
        mcs_table: McsTable::Qam256,
        max_tx_power_dbm: 23.0,
    };
    let mut u = UeContext::new(
        id,
        cap,
        vec![LogicalChannel::new(1, qos, model, id as u64)],
        ReportConfig::default(),
        4,
    );
    for c in &mut u.carriers {
        c.gain_db = gain_db;
        c.path_loss_db = pl_db;
    }
    u
}

fn selector() -> McsSelector {
    McsSelector::shannon_gap(McsTable::Qam256, 1.5)
}

/// Warm up the buffers so the gNB has seen the data.
fn warm(mac: &mut Mac, until_us: u64) {
    let mut t = 0;
    while t <= until_us {
        mac.begin_slot(t);
        t += 500;
    }
}

fn check_grants(grants: &[UlGrant], carriers: &[CarrierConfig], mac: &Mac) {
    for g in grants {
        let c = &carriers[g.carrier as usize];
        let ue = &mac.ues[g.ue as usize];
        g.pusch_pdu(ue.rnti, 1, 0)
            .validate(c.n_prb, c.rx_antennas)
            .unwrap();
    }
    // At most one grant per UE per carrier; SU grants do not overlap.
    for (a, g) in grants.iter().enumerate() {
        for h in &grants[a + 1..] {
            assert!(
                !(g.ue == h.ue && g.carrier == h.carrier),
                "two grants for UE {} on {}",
                g.ue,
                g.carrier
            );
            if g.carrier == h.carrier && (g.mu_group.is_none() || g.mu_group != h.mu_group) {
                let overlap =
                    g.prb_start < h.prb_start + h.n_prb && h.prb_start < g.prb_start + g.n_prb;
                assert!(!overlap, "PRB overlap {g:?} {h:?}");
            }
        }
    }
}

#[test]
fn ca_power_sharing_keeps_each_ue_within_pcmax() {
    let carriers = vec![
        carrier("n78", 30, SlotPattern::tdd("DDDSU").unwrap(), 273, 4, false),
        carrier("n1", 30, SlotPattern::fdd(), 51, 4, false),
    ];
    // Cell-edge UEs (high path loss, low gain): open-loop power asks for the maximum on both.
    let ues = (0..6)
        .map(|i| {
            ue(
                i,
                vec![0, 1],
                QosClass::BestEffort,
                TrafficModel::FullBuffer {
                    backlog_bytes: 1_000_000,
                },
                -14.0 + i as f32,
                125.0,
            )
        })
        .collect();
    let mut mac = Mac::new(carriers.clone(), ues, MacConfig::default());
    warm(&mut mac, 20_000);
    let mut s = UlScheduler::new(SchedConfig::default(), selector());
    let mut grants = Vec::new();
    let now = 24 * 500; // slot 24: uplink on both carriers
    mac.begin_slot(now);
    s.schedule_ul(now, &[true, true], &carriers, mac.ues(), &mut grants);
    check_grants(&grants, &carriers, &mac);
    let mut both = 0;
    for u in 0..6u32 {
        let mine: Vec<&UlGrant> = grants.iter().filter(|g| g.ue == u).collect();
        let total: f32 = mine.iter().map(|g| dbm_to_mw(g.tx_power_dbm)).sum();
        assert!(total <= dbm_to_mw(23.0) * 1.001, "UE {u}: {total} mW");
        if mine.len() == 2 {
            both += 1;
        }
    }
    assert!(
        both > 0,
        "some UE is scheduled on both carriers in the same slot: {grants:?}"
    );
    // The UE furthest out, if on both carriers, uses its whole budget between them.
    for u in 0..1u32 {
        let mine: Vec<&UlGrant> = grants.iter().filter(|g| g.ue == u).collect();
        if mine.len() == 2 {
            let total: f32 = mine.iter().map(|g| dbm_to_mw(g.tx_power_dbm)).sum();
            assert!(total > dbm_to_mw(22.5), "UE {u}: {total} mW of 200");
        }
    }
    // A downlink slot of the TDD carrier: only the FDD carrier carries PUSCH, at full power.
    let mut g2 = Vec::new();
    s.schedule_ul(now + 500, &[false, true], &carriers, mac.ues(), &mut g2);
    assert!(g2.iter().all(|g| g.carrier == 1));
}

#[test]
fn sul_initial_selection_follows_rsrp_threshold_and_switches_with_hysteresis() {
    let carriers = vec![
        carrier("n78", 30, SlotPattern::tdd("DDDSU").unwrap(), 106, 4, false),
        carrier("sul", 30, SlotPattern::sul(), 51, 4, true),
    ];
    let mut ues: Vec<UeContext> = (0..2)
        .map(|i| {
            ue(
                i,
                vec![0, 1],
                QosClass::BestEffort,
                TrafficModel::FullBuffer {
                    backlog_bytes: 100_000,
                },
                13.0,
                100.0,
            )
        })
        .collect();
    ues[0].rsrp_dbm = -100.0; // at the threshold: NUL
    ues[1].rsrp_dbm = -100.5; // below: SUL
    let mut mac = Mac::new(carriers.clone(), ues, MacConfig::default());
    warm(&mut mac, 20_000);
    let cfg = SchedConfig {
        sul: Some(SulConfig {
            nul: 0,
            sul: 1,
            threshold_dbm: -100.0,
            hysteresis: 10.0,
        }),
        ..SchedConfig::default()
    };
    let mut s = UlScheduler::new(cfg, selector());
    let mut grants = Vec::new();
    let now = 24 * 500;
    mac.begin_slot(now);
    s.schedule_ul(now, &[true, true], &carriers, mac.ues(), &mut grants);
    check_grants(&grants, &carriers, &mac);
    assert_eq!(s.sul_choice(0), Some(UlChoice::Nul));
    assert_eq!(s.sul_choice(1), Some(UlChoice::Sul));
    for g in &grants {
        assert_eq!(g.carrier as u32, g.ue, "UE 0 on NUL, UE 1 on SUL: {g:?}");
    }
    // In a slot where only the SUL has uplink, both may use it.
    let mut g2 = Vec::new();
    s.schedule_ul(now + 500, &[false, true], &carriers, mac.ues(), &mut g2);
    assert!(g2.iter().all(|g| g.carrier == 1));
    // Huge hysteresis: no switching. Small hysteresis: where both have an
    // uplink slot, the UEs compare what one slot of each carries; the NUL's
    // 106 PRBs against the SUL's 51 at the same gain: UE 1 moves to the NUL.
    assert_eq!(s.stats().sul_switches, 0);
    let cfg = SchedConfig {
        sul: Some(SulConfig {
            nul: 0,
            sul: 1,
            threshold_dbm: -100.0,
            hysteresis: 0.1,
        }),
        ..SchedConfig::default()
    };
    let mut s = UlScheduler::new(cfg, selector());
    let mut g3 = Vec::new();
    s.schedule_ul(now, &[true, true], &carriers, mac.ues(), &mut g3);
    assert_eq!(s.sul_choice(0), Some(UlChoice::Nul));
    assert_eq!(s.sul_choice(1), Some(UlChoice::Nul));
    assert!(s.stats().sul_switches >= 1);
}

#[test]
fn a_ue_never_sends_on_nul_and_sul_at_once_and_keeps_power_on_the_air() {
    // NUL at 30 kHz (0.5 ms slots, all uplink here), SUL at 15 kHz (1 ms).
    let carriers = vec![
        carrier("n78", 30, SlotPattern::tdd("U").unwrap(), 106, 4, false),
        carrier("sul", 15, SlotPattern::sul(), 52, 4, true),
    ];
    let ues: Vec<UeContext> = (0..1)
        .map(|i| {
            let mut u = ue(
                i,
                vec![0, 1],
                QosClass::BestEffort,
                TrafficModel::FullBuffer {
                    backlog_bytes: 1_000_000,
                },
                20.0,
                136.0,
            );
            u.rsrp_dbm = -120.0; // below the threshold: SUL first
            u
        })
        .collect();
    let mut mac = Mac::new(carriers.clone(), ues, MacConfig::default());
    warm(&mut mac, 20_000);
    let cfg = SchedConfig {
        sul: Some(SulConfig {
            nul: 0,
            sul: 1,
            threshold_dbm: -100.0,
            hysteresis: 10.0,
        }),
        ..SchedConfig::default()
    };
    let mut s = UlScheduler::new(cfg, selector());
    let now = 40 * 1000;
    mac.begin_slot(now);
    let mut g = Vec::new();
    s.schedule_ul(now, &[true, true], &carriers, mac.ues(), &mut g);
    assert!(g.iter().all(|g| g.carrier == 1) && !g.is_empty(), "{g:?}");
    // Half a millisecond later only the NUL starts a slot, but the UE is
    // still on the air on the SUL: no NUL grant.
    let mut g2 = Vec::new();
    mac.begin_slot(now + 500);
    s.schedule_ul(now + 500, &[true, false], &carriers, mac.ues(), &mut g2);
    assert!(g2.is_empty(), "{g2:?}");
    // Without SUL rules (plain CA) the NUL grant comes, with the power the
    // SUL PUSCH leaves of P_CMAX.
    let mut ca = UlScheduler::new(SchedConfig::default(), selector());
    let mut g3 = Vec::new();
    ca.schedule_ul(now, &[false, true], &carriers, mac.ues(), &mut g3);
    let p_sul = g3[0].tx_power_dbm;
    let mut g4 = Vec::new();
    ca.schedule_ul(now + 500, &[true, false], &carriers, mac.ues(), &mut g4);
    let p_nul = g4[0].tx_power_dbm;
    let total = 10f32.powf(p_sul / 10.0) + 10f32.powf(p_nul / 10.0);
    assert!(10.0 * total.log10() <= 23.0 + 1e-3, "{p_sul} + {p_nul} dBm");
    // A scheduler that did not see the SUL PUSCH would have given the NUL more.
    let mut fresh = UlScheduler::new(SchedConfig::default(), selector());
    let mut g5 = Vec::new();
    fresh.schedule_ul(now + 500, &[true, false], &carriers, mac.ues(), &mut g5);
    let p_fresh = g5[0].tx_power_dbm;
    let sum_fresh = 10.0 * (10f32.powf(p_sul / 10.0) + 10f32.powf(p_fresh / 10.0)).log10();
    assert!(
        sum_fresh > 23.0 && p_nul < p_fresh - 0.5,
        "{p_sul} {p_nul} {p_fresh}"
    );
}

fn spatial(rng: &mut u64, n: usize) -> Vec<Complex32> {
    let mut next = || {
        *rng ^= *rng << 13;
        *rng ^= *rng >> 7;
        *rng ^= *rng << 17;
        (*rng >> 11) as f32 / (1u64 << 53) as f32 - 0.5
    };
    let v: Vec<Complex32> = (0..n).map(|_| Complex32::new(next(), next())).collect();
    let norm = v.iter().map(|x| x.norm_sqr()).sum::<f32>().sqrt();
    v.into_iter().map(|x| x / norm).collect()
}

#[test]
fn mu_mimo_groups_respect_correlation_threshold_and_layer_cap() {
    let carriers = vec![carrier(
        "n78",
        30,
        SlotPattern::tdd("DDDSU").unwrap(),
        273,
        64,
        false,
    )];
    let mut rng = 0x1234_5678_9abc_def1u64;
    let ues: Vec<UeContext> = (0..24)
        .map(|i| {
            let mut u = ue(
                i,
                vec![0],
                QosClass::BestEffort,
                TrafficModel::FullBuffer {
                    backlog_bytes: 1_000_000,
                },
                31.0,
                100.0,
            );
            // Half the UEs share a direction with UE 0 (strongly correlated).
            u.carriers[0].spatial = if i % 2 == 0 {
                spatial(&mut 7u64.clone(), 64)
            } else {
                spatial(&mut rng, 64)
            };
            u
        })
        .collect();
    let mut mac = Mac::new(carriers.clone(), ues, MacConfig::default());
    warm(&mut mac, 20_000);
    for (thr, cap) in [(0.3f32, 8u8), (0.5, 4), (0.9, 12)] {
        let cfg = SchedConfig {
            mu: Some(PairingConfig {
                corr_threshold: thr,
                layer_cap: cap,
                prb_groups: 3,
                max_candidates: 32,
            }),
            max_ues_per_carrier: 24,
            ..SchedConfig::default()
        };
        let mut s = UlScheduler::new(cfg, selector());
        let mut grants = Vec::new();
        mac.begin_slot(24 * 500);
        s.schedule_ul(24 * 500, &[true], &carriers, mac.ues(), &mut grants);
        check_grants(&grants, &carriers, &mac);
        assert!(s.stats().mu_groups > 0, "pairing happened");
        let mut groups: std::collections::HashMap<(u16, u16), Vec<&UlGrant>> = Default::default();
        for g in &grants {
            groups.entry((g.prb_start, g.n_prb)).or_default().push(g);
        }
        for members in groups.values() {
            let layers: u32 = members.iter().map(|g| g.layers as u32).sum();
            assert!(layers <= cap as u32, "{layers} layers > cap {cap}");
            let mut ports: Vec<u8> = members.iter().map(|g| g.dmrs_port).collect();
            ports.sort();
            ports.dedup();
            assert_eq!(
                ports.len(),
                members.len(),
                "distinct DM-RS ports within a group"
            );
            for (a, g) in members.iter().enumerate() {
                for h in &members[a + 1..] {
                    let r = correlation(
                        &mac.ues[g.ue as usize].carriers[0].spatial,
                        &mac.ues[h.ue as usize].carriers[0].spatial,
                    );
                    assert!(r <= thr, "corr {r} > {thr}");
                }
            }
        }
        assert!(s.stats().max_pair_corr <= thr);
        assert!(s.stats().max_group_layers <= cap as u32);
    }
}

#[test]
fn qos_policy_serves_urgent_premium_before_best_effort_and_rr_rotates() {
    let carriers = vec![carrier("n1", 30, SlotPattern::fdd(), 51, 4, false)];
    let mut ues = vec![
        ue(
            0,
            vec![0],
            QosClass::BestEffort,
            TrafficModel::FullBuffer {
                backlog_bytes: 1_000_000,
            },
            23.0,
            90.0,
        ),
        ue(
            1,
            vec![0],
            QosClass::Premium,
            TrafficModel::Poisson {
                rate_mbps: 2.0,
                packet_bytes: 1000,
            },
            3.0,
            110.0,
        ),
    ];
    ues[0].avg_rate_bps = 2e5; // best effort has been served less: PF alone would pick it
    ues[1].avg_rate_bps = 1e6;
    let mut mac = Mac::new(carriers.clone(), ues, MacConfig::default());
    warm(&mut mac, 30_000);
    let now = 30_500;
    mac.begin_slot(now);
    let first = |p: Policy, mac: &Mac| {
        let mut s = UlScheduler::new(
            SchedConfig {
                policy: p,
                max_ues_per_carrier: 1,
                ..SchedConfig::default()
            },
            selector(),
        );
        let mut g = Vec::new();
        s.schedule_ul(now, &[true], &carriers, mac.ues(), &mut g);
        g[0].ue
    };
    assert_eq!(first(Policy::ProportionalFair, &mac), 0);
    assert_eq!(first(Policy::Qos, &mac), 1);
    let mut s = UlScheduler::new(
        SchedConfig {
            policy: Policy::RoundRobin,
            max_ues_per_carrier: 1,
            ..SchedConfig::default()
        },
        selector(),
    );
    let mut served = Vec::new();
    for k in 0..4 {
        let mut g = Vec::new();
        s.schedule_ul(now + k * 500, &[true], &carriers, mac.ues(), &mut g);
        served.push(g[0].ue);
    }
    assert!(
        served.windows(2).all(|w| w[0] != w[1]),
        "round robin alternates: {served:?}"
    );
}
