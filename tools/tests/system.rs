//! End-to-end tests of `ranlab system` with the shipped example configs
//! (few slots, so they stay fast): JSON keys, accounting, errors.

use std::path::PathBuf;
use std::process::{Command, Output};

fn ranlab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ranlab"))
        .args(args)
        .output()
        .expect("ranlab runs")
}

fn example(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(name)
        .display()
        .to_string()
}

fn run_json(args: &[&str], tag: &str) -> serde_json::Value {
    let j = std::env::temp_dir().join(format!("ranlab-system-{tag}-{}.json", std::process::id()));
    let mut a: Vec<&str> = args.to_vec();
    let js = j.display().to_string();
    a.extend(["--json", &js]);
    let o = ranlab(&a);
    assert!(
        o.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&j).unwrap()).unwrap();
    std::fs::remove_file(&j).ok();
    v
}

#[test]
fn every_example_runs_and_accounts_for_every_packet() {
    for (name, slots) in [
        ("ul-ca.toml", "200"),
        ("sul.toml", "200"),
        ("mu-mimo.toml", "200"),
        ("qos.toml", "200"),
    ] {
        let v = run_json(
            &[
                "system",
                "--config",
                &example(name),
                "--slots",
                slots,
                "--seed",
                "3",
            ],
            name,
        );
        assert_eq!(v["slots"], 200, "{name}");
        for key in ["ul_goodput_mbps", "dl_goodput_mbps", "bler"] {
            assert!(v["cell"][key].is_number(), "{name}: cell.{key}");
        }
        let ues = v["ues"].as_array().unwrap();
        assert!(!ues.is_empty());
        let classes = ["premium", "streaming", "best_effort", "ai_uplink", "iot"];
        for u in ues {
            for key in [
                "id",
                "ul_goodput_mbps",
                "bler",
                "tb_ok",
                "tb_failed",
                "tb_dropped",
                "rsrp_dbm",
            ] {
                assert!(u[key].is_number(), "{name}: ues[].{key} in {u}");
            }
            assert!(u["ul_carriers"].is_array());
            assert!(u.get("latency_p99_ms").is_some());
            assert!(classes.contains(&u["qos_class"].as_str().unwrap()));
            let n = |k: &str| u[k].as_u64().unwrap();
            assert_eq!(
                n("packets_in"),
                n("delivered") + n("dropped_harq") + n("dropped_expired") + n("queued"),
                "{name}: accounting of UE {}",
                u["id"]
            );
            assert!(n("tb_dropped") <= n("tb_failed"));
        }
        assert_eq!(v["scheduler_stats"]["rejected_grants"], 0, "{name}");
        assert!(
            v["cell"]["ul_goodput_mbps"].as_f64().unwrap() > 0.0,
            "{name}: nothing delivered"
        );
    }
}

#[test]
fn sul_and_pairing_show_up_in_the_results() {
    let v = run_json(
        &["system", "--config", &example("sul.toml"), "--slots", "400"],
        "sul",
    );
    let on_sul = v["ues"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| {
            u["ul_carriers"]
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c == "sul")
        })
        .count();
    assert!(on_sul > 0, "no UE used the SUL");
    let v = run_json(
        &[
            "system",
            "--config",
            &example("sul.toml"),
            "--slots",
            "400",
            "--carriers",
            "n78",
        ],
        "nosul",
    );
    assert!(v["ues"].as_array().unwrap().iter().all(|u| u["ul_carriers"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c == "n78")));
    let v = run_json(
        &[
            "system",
            "--config",
            &example("mu-mimo.toml"),
            "--slots",
            "200",
        ],
        "mu",
    );
    assert!(
        v["pairing"]["groups"].as_u64().unwrap() > 0,
        "no MU-MIMO groups"
    );
    assert!(v["pairing"]["max_pair_corr"].as_f64().unwrap() <= 0.3 + 1e-6);
    assert!(v["pairing"]["max_group_layers"].as_u64().unwrap() <= 8);
}

#[test]
fn bad_system_configs_give_one_line_errors() {
    let text = std::fs::read_to_string(example("ul-ca.toml")).unwrap();
    for (i, (from, to, needle)) in [
        (
            "bandwidth_mhz = 20",
            "bandwidth_mhz = 21",
            "carrier[1].bandwidth_mhz",
        ),
        (
            "scheduler = \"pf\"",
            "scheduler = \"edf\"",
            "allowed: rr, pf, qos",
        ),
        (
            "isolated_ues = true",
            "isolated_ues = true\nwarp = 1",
            "unknown field `warp`",
        ),
        (
            "qos_class = \"best_effort\"",
            "qos_class = \"gold\"",
            "ue[0].qos_class",
        ),
        (
            "alpha = 1.0\n\n[[carrier]]",
            "alpha = 1.0\ntx_power_dbm = 75.0\n\n[[carrier]]",
            "carrier[0].tx_power_dbm: 75 dBm (allowed: -30..=60)",
        ),
        (
            "distances_m = [100.0, 300.0, 600.0, 1000.0]",
            "count = 2000\ndistances_m = [100.0, 300.0, 600.0, 1000.0, 1500.0, 2000.0]",
            "ue: 12000 UEs in total",
        ),
        (
            // 2000 x 2000 = 4e6 UEs used to abort on allocation.
            "distances_m = [100.0, 300.0, 600.0, 1000.0]",
            format!(
                "count = 2000\ndistances_m = [{}]",
                vec!["500.0"; 2000].join(", ")
            )
            .as_str(),
            "ue: 4000000 UEs in total",
        ),
    ]
    .iter()
    .enumerate()
    {
        assert_one_line_config_error(&text, from, to, needle, &format!("sys-{i}"));
    }
    let o = ranlab(&[
        "system",
        "--config",
        &example("ul-ca.toml"),
        "--carriers",
        "n99",
    ]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("--carriers: `n99` (allowed: n78, n1)"));
}

#[test]
fn bad_sul_settings_give_one_line_errors() {
    let text = std::fs::read_to_string(example("sul.toml")).unwrap();
    for (i, (from, to, needle)) in [
        (
            "threshold_dbm = -105.0",
            "threshold_dbm = -200.0",
            "sul.threshold_dbm: -200 dBm (allowed: -156..=-31)",
        ),
        (
            "threshold_dbm = -105.0",
            "threshold_dbm = -20.0",
            "sul.threshold_dbm: -20 dBm (allowed: -156..=-31)",
        ),
        (
            "threshold_dbm = -105.0",
            "threshold_dbm = nan",
            "sul.threshold_dbm: NaN dBm",
        ),
        (
            "hysteresis = 0.2",
            "hysteresis = -0.5",
            "sul.hysteresis: -0.5 (allowed: 0..=10)",
        ),
        (
            "hysteresis = 0.2",
            "hysteresis = 30.0",
            "sul.hysteresis: 30 (allowed: 0..=10)",
        ),
    ]
    .iter()
    .enumerate()
    {
        assert_one_line_config_error(&text, from, to, needle, &format!("sul-{i}"));
    }
}

#[test]
fn an_interrupted_bler_table_is_refused() {
    let t = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data/bler-awgn.json"),
    )
    .unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&t).unwrap();
    v["interrupted"] = true.into();
    let f = std::env::temp_dir().join(format!("ranlab-bler-int-{}.json", std::process::id()));
    std::fs::write(&f, v.to_string()).unwrap();
    let o = ranlab(&[
        "system",
        "--config",
        &example("qos.toml"),
        "--slots",
        "10",
        "--bler-table",
        f.to_str().unwrap(),
    ]);
    std::fs::remove_file(&f).ok();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && err.contains("interrupted"), "{err}");
}

#[test]
fn bler_table_measures_with_the_transport_chain() {
    let j = std::env::temp_dir().join(format!("ranlab-bler-{}.json", std::process::id()));
    let o = ranlab(&[
        "bler-table",
        "--mcs",
        "0,9",
        "--blocks",
        "30",
        "--max-errors",
        "10",
        "--step-db",
        "1",
        "--out",
        j.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&j).unwrap()).unwrap();
    std::fs::remove_file(&j).ok();
    assert!(v["generated_by"]
        .as_str()
        .unwrap()
        .starts_with("ranlab bler-table"));
    let curves = v["curves"].as_array().unwrap();
    assert_eq!(curves.len(), 2);
    for c in curves {
        let b: Vec<f64> = c["bler"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect();
        assert_eq!(b[0], 1.0, "the sweep starts where every block fails");
        assert_eq!(*b.last().unwrap(), 0.0, "and ends where none does");
    }
    // MCS 9 (QPSK 0.6) needs more SNR than MCS 0 (QPSK 0.12).
    let first_ok = |c: &serde_json::Value| {
        let s = c["snr_db"].as_array().unwrap();
        let b = c["bler"].as_array().unwrap();
        s[b.iter().position(|x| x.as_f64().unwrap() < 0.5).unwrap()]
            .as_f64()
            .unwrap()
    };
    assert!(first_ok(&curves[1]) > first_ok(&curves[0]) + 5.0);
}

/// `system` on `text` with `from` replaced by `to` fails with one stderr
/// line naming `needle`, and no panic.
fn assert_one_line_config_error(text: &str, from: &str, to: &str, needle: &str, tag: &str) {
    assert!(text.contains(from), "example lacks `{from}`");
    let f = std::env::temp_dir().join(format!("ranlab-{tag}-{}.toml", std::process::id()));
    std::fs::write(&f, text.replace(from, to)).unwrap();
    let o = ranlab(&["system", "--config", f.to_str().unwrap()]);
    std::fs::remove_file(&f).ok();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(err.contains(needle), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn expect_gates_the_exit_status_on_the_report() {
    let cfg = example("ul-ca.toml");
    let base = ["system", "--config", &cfg, "--slots", "100"];
    let with = |e: &str| {
        let mut a = base.to_vec();
        a.extend(["--expect", e]);
        ranlab(&a)
    };
    assert!(with("ul_goodput_mbps>=0.1 && bler<=1").status.success());
    let o = with("ul_goodput_mbps>=100000");
    assert_eq!(o.status.code(), Some(3));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("NOT MET: ul_goodput_mbps>=100000 (got "),
        "{err}"
    );
    let o = with("ul_goodput_mbps=>1");
    assert_eq!(o.status.code(), Some(2), "clap rejects a malformed term");
}

/// The QoS policy holds premium (40 ms) and streaming (200 ms) at p99 for
/// every UE of `qos.toml`, lets the AI-uplink UEs reach 20 Mbit/s within
/// 20 ms, and leaves best effort a share (shortened run).
#[test]
fn qos_policy_holds_premium_and_streaming_without_starving_best_effort() {
    let v = run_json(
        &[
            "system",
            "--config",
            &example("qos.toml"),
            "--slots",
            "1000",
        ],
        "qos-policy",
    );
    let q = &v["qos"];
    for class in ["premium", "streaming"] {
        assert_eq!(
            q[class]["ues_within_pdb_at_p99"], q[class]["ues"],
            "{class}: {}",
            q[class]
        );
    }
    assert_eq!(
        q["ai_uplink"]["ues_meeting_20mbps_20ms"], 4,
        "{}",
        q["ai_uplink"]
    );
    let be = q["best_effort"]["ul_goodput_mbps"].as_f64().unwrap();
    assert!(be > 10.0, "best effort starved: {be} Mbit/s");
}

/// One scenario format: a waveform scenario runs in the system study, and
/// its AI-uplink UEs agree with the waveform figures' claim (>= 20 Mbit/s
/// within 20 ms); a key the abstraction cannot honour is refused by name.
#[test]
fn the_waveform_scenario_format_runs_in_the_system_study() {
    let v = run_json(
        &[
            "system",
            "--config",
            &example("ai-uplink.toml"),
            "--slots",
            "1000",
        ],
        "scenario-format",
    );
    assert_eq!(
        v["qos"]["ai_uplink"]["ues_meeting_20mbps_20ms"], 4,
        "{}",
        v["qos"]
    );
    assert_eq!(v["carriers"].as_array().unwrap().len(), 2);
    let dir = std::env::temp_dir().join(format!("ranlab-sysfmt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let text = std::fs::read_to_string(example("ai-uplink.toml")).unwrap();
    for (from, to, needle) in [
        (
            "model = \"tdl-c\"",
            "model = \"tdl-c\"\nsnr_db = 10.0",
            "channel.snr_db",
        ),
        ("count = 4\n", "count = 4\nantennas = 2\n", "ue[0].antennas"),
    ] {
        let p = dir.join("bad.toml");
        // p0/alpha cannot sit beside snr_db: drop them for the first case.
        let t = text
            .replace(from, to)
            .replace(
                "p0_dbm = -90.0                 # TS 38.213 §7.1.1 p0-NominalPUSCH\n",
                "",
            )
            .replace("p0_dbm = -90.0\n", "")
            .replace("alpha = 1.0\n", "");
        std::fs::write(&p, t).unwrap();
        let o = ranlab(&["system", "--config", &p.display().to_string()]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            !o.status.success() && err.contains(needle),
            "{needle}: {err}"
        );
    }
    // --print-default-config gives a scenario in that format, which runs.
    let o = ranlab(&["system", "--print-default-config"]);
    assert!(o.status.success());
    let p = dir.join("start.toml");
    std::fs::write(&p, &o.stdout).unwrap();
    let o = ranlab(&[
        "system",
        "--config",
        &p.display().to_string(),
        "--slots",
        "50",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    std::fs::remove_dir_all(&dir).ok();
}
