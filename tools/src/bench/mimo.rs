//! Bench cases of MIMO detection and precoder computation.
//!
//! Detection cases are named `mimo-<eq>-<layers>x<antennas>` over one slot
//! of 106 PRB x 14 symbols (17,808 REs), each RE with its own Rayleigh
//! channel. `mres_per_s` is million equalised REs per second, one per layer
//! and RE (REs x layers per call): the unit of the reference implementation
//! whose equaliser figures the issue quotes (its benchmark counts
//! subcarriers x symbols x layers), so `mimo-zf-2x2` can be set beside it
//! by name. Divide by the layer count for REs per second. The sizes follow the
//! issue's list (1x4, 2x2, 2x4, 4x4, 8x4, 64x16) with one exception kept
//! for comparability by name: `mimo-mmse-8x4` is 8 antennas x 4 layers (4
//! layers cannot come from more layers than antennas the other way round),
//! and the 64x16 is written `mimo-mmse-16x64`, 16 layers on 64
//! antennas. `mimo-mmse-16x64-prb` is the same size with one channel per
//! PRB and symbol (12 REs), detected per group of REs sharing it. `precoder-rzf-64x16` computes regularised ZF precoders for 64
//! antennas x 16 users on 106 PRB groups per call (`mres_per_s` is then
//! million PRB groups per second).

use super::Case;
use num_complex::Complex32;
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use ranlab_phy::mimo::{Detector, Equalizer, PowerNorm, Precoder, PrecoderKind};
use ranlab_phy::simd::SimdLevel;

/// REs of one 106-PRB slot.
pub const SLOT_RES: usize = 106 * 12 * 14;

fn gaussian(r: &mut Xoshiro256PlusPlus, n: usize) -> Vec<Complex32> {
    (0..n)
        .map(|_| {
            let u1: f32 = r.gen::<f32>().max(1e-12);
            let a = 2.0 * std::f32::consts::PI * r.gen::<f32>();
            let m = (-u1.ln()).sqrt();
            Complex32::new(m * a.cos(), m * a.sin())
        })
        .collect()
}

/// Equalised REs of one slot: one output symbol per layer and RE.
pub fn equalised_res(layers: usize) -> f64 {
    (SLOT_RES * layers) as f64
}

fn detect_case(level: SimdLevel, eq: Equalizer, layers: usize, ants: usize) -> Case {
    let name = match eq {
        Equalizer::Zf => "zf",
        _ => "mmse",
    };
    // The "8x4" is 8 antennas x 4 layers (see the module comment).
    let case = if (layers, ants) == (4, 8) {
        "mimo-mmse-8x4".to_string()
    } else {
        format!("mimo-{name}-{layers}x{ants}")
    };
    let n = SLOT_RES;
    let mut r = Xoshiro256PlusPlus::seed_from_u64(42);
    let h = gaussian(&mut r, ants * layers * n);
    let y = gaussian(&mut r, ants * n);
    let det = Detector::with_level(ants, layers, eq, level).expect("valid size");
    let mut x = vec![Complex32::new(0.0, 0.0); layers * n];
    let mut v = vec![0.0f32; layers * n];
    Case {
        block: "mimo",
        case,
        info_bits: 0.0,
        res: equalised_res(layers),
        run: Box::new(move || {
            det.detect(&y, &h, 0.05, &mut x, &mut v)
                .expect("valid buffers");
            std::hint::black_box((&x, &v));
        }),
    }
}

/// `mimo-mmse-16x64-prb`: 16 layers on 64 antennas as `mimo-mmse-16x64`,
/// with one channel estimate per PRB and symbol (each group of 12
/// consecutive REs shares its channel: 1,484 groups per slot), detected
/// with `Detector::detect_grouped`.
fn detect_grouped_case(level: SimdLevel) -> Case {
    let (layers, ants, per) = (16, 64, 12);
    let n = SLOT_RES;
    let groups = n / per;
    let mut r = Xoshiro256PlusPlus::seed_from_u64(44);
    let h = gaussian(&mut r, ants * layers * groups);
    let y = gaussian(&mut r, ants * n);
    let det = Detector::with_level(ants, layers, Equalizer::Mmse, level).expect("valid size");
    let mut x = vec![Complex32::new(0.0, 0.0); layers * n];
    let mut v = vec![0.0f32; layers * n];
    Case {
        block: "mimo",
        case: "mimo-mmse-16x64-prb".into(),
        info_bits: 0.0,
        res: equalised_res(layers),
        run: Box::new(move || {
            det.detect_grouped(&y, &h, per, 0.05, &mut x, &mut v)
                .expect("valid buffers");
            std::hint::black_box((&x, &v));
        }),
    }
}

fn precoder_case(level: SimdLevel) -> Case {
    let (ants, users, groups) = (64, 16, 106);
    let mut r = Xoshiro256PlusPlus::seed_from_u64(43);
    let h = gaussian(&mut r, ants * users * groups);
    let pc = Precoder::with_level(
        ants,
        users,
        PrecoderKind::Rzf { alpha: 0.1 },
        PowerNorm::PerUser,
        level,
    )
    .expect("valid size");
    let mut w = vec![Complex32::new(0.0, 0.0); h.len()];
    Case {
        block: "precoder",
        case: "precoder-rzf-64x16".into(),
        info_bits: 0.0,
        res: groups as f64,
        run: Box::new(move || {
            pc.compute(&h, &mut w).expect("valid buffers");
            std::hint::black_box(&w);
        }),
    }
}

/// MIMO cases at `level`.
pub fn cases(level: SimdLevel) -> Vec<Case> {
    let mut v = Vec::new();
    for (l, n) in [(1, 1), (2, 2), (2, 4)] {
        v.push(detect_case(level, Equalizer::Zf, l, n));
    }
    for (l, n) in [(1, 4), (2, 2), (2, 4), (4, 4), (4, 8), (16, 64)] {
        v.push(detect_case(level, Equalizer::Mmse, l, n));
    }
    v.push(detect_grouped_case(level));
    v.push(precoder_case(level));
    v
}
