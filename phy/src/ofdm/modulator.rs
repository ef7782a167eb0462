//! CP-OFDM modulator (TS 38.211 §5.3.1): one symbol of one port's grid to
//! N_CP + N time samples.

use super::{check_len, OfdmError, OfdmOptions};
use crate::grid::ResourceGrid;
use crate::numerology::Numerology;
use num_complex::Complex32;
use rustfft::{Fft, FftPlanner};
use std::sync::Arc;

/// Modulator for one antenna stream (it carries the window overlap from
/// symbol to symbol, so use one per antenna when windowing).
pub struct OfdmModulator {
    num: Numerology,
    opts: OfdmOptions,
    ifft: Arc<dyn Fft<f32>>,
    buf: Vec<Complex32>,
    scratch: Vec<Complex32>,
    /// exp(jπt'/N) for t' = −max_cp .. N + W (half-subcarrier shift), index t' + max_cp.
    half_rot: Vec<Complex32>,
    max_cp: usize,
    /// Rising raised-cosine taper, W samples.
    window: Vec<f32>,
    /// Tapered cyclic suffix of the previous symbol, added to the next one's start.
    tail: Vec<Complex32>,
}

impl OfdmModulator {
    /// Plans the IFFT and the tables for `num`.
    pub fn new(num: Numerology, opts: OfdmOptions) -> Result<Self, OfdmError> {
        let n = num.fft_size();
        let min_cp = (0..num.symbols_per_slot())
            .map(|l| num.cp_len(1, l).min(num.cp_len(0, l)))
            .min()
            .unwrap_or(0);
        if opts.window_len >= min_cp && opts.window_len > 0 {
            return Err(OfdmError::Window {
                window: opts.window_len,
                cp: min_cp,
            });
        }
        let max_cp = num.cp_len(0, 0);
        let ifft = FftPlanner::new().plan_fft_inverse(n);
        let w = opts.window_len;
        let half_rot = (0..max_cp + n + w)
            .map(|i| {
                let t = i as f64 - max_cp as f64;
                let ph = std::f64::consts::PI * t / n as f64;
                Complex32::new(ph.cos() as f32, ph.sin() as f32)
            })
            .collect();
        let window = (0..w)
            .map(|i| {
                let x = (i as f64 + 0.5) / w as f64;
                (0.5 - 0.5 * (std::f64::consts::PI * x).cos()) as f32
            })
            .collect();
        Ok(OfdmModulator {
            num,
            opts,
            scratch: vec![Complex32::default(); ifft.get_inplace_scratch_len()],
            ifft,
            buf: vec![Complex32::default(); n],
            half_rot,
            max_cp,
            window,
            tail: vec![Complex32::default(); w],
        })
    }

    /// The numerology.
    pub fn numerology(&self) -> &Numerology {
        &self.num
    }

    /// Forgets the window overlap carried from the last symbol.
    pub fn reset(&mut self) {
        self.tail.fill(Complex32::default());
    }

    /// Modulates symbol `l` of slot `slot` from its `n_sc` subcarriers into
    /// `out` (N_CP + N samples, CP first).
    pub fn modulate_symbol(
        &mut self,
        slot: u32,
        l: usize,
        freq: &[Complex32],
        out: &mut [Complex32],
    ) -> Result<(), OfdmError> {
        let n = self.num.fft_size();
        let n_sc = self.num.n_sc();
        let cp = self.num.cp_len(slot, l);
        check_len("subcarriers", freq.len(), n_sc)?;
        check_len("symbol samples", out.len(), cp + n)?;
        let scale = 1.0 / (n as f32).sqrt();
        // Subcarrier k at bin (k − n_sc/2) mod N.
        let h = n_sc / 2;
        self.buf.fill(Complex32::default());
        for (b, f) in self.buf[..n_sc - h].iter_mut().zip(&freq[h..]) {
            *b = f * scale;
        }
        for (b, f) in self.buf[n - h..].iter_mut().zip(&freq[..h]) {
            *b = f * scale;
        }
        self.ifft
            .process_with_scratch(&mut self.buf, &mut self.scratch);
        out[..cp].copy_from_slice(&self.buf[n - cp..]);
        out[cp..].copy_from_slice(&self.buf);
        if self.opts.half_subcarrier_shift {
            let rot = &self.half_rot[self.max_cp - cp..self.max_cp + n];
            for (o, r) in out.iter_mut().zip(rot) {
                *o *= r;
            }
        }
        let w = self.opts.window_len;
        if w > 0 {
            for i in 0..w {
                out[i] = out[i] * self.window[i] + self.tail[i];
            }
            // Suffix t' = N..N+W continues the symbol cyclically, tapered down.
            for i in 0..w {
                let mut v = self.buf[i];
                if self.opts.half_subcarrier_shift {
                    v *= self.half_rot[self.max_cp + n + i];
                }
                self.tail[i] = v * self.window[w - 1 - i];
            }
        }
        Ok(())
    }

    /// Modulates all symbols of port `port` of `grid` (one slot) into `out`
    /// (`numerology().slot_len(slot)` samples).
    pub fn modulate_slot(
        &mut self,
        slot: u32,
        grid: &ResourceGrid,
        port: usize,
        out: &mut [Complex32],
    ) -> Result<(), OfdmError> {
        check_len("slot samples", out.len(), self.num.slot_len(slot))?;
        check_len("grid symbols", grid.symbols(), self.num.symbols_per_slot())?;
        let mut o = 0;
        for l in 0..self.num.symbols_per_slot() {
            let len = self.num.symbol_len(slot, l);
            self.modulate_symbol(slot, l, grid.symbol(port, l), &mut out[o..o + len])?;
            o += len;
        }
        Ok(())
    }
}
