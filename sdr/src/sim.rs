//! The simulated radio: UE transmitters -> air channel -> gNB antennas.
//!
//! TX channels are the UEs' antennas, RX channels the gNB's. Timed bursts go
//! into per-channel [`Timeline`]s exactly as a device would schedule them;
//! each receive call reads the next block of every TX timeline (zeros where
//! nothing was sent), passes it through the [`AirChannel`] (fading, path
//! loss, noise, impairments) and returns the gNB's samples with their device
//! time. The device clock advances as samples are read (`Pace::Free`,
//! deterministic) or no faster than the wall clock (`Pace::Realtime`).

use crate::radio::{
    check_shape, EventCounts, Radio, RadioConfig, RadioError, RadioEvents, RadioInfo, RxMetadata,
    Ticks, TxTime,
};
use crate::timeline::{PlaceError, Timeline};
use num_complex::Complex32;
use std::time::{Duration, Instant};

/// What stands between the UEs' antennas and the gNB's.
pub trait AirChannel: Send {
    /// Propagates one block of `n` samples: `tx[c][..n]` is TX channel c's samples
    /// starting at device time `time`; writes the superposition plus noise to
    /// `rx[a]` (each exactly `n` long) for every gNB antenna.
    fn propagate(
        &mut self,
        time: Ticks,
        n: usize,
        tx: &[Vec<Complex32>],
        rx: &mut [&mut [Complex32]],
    ) -> Result<(), String>;
}

/// How the simulated device clock runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pace {
    /// As fast as the receiver reads: deterministic, for CI.
    Free,
    /// No faster than the wall clock at the configured sample rate.
    Realtime,
}

/// The simulated radio.
pub struct SimRadio {
    channel: Box<dyn AirChannel>,
    timelines: Vec<Timeline>,
    tx_block: Vec<Vec<Complex32>>,
    rx_channels: usize,
    mtu: usize,
    pace: Pace,
    sample_rate_hz: f64,
    streaming: bool,
    /// Device time of the next sample to be received.
    now: Ticks,
    /// Where the next `TxTime::Now` burst block lands, per TX channel.
    tx_cursor: Vec<Ticks>,
    wall_start: Option<(Instant, Ticks)>,
    events: RadioEvents,
}

impl SimRadio {
    /// A radio with `tx_channels` UE antennas and `rx_channels` gNB antennas,
    /// holding up to `lookahead` samples of scheduled bursts.
    pub fn new(
        channel: Box<dyn AirChannel>,
        tx_channels: usize,
        rx_channels: usize,
        lookahead: usize,
        mtu: usize,
        pace: Pace,
    ) -> Self {
        SimRadio {
            channel,
            timelines: (0..tx_channels)
                .map(|_| Timeline::new(lookahead, 0))
                .collect(),
            tx_block: (0..tx_channels)
                .map(|_| vec![Complex32::default(); mtu])
                .collect(),
            rx_channels,
            mtu,
            pace,
            sample_rate_hz: 30.72e6,
            streaming: false,
            now: 0,
            tx_cursor: vec![0; tx_channels],
            wall_start: None,
            events: RadioEvents::default(),
        }
    }
}

impl Radio for SimRadio {
    fn info(&self) -> RadioInfo {
        RadioInfo {
            driver: "sim".into(),
            hardware: "ranlab software channel".into(),
            rx_channels: self.rx_channels,
            tx_channels: self.timelines.len(),
            has_hardware_time: true,
            mtu: self.mtu,
        }
    }

    fn configure(&mut self, config: &RadioConfig) -> Result<(), RadioError> {
        if !(config.sample_rate_hz.is_finite() && config.sample_rate_hz > 0.0) {
            return Err(RadioError::Config {
                setting: "sample_rate_hz".into(),
                message: format!("{} is not a positive rate", config.sample_rate_hz),
            });
        }
        self.sample_rate_hz = config.sample_rate_hz;
        Ok(())
    }

    fn start(&mut self) -> Result<(), RadioError> {
        self.streaming = true;
        self.wall_start = Some((Instant::now(), self.now));
        Ok(())
    }

    fn stop(&mut self) -> Result<(), RadioError> {
        self.streaming = false;
        Ok(())
    }

    fn hardware_time(&self) -> Option<Ticks> {
        Some(self.now)
    }

    fn receive(
        &mut self,
        buffers: &mut [&mut [Complex32]],
        _timeout: Duration,
    ) -> Result<RxMetadata, RadioError> {
        if !self.streaming {
            return Err(RadioError::NotStreaming);
        }
        // The simulated device fills the whole buffers (up to its MTU) in one call.
        let n = check_shape(buffers, self.rx_channels, |b| b.len())?;
        if n > self.mtu {
            return Err(RadioError::Shape(format!(
                "{n} samples per call exceed the MTU of {}",
                self.mtu
            )));
        }
        if self.pace == Pace::Realtime {
            if let Some((t0, tick0)) = self.wall_start {
                let due = Duration::from_secs_f64(
                    (self.now + n as Ticks - tick0) as f64 / self.sample_rate_hz,
                );
                if let Some(wait) = due.checked_sub(t0.elapsed()) {
                    std::thread::sleep(wait);
                }
            }
        }
        let time = self.now;
        for (tl, blk) in self.timelines.iter_mut().zip(self.tx_block.iter_mut()) {
            tl.read(&mut blk[..n]);
        }
        self.channel
            .propagate(time, n, &self.tx_block, buffers)
            .map_err(RadioError::Device)?;
        self.now += n as Ticks;
        Ok(RxMetadata {
            samples: n,
            time: Some(time),
            overflow: false,
            end_of_burst: false,
        })
    }

    fn transmit(
        &mut self,
        buffers: &[&[Complex32]],
        time: TxTime,
        end_of_burst: bool,
    ) -> Result<usize, RadioError> {
        let n = check_shape(buffers, self.timelines.len(), |b| b.len())?;
        for (c, (tl, b)) in self.timelines.iter_mut().zip(buffers).enumerate() {
            let at = match time {
                TxTime::At(t) => t,
                TxTime::Now => self.tx_cursor[c].max(tl.read_time()),
            };
            match tl.place(at, b) {
                Ok(()) => self.tx_cursor[c] = at + n as Ticks,
                Err(PlaceError::Late { .. }) => {
                    RadioEvents::count(&self.events.late);
                    return Ok(0);
                }
                Err(PlaceError::TooFarAhead) => {
                    RadioEvents::count(&self.events.time_errors);
                    return Ok(0);
                }
            }
        }
        if end_of_burst {
            self.tx_cursor.iter_mut().for_each(|c| *c = 0);
        }
        Ok(n)
    }

    fn events(&self) -> EventCounts {
        self.events.snapshot()
    }
}

/// Most transmit streams one simulated air interface carries (UE antennas).
pub const MAX_TX_STREAMS: usize = 256;

/// The software channel of `ranlab-sim-channel` as the air between UEs and gNB.
impl AirChannel for ranlab_sim_channel::MultiLinkChannel {
    fn propagate(
        &mut self,
        _time: Ticks,
        n: usize,
        tx: &[Vec<Complex32>],
        rx: &mut [&mut [Complex32]],
    ) -> Result<(), String> {
        if tx.len() > MAX_TX_STREAMS {
            return Err(format!(
                "{} transmit streams (at most {MAX_TX_STREAMS})",
                tx.len()
            ));
        }
        // Slices on the stack: the per-slot path allocates nothing.
        let mut txs: [&[Complex32]; MAX_TX_STREAMS] = [&[]; MAX_TX_STREAMS];
        for (s, b) in txs.iter_mut().zip(tx) {
            *s = &b[..n];
        }
        self.process(&txs[..tx.len()], rx)
            .map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every gNB antenna hears the sum of all TX channels, scaled per antenna.
    struct Sum;
    impl AirChannel for Sum {
        fn propagate(
            &mut self,
            _t: Ticks,
            n: usize,
            tx: &[Vec<Complex32>],
            rx: &mut [&mut [Complex32]],
        ) -> Result<(), String> {
            for (a, r) in rx.iter_mut().enumerate() {
                for (i, y) in r[..n].iter_mut().enumerate() {
                    *y = tx.iter().map(|t| t[i]).sum::<Complex32>() * (a + 1) as f32;
                }
            }
            Ok(())
        }
    }

    #[test]
    fn timed_burst_arrives_at_the_exact_sample_and_late_is_counted() {
        let mut r = SimRadio::new(Box::new(Sum), 2, 2, 4096, 256, Pace::Free);
        r.start().unwrap();
        let one = [Complex32::new(1.0, 0.0); 3];
        let two = [Complex32::new(0.0, 2.0); 3];
        assert_eq!(r.transmit(&[&one, &two], TxTime::At(300), true).unwrap(), 3);
        let mut a = vec![Complex32::default(); 256];
        let mut b = vec![Complex32::default(); 256];
        let m = r.receive(&mut [&mut a, &mut b], Duration::ZERO).unwrap();
        assert_eq!((m.time, m.samples), (Some(0), 256));
        assert!(a.iter().all(|x| *x == Complex32::default()));
        let m = r.receive(&mut [&mut a, &mut b], Duration::ZERO).unwrap();
        assert_eq!(m.time, Some(256));
        let hits: Vec<usize> = (0..256).filter(|&i| a[i] != Complex32::default()).collect();
        assert_eq!(hits, vec![44, 45, 46]);
        assert_eq!(b[44], Complex32::new(2.0, 4.0));
        // A burst scheduled in the past is refused and counted.
        assert_eq!(r.transmit(&[&one, &two], TxTime::At(100), true).unwrap(), 0);
        assert_eq!(r.events().late, 1);
        assert!(
            r.transmit(&[&one], TxTime::Now, true).is_err(),
            "wrong channel count is an error"
        );
    }
}
