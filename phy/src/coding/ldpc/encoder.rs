//! LDPC encoder, TS 38.212 §5.3.2.
//!
//! Input: c_0..c_{K-1}, K = 22Z (BG1) or 10Z (BG2) unpacked bits with the filler
//! (<NULL>) positions given as 0. Output: the whole mother codeword of N_ldpc = 68Z
//! or 52Z bits (systematic bits, the 2Z punctured ones included, then parity), with
//! H c = 0. Rate matching (§5.4.2) takes d_k = c_{k+2Z} from it.
//!
//! The parity is solved block-wise from the structure of both base graphs:
//! * rows 0..3 (the core) involve the info columns and four parity columns in a
//!   double-diagonal pattern; summing them cancels every parity column but the first,
//!   which appears with an odd number of equal shifts, so p_0 is one rotation of the
//!   sum of the four info syndromes, and p_1..p_3 follow row by row;
//! * every further row i has one degree-1 parity column (shift 0), equal to the XOR
//!   of the row's other blocks.
//!
//! A block product is a circular shift: column blocks are kept twice in a row in a
//! scratch buffer, so the shift by P is a contiguous slice starting at P, and each
//! parity block is one XOR gather over such slices (SIMD kernel chosen at
//! construction).

use super::base_graph::{BaseGraph, LiftedGraph};
use super::error::LdpcError;
use crate::simd::SimdLevel;

/// Largest Z.
const ZMAX: usize = 384;
/// Doubled-column stride in the scratch buffer (slack for vector tails).
const fn stride_for(z: usize) -> usize {
    2 * z + 64
}
/// Scratch bytes for the doubled info + core-parity columns at Z = 384 (BG1).
const SCRATCH: usize = 26 * stride_for(ZMAX);

/// A systematic LDPC encoder for one base graph and lifting size. Build once
/// (tables and offsets are prepared here), encode many; `encode` allocates nothing.
#[derive(Debug, Clone)]
pub struct LdpcEncoder {
    graph: LiftedGraph,
    level: SimdLevel,
    z: usize,
    stride: usize,
    /// The shift with which p_0 survives the sum of rows 0..3.
    p0_shift: usize,
    /// Scratch offsets of all gathers, and per job its range in `offs`:
    /// jobs 0..4 = info part of rows 0..3, 4..7 = core-parity part of rows 0..2
    /// (without the solved column), 7.. = rows 4.. without their own column.
    offs: Vec<usize>,
    jobs: Vec<(usize, usize)>,
}

impl LdpcEncoder {
    /// An encoder for `bg` lifted to `z` (Table 5.3.2-1), using the best SIMD level
    /// of this CPU.
    pub fn new(bg: BaseGraph, z: u16) -> Result<Self, LdpcError> {
        Self::with_level(bg, z, SimdLevel::detect())
    }

    /// As [`new`](Self::new) with the instruction set forced (must be supported).
    pub fn with_level(bg: BaseGraph, z: u16, level: SimdLevel) -> Result<Self, LdpcError> {
        if !level.is_supported() {
            return Err(LdpcError::Simd(level));
        }
        let graph = LiftedGraph::new(bg, z)?;
        let z = z as usize;
        let stride = stride_for(z);
        let sys = bg.sys_cols();
        let slot = |col: usize, shift: usize| col * stride + shift;

        // p_0: the shift of column `sys` appearing an odd number of times in rows 0..3.
        let mut shifts: Vec<usize> = (0..4)
            .flat_map(|i| graph.row(i).iter())
            .filter(|e| e.col as usize == sys)
            .map(|e| e.shift as usize)
            .collect();
        shifts.sort_unstable();
        let mut p0_shift = 0;
        let mut k = 0;
        while k < shifts.len() {
            let n = shifts[k..].iter().take_while(|&&s| s == shifts[k]).count();
            if n % 2 == 1 {
                p0_shift = shifts[k];
            }
            k += n;
        }

        let mut offs = Vec::new();
        let mut jobs = Vec::new();
        let mut push_job = |offs: &mut Vec<usize>, it: &mut dyn Iterator<Item = usize>| {
            let start = offs.len();
            offs.extend(it);
            jobs.push((start, offs.len()));
        };
        for i in 0..4 {
            push_job(
                &mut offs,
                &mut graph
                    .row(i)
                    .iter()
                    .filter(|e| (e.col as usize) < sys)
                    .map(|e| slot(e.col as usize, e.shift as usize)),
            );
        }
        for i in 0..3 {
            push_job(
                &mut offs,
                &mut graph
                    .row(i)
                    .iter()
                    .filter(|e| (e.col as usize) >= sys && (e.col as usize) != sys + i + 1)
                    .map(|e| slot(e.col as usize, e.shift as usize)),
            );
        }
        for i in 4..bg.rows() {
            push_job(
                &mut offs,
                &mut graph
                    .row(i)
                    .iter()
                    .filter(|e| (e.col as usize) < sys + 4)
                    .map(|e| slot(e.col as usize, e.shift as usize)),
            );
        }
        Ok(LdpcEncoder {
            graph,
            level,
            z,
            stride,
            p0_shift,
            offs,
            jobs,
        })
    }

    /// The base graph.
    pub fn base_graph(&self) -> BaseGraph {
        self.graph.base_graph()
    }

    /// The lifting size Z.
    pub fn z(&self) -> usize {
        self.z
    }

    /// The instruction set in use.
    pub fn level(&self) -> SimdLevel {
        self.level
    }

    /// The lifted parity-check structure.
    pub fn graph(&self) -> &LiftedGraph {
        &self.graph
    }

    /// K: the input length.
    pub fn info_len(&self) -> usize {
        self.base_graph().info_len(self.z)
    }

    /// N_ldpc: the output length.
    pub fn codeword_len(&self) -> usize {
        self.base_graph().codeword_len(self.z)
    }

    fn gather(&self, dst: &mut [u8], base: &[u8], job: usize) {
        let (a, b) = self.jobs[job];
        let offs = &self.offs[a..b];
        // Bounds: every offset is col * stride + shift with col < sys + 4 and
        // shift < Z, so offset + Z <= (sys + 4) * stride <= base.len().
        debug_assert!(offs.iter().all(|&o| o + dst.len() <= base.len()));
        match self.level {
            #[cfg(target_arch = "x86_64")]
            SimdLevel::Avx512 => unsafe {
                // SAFETY: the CPU supports AVX-512 (checked in `with_level`); offsets
                // are in bounds (above).
                crate::simd::avx512::ldpc::xor_gather(dst, base, offs)
            },
            #[cfg(target_arch = "x86_64")]
            SimdLevel::Avx2 => unsafe {
                // SAFETY: as above, for AVX2.
                crate::simd::avx2::ldpc::xor_gather(dst, base, offs)
            },
            _ => crate::simd::scalar::ldpc::xor_gather(dst, base, offs),
        }
    }

    /// Encodes `info` (K bits, fillers as 0; only bit 0 of each byte is used) into
    /// `codeword` (N_ldpc bits, §5.3.2 c_0..c_{N_ldpc-1} with d_k = c_{k+2Z}).
    pub fn encode(&self, info: &[u8], codeword: &mut [u8]) -> Result<(), LdpcError> {
        let bg = self.base_graph();
        let (z, stride) = (self.z, self.stride);
        let sys = bg.sys_cols();
        if info.len() != self.info_len() {
            return Err(LdpcError::InfoLength {
                expected: self.info_len(),
                got: info.len(),
            });
        }
        if codeword.len() != self.codeword_len() {
            return Err(LdpcError::CodewordLength {
                expected: self.codeword_len(),
                got: codeword.len(),
            });
        }
        let mut scratch = [0u8; SCRATCH];
        let scratch = &mut scratch[..(sys + 4) * stride];
        let k = sys * z;
        for (c, &b) in codeword[..k].iter_mut().zip(info) {
            *c = b & 1;
        }
        let double = |scratch: &mut [u8], col: usize, bits: &[u8]| {
            let s = &mut scratch[col * stride..col * stride + 2 * z];
            s[..z].copy_from_slice(bits);
            s[z..].copy_from_slice(bits);
        };
        for j in 0..sys {
            double(scratch, j, &codeword[j * z..(j + 1) * z]);
        }

        // Core rows 0..3: lambda_i = sum over info blocks of row i.
        let mut lam = [[0u8; ZMAX]; 4];
        for (i, l) in lam.iter_mut().enumerate() {
            self.gather(&mut l[..z], scratch, i);
        }
        let mut sum = [0u8; ZMAX];
        for (m, s) in sum[..z].iter_mut().enumerate() {
            *s = lam[0][m] ^ lam[1][m] ^ lam[2][m] ^ lam[3][m];
        }
        // rot(p0, P)[r] = p0[(r + P) mod Z] = sum[r]  =>  p0[m] = sum[(m - P) mod Z].
        let p = self.p0_shift;
        {
            let p0 = &mut codeword[sys * z..(sys + 1) * z];
            p0[..p].copy_from_slice(&sum[z - p..z]);
            p0[p..].copy_from_slice(&sum[..z - p]);
        }
        double(scratch, sys, &codeword[sys * z..(sys + 1) * z]);
        // Rows 0..2 give p_1..p_3 in turn (the solved column has shift 0).
        for (i, lam_i) in lam.iter().take(3).enumerate() {
            let col = sys + i + 1;
            let mut t = [0u8; ZMAX];
            self.gather(&mut t[..z], scratch, 4 + i);
            let pc = &mut codeword[col * z..(col + 1) * z];
            for ((o, &a), &b) in pc.iter_mut().zip(&lam_i[..z]).zip(&t[..z]) {
                *o = a ^ b;
            }
            double(scratch, col, &codeword[col * z..(col + 1) * z]);
        }
        // Extension rows: one degree-1 parity column each.
        for i in 4..bg.rows() {
            let col = sys + i;
            self.gather(&mut codeword[col * z..(col + 1) * z], scratch, 7 + (i - 4));
        }
        Ok(())
    }
}
