//! Bench cases of the full downlink slot through the slot pipeline
//! ([`DownlinkJob`]): LDPC encoding of every code block, PDSCH mapping
//! (scrambling, modulation, layer mapping, DM-RS) and CP-OFDM of every gNB
//! antenna, on 1 and 2 workers, with the same row fields as the uplink slot
//! rows (block `slot`, real-time factor).
//!
//! - `dl-default-40mhz-1ant-256qam`: the built-in loopback cell's downlink
//!   slot as the loopback sends it (106 PRB at 30 kHz, one layer from gNB
//!   antenna 0, symbols 2..13, DM-RS at 2 and 11, 256QAM table) at its top
//!   MCS 27, the slot with the most code blocks;
//! - `dl-100mhz-273prb-4ant-2layer-256qam`: 273 PRB, 4 gNB antennas, one
//!   2-layer PDSCH at MCS 27 over every PRB. Downlink precoding is the
//!   transmitter's identity (layer j on antenna j), so antennas 2 and 3 send
//!   zeros: their OFDM tasks only clear their samples.

use super::slot::{case_name, SLOT_US, WORKERS};
use super::Case;
use crate::loopback::downlink::pdsch_template;
use crate::loopback::engine::numerology;
use crate::scenario::Scenario;
use ranlab_phy::numerology::Numerology;
use ranlab_phy::ofdm::OfdmOptions;
use ranlab_phy::pdsch::PdschPdu;
use ranlab_phy::pipeline::downlink::DownlinkJob;
use ranlab_phy::pipeline::{Pipeline, PipelineConfig};
use ranlab_phy::simd::SimdLevel;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The slot scenarios: (case stem, bandwidth MHz, gNB antennas, layers).
pub(super) const SLOTS: [(&str, u32, usize, u8); 2] = [
    ("dl-default-40mhz-1ant-256qam", 0, 1, 1),
    ("dl-100mhz-273prb-4ant-2layer-256qam", 100, 4, 2),
];
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

/// The loopback's PDSCH (`loopback::downlink`) over every PRB of `num`, at
/// MCS 27.
fn pdsch(num: &Numerology, layers: u8) -> PdschPdu {
    PdschPdu {
        rnti: 0x4601,
        slot: SLOT as u16,
        mcs_index: 27,
        ..pdsch_template(num, 1, layers)
    }
}

/// A downlink slot loaded into a pipeline of `workers` workers.
struct SlotBench {
    pipe: Pipeline<DownlinkJob>,
    index: usize,
}

impl SlotBench {
    fn new(stem: &str, bandwidth_mhz: u32, n_tx: usize, layers: u8, workers: usize) -> Self {
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
        pipe.slot(index)
            .set_pdus(&job, SLOT, &[pdu], &[&tb])
            .expect("the slot holds the PDSCH");
        let b = SlotBench { pipe, index };
        b.run();
        eprintln!(
            "slot {stem} ({workers} workers): 1 PDSCH of {} PRB, {layers} layers, MCS 27 (256QAM), TBS {}, {} code blocks, {n_tx} antennas",
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

/// Downlink slot cases (the blocks inside choose their own instruction set).
pub fn cases(_level: SimdLevel) -> Vec<Case> {
    let mut v = Vec::new();
    for (stem, bw, n_tx, layers) in SLOTS {
        for workers in WORKERS {
            let mut bench: Option<SlotBench> = None;
            v.push(Case {
                block: "slot",
                case: case_name(stem, workers),
                info_bits: 0.0,
                res: 0.0,
                run: Box::new(move || {
                    bench
                        .get_or_insert_with(|| SlotBench::new(stem, bw, n_tx, layers, workers))
                        .run();
                }),
            });
        }
    }
    v
}
