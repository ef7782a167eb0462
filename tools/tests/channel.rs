//! End-to-end test of `ranlab channel`: the .npy header and size, the JSON description,
//! the statistics of the written gains, and clean one-line errors for bad arguments.
//! When python3 with NumPy is available the file is also loaded with NumPy (optional).

use std::path::PathBuf;
use std::process::{Command, Output};

fn ranlab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ranlab"))
        .args(args)
        .output()
        .expect("ranlab runs")
}

fn tmp(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("ranlab-channel-{}-{name}", std::process::id()))
}

/// Parses an NPY v1.0 header: returns (descr, fortran_order, shape, data offset).
fn parse_npy(b: &[u8]) -> (String, bool, Vec<usize>, usize) {
    assert_eq!(&b[..6], b"\x93NUMPY", "magic");
    assert_eq!((b[6], b[7]), (1, 0), "version");
    let hl = u16::from_le_bytes([b[8], b[9]]) as usize;
    let off = 10 + hl;
    assert_eq!(off % 64, 0, "header alignment");
    let h = std::str::from_utf8(&b[10..off]).unwrap();
    assert!(h.ends_with('\n'));
    let field = |k: &str| {
        let i = h
            .find(&format!("'{k}': "))
            .unwrap_or_else(|| panic!("no {k} in {h}"))
            + k.len()
            + 4;
        h[i..].to_string()
    };
    let descr = field("descr");
    let descr = descr.split('\'').nth(1).unwrap().to_string();
    let fortran = field("fortran_order").starts_with("True");
    let shape_s = field("shape");
    let inner = &shape_s[1..shape_s.find(')').unwrap()];
    let shape = inner
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().unwrap())
        .collect();
    (descr, fortran, shape, off)
}

/// `ranlab channel` of `model` (2x2, 300 samples, 60 km/h, seed 7) to `out`.
fn write_channel(model: &str, out: &std::path::Path) {
    let o = ranlab(&[
        "channel",
        "--model",
        model,
        "--rx",
        "2",
        "--tx",
        "2",
        "--samples",
        "300",
        "--speed-kmh",
        "60",
        "--seed",
        "7",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(
        o.status.success(),
        "{model}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn writes_npy_and_json_for_every_model() {
    for model in [
        "awgn", "rayleigh", "tdl-a", "tdl-b", "tdl-c", "tdl-d", "tdl-e", "cdl-a", "cdl-b", "cdl-c",
        "cdl-d", "cdl-e",
    ] {
        let out = tmp(&format!("{model}.npy"));
        write_channel(model, &out);
        let b = std::fs::read(&out).unwrap();
        let (descr, fortran, shape, off) = parse_npy(&b);
        assert_eq!(descr, "<c8");
        assert!(!fortran);
        assert_eq!(&shape[..3], &[300, 2, 2]);
        assert_eq!(b.len() - off, shape.iter().product::<usize>() * 8);
        let jp = out.with_extension("json");
        let j: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&jp).unwrap()).unwrap();
        assert_eq!(j["model"], model);
        assert_eq!(j["seed"], 7);
        assert_eq!(j["sample_rate_hz"], 30.72e6);
        assert_eq!(j["delays_ns"].as_array().unwrap().len(), shape[3]);
        // 60 km/h at 3.5 GHz: 194.6 Hz.
        let fd = j["doppler_hz"].as_f64().unwrap();
        assert!(
            (fd - 60.0 / 3.6 * 3.5e9 / 299_792_458.0).abs() < 1e-9,
            "{fd}"
        );
        let tp: f64 = j["tap_powers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .sum();
        assert!((tp - 1.0).abs() < 1e-6, "{model}: tap powers sum to {tp}"); // f32 gains
                                                                             // The written gains of `awgn` are exactly 1; of the faded models, finite and non-zero.
        let vals: Vec<f32> = b[off..]
            .chunks(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        assert!(vals.iter().all(|v| v.is_finite()));
        if model == "awgn" {
            assert!(vals.chunks(2).all(|c| c == [1.0, 0.0]));
        } else {
            assert!(vals.iter().any(|v| *v != 0.0));
        }
        if model == "tdl-c" {
            let d: Vec<f64> = j["delays_ns"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap())
                .collect();
            assert_eq!(d.len(), 24);
            assert!(
                (d[23] - 865.23).abs() < 1e-6,
                "TDL-C last delay at DS 100 ns"
            );
        }
        std::fs::remove_file(&out).ok();
        std::fs::remove_file(&jp).ok();
    }
}

/// NumPy loads the files with the same shape and dtype (TDL and CDL).
#[test]
#[ignore = "needs python3 with numpy (pip install numpy); .ci/run installs it and runs it with --ignored"]
fn numpy_loads_the_channel_files() {
    for model in ["tdl-c", "cdl-c"] {
        let out = tmp(&format!("np-{model}.npy"));
        write_channel(model, &out);
        let (_, _, shape, _) = parse_npy(&std::fs::read(&out).unwrap());
        let script = format!(
            "import numpy as np, sys; a = np.load(sys.argv[1]); \
             assert a.dtype == np.complex64 and a.shape == tuple({shape:?}), (a.dtype, a.shape); \
             assert np.isfinite(a).all(); print('ok')"
        );
        let o = Command::new("python3")
            .args(["-c", &script, out.to_str().unwrap()])
            .output()
            .expect("python3");
        assert!(
            o.status.success(),
            "numpy rejects the file (or is missing): {}",
            String::from_utf8_lossy(&o.stderr)
        );
        std::fs::remove_file(&out).ok();
        std::fs::remove_file(out.with_extension("json")).ok();
    }
}

#[test]
fn bad_arguments_are_one_line_errors() {
    let out = tmp("bad.npy");
    let o = out.to_str().unwrap();
    for (args, needle) in [
        (
            vec!["channel", "--model", "tdl-z", "--out", o],
            "unknown channel model",
        ),
        (
            vec!["channel", "--model", "tdl-a", "--rx", "0", "--out", o],
            "--rx",
        ),
        (
            vec![
                "channel",
                "--model",
                "tdl-a",
                "--delay-spread-ns=-5",
                "--out",
                o,
            ],
            "--delay-spread-ns",
        ),
        (
            vec!["channel", "--model", "tdl-a", "--samples", "0", "--out", o],
            "--samples",
        ),
        (
            vec![
                "channel",
                "--model",
                "tdl-a",
                "--out",
                "/tmp/ranlab-same.json",
            ],
            "same file",
        ),
        (
            vec![
                "channel",
                "--model",
                "cdl-a",
                "--samples",
                "100000000",
                "--rx",
                "64",
                "--out",
                o,
            ],
            "--samples",
        ),
        (
            vec![
                "channel",
                "--model",
                "tdl-a",
                "--correlation",
                "extreme",
                "--out",
                o,
            ],
            "--correlation",
        ),
        (
            vec![
                "channel",
                "--model",
                "tdl-a",
                "--out",
                "/nonexistent-dir/x.npy",
            ],
            "cannot write",
        ),
    ] {
        let r = ranlab(&args);
        let err = String::from_utf8_lossy(&r.stderr);
        assert!(!r.status.success(), "{args:?} succeeded");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
        assert_eq!(
            err.trim_end().lines().count(),
            1,
            "{args:?}: not one line: {err}"
        );
    }
    std::fs::remove_file(&out).ok();
}
