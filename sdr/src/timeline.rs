//! A timestamped transmit timeline: bursts scheduled at device times are
//! summed into a ring of future samples, and the receive side reads them out
//! in order. Overlapping bursts add, gaps read as zeros, and a burst that
//! starts before the read position is late (it is refused and counted by the
//! caller). This is the device model of the simulated radio.

use crate::radio::Ticks;
use num_complex::Complex32;

/// Why a burst could not be placed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlaceError {
    /// The burst starts before samples already read out.
    Late {
        /// How many samples too late.
        by: i64,
    },
    /// The burst ends beyond the look-ahead the ring holds.
    TooFarAhead,
}

/// A ring of future samples for one channel, starting at `read_time`.
#[derive(Debug, Clone)]
pub struct Timeline {
    ring: Vec<Complex32>,
    /// Device time of the next sample to be read.
    read_time: Ticks,
    /// Ring index of `read_time`.
    head: usize,
}

impl Timeline {
    /// A timeline holding up to `capacity` samples ahead of the read position.
    pub fn new(capacity: usize, start: Ticks) -> Self {
        Timeline {
            ring: vec![Complex32::default(); capacity.max(1)],
            read_time: start,
            head: 0,
        }
    }

    /// Device time of the next sample to be read.
    pub fn read_time(&self) -> Ticks {
        self.read_time
    }

    /// Adds `samples` starting at device time `at`.
    pub fn place(&mut self, at: Ticks, samples: &[Complex32]) -> Result<(), PlaceError> {
        if at < self.read_time {
            return Err(PlaceError::Late {
                by: self.read_time - at,
            });
        }
        let offset = (at - self.read_time) as usize;
        let cap = self.ring.len();
        if offset + samples.len() > cap {
            return Err(PlaceError::TooFarAhead);
        }
        let start = (self.head + offset) % cap;
        let first = samples.len().min(cap - start);
        for (r, s) in self.ring[start..start + first].iter_mut().zip(samples) {
            *r += *s;
        }
        for (r, s) in self.ring[..samples.len() - first]
            .iter_mut()
            .zip(&samples[first..])
        {
            *r += *s;
        }
        Ok(())
    }

    /// Reads the next `out.len()` samples (zeros where nothing was scheduled) and advances.
    pub fn read(&mut self, out: &mut [Complex32]) {
        let cap = self.ring.len();
        let mut done = 0;
        while done < out.len() {
            let n = (out.len() - done).min(cap - self.head);
            let src = &mut self.ring[self.head..self.head + n];
            out[done..done + n].copy_from_slice(src);
            src.fill(Complex32::default());
            self.head = (self.head + n) % cap;
            done += n;
        }
        self.read_time += out.len() as Ticks;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(x: f32) -> Complex32 {
        Complex32::new(x, -x)
    }

    #[test]
    fn bursts_land_at_their_time_overlap_adds_gaps_are_zero() {
        let mut t = Timeline::new(16, 100);
        t.place(103, &[c(1.0), c(2.0)]).unwrap();
        t.place(104, &[c(10.0)]).unwrap();
        let mut out = vec![c(9.0); 8];
        t.read(&mut out);
        assert_eq!(
            out,
            vec![
                c(0.0),
                c(0.0),
                c(0.0),
                c(1.0),
                c(12.0),
                c(0.0),
                c(0.0),
                c(0.0)
            ]
        );
        assert_eq!(t.read_time(), 108);
        // Wraps around the ring.
        t.place(120, &[c(5.0); 4]).unwrap();
        let mut out = vec![c(9.0); 16];
        t.read(&mut out);
        assert_eq!(&out[12..16], &[c(5.0); 4]);
        assert_eq!(out[..12].iter().filter(|x| **x != c(0.0)).count(), 0);
    }

    #[test]
    fn late_and_too_far_are_refused() {
        let mut t = Timeline::new(8, 0);
        let mut out = vec![c(0.0); 4];
        t.read(&mut out);
        assert_eq!(t.place(2, &[c(1.0)]), Err(PlaceError::Late { by: 2 }));
        assert_eq!(t.place(4, &[c(1.0); 9]), Err(PlaceError::TooFarAhead));
        assert!(t.place(4, &[c(1.0); 8]).is_ok());
    }
}
