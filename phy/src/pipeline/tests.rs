use super::*;
use std::sync::Mutex;

/// Stage 0 squares blocks of the input in parallel, stage 1 sums them.
struct SumOfSquares {
    blocks: usize,
    delay: Duration,
}

struct SlotState {
    input: Mutex<Vec<u64>>,
    partial: Vec<Mutex<u64>>,
    total: Mutex<u64>,
}

impl SlotJob for SumOfSquares {
    type Slot = SlotState;
    fn stages(&self) -> &'static [&'static str] {
        &["square", "sum"]
    }
    fn task_count(&self, _slot: &SlotState, stage: usize) -> usize {
        if stage == 0 {
            self.blocks
        } else {
            1
        }
    }
    fn run_task(&self, slot: &SlotState, stage: usize, task: usize) {
        if !self.delay.is_zero() {
            std::thread::sleep(self.delay);
        }
        if stage == 0 {
            let input = slot.input.lock().unwrap();
            let per = input.len().div_ceil(self.blocks);
            let s: u64 = input.iter().skip(task * per).take(per).map(|x| x * x).sum();
            *slot.partial[task].lock().unwrap() = s;
        } else {
            *slot.total.lock().unwrap() = slot.partial.iter().map(|p| *p.lock().unwrap()).sum();
        }
    }
}

fn pool(n: usize, blocks: usize) -> Vec<SlotState> {
    (0..n)
        .map(|_| SlotState {
            input: Mutex::new(vec![0; 1000]),
            partial: (0..blocks).map(|_| Mutex::new(0)).collect(),
            total: Mutex::new(0),
        })
        .collect()
}

fn run(workers: usize, slots: u64) -> Vec<u64> {
    let job = Arc::new(SumOfSquares {
        blocks: 7,
        delay: Duration::ZERO,
    });
    let p = Pipeline::new(
        job,
        pool(4, 7),
        PipelineConfig {
            workers,
            pin: false,
            cores: Vec::new(),
            deadline: Duration::from_secs(1),
        },
    );
    let mut results = vec![0; slots as usize];
    let mut started = 0u64;
    let mut owner = [0u64; 4];
    let mut done = 0;
    while done < slots {
        while started < slots {
            let Ok(i) = p.acquire() else { break };
            p.slot(i)
                .input
                .lock()
                .unwrap()
                .iter_mut()
                .enumerate()
                .for_each(|(k, x)| *x = k as u64 + started);
            owner[i] = started;
            p.start(i, Instant::now());
            started += 1;
        }
        let c = p
            .next_completed(Duration::from_secs(5))
            .expect("slot completes");
        results[owner[c.index] as usize] = *p.slot(c.index).total.lock().unwrap();
        p.release(c.index);
        done += 1;
    }
    // acquire() failures above were back-pressure in this test, not real slots: don't count them.
    assert_eq!(p.metrics().completed.load(Ordering::Relaxed), slots);
    results
}

#[test]
fn results_are_correct_and_identical_with_one_or_two_workers() {
    let expect: Vec<u64> = (0..50u64)
        .map(|s| (0..1000u64).map(|k| (k + s) * (k + s)).sum())
        .collect();
    assert_eq!(run(1, 50), expect);
    assert_eq!(run(2, 50), expect);
    assert_eq!(run(3, 50), expect);
}

#[test]
fn overload_drops_whole_slots_and_memory_stays_bounded() {
    // Each slot needs ~7 x 2 ms of work on one worker; offer one every 1 ms.
    let job = Arc::new(SumOfSquares {
        blocks: 7,
        delay: Duration::from_millis(2),
    });
    let p = Pipeline::new(
        job,
        pool(3, 7),
        PipelineConfig {
            workers: 1,
            pin: false,
            cores: Vec::new(),
            deadline: Duration::from_millis(5),
        },
    );
    let (mut offered, mut dropped, mut completed) = (0, 0, 0);
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_millis(300) {
        offered += 1;
        match p.acquire() {
            Ok(i) => p.start(i, Instant::now()),
            Err(DropReason::PipelineBehind) => dropped += 1,
        }
        assert!(p.in_flight() <= 3, "in-flight slots exceed the pool");
        while let Some(c) = p.next_completed(Duration::from_millis(0)) {
            completed += 1;
            p.release(c.index);
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    while p.in_flight() > 0 {
        if let Some(c) = p.next_completed(Duration::from_secs(2)) {
            completed += 1;
            p.release(c.index);
        }
    }
    while let Some(c) = p.next_completed(Duration::from_millis(10)) {
        completed += 1;
        p.release(c.index);
    }
    let m = p.metrics();
    assert!(dropped > 0, "an overloaded pipeline must drop slots");
    assert_eq!(m.dropped_behind.load(Ordering::Relaxed), dropped);
    assert_eq!(
        offered,
        dropped + completed,
        "every slot is completed or dropped"
    );
    assert!(m.max_in_flight.load(Ordering::Relaxed) <= 3);
    assert!(m.deadline_misses.load(Ordering::Relaxed) > 0);
    assert!(m.task_time[0].count() >= 7 * completed);
}

/// Stage 0 (open) finds how many tasks stage 2 has; stages 1..=3 are
/// exclusive: the job checks that no two slots are ever inside at once and
/// that they enter in start order, though stage 0 takes longer for even
/// slots (so later slots often reach stage 1 first).
struct Exclusive {
    owner: Mutex<Option<u64>>,
    violations: AtomicU64,
    entered: AtomicU64,
    out_of_order: AtomicU64,
}

struct ExSlot {
    id: AtomicU64,
    /// Stage-2 tasks, set by stage 0 (0 skips stage 2).
    n2: AtomicUsize,
    done2: AtomicUsize,
    done3: AtomicUsize,
    result: AtomicU64,
}

impl Exclusive {
    fn inside(&self, slot: &ExSlot) {
        let id = slot.id.load(Ordering::Acquire);
        let mut o = self.owner.lock().unwrap();
        match *o {
            None => {
                *o = Some(id);
                if self.entered.fetch_add(1, Ordering::Relaxed) != id {
                    self.out_of_order.fetch_add(1, Ordering::Relaxed);
                }
            }
            Some(x) if x == id => {}
            Some(_) => {
                self.violations.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

impl SlotJob for Exclusive {
    type Slot = ExSlot;
    fn stages(&self) -> &'static [&'static str] {
        &["open", "enter", "variable", "leave"]
    }
    fn task_count(&self, slot: &ExSlot, stage: usize) -> usize {
        match stage {
            0 => 3,
            2 => slot.n2.load(Ordering::Acquire),
            _ => 2,
        }
    }
    fn exclusive_stages(&self) -> Option<(usize, usize)> {
        Some((1, 3))
    }
    fn run_task(&self, slot: &ExSlot, stage: usize, task: usize) {
        let id = slot.id.load(Ordering::Acquire);
        let extra = if stage == 0 && id.is_multiple_of(2) {
            600
        } else {
            0
        };
        std::thread::sleep(Duration::from_micros(200 + extra));
        match stage {
            0 => {
                if task == 0 {
                    // 0, 1, .., 4 tasks: every third slot skips stage 2.
                    slot.n2.store((id % 5) as usize, Ordering::Release);
                }
            }
            1 => self.inside(slot),
            2 => {
                self.inside(slot);
                slot.done2.fetch_add(1, Ordering::AcqRel);
            }
            _ => {
                self.inside(slot);
                if task == 1 {
                    slot.result
                        .store(slot.done2.load(Ordering::Acquire) as u64, Ordering::Release);
                }
                // The section's last task: the slot leaves (the pipeline lets
                // the next one in only after this returns).
                if slot.done3.fetch_add(1, Ordering::AcqRel) == 1 {
                    *self.owner.lock().unwrap() = None;
                }
            }
        }
    }
}

fn run_exclusive(workers: usize, slots: u64) {
    let job = Arc::new(Exclusive {
        owner: Mutex::new(None),
        violations: AtomicU64::new(0),
        entered: AtomicU64::new(0),
        out_of_order: AtomicU64::new(0),
    });
    let pool = (0..4)
        .map(|_| ExSlot {
            id: AtomicU64::new(0),
            n2: AtomicUsize::new(0),
            done2: AtomicUsize::new(0),
            done3: AtomicUsize::new(0),
            result: AtomicU64::new(u64::MAX),
        })
        .collect();
    let p = Pipeline::new(
        Arc::clone(&job),
        pool,
        PipelineConfig {
            workers,
            pin: false,
            cores: Vec::new(),
            deadline: Duration::from_secs(1),
        },
    );
    let (mut started, mut done) = (0u64, 0u64);
    let mut max_in_flight = 0;
    while done < slots {
        while started < slots {
            let Ok(i) = p.acquire() else { break };
            let s = p.slot(i);
            s.id.store(started, Ordering::Release);
            s.done2.store(0, Ordering::Release);
            s.done3.store(0, Ordering::Release);
            s.result.store(u64::MAX, Ordering::Release);
            p.start(i, Instant::now());
            started += 1;
        }
        max_in_flight = max_in_flight.max(p.in_flight());
        let c = p
            .next_completed(Duration::from_secs(5))
            .expect("slot completes (no deadlock)");
        let s = p.slot(c.index);
        let id = s.id.load(Ordering::Acquire);
        assert_eq!(s.result.load(Ordering::Acquire), id % 5, "slot {id}");
        p.release(c.index);
        done += 1;
    }
    assert!(max_in_flight > 1, "slots overlapped");
    assert_eq!(
        job.violations.load(Ordering::Relaxed),
        0,
        "{workers} workers"
    );
    assert_eq!(job.entered.load(Ordering::Relaxed), slots);
    assert_eq!(
        job.out_of_order.load(Ordering::Relaxed),
        0,
        "{workers} workers: a slot entered the exclusive stages before an earlier one"
    );
}

#[test]
fn exclusive_stages_hold_one_slot_at_a_time_without_deadlock() {
    for workers in [1, 2, 3] {
        run_exclusive(workers, 40);
    }
}
