//! Downlink HARQ and link adaptation of one cell: per UE a HARQ entity of
//! 16 processes (TS 38.321 §5.3.2; rv 0-2-3-1, NDI toggled per new block),
//! the CSI the gNB last heard and an outer loop towards 10 % BLER. The UE's
//! HARQ-ACK for a PDSCH in slot n goes in uplink slot n + K1, the first
//! uplink slot at least one slot later (TS 38.213 §9.2.3); the gNB acts on
//! it from the slot after that.

use crate::buffer::{Micros, Segment};
use crate::harq::{HarqEntity, HarqOutcome, TbInfo};
use crate::la::{McsSelector, Olla};
use crate::timing::SlotPattern;
use std::collections::VecDeque;

/// Highest MCS index link adaptation picks (TS 38.214 Table 5.1.3.1-2: 27).
const MAX_MCS: u8 = 27;

/// One UE's downlink MAC state.
#[derive(Debug, Clone)]
pub struct DlUeMac {
    /// C-RNTI.
    pub rnti: u16,
    /// HARQ processes.
    pub harq: HarqEntity,
    /// Outer loop.
    pub olla: Olla,
    /// The SINR the gNB believes (last CSI), dB.
    pub sinr_db: f32,
    /// Whether each process's current transmission is new data.
    first: [bool; 16],
}

/// A HARQ-ACK the gNB has acted on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DlAck {
    /// UE index.
    pub ue: usize,
    /// Process.
    pub pid: u8,
    /// The acknowledged transmission was the block's first.
    pub first_tx: bool,
    /// ACK (true) or NACK.
    pub ok: bool,
    /// What HARQ made of it.
    pub outcome: HarqOutcome,
    /// The block's size, bits.
    pub tbs_bits: u32,
}

/// A HARQ-ACK on its way to the gNB.
#[derive(Debug, Clone, Copy)]
struct Feedback {
    /// The gNB acts on it from this slot on.
    usable_from: u64,
    ue: usize,
    pid: u8,
    ok: bool,
    /// The SINR the UE measured (reported with it, as CSI).
    sinr_db: Option<f32>,
}

/// How one transmission is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DlTx {
    /// MCS index.
    pub mcs: u8,
    /// Redundancy version.
    pub rv: u8,
    /// NDI bit.
    pub ndi: bool,
}

/// The downlink HARQ and link adaptation of a cell.
#[derive(Debug, Clone)]
pub struct DlMac {
    ues: Vec<DlUeMac>,
    pattern: SlotPattern,
    sel: McsSelector,
    feedback: VecDeque<Feedback>,
    segments: Vec<Segment>,
}

impl DlMac {
    /// UEs with C-RNTIs `rntis` and first CSI `sinr_db`, on a carrier with
    /// slot `pattern`, MCS from `sel`, at most `max_tx` transmissions per block.
    pub fn new(
        rntis: &[u16],
        sinr_db: &[f32],
        pattern: SlotPattern,
        sel: McsSelector,
        max_tx: u8,
    ) -> Self {
        DlMac {
            ues: rntis
                .iter()
                .zip(sinr_db)
                .map(|(&rnti, &s)| DlUeMac {
                    rnti,
                    harq: HarqEntity::new(max_tx),
                    olla: Olla::default(),
                    sinr_db: s,
                    first: [false; 16],
                })
                .collect(),
            pattern,
            sel,
            feedback: VecDeque::with_capacity(16 * 16),
            segments: Vec::new(),
        }
    }

    /// The UEs.
    pub fn ues(&self) -> &[DlUeMac] {
        &self.ues
    }

    /// The MCS selector.
    pub fn selector(&self) -> &McsSelector {
        &self.sel
    }

    /// The MCS link adaptation gives UE `u` now (CSI plus outer loop).
    pub fn mcs(&self, u: usize) -> u8 {
        let ue = &self.ues[u];
        self.sel.select(ue.sinr_db + ue.olla.offset_db(), MAX_MCS)
    }

    /// Applies the HARQ-ACKs usable in slot `n` (at time `now`), handing each to `on`.
    pub fn apply_feedback(&mut self, n: u64, now: Micros, mut on: impl FnMut(DlAck)) {
        while self.feedback.front().is_some_and(|f| f.usable_from <= n) {
            let Some(f) = self.feedback.pop_front() else {
                break;
            };
            let ue = &mut self.ues[f.ue];
            if let Some(s) = f.sinr_db {
                ue.sinr_db = s;
            }
            let first_tx = ue.first[f.pid as usize];
            if first_tx {
                ue.olla.on_crc(f.ok);
            }
            let tbs_bits = ue.harq.process(f.pid).tb.tbs_bits;
            let outcome = ue.harq.on_crc(f.pid, f.ok, now, &mut self.segments);
            self.segments.clear();
            on(DlAck {
                ue: f.ue,
                pid: f.pid,
                first_tx,
                ok: f.ok,
                outcome,
                tbs_bits,
            });
        }
    }

    /// The MCS, rv and NDI of a transmission on process `pid` of UE `u`: a
    /// new block at the link-adaptation MCS (call [`DlMac::start_new`] once
    /// its size is known), or the next retransmission of the waiting one.
    pub fn begin_tx(&mut self, u: usize, pid: u8, new_data: bool) -> DlTx {
        let mcs = self.mcs(u);
        let ue = &mut self.ues[u];
        ue.first[pid as usize] = new_data;
        if new_data {
            // start_new toggles the NDI.
            DlTx {
                mcs,
                rv: 0,
                ndi: !ue.harq.process(pid).ndi,
            }
        } else {
            let (ndi, rv) = ue.harq.start_retx(pid);
            DlTx {
                mcs: ue.harq.process(pid).tb.mcs,
                rv,
                ndi,
            }
        }
    }

    /// Opens process `pid` of UE `u` for a new block `tb` sent at `now`.
    pub fn start_new(&mut self, u: usize, pid: u8, now: Micros, tb: TbInfo) {
        self.ues[u].harq.start_new(pid, now, tb, &mut self.segments);
    }

    /// UE `u`'s HARQ-ACK (and CSI `sinr_db`) for its PDSCH on process `pid`
    /// in slot `n`, queued for the uplink slot that carries it. Without
    /// such a slot the gNB never learns it: the transmission counts as a
    /// NACK now and `false` is returned.
    pub fn report(
        &mut self,
        n: u64,
        now: Micros,
        u: usize,
        pid: u8,
        ok: bool,
        sinr_db: Option<f32>,
    ) -> bool {
        match self.pattern.k1(n, 1) {
            Some(k1) => {
                self.feedback.push_back(Feedback {
                    usable_from: n + k1 as u64 + 1,
                    ue: u,
                    pid,
                    ok,
                    sinr_db,
                });
                true
            }
            None => {
                self.ues[u].harq.on_crc(pid, false, now, &mut self.segments);
                self.segments.clear();
                false
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mcs::McsTable;

    fn mac() -> DlMac {
        DlMac::new(
            &[0x4601],
            &[20.0],
            SlotPattern::tdd("DDDSU").unwrap(),
            McsSelector::shannon_gap(McsTable::Qam256, 3.0),
            4,
        )
    }

    #[test]
    fn ack_arrives_after_the_next_uplink_slot_and_closes_the_process() {
        let mut m = mac();
        let tx = m.begin_tx(0, 0, true);
        assert_eq!((tx.rv, tx.ndi), (0, true));
        let tb = TbInfo {
            tbs_bits: 1000,
            mcs: tx.mcs,
            n_prb: 10,
            layers: 1,
        };
        m.start_new(0, 0, 0, tb);
        // Slot 0 of DDDSU: its ACK goes in slot 4, usable from slot 5.
        assert!(m.report(0, 0, 0, 0, true, Some(25.0)));
        let mut acks = Vec::new();
        m.apply_feedback(4, 2000, |a| acks.push(a));
        assert!(acks.is_empty());
        m.apply_feedback(5, 2500, |a| acks.push(a));
        assert_eq!(acks.len(), 1);
        assert_eq!(acks[0].outcome, HarqOutcome::Ack);
        assert!(acks[0].first_tx && acks[0].tbs_bits == 1000);
        assert_eq!(m.ues()[0].sinr_db, 25.0);
        assert_eq!(m.ues()[0].harq.busy(), 0);
    }

    #[test]
    fn nack_retransmits_the_same_block_with_the_next_rv() {
        let mut m = mac();
        let tx = m.begin_tx(0, 3, true);
        m.start_new(
            0,
            3,
            0,
            TbInfo {
                tbs_bits: 500,
                mcs: tx.mcs,
                n_prb: 10,
                layers: 1,
            },
        );
        m.report(0, 0, 0, 3, false, None);
        m.apply_feedback(5, 2500, |a| assert_eq!(a.outcome, HarqOutcome::Retx));
        let re = m.begin_tx(0, 3, false);
        assert_eq!((re.mcs, re.rv, re.ndi), (tx.mcs, 2, tx.ndi));
    }
}
