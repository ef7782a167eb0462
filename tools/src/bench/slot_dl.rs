//! Bench cases of the full downlink slot through the slot pipeline
//! ([`DownlinkJob`]): LDPC encoding of every code block, PDSCH mapping
//! (scrambling, modulation, layer mapping, precoding, DM-RS) and CP-OFDM of
//! every gNB antenna, on 1 and 2 workers, with the same row fields as the
//! uplink slot rows (block `slot`, real-time factor).
//!
//! - `dl-default-40mhz-1ant-256qam`: the built-in loopback cell's downlink
//!   slot as the loopback sends it (106 PRB at 30 kHz, one layer from gNB
//!   antenna 0, symbols 2..13, DM-RS at 2 and 11, 256QAM table) at its top
//!   MCS 27, the slot with the most code blocks;
//! - `dl-100mhz-273prb-4ant-2layer-256qam`: 273 PRB, 4 gNB antennas, one
//!   2-layer PDSCH at MCS 27 over every PRB, its layers (data and DM-RS)
//!   precoded onto all 4 antennas (TS 38.211 §7.3.1.5) with regularised ZF
//!   (α = 0.02, per-layer power 1/2) per PRG of 2 PRBs (TS 38.214
//!   §5.1.2.3; 137 PRGs), computed once at set-up by `mimo::Precoder` from
//!   a fixed random 4x2 channel per PRG (i.i.d. CN(0, 1), seeded): every
//!   antenna carries signal and is OFDM-modulated.

use super::slot::{case_name, SLOT_US, WORKERS};
use super::Case;
use crate::cell::downlink::pdsch_template;
use crate::cell::numerology;
use crate::scenario::Scenario;
use num_complex::Complex32;
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use ranlab_phy::mimo::{PowerNorm, Precoder, PrecoderKind, PrgPrecoder, PrgSize};
use ranlab_phy::numerology::Numerology;
use ranlab_phy::ofdm::OfdmOptions;
use ranlab_phy::pdsch::PdschPdu;
use ranlab_phy::pipeline::downlink::DownlinkJob;
use ranlab_phy::pipeline::{Pipeline, PipelineConfig, SlotJob};
use ranlab_phy::simd::SimdLevel;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The slot scenarios: (case stem, bandwidth MHz, gNB antennas, layers,
/// precoded onto every antenna).
pub(super) const SLOTS: [(&str, u32, usize, u8, bool); 2] = [
    ("dl-default-40mhz-1ant-256qam", 0, 1, 1, false),
    ("dl-100mhz-273prb-4ant-2layer-256qam", 100, 4, 2, true),
];
/// Regularisation of the bench's RZF precoder (`n_layers σ² / P` at 20 dB).
const RZF_ALPHA: f32 = 0.02;
/// The slot number within the frame.
const SLOT: u32 = 1;

/// The carrier of the built-in scenario, at `bandwidth_mhz` (0: as built in).
fn carrier(bandwidth_mhz: u32) -> Numerology {
    let mut s = Scenario::builtin();
    if bandwidth_mhz > 0 {
        s.cell.carriers[0].bandwidth_mhz = bandwidth_mhz;
    }
    numerology(&s).expect("a valid carrier")
}

/// The loopback's PDSCH (`cell::downlink`) over every PRB of `num`, at
/// MCS 27.
fn pdsch(num: &Numerology, layers: u8) -> PdschPdu {
    PdschPdu {
        rnti: 0x4601,
        slot: SLOT as u16,
        mcs_index: 27,
        ..pdsch_template(num, 1, layers)
    }
}

/// RZF precoders per PRG of 2 PRBs over `num`'s PRBs for `layers` layers on
/// `n_tx` antennas, from a fixed random channel per PRG.
fn rzf_precoder(num: &Numerology, n_tx: usize, layers: usize) -> PrgPrecoder {
    let prgs = PrgSize::Two.covering(0..num.n_prb() as usize);
    let mut r = Xoshiro256PlusPlus::seed_from_u64(0x5eed_0001);
    // CN(0, 1) by Box-Muller: the uplink estimate H (n_tx x layers) per PRG.
    let h: Vec<Complex32> = (0..n_tx * layers * prgs.len())
        .map(|_| {
            let (u1, u2): (f32, f32) = (r.gen::<f32>().max(1e-12), r.gen());
            let (m, a) = ((-u1.ln()).sqrt(), std::f32::consts::TAU * u2);
            Complex32::new(m * a.cos(), m * a.sin())
        })
        .collect();
    let rzf = Precoder::new(
        n_tx,
        layers,
        PrecoderKind::Rzf { alpha: RZF_ALPHA },
        PowerNorm::PerUser,
    )
    .expect("a valid precoder size");
    let mut p = PrgPrecoder::new(n_tx, layers, PrgSize::Two, prgs.start, prgs.len())
        .expect("a valid precoder size");
    rzf.compute(&h, p.weights_mut()).expect("sizes match");
    p
}

/// A downlink slot loaded into a pipeline of `workers` workers.
struct SlotBench {
    pipe: Pipeline<DownlinkJob>,
    index: usize,
}

impl SlotBench {
    fn new(
        stem: &str,
        bandwidth_mhz: u32,
        n_tx: usize,
        layers: u8,
        precoded: bool,
        workers: usize,
    ) -> Self {
        let num = carrier(bandwidth_mhz);
        let job = Arc::new(
            DownlinkJob::new(num, n_tx, OfdmOptions::default(), workers).expect("the job builds"),
        );
        let pdu = pdsch(&num, layers);
        let plan = job.plan(&pdu).expect("a valid PDSCH");
        let tb: Vec<u8> = (0..plan.tbs).map(|i| ((i * 7) % 5 < 2) as u8).collect();
        let slots = vec![job.new_slot(1)];
        // The workers get every core, not the one `ranlab bench` pins its driving thread to.
        let pipe = Pipeline::new(
            Arc::clone(&job),
            slots,
            PipelineConfig {
                workers,
                pin: true,
                cores: super::unpinned_cores(),
                deadline: Duration::from_micros(2 * SLOT_US as u64),
            },
        );
        let index = pipe.acquire().expect("a fresh pool has a free slot");
        let precoder = precoded.then(|| rzf_precoder(&num, n_tx, layers as usize));
        pipe.slot(index)
            .set_pdus_precoded(&job, SLOT, &[pdu], &[&tb], &[precoder.as_ref()])
            .expect("the slot holds the PDSCH");
        let b = SlotBench { pipe, index };
        b.run();
        let how = match &precoder {
            Some(p) => format!(
                "precoded onto every antenna: RZF (alpha {RZF_ALPHA}) per PRG of 2 PRBs ({} PRGs) from a fixed random {n_tx}x{layers} channel per PRG",
                p.prgs().len()
            ),
            None => "layer j on antenna j".to_string(),
        };
        eprintln!(
            "slot {stem} ({workers} workers): 1 PDSCH of {} PRB, {layers} layers, MCS 27 (256QAM), TBS {}, {} code blocks, {n_tx} antennas, {how}",
            num.n_prb(),
            plan.tbs,
            plan.tb.num_cb()
        );
        b
    }

    /// Transmits the slot once: every stage, every task, to completion.
    fn run(&self) {
        self.pipe.start(self.index, Instant::now());
        assert!(
            self.pipe
                .wait_completed(self.index, Duration::from_secs(60)),
            "the slot completes"
        );
        assert!(self.pipe.slot(self.index).error().is_none());
    }
}

/// At the end of a case: each stage's CPU time per slot (the task times'
/// sum over the slots run), so a row's time can be split by stage.
impl Drop for SlotBench {
    fn drop(&mut self) {
        let m = self.pipe.metrics();
        let slots = m
            .completed
            .load(std::sync::atomic::Ordering::Relaxed)
            .max(1);
        let stages: Vec<String> = self
            .pipe
            .job()
            .stages()
            .iter()
            .zip(&m.task_time)
            .map(|(name, t)| {
                format!(
                    "{name} {:.0} us ({} tasks)",
                    t.total().as_secs_f64() * 1e6 / slots as f64,
                    t.count() / slots
                )
            })
            .collect();
        eprintln!(
            "slot CPU per slot over {slots} slots: {}",
            stages.join(", ")
        );
    }
}

/// Downlink slot cases (the blocks inside choose their own instruction set).
pub fn cases(_level: SimdLevel) -> Vec<Case> {
    let mut v = Vec::new();
    for (stem, bw, n_tx, layers, precoded) in SLOTS {
        for workers in WORKERS {
            let mut bench: Option<SlotBench> = None;
            v.push(Case {
                block: "slot",
                case: case_name(stem, workers),
                info_bits: 0.0,
                res: 0.0,
                run: Box::new(move || {
                    bench
                        .get_or_insert_with(|| {
                            SlotBench::new(stem, bw, n_tx, layers, precoded, workers)
                        })
                        .run();
                }),
            });
        }
    }
    v
}
