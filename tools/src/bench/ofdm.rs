//! Bench cases of OFDM demodulation and DM-RS channel estimation.

use super::Case;
use num_complex::Complex32;
use ranlab_phy::chest::{ChannelEstimator, ChestOptions};
use ranlab_phy::grid::ResourceGrid;
use ranlab_phy::numerology::{CyclicPrefix, Numerology, Scs};
use ranlab_phy::ofdm::{OfdmDemodulator, OfdmModulator, OfdmOptions};
use ranlab_phy::pdu::{DmrsConfig, DmrsPorts, DmrsType};
use ranlab_phy::refsig::dmrs::{DmrsLink, DmrsParams, MappingType};
use ranlab_phy::simd::SimdLevel;

fn noise(n: usize, seed: u64) -> Vec<Complex32> {
    let mut s = seed;
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let a = ((s >> 40) as f32 / (1u64 << 24) as f32) - 0.5;
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let b = ((s >> 40) as f32 / (1u64 << 24) as f32) - 0.5;
            Complex32::new(a, b)
        })
        .collect()
}

/// OFDM and channel-estimation cases (rustfft picks its own SIMD; `level` does not apply).
pub fn cases(_level: SimdLevel) -> Vec<Case> {
    let mut v = Vec::new();
    for (scs, prb, fft) in [(Scs::Khz15, 106u16, 2048usize), (Scs::Khz30, 273, 4096)] {
        let num = Numerology::new(scs, CyclicPrefix::Normal, prb, Some(fft)).unwrap();
        // One symbol (l = 1, normal-length CP), one antenna.
        let input = noise(num.symbol_len(0, 1), 7);
        let mut out = vec![Complex32::default(); num.n_sc()];
        let mut d = OfdmDemodulator::new(num, OfdmOptions::default()).unwrap();
        v.push(Case {
            block: "ofdm",
            case: format!("ofdm-demod-{fft}"),
            info_bits: 0.0,
            res: fft as f64,
            run: Box::new(move || {
                d.demodulate_symbol(0, 1, std::hint::black_box(&input), &mut out)
                    .unwrap();
            }),
        });
        let freq = noise(num.n_sc(), 9);
        let mut time = vec![Complex32::default(); num.symbol_len(0, 1)];
        let mut m = OfdmModulator::new(num, OfdmOptions::default()).unwrap();
        v.push(Case {
            block: "ofdm",
            case: format!("ofdm-mod-{fft}"),
            info_bits: 0.0,
            res: fft as f64,
            run: Box::new(move || {
                m.modulate_symbol(0, 1, std::hint::black_box(&freq), &mut time)
                    .unwrap();
            }),
        });
    }
    for (scs, prb, n_rx, layers, add) in [
        (Scs::Khz15, 106u16, 1usize, 1usize, 1u8),
        (Scs::Khz15, 270, 1, 1, 1),
        (Scs::Khz30, 273, 4, 2, 1),
    ] {
        let num = Numerology::new(scs, CyclicPrefix::Normal, prb, None).unwrap();
        let cfg = DmrsConfig {
            config_type: DmrsType::Type1,
            type_a_position: 2,
            additional_position: add,
            length: 1,
            ports: DmrsPorts::consecutive(0, layers as u8).expect("at most 8 layers"),
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
        let n_dmrs = p.symbols.positions().len();
        v.push(Case {
            block: "chest",
            case: format!(
                "chest-{prb}prb-{}khz-{n_rx}rx-{layers}l-{n_dmrs}dmrs",
                scs.khz()
            ),
            info_bits: 0.0,
            res: (num.n_sc() * 14 * n_rx) as f64,
            run: Box::new(move || {
                est.estimate(&num, std::hint::black_box(&grid), &p, &mut out)
                    .unwrap();
            }),
        });
    }
    v
}

/// Full PUSCH receive of one slot from the received grid (chest, detection,
/// demapping, descrambling, LDPC decoding with 2 iterations, CRCs).
pub fn pusch_cases(level: SimdLevel) -> Vec<Case> {
    use ranlab_phy::mimo::Equalizer;
    use ranlab_phy::pdu::PuschPdu;
    use ranlab_phy::pusch::{PuschReceiver, PuschRxConfig, PuschTransmitter};
    let mut v = Vec::new();
    // (name, scs, PRBs, rx antennas, layers): 256QAM, MCS table 2 index 27 (R 948/1024 ≈ 0.93),
    // DM-RS on symbols 2 and 11.
    // The named cases stop a code block's LDPC iterations when its CRC passes
    // (1 iteration at this SNR); the `-fixed2it` twins always run both.
    for (scs, prb, n_rx, layers, early_stop) in [
        (Scs::Khz15, 106u16, 1usize, 1usize, true),
        (Scs::Khz15, 270, 1, 1, true),
        (Scs::Khz30, 273, 4, 2, true),
        (Scs::Khz15, 106, 1, 1, false),
        (Scs::Khz15, 270, 1, 1, false),
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
                ports: DmrsPorts::consecutive(0, layers as u8).expect("at most 8 layers"),
                cdm_groups_without_data: 2,
                scrambling_id: 1,
                n_scid: 0,
            },
            rv: 0,
            harq_id: 0,
            new_data: true,
            ndi: false,
            ..Default::default()
        };
        let mut tx = PuschTransmitter::new(num, layers, OfdmOptions::default()).unwrap();
        let plan = tx.plan(&pdu).unwrap();
        let tb: Vec<u8> = (0..plan.tbs)
            .map(|i| ((i as u32).wrapping_mul(2654435761) >> 31) as u8)
            .collect();
        tx.transmit(&pdu, &tb).unwrap();
        // Received grid: a fixed well-conditioned mix of the layers plus noise 35 dB down.
        let n = noise(n_rx * 14 * num.n_sc(), 5);
        let mut grid = ResourceGrid::new(n_rx, 14, num.n_sc());
        for a in 0..n_rx {
            for l in 0..14 {
                for k in 0..num.n_sc() {
                    let mut y = n[(a * 14 + l) * num.n_sc() + k] * 0.06;
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
        cfg.ldpc_early_stop = early_stop;
        cfg.level = level;
        let mut rx = PuschReceiver::new(num, cfg).unwrap();
        let res = rx.process_grid(&pdu, Some(&grid)).unwrap();
        assert!(res.crc_ok, "bench input must decode: {res:?}");
        let res_count = (num.n_sc() * 14 * n_rx) as f64;
        v.push(Case {
            block: "pusch",
            case: format!(
                "pusch-rx-{prb}prb-{}khz-{n_rx}x{layers}-256qam{}",
                scs.khz(),
                if early_stop { "" } else { "-fixed2it" }
            ),
            info_bits: plan.tbs as f64,
            res: res_count,
            run: Box::new(move || {
                let r = rx
                    .process_grid(&pdu, Some(std::hint::black_box(&grid)))
                    .unwrap();
                std::hint::black_box(r);
            }),
        });
    }
    v
}
