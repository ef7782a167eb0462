//! PUSCH physical-channel tests: the grid layout, layer/RE mapping and DM-RS
//! against the shared `pusch_tx` vectors (given their coded bits), and the
//! receive front end recovering those bits from the noise-free grid.

use num_complex::Complex32;
use ranlab_phy::chest::ChestOptions;
use ranlab_phy::grid::ResourceGrid;
use ranlab_phy::mimo::Equalizer;
use ranlab_phy::numerology::{CyclicPrefix, Numerology, Scs};
use ranlab_phy::pdu::{DmrsConfig, DmrsPorts, DmrsType};
use ranlab_phy::refsig::dmrs::{DmrsLink, DmrsParams, MappingType};
use ranlab_phy::sch::{RxFrontEnd, SchLayout};
use ranlab_phy::simd::SimdLevel;
use serde_json::Value;

#[path = "common/vectors.rs"]
mod vectors;

fn vectors(block: &str) -> Vec<Value> {
    vectors::vectors_of(block)
}

/// TS 38.211 §5.1: one PAM axis from its bits b0, b2, ... (recursive nesting).
fn pam(bits: &[u8]) -> f64 {
    let s = 1.0 - 2.0 * bits[0] as f64;
    if bits.len() == 1 {
        s
    } else {
        s * ((1 << (bits.len() - 1)) as f64 - pam(&bits[1..]))
    }
}

fn qam(bits: &[u8]) -> Complex32 {
    let qm = bits.len();
    let i: Vec<u8> = bits.iter().step_by(2).copied().collect();
    let q: Vec<u8> = bits.iter().skip(1).step_by(2).copied().collect();
    let norm = (2.0 * ((1u64 << qm) as f64 - 1.0) / 3.0).sqrt();
    Complex32::new((pam(&i) / norm) as f32, (pam(&q) / norm) as f32)
}

/// Nearest-point bits (brute force).
fn slice(z: Complex32, qm: usize) -> Vec<u8> {
    let mut best = (f32::MAX, 0u32);
    for label in 0..1u32 << qm {
        let bits: Vec<u8> = (0..qm)
            .map(|b| ((label >> (qm - 1 - b)) & 1) as u8)
            .collect();
        let d = (qam(&bits) - z).norm_sqr();
        if d < best.0 {
            best = (d, label);
        }
    }
    (0..qm)
        .map(|b| ((best.1 >> (qm - 1 - b)) & 1) as u8)
        .collect()
}

struct Case {
    id: String,
    lay: SchLayout,
    qm: usize,
    coded: Vec<u8>,
    grid: Vec<Vec<Vec<Complex32>>>,
}

fn cases() -> Vec<Case> {
    vectors("pusch_tx")
        .into_iter()
        .map(|v| {
            let p = &v["params"];
            let d = &p["dmrs"];
            let n_prb = p["n_prb"].as_u64().unwrap() as usize;
            let cfg = DmrsConfig {
                config_type: if d["config_type"] == 1 {
                    DmrsType::Type1
                } else {
                    DmrsType::Type2
                },
                type_a_position: d["type_a_position"].as_u64().unwrap() as u8,
                additional_position: d["additional_position"].as_u64().unwrap() as u8,
                length: d["length"].as_u64().unwrap() as u8,
                ports: DmrsPorts::new(
                    &d["ports"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|x| x.as_u64().unwrap() as u8)
                        .collect::<Vec<_>>(),
                )
                .unwrap(),
                cdm_groups_without_data: d["num_cdm_groups_without_data"].as_u64().unwrap() as u8,
                scrambling_id: d["n_id"].as_u64().unwrap() as u16,
                n_scid: d["n_scid"].as_u64().unwrap() as u8,
            };
            let alloc = p["symbol_allocation"].as_array().unwrap();
            let (s, n) = (
                alloc[0].as_u64().unwrap() as u8,
                alloc[1].as_u64().unwrap() as u8,
            );
            let slot = p["slot_number"].as_u64().unwrap() as u32;
            let dm = DmrsParams::new(DmrsLink::Pusch, MappingType::A, &cfg, slot, s, n, 0, n_prb)
                .unwrap();
            let want: Vec<u8> = d["symbol_indices"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_u64().unwrap() as u8)
                .collect();
            assert_eq!(dm.symbols.positions(), &want[..], "{}", v["id"]);
            let lay = SchLayout::new(dm, s as usize, n as usize);
            let e = &v["expected"];
            let coded: Vec<u8> = e["coded_bits"]
                .as_str()
                .unwrap()
                .bytes()
                .map(|b| b - b'0')
                .collect();
            let grid = e["grid"]
                .as_array()
                .unwrap()
                .iter()
                .map(|port| {
                    port.as_array()
                        .unwrap()
                        .iter()
                        .map(|sym| {
                            sym.as_array()
                                .unwrap()
                                .iter()
                                .map(|c| {
                                    Complex32::new(
                                        c[0].as_f64().unwrap() as f32,
                                        c[1].as_f64().unwrap() as f32,
                                    )
                                })
                                .collect()
                        })
                        .collect()
                })
                .collect();
            Case {
                id: v["id"].as_str().unwrap().to_string(),
                lay,
                qm: e["intermediate"]["qm"].as_u64().unwrap() as usize,
                coded,
                grid,
            }
        })
        .collect()
}

#[test]
fn layout_layer_mapping_and_dmrs_reproduce_the_vector_grids() {
    let all = cases();
    assert!(!all.is_empty());
    for c in &all {
        assert_eq!(c.lay.g(c.qm), c.coded.len(), "{}: G", c.id);
        let d: Vec<Complex32> = c.coded.chunks(c.qm).map(qam).collect();
        let v = c.lay.layers();
        let mut g = ResourceGrid::new(v, 14, c.lay.n_sc());
        c.lay.map_data(&d, &mut g);
        let mut seq = vec![Complex32::default(); c.lay.dmrs.seq_len()];
        c.lay.map_dmrs(&mut g, &mut seq);
        for j in 0..v {
            for l in 0..14 {
                for (k, want) in c.grid[j][l].iter().enumerate() {
                    let got = g.get(j, l, k);
                    assert!(
                        (got.re - want.re).abs() < 1e-6 && (got.im - want.im).abs() < 1e-6,
                        "{}: port {j} l {l} k {k}: {got} vs {want}",
                        c.id
                    );
                }
            }
        }
    }
}

#[test]
fn front_end_recovers_the_coded_bits_from_the_noise_free_grid() {
    let num = Numerology::new(Scs::Khz15, CyclicPrefix::Normal, 15, None).unwrap();
    for c in cases() {
        let v = c.lay.layers();
        // The receiver sees port j on antenna j (identity channel).
        let mut rx = ResourceGrid::new(v, 14, c.lay.n_sc());
        for j in 0..v {
            for l in 0..14 {
                rx.symbol_mut(j, l).copy_from_slice(&c.grid[j][l]);
            }
        }
        for eq in [Equalizer::Zf, Equalizer::Mmse] {
            let mut fe =
                RxFrontEnd::new(v, v, 15, ChestOptions::default(), eq, SimdLevel::detect())
                    .unwrap();
            let (d, nv) = fe.process(&num, &c.lay, &rx).unwrap();
            assert_eq!(d.len() * c.qm, c.coded.len());
            assert!(nv.iter().all(|x| x.is_finite()));
            let bits: Vec<u8> = d.iter().flat_map(|&z| slice(z, c.qm)).collect();
            let wrong = bits.iter().zip(&c.coded).filter(|(a, b)| a != b).count();
            assert_eq!(wrong, 0, "{} {eq:?}: {wrong} bit errors", c.id);
            let evm = ranlab_phy::sch::evm_percent(d, c.qm);
            assert!(evm < 0.1, "{}: EVM {evm} %", c.id);
        }
    }
}

fn pdu(n_prb: u16, table: u8, mcs: u8, layers: u8, add: u8) -> ranlab_phy::pdu::PuschPdu {
    ranlab_phy::pdu::PuschPdu {
        rnti: 0x4601,
        n_id: 17,
        slot: 3,
        prb_start: 0,
        n_prb,
        start_symbol: 0,
        n_symbols: 14,
        mcs_table: table,
        mcs_index: mcs,
        num_layers: layers,
        dmrs: DmrsConfig {
            config_type: DmrsType::Type1,
            type_a_position: 2,
            additional_position: add,
            length: 1,
            ports: DmrsPorts::consecutive(0, layers).expect("at most 8 layers"),
            cdm_groups_without_data: 2,
            scrambling_id: 17,
            n_scid: 0,
        },
        rv: 0,
        harq_id: 0,
        new_data: true,
        ndi: false,
        ..Default::default()
    }
}

use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use ranlab_phy::ofdm::OfdmOptions;
use ranlab_phy::pusch::{PuschError, PuschReceiver, PuschRxConfig, PuschTransmitter};

fn cn(r: &mut Xoshiro256PlusPlus, var: f32) -> Complex32 {
    let u: f32 = r.gen_range(1e-12..1.0);
    let a = (-var * u.ln()).sqrt();
    let ph = r.gen_range(0.0..std::f32::consts::TAU);
    Complex32::from_polar(a, ph)
}

/// TX → OFDM → flat random channel per (rx, layer), CFO, AWGN → RX, in time samples.
fn link(
    n_prb: u16,
    table: u8,
    mcs: u8,
    layers: u8,
    n_rx: usize,
    snr_db: f32,
    cfo_hz: f64,
    seed: u64,
) -> (bool, ranlab_phy::pusch::PuschResult) {
    let num = Numerology::new(Scs::Khz30, CyclicPrefix::Normal, n_prb, None).unwrap();
    let p = pdu(n_prb, table, mcs, layers, 1);
    let v = layers as usize;
    let mut tx = PuschTransmitter::new(num, v, OfdmOptions::default()).unwrap();
    let plan = tx.plan(&p).unwrap();
    let mut r = Xoshiro256PlusPlus::seed_from_u64(seed);
    let tb: Vec<u8> = (0..plan.tbs).map(|_| r.gen_range(0..2u8)).collect();
    tx.transmit(&p, &tb).unwrap();
    let len = num.slot_len(p.slot as u32);
    let mut ports = vec![vec![Complex32::default(); len]; v];
    {
        let mut outs: Vec<&mut [Complex32]> = ports.iter_mut().map(|x| x.as_mut_slice()).collect();
        tx.modulate(p.slot as u32, &mut outs).unwrap();
    }
    // Per-sample signal power of one unit-power port: n_sc/N.
    let sig = num.n_sc() as f32 / num.fft_size() as f32;
    let nvar = sig / 10f32.powf(snr_db / 10.0);
    let h: Vec<Complex32> = (0..n_rx * v).map(|_| cn(&mut r, 1.0)).collect();
    let mut ant = vec![vec![Complex32::default(); len]; n_rx];
    for (a, y) in ant.iter_mut().enumerate() {
        for (n, s) in y.iter_mut().enumerate() {
            let mut acc = cn(&mut r, nvar);
            for j in 0..v {
                acc += h[a * v + j] * ports[j][n];
            }
            *s = acc;
        }
        ranlab_phy::ofdm::correct_cfo(y, -cfo_hz, num.sample_rate_hz(), 0);
    }
    let mut cfg = PuschRxConfig::new(n_rx, v);
    cfg.equalizer = Equalizer::Mmse;
    let mut rx = PuschReceiver::new(num, cfg).unwrap();
    let views: Vec<&[Complex32]> = ant.iter().map(|x| x.as_slice()).collect();
    let res = rx.process_samples(&p, &views).unwrap();
    (res.crc_ok && rx.transport_block(&plan) == &tb[..], res)
}

#[test]
fn pusch_over_awgn_decodes_at_moderate_snr() {
    // 16QAM R≈0.48 at 14 dB on one antenna; 64QAM 2 layers on 4 antennas at 24 dB with a small CFO.
    let (ok, res) = link(24, 1, 12, 1, 1, 14.0, 0.0, 1);
    assert!(ok, "1x1 16QAM: {res:?}");
    assert!(
        (res.sinr_db - 14.0).abs() < 3.0,
        "post-SINR {}",
        res.sinr_db
    );
    assert!(
        res.evm_percent > 10.0 && res.evm_percent < 35.0,
        "EVM {}",
        res.evm_percent
    );
    let (ok, res) = link(24, 1, 20, 2, 4, 24.0, 120.0, 2);
    assert!(ok, "4x2 64QAM: {res:?}");
    assert!((res.cfo_hz - 120.0).abs() < 20.0, "CFO {}", res.cfo_hz);
    assert!(
        res.timing_offset_s.abs() < 0.2e-6,
        "TO {}",
        res.timing_offset_s
    );
    // Far below threshold the CRC fails, and says so.
    let (ok, res) = link(24, 2, 27, 1, 1, 5.0, 0.0, 3);
    assert!(!ok && !res.crc_ok);
}

#[test]
fn bad_pdus_are_rejected_with_clear_errors() {
    let num = Numerology::new(Scs::Khz15, CyclicPrefix::Normal, 25, None).unwrap();
    let rx = PuschReceiver::new(num, PuschRxConfig::new(1, 1)).unwrap();
    let e = rx.plan(&pdu(26, 1, 10, 1, 1)).unwrap_err();
    assert!(
        matches!(e, PuschError::Pdu(_)) && e.to_string().contains("PRBs"),
        "{e}"
    );
    let e = rx.plan(&pdu(25, 1, 10, 2, 1)).unwrap_err();
    assert!(e.to_string().contains("receive antennas"), "{e}");
    let mut p = pdu(25, 1, 10, 1, 1);
    p.n_symbols = 3; // l_d = 3: no type-A DM-RS position.
    let e = rx.plan(&p).unwrap_err();
    assert!(
        matches!(e, PuschError::Dmrs(_)) && e.to_string().contains("DM-RS"),
        "{e}"
    );
    let mut p = pdu(25, 1, 10, 1, 1);
    p.dmrs.additional_position = 3;
    p.dmrs.length = 2; // double-symbol DM-RS has no position 3
    assert!(matches!(rx.plan(&p), Err(PuschError::Dmrs(_))));
    let mut tx = PuschTransmitter::new(num, 1, OfdmOptions::default()).unwrap();
    let e = tx.transmit(&pdu(25, 1, 10, 1, 1), &[0u8; 5]).unwrap_err();
    assert!(e.to_string().contains("TBS"), "{e}");
}

#[test]
fn zero_channel_gives_finite_outputs() {
    let num = Numerology::new(Scs::Khz15, CyclicPrefix::Normal, 25, None).unwrap();
    for eq in [Equalizer::Zf, Equalizer::Mmse] {
        let mut cfg = PuschRxConfig::new(2, 2);
        cfg.equalizer = eq;
        let mut rx = PuschReceiver::new(num, cfg).unwrap();
        let grid = ResourceGrid::new(2, 14, num.n_sc());
        let res = rx.process_grid(&pdu(25, 1, 10, 2, 1), Some(&grid)).unwrap();
        assert!(!res.crc_ok);
        for x in [res.sinr_db, res.dmrs_snr_db, res.evm_percent, res.noise_var] {
            assert!(x.is_finite(), "{res:?}");
        }
        assert!(res.timing_offset_s.is_finite() && res.cfo_hz.is_finite());
        let plan = rx.plan(&pdu(25, 1, 10, 2, 1)).unwrap();
        // Zero confidence: every LLR is 0.
        assert!(rx.demap(&plan).unwrap().iter().all(|&l| l == 0));
    }
}

#[test]
fn non_finite_res_are_erasures_not_errors() {
    // One NaN DM-RS RE used to make the noise estimate NaN and the whole
    // PUSCH an error; now it is left out of the estimate, and NaN or
    // infinite data REs get zero-confidence LLRs. Both are counted.
    let num = Numerology::new(Scs::Khz30, CyclicPrefix::Normal, 24, None).unwrap();
    let mut tx = PuschTransmitter::new(num, 1, OfdmOptions::default()).unwrap();
    let p = pdu(24, 1, 10, 1, 1);
    let plan = tx.plan(&p).unwrap();
    let mut r = Xoshiro256PlusPlus::seed_from_u64(5);
    let tb: Vec<u8> = (0..plan.tbs).map(|_| r.gen_range(0..2u8)).collect();
    for level in SimdLevel::supported() {
        let mut cfg = PuschRxConfig::new(1, 1);
        cfg.level = level;
        let mut rx = PuschReceiver::new(num, cfg).unwrap();
        let mut g = noisy_grid(&mut tx, &p, &tb, 20.0, &mut r);
        // DM-RS (type 1, CDM group 0) on even subcarriers of symbol 2; data on symbol 5.
        g.set(0, 2, 0, Complex32::new(f32::NAN, 0.0));
        g.set(0, 2, 40, Complex32::new(0.0, f32::INFINITY));
        g.set(0, 5, 7, Complex32::new(f32::NAN, 1.0));
        g.set(0, 9, 100, Complex32::new(f32::NEG_INFINITY, 0.0));
        let res = rx.process_grid(&p, Some(&g)).unwrap();
        assert!(res.crc_ok, "{level}: {res:?}");
        assert_eq!(rx.transport_block(&plan), &tb[..]);
        assert_eq!(
            (res.erased_res, res.erased_dmrs_res),
            (2, 2),
            "{level}: {res:?}"
        );
        assert!(
            res.noise_var.is_finite() && res.sinr_db.is_finite(),
            "{res:?}"
        );
        // An all-NaN slot: nothing decodes, nothing fails, every RE erased.
        let mut g = ResourceGrid::new(1, 14, num.n_sc());
        for l in 0..14 {
            for k in 0..num.n_sc() {
                g.set(0, l, k, Complex32::new(f32::NAN, f32::NAN));
            }
        }
        let res = rx.process_grid(&p, Some(&g)).unwrap();
        assert!(!res.crc_ok);
        assert_eq!(res.erased_res as usize, plan.g / plan.qm, "{res:?}");
        assert!(res.erased_dmrs_res > 0);
        assert!(rx.demap(&plan).unwrap().iter().all(|&l| l == 0));
    }
}

/// The grid of `p` for TB `tb` (flat unit channel, one antenna) plus AWGN at `snr_db`.
fn noisy_grid(
    tx: &mut PuschTransmitter,
    p: &ranlab_phy::pdu::PuschPdu,
    tb: &[u8],
    snr_db: f32,
    r: &mut Xoshiro256PlusPlus,
) -> ResourceGrid {
    tx.transmit(p, tb).unwrap();
    let g = tx.grid();
    let nvar = 10f32.powf(-snr_db / 10.0);
    let mut out = ResourceGrid::new(1, 14, g.n_sc());
    for l in 0..14 {
        for k in 0..g.n_sc() {
            out.set(0, l, k, g.get(0, l, k) + cn(r, nvar));
        }
    }
    out
}

#[test]
fn harq_retransmissions_combine_per_process_and_new_data_clears() {
    // 64QAM R ≈ 0.55 (table 1, MCS 20) over AWGN 3 and 6 dB below where rv 0
    // alone decodes (≈ 13 dB with these seeds): rv 0 + 2 suffices at 10 dB,
    // 7 dB needs rv 3 as well.
    for (snr, need_rv3) in [(10.0f32, false), (7.0, true)] {
        harq_case(snr, need_rv3);
    }
}

fn harq_case(snr: f32, need_rv3: bool) {
    let num = Numerology::new(Scs::Khz30, CyclicPrefix::Normal, 24, None).unwrap();
    let mut tx = PuschTransmitter::new(num, 1, OfdmOptions::default()).unwrap();
    let mut cfg = PuschRxConfig::new(1, 1);
    cfg.harq_buffers = 4;
    let mut p = pdu(24, 1, 20, 1, 1);
    let plan = tx.plan(&p).unwrap();
    let mut r = Xoshiro256PlusPlus::seed_from_u64(7);
    let tb_a: Vec<u8> = (0..plan.tbs).map(|_| r.gen_range(0..2u8)).collect();
    let tb_b: Vec<u8> = (0..plan.tbs).map(|_| r.gen_range(0..2u8)).collect();
    let send = |tx: &mut PuschTransmitter,
                rx: &mut PuschReceiver,
                p: &ranlab_phy::pdu::PuschPdu,
                tb: &[u8],
                r: &mut Xoshiro256PlusPlus| {
        let g = noisy_grid(tx, p, tb, snr, r);
        let res = rx.process_grid(p, Some(&g)).unwrap();
        res.crc_ok && rx.transport_block(&plan) == tb
    };
    // The same noise for both runs below: only new_data differs.
    for new_data_on_retx in [false, true] {
        let mut rx = PuschReceiver::new(num, cfg).unwrap();
        let mut r = Xoshiro256PlusPlus::seed_from_u64(99);
        // TB A, rv 0 on HARQ process 3: fails alone.
        p.harq_id = 3;
        p.rv = 0;
        p.new_data = true;
        assert!(
            !send(&mut tx, &mut rx, &p, &tb_a, &mut r),
            "{snr} dB: rv 0 alone decoded"
        );
        // TB B, new data on process 5 in between: its own buffer.
        let mut q = p.clone();
        q.harq_id = 5;
        assert!(!send(&mut tx, &mut rx, &q, &tb_b, &mut r));
        // TB A, rv 2 then rv 3 on process 3.
        p.new_data = new_data_on_retx;
        p.rv = 2;
        let a2 = send(&mut tx, &mut rx, &p, &tb_a, &mut r);
        if new_data_on_retx {
            // Each retransmission cleared the buffer and decoded alone.
            p.rv = 3;
            let a3 = send(&mut tx, &mut rx, &p, &tb_a, &mut r);
            assert!(!a2 && !a3, "{snr} dB: a cleared buffer kept earlier rvs");
        } else {
            assert_eq!(a2, !need_rv3, "{snr} dB: rv 0 + 2");
            // rv 3 only after a failure, as a MAC retransmits (a decoded
            // TB's buffer is never combined again).
            if !a2 {
                p.rv = 3;
                let a3 = send(&mut tx, &mut rx, &p, &tb_a, &mut r);
                assert!(a3, "{snr} dB: rv 0 + 2 + 3 combined did not decode");
            }
        }
    }
}

/// A dropped first transmission: TB A decodes from rv 0 + rv 2; TB B's rv 0
/// (new NDI) never reaches the receiver; B's rv 2 must not be combined with
/// A's soft bits (which converges to A with a passing CRC: an old MAC PDU
/// handed up as new). With or without the NDI toggled, B's rv 2 decodes
/// alone, and a later retransmission of B still combines with it.
#[test]
fn retransmission_after_a_lost_first_transmission_never_returns_the_previous_tb() {
    let num = Numerology::new(Scs::Khz30, CyclicPrefix::Normal, 24, None).unwrap();
    let mut tx = PuschTransmitter::new(num, 1, OfdmOptions::default()).unwrap();
    let mut cfg = PuschRxConfig::new(1, 1);
    cfg.harq_buffers = 4;
    let base = pdu(24, 1, 20, 1, 1);
    let plan = tx.plan(&base).unwrap();
    let mut stale = 0;
    for case in 0..8u64 {
        for toggle_ndi in [true, false] {
            let mut r = Xoshiro256PlusPlus::seed_from_u64(1000 + case);
            let tb_a: Vec<u8> = (0..plan.tbs).map(|_| r.gen_range(0..2u8)).collect();
            let tb_b: Vec<u8> = (0..plan.tbs).map(|_| r.gen_range(0..2u8)).collect();
            let mut rx = PuschReceiver::new(num, cfg).unwrap();
            let mut p = base.clone();
            p.harq_id = 3;
            // TB A: rv 0 at 10 dB, then rv 2 at 30 dB: decodes (combined or not).
            for (rv, new_data, snr) in [(0u8, true, 10.0f32), (2, false, 30.0)] {
                (p.rv, p.new_data) = (rv, new_data);
                let g = noisy_grid(&mut tx, &p, &tb_a, snr, &mut r);
                rx.process_grid(&p, Some(&g)).unwrap();
            }
            assert_eq!(
                rx.transport_block(&plan),
                &tb_a[..],
                "case {case}: A decodes"
            );
            // TB B: rv 0 lost; rv 2 at 7 dB, the first B the receiver sees.
            p.ndi ^= toggle_ndi;
            (p.rv, p.new_data) = (2, false);
            let g = noisy_grid(&mut tx, &p, &tb_b, 7.0, &mut r);
            let res = rx.process_grid(&p, Some(&g)).unwrap();
            let got = rx.transport_block(&plan).to_vec();
            if res.crc_ok {
                assert_eq!(got, tb_b, "case {case}: a passing CRC must be TB B");
            }
            stale += (got == tb_a) as usize;
            // B's next retransmission (rv 3, high SNR) combines and decodes B.
            p.rv = 3;
            let g = noisy_grid(&mut tx, &p, &tb_b, 30.0, &mut r);
            let res = rx.process_grid(&p, Some(&g)).unwrap();
            assert!(res.crc_ok, "case {case}: B's rv 3 decodes");
            assert_eq!(rx.transport_block(&plan), &tb_b[..], "case {case}");
        }
    }
    assert_eq!(
        stale, 0,
        "{stale} of 16 retransmissions returned the previous TB"
    );
}

#[test]
fn split_code_block_decode_matches_the_whole_decode() {
    use ranlab_phy::pusch::CbDecoder;
    let num = Numerology::new(Scs::Khz30, CyclicPrefix::Normal, 52, None).unwrap();
    let mut tx = PuschTransmitter::new(num, 1, OfdmOptions::default()).unwrap();
    let cfg = PuschRxConfig::new(1, 1);
    let mut whole = PuschReceiver::new(num, cfg).unwrap();
    let mut split = PuschReceiver::new(num, cfg).unwrap();
    let mut decs = [CbDecoder::new(&cfg), CbDecoder::new(&cfg)];
    // 64QAM R ≈ 0.55, 3 code blocks, near threshold: rv 0 fails, rv 2 combines.
    let mut p = pdu(52, 1, 20, 1, 1);
    let plan = tx.plan(&p).unwrap();
    assert!(plan.tb.num_cb() >= 3, "{} code blocks", plan.tb.num_cb());
    let mut r = Xoshiro256PlusPlus::seed_from_u64(21);
    let tb: Vec<u8> = (0..plan.tbs).map(|_| r.gen_range(0..2u8)).collect();
    let mut results = Vec::new();
    for (rv, new_data, snr) in [(0u8, true, 9.0f32), (2, false, 9.0), (0, true, 30.0)] {
        p.rv = rv;
        p.new_data = new_data;
        let plan = tx.plan(&p).unwrap();
        let g = noisy_grid(&mut tx, &p, &tb, snr, &mut r);
        let w = whole.process_grid(&p, Some(&g)).unwrap();
        let w_tb = whole.transport_block(&plan).to_vec();

        split.estimate_channel(&plan, Some(&g)).unwrap();
        let mut first = 0;
        for l in 0..14 {
            first += split.detect_symbol(&plan, Some(&g), l, first).unwrap();
        }
        split.demap(&plan).unwrap();
        let heard = split.front().heard();
        let job = split.decode_prepare(&plan).unwrap();
        let b = split.split_buffers(&job).unwrap();
        let llr = b.llr;
        // Each block's parts of the soft buffer and TB, blocks in reverse
        // order, shared out over two threads.
        let parts: Vec<_> = b
            .soft
            .chunks_mut(job.soft_per_cb())
            .zip(b.filled.iter_mut())
            .zip(b.bits.chunks_mut(job.bits_per_cb()))
            .enumerate()
            .rev()
            .collect();
        let (even, odd): (Vec<_>, Vec<_>) = parts.into_iter().partition(|(r, _)| r % 2 == 0);
        let iters: u32 = std::thread::scope(|sc| {
            let handles: Vec<_> = [even, odd]
                .into_iter()
                .zip(decs.iter_mut())
                .map(|(blocks, dec)| {
                    sc.spawn(move || {
                        blocks
                            .into_iter()
                            .map(|(r, ((soft, filled), bits))| {
                                job.decode_block(&plan, r, llr, soft, filled, bits, dec)
                                    .unwrap()
                                    .iterations
                            })
                            .sum::<u32>()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).sum()
        });
        let (ok, iters) = split.decode_finish(&plan, &job, iters, heard).unwrap();
        assert_eq!(
            (ok, iters),
            (w.crc_ok, w.ldpc_iterations),
            "rv {rv} snr {snr}"
        );
        assert_eq!(split.transport_block(&plan), &w_tb[..], "rv {rv}");
        results.push(ok);
    }
    assert_eq!(
        results,
        [false, true, true],
        "rv 0 fails, rv 2 combines, clean rv 0 decodes"
    );
}

#[test]
fn front_end_blocks_and_finish_result_equal_process_grid() {
    use ranlab_phy::pusch::CbDecoder;
    let num = Numerology::new(Scs::Khz30, CyclicPrefix::Normal, 52, None).unwrap();
    let mut tx = PuschTransmitter::new(num, 1, OfdmOptions::default()).unwrap();
    let cfg = PuschRxConfig::new(1, 1);
    let mut whole = PuschReceiver::new(num, cfg).unwrap();
    let mut split = PuschReceiver::new(num, cfg).unwrap();
    let mut dec = CbDecoder::new(&cfg);
    let mut p = pdu(52, 1, 20, 1, 1);
    let mut r = Xoshiro256PlusPlus::seed_from_u64(5);
    let plan = tx.plan(&p).unwrap();
    let tb: Vec<u8> = (0..plan.tbs).map(|_| r.gen_range(0..2u8)).collect();
    // Near threshold (rv 0 fails, rv 2 combines) and clean.
    for (rv, new_data, snr) in [(0u8, true, 9.0f32), (2, false, 9.0), (0, true, 30.0)] {
        p.rv = rv;
        p.new_data = new_data;
        let plan = split.plan(&p).unwrap();
        let g = noisy_grid(&mut tx, &p, &tb, snr, &mut r);
        let w = whole.process_grid(&p, Some(&g)).unwrap();
        let job = split.front_end(&plan, Some(&g)).unwrap();
        let mut iters = 0;
        let b = split.split_buffers(&job).unwrap();
        for r in (0..job.num_cb()).rev() {
            let (soft, bits) = (job.soft_range(r), job.bits_range(r));
            let (soft, filled, bits) = (&mut b.soft[soft], &mut b.filled[r], &mut b.bits[bits]);
            iters += job
                .decode_block(&plan, r, b.llr, soft, filled, bits, &mut dec)
                .unwrap()
                .iterations;
        }
        let s = split.finish_result(&plan, &job, iters).unwrap();
        // Every field, bit for bit (floats by their bits: same arithmetic).
        assert_eq!(format!("{s:?}"), format!("{w:?}"), "rv {rv} snr {snr}");
        assert_eq!(
            split.transport_block(&plan),
            whole.transport_block(&plan),
            "rv {rv}"
        );
    }
    // A grid of the wrong size is refused before anything is prepared.
    let plan = split.plan(&p).unwrap();
    let bad = ResourceGrid::new(2, 14, num.n_sc());
    assert!(split.front_end(&plan, Some(&bad)).is_err());
}

#[test]
fn split_front_end_in_any_order_equals_the_whole_receiver() {
    // 2 layers on 2 antennas, data beside the DM-RS (CDM group 1) on three
    // DM-RS positions, a delay and a CFO, so every estimator step matters.
    let num = Numerology::new(Scs::Khz30, CyclicPrefix::Normal, 40, None).unwrap();
    let mut p = pdu(40, 1, 16, 2, 2);
    p.dmrs.cdm_groups_without_data = 1;
    let mut tx = PuschTransmitter::new(num, 2, OfdmOptions::default()).unwrap();
    let plan = tx.plan(&p).unwrap();
    assert!(plan.tb.num_cb() > 1);
    let mut r = Xoshiro256PlusPlus::seed_from_u64(21);
    let tb: Vec<u8> = (0..plan.tbs).map(|_| r.gen_range(0..2u8)).collect();
    tx.transmit(&p, &tb).unwrap();
    let g = tx.grid();
    let h: Vec<Complex32> = (0..4).map(|_| cn(&mut r, 1.0)).collect();
    let mut grid = ResourceGrid::new(2, 14, g.n_sc());
    for a in 0..2 {
        for l in 0..14 {
            let cfo = Complex32::from_polar(1.0, 0.02 * l as f32);
            for k in 0..g.n_sc() {
                let delay = Complex32::from_polar(1.0, -0.01 * k as f32);
                let x = h[2 * a] * g.get(0, l, k) + h[2 * a + 1] * g.get(1, l, k);
                grid.set(a, l, k, x * cfo * delay + cn(&mut r, 0.003));
            }
        }
    }
    let cfg = PuschRxConfig::new(2, 2);
    let mut whole = PuschReceiver::new(num, cfg).unwrap();
    let want = whole.process_grid(&p, Some(&grid)).unwrap();
    assert!(want.crc_ok, "{want:?}");
    let want_llr = whole.demap(&plan).unwrap().to_vec();

    // The split steps on a front end and state of our own.
    let front = ranlab_phy::sch::ShFrontEnd::new(num, cfg).unwrap();
    let mut est = front.new_estimate();
    let mut pos: Vec<_> = (0..4).map(|_| front.new_position()).collect();
    let n_pos = front.chest_begin(&plan, &grid, &est).unwrap();
    assert_eq!(n_pos, 3);
    for p in (0..n_pos).rev() {
        front.chest_position(&plan, &grid, p, &mut pos[p]);
    }
    let corrs: Vec<_> = pos.iter().map(|w| w.correlation()).collect();
    for p in (0..n_pos).rev() {
        front.chest_interpolate(&plan, &corrs[..n_pos], &mut pos[p]);
    }
    let mut work: Vec<_> = pos.iter_mut().collect();
    front.chest_combine(&plan, &mut work[..n_pos], &mut est);
    // Detection in blocks of symbols, in any order, on two scratches.
    let n = plan.codeword_symbols();
    let mut d = vec![Complex32::default(); n];
    let mut dnv = vec![0.0f32; n];
    let mut scratch = [front.new_scratch(), front.new_scratch()];
    for (symbols, t) in [(12..14, 0), (0..3, 1), (7..12, 0), (3..7, 1)] {
        let cw = plan.codeword_range(symbols.clone());
        front
            .detect_symbols(
                &plan,
                &grid,
                &est,
                symbols,
                &mut scratch[t],
                &mut d[cw.clone()],
                &mut dnv[cw],
            )
            .unwrap();
    }
    // A block of the wrong length is refused.
    assert!(front
        .detect_symbols(
            &plan,
            &grid,
            &est,
            0..3,
            &mut scratch[0],
            &mut d[..1],
            &mut dnv[..1]
        )
        .is_err());
    // Demapping chunk by chunk, in reverse order, on alternating scratches.
    let mut llr = vec![0i8; plan.g];
    let (mut heard, mut erased) = (false, 0);
    for c in (0..plan.demap_chunks()).rev() {
        let r = plan.demap_chunk(c);
        let out = &mut llr[r.start * plan.qm..r.end * plan.qm];
        let (h, e) = front
            .demap_chunk(&plan, c, &d[r.clone()], &dnv[r], out, &mut scratch[c % 2])
            .unwrap();
        heard |= h;
        erased += e;
    }
    assert_eq!(llr, want_llr);
    // The decode on the split LLRs, blocks in reverse order.
    let mut rx = PuschReceiver::new(num, cfg).unwrap();
    let mut dec = ranlab_phy::pusch::CbDecoder::new(&cfg);
    let job = rx.decode_prepare(&plan).unwrap();
    let mut iters = 0;
    let b = rx.split_buffers(&job).unwrap();
    for r in (0..job.num_cb()).rev() {
        let (soft, bits) = (job.soft_range(r), job.bits_range(r));
        let (soft, filled, bits) = (&mut b.soft[soft], &mut b.filled[r], &mut b.bits[bits]);
        iters += job
            .decode_block(&plan, r, &llr, soft, filled, bits, &mut dec)
            .unwrap()
            .iterations;
    }
    let (ok, iters) = rx.decode_finish(&plan, &job, iters, heard).unwrap();
    let got = front.split_result(&plan, &est, &d, &dnv, erased, ok, iters);
    assert_eq!(format!("{got:?}"), format!("{want:?}"));
    assert_eq!(rx.transport_block(&plan), whole.transport_block(&plan));
}

#[test]
fn any_receiver_decodes_with_a_shared_harq_pool() {
    use ranlab_phy::sch::HarqBuffers;
    let num = Numerology::new(Scs::Khz30, CyclicPrefix::Normal, 52, None).unwrap();
    let mut tx = PuschTransmitter::new(num, 1, OfdmOptions::default()).unwrap();
    let cfg = PuschRxConfig::new(1, 1);
    let mut pool = HarqBuffers::for_carrier(&num, 1, 16);
    let mut a = PuschReceiver::without_harq(num, cfg).unwrap();
    let mut b = PuschReceiver::without_harq(num, cfg).unwrap();
    // The near-threshold TB of split_code_block_decode_matches_the_whole_decode
    // (same seed, same draws): rv 0 fails, rv 2 combined with it decodes.
    let mut p = pdu(52, 1, 20, 1, 1);
    let plan = tx.plan(&p).unwrap();
    let mut r = Xoshiro256PlusPlus::seed_from_u64(21);
    let tb: Vec<u8> = (0..plan.tbs).map(|_| r.gen_range(0..2u8)).collect();
    (p.rv, p.new_data) = (0, true);
    let g = noisy_grid(&mut tx, &p, &tb, 9.0, &mut r);
    let first = a.process_grid_with(&p, Some(&g), &mut pool).unwrap();
    assert!(!first.crc_ok, "rv 0 alone fails");
    // The retransmission reaches the other receiver, which combines from the pool.
    (p.rv, p.new_data) = (2, false);
    let g = noisy_grid(&mut tx, &p, &tb, 9.0, &mut r);
    let second = b.process_grid_with(&p, Some(&g), &mut pool).unwrap();
    assert!(second.crc_ok, "rv 2 combines with rv 0 on another receiver");
    assert_eq!(b.transport_block(&plan), &tb[..]);
    // A receiver without a pool of its own refuses the calls that need one.
    assert!(a.process_grid(&p, Some(&g)).is_err());
}
