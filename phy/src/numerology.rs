//! Numerology and slot timing: subcarrier spacing, cyclic prefix, FFT size,
//! sample rate and the CP length of every symbol (TS 38.211 §4.2, §5.3.1),
//! and the carrier PRB counts of TS 38.101-1/-2 Table 5.3.2-1.
//!
//! Time is counted in samples of the chosen FFT size N at the sample rate
//! N·Δf. In units of T_c the CP is 144κ·2^-μ (+16κ for the symbols starting a
//! half subframe, l = 0 and l = 7·2^μ of the subframe) for normal CP and
//! 512κ·2^-μ for extended CP; at N samples per symbol that is
//! 144·N/2048 (+16·2^μ·N/2048) and 512·N/2048 samples. N must be a multiple
//! of 128 so every CP is a whole number of samples.

use thiserror::Error;

/// Subcarrier spacing Δf = 15·2^μ kHz.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scs {
    /// 15 kHz, μ = 0.
    Khz15,
    /// 30 kHz, μ = 1.
    Khz30,
    /// 60 kHz, μ = 2.
    Khz60,
    /// 120 kHz, μ = 3.
    Khz120,
}

impl Scs {
    /// μ.
    pub fn mu(self) -> u32 {
        match self {
            Scs::Khz15 => 0,
            Scs::Khz30 => 1,
            Scs::Khz60 => 2,
            Scs::Khz120 => 3,
        }
    }

    /// Δf in kHz.
    pub fn khz(self) -> u32 {
        15 << self.mu()
    }

    /// Δf in Hz.
    pub fn hz(self) -> f64 {
        self.khz() as f64 * 1e3
    }

    /// From a spacing in kHz (15, 30, 60, 120).
    pub fn from_khz(khz: u32) -> Result<Self, NumerologyError> {
        match khz {
            15 => Ok(Scs::Khz15),
            30 => Ok(Scs::Khz30),
            60 => Ok(Scs::Khz60),
            120 => Ok(Scs::Khz120),
            _ => Err(NumerologyError::Scs(khz)),
        }
    }

    /// Slots per 1 ms subframe, 2^μ.
    pub fn slots_per_subframe(self) -> u32 {
        1 << self.mu()
    }
}

/// Cyclic prefix (TS 38.211 §4.2: extended CP only for 60 kHz).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CyclicPrefix {
    /// Normal CP, 14 symbols per slot.
    Normal,
    /// Extended CP, 12 symbols per slot (60 kHz only).
    Extended,
}

/// Frequency range, which selects the PRB table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrequencyRange {
    /// FR1, TS 38.101-1.
    Fr1,
    /// FR2, TS 38.101-2.
    Fr2,
}

/// Why a numerology cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum NumerologyError {
    /// Not an NR data subcarrier spacing.
    #[error("subcarrier spacing {0} kHz (allowed: 15, 30, 60, 120)")]
    Scs(u32),
    /// Extended CP outside 60 kHz.
    #[error("extended CP is defined only for 60 kHz (got {0} kHz)")]
    ExtendedCp(u32),
    /// Bandwidth not in the PRB table for this spacing.
    #[error("{bw} MHz is not allowed at {scs} kHz in {fr} (allowed: {allowed})")]
    Bandwidth {
        /// Requested bandwidth, MHz.
        bw: u32,
        /// Subcarrier spacing, kHz.
        scs: u32,
        /// "FR1" or "FR2".
        fr: &'static str,
        /// Allowed bandwidths.
        allowed: String,
    },
    /// FFT size not usable.
    #[error("FFT size {fft}: must be a multiple of 128, at most 4096 and at least the {n_sc} occupied subcarriers")]
    FftSize {
        /// Requested size.
        fft: usize,
        /// Occupied subcarriers 12·N_RB.
        n_sc: usize,
    },
    /// PRB count not usable.
    #[error("{0} PRBs (allowed: 1..=275)")]
    Prbs(u32),
}

/// (bandwidth MHz, [PRBs at 15, 30, 60 kHz]) of TS 38.101-1 Table 5.3.2-1; 0 = not defined.
const FR1_PRBS: &[(u32, [u16; 3])] = &[
    (5, [25, 11, 0]),
    (10, [52, 24, 11]),
    (15, [79, 38, 18]),
    (20, [106, 51, 24]),
    (25, [133, 65, 31]),
    (30, [160, 78, 38]),
    (35, [188, 92, 44]),
    (40, [216, 106, 51]),
    (45, [242, 119, 58]),
    (50, [270, 133, 65]),
    (60, [0, 162, 79]),
    (70, [0, 189, 93]),
    (80, [0, 217, 107]),
    (90, [0, 245, 121]),
    (100, [0, 273, 135]),
];

/// (bandwidth MHz, [PRBs at 60, 120 kHz]) of TS 38.101-2 Table 5.3.2-1; 0 = not defined.
const FR2_PRBS: &[(u32, [u16; 2])] = &[
    (50, [66, 32]),
    (100, [132, 66]),
    (200, [264, 132]),
    (400, [0, 264]),
];

/// N_RB of the transmission bandwidth configuration for `bw_mhz` at `scs`
/// (TS 38.101-1 / 38.101-2 Table 5.3.2-1).
pub fn carrier_prbs(fr: FrequencyRange, bw_mhz: u32, scs: Scs) -> Result<u16, NumerologyError> {
    let table: Vec<(u32, u16)> = match fr {
        FrequencyRange::Fr1 => {
            let c = match scs {
                Scs::Khz15 => Some(0),
                Scs::Khz30 => Some(1),
                Scs::Khz60 => Some(2),
                Scs::Khz120 => None,
            };
            c.map_or(vec![], |c| {
                FR1_PRBS.iter().map(|(b, p)| (*b, p[c])).collect()
            })
        }
        FrequencyRange::Fr2 => {
            let c = match scs {
                Scs::Khz60 => Some(0),
                Scs::Khz120 => Some(1),
                _ => None,
            };
            c.map_or(vec![], |c| {
                FR2_PRBS.iter().map(|(b, p)| (*b, p[c])).collect()
            })
        }
    };
    let allowed: Vec<String> = table
        .iter()
        .filter(|(_, p)| *p > 0)
        .map(|(b, _)| b.to_string())
        .collect();
    table
        .iter()
        .find(|(b, p)| *b == bw_mhz && *p > 0)
        .map(|(_, p)| *p)
        .ok_or_else(|| NumerologyError::Bandwidth {
            bw: bw_mhz,
            scs: scs.khz(),
            fr: if fr == FrequencyRange::Fr1 {
                "FR1"
            } else {
                "FR2"
            },
            allowed: if allowed.is_empty() {
                "none at this spacing".into()
            } else {
                allowed.join(", ")
            },
        })
}

/// One carrier's OFDM numerology: spacing, CP, PRBs and FFT size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Numerology {
    scs: Scs,
    cp: CyclicPrefix,
    n_prb: u16,
    fft_size: usize,
}

impl Numerology {
    /// A carrier of `n_prb` PRBs. `fft_size` None picks the smallest power of
    /// two that leaves at least 15 % of the band as guard (e.g. 2048 for 106
    /// PRBs at 15 kHz: 30.72 MHz; 4096 for 273 PRBs at 30 kHz: 122.88 MHz).
    pub fn new(
        scs: Scs,
        cp: CyclicPrefix,
        n_prb: u16,
        fft_size: Option<usize>,
    ) -> Result<Self, NumerologyError> {
        if cp == CyclicPrefix::Extended && scs != Scs::Khz60 {
            return Err(NumerologyError::ExtendedCp(scs.khz()));
        }
        if n_prb == 0 || n_prb > 275 {
            return Err(NumerologyError::Prbs(n_prb as u32));
        }
        let n_sc = 12 * n_prb as usize;
        let fft = match fft_size {
            Some(f) => f,
            None => {
                let mut f = 128usize;
                while (n_sc as f64) > 0.85 * f as f64 && f < 4096 {
                    f *= 2;
                }
                f
            }
        };
        if fft % 128 != 0 || fft > 4096 || fft < n_sc {
            return Err(NumerologyError::FftSize { fft, n_sc });
        }
        Ok(Numerology {
            scs,
            cp,
            n_prb,
            fft_size: fft,
        })
    }

    /// A carrier from its channel bandwidth (normal CP, default FFT size).
    pub fn from_bandwidth(
        fr: FrequencyRange,
        bw_mhz: u32,
        scs: Scs,
    ) -> Result<Self, NumerologyError> {
        Self::new(
            scs,
            CyclicPrefix::Normal,
            carrier_prbs(fr, bw_mhz, scs)?,
            None,
        )
    }

    /// Subcarrier spacing.
    pub fn scs(&self) -> Scs {
        self.scs
    }

    /// Cyclic prefix.
    pub fn cp(&self) -> CyclicPrefix {
        self.cp
    }

    /// Carrier PRBs N_RB.
    pub fn n_prb(&self) -> u16 {
        self.n_prb
    }

    /// Occupied subcarriers 12·N_RB.
    pub fn n_sc(&self) -> usize {
        12 * self.n_prb as usize
    }

    /// FFT size N.
    pub fn fft_size(&self) -> usize {
        self.fft_size
    }

    /// Sample rate N·Δf in Hz.
    pub fn sample_rate_hz(&self) -> f64 {
        self.fft_size as f64 * self.scs.hz()
    }

    /// OFDM symbols per slot: 14 (normal CP) or 12 (extended).
    pub fn symbols_per_slot(&self) -> usize {
        match self.cp {
            CyclicPrefix::Normal => 14,
            CyclicPrefix::Extended => 12,
        }
    }

    /// Slots per 10 ms frame.
    pub fn slots_per_frame(&self) -> u32 {
        10 * self.scs.slots_per_subframe()
    }

    /// CP length in samples of symbol `l` of slot `slot` (slot number in the
    /// frame; only its position within the subframe matters). TS 38.211 §5.3.1:
    /// the first symbol of each 0.5 ms carries 16κ more.
    pub fn cp_len(&self, slot: u32, l: usize) -> usize {
        let n = self.fft_size;
        match self.cp {
            CyclicPrefix::Extended => n / 4,
            CyclicPrefix::Normal => {
                let per_sf = self.scs.slots_per_subframe();
                let sym_in_sf = (slot % per_sf) as usize * 14 + l;
                let half = 7usize << self.scs.mu();
                let base = 144 * n / 2048;
                if sym_in_sf.is_multiple_of(half) {
                    base + (16usize << self.scs.mu()) * n / 2048
                } else {
                    base
                }
            }
        }
    }

    /// Samples of symbol `l` including its CP.
    pub fn symbol_len(&self, slot: u32, l: usize) -> usize {
        self.cp_len(slot, l) + self.fft_size
    }

    /// Offset of symbol `l`'s CP start within slot `slot`.
    pub fn symbol_offset(&self, slot: u32, l: usize) -> usize {
        (0..l).map(|i| self.symbol_len(slot, i)).sum()
    }

    /// Samples in slot `slot`.
    pub fn slot_len(&self, slot: u32) -> usize {
        self.symbol_offset(slot, self.symbols_per_slot())
    }

    /// Start time in seconds of symbol `l` (its useful part, after the CP)
    /// relative to the slot start: the time base for CFO phase tracking.
    pub fn symbol_time_s(&self, slot: u32, l: usize) -> f64 {
        (self.symbol_offset(slot, l) + self.cp_len(slot, l)) as f64 / self.sample_rate_hz()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_rates_and_fft_sizes() {
        let n = Numerology::from_bandwidth(FrequencyRange::Fr1, 20, Scs::Khz15).unwrap();
        assert_eq!((n.n_prb(), n.fft_size()), (106, 2048));
        assert_eq!(n.sample_rate_hz(), 30.72e6);
        let n = Numerology::from_bandwidth(FrequencyRange::Fr1, 100, Scs::Khz30).unwrap();
        assert_eq!((n.n_prb(), n.fft_size()), (273, 4096));
        assert_eq!(n.sample_rate_hz(), 122.88e6);
        let n = Numerology::from_bandwidth(FrequencyRange::Fr1, 5, Scs::Khz15).unwrap();
        assert_eq!(
            (n.n_prb(), n.fft_size(), n.sample_rate_hz()),
            (25, 512, 7.68e6)
        );
        let n = Numerology::from_bandwidth(FrequencyRange::Fr2, 400, Scs::Khz120).unwrap();
        assert_eq!(n.n_prb(), 264);
        assert!(Numerology::from_bandwidth(FrequencyRange::Fr1, 100, Scs::Khz15).is_err());
        let e = Numerology::from_bandwidth(FrequencyRange::Fr1, 41, Scs::Khz30).unwrap_err();
        assert!(e.to_string().contains("allowed: 5, 10"), "{e}");
        assert!(Numerology::new(Scs::Khz30, CyclicPrefix::Extended, 10, None).is_err());
        assert!(Numerology::new(Scs::Khz15, CyclicPrefix::Normal, 106, Some(1024)).is_err());
        assert!(Numerology::new(Scs::Khz15, CyclicPrefix::Normal, 106, Some(1536)).is_ok());
    }

    #[test]
    fn slots_last_exactly_their_duration() {
        // Every 0.5 ms holds 7·2^μ symbols and exactly N·Δf/2000 samples.
        for scs in [Scs::Khz15, Scs::Khz30, Scs::Khz60, Scs::Khz120] {
            for fft in [128usize, 512, 1536, 2048, 4096] {
                let n = Numerology::new(scs, CyclicPrefix::Normal, 1, Some(fft)).unwrap();
                let per_ms: usize = (0..scs.slots_per_subframe()).map(|s| n.slot_len(s)).sum();
                assert_eq!(per_ms as f64, n.sample_rate_hz() / 1000.0);
                let half: usize = (0..7usize << scs.mu())
                    .map(|i| n.symbol_len(i as u32 / 14, i % 14))
                    .sum();
                assert_eq!(2 * half, per_ms, "{scs:?} {fft}");
            }
        }
        let n = Numerology::new(Scs::Khz15, CyclicPrefix::Normal, 106, None).unwrap();
        assert_eq!(
            (n.cp_len(0, 0), n.cp_len(0, 1), n.cp_len(0, 7)),
            (160, 144, 160)
        );
        let n = Numerology::new(Scs::Khz30, CyclicPrefix::Normal, 273, None).unwrap();
        // 30 kHz: each slot is 0.5 ms, so symbol 0 of every slot is long.
        assert_eq!(
            (n.cp_len(0, 0), n.cp_len(0, 7), n.cp_len(1, 0)),
            (352, 288, 352)
        );
        // 60 kHz: only slots 0 and 2 of the subframe start a half subframe.
        let n = Numerology::new(Scs::Khz60, CyclicPrefix::Normal, 24, Some(512)).unwrap();
        assert_eq!(
            (n.cp_len(0, 0), n.cp_len(1, 0), n.cp_len(2, 0)),
            (36 + 16, 36, 36 + 16)
        );
        let n = Numerology::new(Scs::Khz60, CyclicPrefix::Extended, 24, Some(512)).unwrap();
        assert_eq!((n.symbols_per_slot(), n.cp_len(0, 0)), (12, 128));
        assert_eq!(n.slot_len(0) * 4, n.sample_rate_hz() as usize / 1000);
    }
}
