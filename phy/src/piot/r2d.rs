//! Reader-to-device (R2D) transmission: OOK with Manchester line coding,
//! generated inside an NR carrier (OFDM-based OOK, TR 38.769 §4.4 and
//! §6.1.1.1), and EPC Gen2 PIE as an option (EPC Gen2 §6.3.1.2.4).
//!
//! Frame (TR 38.769 §6.1.1.6 timing acquisition signal, §6.1.0.2 CRC):
//! [`R2D_PREAMBLE`] chips, then the command bits with a CRC attached, Manchester
//! coded. One OOK chip occupies one OFDM symbol (cyclic prefix included). An
//! "ON" symbol carries a chirp (Zadoff-Chu-like phase sequence) on the R2D
//! subcarriers, whose time-domain envelope is nearly flat, so the tag's
//! envelope detector sees a clean level; an "OFF" symbol leaves those
//! subcarriers empty. The carrier's other subcarriers stay free for NR
//! channels; the tag's RF filter is assumed to reject them (they are left
//! empty here).

use crate::coding::crc::Crc;
use num_complex::Complex32;
use rustfft::{Fft, FftPlanner};
use std::sync::Arc;

/// The R2D preamble's OOK chips (1 = ON), sent before the Manchester data.
/// It starts ON after silence and has several transitions, so the tag can
/// measure the chip length in its own clock.
pub const R2D_PREAMBLE: [u8; 8] = [1, 1, 1, 0, 1, 0, 0, 1];

/// Builds the R2D chip sequence (1 = ON, 0 = OFF): preamble, then
/// Manchester(command ‖ CRC) with bit 0 → ON OFF and bit 1 → OFF ON.
pub fn r2d_frame_chips(command: &[u8], crc: &Crc) -> Vec<u8> {
    let bits = crc.attach(command);
    let mut chips = R2D_PREAMBLE.to_vec();
    for b in bits {
        if b == 0 {
            chips.extend_from_slice(&[1, 0]);
        } else {
            chips.extend_from_slice(&[0, 1]);
        }
    }
    chips
}

/// OFDM-based OOK modulator for one NR carrier. Plan once, run many.
pub struct OfdmOok {
    fft_size: usize,
    cp_len: usize,
    on_symbol: Vec<Complex32>,
}

impl std::fmt::Debug for OfdmOok {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OfdmOok")
            .field("fft_size", &self.fft_size)
            .field("cp_len", &self.cp_len)
            .finish()
    }
}

impl OfdmOok {
    /// `fft_size`-point OFDM with a `cp_len` cyclic prefix; the R2D block is
    /// `n_sc` subcarriers starting `first_sc` subcarriers above DC (negative:
    /// below). The ON symbol's mean power is 1 per sample.
    pub fn new(fft_size: usize, cp_len: usize, first_sc: i32, n_sc: usize) -> Self {
        assert!(n_sc >= 1 && n_sc <= fft_size && cp_len < fft_size);
        let mut freq = vec![Complex32::new(0.0, 0.0); fft_size];
        for k in 0..n_sc {
            // Chirp phases π k² / n: a flat-envelope sequence (TR 38.769 §4.4
            // leaves the ON-symbol sequence to the implementation).
            let ph = std::f64::consts::PI * (k * k) as f64 / n_sc as f64;
            let bin = (first_sc + k as i32).rem_euclid(fft_size as i32) as usize;
            freq[bin] = Complex32::new(ph.cos() as f32, ph.sin() as f32);
        }
        let ifft: Arc<dyn Fft<f32>> = FftPlanner::new().plan_fft_inverse(fft_size);
        ifft.process(&mut freq);
        let p: f32 = freq.iter().map(|c| c.norm_sqr()).sum::<f32>() / fft_size as f32;
        let g = 1.0 / p.sqrt();
        let mut on = Vec::with_capacity(fft_size + cp_len);
        on.extend(freq[fft_size - cp_len..].iter().map(|c| c * g));
        on.extend(freq.iter().map(|c| c * g));
        OfdmOok {
            fft_size,
            cp_len,
            on_symbol: on,
        }
    }

    /// Samples per OOK chip (one OFDM symbol with its cyclic prefix).
    pub fn samples_per_chip(&self) -> usize {
        self.fft_size + self.cp_len
    }

    /// Writes one OFDM symbol per chip into `out` (length `chips.len() * samples_per_chip()`).
    pub fn modulate(&self, chips: &[u8], out: &mut [Complex32]) {
        let n = self.samples_per_chip();
        assert_eq!(out.len(), chips.len() * n, "output length");
        for (&c, o) in chips.iter().zip(out.chunks_exact_mut(n)) {
            if c != 0 {
                o.copy_from_slice(&self.on_symbol);
            } else {
                o.iter_mut().for_each(|x| *x = Complex32::new(0.0, 0.0));
            }
        }
    }

    /// Peak-to-average power ratio of the ON symbol, dB.
    pub fn on_papr_db(&self) -> f32 {
        let peak = self
            .on_symbol
            .iter()
            .map(|c| c.norm_sqr())
            .fold(0.0, f32::max);
        10.0 * peak.log10()
    }
}

/// EPC Gen2 PIE timing, in samples (§6.3.1.2.3, Table 6.5).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PieTiming {
    /// Tari: the data-0 length.
    pub tari: f64,
    /// Data-1 length as a multiple of Tari (1.5 to 2.0).
    pub data1: f64,
    /// Low pulse width PW as a fraction of Tari (0.265 to 0.525).
    pub pw: f64,
    /// Delimiter length (12.5 µs in Gen2).
    pub delimiter: f64,
}

impl PieTiming {
    /// RTcal = data-0 + data-1 length (§6.3.1.2.4).
    pub fn rtcal(&self) -> f64 {
        self.tari * (1.0 + self.data1)
    }
}

/// PIE envelope (1 = carrier on, 0 = off) of a Gen2 Query-style frame:
/// delimiter, data-0, RTcal, TRcal (= 2·RTcal here), then the bits with CRC,
/// then the carrier stays on for `tail` samples. Returns the samples.
pub fn pie_envelope(command: &[u8], crc: &Crc, t: &PieTiming, tail: f64) -> Vec<f32> {
    let bits = crc.attach(command);
    let pw = t.pw * t.tari;
    let mut segs: Vec<(f64, f32)> = vec![(t.tari, 1.0), (t.delimiter, 0.0)];
    let sym = |len: f64, segs: &mut Vec<(f64, f32)>| {
        segs.push((len - pw, 1.0));
        segs.push((pw, 0.0));
    };
    sym(t.tari, &mut segs);
    sym(t.rtcal(), &mut segs);
    sym(2.0 * t.rtcal(), &mut segs);
    for b in bits {
        sym(if b == 0 { t.tari } else { t.data1 * t.tari }, &mut segs);
    }
    segs.push((tail, 1.0));
    let total: f64 = segs.iter().map(|s| s.0).sum();
    let mut out = vec![0.0f32; total.ceil() as usize];
    let mut t0 = 0.0;
    for (len, v) in segs {
        let t1 = t0 + len;
        for (i, o) in out.iter_mut().enumerate() {
            let (a, b) = (i as f64, i as f64 + 1.0);
            let ov = (b.min(t1) - a.max(t0)).max(0.0);
            *o += v * ov as f32;
        }
        t0 = t1;
    }
    out
}

/// The tag's PIE decoder: slices the envelope, measures rising-edge to
/// rising-edge symbol lengths in its own clock, learns RTcal from the
/// preamble and decides each symbol against the pivot RTcal/2
/// (EPC Gen2 §6.3.1.2.4). Returns the bits (command ‖ CRC), or `None` when
/// the preamble is not found.
pub fn pie_decode(envelope: &[f32], n_bits: usize) -> Option<Vec<u8>> {
    let (lo, hi) = envelope
        .iter()
        .fold((f32::MAX, f32::MIN), |(l, h), &e| (l.min(e), h.max(e)));
    if !(hi > lo) {
        return None;
    }
    let thr = 0.5 * (lo + hi);
    let rises: Vec<usize> = (1..envelope.len())
        .filter(|&i| envelope[i] > thr && envelope[i - 1] <= thr)
        .collect();
    // rises[0]: end of the delimiter (start of data-0), [1]: start of RTcal, [2]: TRcal, [3..]: data.
    if rises.len() < 4 + n_bits {
        return None;
    }
    let rtcal = (rises[2] - rises[1]) as f64;
    let pivot = rtcal / 2.0;
    Some(
        (0..n_bits)
            .map(|k| ((rises[4 + k] - rises[3 + k]) as f64 > pivot) as u8)
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::coding::crc::CrcPoly;
    use crate::piot::tag::EnvelopeDetector;

    /// Linear-interpolation resampling: the tag's clock samples at t = k·(1+ε).
    fn tag_sampling(x: &[Complex32], ppm: f64) -> Vec<Complex32> {
        let step = 1.0 + ppm * 1e-6;
        let mut v = Vec::new();
        let mut t = 0.0f64;
        while t + 1.0 < x.len() as f64 {
            let i = t as usize;
            let f = (t - i as f64) as f32;
            v.push(x[i] * (1.0 - f) + x[i + 1] * f);
            t += step;
        }
        v
    }

    #[test]
    fn ofdm_ook_is_flat_and_decodes_at_the_tag_across_ppm() {
        let crc = Crc::new(CrcPoly::Crc6);
        let ook = OfdmOok::new(256, 18, -24, 48);
        assert!(ook.on_papr_db() < 4.0, "PAPR {}", ook.on_papr_db());
        let cmd: Vec<u8> = (0..22).map(|i| ((i * 7 + 3) % 5 < 2) as u8).collect();
        let chips = r2d_frame_chips(&cmd, &crc);
        let n = ook.samples_per_chip();
        let mut tx = vec![Complex32::new(0.0, 0.0); (chips.len() + 6) * n];
        ook.modulate(&chips, &mut tx[3 * n..(3 + chips.len()) * n]);
        let mut det = EnvelopeDetector::new();
        let mut bits = Vec::new();
        for ppm in [-100_000.0, -20_000.0, 0.0, 5_000.0, 100_000.0] {
            let rx = tag_sampling(&tx, ppm);
            det.decode_manchester(&rx, n as f64, cmd.len() + 6, &mut bits)
                .unwrap_or_else(|e| panic!("{ppm} ppm: {e}"));
            assert!(crc.check(&bits), "{ppm} ppm");
            assert_eq!(&bits[..cmd.len()], &cmd[..]);
        }
        // Nothing sent: a clean error, not garbage.
        let silent = vec![Complex32::new(1e-3, 0.0); 10 * n];
        assert!(det
            .decode_manchester(&silent, n as f64, 4, &mut bits)
            .is_err());
    }

    #[test]
    fn pie_round_trip_with_tag_clock_error() {
        let crc = Crc::new(CrcPoly::Crc16);
        let t = PieTiming {
            tari: 50.0,
            data1: 1.8,
            pw: 0.5,
            delimiter: 25.0,
        };
        let cmd: Vec<u8> = (0..22).map(|i| (i % 3 == 0) as u8).collect();
        let env = pie_envelope(&cmd, &crc, &t, 100.0);
        for ppm in [-100_000.0, 0.0, 100_000.0] {
            let x: Vec<Complex32> = env.iter().map(|&e| Complex32::new(e, 0.0)).collect();
            let rs: Vec<f32> = tag_sampling(&x, ppm).iter().map(|c| c.re).collect();
            let bits = pie_decode(&rs, cmd.len() + 16).expect("preamble");
            assert!(crc.check(&bits), "{ppm}");
            assert_eq!(&bits[..cmd.len()], &cmd[..]);
        }
    }
}
