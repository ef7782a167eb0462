//! TR 38.901 §7.7.2 TDL statistics against theory: power-delay profile vs the tables,
//! tap Doppler autocorrelation vs Clarke's J0(2π f_D τ), the Rician K-factor of TDL-D/E,
//! and the spatial correlation of the MIMO taps vs the TS 38.101-4 Kronecker matrices.

#![allow(clippy::needless_range_loop)] // index loops mirror the formulas

use num_complex::Complex32;
use ranlab_sim_channel::engine::TapSource;
use ranlab_sim_channel::math::{bessel_j0, db_to_lin};
use ranlab_sim_channel::tables::{TDL_A, TDL_B, TDL_C, TDL_D, TDL_E};
use ranlab_sim_channel::tdl::{kron, ula_correlation, Correlation, Tdl, TdlConfig, TdlProfile};

const FS: f64 = 30.72e6;

fn tdl(profile: TdlProfile, fd: f64, stream: u64) -> Tdl {
    Tdl::new(&TdlConfig {
        profile,
        delay_spread_s: 100e-9,
        doppler_hz: fd,
        sample_rate_hz: FS,
        stream,
        seed: 3,
        ..Default::default()
    })
    .unwrap()
}

/// Mean tap powers over 300 independent channels × 40 instants 1/f_D apart (≈12000 nearly
/// independent samples per tap: the relative std error of an exponential power estimate is
/// 1/sqrt(12000) ≈ 0.9 %, so 0.25 dB (6 %) is > 5 sigma). Delays must equal table × DS.
#[test]
fn power_delay_profiles_match_tables() {
    for (p, t) in [
        (TdlProfile::A, TDL_A),
        (TdlProfile::B, TDL_B),
        (TdlProfile::C, TDL_C),
        (TdlProfile::D, TDL_D),
        (TdlProfile::E, TDL_E),
    ] {
        let fd = 100.0;
        let mut want: Vec<f64> = Vec::new();
        let mut want_delay: Vec<f64> = Vec::new();
        if let Some((pw, _)) = t.los {
            want.push(db_to_lin(pw));
            want_delay.push(0.0);
        }
        for &(d, pw) in t.taps {
            want.push(db_to_lin(pw));
            want_delay.push(d * 100e-9);
        }
        let tot: f64 = want.iter().sum();
        want.iter_mut().for_each(|w| *w /= tot);
        let mut acc = vec![0f64; want.len()];
        let mut h = vec![Complex32::new(0.0, 0.0); want.len()];
        let (chans, inst) = (300u64, 40u64);
        for s in 0..chans {
            let mut ch = tdl(p, fd, s);
            assert_eq!(ch.delays_s().len(), want.len());
            for (a, b) in ch.delays_s().iter().zip(&want_delay) {
                assert!((a - b).abs() < 1e-15, "{}: delay {a} vs {b}", t.name);
            }
            for i in 0..inst {
                ch.taps_at((i as f64 * FS / fd) as u64, &mut h);
                for (a, x) in acc.iter_mut().zip(&h) {
                    *a += x.norm_sqr() as f64;
                }
            }
        }
        for (l, (a, w)) in acc.iter().zip(&want).enumerate() {
            let m = a / (chans * inst) as f64;
            let err_db = 10.0 * (m / w).log10();
            assert!(
                err_db.abs() < 0.25,
                "{} tap {l}: {m} vs {w} ({err_db:.2} dB)",
                t.name
            );
        }
    }
}

/// Normalised autocorrelation of a Rayleigh tap, averaged over 400 channels and 200 start
/// times, against J0(2π f_D τ). The ensemble estimate of a unit-power process from ~80000
/// pairs (correlated over a coherence time: ~400×10 effective) has std error ≈ 0.016;
/// bound 0.06 absolute.
#[test]
fn doppler_autocorrelation_is_j0() {
    let fd = 200.0;
    let lags = [0.0, 0.1, 0.2, 0.38, 0.5, 0.7, 1.0, 1.5]; // units of 1/f_D
    let mut acc = vec![Complex32::new(0.0, 0.0); lags.len()];
    let mut norm = 0f64;
    let mut a = [Complex32::new(0.0, 0.0); 1];
    let mut b = [Complex32::new(0.0, 0.0); 1];
    let chans = 400u64;
    let starts = 200u64;
    for s in 0..chans {
        let mut ch = tdl(TdlProfile::Rayleigh, fd, 1000 + s);
        for t0 in 0..starts {
            let n0 = t0 * (FS / fd / 10.0) as u64;
            ch.taps_at(n0, &mut a);
            norm += a[0].norm_sqr() as f64;
            for (k, &lag) in lags.iter().enumerate() {
                ch.taps_at(n0 + (lag * FS / fd) as u64, &mut b);
                acc[k] += b[0] * a[0].conj();
            }
        }
    }
    for (k, &lag) in lags.iter().enumerate() {
        let r = acc[k].re as f64 / norm;
        let j = bessel_j0(2.0 * std::f64::consts::PI * lag);
        assert!((r - j).abs() < 0.06, "lag {lag}/f_D: {r:.3} vs J0 {j:.3}");
        assert!(
            (acc[k].im as f64 / norm).abs() < 0.06,
            "imaginary part at lag {lag}"
        );
    }
}

/// K-factor of the delay-0 tap (specular + Rayleigh) estimated from the moments of its
/// power, `γ = Var|h|²/E²|h|² = (1+2K)/(1+K)²` ⇒ `K = ((1−γ) + sqrt(1−γ))/γ`, over
/// 500 channels × 100 instants (time spacing 1/f_D). For K = 13.3 dB (21.4) γ ≈ 0.089; its
/// estimate from ~50000 samples has ≈ 2 % relative error, i.e. ≈ 0.1 dB on K: bound 0.6 dB.
#[test]
fn rician_k_factor() {
    for (p, k_db, over) in [
        (TdlProfile::D, 13.3, None),
        (TdlProfile::E, 22.0, None),
        (TdlProfile::D, 6.0, Some(6.0)),
    ] {
        let fd = 50.0;
        let (mut s1, mut s2, mut cnt) = (0f64, 0f64, 0f64);
        for s in 0..500u64 {
            let mut ch = Tdl::new(&TdlConfig {
                profile: p,
                doppler_hz: fd,
                sample_rate_hz: FS,
                k_factor_db: over,
                stream: s,
                seed: 4,
                ..Default::default()
            })
            .unwrap();
            let mut h = vec![Complex32::new(0.0, 0.0); ch.delays_s().len()];
            for i in 0..100u64 {
                ch.taps_at(i * (FS / fd) as u64 + 17, &mut h);
                let p0 = (h[0] + h[1]).norm_sqr() as f64; // specular + delay-0 Rayleigh tap
                s1 += p0;
                s2 += p0 * p0;
                cnt += 1.0;
            }
        }
        let m = s1 / cnt;
        let g = (s2 / cnt - m * m) / (m * m);
        let k = ((1.0 - g) + (1.0 - g).sqrt()) / g;
        let got = 10.0 * k.log10();
        assert!(
            (got - k_db).abs() < 0.6,
            "{p:?}: K {got:.2} dB vs {k_db} dB"
        );
    }
}

/// Spatial correlation of the taps of a 4×2 TDL-C with Medium and High correlation:
/// `E[vec(H) vec(H)^H]` (normalised by the tap power) vs `(R_gNB(α) ⊗ R_UE(β) + aI)/(1+a)`.
/// 600 static channels × all 24 taps = 14400 independent matrices: std error of a
/// correlation estimate ≈ 1/sqrt(14400) ≈ 0.008, bound 0.04.
#[test]
fn mimo_correlation_matches_kronecker() {
    for corr in [Correlation::Medium, Correlation::High, Correlation::Low] {
        let (n_rx, n_tx) = (4, 2);
        let links = n_rx * n_tx;
        let (alpha, beta) = corr.alpha_beta();
        let r = kron(
            &ula_correlation(n_rx, alpha),
            n_rx,
            &ula_correlation(n_tx, beta),
            n_tx,
        );
        let mut acc = vec![Complex32::new(0.0, 0.0); links * links];
        let mut pw = 0f64;
        for s in 0..600u64 {
            let mut ch = Tdl::new(&TdlConfig {
                profile: TdlProfile::C,
                n_rx,
                n_tx,
                correlation: corr,
                sample_rate_hz: FS,
                stream: s,
                seed: 5,
                ..Default::default()
            })
            .unwrap();
            let nt = ch.delays_s().len();
            let mut h = vec![Complex32::new(0.0, 0.0); nt * links];
            ch.taps_at(0, &mut h);
            for l in 0..nt {
                let v = &h[l * links..(l + 1) * links];
                for i in 0..links {
                    pw += v[i].norm_sqr() as f64 / links as f64;
                    for j in 0..links {
                        acc[i * links + j] += v[i] * v[j].conj();
                    }
                }
            }
        }
        for i in 0..links {
            for j in 0..links {
                let got = acc[i * links + j] / pw as f32;
                let want = r[i * links + j] / if i == j { 1.0 } else { 1.0 + 1e-4 };
                assert!(
                    (got.re as f64 - want).abs() < 0.04 && (got.im as f64).abs() < 0.04,
                    "{corr:?} [{i}][{j}]: {got} vs {want}"
                );
            }
        }
    }
}
