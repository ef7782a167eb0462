//! `ranlab bler`: block error rate of the LDPC code on AWGN.
//!
//! Chain per block: K random bits -> LDPC encoding (TS 38.212 §5.3.2, Z and fillers
//! from §5.2.2) -> rv-0 bit selection of E bits from the circular buffer (§5.4.2.1,
//! k0 = 0, fillers skipped, no bit interleaver) -> QPSK with Es = 1 -> complex AWGN
//! with N0 = 1 / (Eb/N0 * R * 2), R = K/E -> exact LLRs (for Gray QPSK equal to
//! max-log: 2*sqrt(2)*y/N0 per component) -> de-selection into the circular buffer
//! -> decoder. A block is in error if any information bit is wrong. Each point
//! reports the 95 % Wilson interval of the BLER.

use crate::CliResult;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, StandardNormal};
use rand_xoshiro::Xoshiro256PlusPlus;
use ranlab_phy::coding::ldpc::{
    quantize_llrs, select_lifting, BaseGraph, BpDecoder, DecoderConfig, LdpcDecoder, LdpcEncoder,
    MinSum,
};
use ranlab_phy::simd::SimdLevel;
use std::path::PathBuf;
use std::process::ExitCode;

/// Which decoder to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum DecoderKind {
    /// The layered 8-bit min-sum decoder (SIMD).
    Fast,
    /// The floating-point flooding sum-product reference.
    Bp,
}

/// Check-node rule of the fast decoder (`phy::coding::ldpc::MinSum`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum RuleKind {
    /// λ-min (λ = 3) with the table box-plus, then an offset.
    Lambda3,
    /// Offset min-sum.
    Offset,
    /// Normalized min-sum.
    Normalized,
}

/// Arguments of `ranlab bler`.
#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  ranlab bler --bg 1 --k 8448 --e 16896 --ebno-db 1.0:0.1:1.6 --blocks 4000\n  ranlab bler --bg 2 --k 3840 --e 7680 --ebno-db 0,1,2 --decoder bp --json bler.json"
)]
pub struct Args {
    /// Base graph (1 or 2).
    #[arg(long, value_parser = clap::value_parser!(u8).range(1..=2))]
    bg: u8,
    /// Information bits per code block, K (K' of §5.2.2, CRC included).
    #[arg(long)]
    k: usize,
    /// Rate-matched length E.
    #[arg(long)]
    e: usize,
    /// Eb/N0 points in dB: a list `1,1.5,2` or a range `START:STEP:STOP`.
    #[arg(
        long = "ebno-db",
        value_name = "LIST_OR_RANGE",
        allow_hyphen_values = true
    )]
    ebno_db: String,
    /// Decoder iteration cap (layered iterations for `fast`, flooding for `bp`).
    #[arg(long, default_value_t = 10)]
    iterations: u32,
    /// Blocks per point.
    #[arg(long, default_value_t = 1000)]
    blocks: u64,
    /// Stop a point early once this many block errors were seen (0: never).
    #[arg(long, default_value_t = 0)]
    max_errors: u64,
    /// Decoder.
    #[arg(long, value_enum, default_value_t = DecoderKind::Fast)]
    decoder: DecoderKind,
    /// Check-node rule of the fast decoder.
    #[arg(long, value_enum, default_value_t = RuleKind::Lambda3)]
    min_sum: RuleKind,
    /// Offset (beta) of `offset` and `lambda3`, in quantised LLR units; default 4
    /// for `offset`, 0 for `lambda3`.
    #[arg(long)]
    offset: Option<u8>,
    /// Factor of `normalized`, in sixteenths (default 12).
    #[arg(long)]
    alpha_16: Option<u8>,
    /// LLR quantisation: i8 = round(LLR * scale) (fast decoder).
    #[arg(long, default_value_t = 8.0)]
    llr_scale: f32,
    /// Instruction set for the fast decoder: auto, scalar, avx2 or avx512.
    #[arg(long = "impl", default_value = "auto")]
    implementation: String,
    /// Random seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Worker threads (1 or 2).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=2))]
    threads: u8,
    /// Write the points as a JSON list to this file.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
}

/// What `--json` holds: the points measured, and whether Ctrl-C cut the
/// run short (then the last point may have fewer blocks than asked for).
#[derive(serde::Serialize, Debug)]
struct Report {
    interrupted: bool,
    points: Vec<Point>,
}

/// One Eb/N0 point.
#[derive(serde::Serialize, Debug, Clone)]
pub struct Point {
    ebno_db: f64,
    esno_db: f64,
    blocks: u64,
    block_errors: u64,
    bler: f64,
    ci_low: f64,
    ci_high: f64,
    avg_iterations: f64,
}

fn parse_points(s: &str) -> Result<Vec<f64>, String> {
    parse_points_of("--ebno-db", s)
}

/// The dB points of option `flag`: a list `a,b,c` or a range `start:step:stop`
/// (at most 1001 points), every one finite.
pub(crate) fn parse_points_of(flag: &str, s: &str) -> Result<Vec<f64>, String> {
    let bad = || format!("{flag} `{s}`: expected `a,b,c` or `start:step:stop` (finite dB values)");
    if s.contains(':') {
        let p: Vec<f64> = s
            .split(':')
            .map(|x| x.trim().parse::<f64>().map_err(|_| bad()))
            .collect::<Result<_, _>>()?;
        let [a, step, b] = p[..] else {
            return Err(bad());
        };
        if p.iter().any(|v| !v.is_finite())
            || step.is_nan()
            || step <= 0.0
            || b < a
            || (b - a) / step > 1000.0
        {
            return Err(bad());
        }
        let n = ((b - a) / step + 1e-9).floor() as usize;
        Ok((0..=n).map(|i| a + i as f64 * step).collect())
    } else {
        s.split(',')
            .map(|x| {
                x.trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|v| v.is_finite())
                    .ok_or_else(bad)
            })
            .collect()
    }
}

/// 95 % Wilson score interval for `k` successes in `n` trials.
pub(crate) fn wilson(k: u64, n: u64) -> (f64, f64) {
    if n == 0 {
        return (0.0, 1.0);
    }
    let (k, n, z) = (k as f64, n as f64, 1.959964);
    let p = k / n;
    let d = 1.0 + z * z / n;
    let c = (p + z * z / (2.0 * n)) / d;
    let h = z * (p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt() / d;
    ((c - h).max(0.0), (c + h).min(1.0))
}

/// The link: code parameters and the positions of d the E selected bits come from.
struct Link {
    z: u16,
    k: usize,
    e: usize,
    /// For each of the E transmitted bits, its position in d (§5.4.2.1, rv 0).
    select: Vec<usize>,
    /// How many leading positions of d the selection reaches.
    n_filled: usize,
}

impl Link {
    fn new(bg: BaseGraph, k: usize, e: usize) -> Result<Self, String> {
        // K' of §5.2.2 is at least 1 bit (the CRC alone is 16 or 24): K = 0
        // has no code block to send.
        if k == 0 {
            return Err(format!(
                "--k 0: a code block carries at least 1 bit (allowed: 1..={})",
                bg.info_len(384)
            ));
        }
        let k_b = match bg {
            BaseGraph::Bg1 => 22,
            BaseGraph::Bg2 if k > 640 => 10,
            BaseGraph::Bg2 if k > 560 => 9,
            BaseGraph::Bg2 if k > 192 => 8,
            BaseGraph::Bg2 => 6,
        };
        let (z, _) = select_lifting(bg, k_b, k).ok_or_else(|| {
            format!(
                "--k {k}: no lifting size fits (at most {} bits for this BG)",
                k_b * 384
            )
        })?;
        let zu = z as usize;
        let n = bg.buffer_len(zu);
        let kk = bg.info_len(zu);
        if e == 0 || e > 4 * n {
            return Err(format!("--e {e}: must be in 1..={}", 4 * n));
        }
        // rv 0: k0 = 0, N_cb = N, fillers [K'-2Z, K-2Z) of d skipped, wrapping around.
        let filler = |p: usize| p + 2 * zu >= k && p + 2 * zu < kk;
        let mut select = Vec::with_capacity(e);
        let mut p = 0usize;
        while select.len() < e {
            if !filler(p % n) {
                select.push(p % n);
            }
            p += 1;
        }
        let n_filled = if p >= n { n } else { p };
        Ok(Link {
            z,
            k,
            e,
            select,
            n_filled,
        })
    }
}

struct Worker {
    enc: LdpcEncoder,
    fast: Option<LdpcDecoder>,
    bp: Option<BpDecoder>,
    info: Vec<u8>,
    cw: Vec<u8>,
    llr_f: Vec<f32>,
    llr_q: Vec<i8>,
    out: Vec<u8>,
}

impl Worker {
    /// Runs `blocks` blocks at `n0`; returns (errors, blocks, iterations).
    /// Stops after the current block when an interrupt was asked for.
    fn run(
        &mut self,
        link: &Link,
        n0: f64,
        blocks: u64,
        max_errors: u64,
        scale: f32,
        rng: &mut Xoshiro256PlusPlus,
    ) -> (u64, u64, u64) {
        let zu = link.z as usize;
        let a = std::f64::consts::FRAC_1_SQRT_2;
        let sigma = (n0 / 2.0).sqrt();
        let llr_gain = 2.0 * std::f64::consts::SQRT_2 / n0;
        let (mut errors, mut done, mut iters) = (0, 0, 0);
        while done < blocks
            && (max_errors == 0 || errors < max_errors)
            && !crate::interrupt::requested()
        {
            for b in &mut self.info[..link.k] {
                *b = rng.gen_range(0..2);
            }
            self.enc
                .encode(&self.info, &mut self.cw)
                .expect("sizes fixed");
            self.llr_f.fill(0.0);
            // QPSK symbols of consecutive bit pairs; each component is one bit.
            for &p in &link.select {
                let bit = self.cw[2 * zu + p];
                let n: f64 = StandardNormal.sample(rng);
                let y = a * (1.0 - 2.0 * bit as f64) + sigma * n;
                self.llr_f[p] += (llr_gain * y) as f32;
            }
            let outcome = if let Some(dec) = &mut self.fast {
                quantize_llrs(&self.llr_f, scale, &mut self.llr_q);
                dec.decode(&self.llr_q, link.n_filled, link.k, None, &mut self.out)
            } else {
                let dec = self.bp.as_mut().expect("one decoder");
                dec.decode(&self.llr_f, link.n_filled, link.k, &mut self.out)
            }
            .expect("sizes fixed");
            iters += outcome.iterations as u64;
            if self.out[..link.k] != self.info[..link.k] {
                errors += 1;
            }
            done += 1;
        }
        (errors, done, iters)
    }
}

pub fn run(args: Args) -> CliResult<ExitCode> {
    let bg = if args.bg == 1 {
        BaseGraph::Bg1
    } else {
        BaseGraph::Bg2
    };
    let link = Link::new(bg, args.k, args.e)?;
    let points = parse_points(&args.ebno_db)?;
    let level = if args.implementation == "auto" {
        SimdLevel::detect()
    } else {
        args.implementation
            .parse::<SimdLevel>()
            .map_err(|e| format!("--impl: {e}"))?
    };
    let algorithm = match args.min_sum {
        RuleKind::Lambda3 => MinSum::Lambda3 {
            beta: args.offset.unwrap_or(0),
        },
        RuleKind::Offset => MinSum::Offset {
            beta: args.offset.unwrap_or(4),
        },
        RuleKind::Normalized => MinSum::Normalized {
            alpha_16: args.alpha_16.unwrap_or(12),
        },
    };
    if !(args.llr_scale > 0.0 && args.llr_scale <= 64.0) {
        return Err("--llr-scale must be in (0, 64]".into());
    }
    let rate = args.k as f64 / args.e as f64;
    let zu = link.z as usize;
    let make_worker = || -> CliResult<Worker> {
        let (fast, bp) = match args.decoder {
            DecoderKind::Fast => (
                Some(LdpcDecoder::new(
                    bg,
                    link.z,
                    DecoderConfig {
                        max_iterations: args.iterations,
                        algorithm,
                        level,
                        early_stop: true,
                    },
                )?),
                None,
            ),
            DecoderKind::Bp => (None, Some(BpDecoder::new(bg, link.z, args.iterations)?)),
        };
        Ok(Worker {
            enc: LdpcEncoder::new(bg, link.z)?,
            fast,
            bp,
            info: vec![0; bg.info_len(zu)],
            cw: vec![0; bg.codeword_len(zu)],
            llr_f: vec![0.0; bg.buffer_len(zu)],
            llr_q: vec![0; bg.buffer_len(zu)],
            out: vec![0; bg.info_len(zu)],
        })
    };
    let mut workers: Vec<Worker> = (0..args.threads)
        .map(|_| make_worker())
        .collect::<Result<_, _>>()?;
    println!(
        "# BG{} K={} E={} Z={} R={:.4} decoder={:?} iterations={} {}",
        bg.number(),
        link.k,
        link.e,
        link.z,
        rate,
        args.decoder,
        args.iterations,
        if args.decoder == DecoderKind::Fast {
            format!("{level} {algorithm:?} llr_scale={}", args.llr_scale)
        } else {
            String::new()
        }
    );
    println!(
        "{:>8} {:>8} {:>8} {:>7} {:>10} {:>21} {:>6}",
        "Eb/N0", "Es/N0", "blocks", "errors", "BLER", "95% CI", "iters"
    );
    let mut results = Vec::new();
    // Ctrl-C stops after the current block of every worker: the points so
    // far (the last one partial) are printed and written, exit status 130.
    let mut interrupted = false;
    for (pi, &ebno_db) in points.iter().enumerate() {
        if crate::interrupt::requested() {
            interrupted = true;
            break;
        }
        let ebno = 10f64.powf(ebno_db / 10.0);
        let n0 = 1.0 / (ebno * rate * 2.0);
        let threads = workers.len() as u64;
        let per = args.blocks.div_ceil(threads);
        let max_err = args.max_errors.div_ceil(threads);
        let tallies: Vec<(u64, u64, u64)> = std::thread::scope(|s| {
            let handles: Vec<_> = workers
                .iter_mut()
                .enumerate()
                .map(|(t, w)| {
                    let link = &link;
                    let blocks = per.min(args.blocks.saturating_sub(per * t as u64));
                    let mut rng = Xoshiro256PlusPlus::seed_from_u64(
                        args.seed ^ ((pi as u64) << 32) ^ ((t as u64) << 56),
                    );
                    s.spawn(move || w.run(link, n0, blocks, max_err, args.llr_scale, &mut rng))
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("worker panicked"))
                .collect()
        });
        let errors: u64 = tallies.iter().map(|t| t.0).sum();
        let blocks: u64 = tallies.iter().map(|t| t.1).sum();
        let iters: u64 = tallies.iter().map(|t| t.2).sum();
        if crate::interrupt::requested() {
            interrupted = true;
            if blocks == 0 {
                break;
            }
        }
        let (lo, hi) = wilson(errors, blocks);
        let p = Point {
            ebno_db,
            esno_db: ebno_db + 10.0 * (2.0 * rate).log10(),
            blocks,
            block_errors: errors,
            bler: if blocks > 0 {
                errors as f64 / blocks as f64
            } else {
                0.0
            },
            ci_low: lo,
            ci_high: hi,
            avg_iterations: if blocks > 0 {
                iters as f64 / blocks as f64
            } else {
                0.0
            },
        };
        println!(
            "{:>8.3} {:>8.3} {:>8} {:>7} {:>10.3e} [{:>9.2e},{:>9.2e}] {:>6.2}",
            p.ebno_db,
            p.esno_db,
            p.blocks,
            p.block_errors,
            p.bler,
            p.ci_low,
            p.ci_high,
            p.avg_iterations
        );
        results.push(p);
        if interrupted {
            break;
        }
    }
    if let Some(path) = args.json {
        let report = Report {
            interrupted,
            points: results,
        };
        std::fs::write(&path, serde_json::to_string_pretty(&report)?)
            .map_err(|e| format!("cannot write `{}`: {e}", path.display()))?;
    }
    if interrupted {
        eprintln!("interrupted: the last point may hold fewer blocks than --blocks");
    }
    Ok(crate::interrupt::exit_code(interrupted, ExitCode::SUCCESS))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_parse_as_list_or_range() {
        assert_eq!(parse_points("1,1.5, 2").unwrap(), vec![1.0, 1.5, 2.0]);
        assert_eq!(parse_points("0:0.5:1.5").unwrap(), vec![0.0, 0.5, 1.0, 1.5]);
        assert_eq!(parse_points("-1:1:0").unwrap(), vec![-1.0, 0.0]);
        assert!(parse_points("1:0:2").is_err());
        assert!(parse_points("x").is_err());
    }

    #[test]
    fn wilson_interval_brackets_the_estimate() {
        let (lo, hi) = wilson(10, 1000);
        assert!(lo < 0.01 && hi > 0.01 && lo > 0.004 && hi < 0.02);
        assert_eq!(wilson(0, 100).0, 0.0);
    }

    #[test]
    fn selection_skips_fillers_and_wraps() {
        // BG2, K' = 100 -> K_b = 6, Z = 18 (6*18 = 108), K = 180, fillers 80.
        let l = Link::new(BaseGraph::Bg2, 100, 300).unwrap();
        assert_eq!(l.z, 18);
        assert_eq!(l.select.len(), 300);
        let f0 = 100 - 36;
        assert!(l.select.iter().all(|&p| !(f0..f0 + 80).contains(&p)));
        assert_eq!(l.select[f0], f0 + 80);
        assert_eq!(l.n_filled, 380);
        // E beyond N - F wraps to the start of d.
        let l = Link::new(BaseGraph::Bg2, 100, 900).unwrap();
        assert_eq!(l.n_filled, 900);
        assert_eq!(l.select[820], 0);
    }
}
