//! The uplink slot job in its steady state: real PUSCH slots (OFDM per
//! antenna, then PUSCH receive per UE, with HARQ soft buffers) run through
//! the pipeline with a counting global allocator and allocate nothing after
//! warm-up, and every PUSCH decodes, with 1 and 2 workers. The counted slots
//! use another MCS than the warm-up (other code-block sizes), so a decoder
//! built on first use anywhere in the pool would show up.

use num_complex::Complex32;
use ranlab_phy::numerology::{CyclicPrefix, Numerology, Scs};
use ranlab_phy::ofdm::OfdmOptions;
use ranlab_phy::pdu::PuschPdu;
use ranlab_phy::pipeline::uplink::UplinkJob;
use ranlab_phy::pipeline::{Pipeline, PipelineConfig};
use ranlab_phy::pusch::{PuschRxConfig, PuschTransmitter};
use std::sync::Arc;
use std::time::{Duration, Instant};

mod common;

#[global_allocator]
static GLOBAL: common::Counting = common::Counting;

const N_RX: usize = 2;
const SLOT: u32 = 1;

/// UE `k` of 3 on its own 8 PRBs, one layer, MCS `mcs` of table 1.
fn pdu(k: u16, mcs: u8, harq_id: u8) -> PuschPdu {
    common::one_layer_pusch(0x4601 + k, 5, SLOT as u16, 8 * k, 8, mcs, harq_id)
}

/// The three UEs' PUSCHs at `mcs`, their TBs and the received slot: their
/// bursts summed on every antenna (a unit channel).
fn received(num: Numerology, mcs: u8) -> (Vec<PuschPdu>, Vec<Vec<u8>>, Vec<Vec<Complex32>>) {
    let len = num.slot_len(SLOT);
    let ofdm = OfdmOptions::default();
    let pdus: Vec<PuschPdu> = (0..3).map(|k| pdu(k, mcs, 0)).collect();
    let mut rx = vec![vec![Complex32::default(); len]; N_RX];
    let mut tbs = Vec::new();
    for (k, p) in pdus.iter().enumerate() {
        let mut tx = PuschTransmitter::new(num, 1, ofdm).expect("transmitter");
        let plan = tx.plan(p).expect("plan");
        let tb: Vec<u8> = (0..plan.tbs)
            .map(|i| ((i * 7 + k) % 3 == 0) as u8)
            .collect();
        tx.transmit(p, &tb).expect("encode");
        let mut out = vec![Complex32::default(); len];
        tx.modulate(SLOT, &mut [&mut out[..]]).expect("modulate");
        for a in &mut rx {
            a.iter_mut().zip(&out).for_each(|(r, x)| *r += *x);
        }
        tbs.push(tb);
    }
    (pdus, tbs, rx)
}

#[test]
fn uplink_job_steady_state_allocates_nothing_and_decodes() {
    let num = Numerology::new(Scs::Khz30, CyclicPrefix::Normal, 24, None).expect("numerology");
    let len = num.slot_len(SLOT);
    let ofdm = OfdmOptions::default();
    // Warm-up at MCS 10, counted slots at MCS 4 (other lifting sizes).
    let warm = received(num, 10);
    let counted = received(num, 4);
    for workers in [1, 2] {
        let mut cfg = PuschRxConfig::new(N_RX, 1);
        cfg.harq_buffers = 16 * 3;
        let job = Arc::new(UplinkJob::new(num, cfg, ofdm, workers).expect("job"));
        let pool = (0..2).map(|_| job.new_slot(4)).collect();
        let p = Pipeline::new(
            job,
            pool,
            PipelineConfig {
                workers,
                pin: false,
                cores: Vec::new(),
                deadline: Duration::from_secs(1),
            },
        );
        // Both pooled slots hold the received samples of `set`.
        let load = |set: &(Vec<PuschPdu>, Vec<Vec<u8>>, Vec<Vec<Complex32>>)| {
            for i in 0..2 {
                let mut r = p.slot(i).rx.write().unwrap();
                for (d, s) in r.iter_mut().zip(&set.2) {
                    d[..len].copy_from_slice(s);
                }
            }
        };
        // New data every time, on alternating HARQ processes.
        let run = |n: usize, slot_pdus: &mut Vec<PuschPdu>, tbs: &[Vec<u8>]| {
            for s in 0..n {
                let i = p.acquire().expect("one slot at a time never drops");
                slot_pdus.iter_mut().for_each(|q| q.harq_id = (s % 2) as u8);
                p.slot(i).set_pdus(p.job(), SLOT, slot_pdus).expect("fits");
                p.start(i, Instant::now());
                assert!(
                    p.wait_completed(i, Duration::from_secs(20)),
                    "slot completes"
                );
                for (k, tb) in tbs.iter().enumerate() {
                    let ind = p.slot(i).indications[k].lock().unwrap();
                    let ok = matches!(&ind.result, Ok(r) if r.crc_ok);
                    assert!(
                        ok && ind.tb == *tb,
                        "UE {k} with {workers} workers: {:?}",
                        ind.result
                    );
                }
                p.release(i);
            }
        };
        // Warm-up: thread-locals, soft buffers, the pipeline's queues.
        load(&warm);
        let mut slot_pdus = warm.0.clone();
        run(6, &mut slot_pdus, &warm.1);
        load(&counted);
        let mut slot_pdus = counted.0.clone();
        let allocs = common::count_allocations(|| run(10, &mut slot_pdus, &counted.1));
        assert_eq!(
            allocs, 0,
            "allocations in the steady state of the uplink job with {workers} workers"
        );
    }
}
