//! The uplink slot job: received antenna samples -> PUSCH indications.
//!
//! Stages (each a set of parallel tasks):
//! 1. `ofdm`: CP-OFDM demodulation, one task per (receive antenna, group of
//!    [`OFDM_SYMBOLS_PER_TASK`] symbols), into the slot's resource grid
//!    (each task writes only its symbols of its antenna's port);
//! 2. `pusch-plan`: one task per PUSCH receiver in use: the plan of its
//!    last PUSCH of the slot and the grid checks
//!    ([`ShFrontEnd::chest_begin`]), on the slot's own front end for that
//!    receiver;
//! 3. `chest-ls`: one task per (PUSCH, DM-RS position): least squares on
//!    the DM-RS REs and the timing correlation
//!    ([`ShFrontEnd::chest_position`]);
//! 4. `chest-interp`: one task per (PUSCH, DM-RS position): delay
//!    de-rotation with the delay pooled over positions, CDM despreading and
//!    frequency interpolation ([`ShFrontEnd::chest_interpolate`]);
//! 5. `chest-combine`: one task per PUSCH: noise variance, CFO, time
//!    averaging and SNR ([`ShFrontEnd::chest_combine`]);
//! 6. `detect`: one task per (PUSCH, [`DETECT_SYMBOLS_PER_TASK`] OFDM
//!    symbols): detection and, for every chunk of codeword symbols the task
//!    completes, soft demapping, quantisation and descrambling into the
//!    PUSCH's LLRs ([`ShFrontEnd::detect_symbols`]);
//! 7. `harq`: one task per receiver: earlier PUSCHs of the same receiver in
//!    the slot (two PUSCHs of one RNTI class) received whole, then the HARQ
//!    soft-buffer selection of the split one ([`PuschReceiver::decode_prepare`]);
//! 8. `ldpc`: one task per [`CBS_PER_TASK`] code blocks, on any worker,
//!    each with a pooled [`CbDecoder`]
//!    ([`PuschReceiver::decode_code_block_with`] on the slot's front end):
//!    HARQ combining, rate recovery, LDPC decoding and code-block CRCs;
//! 9. `pusch-finish`: one task per receiver: TB CRC, measurements and the
//!    indication ([`PuschReceiver::finish_result_with`]).
//!
//! Stages 2 to 6 work on front ends held by the slot (one per receiver), so
//! several slots can be in them at once. Stages 7 to 9 use the receivers'
//! HARQ soft buffers and split-decode state: one slot at a time is in them,
//! in the order the slots were started ([`SlotJob::exclusive_stages`]), so
//! a retransmission always meets the soft bits of the transmissions before
//! it. The split steps give what one whole [`PuschReceiver::process_grid`]
//! gives, bit for bit, whatever the number of workers.
//!
//! FFT plans, receivers and every buffer are made at construction; workers
//! borrow a demodulator, front-end scratch or LDPC decoder from small pools
//! (one per worker plus one), so the steady state allocates nothing.
//!
//! A PUSCH always goes to the same receiver, chosen by its RNTI
//! ([`UplinkJob::receiver_of`]): the receiver keeps the HARQ soft buffers, so
//! a retransmission meets the soft bits of its earlier transmissions whatever
//! worker runs it. Given enough soft buffers per receiver (see
//! [`UplinkJob::new`]), nothing is evicted while it waits for a
//! retransmission, and results do not depend on the number of workers.

use super::{borrow, SlotJob, SubmitError};
use crate::grid::ResourceGrid;
use crate::numerology::Numerology;
use crate::ofdm::{OfdmDemodulator, OfdmOptions};
use crate::pdu::PuschPdu;
use crate::pusch::{
    CbDecoder, FrontScratch, PuschError, PuschReceiver, PuschResult, PuschRxConfig, ShFrontEnd,
    ShPlan,
};
use num_complex::Complex32;
use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicBool, AtomicU16, AtomicU32, AtomicUsize, Ordering};
use std::sync::{Mutex, RwLock};

/// A resource grid whose ports are written by different tasks at once.
struct PortGrid {
    grid: UnsafeCell<ResourceGrid>,
    /// Start of the grid's buffer, taken once; the buffer never moves.
    base: *mut Complex32,
}

// SAFETY: stage `ofdm` writes each (port, symbol) from exactly one task,
// through `base` (disjoint memory, no reference to the whole grid); the PUSCH
// stages only read, after every `ofdm` task has finished (the stage countdown
// is an acquire/release barrier).
unsafe impl Sync for PortGrid {}
unsafe impl Send for PortGrid {}

impl PortGrid {
    fn new(mut grid: ResourceGrid) -> Self {
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
    unsafe fn symbol_mut(
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

/// The outcome of one PUSCH of the slot.
#[derive(Debug, Clone)]
pub struct PuschIndication {
    /// The PDU it answers.
    pub pdu: Option<PuschPdu>,
    /// Receiver measurements and CRC, or why it could not be processed.
    pub result: Result<PuschResult, PuschError>,
    /// Decoded transport block (A bits; meaningful when the CRC passed).
    pub tb: Vec<u8>,
}

/// Code blocks per `ldpc` task: large enough that queueing a task costs
/// little beside decoding (tens of microseconds per block), small enough
/// that a large TB spreads over the workers.
pub const CBS_PER_TASK: usize = 2;

/// OFDM symbols per `ofdm` task (per antenna): one FFT is ~1-4 us, so a
/// few symbols per task keep the queueing cost small beside the work while
/// the 14 x antennas symbols still spread over the workers.
pub const OFDM_SYMBOLS_PER_TASK: usize = 7;

/// OFDM symbols per `detect` task: a 14-symbol PUSCH gives 4 tasks, enough
/// to spread one large PUSCH over a few workers while each task still
/// detects thousands of REs.
pub const DETECT_SYMBOLS_PER_TASK: usize = 4;

/// No PUSCH in a split decode.
const NONE: usize = usize::MAX;

/// One receiver's split-decoded PUSCH of the slot.
struct SplitPdu {
    /// Its PDU index, or [`NONE`].
    pdu: AtomicUsize,
    /// Its DM-RS positions (`chest-ls` and `chest-interp` tasks; 0 when none).
    positions: AtomicUsize,
    /// Its `detect` tasks (0 when none).
    blocks: AtomicUsize,
    /// Its code blocks (0 when none).
    cbs: AtomicUsize,
    /// Its plan (set by `pusch-plan`, read by the later stages).
    plan: Mutex<Option<ShPlan>>,
    /// Detection or a code block failed (an error, not a CRC failure).
    failed: AtomicBool,
}

impl SplitPdu {
    /// Its plan, once `pusch-plan` has made it.
    fn plan(&self) -> Option<ShPlan> {
        *self.plan.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Its PDU index and plan, unless there is none or it was abandoned.
    fn active(&self) -> Option<(usize, ShPlan)> {
        match self.pdu.load(Ordering::Relaxed) {
            NONE => None,
            k => Some((k, self.plan()?)),
        }
    }

    /// No PUSCH (yet, or any more, after an error): the later stages have
    /// no tasks for it and skip it.
    fn abandon(&self) {
        self.pdu.store(NONE, Ordering::Relaxed);
        self.blocks.store(0, Ordering::Relaxed);
        self.cbs.store(0, Ordering::Relaxed);
    }
}

/// Per-slot state in the pipeline's pool.
pub struct UplinkSlot {
    /// Slot number within the frame (sets CP lengths and DM-RS).
    pub slot: AtomicU32,
    /// Received samples, one buffer per antenna (`slot_len` used).
    pub rx: RwLock<Vec<Vec<Complex32>>>,
    grid: PortGrid,
    /// Scheduled PUSCHs of the slot (at most `max_pdus`); tasks read them at once.
    pub pdus: RwLock<Vec<PuschPdu>>,
    n_pdus: AtomicUsize,
    /// One indication per PDU, in PDU order.
    pub indications: Vec<Mutex<PuschIndication>>,
    /// Per receiver: its PUSCH whose code blocks the `ldpc` stage decodes.
    split: Vec<SplitPdu>,
    /// Per receiver: the front end of that PUSCH in this slot.
    fronts: Vec<RwLock<ShFrontEnd>>,
}

/// The uplink receive job.
pub struct UplinkJob {
    num: Numerology,
    cfg: PuschRxConfig,
    n_rx: usize,
    demods: Vec<Mutex<OfdmDemodulator>>,
    /// HARQ and decode state: written by `harq` and `pusch-finish`, shared
    /// by `ldpc`.
    receivers: Vec<RwLock<PuschReceiver>>,
    scratch: Vec<Mutex<FrontScratch>>,
    cb_decoders: Vec<Mutex<CbDecoder>>,
    /// Per RNTI: its receiver + 1, or 0 before its first PUSCH.
    rnti_receiver: Box<[AtomicU16]>,
    /// Per receiver: the RNTIs it serves.
    rntis_per_receiver: Mutex<Vec<usize>>,
}

const STAGES: &[&str] = &[
    "ofdm",
    "pusch-plan",
    "chest-ls",
    "chest-interp",
    "chest-combine",
    "detect",
    "harq",
    "ldpc",
    "pusch-finish",
];
const OFDM: usize = 0;
const PLAN: usize = 1;
const CHEST_LS: usize = 2;
const CHEST_INTERP: usize = 3;
const CHEST_COMBINE: usize = 4;
const DETECT: usize = 5;
const HARQ: usize = 6;
const LDPC: usize = 7;
const FINISH: usize = 8;

impl UplinkJob {
    /// A job for carrier `num` with the receiver settings `cfg`, for
    /// `workers` workers. It keeps `workers + 1` PUSCH receivers with
    /// `cfg.harq_buffers` soft buffers each; for HARQ combining that never
    /// loses a waiting block, give each receiver 16 (the HARQ processes of a
    /// UE) for every RNTI that [`UplinkJob::receiver_of`] sends to it.
    pub fn new(
        num: Numerology,
        cfg: PuschRxConfig,
        ofdm: OfdmOptions,
        workers: usize,
    ) -> Result<Self, PuschError> {
        Self::with_receivers(num, cfg, ofdm, workers, workers + 1)
    }

    /// As [`UplinkJob::new`] with `receivers` PUSCH receivers (at least 1).
    /// A receiver splits one PUSCH per slot into the parallel stages; a
    /// second PUSCH of the slot on the same receiver is received whole, on
    /// one worker, before them. So a cell that schedules PUSCHs for up to
    /// N UEs per slot runs best with N receivers (memory: each has its own
    /// front-end buffers and `cfg.harq_buffers` soft buffers).
    pub fn with_receivers(
        num: Numerology,
        cfg: PuschRxConfig,
        ofdm: OfdmOptions,
        workers: usize,
        receivers: usize,
    ) -> Result<Self, PuschError> {
        let n = workers + 1;
        let demods = (0..n)
            .map(|_| OfdmDemodulator::new(num, ofdm).map(Mutex::new))
            .collect::<Result<_, _>>()?;
        // At most u16::MAX: the RNTI map stores receiver + 1 in a u16.
        let receivers: Vec<RwLock<PuschReceiver>> = (0..receivers.clamp(1, u16::MAX as usize))
            .map(|_| {
                let mut rx = PuschReceiver::new(num, cfg)?;
                rx.prepare_all()?;
                Ok::<_, PuschError>(RwLock::new(rx))
            })
            .collect::<Result<_, _>>()?;
        let scratch = {
            let rx = receivers[0].read().unwrap_or_else(|e| e.into_inner());
            (0..n).map(|_| Mutex::new(rx.new_scratch())).collect()
        };
        // Every lifting size built now: a pooled decoder may be borrowed for
        // the first time long after warm-up (when workers contend).
        let max_e = 14 * num.n_sc() * cfg.max_layers * 10;
        let cb_decoders = (0..n)
            .map(|_| {
                let mut d = CbDecoder::new(&cfg);
                d.prepare_all(max_e).map(|()| Mutex::new(d))
            })
            .collect::<Result<_, _>>()?;
        let rntis_per_receiver = Mutex::new(vec![0; receivers.len()]);
        Ok(UplinkJob {
            num,
            cfg,
            n_rx: cfg.n_rx,
            demods,
            receivers,
            scratch,
            cb_decoders,
            rnti_receiver: (0..=u16::MAX).map(|_| AtomicU16::new(0)).collect(),
            rntis_per_receiver,
        })
    }

    /// A pooled slot state able to hold `max_pdus` PUSCHs, with a PUSCH
    /// front end per receiver.
    pub fn new_slot(&self, max_pdus: usize) -> UplinkSlot {
        let max_len = (0..self.num.slots_per_frame())
            .map(|s| self.num.slot_len(s))
            .max()
            .unwrap_or(0);
        let max_tbs = 14 * self.num.n_sc() * 8 * 8; // bits: 14 symbols x all REs x 8 layers x Qm 8 bounds any TBS
        UplinkSlot {
            slot: AtomicU32::new(0),
            rx: RwLock::new(
                (0..self.n_rx)
                    .map(|_| vec![Complex32::default(); max_len])
                    .collect(),
            ),
            grid: PortGrid::new(ResourceGrid::new(
                self.n_rx,
                self.num.symbols_per_slot(),
                self.num.n_sc(),
            )),
            pdus: RwLock::new(Vec::with_capacity(max_pdus)),
            n_pdus: AtomicUsize::new(0),
            indications: (0..max_pdus)
                .map(|_| {
                    Mutex::new(PuschIndication {
                        pdu: None,
                        result: Err(PuschError::NotProcessed),
                        tb: Vec::with_capacity(max_tbs),
                    })
                })
                .collect(),
            split: (0..self.receivers.len())
                .map(|_| SplitPdu {
                    pdu: AtomicUsize::new(NONE),
                    positions: AtomicUsize::new(0),
                    blocks: AtomicUsize::new(0),
                    cbs: AtomicUsize::new(0),
                    plan: Mutex::new(None),
                    failed: AtomicBool::new(false),
                })
                .collect(),
            fronts: (0..self.receivers.len())
                .map(|_| {
                    // The receivers were built from the same settings, so this cannot fail.
                    RwLock::new(ShFrontEnd::new(self.num, self.cfg).expect("front end"))
                })
                .collect(),
        }
    }

    /// The carrier.
    pub fn numerology(&self) -> &Numerology {
        &self.num
    }

    /// Receive antennas.
    pub fn n_rx(&self) -> usize {
        self.n_rx
    }

    /// PUSCH receivers.
    pub fn receivers(&self) -> usize {
        self.receivers.len()
    }

    /// `ofdm` tasks per antenna: groups of [`OFDM_SYMBOLS_PER_TASK`] symbols.
    fn ofdm_groups(&self) -> usize {
        self.num.symbols_per_slot().div_ceil(OFDM_SYMBOLS_PER_TASK)
    }

    /// The receiver (0..[`UplinkJob::receivers`]) that handles every PUSCH
    /// of `rnti`. An RNTI is given a receiver at its first PUSCH (normally
    /// in [`UplinkSlot::set_pdus`], in PDU order): the one serving the
    /// fewest RNTIs, lowest index first. It keeps it from then on, so any
    /// RNTI set spreads evenly over the receivers and their HARQ buffers.
    pub fn receiver_of(&self, rnti: u16) -> usize {
        let entry = &self.rnti_receiver[rnti as usize];
        let seen = entry.load(Ordering::Acquire);
        if seen != 0 {
            return seen as usize - 1;
        }
        // First sight (rare): one assignment at a time, so concurrent new
        // RNTIs see each other's counts.
        let mut per_receiver = self
            .rntis_per_receiver
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let seen = entry.load(Ordering::Acquire);
        if seen != 0 {
            return seen as usize - 1;
        }
        let r = (0..per_receiver.len())
            .min_by_key(|&r| per_receiver[r])
            .expect("at least one receiver");
        per_receiver[r] += 1;
        entry.store(r as u16 + 1, Ordering::Release);
        r
    }
}

impl UplinkSlot {
    /// Sets the slot's PDUs before it starts, and gives each new RNTI its
    /// receiver of `job` ([`UplinkJob::receiver_of`]); more than the pool
    /// holds is an error.
    pub fn set_pdus(
        &self,
        job: &UplinkJob,
        slot: u32,
        pdus: &[PuschPdu],
    ) -> Result<(), SubmitError> {
        if pdus.len() > self.indications.len() {
            return Err(SubmitError::TooManyPdus {
                pdus: pdus.len(),
                max: self.indications.len(),
            });
        }
        for pdu in pdus {
            job.receiver_of(pdu.rnti);
        }
        self.slot.store(slot, Ordering::Relaxed);
        let mut p = self.pdus.write().unwrap_or_else(|e| e.into_inner());
        p.clear();
        p.extend_from_slice(pdus);
        // Every indication answers its PDU, "not processed" until a stage says more.
        for (ind, pdu) in self.indications.iter().zip(pdus) {
            let mut ind = ind.lock().unwrap_or_else(|e| e.into_inner());
            ind.pdu = Some(*pdu);
            ind.result = Err(PuschError::NotProcessed);
            ind.tb.clear();
        }
        self.n_pdus.store(pdus.len(), Ordering::Release);
        Ok(())
    }

    /// PUSCHs of the slot.
    pub fn n_pdus(&self) -> usize {
        self.n_pdus.load(Ordering::Acquire)
    }
}

impl UplinkJob {
    /// Stage `pusch-plan` for receiver `r`: its last PUSCH of the slot
    /// planned and checked for the split stages on the slot's front end
    /// (earlier ones are received whole in `harq`).
    fn plan(&self, s: &UplinkSlot, r: usize) {
        let split = &s.split[r];
        split.abandon();
        split.positions.store(0, Ordering::Relaxed);
        split.failed.store(false, Ordering::Relaxed);
        let pdus = s.pdus.read().unwrap_or_else(|e| e.into_inner());
        let Some(last) = (0..pdus.len())
            .rev()
            .find(|&k| self.receiver_of(pdus[k].rnti) == r)
        else {
            return;
        };
        // SAFETY: stage `ofdm` has completed; the grid is only read now.
        let grid = unsafe { &*s.grid.grid.get() };
        let pdu = &pdus[last];
        let mut front = s.fronts[r].write().unwrap_or_else(|e| e.into_inner());
        let prepared = ShPlan::pusch(pdu, self.num.n_prb(), self.n_rx as u16).and_then(|plan| {
            let n_pos = front.chest_begin(&plan, grid)?;
            Ok((plan, n_pos))
        });
        match prepared {
            Ok((plan, n_pos)) => {
                *split.plan.lock().unwrap_or_else(|e| e.into_inner()) = Some(plan);
                let symbols = plan.layout.n_symbols;
                split.positions.store(n_pos, Ordering::Relaxed);
                split
                    .blocks
                    .store(symbols.div_ceil(DETECT_SYMBOLS_PER_TASK), Ordering::Relaxed);
                split.cbs.store(plan.tb.num_cb(), Ordering::Relaxed);
                split.pdu.store(last, Ordering::Relaxed);
            }
            Err(e) => Self::fail(s, last, pdu, e),
        }
    }

    /// Stage `harq` for receiver `r`, in slot order: its earlier PUSCHs of
    /// the slot received whole, then the soft buffer of the split one.
    fn harq(&self, s: &UplinkSlot, r: usize) {
        let split = &s.split[r];
        let pdus = s.pdus.read().unwrap_or_else(|e| e.into_inner());
        let mine = |k: &usize| self.receiver_of(pdus[*k].rnti) == r;
        let Some(last) = (0..pdus.len()).rev().find(mine) else {
            return;
        };
        // SAFETY: stage `ofdm` has completed; the grid is only read now.
        let grid = unsafe { &*s.grid.grid.get() };
        let mut rx = self.receivers[r].write().unwrap_or_else(|e| e.into_inner());
        for k in (0..last).filter(mine) {
            let pdu = &pdus[k];
            let mut ind = s.indications[k].lock().unwrap_or_else(|e| e.into_inner());
            ind.tb.clear();
            match rx.process_grid(pdu, Some(grid)) {
                Ok(res) => {
                    if let Ok(plan) = rx.plan(pdu) {
                        ind.tb.extend_from_slice(rx.transport_block(&plan));
                    }
                    ind.result = Ok(res);
                }
                Err(e) => ind.result = Err(e),
            }
            ind.pdu = Some(*pdu);
        }
        let Some((k, plan)) = split.active() else {
            return;
        };
        if k != last {
            return;
        }
        if let Err(e) = rx.decode_prepare(&plan) {
            split.abandon();
            Self::fail(s, last, &pdus[last], e);
        }
    }

    /// Records that PDU `k` could not be processed.
    fn fail(s: &UplinkSlot, k: usize, pdu: &PuschPdu, e: PuschError) {
        let mut ind = s.indications[k].lock().unwrap_or_else(|e| e.into_inner());
        ind.tb.clear();
        ind.result = Err(e);
        ind.pdu = Some(*pdu);
    }

    /// The receiver and its plan for task `task` of a stage with
    /// `count(split)` tasks per receiver, and the task's index among them.
    fn locate(
        &self,
        s: &UplinkSlot,
        mut task: usize,
        count: impl Fn(&SplitPdu) -> usize,
    ) -> Option<(usize, ShPlan, usize)> {
        for (r, split) in s.split.iter().enumerate() {
            let n = count(split);
            if task >= n {
                task -= n;
                continue;
            }
            return Some((r, split.plan()?, task));
        }
        None
    }

    /// Stages `chest-ls` and `chest-interp`: one DM-RS position of one PUSCH.
    fn chest(&self, s: &UplinkSlot, task: usize, interpolate: bool) {
        let Some((r, plan, pos)) = self.locate(s, task, |p| p.positions.load(Ordering::Relaxed))
        else {
            return;
        };
        let front = s.fronts[r].read().unwrap_or_else(|e| e.into_inner());
        if interpolate {
            front.chest_interpolate(&plan, pos);
        } else {
            // SAFETY: stage `ofdm` has completed; the grid is only read now.
            let grid = unsafe { &*s.grid.grid.get() };
            front.chest_position(&plan, grid, pos);
        }
    }

    /// Stage `chest-combine` for receiver `r`.
    fn combine(&self, s: &UplinkSlot, r: usize) {
        let split = &s.split[r];
        let Some((k, plan)) = split.active() else {
            return;
        };
        let mut front = s.fronts[r].write().unwrap_or_else(|e| e.into_inner());
        if let Err(e) = front.chest_combine(&plan) {
            split.abandon();
            let pdus = s.pdus.read().unwrap_or_else(|e| e.into_inner());
            Self::fail(s, k, &pdus[k], e);
        }
    }

    /// Stage `detect`: [`DETECT_SYMBOLS_PER_TASK`] symbols of one PUSCH.
    fn detect(&self, s: &UplinkSlot, task: usize) {
        let Some((r, plan, block)) = self.locate(s, task, |p| p.blocks.load(Ordering::Relaxed))
        else {
            return;
        };
        // SAFETY: stage `ofdm` has completed; the grid is only read now.
        let grid = unsafe { &*s.grid.grid.get() };
        let front = s.fronts[r].read().unwrap_or_else(|e| e.into_inner());
        let mut scratch = borrow(&self.scratch);
        let first = plan.layout.start_symbol + block * DETECT_SYMBOLS_PER_TASK;
        let symbols = first..first + DETECT_SYMBOLS_PER_TASK;
        if front
            .detect_symbols(&plan, grid, symbols, &mut scratch)
            .is_err()
        {
            s.split[r].failed.store(true, Ordering::Relaxed);
        }
    }

    /// Stage `ldpc`, task `task`: finds its receiver and code blocks.
    fn ldpc(&self, s: &UplinkSlot, task: usize) {
        let groups = |p: &SplitPdu| p.cbs.load(Ordering::Relaxed).div_ceil(CBS_PER_TASK);
        let Some((r, plan, group)) = self.locate(s, task, groups) else {
            return;
        };
        let rx = self.receivers[r].read().unwrap_or_else(|e| e.into_inner());
        let front = s.fronts[r].read().unwrap_or_else(|e| e.into_inner());
        let mut dec = borrow(&self.cb_decoders);
        let first = group * CBS_PER_TASK;
        let end = (first + CBS_PER_TASK).min(plan.tb.num_cb());
        for b in first..end {
            if rx
                .decode_code_block_with(&front, &plan, b, &mut dec)
                .is_err()
            {
                s.split[r].failed.store(true, Ordering::Relaxed);
            }
        }
    }

    /// Stage `pusch-finish` for receiver `r`: TB CRC, measurements, indication.
    fn finish(&self, s: &UplinkSlot, r: usize) {
        let split = &s.split[r];
        let Some((k, plan)) = split.active() else {
            return;
        };
        let pdus = s.pdus.read().unwrap_or_else(|e| e.into_inner());
        let mut rx = self.receivers[r].write().unwrap_or_else(|e| e.into_inner());
        let front = s.fronts[r].read().unwrap_or_else(|e| e.into_inner());
        let mut ind = s.indications[k].lock().unwrap_or_else(|e| e.into_inner());
        ind.tb.clear();
        match rx.finish_result_with(&front, &plan) {
            Ok(_) if split.failed.load(Ordering::Relaxed) => {
                ind.result = Err(PuschError::PartFailed);
            }
            Ok(res) => {
                ind.tb.extend_from_slice(rx.transport_block(&plan));
                ind.result = Ok(res);
            }
            Err(e) => ind.result = Err(e),
        }
        ind.pdu = Some(pdus[k]);
    }
}

impl SlotJob for UplinkJob {
    type Slot = UplinkSlot;

    fn stages(&self) -> &'static [&'static str] {
        STAGES
    }

    fn task_count(&self, slot: &UplinkSlot, stage: usize) -> usize {
        if slot.n_pdus() == 0 {
            return 0;
        }
        match stage {
            OFDM => self.n_rx * self.ofdm_groups(),
            PLAN | CHEST_COMBINE | HARQ | FINISH => self.receivers.len(),
            CHEST_LS | CHEST_INTERP => slot
                .split
                .iter()
                .map(|p| p.positions.load(Ordering::Acquire))
                .sum(),
            DETECT => slot
                .split
                .iter()
                .map(|p| p.blocks.load(Ordering::Acquire))
                .sum(),
            LDPC => slot
                .split
                .iter()
                .map(|p| p.cbs.load(Ordering::Acquire).div_ceil(CBS_PER_TASK))
                .sum(),
            _ => 0,
        }
    }

    fn exclusive_stages(&self) -> Option<(usize, usize)> {
        Some((HARQ, FINISH))
    }

    fn run_task(&self, s: &UplinkSlot, stage: usize, task: usize) {
        let slot = s.slot.load(Ordering::Relaxed);
        match stage {
            OFDM => {
                let rx = s.rx.read().unwrap_or_else(|e| e.into_inner());
                let mut demod = borrow(&self.demods);
                let groups = self.ofdm_groups();
                let (antenna, group) = (task / groups, task % groups);
                let samples = &rx[antenna];
                let symbols = self.num.symbols_per_slot();
                let first = group * OFDM_SYMBOLS_PER_TASK;
                for l in first..(first + OFDM_SYMBOLS_PER_TASK).min(symbols) {
                    let off = self.num.symbol_offset(slot, l);
                    let len = self.num.symbol_len(slot, l);
                    // SAFETY: task (antenna, group) is the only writer of these
                    // symbols of port `antenna` (see PortGrid).
                    let out = unsafe { s.grid.symbol_mut(antenna, l, symbols, self.num.n_sc()) };
                    if demod
                        .demodulate_symbol(slot, l, &samples[off..off + len], out)
                        .is_err()
                    {
                        out.fill(Complex32::default());
                    }
                }
            }
            PLAN => self.plan(s, task),
            CHEST_LS => self.chest(s, task, false),
            CHEST_INTERP => self.chest(s, task, true),
            CHEST_COMBINE => self.combine(s, task),
            DETECT => self.detect(s, task),
            HARQ => self.harq(s, task),
            LDPC => self.ldpc(s, task),
            FINISH => self.finish(s, task),
            _ => {}
        }
    }
}
