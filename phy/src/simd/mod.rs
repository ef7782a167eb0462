//! Instruction-set selection for the hot kernels.
//!
//! Every SIMD kernel has a portable scalar twin. A block detects the CPU once
//! at construction ([`SimdLevel::detect`]) and keeps the choice; tests and
//! benches may force a lower level with [`SimdLevel::clamp_to`].

#[cfg(target_arch = "x86_64")]
pub mod avx2;
#[cfg(target_arch = "x86_64")]
pub mod avx512;
pub(crate) mod lanes8;
pub(crate) mod lanes_f32;
pub mod scalar;

use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

/// The level in use, once decided ([`SimdLevel::detect`], [`SimdLevel::force`]).
static ACTIVE: OnceLock<SimdLevel> = OnceLock::new();

/// The widest vector instruction set a kernel may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SimdLevel {
    /// Portable Rust, no explicit vector instructions.
    Scalar,
    /// AVX2 (256-bit integer and float vectors) with FMA.
    Avx2,
    /// AVX-512 F + BW (512-bit vectors, byte/word lanes).
    Avx512,
}

impl SimdLevel {
    /// The level every block uses by default: the best this CPU supports
    /// ([`SimdLevel::cpu`]), capped by [`SimdLevel::force`] or the
    /// `RANLAB_SIMD` environment variable (`scalar`, `avx2`, `avx512`);
    /// decided once per process, so sdr, sim-channel and phy agree.
    pub fn detect() -> Self {
        *ACTIVE.get_or_init(|| {
            let cap = Self::from_env().ok().flatten();
            cap.map_or(Self::cpu(), |c| c.min(Self::cpu()))
        })
    }

    /// The best level this CPU supports, probed once per process.
    pub fn cpu() -> Self {
        static CPU: OnceLock<SimdLevel> = OnceLock::new();
        *CPU.get_or_init(Self::probe)
    }

    /// The cap `RANLAB_SIMD` asks for, if set; a value that is not a level
    /// is an error naming the variable (a caller such as `ranlab` reports it
    /// at start-up; [`SimdLevel::detect`] then ignores it).
    pub fn from_env() -> Result<Option<Self>, String> {
        match std::env::var("RANLAB_SIMD") {
            Ok(v) => v
                .parse()
                .map(Some)
                .map_err(|e| format!("RANLAB_SIMD={v}: {e}")),
            Err(_) => Ok(None),
        }
    }

    /// Caps every block of this process at `level` (at most what the CPU
    /// has). Must come before the first [`SimdLevel::detect`]; afterwards
    /// only the level already in use is accepted.
    pub fn force(level: SimdLevel) -> Result<SimdLevel, String> {
        let want = level.min(Self::cpu());
        let got = *ACTIVE.get_or_init(|| want);
        if got == want {
            Ok(got)
        } else {
            Err(format!(
                "instruction set already chosen ({got}); force {level} before any block runs"
            ))
        }
    }

    /// Asks the CPU (`detect` caches the answer).
    fn probe() -> Self {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx512f")
                && std::arch::is_x86_feature_detected!("avx512bw")
            {
                return SimdLevel::Avx512;
            }
            if std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
            {
                return SimdLevel::Avx2;
            }
        }
        SimdLevel::Scalar
    }

    /// Whether this CPU can run kernels of this level.
    pub fn is_supported(self) -> bool {
        self <= Self::detect()
    }

    /// The lower of `self` and `max`: lets a caller cap the detected level.
    pub fn clamp_to(self, max: SimdLevel) -> Self {
        self.min(max)
    }

    /// The name used on the command line and in bench output.
    pub fn name(self) -> &'static str {
        match self {
            SimdLevel::Scalar => "scalar",
            SimdLevel::Avx2 => "avx2",
            SimdLevel::Avx512 => "avx512",
        }
    }

    /// Every level this CPU supports, lowest first.
    pub fn supported() -> Vec<SimdLevel> {
        [SimdLevel::Scalar, SimdLevel::Avx2, SimdLevel::Avx512]
            .into_iter()
            .filter(|l| l.is_supported())
            .collect()
    }
}

impl fmt::Display for SimdLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for SimdLevel {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "scalar" | "generic" => Ok(SimdLevel::Scalar),
            "avx2" => Ok(SimdLevel::Avx2),
            "avx512" => Ok(SimdLevel::Avx512),
            other => Err(format!(
                "unknown instruction set `{other}` (allowed: scalar, avx2, avx512)"
            )),
        }
    }
}

/// The kernel each block runs at `level`, as (block, kernel) pairs, for
/// `ranlab info`. Blocks whose kernel does not depend on the level say so.
pub fn kernels(level: SimdLevel) -> Vec<(&'static str, String)> {
    let mut v = vec![
        ("crc", "byte table (portable)".to_string()),
        ("demap", format!("max-log per-dimension PAM, {level}")),
        (
            "scrambling",
            "Gold words, 8 bits per u64 (portable)".to_string(),
        ),
        (
            "ldpc_encode",
            format!("{level} XOR gather over doubled column blocks"),
        ),
        (
            "ldpc_decode",
            format!(
                "{level} layered min-sum, 8-bit, {} lanes per instruction",
                match level {
                    SimdLevel::Scalar => 1,
                    SimdLevel::Avx2 => 32,
                    SimdLevel::Avx512 => 64,
                }
            ),
        ),
    ];
    v.push((
        "mimo",
        match level {
            SimdLevel::Scalar => "LDL^H per RE, 1 lane (portable)",
            SimdLevel::Avx2 => "LDL^H per RE, avx2+fma 8 REs/vector",
            SimdLevel::Avx512 => "LDL^H per RE, avx512f 16 REs/vector",
        }
        .to_string(),
    ));
    v.push((
        "llr_quantize",
        match level {
            SimdLevel::Scalar => "scale + descramble + i8, 1 lane (portable)",
            _ => "scale + descramble + i8, avx2 32 LLRs/step",
        }
        .to_string(),
    ));
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalar_is_always_supported_and_ordering_holds() {
        assert!(SimdLevel::Scalar.is_supported());
        assert!(SimdLevel::Scalar < SimdLevel::Avx2 && SimdLevel::Avx2 < SimdLevel::Avx512);
        assert_eq!(SimdLevel::Avx512.clamp_to(SimdLevel::Avx2), SimdLevel::Avx2);
        assert_eq!("generic".parse::<SimdLevel>(), Ok(SimdLevel::Scalar));
        assert!("sse".parse::<SimdLevel>().is_err());
    }
}
