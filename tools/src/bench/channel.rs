//! Bench cases of the software channel (`ranlab-sim-channel`): time-domain TDL-C into
//! 4 gNB antennas (samples per second: `res` counts samples), the same with noise through
//! the multi-link API, and CDL-C with 64 gNB antennas on the frequency-domain path
//! (`res` counts resource elements).

use super::Case;
use num_complex::Complex32;
use ranlab_phy::simd::SimdLevel;
use ranlab_sim_channel::cdl::{CdlProfile, Upa};
use ranlab_sim_channel::engine::SubcarrierGrid;
use ranlab_sim_channel::model::{ChannelConfig, ModelKind};
use ranlab_sim_channel::multilink::{LinkConfig, MultiLinkChannel};
use ranlab_sim_channel::rng::{Gaussian, Purpose};
use ranlab_sim_channel::tdl::TdlProfile;

/// One 0.5 ms slot at 61.44 Msps (40 MHz at 30 kHz, 2048-point FFT).
const SLOT: usize = 30_720;

fn signal(n: usize) -> Vec<Complex32> {
    let mut g = Gaussian::new(1, Purpose::User, 0, 0, 0);
    (0..n).map(|_| g.complex(1.0)).collect()
}

fn tdl_c_cfg(speed_kmh: f64) -> ChannelConfig {
    ChannelConfig {
        model: ModelKind::Tdl(TdlProfile::C),
        delay_spread_s: 300e-9,
        speed_kmh,
        carrier_hz: 3.5e9,
        sample_rate_hz: 61.44e6,
        n_rx: 4,
        n_tx: 1,
        ..Default::default()
    }
}

/// Channel cases (the channel code is portable; `level` does not change it).
pub fn cases(_level: SimdLevel) -> Vec<Case> {
    let mut v = Vec::new();
    for speed in [3.0, 120.0] {
        let mut ch = tdl_c_cfg(speed).build().expect("valid config");
        let x = signal(SLOT);
        let mut y = vec![vec![Complex32::new(0.0, 0.0); SLOT]; 4];
        v.push(Case {
            block: "channel",
            case: format!("tdl-c-300ns-{speed}kmh-1x4-slot"),
            info_bits: 0.0,
            res: SLOT as f64,
            run: Box::new(move || {
                ch.process(&[&x[..]], &mut y).expect("shapes");
                std::hint::black_box(&y);
            }),
        });
    }
    {
        let links = [LinkConfig::new(tdl_c_cfg(3.0), 10.0)];
        let mut m = MultiLinkChannel::new(4, &links, 1.0, 1).expect("valid config");
        let x = signal(SLOT);
        let mut y = vec![vec![Complex32::new(0.0, 0.0); SLOT]; 4];
        v.push(Case {
            block: "channel",
            case: "tdl-c-1x4-with-awgn-slot".into(),
            info_bits: 0.0,
            res: SLOT as f64,
            run: Box::new(move || {
                m.process(&[&x[..]], &mut y).expect("shapes");
                std::hint::black_box(&y);
            }),
        });
    }
    {
        let mut noise = ranlab_sim_channel::Awgn::new(1.0, 4, 1, 0).expect("valid");
        let mut y = vec![vec![Complex32::new(0.0, 0.0); SLOT]; 4];
        v.push(Case {
            block: "channel",
            case: "awgn-4rx-slot".into(),
            info_bits: 0.0,
            res: SLOT as f64,
            run: Box::new(move || {
                noise.add(&mut y).expect("shapes");
                std::hint::black_box(&y);
            }),
        });
    }
    {
        let cfg = ChannelConfig {
            model: ModelKind::Cdl(CdlProfile::C),
            n_rx: 64,
            n_tx: 1,
            gnb_array: Some(Upa::new(8, 8)),
            ue_array: Some(Upa::ula(1)),
            ..tdl_c_cfg(3.0)
        };
        let mut ch = cfg.build().expect("valid config");
        let grid = SubcarrierGrid::centred(273, 30e3);
        let mut h = vec![Complex32::new(0.0, 0.0); grid.count * 64];
        let mut n = 0u64;
        v.push(Case {
            block: "channel",
            case: "cdl-c-64x1-freq-273prb".into(),
            info_bits: 0.0,
            res: grid.count as f64,
            run: Box::new(move || {
                n += 2192; // one OFDM symbol later each call
                ch.freq_response(n, &grid, &mut h).expect("shapes");
                std::hint::black_box(&h);
            }),
        });
    }
    v
}
