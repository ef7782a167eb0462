//! CP-OFDM demodulator: N_CP + N samples of one antenna to the `n_sc`
//! subcarriers of one symbol (the inverse of [`super::OfdmModulator`]).
//!
//! The FFT window is the last N samples of the symbol (right after the CP).

use super::{check_len, OfdmError, OfdmOptions};
use crate::grid::ResourceGrid;
use crate::numerology::Numerology;
use num_complex::{Complex32, Complex64};
use rustfft::{Fft, FftPlanner};
use std::sync::Arc;

/// Demodulator; stateless between symbols, so one can serve every antenna.
pub struct OfdmDemodulator {
    num: Numerology,
    opts: OfdmOptions,
    fft: Arc<dyn Fft<f32>>,
    buf: Vec<Complex32>,
    scratch: Vec<Complex32>,
    /// exp(−jπt/N), t = 0..N: removes the half-subcarrier shift.
    derot: Vec<Complex32>,
}

impl OfdmDemodulator {
    /// Plans the FFT for `num`.
    pub fn new(num: Numerology, opts: OfdmOptions) -> Result<Self, OfdmError> {
        let n = num.fft_size();
        let fft = FftPlanner::new().plan_fft_forward(n);
        let derot = if opts.half_subcarrier_shift {
            (0..n)
                .map(|t| {
                    let ph = -std::f64::consts::PI * t as f64 / n as f64;
                    Complex32::new(ph.cos() as f32, ph.sin() as f32)
                })
                .collect()
        } else {
            Vec::new()
        };
        Ok(OfdmDemodulator {
            num,
            opts,
            scratch: vec![Complex32::default(); fft.get_inplace_scratch_len()],
            fft,
            buf: vec![Complex32::default(); n],
            derot,
        })
    }

    /// The numerology.
    pub fn numerology(&self) -> &Numerology {
        &self.num
    }

    /// Demodulates symbol `l` of slot `slot`: `input` holds its N_CP + N
    /// samples, `out` receives the `n_sc` subcarriers.
    pub fn demodulate_symbol(
        &mut self,
        slot: u32,
        l: usize,
        input: &[Complex32],
        out: &mut [Complex32],
    ) -> Result<(), OfdmError> {
        let n = self.num.fft_size();
        let cp = self.num.cp_len(slot, l);
        check_len("symbol samples", input.len(), cp + n)?;
        check_len("subcarriers", out.len(), self.num.n_sc())?;
        let body = &input[cp..];
        if self.opts.half_subcarrier_shift {
            for ((b, x), r) in self.buf.iter_mut().zip(body).zip(&self.derot) {
                *b = x * r;
            }
        } else {
            self.buf.copy_from_slice(body);
        }
        self.fft
            .process_with_scratch(&mut self.buf, &mut self.scratch);
        let scale = 1.0 / (n as f32).sqrt();
        let n_sc = self.num.n_sc();
        let h = n_sc / 2;
        let (lo, hi) = out.split_at_mut(h);
        for (o, b) in lo.iter_mut().zip(&self.buf[n - h..]) {
            *o = b * scale;
        }
        for (o, b) in hi.iter_mut().zip(&self.buf[..n_sc - h]) {
            *o = b * scale;
        }
        Ok(())
    }

    /// Demodulates a whole slot of one antenna into port `port` of `grid`.
    pub fn demodulate_slot(
        &mut self,
        slot: u32,
        input: &[Complex32],
        grid: &mut ResourceGrid,
        port: usize,
    ) -> Result<(), OfdmError> {
        check_len("slot samples", input.len(), self.num.slot_len(slot))?;
        check_len("grid symbols", grid.symbols(), self.num.symbols_per_slot())?;
        let mut o = 0;
        for l in 0..self.num.symbols_per_slot() {
            let len = self.num.symbol_len(slot, l);
            self.demodulate_symbol(slot, l, &input[o..o + len], grid.symbol_mut(port, l))?;
            o += len;
        }
        Ok(())
    }

    /// Blind CFO estimate in Hz from the CP of every symbol of a slot
    /// (`input` = `slot_len(slot)` samples): the angle of Σ y(n+N)·y*(n) over
    /// the CP, which is 2π·cfo·N/f_s. Unambiguous within ±Δf/2. The first
    /// quarter of each CP is skipped (ISI from the channel and the transmit window).
    /// A silent input gives 0.
    pub fn estimate_cfo_cp(&self, slot: u32, input: &[Complex32]) -> f64 {
        let n = self.num.fft_size();
        let mut acc = Complex64::new(0.0, 0.0);
        let mut o = 0;
        for l in 0..self.num.symbols_per_slot() {
            let cp = self.num.cp_len(slot, l);
            let len = cp + n;
            if o + len > input.len() {
                break;
            }
            let s = &input[o..o + len];
            let mut a = Complex32::new(0.0, 0.0);
            for i in cp / 4..cp {
                a += s[i + n] * s[i].conj();
            }
            acc += Complex64::new(a.re as f64, a.im as f64);
            o += len;
        }
        if self.opts.half_subcarrier_shift {
            // The Δf/2 shift makes the CP the negated tail.
            acc = -acc;
        }
        if acc.norm_sqr() == 0.0 || !acc.norm_sqr().is_finite() {
            return 0.0;
        }
        acc.arg() * self.num.scs().hz() / std::f64::consts::TAU
    }
}
