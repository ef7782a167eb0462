//! A buffer whose disjoint parts concurrent pipeline tasks write: the
//! pipeline's way of sharing a block's caller-owned state (a slot's grid,
//! codeword symbols, LLRs) between the tasks of a stage.

use std::cell::UnsafeCell;
use std::ops::Range;

/// A buffer whose disjoint parts concurrent tasks write.
pub(super) struct TaskBuf<T>(Box<[UnsafeCell<T>]>);

// SAFETY: tasks access a `TaskBuf` only through the `unsafe` slice methods,
// whose callers guarantee that concurrent accesses are to disjoint ranges
// (or all reads); the stage countdown orders one stage's writes before the
// next stage's reads.
unsafe impl<T: Send> Sync for TaskBuf<T> {}

impl<T: Copy + Default> TaskBuf<T> {
    pub(super) fn new(len: usize) -> Self {
        TaskBuf((0..len).map(|_| UnsafeCell::new(T::default())).collect())
    }

    /// Elements `r`, to write.
    ///
    /// # Safety
    /// Nobody else may access any element of `r` while the slice lives.
    #[allow(clippy::mut_from_ref)]
    pub(super) unsafe fn slice_mut(&self, r: Range<usize>) -> &mut [T] {
        let cells = &self.0[r];
        // SAFETY: the cells give interior mutability over the range; exclusive by the caller's promise.
        unsafe { std::slice::from_raw_parts_mut(UnsafeCell::raw_get(cells.as_ptr()), cells.len()) }
    }

    /// Elements `r`, to read.
    ///
    /// # Safety
    /// Nobody may write any element of `r` while the slice lives.
    pub(super) unsafe fn slice(&self, r: Range<usize>) -> &[T] {
        let cells = &self.0[r];
        // SAFETY: no writer by the caller's promise.
        unsafe { std::slice::from_raw_parts(UnsafeCell::raw_get(cells.as_ptr()), cells.len()) }
    }

    /// Elements.
    pub(super) fn len(&self) -> usize {
        self.0.len()
    }
}
