//! QoS classes and their 5QI-like characteristics (after TS 23.501 Table 5.7.4-1).
//!
//! A logical channel carries one class; the class gives its scheduling
//! priority, packet delay budget (PDB), whether it is GBR, and the discard
//! timer after which a packet that has not started transmission is dropped
//! (PDCP discardTimer, TS 38.323 §5.3).

/// The QoS class of a logical channel (its [`QosClass::name`] in
/// configuration files).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QosClass {
    /// Premium service: 40 ms delay target.
    Premium,
    /// Streaming: 200 ms delay target.
    Streaming,
    /// Best effort: no delay target of its own.
    BestEffort,
    /// AI uplink (camera frames to an inference server): > 20 Mbit/s, < 20 ms.
    AiUplink,
    /// Internet of things: small, delay tolerant reports.
    Iot,
}

impl QosClass {
    /// All classes, in a fixed order (for per-class reports).
    pub const ALL: [QosClass; 5] = [
        QosClass::Premium,
        QosClass::Streaming,
        QosClass::BestEffort,
        QosClass::AiUplink,
        QosClass::Iot,
    ];

    /// The class name used in configuration files and JSON reports.
    pub fn name(self) -> &'static str {
        match self {
            QosClass::Premium => "premium",
            QosClass::Streaming => "streaming",
            QosClass::BestEffort => "best_effort",
            QosClass::AiUplink => "ai_uplink",
            QosClass::Iot => "iot",
        }
    }

    /// The default characteristics of the class.
    pub fn params(self) -> QosParams {
        // Values in the spirit of TS 23.501 Table 5.7.4-1: premium ~ 5QI 2/7 (but
        // with the operator's 40 ms target), streaming ~ 5QI 4 (buffered video,
        // 300 ms there, 200 ms here), best effort ~ 5QI 9, AI uplink ~ a delay-critical
        // GBR flow, IoT ~ 5QI 9 at a lower priority.
        match self {
            QosClass::Premium => QosParams {
                five_qi: 2,
                priority: 20,
                pdb_ms: 40.0,
                gbr: true,
                discard_ms: 200.0,
            },
            QosClass::Streaming => QosParams {
                five_qi: 4,
                priority: 50,
                pdb_ms: 200.0,
                gbr: true,
                discard_ms: 1000.0,
            },
            QosClass::BestEffort => QosParams {
                five_qi: 9,
                priority: 90,
                pdb_ms: 300.0,
                gbr: false,
                discard_ms: f64::INFINITY,
            },
            QosClass::AiUplink => QosParams {
                five_qi: 85,
                priority: 15,
                pdb_ms: 20.0,
                gbr: true,
                discard_ms: 200.0,
            },
            QosClass::Iot => QosParams {
                five_qi: 9,
                priority: 95,
                pdb_ms: 1000.0,
                gbr: false,
                discard_ms: f64::INFINITY,
            },
        }
    }
}

impl std::str::FromStr for QosClass {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        QosClass::ALL
            .into_iter()
            .find(|c| c.name() == s)
            .ok_or_else(|| {
                format!("`{s}` (allowed: premium, streaming, best_effort, ai_uplink, iot)")
            })
    }
}

/// The characteristics of a QoS class.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QosParams {
    /// The standardised 5QI this class resembles.
    pub five_qi: u8,
    /// Priority level: lower is more important.
    pub priority: u8,
    /// Packet delay budget, ms: the latency target the scheduler works towards.
    pub pdb_ms: f64,
    /// Guaranteed bit rate flow.
    pub gbr: bool,
    /// Discard timer, ms: a packet waiting longer without having started
    /// transmission is dropped (infinite: never).
    pub discard_ms: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_bad_names_list_allowed() {
        for c in QosClass::ALL {
            assert_eq!(c.name().parse::<QosClass>(), Ok(c));
        }
        let e = "gold".parse::<QosClass>().unwrap_err();
        assert!(e.contains("allowed") && e.contains("ai_uplink"), "{e}");
        assert!(QosClass::Premium.params().pdb_ms < QosClass::Streaming.params().pdb_ms);
    }
}
