//! Criterion bench of a full PUSCH receive of one slot from the received grid
//! (256QAM, MCS table 2 index 27, 2 DM-RS symbols, ZF, 2 LDPC iterations).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use num_complex::Complex32;
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use ranlab_phy::grid::ResourceGrid;
use ranlab_phy::mimo::Equalizer;
use ranlab_phy::numerology::{CyclicPrefix, Numerology, Scs};
use ranlab_phy::ofdm::OfdmOptions;
use ranlab_phy::pdu::{DmrsConfig, DmrsType, PuschPdu};
use ranlab_phy::pusch::{PuschReceiver, PuschRxConfig, PuschTransmitter};

fn pusch(c: &mut Criterion) {
    let mut g = c.benchmark_group("pusch");
    g.sample_size(20);
    for (scs, prb, n_rx, layers) in [
        (Scs::Khz15, 106u16, 1usize, 1usize),
        (Scs::Khz15, 270, 1, 1),
        (Scs::Khz30, 273, 4, 2),
    ] {
        let num = Numerology::new(scs, CyclicPrefix::Normal, prb, None).unwrap();
        let pdu = PuschPdu {
            rnti: 0x4601,
            n_id: 1,
            slot: 0,
            prb_start: 0,
            n_prb: prb,
            start_symbol: 0,
            n_symbols: 14,
            mcs_table: 2,
            mcs_index: 27,
            num_layers: layers as u8,
            dmrs: DmrsConfig {
                config_type: DmrsType::Type1,
                type_a_position: 2,
                additional_position: 1,
                length: 1,
                ports: (0..layers as u8).collect(),
                cdm_groups_without_data: 2,
                scrambling_id: 1,
                n_scid: 0,
            },
            rv: 0,
            harq_id: 0,
            new_data: true,
        };
        let mut tx = PuschTransmitter::new(num, layers, OfdmOptions::default()).unwrap();
        let plan = tx.plan(&pdu).unwrap();
        let mut r = Xoshiro256PlusPlus::seed_from_u64(1);
        let tb: Vec<u8> = (0..plan.tbs).map(|_| r.gen_range(0..2u8)).collect();
        tx.transmit(&pdu, &tb).unwrap();
        let mut grid = ResourceGrid::new(n_rx, 14, num.n_sc());
        for a in 0..n_rx {
            for l in 0..14 {
                for k in 0..num.n_sc() {
                    let mut y = Complex32::new(r.gen::<f32>() - 0.5, r.gen::<f32>() - 0.5) * 0.06;
                    for j in 0..layers {
                        let h = Complex32::from_polar(
                            if a % layers == j { 1.0 } else { 0.3 },
                            (a * 3 + j) as f32,
                        );
                        y += h * tx.grid().get(j, l, k);
                    }
                    grid.set(a, l, k, y);
                }
            }
        }
        let mut cfg = PuschRxConfig::new(n_rx, layers);
        cfg.equalizer = Equalizer::Zf;
        cfg.ldpc_iterations = 2;
        let mut rx = PuschReceiver::new(num, cfg).unwrap();
        assert!(rx.process_grid(&pdu, Some(&grid)).unwrap().crc_ok);
        g.throughput(Throughput::Elements(plan.tbs as u64));
        g.bench_function(
            format!("pusch-rx-{prb}prb-{}khz-{n_rx}x{layers}-256qam", scs.khz()),
            |b| {
                b.iter(|| {
                    rx.process_grid(&pdu, Some(std::hint::black_box(&grid)))
                        .unwrap()
                })
            },
        );
    }
    g.finish();
}

criterion_group!(benches, pusch);
criterion_main!(benches);
