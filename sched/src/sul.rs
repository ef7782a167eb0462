//! Supplementary uplink: which uplink (normal NUL or supplementary SUL) a UE uses.
//!
//! Initial selection follows TS 38.321 §5.1.1: the SUL carrier is selected
//! when the RSRP of the downlink path-loss reference is below
//! rsrp-ThresholdSSB-SUL, else the normal uplink. Afterwards the scheduler
//! switches per scheduling decision (the UL/SUL indicator of DCI 0_1,
//! TS 38.212 §7.3.1.1.2) by expected throughput, with hysteresis: the UE
//! moves only when the other carrier promises `1 + hysteresis` times more.

/// The uplink a UE currently prefers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UlChoice {
    /// The normal uplink.
    Nul,
    /// The supplementary uplink.
    Sul,
}

/// Initial choice by RSRP (TS 38.321 §5.1.1): SUL when `rsrp_dbm < threshold_dbm`.
pub fn initial_choice(rsrp_dbm: f32, threshold_dbm: f32) -> UlChoice {
    if rsrp_dbm < threshold_dbm {
        UlChoice::Sul
    } else {
        UlChoice::Nul
    }
}

/// Dynamic switching with hysteresis: keeps `current` unless the other
/// uplink's expected throughput exceeds the current one's by the factor
/// `1 + hysteresis`.
pub fn switch(current: UlChoice, thr_nul: f32, thr_sul: f32, hysteresis: f32) -> UlChoice {
    match current {
        UlChoice::Nul if thr_sul > thr_nul * (1.0 + hysteresis) => UlChoice::Sul,
        UlChoice::Sul if thr_nul > thr_sul * (1.0 + hysteresis) => UlChoice::Nul,
        c => c,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initial_selection_at_the_threshold() {
        assert_eq!(
            initial_choice(-100.0, -100.0),
            UlChoice::Nul,
            "equal: not below"
        );
        assert_eq!(initial_choice(-100.01, -100.0), UlChoice::Sul);
        assert_eq!(initial_choice(-80.0, -100.0), UlChoice::Nul);
    }

    #[test]
    fn hysteresis_prevents_ping_pong() {
        let h = 0.2;
        assert_eq!(switch(UlChoice::Nul, 10.0, 11.9, h), UlChoice::Nul);
        assert_eq!(switch(UlChoice::Nul, 10.0, 12.1, h), UlChoice::Sul);
        assert_eq!(switch(UlChoice::Sul, 11.9, 10.0, h), UlChoice::Sul);
        assert_eq!(switch(UlChoice::Sul, 12.1, 10.0, h), UlChoice::Nul);
    }
}
