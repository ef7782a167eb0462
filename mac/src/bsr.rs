//! Uplink buffer status as the gNB sees it: scheduling requests and buffer
//! status reports with their delays (TS 38.321 §5.4.4 SR, §5.4.5 BSR).
//!
//! The gNB never reads the UE's true buffer. When data arrives in an empty
//! buffer the UE raises an SR at its next SR occasion; the gNB learns of it
//! `sr_delay` later and answers with a small grant. Every PUSCH carries a BSR
//! with the buffer left after that transport block; it becomes usable
//! `bsr_delay` after the transmission (decoding and MAC processing). Between
//! reports the gNB subtracts what it has granted since the report was made.
//! Reports carry exact byte counts (no quantisation to the BSR tables of
//! TS 38.321 Tables 6.1.3.1-1/2).

use crate::buffer::Micros;
use std::collections::VecDeque;

/// Timing of SR and BSR.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReportConfig {
    /// SR periodicity, us (SchedulingRequestResourceConfig periodicity).
    pub sr_period_us: Micros,
    /// From the SR occasion until the gNB scheduler acts on it, us.
    pub sr_delay_us: Micros,
    /// From the PUSCH carrying a BSR until the scheduler can use it, us.
    pub bsr_delay_us: Micros,
    /// Bytes the gNB assumes after an SR, before the first BSR arrives.
    pub sr_grant_bytes: u64,
}

impl Default for ReportConfig {
    fn default() -> Self {
        ReportConfig {
            sr_period_us: 1_000,
            sr_delay_us: 1_000,
            bsr_delay_us: 1_000,
            sr_grant_bytes: 200,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Report {
    visible_at: Micros,
    bytes: u64,
    granted_snapshot: u64,
}

/// The gNB's view of one UE's uplink buffer.
#[derive(Debug, Clone)]
pub struct BufferView {
    cfg: ReportConfig,
    pending: VecDeque<Report>,
    latest: Option<Report>,
    granted_total: u64,
    /// When the pending SR reaches the gNB.
    sr_visible_at: Option<Micros>,
    /// SR seen by the gNB and not yet answered with a grant.
    sr_active: bool,
    /// The UE's buffer was empty at its last look (an arrival then triggers SR).
    ue_empty: bool,
}

impl BufferView {
    /// A view with nothing reported yet.
    pub fn new(cfg: ReportConfig) -> BufferView {
        BufferView {
            cfg,
            pending: VecDeque::new(),
            latest: None,
            granted_total: 0,
            sr_visible_at: None,
            sr_active: false,
            ue_empty: true,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &ReportConfig {
        &self.cfg
    }

    /// UE side, once per slot after arrivals: its true buffer holds
    /// `true_bytes`. New data in an empty buffer triggers an SR (regular BSR
    /// without a grant, TS 38.321 §5.4.5), sent at the next SR occasion.
    pub fn ue_update(&mut self, now: Micros, true_bytes: u64) {
        if true_bytes > 0 && self.ue_empty && self.sr_visible_at.is_none() && !self.sr_active {
            let p = self.cfg.sr_period_us.max(1);
            let occasion = now.div_ceil(p) * p;
            self.sr_visible_at = Some(occasion + self.cfg.sr_delay_us);
        }
        self.ue_empty = true_bytes == 0;
    }

    /// UE side: a PUSCH sent at `now` carried a BSR of `bytes_after` (the
    /// buffer left after this transport block).
    pub fn ue_sent_bsr(&mut self, now: Micros, bytes_after: u64) {
        self.pending.push_back(Report {
            visible_at: now + self.cfg.bsr_delay_us,
            bytes: bytes_after,
            granted_snapshot: self.granted_total,
        });
        self.ue_empty = bytes_after == 0;
    }

    /// gNB side: a grant of `bytes` was given (call before [`ue_sent_bsr`](Self::ue_sent_bsr) of the same PUSCH).
    pub fn on_grant(&mut self, bytes: u64) {
        self.granted_total += bytes;
        self.sr_active = false;
    }

    /// gNB side: the buffer estimate usable at `now`.
    pub fn estimate(&mut self, now: Micros) -> u64 {
        while self.pending.front().is_some_and(|r| r.visible_at <= now) {
            self.latest = self.pending.pop_front();
        }
        if self.sr_visible_at.is_some_and(|t| t <= now) {
            self.sr_visible_at = None;
            self.sr_active = true;
        }
        let est = self
            .latest
            .map(|r| {
                r.bytes
                    .saturating_sub(self.granted_total - r.granted_snapshot)
            })
            .unwrap_or(0);
        if self.sr_active {
            est.max(self.cfg.sr_grant_bytes)
        } else {
            est
        }
    }

    /// gNB side, read-only: the estimate as of the last [`estimate`](Self::estimate) call
    /// (for schedulers that only read).
    pub fn last_estimate(&self) -> u64 {
        let est = self
            .latest
            .map(|r| {
                r.bytes
                    .saturating_sub(self.granted_total - r.granted_snapshot)
            })
            .unwrap_or(0);
        if self.sr_active {
            est.max(self.cfg.sr_grant_bytes)
        } else {
            est
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gnb_sees_data_only_after_sr_and_bsr_delays() {
        let cfg = ReportConfig {
            sr_period_us: 2_000,
            sr_delay_us: 1_000,
            bsr_delay_us: 1_500,
            sr_grant_bytes: 100,
        };
        let mut v = BufferView::new(cfg);
        // 5000 bytes arrive at t = 500 us: SR at the occasion t = 2000, seen at 3000.
        v.ue_update(500, 5000);
        assert_eq!(v.estimate(500), 0);
        assert_eq!(v.estimate(2_999), 0);
        assert_eq!(v.estimate(3_000), 100, "SR seen: the SR grant size");
        // The gNB grants 100 bytes at 3500; the PUSCH carries a BSR of 4900.
        v.on_grant(100);
        v.ue_sent_bsr(3_500, 4_900);
        assert_eq!(v.estimate(3_500), 0, "BSR not yet decoded, SR answered");
        assert_eq!(v.estimate(4_999), 0);
        assert_eq!(v.estimate(5_000), 4_900, "BSR usable 1.5 ms later");
        // Grants after the report are subtracted until the next report.
        v.on_grant(1_000);
        assert_eq!(v.estimate(5_100), 3_900);
        v.ue_sent_bsr(5_100, 3_900);
        assert_eq!(v.last_estimate(), 3_900);
    }

    #[test]
    fn no_new_sr_while_data_is_already_reported() {
        let mut v = BufferView::new(ReportConfig::default());
        v.ue_update(0, 100);
        assert!(v.estimate(10_000) > 0);
        v.on_grant(100);
        v.ue_sent_bsr(10_000, 50);
        v.ue_update(10_500, 80);
        assert!(v.sr_visible_at.is_none(), "buffer was not empty: no SR");
    }
}
