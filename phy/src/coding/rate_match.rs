//! LDPC rate matching and its receiver inverse, TS 38.212 §5.4.2 and §5.5.
//!
//! Transmitter, per code block r: the circular buffer d holds the mother
//! codeword without its first 2Z systematic bits (d_k = c_{k+2Z}) and is
//! N_cb long (N_cb = N, or min(N, N_ref) with limited-buffer rate matching).
//! Bit selection (§5.4.2.1) reads E_r bits from k0(rv) on, wrapping around
//! and skipping the filler (<NULL>) positions [K' − 2Z, K − 2Z); when E_r
//! exceeds the bits available the buffer simply repeats. Bit interleaving
//! (§5.4.2.2) writes e row-wise into Q_m rows and reads it column-wise.
//! Code-block concatenation (§5.5) puts f_0 .. f_{C−1} one after another.
//!
//! Receiver: the same walk in reverse. LLRs are de-interleaved and added with
//! saturation into a per-CB soft buffer of N i8 values (the LDPC decoder's
//! input layout), so repeated bits and retransmissions with any rv combine
//! (chase and incremental redundancy). Filler positions hold +127, a certain
//! 0. The buffer remembers how far it has been written (`n_filled`): beyond
//! it every LLR is an erasure, and the decoder may skip those parity rows.

use crate::coding::ldpc::BaseGraph;
use crate::coding::segmentation::CodeBlockShape;
use thiserror::Error;

/// R_LBRM = 2/3 (§5.4.2.1), as numerator and denominator.
const R_LBRM: (usize, usize) = (2, 3);

/// An LLR that means "certainly 0" in the soft buffer (filler bits).
pub const FILLER_LLR: i8 = i8::MAX;

/// Why rate matching or de-rate-matching refused its input.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RateMatchError {
    /// A buffer of the wrong length.
    #[error("{what}: length {got}, expected {expected}")]
    Length {
        /// Which buffer.
        what: &'static str,
        /// Its length.
        got: usize,
        /// The required length.
        expected: usize,
    },
    /// rv outside 0..=3.
    #[error("redundancy version {0} (allowed: 0..=3)")]
    Rv(u8),
    /// Q_m not in {1, 2, 4, 6, 8, 10}.
    #[error("modulation order {0} (allowed: 1, 2, 4, 6, 8, 10)")]
    Qm(u8),
    /// E not a multiple of Q_m, or zero.
    #[error("E = {e} is not a positive multiple of Q_m = {qm}")]
    E {
        /// E.
        e: usize,
        /// Q_m.
        qm: u8,
    },
    /// The circular buffer holds no transmittable bit.
    #[error("N_cb = {n_cb} leaves no bit outside the {filler} filler bits")]
    EmptyBuffer {
        /// N_cb.
        n_cb: usize,
        /// Filler bits inside it.
        filler: usize,
    },
    /// G does not split into whole modulation symbols on every layer.
    #[error("G = {g} is not a multiple of N_L·Q_m = {unit}")]
    G {
        /// G.
        g: usize,
        /// N_L·Q_m.
        unit: usize,
    },
}

/// N_cb (§5.4.2.1): N without LBRM; with LBRM, min(N, N_ref), N_ref =
/// ⌊TBS_LBRM / (C·R_LBRM)⌋.
pub fn circular_buffer_len(shape: &CodeBlockShape, num_cb: usize, tbs_lbrm: Option<u32>) -> usize {
    let n = shape.n();
    match tbs_lbrm {
        None => n,
        Some(t) => {
            let n_ref = (t as usize * R_LBRM.1) / (num_cb.max(1) * R_LBRM.0);
            n.min(n_ref)
        }
    }
}

/// k0 of Table 5.4.2.1-2 for redundancy version `rv` (0..=3).
pub fn k0(bg: BaseGraph, rv: u8, n_cb: usize, z: usize) -> usize {
    let (num, den) = match bg {
        BaseGraph::Bg1 => ([0, 17, 33, 56][rv as usize & 3], 66),
        BaseGraph::Bg2 => ([0, 13, 25, 43][rv as usize & 3], 50),
    };
    (num * n_cb / (den * z)) * z
}

/// E_r of §5.4.2.1 for block `r` of `num_cb`, with C' = C (every block is
/// sent): the first C − mod(G/(N_L·Q_m), C) blocks get N_L·Q_m·⌊G/(N_L·Q_m·C)⌋
/// bits, the others N_L·Q_m·⌈G/(N_L·Q_m·C)⌉.
pub fn e_r(g: usize, num_cb: usize, num_layers: usize, qm: usize, r: usize) -> usize {
    let unit = num_layers * qm;
    let symbols = g / unit;
    let small = symbols / num_cb;
    if r < num_cb - symbols % num_cb {
        unit * small
    } else {
        unit * symbols.div_ceil(num_cb)
    }
}

/// Rate matching of one code block: buffer length, start and E fixed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CbRateMatcher {
    /// The code block's dimensions.
    pub shape: CodeBlockShape,
    /// N_cb.
    pub n_cb: usize,
    /// k0 for the rv.
    pub k0: usize,
    /// E (rate-matched length).
    pub e: usize,
    /// Q_m of the bit interleaver (1 = no interleaving).
    pub qm: u8,
    /// Filler positions in d, clipped to N_cb.
    fill_start: usize,
    fill_end: usize,
}

impl CbRateMatcher {
    /// Checks and fixes the parameters of one block.
    pub fn new(
        shape: CodeBlockShape,
        n_cb: usize,
        rv: u8,
        e: usize,
        qm: u8,
    ) -> Result<Self, RateMatchError> {
        if rv > 3 {
            return Err(RateMatchError::Rv(rv));
        }
        if !matches!(qm, 1 | 2 | 4 | 6 | 8 | 10) {
            return Err(RateMatchError::Qm(qm));
        }
        if e == 0 || !e.is_multiple_of(qm as usize) {
            return Err(RateMatchError::E { e, qm });
        }
        let n_cb = n_cb.min(shape.n());
        let f = shape.filler_range_in_d();
        let (fill_start, fill_end) = (f.start.min(n_cb), f.end.min(n_cb));
        if n_cb <= fill_end - fill_start {
            return Err(RateMatchError::EmptyBuffer {
                n_cb,
                filler: fill_end - fill_start,
            });
        }
        Ok(CbRateMatcher {
            shape,
            n_cb,
            k0: k0(shape.bg, rv, n_cb, shape.z),
            e,
            qm,
            fill_start,
            fill_end,
        })
    }

    /// Calls `f(d_start, e_start, len)` for each contiguous run of the bit
    /// selection, in order: e[e_start..e_start+len] = d[d_start..d_start+len].
    #[inline]
    pub fn for_each_run(&self, mut f: impl FnMut(usize, usize, usize)) {
        let (fs, fe, n_cb) = (self.fill_start, self.fill_end, self.n_cb);
        let mut pos = self.k0 % n_cb;
        let mut j = 0;
        while j < self.e {
            if pos >= fs && pos < fe {
                pos = fe;
            }
            if pos >= n_cb {
                pos = 0;
                continue;
            }
            let end = if pos < fs { fs } else { n_cb };
            let len = (end - pos).min(self.e - j);
            f(pos, j, len);
            pos += len;
            j += len;
        }
    }

    /// Bit selection (§5.4.2.1): `codeword` is c_0..c_{68Z−1} (or 52Z, the
    /// first 2Z included), `e_bits` receives e_0..e_{E−1}.
    pub fn select(&self, codeword: &[u8], e_bits: &mut [u8]) -> Result<(), RateMatchError> {
        check_len("codeword", codeword.len(), self.shape.n_ldpc())?;
        check_len("selected bits", e_bits.len(), self.e)?;
        let d = &codeword[2 * self.shape.z..];
        self.for_each_run(|ds, es, len| e_bits[es..es + len].copy_from_slice(&d[ds..ds + len]));
        Ok(())
    }

    /// Bit selection and interleaving (§5.4.2.1-2): `out` receives f_0..f_{E−1};
    /// `scratch` must hold E bytes.
    pub fn rate_match(
        &self,
        codeword: &[u8],
        scratch: &mut [u8],
        out: &mut [u8],
    ) -> Result<(), RateMatchError> {
        check_len("rate-matched output", out.len(), self.e)?;
        check_len("scratch", scratch.len(), self.e)?;
        if self.qm == 1 {
            return self.select(codeword, out);
        }
        self.select(codeword, scratch)?;
        interleave(scratch, self.qm as usize, out)
    }

    /// De-interleaves the E LLRs `llrs` (f order) and adds them with
    /// saturation into `soft` (the CB's soft buffer, length ≥ N_cb, usually
    /// N). `scratch` holds E values. Returns one past the highest position of
    /// d written; combine it with earlier values by `max` (see
    /// [`HarqSoftBuffer`]).
    pub fn derate_match(
        &self,
        llrs: &[i8],
        scratch: &mut [i8],
        soft: &mut [i8],
    ) -> Result<usize, RateMatchError> {
        check_len("LLRs", llrs.len(), self.e)?;
        check_len("scratch", scratch.len(), self.e)?;
        if soft.len() < self.n_cb {
            return Err(RateMatchError::Length {
                what: "soft buffer",
                got: soft.len(),
                expected: self.n_cb,
            });
        }
        let e: &[i8] = if self.qm == 1 {
            llrs
        } else {
            deinterleave(llrs, self.qm as usize, scratch)?;
            scratch
        };
        let mut top = 0;
        self.for_each_run(|ds, es, len| {
            for (s, &l) in soft[ds..ds + len].iter_mut().zip(&e[es..es + len]) {
                *s = s.saturating_add(l);
            }
            top = top.max(ds + len);
        });
        // Fillers lie below the selected bits or are known anyway.
        if top > self.fill_start {
            top = top.max(self.fill_end);
        }
        Ok(top)
    }

    /// Writes the filler LLRs (+127) into a CB soft buffer.
    pub fn mark_fillers(&self, soft: &mut [i8]) {
        let end = self.fill_end.min(soft.len());
        let start = self.fill_start.min(end);
        soft[start..end].fill(FILLER_LLR);
    }

    /// Bits that can be sent before the buffer repeats: N_cb minus fillers.
    pub fn available(&self) -> usize {
        self.n_cb - (self.fill_end - self.fill_start)
    }
}

fn check_len(what: &'static str, got: usize, expected: usize) -> Result<(), RateMatchError> {
    if got == expected {
        Ok(())
    } else {
        Err(RateMatchError::Length {
            what,
            got,
            expected,
        })
    }
}

/// Checks the arguments of [`interleave`] / [`deinterleave`]: Q_m one of
/// 1, 2, 4, 6, 8, 10, both buffers E long and E a multiple of Q_m.
fn check_interleave(qm: usize, input: usize, output: usize) -> Result<(), RateMatchError> {
    let q = u8::try_from(qm).unwrap_or(u8::MAX);
    if !matches!(q, 1 | 2 | 4 | 6 | 8 | 10) {
        return Err(RateMatchError::Qm(q));
    }
    check_len("interleaver output", output, input)?;
    if !input.is_multiple_of(qm) {
        return Err(RateMatchError::E { e: input, qm: q });
    }
    Ok(())
}

/// Bit interleaving §5.4.2.2: f_{i + j·Qm} = e_{i·E/Qm + j}. `e` and `f`
/// are E long, E a multiple of Q_m ∈ {1, 2, 4, 6, 8, 10}; anything else is
/// an error (in every build), and `f` is then left untouched.
pub fn interleave<T: Copy>(e: &[T], qm: usize, f: &mut [T]) -> Result<(), RateMatchError> {
    check_interleave(qm, e.len(), f.len())?;
    let rows = e.len() / qm;
    match qm {
        2 => interleave_n::<T, 2>(e, rows, f),
        4 => interleave_n::<T, 4>(e, rows, f),
        6 => interleave_n::<T, 6>(e, rows, f),
        8 => interleave_n::<T, 8>(e, rows, f),
        10 => interleave_n::<T, 10>(e, rows, f),
        _ => f.copy_from_slice(e),
    }
    Ok(())
}

#[inline]
fn interleave_n<T: Copy, const Q: usize>(e: &[T], rows: usize, f: &mut [T]) {
    for (j, out) in f.chunks_exact_mut(Q).enumerate() {
        for (i, o) in out.iter_mut().enumerate() {
            *o = e[i * rows + j];
        }
    }
}

/// The inverse of [`interleave`]: e_{i·E/Qm + j} = f_{i + j·Qm}, with the
/// same checks.
pub fn deinterleave<T: Copy>(f: &[T], qm: usize, e: &mut [T]) -> Result<(), RateMatchError> {
    check_interleave(qm, f.len(), e.len())?;
    let rows = f.len() / qm;
    match qm {
        2 => deinterleave_n::<T, 2>(f, rows, e),
        4 => deinterleave_n::<T, 4>(f, rows, e),
        6 => deinterleave_n::<T, 6>(f, rows, e),
        8 => deinterleave_n::<T, 8>(f, rows, e),
        10 => deinterleave_n::<T, 10>(f, rows, e),
        _ => e.copy_from_slice(f),
    }
    Ok(())
}

#[inline]
fn deinterleave_n<T: Copy, const Q: usize>(f: &[T], rows: usize, e: &mut [T]) {
    let (cols, _) = e.split_at_mut(rows * Q);
    let outs: [&mut [T]; Q] = {
        let mut rest = cols;
        std::array::from_fn(|_| {
            let (a, b) = std::mem::take(&mut rest).split_at_mut(rows);
            rest = b;
            a
        })
    };
    // One strided pass per row: no index arithmetic or bounds checks inside.
    for (i, out) in outs.into_iter().enumerate() {
        for (o, sym) in out.iter_mut().zip(f.chunks_exact(Q)) {
            *o = sym[i];
        }
    }
}

/// Why a soft buffer could not be prepared.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SoftBufferError {
    /// The TB needs more soft memory than the buffer was given.
    #[error("soft buffer holds {capacity} LLRs, the TB needs {needed}")]
    Capacity {
        /// Needed LLRs (C·N).
        needed: usize,
        /// Available.
        capacity: usize,
    },
    /// No HARQ process with this id.
    #[error("HARQ process {0} does not exist (pool of {1})")]
    Process(usize, usize),
}

/// The soft buffer of one HARQ process: C code blocks of N i8 LLRs each
/// (the decoder's input layout: d positions 0..N, zero = erased), with the
/// written extent and the decoded state of every block.
#[derive(Debug, Clone)]
pub struct HarqSoftBuffer {
    llrs: Vec<i8>,
    n_filled: Vec<usize>,
    cb_done: Vec<bool>,
    stride: usize,
    num_cb: usize,
    layout: Option<(CodeBlockShape, usize, usize)>,
}

impl HarqSoftBuffer {
    /// A buffer of `capacity` LLRs for up to `max_cbs` code blocks, allocated now.
    pub fn new(capacity: usize, max_cbs: usize) -> Self {
        HarqSoftBuffer {
            llrs: vec![0; capacity],
            n_filled: Vec::with_capacity(max_cbs),
            cb_done: Vec::with_capacity(max_cbs),
            stride: 0,
            num_cb: 0,
            layout: None,
        }
    }

    /// Clears the buffer for a new TB of `num_cb` blocks shaped `shape` with
    /// buffer length `n_cb` (a new-data indication). Fillers are set to +127.
    pub fn reset(
        &mut self,
        shape: CodeBlockShape,
        num_cb: usize,
        n_cb: usize,
    ) -> Result<(), SoftBufferError> {
        self.reset_layout(shape, num_cb, n_cb)?;
        let stride = shape.n();
        for cb in self.llrs[..stride * num_cb].chunks_exact_mut(stride) {
            Self::clear_block(shape, cb);
        }
        Ok(())
    }

    /// [`HarqSoftBuffer::reset`] without clearing the blocks' LLRs: the
    /// caller clears each block with [`HarqSoftBuffer::clear_block`] before
    /// its first use (so blocks decoded on different threads clear their
    /// own part, in parallel).
    pub fn reset_layout(
        &mut self,
        shape: CodeBlockShape,
        num_cb: usize,
        n_cb: usize,
    ) -> Result<(), SoftBufferError> {
        let stride = shape.n();
        let needed = stride * num_cb;
        if needed > self.llrs.len() {
            return Err(SoftBufferError::Capacity {
                needed,
                capacity: self.llrs.len(),
            });
        }
        self.stride = stride;
        self.num_cb = num_cb;
        self.n_filled.clear();
        self.n_filled.resize(num_cb, 0);
        self.cb_done.clear();
        self.cb_done.resize(num_cb, false);
        self.layout = Some((shape, num_cb, n_cb));
        Ok(())
    }

    /// Clears one block's LLRs `cb` (N of them) for new data: zeros, and
    /// +127 on the filler positions of `shape`.
    pub fn clear_block(shape: CodeBlockShape, cb: &mut [i8]) {
        cb.fill(0);
        cb[shape.filler_range_in_d()].fill(FILLER_LLR);
    }

    /// The (shape, C, N_cb) it was last reset for.
    pub fn layout(&self) -> Option<(CodeBlockShape, usize, usize)> {
        self.layout
    }

    /// Code blocks in use.
    pub fn num_cb(&self) -> usize {
        self.num_cb
    }

    /// Block `r`'s LLRs (N values) and written extent.
    pub fn cb_mut(&mut self, r: usize) -> (&mut [i8], &mut usize) {
        let s = self.stride;
        (&mut self.llrs[r * s..(r + 1) * s], &mut self.n_filled[r])
    }

    /// Every block's LLRs (C·N values, block r at r·N) and written extents
    /// (C values) at once, for callers that hand blocks to different tasks.
    pub fn cbs_mut(&mut self) -> (&mut [i8], &mut [usize]) {
        let n = self.stride * self.num_cb;
        (&mut self.llrs[..n], &mut self.n_filled[..self.num_cb])
    }

    /// Block `r`'s LLRs and written extent.
    pub fn cb(&self, r: usize) -> (&[i8], usize) {
        let s = self.stride;
        (&self.llrs[r * s..(r + 1) * s], self.n_filled[r])
    }

    /// Whether block `r` already decoded with a good CRC in an earlier
    /// transmission of this TB.
    pub fn cb_done(&self, r: usize) -> bool {
        self.cb_done[r]
    }

    /// Marks block `r` as decoded (or not).
    pub fn set_cb_done(&mut self, r: usize, done: bool) {
        self.cb_done[r] = done;
    }
}

/// One soft buffer per HARQ process, allocated once and reused.
#[derive(Debug, Clone)]
pub struct SoftBufferPool {
    buffers: Vec<HarqSoftBuffer>,
}

impl SoftBufferPool {
    /// `processes` buffers of `capacity` LLRs and up to `max_cbs` blocks each.
    /// Size them for the largest TB: C·N LLRs (e.g. C = ⌈TBS_max/8424⌉, N = 25344).
    pub fn new(processes: usize, capacity: usize, max_cbs: usize) -> Self {
        SoftBufferPool {
            buffers: (0..processes)
                .map(|_| HarqSoftBuffer::new(capacity, max_cbs))
                .collect(),
        }
    }

    /// The buffer of HARQ process `harq_id`.
    pub fn get_mut(&mut self, harq_id: usize) -> Result<&mut HarqSoftBuffer, SoftBufferError> {
        let n = self.buffers.len();
        self.buffers
            .get_mut(harq_id)
            .ok_or(SoftBufferError::Process(harq_id, n))
    }

    /// Number of processes.
    pub fn len(&self) -> usize {
        self.buffers.len()
    }

    /// True when the pool has no process.
    pub fn is_empty(&self) -> bool {
        self.buffers.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn e_r_splits_g_as_the_spec_says() {
        // 42 blocks, G = 474240, 4 layers, 256QAM: six blocks of 11264 then 11296.
        let e: Vec<usize> = (0..42).map(|r| e_r(474240, 42, 4, 8, r)).collect();
        assert_eq!(e.iter().sum::<usize>(), 474240);
        assert_eq!(e[..6], [11264; 6]);
        assert_eq!(e[6..], [11296; 36]);
        assert_eq!(e_r(1200, 3, 1, 2, 0), 400);
    }

    #[test]
    fn k0_table() {
        // BG1 Z = 384: N = 25344; rv 1 starts at 17·384.
        assert_eq!(k0(BaseGraph::Bg1, 1, 25344, 384), 17 * 384);
        assert_eq!(k0(BaseGraph::Bg2, 3, 19200, 384), 43 * 384);
        // LBRM shortens the buffer and moves k0.
        assert_eq!(
            k0(BaseGraph::Bg1, 2, 12000, 384),
            (33 * 12000 / (66 * 384)) * 384
        );
    }

    #[test]
    fn interleaver_refuses_bad_qm_and_lengths_in_every_build() {
        let e: Vec<u8> = (0..24).collect();
        let mut f = vec![0u8; 24];
        interleave(&e, 4, &mut f).unwrap();
        // f_{i + 4j} = e_{6i + j}
        assert_eq!(&f[..8], &[0, 6, 12, 18, 1, 7, 13, 19]);
        let mut back = vec![0u8; 24];
        deinterleave(&f, 4, &mut back).unwrap();
        assert_eq!(back, e);
        for qm in [0usize, 3, 5, 7, 12, 300] {
            assert!(
                matches!(interleave(&e, qm, &mut f), Err(RateMatchError::Qm(_))),
                "qm {qm}"
            );
            assert!(
                matches!(deinterleave(&e, qm, &mut f), Err(RateMatchError::Qm(_))),
                "qm {qm}"
            );
        }
        let mut short = vec![0u8; 23];
        let err = interleave(&e, 2, &mut short).unwrap_err();
        assert!(matches!(err, RateMatchError::Length { .. }), "{err}");
        assert!(deinterleave(&e, 2, &mut short).is_err());
        assert!(deinterleave(&short, 2, &mut f).is_err());
        let mut f22 = vec![0u8; 22];
        assert!(matches!(
            interleave(&e[..22], 4, &mut f22),
            Err(RateMatchError::E { e: 22, qm: 4 })
        ));
        // Q_m = 1 copies.
        interleave(&e, 1, &mut f).unwrap();
        assert_eq!(f, e);
    }
}
