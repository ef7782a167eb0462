//! Ctrl-C (SIGINT) on long commands: each stops at a clean point, writes its
//! `--json` marked `"interrupted": true` and exits with status 130.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Starts `ranlab args`, sends SIGINT after `after`, and waits (at most 20 s,
/// then kills it: a command that ignores the request fails the test).
fn interrupt(args: &[&str], after: Duration) -> (std::process::ExitStatus, String) {
    let mut child: Child = Command::new(env!("CARGO_BIN_EXE_ranlab"))
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ranlab starts");
    std::thread::sleep(after);
    let pid = child.id().to_string();
    let sent = Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .expect("kill runs");
    assert!(sent.success(), "kill -INT {pid} failed");
    let t0 = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if t0.elapsed() > Duration::from_secs(20) {
            child.kill().ok();
            child.wait().ok();
            panic!("`ranlab {}` did not stop on SIGINT", args.join(" "));
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut err = String::new();
    use std::io::Read;
    child.stderr.take().unwrap().read_to_string(&mut err).ok();
    (status, err)
}

#[test]
fn long_commands_stop_on_sigint_with_json_and_status_130() {
    let dir = std::env::temp_dir();
    let pid = std::process::id();
    let bler = dir.join(format!("ranlab-int-bler-{pid}.json"));
    let system = dir.join(format!("ranlab-int-system-{pid}.json"));
    let qos = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/qos.toml");
    let runs: [(&str, Vec<&str>); 2] = [
        (
            "bler",
            vec![
                "bler",
                "--bg",
                "2",
                "--k",
                "640",
                "--e",
                "1920",
                "--ebno-db",
                "0:0.5:20",
                "--blocks",
                "1000000000",
                "--json",
                bler.to_str().unwrap(),
            ],
        ),
        (
            "system",
            vec![
                "system",
                "--config",
                qos,
                "--slots",
                "10000000",
                "--json",
                system.to_str().unwrap(),
            ],
        ),
    ];
    for ((name, args), path) in runs.iter().zip([&bler, &system]) {
        std::fs::remove_file(path).ok();
        let (status, err) = interrupt(args, Duration::from_millis(1500));
        assert_eq!(status.code(), Some(130), "{name}: {status:?}\n{err}");
        assert!(!err.contains("panicked"), "{name}: {err}");
        let text = std::fs::read_to_string(path)
            .unwrap_or_else(|e| panic!("{name}: no --json written ({e})\n{err}"));
        std::fs::remove_file(path).ok();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["interrupted"], true, "{name}: {text}");
        match *name {
            "bler" => {
                let p = v["points"].as_array().unwrap();
                assert!(
                    !p.is_empty() && p[0]["blocks"].as_u64().unwrap() > 0,
                    "{text}"
                );
                assert!(p.last().unwrap()["blocks"].as_u64().unwrap() < 1_000_000_000);
            }
            _ => {
                let slots = v["slots"].as_u64().unwrap();
                assert!(slots > 0 && slots < 10_000_000, "slots {slots}");
                assert!(v["cell"]["ul_goodput_mbps"].as_f64().unwrap().is_finite());
            }
        }
    }
}
