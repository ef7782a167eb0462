//! Uncoded BER of Gray-mapped QPSK and 16QAM (TS 38.211 §5.1 constellations) over AWGN and
//! over flat Rayleigh fading with coherent detection, against the closed forms.
//!
//! Tolerance: the BER estimate from N bits has std error sqrt(p(1−p)/N); for fading the
//! errors come in bursts (one fade hits many symbols), so the effective N is smaller. We run
//! enough bits that 5 standard errors (AWGN) or a 6 % relative margin (fading, many
//! independent fades: 2000 links × 500 symbols) fit the estimate.

#![allow(clippy::needless_range_loop)] // index loops mirror the formulas

use num_complex::Complex32;
use rand::RngCore;
use ranlab_sim_channel::math::q_func;
use ranlab_sim_channel::model::{ChannelConfig, ModelKind};
use ranlab_sim_channel::rng::{stream_rng, Purpose};
use ranlab_sim_channel::{Awgn, SnrSpec};

/// TS 38.211 §5.1.3 QPSK / §5.1.4 16QAM maps, bits b0 b1 (b2 b3).
fn map(bits: &[u8]) -> Complex32 {
    let s = |b: u8| 1.0 - 2.0 * b as f32;
    match bits.len() {
        2 => Complex32::new(s(bits[0]), s(bits[1])) / 2f32.sqrt(),
        4 => {
            Complex32::new(
                s(bits[0]) * (2.0 - s(bits[2])),
                s(bits[1]) * (2.0 - s(bits[3])),
            ) / 10f32.sqrt()
        }
        _ => unreachable!(),
    }
}

fn demap(y: Complex32, bps: usize, out: &mut [u8]) {
    if bps == 2 {
        out[0] = (y.re < 0.0) as u8;
        out[1] = (y.im < 0.0) as u8;
    } else {
        let a = 2.0 / 10f32.sqrt();
        out[0] = (y.re < 0.0) as u8;
        out[1] = (y.im < 0.0) as u8;
        out[2] = (y.re.abs() > a) as u8;
        out[3] = (y.im.abs() > a) as u8;
    }
}

fn run_ber(bps: usize, snr_db: f64, model: ModelKind, links: u64, syms: usize) -> f64 {
    let mut errors = 0u64;
    let mut total = 0u64;
    let mut rng = stream_rng(1, Purpose::User, bps as u64, 0, 0);
    let n0 = SnrSpec::PerSampleDb(snr_db).noise_variance(1.0).unwrap();
    let mut bits = vec![0u8; syms * bps];
    let mut x = vec![Complex32::new(0.0, 0.0); syms];
    let mut y = vec![Complex32::new(0.0, 0.0); syms];
    let mut h = vec![Complex32::new(0.0, 0.0); 1];
    let mut dec = [0u8; 4];
    for link in 0..links {
        let mut ch = ChannelConfig {
            model,
            n_rx: 1,
            n_tx: 1,
            speed_kmh: 0.0,
            seed: 11,
            stream: link,
            ..Default::default()
        }
        .build()
        .unwrap();
        let mut noise = Awgn::new(n0, 1, 12, link).unwrap();
        for b in bits.iter_mut() {
            *b = (rng.next_u32() & 1) as u8;
        }
        for (s, b) in x.iter_mut().zip(bits.chunks(bps)) {
            *s = map(b);
        }
        ch.process(&[&x], &mut [&mut y]).unwrap();
        noise.add(&mut [&mut y]).unwrap();
        ch.taps_at(0, &mut h); // static within a link (speed 0): coherent detection
        for (k, &yk) in y.iter().enumerate() {
            let z = yk * h[0].conj() / h[0].norm_sqr();
            demap(z, bps, &mut dec);
            for j in 0..bps {
                errors += (dec[j] != bits[k * bps + j]) as u64;
            }
            total += bps as u64;
        }
    }
    errors as f64 / total as f64
}

#[test]
fn awgn_qpsk_16qam() {
    for (bps, snr) in [(2usize, 4.0f64), (2, 8.0), (4, 10.0), (4, 14.0)] {
        let es_n0 = 10f64.powf(snr / 10.0);
        let p = if bps == 2 {
            q_func(es_n0.sqrt())
        } else {
            // Gray 16QAM: BER = (3/4) Q(sqrt(Es/(5 N0))) + (1/2) Q(3 ..) - (1/4) Q(5 ..).
            let a = (es_n0 / 5.0).sqrt();
            0.75 * q_func(a) + 0.5 * q_func(3.0 * a) - 0.25 * q_func(5.0 * a)
        };
        let got = run_ber(bps, snr, ModelKind::Awgn, 4, 250_000);
        let n = 4.0 * 250_000.0 * bps as f64;
        let sd = (p * (1.0 - p) / n).sqrt();
        assert!(
            (got - p).abs() < 5.0 * sd,
            "bps {bps} SNR {snr}: {got} vs {p}"
        );
    }
}

#[test]
fn rayleigh_qpsk_16qam() {
    for (bps, snr) in [(2usize, 10.0f64), (4, 16.0)] {
        let g = 10f64.powf(snr / 10.0);
        // Closed forms with E[Q(sqrt(2 c γ))] = (1 − sqrt(cγ/(1+cγ)))/2 over exponential γ.
        let avg_q = |c: f64| 0.5 * (1.0 - (c * g / (1.0 + c * g)).sqrt());
        let p = if bps == 2 {
            avg_q(0.5)
        } else {
            0.75 * avg_q(0.1) + 0.5 * avg_q(0.9) - 0.25 * avg_q(2.5)
        };
        let got = run_ber(bps, snr, ModelKind::Rayleigh, 3000, 400);
        // 3000 independent static fades: the per-link BER has a heavy tail; relative std error
        // of the mean is about 1.5/sqrt(3000) ≈ 3 % for these SNRs, bound 10 %.
        assert!(
            (got / p - 1.0).abs() < 0.10,
            "bps {bps} SNR {snr}: {got} vs {p}"
        );
    }
}
