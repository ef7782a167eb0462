//! Criterion benches of OFDM (de)modulation and DM-RS channel estimation.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use num_complex::Complex32;
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use ranlab_phy::chest::{ChannelEstimator, ChestOptions};
use ranlab_phy::grid::ResourceGrid;
use ranlab_phy::numerology::{CyclicPrefix, Numerology, Scs};
use ranlab_phy::ofdm::{OfdmDemodulator, OfdmModulator, OfdmOptions};
use ranlab_phy::pdu::{DmrsConfig, DmrsType};
use ranlab_phy::refsig::dmrs::{DmrsLink, DmrsParams, MappingType};

fn noise(n: usize, seed: u64) -> Vec<Complex32> {
    let mut r = Xoshiro256PlusPlus::seed_from_u64(seed);
    (0..n)
        .map(|_| Complex32::new(r.gen::<f32>() - 0.5, r.gen::<f32>() - 0.5))
        .collect()
}

fn ofdm(c: &mut Criterion) {
    let mut g = c.benchmark_group("ofdm");
    for (scs, prb, fft) in [(Scs::Khz15, 106u16, 2048usize), (Scs::Khz30, 273, 4096)] {
        let num = Numerology::new(scs, CyclicPrefix::Normal, prb, Some(fft)).unwrap();
        g.throughput(Throughput::Elements(fft as u64));
        let input = noise(num.symbol_len(0, 1), 1);
        let mut out = vec![Complex32::default(); num.n_sc()];
        let mut d = OfdmDemodulator::new(num, OfdmOptions::default()).unwrap();
        g.bench_function(format!("ofdm-demod-{fft}"), |b| {
            b.iter(|| {
                d.demodulate_symbol(0, 1, std::hint::black_box(&input), &mut out)
                    .unwrap()
            })
        });
        let freq = noise(num.n_sc(), 2);
        let mut time = vec![Complex32::default(); num.symbol_len(0, 1)];
        let mut m = OfdmModulator::new(num, OfdmOptions::default()).unwrap();
        g.bench_function(format!("ofdm-mod-{fft}"), |b| {
            b.iter(|| {
                m.modulate_symbol(0, 1, std::hint::black_box(&freq), &mut time)
                    .unwrap()
            })
        });
    }
    g.finish();
}

fn chest(c: &mut Criterion) {
    let mut g = c.benchmark_group("chest");
    for (scs, prb, n_rx, layers) in [
        (Scs::Khz15, 106u16, 1usize, 1usize),
        (Scs::Khz30, 273, 4, 2),
    ] {
        let num = Numerology::new(scs, CyclicPrefix::Normal, prb, None).unwrap();
        let cfg = DmrsConfig {
            config_type: DmrsType::Type1,
            type_a_position: 2,
            additional_position: 1,
            length: 1,
            ports: (0..layers as u8).collect(),
            cdm_groups_without_data: 2,
            scrambling_id: 1,
            n_scid: 0,
        };
        let p = DmrsParams::new(
            DmrsLink::Pusch,
            MappingType::A,
            &cfg,
            0,
            0,
            14,
            0,
            prb as usize,
        )
        .unwrap();
        let mut grid = ResourceGrid::new(n_rx, 14, num.n_sc());
        grid.as_mut_slice()
            .copy_from_slice(&noise(n_rx * 14 * num.n_sc(), 3));
        let mut est = ChannelEstimator::new(n_rx, layers, prb as usize, ChestOptions::default());
        let mut out = est.new_estimate();
        g.throughput(Throughput::Elements((num.n_sc() * 14 * n_rx) as u64));
        g.bench_function(
            format!("chest-{prb}prb-{}khz-{n_rx}rx-{layers}l-2dmrs", scs.khz()),
            |b| {
                b.iter(|| {
                    est.estimate(&num, std::hint::black_box(&grid), &p, &mut out)
                        .unwrap()
                })
            },
        );
    }
    g.finish();
}

criterion_group!(benches, ofdm, chest);
criterion_main!(benches);
