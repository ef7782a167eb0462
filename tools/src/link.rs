//! `ranlab link`: shared-channel link-level simulation. One transport block
//! per slot goes through the PUSCH (or PDSCH) transmitter, CP-OFDM, a TR
//! 38.901 fading channel with noise (`sim-channel`, time domain, fading
//! continuous from slot to slot), and the full receiver: OFDM, DM-RS channel
//! estimation, MIMO detection, demapping, HARQ soft combining and LDPC. Per
//! SNR point it reports BLER (first transmission and after HARQ) and
//! throughput with 95 % intervals.
//!
//! SNR is Es/N0 per resource element per receive antenna: the channel's
//! average power gain times the transmitter's RE energy (unit per layer)
//! over the noise per RE (the noise variance of the unitary OFDM, 1).

use crate::bler::{parse_points_of, wilson};
use crate::scenario::ChannelModel;
use crate::CliResult;
use num_complex::Complex32;
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use ranlab_phy::chest::TimeMode;
use ranlab_phy::mimo::Equalizer;
use ranlab_phy::numerology::{CyclicPrefix, Numerology, Scs};
use ranlab_phy::ofdm::OfdmOptions;
use ranlab_phy::pdsch::{PdschReceiver, PdschTransmitter};
use ranlab_phy::pdu::{DmrsConfig, DmrsPorts, MappingType, PdschPdu, PuschPdu};
use ranlab_phy::pusch::{PuschReceiver, PuschRxConfig, PuschTransmitter};
use ranlab_sim_channel::{ChannelConfig, LinkConfig, MultiLinkChannel};
use serde::Serialize;
use std::path::PathBuf;
use std::process::ExitCode;

/// Link direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// PUSCH, UE to gNB.
    Ul,
    /// PDSCH, gNB to UE.
    Dl,
}

/// Receiver equaliser.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum EqualizerArg {
    /// Zero forcing.
    Zf,
    /// MMSE.
    Mmse,
    /// MMSE with interference rejection combining.
    MmseIrc,
}

/// Channel-estimate time combining.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ChestTime {
    /// One estimate per slot (best at low Doppler).
    Average,
    /// Linear interpolation between DM-RS positions (holds up at speed).
    Interpolate,
    /// Chosen per slot from the DM-RS (the receiver's default).
    Auto,
}

/// Arguments of `ranlab link`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Example: 10 % BLER of MCS 16 over TDL-C 300 ns at 30 km/h:\n  \
    ranlab link --channel tdl-c --delay-spread-ns 300 --speed-kmh 30 --mcs 16 --snr 6:1:14 --json link.json"
)]
pub struct Args {
    /// Link direction: PUSCH (ul) or PDSCH (dl).
    #[arg(long, value_enum, default_value = "ul")]
    direction: Direction,
    /// Channel model: awgn, rayleigh, tdl-a .. tdl-e, cdl-a .. cdl-e.
    #[arg(long, default_value = "tdl-c")]
    channel: ChannelModel,
    /// RMS delay spread of TDL/CDL, ns.
    #[arg(long, default_value_t = 300.0)]
    delay_spread_ns: f64,
    /// UE speed, km/h (Doppler at the carrier frequency).
    #[arg(long, default_value_t = 30.0)]
    speed_kmh: f64,
    /// Carrier frequency, GHz.
    #[arg(long, default_value_t = 3.5)]
    carrier_ghz: f64,
    /// Allocated PRBs (the carrier's size).
    #[arg(long, default_value_t = 52)]
    n_prb: u16,
    /// Subcarrier spacing, kHz: 15, 30, 60 or 120.
    #[arg(long, default_value_t = 15)]
    scs: u32,
    /// Receive antennas.
    #[arg(long, default_value_t = 2)]
    rx: usize,
    /// Transmit antennas (layer j on antenna j, no precoding).
    #[arg(long, default_value_t = 1)]
    tx: usize,
    /// Layers (one codeword: 1..=4).
    #[arg(long, default_value_t = 1)]
    layers: u8,
    /// MCS table 1..=3 (TS 38.214 Tables 5.1.3.1-1..3).
    #[arg(long, default_value_t = 1)]
    mcs_table: u8,
    /// MCS index.
    #[arg(long, default_value_t = 16)]
    mcs: u8,
    /// dmrs-AdditionalPosition, 0..=3 (type 1, single symbol, 2 CDM groups without data).
    #[arg(long, default_value_t = 1)]
    dmrs_add_pos: u8,
    /// SNR points, dB (Es/N0 per RE per receive antenna): `a,b,c` or `start:step:stop`.
    #[arg(long, value_name = "LIST|START:STEP:STOP", allow_hyphen_values = true)]
    snr: String,
    /// Most transport blocks per SNR point.
    #[arg(long, default_value_t = 500)]
    tbs: u64,
    /// Stop a point once this many blocks failed after HARQ (0: never).
    #[arg(long, default_value_t = 100)]
    max_errors: u64,
    /// Transmissions per block (1: no HARQ; rv 0, 2, 3, 1 with soft combining;
    /// throughput then counts every slot used).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=4))]
    harq: u8,
    /// LDPC iteration cap (the receiver's default when absent).
    #[arg(long)]
    iterations: Option<u32>,
    /// Equaliser.
    #[arg(long, value_enum, default_value = "mmse")]
    equalizer: EqualizerArg,
    /// Channel-estimate time combining (the receiver's default: auto, which
    /// interpolates when the channel changes between DM-RS positions more
    /// than averaging gains against the noise).
    #[arg(long, value_enum, default_value = "auto")]
    chest_time: ChestTime,
    /// SNR points run at once (each on its own thread; results do not depend
    /// on it): `auto` (the cores this process may run on) or a number.
    #[arg(long, default_value = "auto", value_parser = crate::loopback::parse_workers)]
    workers: usize,
    /// Seed of the channel, the noise and the transport blocks.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Write the results as JSON to this file.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Thresholds over the JSON report (exit 3 naming each unmet term),
    /// e.g. "points.0.bler<=0.1".
    #[arg(long, value_name = "EXPR", value_parser = crate::expect::parse)]
    expect: Option<crate::expect::Expectation>,
}

/// One SNR point.
#[derive(Debug, Clone, Serialize)]
pub struct Point {
    /// Es/N0 per RE per receive antenna, dB.
    pub snr_db: f64,
    /// Transport blocks sent (first transmissions).
    pub tbs: u64,
    /// Blocks failed after the last transmission.
    pub errors: u64,
    /// Residual BLER (after HARQ) and its 95 % Wilson interval.
    pub bler: f64,
    /// Lower end of the interval.
    pub bler_lo: f64,
    /// Upper end of the interval.
    pub bler_hi: f64,
    /// BLER of first transmissions.
    pub bler_first_tx: f64,
    /// Slots used (every transmission).
    pub slots: u64,
    /// Delivered bits per second of the slots used, Mbit/s.
    pub throughput_mbps: f64,
    /// Mean post-equalisation SINR the receiver measured, dB.
    pub sinr_db: f64,
    /// Mean LDPC iterations per transmission (summed over code blocks).
    pub ldpc_iterations: f64,
}

/// The run.
#[derive(Debug, Clone, Serialize)]
pub struct LinkReport {
    /// `ranlab` version.
    pub version: &'static str,
    /// How the SNR is defined.
    pub snr_definition: &'static str,
    /// Direction.
    pub direction: Direction,
    /// Channel model name.
    pub channel: String,
    /// Delay spread, ns.
    pub delay_spread_ns: f64,
    /// Speed, km/h.
    pub speed_kmh: f64,
    /// Maximum Doppler, Hz.
    pub doppler_hz: f64,
    /// Carrier, GHz.
    pub carrier_ghz: f64,
    /// PRBs.
    pub n_prb: u16,
    /// Subcarrier spacing, kHz.
    pub scs_khz: u32,
    /// Receive and transmit antennas.
    pub rx: usize,
    /// Transmit antennas.
    pub tx: usize,
    /// Layers.
    pub layers: u8,
    /// MCS table and index.
    pub mcs_table: u8,
    /// MCS index.
    pub mcs: u8,
    /// Transport block size, bits.
    pub tbs_bits: usize,
    /// DM-RS additional positions.
    pub dmrs_add_pos: u8,
    /// Transmissions per block.
    pub harq: u8,
    /// LDPC iteration cap.
    pub ldpc_iterations: u32,
    /// Equaliser.
    pub equalizer: EqualizerArg,
    /// Channel-estimate time combining.
    pub chest_time: ChestTime,
    /// Seed.
    pub seed: u64,
    /// Whether Ctrl-C stopped the run.
    pub interrupted: bool,
    /// The SNR points.
    pub points: Vec<Point>,
}

/// Most receive and transmit antennas of a link run.
const MAX_RX: usize = 16;
const MAX_TX: usize = 8;

/// Redundancy versions in transmission order (TS 38.214 §6.1.2.1 / §5.1.2.1).
const RV_ORDER: [u8; 4] = [0, 2, 3, 1];

/// One direction's transmitter and receiver behind one interface.
enum Chain {
    Ul(Box<(PuschTransmitter, PuschReceiver, PuschPdu)>),
    Dl(Box<(PdschTransmitter, PdschReceiver, PdschPdu)>),
}

impl Chain {
    fn tbs(&self) -> CliResult<usize> {
        Ok(match self {
            Chain::Ul(c) => c.0.plan(&c.2)?.tbs,
            Chain::Dl(c) => c.0.plan(&c.2)?.tbs,
        })
    }

    /// Sends `tb` (rv, HARQ fields set) in `slot` into `out`, one buffer per antenna.
    fn send(
        &mut self,
        slot: u16,
        rv: u8,
        new_data: bool,
        ndi: bool,
        tb: &[u8],
        out: &mut [Vec<Complex32>],
    ) -> CliResult {
        // Slices on the stack: nothing is allocated per slot.
        let n = out.len();
        let mut refs: [&mut [Complex32]; MAX_TX] = Default::default();
        for (r, b) in refs.iter_mut().zip(out.iter_mut()) {
            *r = &mut b[..];
        }
        let refs = &mut refs[..n];
        macro_rules! go {
            ($c:expr) => {{
                let (tx, _, pdu) = &mut **$c;
                pdu.slot = slot;
                pdu.rv = rv;
                pdu.new_data = new_data;
                pdu.ndi = ndi;
                tx.transmit(pdu, tb)?;
                tx.modulate(slot as u32, refs)?;
            }};
        }
        match self {
            Chain::Ul(c) => go!(c),
            Chain::Dl(c) => go!(c),
        }
        Ok(())
    }

    /// Receives the samples: (CRC and right bits, SINR dB, LDPC iterations).
    fn receive(&mut self, rx: &[Vec<Complex32>], tb: &[u8]) -> (bool, Option<f32>, u32) {
        let mut ins: [&[Complex32]; MAX_RX] = [&[]; MAX_RX];
        for (i, b) in ins.iter_mut().zip(rx) {
            *i = &b[..];
        }
        let ins = &ins[..rx.len()];
        macro_rules! go {
            ($c:expr) => {{
                let (_, r, pdu) = &mut **$c;
                match r.process_samples(pdu, ins) {
                    Ok(res) => {
                        let right = res.crc_ok
                            && r.plan(pdu)
                                .map(|p| r.transport_block(&p) == tb)
                                .unwrap_or(false);
                        (
                            right,
                            Some(res.sinr_db).filter(|s| s.is_finite()),
                            res.ldpc_iterations,
                        )
                    }
                    Err(_) => (false, None, 0),
                }
            }};
        }
        match self {
            Chain::Ul(c) => go!(c),
            Chain::Dl(c) => go!(c),
        }
    }
}

fn dmrs(add: u8, layers: u8) -> CliResult<DmrsConfig> {
    Ok(DmrsConfig {
        additional_position: add,
        ports: DmrsPorts::consecutive(0, layers)?,
        ..DmrsConfig::default()
    })
}

fn check(a: &Args) -> CliResult {
    let bad = |m: String| -> CliResult { Err(m.into()) };
    if a.rx == 0 || a.rx > MAX_RX {
        return bad(format!("--rx {}: allowed 1..={MAX_RX}", a.rx));
    }
    if a.tx == 0 || a.tx > MAX_TX {
        return bad(format!("--tx {}: allowed 1..={MAX_TX}", a.tx));
    }
    if a.layers == 0 || a.layers > 4 {
        return bad(format!("--layers {}: one codeword carries 1..=4", a.layers));
    }
    if a.layers as usize > a.tx || a.layers as usize > a.rx {
        return bad(format!(
            "--layers {}: needs at least as many transmit (--tx {}) and receive (--rx {}) antennas",
            a.layers, a.tx, a.rx
        ));
    }
    for (k, v, lo, hi) in [
        ("--delay-spread-ns", a.delay_spread_ns, 0.0, 10_000.0),
        ("--speed-kmh", a.speed_kmh, 0.0, 1_000.0),
        ("--carrier-ghz", a.carrier_ghz, 0.4, 100.0),
    ] {
        if !(v.is_finite() && (lo..=hi).contains(&v)) {
            return bad(format!("{k} {v}: allowed {lo} ..= {hi}"));
        }
    }
    if a.tbs == 0 || a.tbs > 10_000_000 {
        return bad(format!("--tbs {}: allowed 1..=10000000", a.tbs));
    }
    if a.iterations.is_some_and(|i| i == 0 || i > 100) {
        return bad("--iterations: allowed 1..=100".into());
    }
    Ok(())
}

pub fn run(a: Args) -> CliResult<ExitCode> {
    check(&a)?;
    let snrs = parse_points_of("--snr", &a.snr)?;
    let scs = Scs::from_khz(a.scs).map_err(|e| format!("--scs: {e}"))?;
    let num = Numerology::new(scs, CyclicPrefix::Normal, a.n_prb, None)
        .map_err(|e| format!("--n-prb {} at {} kHz: {e}", a.n_prb, a.scs))?;
    let mut cfg = PuschRxConfig::new(a.rx, a.layers as usize);
    cfg.equalizer = match a.equalizer {
        EqualizerArg::Zf => Equalizer::Zf,
        EqualizerArg::Mmse => Equalizer::Mmse,
        EqualizerArg::MmseIrc => Equalizer::MmseIrc,
    };
    cfg.chest.time = match a.chest_time {
        ChestTime::Average => TimeMode::Average,
        ChestTime::Interpolate => TimeMode::Interpolate,
        ChestTime::Auto => TimeMode::Auto,
    };
    if let Some(i) = a.iterations {
        cfg.ldpc_iterations = i;
    }
    let ofdm = OfdmOptions::default();
    let dmrs = dmrs(a.dmrs_add_pos, a.layers)?;
    let new_chain = || -> CliResult<Chain> {
        Ok(match a.direction {
            Direction::Ul => {
                let pdu = PuschPdu {
                    n_id: 1,
                    n_prb: a.n_prb,
                    mcs_table: a.mcs_table,
                    mcs_index: a.mcs,
                    num_layers: a.layers,
                    dmrs,
                    ..Default::default()
                };
                pdu.validate(a.n_prb, a.rx as u16)?;
                Chain::Ul(Box::new((
                    PuschTransmitter::new(num, a.tx, ofdm)?,
                    PuschReceiver::new(num, cfg)?,
                    pdu,
                )))
            }
            Direction::Dl => {
                // Symbols 2..13: the first two left to a CORESET (TS 38.214 §5.1.2.1, type A).
                let pdu = PdschPdu {
                    n_id: 1,
                    n_prb: a.n_prb,
                    start_symbol: 2,
                    n_symbols: 12,
                    mapping_type: MappingType::A,
                    mcs_table: a.mcs_table,
                    mcs_index: a.mcs,
                    num_layers: a.layers,
                    dmrs,
                    ..Default::default()
                };
                pdu.validate(a.n_prb, a.rx as u16)?;
                Chain::Dl(Box::new((
                    PdschTransmitter::new(num, a.tx, ofdm)?,
                    PdschReceiver::new(num, cfg)?,
                    pdu,
                )))
            }
        })
    };
    let tbs_bits = new_chain()?.tbs()?;
    let doppler_hz = a.speed_kmh / 3.6 * a.carrier_ghz * 1e9 / 299_792_458.0;
    let stop = crate::interrupt::stop_flag();
    let mut report = LinkReport {
        version: env!("CARGO_PKG_VERSION"),
        snr_definition: "Es/N0 per resource element per receive antenna (RE energy of the transmitter, unit per layer; noise variance 1 per RE of the unitary OFDM)",
        direction: a.direction,
        channel: a.channel.name().to_string(),
        delay_spread_ns: a.delay_spread_ns,
        speed_kmh: a.speed_kmh,
        doppler_hz,
        carrier_ghz: a.carrier_ghz,
        n_prb: a.n_prb,
        scs_khz: a.scs,
        rx: a.rx,
        tx: a.tx,
        layers: a.layers,
        mcs_table: a.mcs_table,
        mcs: a.mcs,
        tbs_bits,
        dmrs_add_pos: a.dmrs_add_pos,
        harq: a.harq,
        ldpc_iterations: cfg.ldpc_iterations,
        equalizer: a.equalizer,
        chest_time: a.chest_time,
        seed: a.seed,
        interrupted: false,
        points: Vec::new(),
    };
    println!(
        "ranlab link: {} over {} ({:.0} ns, {:.0} km/h = {:.0} Hz Doppler at {} GHz), {} PRB at {} kHz, {}x{} antennas, {} layer(s), MCS table {} index {} (TBS {} bits), {} transmission(s) per block",
        match a.direction {
            Direction::Ul => "PUSCH",
            Direction::Dl => "PDSCH",
        },
        report.channel,
        a.delay_spread_ns,
        a.speed_kmh,
        doppler_hz,
        a.carrier_ghz,
        a.n_prb,
        a.scs,
        a.tx,
        a.rx,
        a.layers,
        a.mcs_table,
        a.mcs,
        tbs_bits,
        a.harq
    );
    println!(
        "{:>8} {:>7} {:>7} {:>9} {:>19} {:>10} {:>11} {:>8} {:>7}",
        "SNR dB",
        "blocks",
        "errors",
        "BLER",
        "95 % interval",
        "BLER 1st",
        "Mbit/s",
        "SINR dB",
        "iters"
    );
    let slot_s = 1e-3 / scs.slots_per_subframe() as f64;
    // Points in parallel, each with its own chain and channel (same seed):
    // the results are those of a serial run, in SNR order.
    let chains = snrs
        .iter()
        .map(|_| new_chain())
        .collect::<CliResult<Vec<_>>>()?;
    let workers = a.workers.clamp(1, snrs.len().max(1));
    let next = std::sync::atomic::AtomicUsize::new(0);
    let slots: Vec<std::sync::Mutex<Option<Chain>>> = chains
        .into_iter()
        .map(|c| std::sync::Mutex::new(Some(c)))
        .collect();
    let results: Vec<std::sync::Mutex<Option<Result<Point, String>>>> =
        snrs.iter().map(|_| std::sync::Mutex::new(None)).collect();
    std::thread::scope(|sc| {
        for _ in 0..workers {
            sc.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= snrs.len() || stop.load(std::sync::atomic::Ordering::Relaxed) {
                    break;
                }
                let chain = slots[i].lock().ok().and_then(|mut c| c.take());
                let r = match chain {
                    Some(c) => run_point(&a, &num, c, snrs[i], tbs_bits, slot_s, &stop)
                        .map_err(|e| e.to_string()),
                    None => Err("internal: point taken twice".to_string()),
                };
                if let Ok(mut slot) = results[i].lock() {
                    *slot = Some(r);
                }
            });
        }
    });
    for r in results {
        let Some(p) = r.into_inner().ok().flatten() else {
            // Not run: Ctrl-C came first.
            report.interrupted = true;
            break;
        };
        let p = p?;
        println!(
            "{:>8.2} {:>7} {:>7} {:>9.4} {:>9.4} .. {:<7.4} {:>10.4} {:>11.3} {:>8.2} {:>7.2}",
            p.snr_db,
            p.tbs,
            p.errors,
            p.bler,
            p.bler_lo,
            p.bler_hi,
            p.bler_first_tx,
            p.throughput_mbps,
            p.sinr_db,
            p.ldpc_iterations
        );
        report.points.push(p);
    }
    report.interrupted |= stop.load(std::sync::atomic::Ordering::Relaxed);
    if let Some(path) = &a.json {
        std::fs::write(path, serde_json::to_string_pretty(&report)?)
            .map_err(|e| format!("cannot write `{}`: {e}", path.display()))?;
    }
    let code = match &a.expect {
        Some(e) => e
            .gate(&serde_json::to_value(&report)?)
            .unwrap_or(ExitCode::SUCCESS),
        None => ExitCode::SUCCESS,
    };
    Ok(crate::interrupt::exit_code(report.interrupted, code))
}

/// Runs one SNR point: blocks until `--tbs` or `--max-errors`.
fn run_point(
    a: &Args,
    num: &Numerology,
    mut chain: Chain,
    snr_db: f64,
    tbs_bits: usize,
    slot_s: f64,
    stop: &std::sync::atomic::AtomicBool,
) -> CliResult<Point> {
    // The same seed at every point: the same fading and bits, only the noise level moves.
    let link = LinkConfig::new(
        ChannelConfig {
            model: a.channel,
            delay_spread_s: a.delay_spread_ns * 1e-9,
            speed_kmh: a.speed_kmh,
            carrier_hz: a.carrier_ghz * 1e9,
            sample_rate_hz: num.sample_rate_hz(),
            n_rx: a.rx,
            n_tx: a.tx,
            seed: a.seed,
            ..ChannelConfig::default()
        },
        snr_db,
    );
    let mut air = MultiLinkChannel::new(a.rx, &[link], 1.0, a.seed)
        .map_err(|e| format!("--channel {}: {e}", a.channel))?;
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(a.seed ^ 0x11AA);
    let max_len = (0..num.slots_per_frame())
        .map(|k| num.slot_len(k))
        .max()
        .unwrap_or(0);
    let mut tx_buf = vec![vec![Complex32::default(); max_len]; a.tx];
    let mut rx_buf = vec![vec![Complex32::default(); max_len]; a.rx];
    let mut tb = vec![0u8; tbs_bits];
    let (mut blocks, mut errors, mut first_fail, mut slots) = (0u64, 0u64, 0u64, 0u64);
    let (mut delivered_bits, mut sinr_sum, mut sinr_n, mut iters) = (0f64, 0f64, 0u64, 0u64);
    let mut ndi = false;
    let spf = num.slots_per_frame() as u64;
    while blocks < a.tbs && (a.max_errors == 0 || errors < a.max_errors) {
        if stop.load(std::sync::atomic::Ordering::Relaxed) {
            break;
        }
        tb.iter_mut().for_each(|b| *b = rng.gen::<u8>() & 1);
        ndi = !ndi;
        blocks += 1;
        let mut ok = false;
        for (k, &rv) in RV_ORDER.iter().take(a.harq as usize).enumerate() {
            let slot = (slots % spf) as u32;
            let len = num.slot_len(slot);
            for b in tx_buf.iter_mut().chain(rx_buf.iter_mut()) {
                b.resize(len, Complex32::default());
            }
            chain.send(slot as u16, rv, k == 0, ndi, &tb, &mut tx_buf)?;
            air.process(&tx_buf, &mut rx_buf)
                .map_err(|e| format!("channel: {e}"))?;
            let (right, sinr, it) = chain.receive(&rx_buf, &tb);
            slots += 1;
            iters += it as u64;
            if let Some(s) = sinr {
                sinr_sum += s as f64;
                sinr_n += 1;
            }
            if k == 0 && !right {
                first_fail += 1;
            }
            if right {
                ok = true;
                break;
            }
        }
        if ok {
            delivered_bits += tbs_bits as f64;
        } else {
            errors += 1;
        }
    }
    let (lo, hi) = wilson(errors, blocks);
    Ok(Point {
        snr_db,
        tbs: blocks,
        errors,
        bler: errors as f64 / blocks.max(1) as f64,
        bler_lo: lo,
        bler_hi: hi,
        bler_first_tx: first_fail as f64 / blocks.max(1) as f64,
        slots,
        throughput_mbps: delivered_bits / (slots.max(1) as f64 * slot_s) / 1e6,
        sinr_db: if sinr_n > 0 {
            sinr_sum / sinr_n as f64
        } else {
            f64::NAN
        },
        ldpc_iterations: iters as f64 / slots.max(1) as f64,
    })
}
