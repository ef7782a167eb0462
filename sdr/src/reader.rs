//! Reading a receive stream by device time.
//!
//! A slot receiver wants exactly the samples of `[t, t + n)` for each slot,
//! whatever the radio hands out: blocks shorter than a slot, samples from
//! before `t` (the stream started earlier), or a jump forward after an
//! overflow. [`TimedReader::read_at`] returns the samples of the requested
//! interval, discards what lies before it, fills samples the stream lost with
//! zeros (so later slots stay on their sample) and keeps samples that belong
//! to a later interval for the next call. A radio without timestamps is taken
//! as continuous.
//!
//! The carry buffer is sized once; the steady state allocates nothing.

use crate::radio::{Radio, RadioError, Ticks};
use num_complex::Complex32;
use std::time::Duration;

/// What one [`TimedReader::read_at`] call saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReadStats {
    /// Samples of the interval the stream did not deliver (zeros in the buffers).
    pub lost: usize,
    /// Samples received from before the interval and dropped.
    pub skipped: u64,
}

/// Receives by device time; see the module documentation.
pub struct TimedReader {
    carry: Vec<Vec<Complex32>>,
    /// Valid carried samples are `carry[c][off..off + len]`, starting at device time `time`.
    off: usize,
    len: usize,
    time: Ticks,
}

impl TimedReader {
    /// A reader for `channels` channels and intervals of up to `max_len` samples.
    pub fn new(channels: usize, max_len: usize) -> Self {
        TimedReader {
            carry: vec![vec![Complex32::default(); max_len]; channels],
            off: 0,
            len: 0,
            time: 0,
        }
    }

    /// Fills `bufs` (one per channel, equal lengths of at most `max_len`)
    /// with the samples of device time `[t, t + bufs[0].len())`.
    ///
    /// Errors: the radio's errors, a radio that returns no samples (its
    /// stream ended), and buffers that do not fit the reader.
    pub fn read_at(
        &mut self,
        radio: &mut dyn Radio,
        t: Ticks,
        bufs: &mut [&mut [Complex32]],
        timeout: Duration,
    ) -> Result<ReadStats, RadioError> {
        let n = bufs.first().map_or(0, |b| b.len());
        if bufs.len() != self.carry.len() || n > self.carry.first().map_or(0, |c| c.len()) {
            return Err(RadioError::Shape(format!(
                "{} buffers of {n} samples for a reader of {} channels and {} samples",
                bufs.len(),
                self.carry.len(),
                self.carry.first().map_or(0, |c| c.len())
            )));
        }
        let mut st = ReadStats::default();
        let mut filled = 0usize;
        while filled < n {
            let at = t + filled as Ticks;
            if self.len > 0 {
                // Samples kept from an earlier call.
                if self.time < at {
                    let drop = ((at - self.time) as usize).min(self.len);
                    st.skipped += drop as u64;
                    self.consume(drop);
                    continue;
                }
                let gap = ((self.time - at) as usize).min(n - filled);
                zero(bufs, filled, filled + gap);
                st.lost += gap;
                filled += gap;
                let k = self.len.min(n - filled);
                for (b, c) in bufs.iter_mut().zip(&self.carry) {
                    b[filled..filled + k].copy_from_slice(&c[self.off..self.off + k]);
                }
                filled += k;
                self.consume(k);
                continue;
            }
            let m = {
                let mut part: [&mut [Complex32]; 64] = std::array::from_fn(|_| &mut [][..]);
                let ch = bufs.len();
                if ch > part.len() {
                    return Err(RadioError::Shape(format!("{ch} channels (at most 64)")));
                }
                for (p, b) in part.iter_mut().zip(bufs.iter_mut()) {
                    *p = &mut b[filled..];
                }
                radio.receive(&mut part[..ch], timeout)?
            };
            let k = m.samples;
            if k == 0 {
                return Err(RadioError::Device(if m.end_of_burst {
                    "the receive stream ended".into()
                } else {
                    "the radio returned no samples".into()
                }));
            }
            let bt = m.time.unwrap_or(at);
            if bt == at {
                filled += k;
            } else if bt < at {
                // From before the interval: keep only what reaches into it.
                let drop = ((at - bt) as usize).min(k);
                st.skipped += drop as u64;
                for b in bufs.iter_mut() {
                    b.copy_within(filled + drop..filled + k, filled);
                }
                filled += k - drop;
            } else {
                // The stream jumped forward: zeros for what was lost, the
                // samples at their time, and what lies past the interval kept.
                let gap = (bt - at) as usize;
                let dst = (filled + gap).min(n);
                let fits = k.min(n - dst);
                let rest = k - fits;
                for (b, c) in bufs.iter_mut().zip(self.carry.iter_mut()) {
                    c[..rest].copy_from_slice(&b[filled + fits..filled + k]);
                    b.copy_within(filled..filled + fits, dst);
                }
                if rest > 0 {
                    self.off = 0;
                    self.len = rest;
                    self.time = bt + fits as Ticks;
                }
                zero(bufs, filled, dst);
                st.lost += dst - filled;
                filled = dst + fits;
            }
        }
        Ok(st)
    }

    fn consume(&mut self, k: usize) {
        self.off += k;
        self.len -= k;
        self.time += k as Ticks;
        if self.len == 0 {
            self.off = 0;
        }
    }
}

fn zero(bufs: &mut [&mut [Complex32]], from: usize, to: usize) {
    for b in bufs.iter_mut() {
        b[from..to].fill(Complex32::default());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::radio::{EventCounts, RadioConfig, RadioInfo, RxMetadata, TxTime};

    /// Hands out scripted blocks (time, length); sample value = its device time.
    struct Script(Vec<(Ticks, usize)>);
    impl Radio for Script {
        fn info(&self) -> RadioInfo {
            unimplemented!()
        }
        fn configure(&mut self, _: &RadioConfig) -> Result<(), RadioError> {
            Ok(())
        }
        fn start(&mut self) -> Result<(), RadioError> {
            Ok(())
        }
        fn stop(&mut self) -> Result<(), RadioError> {
            Ok(())
        }
        fn hardware_time(&self) -> Option<Ticks> {
            None
        }
        fn receive(
            &mut self,
            b: &mut [&mut [Complex32]],
            _: Duration,
        ) -> Result<RxMetadata, RadioError> {
            if self.0.is_empty() {
                return Ok(RxMetadata {
                    end_of_burst: true,
                    ..RxMetadata::default()
                });
            }
            let (t, len) = self.0[0];
            let k = len.min(b[0].len());
            for ch in b.iter_mut() {
                for (i, x) in ch[..k].iter_mut().enumerate() {
                    *x = Complex32::new((t + i as Ticks) as f32, 0.0);
                }
            }
            if k == len {
                self.0.remove(0);
            } else {
                self.0[0] = (t + k as Ticks, len - k);
            }
            Ok(RxMetadata {
                samples: k,
                time: Some(t),
                ..RxMetadata::default()
            })
        }
        fn transmit(
            &mut self,
            _: &[&[Complex32]],
            _: TxTime,
            _: bool,
        ) -> Result<usize, RadioError> {
            Ok(0)
        }
        fn events(&self) -> EventCounts {
            EventCounts::default()
        }
    }

    fn times(b: &[Complex32]) -> Vec<i64> {
        b.iter().map(|x| x.re as i64).collect()
    }

    #[test]
    fn skips_the_past_zero_fills_gaps_and_carries_the_future() {
        // 0..7, then a jump to 20..33 (overflow), then 33..40.
        let mut r = Script(vec![(0, 7), (20, 13), (33, 7)]);
        let mut rd = TimedReader::new(2, 10);
        let (mut a, mut b) = (
            vec![Complex32::default(); 10],
            vec![Complex32::default(); 10],
        );
        // Interval [4, 14): skips 0..4, 4..7 real, 7..14 lost (the jump lands beyond).
        let st = rd
            .read_at(&mut r, 4, &mut [&mut a, &mut b], Duration::ZERO)
            .unwrap();
        assert_eq!(times(&a[..3]), vec![4, 5, 6]);
        assert!(a[3..].iter().all(|x| x.re == 0.0));
        assert_eq!((st.lost, st.skipped), (7, 4));
        // [14, 24): 14..20 lost, 20..24 from the carry.
        let st = rd
            .read_at(&mut r, 14, &mut [&mut a, &mut b], Duration::ZERO)
            .unwrap();
        assert_eq!(times(&a[6..]), vec![20, 21, 22, 23]);
        assert_eq!(st.lost, 6);
        assert_eq!(times(&b[6..]), vec![20, 21, 22, 23]);
        // [24, 34): carry 24..30, then the stream 30..34 (rest of the block, then the next).
        let st = rd
            .read_at(&mut r, 24, &mut [&mut a, &mut b], Duration::ZERO)
            .unwrap();
        assert_eq!(times(&a), (24..34).collect::<Vec<_>>());
        assert_eq!(st, ReadStats::default());
        let mut s = [Complex32::default(); 6];
        let mut s2 = [Complex32::default(); 6];
        rd.read_at(&mut r, 34, &mut [&mut s, &mut s2], Duration::ZERO)
            .unwrap();
        assert_eq!(times(&s), (34..40).collect::<Vec<_>>());
        let e = rd
            .read_at(&mut r, 40, &mut [&mut s, &mut s2], Duration::ZERO)
            .unwrap_err();
        assert!(e.to_string().contains("ended"), "{e}");
        assert!(rd
            .read_at(&mut r, 0, &mut [&mut a[..]], Duration::ZERO)
            .is_err());
    }
}
