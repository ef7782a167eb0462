//! `ranlab replay`: run the receive side over a SigMF recording.
//!
//! The recording is opened as a [`SigmfRadio`] and streamed through the
//! `Radio` trait exactly as a live device would be: configured with the
//! recording's rate and frequency, read slot by slot (slot boundaries from
//! its annotations), gaps seen as overflows.
//!
//! Each slot is OFDM-demodulated (TS 38.211 §5.3.1) on the carrier of the
//! `ranlab:carrier` field, or one derived from the sample rate and `--scs`.
//! When the slot's annotation carries the PUSCH PDUs scheduled in it
//! (`ranlab:pusch`, written by `ranlab record --radio sim`), the PUSCH
//! receiver runs over each (channel estimation, detection, LDPC decoding,
//! CRC) and the replay reports CRC and SINR per slot and UE; without them it
//! reports per-slot power and device time only.

use crate::record_ext as ext;
use crate::CliResult;
use num_complex::Complex32;
use ranlab_phy::numerology::{CyclicPrefix, Numerology, Scs};
use ranlab_phy::pdu::PuschPdu;
use ranlab_phy::pusch::{PuschReceiver, PuschRxConfig};
use ranlab_sdr::radio::Ticks;
use ranlab_sdr::sigmf::{Metadata, SigmfRadio};
use ranlab_sdr::{Radio, RadioConfig};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

/// Arguments of `ranlab replay`.
#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  ranlab replay sim --json replay.json   # decode what `ranlab record --radio sim` wrote"
)]
pub struct Args {
    /// The recording: BASE, BASE.sigmf-meta or BASE.sigmf-data.
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// Write the report as JSON to this file.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Subcarrier spacing, kHz, of a recording without `ranlab:carrier`.
    #[arg(long, value_name = "KHZ", default_value_t = 30)]
    scs: u32,
    /// Print only the summary, not a line per PUSCH.
    #[arg(long)]
    quiet: bool,
}

/// One slot to process: where it lies in the file and what was scheduled.
struct SlotSpec {
    label: String,
    start: u64,
    len: usize,
    slot_in_frame: u32,
    pdus: Vec<PuschPdu>,
}

/// Reads samples in file order, keeping the stream statistics.
struct Reader {
    radio: SigmfRadio,
    pos: u64,
    energy: Vec<f64>,
    peak: Vec<f32>,
    blocks: u64,
    gaps: u64,
}

impl Reader {
    /// Reads `n` samples per channel into `bufs[..][..n]` (fewer at the end
    /// of the file); returns the count and the device time of the first.
    fn read(&mut self, bufs: &mut [Vec<Complex32>], n: usize) -> CliResult<(usize, Option<Ticks>)> {
        let mut done = 0;
        let mut time = None;
        while done < n {
            let mut views: Vec<&mut [Complex32]> =
                bufs.iter_mut().map(|b| &mut b[done..n]).collect();
            let m = self.radio.receive(&mut views, Duration::ZERO)?;
            self.gaps += u64::from(m.overflow);
            if done == 0 {
                time = m.time;
            }
            for (c, b) in bufs.iter().enumerate() {
                for x in &b[done..done + m.samples] {
                    self.energy[c] += f64::from(x.norm_sqr());
                    self.peak[c] = self.peak[c].max(x.norm());
                }
            }
            done += m.samples;
            self.pos += m.samples as u64;
            self.blocks += u64::from(m.samples > 0);
            if m.end_of_burst {
                break;
            }
        }
        Ok((done, time))
    }
}

fn db(p: f64) -> f64 {
    if p > 0.0 {
        10.0 * p.log10()
    } else {
        f64::NEG_INFINITY
    }
}

fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

/// A carrier for a recording without `ranlab:carrier`: the FFT size the
/// rate gives at `scs_khz`, and the PRBs an NR carrier fills in it (85 %).
fn derive_carrier(rate: f64, scs_khz: u32) -> Option<Numerology> {
    let scs = Scs::from_khz(scs_khz).ok()?;
    let fft = rate / scs.hz();
    if (fft - fft.round()).abs() > 1e-6 {
        return None;
    }
    let fft = fft.round() as usize;
    let n_prb = ((0.85 * fft as f64 / 12.0) as usize).clamp(1, 275) as u16;
    Numerology::new(scs, CyclicPrefix::Normal, n_prb, Some(fft)).ok()
}

#[derive(Default)]
struct UeTally {
    ok: u64,
    failed: u64,
    sinr_sum: f64,
    sinr_n: u64,
}

/// What a recording's metadata says: the carrier (from `ranlab:carrier`,
/// else derived from the rate at `scs` kHz), the slots (annotations with a
/// length) with their PUSCH PDUs, whether any PDUs were recorded, and notes
/// for the reader. Every size and index is checked here, before anything is
/// allocated or read from the data file.
pub struct Recording {
    carrier: Option<Numerology>,
    slots: Vec<SlotSpec>,
    with_pdus: bool,
    notes: Vec<String>,
}

/// Interprets `meta` (of the recording `file`, for messages).
pub fn interpret(meta: &Metadata, file: &Path, scs: u32) -> CliResult<Recording> {
    let mut notes: Vec<String> = Vec::new();

    // The carrier: from the recording, else derived from the rate.
    let carrier = match meta.global_extra.get(ext::CARRIER) {
        Some(v) => {
            let c = ext::carrier_from_json(v).map_err(|e| format!("{}: {e}", file.display()))?;
            if (c.num.sample_rate_hz() - meta.sample_rate_hz).abs() > 1e-3 {
                return Err(format!(
                    "{}: {} gives {} Hz, but the recording runs at {} Hz",
                    file.display(),
                    ext::CARRIER,
                    c.num.sample_rate_hz(),
                    meta.sample_rate_hz
                )
                .into());
            }
            if let Some(n) = c.antennas.filter(|&n| n != meta.num_channels) {
                return Err(format!(
                    "{}: {} lists {n} antennas, but the recording holds {} channels",
                    file.display(),
                    ext::CARRIER,
                    meta.num_channels
                )
                .into());
            }
            Some(c.num)
        }
        None => {
            let d = derive_carrier(meta.sample_rate_hz, scs);
            match &d {
                Some(n) => notes.push(format!(
                    "no {} in the recording: assuming {} kHz SCS, FFT {}, {} PRB (--scs to change)",
                    ext::CARRIER,
                    scs,
                    n.fft_size(),
                    n.n_prb()
                )),
                None => notes.push(format!(
                    "no {} in the recording and {} MS/s is not an FFT size at {} kHz: no OFDM demodulation",
                    ext::CARRIER,
                    meta.sample_rate_hz / 1e6,
                    scs
                )),
            }
            d
        }
    };

    // The slots: annotations with a length; their PDUs when recorded.
    let spf = carrier.map_or(1, |n| n.slots_per_frame());
    let mut slots = Vec::new();
    let mut with_pdus = false;
    for (i, an) in meta.annotations.iter().enumerate() {
        let Some(len) = an.sample_count.filter(|&c| c > 0) else {
            continue;
        };
        // Sizes are checked before anything is allocated from them.
        let limit = meta.sample_rate_hz.max(1.0) as u64; // one second
        if len > limit {
            return Err(format!(
                "{}: annotations[{i}]: core:sample_count {len} is longer than a second of samples ({limit}): not a slot",
                file.display()
            )
            .into());
        }
        let label = an
            .label
            .clone()
            .unwrap_or_else(|| format!("annotation {i}"));
        let slot_in_frame = match an.extra.get(ext::SLOT) {
            Some(v) => match v.as_u64() {
                Some(s) if s < spf as u64 => s as u32,
                _ => {
                    return Err(format!(
                        "{}: annotations[{i}].{}: {v} is not a slot of the frame (0..{})",
                        file.display(),
                        ext::SLOT,
                        spf
                    )
                    .into())
                }
            },
            None => label
                .strip_prefix("slot ")
                .and_then(|n| n.parse::<u64>().ok())
                .map_or(0, |n| (n % spf as u64) as u32),
        };
        let mut pdus = Vec::new();
        if let Some(list) = an.extra.get(ext::PUSCH) {
            with_pdus = true;
            let list = list
                .as_array()
                .ok_or_else(|| format!("annotations[{i}].{}: not an array", ext::PUSCH))?;
            for (k, p) in list.iter().enumerate() {
                pdus.push(ext::pdu_from_json(
                    p,
                    slot_in_frame as u16,
                    &format!("annotations[{i}].{}[{k}]", ext::PUSCH),
                )?);
            }
        }
        slots.push(SlotSpec {
            label,
            start: an.sample_start,
            len: len as usize,
            slot_in_frame,
            pdus,
        });
    }
    if !with_pdus {
        notes.push(format!(
            "the recording carries no PUSCH PDUs ({} annotations): OFDM demodulation and per-slot \
             power and time only; `ranlab record --radio sim` records the PDUs with the samples",
            ext::PUSCH
        ));
    }
    Ok(Recording {
        carrier,
        slots,
        with_pdus,
        notes,
    })
}

pub fn run(a: Args) -> CliResult<ExitCode> {
    let radio = SigmfRadio::open(&a.file)?;
    let meta = radio.metadata().clone();
    let total = radio.total_samples();
    let info = radio.info();
    println!("recording: {}", info.hardware);
    println!(
        "  {} x {} channels of {} at {} MS/s ({:.3} s), recorder {}",
        total,
        meta.num_channels,
        meta.datatype.name(),
        meta.sample_rate_hz / 1e6,
        total as f64 / meta.sample_rate_hz,
        meta.recorder.as_deref().unwrap_or("unknown")
    );
    if let Some(d) = &meta.description {
        println!("  {d}");
    }
    for c in &meta.captures {
        println!(
            "  capture at sample {}: device time {}, {} MHz, {}",
            c.sample_start,
            c.global_index.map_or("-".into(), |g| g.to_string()),
            c.frequency_hz
                .map_or("-".into(), |f| format!("{}", f / 1e6)),
            c.datetime.as_deref().unwrap_or("-")
        );
    }
    let Recording {
        carrier,
        slots,
        with_pdus,
        notes,
    } = interpret(&meta, &a.file, a.scs)?;
    for n in &notes {
        println!("note: {n}");
    }

    let mut radio = radio;
    let config = RadioConfig {
        sample_rate_hz: meta.sample_rate_hz,
        center_frequency_hz: meta.captures[0].frequency_hz.unwrap_or(0.0),
        rx_gain_db: vec![],
        tx_gain_db: vec![],
        rx_antennas: vec![],
        tx_antennas: vec![],
    };
    radio.configure(&config)?;
    radio.start()?;
    let ch = meta.num_channels;
    let max_len = slots
        .iter()
        .map(|s| s.len)
        .max()
        .unwrap_or((meta.sample_rate_hz / 1000.0) as usize)
        .max(1);
    let mut rd = Reader {
        radio,
        pos: 0,
        energy: vec![0.0; ch],
        peak: vec![0.0; ch],
        blocks: 0,
        gaps: 0,
    };
    let mut bufs = vec![vec![Complex32::default(); max_len]; ch];
    let mut rx = match carrier {
        Some(num) => Some(PuschReceiver::new(num, PuschRxConfig::new(ch, ch.min(4)))?),
        None => None,
    };

    let mut slot_json = Vec::new();
    let mut per_ue: BTreeMap<u16, UeTally> = BTreeMap::new();
    let (mut tb_ok, mut tb_failed, mut errors, mut skipped_slots) = (0u64, 0u64, 0u64, 0u64);
    let mut reached = 0usize;
    // Ctrl-C stops after the current slot: the report covers the slots
    // processed (`"interrupted": true`) and the exit status is 130.
    let mut interrupted = false;
    let mut processed = 0usize;
    for s in &slots {
        if crate::interrupt::requested() {
            interrupted = true;
            break;
        }
        processed += 1;
        if s.start < rd.pos {
            skipped_slots += 1; // overlaps the previous one
            reached += 1;
            continue;
        }
        // Stream up to the slot.
        while rd.pos < s.start {
            let n = ((s.start - rd.pos) as usize).min(max_len);
            let (got, _) = rd.read(&mut bufs, n)?;
            if got == 0 {
                break;
            }
        }
        let (got, time) = rd.read(&mut bufs, s.len)?;
        let mut entry = json!({
            "label": s.label,
            "sample_start": s.start,
            "samples": got,
            "device_time": time,
            "slot_in_frame": s.slot_in_frame,
        });
        let power: f64 = bufs
            .iter()
            .map(|b| {
                b[..got]
                    .iter()
                    .map(|x| f64::from(x.norm_sqr()))
                    .sum::<f64>()
            })
            .sum::<f64>()
            / (got * ch).max(1) as f64;
        entry["mean_power_db"] = json!(finite(db(power)));
        let fits = rx
            .as_ref()
            .is_some_and(|r| got == r.numerology().slot_len(s.slot_in_frame));
        let mut pusch = Vec::new();
        if let (Some(r), true) = (rx.as_mut(), fits) {
            let views: Vec<&[Complex32]> = bufs.iter().map(|b| &b[..got]).collect();
            r.demodulate_slot(s.slot_in_frame, &views)?;
            let band: f64 = r
                .grid_mut()
                .as_mut_slice()
                .iter()
                .map(|x| f64::from(x.norm_sqr()))
                .sum::<f64>();
            let res = r.grid_mut().as_mut_slice().len().max(1);
            entry["band_power_db"] = json!(finite(db(band / res as f64)));
            for p in &s.pdus {
                let mut e = json!({
                    "rnti": p.rnti,
                    "harq_id": p.harq_id,
                    "rv": p.rv,
                    "new_data": p.new_data,
                    "mcs_table": p.mcs_table,
                    "mcs_index": p.mcs_index,
                    "layers": p.num_layers,
                    "prb_start": p.prb_start,
                    "n_prb": p.n_prb,
                });
                let t = per_ue.entry(p.rnti).or_default();
                match r.process_grid(p, None) {
                    Ok(res) => {
                        if res.crc_ok {
                            tb_ok += 1;
                            t.ok += 1;
                        } else {
                            tb_failed += 1;
                            t.failed += 1;
                        }
                        if res.sinr_db.is_finite() {
                            t.sinr_sum += f64::from(res.sinr_db);
                            t.sinr_n += 1;
                        }
                        e["crc_ok"] = json!(res.crc_ok);
                        e["sinr_db"] = json!(finite(f64::from(res.sinr_db)));
                        e["evm_percent"] = json!(finite(f64::from(res.evm_percent)));
                        e["timing_offset_us"] = json!(finite(res.timing_offset_s * 1e6));
                        e["ldpc_iterations"] = json!(res.ldpc_iterations);
                        e["erased_res"] = json!(res.erased_res);
                        e["erased_dmrs_res"] = json!(res.erased_dmrs_res);
                        if !a.quiet {
                            println!(
                                "  {} (slot {} of the frame) RNTI {} HARQ {} rv {} MCS {} PRB {}+{} x{}: CRC {}, SINR {:.1} dB, EVM {:.1} %",
                                s.label,
                                s.slot_in_frame,
                                p.rnti,
                                p.harq_id,
                                p.rv,
                                p.mcs_index,
                                p.prb_start,
                                p.n_prb,
                                p.num_layers,
                                if res.crc_ok { "ok" } else { "FAILED" },
                                res.sinr_db,
                                res.evm_percent
                            );
                        }
                    }
                    Err(err) => {
                        errors += 1;
                        e["error"] = json!(err.to_string());
                        if !a.quiet {
                            println!("  {} RNTI {}: not processed: {err}", s.label, p.rnti);
                        }
                    }
                }
                pusch.push(e);
            }
        } else if !s.pdus.is_empty() {
            errors += s.pdus.len() as u64;
            println!(
                "  {}: {} samples, not a whole slot of the carrier: {} PUSCHs not processed",
                s.label,
                got,
                s.pdus.len()
            );
        }
        entry["pusch"] = Value::Array(pusch);
        slot_json.push(entry);
        reached += 1;
        if got < s.len {
            break; // the file ended
        }
    }
    // PDUs the metadata lists in slots the file does not hold (a truncated
    // recording): counted and named, and the run fails. After an interrupt
    // the slots not reached are not missing.
    let missing: Vec<&SlotSpec> = if interrupted {
        Vec::new()
    } else {
        slots[reached..]
            .iter()
            .filter(|s| !s.pdus.is_empty() && s.start >= rd.pos)
            .collect()
    };
    let missing_pdus: usize = missing.iter().map(|s| s.pdus.len()).sum();
    // The rest of the file (not after an interrupt).
    while !interrupted {
        let (got, _) = rd.read(&mut bufs, max_len)?;
        if got == 0 || rd.pos >= total {
            break;
        }
    }
    rd.radio.stop()?;
    let samples = rd.pos;
    // The summary is printed after the JSON is written: stdout may be a closed pipe.
    let mut summary: Vec<String> = Vec::new();
    if interrupted {
        summary.push(format!(
            "INTERRUPTED after {processed} of {} slots ({samples} of {total} samples)",
            slots.len()
        ));
    }
    summary.push(format!(
        "  streamed {samples} samples in {} blocks of up to {max_len} ({} slot annotations), {} gaps",
        rd.blocks,
        meta.annotations.len(),
        rd.gaps
    ));
    let mut chans = Vec::new();
    for c in 0..ch {
        let mean = if samples > 0 {
            rd.energy[c] / samples as f64
        } else {
            0.0
        };
        let peak = f64::from(rd.peak[c]).powi(2);
        summary.push(format!(
            "  channel {c}: mean power {:.1} dBFS, peak {:.1} dBFS",
            db(mean),
            db(peak)
        ));
        chans.push(json!({
            "channel": c,
            "mean_power_dbfs": finite(db(mean)),
            "peak_dbfs": finite(db(peak)),
        }));
    }
    let mut ues = Vec::new();
    if with_pdus {
        let listed: usize = slots.iter().map(|s| s.pdus.len()).sum();
        summary.push(format!(
            "PUSCH: {listed} PDUs listed in {} slots: {tb_ok} TBs CRC ok, {tb_failed} failed, {errors} not processed, {missing_pdus} not in the file",
            processed - skipped_slots as usize
        ));
        for (rnti, t) in &per_ue {
            let sinr = (t.sinr_n > 0).then(|| t.sinr_sum / t.sinr_n as f64);
            summary.push(format!(
                "  RNTI {rnti}: {} ok, {} failed, mean SINR {}",
                t.ok,
                t.failed,
                sinr.map_or("-".into(), |s| format!("{s:.1} dB"))
            ));
            ues.push(json!({"rnti": rnti, "tb_ok": t.ok, "tb_failed": t.failed, "sinr_db": sinr}));
        }
    }
    if let Some(path) = &a.json {
        let report = json!({
            "interrupted": interrupted,
            "datatype": meta.datatype.name(),
            "sample_rate_hz": meta.sample_rate_hz,
            "num_channels": ch,
            "hw": meta.hw,
            "samples": samples,
            "captures": meta.captures.len(),
            "slots": meta.annotations.len(),
            "gaps": rd.gaps,
            "channels": chans,
            "carrier": carrier.map(|n| json!({
                "scs_khz": n.scs().khz(), "n_prb": n.n_prb(), "fft_size": n.fft_size()
            })),
            "notes": notes,
            "pusch": if with_pdus {
                json!({"pdus": slots.iter().map(|s| s.pdus.len()).sum::<usize>(),
                       "tb_ok": tb_ok, "tb_failed": tb_failed, "errors": errors,
                       "missing": missing_pdus,
                       "missing_slots": missing.iter().map(|s| s.label.as_str()).collect::<Vec<_>>(),
                       "ues": ues})
            } else {
                Value::Null
            },
            "slot_results": slot_json,
        });
        std::fs::write(path, serde_json::to_string_pretty(&report)? + "\n")
            .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    for line in &summary {
        println!("{line}");
    }
    if !interrupted && samples != total {
        return Err(format!("streamed {samples} samples but the file holds {total}").into());
    }
    if let (Some(first), Some(last)) = (missing.first(), missing.last()) {
        return Err(format!(
            "{}: truncated: {missing_pdus} PUSCH PDUs in {} slots ({} .. {}) lie beyond the data file's {samples} samples",
            a.file.display(),
            missing.len(),
            first.label,
            last.label
        )
        .into());
    }
    Ok(crate::interrupt::exit_code(interrupted, ExitCode::SUCCESS))
}
