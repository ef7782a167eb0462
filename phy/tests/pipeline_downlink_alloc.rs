//! The downlink slot job in its steady state: PDSCH slots (LDPC encoding,
//! mapping, OFDM of 2 antennas) run through the pipeline with a counting
//! global allocator and allocate nothing after the workers' first slots
//! (their thread-locals), with 1 and 2 workers, on slots with new code-block
//! sizes too (the job builds every LDPC size up front) and with per-PRG
//! precoders (copied into buffers the slot made up front); every slot
//! transmits something.

use num_complex::Complex32;
use ranlab_phy::mimo::{PrgPrecoder, PrgSize};
use ranlab_phy::numerology::{CyclicPrefix, Numerology, Scs};
use ranlab_phy::ofdm::OfdmOptions;
use ranlab_phy::pdsch::PdschPdu;
use ranlab_phy::pipeline::downlink::DownlinkJob;
use ranlab_phy::pipeline::{Pipeline, PipelineConfig};
use std::sync::Arc;
use std::time::{Duration, Instant};

mod common;

#[global_allocator]
static GLOBAL: common::Counting = common::Counting;

#[test]
fn downlink_job_steady_state_allocates_nothing() {
    let num = Numerology::new(Scs::Khz30, CyclicPrefix::Normal, 52, None).expect("numerology");
    let ofdm = OfdmOptions::default();
    // A 2-layer PDSCH of several code blocks and a 1-layer one beside it;
    // the counted slots use other MCSs (other code-block sizes) than the warm-up.
    let warm = [
        common::pdsch(0x4601, 5, 0, 40, 24, 2, 0),
        common::pdsch(0x4602, 5, 40, 12, 9, 1, 0),
    ];
    let counted = [
        common::pdsch(0x4601, 5, 0, 40, 27, 2, 0),
        common::pdsch(0x4602, 5, 40, 12, 4, 1, 0),
    ];
    for workers in [1, 2] {
        let job = Arc::new(DownlinkJob::new(num, 2, ofdm, workers).expect("job"));
        let tbs = |pdus: &[PdschPdu]| -> Vec<Vec<u8>> {
            pdus.iter()
                .map(|p| {
                    let n = job.plan(p).expect("plan").tbs;
                    (0..n).map(|i| (i % 3 == 1) as u8).collect()
                })
                .collect()
        };
        let (warm_tbs, counted_tbs) = (tbs(&warm), tbs(&counted));
        let (warm_tbs, counted_tbs) = (refs(&warm_tbs), refs(&counted_tbs));
        let z = |pdus: &[PdschPdu]| -> Vec<usize> {
            pdus.iter()
                .map(|p| job.plan(p).expect("plan").tb.seg.shape.z)
                .collect()
        };
        assert_ne!(z(&warm), z(&counted), "other lifting sizes");
        let pool = (0..2).map(|_| job.new_slot(2)).collect();
        let p = Pipeline::new(
            Arc::clone(&job),
            pool,
            PipelineConfig {
                workers,
                pin: false,
                cores: Vec::new(),
                deadline: Duration::from_secs(1),
            },
        );
        // Precoders for the counted PDSCHs (2 and 1 layers onto both antennas).
        let precoder = |layers: usize, prbs: std::ops::Range<usize>| {
            let g = PrgSize::Two.covering(prbs);
            let w = (0..2 * layers * g.len())
                .map(|i| Complex32::new(0.5 + (i % 3) as f32 * 0.1, (i % 5) as f32 * 0.1))
                .collect();
            PrgPrecoder::from_weights(2, layers, PrgSize::Two, g.start, w).expect("precoder")
        };
        let (p0, p1) = (precoder(2, 0..40), precoder(1, 40..52));
        let run = |n: usize, pdus: &[PdschPdu], tb_refs: &[&[u8]], precoded: bool| {
            for s in 0..n {
                let i = p.acquire().expect("one slot at a time never drops");
                let slot = (s % 20) as u32;
                // Every other counted slot precoded.
                let both = [Some(&p0), Some(&p1)];
                let pre: &[Option<&PrgPrecoder>] = if precoded && s % 2 == 0 { &both } else { &[] };
                p.slot(i)
                    .set_pdus_precoded(&job, slot, pdus, tb_refs, pre)
                    .expect("valid");
                p.start(i, Instant::now());
                assert!(
                    p.wait_completed(i, Duration::from_secs(20)),
                    "slot completes"
                );
                let st = p.slot(i);
                assert!(st.error().is_none());
                let samples = st.samples();
                for a in 0..2 {
                    assert!(samples.antenna(a).iter().any(|z| z.norm_sqr() > 0.0));
                }
                drop(samples);
                p.release(i);
            }
        };
        run(3, &warm, &warm_tbs, false); // warm-up: thread-locals of the workers and the queues
        let allocs = common::count_allocations(|| run(10, &counted, &counted_tbs, true));
        assert_eq!(
            allocs, 0,
            "allocations in the steady state of the downlink job with {workers} workers"
        );
    }
}

fn refs(t: &[Vec<u8>]) -> Vec<&[u8]> {
    t.iter().map(|t| &t[..]).collect()
}
