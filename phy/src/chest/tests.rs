//! Tests of the estimator against theory and its reference interpolation.

use super::estimator::interpolate;
use super::*;
use crate::grid::ResourceGrid;
use crate::numerology::Numerology;
use crate::pdu::DmrsType;
use crate::refsig::dmrs::DmrsParams;

/// The per-subcarrier definition [`interpolate`] is written against.
fn interpolate_reference(b: &[Complex32], c0: f64, d: f64, h: &mut [Complex32]) {
    let n = b.len();
    for (k, v) in h.iter_mut().enumerate() {
        let x = (k as f64 - c0) / d;
        *v = if x <= 0.0 {
            b[0]
        } else if x >= (n - 1) as f64 {
            b[n - 1]
        } else {
            let i = x as usize;
            let w = (x - i as f64) as f32;
            b[i] * (1.0 - w) + b[i + 1] * w
        };
    }
}

#[test]
fn segment_interpolation_matches_the_definition() {
    let mut r = Rng(3);
    for (n, c0, d, len) in [
        (1usize, 1.0, 4.0, 12usize),
        (3, 1.0, 4.0, 12),
        (3, 2.0, 4.0, 12),
        (2, 0.5, 6.0, 12),
        (819, 1.0, 4.0, 3276),
        (546, 3.5, 6.0, 3276),
        (5, 30.0, 4.0, 12),
    ] {
        let b: Vec<Complex32> = (0..n).map(|_| r.cn(1.0)).collect();
        let (mut a, mut e) = (
            vec![Complex32::default(); len],
            vec![Complex32::default(); len],
        );
        interpolate(&b, c0, d, &mut a);
        interpolate_reference(&b, c0, d, &mut e);
        for (k, (x, y)) in a.iter().zip(&e).enumerate() {
            assert!(
                (x - y).norm() < 1e-5,
                "n {n} c0 {c0} d {d} k {k}: {x} vs {y}"
            );
        }
    }
}
use crate::numerology::{CyclicPrefix, Scs};
use crate::pdu::DmrsConfig;
use crate::refsig::dmrs::{DmrsLink, MappingType};

struct Rng(u64);
impl Rng {
    fn u(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }
    /// CN(0, var).
    fn cn(&mut self, var: f64) -> Complex32 {
        let r = (-var * self.u().ln()).sqrt();
        let ph = std::f64::consts::TAU * self.u();
        Complex32::new((r * ph.cos()) as f32, (r * ph.sin()) as f32)
    }
}

fn params(
    t: DmrsType,
    ports: Vec<u8>,
    add: u8,
    len: u8,
    prb_start: usize,
    n_prb: usize,
) -> DmrsParams {
    let cfg = DmrsConfig {
        config_type: t,
        type_a_position: 2,
        additional_position: add,
        length: len,
        ports: crate::pdu::DmrsPorts::new(&ports).expect("at most 8 ports"),
        cdm_groups_without_data: 2,
        scrambling_id: 77,
        n_scid: 0,
    };
    DmrsParams::new(
        DmrsLink::Pusch,
        MappingType::A,
        &cfg,
        3,
        0,
        14,
        prb_start,
        n_prb,
    )
    .unwrap()
}

/// Transmits the DM-RS of every layer through `chan(rx, layer, k, l)` plus CN(0, σ²) noise.
fn receive(
    p: &DmrsParams,
    n_rx: usize,
    carrier_prb: usize,
    sigma2: f64,
    chan: &dyn Fn(usize, usize, usize, usize) -> Complex32,
    rng: &mut Rng,
) -> ResourceGrid {
    let n_sc = 12 * carrier_prb;
    let mut tx = ResourceGrid::new(p.n_ports, 14, n_sc);
    let mut seq = vec![Complex32::default(); p.seq_len()];
    for layer in 0..p.n_ports {
        for (l, _, lp) in p.symbols.iter() {
            p.map_layer(layer, l, lp, tx.symbol_mut(layer, l), &mut seq);
        }
    }
    let mut rx = ResourceGrid::new(n_rx, 14, n_sc);
    for a in 0..n_rx {
        for l in 0..14 {
            for k in 0..n_sc {
                let mut v = rng.cn(sigma2);
                for layer in 0..p.n_ports {
                    v += chan(a, layer, k, l) * tx.get(layer, l, k);
                }
                rx.set(a, l, k, v);
            }
        }
    }
    rx
}

fn num() -> Numerology {
    Numerology::new(Scs::Khz30, CyclicPrefix::Normal, 52, None).unwrap()
}

#[test]
fn flat_channel_mse_and_noise_match_theory() {
    let n = num();
    let sigma2 = 0.01;
    for (t, ports) in [
        (DmrsType::Type1, vec![0u8, 1, 2]),
        (DmrsType::Type2, vec![0u8, 1, 4]),
    ] {
        let p = params(t, ports, 1, 1, 4, 40);
        let mut rng = Rng(5);
        let gains: Vec<Complex32> = (0..2 * 3).map(|_| rng.cn(1.0)).collect();
        let g = gains.clone();
        let rx = receive(&p, 2, 52, sigma2, &move |a, j, _, _| g[a * 3 + j], &mut rng);
        let mut est = ChannelEstimator::new(4, 4, 52, ChestOptions::default());
        let mut out = est.new_estimate();
        est.estimate(&n, &rx, &p, &mut out).unwrap();
        let mut buf = vec![Complex32::default(); 2 * 3 * 480];
        // The channel up to its CFO phase is the same channel.
        let mut buf2 = buf.clone();
        for l in [0usize, 5, 13] {
            let h = out.symbol_channel(l, &mut buf).to_vec();
            let (h0, r) = out.symbol_channel_phase(l, &mut buf2);
            assert!((r.norm() - 1.0).abs() < 1e-6);
            for (x, y) in h.iter().zip(h0) {
                assert!((x - y * r).norm() < 1e-5, "symbol {l}");
            }
        }
        let h = out.symbol_channel(5, &mut buf);
        let mut mse = 0.0f64;
        for a in 0..2 {
            for j in 0..3 {
                for k in 0..480 {
                    mse += (h[(a * 3 + j) * 480 + k] - gains[a * 3 + j]).norm_sqr() as f64;
                }
            }
        }
        mse /= 6.0 * 480.0;
        // Pair noise σ²/(2β²), linear interpolation keeps ≈ 2/3 of it on
        // average, two positions halve it (edges held: a little more).
        let want = sigma2 / 4.0 * (2.0 / 3.0) / 2.0;
        assert!(
            mse > 0.6 * want && mse < 1.5 * want,
            "{t:?}: mse {mse}, expected ≈ {want}"
        );
        let nv = out.noise_var() as f64;
        assert!((nv / sigma2 - 1.0).abs() < 0.15, "{t:?}: noise {nv}");
        assert!(
            out.timing_offset_s().abs() < 2e-8,
            "{}",
            out.timing_offset_s()
        );
        assert!(out.cfo_hz().unwrap().abs() < 30.0, "{:?}", out.cfo_hz());
        let snr = out.sinr_db(0);
        let want_snr =
            10.0 * (((gains[0].norm_sqr() + gains[3].norm_sqr()) / 2.0) as f64 / sigma2).log10();
        assert!(
            (snr as f64 - want_snr).abs() < 0.7,
            "snr {snr} vs {want_snr}"
        );
    }
}

#[test]
fn delay_and_cfo_are_estimated_and_tracked() {
    let n = num();
    let tau = 0.4e-6;
    let cfo = 150.0;
    let scs = n.scs().hz();
    for (t, add, len, ports) in [
        (DmrsType::Type1, 2u8, 1u8, vec![0u8, 1]),
        (DmrsType::Type2, 1, 2, vec![0u8, 7]),
    ] {
        let p = params(t, ports, add, len, 0, 52);
        let nn = n;
        let chan = move |a: usize, j: usize, k: usize, l: usize| {
            let g = Complex32::from_polar(1.0, (a * 2 + j) as f32);
            let ph = -std::f64::consts::TAU * k as f64 * scs * tau
                + std::f64::consts::TAU * cfo * nn.symbol_time_s(3, l);
            g * Complex32::from_polar(1.0, ph as f32)
        };
        let mut rng = Rng(9);
        let rx = receive(&p, 2, 52, 1e-4, &chan, &mut rng);
        for mode in [TimeMode::Average, TimeMode::Interpolate] {
            let opts = ChestOptions {
                time: mode,
                ..ChestOptions::default()
            };
            let mut est = ChannelEstimator::new(2, 2, 52, opts);
            let mut out = est.new_estimate();
            est.estimate(&n, &rx, &p, &mut out).unwrap();
            assert!(
                (out.timing_offset_s() - tau).abs() < 0.01e-6,
                "{t:?} τ {}",
                out.timing_offset_s()
            );
            assert!(
                (out.cfo_hz().unwrap() - cfo).abs() < 5.0,
                "{t:?} cfo {:?}",
                out.cfo_hz()
            );
            let mut buf = vec![Complex32::default(); 2 * 2 * 624];
            for l in [0usize, 6, 13] {
                let h = out.symbol_channel(l, &mut buf);
                let mut err = 0.0f64;
                for a in 0..2 {
                    for j in 0..2 {
                        for k in 2..622 {
                            err += (h[(a * 2 + j) * 624 + k] - chan(a, j, k, l)).norm_sqr() as f64;
                        }
                    }
                }
                err /= 4.0 * 620.0;
                // Interpolation holds beyond the outer positions, so symbol 13 drifts by the CFO there.
                let tol = if mode == TimeMode::Interpolate && l != 6 {
                    0.01
                } else {
                    2e-4
                };
                assert!(err < tol, "{t:?} {mode:?} l {l}: mse {err}");
            }
        }
    }
}

#[test]
fn zero_grid_gives_finite_outputs_and_bad_sizes_are_errors() {
    let n = num();
    let p = params(DmrsType::Type1, vec![0, 1], 1, 1, 0, 52);
    let rx = ResourceGrid::new(2, 14, 624);
    let mut est = ChannelEstimator::new(2, 2, 52, ChestOptions::default());
    let mut out = est.new_estimate();
    est.estimate(&n, &rx, &p, &mut out).unwrap();
    assert!(out.position(0).iter().all(|v| v.re == 0.0 && v.im == 0.0));
    assert_eq!(out.noise_var(), 0.0);
    assert_eq!(out.sinr_db(0), -100.0);
    assert_eq!(out.timing_offset_s(), 0.0);
    assert_eq!(out.cfo_hz(), Some(0.0));
    let big = ResourceGrid::new(3, 14, 624);
    assert!(matches!(
        est.estimate(&n, &big, &p, &mut out),
        Err(ChestError::TooLarge { .. })
    ));
    let small = ResourceGrid::new(2, 14, 120);
    assert!(matches!(
        est.estimate(&n, &small, &p, &mut out),
        Err(ChestError::Grid(_))
    ));
}

#[test]
fn auto_time_mode_interpolates_a_changing_channel_and_averages_a_still_one() {
    let n = num();
    let p = params(DmrsType::Type1, vec![0u8], 1, 1, 0, 52);
    // Two channels orthogonal over the band (g and g·e^{jπk/312}, smooth in
    // frequency) mixed by cos/sin of theta per symbol: the channel turns
    // over the slot as a fading one does, the correlation between the DM-RS
    // positions (symbols 2 and 11) being cos(9 theta); a common phase or gain
    // change, which averaging keeps, would not do.
    for (theta, noise, want) in [
        (0.08f32, 1e-3f32, TimeMode::Interpolate),
        (0.0, 0.1, TimeMode::Average),
        (0.003, 0.1, TimeMode::Average), // a slow change under the noise: averaging wins
    ] {
        let chan = move |a: usize, _j: usize, k: usize, l: usize| {
            let g = Complex32::from_polar(1.0, 1.3 * a as f32);
            let turn = Complex32::from_polar(1.0, std::f32::consts::PI * k as f32 / 312.0);
            g * ((theta * l as f32).cos() + turn * (theta * l as f32).sin())
        };
        let mut rng = Rng(3);
        let rx = receive(&p, 2, 52, noise as f64, &chan, &mut rng);
        let mut est = ChannelEstimator::new(2, 1, 52, ChestOptions::default());
        let mut out = est.new_estimate();
        est.estimate(&n, &rx, &p, &mut out).unwrap();
        assert_eq!(out.time_mode(), want, "theta {theta}, noise {noise}");
    }
}
