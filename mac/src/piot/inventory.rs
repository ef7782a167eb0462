//! Tag inventory: paging, access occasions and framed slotted ALOHA with the
//! EPC Gen2 Q-algorithm (EPC Gen2 §6.3.2.10 and Annex D), carried by the
//! 3GPP-style random access of TR 38.769 §6.2 (Msg1 random ID → Msg2 confirm
//! with a D2R grant → Msg3 tag ID/data; a failed Msg3 gets a NACK and the tag
//! re-accesses).
//!
//! A round starts with paging (Gen2 Query): every tag not yet inventoried in
//! this round draws a slot counter in [0, 2^Q − 1] and a 16-bit random ID.
//! Each access occasion (Gen2 QueryRep) the tags whose counter is 0 send Msg1.
//! * no reply → empty slot: Q_fp ← max(0, Q_fp − C);
//! * replies that cannot be decoded → collision: Q_fp ← min(15, Q_fp + C);
//!   the colliding tags wait for the next frame (Gen2: counter 7FFFh);
//! * a decoded random ID (one reply, or the strongest of several: capture) →
//!   Msg2 echoes it; the tag(s) holding it send Msg3. A decoded Msg3 is
//!   acknowledged and the tag flips its inventoried flag (Gen2 session flag
//!   A → B), so it stays silent for the rest of the round; a failed Msg3 is
//!   NACKed and the tag re-accesses in a later frame.
//!
//! When round(Q_fp) changes, or the frame's 2^Q occasions have passed, the
//! reader starts a new frame (Gen2 QueryAdjust) and every waiting tag redraws.
//! The round ends after `end_empty_frames` consecutive complete frames in
//! which nobody replied: in a noiseless channel that proves no tag is left.

use rand::Rng;
use thiserror::Error;

/// Inventory parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct InventoryConfig {
    /// Q at paging, 0..=15.
    pub initial_q: u8,
    /// The Q-algorithm step C, 0.1..=0.5 (Gen2 Annex D).
    pub c: f64,
    /// Consecutive all-empty complete frames that end the round (≥ 1).
    pub end_empty_frames: u32,
    /// Safety limit on access occasions per round.
    pub max_slots: u64,
}

impl Default for InventoryConfig {
    fn default() -> Self {
        InventoryConfig {
            initial_q: 4,
            c: 0.3,
            end_empty_frames: 2,
            max_slots: 1_000_000,
        }
    }
}

/// Inventory errors.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum InventoryError {
    /// A parameter is out of range.
    #[error("inventory.{field}: {msg}")]
    Config {
        /// Field.
        field: &'static str,
        /// Allowed values.
        msg: &'static str,
    },
    /// The round did not end within `max_slots` occasions.
    #[error("inventory did not finish within {0} access occasions")]
    SlotLimit(u64),
}

impl InventoryConfig {
    /// Checks the parameters.
    pub fn validate(&self) -> Result<(), InventoryError> {
        if self.initial_q > 15 {
            return Err(InventoryError::Config {
                field: "initial_q",
                msg: "must be 0..=15",
            });
        }
        if !(0.1..=0.5).contains(&self.c) {
            return Err(InventoryError::Config {
                field: "c",
                msg: "must be 0.1..=0.5",
            });
        }
        if self.end_empty_frames == 0 {
            return Err(InventoryError::Config {
                field: "end_empty_frames",
                msg: "must be at least 1",
            });
        }
        Ok(())
    }
}

/// What the reader made of one access occasion's Msg1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Msg1Outcome {
    /// No preamble detected.
    Empty,
    /// Energy/preamble detected but no random ID decoded.
    Collision,
    /// This random ID was decoded.
    Decoded(u16),
}

/// The air interface as the inventory sees it.
pub trait InventoryAir {
    /// `responders` (tag index, random ID) send Msg1 in the same occasion.
    fn msg1(&mut self, responders: &[(usize, u16)]) -> Msg1Outcome;
    /// After Msg2 confirmed an ID, `senders` (the tags holding it) send Msg3.
    /// Returns the tag whose Msg3 the reader decoded, if any.
    fn msg3(&mut self, senders: &[usize]) -> Option<usize>;
    /// Whether the caller wants the round ended now (e.g. on Ctrl-C);
    /// asked before each access occasion. The round then ends with what it
    /// has, marked [`InventoryReport::stopped`].
    fn stop(&mut self) -> bool {
        false
    }
}

/// An ideal channel: one reply is always decoded, two or more always collide.
#[derive(Debug, Clone, Copy, Default)]
pub struct IdealAir;

impl InventoryAir for IdealAir {
    fn msg1(&mut self, r: &[(usize, u16)]) -> Msg1Outcome {
        match r {
            [] => Msg1Outcome::Empty,
            [(_, rn)] => Msg1Outcome::Decoded(*rn),
            _ => Msg1Outcome::Collision,
        }
    }
    fn msg3(&mut self, senders: &[usize]) -> Option<usize> {
        match senders {
            [t] => Some(*t),
            _ => None,
        }
    }
}

/// The kind of an access occasion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlotKind {
    /// Nobody replied (or nothing was detected).
    Empty,
    /// Replies collided, nothing decoded.
    Collision,
    /// Msg1 decoded (one reply, or capture) and Msg3 decoded: a tag read.
    Read,
    /// Msg1 decoded but Msg3 failed: NACK.
    Nack,
}

/// One access occasion of the round.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlotRecord {
    /// What happened.
    pub kind: SlotKind,
    /// How many tags sent Msg1.
    pub responders: u16,
    /// The tag read, if any.
    pub tag: Option<u32>,
    /// Q of the frame.
    pub q: u8,
    /// This occasion started a new frame (paging or QueryAdjust).
    pub frame_start: bool,
}

/// The result of one inventory round.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct InventoryReport {
    /// Every access occasion in order.
    pub slots: Vec<SlotRecord>,
    /// How many times each tag was read (0 for missed tags).
    pub reads_per_tag: Vec<u32>,
    /// The round was ended early by [`InventoryAir::stop`].
    pub stopped: bool,
}

impl InventoryReport {
    /// Occasions of `kind`.
    pub fn count(&self, kind: SlotKind) -> usize {
        self.slots.iter().filter(|s| s.kind == kind).count()
    }
    /// Tags read at least once.
    pub fn tags_read(&self) -> usize {
        self.reads_per_tag.iter().filter(|&&r| r > 0).count()
    }
    /// Reads per access occasion (framed slotted ALOHA's bound is 1/e).
    pub fn slot_efficiency(&self) -> f64 {
        if self.slots.is_empty() {
            0.0
        } else {
            self.count(SlotKind::Read) as f64 / self.slots.len() as f64
        }
    }
    /// Occasions where a decoded Msg1 came out of two or more replies.
    pub fn captures(&self) -> usize {
        self.slots
            .iter()
            .filter(|s| s.responders >= 2 && matches!(s.kind, SlotKind::Read | SlotKind::Nack))
            .count()
    }
}

const WAIT: u32 = u32::MAX;

/// Runs one inventory round over `n_tags` tags (all eligible: powered and in
/// range; the caller decides which tags exist). Tags draw their slots and
/// random IDs from `rng`.
pub fn run_inventory(
    n_tags: usize,
    cfg: &InventoryConfig,
    air: &mut dyn InventoryAir,
    rng: &mut impl Rng,
) -> Result<InventoryReport, InventoryError> {
    cfg.validate()?;
    let mut counter = vec![0u32; n_tags];
    let mut rn = vec![0u16; n_tags];
    let mut done = vec![false; n_tags];
    let mut report = InventoryReport {
        slots: Vec::new(),
        reads_per_tag: vec![0; n_tags],
        stopped: false,
    };
    let mut qfp = cfg.initial_q as f64;
    let mut q = cfg.initial_q;
    let mut responders: Vec<(usize, u16)> = Vec::new();
    let mut senders: Vec<usize> = Vec::new();
    let mut new_frame = true;
    let mut slot_in_frame = 0u64;
    let mut frame_replies = 0u64;
    let mut empty_frames = 0u32;
    loop {
        if new_frame {
            // Paging / QueryAdjust: every tag still to be read redraws.
            for t in 0..n_tags {
                if !done[t] {
                    counter[t] = rng.gen_range(0..1u32 << q);
                    rn[t] = rng.gen();
                }
            }
            slot_in_frame = 0;
            frame_replies = 0;
        }
        if air.stop() {
            report.stopped = true;
            return Ok(report);
        }
        if report.slots.len() as u64 >= cfg.max_slots {
            return Err(InventoryError::SlotLimit(cfg.max_slots));
        }
        responders.clear();
        for t in 0..n_tags {
            if !done[t] && counter[t] == 0 {
                responders.push((t, rn[t]));
            }
        }
        frame_replies += responders.len() as u64;
        let mut rec = SlotRecord {
            kind: SlotKind::Empty,
            responders: responders.len().min(u16::MAX as usize) as u16,
            tag: None,
            q,
            frame_start: new_frame,
        };
        match air.msg1(&responders) {
            Msg1Outcome::Empty => {
                qfp = (qfp - cfg.c).max(0.0);
            }
            Msg1Outcome::Collision => {
                rec.kind = SlotKind::Collision;
                qfp = (qfp + cfg.c).min(15.0);
            }
            Msg1Outcome::Decoded(id) => {
                senders.clear();
                senders.extend(responders.iter().filter(|r| r.1 == id).map(|r| r.0));
                match air.msg3(&senders) {
                    Some(t) if senders.contains(&t) => {
                        rec.kind = SlotKind::Read;
                        rec.tag = Some(t as u32);
                        done[t] = true;
                        report.reads_per_tag[t] += 1;
                    }
                    _ => rec.kind = SlotKind::Nack,
                }
            }
        }
        // Everybody who replied and was not read waits for the next frame.
        for &(t, _) in &responders {
            if !done[t] {
                counter[t] = WAIT;
            }
        }
        report.slots.push(rec);
        slot_in_frame += 1;
        let q_new = qfp.round() as u8;
        let frame_over = slot_in_frame >= 1u64 << q;
        if frame_over && frame_replies == 0 {
            empty_frames += 1;
            if empty_frames >= cfg.end_empty_frames {
                return Ok(report);
            }
        } else if frame_over || q_new != q {
            empty_frames = 0;
        }
        new_frame = frame_over || q_new != q;
        q = q_new;
        if !new_frame {
            // QueryRep: counters count down.
            for t in 0..n_tags {
                if !done[t] && counter[t] != WAIT {
                    counter[t] -= 1;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand::SeedableRng;
    use rand_xoshiro::Xoshiro256PlusPlus;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]
        /// Every tag is read exactly once per round in a noiseless channel,
        /// whatever the tag count and starting Q.
        #[test]
        fn every_tag_read_exactly_once(n in 0usize..1500, q0 in 0u8..=15, c in 0.1f64..0.5, seed: u64) {
            let cfg = InventoryConfig { initial_q: q0, c, ..InventoryConfig::default() };
            let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
            let r = run_inventory(n, &cfg, &mut IdealAir, &mut rng).unwrap();
            prop_assert!(r.reads_per_tag.iter().all(|&x| x == 1));
            prop_assert_eq!(r.count(SlotKind::Read), n);
            prop_assert_eq!(r.count(SlotKind::Nack), 0);
        }
    }

    #[test]
    fn efficiency_near_the_aloha_bound_for_many_tags() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(1);
        let r = run_inventory(1000, &InventoryConfig::default(), &mut IdealAir, &mut rng).unwrap();
        let e = r.slot_efficiency();
        assert!(
            e > 0.28 && e < 1.0 / std::f64::consts::E + 0.01,
            "efficiency {e}"
        );
    }

    /// A channel that loses the first Msg3 of every tag: NACK and re-access.
    struct LossyMsg3(Vec<bool>);
    impl InventoryAir for LossyMsg3 {
        fn msg1(&mut self, r: &[(usize, u16)]) -> Msg1Outcome {
            IdealAir.msg1(r)
        }
        fn msg3(&mut self, s: &[usize]) -> Option<usize> {
            let t = *s.first()?;
            if self.0[t] {
                Some(t)
            } else {
                self.0[t] = true;
                None
            }
        }
    }

    #[test]
    fn nack_makes_the_tag_reaccess() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(2);
        let r = run_inventory(
            50,
            &InventoryConfig::default(),
            &mut LossyMsg3(vec![false; 50]),
            &mut rng,
        )
        .unwrap();
        assert!(r.reads_per_tag.iter().all(|&x| x == 1));
        assert_eq!(r.count(SlotKind::Nack), 50);
    }

    /// Capture: the lowest-indexed responder always wins.
    struct Capture;
    impl InventoryAir for Capture {
        fn msg1(&mut self, r: &[(usize, u16)]) -> Msg1Outcome {
            r.iter()
                .min_by_key(|x| x.0)
                .map_or(Msg1Outcome::Empty, |x| Msg1Outcome::Decoded(x.1))
        }
        fn msg3(&mut self, s: &[usize]) -> Option<usize> {
            s.first().copied()
        }
    }

    #[test]
    fn capture_raises_efficiency_and_still_reads_everyone_once() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(3);
        let r = run_inventory(500, &InventoryConfig::default(), &mut Capture, &mut rng).unwrap();
        assert!(r.reads_per_tag.iter().all(|&x| x == 1));
        assert!(r.captures() > 0);
        assert!(r.slot_efficiency() > 0.4, "{}", r.slot_efficiency());
    }

    #[test]
    fn bad_config_is_named() {
        let cfg = InventoryConfig {
            c: 0.9,
            ..InventoryConfig::default()
        };
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(0);
        assert!(matches!(
            run_inventory(3, &cfg, &mut IdealAir, &mut rng),
            Err(InventoryError::Config { field: "c", .. })
        ));
    }
}
