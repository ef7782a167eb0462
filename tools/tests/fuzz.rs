//! The fuzz harness in the test suite: every target runs a short budget of
//! generated inputs without a panic, and the regression corpus (inputs that
//! crashed or were silently accepted before their fix, one file each under
//! `tests/fuzz-corpus/<target>/`) runs through its target. Long runs:
//! `ranlab fuzz --inputs 1000000` (docs/fuzzing.md).

use ranlab::fuzz::{Ctx, TARGETS};
use std::path::PathBuf;
use std::process::Command;

#[test]
fn every_target_runs_a_short_budget_without_a_panic() {
    let o = Command::new(env!("CARGO_BIN_EXE_ranlab"))
        .args([
            "fuzz",
            "--inputs",
            "3000",
            "--seconds",
            "10",
            "--seed",
            "11",
        ])
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{out}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(
        out.lines().filter(|l| l.ends_with(": 0 panics")).count(),
        TARGETS.len(),
        "{out}"
    );
}

#[test]
fn regression_corpus_runs_without_a_panic() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-corpus");
    let mut n = 0;
    for dir in std::fs::read_dir(&root).unwrap() {
        let dir = dir.unwrap().path();
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        let t = TARGETS
            .iter()
            .find(|t| t.name == name)
            .unwrap_or_else(|| panic!("corpus folder {name} names no target"));
        let mut cx = Ctx::new(ranlab::fuzz::scratch_dir(&name));
        for f in std::fs::read_dir(&dir).unwrap() {
            let f = f.unwrap().path();
            let text = std::fs::read_to_string(&f).unwrap();
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                t.run_text(&text, &mut cx)
            }));
            assert!(
                matches!(r, Ok(true)),
                "{}: panicked or not a text target",
                f.display()
            );
            n += 1;
        }
    }
    assert!(n >= 8, "{n} corpus inputs");
}

#[test]
fn unknown_target_is_a_clear_error() {
    let o = Command::new(env!("CARGO_BIN_EXE_ranlab"))
        .args(["fuzz", "--target", "warp-core"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && err.contains("--target warp-core"),
        "{err}"
    );
}
