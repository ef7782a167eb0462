//! The downlink slot job (LDPC encoding per group of code blocks, PDSCH
//! mapping per block of symbols, OFDM per antenna and block of symbols) gives
//! bit for bit the samples of one `PdschTransmitter`, with 1, 2 or 3 workers
//! and several slots in flight: one-layer PDSCHs of several code blocks,
//! two layers, and three PDSCHs of 1-3 layers in one slot (whose reference,
//! `transmit` then `transmit_add`, is checked against each PDSCH alone).

use num_complex::Complex32;
use ranlab_phy::numerology::{CyclicPrefix, Numerology, Scs};
use ranlab_phy::ofdm::OfdmOptions;
use ranlab_phy::pdsch::{PdschPdu, PdschTransmitter};
use ranlab_phy::pipeline::downlink::{DownlinkJob, DownlinkSlot, CBS_PER_TASK};
use ranlab_phy::pipeline::{Pipeline, PipelineConfig, SlotJob};
use std::sync::Arc;
use std::time::{Duration, Instant};

mod common;

const N_TX: usize = 4;

/// Slot `s`'s PDSCHs (slot number `s % 20`).
fn slot_pdus(s: usize) -> Vec<PdschPdu> {
    let n = (s % 20) as u16;
    let h = (s % 16) as u8;
    match s % 3 {
        0 => vec![common::pdsch(0x4601, n, 0, 52, 27, 1, h)],
        1 => vec![PdschPdu {
            rv: 2,
            new_data: false,
            ndi: false,
            ..common::pdsch(0x4602, n, 0, 52, 20, 2, h)
        }],
        _ => vec![
            common::pdsch(0x4603, n, 0, 20, 10, 1, h),
            common::pdsch(0x4604, n, 20, 20, 15, 2, h),
            common::pdsch(0x4605, n, 40, 12, 22, 3, h),
        ],
    }
}

/// A deterministic transport block of `len` bits for PDSCH `k` of slot `s`.
fn tb(s: usize, k: usize, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| ((i * 7 + s * 3 + k) % 11 < 5) as u8)
        .collect()
}

fn bits(x: &[Complex32]) -> Vec<(u32, u32)> {
    x.iter().map(|z| (z.re.to_bits(), z.im.to_bits())).collect()
}

#[test]
fn downlink_job_equals_the_pdsch_transmitter_bit_for_bit() {
    let num = Numerology::new(Scs::Khz30, CyclicPrefix::Normal, 52, None).expect("numerology");
    let ofdm = OfdmOptions::default();
    const SLOTS: usize = 9;
    // The reference: one transmitter, PDSCHs of a slot added to one grid.
    let mut tx = PdschTransmitter::new(num, N_TX, ofdm).expect("transmitter");
    let mut expect = Vec::new();
    let mut inputs = Vec::new();
    for s in 0..SLOTS {
        let pdus = slot_pdus(s);
        let tbs: Vec<Vec<u8>> = pdus
            .iter()
            .enumerate()
            .map(|(k, p)| tb(s, k, tx.plan(p).expect("plan").tbs))
            .collect();
        if s == 0 {
            let c = tx.plan(&pdus[0]).expect("plan").tb.num_cb();
            assert!(c > 2 * CBS_PER_TASK, "{c} code blocks");
        }
        let layers = pdus
            .iter()
            .map(|p| p.num_layers as usize)
            .max()
            .unwrap_or(0);
        tx.transmit(&pdus[0], &tbs[0]).expect("transmit");
        for (p, t) in pdus.iter().zip(&tbs).skip(1) {
            tx.transmit_add(p, t).expect("transmit");
        }
        let slot = (s % 20) as u32;
        let len = num.slot_len(slot);
        let mut out = vec![vec![Complex32::default(); len]; N_TX];
        {
            let mut views: Vec<&mut [Complex32]> =
                out.iter_mut().take(layers).map(|a| &mut a[..]).collect();
            tx.modulate(slot, &mut views).expect("modulate");
        }
        assert!(out[0].iter().any(|z| z.norm_sqr() > 0.0));
        expect.push(out.iter().map(|a| bits(a)).collect::<Vec<_>>());
        inputs.push((slot, pdus, tbs));
    }
    for workers in [1, 2, 3] {
        let job = Arc::new(DownlinkJob::new(num, N_TX, ofdm, workers).expect("job"));
        let pool = (0..3).map(|_| job.new_slot(4)).collect();
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
        let mut order = std::collections::VecDeque::new();
        let mut got = Vec::new();
        let mut max_in_flight = 0;
        let take = |i: usize, got: &mut Vec<Vec<Vec<(u32, u32)>>>| {
            let slot = p.slot(i);
            assert!(slot.error().is_none(), "{:?}", slot.error());
            let samples = slot.samples();
            got.push(
                (0..samples.antennas())
                    .map(|a| bits(samples.antenna(a)))
                    .collect(),
            );
            drop(samples);
            p.release(i);
        };
        for (slot, pdus, tbs) in &inputs {
            let i = loop {
                if let Ok(i) = p.acquire() {
                    break i;
                }
                let j = order.pop_front().expect("a started slot");
                assert!(p.wait_completed(j, Duration::from_secs(20)));
                take(j, &mut got);
            };
            let tbs: Vec<&[u8]> = tbs.iter().map(|t| &t[..]).collect();
            p.slot(i).set_pdus(&job, *slot, pdus, &tbs).expect("valid");
            p.start(i, Instant::now());
            order.push_back(i);
            max_in_flight = max_in_flight.max(p.in_flight());
        }
        while let Some(j) = order.pop_front() {
            assert!(p.wait_completed(j, Duration::from_secs(20)));
            take(j, &mut got);
        }
        assert!(max_in_flight > 1, "slots overlapped");
        assert_eq!(got.len(), expect.len());
        for (s, (g, e)) in got.iter().zip(&expect).enumerate() {
            for a in 0..N_TX {
                assert!(g[a] == e[a], "slot {s} antenna {a} with {workers} workers");
            }
        }
        let m = p.metrics();
        // The large TBs spread over several encoding tasks per slot.
        assert!(m.task_time[0].count() > 2 * SLOTS as u64);
    }
}

#[test]
fn bad_requests_are_refused_and_transmit_nothing() {
    let num = Numerology::new(Scs::Khz30, CyclicPrefix::Normal, 24, None).expect("numerology");
    let job = DownlinkJob::new(num, 1, OfdmOptions::default(), 1).expect("job");
    let slot = job.new_slot(2);
    let pdu = common::pdsch(0x4601, 3, 0, 24, 5, 1, 0);
    let tbs = job.plan(&pdu).expect("plan").tbs;
    let short = vec![0u8; tbs - 8];
    assert!(slot
        .set_pdus(&job, 3, std::slice::from_ref(&pdu), &[&short])
        .is_err());
    assert_eq!(slot.n_pdus(), 0);
    let good = vec![1u8; tbs];
    assert!(slot
        .set_pdus(
            &job,
            3,
            &[pdu.clone(), pdu.clone(), pdu.clone()],
            &[&good[..]; 3]
        )
        .is_err());
    let two_layers = common::pdsch(0x4601, 3, 0, 24, 5, 2, 0);
    assert!(slot.set_pdus(&job, 3, &[two_layers], &[&good]).is_err());
    // A valid PDSCH, then a request whose second PDSCH is bad: the slot must
    // send neither the request's first PDSCH nor the grid of the slot before.
    let run = |slot: &DownlinkSlot| {
        for stage in 0..job.stages().len() {
            for t in 0..job.task_count(slot, stage) {
                job.run_task(slot, stage, t);
            }
        }
        slot.samples().antenna(0).iter().any(|z| z.norm_sqr() > 0.0)
    };
    slot.set_pdus(&job, 3, std::slice::from_ref(&pdu), &[&good])
        .expect("valid");
    assert_eq!(slot.n_pdus(), 1);
    assert!(run(&slot), "a valid PDSCH is sent");
    let bad_second = PdschPdu {
        n_prb: 30,
        ..pdu.clone()
    };
    assert!(slot
        .set_pdus(&job, 3, &[pdu.clone(), bad_second], &[&good, &good])
        .is_err());
    assert_eq!(slot.n_pdus(), 0);
    assert!(
        !run(&slot),
        "after a refused request the slot sends nothing"
    );
    let windowed = OfdmOptions {
        window_len: 8,
        ..OfdmOptions::default()
    };
    assert!(DownlinkJob::new(num, 1, windowed, 1).is_err());
}

/// The reference's multi-PDSCH slot: `transmit_add` puts each PDSCH's REs
/// exactly where `transmit` puts them alone, and leaves the others alone.
#[test]
fn transmit_add_places_each_pdsch_as_alone() {
    let num = Numerology::new(Scs::Khz30, CyclicPrefix::Normal, 52, None).expect("numerology");
    let pdus = slot_pdus(2);
    assert_eq!(pdus.len(), 3);
    let mut tx = PdschTransmitter::new(num, N_TX, OfdmOptions::default()).expect("tx");
    let tbs: Vec<Vec<u8>> = pdus
        .iter()
        .enumerate()
        .map(|(k, p)| tb(2, k, tx.plan(p).expect("plan").tbs))
        .collect();
    let alone: Vec<Vec<Complex32>> = pdus
        .iter()
        .zip(&tbs)
        .map(|(p, t)| tx.transmit(p, t).expect("transmit").1.as_slice().to_vec())
        .collect();
    tx.transmit(&pdus[0], &tbs[0]).expect("transmit");
    for (p, t) in pdus.iter().zip(&tbs).skip(1) {
        tx.transmit_add(p, t).expect("transmit_add");
    }
    let zero = Complex32::default();
    for (i, &z) in tx.grid().as_slice().iter().enumerate() {
        let owners: Vec<usize> = (0..3).filter(|&k| alone[k][i] != zero).collect();
        assert!(owners.len() <= 1, "RE {i} written by PDSCHs {owners:?}");
        let want = owners.first().map_or(zero, |&k| alone[k][i]);
        assert_eq!(z, want, "RE {i}");
    }
    assert!(tx.grid().as_slice().iter().filter(|z| **z != zero).count() > 1000);
}
