//! End-to-end tests of the `ranlab` command: arguments, configuration errors
//! and the conformance runner over the shared test vectors.

use std::path::PathBuf;
use std::process::{Command, Output};

fn ranlab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ranlab"))
        .args(args)
        .output()
        .expect("ranlab runs")
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// A clear one-line error with a non-zero exit, and no panic or backtrace.
fn assert_clean_error(o: &Output, needle: &str) {
    let (out, err) = text(o);
    assert!(!o.status.success(), "expected failure, got success: {out}");
    assert!(
        !err.contains("panicked") && !err.contains("backtrace"),
        "panic: {err}"
    );
    assert!(
        err.contains(needle),
        "stderr does not name `{needle}`: {err}"
    );
}

#[path = "../../phy/tests/common/vectors.rs"]
mod vectors;

/// The vector files as command-line arguments.
fn vector_files() -> Vec<String> {
    vectors::vector_files()
        .iter()
        .map(|p| p.display().to_string())
        .collect()
}

/// A bit string with bit `i` flipped.
fn flip_bit(bits: &str, i: usize) -> String {
    bits.chars()
        .enumerate()
        .map(|(k, c)| match (k == i, c) {
            (true, '0') => '1',
            (true, _) => '0',
            (false, c) => c,
        })
        .collect()
}

/// Blocks whose implementation has landed: every vector of these must pass.
const IMPLEMENTED: &[&str] = &[
    "crc",
    "ldpc_encode",
    "qam_map",
    "scrambling",
    "tb_size",
    "pusch_tx",
    "qam_demap",
    "ldpc_decode",
];

#[test]
fn conform_passes_every_vector_of_implemented_blocks() {
    let json = std::env::temp_dir().join(format!("ranlab-conform-{}.json", std::process::id()));
    let mut args: Vec<String> = vec![
        "conform".into(),
        "--json".into(),
        json.display().to_string(),
    ];
    args.extend(vector_files());
    let o = Command::new(env!("CARGO_BIN_EXE_ranlab"))
        .args(&args)
        .output()
        .unwrap();
    let (out, _) = text(&o);
    let last = out.lines().last().unwrap_or_default().to_string();
    assert!(
        last.ends_with(" failed") && last.contains(" passed, "),
        "closing line: {last}"
    );
    let counts: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    std::fs::remove_file(&json).ok();
    for block in IMPLEMENTED {
        let c = &counts["blocks"][block];
        assert!(
            c["passed"].as_u64().unwrap_or(0) > 0,
            "no `{block}` vectors ran"
        );
        assert_eq!(c["failed"].as_u64(), Some(0), "{block} failures:\n{out}");
    }
    // Honest counts: the exit status is 0 only when nothing failed.
    assert_eq!(o.status.success(), counts["failed"].as_u64() == Some(0));
}

#[test]
fn conform_reports_unsupported_blocks_and_malformed_lines_as_failures() {
    let f = std::env::temp_dir().join(format!("ranlab-bad-{}.jsonl", std::process::id()));
    std::fs::write(&f, "{\"id\":\"x-s1-0\",\"block\":\"warp_drive\",\"params\":{},\"input\":\"\",\"expected\":{}}\nnot json\n").unwrap();
    let o = ranlab(&["conform", f.to_str().unwrap()]);
    std::fs::remove_file(&f).ok();
    let (out, _) = text(&o);
    assert!(!o.status.success());
    assert!(out.contains("unsupported block warp_drive"), "{out}");
    assert!(out.trim_end().ends_with("0 passed, 2 failed"), "{out}");
}

#[test]
fn conform_detects_a_corrupted_vector() {
    let src = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../phy/tests/vectors/nr-phy-seed1.jsonl"),
    )
    .unwrap();
    let mut v: serde_json::Value = src
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| v["block"] == "crc")
        .expect("a crc vector");
    let p = v["expected"]["parity"].as_str().unwrap().to_string();
    let flipped = flip_bit(&p, 3);
    v["expected"]["parity"] = serde_json::Value::String(flipped);
    let f = std::env::temp_dir().join(format!("ranlab-corrupt-{}.jsonl", std::process::id()));
    std::fs::write(&f, v.to_string()).unwrap();
    let o = ranlab(&["conform", f.to_str().unwrap()]);
    std::fs::remove_file(&f).ok();
    let (out, _) = text(&o);
    assert!(out.contains("first mismatch at bit 3"), "{out}");
    assert!(!o.status.success());
}

/// The first vector of `block` in the in-repository set.
fn first_vector(block: &str) -> serde_json::Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../phy/tests/vectors");
    std::fs::read_dir(&path)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .flat_map(|p| {
            std::fs::read_to_string(p)
                .unwrap()
                .lines()
                .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
                .collect::<Vec<_>>()
        })
        .find(|v| v["block"] == block)
        .unwrap_or_else(|| panic!("no {block} vector"))
}

/// Runs `conform` on one vector; returns (stdout, success).
fn conform_one(v: &serde_json::Value, tag: &str) -> (String, bool) {
    let f = std::env::temp_dir().join(format!("ranlab-{tag}-{}.jsonl", std::process::id()));
    std::fs::write(&f, v.to_string()).unwrap();
    let o = ranlab(&["conform", f.to_str().unwrap()]);
    std::fs::remove_file(&f).ok();
    (text(&o).0, o.status.success())
}

#[test]
fn conform_receive_side_checkers_catch_wrong_answers() {
    // A sound vector passes; a flipped expected info bit fails, as do LLRs
    // of the wrong sign (the decoder then finds the complement, not the bits).
    let v = first_vector("ldpc_decode");
    assert!(conform_one(&v, "dec-ok").1);
    let mut bad = v.clone();
    let b = bad["expected"]["info_bits"].as_str().unwrap().to_string();
    let flipped = flip_bit(&b, 5);
    bad["expected"]["info_bits"] = flipped.into();
    let (out, ok) = conform_one(&bad, "dec-bit");
    assert!(!ok && out.contains("info_bits"), "{out}");
    let mut neg = v.clone();
    let llrs: Vec<f64> = neg["input"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| -x.as_f64().unwrap())
        .collect();
    neg["input"] = serde_json::json!(llrs);
    assert!(!conform_one(&neg, "dec-sign").1);

    let v = first_vector("qam_demap");
    assert!(conform_one(&v, "demap-ok").1);
    let mut bad = v.clone();
    let n0 = bad["params"]["noise_var"].as_f64().unwrap();
    bad["params"]["noise_var"] = (n0 * 1.01).into(); // every LLR off by 1 %
    let (out, ok) = conform_one(&bad, "demap-n0");
    assert!(!ok && out.contains("first mismatch"), "{out}");
}

#[test]
fn conform_refuses_empty_runs_unknown_blocks_and_out_of_range_integers() {
    let empty = std::env::temp_dir().join(format!("ranlab-empty-{}.jsonl", std::process::id()));
    std::fs::write(&empty, "").unwrap();
    assert_clean_error(
        &ranlab(&["conform", empty.to_str().unwrap()]),
        "no test vectors",
    );
    std::fs::remove_file(&empty).ok();
    let files = vector_files();
    let mut args = vec!["conform", "--block", "bogus"];
    args.extend(files.iter().map(String::as_str));
    assert_clean_error(&ranlab(&args), "--block bogus");
    // n_prb = 65542 must not wrap to 6 PRBs through a u16.
    let mut v = first_vector("pusch_tx");
    v["params"]["n_prb"] = 65542.into();
    let (out, ok) = conform_one(&v, "nprb");
    assert!(
        !ok && out.contains("n_prb") && out.contains("out of range"),
        "{out}"
    );
}

#[test]
fn bench_lists_its_blocks_and_cases_and_help_names_every_block() {
    let o = ranlab(&["bench", "--list"]);
    assert!(o.status.success());
    let (list, _) = text(&o);
    let help = text(&ranlab(&["bench", "--help"])).0;
    let mut blocks: Vec<&str> = list
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    blocks.dedup();
    assert!(blocks.len() >= 10, "{list}");
    for b in blocks {
        assert!(help.contains(b), "bench --help does not name block {b}");
    }
    assert_clean_error(
        &ranlab(&["bench", "--only", "warp", "--list"]),
        "--only warp",
    );
}

#[test]
fn bad_arguments_give_clean_errors() {
    assert_clean_error(
        &ranlab(&["conform", "/nonexistent/vectors.jsonl"]),
        "/nonexistent/vectors.jsonl",
    );
    assert_clean_error(
        &ranlab(&["loopback", "--config", "/nonexistent.toml"]),
        "/nonexistent.toml",
    );
    assert_clean_error(&ranlab(&["loopback", "--slots", "zero"]), "--slots");
    assert_clean_error(&ranlab(&["loopback", "--pace", "warp"]), "free");
    assert_clean_error(&ranlab(&["bench", "--impl", "sse9"]), "--impl");
    // Resource caps: named, not an abort on allocation or a panic.
    assert_clean_error(
        &ranlab(&["loopback", "--workers", "256", "--slots", "1"]),
        "--workers 256: allowed 1..=",
    );
    assert_clean_error(
        &ranlab(&[
            "bler",
            "--bg",
            "2",
            "--k",
            "0",
            "--e",
            "100",
            "--ebno-db",
            "1",
            "--blocks",
            "1",
        ]),
        "--k 0",
    );
    assert_clean_error(&ranlab(&["frobnicate"]), "frobnicate");
}

#[test]
fn bad_config_files_give_one_line_errors() {
    let default = text(&ranlab(&["loopback", "--print-default-config"])).0;
    let cases = [
        ("bandwidth_mhz = 40", "bandwidth_mhz = 33", "bandwidth_mhz"),
        ("model = \"tdl-c\"", "model = \"tdl-z\"", "channel.model"),
        ("seed = 1", "seed = 1\nwarp = 9", "unknown field `warp`"),
        ("[channel]", "[channel", "line"),
        (
            "band = \"n78\"",
            "band = \"n1\"",
            "cell.carriers[0].band: `n1` is an FDD band, not TDD",
        ),
        (
            "band = \"n78\"",
            "band = \"n512\"",
            "cell.carriers[0].band: `n512` is not an NR operating band",
        ),
        (
            "tx_power_dbm = 46.0",
            "tx_power_dbm = 460.0",
            "cell.carriers[0].tx_power_dbm: 460 dBm (allowed: -30..=60)",
        ),
        (
            "count = 4",
            "count = 10000\n[[ue]]\ncount = 10000",
            "ue: 20000 UEs in total",
        ),
    ];
    for (i, (from, to, needle)) in cases.iter().enumerate() {
        assert!(default.contains(from), "default config lacks `{from}`");
        let f = std::env::temp_dir().join(format!("ranlab-cfg-{}-{i}.toml", std::process::id()));
        std::fs::write(&f, default.replace(from, to)).unwrap();
        let o = ranlab(&["loopback", "--config", f.to_str().unwrap(), "--slots", "1"]);
        std::fs::remove_file(&f).ok();
        assert_clean_error(&o, needle);
        assert_eq!(
            text(&o).1.trim_end().lines().count(),
            1,
            "multi-line error: {}",
            text(&o).1
        );
    }
}

#[test]
fn default_config_round_trips_and_loopback_runs() {
    let default = text(&ranlab(&["loopback", "--print-default-config"])).0;
    let f = std::env::temp_dir().join(format!("ranlab-default-{}.toml", std::process::id()));
    let j = std::env::temp_dir().join(format!("ranlab-loop-{}.json", std::process::id()));
    std::fs::write(&f, default).unwrap();
    let o = ranlab(&[
        "loopback",
        "--config",
        f.to_str().unwrap(),
        "--slots",
        "20",
        "--json",
        j.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{:?}", text(&o));
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&j).unwrap()).unwrap();
    std::fs::remove_file(&f).ok();
    std::fs::remove_file(&j).ok();
    assert_eq!(v["slots"], 20);
    assert_eq!(v["ues"].as_array().map(|a| a.len()), Some(4));
}

#[test]
fn info_and_version() {
    let o = ranlab(&["info"]);
    assert!(o.status.success());
    let out = text(&o).0;
    assert!(out.contains("simd") && out.contains("kernels"), "{out}");
    let v = text(&ranlab(&["--version"])).0;
    assert!(v.starts_with("ranlab "), "{v}");
}

#[test]
fn ranlab_simd_caps_every_block_and_a_bad_value_is_an_error() {
    let run = |v: &str| {
        Command::new(env!("CARGO_BIN_EXE_ranlab"))
            .args(["info", "--json"])
            .env("RANLAB_SIMD", v)
            .output()
            .expect("ranlab runs")
    };
    let o = run("scalar");
    assert!(o.status.success());
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    assert_eq!(j["simd"], "scalar", "{j}");
    assert!(j["kernels"]
        .as_array()
        .expect("kernels")
        .iter()
        .all(|k| !k["kernel"].as_str().unwrap_or("").contains("avx")));
    let o = run("sse9");
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("RANLAB_SIMD=sse9"));
}

#[test]
fn loopback_ends_with_a_verdict_and_expect_gates_its_exit_status() {
    let run = |e: &str| ranlab(&["loopback", "--slots", "40", "--expect", e]);
    let o = run("ul_goodput_mbps>=1 && bler<=0.5 && timing.dropped_slots==0");
    let (out, err) = text(&o);
    assert!(o.status.success(), "{out}{err}");
    assert!(
        out.contains("verdict: real time") && out.contains("ended transport blocks delivered"),
        "{out}"
    );
    assert!(err.contains("expect: met"), "{err}");
    let o = run("ul_goodput_mbps>=1 && bler<0");
    assert_eq!(o.status.code(), Some(3));
    let (_, err) = text(&o);
    assert!(err.contains("NOT MET: bler<0 (got 0)"), "{err}");
    assert!(!err.contains("NOT MET: ul_goodput"), "{err}");
    // A key the report does not have is refused before the run.
    let o = run("ul_goodput>=1");
    assert!(!o.status.success() && o.status.code() != Some(3));
    assert!(text(&o).1.contains("no number `ul_goodput`"));
}

#[test]
fn every_board_profile_loads_and_runs_on_the_simulated_channel() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/boards");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).expect("tools/examples/boards") {
        let p = e.unwrap().path();
        if p.extension().is_none_or(|x| x != "toml") {
            continue;
        }
        let profile = std::fs::read_to_string(&p).unwrap();
        for k in ["[radio]", "args = ", "module = ", "rx_gain_db", "Expected:"] {
            assert!(profile.contains(k), "{}: no `{k}`", p.display());
        }
        let o = ranlab(&["loopback", "--config", p.to_str().unwrap(), "--slots", "10"]);
        let (out, err) = text(&o);
        assert!(o.status.success(), "{}: {out}{err}", p.display());
        assert!(
            err.contains("[radio] board settings apply to --radio soapy"),
            "{err}"
        );
        n += 1;
    }
    assert!(n >= 3, "{n} profiles");
}

#[test]
fn the_waveform_cell_refuses_what_it_cannot_honour_and_honours_the_scheduler_key() {
    let default = text(&ranlab(&["loopback", "--print-default-config"])).0;
    let run = |name: &str, cfg: String| {
        let p = std::env::temp_dir().join(format!("ranlab-{name}-{}.toml", std::process::id()));
        std::fs::write(&p, cfg).unwrap();
        let o = ranlab(&["loopback", "--slots", "20", "--config", p.to_str().unwrap()]);
        let _ = std::fs::remove_file(&p);
        o
    };
    let premium = default.replace("qos_class = \"best_effort\"", "qos_class = \"premium\"");
    let o = run("premium-pf", premium.clone());
    assert!(!o.status.success());
    assert!(
        text(&o)
            .1
            .contains("ue[0].qos_class = \"premium\": the pf scheduler"),
        "{:?}",
        text(&o)
    );
    let o = run(
        "premium-qos",
        premium.replace("scheduler = \"pf\"", "scheduler = \"qos\""),
    );
    let (out, err) = text(&o);
    assert!(o.status.success(), "{out}{err}");
    assert!(out.contains("QOS scheduler"), "{out}");
    let two = default.clone()
        + "\n[[cell.carriers]]\nname = \"n1\"\nband = \"n1\"\nduplex = \"fdd\"\ncenter_frequency_mhz = 1950.0\nbandwidth_mhz = 20\nscs_khz = 15\nantennas = 2\ntx_power_dbm = 46.0\nnoise_figure_db = 5.0\n";
    // Two carriers run in the waveform cell (over SoapySDR they are refused: tests/cell.rs).
    let two_cfg = two.clone();
    let o = run("two-carriers", two);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{out}{err}");
    assert!(
        out.contains("carrier n1") && out.contains("n78 106 PRB"),
        "{out}"
    );
    // A SigMF recording holds one carrier: record refuses two, naming the key.
    let p = std::env::temp_dir().join(format!("ranlab-rec2-{}.toml", std::process::id()));
    std::fs::write(&p, &two_cfg).unwrap();
    let base = std::env::temp_dir().join(format!("ranlab-rec2-{}", std::process::id()));
    let o = ranlab(&[
        "record",
        "--radio",
        "sim",
        "--config",
        p.to_str().unwrap(),
        "--out",
        base.to_str().unwrap(),
    ]);
    let _ = std::fs::remove_file(&p);
    assert!(
        !o.status.success() && text(&o).1.contains("cell.carriers"),
        "{:?}",
        text(&o)
    );
}

#[test]
fn set_overrides_scenario_values_and_the_json_records_the_effective_config() {
    let j = std::env::temp_dir().join(format!("ranlab-set-{}.json", std::process::id()));
    let o = ranlab(&[
        "loopback",
        "--slots",
        "20",
        "--set",
        "channel.snr_db=12.5",
        "--set",
        "ue.0.count=2",
        "--json",
        j.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{:?}", text(&o));
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&j).unwrap()).unwrap();
    let _ = std::fs::remove_file(&j);
    assert_eq!(v["config"]["channel"]["snr_db"], 12.5);
    assert_eq!(v["config"]["slots"], 20);
    assert_eq!(v["ues"].as_array().unwrap().len(), 2);
    assert!(v["version"].as_str().is_some_and(|s| !s.is_empty()));
    for (set, what) in [
        ("channel.snr=1", "snr"),
        ("cell.carriers.3.bandwidth_mhz=20", "beyond the 1 entries"),
        ("channel.model=tdl-z", "tdl-z"),
    ] {
        let o = ranlab(&["loopback", "--slots", "5", "--set", set]);
        assert!(!o.status.success(), "{set}");
        assert!(text(&o).1.contains(what), "{set}: {:?}", text(&o));
    }
}

#[test]
fn a_loopback_that_delivers_nothing_exits_5() {
    let default = text(&ranlab(&["loopback", "--print-default-config"])).0;
    assert!(default.contains("snr_db = 20.0"));
    let cfg = std::env::temp_dir().join(format!("ranlab-hopeless-{}.toml", std::process::id()));
    std::fs::write(&cfg, default.replace("snr_db = 20.0", "snr_db = -30.0")).unwrap();
    let o = ranlab(&[
        "loopback",
        "--slots",
        "60",
        "--config",
        cfg.to_str().unwrap(),
    ]);
    let _ = std::fs::remove_file(&cfg);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(5), "{out}{err}");
    assert!(out.contains("verdict:") && out.contains(" 0 of "), "{out}");
}

#[test]
fn loopback_is_deterministic_across_worker_counts_and_accounts_every_block() {
    let run = |workers: &str| {
        let j =
            std::env::temp_dir().join(format!("ranlab-det-{}-{workers}.json", std::process::id()));
        let o = ranlab(&[
            "loopback",
            "--slots",
            "30",
            "--seed",
            "7",
            "--workers",
            workers,
            "--json",
            j.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{:?}", text(&o));
        let mut v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&j).unwrap()).unwrap();
        std::fs::remove_file(&j).ok();
        // The timing and the verdict (real time held, slot margin) depend on the machine.
        v.as_object_mut().unwrap().remove("timing");
        v.as_object_mut().unwrap().remove("verdict");
        v
    };
    let one = run("1");
    // Uplink and downlink, per UE and per cell: everything but the timing.
    assert_eq!(one, run("2"), "same seed, different worker count");
    let (mut transmissions, mut dl_transmissions) = (0, 0);
    for u in one["ues"].as_array().unwrap() {
        let n = |k: &str| u[k].as_u64().unwrap();
        // Every transmission ends as delivered, failed, dropped, or is still in HARQ.
        assert!(
            n("tb_ok") + n("tb_failed") + n("tb_dropped") + n("tb_in_flight") <= n("transmissions")
        );
        assert!(
            n("dl_tb_ok") + n("dl_tb_failed") + n("dl_tb_dropped") + n("dl_tb_in_flight")
                <= n("dl_transmissions")
        );
        // PF over the 18 downlink slots of the run serves every UE.
        assert!(
            n("dl_tb_ok") + n("dl_tb_failed") + n("dl_tb_dropped") > 0 || n("dl_tb_in_flight") > 0
        );
        transmissions += n("transmissions");
        dl_transmissions += n("dl_transmissions");
    }
    assert!(transmissions > 0, "no PUSCH was sent");
    assert!(dl_transmissions > 0, "no PDSCH was sent");
    assert!(
        one["cell"]["ul_goodput_mbps"].as_f64().unwrap() > 0.0,
        "nothing was delivered: {one}"
    );
    assert!(
        one["cell"]["dl_goodput_mbps"].as_f64().unwrap() > 0.0,
        "nothing was delivered on the downlink: {one}"
    );
}

#[test]
fn mimo_bench_counts_equalised_res_per_layer() {
    // The reference equaliser's benchmark counts REs x layers; the comparable
    // `mimo-zf-*` rows must use the same unit (17,808 REs per 106-PRB slot).
    let f = std::env::temp_dir().join(format!("ranlab-mimo-bench-{}.json", std::process::id()));
    let o = ranlab(&[
        "bench",
        "--only",
        "mimo",
        "--case",
        "zf-2x",
        "--time",
        "0.05",
        "--json",
        f.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o).1);
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&f).unwrap()).unwrap();
    std::fs::remove_file(&f).ok();
    assert_eq!(v["interrupted"], false);
    let rows = v["results"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "{rows:?}");
    for r in rows {
        let res_per_call = r["mres_per_s"].as_f64().unwrap() * r["median_us"].as_f64().unwrap();
        assert!(
            (res_per_call - 2.0 * 17_808.0).abs() < 1e-6 * res_per_call,
            "{r}"
        );
    }
}
