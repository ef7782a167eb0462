//! Bench cases of the transport chain around the LDPC coder: soft demapping
//! (per modulation), rate matching, de-rate-matching and scrambling.

use super::Case;
use num_complex::Complex32;
use ranlab_phy::coding::ldpc::BaseGraph;
use ranlab_phy::coding::rate_match::{CbRateMatcher, HarqSoftBuffer};
use ranlab_phy::coding::scrambling::{descramble_llrs_i8, scramble_bits};
use ranlab_phy::coding::segmentation::CodeBlockShape;
use ranlab_phy::modulation::{Demapper, Mapper, Modulation};
use ranlab_phy::simd::SimdLevel;
use std::hint::black_box;

/// Transport-chain cases at `level`.
pub fn cases(level: SimdLevel) -> Vec<Case> {
    let mut v = Vec::new();
    v.extend(demap_cases(level));
    v.extend(rate_match_cases());
    v.extend(scrambling_cases());
    v
}

fn pseudo_bits(n: usize, seed: u32) -> Vec<u8> {
    let mut x = seed | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x >> 7) as u8 & 1
        })
        .collect()
}

/// One slot of 273 PRBs × 12 data symbols: 39312 REs per case.
const DEMAP_SYMBOLS: usize = 273 * 12 * 12;

fn demap_cases(level: SimdLevel) -> Vec<Case> {
    [
        Modulation::Qpsk,
        Modulation::Qam16,
        Modulation::Qam64,
        Modulation::Qam256,
        Modulation::Qam1024,
    ]
    .into_iter()
    .map(|m| {
        let qm = m.qm();
        let bits = pseudo_bits(DEMAP_SYMBOLS * qm, 7);
        let mut sym = vec![Complex32::default(); DEMAP_SYMBOLS];
        Mapper::new(m).map(&bits, &mut sym).expect("lengths match");
        // A little deterministic "noise" so points are off the grid.
        for (i, s) in sym.iter_mut().enumerate() {
            *s += Complex32::new(
                ((i * 37) % 101) as f32 * 1e-3 - 0.05,
                ((i * 53) % 97) as f32 * 1e-3 - 0.05,
            );
        }
        let nv = vec![0.05f32; DEMAP_SYMBOLS];
        let mut llrs = vec![0f32; DEMAP_SYMBOLS * qm];
        let d = Demapper::with_level(m, level);
        Case {
            block: "demap",
            case: format!("demap-{}", m.name()),
            info_bits: (DEMAP_SYMBOLS * qm) as f64,
            res: DEMAP_SYMBOLS as f64,
            run: Box::new(move || {
                d.demap(black_box(&sym), &nv, &mut llrs)
                    .expect("lengths match");
                black_box(&llrs);
            }),
        }
    })
    .collect()
}

fn rate_match_cases() -> Vec<Case> {
    // BG1, Z = 384, K' = K = 8448, E = 25344 (R 1/3), QPSK interleaving, rv 0.
    let shape = CodeBlockShape::new(BaseGraph::Bg1, 8448, 8448).expect("valid block");
    let e = 25344;
    let rm = CbRateMatcher::new(shape, shape.n(), 0, e, 2).expect("valid rate matching");
    let cw = pseudo_bits(shape.n_ldpc(), 3);
    let mut scratch = vec![0u8; e];
    let mut out = vec![0u8; e];
    let llrs: Vec<i8> = pseudo_bits(e, 5)
        .iter()
        .map(|&b| if b == 0 { 9 } else { -9 })
        .collect();
    let mut soft = HarqSoftBuffer::new(shape.n(), 1);
    soft.reset(shape, 1, shape.n()).expect("capacity");
    let mut scratch8 = vec![0i8; e];
    vec![
        Case {
            block: "rate_match",
            case: "bg1-z384-e25344".into(),
            info_bits: shape.k_prime as f64,
            res: 0.0,
            run: Box::new(move || {
                rm.rate_match(black_box(&cw), &mut scratch, &mut out)
                    .expect("lengths match");
                black_box(&out);
            }),
        },
        Case {
            block: "derate_match",
            case: "bg1-z384-e25344".into(),
            info_bits: shape.k_prime as f64,
            res: 0.0,
            run: Box::new(move || {
                let (buf, _) = soft.cb_mut(0);
                // Combining into the same buffer every call: saturation keeps it bounded.
                let top = rm
                    .derate_match(black_box(&llrs), &mut scratch8, buf)
                    .expect("lengths match");
                black_box(top);
            }),
        },
    ]
}

fn scrambling_cases() -> Vec<Case> {
    // G of 273 PRBs × 12 symbols × 12 REs × 256QAM × 1 layer.
    let g = 273 * 12 * 12 * 8;
    let mut bits = pseudo_bits(g, 11);
    let mut llrs: Vec<i8> = pseudo_bits(g, 13)
        .iter()
        .map(|&b| (b as i8) * 20 - 10)
        .collect();
    vec![
        Case {
            block: "scrambling",
            case: format!("bits-{g}"),
            info_bits: g as f64,
            res: 0.0,
            run: Box::new(move || {
                scramble_bits(black_box(0x1234_5678), &mut bits);
                black_box(&bits);
            }),
        },
        Case {
            block: "scrambling",
            case: format!("llr-i8-{g}"),
            info_bits: g as f64,
            res: 0.0,
            run: Box::new(move || {
                descramble_llrs_i8(black_box(0x1234_5678), &mut llrs);
                black_box(&llrs);
            }),
        },
    ]
}
