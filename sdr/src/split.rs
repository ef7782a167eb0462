//! Two radios as one: receive through one device, transmit through another.
//!
//! A two-board loopback (a UE board cabled or over the air to a gNB board)
//! gives the receive side to the gNB device and the transmit side to the UE
//! device. Device times are taken to be shared: both boards on one time
//! source (PPS / GPSDO) with their time reset together, which
//! `SoapyOptions::reset_time` does at configuration.

use crate::radio::{
    EventCounts, Radio, RadioConfig, RadioError, RadioInfo, RxMetadata, Ticks, TxTime,
};
use num_complex::Complex32;
use std::time::Duration;

/// Receives from `rx`, transmits through `tx`.
pub struct SplitRadio {
    rx: Box<dyn Radio>,
    tx: Box<dyn Radio>,
}

impl SplitRadio {
    /// Joins a receive-side and a transmit-side radio.
    pub fn new(rx: Box<dyn Radio>, tx: Box<dyn Radio>) -> Self {
        SplitRadio { rx, tx }
    }
}

impl Radio for SplitRadio {
    fn info(&self) -> RadioInfo {
        let (r, t) = (self.rx.info(), self.tx.info());
        RadioInfo {
            driver: if r.driver == t.driver {
                r.driver
            } else {
                format!("{}+{}", r.driver, t.driver)
            },
            hardware: format!("RX {} / TX {}", r.hardware, t.hardware),
            rx_channels: r.rx_channels,
            tx_channels: t.tx_channels,
            has_hardware_time: r.has_hardware_time && t.has_hardware_time,
            mtu: r.mtu,
        }
    }

    /// Configures both sides with the same settings (each uses its own direction's lists).
    fn configure(&mut self, config: &RadioConfig) -> Result<(), RadioError> {
        self.rx.configure(&RadioConfig {
            tx_gain_db: vec![],
            tx_antennas: vec![],
            ..config.clone()
        })?;
        self.tx.configure(&RadioConfig {
            rx_gain_db: vec![],
            rx_antennas: vec![],
            ..config.clone()
        })
    }

    fn start(&mut self) -> Result<(), RadioError> {
        self.tx.start()?;
        self.rx.start()
    }

    fn stop(&mut self) -> Result<(), RadioError> {
        let r = self.rx.stop();
        self.tx.stop()?;
        r
    }

    fn hardware_time(&self) -> Option<Ticks> {
        self.rx.hardware_time()
    }

    fn receive(
        &mut self,
        buffers: &mut [&mut [Complex32]],
        timeout: Duration,
    ) -> Result<RxMetadata, RadioError> {
        self.rx.receive(buffers, timeout)
    }

    fn transmit(
        &mut self,
        buffers: &[&[Complex32]],
        time: TxTime,
        end_of_burst: bool,
    ) -> Result<usize, RadioError> {
        self.tx.transmit(buffers, time, end_of_burst)
    }

    /// The sum of both devices' counters.
    fn events(&self) -> EventCounts {
        let (a, b) = (self.rx.events(), self.tx.events());
        EventCounts {
            overflows: a.overflows + b.overflows,
            underflows: a.underflows + b.underflows,
            late: a.late + b.late,
            time_errors: a.time_errors + b.time_errors,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::{AirChannel, Pace, SimRadio};

    /// Every RX channel hears TX channel 0.
    struct Wire;
    impl AirChannel for Wire {
        fn propagate(
            &mut self,
            _: Ticks,
            n: usize,
            tx: &[Vec<Complex32>],
            rx: &mut [&mut [Complex32]],
        ) -> Result<(), String> {
            for r in rx.iter_mut() {
                r[..n].copy_from_slice(&tx[0][..n]);
            }
            Ok(())
        }
    }

    #[test]
    fn receives_from_one_transmits_through_the_other_and_sums_counters() {
        let rx = SimRadio::new(Box::new(Wire), 1, 2, 1024, 64, Pace::Free);
        let tx = SimRadio::new(Box::new(Wire), 3, 1, 1024, 64, Pace::Free);
        let mut r = SplitRadio::new(Box::new(rx), Box::new(tx));
        let i = r.info();
        assert_eq!(
            (i.rx_channels, i.tx_channels, i.driver.as_str()),
            (2, 3, "sim")
        );
        r.start().unwrap();
        let one = [Complex32::new(1.0, 0.0); 4];
        // Three TX channels: the TX radio's shape, not the RX radio's.
        assert_eq!(
            r.transmit(&[&one, &one, &one], TxTime::At(0), true)
                .unwrap(),
            4
        );
        assert!(r.transmit(&[&one], TxTime::At(0), true).is_err());
        let (mut a, mut b) = (
            vec![Complex32::default(); 64],
            vec![Complex32::default(); 64],
        );
        let m = r.receive(&mut [&mut a, &mut b], Duration::ZERO).unwrap();
        // The RX radio heard nothing: the burst went through the other device.
        assert_eq!(m.samples, 64);
        assert!(a.iter().chain(&b).all(|x| *x == Complex32::default()));
        assert_eq!(r.hardware_time(), Some(64));
        // A late burst on the TX side shows in the joint counters.
        r.transmit(&[&one, &one, &one], TxTime::At(-10), true)
            .unwrap();
        assert_eq!(r.events().late, 1);
    }
}
