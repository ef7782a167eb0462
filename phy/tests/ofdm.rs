//! OFDM and DM-RS estimation through the time domain: a DM-RS slot is
//! modulated, delayed by whole samples and frequency-shifted, demodulated,
//! and the estimator reports the delay and CFO it was given.

use num_complex::Complex32;
use ranlab_phy::chest::{ChannelEstimator, ChestOptions};
use ranlab_phy::grid::ResourceGrid;
use ranlab_phy::numerology::{CyclicPrefix, Numerology, Scs};
use ranlab_phy::ofdm::{correct_cfo, OfdmDemodulator, OfdmModulator, OfdmOptions};
use ranlab_phy::pdu::{DmrsConfig, DmrsPorts, DmrsType};
use ranlab_phy::refsig::dmrs::{DmrsLink, DmrsParams, MappingType};

#[test]
fn delay_and_cfo_survive_the_time_domain() {
    let num = Numerology::new(Scs::Khz15, CyclicPrefix::Normal, 52, None).unwrap();
    let cfg = DmrsConfig {
        config_type: DmrsType::Type1,
        type_a_position: 2,
        additional_position: 2,
        length: 1,
        ports: DmrsPorts::from([0]),
        cdm_groups_without_data: 2,
        scrambling_id: 33,
        n_scid: 0,
    };
    let p = DmrsParams::new(DmrsLink::Pusch, MappingType::A, &cfg, 0, 0, 14, 0, 52).unwrap();
    let mut tx = ResourceGrid::new(1, 14, num.n_sc());
    let mut seq = vec![Complex32::default(); p.seq_len()];
    for (l, _, lp) in p.symbols.iter() {
        p.map_layer(0, l, lp, tx.symbol_mut(0, l), &mut seq);
    }
    let opts = OfdmOptions {
        half_subcarrier_shift: true,
        window_len: 0,
    };
    let mut m = OfdmModulator::new(num, opts).unwrap();
    let len = num.slot_len(0);
    let mut time = vec![Complex32::default(); len];
    m.modulate_slot(0, &tx, 0, &mut time).unwrap();
    let delay = 7usize; // samples, well inside the CP
    let mut rx_time = vec![Complex32::default(); len];
    rx_time[delay..].copy_from_slice(&time[..len - delay]);
    let cfo = 200.0;
    correct_cfo(&mut rx_time, -cfo, num.sample_rate_hz(), 0);
    let mut d = OfdmDemodulator::new(num, opts).unwrap();
    assert!((d.estimate_cfo_cp(0, &rx_time) - cfo).abs() < 5.0);
    let mut rx = ResourceGrid::new(1, 14, num.n_sc());
    d.demodulate_slot(0, &rx_time, &mut rx, 0).unwrap();
    let mut est = ChannelEstimator::new(1, 1, 52, ChestOptions::default());
    let mut out = est.new_estimate();
    est.estimate(&num, &rx, &p, &mut out).unwrap();
    let want = delay as f64 / num.sample_rate_hz();
    assert!(
        (out.timing_offset_s() - want).abs() < 0.05 * want,
        "τ {} vs {want}",
        out.timing_offset_s()
    );
    // Without ICI removal the DM-RS CFO is still close (the common phase dominates).
    assert!(
        (out.cfo_hz().unwrap() - cfo).abs() < 15.0,
        "cfo {:?}",
        out.cfo_hz()
    );
    // The estimated channel has unit gain (modulation and demodulation are unitary).
    let h = out.position(0);
    let g = h.iter().map(|v| v.norm()).sum::<f32>() / h.len() as f32;
    assert!((g - 1.0).abs() < 0.02, "gain {g}");
}
