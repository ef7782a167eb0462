//! `ranlab info`: what this machine offers the PHY kernels.

use crate::CliResult;
use ranlab_phy::simd::SimdLevel;
use std::process::ExitCode;

/// Arguments of `ranlab info`.
#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  ranlab info\n  ranlab info --json\n  RANLAB_SIMD=scalar ranlab info   # every block capped at the scalar kernels"
)]
pub struct Args {
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_string())
}

/// Cargo features this binary was built with.
pub fn build_features() -> Vec<&'static str> {
    let mut f = Vec::new();
    if cfg!(feature = "soapy") {
        f.push("soapy");
    }
    f
}

pub fn run(args: Args) -> CliResult<ExitCode> {
    let level = SimdLevel::detect();
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let kernels = ranlab_phy::simd::kernels(level);
    if args.json {
        let v = serde_json::json!({
            "version": env!("CARGO_PKG_VERSION"),
            "cpu": cpu_model(),
            "cores": cores,
            "simd": level.name(),
            "simd_cpu": SimdLevel::cpu().name(),
            "simd_supported": SimdLevel::supported().iter().map(|l| l.name()).collect::<Vec<_>>(),
            "kernels": kernels.iter().map(|(b, k)| serde_json::json!({"block": b, "kernel": k})).collect::<Vec<_>>(),
            "features": build_features(),
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!("ranlab {}", env!("CARGO_PKG_VERSION"));
    println!("cpu        {}", cpu_model());
    println!("cores      {cores}");
    let capped = if level < SimdLevel::cpu() {
        format!(", the CPU has {}: capped by RANLAB_SIMD", SimdLevel::cpu())
    } else {
        String::new()
    };
    println!(
        "simd       {} (supported: {}{capped})",
        level,
        SimdLevel::supported()
            .iter()
            .map(|l| l.name())
            .collect::<Vec<_>>()
            .join(", ")
    );
    let f = build_features();
    println!(
        "features   {}",
        if f.is_empty() {
            "none".to_string()
        } else {
            f.join(", ")
        }
    );
    println!("kernels");
    for (block, kernel) in kernels {
        println!("  {block:<16} {kernel}");
    }
    Ok(ExitCode::SUCCESS)
}
