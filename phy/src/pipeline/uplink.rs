//! The uplink slot job: received antenna samples -> PUSCH indications.
//!
//! Stages (each a set of parallel tasks):
//! 1. `ofdm`: CP-OFDM demodulation, one task per (receive antenna, group of
//!    [`OFDM_SYMBOLS_PER_TASK`] symbols), into the slot's resource grid
//!    (each task writes only its symbols of its antenna's port);
//! 2. `pusch-front`: one task per PUSCH receiver in use, for its PUSCHs in
//!    PDU order: channel estimation, detection, soft demapping and
//!    quantisation, HARQ soft-buffer selection
//!    ([`PuschReceiver::front_end`]). A receiver's last PUSCH of the slot
//!    leaves its code blocks to the next stage; earlier ones of the same
//!    receiver (two PUSCHs of one RNTI class in a slot) are decoded whole here;
//! 3. `ldpc`: one task per [`CBS_PER_TASK`] code blocks of those PUSCHs, on
//!    any worker, each with a pooled [`CbDecoder`]
//!    ([`PuschReceiver::decode_code_block`]): HARQ combining, rate recovery,
//!    LDPC decoding and code-block CRCs;
//! 4. `pusch-finish`: one task per receiver: TB CRC, measurements and the
//!    indication ([`PuschReceiver::finish_result`]).
//!
//! Stages 2 to 4 keep a PUSCH's LLRs and split-decode state in its receiver,
//! so one slot at a time is in them ([`SlotJob::exclusive_stages`]); the
//! OFDM stage of the next slot overlaps them.
//!
//! FFT plans, receivers and every buffer are made at construction; workers
//! borrow a demodulator from a small pool (one per worker plus one), so the
//! steady state allocates nothing.
//!
//! A PUSCH always goes to the same receiver, chosen by its RNTI
//! ([`UplinkJob::receiver_of`]): the receiver keeps the HARQ soft buffers, so
//! a retransmission meets the soft bits of its earlier transmissions whatever
//! worker runs it. Given enough soft buffers per receiver (see
//! [`UplinkJob::new`]), nothing is evicted while it waits for a
//! retransmission, and results do not depend on the number of workers.

use super::{borrow, SlotJob};
use crate::grid::ResourceGrid;
use crate::numerology::Numerology;
use crate::ofdm::{OfdmDemodulator, OfdmOptions};
use crate::pdu::{DmrsConfig, PuschPdu};
use crate::pusch::{CbDecoder, PuschError, PuschReceiver, PuschResult, PuschRxConfig, ShPlan};
use num_complex::Complex32;
use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
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

/// `*dst = Some(src.clone())`, reusing `dst`'s port list (no allocation once warm).
fn copy_pdu(dst: &mut Option<PuschPdu>, src: &PuschPdu) {
    let Some(d) = dst else {
        *dst = Some(src.clone());
        return;
    };
    let mut ports = std::mem::take(&mut d.dmrs.ports);
    ports.clear();
    ports.extend_from_slice(&src.dmrs.ports);
    *d = PuschPdu {
        dmrs: DmrsConfig { ports, ..src.dmrs },
        ..*src
    };
}

/// The outcome of one PUSCH of the slot.
#[derive(Debug, Clone)]
pub struct PuschIndication {
    /// The PDU it answers.
    pub pdu: Option<PuschPdu>,
    /// Receiver measurements and CRC, or why it could not be processed.
    pub result: Result<PuschResult, String>,
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

/// No PUSCH in a split decode.
const NONE: usize = usize::MAX;

/// One receiver's split-decoded PUSCH of the slot.
struct SplitPdu {
    /// Its PDU index, or [`NONE`].
    pdu: AtomicUsize,
    /// Its code blocks (0 when none).
    cbs: AtomicUsize,
    /// Its plan (set by `pusch-front`, read by `ldpc` and `pusch-finish`).
    plan: Mutex<Option<ShPlan>>,
    /// A code block failed to decode (not a CRC failure: an error).
    failed: AtomicBool,
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
    /// PDUs of earlier slots, kept for their allocations.
    spare: Mutex<Vec<PuschPdu>>,
    /// One indication per PDU, in PDU order.
    pub indications: Vec<Mutex<PuschIndication>>,
    /// Per receiver: its PUSCH whose code blocks the `ldpc` stage decodes.
    split: Vec<SplitPdu>,
}

/// The uplink receive job.
pub struct UplinkJob {
    num: Numerology,
    n_rx: usize,
    demods: Vec<Mutex<OfdmDemodulator>>,
    /// Written by `pusch-front` and `pusch-finish`, shared by `ldpc`.
    receivers: Vec<RwLock<PuschReceiver>>,
    cb_decoders: Vec<Mutex<CbDecoder>>,
}

const STAGES: &[&str] = &["ofdm", "pusch-front", "ldpc", "pusch-finish"];
const OFDM: usize = 0;
const FRONT: usize = 1;
const LDPC: usize = 2;
const FINISH: usize = 3;

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
        let n = workers + 1;
        let demods = (0..n)
            .map(|_| OfdmDemodulator::new(num, ofdm).map(Mutex::new))
            .collect::<Result<_, _>>()?;
        let receivers = (0..n)
            .map(|_| PuschReceiver::new(num, cfg).map(RwLock::new))
            .collect::<Result<_, _>>()?;
        let cb_decoders = (0..n).map(|_| Mutex::new(CbDecoder::new(&cfg))).collect();
        Ok(UplinkJob {
            num,
            n_rx: cfg.n_rx,
            demods,
            receivers,
            cb_decoders,
        })
    }

    /// A pooled slot state able to hold `max_pdus` PUSCHs.
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
            spare: Mutex::new(Vec::with_capacity(max_pdus)),
            indications: (0..max_pdus)
                .map(|_| {
                    Mutex::new(PuschIndication {
                        pdu: None,
                        result: Err(String::new()),
                        tb: Vec::with_capacity(max_tbs),
                    })
                })
                .collect(),
            split: (0..self.receivers.len())
                .map(|_| SplitPdu {
                    pdu: AtomicUsize::new(NONE),
                    cbs: AtomicUsize::new(0),
                    plan: Mutex::new(None),
                    failed: AtomicBool::new(false),
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

    /// PUSCH receivers (`workers + 1`).
    pub fn receivers(&self) -> usize {
        self.receivers.len()
    }

    /// `ofdm` tasks per antenna: groups of [`OFDM_SYMBOLS_PER_TASK`] symbols.
    fn ofdm_groups(&self) -> usize {
        self.num.symbols_per_slot().div_ceil(OFDM_SYMBOLS_PER_TASK)
    }

    /// The receiver (0..[`UplinkJob::receivers`]) that handles every PUSCH of `rnti`.
    pub fn receiver_of(&self, rnti: u16) -> usize {
        rnti as usize % self.receivers.len()
    }
}

impl UplinkSlot {
    /// Sets the slot's PDUs before it starts; more than the pool holds is an error.
    pub fn set_pdus(&self, slot: u32, pdus: &[PuschPdu]) -> Result<(), String> {
        if pdus.len() > self.indications.len() {
            return Err(format!(
                "{} PUSCHs in one slot (at most {})",
                pdus.len(),
                self.indications.len()
            ));
        }
        self.slot.store(slot, Ordering::Relaxed);
        let mut p = self.pdus.write().unwrap_or_else(|e| e.into_inner());
        let mut spare = self.spare.lock().unwrap_or_else(|e| e.into_inner());
        // The last slot's PDUs become spares whose port lists are reused.
        spare.append(&mut p);
        for pdu in pdus {
            let mut slot = spare.pop();
            copy_pdu(&mut slot, pdu);
            p.extend(slot);
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
    /// Stage `pusch-front` for receiver `r`: its PUSCHs in PDU order, the
    /// last one up to the code blocks, earlier ones whole.
    fn front(&self, s: &UplinkSlot, r: usize) {
        let split = &s.split[r];
        split.pdu.store(NONE, Ordering::Relaxed);
        split.cbs.store(0, Ordering::Relaxed);
        split.failed.store(false, Ordering::Relaxed);
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
                Err(e) => ind.result = Err(e.to_string()),
            }
            copy_pdu(&mut ind.pdu, pdu);
        }
        let pdu = &pdus[last];
        let prepared = rx
            .plan(pdu)
            .and_then(|plan| rx.front_end(&plan, Some(grid)).map(|()| plan));
        match prepared {
            Ok(plan) => {
                *split.plan.lock().unwrap_or_else(|e| e.into_inner()) = Some(plan);
                split.cbs.store(plan.tb.num_cb(), Ordering::Relaxed);
                split.pdu.store(last, Ordering::Relaxed);
            }
            Err(e) => {
                let mut ind = s.indications[last]
                    .lock()
                    .unwrap_or_else(|e| e.into_inner());
                ind.tb.clear();
                ind.result = Err(e.to_string());
                copy_pdu(&mut ind.pdu, pdu);
            }
        }
    }

    /// Stage `ldpc`, task `task`: finds its receiver and code blocks.
    fn ldpc(&self, s: &UplinkSlot, mut task: usize) {
        for (r, split) in s.split.iter().enumerate() {
            let groups = split.cbs.load(Ordering::Relaxed).div_ceil(CBS_PER_TASK);
            if task >= groups {
                task -= groups;
                continue;
            }
            let Some(plan) = *split.plan.lock().unwrap_or_else(|e| e.into_inner()) else {
                return;
            };
            let rx = self.receivers[r].read().unwrap_or_else(|e| e.into_inner());
            let mut dec = borrow(&self.cb_decoders);
            let first = task * CBS_PER_TASK;
            let end = (first + CBS_PER_TASK).min(plan.tb.num_cb());
            for b in first..end {
                if rx.decode_code_block(&plan, b, &mut dec).is_err() {
                    split.failed.store(true, Ordering::Relaxed);
                }
            }
            return;
        }
    }

    /// Stage `pusch-finish` for receiver `r`: TB CRC, measurements, indication.
    fn finish(&self, s: &UplinkSlot, r: usize) {
        let split = &s.split[r];
        let k = split.pdu.load(Ordering::Relaxed);
        if k == NONE {
            return;
        }
        let Some(plan) = *split.plan.lock().unwrap_or_else(|e| e.into_inner()) else {
            return;
        };
        let pdus = s.pdus.read().unwrap_or_else(|e| e.into_inner());
        let mut rx = self.receivers[r].write().unwrap_or_else(|e| e.into_inner());
        let mut ind = s.indications[k].lock().unwrap_or_else(|e| e.into_inner());
        ind.tb.clear();
        match rx.finish_result(&plan) {
            Ok(_) if split.failed.load(Ordering::Relaxed) => {
                ind.result = Err("LDPC: a code block could not be decoded".to_string());
            }
            Ok(res) => {
                ind.tb.extend_from_slice(rx.transport_block(&plan));
                ind.result = Ok(res);
            }
            Err(e) => ind.result = Err(e.to_string()),
        }
        copy_pdu(&mut ind.pdu, &pdus[k]);
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
            FRONT | FINISH => self.receivers.len(),
            LDPC => slot
                .split
                .iter()
                .map(|p| p.cbs.load(Ordering::Acquire).div_ceil(CBS_PER_TASK))
                .sum(),
            _ => 0,
        }
    }

    fn exclusive_stages(&self) -> Option<(usize, usize)> {
        Some((FRONT, FINISH))
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
            FRONT => self.front(s, task),
            LDPC => self.ldpc(s, task),
            FINISH => self.finish(s, task),
            _ => {}
        }
    }
}
