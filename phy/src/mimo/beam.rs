//! DFT beam codebook of a uniform planar array, beam sweeping and best-beam
//! selection (TS 38.214 §5.2.2.2.1, type-I single-panel vectors).
//!
//! The panel has `N1 x N2` co-polarised elements (optionally two
//! polarisations), oversampled by `O1 x O2`. Beam `(l, m)`,
//! `0 <= l < O1 N1`, `0 <= m < O2 N2`, is
//! `v_{l,m}[n1 N2 + n2] = exp(j 2π (l n1 / (O1 N1) + m n2 / (O2 N2))) / sqrt(N1 N2)`,
//! i.e. `u_m` repeated with the phase ramp of `l`, as in the spec. With two
//! polarisations the port vector is `[v; φ_n v] / sqrt(2)` with co-phase
//! `φ_n = exp(jπn/2)`, `n = 0..4` (rank-1 type-I, ports `0..P/2` on the
//! first polarisation). For `N2 = 1` the spec fixes `O2 = 1`.

use num_complex::Complex32;

/// Bad codebook configuration or channel buffer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BeamError {
    /// `N1`, `N2`, `O1` or `O2` is out of range.
    #[error("invalid panel: N1={n1} N2={n2} O1={o1} O2={o2} (N1,N2 in 1..=32, N1*N2*pol <= 64, O1,O2 in 1..=16, O2 = 1 when N2 = 1)")]
    Panel {
        /// Elements along the first dimension.
        n1: usize,
        /// Elements along the second dimension.
        n2: usize,
        /// Oversampling along the first dimension.
        o1: usize,
        /// Oversampling along the second dimension.
        o2: usize,
    },
    /// The channel buffer is not a whole number of port vectors.
    #[error("channel holds {got} elements, not a non-zero multiple of {ports} ports")]
    Channel {
        /// Its length.
        got: usize,
        /// The port count.
        ports: usize,
    },
}

/// A uniform planar array and its oversampling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UpaConfig {
    /// Elements along the first (horizontal) dimension.
    pub n1: usize,
    /// Elements along the second (vertical) dimension.
    pub n2: usize,
    /// Oversampling along the first dimension (4 in the spec).
    pub o1: usize,
    /// Oversampling along the second dimension (4, or 1 when `n2 = 1`).
    pub o2: usize,
    /// Two cross-polarised elements per position (ports `2 N1 N2`).
    pub dual_pol: bool,
}

/// One beam's index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BeamIndex {
    /// `l`, along the first dimension.
    pub l: usize,
    /// `m`, along the second dimension.
    pub m: usize,
    /// Co-phasing index `n` (0 for single polarisation).
    pub n: usize,
}

/// The result of a sweep for one UE.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BestBeam {
    /// The beam.
    pub index: BeamIndex,
    /// Its position in the codebook.
    pub flat: usize,
    /// Received power through it, summed over the channel samples.
    pub gain: f32,
}

/// The codebook: every beam's port vector, built once.
#[derive(Debug, Clone)]
pub struct BeamCodebook {
    cfg: UpaConfig,
    ports: usize,
    /// `vectors[b * ports + p]`.
    vectors: Vec<Complex32>,
}

impl BeamCodebook {
    /// Builds the `O1 N1 x O2 N2 (x 4)` beams.
    pub fn new(cfg: UpaConfig) -> Result<Self, BeamError> {
        let pol = if cfg.dual_pol { 2 } else { 1 };
        let ok = (1..=32).contains(&cfg.n1)
            && (1..=32).contains(&cfg.n2)
            && cfg.n1 * cfg.n2 * pol <= 64
            && (1..=16).contains(&cfg.o1)
            && (1..=16).contains(&cfg.o2)
            && (cfg.n2 > 1 || cfg.o2 == 1);
        if !ok {
            return Err(BeamError::Panel {
                n1: cfg.n1,
                n2: cfg.n2,
                o1: cfg.o1,
                o2: cfg.o2,
            });
        }
        let (a1, a2) = (cfg.o1 * cfg.n1, cfg.o2 * cfg.n2);
        let ncp = if cfg.dual_pol { 4 } else { 1 };
        let half = cfg.n1 * cfg.n2;
        let ports = half * pol;
        let amp = 1.0 / (ports as f64).sqrt();
        let mut vectors = Vec::with_capacity(a1 * a2 * ncp * ports);
        for l in 0..a1 {
            for m in 0..a2 {
                for n in 0..ncp {
                    for p in 0..ports {
                        let (q, pol_ix) = (p % half, p / half);
                        let (n1, n2) = (q / cfg.n2, q % cfg.n2);
                        // Phases in f64 so large indices stay exact.
                        let mut ph = 2.0
                            * std::f64::consts::PI
                            * (l as f64 * n1 as f64 / a1 as f64 + m as f64 * n2 as f64 / a2 as f64);
                        if pol_ix == 1 {
                            ph += std::f64::consts::FRAC_PI_2 * n as f64;
                        }
                        vectors.push(Complex32::new(
                            (amp * ph.cos()) as f32,
                            (amp * ph.sin()) as f32,
                        ));
                    }
                }
            }
        }
        Ok(BeamCodebook {
            cfg,
            ports,
            vectors,
        })
    }

    /// The panel.
    pub fn config(&self) -> UpaConfig {
        self.cfg
    }
    /// Antenna ports per beam vector.
    pub fn ports(&self) -> usize {
        self.ports
    }
    /// Number of beams.
    pub fn len(&self) -> usize {
        self.vectors.len() / self.ports
    }
    /// Never true: a codebook has at least one beam.
    pub fn is_empty(&self) -> bool {
        self.vectors.is_empty()
    }
    /// The port vector of beam `flat` (unit norm).
    pub fn beam(&self, flat: usize) -> &[Complex32] {
        &self.vectors[flat * self.ports..(flat + 1) * self.ports]
    }
    /// The `(l, m, n)` of beam `flat`.
    pub fn index(&self, flat: usize) -> BeamIndex {
        let ncp = if self.cfg.dual_pol { 4 } else { 1 };
        let a2 = self.cfg.o2 * self.cfg.n2;
        BeamIndex {
            l: flat / (a2 * ncp),
            m: flat / ncp % a2,
            n: flat % ncp,
        }
    }
    /// The flat position of `(l, m, n)`.
    pub fn flat(&self, b: BeamIndex) -> usize {
        let ncp = if self.cfg.dual_pol { 4 } else { 1 };
        (b.l * self.cfg.o2 * self.cfg.n2 + b.m) * ncp + b.n
    }

    /// Beam sweep: the power each beam collects from a UE's channel,
    /// `gains[b] = Σ_s |v_b^T h_s|²` over channel samples `h[s * ports + p]`
    /// (e.g. SRS estimates per PRB and UE antenna, downlink by reciprocity).
    /// `gains` must hold [`BeamCodebook::len`] values.
    pub fn sweep(&self, h: &[Complex32], gains: &mut [f32]) -> Result<(), BeamError> {
        if h.is_empty() || !h.len().is_multiple_of(self.ports) {
            return Err(BeamError::Channel {
                got: h.len(),
                ports: self.ports,
            });
        }
        assert_eq!(
            gains.len(),
            self.len(),
            "gains must hold one value per beam"
        );
        for (b, g) in gains.iter_mut().enumerate() {
            let v = self.beam(b);
            *g = h
                .chunks_exact(self.ports)
                .map(|hs| {
                    hs.iter()
                        .zip(v)
                        .fold(Complex32::new(0.0, 0.0), |a, (h, v)| a + h * v)
                        .norm_sqr()
                })
                .sum();
        }
        Ok(())
    }

    /// The best beam for a UE's channel (largest swept gain; the lowest
    /// index among equals). Allocates the gain table once per call.
    pub fn best_beam(&self, h: &[Complex32]) -> Result<BestBeam, BeamError> {
        let mut gains = vec![0.0; self.len()];
        self.sweep(h, &mut gains)?;
        let (flat, gain) =
            gains
                .iter()
                .enumerate()
                .fold((0, f32::NEG_INFINITY), |(bi, bg), (i, &g)| {
                    if g > bg {
                        (i, g)
                    } else {
                        (bi, bg)
                    }
                });
        Ok(BestBeam {
            index: self.index(flat),
            flat,
            gain,
        })
    }
}
