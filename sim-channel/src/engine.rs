//! The streaming fading engine shared by every small-scale model.
//!
//! A model ([`TapSource`]) gives, for any sample index, one `n_rx × n_tx` complex matrix per
//! tap (or CDL cluster) and the taps' delays. [`FadingChannel`] turns that into:
//!
//! - **Time domain** ([`FadingChannel::process`]): `y_r[n] = Σ_t Σ_l H_l[r][t](n) x_t[n − d_l]`
//!   over per-antenna `Complex32` blocks, with the transmit history carried across calls.
//!   Delays are rounded to the nearest sample (`d_l = round(τ_l f_s)`; taps that land on the
//!   same sample are summed); at 61.44 Msps the resolution is 16 ns. Tap gains are evaluated
//!   on a fixed grid of every `K` absolute samples and held in between, with
//!   `K = clamp(0.01 f_s / (2π f_D), 1, 4096)`: a gain moves by at most 0.01 rad-equivalent
//!   (relative error ≤ 1 %, i.e. ≤ −40 dB, ≈ −46 dB on average) between updates. Because both
//!   the gains and the update grid depend only on the absolute sample index, any split of a
//!   stream into blocks gives bit-identical output to one long call.
//! - **Frequency domain** ([`FadingChannel::freq_response`]): per-RE matrices
//!   `H(f_k) = Σ_l H_l e^{−j2π f_k τ_l}` with the exact (unrounded) delays, for link-level
//!   sweeps that skip OFDM and time-domain convolution; [`apply_freq`] applies them.

use crate::ChannelError;
use num_complex::{Complex32, Complex64};

/// A small-scale fading model: per-tap channel matrices as a function of time.
pub trait TapSource: Send {
    /// Receive antennas.
    fn n_rx(&self) -> usize;
    /// Transmit antennas.
    fn n_tx(&self) -> usize;
    /// Tap (cluster) delays, seconds.
    fn delays_s(&self) -> &[f64];
    /// Largest Doppler frequency of any component, Hz (0 for a static channel).
    fn max_doppler_hz(&self) -> f64;
    /// Sample rate the sample index refers to, Hz.
    fn sample_rate_hz(&self) -> f64;
    /// Mean power of each tap per antenna pair (linear; sums to 1 for the standard models).
    fn tap_powers(&self) -> Vec<f64>;
    /// Tap matrices at sample index `n` (time `n / f_s`), layout
    /// `out[(tap · n_rx + rx) · n_tx + tx]`, `out.len() == taps · n_rx · n_tx`.
    fn taps_at(&mut self, n: u64, out: &mut [Complex32]);
    /// Tap matrices at sample `u · k`. The engine calls this for consecutive `u` with a fixed
    /// `k`, so a model may advance internal oscillators instead of recomputing them; the
    /// result must equal `taps_at(u · k)` up to rounding and depend only on the sequence of
    /// calls (not on block boundaries).
    fn taps_on_grid(&mut self, u: u64, k: u64, out: &mut [Complex32]) {
        self.taps_at(u * k, out)
    }
}

/// Frequencies of a block of subcarriers relative to the carrier: `first_hz + k · spacing_hz`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SubcarrierGrid {
    /// Baseband frequency of the first subcarrier, Hz (negative below the carrier).
    pub first_hz: f64,
    /// Subcarrier spacing, Hz.
    pub spacing_hz: f64,
    /// Number of subcarriers.
    pub count: usize,
}

impl SubcarrierGrid {
    /// `n_prb · 12` subcarriers centred on the carrier (as an NR grid with the carrier at
    /// the centre of the band), spacing `scs_hz`.
    pub fn centred(n_prb: usize, scs_hz: f64) -> Self {
        let count = 12 * n_prb;
        Self {
            first_hz: -(count as f64 / 2.0) * scs_hz,
            spacing_hz: scs_hz,
            count,
        }
    }
}

/// A fading channel over a [`TapSource`]: time-domain streaming and per-RE responses.
pub struct FadingChannel {
    src: Box<dyn TapSource>,
    n_rx: usize,
    n_tx: usize,
    /// Update interval of the tap gains, samples.
    k: u64,
    /// Distinct integer delays (samples), ascending.
    bin_delay: Vec<usize>,
    /// Tap -> bin index.
    tap_bin: Vec<usize>,
    max_delay: usize,
    /// Absolute index of the next input sample.
    n_abs: u64,
    /// Update index whose gains are in `bins`.
    cur_update: Option<u64>,
    taps: Vec<Complex32>,
    /// Bin matrices `[bin][rx][tx]`.
    bins: Vec<Complex32>,
    /// Per tx: the last `max_delay` input samples.
    hist: Vec<Vec<Complex32>>,
    /// Per tx: history + current block (scratch, grows to the largest block).
    ext: Vec<Vec<Complex32>>,
    /// Freq-response scratch: per-tap phase ramps and their steps.
    rot: Vec<Complex64>,
}

impl FadingChannel {
    /// The engine over `src`.
    pub fn new(src: Box<dyn TapSource>) -> Self {
        Self::with_extra_delay(src, 0)
    }

    /// The engine over `src`, with every tap of the time-domain path delayed by a further
    /// `extra` samples (an integer timing offset of the link; the per-RE path ignores it).
    pub fn with_extra_delay(src: Box<dyn TapSource>, extra: usize) -> Self {
        let n_rx = src.n_rx();
        let n_tx = src.n_tx();
        let fs = src.sample_rate_hz();
        let fd = src.max_doppler_hz();
        let k = if fd > 0.0 {
            ((0.01 * fs / (2.0 * std::f64::consts::PI * fd)).floor() as u64).clamp(1, 4096)
        } else {
            1 << 40
        };
        let delays: Vec<usize> = src
            .delays_s()
            .iter()
            .map(|&d| (d * fs).round().max(0.0) as usize + extra)
            .collect();
        let mut bin_delay = delays.clone();
        bin_delay.sort_unstable();
        bin_delay.dedup();
        let tap_bin = delays
            .iter()
            .map(|d| bin_delay.binary_search(d).expect("present"))
            .collect();
        let max_delay = bin_delay.last().copied().unwrap_or(0);
        let n_taps = delays.len();
        Self {
            n_rx,
            n_tx,
            k,
            taps: vec![Complex32::new(0.0, 0.0); n_taps * n_rx * n_tx],
            bins: vec![Complex32::new(0.0, 0.0); bin_delay.len() * n_rx * n_tx],
            bin_delay,
            tap_bin,
            max_delay,
            n_abs: 0,
            cur_update: None,
            hist: vec![vec![Complex32::new(0.0, 0.0); max_delay]; n_tx],
            ext: vec![Vec::new(); n_tx],
            rot: vec![Complex64::new(0.0, 0.0); 2 * n_taps],
            src,
        }
    }

    /// Receive antennas.
    pub fn n_rx(&self) -> usize {
        self.n_rx
    }
    /// Transmit antennas.
    pub fn n_tx(&self) -> usize {
        self.n_tx
    }
    /// Number of taps (clusters) of the model.
    pub fn n_taps(&self) -> usize {
        self.tap_bin.len()
    }
    /// Tap delays of the model, seconds (exact, before rounding to samples).
    pub fn delays_s(&self) -> &[f64] {
        self.src.delays_s()
    }
    /// Mean power of each tap per antenna pair (linear).
    pub fn tap_powers(&self) -> Vec<f64> {
        self.src.tap_powers()
    }
    /// Largest Doppler of the model, Hz.
    pub fn max_doppler_hz(&self) -> f64 {
        self.src.max_doppler_hz()
    }
    /// Sample rate, Hz.
    pub fn sample_rate_hz(&self) -> f64 {
        self.src.sample_rate_hz()
    }
    /// Gain update interval of the time-domain path, samples.
    pub fn update_interval(&self) -> u64 {
        self.k
    }
    /// The distinct tap delays of the time-domain path, samples.
    pub fn delays_samples(&self) -> &[usize] {
        &self.bin_delay
    }
    /// Absolute index of the next sample `process` will consume.
    pub fn position(&self) -> u64 {
        self.n_abs
    }

    /// Tap matrices at absolute sample index `n` (exact, no hold), layout `[tap][rx][tx]`.
    pub fn taps_at(&mut self, n: u64, out: &mut [Complex32]) {
        self.src.taps_at(n, out);
    }

    /// Resets the stream: zero history, next sample index `n`.
    pub fn reset(&mut self, n: u64) {
        self.n_abs = n;
        self.cur_update = None;
        for h in &mut self.hist {
            h.iter_mut().for_each(|x| *x = Complex32::new(0.0, 0.0));
        }
    }

    fn check<T: AsRef<[Complex32]>, R: AsMut<[Complex32]>>(
        &self,
        tx: &[T],
        rx: &mut [R],
    ) -> Result<usize, ChannelError> {
        if tx.len() != self.n_tx {
            return Err(ChannelError::AntennaCount {
                what: "transmit",
                expected: self.n_tx,
                got: tx.len(),
            });
        }
        if rx.len() != self.n_rx {
            return Err(ChannelError::AntennaCount {
                what: "receive",
                expected: self.n_rx,
                got: rx.len(),
            });
        }
        let len = tx.first().map_or(0, |t| t.as_ref().len());
        for t in tx {
            if t.as_ref().len() != len {
                return Err(ChannelError::BlockLength {
                    what: "transmit block",
                    expected: len,
                    got: t.as_ref().len(),
                });
            }
        }
        for r in rx.iter_mut() {
            if r.as_mut().len() != len {
                return Err(ChannelError::BlockLength {
                    what: "receive block",
                    expected: len,
                    got: r.as_mut().len(),
                });
            }
        }
        Ok(len)
    }

    fn load_update(&mut self, u: u64) {
        if self.cur_update == Some(u) {
            return;
        }
        self.src.taps_on_grid(u, self.k, &mut self.taps);
        let m = self.n_rx * self.n_tx;
        self.bins
            .iter_mut()
            .for_each(|b| *b = Complex32::new(0.0, 0.0));
        for (l, &b) in self.tap_bin.iter().enumerate() {
            for i in 0..m {
                self.bins[b * m + i] += self.taps[l * m + i];
            }
        }
        self.cur_update = Some(u);
    }

    /// Passes one block per transmit antenna through the channel and writes one block per
    /// receive antenna (overwriting `rx`). Blocks: any slices (`&[Complex32]`, `Vec`, ...),
    /// all of the same length.
    pub fn process<T: AsRef<[Complex32]>, R: AsMut<[Complex32]>>(
        &mut self,
        tx: &[T],
        rx: &mut [R],
    ) -> Result<(), ChannelError> {
        self.check(tx, rx)?;
        for r in rx.iter_mut() {
            r.as_mut()
                .iter_mut()
                .for_each(|x| *x = Complex32::new(0.0, 0.0));
        }
        self.process_add(tx, rx, 1.0)
    }

    /// Like [`process`](Self::process) but adds `gain ×` the channel output to `rx`
    /// (superposition of several links at the same receiver).
    pub fn process_add<T: AsRef<[Complex32]>, R: AsMut<[Complex32]>>(
        &mut self,
        tx: &[T],
        rx: &mut [R],
        gain: f32,
    ) -> Result<(), ChannelError> {
        let len = self.check(tx, rx)?;
        let d_max = self.max_delay;
        // A silent block with a silent delay line adds nothing (a TDD UE
        // outside its uplink slots): the taps still advance, the sums are skipped.
        let zero = Complex32::new(0.0, 0.0);
        let silent = tx.iter().all(|x| x.as_ref().iter().all(|v| *v == zero))
            && self.hist.iter().all(|h| h.iter().all(|v| *v == zero));
        if silent {
            let mut n = 0usize;
            while n < len {
                let u = (self.n_abs + n as u64) / self.k;
                self.load_update(u);
                n = ((u + 1) * self.k - self.n_abs).min(len as u64) as usize;
            }
            self.n_abs += len as u64;
            return Ok(());
        }
        for (t, x) in tx.iter().enumerate() {
            let e = &mut self.ext[t];
            e.clear();
            e.extend_from_slice(&self.hist[t]);
            e.extend_from_slice(x.as_ref());
        }
        let m = self.n_rx * self.n_tx;
        let mut n = 0usize;
        while n < len {
            let abs = self.n_abs + n as u64;
            let u = abs / self.k;
            let end = ((u + 1) * self.k - self.n_abs).min(len as u64) as usize;
            self.load_update(u);
            for (r, y) in rx.iter_mut().enumerate() {
                let y = &mut y.as_mut()[n..end];
                for (b, &d) in self.bin_delay.iter().enumerate() {
                    for t in 0..self.n_tx {
                        let h = self.bins[b * m + r * self.n_tx + t] * gain;
                        if h == Complex32::new(0.0, 0.0) {
                            continue;
                        }
                        let x = &self.ext[t][d_max + n - d..d_max + end - d];
                        axpy(h, x, y);
                    }
                }
            }
            n = end;
        }
        for t in 0..self.n_tx {
            let e = &self.ext[t];
            self.hist[t].copy_from_slice(&e[e.len() - d_max..]);
        }
        self.n_abs += len as u64;
        Ok(())
    }

    /// Per-RE channel matrices at absolute sample index `n` over `grid`, with exact delays:
    /// `out[(k · n_rx + rx) · n_tx + tx] = Σ_l H_l[rx][tx](n) e^{−j2π f_k τ_l}`.
    pub fn freq_response(
        &mut self,
        n: u64,
        grid: &SubcarrierGrid,
        out: &mut [Complex32],
    ) -> Result<(), ChannelError> {
        let m = self.n_rx * self.n_tx;
        if out.len() != grid.count * m {
            return Err(ChannelError::BlockLength {
                what: "frequency response",
                expected: grid.count * m,
                got: out.len(),
            });
        }
        self.src.taps_at(n, &mut self.taps);
        freq_response_from_taps(&self.taps, self.src.delays_s(), m, grid, &mut self.rot, out);
        Ok(())
    }
}

/// `out[k][i] = Σ_l taps[l][i] e^{−j2π f_k τ_l}` for `m` entries per tap. The per-tap
/// phase ramps advance by a rotation per subcarrier in f64 and are recomputed exactly every
/// 64 subcarriers (rounding drift stays below 1e-13).
pub(crate) fn freq_response_from_taps(
    taps: &[Complex32],
    delays_s: &[f64],
    m: usize,
    grid: &SubcarrierGrid,
    rot: &mut [Complex64],
    out: &mut [Complex32],
) {
    let nt = delays_s.len();
    let (z, step) = rot.split_at_mut(nt);
    for (st, &tau) in step.iter_mut().zip(delays_s) {
        let (s, c) = (-2.0 * std::f64::consts::PI * grid.spacing_hz * tau).sin_cos();
        *st = Complex64::new(c, s);
    }
    for k in 0..grid.count {
        if k % 64 == 0 {
            let f = grid.first_hz + k as f64 * grid.spacing_hz;
            for (zz, &tau) in z.iter_mut().zip(delays_s) {
                let (s, c) = (-2.0 * std::f64::consts::PI * f * tau).sin_cos();
                *zz = Complex64::new(c, s);
            }
        }
        let o = &mut out[k * m..(k + 1) * m];
        o.iter_mut().for_each(|x| *x = Complex32::new(0.0, 0.0));
        for (l, (zz, st)) in z.iter_mut().zip(step.iter()).enumerate() {
            let p = Complex32::new(zz.re as f32, zz.im as f32);
            axpy(p, &taps[l * m..(l + 1) * m], o);
            *zz *= st;
        }
    }
}

/// Applies per-RE matrices: `y_r[k] = Σ_t H[k][r][t] x_t[k]` (overwrites `y`).
pub fn apply_freq(
    h: &[Complex32],
    x: &[&[Complex32]],
    y: &mut [&mut [Complex32]],
) -> Result<(), ChannelError> {
    let (n_tx, n_rx) = (x.len(), y.len());
    let count = x.first().map_or(0, |v| v.len());
    if h.len() != count * n_rx * n_tx {
        return Err(ChannelError::BlockLength {
            what: "channel matrices",
            expected: count * n_rx * n_tx,
            got: h.len(),
        });
    }
    if x.iter().any(|v| v.len() != count) || y.iter().any(|v| v.len() != count) {
        return Err(ChannelError::BlockLength {
            what: "per-RE block",
            expected: count,
            got: 0,
        });
    }
    for k in 0..count {
        let hk = &h[k * n_rx * n_tx..(k + 1) * n_rx * n_tx];
        for (r, yr) in y.iter_mut().enumerate() {
            let mut acc = Complex32::new(0.0, 0.0);
            for (t, xt) in x.iter().enumerate() {
                acc += hk[r * n_tx + t] * xt[k];
            }
            yr[k] = acc;
        }
    }
    Ok(())
}

pub(crate) use crate::kernels::axpy;
