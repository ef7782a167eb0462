//! `ranlab bler-table`: measures the AWGN BLER curves of every MCS with the
//! project's own transport chain, for the system-level link abstraction.
//!
//! Per MCS of TS 38.214 Table 5.1.3.1-1 or -2: a transport block of the TBS
//! of `--n-prb` PRBs x 144 data REs (14 symbols, 2 DM-RS symbols of type 1),
//! one layer, is encoded by `TbEncoder` (CRC, segmentation, LDPC, rate
//! matching, rv 0), mapped by `Mapper`, sent over complex AWGN at Es/N0,
//! demapped by the max-log `Demapper`, quantised to 8-bit LLRs and decoded by
//! `TbDecoder` (layered min-sum, 10 iterations, early stop); the TB CRC
//! decides. Scrambling is left out: it does not change the BLER over AWGN.
//! The SNR is swept in `--step-db` steps from 1 dB below the Shannon bound of
//! the MCS until a point sees no error in `--blocks` blocks; each point stops
//! early after `--max-errors` errors. The output is the JSON read by
//! `ranlab system` (`tools/data/bler-awgn.json`), with this command recorded.

use crate::system::link::{BlerCurve, BlerTable};
use crate::CliResult;
use num_complex::Complex32;
use rand::{Rng, SeedableRng};
use rand_distr::StandardNormal;
use rand_xoshiro::Xoshiro256PlusPlus;
use ranlab_mac::mcs::{re_per_prb, tbs, McsTable};
use ranlab_phy::coding::ldpc::{quantize_llrs, DecoderConfig};
use ranlab_phy::coding::rate_match::HarqSoftBuffer;
use ranlab_phy::coding::tb::{TbConfig, TbDecoder, TbEncoder, TbPlan};
use ranlab_phy::modulation::demapper::Demapper;
use ranlab_phy::modulation::mapper::Mapper;
use ranlab_phy::modulation::Modulation;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `ranlab bler-table`.
#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  ranlab bler-table --mcs-table 2 --n-prb 16 --out bler.json   # the link table of `ranlab system`"
)]
pub struct Args {
    /// MCS table: 1 (64QAM) or 2 (256QAM).
    #[arg(long, default_value_t = 2)]
    mcs_table: u8,
    /// PRBs of the allocation measured.
    #[arg(long, default_value_t = 16)]
    n_prb: u16,
    /// Transport blocks per SNR point (at most).
    #[arg(long, default_value_t = 400)]
    blocks: u64,
    /// Stop a point after this many block errors.
    #[arg(long, default_value_t = 60)]
    max_errors: u64,
    /// SNR step, dB.
    #[arg(long, default_value_t = 0.5)]
    step_db: f64,
    /// Only these MCS indices (comma-separated); default all.
    #[arg(long, value_delimiter = ',')]
    mcs: Option<Vec<u8>>,
    /// Seed of the noise and data.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Output file (JSON); default: print to stdout.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

/// Measures one MCS's curve. An interrupt stops it after the current
/// block: the curve then ends with the partial point (its `blocks` tells).
fn measure(
    table: McsTable,
    mcs: u8,
    a: &Args,
    rng: &mut Xoshiro256PlusPlus,
) -> Result<BlerCurve, String> {
    let e = table.entry(mcs);
    let re = re_per_prb(14, 24, 0);
    let tbs_bits = tbs(table, mcs, a.n_prb as u32, re, 1) as usize;
    let n_sym = a.n_prb as usize * re as usize;
    let qm = e.qm as usize;
    let g = n_sym * qm;
    let plan = TbPlan::new(TbConfig {
        tbs: tbs_bits,
        r_x2048: e.r_x2048,
        qm: e.qm,
        num_layers: 1,
        g,
        tbs_lbrm: None,
    })
    .map_err(|e| format!("MCS {mcs}: {e}"))?;
    let modulation = Modulation::from_qm(qm, false).ok_or(format!("MCS {mcs}: Q_m {qm}"))?;
    let mapper = Mapper::new(modulation);
    let demapper = Demapper::new(modulation);
    let mut enc = TbEncoder::new();
    let mut dec = TbDecoder::new(DecoderConfig::default());
    let mut soft = HarqSoftBuffer::new(plan.soft_buffer_len(), plan.num_cb());
    let mut tb = vec![0u8; tbs_bits];
    let mut out = vec![0u8; tbs_bits];
    let mut coded = vec![0u8; g];
    let mut sym = vec![Complex32::new(0.0, 0.0); n_sym];
    let mut nv = vec![0f32; n_sym];
    let mut llr = vec![0f32; g];
    let mut q = vec![0i8; g];
    let se = table.spectral_efficiency(mcs) as f64;
    let start = ((10.0 * (2f64.powf(se) - 1.0).log10() - 1.0) / a.step_db).floor() * a.step_db;
    let (mut snr_db, mut bler, mut blocks) = (Vec::new(), Vec::new(), Vec::new());
    for k in 0..60 {
        let s = start + k as f64 * a.step_db;
        let n0 = 10f32.powf(-s as f32 / 10.0);
        let sigma = (n0 / 2.0).sqrt();
        nv.iter_mut().for_each(|v| *v = n0);
        let (mut n, mut err) = (0u64, 0u64);
        while n < a.blocks && err < a.max_errors && !crate::interrupt::requested() {
            tb.iter_mut().for_each(|b| *b = rng.gen::<u8>() & 1);
            enc.encode(&plan, &tb, 0, &mut coded)
                .map_err(|e| e.to_string())?;
            mapper.map(&coded, &mut sym).map_err(|e| e.to_string())?;
            for x in sym.iter_mut() {
                *x += Complex32::new(
                    rng.sample::<f32, _>(StandardNormal) * sigma,
                    rng.sample::<f32, _>(StandardNormal) * sigma,
                );
            }
            demapper
                .demap(&sym, &nv, &mut llr)
                .map_err(|e| e.to_string())?;
            // Natural LLRs at scale 8 (one unit = 1/8), the scale the LDPC
            // decoder's rules are tuned for and the PUSCH receiver uses. (An
            // SNR-dependent scale, 2 norm N0, was used before: it mis-sizes the
            // min-sum offset at high SNR and lost several dB with the current
            // row order.)
            quantize_llrs(&llr, 8.0, &mut q);
            let o = dec
                .decode(&plan, &q, 0, &mut soft, true, &mut out)
                .map_err(|e| e.to_string())?;
            let ok = o.tb_crc_ok && out == tb;
            n += 1;
            err += !ok as u64;
        }
        if n == 0 {
            break; // interrupted before this point's first block
        }
        snr_db.push(s);
        bler.push(err as f64 / n as f64);
        blocks.push(n);
        if err == 0 || crate::interrupt::requested() {
            break;
        }
    }
    Ok(BlerCurve {
        mcs,
        qm: e.qm,
        code_rate: e.r_x1024() / 1024.0,
        tbs_bits: tbs_bits as u32,
        snr_db,
        bler,
        blocks,
    })
}

pub fn run(a: Args) -> CliResult<ExitCode> {
    let table = match a.mcs_table {
        1 => McsTable::Qam64,
        2 => McsTable::Qam256,
        t => return Err(format!("--mcs-table: {t} (allowed: 1, 2)").into()),
    };
    if !(1..=273).contains(&a.n_prb) {
        return Err(format!("--n-prb: {} (allowed: 1..=273)", a.n_prb).into());
    }
    if a.blocks == 0 || a.max_errors == 0 {
        return Err("--blocks and --max-errors: at least 1".into());
    }
    if !(0.05..=5.0).contains(&a.step_db) {
        return Err(format!("--step-db: {} (allowed: 0.05..=5)", a.step_db).into());
    }
    let all: Vec<u8> = (0..=table.max_mcs()).collect();
    let which = a.mcs.clone().unwrap_or(all);
    if let Some(m) = which.iter().find(|&&m| m > table.max_mcs()) {
        return Err(format!("--mcs: {m} (allowed: 0..={})", table.max_mcs()).into());
    }
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(a.seed);
    let mut curves = Vec::new();
    // Ctrl-C stops after the current block: the curves so far are written,
    // marked `"interrupted": true` (`ranlab system` refuses such a table),
    // and the exit status is 130.
    let mut interrupted = false;
    for &m in &which {
        if crate::interrupt::requested() {
            interrupted = true;
            break;
        }
        let c = measure(table, m, &a, &mut rng)?;
        if crate::interrupt::requested() {
            interrupted = true;
            if c.snr_db.is_empty() {
                break;
            }
        }
        eprintln!(
            "MCS {:>2} (Qm {}, R {:.3}, TBS {:>6}): BLER 10 % near {:.2} dB, {} points",
            m,
            c.qm,
            c.code_rate,
            c.tbs_bits,
            {
                let k = c
                    .bler
                    .iter()
                    .position(|&b| b <= 0.1)
                    .unwrap_or(c.bler.len() - 1);
                c.snr_db[k]
            },
            c.snr_db.len()
        );
        curves.push(c);
        if interrupted {
            break;
        }
    }
    let cmd = format!(
        "ranlab bler-table --mcs-table {} --n-prb {} --blocks {} --max-errors {} --step-db {} --seed {}{}",
        a.mcs_table,
        a.n_prb,
        a.blocks,
        a.max_errors,
        a.step_db,
        a.seed,
        a.mcs
            .as_ref()
            .map(|v| format!(" --mcs {}", v.iter().map(|m| m.to_string()).collect::<Vec<_>>().join(",")))
            .unwrap_or_default()
    );
    let t = BlerTable {
        generated_by: cmd,
        channel: "awgn".into(),
        mcs_table: a.mcs_table,
        n_prb: a.n_prb,
        n_symbols: 14,
        dmrs_re_per_prb: 24,
        receiver:
            "max-log demapper, 8-bit LLRs at scale 8, LDPC layered lambda-min (lambda = 3, 10 iterations, early stop), TB CRC"
                .into(),
        curves,
        interrupted,
    };
    let text = serde_json::to_string_pretty(&t)?;
    match &a.out {
        Some(p) => std::fs::write(p, text + "\n")
            .map_err(|e| format!("cannot write `{}`: {e}", p.display()))?,
        None => println!("{text}"),
    }
    if interrupted {
        eprintln!(
            "interrupted: the table is incomplete ({} of {} MCS curves, the last maybe partial)",
            t.curves.len(),
            which.len()
        );
    }
    Ok(crate::interrupt::exit_code(interrupted, ExitCode::SUCCESS))
}
