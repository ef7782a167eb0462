//! The waveform cell with several carriers, SUL, power control, traffic and
//! packet latency, driven through the library (`ranlab::cell::run`).

use proptest::prelude::*;
use ranlab::cell::radio::{RadioChoice, RadioKind};
use ranlab::cell::report::Report;
use ranlab::cell::{run, CellOptions};
use ranlab::scenario::Scenario;

fn cell(toml: &str) -> Report {
    let s = Scenario::parse(toml, "test").expect("valid scenario");
    run(&s, &CellOptions::default(), None).expect("the cell runs")
}

/// An n78 TDD carrier plus a second carrier (`second`), 10 MHz each, and UE groups `ues`.
fn two_carriers(second: &str, extra_cell: &str, ues: &str, slots: u32) -> String {
    format!(
        r#"
name = "t"
slots = {slots}
[cell]
id = 3
{extra_cell}
[[cell.carriers]]
name = "n78"
band = "n78"
duplex = "tdd"
center_frequency_mhz = 3500.0
bandwidth_mhz = 10
scs_khz = 30
tdd_pattern = "DDDSU"
antennas = 2
{second}
{ues}
[channel]
model = "awgn"
"#
    )
}

const FDD: &str = r#"
[[cell.carriers]]
name = "n3"
band = "n3"
duplex = "fdd"
center_frequency_mhz = 1747.5
bandwidth_mhz = 10
scs_khz = 15
antennas = 2
"#;

const SUL: &str = r#"
[[cell.carriers]]
name = "sul"
band = "n80"
duplex = "sul"
center_frequency_mhz = 1747.5
bandwidth_mhz = 10
scs_khz = 15
antennas = 2
"#;

#[test]
fn two_carriers_with_different_numerologies_both_deliver() {
    let r = cell(&two_carriers(
        FDD,
        "",
        "[[ue]]\ncount = 2\ndistance_m = 120.0",
        80,
    ));
    assert_eq!(r.carriers.len(), 2);
    assert_eq!(r.carriers[0].ul_slots, 16, "n78: 80 slots of DDDSU");
    assert_eq!(r.carriers[1].ul_slots, 40, "n3: 40 slots of 1 ms in 40 ms");
    for u in &r.ues {
        assert_eq!(u.carriers.len(), 2);
        for c in &u.carriers {
            assert!(c.tb_ok > 0, "UE {} delivers nothing on {}", u.id, c.name);
        }
        assert_eq!(u.ul_carriers, ["n78", "n3"]);
    }
    assert!(r.carriers.iter().all(|c| c.ul_goodput_mbps > 0.0));
    // A carrier a UE group may not use carries nothing of it.
    let r = cell(&two_carriers(
        FDD,
        "",
        "[[ue]]\ndistance_m = 120.0\ncarriers = [\"n3\"]",
        40,
    ));
    assert_eq!(r.ues[0].carriers.len(), 1);
    assert_eq!(r.ues[0].carriers[0].name, "n3");
    assert_eq!(r.carriers[0].ul_goodput_mbps, 0.0);
}

#[test]
fn sul_takes_the_edge_ue_and_leaves_the_near_ue_on_n78() {
    // n78 at 40 MHz: one of its slots carries more than one SUL slot for a near UE.
    let r = cell(
        &two_carriers(
            SUL,
            "sul = { threshold_dbm = -110.0 }",
            "[[ue]]\ndistance_m = 60.0\n[[ue]]\ndistance_m = 900.0",
            200,
        )
        .replacen("bandwidth_mhz = 10", "bandwidth_mhz = 40", 1),
    );
    let slots = |u: usize, n: &str| {
        r.ues[u]
            .carriers
            .iter()
            .find(|c| c.name == n)
            .map_or(0, |c| c.slots_used)
    };
    assert!(r.ues[1].rsrp_dbm.unwrap() < -110.0 && r.ues[0].rsrp_dbm.unwrap() > -110.0);
    // The edge UE stays on the SUL; the near UE takes the n78 uplink slots
    // it is not busy on the SUL in.
    // (a switch to n78 when the SUL's outer loop has pushed its expected rate to
    // nothing is allowed by the rule, but stays rare)
    assert!(slots(1, "sul") > 50);
    assert!(
        slots(1, "n78") * 20 <= slots(1, "sul"),
        "{:?}",
        r.ues[1].carriers
    );
    assert!(slots(0, "n78") >= 10, "{:?}", r.ues[0].carriers);
    assert!(r.ues[1].tb_ok > 0, "the edge UE closes its link on the SUL");
}

#[test]
fn power_control_lets_a_cell_edge_ue_close_its_link_on_few_prbs() {
    // 1 km in n78: at full power over all 24 PRBs its per-RE SNR is far
    // below 0 dB; open-loop power control concentrates it on few PRBs.
    let s = two_carriers("", "", "[[ue]]\ndistance_m = 1000.0", 200);
    let r = cell(&s);
    let u = &r.ues[0];
    assert!(u.carriers[0].snr_max_power_db < -5.0, "{:?}", u.carriers[0]);
    assert!(u.tb_ok > 10 && u.bler < 0.1, "{u:?}");
}

#[test]
fn keys_the_cell_cannot_honour_are_refused_by_name() {
    let bad = [
        (
            two_carriers("", "", "[[ue]]\ncount = 1", 10)
                .replace("model = \"awgn\"", "model = \"awgn\"\nsnr_db = 10.0")
                + "",
            None,
        ),
        (
            two_carriers(SUL, "", "[[ue]]\ncount = 1", 10),
            Some("cell.sul"),
        ),
        (
            two_carriers(
                "",
                "",
                "[[ue]]\ntraffic = \"full-buffer\"\nrate_mbps = 5.0",
                10,
            ),
            Some("ue[0].rate_mbps"),
        ),
        (
            two_carriers("", "", "[[ue]]\ncarriers = [\"n1\"]", 10),
            Some("ue[0].carriers"),
        ),
        (
            two_carriers("", "", "[[ue]]\ncount = 1", 10)
                .replace("antennas = 2", "antennas = 2\np0_dbm = -80.0")
                .replace("model = \"awgn\"", "model = \"awgn\"\nsnr_db = 10.0"),
            Some("p0_dbm"),
        ),
    ];
    for (t, key) in bad {
        match (Scenario::parse(&t, "t"), key) {
            (Ok(_), None) => {}
            (Err(e), Some(k)) => assert!(e.contains(k), "{e}"),
            (r, k) => panic!("{k:?}: {:?}", r.map(|_| ())),
        }
    }
    // Several carriers over SoapySDR: refused naming the key.
    let s = Scenario::parse(&two_carriers(FDD, "", "[[ue]]\ncount = 1", 10), "t").unwrap();
    let o = CellOptions {
        radio: RadioChoice {
            kind: RadioKind::Soapy,
            ..RadioChoice::default()
        },
        ..CellOptions::default()
    };
    let e = run(&s, &o, None).err().expect("refused").to_string();
    assert!(e.contains("cell.carriers"), "{e}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, ..ProptestConfig::default() })]
    /// Every packet that entered a UE's buffer is delivered, dropped with a
    /// reason or still queued, whatever the traffic and the link.
    #[test]
    fn packet_accounting_balances(
        seed in 1u64..1000,
        dist in 50.0f64..1500.0,
        rate in 1.0f64..40.0,
        video in any::<bool>(),
    ) {
        let traffic = if video { "video" } else { "ai-uplink" };
        let t = two_carriers(
            FDD,
            "scheduler = \"qos\"",
            &format!("[[ue]]\ndistance_m = {dist}\ntraffic = \"{traffic}\"\nrate_mbps = {rate}\nqos_class = \"ai_uplink\"\n[[ue]]\ndistance_m = 200.0\ntraffic = \"periodic-iot\"\nqos_class = \"iot\""),
            120,
        ).replace("model = \"awgn\"", &format!("model = \"tdl-a\"\nseed = {seed}"));
        let r = cell(&t);
        for u in &r.ues {
            let p = &u.packets;
            prop_assert_eq!(p.packets_in, p.delivered + p.dropped_harq + p.dropped_expired + p.queued, "{:?}", p);
            prop_assert!(p.latency_p50_ms.is_some() == (p.delivered > 0));
        }
    }
}

#[test]
fn the_ai_uplink_example_reports_what_its_claim_is_checked_by() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/ai-uplink.toml");
    let mut s = Scenario::load(std::path::Path::new(path)).expect("the example parses");
    s.slots = 300;
    let r = run(&s, &CellOptions::default(), None).expect("runs");
    let v = serde_json::to_value(&r).unwrap();
    for u in v["ues"].as_array().unwrap() {
        for key in ["qos_class", "ul_goodput_mbps", "latency_p99_ms", "carriers"] {
            assert!(u.get(key).is_some(), "{key} missing: {u}");
        }
        assert_eq!(u["carriers"].as_array().unwrap().len(), 2);
    }
    let ai: Vec<_> = r
        .ues
        .iter()
        .filter(|u| u.qos_class == "ai_uplink")
        .collect();
    assert_eq!(ai.len(), 4);
    assert!(ai
        .iter()
        .all(|u| u.packets.delivered > 0 && u.carriers.iter().all(|c| c.tb_ok > 0)));
}

#[test]
fn a_two_antenna_ue_sends_two_layers_when_its_sinr_carries_them() {
    // 4 gNB antennas, Es/N0 held at 25 dB: the 2-antenna UE's rank 2 carries
    // more than rank 1; the single-antenna UE beside it stays at one layer.
    let t = two_carriers("", "", "[[ue]]\nantennas = 2\n[[ue]]\nantennas = 1", 200)
        .replacen("antennas = 2\n", "antennas = 4\n", 1)
        .replace(
            "model = \"awgn\"",
            "model = \"tdl-a\"\ndelay_spread_ns = 30.0\nsnr_db = 25.0",
        );
    let r = cell(&t);
    let (two, one) = (&r.ues[0], &r.ues[1]);
    assert!(two.layers_mean > 1.5, "{two:?}");
    assert_eq!(one.layers_mean, 1.0);
    assert!(two.tb_ok > 20 && two.bler < 0.1, "{two:?}");
    assert!(
        two.ul_goodput_mbps > 1.3 * one.ul_goodput_mbps,
        "{} vs {}",
        two.ul_goodput_mbps,
        one.ul_goodput_mbps
    );
}

#[test]
fn one_packet_latency_is_the_sr_bsr_grant_chain() {
    // One UE, FDD at 15 kHz (1 ms slots, every slot uplink), AWGN at 30 dB,
    // 200-byte IoT reports every 100 ms. A report arriving at a (µs) enters
    // the buffer at the next slot start t0 = ceil(a / 1 ms); the SR occasion
    // (period 1 ms) is t0, the gNB sees it 1 ms later (sr_delay); the grant
    // for the PUSCH at t needs the estimate K2 = 1 slot before it, so the
    // PUSCH is at t0 + 2 ms; it ends at t0 + 3 ms and its CRC is known one
    // slot later (decode_us), t0 + 4 ms. Latency = t0 + 4 ms - a: in (4, 5] ms.
    let t = r#"
name = "latency"
slots = 1000
[cell]
id = 5
[[cell.carriers]]
name = "n1"
band = "n1"
duplex = "fdd"
center_frequency_mhz = 1950.0
bandwidth_mhz = 5
scs_khz = 15
antennas = 2
[[ue]]
traffic = "periodic-iot"
[channel]
model = "awgn"
snr_db = 30.0
"#;
    let r = cell(t);
    let p = &r.ues[0].packets;
    assert!(p.delivered >= 9, "{p:?}");
    assert_eq!(r.ues[0].bler_first_tx, 0.0);
    let (lo, hi) = (p.latency_p50_ms.unwrap(), p.latency_p99_ms.unwrap());
    assert!(lo > 4.0 && hi <= 5.0, "{p:?}");
}
