//! The uplink slot job in its steady state: real PUSCH slots (OFDM per
//! antenna, then PUSCH receive per UE, with HARQ soft buffers) run through
//! the pipeline with a counting global allocator and allocate nothing after
//! warm-up, and every PUSCH decodes, with 1 and 2 workers.

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

/// UE `k` of 3 on its own 8 PRBs, 16QAM, one layer.
fn pdu(k: u16, harq_id: u8) -> PuschPdu {
    common::one_layer_pusch(0x4601 + k, 5, SLOT as u16, 8 * k, 8, 10, harq_id)
}

#[test]
fn uplink_job_steady_state_allocates_nothing_and_decodes() {
    let num = Numerology::new(Scs::Khz30, CyclicPrefix::Normal, 24, None).expect("numerology");
    let len = num.slot_len(SLOT);
    let ofdm = OfdmOptions::default();
    // The received slot: the three UEs' bursts summed on every antenna (a unit channel).
    let pdus: Vec<PuschPdu> = (0..3).map(|k| pdu(k, 0)).collect();
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
        for i in 0..2 {
            let mut r = p.slot(i).rx.write().unwrap();
            for (d, s) in r.iter_mut().zip(&rx) {
                d[..len].copy_from_slice(s);
            }
        }
        // New data every time, on alternating HARQ processes.
        let mut slot_pdus = pdus.clone();
        let run = |n: usize, slot_pdus: &mut Vec<PuschPdu>| {
            for s in 0..n {
                let i = p.acquire().expect("one slot at a time never drops");
                slot_pdus.iter_mut().for_each(|q| q.harq_id = (s % 2) as u8);
                p.slot(i).set_pdus(SLOT, slot_pdus).expect("fits");
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
        run(6, &mut slot_pdus); // warm-up: thread-locals, LDPC plans, soft buffers
        let allocs = common::count_allocations(|| run(10, &mut slot_pdus));
        assert_eq!(
            allocs, 0,
            "allocations in the steady state of the uplink job with {workers} workers"
        );
    }
}
