//! Transport-block CRC attachment, LDPC base-graph selection and code-block
//! segmentation, TS 38.212 §7.2.1/§6.2.1, §7.2.2/§6.2.2 and §5.2.2.
//!
//! A transport block of A bits gets a CRC24A (A > 3824) or CRC16 (§7.2.1),
//! giving B bits. When B exceeds the largest code block K_cb (8448 for BG1,
//! 3840 for BG2), it is cut into C blocks of K' bits, each with a CRC24B;
//! every block is padded with K − K' filler bits (<NULL>, encoded as 0) up to
//! K = 22·Z (BG1) or 10·Z (BG2), Z the smallest lifting size with K_b·Z ≥ K'.

use crate::coding::crc::CrcPoly;
use crate::coding::ldpc::{select_lifting, BaseGraph};
use thiserror::Error;

/// Why a transport block cannot be segmented.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SegmentationError {
    /// A transport block of zero bits.
    #[error("transport block size must be at least 1 bit")]
    Empty,
    /// B' is not a multiple of C (§5.2.2 needs K' = B'/C; TBS values from
    /// TS 38.214 §5.1.3.2 always divide).
    #[error("B' = {b_prime} bits do not split into {c} equal code blocks")]
    NotDivisible {
        /// B' = B + C·L.
        b_prime: usize,
        /// C.
        c: usize,
    },
    /// A code block larger than the base graph allows.
    #[error("K' = {k_prime} exceeds the largest code block of {bg:?}")]
    TooLarge {
        /// K'.
        k_prime: usize,
        /// The base graph.
        bg: BaseGraph,
    },
    /// A transport block beyond any TS 38.214 §5.1.3.2 / §6.1.4.2 size.
    #[error("transport block size {0} bits exceeds the largest NR TBS ({MAX_TBS} bits)")]
    TbTooLarge(usize),
}

/// An upper bound on the NR transport block size: the largest TBS of
/// TS 38.214 (8 layers, 275 PRB, 1024QAM at R = 948/1024) is below 2^21.
pub const MAX_TBS: usize = 1 << 21;

/// The base graph for a transport block (§7.2.2 / §6.2.2): BG2 if A ≤ 292,
/// or A ≤ 3824 and R ≤ 0.67, or R ≤ 0.25; otherwise BG1. R = `r_x2048`/2048
/// is the target code rate of the MCS, compared exactly.
pub fn select_base_graph(tbs: usize, r_x2048: u32) -> BaseGraph {
    let r = r_x2048 as u64;
    let r_le_067 = r * 100 <= 67 * 2048;
    let r_le_025 = r * 4 <= 2048;
    if tbs <= 292 || (tbs <= 3824 && r_le_067) || r_le_025 {
        BaseGraph::Bg2
    } else {
        BaseGraph::Bg1
    }
}

/// The CRC attached to a transport block of `tbs` bits (§7.2.1).
pub fn tb_crc_poly(tbs: usize) -> CrcPoly {
    if tbs > 3824 {
        CrcPoly::Crc24A
    } else {
        CrcPoly::Crc16
    }
}

/// K_cb, the largest code block of a base graph (§5.2.2).
pub fn max_code_block(bg: BaseGraph) -> usize {
    match bg {
        BaseGraph::Bg1 => 8448,
        BaseGraph::Bg2 => 3840,
    }
}

/// The LDPC dimensions of one code block (§5.2.2, Table 5.3.2-1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CodeBlockShape {
    /// Base graph.
    pub bg: BaseGraph,
    /// K': the bits of the block before filling, CB CRC included.
    pub k_prime: usize,
    /// K_b: information columns used to choose Z.
    pub k_b: usize,
    /// Z_c: the lifting size.
    pub z: usize,
    /// i_LS: the lifting-size set index of Table 5.3.2-1.
    pub i_ls: u8,
    /// K = 22·Z (BG1) or 10·Z (BG2).
    pub k: usize,
}

impl CodeBlockShape {
    /// The shape of a block of `k_prime` bits, with `b` the B of §5.2.2
    /// (which picks K_b for BG2; pass B = K' for a lone code block).
    pub fn new(bg: BaseGraph, k_prime: usize, b: usize) -> Result<Self, SegmentationError> {
        if k_prime == 0 {
            return Err(SegmentationError::Empty);
        }
        if k_prime > max_code_block(bg) {
            return Err(SegmentationError::TooLarge { k_prime, bg });
        }
        let k_b = match bg {
            BaseGraph::Bg1 => 22,
            BaseGraph::Bg2 => match b {
                b if b > 640 => 10,
                b if b > 560 => 9,
                b if b > 192 => 8,
                _ => 6,
            },
        };
        let (z, i_ls) =
            select_lifting(bg, k_b, k_prime).ok_or(SegmentationError::TooLarge { k_prime, bg })?;
        let z = z as usize;
        let k = match bg {
            BaseGraph::Bg1 => 22 * z,
            BaseGraph::Bg2 => 10 * z,
        };
        Ok(CodeBlockShape {
            bg,
            k_prime,
            k_b,
            z,
            i_ls,
            k,
        })
    }

    /// F = K − K', the filler bits at positions [K', K) of the block.
    pub fn filler(&self) -> usize {
        self.k - self.k_prime
    }

    /// N = 66·Z (BG1) or 50·Z (BG2): the codeword after puncturing 2Z
    /// systematic bits, the circular buffer length without LBRM.
    pub fn n(&self) -> usize {
        match self.bg {
            BaseGraph::Bg1 => 66 * self.z,
            BaseGraph::Bg2 => 50 * self.z,
        }
    }

    /// The mother codeword length 68·Z (BG1) or 52·Z (BG2), first 2Z included.
    pub fn n_ldpc(&self) -> usize {
        self.n() + 2 * self.z
    }

    /// The filler positions [K' − 2Z, K − 2Z) in the circular buffer d
    /// (§5.4.2.1: d_k = c_{k+2Z}). Empty when K' < 2Z would put fillers in the
    /// punctured part: then the range is clipped at 0.
    pub fn filler_range_in_d(&self) -> std::ops::Range<usize> {
        let tz = 2 * self.z;
        self.k_prime.saturating_sub(tz)..self.k.saturating_sub(tz)
    }
}

/// The segmentation of one transport block (§7.2.1, §7.2.2, §5.2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Segmentation {
    /// A: transport block size.
    pub tbs: usize,
    /// The TB CRC (CRC24A or CRC16).
    pub tb_crc: CrcPoly,
    /// B = A + L_TB.
    pub b: usize,
    /// C: number of code blocks.
    pub num_cb: usize,
    /// L: the per-block CRC24B length, 24 when C > 1 else 0.
    pub cb_crc_len: usize,
    /// The code-block dimensions (the same for every block).
    pub shape: CodeBlockShape,
}

impl Segmentation {
    /// Segments a TB of `tbs` bits for base graph `bg`.
    pub fn new(tbs: usize, bg: BaseGraph) -> Result<Self, SegmentationError> {
        if tbs == 0 {
            return Err(SegmentationError::Empty);
        }
        if tbs > MAX_TBS {
            return Err(SegmentationError::TbTooLarge(tbs));
        }
        let tb_crc = tb_crc_poly(tbs);
        let b = tbs + tb_crc.len();
        let k_cb = max_code_block(bg);
        let (num_cb, l) = if b <= k_cb {
            (1, 0)
        } else {
            (b.div_ceil(k_cb - 24), 24)
        };
        let b_prime = b + num_cb * l;
        if !b_prime.is_multiple_of(num_cb) {
            return Err(SegmentationError::NotDivisible { b_prime, c: num_cb });
        }
        let k_prime = b_prime / num_cb;
        let shape = CodeBlockShape::new(bg, k_prime, b)?;
        Ok(Segmentation {
            tbs,
            tb_crc,
            b,
            num_cb,
            cb_crc_len: l,
            shape,
        })
    }

    /// TB(+CRC) bits carried by each code block: K' − L.
    pub fn payload_per_cb(&self) -> usize {
        self.shape.k_prime - self.cb_crc_len
    }

    /// The CB CRC polynomial, if blocks carry one.
    pub fn cb_crc(&self) -> Option<CrcPoly> {
        (self.num_cb > 1).then_some(CrcPoly::Crc24B)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_graph_rule_edges() {
        // R = 0.67 exactly is not representable; 1372/2048 = 0.6699 <= 0.67 < 1373/2048.
        assert_eq!(select_base_graph(292, 2000), BaseGraph::Bg2);
        assert_eq!(select_base_graph(293, 2000), BaseGraph::Bg1);
        assert_eq!(select_base_graph(3824, 1372), BaseGraph::Bg2);
        assert_eq!(select_base_graph(3824, 1373), BaseGraph::Bg1);
        assert_eq!(select_base_graph(3825, 1000), BaseGraph::Bg1);
        assert_eq!(select_base_graph(100_000, 512), BaseGraph::Bg2);
        assert_eq!(select_base_graph(100_000, 513), BaseGraph::Bg1);
    }

    #[test]
    fn single_and_multi_block() {
        let s = Segmentation::new(3824, BaseGraph::Bg2).unwrap();
        assert_eq!(
            (s.b, s.num_cb, s.cb_crc_len, s.shape.k_prime),
            (3840, 1, 0, 3840)
        );
        assert_eq!((s.shape.k_b, s.shape.z, s.shape.k), (10, 384, 3840));
        let s = Segmentation::new(8424, BaseGraph::Bg1).unwrap();
        assert_eq!(
            (s.b, s.num_cb, s.shape.k_prime, s.shape.z),
            (8448, 1, 8448, 384)
        );
        let s = Segmentation::new(352440, BaseGraph::Bg1).unwrap();
        assert_eq!(
            (s.num_cb, s.shape.k_prime, s.shape.filler()),
            (42, 8416, 32)
        );
        assert!(Segmentation::new(0, BaseGraph::Bg1).is_err());
        assert!(matches!(
            Segmentation::new(8425, BaseGraph::Bg1),
            Err(SegmentationError::NotDivisible { .. })
        ));
    }
}
