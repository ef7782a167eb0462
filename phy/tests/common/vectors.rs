//! The conformance vector files the tests run: the in-repository set
//! (`phy/tests/vectors/`) plus, when present, the shared set beside the
//! checkout (`../shared/vectors/`), a file name found in both read once.

use std::path::PathBuf;

/// Every `*.jsonl` vector file, in-repository ones first, sorted by name.
pub fn vector_files() -> Vec<PathBuf> {
    // From any crate of the workspace (phy's tests and tools' tests use it).
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut files: Vec<PathBuf> = Vec::new();
    for dir in [
        root.join("../phy/tests/vectors"),
        root.join("../../shared/vectors"),
    ] {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut found: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
            .filter(|p| !files.iter().any(|f| f.file_name() == p.file_name()))
            .collect();
        found.sort();
        files.extend(found);
    }
    assert!(
        !files.is_empty(),
        "no *.jsonl vector files in {}/../phy/tests/vectors",
        root.display()
    );
    files
}

/// Every vector of `block` over all files, parsed.
#[allow(dead_code)]
pub fn vectors_of(block: &str) -> Vec<serde_json::Value> {
    vector_files()
        .iter()
        .flat_map(|p| {
            std::fs::read_to_string(p)
                .unwrap_or_else(|e| panic!("cannot read {}: {e}", p.display()))
                .lines()
                .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("a JSON vector"))
                .collect::<Vec<_>>()
        })
        .filter(|v| v["block"] == block)
        .collect()
}
