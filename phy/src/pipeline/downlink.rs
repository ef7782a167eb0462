//! The downlink slot job: the slot's PDSCH PDUs with their transport blocks
//! -> the gNB's time-domain samples per antenna.
//!
//! Stages (each a set of parallel tasks), the pieces of
//! [`PdschTransmitter`](crate::pdsch::PdschTransmitter) cut where they are
//! independent:
//! 1. `ldpc-encode`: one task per [`CBS_PER_TASK`] code blocks of each
//!    PDSCH, on any worker, each with a pooled [`TbEncoder`]
//!    ([`TbEncoder::encode_blocks`]): TB CRC (for the blocks that carry it),
//!    code-block CRC, LDPC encoding and rate matching (TS 38.212 §7.2), into
//!    the block's own part of the PDSCH's G coded bits;
//! 2. `pdsch-map`: one task per [`SYMBOLS_PER_MAP_TASK`] OFDM symbols: clears
//!    them on the antennas in use, then for every PDSCH in PDU order
//!    scrambling, modulation, layer mapping, precoding and RE mapping, and
//!    the DM-RS (TS 38.211 §7.3.1, §7.4.1.1; [`ShSymbolMapper::map_precoded`]).
//!    A PDSCH without precoder puts layer j on antenna j (antennas beyond
//!    the slot's largest layer count then stay silent); one with a
//!    [`PrgPrecoder`] ([`DownlinkSlot::set_pdus_precoded`]) adds `W x` per
//!    PRG to every antenna, DM-RS included (§7.3.1.5, TS 38.214 §5.1.2.3).
//!    PDSCHs on the same REs (MU-MIMO on other DM-RS ports) add up;
//! 3. `ofdm`: one task per antenna and [`OFDM_SYMBOLS_PER_TASK`] symbols:
//!    CP-OFDM (TS 38.211 §5.3.1) into the antenna's samples of those symbols
//!    (disjoint sample ranges); a silent antenna gets zeros.
//!
//! Every task writes only its own part of the slot (code blocks, symbols,
//! antenna and symbols), so the samples are bit-identical to
//! `PdschTransmitter`'s with any number of workers, and slots may overlap
//! freely (no state crosses slots). Encoders, mappers and modulators are
//! pooled (one per worker plus one), and every buffer and the LDPC tables of
//! every (BG, Z) ([`TbEncoder::prepare_all`]) are made at construction, so
//! the steady state allocates nothing.
//!
//! OFDM windowing is refused: it carries each antenna's last symbol into the
//! next slot, which slots processed in parallel cannot do.

use super::task_buf::TaskBuf;
use super::{borrow, SlotJob};
use crate::coding::tb::TbEncoder;
use crate::mimo::prg::{PrgPrecoder, PrgSize, MAX_PRECODER_ANTENNAS};
use crate::numerology::Numerology;
use crate::ofdm::{OfdmModulator, OfdmOptions};
use crate::pdsch::{Pdsch, PdschPdu};
use crate::sch::{ShError, ShPlan, ShSymbolMapper, SharedChannel};
use crate::simd::SimdLevel;
use num_complex::Complex32;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::{Mutex, RwLock, RwLockWriteGuard};

/// Code blocks per `ldpc-encode` task: encoding one block costs a few
/// microseconds to tens of them, so two keep the queueing overhead small
/// while a large TB still spreads over the workers.
pub const CBS_PER_TASK: usize = 2;
/// OFDM symbols per `pdsch-map` task.
pub const SYMBOLS_PER_MAP_TASK: usize = 2;
/// OFDM symbols per `ofdm` task (per antenna): two tasks per antenna and slot.
pub const OFDM_SYMBOLS_PER_TASK: usize = 7;
/// Layers of one PDSCH codeword (TS 38.211 Table 7.3.1.3-1, one codeword).
const MAX_LAYERS: usize = 4;

/// The largest G of a PDSCH: every RE of the slot on every layer at Q_m 10
/// (a bound: the PDSCH tables stop at 256QAM).
fn max_g(num: &Numerology, layers: usize) -> usize {
    num.symbols_per_slot() * num.n_sc() * layers * 10
}

/// The slot's requests, set by the driver before it starts the slot.
struct Requests {
    /// One plan per PDSCH, in PDU order.
    plans: Vec<ShPlan>,
    /// Their transport blocks (A bits each); `tbs[k]` for `plans[k]`.
    tbs: Vec<Vec<u8>>,
    /// `precoders[k]` is PDSCH k's precoder when `precoded[k]` (a copy of
    /// the PRGs covering its PRBs, in a buffer made at construction).
    precoders: Vec<PrgPrecoder>,
    precoded: Vec<bool>,
    /// PDSCH k's REs hold no earlier PDSCH's: written in place without a
    /// precoder (else added).
    fresh: Vec<bool>,
    /// Antennas in use: the largest layer count of the unprecoded PDSCHs,
    /// every antenna with a precoded one; antennas `active..` are silent.
    active: usize,
}

/// Per-slot state in the pipeline's pool.
pub struct DownlinkSlot {
    requests: RwLock<Requests>,
    n_pdus: AtomicUsize,
    slot: AtomicU32,
    /// Samples in the slot.
    len: AtomicUsize,
    /// G coded bits per PDSCH (written by `ldpc-encode`, read by `pdsch-map`).
    coded: Vec<TaskBuf<u8>>,
    /// Antennas x symbols x subcarriers, antenna-major (as [`crate::grid::ResourceGrid`]).
    grid: TaskBuf<Complex32>,
    /// Samples per antenna (written by `ofdm`); the write lock is the driver's.
    samples: RwLock<Vec<TaskBuf<Complex32>>>,
    /// A task failed (after validation, only on an internal size mismatch).
    failed: AtomicBool,
    error: Mutex<Option<ShError>>,
}

/// The downlink transmit job.
pub struct DownlinkJob {
    num: Numerology,
    n_tx: usize,
    max_layers: usize,
    level: SimdLevel,
    encoders: Vec<Mutex<TbEncoder>>,
    mappers: Vec<Mutex<ShSymbolMapper>>,
    mods: Vec<Mutex<OfdmModulator>>,
}

const STAGES: &[&str] = &["ldpc-encode", "pdsch-map", "ofdm"];
const ENCODE: usize = 0;
const MAP: usize = 1;
const OFDM: usize = 2;

impl DownlinkJob {
    /// A job for carrier `num` with `n_tx` gNB antennas (PDSCHs of up to
    /// `min(n_tx, 4)` layers), for `workers` workers.
    pub fn new(
        num: Numerology,
        n_tx: usize,
        ofdm: OfdmOptions,
        workers: usize,
    ) -> Result<Self, ShError> {
        if !(1..=MAX_PRECODER_ANTENNAS).contains(&n_tx) {
            return Err(ShError::Size(format!(
                "a downlink job of {n_tx} antennas (1..={MAX_PRECODER_ANTENNAS})"
            )));
        }
        if ofdm.window_len > 0 {
            return Err(ShError::Size(format!(
                "OFDM window of {} samples: windowing carries state from slot to slot, \
                 which the pipelined transmitter does not (use 0)",
                ofdm.window_len
            )));
        }
        let n = workers + 1;
        let max_layers = n_tx.min(MAX_LAYERS);
        let encoders = (0..n)
            .map(|_| {
                let mut e = TbEncoder::new();
                e.prepare_all(max_g(&num, max_layers))
                    .map(|()| Mutex::new(e))
            })
            .collect::<Result<_, _>>()
            .map_err(|e| ShError::Coding(e.to_string()))?;
        Ok(DownlinkJob {
            num,
            n_tx,
            max_layers,
            level: SimdLevel::detect(),
            encoders,
            mappers: (0..n)
                .map(|_| Mutex::new(ShSymbolMapper::new(&num, max_layers)))
                .collect(),
            mods: (0..n)
                .map(|_| OfdmModulator::new(num, ofdm).map(Mutex::new))
                .collect::<Result<_, _>>()?,
        })
    }

    /// A pooled slot state able to hold `max_pdus` PDSCHs.
    pub fn new_slot(&self, max_pdus: usize) -> DownlinkSlot {
        let n_sc = self.num.n_sc();
        let symbols = self.num.symbols_per_slot();
        let max_len = (0..self.num.slots_per_frame())
            .map(|s| self.num.slot_len(s))
            .max()
            .unwrap_or(0);
        let max_g = max_g(&self.num, self.max_layers);
        let max_tbs = max_g; // A < G for every MCS
                             // The most PRGs an allocation covers: PRGs of 2 PRBs, the first partial.
        let max_prgs = self.num.n_prb() as usize / 2 + 1;
        let precoder = || {
            PrgPrecoder::new(self.n_tx, self.max_layers, PrgSize::Two, 0, max_prgs)
                .expect("n_tx checked at construction, max_layers <= n_tx")
        };
        DownlinkSlot {
            requests: RwLock::new(Requests {
                plans: Vec::with_capacity(max_pdus),
                tbs: (0..max_pdus).map(|_| Vec::with_capacity(max_tbs)).collect(),
                precoders: (0..max_pdus).map(|_| precoder()).collect(),
                precoded: Vec::with_capacity(max_pdus),
                fresh: Vec::with_capacity(max_pdus),
                active: 0,
            }),
            n_pdus: AtomicUsize::new(0),
            slot: AtomicU32::new(0),
            len: AtomicUsize::new(self.num.slot_len(0)),
            coded: (0..max_pdus).map(|_| TaskBuf::new(max_g)).collect(),
            grid: TaskBuf::new(self.n_tx * symbols * n_sc),
            samples: RwLock::new((0..self.n_tx).map(|_| TaskBuf::new(max_len)).collect()),
            failed: AtomicBool::new(false),
            error: Mutex::new(None),
        }
    }

    /// The carrier.
    pub fn numerology(&self) -> &Numerology {
        &self.num
    }

    /// gNB antennas.
    pub fn n_tx(&self) -> usize {
        self.n_tx
    }

    /// Largest layer count of a PDSCH.
    pub fn max_layers(&self) -> usize {
        self.max_layers
    }

    /// The plan of `pdu` on this carrier (as the transmitter plans it).
    pub fn plan(&self, pdu: &PdschPdu) -> Result<ShPlan, ShError> {
        Pdsch::plan(pdu, self.num.n_prb(), self.max_layers as u16)
    }

    fn fail(&self, s: &DownlinkSlot, e: ShError) {
        s.failed.store(true, Ordering::Relaxed);
        let mut err = s.error.lock().unwrap_or_else(|e| e.into_inner());
        if err.is_none() {
            *err = Some(e);
        }
    }

    /// Stage `ldpc-encode`, task `task`: finds its PDSCH and code blocks.
    fn encode(&self, s: &DownlinkSlot, mut task: usize) {
        let req = s.requests.read().unwrap_or_else(|e| e.into_inner());
        for (k, plan) in req.plans.iter().enumerate() {
            let c = plan.tb.num_cb();
            let groups = c.div_ceil(CBS_PER_TASK);
            if task >= groups {
                task -= groups;
                continue;
            }
            // The last group first: it computes the TB CRC over the whole
            // block, the longest task, so it should not be the one left at the end.
            let g = groups - 1 - task;
            let blocks = g * CBS_PER_TASK..((g + 1) * CBS_PER_TASK).min(c);
            let bits = plan.tb.cb_offset(blocks.start)..plan.tb.cb_offset(blocks.end);
            // SAFETY: the blocks' part of PDSCH k's coded bits is this task's alone.
            let out = unsafe { s.coded[k].slice_mut(bits) };
            let mut enc = borrow(&self.encoders);
            if let Err(e) = enc.encode_blocks(&plan.tb, &req.tbs[k], plan.rv, blocks, out) {
                self.fail(s, ShError::Coding(e.to_string()));
            }
            return;
        }
    }

    /// Stage `pdsch-map`, task `task`: symbols `task·SYMBOLS_PER_MAP_TASK..`.
    fn map(&self, s: &DownlinkSlot, task: usize) {
        let req = s.requests.read().unwrap_or_else(|e| e.into_inner());
        let n_sc = self.num.n_sc();
        let sym = self.num.symbols_per_slot();
        let l0 = task * SYMBOLS_PER_MAP_TASK;
        let symbols = l0..(l0 + SYMBOLS_PER_MAP_TASK).min(sym);
        let mut views: [&mut [Complex32]; MAX_PRECODER_ANTENNAS] =
            std::array::from_fn(|_| Default::default());
        for (a, v) in views.iter_mut().enumerate().take(req.active) {
            let r = (a * sym + symbols.start) * n_sc..(a * sym + symbols.end) * n_sc;
            // SAFETY: these symbols of every antenna are this task's alone.
            *v = unsafe { s.grid.slice_mut(r) };
            v.fill(Complex32::default());
        }
        let mut mapper = borrow(&self.mappers);
        for (k, plan) in req.plans.iter().enumerate() {
            // SAFETY: stage `ldpc-encode` has completed; coded bits are only read now.
            let coded = unsafe { s.coded[k].slice(0..plan.g) };
            let precoder = req.precoded[k].then(|| &req.precoders[k]);
            if let Err(e) = mapper.map_precoded(
                plan,
                coded,
                symbols.clone(),
                precoder,
                !req.fresh[k],
                self.level,
                &mut views[..req.active],
            ) {
                self.fail(s, e);
            }
        }
    }

    /// Stage `ofdm`, task `task`: antenna `task / groups`, symbols of group `task % groups`.
    fn ofdm(&self, s: &DownlinkSlot, task: usize) {
        let slot = s.slot.load(Ordering::Relaxed);
        let active = s.requests.read().unwrap_or_else(|e| e.into_inner()).active;
        let sym = self.num.symbols_per_slot();
        let groups = sym.div_ceil(OFDM_SYMBOLS_PER_TASK);
        let (a, l0) = (task / groups, (task % groups) * OFDM_SYMBOLS_PER_TASK);
        let l1 = (l0 + OFDM_SYMBOLS_PER_TASK).min(sym);
        let (t0, t1) = (
            self.num.symbol_offset(slot, l0),
            self.num.symbol_offset(slot, l1),
        );
        let samples = s.samples.read().unwrap_or_else(|e| e.into_inner());
        // SAFETY: antenna a's samples of symbols l0..l1 are this task's alone.
        let out = unsafe { samples[a].slice_mut(t0..t1) };
        if a >= active {
            out.fill(Complex32::default());
            return;
        }
        let n_sc = self.num.n_sc();
        let mut m = borrow(&self.mods);
        let mut t = 0;
        for l in l0..l1 {
            let len = self.num.symbol_len(slot, l);
            let r = (a * sym + l) * n_sc..(a * sym + l + 1) * n_sc;
            // SAFETY: stage `pdsch-map` has completed; the grid is only read now.
            let freq = unsafe { s.grid.slice(r) };
            if let Err(e) = m.modulate_symbol(slot, l, freq, &mut out[t..t + len]) {
                out[t..t + len].fill(Complex32::default());
                self.fail(s, e.into());
            }
            t += len;
        }
    }
}

impl DownlinkSlot {
    /// Sets the slot's PDSCHs (slot `slot` of the frame) and their transport
    /// blocks before it starts: validates and plans each PDU (as
    /// `PdschTransmitter::plan` does) and copies the blocks. An invalid PDU,
    /// a block of the wrong size or more PDSCHs than the slot holds is an
    /// error, and the slot then transmits nothing.
    pub fn set_pdus(
        &self,
        job: &DownlinkJob,
        slot: u32,
        pdus: &[PdschPdu],
        tbs: &[&[u8]],
    ) -> Result<(), ShError> {
        self.set_pdus_precoded(job, slot, pdus, tbs, &[])
    }

    /// As [`DownlinkSlot::set_pdus`] with a precoder per PDSCH:
    /// `precoders[k]` for `pdus[k]` (`None`, or `precoders` shorter than
    /// `pdus`: layer j on antenna j). A precoder must have the PDSCH's layer
    /// count, the job's antennas and weights for every PRG of the PDSCH's
    /// PRBs ([`PrgPrecoder::check`]); the slot keeps a copy of those PRGs'
    /// weights (in buffers made with the slot: no allocation).
    pub fn set_pdus_precoded(
        &self,
        job: &DownlinkJob,
        slot: u32,
        pdus: &[PdschPdu],
        tbs: &[&[u8]],
        precoders: &[Option<&PrgPrecoder>],
    ) -> Result<(), ShError> {
        let mut req = self.requests.write().unwrap_or_else(|e| e.into_inner());
        self.n_pdus.store(0, Ordering::Release);
        self.failed.store(false, Ordering::Relaxed);
        *self.error.lock().unwrap_or_else(|e| e.into_inner()) = None;
        self.slot.store(slot, Ordering::Relaxed);
        self.len.store(job.num.slot_len(slot), Ordering::Relaxed);
        let filled = fill(job, &mut req, self.coded.len(), pdus, tbs, precoders);
        match filled {
            // Nothing half-set stays behind: every antenna sends zeros.
            Err(_) => {
                req.plans.clear();
                req.active = 0;
            }
            Ok(()) => self.n_pdus.store(pdus.len(), Ordering::Release),
        }
        filled
    }

    /// PDSCHs of the slot.
    pub fn n_pdus(&self) -> usize {
        self.n_pdus.load(Ordering::Acquire)
    }

    /// The slot's samples, once it has completed (waits while a task of the
    /// slot still writes them).
    pub fn samples(&self) -> Samples<'_> {
        Samples {
            bufs: self.samples.write().unwrap_or_else(|e| e.into_inner()),
            len: self.len.load(Ordering::Relaxed),
        }
    }

    /// The first error a task met (none after a successful
    /// [`DownlinkSlot::set_pdus`] unless the job was built too small).
    pub fn error(&self) -> Option<ShError> {
        if !self.failed.load(Ordering::Acquire) {
            return None;
        }
        self.error.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// Plans `pdus` into `req` and copies their blocks (at most `max_pdus`).
fn fill(
    job: &DownlinkJob,
    req: &mut Requests,
    max_pdus: usize,
    pdus: &[PdschPdu],
    tbs: &[&[u8]],
    precoders: &[Option<&PrgPrecoder>],
) -> Result<(), ShError> {
    req.plans.clear();
    req.precoded.clear();
    req.fresh.clear();
    req.active = 0;
    if pdus.len() > max_pdus || tbs.len() != pdus.len() || precoders.len() > pdus.len() {
        return Err(ShError::Size(format!(
            "{} PDSCHs with {} transport blocks and {} precoders (at most {max_pdus} in a slot)",
            pdus.len(),
            tbs.len(),
            precoders.len(),
        )));
    }
    for (k, (pdu, tb)) in pdus.iter().zip(tbs).enumerate() {
        let plan = job.plan(pdu)?;
        if tb.len() != plan.tbs {
            return Err(ShError::Size(format!(
                "PDSCH {k}: transport block of {} bits, the PDU's TBS is {}",
                tb.len(),
                plan.tbs
            )));
        }
        let precoder = precoders.get(k).copied().flatten();
        if let Some(p) = precoder {
            p.check(job.n_tx, plan.layout.layers(), plan.prbs())?;
            req.precoders[k].copy_covering(p, plan.prbs());
        }
        let dst = &mut req.tbs[k];
        dst.clear();
        dst.extend_from_slice(tb);
        // As the transmitter: in place on clear REs, added onto an earlier PDSCH's.
        let fresh = !req.plans.iter().any(|p| p.overlaps(&plan));
        req.fresh.push(fresh);
        req.precoded.push(precoder.is_some());
        let uses = if precoder.is_some() {
            job.n_tx
        } else {
            plan.layout.layers()
        };
        req.active = req.active.max(uses);
        req.plans.push(plan);
    }
    Ok(())
}

/// The samples of a completed downlink slot, per antenna (the slot's
/// `slot_len` samples each), held exclusively.
pub struct Samples<'a> {
    bufs: RwLockWriteGuard<'a, Vec<TaskBuf<Complex32>>>,
    /// Samples in the slot.
    len: usize,
}

impl Samples<'_> {
    /// Antennas.
    pub fn antennas(&self) -> usize {
        self.bufs.len()
    }

    /// Antenna `a`'s samples of the slot (`slot_len` of its slot number).
    pub fn antenna(&self, a: usize) -> &[Complex32] {
        // SAFETY: the write guard excludes every task of the slot.
        unsafe { self.bufs[a].slice(0..self.len) }
    }
}

impl SlotJob for DownlinkJob {
    type Slot = DownlinkSlot;

    fn stages(&self) -> &'static [&'static str] {
        STAGES
    }

    fn task_count(&self, s: &DownlinkSlot, stage: usize) -> usize {
        let n = s.n_pdus();
        let sym = self.num.symbols_per_slot();
        match stage {
            ENCODE if n > 0 => s
                .requests
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .plans
                .iter()
                .map(|p| p.tb.num_cb().div_ceil(CBS_PER_TASK))
                .sum(),
            MAP if n > 0 => sym.div_ceil(SYMBOLS_PER_MAP_TASK),
            OFDM => self.n_tx * sym.div_ceil(OFDM_SYMBOLS_PER_TASK),
            _ => 0,
        }
    }

    fn run_task(&self, s: &DownlinkSlot, stage: usize, task: usize) {
        match stage {
            ENCODE => self.encode(s, task),
            MAP => self.map(s, task),
            OFDM => self.ofdm(s, task),
            _ => {}
        }
    }
}
