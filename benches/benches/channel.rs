//! Criterion benches of the software channel: TDL-C time-domain into 4 gNB antennas per
//! 0.5 ms slot at 61.44 Msps, AWGN on 4 antennas, and CDL-C per-RE responses for a 64-element
//! gNB array over 273 PRB.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use num_complex::Complex32;
use ranlab_sim_channel::cdl::{CdlProfile, Upa};
use ranlab_sim_channel::engine::SubcarrierGrid;
use ranlab_sim_channel::model::{ChannelConfig, ModelKind};
use ranlab_sim_channel::rng::{Gaussian, Purpose};
use ranlab_sim_channel::tdl::TdlProfile;
use ranlab_sim_channel::Awgn;

const SLOT: usize = 30_720;

fn tdl_c() -> ChannelConfig {
    ChannelConfig {
        model: ModelKind::Tdl(TdlProfile::C),
        delay_spread_s: 300e-9,
        speed_kmh: 3.0,
        carrier_hz: 3.5e9,
        sample_rate_hz: 61.44e6,
        n_rx: 4,
        n_tx: 1,
        ..Default::default()
    }
}

fn channel(c: &mut Criterion) {
    let mut g = Gaussian::new(1, Purpose::User, 0, 0, 0);
    let x: Vec<Complex32> = (0..SLOT).map(|_| g.complex(1.0)).collect();
    let mut y = vec![vec![Complex32::new(0.0, 0.0); SLOT]; 4];

    let mut grp = c.benchmark_group("channel");
    grp.throughput(Throughput::Elements(SLOT as u64));
    let mut ch = tdl_c().build().unwrap();
    grp.bench_function("tdl-c-300ns-3kmh-1x4-slot", |b| {
        b.iter(|| ch.process(&[&x[..]], &mut y).unwrap())
    });
    let mut noise = Awgn::new(1.0, 4, 1, 0).unwrap();
    grp.bench_function("awgn-4rx-slot", |b| b.iter(|| noise.add(&mut y).unwrap()));

    let grid = SubcarrierGrid::centred(273, 30e3);
    grp.throughput(Throughput::Elements(grid.count as u64));
    let mut cdl = ChannelConfig {
        model: ModelKind::Cdl(CdlProfile::C),
        n_rx: 64,
        gnb_array: Some(Upa::new(8, 8)),
        ue_array: Some(Upa::ula(1)),
        ..tdl_c()
    }
    .build()
    .unwrap();
    let mut h = vec![Complex32::new(0.0, 0.0); grid.count * 64];
    let mut n = 0u64;
    grp.bench_function("cdl-c-64x1-freq-273prb", |b| {
        b.iter(|| {
            n += 2192;
            cdl.freq_response(n, &grid, &mut h).unwrap()
        })
    });
    grp.finish();
}

criterion_group!(benches, channel);
criterion_main!(benches);
