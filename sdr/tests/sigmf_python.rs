//! The official `sigmf` Python package (PyPI `sigmf`) reads and validates
//! the recordings ranlab writes. Skipped, with a printed line, where Python
//! or the package is missing (`.ci/run` installs it).

use num_complex::Complex32;
use ranlab_sdr::sigmf::{paths, Annotation, Datatype, SigmfWriter};
use std::process::Command;

const CHECK: &str = r#"
import sys, sigmf, numpy as np
f = sigmf.sigmffile.fromfile(sys.argv[1])
f.validate()
g = f.get_global_info()
assert g["core:datatype"] == sys.argv[2], g
assert f.get_num_channels() if hasattr(f, "get_num_channels") else True
x = f.read_samples()
n, ch = int(sys.argv[3]), int(sys.argv[4])
assert x.shape[0] == n, x.shape
if ch > 1:
    assert x.shape == (n, ch), x.shape
    x = x[:, 1]
# channel 1 holds i/32767 - j*i/32767 scaled by 0.5; sigmf scales ci16 by 1/32768.
i = 1234
want = 0.5 * (i % 1000) / 32767 * (1 - 1j)
assert abs(x[i] - want) < 1e-4, (x[i], want)
caps = f.get_captures()
assert caps[0]["core:global_index"] == 5000, caps
assert caps[0]["core:frequency"] == 3.5e9
ann = f.get_annotations()
assert ann[0]["core:label"] == "slot 3" and ann[0]["core:sample_start"] == 760, ann[0]
# The ranlab extension: declared in global, its fields read back.
assert {"name": "ranlab", "version": "1.0.0", "optional": True} in g["core:extensions"], g
assert g["ranlab:carrier"]["scs_khz"] == 30, g
assert ann[-1]["ranlab:pusch"][0]["rnti"] == 17921, ann[-1]
print("sigmf", sigmf.__version__, "ok:", len(ann), "annotations")
"#;

fn python_sigmf() -> Option<String> {
    let out = Command::new("python3")
        .args(["-c", "import sigmf, numpy; print(sigmf.__version__)"])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

#[test]
#[ignore = "needs python3 with the sigmf and numpy packages (pip install sigmf); .ci/run installs them and runs it with --ignored"]
fn official_sigmf_package_validates_and_reads_the_recordings() {
    let version =
        python_sigmf().expect("python3 with the `sigmf` and `numpy` packages (pip install sigmf)");
    println!("checking with python sigmf {version}");
    for (dt, name) in [(Datatype::Ci16Le, "ci16_le"), (Datatype::Cf32Le, "cf32_le")] {
        let base =
            std::env::temp_dir().join(format!("ranlab-pysigmf-{}-{name}", std::process::id()));
        let mut w =
            SigmfWriter::create(&base, dt, 1.92e6, 2, 3.5e9, "ranlab test", Some(1920)).unwrap();
        let a: Vec<Complex32> = (0..5000)
            .map(|i| Complex32::new(0.1, 0.0) * (i % 7) as f32)
            .collect();
        let b: Vec<Complex32> = (0..5000)
            .map(|i| Complex32::new(1.0, -1.0) * (0.5 * (i % 1000) as f32 / 32767.0))
            .collect();
        w.write(&[&a[..3000], &b[..3000]], Some(5000)).unwrap();
        w.write(&[&a[3000..], &b[3000..]], Some(8000)).unwrap();
        w.set_description("python interoperability check");
        w.declare_extension("ranlab", "1.0.0", true);
        w.set_global(
            "ranlab:carrier",
            serde_json::json!({"scs_khz": 30, "n_prb": 106}),
        )
        .unwrap();
        let mut extra = serde_json::Map::new();
        extra.insert(
            "ranlab:pusch".into(),
            serde_json::json!([{"rnti": 17921, "prb_start": 0, "n_prb": 10}]),
        );
        w.push_annotation(Annotation {
            sample_start: 4700,
            sample_count: Some(100),
            label: Some("pusch".into()),
            extra,
        })
        .unwrap();
        w.finish().unwrap();
        let (meta, data) = paths(&base);
        let out = Command::new("python3")
            .args(["-c", CHECK, meta.to_str().unwrap(), name, "5000", "2"])
            .output()
            .unwrap();
        let _ = (std::fs::remove_file(&meta), std::fs::remove_file(&data));
        assert!(
            out.status.success(),
            "{name}: python sigmf refused the recording:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        print!("{name}: {}", String::from_utf8_lossy(&out.stdout));
    }
}
