//! The uplink slot job: received antenna samples -> PUSCH indications.
//!
//! Stages (each a set of parallel tasks):
//! 1. `ofdm`: CP-OFDM demodulation, one task per (receive antenna, group of
//!    [`OFDM_SYMBOLS_PER_TASK`] symbols), into the slot's resource grid
//!    (each task writes only its symbols of its antenna's port);
//! 2. `pusch-plan`: one task per PUSCH receiver in use: the plan of its
//!    last PUSCH of the slot and the grid checks
//!    ([`ShFrontEnd::chest_begin`]), on the slot's own front-end state for
//!    that receiver;
//! 3. `chest-ls`: one task per (PUSCH, DM-RS position): least squares on
//!    the DM-RS REs and the timing correlation
//!    ([`ShFrontEnd::chest_position`]);
//! 4. `chest-interp`: one task per (PUSCH, DM-RS position): delay
//!    de-rotation with the delay pooled over positions, CDM despreading and
//!    frequency interpolation ([`ShFrontEnd::chest_interpolate`]);
//! 5. `chest-combine`: one task per PUSCH: noise variance, CFO, time
//!    averaging and SNR ([`ShFrontEnd::chest_combine`]);
//! 6. `detect`: one task per (PUSCH, [`DETECT_SYMBOLS_PER_TASK`] OFDM
//!    symbols): detection ([`ShFrontEnd::detect_symbols`]) and, for every
//!    chunk of codeword symbols the task completes, soft demapping,
//!    quantisation and descrambling into the PUSCH's LLRs
//!    ([`ShFrontEnd::demap_chunk`]);
//! 7. `harq`: one task per receiver: earlier PUSCHs of the same receiver in
//!    the slot (two PUSCHs of one RNTI class) received whole, then the HARQ
//!    soft-buffer selection of the split one ([`PuschReceiver::decode_prepare`]);
//! 8. `ldpc`: one task per [`CBS_PER_TASK`] code blocks, on any worker,
//!    each with a pooled [`CbDecoder`] ([`SplitDecode::decode_block`] on the
//!    slot's LLRs and the blocks' parts of the receiver's soft buffer):
//!    HARQ combining, rate recovery, LDPC decoding and code-block CRCs;
//! 9. `pusch-finish`: one task per receiver: TB CRC
//!    ([`PuschReceiver::decode_finish`]), measurements
//!    ([`ShFrontEnd::split_result`]) and the indication.
//!
//! The blocks are plain `&self` functions over the state they are handed;
//! what several tasks share lives here: per slot and receiver, the channel
//! estimate, the DM-RS positions' work, the codeword symbols and LLRs
//! (disjoint parts written by different tasks) and the countdowns that say
//! when a chunk of codeword symbols is complete. Stages 2 to 6 work on that
//! state and on one front end shared by every task, so several slots can
//! be in them at once. Stages 7 to 9 use the receivers and their HARQ
//! soft-buffer pools: one slot at a time is in them,
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
//! ([`UplinkJob::receiver_of`]), which decodes it with that receiver's HARQ
//! pool ([`HarqBuffers`], held here and handed to the receiver's `_with`
//! calls; the receivers own no soft buffers), so a retransmission meets the
//! soft bits of its earlier transmissions whatever worker runs it. Given
//! enough soft buffers per pool (see
//! [`UplinkJob::new`]), nothing is evicted while it waits for a
//! retransmission, and results do not depend on the number of workers.

use super::task_buf::TaskBuf;
use super::uplink_state::{lock, DecodeTarget, PortGrid, SplitPdu, NONE};
use super::{borrow, SlotJob, SubmitError};
use crate::grid::ResourceGrid;
use crate::numerology::Numerology;
use crate::ofdm::{OfdmDemodulator, OfdmOptions};
use crate::pdu::PuschPdu;
use crate::pusch::{Pusch, PuschError, PuschReceiver, PuschResult, PuschRxConfig};
use crate::sch::{
    CbDecoder, FrontScratch, HarqBuffers, ShFrontEnd, ShPlan, SharedChannel, DEMAP_CHUNK,
};
use num_complex::{Complex32, Complex64};
use std::sync::atomic::{AtomicBool, AtomicU16, AtomicU32, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Mutex, RwLock};

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
    /// Per receiver: its split PUSCH and that PUSCH's front-end and decode state.
    split: Vec<SplitPdu>,
}

/// The uplink receive job.
pub struct UplinkJob {
    num: Numerology,
    n_rx: usize,
    demods: Vec<Mutex<OfdmDemodulator>>,
    /// The front end every split PUSCH runs on (`&self` steps; the state
    /// is the slot's).
    front: ShFrontEnd,
    /// Decoders and TB buffers (no soft buffers of their own): used by
    /// `harq` and `pusch-finish`; `ldpc` writes the TB bits of its blocks.
    receivers: Vec<RwLock<PuschReceiver>>,
    /// One HARQ soft-buffer pool per receiver, keyed by (RNTI, HARQ id):
    /// taken by `harq` and `pusch-finish`; `ldpc` writes its blocks' parts.
    harq: Vec<Mutex<HarqBuffers>>,
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
    /// `workers` workers. It keeps `workers + 1` PUSCH receivers, each with
    /// a pool of `cfg.harq_buffers` soft buffers; for HARQ combining that
    /// never loses a waiting block, give each pool 16 (the HARQ processes
    /// of a UE) for every RNTI that [`UplinkJob::receiver_of`] sends to it.
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
    /// front-end buffers and a pool of `cfg.harq_buffers` soft buffers).
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
                let mut rx = PuschReceiver::without_harq(num, cfg)?;
                rx.prepare_all()?;
                Ok::<_, PuschError>(RwLock::new(rx))
            })
            .collect::<Result<_, _>>()?;
        let harq = (0..receivers.len())
            .map(|_| {
                Mutex::new(HarqBuffers::for_carrier(
                    &num,
                    cfg.max_layers,
                    cfg.harq_buffers,
                ))
            })
            .collect();
        let front = ShFrontEnd::new(num, cfg)?;
        let scratch = (0..n).map(|_| Mutex::new(front.new_scratch())).collect();
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
            n_rx: cfg.n_rx,
            demods,
            front,
            receivers,
            harq,
            scratch,
            cb_decoders,
            rnti_receiver: (0..=u16::MAX).map(|_| AtomicU16::new(0)).collect(),
            rntis_per_receiver,
        })
    }

    /// A pooled slot state able to hold `max_pdus` PUSCHs, with the
    /// front-end state of one PUSCH per receiver.
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
                .map(|_| {
                    let max_sym = self.front.max_codeword();
                    SplitPdu {
                        pdu: AtomicUsize::new(NONE),
                        positions: AtomicUsize::new(0),
                        blocks: AtomicUsize::new(0),
                        cbs: AtomicUsize::new(0),
                        plan: Mutex::new(None),
                        failed: AtomicBool::new(false),
                        est: RwLock::new(self.front.new_estimate()),
                        chest: std::array::from_fn(|_| Mutex::new(self.front.new_position())),
                        corr: Mutex::new([Complex64::new(0.0, 0.0); 4]),
                        d: TaskBuf::new(max_sym),
                        dnv: TaskBuf::new(max_sym),
                        llr: TaskBuf::new(max_sym * 10),
                        chunks: (0..max_sym.div_ceil(DEMAP_CHUNK) + 1)
                            .map(|_| AtomicU8::new(0))
                            .collect(),
                        heard: AtomicBool::new(false),
                        erased: AtomicU32::new(0),
                        job: Mutex::new(None),
                        iterations: AtomicU32::new(0),
                    }
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
    /// planned and checked for the split stages on the slot's front-end
    /// state (earlier ones are received whole in `harq`).
    fn plan(&self, s: &UplinkSlot, r: usize) {
        let split = &s.split[r];
        split.abandon();
        split.positions.store(0, Ordering::Relaxed);
        split.failed.store(false, Ordering::Relaxed);
        split.heard.store(false, Ordering::Relaxed);
        split.erased.store(0, Ordering::Relaxed);
        split.iterations.store(0, Ordering::Relaxed);
        *lock(&split.job) = None;
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
        let prepared = Pusch::plan(pdu, self.num.n_prb(), self.n_rx as u16).and_then(|plan| {
            let est = split.est.read().unwrap_or_else(|e| e.into_inner());
            let n_pos = self.front.chest_begin(&plan, grid, &est)?;
            if plan.demap_chunks() > split.chunks.len() || plan.g > split.llr.len() {
                return Err(PuschError::Size(format!(
                    "{} codeword symbols exceed the slot's buffers",
                    plan.codeword_symbols()
                )));
            }
            Ok((plan, n_pos))
        });
        match prepared {
            Ok((plan, n_pos)) => {
                *lock(&split.plan) = Some(plan);
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
        let mut pool = lock(&self.harq[r]);
        for k in (0..last).filter(mine) {
            let pdu = &pdus[k];
            let mut ind = lock(&s.indications[k]);
            ind.tb.clear();
            match rx.process_grid_with(pdu, Some(grid), &mut pool) {
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
        match rx.decode_prepare_with(&plan, &mut pool) {
            Ok(job) => {
                let b = rx.split_buffers_with(&job, &mut pool);
                let target = DecodeTarget {
                    soft: b.soft.as_mut_ptr(),
                    filled: b.filled.as_mut_ptr(),
                    bits: b.bits.as_mut_ptr(),
                };
                *lock(&split.job) = Some((job, target));
            }
            Err(e) => {
                split.abandon();
                Self::fail(s, last, &pdus[last], e);
            }
        }
    }

    /// Records that PDU `k` could not be processed.
    fn fail(s: &UplinkSlot, k: usize, pdu: &PuschPdu, e: PuschError) {
        let mut ind = lock(&s.indications[k]);
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
        let split = &s.split[r];
        if interpolate {
            // Every position's correlation is in (stage `chest-ls` has completed).
            let n_pos = split.positions.load(Ordering::Relaxed);
            let corrs = *lock(&split.corr);
            let mut w = lock(&split.chest[pos]);
            self.front.chest_interpolate(&plan, &corrs[..n_pos], &mut w);
        } else {
            // SAFETY: stage `ofdm` has completed; the grid is only read now.
            let grid = unsafe { &*s.grid.grid.get() };
            let mut w = lock(&split.chest[pos]);
            self.front.chest_position(&plan, grid, pos, &mut w);
            lock(&split.corr)[pos] = w.correlation();
        }
    }

    /// Stage `chest-combine` for receiver `r`: the estimate, then the
    /// countdowns of the demapping chunks.
    fn combine(&self, s: &UplinkSlot, r: usize) {
        let split = &s.split[r];
        let Some((_, plan)) = split.active() else {
            return;
        };
        {
            let mut guards = split.chest.each_ref().map(lock);
            let mut work = guards.each_mut().map(|g| &mut **g);
            let mut est = split.est.write().unwrap_or_else(|e| e.into_inner());
            self.front.chest_combine(&plan, &mut work, &mut est);
        }
        // Each chunk counts the OFDM symbols with codeword symbols in it.
        let lay = &plan.layout;
        for c in &split.chunks[..plan.demap_chunks()] {
            c.store(0, Ordering::Relaxed);
        }
        for l in lay.start_symbol..lay.start_symbol + lay.n_symbols {
            let cw = plan.codeword_range(l..l + 1);
            if cw.is_empty() {
                continue;
            }
            for c in &split.chunks[cw.start / DEMAP_CHUNK..=(cw.end - 1) / DEMAP_CHUNK] {
                c.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Stage `detect`: [`DETECT_SYMBOLS_PER_TASK`] symbols of one PUSCH,
    /// then every chunk of codeword symbols they complete demapped.
    fn detect(&self, s: &UplinkSlot, task: usize) {
        let Some((r, plan, block)) = self.locate(s, task, |p| p.blocks.load(Ordering::Relaxed))
        else {
            return;
        };
        let split = &s.split[r];
        // SAFETY: stage `ofdm` has completed; the grid is only read now.
        let grid = unsafe { &*s.grid.grid.get() };
        let est = split.est.read().unwrap_or_else(|e| e.into_inner());
        let mut scratch = borrow(&self.scratch);
        let first = plan.layout.start_symbol + block * DETECT_SYMBOLS_PER_TASK;
        let symbols = first..first + DETECT_SYMBOLS_PER_TASK;
        let cw = plan.codeword_range(symbols.clone());
        let detected = {
            // SAFETY: the blocks of symbols of the `detect` tasks are
            // disjoint, so this task alone writes codeword symbols `cw`; no
            // chunk holding them is demapped before this task counts it
            // down below, after the slices are gone.
            let (d, dnv) = unsafe { (split.d.slice_mut(cw.clone()), split.dnv.slice_mut(cw)) };
            self.front
                .detect_symbols(&plan, grid, &est, symbols.clone(), &mut scratch, d, dnv)
        };
        if detected.is_err() {
            split.failed.store(true, Ordering::Relaxed);
            return;
        }
        // Count the detected symbols down in each chunk they touch; the
        // chunks this task completes come in increasing order, so the
        // scrambling generator of the scratch walks forward through them.
        let qm = plan.qm;
        let mut heard = false;
        for l in symbols {
            let cw = plan.codeword_range(l..l + 1);
            if cw.is_empty() {
                continue;
            }
            for c in cw.start / DEMAP_CHUNK..=(cw.end - 1) / DEMAP_CHUNK {
                if split.chunks[c].fetch_sub(1, Ordering::AcqRel) != 1 {
                    continue;
                }
                let sym = plan.demap_chunk(c);
                // SAFETY: every symbol of chunk c has been detected (its
                // countdown reached zero with acquire ordering, after each
                // detecting task's writes), so its codeword symbols are no
                // longer written; its LLRs are written only here, by the one
                // task that took the countdown to zero.
                let (dc, nc, out) = unsafe {
                    (
                        split.d.slice(sym.clone()),
                        split.dnv.slice(sym.clone()),
                        split.llr.slice_mut(sym.start * qm..sym.end * qm),
                    )
                };
                match self.front.demap_chunk(&plan, c, dc, nc, out, &mut scratch) {
                    Ok((h, e)) => {
                        heard |= h;
                        if e > 0 {
                            split.erased.fetch_add(e, Ordering::Relaxed);
                        }
                    }
                    Err(_) => split.failed.store(true, Ordering::Relaxed),
                }
            }
        }
        if heard {
            split.heard.store(true, Ordering::Relaxed);
        }
    }

    /// Stage `ldpc`, task `task`: finds its receiver and code blocks.
    fn ldpc(&self, s: &UplinkSlot, task: usize) {
        let groups = |p: &SplitPdu| p.cbs.load(Ordering::Relaxed).div_ceil(CBS_PER_TASK);
        let Some((r, plan, group)) = self.locate(s, task, groups) else {
            return;
        };
        let split = &s.split[r];
        let Some((job, t)) = *lock(&split.job) else {
            return;
        };
        let mut dec = borrow(&self.cb_decoders);
        // SAFETY: stage `detect` has completed; the LLRs are only read now.
        let llrs = unsafe { split.llr.slice(0..plan.g) };
        let first = group * CBS_PER_TASK;
        let end = (first + CBS_PER_TASK).min(plan.tb.num_cb());
        for b in first..end {
            let (soft, bits) = (job.soft_range(b), job.bits_range(b));
            // SAFETY: `harq` took the pointers from the pool's soft buffer
            // (C·N values, C extents) and the receiver's TB bits (≥ C·p), which
            // nothing else touches until `pusch-finish` (see DecodeTarget);
            // the tasks split the blocks, so block b's ranges are this
            // task's alone.
            let (soft, filled, bits) = unsafe {
                (
                    std::slice::from_raw_parts_mut(t.soft.add(soft.start), soft.len()),
                    &mut *t.filled.add(b),
                    std::slice::from_raw_parts_mut(t.bits.add(bits.start), bits.len()),
                )
            };
            match job.decode_block(&plan, b, llrs, soft, filled, bits, &mut dec) {
                Ok(o) => {
                    split.iterations.fetch_add(o.iterations, Ordering::Relaxed);
                }
                Err(_) => split.failed.store(true, Ordering::Relaxed),
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
        let job = lock(&split.job).take();
        let mut rx = self.receivers[r].write().unwrap_or_else(|e| e.into_inner());
        let mut pool = lock(&self.harq[r]);
        let mut ind = lock(&s.indications[k]);
        ind.tb.clear();
        let Some((job, _)) = job else {
            ind.result = Err(PuschError::NotProcessed);
            ind.pdu = Some(pdus[k]);
            return;
        };
        let heard = split.heard.load(Ordering::Relaxed);
        let iterations = split.iterations.load(Ordering::Relaxed);
        match rx.decode_finish_with(&plan, &job, iterations, heard, &mut pool) {
            Ok(_) if split.failed.load(Ordering::Relaxed) => {
                ind.result = Err(PuschError::PartFailed);
            }
            Ok((crc_ok, iterations)) => {
                let est = split.est.read().unwrap_or_else(|e| e.into_inner());
                let n = plan.codeword_symbols();
                // SAFETY: stage `detect` has completed; the codeword symbols are only read now.
                let (d, nv) = unsafe { (split.d.slice(0..n), split.dnv.slice(0..n)) };
                let erased = split.erased.load(Ordering::Relaxed);
                let res = self
                    .front
                    .split_result(&plan, &est, d, nv, erased, crc_ok, iterations);
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
