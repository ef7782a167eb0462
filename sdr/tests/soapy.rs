//! The SoapySDR backend driven through the real libSoapySDR against the
//! project's loopback device (sdr/soapy-loopback), where each TX channel
//! feeds the RX channel of the same index at the scheduled device time.
#![cfg(feature = "soapy")]

use num_complex::Complex32;
use ranlab_sdr::soapy::{SoapyOptions, SoapyRadio, Timing};
use ranlab_sdr::{Radio, RadioConfig, RadioError, TxTime};
use std::time::{Duration, Instant};

const RATE: f64 = 1.92e6;
const T: Duration = Duration::from_secs(5);

fn config(channels: usize) -> RadioConfig {
    RadioConfig {
        sample_rate_hz: RATE,
        center_frequency_hz: 3.5e9,
        rx_gain_db: vec![30.0; channels],
        tx_gain_db: vec![40.0; channels],
        rx_antennas: vec![],
        tx_antennas: vec![],
    }
}

/// A small pool keeps the RX thread at most 4 × 1024 samples ahead of the reader.
fn options(channels: usize) -> SoapyOptions {
    SoapyOptions {
        rx_channels: (0..channels).collect(),
        tx_channels: (0..channels).collect(),
        rx_block: Some(1024),
        rx_buffers: 4,
        ..SoapyOptions::default()
    }
}

fn open(serial: &str, extra: &str, channels: usize) -> SoapyRadio {
    let args = format!("driver=ranlab_loopback,serial={serial}{extra}");
    let mut r = SoapyRadio::open(&args, options(channels)).expect("open the loopback device");
    r.configure(&config(channels)).expect("configure");
    r.start().expect("start");
    r
}

/// A burst whose samples are exact in CS16 (multiples of 1/32767).
fn burst(len: usize, seed: i32) -> Vec<Complex32> {
    (0..len as i32)
        .map(|i| {
            let re = ((i * 37 + seed * 101) % 2001 - 1000) as f32;
            let im = ((i * 53 + seed * 7) % 1999 - 999) as f32;
            Complex32::new(re, im) / 32767.0
        })
        .collect()
}

/// The CS16 values of samples, so comparisons are exact.
fn q(x: &[Complex32]) -> Vec<(i32, i32)> {
    x.iter()
        .map(|c| {
            (
                (c.re * 32767.0).round() as i32,
                (c.im * 32767.0).round() as i32,
            )
        })
        .collect()
}

/// Asserts that `got` holds exactly the CS16 samples of `want`.
#[track_caller]
fn assert_same(got: &[Complex32], want: &[Complex32]) {
    let (g, w) = (q(got), q(want));
    if let Some(i) = g.iter().zip(&w).position(|(a, b)| a != b) {
        panic!("sample {i} of {}: got {:?}, want {:?}", w.len(), g[i], w[i]);
    }
    assert_eq!(g.len(), w.len());
}

/// Receives per channel until device time `end`; returns the stream start time and samples.
fn receive_until(r: &mut SoapyRadio, channels: usize, end: i64) -> (i64, Vec<Vec<Complex32>>) {
    let mut out = vec![Vec::new(); channels];
    let mut start = None;
    let mut bufs = vec![vec![Complex32::default(); 1000]; channels];
    loop {
        let mut views: Vec<&mut [Complex32]> = bufs.iter_mut().map(|b| b.as_mut_slice()).collect();
        let m = r.receive(&mut views, T).expect("receive");
        let t = m.time.expect("timestamped");
        let s = *start.get_or_insert(t);
        let have = s + out[0].len() as i64;
        assert_eq!(t, have, "contiguous stream");
        for (o, b) in out.iter_mut().zip(&bufs) {
            o.extend_from_slice(&b[..m.samples]);
        }
        if t + m.samples as i64 >= end {
            return (s, out);
        }
    }
}

#[test]
fn timed_burst_arrives_at_the_exact_sample() {
    let mut r = open("exact", "", 1);
    assert!(r.info().has_hardware_time);
    let now = r.hardware_time().expect("hardware time");
    let at = now + 10_000 + 123;
    let b = burst(2_500, 1);
    assert_eq!(r.transmit(&[&b], TxTime::At(at), true).unwrap(), b.len());
    let (s, rx) = receive_until(&mut r, 1, at + 3_000);
    let i = (at - s) as usize;
    assert!(
        rx[0][..i].iter().all(|x| x.norm() == 0.0),
        "nothing before the burst"
    );
    assert_same(&rx[0][i..i + b.len()], &b);
    assert!(
        rx[0][i + b.len()..].iter().all(|x| x.norm() == 0.0),
        "gap reads as zeros"
    );
    r.stop().unwrap();
    assert_eq!(r.burst_acks(), 1, "end of burst acknowledged");
    let e = r.events();
    assert_eq!(
        (e.overflows, e.underflows, e.late, e.time_errors),
        (0, 0, 0, 0)
    );
}

#[test]
fn late_burst_is_counted_dropped_and_the_next_one_lands() {
    let mut r = open("late", "", 1);
    // Read a while so device time moves on, then schedule in the past.
    let (s, _) = receive_until(&mut r, 1, 20_000);
    assert_eq!(s, 0);
    let b = burst(500, 2);
    // A late burst in two blocks: the second block must not go out either.
    r.transmit(&[&b], TxTime::At(100), false).unwrap();
    r.transmit(&[&b], TxTime::Now, true).unwrap();
    assert_eq!(r.events().late, 1);
    // Recovery: a burst for a future slot lands normally.
    let at = r.hardware_time().unwrap() + 8_000;
    r.transmit(&[&b], TxTime::At(at), true).unwrap();
    let (s, rx) = receive_until(&mut r, 1, at + 1_000);
    let i = (at - s) as usize;
    assert!(
        rx[0][..i].iter().all(|x| x.norm() == 0.0),
        "nothing of the late burst"
    );
    assert_same(&rx[0][i..i + b.len()], &b);
    r.stop().unwrap();
    assert_eq!(r.events().late, 1);
    assert_eq!(
        r.burst_acks(),
        1,
        "only the on-time burst reached the device"
    );
}

#[test]
fn two_channels_stream_each_to_its_own_and_overlapping_bursts_add() {
    let mut r = open("two", ",channels=2", 2);
    assert_eq!((r.info().rx_channels, r.info().tx_channels), (2, 2));
    let at = r.hardware_time().unwrap() + 9_000;
    let (a, b) = (burst(1_000, 3), burst(1_000, 4));
    r.transmit(&[&a, &b], TxTime::At(at), true).unwrap();
    // A second burst overlapping the first by 400 samples on both channels.
    let (c, d) = (burst(600, 5), burst(600, 6));
    r.transmit(&[&c, &d], TxTime::At(at + 600), true).unwrap();
    let (s, rx) = receive_until(&mut r, 2, at + 2_000);
    let i = (at - s) as usize;
    for (ch, (first, second)) in [(&a, &c), (&b, &d)].into_iter().enumerate() {
        for k in 0..1_200 {
            let want = first.get(k).copied().unwrap_or_default()
                + if k >= 600 {
                    second[k - 600]
                } else {
                    Complex32::default()
                };
            let got = rx[ch][i + k];
            assert!(
                (got - want).norm() <= 0.71 / 32767.0 * 2.0,
                "ch {ch} sample {k}: {got} vs {want}"
            );
        }
    }
    r.stop().unwrap();
    assert_eq!(r.burst_acks(), 2);
}

#[test]
fn overflow_is_counted_and_receive_resumes_on_a_slot_boundary() {
    let mut r = open("ovf", "", 1);
    let slot = r.slot_samples();
    assert_eq!(slot, 1_920, "1 ms at 1.92 MS/s, 15 kHz");
    let (_, _) = receive_until(&mut r, 1, 5_000);
    r.write_setting("inject_overflow", "777").unwrap();
    let mut buf = vec![Complex32::default(); 500];
    let mut last_end = None;
    let meta = loop {
        let m = r.receive(&mut [&mut buf], T).unwrap();
        if m.overflow {
            break m;
        }
        last_end = Some(m.time.unwrap() + m.samples as i64);
    };
    let t = meta.time.unwrap();
    assert_eq!(t % slot, 0, "resumes at a slot boundary, got {t}");
    assert!(t >= last_end.unwrap_or(0) + 777, "skipped the lost samples");
    assert_eq!(r.events().overflows, 1);
    assert_eq!(r.events().time_errors, 0);
    r.stop().unwrap();
}

#[test]
fn open_burst_that_runs_dry_underflows_once() {
    let mut r = open("under", "", 1);
    let at = r.hardware_time().unwrap() + 6_000;
    let b = burst(300, 7);
    r.transmit(&[&b], TxTime::At(at), false).unwrap(); // burst left open
    receive_until(&mut r, 1, at + 5_000); // reads past its end
    r.transmit(&[&b], TxTime::Now, true).unwrap(); // the rest, too late
    r.stop().unwrap();
    assert_eq!(r.events().underflows, 1);
}

#[test]
fn device_without_hardware_time_is_refused_in_timed_mode() {
    let args = "driver=ranlab_loopback,serial=notime,time=0";
    let e = SoapyRadio::open(args, SoapyOptions::default())
        .err()
        .expect("refused");
    let msg = e.to_string();
    assert!(
        msg.contains("no hardware time") && msg.contains("untimed"),
        "{msg}"
    );
    // Untimed RX works.
    let opts = SoapyOptions {
        timing: Timing::Untimed,
        tx_channels: vec![],
        ..options(1)
    };
    let mut r = SoapyRadio::open(args, opts).unwrap();
    let mut c = config(1);
    c.tx_gain_db.clear();
    r.configure(&c).unwrap();
    r.start().unwrap();
    let mut buf = vec![Complex32::default(); 100];
    let m = r.receive(&mut [&mut buf], T).unwrap();
    assert_eq!((m.samples, m.time), (100, None));
    assert!(r.hardware_time().is_none());
}

#[test]
fn settings_are_checked_against_the_device_before_streaming() {
    let open = |o: SoapyOptions| {
        SoapyRadio::open("driver=ranlab_loopback,serial=check,extref=0", o).unwrap()
    };
    let err = |r: &mut SoapyRadio, c: &RadioConfig| match r.configure(c) {
        Err(RadioError::Config { setting, message }) => format!("{setting}: {message}"),
        other => panic!("expected a config error, got {other:?}"),
    };
    let mut r = open(options(1));
    let mut c = config(1);
    c.sample_rate_hz = 25e6;
    let e = err(&mut r, &c);
    assert!(e.contains("24.96 MHz or 26.88 MHz"), "{e}");
    c.sample_rate_hz = 122.88e6;
    let e = err(&mut r, &c);
    assert!(
        e.contains("not supported by the device") && e.contains("61.44 MHz"),
        "{e}"
    );
    let mut c = config(1);
    c.rx_gain_db = vec![80.5];
    let e = err(&mut r, &c);
    assert!(
        e.starts_with("rx_gain_db[0]") && e.contains("nearest: 76 dB"),
        "{e}"
    );
    let mut c = config(1);
    c.center_frequency_hz = 10e6;
    let e = err(&mut r, &c);
    assert!(e.contains("nearest: 70 MHz"), "{e}");
    let mut c = config(1);
    c.tx_antennas = vec!["TX/RX".into()];
    let e = err(&mut r, &c);
    assert!(e.contains("available: LOOP"), "{e}");
    let mut r = open(SoapyOptions {
        clock_source: Some("gpsdo".into()),
        ..options(1)
    });
    let e = err(&mut r, &config(1));
    assert!(e.contains("available: internal, external"), "{e}");
    let mut r = open(SoapyOptions {
        clock_source: Some("external".into()),
        lock_timeout: Duration::from_millis(100),
        ..options(1)
    });
    let e = err(&mut r, &config(1));
    assert!(e.contains("not locked") && e.contains("ref_locked"), "{e}");
    let e = SoapyRadio::open(
        "driver=ranlab_loopback,serial=check",
        SoapyOptions {
            rx_channels: vec![5],
            ..options(1)
        },
    )
    .err()
    .unwrap()
    .to_string();
    assert!(e.contains("channel 5 does not exist"), "{e}");
    let mut r = open(SoapyOptions {
        master_clock_hz: Some(30.72e6),
        clock_source: Some("internal".into()),
        bandwidth_hz: Some(1.4e6),
        ..options(1)
    });
    r.configure(&config(1)).unwrap();
}

#[test]
fn realtime_mode_paces_the_stream_to_the_wall_clock() {
    let mut r = open("rt", ",mode=realtime", 1);
    let start = Instant::now();
    let end = r.hardware_time().unwrap() + 19_200;
    let (_, rx) = receive_until(&mut r, 1, end);
    // 19 200 samples at 1.92 MS/s are 10 ms of air time: they cannot arrive sooner.
    assert!(rx[0].len() >= 19_200);
    assert!(
        start.elapsed() >= Duration::from_millis(9),
        "{:?}",
        start.elapsed()
    );
    // A timed burst still lands exactly.
    // Beyond what the RX thread can read ahead (the pool holds 4 x 1024) however loaded the host.
    let at = r.hardware_time().unwrap() + 20_000;
    let b = burst(200, 8);
    r.transmit(&[&b], TxTime::At(at), true).unwrap();
    let (s, rx) = receive_until(&mut r, 1, at + 500);
    assert!(s <= at, "the reader is behind device time");
    let i = (at - s) as usize;
    assert_same(&rx[0][i..i + b.len()], &b);
    r.stop().unwrap();
}

#[test]
fn lookahead_schedules_now_bursts_ahead_of_the_receive_head() {
    let opts = SoapyOptions {
        timing: Timing::Timed { lookahead_slots: 3 },
        ..options(1)
    };
    let mut r = SoapyRadio::open("driver=ranlab_loopback,serial=ahead", opts).unwrap();
    r.configure(&config(1)).unwrap();
    r.start().unwrap();
    let (s0, _) = receive_until(&mut r, 1, 3_000);
    assert_eq!(s0, 0);
    let b = burst(100, 9);
    r.transmit(&[&b], TxTime::Now, true).unwrap();
    let (s, rx) = receive_until(&mut r, 1, 20_000);
    let i = rx[0]
        .iter()
        .position(|x| x.norm() > 0.0)
        .expect("the burst arrived");
    let t = s + i as i64;
    assert_same(&rx[0][i..i + 100], &b);
    assert!(
        t >= 3 * 1_920,
        "scheduled at least 3 slots ahead, landed at {t}"
    );
    assert_eq!(r.events().late, 0);
}

#[test]
fn loopback_device_reports_a_past_burst_as_a_time_error_status() {
    use ranlab_sdr::soapy::device::{code, flag, Device, Dir};
    ranlab_sdr::soapy::load_loopback_module().unwrap();
    let dev = std::sync::Arc::new(Device::open("driver=ranlab_loopback,serial=status").unwrap());
    let mut rx = dev.stream_cs16(Dir::Rx, &[0]).unwrap();
    let mut tx = dev.stream_cs16(Dir::Tx, &[0]).unwrap();
    rx.activate(None).unwrap();
    tx.activate(None).unwrap();
    let mut buf = vec![0i16; 2 * 1000];
    let r = rx.read(&mut [&mut buf], 100_000).unwrap();
    assert_eq!(r.flags & flag::HAS_TIME, flag::HAS_TIME);
    let burst = vec![1000i16; 2 * 10];
    // Device time is now 1000 samples; a burst at sample 10 is in the past.
    let ns = (10.0 / RATE * 1e9) as i64;
    assert_eq!(tx.write(&[&burst], Some(ns), true, 100_000).unwrap(), 10);
    let st = tx.read_status(0).expect("a status event");
    assert_eq!(st.code, code::TIME_ERROR);
    // An on-time burst is acknowledged at its end.
    let ns = (2000.0 / RATE * 1e9).round() as i64;
    tx.write(&[&burst], Some(ns), true, 100_000).unwrap();
    let st = tx.read_status(0).expect("end-of-burst ack");
    assert_eq!((st.code, st.flags & flag::END_BURST), (0, flag::END_BURST));
    assert!(tx.read_status(0).is_none());
}

#[test]
fn a_stalled_reader_in_realtime_overflows_and_recovers_on_a_slot_boundary() {
    // 65536 samples of device buffer (34 ms at 1.92 MS/s) and a pool of 4 x 1024.
    let mut r = open("stall", ",mode=realtime,capacity=65536", 1);
    let mut buf = vec![Complex32::default(); 960];
    r.receive(&mut [&mut buf], T).unwrap();
    // On a loaded host the start itself may already have overflowed: count from here.
    let before = r.events().overflows;
    // The host stalls for 200 ms: the pool fills, the device buffer overruns.
    std::thread::sleep(Duration::from_millis(200));
    let mut meta = None;
    for _ in 0..10_000 {
        let m = r.receive(&mut [&mut buf], T).unwrap();
        if m.overflow {
            let t = m.time.unwrap();
            assert_eq!(t % r.slot_samples(), 0, "resumes on a slot boundary");
            if r.events().overflows > before {
                meta = Some(m);
                break;
            }
        }
    }
    let meta = meta.expect("the stall was seen as an overflow");
    // And streams on contiguously afterwards (on a loaded host another stall
    // may overflow again: then it too resumes on a slot boundary).
    let next = meta.time.unwrap() + meta.samples as i64;
    let m = r.receive(&mut [&mut buf], T).unwrap();
    if m.overflow {
        assert_eq!(m.time.unwrap() % r.slot_samples(), 0);
    } else {
        assert_eq!(m.time, Some(next));
    }
    r.stop().unwrap();
}
