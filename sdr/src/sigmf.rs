//! SigMF recordings (SigMF specification v1.2): writing what a radio receives
//! and replaying it through the [`Radio`] trait.
//!
//! A recording is `BASE.sigmf-data` (samples, all channels interleaved per
//! sample, `ci16_le` or `cf32_le`) plus `BASE.sigmf-meta` (JSON): the global
//! object (datatype, sample rate, channels, hardware, recorder), one capture
//! segment per contiguous stretch (`core:frequency`, `core:datetime`, and
//! `core:global_index` = device time of its first sample, so a gap after an
//! overflow starts a new segment), and one annotation per slot boundary
//! (`core:sample_start`, `core:sample_count`, label `slot N` with N the slot
//! number in device time).
//!
//! [`SigmfRadio`] reads a recording back as a receive-only radio: samples in
//! file order, device time from the captures, `overflow` at a segment whose
//! device time jumps, and a zero-sample block with `end_of_burst` at the end.

use crate::convert::{cf32_to_cs16, cs16_to_cf32};
use crate::radio::{
    check_shape, EventCounts, Radio, RadioConfig, RadioError, RadioInfo, RxMetadata, Ticks, TxTime,
};
use num_complex::Complex32;
use serde_json::{json, Map, Value};
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};
use thiserror::Error;

/// SigMF specification version written to `core:version`.
pub const SIGMF_VERSION: &str = "1.2.0";

/// Why a recording could not be written or read.
#[derive(Debug, Error)]
pub enum SigmfError {
    /// File system error, with the file.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// What went wrong.
        source: std::io::Error,
    },
    /// The metadata is not valid SigMF or not something ranlab can replay.
    #[error("{path}: {message}")]
    Invalid {
        /// The metadata file.
        path: String,
        /// Which field and why.
        message: String,
    },
}

fn io_err(path: &Path) -> impl Fn(std::io::Error) -> SigmfError + '_ {
    move |source| SigmfError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Sample format of the data file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Datatype {
    /// Complex int16 little-endian (the CS16 wire format; full scale 32767).
    Ci16Le,
    /// Complex float32 little-endian.
    Cf32Le,
}

impl Datatype {
    /// The `core:datatype` string.
    pub fn name(self) -> &'static str {
        match self {
            Datatype::Ci16Le => "ci16_le",
            Datatype::Cf32Le => "cf32_le",
        }
    }

    /// Parses a `core:datatype` string.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "ci16_le" => Some(Datatype::Ci16Le),
            "cf32_le" => Some(Datatype::Cf32Le),
            _ => None,
        }
    }

    /// Bytes per complex sample of one channel.
    pub fn sample_bytes(self) -> usize {
        match self {
            Datatype::Ci16Le => 4,
            Datatype::Cf32Le => 8,
        }
    }
}

/// A capture segment: where a contiguous stretch starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Capture {
    /// Index of its first sample in the data file (per channel).
    pub sample_start: u64,
    /// Device time of that sample (`core:global_index`), when known.
    pub global_index: Option<u64>,
    /// RF centre frequency, Hz.
    pub frequency_hz: Option<f64>,
    /// UTC start time (ISO 8601).
    pub datetime: Option<String>,
}

/// An annotation (ranlab writes one per slot).
#[derive(Debug, Clone, PartialEq)]
pub struct Annotation {
    /// First sample.
    pub sample_start: u64,
    /// Length in samples.
    pub sample_count: Option<u64>,
    /// Label (`slot N`).
    pub label: Option<String>,
    /// Fields of extension namespaces (`ranlab:pusch`, ...), by full key.
    pub extra: Map<String, Value>,
}

/// An extension namespace the recording uses (`core:extensions`, SigMF §2.3.3).
#[derive(Debug, Clone, PartialEq)]
pub struct Extension {
    /// Namespace name (`ranlab`).
    pub name: String,
    /// Its version (semantic versioning).
    pub version: String,
    /// Whether a reader may ignore it.
    pub optional: bool,
}

/// What the metadata says.
#[derive(Debug, Clone, PartialEq)]
pub struct Metadata {
    /// Sample format.
    pub datatype: Datatype,
    /// Sample rate, Hz.
    pub sample_rate_hz: f64,
    /// Interleaved channels.
    pub num_channels: usize,
    /// `core:hw`.
    pub hw: Option<String>,
    /// `core:description`.
    pub description: Option<String>,
    /// `core:recorder`.
    pub recorder: Option<String>,
    /// Capture segments, in sample order.
    pub captures: Vec<Capture>,
    /// Annotations, in sample order.
    pub annotations: Vec<Annotation>,
    /// Extension namespaces declared in `core:extensions`.
    pub extensions: Vec<Extension>,
    /// Global fields of extension namespaces, by full key.
    pub global_extra: Map<String, Value>,
}

impl Metadata {
    /// The SigMF JSON document.
    pub fn to_json(&self) -> Value {
        let mut global = Map::new();
        global.insert("core:datatype".into(), json!(self.datatype.name()));
        global.insert("core:version".into(), json!(SIGMF_VERSION));
        global.insert("core:sample_rate".into(), json!(self.sample_rate_hz));
        global.insert("core:num_channels".into(), json!(self.num_channels));
        for (k, v) in [
            ("core:hw", &self.hw),
            ("core:description", &self.description),
            ("core:recorder", &self.recorder),
        ] {
            if let Some(v) = v {
                global.insert(k.into(), json!(v));
            }
        }
        if !self.extensions.is_empty() {
            let ext: Vec<Value> = self
                .extensions
                .iter()
                .map(|e| json!({"name": e.name, "version": e.version, "optional": e.optional}))
                .collect();
            global.insert("core:extensions".into(), Value::Array(ext));
        }
        for (k, v) in &self.global_extra {
            global.insert(k.clone(), v.clone());
        }
        let captures: Vec<Value> = self
            .captures
            .iter()
            .map(|c| {
                let mut m = Map::new();
                m.insert("core:sample_start".into(), json!(c.sample_start));
                if let Some(g) = c.global_index {
                    m.insert("core:global_index".into(), json!(g));
                }
                if let Some(f) = c.frequency_hz {
                    m.insert("core:frequency".into(), json!(f));
                }
                if let Some(d) = &c.datetime {
                    m.insert("core:datetime".into(), json!(d));
                }
                Value::Object(m)
            })
            .collect();
        let annotations: Vec<Value> = self
            .annotations
            .iter()
            .map(|a| {
                let mut m = Map::new();
                m.insert("core:sample_start".into(), json!(a.sample_start));
                if let Some(n) = a.sample_count {
                    m.insert("core:sample_count".into(), json!(n));
                }
                if let Some(l) = &a.label {
                    m.insert("core:label".into(), json!(l));
                }
                for (k, v) in &a.extra {
                    m.insert(k.clone(), v.clone());
                }
                Value::Object(m)
            })
            .collect();
        json!({ "global": global, "captures": captures, "annotations": annotations })
    }

    /// Parses and checks a SigMF document: required fields and types, a
    /// datatype ranlab replays, sorted captures and annotations.
    pub fn from_json(v: &Value, path: &str) -> Result<Self, SigmfError> {
        let bad = |message: String| SigmfError::Invalid {
            path: path.into(),
            message,
        };
        let global = v
            .get("global")
            .and_then(Value::as_object)
            .ok_or_else(|| bad("no `global` object".into()))?;
        let s = |k: &str| global.get(k).and_then(Value::as_str).map(String::from);
        let dt = s("core:datatype").ok_or_else(|| bad("global.core:datatype is missing".into()))?;
        let datatype = Datatype::parse(&dt).ok_or_else(|| {
            bad(format!("global.core:datatype: {dt:?} cannot be replayed (ranlab reads ci16_le and cf32_le)"))
        })?;
        let version =
            s("core:version").ok_or_else(|| bad("global.core:version is missing".into()))?;
        if !version.starts_with("1.") {
            return Err(bad(format!(
                "global.core:version: {version} (ranlab reads SigMF 1.x)"
            )));
        }
        let sample_rate_hz = global
            .get("core:sample_rate")
            .and_then(Value::as_f64)
            .filter(|r| r.is_finite() && *r > 0.0)
            .ok_or_else(|| {
                bad("global.core:sample_rate is missing or not a positive number".into())
            })?;
        let num_channels = match global.get("core:num_channels") {
            None => 1,
            Some(n) => n
                .as_u64()
                .filter(|&n| (1..=64).contains(&n))
                .ok_or_else(|| bad(format!("global.core:num_channels: {n} (1 to 64)")))?
                as usize,
        };
        let list = |k: &str| -> Result<Vec<Map<String, Value>>, SigmfError> {
            match v.get(k) {
                None => Ok(Vec::new()),
                Some(Value::Array(a)) => a
                    .iter()
                    .enumerate()
                    .map(|(i, x)| {
                        x.as_object()
                            .cloned()
                            .ok_or_else(|| bad(format!("{k}[{i}] is not an object")))
                    })
                    .collect(),
                Some(_) => Err(bad(format!("`{k}` is not an array"))),
            }
        };
        let start = |k: &str, i: usize, m: &Map<String, Value>| {
            m.get("core:sample_start")
                .and_then(Value::as_u64)
                .ok_or_else(|| bad(format!("{k}[{i}].core:sample_start is missing or negative")))
        };
        let mut extensions = Vec::new();
        if let Some(ext) = global.get("core:extensions") {
            let list = ext
                .as_array()
                .ok_or_else(|| bad("global.core:extensions is not an array".into()))?;
            for (i, e) in list.iter().enumerate() {
                let f = |k: &str| e.get(k).and_then(Value::as_str).map(String::from);
                match (f("name"), f("version")) {
                    (Some(name), Some(version)) => extensions.push(Extension {
                        name,
                        version,
                        optional: e.get("optional").and_then(Value::as_bool).unwrap_or(false),
                    }),
                    _ => {
                        return Err(bad(format!(
                            "global.core:extensions[{i}] needs a name and a version"
                        )))
                    }
                }
            }
        }
        let mut captures = Vec::new();
        for (i, m) in list("captures")?.iter().enumerate() {
            captures.push(Capture {
                sample_start: start("captures", i, m)?,
                global_index: m.get("core:global_index").and_then(Value::as_u64),
                frequency_hz: m.get("core:frequency").and_then(Value::as_f64),
                datetime: m
                    .get("core:datetime")
                    .and_then(Value::as_str)
                    .map(String::from),
            });
        }
        let mut annotations = Vec::new();
        for (i, m) in list("annotations")?.iter().enumerate() {
            annotations.push(Annotation {
                sample_start: start("annotations", i, m)?,
                sample_count: m.get("core:sample_count").and_then(Value::as_u64),
                label: m
                    .get("core:label")
                    .and_then(Value::as_str)
                    .map(String::from),
                extra: m
                    .iter()
                    .filter(|(k, _)| !k.starts_with("core:"))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            });
        }
        for (k, starts) in [
            (
                "captures",
                captures.iter().map(|c| c.sample_start).collect::<Vec<_>>(),
            ),
            (
                "annotations",
                annotations.iter().map(|a| a.sample_start).collect(),
            ),
        ] {
            if let Some(i) = starts.windows(2).position(|w| w[1] < w[0]) {
                return Err(bad(format!(
                    "{k}[{}] starts before {k}[{i}]: they must be sorted",
                    i + 1
                )));
            }
        }
        if captures.is_empty() {
            captures.push(Capture {
                sample_start: 0,
                global_index: None,
                frequency_hz: None,
                datetime: None,
            });
        }
        Ok(Metadata {
            datatype,
            sample_rate_hz,
            num_channels,
            hw: s("core:hw"),
            description: s("core:description"),
            recorder: s("core:recorder"),
            captures,
            annotations,
            extensions,
            global_extra: global
                .iter()
                .filter(|(k, _)| !k.starts_with("core:"))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        })
    }

    /// The declared extension `name`, if any.
    pub fn extension(&self, name: &str) -> Option<&Extension> {
        self.extensions.iter().find(|e| e.name == name)
    }
}

/// `BASE.sigmf-meta` and `BASE.sigmf-data` for a base name or either file name.
pub fn paths(base: &Path) -> (PathBuf, PathBuf) {
    let s = base.to_string_lossy();
    let stem = s
        .strip_suffix(".sigmf-meta")
        .or_else(|| s.strip_suffix(".sigmf-data"))
        .or_else(|| s.strip_suffix(".sigmf"))
        .unwrap_or(&s);
    (
        PathBuf::from(format!("{stem}.sigmf-meta")),
        PathBuf::from(format!("{stem}.sigmf-data")),
    )
}

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
    use super::*;

    fn tmp(name: &str) -> PathBuf {
        std::env::temp_dir().join(format!("ranlab-sigmf-{}-{name}", std::process::id()))
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
