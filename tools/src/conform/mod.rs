//! `ranlab conform`: runs JSON Lines test vectors through the project's blocks.
//!
//! Format: `shared/vectors/FORMAT.md`. Each line is one case
//! `{id, block, params, input, expected}`; the block's checker returns the
//! first mismatch. A block without a checker counts as failed, so missing
//! work is never hidden by the count.

mod crc;
mod ldpc_decode;
mod ldpc_encode;
mod pusch_tx;
mod qam_demap;
mod qam_map;
mod scrambling;
mod tb_size;
mod util;

use crate::CliResult;
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `ranlab conform`.
#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  ranlab conform ../shared/vectors/*.jsonl\n  ranlab conform phy/tests/vectors/*.jsonl --block qam_demap -v"
)]
pub struct Args {
    /// Test-vector files (JSON Lines), e.g. ../shared/vectors/*.jsonl
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// Only run the vectors of this block (e.g. crc, ldpc_encode, pusch_tx).
    #[arg(long, value_name = "NAME")]
    block: Option<String>,
    /// Write per-block pass/fail counts to this JSON file.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Also print a line for every passing case.
    #[arg(long, short)]
    verbose: bool,
}

/// One test vector.
#[derive(Deserialize)]
pub struct Vector {
    /// `<block>-s<seed>-<index>`.
    pub id: String,
    /// The block under test.
    pub block: String,
    /// Block parameters.
    #[serde(default)]
    pub params: Value,
    /// Block input.
    #[serde(default)]
    pub input: Value,
    /// Expected output.
    #[serde(default)]
    pub expected: Value,
}

/// Why a case failed.
pub enum Failure {
    /// No checker exists for the block yet.
    Unsupported,
    /// The block's output differs, or the vector is malformed; says where.
    Mismatch(String),
}

impl From<String> for Failure {
    fn from(s: String) -> Self {
        Failure::Mismatch(s)
    }
}

impl From<&str> for Failure {
    fn from(s: &str) -> Self {
        Failure::Mismatch(s.to_string())
    }
}

/// Result of checking one case.
pub type CaseResult = Result<(), Failure>;

/// The blocks `conform` has a checker for.
pub const BLOCKS: &[&str] = &[
    "crc",
    "ldpc_encode",
    "ldpc_decode",
    "tb_size",
    "qam_map",
    "qam_demap",
    "scrambling",
    "pusch_tx",
];

/// Runs one vector through its block.
pub fn check(v: &Vector) -> CaseResult {
    match v.block.as_str() {
        "crc" => crc::check(v),
        "ldpc_encode" => ldpc_encode::check(v),
        "ldpc_decode" => ldpc_decode::check(v),
        "tb_size" => tb_size::check(v),
        "qam_map" => qam_map::check(v),
        "qam_demap" => qam_demap::check(v),
        "scrambling" => scrambling::check(v),
        "pusch_tx" => pusch_tx::check(v),
        _ => Err(Failure::Unsupported),
    }
}

#[derive(Default, serde::Serialize)]
struct Counts {
    passed: usize,
    failed: usize,
}

pub fn run(args: Args) -> CliResult<ExitCode> {
    if let Some(b) = args.block.as_deref() {
        if !BLOCKS.contains(&b) {
            return Err(
                format!("--block {b}: no such block (known: {})", BLOCKS.join(", ")).into(),
            );
        }
    }
    let mut per_block: BTreeMap<String, Counts> = BTreeMap::new();
    let (mut passed, mut failed) = (0usize, 0usize);
    for file in &args.files {
        let text = std::fs::read_to_string(file)
            .map_err(|e| format!("cannot read test vectors `{}`: {e}", file.display()))?;
        for (lineno, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let v: Vector = match serde_json::from_str(line) {
                Ok(v) => v,
                Err(e) => {
                    // A malformed line is a failed case, never a silent skip.
                    println!(
                        "FAIL {}:{}: not a test vector: {e}",
                        file.display(),
                        lineno + 1
                    );
                    failed += 1;
                    per_block.entry("<malformed>".into()).or_default().failed += 1;
                    continue;
                }
            };
            if args.block.as_deref().is_some_and(|b| b != v.block) {
                continue;
            }
            let c = per_block.entry(v.block.clone()).or_default();
            // A checker bug must not take the whole run down: report it as that case's failure.
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check(&v)))
                .unwrap_or_else(|_| Err(Failure::Mismatch("checker panicked".into())));
            match outcome {
                Ok(()) => {
                    passed += 1;
                    c.passed += 1;
                    if args.verbose {
                        println!("ok   {} {}", v.block, v.id);
                    }
                }
                Err(f) => {
                    failed += 1;
                    c.failed += 1;
                    match f {
                        Failure::Unsupported => {
                            println!("FAIL {} {}: unsupported block {}", v.block, v.id, v.block)
                        }
                        Failure::Mismatch(m) => println!("FAIL {} {}: {m}", v.block, v.id),
                    }
                }
            }
        }
    }
    if let Some(path) = &args.json {
        let out = serde_json::json!({ "passed": passed, "failed": failed, "blocks": per_block });
        std::fs::write(path, serde_json::to_string_pretty(&out)?)
            .map_err(|e| format!("cannot write `{}`: {e}", path.display()))?;
    }
    println!("{passed} passed, {failed} failed");
    if passed + failed == 0 {
        // Nothing checked is not a pass: an empty or filtered-out file set.
        let files: Vec<String> = args.files.iter().map(|f| f.display().to_string()).collect();
        return Err(format!(
            "no test vectors{} in {}",
            args.block
                .as_deref()
                .map(|b| format!(" of block `{b}`"))
                .unwrap_or_default(),
            files.join(", ")
        )
        .into());
    }
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
