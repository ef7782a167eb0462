//! A synthetic loaded cell for benchmarks and examples: `n_ues` UEs with
//! full buffers on two 273-PRB carriers (a TDD and an FDD carrier, both with
//! an uplink slot at t = 22 ms), channel gains spread over 40 dB and random
//! spatial signatures for MU-MIMO. Fixed seed, so every run sees the same cell.

use num_complex::Complex32;
use ranlab_mac::bsr::ReportConfig;
use ranlab_mac::la::McsSelector;
use ranlab_mac::mcs::McsTable;
use ranlab_mac::qos::QosClass;
use ranlab_mac::timing::{CarrierTiming, SlotPattern};
use ranlab_mac::traffic::TrafficModel;
use ranlab_mac::ue::{LogicalChannel, UeCapability, UeContext};
use ranlab_mac::{CarrierConfig, Mac, MacConfig};

/// The time of the measured slot (slot 44 at 30 kHz: uplink on both carriers), us.
pub const SLOT_US: u64 = 22_000; // slot 44: `U` in DDDSU

/// Two carriers of `n_prb` PRBs with `antennas` receive antennas each.
pub fn carriers(n_prb: u16, antennas: u16) -> Vec<CarrierConfig> {
    let c = |name: &str, pattern: SlotPattern| CarrierConfig {
        name: name.into(),
        timing: CarrierTiming::new(30, pattern),
        n_prb,
        sul: false,
        dci_carrier: 0,
        rx_antennas: antennas,
        n_symbols: 14,
        dmrs_re_per_prb: 24,
        overhead_re: 0,
        p0_dbm: -90.0,
        alpha: 0.8,
    };
    vec![
        c(
            "tdd",
            SlotPattern::tdd("DDDSU").unwrap_or_else(|_| SlotPattern::fdd()),
        ),
        c("fdd", SlotPattern::fdd()),
    ]
}

/// A MAC with `n_ues` UEs on `carriers`, buffers reported to the gNB, at [`SLOT_US`].
pub fn cell(n_ues: u32, carriers: Vec<CarrierConfig>, seed: u64) -> Mac {
    let n_ant = carriers[0].rx_antennas as usize;
    let mut s = seed | 1;
    let mut next = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s >> 11) as f32 / (1u64 << 53) as f32
    };
    let classes = [
        QosClass::BestEffort,
        QosClass::Premium,
        QosClass::Streaming,
        QosClass::AiUplink,
    ];
    let ues = (0..n_ues)
        .map(|i| {
            let qos = classes[i as usize % classes.len()];
            let lc = LogicalChannel::new(
                1,
                qos,
                TrafficModel::FullBuffer {
                    backlog_bytes: 200_000,
                },
                seed ^ i as u64,
            );
            let cap = UeCapability {
                ul_carriers: (0..carriers.len()).collect(),
                max_layers: 1,
                mcs_table: McsTable::Qam256,
                max_tx_power_dbm: 23.0,
            };
            let mut u = UeContext::new(i, cap, vec![lc], ReportConfig::default(), 4);
            let pl = 80.0 + 50.0 * next();
            for c in &mut u.carriers {
                c.path_loss_db = pl;
                c.gain_db = 113.0 - pl + 10.0 * (n_ant as f32).log10();
                let mut v: Vec<Complex32> = (0..n_ant)
                    .map(|_| Complex32::new(next() - 0.5, next() - 0.5))
                    .collect();
                let n = v.iter().map(|x| x.norm_sqr()).sum::<f32>().sqrt();
                v.iter_mut().for_each(|x| *x /= n);
                c.spatial = v;
            }
            u.avg_rate_bps = 1e5 + 1e7 * next();
            u
        })
        .collect();
    let mut mac = Mac::new(carriers, ues, MacConfig::default());
    let mut t = 0;
    while t <= SLOT_US {
        mac.begin_slot(t);
        t += 500;
    }
    mac
}

/// The MCS selector used with the fixture (Shannon bound + 1.5 dB).
pub fn selector() -> McsSelector {
    McsSelector::shannon_gap(McsTable::Qam256, 1.5)
}
