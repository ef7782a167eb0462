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
