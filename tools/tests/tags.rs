//! End-to-end tests of `ranlab tags`: the report and its JSON, and clear
//! one-line errors for bad configurations.

use std::process::{Command, Output};

fn ranlab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ranlab"))
        .args(args)
        .output()
        .expect("ranlab runs")
}

fn assert_clean_error(o: &Output, needle: &str) {
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "expected failure");
    assert!(!err.contains("panicked"), "panic: {err}");
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    assert!(
        err.contains(needle),
        "stderr does not name `{needle}`: {err}"
    );
}

fn config(name: &str, text: &str) -> String {
    let p = std::env::temp_dir().join(format!("ranlab-tags-{}-{name}.toml", std::process::id()));
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

#[test]
fn inventory_reads_the_hall_and_writes_the_json_keys() {
    let json = std::env::temp_dir().join(format!("ranlab-tags-{}.json", std::process::id()));
    let o = ranlab(&[
        "tags",
        "--tags",
        "100",
        "--seed",
        "3",
        "--json",
        &json.display().to_string(),
    ]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        out.contains("slot efficiency") && out.contains("position error"),
        "{out}"
    );
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    std::fs::remove_file(&json).ok();
    for key in [
        "tags",
        "tags_read",
        "read_rate_tags_per_s",
        "slot_efficiency",
        "position_error_p50_m",
        "position_error_p90_m",
    ] {
        assert!(v.get(key).is_some_and(|x| x.is_number()), "missing {key}");
    }
    assert_eq!(v["tags"], 100);
    let read = v["tags_read"].as_u64().unwrap();
    assert!(read >= 98, "only {read} of 100 read");
    assert!(v["slot_efficiency"].as_f64().unwrap() >= 0.30);
    assert!(v["position_error_p50_m"].as_f64().unwrap() < 10.0);
}

#[test]
fn zero_tags_is_a_clear_error() {
    assert_clean_error(&ranlab(&["tags", "--tags", "0"]), "tags.count");
}

#[test]
fn no_readers_is_a_clear_error() {
    assert_clean_error(&ranlab(&["tags", "--readers", "0"]), "reader");
}

#[test]
fn sensitivity_above_transmit_power_is_a_clear_error() {
    let c = config(
        "sens",
        "[readers]\ntx_power_dbm = 20.0\n[tags]\nsensitivity_dbm = 25.0\n",
    );
    assert_clean_error(&ranlab(&["tags", "--config", &c]), "tags.sensitivity_dbm");
}

#[test]
fn no_reader_in_range_is_a_clear_error() {
    // A single reader in a corner of a huge hall at low power: nowhere reaches -10 dBm.
    let c = config(
        "range",
        "[hall]\nwidth_m = 400.0\nlength_m = 400.0\n[readers]\npositions = [[0.0, 0.0]]\ntx_power_dbm = 0.0\n[tags]\nsensitivity_dbm = -10.0\n",
    );
    assert_clean_error(&ranlab(&["tags", "--config", &c]), "no reader in range");
}

#[test]
fn unknown_keys_and_bad_values_name_the_field() {
    let c = config("key", "[tags]\ncount = 10\nflavour = 1\n");
    assert_clean_error(&ranlab(&["tags", "--config", &c]), "flavour");
    let c = config("val", "[d2r]\nline_code = \"miller3\"\n");
    assert_clean_error(&ranlab(&["tags", "--config", &c]), "d2r.line_code");
}
