//! Criterion benches of the transport chain: soft demapping, rate matching,
//! de-rate-matching and scrambling (fixed-seed inputs).

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use num_complex::Complex32;
use ranlab_phy::coding::ldpc::BaseGraph;
use ranlab_phy::coding::rate_match::{CbRateMatcher, HarqSoftBuffer};
use ranlab_phy::coding::scrambling::{descramble_llrs_i8, scramble_bits};
use ranlab_phy::coding::segmentation::CodeBlockShape;
use ranlab_phy::modulation::{Demapper, Mapper, Modulation};
use ranlab_phy::simd::SimdLevel;

fn bits(n: usize, seed: u32) -> Vec<u8> {
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

fn demap(c: &mut Criterion) {
    let n = 273 * 12 * 12;
    let mut g = c.benchmark_group("demap");
    for m in [
        Modulation::Qpsk,
        Modulation::Qam16,
        Modulation::Qam64,
        Modulation::Qam256,
    ] {
        let b = bits(n * m.qm(), 7);
        let mut sym = vec![Complex32::default(); n];
        Mapper::new(m).map(&b, &mut sym).unwrap();
        for (i, s) in sym.iter_mut().enumerate() {
            *s += Complex32::new(
                ((i * 37) % 101) as f32 * 1e-3 - 0.05,
                ((i * 53) % 97) as f32 * 1e-3 - 0.05,
            );
        }
        let nv = vec![0.05f32; n];
        let mut llrs = vec![0f32; n * m.qm()];
        g.throughput(Throughput::Elements((n * m.qm()) as u64));
        for level in SimdLevel::supported() {
            let d = Demapper::with_level(m, level);
            g.bench_function(format!("{}-{level}", m.name()), |bch| {
                bch.iter(|| d.demap(black_box(&sym), &nv, &mut llrs).unwrap())
            });
        }
    }
    g.finish();
}

fn rate_match(c: &mut Criterion) {
    let shape = CodeBlockShape::new(BaseGraph::Bg1, 8448, 8448).unwrap();
    let e = 25344;
    let rm = CbRateMatcher::new(shape, shape.n(), 0, e, 2).unwrap();
    let cw = bits(shape.n_ldpc(), 3);
    let (mut scratch, mut out) = (vec![0u8; e], vec![0u8; e]);
    let llrs: Vec<i8> = bits(e, 5)
        .iter()
        .map(|&b| if b == 0 { 9 } else { -9 })
        .collect();
    let mut soft = HarqSoftBuffer::new(shape.n(), 1);
    soft.reset(shape, 1, shape.n()).unwrap();
    let mut s8 = vec![0i8; e];
    let mut g = c.benchmark_group("rate_match");
    g.throughput(Throughput::Elements(8448));
    g.bench_function("rate_match-bg1-z384-e25344", |b| {
        b.iter(|| {
            rm.rate_match(black_box(&cw), &mut scratch, &mut out)
                .unwrap()
        })
    });
    g.bench_function("derate_match-bg1-z384-e25344", |b| {
        b.iter(|| {
            let (buf, _) = soft.cb_mut(0);
            rm.derate_match(black_box(&llrs), &mut s8, buf).unwrap()
        })
    });
    g.finish();
}

fn scrambling(c: &mut Criterion) {
    let n = 273 * 12 * 12 * 8;
    let mut b = bits(n, 11);
    let mut l: Vec<i8> = bits(n, 13).iter().map(|&x| x as i8 * 20 - 10).collect();
    let mut g = c.benchmark_group("scrambling");
    g.throughput(Throughput::Elements(n as u64));
    g.bench_function("bits", |bch| {
        bch.iter(|| scramble_bits(black_box(0x1234_5678), &mut b))
    });
    g.bench_function("llr-i8", |bch| {
        bch.iter(|| descramble_llrs_i8(black_box(0x1234_5678), &mut l))
    });
    g.finish();
}

criterion_group!(benches, demap, rate_match, scrambling);
criterion_main!(benches);
