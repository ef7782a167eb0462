//! Radio impairments against their defining formulas.

#![allow(clippy::needless_range_loop)] // index loops mirror the formulas

use num_complex::Complex32;
use ranlab_sim_channel::impairments::*;
use ranlab_sim_channel::math::{cis_turns, q_func};
use ranlab_sim_channel::rng::{Gaussian, Purpose};

fn tone(n: usize, f: f64, t0: f64) -> Vec<Complex32> {
    (0..n).map(|k| cis_turns(f * (k as f64 + t0))).collect()
}

/// CFO rotates by exactly Δf/f_s per sample (error bound 2e-6: f32 phasor accuracy), and a
/// block split does not restart the phase.
#[test]
fn cfo_rotation_and_continuity() {
    let fs = 30.72e6;
    let mut a = vec![Complex32::new(1.0, 0.0); 5000];
    let mut c = Cfo::new(1234.5, fs, 0.3).unwrap();
    c.apply(&mut a[..1777]);
    c.apply(&mut a[1777..]);
    for (k, x) in a.iter().enumerate() {
        let ph = 2.0 * std::f64::consts::PI * 1234.5 * k as f64 / fs + 0.3;
        assert!((x.re as f64 - ph.cos()).abs() < 2e-6 && (x.im as f64 - ph.sin()).abs() < 2e-6);
    }
    assert!(Cfo::new(20e6, fs, 0.0).is_err());
}

/// Wiener phase noise: `E[e^{j(φ(t+τ)−φ(t))}] = exp(−π β τ)` at a few lags, averaged over
/// 200 oscillators × 2000 start points. The estimate at correlation ρ has std error about
/// sqrt((1−ρ²)/N_eff) with N_eff ≈ 200·(2000·Δ/τ_c) > 2000: bound 0.04.
#[test]
fn phase_noise_autocorrelation() {
    let fs = 1e6;
    let beta = 1000.0; // coherence 1/(πβ) ≈ 318 samples
    let lags = [0usize, 50, 150, 318, 600];
    let mut acc = vec![Complex32::new(0.0, 0.0); lags.len()];
    let mut cnt = 0f64;
    let mut p = vec![Complex32::new(0.0, 0.0); 20_000];
    for s in 0..200 {
        let mut pn = PhaseNoise::new(beta, fs, 5, s).unwrap();
        pn.phasors(&mut p);
        for t in (0..19_000).step_by(10) {
            for (k, &l) in lags.iter().enumerate() {
                acc[k] += p[t + l] * p[t].conj();
            }
            cnt += 1.0;
        }
    }
    for (k, &l) in lags.iter().enumerate() {
        let want = (-std::f64::consts::PI * beta * l as f64 / fs).exp();
        let got = acc[k].re as f64 / cnt;
        assert!((got - want).abs() < 0.04, "lag {l}: {got:.3} vs {want:.3}");
    }
    // Level conversion: −100 dBc/Hz at 1 MHz is a 628 Hz Lorentzian.
    let b = PhaseNoise::linewidth_for_level(-100.0, 1e6);
    assert!((b - 2.0 * std::f64::consts::PI * 100.0).abs() < 1e-9);
}

/// IQ imbalance: a tone at +f gets an image at −f with power ratio
/// `(1 − 2g cosθ + g²)/(1 + 2g cosθ + g²)` (textbook IRR), measured by correlating with both
/// tones over an integer number of periods (exact up to f32 rounding: bound 0.05 dB).
#[test]
fn iq_image_rejection() {
    for (gdb, ph) in [(0.5, 2.0), (1.0, -5.0), (0.1, 0.5)] {
        let iq = IqImbalance::new(gdb, ph).unwrap();
        let f = 1.0 / 64.0;
        let mut x = tone(64 * 100, f, 0.0);
        iq.apply(&mut x);
        let (mut a, mut b) = (Complex32::new(0.0, 0.0), Complex32::new(0.0, 0.0));
        for (k, v) in x.iter().enumerate() {
            a += v * cis_turns(-f * k as f64);
            b += v * cis_turns(f * k as f64);
        }
        let got = 10.0 * (a.norm_sqr() as f64 / b.norm_sqr() as f64).log10();
        let g = 10f64.powf(gdb / 20.0);
        let c = ph.to_radians().cos();
        let want = 10.0 * ((1.0 + 2.0 * g * c + g * g) / (1.0 - 2.0 * g * c + g * g)).log10();
        assert!(
            (got - want).abs() < 0.05,
            "{gdb} dB {ph} deg: {got} vs {want}"
        );
        assert!((iq.image_rejection_db() - want).abs() < 0.01);
    }
}

/// ADC: for a Gaussian input well inside full scale the error is uniform with variance
/// Δ²/12 per rail (5 % bound: 2e5 samples give ≈ 0.3 % std error on a uniform variance,
/// the rest is the small non-uniformity at 10 bits); clipping frequency at full scale
/// = σ_rail is 2Q(1) per rail (bound 5 sigma of a binomial over 4e5 rails).
#[test]
fn adc_quantisation_and_clipping() {
    let mut g = Gaussian::new(1, Purpose::User, 0, 0, 0);
    let x: Vec<Complex32> = (0..200_000).map(|_| g.complex(2.0)).collect(); // σ_rail = 1
    let adc = Adc::new(4.0, 10).unwrap();
    let mut y = x.clone();
    adc.apply(&mut y);
    let mse: f64 = x
        .iter()
        .zip(&y)
        .filter(|(a, _)| a.re.abs() < 4.0 && a.im.abs() < 4.0)
        .map(|(a, b)| (a - b).norm_sqr() as f64 / 2.0)
        .sum::<f64>()
        / x.len() as f64;
    let d = adc.step() as f64;
    assert!(
        (mse / (d * d / 12.0) - 1.0).abs() < 0.05,
        "{mse} vs {}",
        d * d / 12.0
    );
    let mut z = x.clone();
    let clipped = Adc::new(1.0, 8).unwrap().apply(&mut z) as f64 / (2.0 * x.len() as f64);
    let p = 2.0 * q_func(1.0);
    let sd = (p * (1.0 - p) / (2.0 * x.len() as f64)).sqrt();
    assert!((clipped - p).abs() < 5.0 * sd, "{clipped} vs {p}");
    assert!(z.iter().all(|v| v.re.abs() <= 1.0 && v.im.abs() <= 1.0));
}

/// Fractional delay and sampling-rate offset: output k equals the input tone at time
/// `k·r − D − 16` (error < 1e-3, i.e. < −60 dB, for tones up to 0.35 f_s), with one call
/// or many blocks alike.
#[test]
fn resampler_delay_and_sro() {
    for (f, d, ppm) in [
        (0.2, 3.37, 0.0),
        (-0.35, 0.5, 0.0),
        (0.1, 10.0, 200.0),
        (0.3, 1.25, -150.0),
    ] {
        let n = 20_000;
        let x = tone(n, f, 0.0);
        let run = |cuts: &[usize]| {
            let mut r = Resampler::new(d, ppm).unwrap();
            let mut out = Vec::new();
            let mut s = 0;
            for &e in cuts.iter().chain(std::iter::once(&n)) {
                let mut o = vec![Complex32::new(0.0, 0.0); r.max_output(e - s)];
                let m = r.process(&x[s..e], &mut o).unwrap();
                out.extend_from_slice(&o[..m]);
                s = e;
            }
            out
        };
        let one = run(&[]);
        assert_eq!(one, run(&[1, 100, 101, 5000, 19_999]));
        let r = 1.0 + ppm * 1e-6;
        if ppm == 0.0 {
            assert_eq!(one.len(), n);
        }
        for (k, y) in one.iter().enumerate().skip(64) {
            let t = k as f64 * r - d - 16.0;
            let want = cis_turns(f * t);
            assert!(
                (y - want).norm() < 1e-3,
                "f {f} D {d} ppm {ppm} k {k}: {y} vs {want}"
            );
        }
    }
}
