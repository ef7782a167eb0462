//! Modulation mapping and soft demapping, TS 38.211 §5.1.
//!
//! [`Mapper`] turns unpacked bits into unit-energy constellation points;
//! [`Demapper`] turns received points and their noise variance into max-log
//! LLRs (positive = bit 0), with AVX2/AVX-512 kernels chosen at construction.

pub mod demapper;
pub mod mapper;

pub use demapper::Demapper;
pub use mapper::Mapper;

use thiserror::Error;

/// A modulation scheme of TS 38.211 §5.1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Modulation {
    /// BPSK (§5.1.2): (1 − 2b)(1 + j)/√2.
    Bpsk,
    /// π/2-BPSK (§5.1.1): BPSK rotated by j on odd symbol indices.
    Pi2Bpsk,
    /// QPSK (§5.1.3).
    Qpsk,
    /// 16QAM (§5.1.4).
    Qam16,
    /// 64QAM (§5.1.5).
    Qam64,
    /// 256QAM (§5.1.6).
    Qam256,
    /// 1024QAM (§5.1.7, Rel-17).
    Qam1024,
}

impl Modulation {
    /// Bits per symbol Q_m.
    pub const fn qm(self) -> usize {
        match self {
            Modulation::Bpsk | Modulation::Pi2Bpsk => 1,
            Modulation::Qpsk => 2,
            Modulation::Qam16 => 4,
            Modulation::Qam64 => 6,
            Modulation::Qam256 => 8,
            Modulation::Qam1024 => 10,
        }
    }

    /// The scheme with Q_m bits per symbol; Q_m = 1 gives π/2-BPSK (the one
    /// PUSCH uses) unless `plain_bpsk`.
    pub fn from_qm(qm: usize, plain_bpsk: bool) -> Option<Self> {
        Some(match qm {
            1 if plain_bpsk => Modulation::Bpsk,
            1 => Modulation::Pi2Bpsk,
            2 => Modulation::Qpsk,
            4 => Modulation::Qam16,
            6 => Modulation::Qam64,
            8 => Modulation::Qam256,
            10 => Modulation::Qam1024,
            _ => return None,
        })
    }

    /// Bits per I (or Q) dimension of the square QAMs (Q_m/2); 0 for BPSK.
    pub const fn bits_per_dim(self) -> usize {
        match self {
            Modulation::Bpsk | Modulation::Pi2Bpsk => 0,
            _ => self.qm() / 2,
        }
    }

    /// Name as used by benches (`qpsk`, `16qam`, ...).
    pub const fn name(self) -> &'static str {
        match self {
            Modulation::Bpsk => "bpsk",
            Modulation::Pi2Bpsk => "pi2bpsk",
            Modulation::Qpsk => "qpsk",
            Modulation::Qam16 => "16qam",
            Modulation::Qam64 => "64qam",
            Modulation::Qam256 => "256qam",
            Modulation::Qam1024 => "1024qam",
        }
    }

    /// Every scheme.
    pub const ALL: [Modulation; 7] = [
        Modulation::Bpsk,
        Modulation::Pi2Bpsk,
        Modulation::Qpsk,
        Modulation::Qam16,
        Modulation::Qam64,
        Modulation::Qam256,
        Modulation::Qam1024,
    ];
}

/// Why a mapping or demapping call refused its input.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum ModulationError {
    /// Buffers whose lengths do not match.
    #[error("{what}: length {got}, expected {expected}")]
    Length {
        /// Which buffer.
        what: &'static str,
        /// Its length.
        got: usize,
        /// Required length.
        expected: usize,
    },
    /// A noise variance given to the demapper is NaN, zero or negative:
    /// it would turn into LLRs of full confidence.
    #[error("noise variance {value} of symbol {index} is not a positive number")]
    NoiseVar {
        /// The symbol it belongs to.
        index: usize,
        /// The value.
        value: f32,
    },
}

pub(crate) fn check_len(
    what: &'static str,
    got: usize,
    expected: usize,
) -> Result<(), ModulationError> {
    if got == expected {
        Ok(())
    } else {
        Err(ModulationError::Length {
            what,
            got,
            expected,
        })
    }
}
