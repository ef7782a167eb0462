//! PUSCH physical-channel tests: the grid layout, layer/RE mapping and DM-RS
//! against the shared `pusch_tx` vectors (given their coded bits), and the
//! receive front end recovering those bits from the noise-free grid.

use num_complex::Complex32;
use ranlab_phy::chest::ChestOptions;
use ranlab_phy::grid::ResourceGrid;
use ranlab_phy::mimo::Equalizer;
use ranlab_phy::numerology::{CyclicPrefix, Numerology, Scs};
use ranlab_phy::pdu::{DmrsConfig, DmrsType};
use ranlab_phy::refsig::dmrs::{DmrsLink, DmrsParams, MappingType};
use ranlab_phy::sch::{RxFrontEnd, SchLayout};
use ranlab_phy::simd::SimdLevel;
use serde_json::Value;

fn vectors(block: &str) -> Vec<Value> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/vectors/nr-phy-seed1.jsonl"
    );
    let text = std::fs::read_to_string(path).expect("shared vectors");
    text.lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["block"] == block)
        .collect()
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
                ports: d["ports"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|x| x.as_u64().unwrap() as u8)
                    .collect(),
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
