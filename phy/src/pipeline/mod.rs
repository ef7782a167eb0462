//! The lock-free slot pipeline.
//!
//! A slot's processing is a chain of stages (OFDM demodulation per antenna
//! and symbol, channel estimation, detection per block of REs, LDPC decoding
//! per code block, ...), each split into tasks that run in parallel on pinned
//! worker threads. Tasks travel on a bounded crossbeam queue as small `Copy`
//! messages; the last task of a stage (found with an atomic countdown)
//! releases the next stage. Per-slot state comes from a fixed pool recycled
//! every slot, so the steady state allocates nothing and memory stays bounded:
//! when every pooled slot is busy, a new slot is dropped with a reason and a
//! counter instead of queueing.
//!
//! The algorithm lives in a [`SlotJob`]; timing, deadlines and counters are
//! kept here, around it, never inside it. The jobs: [`uplink::UplinkJob`]
//! (received samples -> PUSCH indications) and [`downlink::DownlinkJob`]
//! (PDSCH PDUs and transport blocks -> transmit samples).

pub mod downlink;
mod histogram;
mod task_buf;
pub mod uplink;
pub mod uplink_phy;
mod uplink_state;

pub use histogram::LatencyHistogram;

use crossbeam::channel::{bounded, Receiver, Sender, TrySendError};
use crossbeam::queue::ArrayQueue;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The work of one slot, split into stages of parallel tasks.
///
/// `Slot` is the pooled per-slot state (input samples, intermediate grids,
/// soft buffers, results). Tasks of one stage run concurrently on a shared
/// `&Slot`, so each task must write only its own part (e.g. through a
/// `Mutex` per antenna or code block, uncontended by construction).
/// Results must not depend on the order tasks run in: that is what makes a
/// run identical with 1 or N workers.
pub trait SlotJob: Send + Sync + 'static {
    /// Pooled per-slot state.
    type Slot: Send + Sync + 'static;
    /// Stage names, in order (for metrics).
    fn stages(&self) -> &'static [&'static str];
    /// How many tasks `stage` has for this slot; evaluated when the stage starts,
    /// so it may depend on what earlier stages found. Zero skips the stage.
    fn task_count(&self, slot: &Self::Slot, stage: usize) -> usize;
    /// Runs task `task` of `stage`.
    fn run_task(&self, slot: &Self::Slot, stage: usize, task: usize);
    /// Stages `first..=last` that one slot at a time may be in (e.g. because
    /// they keep state in shared receivers from one stage to the next).
    /// Slots enter in the order they were started ([`Pipeline::start`]),
    /// whatever order they reach `first` in: a slot reaching it while
    /// another slot is inside, or before an earlier-started slot has been
    /// through, waits without holding a worker and enters when its turn comes.
    /// `None` (the default): every stage is open to every slot.
    fn exclusive_stages(&self) -> Option<(usize, usize)> {
        None
    }
}

/// Takes whichever pooled item is free (a job keeps one per worker plus
/// one, so a free one always exists while tasks are running).
pub(crate) fn borrow<T>(pool: &[Mutex<T>]) -> MutexGuard<'_, T> {
    loop {
        for m in pool {
            if let Ok(g) = m.try_lock() {
                return g;
            }
        }
        std::hint::spin_loop();
    }
}

/// Why a slot was not processed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropReason {
    /// Every pooled slot buffer was still in flight: the pipeline is behind.
    PipelineBehind,
}

impl std::fmt::Display for DropReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            DropReason::PipelineBehind => "pipeline behind (no free slot buffer)",
        })
    }
}

/// Why a slot was not taken.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SubmitError {
    /// Every pooled slot is still in flight.
    #[error("slot dropped: {0}")]
    Dropped(DropReason),
    /// More PUSCHs than a pooled slot holds.
    #[error("{pdus} PUSCHs in one slot (at most {max})")]
    TooManyPdus {
        /// PUSCHs given.
        pdus: usize,
        /// Most per slot.
        max: usize,
    },
    /// Sample buffers that do not match the antennas or the slot.
    #[error("{antennas} sample buffers of {len} samples for {n_rx} antennas and a {slot_len}-sample slot")]
    Samples {
        /// Buffers given.
        antennas: usize,
        /// Samples in the first.
        len: usize,
        /// Receive antennas.
        n_rx: usize,
        /// Samples in the slot.
        slot_len: usize,
    },
}

/// Pipeline settings.
#[derive(Debug, Clone)]
pub struct PipelineConfig {
    /// Worker threads (at least 1).
    pub workers: usize,
    /// Pin workers to cores (round robin over [`Self::cores`]).
    pub pin: bool,
    /// Core ids to pin to; empty means the cores the calling thread may run
    /// on. A caller that has pinned its own thread (a benchmark) passes the
    /// list it saw before pinning, or every worker lands on its one core.
    pub cores: Vec<usize>,
    /// Time from a slot's arrival to its deadline (slot duration plus processing budget).
    pub deadline: Duration,
}

/// A small message on the task queue.
#[derive(Debug, Clone, Copy)]
struct Task {
    slot: u32,
    stage: u16,
    index: u32,
}

struct SlotControl {
    /// Tasks of the current stage still running.
    remaining: AtomicUsize,
    /// Current stage.
    stage: AtomicUsize,
    /// Arrival time of the slot (set at submit).
    arrival: Mutex<Option<Instant>>,
    /// Start of the current stage.
    stage_start: Mutex<Option<Instant>>,
    /// Set when the slot completes; taken by [`Pipeline::take_completed`].
    done: AtomicBool,
    /// Start order, for the exclusive stages.
    ticket: AtomicU64,
}

/// Metrics of a pipeline run (decorators around the job).
#[derive(Debug)]
pub struct PipelineMetrics {
    /// Arrival-to-completion latency per slot.
    pub slot_latency: LatencyHistogram,
    /// Wall latency of each stage (first task start to last task end).
    pub stage_latency: Vec<LatencyHistogram>,
    /// Duration of individual tasks per stage; its total is the CPU time per stage.
    pub task_time: Vec<LatencyHistogram>,
    /// Slots completed after their deadline.
    pub deadline_misses: AtomicU64,
    /// Slots completed.
    pub completed: AtomicU64,
    /// Slots dropped because the pipeline was behind.
    pub dropped_behind: AtomicU64,
    /// Tasks run inline by the releasing thread because the task queue was full.
    pub inline_tasks: AtomicU64,
    /// Largest task-queue depth seen.
    pub max_queue_depth: AtomicUsize,
    /// Largest number of slots in flight at once.
    pub max_in_flight: AtomicUsize,
}

struct Shared<J: SlotJob> {
    job: Arc<J>,
    slots: Vec<J::Slot>,
    control: Vec<SlotControl>,
    tasks_tx: Sender<Task>,
    done_tx: Sender<(u32, Duration)>,
    metrics: PipelineMetrics,
    deadline: Duration,
    in_flight: AtomicUsize,
    stop: AtomicBool,
    section: Mutex<Section>,
    /// Tickets handed out by [`Pipeline::start`].
    tickets: AtomicU64,
}

/// Who is in the job's exclusive stages, whose turn is next, and who
/// waits (slot, stage).
struct Section {
    holder: Option<u32>,
    /// The ticket of the slot whose turn it is.
    next: u64,
    /// Capacity `pool`: a slot waits at most once at a time, so this never grows.
    waiting: std::collections::VecDeque<(u32, usize)>,
}

/// The slot pipeline: a pool of slot states, a worker pool and the stage logic.
pub struct Pipeline<J: SlotJob> {
    shared: Arc<Shared<J>>,
    free: ArrayQueue<u32>,
    done_rx: Receiver<(u32, Duration)>,
    workers: Vec<JoinHandle<()>>,
}

/// A completed slot, borrowed from the pool until [`Pipeline::release`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Completed {
    /// Pool index of the slot.
    pub index: usize,
    /// Arrival-to-completion latency.
    pub latency: Duration,
    /// Whether it finished after its deadline.
    pub missed_deadline: bool,
}

impl<J: SlotJob> Pipeline<J> {
    /// Starts `config.workers` workers over a pool of the given slot states.
    pub fn new(job: Arc<J>, slots: Vec<J::Slot>, config: PipelineConfig) -> Self {
        assert!(config.workers >= 1, "a pipeline needs at least one worker");
        assert!(
            !slots.is_empty(),
            "a pipeline needs at least one slot buffer"
        );
        let n_stages = job.stages().len();
        let pool = slots.len();
        // Bounded queues sized so that a full pool can never overflow them
        // with the task counts the job reports (checked at release time).
        let (tasks_tx, tasks_rx) = bounded::<Task>(pool * 4096);
        let (done_tx, done_rx) = bounded(pool);
        let control = (0..pool)
            .map(|_| SlotControl {
                remaining: AtomicUsize::new(0),
                stage: AtomicUsize::new(0),
                arrival: Mutex::new(None),
                stage_start: Mutex::new(None),
                done: AtomicBool::new(false),
                ticket: AtomicU64::new(0),
            })
            .collect();
        let metrics = PipelineMetrics {
            slot_latency: LatencyHistogram::new(),
            stage_latency: (0..n_stages).map(|_| LatencyHistogram::new()).collect(),
            task_time: (0..n_stages).map(|_| LatencyHistogram::new()).collect(),
            deadline_misses: AtomicU64::new(0),
            completed: AtomicU64::new(0),
            dropped_behind: AtomicU64::new(0),
            inline_tasks: AtomicU64::new(0),
            max_queue_depth: AtomicUsize::new(0),
            max_in_flight: AtomicUsize::new(0),
        };
        let shared = Arc::new(Shared {
            job,
            slots,
            control,
            tasks_tx,
            done_tx,
            metrics,
            deadline: config.deadline,
            in_flight: AtomicUsize::new(0),
            stop: AtomicBool::new(false),
            section: Mutex::new(Section {
                holder: None,
                next: 0,
                waiting: std::collections::VecDeque::with_capacity(pool),
            }),
            tickets: AtomicU64::new(0),
        });
        let cores = match (config.pin, config.cores.is_empty()) {
            (false, _) => Vec::new(),
            (true, true) => core_affinity::get_core_ids().unwrap_or_default(),
            (true, false) => config
                .cores
                .iter()
                .map(|&id| core_affinity::CoreId { id })
                .collect(),
        };
        let startup = Arc::new(Barrier::new(config.workers));
        let ready = Arc::new(AtomicUsize::new(0));
        let workers = (0..config.workers)
            .map(|w| {
                let shared = Arc::clone(&shared);
                let rx = tasks_rx.clone();
                let core = (!cores.is_empty()).then(|| cores[w % cores.len()]);
                let startup = Arc::clone(&startup);
                let ready = Arc::clone(&ready);
                std::thread::Builder::new()
                    .name(format!("ranlab-worker-{w}"))
                    .spawn(move || {
                        if let Some(c) = core {
                            core_affinity::set_for_current(c);
                        }
                        worker_loop(&shared, &rx, &startup, &ready)
                    })
                    .expect("spawning a worker thread")
            })
            .collect();
        while ready.load(Ordering::Acquire) < config.workers {
            std::thread::sleep(Duration::from_millis(1));
        }
        // The driving thread (the one that builds the pipeline and waits for
        // completions) gets crossbeam's waiting context now, too.
        // It waits once on the (empty) completion queue, so that queue's
        // waiter list is allocated here as well.
        let _ = done_rx.recv_timeout(Duration::from_millis(1));
        let free = ArrayQueue::new(pool);
        for i in 0..pool as u32 {
            let _ = free.push(i);
        }
        Pipeline {
            shared,
            free,
            done_rx,
            workers,
        }
    }

    /// Takes a free slot state to fill with a new slot's input, or says why not.
    /// On `Err` the slot is counted as dropped.
    pub fn acquire(&self) -> Result<usize, DropReason> {
        match self.free.pop() {
            Some(i) => Ok(i as usize),
            None => {
                self.shared
                    .metrics
                    .dropped_behind
                    .fetch_add(1, Ordering::Relaxed);
                Err(DropReason::PipelineBehind)
            }
        }
    }

    /// The slot state at `index` (to fill before [`Pipeline::start`], to read after completion).
    pub fn slot(&self, index: usize) -> &J::Slot {
        &self.shared.slots[index]
    }

    /// Starts processing an acquired slot that arrived at `arrival`.
    pub fn start(&self, index: usize, arrival: Instant) {
        let sh = &self.shared;
        let c = &sh.control[index];
        c.done.store(false, Ordering::Release);
        c.ticket
            .store(sh.tickets.fetch_add(1, Ordering::AcqRel), Ordering::Release);
        *c.arrival.lock().unwrap_or_else(|e| e.into_inner()) = Some(arrival);
        let n = sh.in_flight.fetch_add(1, Ordering::AcqRel) + 1;
        sh.metrics.max_in_flight.fetch_max(n, Ordering::Relaxed);
        begin_stage(sh, index as u32, 0);
    }

    /// Waits up to `timeout` for a completed slot.
    pub fn next_completed(&self, timeout: Duration) -> Option<Completed> {
        let (index, latency) = self.done_rx.recv_timeout(timeout).ok()?;
        self.shared.control[index as usize]
            .done
            .store(false, Ordering::Release);
        Some(Completed {
            index: index as usize,
            latency,
            missed_deadline: latency > self.shared.deadline,
        })
    }

    /// True (once) when slot `index` has completed since it was started.
    pub fn take_completed(&self, index: usize) -> bool {
        self.shared.control[index]
            .done
            .swap(false, Ordering::AcqRel)
    }

    /// Waits up to `timeout` for slot `index` to complete: lets a driver take
    /// results in the order it started slots, whatever order they finish in.
    /// Use either this or [`Pipeline::next_completed`] in one program.
    pub fn wait_completed(&self, index: usize, timeout: Duration) -> bool {
        let until = Instant::now() + timeout;
        loop {
            if self.take_completed(index) {
                return true;
            }
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            // Any completion wakes us; the flag says whose.
            let _ = self
                .done_rx
                .recv_timeout(left.min(Duration::from_millis(5)));
        }
    }

    /// Returns a completed slot's state to the pool.
    pub fn release(&self, index: usize) {
        let _ = self.free.push(index as u32);
    }

    /// Slots in flight now.
    pub fn in_flight(&self) -> usize {
        self.shared.in_flight.load(Ordering::Acquire)
    }

    /// The metrics so far.
    pub fn metrics(&self) -> &PipelineMetrics {
        &self.shared.metrics
    }

    /// The job.
    pub fn job(&self) -> &J {
        &self.shared.job
    }
}

impl<J: SlotJob> Drop for Pipeline<J> {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
    }
}

/// Starts `stage` of `slot` (or completes the slot after the last stage),
/// skipping stages without tasks, entering, waiting for or leaving the job's
/// exclusive stages on the way.
fn begin_stage<J: SlotJob>(sh: &Shared<J>, slot: u32, mut stage: usize) {
    let n_stages = sh.job.stages().len();
    let c = &sh.control[slot as usize];
    let st = &sh.slots[slot as usize];
    let section = sh.job.exclusive_stages();
    loop {
        if let Some((first, last)) = section {
            let inside = (first..=last).contains(&stage);
            let mut sec = sh.section.lock().unwrap_or_else(|e| e.into_inner());
            if inside && sec.holder != Some(slot) {
                if sec.holder.is_some() || c.ticket.load(Ordering::Acquire) != sec.next {
                    // Wait: the slot before it starts this stage when it leaves.
                    sec.waiting.push_back((slot, stage));
                    return;
                }
                sec.holder = Some(slot);
            } else if !inside && sec.holder == Some(slot) {
                sec.holder = None;
                sec.next += 1;
                let next = sec.next;
                let turn = sec.waiting.iter().position(|&(s, _)| {
                    sh.control[s as usize].ticket.load(Ordering::Acquire) == next
                });
                if let Some((next, next_stage)) = turn.and_then(|i| sec.waiting.remove(i)) {
                    sec.holder = Some(next);
                    drop(sec);
                    begin_stage(sh, next, next_stage);
                }
            }
        }
        if stage >= n_stages {
            let arrival = c.arrival.lock().unwrap_or_else(|e| e.into_inner()).take();
            let latency = arrival.map(|a| a.elapsed()).unwrap_or_default();
            sh.metrics.slot_latency.record(latency);
            sh.metrics.completed.fetch_add(1, Ordering::Relaxed);
            if latency > sh.deadline {
                sh.metrics.deadline_misses.fetch_add(1, Ordering::Relaxed);
            }
            sh.in_flight.fetch_sub(1, Ordering::AcqRel);
            c.done.store(true, Ordering::Release);
            // The `done` flag is the truth; the message wakes a waiting driver.
            // A driver that takes results by flag (`wait_completed`) leaves
            // messages behind, so never block on a full queue: with at most
            // `pool` slots in flight, a `next_completed` driver always has room.
            let _ = sh.done_tx.try_send((slot, latency));
            return;
        }
        let n = sh.job.task_count(st, stage);
        if n == 0 {
            stage += 1;
            continue;
        }
        c.stage.store(stage, Ordering::Relaxed);
        *c.stage_start.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
        c.remaining.store(n, Ordering::Release);
        for index in 0..n {
            let t = Task {
                slot,
                stage: stage as u16,
                index: index as u32,
            };
            match sh.tasks_tx.try_send(t) {
                Ok(()) => {}
                // A full queue means a job reported more tasks than the queue holds:
                // run the task inline rather than lose it.
                Err(TrySendError::Full(t)) => {
                    sh.metrics.inline_tasks.fetch_add(1, Ordering::Relaxed);
                    run_one(sh, t);
                }
                Err(TrySendError::Disconnected(_)) => return,
            }
        }
        sh.metrics
            .max_queue_depth
            .fetch_max(sh.tasks_tx.len(), Ordering::Relaxed);
        return;
    }
}

fn run_one<J: SlotJob>(sh: &Shared<J>, t: Task) {
    let st = &sh.slots[t.slot as usize];
    let started = Instant::now();
    sh.job.run_task(st, t.stage as usize, t.index as usize);
    sh.metrics.task_time[t.stage as usize].record(started.elapsed());
    let c = &sh.control[t.slot as usize];
    if c.remaining.fetch_sub(1, Ordering::AcqRel) == 1 {
        if let Some(s) = *c.stage_start.lock().unwrap_or_else(|e| e.into_inner()) {
            sh.metrics.stage_latency[t.stage as usize].record(s.elapsed());
        }
        begin_stage(sh, t.slot, t.stage as usize + 1);
    }
}

fn worker_loop<J: SlotJob>(
    sh: &Shared<J>,
    rx: &Receiver<Task>,
    startup: &Barrier,
    ready: &AtomicUsize,
) {
    // Start-up: every worker waits on the (still empty) task queue at the same
    // time once, so crossbeam allocates its per-thread waiting context and
    // grows the queue's waiter list now, not in the first busy slot.
    startup.wait();
    let _ = rx.recv_timeout(Duration::from_millis(50));
    ready.fetch_add(1, Ordering::AcqRel);
    while !sh.stop.load(Ordering::Acquire) {
        match rx.recv_timeout(Duration::from_millis(20)) {
            Ok(t) => run_one(sh, t),
            Err(crossbeam::channel::RecvTimeoutError::Timeout) => {}
            Err(crossbeam::channel::RecvTimeoutError::Disconnected) => return,
        }
    }
}

#[cfg(test)]
mod tests;
