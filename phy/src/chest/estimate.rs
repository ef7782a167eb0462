//! The channel estimate of one slot ([`ChannelEstimate`]): per DM-RS
//! position and averaged channels, noise, timing, CFO and SNR, read by the
//! detector per symbol.

use super::TimeMode;
use num_complex::Complex32;

/// The channel estimate of one slot, with its quality figures.
#[derive(Debug, Clone)]
pub struct ChannelEstimate {
    pub(super) n_rx: usize,
    pub(super) n_layers: usize,
    pub(super) n_sc: usize,
    pub(super) n_pos: usize,
    /// Per position i: `h[i][(rx·L + layer)·n_sc + k]` (one buffer per
    /// position, exchanged with the estimator's work buffers, not copied).
    pub(super) h: [Vec<Complex32>; 4],
    /// Time average (Average mode) in the same per-position layout.
    pub(super) h_avg: Vec<Complex32>,
    /// Centre symbol (l̄ + (L'−1)/2) and its time in seconds, per position.
    pub(super) pos_symbol: [f64; 4],
    pub(super) pos_time: [f64; 4],
    /// Symbol start times (seconds) for CFO tracking.
    pub(super) symbol_time: [f64; 14],
    pub(super) mode: TimeMode,
    pub(super) track_cfo: bool,
    pub(super) noise_var_rx: Vec<f32>,
    pub(super) signal_layer: Vec<f32>,
    pub(super) noise_var: f32,
    pub(super) timing_offset_s: f64,
    pub(super) cfo_hz: Option<f64>,
    pub(super) erased_dmrs: u32,
}

impl ChannelEstimate {
    /// Storage for up to `max_rx` antennas, `max_layers` layers and `max_prb` PRBs.
    pub fn new(max_rx: usize, max_layers: usize, max_prb: usize) -> Self {
        let len = max_rx * max_layers * 12 * max_prb;
        ChannelEstimate {
            n_rx: 0,
            n_layers: 0,
            n_sc: 0,
            n_pos: 0,
            h: std::array::from_fn(|_| vec![Complex32::default(); len]),
            h_avg: vec![Complex32::default(); len],
            pos_symbol: [0.0; 4],
            pos_time: [0.0; 4],
            symbol_time: [0.0; 14],
            mode: TimeMode::Average,
            track_cfo: false,
            noise_var_rx: vec![0.0; max_rx],
            signal_layer: vec![0.0; max_layers],
            noise_var: 0.0,
            timing_offset_s: 0.0,
            cfo_hz: None,
            erased_dmrs: 0,
        }
    }

    fn stride(&self) -> usize {
        self.n_rx * self.n_layers * self.n_sc
    }

    /// Receive antennas.
    pub fn n_rx(&self) -> usize {
        self.n_rx
    }

    /// Layers.
    pub fn n_layers(&self) -> usize {
        self.n_layers
    }

    /// Allocated subcarriers.
    pub fn n_sc(&self) -> usize {
        self.n_sc
    }

    /// Number of DM-RS positions.
    pub fn n_positions(&self) -> usize {
        self.n_pos
    }

    /// The estimate at DM-RS position `i`: `[(rx·L + layer)·n_sc + k]`.
    pub fn position(&self, i: usize) -> &[Complex32] {
        &self.h[i][..self.stride()]
    }

    /// The time combining used for this slot: Average or Interpolate
    /// ([`TimeMode::Auto`] is resolved per slot by the estimator).
    pub fn time_mode(&self) -> TimeMode {
        self.mode
    }

    fn interpolated(&self) -> bool {
        self.mode == TimeMode::Interpolate
    }

    /// The phase e^{j2π·CFO·(t_l − t̄)} the estimated CFO adds to symbol `l`
    /// relative to the stored slot average (Average mode with CFO tracking),
    /// or None when symbol `l`'s channel needs no rotation.
    pub fn symbol_phase(&self, l: usize) -> Option<Complex32> {
        match (self.interpolated(), self.cfo_hz) {
            (false, Some(cfo)) if self.track_cfo && cfo != 0.0 => {
                // Phase relative to the positions' mean time, which the average is centred on.
                let t0 = self.pos_time[..self.n_pos].iter().sum::<f64>() / self.n_pos as f64;
                let ph = std::f64::consts::TAU * cfo * (self.symbol_time[l.min(13)] - t0);
                Some(Complex32::from_polar(1.0, ph as f32))
            }
            _ => None,
        }
    }

    /// The channel of symbol `l` up to a common phase: (H, r) with the
    /// channel r·H. In Average mode H is the stored average (no copy, no
    /// per-RE work) and r the CFO phase of the symbol, which a linear
    /// detector can apply to its outputs instead (x = r·s gives s = r*·x,
    /// the noise variance is unchanged); otherwise as
    /// [`ChannelEstimate::symbol_channel`] with r = 1.
    pub fn symbol_channel_phase<'a>(
        &'a self,
        l: usize,
        buf: &'a mut [Complex32],
    ) -> (&'a [Complex32], Complex32) {
        if self.interpolated() {
            (self.symbol_channel(l, buf), Complex32::new(1.0, 0.0))
        } else {
            (
                &self.h_avg[..self.stride()],
                self.symbol_phase(l).unwrap_or(Complex32::new(1.0, 0.0)),
            )
        }
    }

    /// The channel for symbol `l`, in the detector's layout. Returns the
    /// stored average when no per-symbol work is needed, else fills `buf`
    /// (at least `n_rx·n_layers·n_sc` long) and returns it.
    pub fn symbol_channel<'a>(&'a self, l: usize, buf: &'a mut [Complex32]) -> &'a [Complex32] {
        let s = self.stride();
        match self.interpolated() {
            false => {
                let avg = &self.h_avg[..s];
                match self.symbol_phase(l) {
                    Some(r) => {
                        for (b, a) in buf[..s].iter_mut().zip(avg) {
                            *b = a * r;
                        }
                        &buf[..s]
                    }
                    None => avg,
                }
            }
            true => {
                let lf = l as f64;
                let p = &self.pos_symbol[..self.n_pos];
                if self.n_pos == 1 || lf <= p[0] {
                    return self.position(0);
                }
                if lf >= p[self.n_pos - 1] {
                    return self.position(self.n_pos - 1);
                }
                let i = p.iter().rposition(|&x| x <= lf).unwrap_or(0);
                let w = ((lf - p[i]) / (p[i + 1] - p[i])) as f32;
                let (a, b) = (self.position(i), self.position(i + 1));
                for ((o, x), y) in buf[..s].iter_mut().zip(a).zip(b) {
                    *o = x * (1.0 - w) + y * w;
                }
                &buf[..s]
            }
        }
    }

    /// Noise variance σ² per RE (mean over antennas), relative to unit-power data.
    pub fn noise_var(&self) -> f32 {
        self.noise_var
    }

    /// σ² of each antenna.
    pub fn noise_var_rx(&self) -> &[f32] {
        &self.noise_var_rx[..self.n_rx]
    }

    /// Per-layer SNR before detection, mean over antennas and subcarriers of
    /// |h|²/σ², in dB, clamped to ±100 dB (−100 for a silent channel).
    pub fn sinr_db(&self, layer: usize) -> f32 {
        let s = self.signal_layer[layer];
        let n = self.noise_var;
        if s <= 0.0 {
            return -100.0;
        }
        if n <= 0.0 {
            return 100.0;
        }
        (10.0 * (s / n).log10()).clamp(-100.0, 100.0)
    }

    /// Estimated timing offset τ in seconds (positive: the signal arrives late).
    pub fn timing_offset_s(&self) -> f64 {
        self.timing_offset_s
    }

    /// Estimated CFO in Hz from the DM-RS, when there are at least two positions.
    pub fn cfo_hz(&self) -> Option<f64> {
        self.cfo_hz
    }

    /// DM-RS REs (over antennas) received as NaN or infinite and left out.
    pub fn erased_dmrs_res(&self) -> u32 {
        self.erased_dmrs
    }
}
