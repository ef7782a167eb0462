//! Slot timing of a carrier: which slots carry uplink or downlink, and the
//! HARQ/scheduling offsets that follow from the TDD pattern.
//!
//! K1 (PDSCH to HARQ-ACK, TS 38.213 §9.2.3) and K2 (DCI to PUSCH, TS 38.214
//! §6.1.2.1) are chosen as the smallest value at least the UE's processing
//! minimum that lands on a slot able to carry the uplink. A special slot `S`
//! carries PDCCH (downlink control) but no PUSCH here.

use crate::buffer::Micros;

/// What a slot can carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlotKind {
    /// Downlink only.
    Dl,
    /// Uplink only.
    Ul,
    /// Special (guard) slot: downlink control, no PUSCH.
    Special,
    /// FDD: downlink and uplink on paired spectrum.
    Both,
}

/// A repeating slot pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotPattern {
    kinds: Vec<SlotKind>,
}

impl SlotPattern {
    /// A TDD pattern written as letters `D`, `U`, `S`, e.g. `"DDDSU"`.
    pub fn tdd(pattern: &str) -> Result<SlotPattern, String> {
        let kinds: Vec<SlotKind> = pattern
            .chars()
            .map(|c| match c {
                'D' => Ok(SlotKind::Dl),
                'U' => Ok(SlotKind::Ul),
                'S' => Ok(SlotKind::Special),
                o => Err(format!("`{o}` in `{pattern}` (allowed: D, U, S)")),
            })
            .collect::<Result<_, _>>()?;
        if kinds.is_empty() {
            return Err("empty TDD pattern (allowed: D, U, S)".into());
        }
        Ok(SlotPattern { kinds })
    }
    /// FDD: every slot carries both directions.
    pub fn fdd() -> SlotPattern {
        SlotPattern {
            kinds: vec![SlotKind::Both],
        }
    }
    /// Supplementary uplink: every slot is uplink only.
    pub fn sul() -> SlotPattern {
        SlotPattern {
            kinds: vec![SlotKind::Ul],
        }
    }
    /// The kind of slot `n`.
    pub fn kind(&self, n: u64) -> SlotKind {
        self.kinds[(n % self.kinds.len() as u64) as usize]
    }
    /// Slot `n` can carry PUSCH/PUCCH.
    pub fn is_ul(&self, n: u64) -> bool {
        matches!(self.kind(n), SlotKind::Ul | SlotKind::Both)
    }
    /// Slot `n` can carry PDCCH/PDSCH.
    pub fn is_dl(&self, n: u64) -> bool {
        matches!(
            self.kind(n),
            SlotKind::Dl | SlotKind::Special | SlotKind::Both
        )
    }
    /// Fraction of slots carrying uplink.
    pub fn ul_fraction(&self) -> f64 {
        (0..self.kinds.len() as u64)
            .filter(|&n| self.is_ul(n))
            .count() as f64
            / self.kinds.len() as f64
    }
    /// K2 for a DCI in slot `n`: the smallest `k >= k2_min` with slot `n + k` uplink.
    /// `None` when the pattern has no uplink slot.
    pub fn k2(&self, n: u64, k2_min: u32) -> Option<u32> {
        (k2_min..k2_min + self.kinds.len() as u32).find(|&k| self.is_ul(n + k as u64))
    }
    /// K1 for a PDSCH in slot `n`: the smallest `k >= k1_min` with slot `n + k`
    /// able to carry PUCCH. `None` when the pattern has no uplink slot.
    pub fn k1(&self, n: u64, k1_min: u32) -> Option<u32> {
        self.k2(n, k1_min)
    }
}

/// A carrier's clock: slot duration and pattern.
#[derive(Debug, Clone, PartialEq)]
pub struct CarrierTiming {
    /// Slot duration, us (1000 / 2^mu).
    pub slot_us: Micros,
    /// The slot pattern.
    pub pattern: SlotPattern,
}

impl CarrierTiming {
    /// Timing at `scs_khz` (15 x 2^mu) with `pattern`.
    pub fn new(scs_khz: u32, pattern: SlotPattern) -> CarrierTiming {
        CarrierTiming {
            slot_us: 1000 * 15 / scs_khz.max(15) as Micros,
            pattern,
        }
    }
    /// The slot that starts at or after `t`.
    pub fn slot_at_or_after(&self, t: Micros) -> u64 {
        t.div_ceil(self.slot_us)
    }
    /// Start time of slot `n`.
    pub fn start_us(&self, n: u64) -> Micros {
        n * self.slot_us
    }
}

/// The earliest start time of a PUSCH (re)transmission on carrier `ul`
/// whose decision can be made at `ready_us`: the next slot of `dci` carrying
/// downlink control, then K2 >= `k2_min` slots of `ul` to its next uplink slot.
/// For SUL, `dci` is the normal-uplink cell's carrier; otherwise the carrier itself.
pub fn earliest_pusch_us(
    ready_us: Micros,
    dci: &CarrierTiming,
    ul: &CarrierTiming,
    k2_min: u32,
) -> Micros {
    let mut d = dci.slot_at_or_after(ready_us);
    let limit = d + 4 * 80;
    while !dci.pattern.is_dl(d) && d < limit {
        d += 1;
    }
    let t = dci.start_us(d) + k2_min as Micros * ul.slot_us;
    let mut u = ul.slot_at_or_after(t);
    let limit = u + 4 * 80;
    while !ul.pattern.is_ul(u) && u < limit {
        u += 1;
    }
    ul.start_us(u)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn k1_k2_follow_the_tdd_pattern() {
        let p = SlotPattern::tdd("DDDSU").unwrap();
        // DCI in slot 0 with K2 >= 2: the only uplink slot is 4.
        assert_eq!(p.k2(0, 2), Some(4));
        assert_eq!(p.k2(3, 1), Some(1));
        // DCI in slot 3 with K2 >= 2: next uplink is slot 9.
        assert_eq!(p.k2(3, 2), Some(6));
        // PDSCH in slot 1 with K1 >= 1 acknowledged in slot 4.
        assert_eq!(p.k1(1, 1), Some(3));
        assert_eq!(SlotPattern::tdd("DDD").unwrap().k2(0, 1), None);
        assert_eq!(SlotPattern::fdd().k2(7, 2), Some(2));
        assert!((p.ul_fraction() - 0.2).abs() < 1e-12);
        assert!(SlotPattern::tdd("DXU").is_err());
    }

    #[test]
    fn retransmission_waits_for_control_and_uplink_slots() {
        let tdd = CarrierTiming::new(30, SlotPattern::tdd("DDDSU").unwrap());
        // PUSCH in slot 4 (2000 us) decoded at 2500 us: DCI in slot 5 (D),
        // K2 >= 1 -> the next uplink slot 9 at 4500 us.
        assert_eq!(earliest_pusch_us(2_500, &tdd, &tdd, 1), 4_500);
        // A SUL at 15 kHz scheduled from the TDD cell: DCI at slot 5 (2500 us),
        // one 1 ms SUL slot later -> 3500 us, rounded up to the SUL slot at 4000 us.
        let sul = CarrierTiming::new(15, SlotPattern::sul());
        assert_eq!(earliest_pusch_us(2_500, &tdd, &sul, 1), 4_000);
        let fdd = CarrierTiming::new(15, SlotPattern::fdd());
        assert_eq!(earliest_pusch_us(2_500, &fdd, &fdd, 2), 5_000);
    }
}
