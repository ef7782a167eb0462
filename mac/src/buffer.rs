//! Uplink transmit buffers with per-packet arrival times, and the accounting
//! that follows every packet to its end.
//!
//! A packet enters with [`TxBuffer::push`], is cut into segments when a
//! transport block is filled ([`TxBuffer::take`]), and ends exactly once:
//! delivered when every byte was acknowledged (its latency is recorded),
//! dropped when a HARQ process carrying part of it failed for good, or dropped
//! when its discard timer (PDCP discardTimer, TS 38.323 §5.2.2.1) expired
//! before any byte was sent. Nothing else removes a packet, so at any time
//! `packets_in == delivered + dropped_harq + dropped_expired + queued`.

use std::collections::VecDeque;

/// Time in microseconds since the start of the run.
pub type Micros = u64;

/// A piece of a packet carried in a transport block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment {
    /// Logical channel of the packet.
    pub lcid: u8,
    /// Sequence number of the packet within its logical channel.
    pub seq: u64,
    /// Bytes of the packet in this segment.
    pub bytes: u32,
}

#[derive(Debug, Clone)]
struct Packet {
    arrival_us: Micros,
    size: u32,
    sent: u32,
    acked: u32,
    done: bool,
}

/// Per-buffer counters; every packet that entered is in exactly one of
/// delivered, dropped_harq, dropped_expired or queued.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    /// Packets that entered the buffer.
    pub packets_in: u64,
    /// Bytes that entered the buffer.
    pub bytes_in: u64,
    /// Packets delivered completely.
    pub delivered: u64,
    /// Bytes of delivered packets.
    pub delivered_bytes: u64,
    /// Packets dropped because a HARQ process carrying them failed.
    pub dropped_harq: u64,
    /// Packets dropped by the discard timer before transmission.
    pub dropped_expired: u64,
}

impl Counters {
    /// Packets dropped for any reason.
    pub fn dropped(&self) -> u64 {
        self.dropped_harq + self.dropped_expired
    }
    /// Packets neither delivered nor dropped yet (waiting or in flight).
    pub fn queued(&self) -> u64 {
        self.packets_in - self.delivered - self.dropped()
    }
    /// Adds another buffer's counters.
    pub fn add(&mut self, o: &Counters) {
        self.packets_in += o.packets_in;
        self.bytes_in += o.bytes_in;
        self.delivered += o.delivered;
        self.delivered_bytes += o.delivered_bytes;
        self.dropped_harq += o.dropped_harq;
        self.dropped_expired += o.dropped_expired;
    }
}

/// The transmit buffer of one logical channel.
#[derive(Debug, Clone)]
pub struct TxBuffer {
    lcid: u8,
    packets: VecDeque<Packet>,
    /// Sequence number of `packets[0]`.
    front_seq: u64,
    /// Index in `packets` of the first packet with unsent bytes (or len).
    cursor: usize,
    unsent: u64,
    discard_us: Option<Micros>,
    counters: Counters,
    latencies_ms: Vec<f32>,
}

impl TxBuffer {
    /// An empty buffer for logical channel `lcid`; packets that wait longer
    /// than `discard_ms` without being sent are dropped (infinite: never).
    pub fn new(lcid: u8, discard_ms: f64) -> TxBuffer {
        TxBuffer {
            lcid,
            packets: VecDeque::new(),
            front_seq: 0,
            cursor: 0,
            unsent: 0,
            discard_us: discard_ms
                .is_finite()
                .then(|| (discard_ms * 1e3).round() as Micros),
            counters: Counters::default(),
            latencies_ms: Vec::new(),
        }
    }

    /// A packet of `size` bytes arrives at `now`. Empty packets are ignored.
    pub fn push(&mut self, now: Micros, size: u32) {
        if size == 0 {
            return;
        }
        self.packets.push_back(Packet {
            arrival_us: now,
            size,
            sent: 0,
            acked: 0,
            done: false,
        });
        self.unsent += size as u64;
        self.counters.packets_in += 1;
        self.counters.bytes_in += size as u64;
    }

    /// Bytes waiting to be sent (the true buffer occupancy).
    pub fn unsent_bytes(&self) -> u64 {
        self.unsent
    }

    /// Arrival time of the oldest packet with unsent bytes.
    pub fn head_arrival(&self) -> Option<Micros> {
        self.packets
            .iter()
            .skip(self.cursor)
            .find(|p| !p.done && p.sent < p.size)
            .map(|p| p.arrival_us)
    }

    /// The counters.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// Latencies of delivered packets, ms, in delivery order.
    pub fn latencies_ms(&self) -> &[f32] {
        &self.latencies_ms
    }

    /// Moves up to `max_bytes` of unsent data, oldest first, into a transport
    /// block; the segments are appended to `out`. Returns the bytes taken.
    pub fn take(&mut self, max_bytes: u64, out: &mut Vec<Segment>) -> u64 {
        let mut left = max_bytes;
        while left > 0 && self.cursor < self.packets.len() {
            let p = &mut self.packets[self.cursor];
            if p.done || p.sent == p.size {
                self.cursor += 1;
                continue;
            }
            let n = ((p.size - p.sent) as u64).min(left) as u32;
            p.sent += n;
            left -= n as u64;
            self.unsent -= n as u64;
            out.push(Segment {
                lcid: self.lcid,
                seq: self.front_seq + self.cursor as u64,
                bytes: n,
            });
            if p.sent == p.size {
                self.cursor += 1;
            }
        }
        max_bytes - left
    }

    /// Drops packets whose discard timer expired before any byte was sent.
    pub fn expire(&mut self, now: Micros) {
        let Some(limit) = self.discard_us else { return };
        let mut i = self.cursor;
        while i < self.packets.len() {
            let p = &mut self.packets[i];
            if p.done || p.sent > 0 {
                // A partly sent packet is finished, not discarded.
                i += 1;
                continue;
            }
            if now.saturating_sub(p.arrival_us) <= limit {
                break; // packets are in arrival order: the rest are younger
            }
            p.done = true;
            self.unsent -= (p.size - p.sent) as u64;
            p.sent = p.size;
            self.counters.dropped_expired += 1;
            i += 1;
        }
        self.pop_done();
    }

    /// Segments acknowledged at `now` (their transport block passed CRC).
    pub fn on_delivered(&mut self, now: Micros, segs: &[Segment]) {
        let lcid = self.lcid;
        for s in segs.iter().filter(|s| s.lcid == lcid) {
            let Some(p) = self.packet_mut(s.seq) else {
                continue;
            };
            if p.done {
                continue;
            }
            p.acked += s.bytes;
            if p.acked >= p.size {
                p.done = true;
                let ms = (now.saturating_sub(p.arrival_us)) as f32 / 1e3;
                let size = p.size as u64;
                self.counters.delivered += 1;
                self.counters.delivered_bytes += size;
                self.latencies_ms.push(ms);
            }
        }
        self.pop_done();
    }

    /// Segments lost for good (their HARQ process reached the maximum number
    /// of transmissions): each packet they belong to is dropped, including
    /// its bytes not yet sent.
    pub fn on_lost(&mut self, segs: &[Segment]) {
        let lcid = self.lcid;
        for s in segs.iter().filter(|s| s.lcid == lcid) {
            let Some(p) = self.packet_mut(s.seq) else {
                continue;
            };
            if p.done {
                continue;
            }
            p.done = true;
            let unsent = (p.size - p.sent) as u64;
            p.sent = p.size;
            self.unsent -= unsent;
            self.counters.dropped_harq += 1;
        }
        self.pop_done();
    }

    fn packet_mut(&mut self, seq: u64) -> Option<&mut Packet> {
        let idx = seq.checked_sub(self.front_seq)? as usize;
        self.packets.get_mut(idx)
    }

    fn pop_done(&mut self) {
        while self.packets.front().is_some_and(|p| p.done) {
            self.packets.pop_front();
            self.front_seq += 1;
            self.cursor = self.cursor.saturating_sub(1);
        }
    }

    /// Packets still queued (waiting or in flight), counted directly.
    pub fn queued_packets(&self) -> u64 {
        self.packets.iter().filter(|p| !p.done).count() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn segments_deliver_and_record_latency() {
        let mut b = TxBuffer::new(1, f64::INFINITY);
        b.push(0, 1000);
        b.push(100, 500);
        let mut segs = Vec::new();
        assert_eq!(b.take(700, &mut segs), 700);
        assert_eq!(b.unsent_bytes(), 800);
        b.on_delivered(2_000, &segs);
        assert_eq!(b.counters().delivered, 0, "first packet only partly acked");
        let mut segs2 = Vec::new();
        assert_eq!(b.take(10_000, &mut segs2), 800);
        b.on_delivered(5_000, &segs2);
        assert_eq!(b.counters().delivered, 2);
        assert_eq!(b.latencies_ms(), &[5.0, 4.9]);
        assert_eq!(b.queued_packets(), 0);
    }

    #[test]
    fn lost_segment_drops_whole_packet_and_expiry_spares_started_packets() {
        let mut b = TxBuffer::new(1, 10.0);
        b.push(0, 1000);
        b.push(0, 1000);
        let mut segs = Vec::new();
        b.take(500, &mut segs);
        b.on_lost(&segs);
        assert_eq!(b.counters().dropped_harq, 1);
        assert_eq!(b.unsent_bytes(), 1000);
        b.push(20_000, 100);
        b.expire(15_000);
        assert_eq!(b.counters().dropped_expired, 1);
        assert_eq!(b.unsent_bytes(), 100);
        assert_eq!(b.head_arrival(), Some(20_000));
    }

    #[derive(Debug, Clone)]
    enum Op {
        Arrive(u32),
        Send(u32),
        Ack(usize),
        Lose(usize),
        Tick(u32),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (1u32..3000).prop_map(Op::Arrive),
            (1u32..5000).prop_map(Op::Send),
            (0usize..8).prop_map(Op::Ack),
            (0usize..8).prop_map(Op::Lose),
            (0u32..30_000).prop_map(Op::Tick),
        ]
    }

    proptest! {
        /// packets in = delivered + dropped + queued, under random traffic,
        /// transmissions, acknowledgements, losses and expiries.
        #[test]
        fn nothing_vanishes(ops in proptest::collection::vec(op(), 1..300)) {
            let mut b = TxBuffer::new(3, 20.0);
            let mut now = 0;
            let mut in_flight: Vec<Vec<Segment>> = Vec::new();
            for o in ops {
                match o {
                    Op::Arrive(n) => b.push(now, n),
                    Op::Send(n) => {
                        let mut s = Vec::new();
                        if b.take(n as u64, &mut s) > 0 {
                            in_flight.push(s);
                        }
                    }
                    Op::Ack(i) if i < in_flight.len() => {
                        let s = in_flight.swap_remove(i);
                        b.on_delivered(now, &s);
                    }
                    Op::Lose(i) if i < in_flight.len() => {
                        let s = in_flight.swap_remove(i);
                        b.on_lost(&s);
                    }
                    Op::Tick(dt) => {
                        now += dt as u64;
                        b.expire(now);
                    }
                    _ => {}
                }
                let c = *b.counters();
                prop_assert_eq!(c.packets_in, c.delivered + c.dropped() + b.queued_packets());
                prop_assert_eq!(c.queued(), b.queued_packets());
                prop_assert_eq!(c.delivered as usize, b.latencies_ms().len());
            }
            // Settle everything in flight: the buffer then holds only unsent packets.
            for s in in_flight.drain(..) {
                b.on_delivered(now, &s);
            }
            let c = *b.counters();
            prop_assert_eq!(c.packets_in, c.delivered + c.dropped() + b.queued_packets());
        }
    }
}
