//! Replaying a recording: [`SigmfRadio`], a receive-only [`Radio`] over
//! `BASE.sigmf-meta` + `BASE.sigmf-data`.

use super::{io_err, paths, Datatype, Metadata, SigmfError};
use crate::convert::cs16_to_cf32;
use crate::radio::{
    check_shape, EventCounts, Radio, RadioConfig, RadioError, RadioInfo, RxMetadata, Ticks, TxTime,
};
use num_complex::Complex32;
use serde_json::Value;
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A recording opened for replay: a receive-only [`Radio`].
pub struct SigmfRadio {
    meta: Metadata,
    meta_path: PathBuf,
    data: BufReader<File>,
    /// Samples per channel in the data file.
    total: u64,
    /// Next sample to read (per channel).
    pos: u64,
    started: bool,
    bytes: Vec<u8>,
    cs16: Vec<i16>,
    /// Segment index of `pos`.
    seg: usize,
}

impl SigmfRadio {
    /// Opens `BASE.sigmf-meta` + `BASE.sigmf-data` (either name or the base)
    /// and checks that the data file matches the metadata.
    pub fn open(path: &Path) -> Result<Self, SigmfError> {
        let (meta_path, data_path) = paths(path);
        let text = std::fs::read_to_string(&meta_path).map_err(io_err(&meta_path))?;
        let p = meta_path.display().to_string();
        let v: Value = serde_json::from_str(&text).map_err(|e| SigmfError::Invalid {
            path: p.clone(),
            message: format!("not JSON: {e}"),
        })?;
        let meta = Metadata::from_json(&v, &p)?;
        let file = File::open(&data_path).map_err(io_err(&data_path))?;
        let len = file.metadata().map_err(io_err(&data_path))?.len();
        let frame = (meta.datatype.sample_bytes() * meta.num_channels) as u64;
        if len % frame != 0 {
            return Err(SigmfError::Invalid {
                path: data_path.display().to_string(),
                message: format!(
                    "{len} bytes is not a whole number of {}-channel {} samples ({frame} bytes each)",
                    meta.num_channels,
                    meta.datatype.name()
                ),
            });
        }
        let total = len / frame;
        if let Some(c) = meta.captures.iter().find(|c| c.sample_start > total) {
            return Err(SigmfError::Invalid {
                path: p,
                message: format!(
                    "a capture starts at sample {} but the data holds {total}",
                    c.sample_start
                ),
            });
        }
        Ok(SigmfRadio {
            meta,
            meta_path,
            data: BufReader::new(file),
            total,
            pos: 0,
            started: false,
            bytes: Vec::new(),
            cs16: Vec::new(),
            seg: 0,
        })
    }

    /// The recording's metadata.
    pub fn metadata(&self) -> &Metadata {
        &self.meta
    }

    /// Samples per channel in the recording.
    pub fn total_samples(&self) -> u64 {
        self.total
    }

    /// Device time of sample `i` of the file (from its capture segment).
    fn time_of(&self, seg: usize, i: u64) -> Option<Ticks> {
        let c = &self.meta.captures[seg];
        c.global_index.map(|g| (g + (i - c.sample_start)) as Ticks)
    }
}

impl Radio for SigmfRadio {
    fn info(&self) -> RadioInfo {
        RadioInfo {
            driver: "sigmf".into(),
            hardware: format!(
                "{} ({})",
                self.meta.hw.as_deref().unwrap_or("unknown hardware"),
                self.meta_path.display()
            ),
            rx_channels: self.meta.num_channels,
            tx_channels: 0,
            has_hardware_time: self.meta.captures.iter().all(|c| c.global_index.is_some()),
            mtu: 4096,
        }
    }

    /// Checks that the configuration matches the recording (rate, frequency).
    fn configure(&mut self, config: &RadioConfig) -> Result<(), RadioError> {
        if (config.sample_rate_hz - self.meta.sample_rate_hz).abs()
            > 1e-6 * self.meta.sample_rate_hz
        {
            return Err(RadioError::Config {
                setting: "sample_rate_hz".into(),
                message: format!(
                    "{} Hz, but the recording was made at {} Hz",
                    config.sample_rate_hz, self.meta.sample_rate_hz
                ),
            });
        }
        if let Some(f) = self.meta.captures[0].frequency_hz {
            if (config.center_frequency_hz - f).abs() > 1.0 {
                return Err(RadioError::Config {
                    setting: "center_frequency_hz".into(),
                    message: format!(
                        "{} Hz, but the recording was made at {f} Hz",
                        config.center_frequency_hz
                    ),
                });
            }
        }
        Ok(())
    }

    fn start(&mut self) -> Result<(), RadioError> {
        self.started = true;
        Ok(())
    }

    fn stop(&mut self) -> Result<(), RadioError> {
        self.started = false;
        Ok(())
    }

    fn hardware_time(&self) -> Option<Ticks> {
        self.time_of(self.seg, self.pos)
    }

    /// Returns samples up to the buffer length or the end of the capture
    /// segment; at the end of the file, zero samples with `end_of_burst`.
    fn receive(
        &mut self,
        buffers: &mut [&mut [Complex32]],
        _timeout: Duration,
    ) -> Result<RxMetadata, RadioError> {
        let want = check_shape(buffers, self.meta.num_channels, |b| b.len())?;
        if !self.started {
            return Err(RadioError::NotStreaming);
        }
        if self.pos >= self.total {
            return Ok(RxMetadata {
                samples: 0,
                time: self.time_of(self.seg, self.pos),
                overflow: false,
                end_of_burst: true,
            });
        }
        // Enter the segment `pos` lies in; a jump in device time there is a gap.
        let mut overflow = false;
        while self.seg + 1 < self.meta.captures.len()
            && self.meta.captures[self.seg + 1].sample_start <= self.pos
        {
            let expect = self.time_of(self.seg, self.pos);
            self.seg += 1;
            overflow |= expect != self.time_of(self.seg, self.pos);
        }
        let seg_end = self
            .meta
            .captures
            .get(self.seg + 1)
            .map_or(self.total, |c| c.sample_start);
        let n = (want as u64).min(seg_end - self.pos) as usize;
        let ch = self.meta.num_channels;
        let sb = self.meta.datatype.sample_bytes();
        self.bytes.resize(n * ch * sb, 0);
        self.data
            .seek(SeekFrom::Start(self.pos * (ch * sb) as u64))
            .and_then(|_| self.data.read_exact(&mut self.bytes))
            .map_err(|e| {
                RadioError::Device(format!("reading {}: {e}", self.meta_path.display()))
            })?;
        match self.meta.datatype {
            Datatype::Ci16Le => {
                self.cs16.resize(2 * n, 0);
                for (c, buf) in buffers.iter_mut().enumerate() {
                    for i in 0..n {
                        let o = (i * ch + c) * 4;
                        self.cs16[2 * i] = i16::from_le_bytes([self.bytes[o], self.bytes[o + 1]]);
                        self.cs16[2 * i + 1] =
                            i16::from_le_bytes([self.bytes[o + 2], self.bytes[o + 3]]);
                    }
                    cs16_to_cf32(&self.cs16, &mut buf[..n]);
                }
            }
            Datatype::Cf32Le => {
                for (c, buf) in buffers.iter_mut().enumerate() {
                    for (i, x) in buf[..n].iter_mut().enumerate() {
                        let o = (i * ch + c) * 8;
                        let f = |k: usize| {
                            f32::from_le_bytes(
                                self.bytes[o + k..o + k + 4].try_into().expect("4 bytes"),
                            )
                        };
                        *x = Complex32::new(f(0), f(4));
                    }
                }
            }
        }
        let time = self.time_of(self.seg, self.pos);
        self.pos += n as u64;
        Ok(RxMetadata {
            samples: n,
            time,
            overflow,
            end_of_burst: self.pos == self.total,
        })
    }

    fn transmit(&mut self, _: &[&[Complex32]], _: TxTime, _: bool) -> Result<usize, RadioError> {
        Err(RadioError::Device(
            "a SigMF recording is receive-only".into(),
        ))
    }

    fn events(&self) -> EventCounts {
        // Gaps in the recording show as `overflow` on receive; nothing else happens in replay.
        EventCounts::default()
    }
}

#[cfg(test)]
mod tests {
    use super::super::SigmfWriter;
    use super::*;

    fn tmp(name: &str) -> PathBuf {
        std::env::temp_dir().join(format!("ranlab-sigmf-r-{}-{name}", std::process::id()))
    }

    fn ramp(n: usize, k: f32) -> Vec<Complex32> {
        (0..n)
            .map(|i| Complex32::new(i as f32 * k, -(i as f32) * k) / 32767.0)
            .collect()
    }

    #[test]
    fn write_then_replay_round_trip_with_a_gap_both_datatypes() {
        for dt in [Datatype::Ci16Le, Datatype::Cf32Le] {
            let base = tmp(dt.name());
            let mut w =
                SigmfWriter::create(&base, dt, 1.92e6, 2, 3.5e9, "test", Some(1920)).unwrap();
            let (a, b) = (ramp(3000, 1.0), ramp(3000, 2.0));
            w.write(&[&a, &b], Some(1000)).unwrap();
            w.write(&[&a[..500], &b[..500]], Some(4000)).unwrap(); // continues
            w.write(&[&a[..1000], &b[..1000]], Some(9000)).unwrap(); // after a gap
            let meta = w.finish().unwrap();
            assert_eq!(meta.captures.len(), 2);
            assert_eq!(meta.captures[1].sample_start, 3500);
            assert_eq!(meta.captures[1].global_index, Some(9000));
            // Slot boundaries at 1920 and 3840 (first capture), 9600 (second).
            let starts: Vec<u64> = meta.annotations.iter().map(|a| a.sample_start).collect();
            assert_eq!(starts, vec![920, 2840, 3500 + 600]);
            assert_eq!(meta.annotations[2].label.as_deref(), Some("slot 5"));
            assert_eq!(meta.annotations[2].sample_count, Some(400)); // trimmed at the end

            let mut r = SigmfRadio::open(&base.with_extension("sigmf-meta")).unwrap();
            assert_eq!(r.total_samples(), 4500);
            assert_eq!(r.info().rx_channels, 2);
            let cfg = RadioConfig {
                sample_rate_hz: 1.92e6,
                center_frequency_hz: 3.5e9,
                rx_gain_db: vec![],
                tx_gain_db: vec![],
                rx_antennas: vec![],
                tx_antennas: vec![],
            };
            r.configure(&cfg).unwrap();
            assert!(r
                .configure(&RadioConfig {
                    sample_rate_hz: 30.72e6,
                    ..cfg.clone()
                })
                .is_err());
            r.start().unwrap();
            let (mut x, mut y) = (
                vec![Complex32::default(); 4000],
                vec![Complex32::default(); 4000],
            );
            let m = r.receive(&mut [&mut x, &mut y], Duration::ZERO).unwrap();
            assert_eq!((m.samples, m.time, m.overflow), (3500, Some(1000), false));
            for i in 0..3000 {
                assert!(
                    (x[i] - a[i]).norm() < 1e-6 && (y[i] - b[i]).norm() < 1e-6,
                    "{i}"
                );
            }
            let m = r.receive(&mut [&mut x, &mut y], Duration::ZERO).unwrap();
            assert_eq!(
                (m.samples, m.time, m.overflow, m.end_of_burst),
                (1000, Some(9000), true, true)
            );
            let m = r.receive(&mut [&mut x, &mut y], Duration::ZERO).unwrap();
            assert_eq!((m.samples, m.end_of_burst), (0, true));
            assert!(r.transmit(&[], TxTime::Now, true).is_err());
            let (mp, dp) = paths(&base);
            let _ = (std::fs::remove_file(mp), std::fs::remove_file(dp));
        }
    }

    #[test]
    fn invalid_recordings_are_refused_with_the_field() {
        let base = tmp("bad");
        let (mp, dp) = paths(&base);
        std::fs::write(&dp, [0u8; 10]).unwrap();
        let cases = [
            (
                r#"{"global":{"core:version":"1.2.0","core:sample_rate":1}}"#,
                "core:datatype is missing",
            ),
            (
                r#"{"global":{"core:datatype":"ri8","core:version":"1.2.0"}}"#,
                "cannot be replayed",
            ),
            (
                r#"{"global":{"core:datatype":"ci16_le","core:version":"1.2.0","core:sample_rate":1e6},"captures":[{"core:sample_start":2},{"core:sample_start":1}]}"#,
                "must be sorted",
            ),
            (
                r#"{"global":{"core:datatype":"ci16_le","core:version":"1.2.0","core:sample_rate":1e6}}"#,
                "not a whole number",
            ),
        ];
        for (json, want) in cases {
            std::fs::write(&mp, json).unwrap();
            let e = SigmfRadio::open(&base).err().expect(want).to_string();
            assert!(e.contains(want), "{e}");
        }
        let _ = (std::fs::remove_file(mp), std::fs::remove_file(dp));
    }
}
