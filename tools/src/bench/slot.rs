//! Bench cases of the full uplink slot through the slot pipeline: OFDM
//! demodulation of every gNB antenna, then every PUSCH of the slot (channel
//! estimation, detection, demapping, LDPC decoding, CRCs), on 1 and 2 workers.
//!
//! The input is a slot the loopback itself produced (`cell::Cell`,
//! seed 1): after 400 slots of the built-in scenario, the next uplink slot
//! with the most new transport blocks, as the scheduler granted them; and a
//! 100 MHz slot with one 2-layer 256QAM PUSCH over all 273 PRBs from a
//! 2-antenna UE of the same set-up over flat Rayleigh fading at 40 dB. The
//! set-up runs on a case's first call, so `ranlab bench --only OTHER` does not
//! pay for it; it prints how many of the slot's PUSCHs pass their CRC.

use super::Case;
use crate::cell::{numerology, rx_config, ul_receivers, CellOptions, FixedUl, RxSlot};
use crate::scenario::{ChannelModel, Scenario};
use num_complex::Complex32;
use ranlab_phy::numerology::Numerology;
use ranlab_phy::ofdm::OfdmOptions;
use ranlab_phy::pdu::PuschPdu;
use ranlab_phy::pipeline::uplink::UplinkJob;
use ranlab_phy::pipeline::{Pipeline, PipelineConfig};
use ranlab_phy::simd::SimdLevel;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// The slot scenarios (case stems).
const SLOTS: [&str; 2] = ["ul-default-40mhz-4ue", "ul-100mhz-273prb-4x2-256qam"];
/// Worker counts measured (uplink and downlink slots).
pub(super) const WORKERS: [usize; 2] = [1, 2];
/// Slot duration of every slot scenario (30 kHz), µs.
pub(super) const SLOT_US: f64 = 500.0;
/// Slots the loopback runs before a slot is taken: buffer reports settle
/// within a few slots, the outer loop of link adaptation within a few hundred.
const WARMUP: u64 = 400;

pub(super) fn case_name(stem: &str, workers: usize) -> String {
    format!("{stem}-w{workers}")
}

/// The slot duration of a `slot` case (uplink or downlink), for the
/// real-time factor of its row.
pub fn slot_us(block: &str, case: &str) -> Option<f64> {
    let mut stems = SLOTS
        .iter()
        .copied()
        .chain(super::slot_dl::SLOTS.iter().map(|s| s.0));
    (block == "slot" && stems.any(|s| WORKERS.iter().any(|&w| case == case_name(s, w))))
        .then_some(SLOT_US)
}

/// One uplink slot as the loopback's gNB received it.
struct Capture {
    num: Numerology,
    n_rx: usize,
    max_layers: usize,
    ues: usize,
    slot: u32,
    rx: Vec<Vec<Complex32>>,
    pdus: Vec<PuschPdu>,
}

/// Runs the loopback on `s` for `WARMUP` slots and a few more, and keeps the
/// first uplink slot after the warm-up with the most new transport blocks.
fn capture(s: &Scenario, fixed: Option<FixedUl>) -> Capture {
    let mut s = s.clone();
    s.slots = WARMUP + 20;
    let o = CellOptions {
        fixed_ul: fixed,
        ..CellOptions::default()
    };
    // (new transport blocks, slot in frame, samples, PDUs) of the best slot so far.
    type Best = (usize, u32, Vec<Vec<Complex32>>, Vec<PuschPdu>);
    let mut best: Option<Best> = None;
    let mut tap = |r: RxSlot<'_>| {
        let new = r.pdus.iter().filter(|p| p.new_data).count();
        if r.index >= WARMUP && new > best.as_ref().map_or(0, |b| b.0) {
            best = Some((
                new,
                r.slot_in_frame,
                r.samples.iter().map(|x| x.to_vec()).collect(),
                r.pdus.to_vec(),
            ));
        }
        Ok(())
    };
    crate::cell::run(&s, &o, Some(&mut tap)).expect("the loopback runs");
    let (_, slot, rx, pdus) = best.expect("an uplink slot with PUSCHs after the warm-up");
    Capture {
        num: numerology(&s).expect("a valid carrier"),
        n_rx: s.cell.carriers[0].antennas as usize,
        max_layers: s.ues.iter().map(|g| g.antennas as usize).max().unwrap_or(1),
        ues: s.ue_count() as usize,
        slot,
        rx,
        pdus,
    }
}

/// The built-in loopback scenario (40 MHz, 4 antennas, 4 UEs) as scheduled.
fn default_slot() -> Capture {
    capture(&Scenario::builtin(), None)
}

/// 100 MHz at 30 kHz (273 PRB), 4 gNB antennas, one 2-antenna UE sending
/// 2 layers of 256QAM MCS 27 (R 0.93) on every PRB and symbol.
fn big_slot() -> Capture {
    let mut s = Scenario::builtin();
    s.cell.carriers[0].bandwidth_mhz = 100;
    s.ues.truncate(1);
    s.ues[0].count = 1;
    s.ues[0].antennas = 2;
    // Flat Rayleigh: over TDL-C (100 ns) this MCS does not decode at 40 dB
    // with the current receiver, and a slot of failing decodes would time
    // the iteration cap instead of the receiver.
    s.channel.model = ChannelModel::Rayleigh;
    s.channel.snr_db = Some(40.0);
    let fixed = FixedUl {
        mcs_table: 2,
        mcs: 27,
        layers: 2,
    };
    capture(&s, Some(fixed))
}

/// A captured slot loaded into a pipeline of `workers` workers.
struct SlotBench {
    pipe: Pipeline<UplinkJob>,
    index: usize,
}

impl SlotBench {
    fn new(c: &Capture, workers: usize, stem: &str) -> SlotBench {
        let budget_us = 2.0 * SLOT_US;
        // The workers get every core, not the one `ranlab bench` pins its driving thread to.
        // The pipeline itself (not the cell's `UplinkPhy` edge): the timed
        // call re-runs one loaded slot, without copying its samples again.
        let job = Arc::new(
            UplinkJob::with_receivers(
                c.num,
                rx_config(c.n_rx, c.max_layers, c.ues, workers),
                OfdmOptions::default(),
                workers,
                ul_receivers(c.ues, workers),
            )
            .expect("the receivers build"),
        );
        let slots = vec![job.new_slot(c.pdus.len().max(1))];
        let pipe = Pipeline::new(
            job,
            slots,
            PipelineConfig {
                workers,
                pin: true,
                cores: super::unpinned_cores(),
                deadline: Duration::from_micros(budget_us as u64),
            },
        );
        let index = pipe.acquire().expect("a fresh pool has a free slot");
        {
            let slot = pipe.slot(index);
            let mut rx = slot.rx.write().unwrap_or_else(|e| e.into_inner());
            for (dst, src) in rx.iter_mut().zip(&c.rx) {
                dst[..src.len()].copy_from_slice(src);
            }
        }
        pipe.slot(index)
            .set_pdus(pipe.job(), c.slot, &c.pdus)
            .expect("the slot holds the PDUs");
        let b = SlotBench { pipe, index };
        b.run();
        // Say once whether the slot decodes, so a timing of failing decodes is not taken for the real thing.
        let slot = b.pipe.slot(index);
        let mut ok = 0;
        let mut what = String::new();
        for (k, p) in c.pdus.iter().enumerate() {
            let ind = slot.indications[k]
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            let good = matches!(&ind.result, Ok(r) if r.crc_ok);
            ok += good as usize;
            let sinr = ind.result.as_ref().map(|r| r.sinr_db).unwrap_or(f32::NAN);
            what += &format!(
                " [{} PRB, {} layers, MCS {}{}, SINR {sinr:.1} dB{}]",
                p.n_prb,
                p.num_layers,
                p.mcs_index,
                if p.new_data { "" } else { " retx" },
                if good { "" } else { ", CRC failed" }
            );
        }
        eprintln!(
            "slot {stem} ({workers} workers): {ok} of {} PUSCHs pass the CRC:{what}",
            c.pdus.len()
        );
        b
    }

    /// Processes the slot once: every stage, every task, to completion.
    fn run(&self) {
        self.pipe.start(self.index, Instant::now());
        assert!(
            self.pipe
                .wait_completed(self.index, Duration::from_secs(60)),
            "the slot completes"
        );
    }
}

/// Uplink slot cases (the blocks inside choose their own instruction set).
pub fn cases(_level: SimdLevel) -> Vec<Case> {
    let mut v = Vec::new();
    for (k, stem) in SLOTS.iter().enumerate() {
        // Both worker counts share one capture, made by whichever case runs first.
        let capture: Arc<OnceLock<Capture>> = Arc::new(OnceLock::new());
        for workers in WORKERS {
            let capture = Arc::clone(&capture);
            let mut bench: Option<SlotBench> = None;
            v.push(Case {
                block: "slot",
                case: case_name(stem, workers),
                info_bits: 0.0,
                res: 0.0,
                run: Box::new(move || {
                    let b = bench.get_or_insert_with(|| {
                        let c =
                            capture
                                .get_or_init(|| if k == 0 { default_slot() } else { big_slot() });
                        SlotBench::new(c, workers, stem)
                    });
                    b.run();
                }),
            });
        }
    }
    v
}
