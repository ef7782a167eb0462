//! Channel estimation and detection of one allocation ([`RxFrontEnd`]):
//! DM-RS channel estimate, ZF/MMSE per RE with the symbol's CFO phase, and
//! layer demapping d(v·i + j) = x^(j)(i) (TS 38.211 §6.3.1.3 / §7.3.1.3)
//! into codeword order; with the measurements made of the equalised
//! symbols (post-equalisation SINR, EVM) and the LLR quantiser.

use super::SchLayout;
use crate::chest::{ChannelEstimate, ChannelEstimator, ChestError, ChestPosition};
use crate::grid::ResourceGrid;
use crate::mimo::{Detector, MimoError};
use crate::numerology::Numerology;
use crate::simd::scalar::llr::EvmParams;
use crate::simd::SimdLevel;
use num_complex::{Complex32, Complex64};

/// Why the receive front end failed (the PDU was validated, so these are
/// size mismatches between the request and what the processor was built for).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FrontEndError {
    /// Channel estimation refused the request.
    #[error("channel estimation: {0}")]
    Chest(#[from] ChestError),
    /// Detection refused the request.
    #[error("detection: {0}")]
    Mimo(#[from] MimoError),
    /// More layers or antennas than built for.
    #[error("{what} = {got} exceeds the processor's maximum {max}")]
    TooLarge {
        /// Which size.
        what: &'static str,
        /// Requested.
        got: usize,
        /// Built for.
        max: usize,
    },
}

/// Receive front end: channel estimation and detection of one slot into
/// codeword-ordered equalised symbols and their noise variances.
/// Buffers are sized at construction; per-slot calls allocate nothing.
///
/// Besides the whole-slot calls (on the front end's own estimate and
/// codeword buffers), the steps a pipeline runs as separate tasks, each
/// `&self` on state the caller owns: [`RxFrontEnd::chest_check`], then per
/// DM-RS position [`RxFrontEnd::chest_position`] and
/// [`RxFrontEnd::chest_interpolate`] (on that position's
/// [`ChestPosition`]), then [`RxFrontEnd::chest_combine`] (into the
/// caller's [`ChannelEstimate`]), then [`RxFrontEnd::detect_symbol_into`]
/// per symbol (with the caller's [`DetectScratch`] and output).
pub struct RxFrontEnd {
    n_rx: usize,
    max_layers: usize,
    max_prb: usize,
    chest: ChannelEstimator,
    est: ChannelEstimate,
    detectors: Vec<Detector>,
    scratch: DetectScratch,
    /// Equalised codeword symbols d(i) and their noise variances.
    d: Vec<Complex32>,
    dnv: Vec<f32>,
}

/// Detection scratch of one thread: the gathered received REs and channel
/// of a symbol, and the detector's per-layer outputs.
#[derive(Default)]
pub struct DetectScratch {
    y: Vec<Complex32>,
    h: Vec<Complex32>,
    hsym: Vec<Complex32>,
    x: Vec<Complex32>,
    nv: Vec<f32>,
}

impl RxFrontEnd {
    /// A front end for `n_rx` antennas, up to `max_layers` layers and `max_prb` PRBs.
    pub fn new(
        n_rx: usize,
        max_layers: usize,
        max_prb: usize,
        chest_opts: crate::chest::ChestOptions,
        equalizer: crate::mimo::Equalizer,
        level: crate::simd::SimdLevel,
    ) -> Result<Self, FrontEndError> {
        let detectors = (1..=max_layers)
            .map(|v| Detector::with_level(n_rx, v, equalizer, level))
            .collect::<Result<Vec<_>, _>>()?;
        let n_sc = 12 * max_prb;
        let chest = ChannelEstimator::new(n_rx, max_layers, max_prb, chest_opts);
        let est = chest.new_estimate();
        let mut fe = RxFrontEnd {
            n_rx,
            max_layers,
            max_prb,
            chest,
            est,
            detectors,
            scratch: DetectScratch::default(),
            d: vec![Complex32::default(); 14 * max_layers * n_sc],
            dnv: vec![0.0; 14 * max_layers * n_sc],
        };
        fe.scratch = fe.new_scratch();
        Ok(fe)
    }

    /// Detection scratch sized for this front end (one per thread that
    /// calls [`RxFrontEnd::detect_symbol_into`]).
    pub fn new_scratch(&self) -> DetectScratch {
        let n_sc = 12 * self.max_prb;
        let (n_rx, v) = (self.n_rx, self.max_layers);
        DetectScratch {
            y: vec![Complex32::default(); n_rx * n_sc],
            h: vec![Complex32::default(); n_rx * v * n_sc],
            hsym: vec![Complex32::default(); n_rx * v * n_sc],
            x: vec![Complex32::default(); v * n_sc],
            nv: vec![0.0; v * n_sc],
        }
    }

    /// The latest channel estimate.
    pub fn estimate(&self) -> &ChannelEstimate {
        &self.est
    }

    fn check(&self, lay: &SchLayout, grid: &ResourceGrid) -> Result<(), FrontEndError> {
        let too = |what, got, max| Err(FrontEndError::TooLarge { what, got, max });
        if lay.layers() > self.max_layers {
            return too("layers", lay.layers(), self.max_layers);
        }
        if grid.ports() != self.n_rx {
            return too("grid antennas", grid.ports(), self.n_rx);
        }
        if lay.dmrs.n_prb > self.max_prb {
            return too("PRBs", lay.dmrs.n_prb, self.max_prb);
        }
        Ok(())
    }

    /// A channel estimate sized for this front end (caller-owned state of
    /// the split steps).
    pub fn new_estimate(&self) -> ChannelEstimate {
        self.chest.new_estimate()
    }

    /// The work of one DM-RS position sized for this front end
    /// (caller-owned state of the split steps).
    pub fn new_position(&self) -> ChestPosition {
        self.chest.new_position()
    }

    /// Split step 1: checks the request (and the storage of `est`) against
    /// the front end's sizes and returns the number of DM-RS positions (the
    /// tasks of the next steps).
    pub fn chest_check(
        &self,
        lay: &SchLayout,
        grid: &ResourceGrid,
        est: &ChannelEstimate,
    ) -> Result<usize, FrontEndError> {
        self.check(lay, grid)?;
        self.chest.check(grid, &lay.dmrs, est)?;
        Ok(lay.dmrs.symbols.positions().len())
    }

    /// Split step 2, DM-RS position `pos` (after [`RxFrontEnd::chest_check`]):
    /// least squares and timing correlation into `w`
    /// ([`ChannelEstimator::estimate_position`]).
    pub fn chest_position(
        &self,
        lay: &SchLayout,
        grid: &ResourceGrid,
        pos: usize,
        w: &mut ChestPosition,
    ) {
        self.chest.estimate_position(grid, &lay.dmrs, pos, w);
    }

    /// Split step 3 for the position of `w` (after step 2 of every
    /// position, whose correlations are `corrs`): despreading and frequency
    /// interpolation ([`ChannelEstimator::interpolate_position`]).
    pub fn chest_interpolate(
        &self,
        num: &Numerology,
        lay: &SchLayout,
        corrs: &[Complex64],
        w: &mut ChestPosition,
    ) {
        self.chest
            .interpolate_position(num, self.n_rx, &lay.dmrs, corrs, w);
    }

    /// Split step 4 (after step 3 of every position): noise, CFO and time
    /// combining of the positions `work` into `est` ([`ChannelEstimator::combine`]).
    pub fn chest_combine(
        &self,
        num: &Numerology,
        lay: &SchLayout,
        work: &mut [&mut ChestPosition],
        est: &mut ChannelEstimate,
    ) {
        self.chest.combine(num, self.n_rx, &lay.dmrs, work, est);
    }

    /// Stage: channel estimation over all DM-RS positions.
    pub fn estimate_channel(
        &mut self,
        num: &Numerology,
        lay: &SchLayout,
        grid: &ResourceGrid,
    ) -> Result<(), FrontEndError> {
        self.check(lay, grid)?;
        self.chest.estimate(num, grid, &lay.dmrs, &mut self.est)?;
        Ok(())
    }

    /// Stage: detection of the data REs of symbol `l` into the codeword
    /// buffer, starting at RE index `first_re` (the data REs of earlier
    /// symbols). Returns the number of REs detected.
    pub fn detect_symbol(
        &mut self,
        lay: &SchLayout,
        grid: &ResourceGrid,
        l: usize,
        first_re: usize,
    ) -> Result<usize, FrontEndError> {
        let v = lay.layers();
        let n = lay.res_on_symbol(l);
        let (a, b) = (v * first_re, v * (first_re + n));
        if b > self.d.len() {
            return Err(FrontEndError::TooLarge {
                what: "codeword symbols",
                got: b,
                max: self.d.len(),
            });
        }
        let mut s = std::mem::take(&mut self.scratch);
        let (d, dnv) = (&mut self.d[a..b], &mut self.dnv[a..b]);
        let r = detect_into(
            &self.est,
            &self.detectors,
            self.n_rx,
            &mut s,
            lay,
            grid,
            l,
            d,
            dnv,
        );
        self.scratch = s;
        r
    }

    /// Detection of the data REs of symbol `l` with the channel estimate
    /// `est` (the caller's, from [`RxFrontEnd::chest_combine`]) into `d`
    /// and `dnv`, which take exactly that symbol's
    /// codeword symbols, v·[`SchLayout::res_on_symbol`]`(l)` of them (from
    /// codeword symbol v·[`SchLayout::res_before`]`(l)`), with the caller's
    /// scratch: symbols can be detected on several threads at once and in
    /// any order, with the same result. Returns the number of REs detected.
    #[allow(clippy::too_many_arguments)]
    pub fn detect_symbol_into(
        &self,
        est: &ChannelEstimate,
        scratch: &mut DetectScratch,
        lay: &SchLayout,
        grid: &ResourceGrid,
        l: usize,
        d: &mut [Complex32],
        dnv: &mut [f32],
    ) -> Result<usize, FrontEndError> {
        detect_into(
            est,
            &self.detectors,
            self.n_rx,
            scratch,
            lay,
            grid,
            l,
            d,
            dnv,
        )
    }

    /// Estimation then detection of every allocated symbol. Returns the
    /// equalised codeword symbols and their noise variances (n_RE·v each).
    pub fn process(
        &mut self,
        num: &Numerology,
        lay: &SchLayout,
        grid: &ResourceGrid,
    ) -> Result<(&[Complex32], &[f32]), FrontEndError> {
        self.estimate_channel(num, lay, grid)?;
        let mut first = 0;
        for l in lay.start_symbol..lay.start_symbol + lay.n_symbols {
            first += self.detect_symbol(lay, grid, l, first)?;
        }
        let m = first * lay.layers();
        Ok((&self.d[..m], &self.dnv[..m]))
    }

    /// The equalised symbols and noise variances of the last [`RxFrontEnd::process`] (first `len`).
    pub fn symbols(&self, len: usize) -> (&[Complex32], &[f32]) {
        (&self.d[..len], &self.dnv[..len])
    }

    /// Codeword symbols the front end's buffers hold (n_RE·v at most).
    pub fn codeword_len(&self) -> usize {
        self.d.len()
    }
}

/// Detection of symbol `l` into its codeword symbols `d`/`dnv` (see
/// [`RxFrontEnd::detect_symbol_into`]).
#[allow(clippy::too_many_arguments)]
fn detect_into(
    est: &ChannelEstimate,
    detectors: &[Detector],
    n_rx: usize,
    s: &mut DetectScratch,
    lay: &SchLayout,
    grid: &ResourceGrid,
    l: usize,
    d: &mut [Complex32],
    dn: &mut [f32],
) -> Result<usize, FrontEndError> {
    let n = lay.res_on_symbol(l);
    if n == 0 {
        return Ok(0);
    }
    let v = lay.layers();
    if d.len() != v * n || dn.len() != v * n {
        return Err(FrontEndError::TooLarge {
            what: "codeword symbols of the symbol",
            got: d.len().max(dn.len()),
            max: v * n,
        });
    }
    let n_sc = lay.n_sc();
    let base = lay.first_sc();
    // The channel up to the symbol's CFO phase r, which is applied to the
    // detected symbols (v per RE) rather than to the channel (n_rx·v per RE).
    let (hfull, phase) = est.symbol_channel_phase(l, &mut s.hsym);
    let full = lay.is_full(l);
    // Gather y (and h on partial symbols) into the detector's planes; one
    // full antenna is read in place.
    let y: &[Complex32] = if full && n_rx == 1 {
        &grid.symbol(0, l)[base..base + n_sc]
    } else {
        for rx in 0..n_rx {
            let src = &grid.symbol(rx, l)[base..base + n_sc];
            let dst = &mut s.y[rx * n..(rx + 1) * n];
            if full {
                dst.copy_from_slice(src);
            } else {
                let mut r = 0;
                lay.for_each_data_sc(l, |k| {
                    dst[r] = src[k];
                    r += 1;
                });
            }
        }
        &s.y[..n_rx * n]
    };
    let h: &[Complex32] = if full {
        &hfull[..n_rx * v * n_sc]
    } else {
        for p in 0..n_rx * v {
            let src = &hfull[p * n_sc..(p + 1) * n_sc];
            let dst = &mut s.h[p * n..(p + 1) * n];
            let mut r = 0;
            lay.for_each_data_sc(l, |k| {
                dst[r] = src[k];
                r += 1;
            });
        }
        &s.h[..n_rx * v * n]
    };
    let det = &detectors[v - 1];
    let nvar = est.noise_var();
    let unrotated = phase == Complex32::new(1.0, 0.0);
    let (x, nv) = if v == 1 {
        // One layer: detect straight into the codeword buffers.
        (&mut d[..], &mut dn[..])
    } else {
        (&mut s.x[..v * n], &mut s.nv[..v * n])
    };
    det.detect(y, h, nvar, x, nv)?;
    let rc = phase.conj();
    if v == 1 {
        if !unrotated {
            x.iter_mut().for_each(|z| *z *= rc);
        }
        return Ok(n);
    }
    // Layer demapping: d(v·i + j) = r*·x^(j)(i).
    for j in 0..v {
        let xs = &s.x[j * n..(j + 1) * n];
        let ns = &s.nv[j * n..(j + 1) * n];
        for r in 0..n {
            d[v * r + j] = xs[r] * rc;
            dn[v * r + j] = ns[r];
        }
    }
    Ok(n)
}

/// Mean post-equalisation SINR in dB, 10·log10(1/mean σ²_post), clamped to ±100 dB.
pub fn post_sinr_db(nvar: &[f32]) -> f32 {
    if nvar.is_empty() {
        return -100.0;
    }
    // f32 partial sums in 8 lanes per block of 4096 (vectorisable), then f64.
    let m = nvar
        .chunks(4096)
        .map(|c| {
            let mut acc = [0.0f32; 8];
            let mut it = c.chunks_exact(8);
            for x in &mut it {
                for (a, &v) in acc.iter_mut().zip(x) {
                    *a += v;
                }
            }
            acc.iter().map(|&a| a as f64).sum::<f64>()
                + it.remainder().iter().map(|&v| v as f64).sum::<f64>()
        })
        .sum::<f64>()
        / nvar.len() as f64;
    if !(m > 0.0) {
        return 100.0;
    }
    (-10.0 * m.log10()).clamp(-100.0, 100.0) as f32
}

/// RMS error vector magnitude (in %) of unit-energy square-QAM symbols
/// against their nearest constellation points (decision directed), for Q_m
/// bits per symbol (2, 4, 6, 8, 10). Empty or non-QAM input gives 0; a
/// non-finite point counts as an error of 1.
pub fn evm_percent(symbols: &[Complex32], qm: usize) -> f32 {
    evm_percent_with(SimdLevel::detect(), symbols, qm)
}

/// [`evm_percent`] with the kernel of at most `level` (one pass over the
/// points, SIMD per dimension).
pub fn evm_percent_with(level: SimdLevel, symbols: &[Complex32], qm: usize) -> f32 {
    let Some(p) = EvmParams::new(qm) else {
        return 0.0;
    };
    if symbols.is_empty() {
        return 0.0;
    }
    let flat: &[f32] = bytemuck::cast_slice(symbols);
    let err = match level.clamp_to(SimdLevel::detect()) {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the level is supported by this CPU (clamped to the detected one).
        SimdLevel::Avx2 | SimdLevel::Avx512 => unsafe {
            crate::simd::avx2::llr::evm_error_sum(p, flat)
        },
        _ => crate::simd::scalar::llr::evm_error_sum(p, flat),
    };
    (100.0 * (err / symbols.len() as f64).sqrt()) as f32
}

/// Quantises float LLRs (nats) to `i8` (round-half-even of x·`scale`,
/// clamped to ±127, NaN → 0) and descrambles them: negated where the bit of
/// `mask` (c(32w + j) in bit j of word w, TS 38.211 §5.2.1) is 1. Returns
/// whether any output is non-zero. `out` takes `llrs.len()` values and
/// `mask` must cover them; shorter buffers limit the count.
pub fn quantize_descramble(
    level: SimdLevel,
    llrs: &[f32],
    scale: f32,
    mask: &[u32],
    out: &mut [i8],
) -> bool {
    let n = llrs.len().min(out.len()).min(mask.len() * 32);
    let (llrs, out) = (&llrs[..n], &mut out[..n]);
    match level.clamp_to(SimdLevel::detect()) {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the level is supported by this CPU (clamped to the detected one).
        SimdLevel::Avx2 | SimdLevel::Avx512 => unsafe {
            crate::simd::avx2::llr::quantize_descramble(llrs, scale, mask, out)
        },
        _ => crate::simd::scalar::llr::quantize_descramble(llrs, scale, mask, out),
    }
}
