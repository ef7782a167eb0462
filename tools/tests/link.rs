//! `ranlab link`: the PUSCH/PDSCH link over a fading channel, end to end.

use std::process::{Command, Output};

fn ranlab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ranlab"))
        .args(args)
        .output()
        .expect("ranlab runs")
}

fn run_json(args: &[&str], tag: &str) -> serde_json::Value {
    let j = std::env::temp_dir().join(format!("ranlab-link-{tag}-{}.json", std::process::id()));
    let mut a = vec!["link", "--n-prb", "12", "--scs", "30"];
    a.extend_from_slice(args);
    let js = j.display().to_string();
    a.extend(["--json", &js]);
    let o = ranlab(&a);
    assert!(
        o.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    let v = serde_json::from_str(&std::fs::read_to_string(&j).unwrap()).unwrap();
    let _ = std::fs::remove_file(&j);
    v
}

#[test]
fn awgn_decodes_every_block_at_high_snr_and_none_far_below() {
    for dir in ["ul", "dl"] {
        let v = run_json(
            &[
                "--direction",
                dir,
                "--channel",
                "awgn",
                "--snr",
                "-10,30",
                "--tbs",
                "8",
            ],
            dir,
        );
        assert!(v["snr_definition"]
            .as_str()
            .unwrap()
            .contains("per receive antenna"));
        let p = v["points"].as_array().unwrap();
        assert_eq!(p.len(), 2);
        assert_eq!(
            (p[0]["errors"].as_u64(), p[0]["bler"].as_f64()),
            (Some(8), Some(1.0)),
            "{v}"
        );
        assert_eq!(
            (p[1]["errors"].as_u64(), p[1]["bler"].as_f64()),
            (Some(0), Some(0.0)),
            "{v}"
        );
        // Throughput: one block per slot of 0.5 ms.
        let tbs = v["tbs_bits"].as_f64().unwrap();
        let mbps = p[1]["throughput_mbps"].as_f64().unwrap();
        assert!((mbps - tbs / 0.5e-3 / 1e6).abs() < 1e-9, "{mbps} vs {tbs}");
        assert!(p[1]["sinr_db"].as_f64().unwrap() > 20.0, "{v}");
    }
}

#[test]
fn harq_combining_lowers_the_residual_bler_at_the_same_snr() {
    let args = [
        "--channel",
        "tdl-c",
        "--snr",
        "7",
        "--tbs",
        "30",
        "--max-errors",
        "0",
    ];
    let one = run_json(&args, "h1");
    let mut a4 = args.to_vec();
    a4.extend(["--harq", "4"]);
    let four = run_json(&a4, "h4");
    let (p1, p4) = (&one["points"][0], &four["points"][0]);
    assert!(
        p1["bler"].as_f64().unwrap() > 0.1,
        "the point is marginal: {p1}"
    );
    assert!(
        p4["bler"].as_f64().unwrap() < p1["bler"].as_f64().unwrap(),
        "{p1} {p4}"
    );
    // Retransmissions take slots: more slots than blocks.
    assert!(
        p4["slots"].as_u64().unwrap() > p4["tbs"].as_u64().unwrap(),
        "{p4}"
    );
}

#[test]
fn bad_settings_are_refused_by_name() {
    for (args, what) in [
        (vec!["--snr", "10", "--layers", "2"], "--layers 2"),
        (vec!["--snr", "x"], "--snr `x`"),
        (vec!["--snr", "10", "--mcs", "40"], "mcs_index"),
        (vec!["--snr", "10", "--speed-kmh=-1"], "--speed-kmh"),
        (vec!["--snr", "10", "--channel", "tdl-q"], "tdl-q"),
        (vec!["--snr", "10", "--scs", "45"], "--scs"),
    ] {
        let mut a = vec!["link", "--tbs", "1"];
        a.extend(args.iter());
        let o = ranlab(&a);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success(), "{args:?} accepted");
        assert!(err.contains(what), "{args:?}: {err}");
    }
}

#[test]
fn points_run_in_parallel_give_the_serial_results() {
    let args = ["--snr", "6,9,12", "--tbs", "6", "--max-errors", "0"];
    let mut one = args.to_vec();
    one.extend(["--workers", "1"]);
    let mut three = args.to_vec();
    three.extend(["--workers", "3"]);
    let (a, b) = (run_json(&one, "w1"), run_json(&three, "w3"));
    assert_eq!(a["points"], b["points"]);
    assert_eq!(a["points"].as_array().unwrap().len(), 3);
}
