//! Criterion benches of the LDPC encoder and decoder (TS 38.212 §5.3.2), the same
//! cases as `ranlab bench --only ldpc_decode` / `ldpc_encode`: Z = 384, rv 0, six
//! layered iterations on random LLRs of magnitude 10 (early termination never fires),
//! throughput in information bits.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use ranlab_phy::coding::ldpc::{BaseGraph, DecoderConfig, LdpcDecoder, LdpcEncoder, MinSum};
use ranlab_phy::simd::SimdLevel;

fn decode(c: &mut Criterion) {
    let mut g = c.benchmark_group("ldpc_decode");
    for (bg, e) in [
        (BaseGraph::Bg1, 9216usize),
        (BaseGraph::Bg1, 25344),
        (BaseGraph::Bg2, 4608),
        (BaseGraph::Bg2, 19200),
    ] {
        let (k, n) = (bg.info_len(384), bg.buffer_len(384));
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(7);
        let mut llrs = vec![0i8; n];
        for l in &mut llrs[..e] {
            *l = if rng.gen() { 10 } else { -10 };
        }
        let mut out = vec![0u8; k];
        g.throughput(Throughput::Elements(k as u64));
        for level in SimdLevel::supported() {
            let cfg = DecoderConfig {
                max_iterations: 6,
                algorithm: MinSum::default(),
                level,
                early_stop: true,
            };
            let mut dec = LdpcDecoder::new(bg, 384, cfg).unwrap();
            let name = format!("bg{}-z384-e{e}-it6", bg.number());
            g.bench_function(BenchmarkId::new(name, level.name()), |b| {
                b.iter(|| dec.decode(&llrs, e, k, None, &mut out).unwrap())
            });
        }
    }
    g.finish();
}

fn encode(c: &mut Criterion) {
    let mut g = c.benchmark_group("ldpc_encode");
    for bg in [BaseGraph::Bg1, BaseGraph::Bg2] {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(8);
        let info: Vec<u8> = (0..bg.info_len(384)).map(|_| rng.gen_range(0..2)).collect();
        let mut cw = vec![0u8; bg.codeword_len(384)];
        g.throughput(Throughput::Elements(info.len() as u64));
        for level in SimdLevel::supported() {
            let enc = LdpcEncoder::with_level(bg, 384, level).unwrap();
            let name = format!("bg{}-z384", bg.number());
            g.bench_function(BenchmarkId::new(name, level.name()), |b| {
                b.iter(|| enc.encode(&info, &mut cw).unwrap())
            });
        }
    }
    g.finish();
}

criterion_group!(benches, decode, encode);
criterion_main!(benches);
