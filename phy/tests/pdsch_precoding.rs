//! PDSCH precoding per PRG onto the gNB's antennas (TS 38.211 §7.3.1.5,
//! TS 38.214 §5.1.2.3): the identity precoder gives what no precoder gives,
//! bit for bit; the precoded grid is `W x` with the matrix of each RE's PRG
//! (partial first PRGs included); the kernel's SIMD forms agree with the
//! scalar one; bad precoders are refused; the downlink slot job with
//! precoders gives the transmitter's samples bit for bit (1, 2, 3 workers);
//! and over known channels ZF precoders from `Precoder` let two
//! single-antenna UEs co-scheduled on the same PRBs (DM-RS ports of two CDM
//! groups) and one 2-antenna UE of 2 layers from 4 antennas decode.
#![allow(clippy::needless_range_loop)] // antenna loops index several per-antenna vectors

use num_complex::Complex32;
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use ranlab_phy::mimo::{
    precode_add, PowerNorm, Precoder, PrecoderKind, PrecodingError, PrgPrecoder, PrgSize,
};
use ranlab_phy::numerology::{CyclicPrefix, Numerology, Scs};
use ranlab_phy::ofdm::OfdmOptions;
use ranlab_phy::pdsch::{PdschPdu, PdschReceiver, PdschTransmitter};
use ranlab_phy::pipeline::downlink::DownlinkJob;
use ranlab_phy::pipeline::{Pipeline, PipelineConfig};
use ranlab_phy::pusch::{PuschError, PuschRxConfig};
use ranlab_phy::simd::SimdLevel;
use std::sync::Arc;
use std::time::{Duration, Instant};

mod common;

const N_TX: usize = 4;

fn rng(seed: u64) -> Xoshiro256PlusPlus {
    Xoshiro256PlusPlus::seed_from_u64(seed)
}

/// Circularly-symmetric complex Gaussian of variance `var` (Box-Muller).
fn cn(r: &mut Xoshiro256PlusPlus, var: f32) -> Complex32 {
    let u1: f32 = r.gen::<f32>().max(1e-12);
    let u2: f32 = r.gen();
    let m = (-var * u1.ln()).sqrt();
    let a = 2.0 * std::f32::consts::PI * u2;
    Complex32::new(m * a.cos(), m * a.sin())
}

fn bits(x: &[Complex32]) -> Vec<(u32, u32)> {
    x.iter().map(|z| (z.re.to_bits(), z.im.to_bits())).collect()
}

fn tb(seed: usize, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| ((i * 13 + seed * 5) % 7 < 3) as u8)
        .collect()
}

fn num52() -> Numerology {
    Numerology::new(Scs::Khz30, CyclicPrefix::Normal, 52, None).expect("numerology")
}

/// A random precoder of `layers` layers for PRBs `prbs` with PRG size `prg`.
fn random_precoder(
    seed: u64,
    layers: usize,
    prg: PrgSize,
    prbs: std::ops::Range<usize>,
) -> PrgPrecoder {
    let g = prg.covering(prbs);
    let mut r = rng(seed);
    let w = (0..N_TX * layers * g.len())
        .map(|_| cn(&mut r, 0.5))
        .collect();
    PrgPrecoder::from_weights(N_TX, layers, prg, g.start, w).expect("precoder")
}

/// Slot PDSCHs with precoders: disjoint ones of 1-3 layers with PRGs of 2,
/// 4 and wideband (odd first PRBs: partial first PRGs), an unprecoded one,
/// and an MU pair on the same PRBs (ports 0 and 2).
fn precoded_slots() -> Vec<(Vec<PdschPdu>, Vec<Option<PrgPrecoder>>)> {
    let mu = |rnti, port: u8| {
        let mut p = common::pdsch(rnti, 4, 30, 22, 12, 1, 1);
        p.dmrs.ports = [port].into();
        p
    };
    vec![
        (
            vec![common::pdsch(0x4601, 1, 0, 52, 27, 2, 0)],
            vec![Some(random_precoder(1, 2, PrgSize::Two, 0..52))],
        ),
        (
            vec![
                common::pdsch(0x4603, 2, 1, 19, 10, 1, 0),
                common::pdsch(0x4604, 2, 20, 17, 15, 2, 0),
                common::pdsch(0x4605, 2, 37, 15, 22, 3, 0),
            ],
            vec![
                Some(random_precoder(2, 1, PrgSize::Two, 1..20)),
                Some(random_precoder(3, 2, PrgSize::Four, 20..37)),
                Some(random_precoder(4, 3, PrgSize::Wideband, 37..52)),
            ],
        ),
        (
            vec![
                common::pdsch(0x4606, 3, 0, 30, 20, 2, 0),
                mu(0x4607, 0),
                mu(0x4608, 2),
            ],
            vec![
                None,
                Some(random_precoder(5, 1, PrgSize::Two, 30..52)),
                Some(random_precoder(6, 1, PrgSize::Two, 30..52)),
            ],
        ),
    ]
}

/// The transmitter's samples of a slot on every antenna.
fn transmit(
    tx: &mut PdschTransmitter,
    pdus: &[PdschPdu],
    tbs: &[Vec<u8>],
    pre: &[Option<&PrgPrecoder>],
) -> Vec<Vec<Complex32>> {
    tx.transmit_precoded(&pdus[0], &tbs[0], pre[0])
        .expect("transmit");
    for k in 1..pdus.len() {
        tx.transmit_add_precoded(&pdus[k], &tbs[k], pre[k])
            .expect("transmit_add");
    }
    let slot = pdus[0].slot as u32;
    let len = tx.numerology().slot_len(slot);
    let mut out = vec![vec![Complex32::default(); len]; tx.n_tx()];
    let mut views: Vec<&mut [Complex32]> = out.iter_mut().map(|a| &mut a[..]).collect();
    tx.modulate(slot, &mut views).expect("modulate");
    out
}

#[test]
fn identity_precoder_equals_no_precoder_bit_for_bit() {
    let num = num52();
    let mut tx = PdschTransmitter::new(num, N_TX, OfdmOptions::default()).expect("tx");
    for (pdus, _) in precoded_slots().iter().take(2) {
        let tbs: Vec<Vec<u8>> = pdus
            .iter()
            .enumerate()
            .map(|(k, p)| tb(k, tx.plan(p).expect("plan").tbs))
            .collect();
        let ids: Vec<PrgPrecoder> = pdus
            .iter()
            .map(|p| PrgPrecoder::identity(N_TX, p.num_layers as usize).expect("identity"))
            .collect();
        let none = vec![None; pdus.len()];
        let plain = transmit(&mut tx, pdus, &tbs, &none);
        let plain_grid = bits(tx.grid().as_slice());
        let some: Vec<Option<&PrgPrecoder>> = ids.iter().map(Some).collect();
        let precoded = transmit(&mut tx, pdus, &tbs, &some);
        assert!(plain_grid == bits(tx.grid().as_slice()), "grids differ");
        for a in 0..N_TX {
            assert!(bits(&plain[a]) == bits(&precoded[a]), "antenna {a}");
        }
        assert!(plain[0].iter().any(|z| z.norm_sqr() > 0.0));
        // The slot job with identity precoders gives the same samples.
        let job = DownlinkJob::new(num, N_TX, OfdmOptions::default(), 1).expect("job");
        let slot = job.new_slot(3);
        let tb_refs: Vec<&[u8]> = tbs.iter().map(|t| &t[..]).collect();
        slot.set_pdus_precoded(&job, pdus[0].slot as u32, pdus, &tb_refs, &some)
            .expect("valid");
        run_inline(&job, &slot);
        let s = slot.samples();
        for a in 0..N_TX {
            assert!(bits(s.antenna(a)) == bits(&plain[a]), "job antenna {a}");
        }
    }
}

/// Runs every task of `slot` on this thread, stage by stage.
fn run_inline(job: &DownlinkJob, slot: &ranlab_phy::pipeline::downlink::DownlinkSlot) {
    use ranlab_phy::pipeline::SlotJob;
    for stage in 0..job.stages().len() {
        for t in 0..job.task_count(slot, stage) {
            job.run_task(slot, stage, t);
        }
    }
}

/// Every RE of a precoded PDSCH is `W x` with its PRG's `W`, `x` the
/// unprecoded layers; REs outside the allocation stay empty.
#[test]
fn precoded_grid_is_w_times_the_layers_of_each_prg() {
    let num = num52();
    let mut tx = PdschTransmitter::new(num, N_TX, OfdmOptions::default()).expect("tx");
    let n_sc = num.n_sc();
    for (prg, prbs, layers) in [
        (PrgSize::Two, 3..26, 2usize),
        (PrgSize::Four, 5..48, 3),
        (PrgSize::Wideband, 10..20, 1),
        (PrgSize::Two, 0..52, 4),
    ] {
        let pdu = common::pdsch(
            0x4700,
            6,
            prbs.start as u16,
            prbs.len() as u16,
            17,
            layers as u8,
            0,
        );
        let t = tb(9, tx.plan(&pdu).expect("plan").tbs);
        let x = tx.transmit(&pdu, &t).expect("plain").1.clone();
        let p = random_precoder(40 + layers as u64, layers, prg, prbs.clone());
        let y = tx
            .transmit_precoded(&pdu, &t, Some(&p))
            .expect("precoded")
            .1;
        let p_size = prg.prbs();
        for l in 0..14 {
            for k in 0..n_sc {
                let prb = k / 12;
                let inside = prbs.contains(&prb);
                let g = p_size.map_or(0, |s| prb / s);
                for a in 0..N_TX {
                    let want: Complex32 = if inside {
                        (0..layers)
                            .map(|j| p.weight(a, j, g) * x.get(j, l, k))
                            .sum()
                    } else {
                        Complex32::default()
                    };
                    let got = y.get(a, l, k);
                    assert!(
                        (got - want).norm() <= 1e-5 * (1.0 + want.norm()),
                        "{prg:?} antenna {a} symbol {l} subcarrier {k}: {got} vs {want}"
                    );
                }
            }
        }
        assert!((0..N_TX).all(|a| y.port(a).iter().any(|z| z.norm_sqr() > 0.0)));
    }
}

/// The SIMD forms of the accumulating kernel agree with the scalar one
/// (to rounding: the scalar twin need not fuse its multiply-adds), over odd
/// spans, partial vectors and dirty outputs, and with the formula in f64.
#[test]
fn precode_add_simd_agrees_with_scalar() {
    let mut r = rng(77);
    let levels = SimdLevel::supported();
    if !levels.contains(&SimdLevel::Avx512) {
        println!("precode_add: AVX-512 not supported by this CPU, its twin check skipped");
    }
    for &(n_ports, n_layers, ng) in &[(4usize, 2usize, 5usize), (8, 4, 3), (64, 16, 2), (3, 1, 4)] {
        let n = 333;
        let x: Vec<Vec<Complex32>> = (0..n_layers)
            .map(|_| (0..n).map(|_| cn(&mut r, 1.0)).collect())
            .collect();
        let w: Vec<Complex32> = (0..n_ports * n_layers * ng)
            .map(|_| cn(&mut r, 1.0))
            .collect();
        let dirty: Vec<Vec<Complex32>> = (0..n_ports)
            .map(|_| (0..n).map(|_| cn(&mut r, 1.0)).collect())
            .collect();
        let spans = [(0, 0..37), (1, 37..100), (ng - 1, 100..333), (0, 200..217)];
        let mut outs = Vec::new();
        for &level in &levels {
            let mut out = dirty.clone();
            let xs: Vec<&[Complex32]> = x.iter().map(|p| &p[..]).collect();
            let mut os: Vec<&mut [Complex32]> = out.iter_mut().map(|p| &mut p[..]).collect();
            precode_add(level, &xs, &w, ng, spans.iter().cloned(), &mut os).expect("precode_add");
            outs.push(out);
        }
        for o in &outs[1..] {
            for p in 0..n_ports {
                for re in 0..n {
                    let (a, b) = (o[p][re], outs[0][p][re]);
                    assert!(
                        (a - b).norm() <= 1e-5 * (1.0 + b.norm()),
                        "port {p} re {re}"
                    );
                }
            }
        }
        // And against the formula, in f64.
        let o = &outs[0];
        for p in 0..n_ports {
            for re in 0..n {
                let mut want =
                    num_complex::Complex64::new(dirty[p][re].re as f64, dirty[p][re].im as f64);
                for &(g, ref s) in &spans {
                    if s.contains(&re) {
                        for l in 0..n_layers {
                            let c = w[(p * n_layers + l) * ng + g] * x[l][re];
                            want += num_complex::Complex64::new(c.re as f64, c.im as f64);
                        }
                    }
                }
                let got = num_complex::Complex64::new(o[p][re].re as f64, o[p][re].im as f64);
                assert!(
                    (got - want).norm() < 1e-4 * (1.0 + want.norm()),
                    "port {p} re {re}"
                );
            }
        }
    }
    // A span beyond the planes is refused before anything is written.
    let x = [Complex32::new(1.0, 0.0); 10];
    let mut o = [Complex32::default(); 10];
    let e = precode_add(
        SimdLevel::detect(),
        &[&x[..]],
        &[Complex32::new(1.0, 0.0)],
        1,
        [(0, 5..11)],
        &mut [&mut o[..]],
    );
    assert!(e.is_err());
    assert!(o.iter().all(|z| *z == Complex32::default()));
}

#[test]
fn bad_precoders_are_refused_with_a_reason() {
    let num = num52();
    let mut tx = PdschTransmitter::new(num, N_TX, OfdmOptions::default()).expect("tx");
    let pdu = common::pdsch(0x4701, 2, 10, 20, 10, 2, 0);
    let t = tb(1, tx.plan(&pdu).expect("plan").tbs);
    let job = DownlinkJob::new(num, N_TX, OfdmOptions::default(), 1).expect("job");
    let slot = job.new_slot(2);
    let cases: Vec<(PrgPrecoder, &str)> = vec![
        (random_precoder(1, 1, PrgSize::Two, 10..30), "layers"),
        (
            PrgPrecoder::new(2, 2, PrgSize::Wideband, 0, 1).expect("2 antennas"),
            "antennas",
        ),
        (random_precoder(2, 2, PrgSize::Two, 10..28), "cover"),
        (random_precoder(3, 2, PrgSize::Four, 12..30), "cover"),
    ];
    for (p, why) in &cases {
        let e = tx
            .transmit_precoded(&pdu, &t, Some(p))
            .map(|_| ())
            .unwrap_err();
        assert!(matches!(e, PuschError::Precoding(_)), "{e}");
        assert!(e.to_string().contains(why), "{e} ({why})");
        let e = slot
            .set_pdus_precoded(&job, 2, std::slice::from_ref(&pdu), &[&t], &[Some(p)])
            .unwrap_err();
        assert!(e.to_string().contains(why), "{e} ({why})");
        assert_eq!(slot.n_pdus(), 0);
    }
    // More precoders than PDSCHs, and malformed weights.
    let ok = random_precoder(4, 2, PrgSize::Two, 10..30);
    assert!(slot
        .set_pdus_precoded(
            &job,
            2,
            std::slice::from_ref(&pdu),
            &[&t],
            &[Some(&ok), None]
        )
        .is_err());
    assert!(matches!(
        PrgPrecoder::from_weights(4, 2, PrgSize::Two, 0, vec![Complex32::default(); 7]),
        Err(PrecodingError::Weights { .. })
    ));
    assert!(PrgPrecoder::new(2, 3, PrgSize::Two, 0, 4).is_err());
    assert!(PrgPrecoder::new(4, 1, PrgSize::Wideband, 0, 2).is_err());
    // The good one is taken.
    slot.set_pdus_precoded(&job, 2, std::slice::from_ref(&pdu), &[&t], &[Some(&ok)])
        .expect("valid");
    assert_eq!(slot.n_pdus(), 1);
}

#[test]
fn downlink_job_with_precoders_equals_the_transmitter_bit_for_bit() {
    let num = num52();
    let ofdm = OfdmOptions::default();
    let slots = precoded_slots();
    let mut tx = PdschTransmitter::new(num, N_TX, ofdm).expect("tx");
    let mut expect = Vec::new();
    let mut tbs_all = Vec::new();
    for (s, (pdus, pre)) in slots.iter().enumerate() {
        let tbs: Vec<Vec<u8>> = pdus
            .iter()
            .enumerate()
            .map(|(k, p)| tb(s * 3 + k, tx.plan(p).expect("plan").tbs))
            .collect();
        let refs: Vec<Option<&PrgPrecoder>> = pre.iter().map(|p| p.as_ref()).collect();
        let out = transmit(&mut tx, pdus, &tbs, &refs);
        for a in 0..N_TX {
            assert!(
                out[a].iter().any(|z| z.norm_sqr() > 0.0),
                "slot {s} antenna {a} silent"
            );
        }
        expect.push(out.iter().map(|a| bits(a)).collect::<Vec<_>>());
        tbs_all.push(tbs);
    }
    for workers in [1, 2, 3] {
        let job = Arc::new(DownlinkJob::new(num, N_TX, ofdm, workers).expect("job"));
        let pool = (0..2).map(|_| job.new_slot(3)).collect();
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
        // Twice over, so pooled slots are reused with other precoders.
        for round in 0..2 {
            for (s, (pdus, pre)) in slots.iter().enumerate() {
                let i = p.acquire().expect("one slot at a time");
                let tbs: Vec<&[u8]> = tbs_all[s].iter().map(|t| &t[..]).collect();
                let refs: Vec<Option<&PrgPrecoder>> = pre.iter().map(|p| p.as_ref()).collect();
                p.slot(i)
                    .set_pdus_precoded(&job, pdus[0].slot as u32, pdus, &tbs, &refs)
                    .expect("valid");
                p.start(i, Instant::now());
                assert!(p.wait_completed(i, Duration::from_secs(20)));
                let st = p.slot(i);
                assert!(st.error().is_none(), "{:?}", st.error());
                let samples = st.samples();
                for a in 0..N_TX {
                    assert!(
                        bits(samples.antenna(a)) == expect[s][a],
                        "slot {s} antenna {a}, {workers} workers, round {round}"
                    );
                }
                drop(samples);
                p.release(i);
            }
        }
    }
}

/// Sums `h[a] * x[a]` over antennas plus noise of variance `noise` per sample.
fn through(
    h: &[Complex32],
    x: &[Vec<Complex32>],
    noise: f32,
    r: &mut Xoshiro256PlusPlus,
) -> Vec<Complex32> {
    (0..x[0].len())
        .map(|t| {
            let s: Complex32 = h.iter().zip(x).map(|(g, a)| g * a[t]).sum();
            s + cn(r, noise)
        })
        .collect()
}

/// Noise for `snr_db` against the mean power of `x`'s non-zero samples.
fn noise_for(x: &[Complex32], snr_db: f32) -> f32 {
    let on: Vec<f32> = x
        .iter()
        .map(|z| z.norm_sqr())
        .filter(|&p| p > 0.0)
        .collect();
    on.iter().sum::<f32>() / on.len().max(1) as f32 / 10f32.powf(snr_db / 10.0)
}

/// 4 gNB antennas, two single-antenna UEs on the same 24 PRBs (DM-RS port
/// 0, CDM group 0, and port 2, CDM group 1), a known flat channel, ZF
/// precoders per PRG of 2 PRBs from `Precoder`: each UE decodes its own TB.
/// Without precoding (both layers on antenna 0) UE 0 does not.
#[test]
fn mu_mimo_zf_two_single_antenna_ues_decode() {
    let num = Numerology::new(Scs::Khz30, CyclicPrefix::Normal, 24, None).expect("numerology");
    let mut r = rng(2024);
    // g[u][a]: antenna a to UE u (downlink). The precoder takes the uplink
    // estimate H (n_tx x users) = g^T by reciprocity.
    let g: Vec<Vec<Complex32>> = (0..2)
        .map(|_| (0..N_TX).map(|_| cn(&mut r, 1.0)).collect())
        .collect();
    let prgs = PrgSize::Two.covering(0..24);
    let ng = prgs.len();
    let mut h = vec![Complex32::default(); N_TX * 2 * ng];
    for a in 0..N_TX {
        for u in 0..2 {
            for k in 0..ng {
                h[(a * 2 + u) * ng + k] = g[u][a];
            }
        }
    }
    let zf = Precoder::new(N_TX, 2, PrecoderKind::Zf, PowerNorm::PerUser).expect("precoder");
    let mut w = vec![Complex32::default(); h.len()];
    zf.compute(&h, &mut w).expect("zf");
    let pre: Vec<PrgPrecoder> = (0..2)
        .map(|u| {
            let mut p = PrgPrecoder::new(N_TX, 1, PrgSize::Two, prgs.start, ng).expect("prg");
            p.set_columns(&w, 2, u).expect("column");
            p
        })
        .collect();
    let pdus: Vec<PdschPdu> = [(0x4801u16, 0u8), (0x4802, 2)]
        .iter()
        .map(|&(rnti, port)| {
            let mut p = common::pdsch(rnti, 5, 0, 24, 15, 1, 0);
            p.dmrs.ports = [port].into();
            p
        })
        .collect();
    let mut tx = PdschTransmitter::new(num, N_TX, OfdmOptions::default()).expect("tx");
    let tbs: Vec<Vec<u8>> = pdus
        .iter()
        .enumerate()
        .map(|(k, p)| tb(20 + k, tx.plan(p).expect("plan").tbs))
        .collect();
    let decode = |x: &[Vec<Complex32>], r: &mut Xoshiro256PlusPlus| -> Vec<bool> {
        (0..2)
            .map(|u| {
                let noise = noise_for(&through(&g[u], x, 0.0, r), 30.0);
                let y = through(&g[u], x, noise, r);
                let mut rx = PdschReceiver::new(num, PuschRxConfig::new(1, 1)).expect("rx");
                let res = rx.process_samples(&pdus[u], &[&y[..]]).expect("receive");
                let plan = rx.plan(&pdus[u]).expect("plan");
                res.crc_ok && rx.transport_block(&plan) == &tbs[u][..]
            })
            .collect()
    };
    let x = transmit(&mut tx, &pdus, &tbs, &[Some(&pre[0]), Some(&pre[1])]);
    assert_eq!(decode(&x, &mut r), vec![true, true], "ZF: each UE decodes");
    // The same slot from the pipelined job.
    let job = DownlinkJob::new(num, N_TX, OfdmOptions::default(), 1).expect("job");
    let slot = job.new_slot(2);
    let tb_refs: Vec<&[u8]> = tbs.iter().map(|t| &t[..]).collect();
    slot.set_pdus_precoded(&job, 5, &pdus, &tb_refs, &[Some(&pre[0]), Some(&pre[1])])
        .expect("valid");
    run_inline(&job, &slot);
    let s = slot.samples();
    for a in 0..N_TX {
        assert!(bits(s.antenna(a)) == bits(&x[a]), "job antenna {a}");
    }
    drop(s);
    // Unprecoded, both PDSCHs land on antenna 0 and collide.
    let plain = transmit(&mut tx, &pdus, &tbs, &[None, None]);
    assert!(plain[1].iter().all(|z| z.norm_sqr() == 0.0));
    assert!(
        !decode(&plain, &mut r)[0],
        "without precoding UE 0 must fail"
    );
}

/// 4 gNB antennas, one 2-antenna UE, 2 layers with ZF precoders per PRG of
/// 4 PRBs: antennas 2 and 3 carry signal (they are silent without a
/// precoder) and the UE decodes.
#[test]
fn su_mimo_two_layers_from_four_antennas_decode() {
    let num = Numerology::new(Scs::Khz30, CyclicPrefix::Normal, 24, None).expect("numerology");
    let mut r = rng(99);
    // g[u][a]: gNB antenna a to UE antenna u.
    let g: Vec<Vec<Complex32>> = (0..2)
        .map(|_| (0..N_TX).map(|_| cn(&mut r, 1.0)).collect())
        .collect();
    let prgs = PrgSize::Four.covering(0..24);
    let ng = prgs.len();
    let mut p = PrgPrecoder::new(N_TX, 2, PrgSize::Four, prgs.start, ng).expect("prg");
    let mut h = vec![Complex32::default(); N_TX * 2 * ng];
    for a in 0..N_TX {
        for u in 0..2 {
            for k in 0..ng {
                h[(a * 2 + u) * ng + k] = g[u][a];
            }
        }
    }
    let zf = Precoder::new(N_TX, 2, PrecoderKind::Zf, PowerNorm::PerUser).expect("precoder");
    // Used directly: the layers are the precoder's users.
    zf.compute(&h, p.weights_mut()).expect("zf");
    let pdu = common::pdsch(0x4901, 7, 0, 24, 20, 2, 0);
    let mut tx = PdschTransmitter::new(num, N_TX, OfdmOptions::default()).expect("tx");
    let t = tb(31, tx.plan(&pdu).expect("plan").tbs);
    let plain = transmit(
        &mut tx,
        std::slice::from_ref(&pdu),
        std::slice::from_ref(&t),
        &[None],
    );
    assert!(plain[2]
        .iter()
        .chain(&plain[3])
        .all(|z| z.norm_sqr() == 0.0));
    let x = transmit(
        &mut tx,
        std::slice::from_ref(&pdu),
        std::slice::from_ref(&t),
        &[Some(&p)],
    );
    for a in 0..N_TX {
        assert!(
            x[a].iter().any(|z| z.norm_sqr() > 1e-6),
            "antenna {a} silent"
        );
    }
    let ys: Vec<Vec<Complex32>> = (0..2)
        .map(|u| {
            let noise = noise_for(&through(&g[u], &x, 0.0, &mut r), 30.0);
            through(&g[u], &x, noise, &mut r)
        })
        .collect();
    let mut rx = PdschReceiver::new(num, PuschRxConfig::new(2, 2)).expect("rx");
    let res = rx
        .process_samples(&pdu, &[&ys[0][..], &ys[1][..]])
        .expect("receive");
    let plan = rx.plan(&pdu).expect("plan");
    assert!(res.crc_ok, "{res:?}");
    assert_eq!(rx.transport_block(&plan), &t[..]);
}

/// Not a test: prints the mapping stage's time with and without the
/// precoder on the 100 MHz 4-antenna 2-layer slot, interleaved so load
/// shifts hit both alike (`cargo test --release -p ranlab-phy --test
/// pdsch_precoding -- --ignored --nocapture`). Speed is reported by
/// `ranlab bench`.
#[test]
#[ignore]
fn map_time_probe() {
    let num = Numerology::new(Scs::Khz30, CyclicPrefix::Normal, 273, None).expect("numerology");
    let mut tx = PdschTransmitter::new(num, N_TX, OfdmOptions::default()).expect("tx");
    let pdu = common::pdsch(0x4601, 1, 0, 273, 27, 2, 0);
    let plan = tx.plan(&pdu).expect("plan");
    let t = tb(1, plan.tbs);
    let coded = tx.encode(&plan, &t).expect("encode").to_vec();
    let p = random_precoder(7, 2, PrgSize::Two, 0..273);
    let (mut plain, mut pre) = (Vec::new(), Vec::new());
    for _ in 0..200 {
        let t0 = Instant::now();
        tx.map(&plan, &coded).expect("map");
        plain.push(t0.elapsed().as_secs_f64() * 1e6);
        let t0 = Instant::now();
        tx.map_add_precoded(&plan, &coded, Some(&p)).expect("map");
        pre.push(t0.elapsed().as_secs_f64() * 1e6);
        // (the precoded map adds onto the plain one: same work as onto zeros)
    }
    // The kernel alone: 12 symbols x 137 PRGs of 24 REs, 2 layers onto 4 antennas.
    let n = 12 * num.n_sc();
    let x: Vec<Vec<Complex32>> = (0..2).map(|_| vec![Complex32::new(0.5, 0.25); n]).collect();
    let mut out: Vec<Vec<Complex32>> = (0..N_TX).map(|_| vec![Complex32::default(); n]).collect();
    let mut kernel = Vec::new();
    for _ in 0..200 {
        let xs: Vec<&[Complex32]> = x.iter().map(|p| &p[..]).collect();
        let mut os: Vec<&mut [Complex32]> = out.iter_mut().map(|p| &mut p[..]).collect();
        let spans = (0..12).flat_map(|r| {
            (0..137).map(move |g| {
                (
                    g,
                    r * 3276 + 24 * g..(r * 3276 + 24 * g + 24).min(r * 3276 + 3276),
                )
            })
        });
        let t0 = Instant::now();
        precode_add(SimdLevel::detect(), &xs, p.weights(), 137, spans, &mut os).expect("kernel");
        kernel.push(t0.elapsed().as_secs_f64() * 1e6);
    }
    kernel.sort_by(f64::total_cmp);
    println!("precode_add alone: {:.0} us", kernel[100]);
    plain.sort_by(f64::total_cmp);
    pre.sort_by(f64::total_cmp);
    println!(
        "map 273 PRB 2 layers: identity {:.0} us, precoded onto 4 antennas (PRG 2) {:.0} us (medians of 200, interleaved)",
        plain[100], pre[100]
    );
}
