//! SigMF metadata (`BASE.sigmf-meta`): the global, capture and annotation
//! objects as serde structs, and the checks that make a document something
//! ranlab can replay.
//!
//! Reading is two steps, as everywhere in ranlab: serde parses the JSON into
//! [`Document`] (a wrong type is an error naming its path, such as
//! `captures[1].core:sample_start`), then [`Document::check`] validates what
//! serde cannot (required fields, supported values, sorted segments) with
//! messages that name the key. Fields of extension namespaces
//! (`ranlab:carrier`, `ranlab:slot`, `ranlab:pusch`, ...) are kept by full key
//! as JSON values: their meaning belongs to whoever declared the namespace
//! (`ranlab`'s lives in the `ranlab` command, `tools/src/record_ext.rs`).

use super::{Datatype, SigmfError, SIGMF_VERSION};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A capture segment: where a contiguous stretch starts (a SigMF capture
/// object; fields of other namespaces are not kept).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(expecting = "a SigMF capture object")]
pub struct Capture {
    /// Index of its first sample in the data file (per channel).
    #[serde(rename = "core:sample_start")]
    pub sample_start: u64,
    /// Device time of that sample (`core:global_index`), when known.
    #[serde(
        rename = "core:global_index",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub global_index: Option<u64>,
    /// RF centre frequency, Hz (`core:frequency`).
    #[serde(
        rename = "core:frequency",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub frequency_hz: Option<f64>,
    /// UTC start time (ISO 8601, `core:datetime`).
    #[serde(
        rename = "core:datetime",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub datetime: Option<String>,
}

/// An annotation (ranlab writes one per slot): a SigMF annotation object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(expecting = "a SigMF annotation object")]
pub struct Annotation {
    /// First sample (`core:sample_start`).
    #[serde(rename = "core:sample_start")]
    pub sample_start: u64,
    /// Length in samples (`core:sample_count`).
    #[serde(
        rename = "core:sample_count",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub sample_count: Option<u64>,
    /// Label (`slot N`, `core:label`).
    #[serde(
        rename = "core:label",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub label: Option<String>,
    /// Fields of extension namespaces (`ranlab:slot`, `ranlab:pusch`, ...),
    /// by full key. Reading drops other `core:` fields (`core:comment` ...).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// An extension namespace the recording uses (`core:extensions`, SigMF §2.3.3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(expecting = "an extension object {name, version, optional}")]
pub struct Extension {
    /// Namespace name (`ranlab`).
    pub name: String,
    /// Its version (semantic versioning).
    pub version: String,
    /// Whether a reader may ignore it (false when absent).
    #[serde(default)]
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
    /// The SigMF JSON document (`core:version` is always [`SIGMF_VERSION`]).
    pub fn to_json(&self) -> Value {
        let doc = Document {
            global: Some(Global {
                datatype: Some(self.datatype),
                version: Some(SIGMF_VERSION.into()),
                sample_rate: Some(self.sample_rate_hz),
                num_channels: Some(self.num_channels as u64),
                hw: self.hw.clone(),
                description: self.description.clone(),
                recorder: self.recorder.clone(),
                extensions: self.extensions.clone(),
                extra: self.global_extra.clone(),
            }),
            captures: self.captures.clone(),
            annotations: self.annotations.clone(),
        };
        // Plain values with string keys: serialising them cannot fail (a
        // non-finite rate becomes `null`, which a reader refuses).
        serde_json::to_value(doc).expect("SigMF metadata is plain JSON")
    }

    /// Parses and checks a SigMF document: required fields and types, a
    /// datatype ranlab replays, sorted captures and annotations. `path`
    /// names the document in errors.
    pub fn from_json(v: &Value, path: &str) -> Result<Self, SigmfError> {
        // serde would also take a struct from an array, by position; SigMF
        // documents are objects.
        if !v.is_object() {
            return Err(invalid(path, "the document is not a JSON object".into()));
        }
        let doc: Document = serde_path_to_error::deserialize(v).map_err(|e| {
            let message = if e.path().iter().next().is_none() {
                e.inner().to_string()
            } else {
                format!("{}: {}", e.path(), e.inner())
            };
            invalid(path, message)
        })?;
        doc.check(path)
    }

    /// The declared extension `name`, if any.
    pub fn extension(&self, name: &str) -> Option<&Extension> {
        self.extensions.iter().find(|e| e.name == name)
    }
}

fn invalid(path: &str, message: String) -> SigmfError {
    SigmfError::Invalid {
        path: path.into(),
        message,
    }
}

/// A SigMF document as it is on disk.
#[derive(Serialize, Deserialize)]
#[serde(expecting = "a SigMF metadata object {global, captures, annotations}")]
struct Document {
    /// An `Option` only so that its absence gets ranlab's message.
    global: Option<Global>,
    #[serde(default)]
    captures: Vec<Capture>,
    #[serde(default)]
    annotations: Vec<Annotation>,
}

/// The SigMF global object. The fields [`Document::check`] requires are
/// `Option`s so that a missing one is named in ranlab's words.
#[derive(Serialize, Deserialize)]
#[serde(expecting = "the SigMF global object")]
struct Global {
    #[serde(rename = "core:datatype")]
    datatype: Option<Datatype>,
    #[serde(rename = "core:version")]
    version: Option<String>,
    #[serde(rename = "core:sample_rate")]
    sample_rate: Option<f64>,
    #[serde(
        rename = "core:num_channels",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    num_channels: Option<u64>,
    #[serde(rename = "core:hw", default, skip_serializing_if = "Option::is_none")]
    hw: Option<String>,
    #[serde(
        rename = "core:description",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    description: Option<String>,
    #[serde(
        rename = "core:recorder",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    recorder: Option<String>,
    #[serde(
        rename = "core:extensions",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    extensions: Vec<Extension>,
    /// Every other key: extension fields (`ranlab:carrier`) and `core:`
    /// fields ranlab does not use (dropped by `check`).
    #[serde(flatten)]
    extra: Map<String, Value>,
}

/// Keeps the fields of extension namespaces: every key outside `core:`.
fn extension_fields(mut m: Map<String, Value>) -> Map<String, Value> {
    m.retain(|k, _| !k.starts_with("core:"));
    m
}

impl Document {
    /// What serde cannot check: required global fields, their ranges, the
    /// SigMF major version, sorted captures and annotations. A document
    /// without captures gets one at sample 0.
    fn check(self, path: &str) -> Result<Metadata, SigmfError> {
        let bad = |message: &str| invalid(path, message.into());
        let global = self.global.ok_or_else(|| bad("no `global` object"))?;
        let datatype = global
            .datatype
            .ok_or_else(|| bad("global.core:datatype is missing"))?;
        let version = global
            .version
            .ok_or_else(|| bad("global.core:version is missing"))?;
        if !version.starts_with("1.") {
            return Err(bad(&format!(
                "global.core:version: {version} (ranlab reads SigMF 1.x)"
            )));
        }
        let sample_rate_hz = global
            .sample_rate
            .filter(|r| r.is_finite() && *r > 0.0)
            .ok_or_else(|| bad("global.core:sample_rate is missing or not a positive number"))?;
        let num_channels = match global.num_channels {
            None => 1,
            Some(n) if (1..=64).contains(&n) => n as usize,
            Some(n) => return Err(bad(&format!("global.core:num_channels: {n} (1 to 64)"))),
        };
        for (k, starts) in [
            (
                "captures",
                self.captures
                    .iter()
                    .map(|c| c.sample_start)
                    .collect::<Vec<_>>(),
            ),
            (
                "annotations",
                self.annotations.iter().map(|a| a.sample_start).collect(),
            ),
        ] {
            if let Some(i) = starts.windows(2).position(|w| w[1] < w[0]) {
                return Err(bad(&format!(
                    "{k}[{}] starts before {k}[{i}]: they must be sorted",
                    i + 1
                )));
            }
        }
        let mut captures = self.captures;
        if captures.is_empty() {
            captures.push(Capture {
                sample_start: 0,
                global_index: None,
                frequency_hz: None,
                datetime: None,
            });
        }
        let annotations = self
            .annotations
            .into_iter()
            .map(|a| Annotation {
                extra: extension_fields(a.extra),
                ..a
            })
            .collect();
        Ok(Metadata {
            datatype,
            sample_rate_hz,
            num_channels,
            hw: global.hw,
            description: global.description,
            recorder: global.recorder,
            captures,
            annotations,
            extensions: global.extensions,
            global_extra: extension_fields(global.extra),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Metadata as `SigmfWriter` wrote it before the move to serde (two
    /// captures, slot annotations, the `ranlab` extension): it must still
    /// read, and write back as the same JSON.
    const WRITTEN_BY_THE_HAND_PARSER: &str = r#"{
  "annotations": [
    {
      "core:label": "slot 1",
      "core:sample_count": 1920,
      "core:sample_start": 920
    },
    {
      "core:label": "slot 2",
      "core:sample_count": 1160,
      "core:sample_start": 2840
    },
    {
      "core:label": "slot 5",
      "core:sample_count": 400,
      "core:sample_start": 3600
    },
    {
      "core:label": "slot 9",
      "core:sample_count": 50,
      "core:sample_start": 3900,
      "ranlab:pusch": [],
      "ranlab:slot": 3
    }
  ],
  "captures": [
    {
      "core:datetime": "2026-12-07T19:57:59.743Z",
      "core:frequency": 3500000000.0,
      "core:global_index": 1000,
      "core:sample_start": 0
    },
    {
      "core:datetime": "2026-12-07T19:57:59.743Z",
      "core:frequency": 3500000000.0,
      "core:global_index": 9000,
      "core:sample_start": 3000
    }
  ],
  "global": {
    "core:datatype": "ci16_le",
    "core:description": "written by ranlab before the serde move",
    "core:extensions": [
      {
        "name": "ranlab",
        "optional": true,
        "version": "1.0.0"
      }
    ],
    "core:hw": "test hw",
    "core:num_channels": 2,
    "core:recorder": "ranlab 0.1.0",
    "core:sample_rate": 1920000.0,
    "core:version": "1.2.0",
    "ranlab:carrier": {
      "antennas": 2,
      "cell_id": 1,
      "cyclic_prefix": "normal",
      "fft_size": 128,
      "n_prb": 6,
      "scs_khz": 15
    }
  }
}"#;

    fn parse(text: &str) -> Result<Metadata, String> {
        let v: Value = serde_json::from_str(text).expect("test JSON");
        Metadata::from_json(&v, "t.sigmf-meta").map_err(|e| e.to_string())
    }

    #[test]
    fn recordings_written_before_serde_still_read_and_write_back_the_same() {
        let m = parse(WRITTEN_BY_THE_HAND_PARSER).unwrap();
        assert_eq!(m.datatype, Datatype::Ci16Le);
        assert_eq!((m.sample_rate_hz, m.num_channels), (1.92e6, 2));
        assert_eq!(m.hw.as_deref(), Some("test hw"));
        assert_eq!(m.recorder.as_deref(), Some("ranlab 0.1.0"));
        assert_eq!(
            m.extension("ranlab"),
            Some(&Extension {
                name: "ranlab".into(),
                version: "1.0.0".into(),
                optional: true
            })
        );
        assert_eq!(m.global_extra["ranlab:carrier"]["fft_size"], 128);
        assert_eq!(m.captures.len(), 2);
        assert_eq!(
            m.captures[1],
            Capture {
                sample_start: 3000,
                global_index: Some(9000),
                frequency_hz: Some(3.5e9),
                datetime: Some("2026-12-07T19:57:59.743Z".into()),
            }
        );
        let a = &m.annotations[3];
        assert_eq!((a.sample_start, a.sample_count), (3900, Some(50)));
        assert_eq!(a.label.as_deref(), Some("slot 9"));
        assert_eq!(a.extra["ranlab:slot"], 3);
        assert_eq!(a.extra.len(), 2);
        assert!(m.annotations[0].extra.is_empty());
        let back = m.to_json();
        let want: Value = serde_json::from_str(WRITTEN_BY_THE_HAND_PARSER).unwrap();
        assert_eq!(back, want);
        // And the text is the same: keys in the same order, same numbers.
        assert_eq!(
            serde_json::to_string_pretty(&back).unwrap(),
            WRITTEN_BY_THE_HAND_PARSER
        );
    }

    #[test]
    fn other_core_fields_are_dropped_and_extension_fields_kept() {
        let m = parse(
            r#"{"global":{"core:datatype":"cf32_le","core:version":"1.0.0","core:sample_rate":1e6,
                "core:sha512":"00","x:y":[1]},
               "annotations":[{"core:sample_start":4,"core:comment":"c","ranlab:slot":1}]}"#,
        )
        .unwrap();
        assert_eq!(m.num_channels, 1);
        assert_eq!(m.global_extra.keys().collect::<Vec<_>>(), ["x:y"]);
        assert_eq!(
            m.annotations[0].extra.keys().collect::<Vec<_>>(),
            ["ranlab:slot"]
        );
        // No captures: one at sample 0, without device time.
        assert_eq!(m.captures.len(), 1);
        assert_eq!(m.captures[0].global_index, None);
    }

    /// Every refusal names the key (its path in the document) and the value.
    #[test]
    fn bad_documents_are_refused_naming_the_key() {
        const G: &str =
            r#""core:datatype":"ci16_le","core:version":"1.2.0","core:sample_rate":1e6"#;
        let cases = [
            ("[]".to_string(), "the document is not a JSON object"),
            (r#"{"captures":[]}"#.into(), "no `global` object"),
            (r#"{"global":3}"#.into(), "global: invalid type: integer `3`, expected the SigMF global object"),
            (
                r#"{"global":{"core:version":"1.2.0"}}"#.into(),
                "global.core:datatype is missing",
            ),
            (
                r#"{"global":{"core:datatype":"ri8","core:version":"1.2.0"}}"#.into(),
                r#"global.core:datatype: "ri8" cannot be replayed (ranlab reads ci16_le and cf32_le)"#,
            ),
            (
                r#"{"global":{"core:datatype":"ci16_le"}}"#.into(),
                "global.core:version is missing",
            ),
            (
                r#"{"global":{"core:datatype":"ci16_le","core:version":"2.0.0","core:sample_rate":1}}"#.into(),
                "global.core:version: 2.0.0 (ranlab reads SigMF 1.x)",
            ),
            (
                r#"{"global":{"core:datatype":"ci16_le","core:version":"1.2.0","core:sample_rate":-1}}"#.into(),
                "global.core:sample_rate is missing or not a positive number",
            ),
            (
                r#"{"global":{"core:datatype":"ci16_le","core:version":"1.2.0","core:sample_rate":"fast"}}"#.into(),
                r#"global.core:sample_rate: invalid type: string "fast", expected f64"#,
            ),
            (
                format!(r#"{{"global":{{{G},"core:num_channels":65}}}}"#),
                "global.core:num_channels: 65 (1 to 64)",
            ),
            (
                format!(r#"{{"global":{{{G},"core:num_channels":-2}}}}"#),
                "global.core:num_channels: invalid value: integer `-2`, expected u64",
            ),
            (
                format!(r#"{{"global":{{{G},"core:extensions":[{{"name":"ranlab"}}]}}}}"#),
                "global.core:extensions[0]: missing field `version`",
            ),
            (
                format!(r#"{{"global":{{{G}}},"captures":{{}}}}"#),
                "captures: invalid type: map, expected a sequence",
            ),
            (
                format!(r#"{{"global":{{{G}}},"captures":[{{"core:sample_start":0}},5]}}"#),
                "captures[1]: invalid type: integer `5`, expected a SigMF capture object",
            ),
            (
                format!(r#"{{"global":{{{G}}},"captures":[{{"core:global_index":0}}]}}"#),
                "captures[0]: missing field `core:sample_start`",
            ),
            (
                format!(r#"{{"global":{{{G}}},"captures":[{{"core:sample_start":-1}}]}}"#),
                "captures[0].core:sample_start: invalid value: integer `-1`, expected u64",
            ),
            (
                format!(r#"{{"global":{{{G}}},"captures":[{{"core:sample_start":2}},{{"core:sample_start":1}}]}}"#),
                "captures[1] starts before captures[0]: they must be sorted",
            ),
            (
                format!(r#"{{"global":{{{G}}},"annotations":[{{"core:sample_start":0}},{{"core:sample_start":1,"core:sample_count":"x"}}]}}"#),
                r#"annotations[1].core:sample_count: invalid type: string "x", expected u64"#,
            ),
            (
                format!(r#"{{"global":{{{G}}},"annotations":[{{"core:sample_start":3}},{{"core:sample_start":1}}]}}"#),
                "annotations[1] starts before annotations[0]: they must be sorted",
            ),
        ];
        for (json, want) in cases {
            let e = parse(&json).expect_err(want);
            assert_eq!(e, format!("t.sigmf-meta: {want}"), "{json}");
        }
    }
}
