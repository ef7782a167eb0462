//! The uplink job's per-slot shared state: the resource grid the `ofdm`
//! tasks write port by port, and each receiver's split PUSCH (plan, channel
//! estimate, per-position chest work, codeword symbols, LLRs and the decode
//! target) that its parallel tasks share. The raw sharing lives here, in the
//! pipeline, never in a block.

use super::task_buf::TaskBuf;
use crate::chest::{ChannelEstimate, ChestPosition};
use crate::grid::ResourceGrid;
use crate::sch::{ShPlan, SplitDecode};
use num_complex::{Complex32, Complex64};
use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, RwLock};

/// A resource grid whose ports are written by different tasks at once.
pub(super) struct PortGrid {
    pub(super) grid: UnsafeCell<ResourceGrid>,
    /// Start of the grid's buffer, taken once; the buffer never moves.
    pub(super) base: *mut Complex32,
}

// SAFETY: stage `ofdm` writes each (port, symbol) from exactly one task,
// through `base` (disjoint memory, no reference to the whole grid); the PUSCH
// stages only read, after every `ofdm` task has finished (the stage countdown
// is an acquire/release barrier).
unsafe impl Sync for PortGrid {}
unsafe impl Send for PortGrid {}

impl PortGrid {
    pub(super) fn new(mut grid: ResourceGrid) -> Self {
        let base = grid.as_mut_slice().as_mut_ptr();
        PortGrid {
            grid: UnsafeCell::new(grid),
            base,
        }
    }

    /// Symbol `l` of port `p` (port-major layout of [`ResourceGrid`]).
    ///
    /// # Safety
    /// No other task may access symbol `l` of port `p` while the slice lives,
    /// and nobody may hold a reference to the whole grid.
    #[allow(clippy::mut_from_ref)]
    pub(super) unsafe fn symbol_mut(
        &self,
        p: usize,
        l: usize,
        symbols: usize,
        n_sc: usize,
    ) -> &mut [Complex32] {
        // SAFETY: in bounds by construction (p < ports, l < symbols); exclusive by the caller's promise.
        unsafe { std::slice::from_raw_parts_mut(self.base.add((p * symbols + l) * n_sc), n_sc) }
    }
}

/// No PUSCH in a split decode.
pub(super) const NONE: usize = usize::MAX;

/// Where the code blocks of a split decode write: the soft buffer
/// (C·N values, C extents) of the receiver's HARQ pool and the TB bits of
/// the receiver, taken by `harq` under the pool's lock and the receiver's
/// write lock.
#[derive(Clone, Copy)]
pub(super) struct DecodeTarget {
    pub(super) soft: *mut i8,
    pub(super) filled: *mut usize,
    pub(super) bits: *mut u8,
}

// SAFETY: the pointers are into buffers of a receiver and its pool that
// nothing else touches between the `harq` and `pusch-finish` stages of the
// slot (the exclusive stages run one slot at a time, and the earlier stages
// use neither); each `ldpc` task writes only its code blocks' parts.
unsafe impl Send for DecodeTarget {}
// SAFETY: as above.
unsafe impl Sync for DecodeTarget {}

/// One receiver's split-decoded PUSCH of the slot, with the state its
/// front-end and decode tasks share.
pub(super) struct SplitPdu {
    /// Its PDU index, or [`NONE`].
    pub(super) pdu: AtomicUsize,
    /// Its DM-RS positions (`chest-ls` and `chest-interp` tasks; 0 when none).
    pub(super) positions: AtomicUsize,
    /// Its `detect` tasks (0 when none).
    pub(super) blocks: AtomicUsize,
    /// Its code blocks (0 when none).
    pub(super) cbs: AtomicUsize,
    /// Its plan (set by `pusch-plan`, read by the later stages).
    pub(super) plan: Mutex<Option<ShPlan>>,
    /// Detection or a code block failed (an error, not a CRC failure).
    pub(super) failed: AtomicBool,
    /// The channel estimate (written by `chest-combine`, read by `detect`
    /// and `pusch-finish`).
    pub(super) est: RwLock<ChannelEstimate>,
    /// The work of each DM-RS position (one `chest-ls` and one
    /// `chest-interp` task each).
    pub(super) chest: [Mutex<ChestPosition>; 4],
    /// The positions' timing correlations (written by `chest-ls`).
    pub(super) corr: Mutex<[Complex64; 4]>,
    /// Codeword symbols, their noise variances (each `detect` task writes
    /// its symbols' range) and the G LLRs (each chunk written by the task
    /// that completes it).
    pub(super) d: TaskBuf<Complex32>,
    pub(super) dnv: TaskBuf<f32>,
    pub(super) llr: TaskBuf<i8>,
    /// Per chunk of [`DEMAP_CHUNK`] codeword symbols: OFDM symbols of it
    /// still to detect; the task that detects the last one demaps it.
    pub(super) chunks: Box<[AtomicU8]>,
    /// Any chunk carried a non-zero LLR.
    pub(super) heard: AtomicBool,
    /// Codeword symbols the chunks erased.
    pub(super) erased: AtomicU32,
    /// The split decode `harq` prepared and where its blocks write.
    pub(super) job: Mutex<Option<(SplitDecode, DecodeTarget)>>,
    /// LDPC iterations summed over the code blocks.
    pub(super) iterations: AtomicU32,
}

/// A lock whose holder may have panicked: the data is rewritten before it
/// is read, so a poisoned lock is taken as it is.
pub(super) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl SplitPdu {
    /// Its plan, once `pusch-plan` has made it.
    pub(super) fn plan(&self) -> Option<ShPlan> {
        *lock(&self.plan)
    }

    /// Its PDU index and plan, unless there is none or it was abandoned.
    pub(super) fn active(&self) -> Option<(usize, ShPlan)> {
        match self.pdu.load(Ordering::Relaxed) {
            NONE => None,
            k => Some((k, self.plan()?)),
        }
    }

    /// No PUSCH (yet, or any more, after an error): the later stages have
    /// no tasks for it and skip it.
    pub(super) fn abandon(&self) {
        self.pdu.store(NONE, Ordering::Relaxed);
        self.blocks.store(0, Ordering::Relaxed);
        self.cbs.store(0, Ordering::Relaxed);
    }
}
