//! The loopback link. Until the coded PHY chain and the pipeline land, each
//! uplink slot carries one CRC24A-protected QPSK transport block per UE over
//! AWGN at the scenario's SNR, detected with hard decisions; the CRC decides
//! delivered or failed. Every block is counted.

use crate::loopback::Pace;
use crate::scenario::{Duplex, Scenario};
use crate::CliResult;
use num_complex::Complex32;
use rand::{Rng, SeedableRng};
use rand_distr::StandardNormal;
use rand_xoshiro::Xoshiro256PlusPlus;
use ranlab_phy::coding::crc::{Crc, CrcPoly};
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

#[derive(Default, Clone, serde::Serialize)]
struct UeStats {
    id: u32,
    tb_ok: u64,
    tb_failed: u64,
    tb_dropped: u64,
    bits_ok: u64,
}

pub fn run_loopback(
    s: &Scenario,
    pace: Pace,
    _workers: usize,
    json: Option<&Path>,
) -> CliResult<ExitCode> {
    let carrier = &s.cell.carriers[0];
    let pattern: Vec<char> = match carrier.duplex {
        Duplex::Tdd => carrier
            .tdd_pattern
            .clone()
            .unwrap_or_default()
            .chars()
            .collect(),
        _ => vec!['U'],
    };
    let slot_s = 1e-3 * 15.0 / carrier.scs_khz as f64;
    let snr_db = s.channel.snr_db.unwrap_or(10.0);
    let n0 = 10f32.powf(-snr_db as f32 / 10.0);
    let sigma = (n0 / 2.0).sqrt();
    let crc = Crc::new(CrcPoly::Crc24A);
    let tb_bits = 3816usize;
    let n_ue = s.ue_count();
    let mut ues: Vec<UeStats> = (0..n_ue)
        .map(|id| UeStats {
            id,
            ..Default::default()
        })
        .collect();
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(s.channel.seed);
    let mut tb = vec![0u8; tb_bits];
    let mut rx = vec![0u8; tb_bits + 24];
    let start = Instant::now();
    for slot in 0..s.slots {
        if pace == Pace::Realtime {
            let due = std::time::Duration::from_secs_f64(slot as f64 * slot_s);
            if let Some(wait) = due.checked_sub(start.elapsed()) {
                std::thread::sleep(wait);
            }
        }
        if pattern[(slot as usize) % pattern.len()] != 'U' {
            continue;
        }
        for ue in ues.iter_mut() {
            tb.iter_mut().for_each(|b| *b = rng.gen::<u8>() & 1);
            let tx = crc.attach(&tb);
            for (pair, out) in tx.chunks(2).zip(rx.chunks_mut(2)) {
                let sym = Complex32::new(1.0 - 2.0 * pair[0] as f32, 1.0 - 2.0 * pair[1] as f32)
                    * std::f32::consts::FRAC_1_SQRT_2;
                let y = sym
                    + Complex32::new(
                        rng.sample::<f32, _>(StandardNormal) * sigma,
                        rng.sample::<f32, _>(StandardNormal) * sigma,
                    );
                out[0] = (y.re < 0.0) as u8;
                out[1] = (y.im < 0.0) as u8;
            }
            if crc.check(&rx) {
                ue.tb_ok += 1;
                ue.bits_ok += tb_bits as u64;
            } else {
                ue.tb_failed += 1;
            }
        }
    }
    let wall = start.elapsed().as_secs_f64();
    let air = s.slots as f64 * slot_s;
    let ok: u64 = ues.iter().map(|u| u.tb_ok).sum();
    let failed: u64 = ues.iter().map(|u| u.tb_failed).sum();
    let bler = failed as f64 / (ok + failed).max(1) as f64;
    println!(
        "ranlab loopback: {} ({} slots, {:.1} ms of air time, seed {})",
        s.name,
        s.slots,
        air * 1e3,
        s.channel.seed
    );
    println!("link: uncoded QPSK + CRC24A over AWGN at {snr_db:.1} dB (coded PHY chain not yet wired in)");
    for u in &ues {
        println!(
            "  UE {:>3}: {:>6.2} Mbit/s  TB ok {:>5}  failed {:>5}  dropped {}",
            u.id,
            u.bits_ok as f64 / air / 1e6,
            u.tb_ok,
            u.tb_failed,
            u.tb_dropped
        );
    }
    let cell_mbps = ues.iter().map(|u| u.bits_ok).sum::<u64>() as f64 / air / 1e6;
    println!(
        "cell: UL goodput {cell_mbps:.2} Mbit/s, BLER {bler:.4}, real-time factor {:.1}",
        air / wall
    );
    if let Some(path) = json {
        let v = serde_json::json!({
            "slots": s.slots,
            "cell": {"ul_goodput_mbps": cell_mbps, "dl_goodput_mbps": 0.0, "bler": bler},
            "ues": ues.iter().map(|u| serde_json::json!({
                "id": u.id, "ul_goodput_mbps": u.bits_ok as f64 / air / 1e6,
                "bler": u.tb_failed as f64 / (u.tb_ok + u.tb_failed).max(1) as f64,
                "tb_ok": u.tb_ok, "tb_failed": u.tb_failed, "tb_dropped": u.tb_dropped})).collect::<Vec<_>>(),
            "timing": {"realtime_factor": air / wall},
        });
        std::fs::write(path, serde_json::to_string_pretty(&v)?)
            .map_err(|e| format!("cannot write `{}`: {e}", path.display()))?;
    }
    Ok(ExitCode::SUCCESS)
}
