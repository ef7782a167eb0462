//! HARQ entities: 16 processes per UE per carrier (TS 38.321 §5.4.2), NDI,
//! the redundancy-version order 0-2-3-1 (the rv_id = 0 row of TS 38.214
//! Table 6.1.2.1-2, used here for retransmissions) and a maximum
//! number of transmissions after which the transport block is lost.
//!
//! A process holds the segments of the packets its transport block carries,
//! so an acknowledgement delivers them and a final failure drops them. The
//! PHY's soft-combining buffer of a process is named by [`soft_buffer_id`].

use crate::buffer::{Micros, Segment};

/// HARQ processes per UE per carrier.
pub const NUM_PROCESSES: usize = 16;

/// Redundancy versions in transmission order.
pub const RV_SEQUENCE: [u8; 4] = [0, 2, 3, 1];

/// Soft-buffer id of process `pid` of UE `ue` on carrier `carrier` of
/// `n_carriers`: unique across the cell, so the PHY can keep one buffer each.
pub fn soft_buffer_id(ue: u32, carrier: u32, n_carriers: u32, pid: u8) -> u32 {
    (ue * n_carriers + carrier) * NUM_PROCESSES as u32 + pid as u32
}

/// The state of a process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HarqState {
    /// Free for a new transport block.
    Idle,
    /// Transmitted, waiting for the CRC.
    InFlight,
    /// Failed CRC, waiting for a retransmission (not before `ready_us`).
    WaitRetx,
}

/// The transport block a process carries.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct TbInfo {
    /// Transport-block size, bits.
    pub tbs_bits: u32,
    /// MCS index.
    pub mcs: u8,
    /// PRBs.
    pub n_prb: u16,
    /// Layers.
    pub layers: u8,
}

/// One HARQ process.
#[derive(Debug, Clone)]
pub struct HarqProcess {
    /// State.
    pub state: HarqState,
    /// New-data indicator, toggled for each new transport block.
    pub ndi: bool,
    /// Transmissions so far of the current transport block.
    pub tx_count: u8,
    /// The transport block.
    pub tb: TbInfo,
    /// Earliest time a retransmission may start.
    pub ready_us: Micros,
    /// Time of the first transmission.
    pub first_tx_us: Micros,
    /// Accumulated SINR (linear) over transmissions, for link abstraction of
    /// soft combining.
    pub combined_sinr: f32,
    segments: Vec<Segment>,
}

/// What a CRC did to a process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HarqOutcome {
    /// Decoded: the segments are delivered, the process is free.
    Ack,
    /// Failed: a retransmission follows.
    Retx,
    /// Failed at the last allowed transmission: the segments are lost.
    Failed,
    /// No transport block was in flight on this process (ignored).
    Unexpected,
}

/// The HARQ entity of one UE on one carrier.
#[derive(Debug, Clone)]
pub struct HarqEntity {
    procs: Vec<HarqProcess>,
    max_tx: u8,
}

impl HarqEntity {
    /// 16 idle processes; a transport block gets at most `max_tx` transmissions (>= 1).
    pub fn new(max_tx: u8) -> HarqEntity {
        let p = HarqProcess {
            state: HarqState::Idle,
            ndi: false,
            tx_count: 0,
            tb: TbInfo::default(),
            ready_us: 0,
            first_tx_us: 0,
            combined_sinr: 0.0,
            segments: Vec::new(),
        };
        HarqEntity {
            procs: vec![p; NUM_PROCESSES],
            max_tx: max_tx.max(1),
        }
    }
    /// The maximum number of transmissions.
    pub fn max_tx(&self) -> u8 {
        self.max_tx
    }
    /// Process `pid`.
    pub fn process(&self, pid: u8) -> &HarqProcess {
        &self.procs[pid as usize]
    }
    /// A free process, lowest id first.
    pub fn free_process(&self) -> Option<u8> {
        self.procs
            .iter()
            .position(|p| p.state == HarqState::Idle)
            .map(|i| i as u8)
    }
    /// The process waiting longest for a retransmission that may go at `now`.
    pub fn retx_ready(&self, now: Micros) -> Option<u8> {
        self.procs
            .iter()
            .enumerate()
            .filter(|(_, p)| p.state == HarqState::WaitRetx && p.ready_us <= now)
            .min_by_key(|(_, p)| p.first_tx_us)
            .map(|(i, _)| i as u8)
    }
    /// Processes in flight or waiting.
    pub fn busy(&self) -> usize {
        self.procs
            .iter()
            .filter(|p| p.state != HarqState::Idle)
            .count()
    }
    /// Starts a new transport block on idle process `pid` at `now`, carrying
    /// `segments` (moved out of the vector). Returns (NDI, rv).
    pub fn start_new(
        &mut self,
        pid: u8,
        now: Micros,
        tb: TbInfo,
        segments: &mut Vec<Segment>,
    ) -> (bool, u8) {
        let p = &mut self.procs[pid as usize];
        debug_assert_eq!(p.state, HarqState::Idle);
        p.ndi = !p.ndi;
        p.tx_count = 1;
        p.tb = tb;
        p.first_tx_us = now;
        p.combined_sinr = 0.0;
        p.state = HarqState::InFlight;
        p.segments.clear();
        p.segments.append(segments);
        (p.ndi, RV_SEQUENCE[0])
    }
    /// Retransmits process `pid` (same transport block, next rv). Returns (NDI, rv).
    pub fn start_retx(&mut self, pid: u8) -> (bool, u8) {
        let p = &mut self.procs[pid as usize];
        debug_assert_eq!(p.state, HarqState::WaitRetx);
        p.tx_count += 1;
        p.state = HarqState::InFlight;
        (p.ndi, RV_SEQUENCE[(p.tx_count as usize - 1) % 4])
    }
    /// The rv of the current transmission of `pid`.
    pub fn rv(&self, pid: u8) -> u8 {
        let n = self.procs[pid as usize].tx_count.max(1);
        RV_SEQUENCE[(n as usize - 1) % 4]
    }
    /// Adds a transmission's SINR (linear) to the process's combined SINR
    /// (Chase-combining approximation for link abstraction); returns the sum.
    pub fn combine_sinr(&mut self, pid: u8, sinr_lin: f32) -> f32 {
        let p = &mut self.procs[pid as usize];
        p.combined_sinr += sinr_lin;
        p.combined_sinr
    }
    /// The CRC of process `pid`: on success or final failure its segments
    /// are moved into `segments_out` and the process becomes idle; after a
    /// failure with transmissions left it waits for a retransmission at
    /// `retx_ready_us`.
    pub fn on_crc(
        &mut self,
        pid: u8,
        ok: bool,
        retx_ready_us: Micros,
        segments_out: &mut Vec<Segment>,
    ) -> HarqOutcome {
        let max_tx = self.max_tx;
        let p = &mut self.procs[pid as usize];
        if p.state != HarqState::InFlight {
            return HarqOutcome::Unexpected;
        }
        if ok || p.tx_count >= max_tx {
            segments_out.append(&mut p.segments);
            p.state = HarqState::Idle;
            if ok {
                HarqOutcome::Ack
            } else {
                HarqOutcome::Failed
            }
        } else {
            p.state = HarqState::WaitRetx;
            p.ready_us = retx_ready_us;
            HarqOutcome::Retx
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rv_order_ndi_and_max_transmissions() {
        let mut h = HarqEntity::new(4);
        let pid = h.free_process().unwrap();
        assert_eq!(pid, 0);
        let mut segs = vec![Segment {
            lcid: 1,
            seq: 0,
            bytes: 10,
        }];
        let (ndi0, rv) = h.start_new(pid, 0, TbInfo::default(), &mut segs);
        assert!(segs.is_empty());
        assert_eq!(rv, 0);
        let mut rvs = vec![rv];
        let mut out = Vec::new();
        for k in 1..4 {
            assert_eq!(h.free_process(), Some(1), "process 0 is busy");
            assert_eq!(h.on_crc(pid, false, 1000 * k, &mut out), HarqOutcome::Retx);
            assert_eq!(h.retx_ready(1000 * k - 1), None, "not before its time");
            assert_eq!(h.retx_ready(1000 * k), Some(pid));
            let (ndi, rv) = h.start_retx(pid);
            assert_eq!(ndi, ndi0, "NDI not toggled for a retransmission");
            rvs.push(rv);
        }
        assert_eq!(rvs, RV_SEQUENCE);
        assert_eq!(h.on_crc(pid, false, 0, &mut out), HarqOutcome::Failed);
        assert_eq!(out.len(), 1, "lost segments are handed back");
        assert_eq!(h.process(pid).state, HarqState::Idle);
        let (ndi1, _) = h.start_new(pid, 5, TbInfo::default(), &mut Vec::new());
        assert_ne!(ndi1, ndi0, "NDI toggles for new data");
        assert_eq!(h.on_crc(pid, true, 0, &mut out), HarqOutcome::Ack);
        assert_eq!(h.on_crc(pid, true, 0, &mut out), HarqOutcome::Unexpected);
    }

    #[test]
    fn sixteen_processes_then_none() {
        let mut h = HarqEntity::new(1);
        for i in 0..16 {
            let pid = h.free_process().unwrap();
            assert_eq!(pid, i);
            h.start_new(pid, 0, TbInfo::default(), &mut Vec::new());
        }
        assert_eq!(h.free_process(), None);
        assert_eq!(h.busy(), 16);
        // max_tx 1: the first failure is final.
        assert_eq!(h.on_crc(3, false, 0, &mut Vec::new()), HarqOutcome::Failed);
        let ids: Vec<u32> = (0..2)
            .flat_map(|c| (0..16).map(move |p| soft_buffer_id(7, c, 2, p)))
            .collect();
        let mut d = ids.clone();
        d.dedup();
        assert_eq!(d.len(), 32);
    }
}
