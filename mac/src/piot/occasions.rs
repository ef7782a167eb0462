//! Reader occasions in NR slots (TR 38.769 §6.1.1.9 scheduling of R2D,
//! §6.1.2 D2R resources; deployment D1T1 on FDD).
//!
//! Every inventory exchange is a chain of reader *occasions*: R2D commands on
//! the downlink carrier (paging, QueryRep-style triggers, Msg2, ACK/NACK) and
//! D2R windows on the uplink carrier (Msg1, Msg3), where the reader also
//! sends the carrier wave. Each occasion starts on an NR slot boundary of its
//! carrier and reserves `prbs` PRBs there for as many slots as it lasts; the
//! other PRBs of those slots stay with PDSCH/PUSCH. This module turns the
//! inventory's slot outcomes into that timeline and counts what is left for
//! NR traffic.

use super::inventory::{SlotKind, SlotRecord};

/// Airtimes of the passive-IoT messages and the NR carriers they use.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OccasionConfig {
    /// NR slot duration, s (1 ms at 15 kHz SCS, 0.5 ms at 30 kHz).
    pub nr_slot_s: f64,
    /// PRBs of the uplink carrier.
    pub ul_prbs: u32,
    /// PRBs reserved on the uplink for the CW and the D2R subcarrier.
    pub d2r_prbs: u32,
    /// PRBs of the downlink carrier.
    pub dl_prbs: u32,
    /// PRBs reserved on the downlink for R2D OOK.
    pub r2d_prbs: u32,
    /// Paging (Query) airtime, s.
    pub paging_s: f64,
    /// A per-occasion trigger (QueryRep) airtime, s.
    pub trigger_s: f64,
    /// Msg1 D2R airtime (preamble + random ID + CRC), s.
    pub msg1_s: f64,
    /// Msg2 (confirm + D2R grant) airtime, s.
    pub msg2_s: f64,
    /// Msg3 D2R airtime (tag ID + CRC, coded), s.
    pub msg3_s: f64,
    /// ACK/NACK airtime, s.
    pub ack_s: f64,
    /// Tag turnaround between R2D end and D2R start (Gen2 T1), s.
    pub t1_s: f64,
}

/// One NR slot that carries passive-IoT resources.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlotAlloc {
    /// NR slot index from the start of the round.
    pub slot: u64,
    /// Uplink (true: D2R + CW) or downlink (false: R2D).
    pub uplink: bool,
    /// PRBs reserved for passive IoT.
    pub aiot_prbs: u32,
    /// PRBs left to PUSCH (uplink) or PDSCH (downlink).
    pub nr_prbs: u32,
}

/// The round's timeline in NR slots.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Timeline {
    /// Slots that carry passive-IoT resources, in time order (per direction).
    pub allocs: Vec<SlotAlloc>,
    /// The end time of each access occasion, s (for tags-read-over-time).
    pub occasion_end_s: Vec<f64>,
    /// Total duration, s.
    pub duration_s: f64,
    /// NR slots elapsed.
    pub nr_slots: u64,
}

impl Timeline {
    /// Share of uplink PRB·slots of the round used by passive IoT.
    pub fn ul_share(&self, cfg: &OccasionConfig) -> f64 {
        let used: u64 = self
            .allocs
            .iter()
            .filter(|a| a.uplink)
            .map(|a| a.aiot_prbs as u64)
            .sum();
        used as f64 / (self.nr_slots.max(1) * cfg.ul_prbs as u64) as f64
    }
}

impl OccasionConfig {
    fn slots(&self, s: f64) -> u64 {
        (s / self.nr_slot_s - 1e-9).ceil().max(1.0) as u64
    }

    /// Places each access occasion of `slots` (from the inventory) into NR
    /// slots: R2D occasions on the downlink, D2R on the uplink, each starting
    /// on the next slot boundary after the previous one ends plus T1.
    pub fn schedule(&self, slots: &[SlotRecord]) -> Timeline {
        let mut tl = Timeline::default();
        let mut t_slot = 0u64; // next free slot boundary
        let push = |tl: &mut Timeline, t_slot: &mut u64, dur: f64, uplink: bool, gap: f64| {
            let start = *t_slot
                + self
                    .slots(gap.max(0.0))
                    .saturating_sub(if gap > 0.0 { 0 } else { 1 });
            let n = self.slots(dur);
            for s in start..start + n {
                let (prbs, total) = if uplink {
                    (self.d2r_prbs, self.ul_prbs)
                } else {
                    (self.r2d_prbs, self.dl_prbs)
                };
                tl.allocs.push(SlotAlloc {
                    slot: s,
                    uplink,
                    aiot_prbs: prbs,
                    nr_prbs: total - prbs,
                });
            }
            *t_slot = start + n;
        };
        for rec in slots {
            if rec.frame_start {
                push(&mut tl, &mut t_slot, self.paging_s, false, 0.0);
            } else {
                push(&mut tl, &mut t_slot, self.trigger_s, false, 0.0);
            }
            push(&mut tl, &mut t_slot, self.msg1_s, true, self.t1_s);
            if matches!(rec.kind, SlotKind::Read | SlotKind::Nack) {
                push(&mut tl, &mut t_slot, self.msg2_s, false, 0.0);
                push(&mut tl, &mut t_slot, self.msg3_s, true, self.t1_s);
                push(&mut tl, &mut t_slot, self.ack_s, false, 0.0);
            }
            tl.occasion_end_s.push(t_slot as f64 * self.nr_slot_s);
        }
        tl.nr_slots = t_slot;
        tl.duration_s = t_slot as f64 * self.nr_slot_s;
        tl
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> OccasionConfig {
        OccasionConfig {
            nr_slot_s: 1e-3,
            ul_prbs: 52,
            d2r_prbs: 2,
            dl_prbs: 52,
            r2d_prbs: 4,
            paging_s: 3.5e-3,
            trigger_s: 0.7e-3,
            msg1_s: 2.2e-3,
            msg2_s: 2.5e-3,
            msg3_s: 9.0e-3,
            ack_s: 0.7e-3,
            t1_s: 0.3e-3,
        }
    }

    #[test]
    fn occasions_align_to_slots_and_leave_the_rest_to_nr() {
        let c = cfg();
        let rec = |kind, frame_start| SlotRecord {
            kind,
            responders: 1,
            tag: None,
            q: 0,
            frame_start,
        };
        let tl = c.schedule(&[rec(SlotKind::Read, true), rec(SlotKind::Empty, false)]);
        // paging 4 + gap 1 + msg1 3 + msg2 3 + gap 1 + msg3 9 + ack 1 = 22; trigger 1 + gap 1 + msg1 3 = 5.
        assert_eq!(tl.nr_slots, 27);
        assert_eq!(tl.occasion_end_s.len(), 2);
        assert!((tl.occasion_end_s[0] - 0.022).abs() < 1e-12);
        for a in &tl.allocs {
            assert_eq!(a.aiot_prbs + a.nr_prbs, 52);
        }
        let ul: Vec<u64> = tl
            .allocs
            .iter()
            .filter(|a| a.uplink)
            .map(|a| a.slot)
            .collect();
        assert_eq!(ul.len(), 3 + 9 + 3);
        let share = tl.ul_share(&c);
        assert!((share - 15.0 * 2.0 / (27.0 * 52.0)).abs() < 1e-12);
    }
}
