//! Floating-point flooding belief propagation (sum-product), the slow twin of the
//! fast decoder and the `--decoder bp` of `ranlab bler`.
//!
//! Same conventions as [`LdpcDecoder`](super::LdpcDecoder): LLRs of the circular
//! buffer d (positive = bit 0), N = 66Z or 50Z values, of which the first `n_filled`
//! were received; fillers [K', K) of the codeword are certain zeros. Every check node
//! is updated from the previous iteration's variable-to-check messages (flooding)
//! with the exact tanh rule, in f64. Allocates its messages once at construction.

use super::base_graph::{BaseGraph, LiftedGraph};
use super::decoder::{active_rows, DecodeOutcome};
use super::error::LdpcError;

/// LLR used for bits known to be 0 (fillers); tanh of half of it is 1 in f64.
const CERTAIN: f64 = 1e3;
/// Messages are clipped to this magnitude to keep atanh finite.
const CLIP: f64 = 60.0;

/// Flooding sum-product decoder for one base graph and lifting size.
#[derive(Debug, Clone)]
pub struct BpDecoder {
    graph: LiftedGraph,
    z: usize,
    max_iterations: u32,
    /// Channel LLR per codeword bit.
    chan: Vec<f64>,
    /// A-posteriori LLR per codeword bit.
    total: Vec<f64>,
    /// Check-to-variable message per edge lane (edge-major, Z lanes each).
    c2v: Vec<f64>,
}

impl BpDecoder {
    /// A decoder for `bg` lifted to `z`, running at most `max_iterations` (1..=1000).
    pub fn new(bg: BaseGraph, z: u16, max_iterations: u32) -> Result<Self, LdpcError> {
        if !(1..=1000).contains(&max_iterations) {
            return Err(LdpcError::Iterations(max_iterations));
        }
        let graph = LiftedGraph::new(bg, z)?;
        let z = z as usize;
        let n = bg.codeword_len(z);
        Ok(BpDecoder {
            chan: vec![0.0; n],
            total: vec![0.0; n],
            c2v: vec![0.0; bg.num_entries() * z],
            graph,
            z,
            max_iterations,
        })
    }

    /// Decodes `llrs` (N values of d) into the K systematic bits `out_bits`.
    pub fn decode(
        &mut self,
        llrs: &[f32],
        n_filled: usize,
        k_prime: usize,
        out_bits: &mut [u8],
    ) -> Result<DecodeOutcome, LdpcError> {
        let bg = self.graph.base_graph();
        let z = self.z;
        let n = bg.buffer_len(z);
        let k = bg.info_len(z);
        if llrs.len() != n {
            return Err(LdpcError::LlrLength {
                expected: n,
                got: llrs.len(),
            });
        }
        if out_bits.len() != k {
            return Err(LdpcError::OutputLength {
                expected: k,
                got: out_bits.len(),
            });
        }
        if n_filled > n {
            return Err(LdpcError::FilledLength { n_filled, n });
        }
        if k_prime == 0 || k_prime > k {
            return Err(LdpcError::KPrime { k_prime, k });
        }
        let rows = active_rows(bg, z, n_filled);
        let ncols = bg.sys_cols() + rows;
        for (pos, c) in self.chan[..ncols * z].iter_mut().enumerate() {
            *c = if pos >= k_prime && pos < k {
                CERTAIN
            } else if pos < 2 * z || pos - 2 * z >= n_filled {
                0.0
            } else {
                (llrs[pos - 2 * z] as f64).clamp(-CLIP, CLIP)
            };
        }
        self.total[..ncols * z].copy_from_slice(&self.chan[..ncols * z]);
        let edges = self.graph.row_offset(rows);
        self.c2v[..edges * z].fill(0.0);

        let mut iterations = 0;
        let mut ok = self.syndrome_ok(rows);
        let mut t = [0f64; 32];
        let mut fwd = [0f64; 33];
        while !ok && iterations < self.max_iterations {
            // Check-node update from the previous totals (flooding).
            for i in 0..rows {
                let row = self.graph.row(i);
                let e0 = self.graph.row_offset(i);
                let d = row.len();
                for l in 0..z {
                    for (j, e) in row.iter().enumerate() {
                        let v = e.col as usize * z + (l + e.shift as usize) % z;
                        let q = (self.total[v] - self.c2v[(e0 + j) * z + l]).clamp(-CLIP, CLIP);
                        t[j] = (q / 2.0).tanh();
                    }
                    fwd[0] = 1.0;
                    for j in 0..d {
                        fwd[j + 1] = fwd[j] * t[j];
                    }
                    let mut bwd = 1.0;
                    for j in (0..d).rev() {
                        let p = (fwd[j] * bwd).clamp(-1.0 + 1e-15, 1.0 - 1e-15);
                        self.c2v[(e0 + j) * z + l] = (2.0 * p.atanh()).clamp(-CLIP, CLIP);
                        bwd *= t[j];
                    }
                }
            }
            // Variable-node totals.
            self.total[..ncols * z].copy_from_slice(&self.chan[..ncols * z]);
            for i in 0..rows {
                let e0 = self.graph.row_offset(i);
                for (j, e) in self.graph.row(i).iter().enumerate() {
                    for l in 0..z {
                        let v = e.col as usize * z + (l + e.shift as usize) % z;
                        self.total[v] += self.c2v[(e0 + j) * z + l];
                    }
                }
            }
            iterations += 1;
            ok = self.syndrome_ok(rows);
        }
        for (o, &v) in out_bits.iter_mut().zip(&self.total) {
            *o = (v < 0.0) as u8;
        }
        out_bits[k_prime..].fill(0);
        Ok(DecodeOutcome {
            iterations,
            parity_ok: ok,
            crc_ok: None,
        })
    }

    /// The a-posteriori LLRs of the last decode, codeword order (N_ldpc values; bits
    /// the last decode did not reach are whatever they were).
    pub fn soft_output(&self) -> &[f64] {
        &self.total
    }

    fn syndrome_ok(&self, rows: usize) -> bool {
        let z = self.z;
        (0..rows).all(|i| {
            (0..z).all(|l| {
                !self.graph.row(i).iter().fold(false, |acc, e| {
                    acc ^ (self.total[e.col as usize * z + (l + e.shift as usize) % z] < 0.0)
                })
            })
        })
    }
}
