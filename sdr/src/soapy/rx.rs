//! The dedicated receive thread of a SoapySDR device.
//!
//! It reads CS16 blocks from the device into buffers taken from a fixed pool
//! and hands them on through a bounded channel; the consumer converts them to
//! `Complex32` and returns the buffers. Nothing is allocated while streaming.
//! When the consumer falls behind, the pool runs dry, the thread waits and
//! the device overflows: that is counted where the device reports it, which
//! keeps the thread itself simple and the count honest.

use super::device::{code, flag, Stream};
use super::events::{EventKind, EventLog};
use crate::radio::RadioEvents;
use crossbeam::channel::{bounded, Receiver, RecvTimeoutError, Sender};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// One received block: per-channel interleaved CS16.
pub struct RxBlock {
    /// One CS16 buffer per channel (capacity: the pool's block size).
    pub data: Vec<Vec<i16>>,
    /// Valid samples per channel.
    pub samples: usize,
    /// Device time of the first sample, ns, when the device stamped it.
    pub time_ns: Option<i64>,
    /// Samples were lost just before this block.
    pub overflow: bool,
    /// The device flagged the end of a burst.
    pub end_of_burst: bool,
    /// A stream error the consumer should see.
    pub error: Option<String>,
}

/// The running RX thread and its pool.
pub struct RxWorker {
    handle: Option<JoinHandle<Stream>>,
    stop: Arc<AtomicBool>,
    /// Filled blocks, in device order.
    pub filled: Receiver<RxBlock>,
    /// Return path of emptied blocks.
    pub free: Sender<RxBlock>,
    /// Device time (ns) just after the newest sample read, `i64::MIN` before the first.
    pub head_ns: Arc<AtomicI64>,
}

/// How long one device read may block, so the thread notices a stop request.
const READ_TIMEOUT_US: i64 = 100_000;

impl RxWorker {
    /// Starts the thread over an activated stream with `buffers` blocks of `block` samples.
    pub fn spawn(
        mut stream: Stream,
        channels: usize,
        block: usize,
        buffers: usize,
        sample_rate: f64,
        events: Arc<RadioEvents>,
        log: Arc<EventLog>,
    ) -> std::io::Result<Self> {
        let (free_tx, free_rx) = bounded::<RxBlock>(buffers);
        let (filled_tx, filled_rx) = bounded::<RxBlock>(buffers);
        for _ in 0..buffers {
            free_tx
                .send(RxBlock {
                    data: vec![vec![0i16; 2 * block]; channels],
                    samples: 0,
                    time_ns: None,
                    overflow: false,
                    end_of_burst: false,
                    error: None,
                })
                .expect("pool channel has room for every buffer");
        }
        let stop = Arc::new(AtomicBool::new(false));
        let head_ns = Arc::new(AtomicI64::new(i64::MIN));
        let (stop2, head2) = (Arc::clone(&stop), Arc::clone(&head_ns));
        let ns_per_sample = 1e9 / sample_rate;
        let handle = std::thread::Builder::new()
            .name("ranlab-soapy-rx".into())
            .spawn(move || {
                let mut lost = false;
                'blocks: while !stop2.load(Ordering::Relaxed) {
                    let mut blk = match free_rx.recv_timeout(Duration::from_millis(100)) {
                        Ok(b) => b,
                        Err(RecvTimeoutError::Timeout) => continue,
                        Err(RecvTimeoutError::Disconnected) => break,
                    };
                    loop {
                        if stop2.load(Ordering::Relaxed) {
                            break 'blocks;
                        }
                        let mut bufs: Vec<&mut [i16]> =
                            blk.data.iter_mut().map(|b| b.as_mut_slice()).collect();
                        match stream.read(&mut bufs, READ_TIMEOUT_US) {
                            Ok(r) if r.samples > 0 => {
                                blk.samples = r.samples;
                                blk.time_ns = (r.flags & flag::HAS_TIME != 0).then_some(r.time_ns);
                                blk.end_of_burst = r.flags & flag::END_BURST != 0;
                                blk.overflow = std::mem::take(&mut lost);
                                blk.error = None;
                                if let Some(t) = blk.time_ns {
                                    let end = t + (r.samples as f64 * ns_per_sample).round() as i64;
                                    head2.store(end, Ordering::Relaxed);
                                }
                                break;
                            }
                            Ok(_) => continue,
                            Err((e, r)) => match e.code {
                                code::TIMEOUT => continue,
                                code::OVERFLOW => {
                                    RadioEvents::count(&events.overflows);
                                    let at = (r.flags & flag::HAS_TIME != 0)
                                        .then(|| format!("device time {} ns", r.time_ns))
                                        .unwrap_or_else(|| "an unknown time".into());
                                    log.note(EventKind::Overflow, &at);
                                    lost = true;
                                }
                                code::TIME_ERROR => {
                                    RadioEvents::count(&events.time_errors);
                                    log.note(EventKind::TimeError, "receive stream");
                                    lost = true;
                                }
                                _ => {
                                    blk.samples = 0;
                                    blk.error = Some(e.to_string());
                                    break;
                                }
                            },
                        }
                    }
                    if filled_tx.send(blk).is_err() {
                        break;
                    }
                }
                stream
            })?;
        Ok(RxWorker {
            handle: Some(handle),
            stop,
            filled: filled_rx,
            free: free_tx,
            head_ns,
        })
    }

    /// Stops the thread and gives the stream back.
    pub fn join(mut self) -> Option<Stream> {
        self.stop.store(true, Ordering::Relaxed);
        self.handle.take().and_then(|h| h.join().ok())
    }
}

impl Drop for RxWorker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}
