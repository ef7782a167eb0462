//! Criterion benches of MIMO detection (106 PRB x 14 symbols = 17,808 REs
//! per call, one Rayleigh channel per RE; names are layers x antennas, except
//! `mmse-8x4` which is 8 antennas x 4 layers as the issue lists it) and of
//! regularised-ZF precoder computation for 64 antennas x 16 users on 106 PRB
//! groups. Each runs at every instruction set this CPU supports.
//! `cargo bench -p ranlab-benches --bench mimo`

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use num_complex::Complex32;
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use ranlab_phy::mimo::{Detector, Equalizer, PowerNorm, Precoder, PrecoderKind};
use ranlab_phy::simd::SimdLevel;

const SLOT_RES: usize = 106 * 12 * 14;

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

fn detection(c: &mut Criterion) {
    let mut grp = c.benchmark_group("mimo");
    grp.throughput(Throughput::Elements(SLOT_RES as u64));
    let sizes = [
        (Equalizer::Zf, 1, 1),
        (Equalizer::Zf, 2, 2),
        (Equalizer::Zf, 2, 4),
        (Equalizer::Mmse, 1, 4),
        (Equalizer::Mmse, 2, 2),
        (Equalizer::Mmse, 2, 4),
        (Equalizer::Mmse, 4, 4),
        (Equalizer::Mmse, 4, 8),
        (Equalizer::Mmse, 16, 64),
    ];
    for level in SimdLevel::supported() {
        for &(eq, l, n) in &sizes {
            let mut r = Xoshiro256PlusPlus::seed_from_u64(42);
            let h = gaussian(&mut r, n * l * SLOT_RES);
            let y = gaussian(&mut r, n * SLOT_RES);
            let det = Detector::with_level(n, l, eq, level).unwrap();
            let mut x = vec![Complex32::new(0.0, 0.0); l * SLOT_RES];
            let mut v = vec![0.0f32; l * SLOT_RES];
            let name = match (eq, l, n) {
                (Equalizer::Zf, ..) => format!("zf-{l}x{n}/{level}"),
                (_, 4, 8) => format!("mmse-8x4/{level}"),
                _ => format!("mmse-{l}x{n}/{level}"),
            };
            if l == 16 {
                grp.sample_size(10);
            }
            grp.bench_function(name, |b| {
                b.iter(|| det.detect(&y, &h, 0.05, &mut x, &mut v).unwrap())
            });
        }
    }
    grp.finish();
}

fn precoder(c: &mut Criterion) {
    let (ants, users, groups) = (64, 16, 106);
    let mut grp = c.benchmark_group("precoder");
    grp.throughput(Throughput::Elements(groups as u64));
    for level in SimdLevel::supported() {
        let mut r = Xoshiro256PlusPlus::seed_from_u64(43);
        let h = gaussian(&mut r, ants * users * groups);
        let pc = Precoder::with_level(
            ants,
            users,
            PrecoderKind::Rzf { alpha: 0.1 },
            PowerNorm::PerUser,
            level,
        )
        .unwrap();
        let mut w = vec![Complex32::new(0.0, 0.0); h.len()];
        grp.bench_function(format!("rzf-64x16/{level}"), |b| {
            b.iter(|| pc.compute(&h, &mut w).unwrap())
        });
    }
    grp.finish();
}

criterion_group!(benches, detection, precoder);
criterion_main!(benches);
