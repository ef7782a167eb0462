//! SigMF recordings (SigMF specification v1.2): writing what a radio receives
//! and replaying it through the [`Radio`](crate::Radio) trait.
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
//!
//! The metadata is read and written with serde (`meta.rs`: structs that
//! mirror the SigMF objects, extension fields such as `ranlab:carrier` kept
//! by full key) and checked apart from parsing; `writer.rs` writes
//! recordings, `replay.rs` reads them back.

mod meta;
mod replay;
mod writer;

pub use meta::{Annotation, Capture, Extension, Metadata};
pub use replay::SigmfRadio;
pub use writer::{iso8601, SigmfWriter};

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
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

/// Sample format of the data file, `core:datatype` in JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "&'static str")]
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

impl TryFrom<String> for Datatype {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Datatype::parse(&s)
            .ok_or_else(|| format!("{s:?} cannot be replayed (ranlab reads ci16_le and cf32_le)"))
    }
}

impl From<Datatype> for &'static str {
    fn from(d: Datatype) -> Self {
        d.name()
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
