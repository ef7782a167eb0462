//! Writing a recording: samples block by block to `BASE.sigmf-data`, a new
//! capture segment wherever device time jumps, slot annotations, and the
//! metadata at [`SigmfWriter::finish`].

use super::{io_err, paths, Annotation, Capture, Datatype, Extension, Metadata, SigmfError};
use crate::convert::cf32_to_cs16;
use crate::radio::{check_shape, Ticks};
use num_complex::Complex32;
use serde_json::{Map, Value};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// UTC time as ISO 8601 with milliseconds (`2026-11-21T21:44:25.123Z`).
pub fn iso8601(t: SystemTime) -> String {
    let d = t.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (proleptic Gregorian calendar).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        d.subsec_millis()
    )
}

/// Writes a recording block by block; the metadata is written by [`SigmfWriter::finish`].
pub struct SigmfWriter {
    meta_path: PathBuf,
    data_path: PathBuf,
    data: BufWriter<File>,
    meta: Metadata,
    frequency_hz: f64,
    slot_samples: Option<u64>,
    /// Samples written per channel.
    written: u64,
    /// Device time expected for the next sample.
    next_time: Option<Ticks>,
    bytes: Vec<u8>,
    cs16: Vec<i16>,
}

impl SigmfWriter {
    /// Creates `BASE.sigmf-data` (the metadata follows at `finish`).
    /// `slot_samples` adds an annotation at every slot boundary of device time.
    pub fn create(
        base: &Path,
        datatype: Datatype,
        sample_rate_hz: f64,
        num_channels: usize,
        frequency_hz: f64,
        hw: &str,
        slot_samples: Option<u64>,
    ) -> Result<Self, SigmfError> {
        let (meta_path, data_path) = paths(base);
        if num_channels == 0 {
            return Err(SigmfError::Invalid {
                path: meta_path.display().to_string(),
                message: "a recording needs at least one channel".into(),
            });
        }
        let data = BufWriter::new(File::create(&data_path).map_err(io_err(&data_path))?);
        Ok(SigmfWriter {
            meta: Metadata {
                datatype,
                sample_rate_hz,
                num_channels,
                hw: Some(hw.into()),
                description: None,
                recorder: Some(format!("ranlab {}", env!("CARGO_PKG_VERSION"))),
                captures: Vec::new(),
                annotations: Vec::new(),
                extensions: Vec::new(),
                global_extra: Map::new(),
            },
            meta_path,
            data_path,
            data,
            frequency_hz,
            slot_samples: slot_samples.filter(|&s| s > 0),
            written: 0,
            next_time: None,
            bytes: Vec::new(),
            cs16: Vec::new(),
        })
    }

    /// Sets `core:description`.
    pub fn set_description(&mut self, d: &str) {
        self.meta.description = Some(d.into());
    }

    /// Declares an extension namespace (`core:extensions`) whose fields the
    /// recording carries, as SigMF requires of every namespace but `core`.
    pub fn declare_extension(&mut self, name: &str, version: &str, optional: bool) {
        self.meta.extensions.retain(|e| e.name != name);
        self.meta.extensions.push(Extension {
            name: name.into(),
            version: version.into(),
            optional,
        });
    }

    /// Sets a global field of a declared extension namespace (`ranlab:carrier`).
    pub fn set_global(&mut self, key: &str, value: Value) -> Result<(), SigmfError> {
        self.check_key(key)?;
        self.meta.global_extra.insert(key.into(), value);
        Ok(())
    }

    /// Adds an annotation (after the ones already there: keep them in sample
    /// order). Its extension fields must belong to declared namespaces.
    pub fn push_annotation(&mut self, a: Annotation) -> Result<(), SigmfError> {
        for k in a.extra.keys() {
            self.check_key(k)?;
        }
        if let Some(last) = self.meta.annotations.last() {
            if a.sample_start < last.sample_start {
                return Err(SigmfError::Invalid {
                    path: self.meta_path.display().to_string(),
                    message: format!(
                        "annotation at sample {} after one at {}: annotations must be sorted",
                        a.sample_start, last.sample_start
                    ),
                });
            }
        }
        self.meta.annotations.push(a);
        Ok(())
    }

    fn check_key(&self, key: &str) -> Result<(), SigmfError> {
        let ns = key.split_once(':').map(|(n, _)| n);
        match ns {
            Some(n) if n != "core" && self.meta.extensions.iter().any(|e| e.name == n) => Ok(()),
            _ => Err(SigmfError::Invalid {
                path: self.meta_path.display().to_string(),
                message: format!("{key}: not a field of a declared extension namespace"),
            }),
        }
    }

    /// Samples written per channel so far.
    pub fn samples(&self) -> u64 {
        self.written
    }

    /// Appends one block (one buffer per channel, equal lengths) received at
    /// device time `time`. A time that does not continue the previous block
    /// starts a new capture segment.
    pub fn write(
        &mut self,
        buffers: &[&[Complex32]],
        time: Option<Ticks>,
    ) -> Result<(), SigmfError> {
        let n = check_shape(buffers, self.meta.num_channels, |b| b.len()).map_err(|e| {
            SigmfError::Invalid {
                path: self.data_path.display().to_string(),
                message: e.to_string(),
            }
        })?;
        if n == 0 {
            return Ok(());
        }
        let continues = self.meta.captures.last().is_some() && time == self.next_time;
        if !continues {
            self.meta.captures.push(Capture {
                sample_start: self.written,
                global_index: time.and_then(|t| u64::try_from(t).ok()),
                frequency_hz: Some(self.frequency_hz),
                datetime: Some(iso8601(SystemTime::now())),
            });
        }
        if let (Some(slot), Some(t)) = (self.slot_samples, time) {
            // An annotation per slot boundary inside this block.
            let slot = slot as i64;
            let first = (t + slot - 1).div_euclid(slot) * slot;
            let mut b = first;
            while b < t + n as i64 {
                self.meta.annotations.push(Annotation {
                    sample_start: self.written + (b - t) as u64,
                    sample_count: Some(slot as u64),
                    label: Some(format!("slot {}", b / slot)),
                    extra: Map::new(),
                });
                b += slot;
            }
        }
        let ch = self.meta.num_channels;
        self.bytes.clear();
        match self.meta.datatype {
            Datatype::Ci16Le => {
                self.cs16.resize(2 * n * ch, 0);
                let mut one = vec![0i16; 2 * n];
                for (c, buf) in buffers.iter().enumerate() {
                    cf32_to_cs16(buf, &mut one);
                    for i in 0..n {
                        self.cs16[2 * (i * ch + c)] = one[2 * i];
                        self.cs16[2 * (i * ch + c) + 1] = one[2 * i + 1];
                    }
                }
                self.bytes
                    .extend(self.cs16.iter().flat_map(|v| v.to_le_bytes()));
            }
            Datatype::Cf32Le => {
                for i in 0..n {
                    for buf in buffers {
                        self.bytes.extend(buf[i].re.to_le_bytes());
                        self.bytes.extend(buf[i].im.to_le_bytes());
                    }
                }
            }
        }
        self.data
            .write_all(&self.bytes)
            .map_err(io_err(&self.data_path))?;
        self.written += n as u64;
        self.next_time = time.map(|t| t + n as i64);
        Ok(())
    }

    /// Trims annotations that run past the end, writes the metadata and closes both files.
    pub fn finish(mut self) -> Result<Metadata, SigmfError> {
        self.data.flush().map_err(io_err(&self.data_path))?;
        let end = self.written;
        self.meta.annotations.retain(|a| a.sample_start < end);
        for a in &mut self.meta.annotations {
            if let Some(c) = &mut a.sample_count {
                *c = (*c).min(end - a.sample_start);
            }
        }
        if self.meta.captures.is_empty() {
            self.meta.captures.push(Capture {
                sample_start: 0,
                global_index: None,
                frequency_hz: Some(self.frequency_hz),
                datetime: Some(iso8601(SystemTime::now())),
            });
        }
        let text =
            serde_json::to_string_pretty(&self.meta.to_json()).expect("JSON of plain values");
        std::fs::write(&self.meta_path, text + "\n").map_err(io_err(&self.meta_path))?;
        Ok(self.meta)
    }
}

#[cfg(test)]
mod tests {
    use super::super::SigmfRadio;
    use super::*;
    use serde_json::json;
    use std::time::Duration;

    fn tmp(name: &str) -> PathBuf {
        std::env::temp_dir().join(format!("ranlab-sigmf-w-{}-{name}", std::process::id()))
    }

    fn ramp(n: usize, k: f32) -> Vec<Complex32> {
        (0..n)
            .map(|i| Complex32::new(i as f32 * k, -(i as f32) * k) / 32767.0)
            .collect()
    }

    #[test]
    fn iso8601_known_dates() {
        let t = |s: u64| iso8601(SystemTime::UNIX_EPOCH + Duration::from_secs(s));
        assert_eq!(t(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(t(951_782_400), "2000-02-29T00:00:00.000Z");
        assert_eq!(t(1_795_297_465), "2026-11-21T21:44:25.000Z");
    }

    #[test]
    fn extension_fields_need_a_declared_namespace_and_round_trip() {
        let base = tmp("ext");
        let mut w =
            SigmfWriter::create(&base, Datatype::Cf32Le, 1.92e6, 1, 3.5e9, "t", None).unwrap();
        assert!(w.set_global("ranlab:carrier", json!({})).is_err());
        w.declare_extension("ranlab", "1.0.0", true);
        assert!(w.set_global("core:carrier", json!(1)).is_err());
        assert!(w.set_global("other:x", json!(1)).is_err());
        w.set_global("ranlab:carrier", json!({"n_prb": 24}))
            .unwrap();
        let x = ramp(100, 1.0);
        w.write(&[&x], Some(0)).unwrap();
        let mut extra = Map::new();
        extra.insert("ranlab:pusch".into(), json!([{"rnti": 1}]));
        let ann = |start: u64, extra: Map<String, Value>| Annotation {
            sample_start: start,
            sample_count: Some(10),
            label: None,
            extra,
        };
        w.push_annotation(ann(50, extra.clone())).unwrap();
        assert!(
            w.push_annotation(ann(40, Map::new())).is_err(),
            "out of order"
        );
        let mut bad = Map::new();
        bad.insert("nope:x".into(), json!(1));
        assert!(w.push_annotation(ann(60, bad)).is_err());
        w.finish().unwrap();
        let r = SigmfRadio::open(&base).unwrap();
        let m = r.metadata();
        assert_eq!(m.extension("ranlab").map(|e| e.optional), Some(true));
        assert_eq!(m.global_extra["ranlab:carrier"]["n_prb"], 24);
        assert_eq!(m.annotations[0].extra, extra);
        let (mp, dp) = paths(&base);
        let _ = (std::fs::remove_file(mp), std::fs::remove_file(dp));
    }
}
