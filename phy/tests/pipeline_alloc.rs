//! The steady state of the slot pipeline allocates nothing: after warm-up,
//! a stream of slots runs through a counting global allocator with zero
//! allocations.

use ranlab_phy::pipeline::{Pipeline, PipelineConfig, SlotJob};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

mod common;

#[global_allocator]
static GLOBAL: common::Counting = common::Counting;

struct Scale;
struct Buf {
    data: Vec<Mutex<Vec<f32>>>,
}

impl SlotJob for Scale {
    type Slot = Buf;
    fn stages(&self) -> &'static [&'static str] {
        &["scale", "accumulate"]
    }
    fn task_count(&self, s: &Buf, stage: usize) -> usize {
        if stage == 0 {
            s.data.len()
        } else {
            1
        }
    }
    fn run_task(&self, s: &Buf, stage: usize, task: usize) {
        if stage == 0 {
            s.data[task]
                .lock()
                .unwrap()
                .iter_mut()
                .for_each(|x| *x = *x * 0.5 + 1.0);
        } else {
            let t: f32 = s.data.iter().map(|d| d.lock().unwrap()[0]).sum();
            s.data[0].lock().unwrap()[1] = t;
        }
    }
}

#[test]
fn steady_state_allocates_nothing() {
    for workers in [1, 2] {
        let pool = (0..4)
            .map(|_| Buf {
                data: (0..8).map(|_| Mutex::new(vec![1.0; 4096])).collect(),
            })
            .collect();
        let p = Pipeline::new(
            Arc::new(Scale),
            pool,
            PipelineConfig {
                workers,
                pin: false,
                cores: Vec::new(),
                deadline: Duration::from_secs(1),
            },
        );
        let run = |n: usize| {
            for _ in 0..n {
                let i = p.acquire().expect("one slot at a time never drops");
                p.start(i, Instant::now());
                let c = p.next_completed(Duration::from_secs(5)).expect("completes");
                p.release(c.index);
            }
        };
        run(50); // warm-up: thread-locals, channel wakers
        let allocs = common::count_allocations(|| run(500));
        assert_eq!(
            allocs, 0,
            "allocations in the steady state with {workers} workers"
        );
    }
}

#[test]
fn the_counter_sees_allocations() {
    // Guards the tests above: a counter that never counts would pass them.
    let n = common::count_allocations(|| {
        std::hint::black_box(vec![0u8; 64]);
    });
    assert!(n >= 1);
}
