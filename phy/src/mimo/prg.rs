//! One PDSCH's precoding onto the gNB's antennas: a precoding matrix per PRG
//! (precoding resource block group, TS 38.214 §5.1.2.3) applied to its
//! layers (TS 38.211 §7.3.1.5).
//!
//! The UE may assume the same precoding over the PRBs of one PRG (of 2 or 4
//! PRBs, or wideband: the whole allocation). PRGs partition the bandwidth
//! part from its start: PRG `i` holds PRBs `i·P .. (i+1)·P` counted from CRB
//! 0 (the PDUs' PRB numbering, BWP start 0), so the first PRG of an
//! allocation may be partial. The DM-RS is precoded with the data's matrix
//! (the DM-RS ports are the precoder's inputs, TS 38.211 §7.3.1.5 and
//! §7.4.1.1.2), so the UE estimates the effective channel `H W` and
//! receives a precoded PDSCH as it receives an unprecoded one.
//!
//! Weights use the [`Precoder`](super::precode::Precoder) output layout,
//! `w[(antenna * n_layers + layer) * n_prg + (prg - first_prg)]`, so
//! `Precoder::compute` over per-PRG channel estimates fills a
//! [`PrgPrecoder`] directly (single user: its users are the layers), or
//! column by column for co-scheduled users ([`PrgPrecoder::set_columns`]).

use super::detect::MimoError;
use super::layers::precode_add;
use crate::simd::SimdLevel;
use num_complex::Complex32;
use std::ops::Range;

/// Largest antenna count of a precoder (as the precoder computation's).
pub const MAX_PRECODER_ANTENNAS: usize = 64;
/// Largest layer count of a precoder (one PDSCH: two codewords, 8 layers).
pub const MAX_PRECODER_LAYERS: usize = 8;

/// The PRG size P'_BWP (TS 38.214 §5.1.2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrgSize {
    /// 2 PRBs.
    Two,
    /// 4 PRBs.
    Four,
    /// One precoder over the whole allocation.
    Wideband,
}

impl PrgSize {
    /// PRBs per PRG (`None`: wideband).
    pub fn prbs(self) -> Option<usize> {
        match self {
            PrgSize::Two => Some(2),
            PrgSize::Four => Some(4),
            PrgSize::Wideband => None,
        }
    }

    /// The PRGs `first..end` covering PRBs `prbs` (wideband: `0..1`).
    pub fn covering(self, prbs: Range<usize>) -> Range<usize> {
        match self.prbs() {
            Some(p) => prbs.start / p..prbs.end.div_ceil(p),
            None => 0..1,
        }
    }
}

/// Why a precoder cannot be built or used for a PDSCH.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PrecodingError {
    /// Antennas outside 1..=64, layers outside 1..=8, or more layers than antennas.
    #[error("precoder of {n_layers} layers on {n_tx} antennas (1..=8 layers, 1..=64 antennas, layers <= antennas)")]
    Size {
        /// Antennas.
        n_tx: usize,
        /// Layers.
        n_layers: usize,
    },
    /// The weights do not fill whole PRGs, or a wideband precoder has other than one.
    #[error(
        "{got} precoder weights: expected {expected} ({n_tx} antennas x {n_layers} layers x PRGs)"
    )]
    Weights {
        /// Weights given.
        got: usize,
        /// Weights expected.
        expected: usize,
        /// Antennas.
        n_tx: usize,
        /// Layers.
        n_layers: usize,
    },
    /// The precoder's layer count differs from the PDSCH's.
    #[error("precoder for {precoder} layers, the PDSCH has {pdsch}")]
    Layers {
        /// The precoder's.
        precoder: usize,
        /// The PDSCH's.
        pdsch: usize,
    },
    /// The precoder's antenna count differs from the transmitter's.
    #[error("precoder for {precoder} antennas, the transmitter has {transmitter}")]
    Antennas {
        /// The precoder's.
        precoder: usize,
        /// The transmitter's.
        transmitter: usize,
    },
    /// The precoder's PRGs do not cover the PDSCH's PRBs.
    #[error(
        "precoder PRGs {first}..{end} of {prg_size:?} do not cover PRBs {prbs:?} (PRGs {need:?})"
    )]
    Coverage {
        /// First PRG with weights.
        first: usize,
        /// One past the last.
        end: usize,
        /// The PRG size.
        prg_size: PrgSize,
        /// The PDSCH's PRBs.
        prbs: Range<usize>,
        /// The PRGs they need.
        need: Range<usize>,
    },
    /// Columns asked of a precoder output that does not have them.
    #[error("columns {first}..{end} of a {n_cols}-column precoder output")]
    Columns {
        /// First column.
        first: usize,
        /// One past the last.
        end: usize,
        /// Columns of the output.
        n_cols: usize,
    },
    /// The precoding kernel refused its buffers (a bug: sizes are checked first).
    #[error("precoding: {0}")]
    Kernel(#[from] MimoError),
}

/// The precoding of one PDSCH: `n_tx x n_layers` weights per PRG.
#[derive(Debug, PartialEq)]
pub struct PrgPrecoder {
    n_tx: usize,
    n_layers: usize,
    prg: PrgSize,
    first_prg: usize,
    n_prg: usize,
    w: Vec<Complex32>,
}

impl Clone for PrgPrecoder {
    fn clone(&self) -> Self {
        PrgPrecoder {
            w: self.w.clone(),
            ..*self
        }
    }

    /// Reuses `self`'s weight buffer (no allocation when it is large enough).
    fn clone_from(&mut self, src: &Self) {
        self.n_tx = src.n_tx;
        self.n_layers = src.n_layers;
        self.prg = src.prg;
        self.first_prg = src.first_prg;
        self.n_prg = src.n_prg;
        self.w.clone_from(&src.w);
    }
}

fn check_size(n_tx: usize, n_layers: usize) -> Result<(), PrecodingError> {
    if !(1..=MAX_PRECODER_ANTENNAS).contains(&n_tx)
        || !(1..=MAX_PRECODER_LAYERS).contains(&n_layers)
        || n_layers > n_tx
    {
        return Err(PrecodingError::Size { n_tx, n_layers });
    }
    Ok(())
}

impl PrgPrecoder {
    /// A precoder of zero weights for PRGs `first_prg..first_prg + n_prg`
    /// (wideband: `first_prg` 0 and `n_prg` 1), to fill with
    /// [`PrgPrecoder::weights_mut`] or [`PrgPrecoder::set_columns`].
    pub fn new(
        n_tx: usize,
        n_layers: usize,
        prg: PrgSize,
        first_prg: usize,
        n_prg: usize,
    ) -> Result<Self, PrecodingError> {
        check_size(n_tx, n_layers)?;
        let per = n_tx * n_layers;
        if n_prg == 0 || (prg == PrgSize::Wideband && (n_prg != 1 || first_prg != 0)) {
            return Err(PrecodingError::Weights {
                got: per * n_prg,
                expected: per * n_prg.max(1),
                n_tx,
                n_layers,
            });
        }
        Ok(PrgPrecoder {
            n_tx,
            n_layers,
            prg,
            first_prg,
            n_prg,
            w: vec![Complex32::default(); per * n_prg],
        })
    }

    /// A precoder from weights in the [`Precoder`](super::precode::Precoder)
    /// output layout for PRGs `first_prg..` (as many as `w` fills).
    pub fn from_weights(
        n_tx: usize,
        n_layers: usize,
        prg: PrgSize,
        first_prg: usize,
        w: Vec<Complex32>,
    ) -> Result<Self, PrecodingError> {
        check_size(n_tx, n_layers)?;
        let per = n_tx * n_layers;
        let n_prg = w.len() / per;
        if n_prg == 0 || w.len() != per * n_prg {
            return Err(PrecodingError::Weights {
                got: w.len(),
                expected: per * n_prg.max(1),
                n_tx,
                n_layers,
            });
        }
        let mut p = PrgPrecoder::new(n_tx, n_layers, prg, first_prg, n_prg)?;
        p.w = w;
        Ok(p)
    }

    /// Wideband identity: layer `j` on antenna `j` (what the transmitter
    /// does without a precoder), through the precoding path.
    pub fn identity(n_tx: usize, n_layers: usize) -> Result<Self, PrecodingError> {
        let mut p = PrgPrecoder::new(n_tx, n_layers, PrgSize::Wideband, 0, 1)?;
        for j in 0..n_layers {
            p.w[j * n_layers + j] = Complex32::new(1.0, 0.0);
        }
        Ok(p)
    }

    /// Antennas.
    pub fn n_tx(&self) -> usize {
        self.n_tx
    }

    /// Layers.
    pub fn n_layers(&self) -> usize {
        self.n_layers
    }

    /// The PRG size.
    pub fn prg_size(&self) -> PrgSize {
        self.prg
    }

    /// The PRGs with weights.
    pub fn prgs(&self) -> Range<usize> {
        self.first_prg..self.first_prg + self.n_prg
    }

    /// The weights, `w[(antenna * n_layers + layer) * n_prg + prg - first_prg]`.
    pub fn weights(&self) -> &[Complex32] {
        &self.w
    }

    /// The weights, to fill (e.g. by `Precoder::compute` with `n_layers` users).
    pub fn weights_mut(&mut self) -> &mut [Complex32] {
        &mut self.w
    }

    /// The weight of `layer` on `antenna` in PRG `prg` (a PRG number, from CRB 0).
    pub fn weight(&self, antenna: usize, layer: usize, prg: usize) -> Complex32 {
        self.w[(antenna * self.n_layers + layer) * self.n_prg + prg - self.first_prg]
    }

    /// Fills the weights from columns `first_col..first_col + n_layers` of a
    /// precoder output `w` of `n_cols` columns (users) over this precoder's
    /// PRGs: an MU-MIMO PDSCH takes its users' columns of a precoder computed
    /// for every co-scheduled user.
    pub fn set_columns(
        &mut self,
        w: &[Complex32],
        n_cols: usize,
        first_col: usize,
    ) -> Result<(), PrecodingError> {
        let end = first_col + self.n_layers;
        if end > n_cols {
            return Err(PrecodingError::Columns {
                first: first_col,
                end,
                n_cols,
            });
        }
        let ng = self.n_prg;
        if w.len() != self.n_tx * n_cols * ng {
            return Err(PrecodingError::Weights {
                got: w.len(),
                expected: self.n_tx * n_cols * ng,
                n_tx: self.n_tx,
                n_layers: n_cols,
            });
        }
        for a in 0..self.n_tx {
            for l in 0..self.n_layers {
                let src = (a * n_cols + first_col + l) * ng;
                let dst = (a * self.n_layers + l) * ng;
                self.w[dst..dst + ng].copy_from_slice(&w[src..src + ng]);
            }
        }
        Ok(())
    }

    /// Checks the precoder against a PDSCH of `n_layers` layers on PRBs
    /// `prbs` from a transmitter of `n_tx` antennas.
    pub fn check(
        &self,
        n_tx: usize,
        n_layers: usize,
        prbs: Range<usize>,
    ) -> Result<(), PrecodingError> {
        if self.n_layers != n_layers {
            return Err(PrecodingError::Layers {
                precoder: self.n_layers,
                pdsch: n_layers,
            });
        }
        if self.n_tx != n_tx {
            return Err(PrecodingError::Antennas {
                precoder: self.n_tx,
                transmitter: n_tx,
            });
        }
        let need = self.prg.covering(prbs.clone());
        if need.start < self.first_prg || need.end > self.first_prg + self.n_prg {
            return Err(PrecodingError::Coverage {
                first: self.first_prg,
                end: self.first_prg + self.n_prg,
                prg_size: self.prg,
                prbs,
                need,
            });
        }
        Ok(())
    }

    /// Makes `self` a copy of `src` restricted to the PRGs covering `prbs`
    /// (which `src` covers, [`PrgPrecoder::check`]), reusing `self`'s
    /// buffer: a per-slot copy that allocates nothing once the buffer has
    /// grown to the largest allocation's.
    pub fn copy_covering(&mut self, src: &PrgPrecoder, prbs: Range<usize>) {
        let need = src.prg.covering(prbs);
        let first = need.start.max(src.first_prg);
        let ng = need
            .end
            .min(src.first_prg + src.n_prg)
            .saturating_sub(first);
        self.n_tx = src.n_tx;
        self.n_layers = src.n_layers;
        self.prg = src.prg;
        self.first_prg = first;
        self.n_prg = ng;
        self.w.clear();
        for row in 0..src.n_tx * src.n_layers {
            let o = row * src.n_prg + first - src.first_prg;
            self.w.extend_from_slice(&src.w[o..o + ng]);
        }
    }

    /// Adds the precoded layers to the antennas (TS 38.211 §7.3.1.5):
    /// `antennas[a][r·n_sc + k] += Σ_j W_g[a][j] layers[j][r·n_sc + k]` for
    /// rows (OFDM symbols of the views) `rows` and the subcarriers of PRBs
    /// `prbs`, `W_g` the weights of the PRG of subcarrier `k`'s PRB. The
    /// views hold whole-carrier symbols of `n_sc` subcarriers; the checks of
    /// [`PrgPrecoder::check`] are assumed (a mismatch is an error, not a panic).
    pub fn apply_add(
        &self,
        level: SimdLevel,
        layers: &[&[Complex32]],
        n_sc: usize,
        rows: Range<usize>,
        prbs: Range<usize>,
        antennas: &mut [&mut [Complex32]],
    ) -> Result<(), PrecodingError> {
        let (first, p) = (self.first_prg, self.prg.prbs());
        let spans = rows.flat_map(move |r| {
            let base = r * n_sc;
            let prbs = prbs.clone();
            let groups = match p {
                Some(p) => prbs.start / p..prbs.end.div_ceil(p),
                None => 0..1,
            };
            groups.map(move |g| {
                let (b0, b1) = match p {
                    Some(p) => ((g * p).max(prbs.start), ((g + 1) * p).min(prbs.end)),
                    None => (prbs.start, prbs.end),
                };
                (g.wrapping_sub(first), base + 12 * b0..base + 12 * b1)
            })
        });
        precode_add(level, layers, &self.w, self.n_prg, spans, antennas)?;
        Ok(())
    }
}
