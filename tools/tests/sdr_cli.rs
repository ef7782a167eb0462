//! `ranlab sdr probe`, `ranlab record` and `ranlab replay` end to end, over
//! the project's SoapySDR loopback device (built with the `soapy` feature).

use std::path::PathBuf;
use std::process::{Command, Output};

fn ranlab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ranlab"))
        .args(args)
        .output()
        .expect("ranlab runs")
}

#[track_caller]
fn ok(o: &Output) -> String {
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        o.status.success(),
        "ranlab failed: {out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    out
}

fn tmp(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("ranlab-cli-{}-{name}", std::process::id()))
}

#[test]
fn device_arguments_without_radio_soapy_are_refused() {
    let o = ranlab(&["loopback", "--args", "driver=uhd", "--slots", "5"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && err.contains("add `--radio soapy`"),
        "{err}"
    );
}

#[test]
fn replay_refuses_a_missing_or_broken_recording_cleanly() {
    let o = ranlab(&["replay", "/nonexistent/rec.sigmf-meta"]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("rec.sigmf-meta") && !err.contains("panicked"),
        "{err}"
    );
    let base = tmp("broken");
    std::fs::write(
        base.with_extension("sigmf-meta"),
        r#"{"global":{"core:version":"1.2.0"}}"#,
    )
    .unwrap();
    std::fs::write(base.with_extension("sigmf-data"), []).unwrap();
    let o = ranlab(&[
        "replay",
        base.with_extension("sigmf-meta").to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && err.contains("core:datatype is missing"),
        "{err}"
    );
}

#[cfg(feature = "soapy")]
#[test]
fn probe_lists_and_describes_the_loopback_device() {
    let out = ok(&ranlab(&[
        "sdr",
        "probe",
        "--args",
        "driver=ranlab_loopback,serial=probe,channels=2",
    ]));
    for want in [
        "driver=ranlab_loopback",
        "device: ranlab_loopback ranlab-loopback",
        "RX channels: 2",
        "RX1: rate 960 kHz..61.44 MHz",
        "gain 0 dB..76 dB step 1 dB",
        "antennas LOOP",
        "clock sources: internal, external",
        "ref_locked = true",
        "hardware time: yes",
    ] {
        assert!(out.contains(want), "probe output lacks {want:?}:\n{out}");
    }
}

#[cfg(feature = "soapy")]
#[test]
fn record_from_the_loopback_device_then_replay_it() {
    let base = tmp("rec");
    let b = base.to_str().unwrap();
    let out = ok(&ranlab(&[
        "record",
        "--radio",
        "soapy",
        "--args",
        "driver=ranlab_loopback,serial=rec,channels=2",
        "--channels",
        "2",
        "--rate",
        "3.84e6",
        "--slots",
        "6",
        "--out",
        b,
        "--radio-opts",
        "master_clock=30.72e6,clock=internal,bandwidth=3e6,rx=0:1",
    ]));
    // 30 kHz SCS (built-in scenario): 0.5 ms slots of 1920 samples at 3.84 MS/s.
    assert!(
        out.contains("recorded 11520 samples x 2 channels (6 slots"),
        "{out}"
    );
    assert!(out.contains("radio.overflows 0"), "{out}");
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(base.with_extension("sigmf-meta")).unwrap())
            .unwrap();
    assert_eq!(meta["global"]["core:datatype"], "ci16_le");
    assert_eq!(meta["global"]["core:num_channels"], 2);
    assert_eq!(meta["captures"][0]["core:frequency"], 3.5e9);
    assert_eq!(meta["annotations"][1]["core:label"], "slot 1");
    let json = tmp("replay.json");
    let out = ok(&ranlab(&[
        "replay",
        &format!("{b}.sigmf-meta"),
        "--json",
        json.to_str().unwrap(),
    ]));
    assert!(
        out.contains("11520 x 2 channels of ci16_le at 3.84 MS/s"),
        "{out}"
    );
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(
        (
            r["samples"].as_u64(),
            r["slots"].as_u64(),
            r["gaps"].as_u64()
        ),
        (Some(11520), Some(6), Some(0))
    );
    // A rate NR cannot use is refused before streaming, naming the neighbours.
    let o = ranlab(&[
        "record",
        "--args",
        "driver=ranlab_loopback,serial=rec2",
        "--rate",
        "5e6",
        "--out",
        b,
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && err.contains("3.84 MHz or 7.68 MHz"),
        "{err}"
    );
    let o = ranlab(&[
        "record",
        "--args",
        "driver=ranlab_loopback,serial=rec3",
        "--radio-opts",
        "clock=gps",
        "--rate",
        "3.84e6",
        "--out",
        b,
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && err.contains("clock_source") && err.contains("internal, external"),
        "{err}"
    );
}

/// The main job over the production SoapySDR backend and the real
/// libSoapySDR: the UEs' bursts go out timed on the loopback device's TX
/// channels, come back on its RX channels and are decoded by the pipeline.
#[cfg(feature = "soapy")]
#[test]
fn loopback_runs_end_to_end_over_the_soapy_loopback_device() {
    let json = tmp("soapy-loopback.json");
    let out = ok(&ranlab(&[
        "loopback",
        "--radio",
        "soapy",
        "--args",
        "driver=ranlab_loopback,serial=loop,channels=4",
        "--slots",
        "30",
        "--json",
        json.to_str().unwrap(),
    ]));
    assert!(out.contains("radio (ranlab_loopback)"), "{out}");
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let _ = std::fs::remove_file(&json);
    assert_eq!(v["slots"], 30);
    assert!(
        v["link"]
            .as_str()
            .unwrap()
            .contains("SoapySDR ranlab-loopback"),
        "{v}"
    );
    // The device's own counters: a free-running loopback loses nothing.
    for k in ["overflows", "underflows", "late", "time_errors"] {
        assert_eq!(v["radio"][k].as_u64(), Some(0), "radio.{k}: {v}");
    }
    assert_eq!(v["radio"]["driver"], "ranlab_loopback");
    let (mut ok_tbs, mut bits) = (0, 0.0);
    for u in v["ues"].as_array().unwrap() {
        let n = |k: &str| u[k].as_u64().unwrap();
        // A cable without noise: every first transmission decodes, nothing is left over.
        assert_eq!(
            (
                n("tb_failed"),
                n("tb_dropped"),
                n("tb_in_flight"),
                n("tb_undetected")
            ),
            (0, 0, 0, 0),
            "{u}"
        );
        assert_eq!(n("tb_ok"), n("transmissions"), "{u}");
        assert!(n("tb_ok") > 0, "UE delivered nothing: {u}");
        ok_tbs += n("tb_ok");
        bits += u["ul_goodput_mbps"].as_f64().unwrap();
    }
    // 30 slots of DDDSU: 6 uplink slots, one PUSCH per UE each.
    assert_eq!(ok_tbs, 24, "{v}");
    let cell = v["cell"]["ul_goodput_mbps"].as_f64().unwrap();
    assert!(
        (cell - bits).abs() < 1e-6 * cell.max(1.0),
        "{cell} vs {bits}"
    );
}

#[cfg(feature = "soapy")]
#[test]
fn board_profiles_name_their_module_and_check_their_ports() {
    let board = |f: &str| format!("{}/examples/boards/{f}", env!("CARGO_MANIFEST_DIR"));
    // No UHD module here: the error names the package to install.
    let b210 = board("b210-20mhz-2x2.toml");
    let o = ranlab(&[
        "loopback", "--config", &b210, "--radio", "soapy", "--slots", "5",
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(err.contains("soapysdr-module-uhd"), "{err}");
    // The profile's antenna ports are applied: the loopback device has only LOOP.
    let lime = board("limesdr-mini-10mhz-1x1.toml");
    let o = ranlab(&[
        "loopback",
        "--config",
        &lime,
        "--radio",
        "soapy",
        "--args",
        "driver=ranlab_loopback,serial=board,channels=1",
        "--slots",
        "5",
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(err.contains("no antenna \"LNAW\""), "{err}");
    let o = ranlab(&["sdr", "probe", "--args", "driver=lime"]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("soapysdr-module-lms7"));
    let out = tmp("no-uhd");
    let o = ranlab(&[
        "record",
        "--radio",
        "soapy",
        "--args",
        "driver=uhd",
        "--slots",
        "2",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("soapysdr-module-uhd"));
}

/// Without the `soapy` feature, `--radio soapy` says how to get it.
#[cfg(not(feature = "soapy"))]
#[test]
fn loopback_over_soapy_without_the_feature_says_how_to_build_it() {
    let o = ranlab(&[
        "loopback",
        "--radio",
        "soapy",
        "--args",
        "driver=ranlab_loopback",
        "--slots",
        "5",
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && err.contains("--features soapy"),
        "{err}"
    );
}

/// A small high-SNR cell: 10 MHz at 30 kHz, 2 gNB antennas, 2 UEs, AWGN at 30 dB.
const HIGH_SNR: &str = r#"
name = "replay-check"
slots = 12
[cell]
id = 7
[[cell.carriers]]
name = "n78"
band = "n78"
duplex = "tdd"
center_frequency_mhz = 3500.0
bandwidth_mhz = 10
scs_khz = 30
tdd_pattern = "DSUU"
antennas = 2
tx_power_dbm = 46.0
noise_figure_db = 5.0
[[ue]]
count = 2
path_loss_db = 100.0
antennas = 1
max_tx_power_dbm = 23.0
traffic = "full-buffer"
qos_class = "best_effort"
[channel]
model = "awgn"
delay_spread_ns = 0.0
speed_kmh = 0.0
snr_db = 30.0
seed = 3
"#;

fn json_file(p: &std::path::Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

/// `record --radio sim` writes the gNB's samples with the scheduled PUSCH
/// PDUs; `replay` decodes them to exactly what the loopback delivers with the
/// same scenario and seed; without the PDUs the replay still demodulates.
#[test]
fn record_the_simulated_channel_then_replay_decodes_what_the_loopback_delivers() {
    let cfg = tmp("hi.toml");
    std::fs::write(&cfg, HIGH_SNR).unwrap();
    let c = cfg.to_str().unwrap();
    let base = tmp("simrec");
    let b = base.to_str().unwrap();
    let out = ok(&ranlab(&[
        "record", "--radio", "sim", "--config", c, "--slots", "12", "--out", b,
    ]));
    // 10 MHz at 30 kHz: 24 PRB, FFT 512, 7680 samples per slot.
    assert!(
        out.contains("recorded 92160 samples x 2 channels (12 slots"),
        "{out}"
    );
    let meta_path = base.with_extension("sigmf-meta");
    let meta = json_file(&meta_path);
    assert_eq!(meta["global"]["core:datatype"], "cf32_le");
    assert_eq!(meta["global"]["core:extensions"][0]["name"], "ranlab");
    assert_eq!(meta["global"]["ranlab:carrier"]["n_prb"], 24);
    let pdus: usize = meta["annotations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["ranlab:pusch"].as_array().unwrap().len())
        .sum();
    assert!(pdus >= 8, "{pdus} PDUs recorded");

    let rj = tmp("simrec-replay.json");
    let out = ok(&ranlab(&["replay", b, "--json", rj.to_str().unwrap()]));
    assert!(out.contains("CRC ok, SINR"), "{out}");
    let r = json_file(&rj);
    let lj = tmp("simrec-loop.json");
    ok(&ranlab(&[
        "loopback",
        "--config",
        c,
        "--slots",
        "12",
        "--json",
        lj.to_str().unwrap(),
    ]));
    let l = json_file(&lj);
    let sum = |k: &str| -> u64 {
        l["ues"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u[k].as_u64().unwrap())
            .sum()
    };
    let p = &r["pusch"];
    assert_eq!(p["pdus"].as_u64(), Some(pdus as u64));
    assert_eq!(p["errors"].as_u64(), Some(0), "{r}");
    assert!(p["tb_ok"].as_u64().unwrap() > 0, "{r}");
    // Every CRC pass is a block the loopback delivered; every failure a transmission it did not.
    assert_eq!(
        p["tb_ok"].as_u64(),
        Some(sum("tb_ok")),
        "replay {p} loopback {l}"
    );
    assert_eq!(
        p["tb_ok"].as_u64().unwrap() + p["tb_failed"].as_u64().unwrap(),
        sum("transmissions")
    );
    for (u, ru) in l["ues"]
        .as_array()
        .unwrap()
        .iter()
        .zip(p["ues"].as_array().unwrap())
    {
        assert_eq!(u["rnti"], ru["rnti"]);
        let (a, b) = (
            u["sinr_db"].as_f64().unwrap(),
            ru["sinr_db"].as_f64().unwrap(),
        );
        assert!((a - b).abs() < 0.01, "SINR loopback {a} replay {b}");
    }

    // Without the PDUs: demodulation and per-slot power only, with a note.
    let mut bare = meta.clone();
    for a in bare["annotations"].as_array_mut().unwrap() {
        a.as_object_mut()
            .unwrap()
            .retain(|k, _| k.starts_with("core:"));
    }
    std::fs::write(&meta_path, bare.to_string()).unwrap();
    let out = ok(&ranlab(&["replay", b, "--json", rj.to_str().unwrap()]));
    assert!(
        out.contains("note: the recording carries no PUSCH PDUs"),
        "{out}"
    );
    let r = json_file(&rj);
    assert!(r["pusch"].is_null());
    let slots = r["slot_results"].as_array().unwrap();
    assert_eq!(slots.len(), 12);
    assert!(slots
        .iter()
        .all(|s| s["band_power_db"].is_number() && s["device_time"].is_number()));
    for f in [cfg, rj, lj, meta_path, base.with_extension("sigmf-data")] {
        let _ = std::fs::remove_file(f);
    }
}

/// Records 12 slots of the high-SNR cell with `record --radio sim` to
/// `tmp(base)`; returns the scenario file and the recording's base path.
fn record_high_snr(base: &str) -> (PathBuf, PathBuf) {
    let cfg = tmp(&format!("{base}.toml"));
    std::fs::write(&cfg, HIGH_SNR).unwrap();
    let out = tmp(base);
    ok(&ranlab(&[
        "record",
        "--radio",
        "sim",
        "--config",
        cfg.to_str().unwrap(),
        "--slots",
        "12",
        "--out",
        out.to_str().unwrap(),
    ]));
    (cfg, out)
}

/// The official SigMF package validates a `record --radio sim` recording
/// with its `ranlab` extension and reads its samples.
#[test]
#[ignore = "needs python3 with the sigmf package (pip install sigmf); .ci/run installs it and runs it with --ignored"]
fn official_sigmf_package_accepts_a_simulated_recording_with_its_extension() {
    let (cfg, base) = record_high_snr("pyrec");
    let b = base.to_str().unwrap();
    let o = Command::new("python3")
        .args([
            "-c",
            "import sys, sigmf; f = sigmf.sigmffile.fromfile(sys.argv[1]); f.validate(); \
             assert f.get_global_info()['ranlab:carrier']['n_prb'] == 24; \
             print(f.read_samples().shape)",
            b,
        ])
        .output()
        .expect("python3");
    assert!(
        o.status.success(),
        "python sigmf refused it (or is missing): {}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(String::from_utf8_lossy(&o.stdout).contains("(92160, 2)"));
    for f in [
        cfg,
        base.with_extension("sigmf-meta"),
        base.with_extension("sigmf-data"),
    ] {
        let _ = std::fs::remove_file(f);
    }
}

/// Damaged recordings are errors that name the damage, never a quiet pass:
/// a data file cut in half (the PDUs beyond its end counted), a slot number
/// beyond the frame, a channel count other than the carrier's antennas, an
/// annotation longer than a second of samples.
#[test]
fn replay_reports_damaged_recordings() {
    let (cfg, base) = record_high_snr("dmgrec");
    let b = base.to_str().unwrap();
    let meta_path = base.with_extension("sigmf-meta");
    let data_path = base.with_extension("sigmf-data");
    let meta = json_file(&meta_path);
    let data = std::fs::read(&data_path).unwrap();
    let listed: usize = meta["annotations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["ranlab:pusch"].as_array().unwrap().len())
        .sum();
    let fails = |what: &str, needle: &str| {
        let o = ranlab(&["replay", b]);
        let err = String::from_utf8_lossy(&o.stderr).to_string();
        assert!(!o.status.success(), "{what}: replay passed");
        assert!(!err.contains("panicked"), "{what}: {err}");
        assert!(
            err.contains(needle),
            "{what}: stderr lacks `{needle}`: {err}"
        );
        String::from_utf8_lossy(&o.stdout).to_string()
    };

    // Cut in half (a whole number of samples of 2 cf32 channels).
    std::fs::write(&data_path, &data[..data.len() / 2 / 16 * 16]).unwrap();
    let out = fails("truncated", "truncated");
    assert!(out.contains(&format!("{listed} PDUs listed")), "{out}");
    assert!(!out.contains(" 0 not in the file"), "{out}");
    std::fs::write(&data_path, &data).unwrap();

    let mut m = meta.clone();
    m["annotations"][3]["ranlab:slot"] = serde_json::json!(4294967300u64);
    std::fs::write(&meta_path, m.to_string()).unwrap();
    fails("slot beyond the frame", "ranlab:slot");

    let mut m = meta.clone();
    m["global"]["ranlab:carrier"]["antennas"] = serde_json::json!(4);
    std::fs::write(&meta_path, m.to_string()).unwrap();
    fails("channel count", "4 antennas");

    let mut m = meta.clone();
    m["annotations"][2]["core:sample_count"] = serde_json::json!(1u64 << 60);
    std::fs::write(&meta_path, m.to_string()).unwrap();
    fails("huge annotation", "core:sample_count");

    for f in [cfg, meta_path, data_path] {
        let _ = std::fs::remove_file(f);
    }
}

/// Overflows the device reports (the loopback device drops 5000 samples
/// every 200000 read, as a stalled host would) are counted in the summary,
/// the slots they hit are lost, and the run goes on: HARQ retransmits and
/// later slots decode on their samples again.
#[cfg(feature = "soapy")]
#[test]
fn loopback_over_soapy_survives_and_counts_device_overflows() {
    let json = tmp("soapy-overflow.json");
    ok(&ranlab(&[
        "loopback",
        "--radio",
        "soapy",
        "--args",
        "driver=ranlab_loopback,serial=ovf,overflow_every=200000,overflow_len=5000",
        "--slots",
        "40",
        "--json",
        json.to_str().unwrap(),
    ]));
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let _ = std::fs::remove_file(&json);
    assert_eq!(v["slots"], 40);
    assert!(v["radio"]["overflows"].as_u64().unwrap() >= 3, "{v}");
    assert_eq!(v["radio"]["late"].as_u64(), Some(0), "{v}");
    let (mut ok_tbs, mut first_fail) = (0, 0.0);
    for u in v["ues"].as_array().unwrap() {
        let n = |k: &str| u[k].as_u64().unwrap();
        assert!(
            n("tb_ok") + n("tb_failed") + n("tb_dropped") + n("tb_in_flight") <= n("transmissions"),
            "{u}"
        );
        ok_tbs += n("tb_ok");
        first_fail += u["bler_first_tx"].as_f64().unwrap();
    }
    assert!(ok_tbs > 0, "nothing decoded after the overflows: {v}");
    assert!(
        first_fail > 0.0,
        "no transmission was hit by an overflow: {v}"
    );
}

/// Two boards: the gNB device receives, a separate UE device transmits.
/// Linked loopback devices share one buffer and clock (a cable between two
/// boards on one time source), so the UEs' bursts arrive; unlinked, the gNB
/// hears nothing, which shows the bursts really leave through the UE device.
#[cfg(feature = "soapy")]
#[test]
fn loopback_over_two_soapy_devices_ue_board_to_gnb_board() {
    let run = |gnb: &str, ue: &str| {
        let json = tmp(&format!("two-boards-{ue}.json"));
        let out = ok(&ranlab(&[
            "loopback",
            "--radio",
            "soapy",
            "--args",
            gnb,
            "--ue-args",
            ue,
            "--slots",
            "20",
            "--json",
            json.to_str().unwrap(),
        ]));
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
        let _ = std::fs::remove_file(&json);
        let tbs: u64 = v["ues"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["tb_ok"].as_u64().unwrap())
            .sum();
        (out, v, tbs)
    };
    let (out, v, tbs) = run(
        "driver=ranlab_loopback,link=cable,serial=gnb",
        "driver=ranlab_loopback,link=cable,serial=ue",
    );
    assert!(
        v["link"].as_str().unwrap().contains("RX ranlab-loopback"),
        "{out}"
    );
    assert_eq!(tbs, 16, "4 uplink slots x 4 UEs: {v}");
    for k in ["overflows", "underflows", "late", "time_errors"] {
        assert_eq!(v["radio"][k].as_u64(), Some(0), "radio.{k}: {v}");
    }
    let (_, v, tbs) = run(
        "driver=ranlab_loopback,serial=gnb-alone",
        "driver=ranlab_loopback,serial=ue-alone",
    );
    assert_eq!(tbs, 0, "nothing can arrive without a cable: {v}");
}

/// Over TDL-C fading at 20 dB some first transmissions fail and HARQ
/// retransmits: the replay (one receiver, soft combining in recording order)
/// still decodes exactly the blocks the loopback delivered, and fails the
/// transmissions the loopback did not deliver.
#[test]
fn replay_of_a_fading_recording_matches_the_loopback_with_retransmissions() {
    let cfg = tmp("fade.toml");
    let fading = HIGH_SNR
        .replace("model = \"awgn\"", "model = \"tdl-c\"")
        .replace("delay_spread_ns = 0.0", "delay_spread_ns = 100.0")
        .replace("speed_kmh = 0.0", "speed_kmh = 3.0")
        .replace("snr_db = 30.0", "snr_db = 20.0");
    std::fs::write(&cfg, fading).unwrap();
    let c = cfg.to_str().unwrap();
    let base = tmp("faderec");
    let b = base.to_str().unwrap();
    ok(&ranlab(&[
        "record", "--radio", "sim", "--config", c, "--slots", "40", "--out", b,
    ]));
    let rj = tmp("faderec-replay.json");
    ok(&ranlab(&[
        "replay",
        b,
        "--quiet",
        "--json",
        rj.to_str().unwrap(),
    ]));
    let lj = tmp("faderec-loop.json");
    ok(&ranlab(&[
        "loopback",
        "--config",
        c,
        "--slots",
        "40",
        "--json",
        lj.to_str().unwrap(),
    ]));
    let (r, l) = (json_file(&rj), json_file(&lj));
    let sum = |k: &str| -> u64 {
        l["ues"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u[k].as_u64().unwrap())
            .sum()
    };
    let p = &r["pusch"];
    let (ok_n, failed) = (
        p["tb_ok"].as_u64().unwrap(),
        p["tb_failed"].as_u64().unwrap(),
    );
    assert!(
        failed > 0,
        "no transmission failed, nothing was retransmitted: {p}"
    );
    assert_eq!(ok_n, sum("tb_ok"), "replay {p} loopback {l}");
    assert_eq!(
        ok_n + failed,
        sum("transmissions"),
        "replay {p} loopback {l}"
    );
    let retx = r["slot_results"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["pusch"].as_array().unwrap())
        .filter(|x| x["rv"].as_u64() != Some(0))
        .count();
    assert!(retx > 0, "no retransmission in the recording");
    for f in [
        cfg,
        rj,
        lj,
        base.with_extension("sigmf-meta"),
        base.with_extension("sigmf-data"),
    ] {
        let _ = std::fs::remove_file(f);
    }
}
