//! Logging of stream faults: once per burst of events, not once per event.
//!
//! A host that stalls produces hundreds of overflows in a second; printing
//! each would make it stall more. The first event of a burst is printed with
//! where it happened, the rest are only counted, and when the next burst
//! starts (or the stream stops) the size of the previous one is printed.
//! Events of one kind closer than [`QUIET`] apart belong to one burst.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Events of one kind further apart than this start a new burst.
pub const QUIET: Duration = Duration::from_secs(1);

/// The kind of a stream fault, as counted in [`crate::RadioEvents`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// Receive overflow.
    Overflow,
    /// Transmit underflow.
    Underflow,
    /// Burst arrived after its time.
    Late,
    /// Timestamp error.
    TimeError,
}

impl EventKind {
    fn name(self) -> &'static str {
        match self {
            EventKind::Overflow => "overflow",
            EventKind::Underflow => "underflow",
            EventKind::Late => "late burst",
            EventKind::TimeError => "time error",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

#[derive(Default, Clone, Copy)]
struct Burst {
    last: Option<Instant>,
    count: u64,
}

/// Rate-limited fault log for one device (`device` names it in each line).
pub struct EventLog {
    device: String,
    bursts: Mutex<[Burst; 4]>,
}

impl EventLog {
    /// A log for the named device.
    pub fn new(device: &str) -> Self {
        EventLog {
            device: device.into(),
            bursts: Mutex::new([Burst::default(); 4]),
        }
    }

    /// Records one event; prints when it starts a burst.
    pub fn note(&self, kind: EventKind, detail: &str) {
        let now = Instant::now();
        let mut b = self.bursts.lock().unwrap_or_else(|e| e.into_inner());
        let burst = &mut b[kind.index()];
        let new_burst = burst.last.is_none_or(|t| now.duration_since(t) > QUIET);
        if new_burst {
            if burst.count > 1 {
                eprintln!(
                    "radio {}: previous {} burst: {} events",
                    self.device,
                    kind.name(),
                    burst.count
                );
            }
            eprintln!(
                "radio {}: {} at {detail}; recovering at the next slot boundary (further events in this burst are counted, not printed)",
                self.device,
                kind.name()
            );
            burst.count = 0;
        }
        burst.count += 1;
        burst.last = Some(now);
    }

    /// Prints the size of bursts still open (at stop).
    pub fn flush(&self) {
        let mut b = self.bursts.lock().unwrap_or_else(|e| e.into_inner());
        for (i, burst) in b.iter_mut().enumerate() {
            if burst.count > 1 {
                let kind = [
                    EventKind::Overflow,
                    EventKind::Underflow,
                    EventKind::Late,
                    EventKind::TimeError,
                ][i];
                eprintln!(
                    "radio {}: last {} burst: {} events",
                    self.device,
                    kind.name(),
                    burst.count
                );
            }
            *burst = Burst::default();
        }
    }
}
