//! The uplink slot job with its split PUSCH stages (channel estimation per
//! DM-RS position, detection per block of symbols, LDPC per group of code
//! blocks, each on any worker) gives exactly what one whole-PUSCH receiver
//! gives, with 1, 2 or 3 workers and several slots in flight, including two
//! PUSCHs on one receiver in a slot, a 2-layer PUSCH with data beside its
//! DM-RS on three DM-RS positions, and HARQ retransmissions in the slot
//! after their first transmission (decodable only combined with it); and
//! two slots inside the PUSCH stages at once (their front stages
//! interleaved) decode as the whole receiver does.

use num_complex::Complex32;
use ranlab_phy::numerology::{CyclicPrefix, Numerology, Scs};
use ranlab_phy::ofdm::OfdmOptions;
use ranlab_phy::pdu::{DmrsConfig, DmrsPorts, DmrsType, PuschPdu};
use ranlab_phy::pipeline::uplink::{UplinkJob, CBS_PER_TASK};
use ranlab_phy::pipeline::{Pipeline, PipelineConfig, SlotJob};
use ranlab_phy::pusch::{PuschReceiver, PuschRxConfig, PuschTransmitter};
use std::sync::Arc;
use std::time::{Duration, Instant};

mod common;

const N_RX: usize = 2;
const SLOT: u32 = 3;

fn pdu(rnti: u16, prb_start: u16, n_prb: u16, mcs: u8, harq_id: u8) -> PuschPdu {
    common::one_layer_pusch(rnti, 7, SLOT as u16, prb_start, n_prb, mcs, harq_id)
}

/// A small deterministic noise source (xorshift), roughly uniform in ±a.
struct Noise(u64);
impl Noise {
    fn next(&mut self, a: f32) -> f32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        ((self.0 >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0) * a
    }
}

#[test]
fn split_uplink_stages_equal_the_whole_receiver() {
    let num = Numerology::new(Scs::Khz30, CyclicPrefix::Normal, 80, None).expect("numerology");
    let len = num.slot_len(SLOT);
    let ofdm = OfdmOptions::default();
    let mut cfg = PuschRxConfig::new(N_RX, 2);
    cfg.harq_buffers = 16 * 4;
    // A 2-layer 16QAM PUSCH on DM-RS ports 0 and 1 (CDM group 0) with data
    // in CDM group 1 of its three DM-RS symbols (TS 38.211 §6.4.1.1.3).
    let two_layers = PuschPdu {
        num_layers: 2,
        dmrs: DmrsConfig {
            config_type: DmrsType::Type1,
            type_a_position: 2,
            additional_position: 2,
            length: 1,
            ports: DmrsPorts::from([0, 1]),
            cdm_groups_without_data: 1,
            scrambling_id: 7,
            n_scid: 0,
        },
        ..pdu(0x103, 52, 28, 14, 0)
    };
    // One large 64QAM PUSCH (several code blocks), two small ones and the 2-layer one.
    let base = [
        pdu(0x100, 0, 36, 20, 0),
        pdu(0x101, 36, 8, 10, 0),
        pdu(0x102, 44, 8, 12, 0),
        two_layers,
    ];
    // Layer j reaches antenna a with gain mix[a][j].
    let mix = [
        [Complex32::new(1.0, 0.0), Complex32::new(0.3, 0.2)],
        [Complex32::new(-0.2, 0.4), Complex32::new(0.9, -0.1)],
    ];
    // The slot's samples when every PUSCH sends rv 0, 38 dB weaker (too weak
    // to decode alone), and when every PUSCH retransmits at rv 2.
    let mut received = Vec::new();
    let mut noise = Noise(0x9E37_79B9_7F4A_7C15);
    for (rv, gain) in [(0u8, 0.012f32), (2, 1.0)] {
        let mut rx = vec![vec![Complex32::default(); len]; N_RX];
        for (k, p) in base.iter().enumerate() {
            let p = &PuschPdu { rv, ..p.clone() };
            let layers = p.num_layers as usize;
            let mut tx = PuschTransmitter::new(num, layers, ofdm).expect("transmitter");
            let plan = tx.plan(p).expect("plan");
            if k == 0 {
                assert!(
                    plan.tb.num_cb() > CBS_PER_TASK,
                    "{} code blocks",
                    plan.tb.num_cb()
                );
            }
            let tb: Vec<u8> = (0..plan.tbs).map(|i| ((i * 5 + k) % 7 < 3) as u8).collect();
            tx.transmit(p, &tb).expect("encode");
            let mut out = vec![vec![Complex32::default(); len]; layers];
            let mut views: Vec<&mut [Complex32]> = out.iter_mut().map(|o| &mut o[..]).collect();
            tx.modulate(SLOT, &mut views).expect("modulate");
            for (a, r) in rx.iter_mut().enumerate() {
                for (j, o) in out.iter().enumerate() {
                    let g = gain
                        * if layers == 1 {
                            Complex32::new(1.0, 0.0)
                        } else {
                            mix[a][j]
                        };
                    r.iter_mut().zip(o).for_each(|(r, x)| *r += g * x);
                }
            }
        }
        for a in &mut rx {
            for x in a.iter_mut() {
                *x += Complex32::new(noise.next(0.02), noise.next(0.02));
            }
        }
        received.push(rx);
    }
    // Slot s uses HARQ process (s / 2) % 4 for every PDU: new data at rv 0
    // in even slots, its retransmission at rv 2 in the next (odd) slot, which
    // decodes only combined with the first (HARQ state carried from one
    // pipeline slot to the next while both are in flight).
    let slot_pdus = |s: usize| -> Vec<PuschPdu> {
        base.iter()
            .map(|p| PuschPdu {
                harq_id: (s / 2 % 4) as u8,
                new_data: s.is_multiple_of(2),
                rv: if s.is_multiple_of(2) { 0 } else { 2 },
                ..p.clone()
            })
            .collect()
    };
    let samples =
        |s: usize| -> Vec<&[Complex32]> { received[s % 2].iter().map(|a| &a[..len]).collect() };
    for s in [0, 1] {
        let mut lone = PuschReceiver::new(num, cfg).expect("receiver");
        let r = lone.process_samples(&slot_pdus(s)[0], &samples(s));
        assert!(
            !r.expect("process").crc_ok,
            "slot {s}: one rv alone must not decode"
        );
    }
    const SLOTS: usize = 6;
    // The reference: one receiver, whole PUSCHs in order.
    let mut whole = PuschReceiver::new(num, cfg).expect("receiver");
    let mut expect = Vec::new();
    for s in 0..SLOTS {
        for p in slot_pdus(s) {
            let r = whole.process_samples(&p, &samples(s)).expect("process");
            let plan = whole.plan(&p).expect("plan");
            // rv 0 alone fails; combined with rv 2 the TB decodes.
            assert_eq!(r.crc_ok, s % 2 == 1, "reference, slot {s}: {r:?}");
            expect.push((format!("{r:?}"), whole.transport_block(&plan).to_vec()));
        }
    }
    // Two slots in the PUSCH stages at once, stage by stage by hand: slot 1
    // (the retransmissions) runs its front stages between slot 0's (each
    // slot has its own front ends), then slot 0 and slot 1 decode in order.
    {
        let job = UplinkJob::with_receivers(num, cfg, ofdm, 1, 4).expect("job");
        let slots = [job.new_slot(4), job.new_slot(4)];
        for (s, slot) in slots.iter().enumerate() {
            let mut r = slot.rx.write().unwrap();
            for (d, a) in r.iter_mut().zip(&received[s % 2]) {
                d[..len].copy_from_slice(a);
            }
            drop(r);
            slot.set_pdus(&job, SLOT, &slot_pdus(s)).expect("fits");
        }
        let run = |slot: &ranlab_phy::pipeline::uplink::UplinkSlot, stage: &str| {
            let i = job.stages().iter().position(|s| *s == stage).expect(stage);
            for t in 0..job.task_count(slot, i) {
                job.run_task(slot, i, t);
            }
        };
        let front = [
            "ofdm",
            "pusch-plan",
            "chest-ls",
            "chest-interp",
            "chest-combine",
            "detect",
        ];
        for stage in front {
            run(&slots[0], stage);
            run(&slots[1], stage);
        }
        for slot in &slots {
            for stage in ["harq", "ldpc", "pusch-finish"] {
                run(slot, stage);
            }
        }
        let mut got = Vec::new();
        for slot in &slots {
            for k in 0..slot.n_pdus() {
                let ind = slot.indications[k].lock().unwrap();
                let r = ind.result.as_ref().expect("processed");
                got.push((format!("{r:?}"), ind.tb.clone()));
            }
        }
        assert_eq!(got.len(), 8);
        for (k, (g, e)) in got.iter().zip(&expect).enumerate() {
            assert_eq!(g.0, e.0, "interleaved slots, PUSCH {k}");
            assert!(
                g.1 == e.1,
                "interleaved slots, PUSCH {k}: the TB bits differ"
            );
        }
    }
    // (workers, receivers): the default workers + 1, and one receiver per
    // PUSCH (every PUSCH through the split stages).
    for (workers, receivers) in [(1, 2), (2, 3), (3, 4), (2, 4)] {
        let job =
            Arc::new(UplinkJob::with_receivers(num, cfg, ofdm, workers, receivers).expect("job"));
        // RNTIs get receivers in first-seen order, fewest RNTIs first (as
        // `set_pdus` would give them): with 2 receivers 0x100 and 0x102
        // share receiver 0, so one PUSCH of it is received whole.
        let r: Vec<usize> = base.iter().map(|p| job.receiver_of(p.rnti)).collect();
        if receivers == 2 {
            assert_eq!(r, [0, 1, 0, 1]);
        }
        if receivers == 4 {
            assert_eq!(r, [0, 1, 2, 3]);
        }
        let pool = (0..3).map(|_| job.new_slot(4)).collect();
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
        // Start every slot as soon as a buffer is free; take results in start order.
        let mut order = std::collections::VecDeque::new();
        let mut got = Vec::new();
        let mut max_in_flight = 0;
        for s in 0..SLOTS {
            let i = loop {
                if let Ok(i) = p.acquire() {
                    break i;
                }
                let j = order.pop_front().expect("a started slot");
                assert!(p.wait_completed(j, Duration::from_secs(20)));
                take(&p, j, &mut got);
            };
            {
                let mut r = p.slot(i).rx.write().unwrap();
                for (d, a) in r.iter_mut().zip(&received[s % 2]) {
                    d[..len].copy_from_slice(a);
                }
            }
            p.slot(i)
                .set_pdus(p.job(), SLOT, &slot_pdus(s))
                .expect("fits");
            p.start(i, Instant::now());
            order.push_back(i);
            max_in_flight = max_in_flight.max(p.in_flight());
        }
        while let Some(j) = order.pop_front() {
            assert!(p.wait_completed(j, Duration::from_secs(20)));
            take(&p, j, &mut got);
        }
        assert!(max_in_flight > 1, "slots overlapped");
        assert_eq!(got.len(), expect.len());
        for (k, (g, e)) in got.iter().zip(&expect).enumerate() {
            let case = format!("PUSCH {k}, {workers} workers, {receivers} receivers");
            assert_eq!(g.0, e.0, "{case}");
            assert!(g.1 == e.1, "{case}: the TB bits differ");
        }
        let m = p.metrics();
        let stage = |name: &str| {
            let i = p.job().stages().iter().position(|s| *s == name);
            m.task_time[i.expect(name)].count()
        };
        let slots = SLOTS as u64;
        // The ldpc stage ran more than one task per slot (the large TB spread),
        // chest one per DM-RS position (2 for each one-layer PUSCH, 3 for the
        // 2-layer one, on the receivers' last PUSCHs) and detect one per 4 symbols.
        assert!(stage("ldpc") > slots);
        assert!(stage("chest-ls") >= 4 * slots, "{}", stage("chest-ls"));
        assert_eq!(stage("chest-ls"), stage("chest-interp"));
        assert!(stage("detect") >= 2 * 4 * slots, "{}", stage("detect"));
    }
}

fn take(p: &Pipeline<UplinkJob>, i: usize, got: &mut Vec<(String, Vec<u8>)>) {
    let slot = p.slot(i);
    for k in 0..slot.n_pdus() {
        let ind = slot.indications[k].lock().unwrap();
        let r = ind.result.as_ref().expect("processed");
        got.push((format!("{r:?}"), ind.tb.clone()));
    }
    p.release(i);
}

#[test]
fn rntis_spread_evenly_over_receivers_whatever_their_values() {
    let num = Numerology::new(Scs::Khz30, CyclicPrefix::Normal, 80, None).expect("numerology");
    let cfg = PuschRxConfig::new(N_RX, 1);
    let job =
        Arc::new(UplinkJob::with_receivers(num, cfg, OfdmOptions::default(), 1, 4).expect("job"));
    // Equal modulo 4: a modulo map would send all four to one receiver.
    // Eight threads ask at once; each RNTI gets one receiver for all.
    let rntis = [0x4000u16, 0x4004, 0x4008, 0x400c];
    let answers: Vec<Vec<usize>> = std::thread::scope(|sc| {
        let hs: Vec<_> = (0..8)
            .map(|_| sc.spawn(|| rntis.iter().map(|&r| job.receiver_of(r)).collect()))
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(answers.windows(2).all(|w| w[0] == w[1]), "{answers:?}");
    let mut r = answers[0].clone();
    r.sort();
    assert_eq!(r, [0, 1, 2, 3]);
    // Kept from then on; the next new RNTI goes to the lowest of the least loaded.
    assert_eq!(job.receiver_of(rntis[2]), answers[0][2]);
    assert_eq!(job.receiver_of(0x0001), 0);
    assert_eq!(job.receiver_of(0xffff), 1);
    // set_pdus assigns in PDU order.
    let slot = job.new_slot(2);
    slot.set_pdus(
        &job,
        SLOT,
        &[pdu(0x0203, 0, 8, 4, 0), pdu(0x0207, 8, 8, 4, 0)],
    )
    .expect("fits");
    assert_eq!(job.receiver_of(0x0203), 2);
    assert_eq!(job.receiver_of(0x0207), 3);
}
