//! LDPC base graphs and lifting sizes, TS 38.212 §5.3.2.
//!
//! [`BaseGraph`] names BG1 or BG2 and gives their dimensions; [`LiftedGraph`] is a
//! base graph expanded for one lifting size Z: for each row, the list of (column,
//! shift P_ij = V_ij mod Z) pairs. Block (i, j) of the parity-check matrix H is the
//! Z x Z identity circularly shifted right by P_ij: row r of the block has its 1 in
//! column (r + P_ij) mod Z.

use super::error::LdpcError;
use super::tables;

/// One of the two LDPC base graphs of TS 38.212 §5.3.2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BaseGraph {
    /// Base graph 1 (Table 5.3.2-2): 46 x 68, K_b = 22, for large blocks and high rates.
    Bg1,
    /// Base graph 2 (Table 5.3.2-3): 42 x 52, K_b <= 10, for small blocks and low rates.
    Bg2,
}

impl BaseGraph {
    /// The largest K_b: 22 (BG1) or 10 (BG2).
    pub const fn kb_max(self) -> usize {
        match self {
            BaseGraph::Bg1 => 22,
            BaseGraph::Bg2 => 10,
        }
    }

    /// Systematic columns of H: 22 (BG1) or 10 (BG2), so K = sys_cols * Z.
    pub const fn sys_cols(self) -> usize {
        self.kb_max()
    }

    /// Columns of the base matrix: 68 (BG1) or 52 (BG2).
    pub const fn cols(self) -> usize {
        match self {
            BaseGraph::Bg1 => 68,
            BaseGraph::Bg2 => 52,
        }
    }

    /// Rows of the base matrix: 46 (BG1) or 42 (BG2).
    pub const fn rows(self) -> usize {
        match self {
            BaseGraph::Bg1 => 46,
            BaseGraph::Bg2 => 42,
        }
    }

    /// K = 22Z or 10Z: encoder input length, fillers included.
    pub const fn info_len(self, z: usize) -> usize {
        self.sys_cols() * z
    }

    /// N_ldpc = 68Z or 52Z: the whole mother codeword, punctured columns included.
    pub const fn codeword_len(self, z: usize) -> usize {
        self.cols() * z
    }

    /// N = 66Z or 50Z: the circular buffer d, without the 2Z punctured bits (§5.4.2.1).
    pub const fn buffer_len(self, z: usize) -> usize {
        (self.cols() - 2) * z
    }

    /// 1 or 2.
    pub const fn number(self) -> u8 {
        match self {
            BaseGraph::Bg1 => 1,
            BaseGraph::Bg2 => 2,
        }
    }

    /// The non-zero entries (row, column, V_ij for i_LS 0..7) of the base matrix,
    /// row by row.
    pub(crate) fn entries(self) -> &'static [tables::Entry] {
        match self {
            BaseGraph::Bg1 => &tables::BG1,
            BaseGraph::Bg2 => &tables::BG2,
        }
    }

    /// Number of non-zero entries: 316 (BG1) or 197 (BG2).
    pub fn num_entries(self) -> usize {
        self.entries().len()
    }
}

/// The 51 lifting sizes Z of Table 5.3.2-1, increasing.
pub const LIFTING_SIZES: [u16; 51] = [
    2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 18, 20, 22, 24, 26, 28, 30, 32, 36, 40, 44,
    48, 52, 56, 60, 64, 72, 80, 88, 96, 104, 112, 120, 128, 144, 160, 176, 192, 208, 224, 240, 256,
    288, 320, 352, 384,
];

/// The set index i_LS of Table 5.3.2-1 holding `z`, or `None` when `z` is not a
/// lifting size. Set i_LS holds a * 2^j for a = 2, 3, 5, 7, 9, 11, 13, 15.
pub fn lifting_set_index(z: u16) -> Option<u8> {
    if !(2..=384).contains(&z) {
        return None;
    }
    let a = z >> z.trailing_zeros();
    // a == 1 means z is a power of two: set 0 (a = 2).
    let i_ls = match a {
        1 => 0,
        3 => 1,
        5 => 2,
        7 => 3,
        9 => 4,
        11 => 5,
        13 => 6,
        15 => 7,
        _ => return None,
    };
    // Table 5.3.2-1 stops at 384 per set; the checks above already bound z.
    Some(i_ls)
}

/// The smallest Z of Table 5.3.2-1 with K_b * Z >= K', and its i_LS (§5.2.2).
/// `None` when no lifting size is large enough or `k_b` is not valid for `bg`
/// (22 for BG1; 6, 8, 9 or 10 for BG2).
pub fn select_lifting(bg: BaseGraph, k_b: usize, k_prime: usize) -> Option<(u16, u8)> {
    let kb_ok = match bg {
        BaseGraph::Bg1 => k_b == 22,
        BaseGraph::Bg2 => matches!(k_b, 6 | 8 | 9 | 10),
    };
    if !kb_ok {
        return None;
    }
    let z = *LIFTING_SIZES
        .iter()
        .find(|&&z| k_b * z as usize >= k_prime)?;
    Some((z, lifting_set_index(z)?))
}

/// One edge block of a lifted graph: base column and shift P = V mod Z.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Edge {
    /// Base-graph column j.
    pub col: u16,
    /// Circular shift P_ij in 0..Z.
    pub shift: u16,
}

/// A base graph lifted to one Z: rows of (column, shift) edges. Built once.
#[derive(Debug, Clone)]
pub struct LiftedGraph {
    bg: BaseGraph,
    z: usize,
    i_ls: u8,
    edges: Vec<Edge>,
    /// Row i spans `edges[row_start[i]..row_start[i + 1]]`.
    row_start: Vec<usize>,
}

impl LiftedGraph {
    /// Lifts `bg` to `z` (a value of Table 5.3.2-1).
    pub fn new(bg: BaseGraph, z: u16) -> Result<Self, LdpcError> {
        let i_ls = lifting_set_index(z).ok_or(LdpcError::LiftingSize(z))?;
        let zu = z as usize;
        let mut edges = Vec::with_capacity(bg.num_entries());
        let mut row_start = vec![0usize; bg.rows() + 1];
        for &(row, col, v) in bg.entries() {
            edges.push(Edge {
                col: col as u16,
                shift: (v[i_ls as usize] as usize % zu) as u16,
            });
            row_start[row as usize + 1] = edges.len();
        }
        Ok(LiftedGraph {
            bg,
            z: zu,
            i_ls,
            edges,
            row_start,
        })
    }

    /// The base graph.
    pub fn base_graph(&self) -> BaseGraph {
        self.bg
    }

    /// The lifting size Z.
    pub fn z(&self) -> usize {
        self.z
    }

    /// The lifting set index i_LS.
    pub fn i_ls(&self) -> u8 {
        self.i_ls
    }

    /// The edges of base row `i` (columns increasing).
    pub fn row(&self, i: usize) -> &[Edge] {
        &self.edges[self.row_start[i]..self.row_start[i + 1]]
    }

    /// Index of the first edge of row `i` in the flat edge list.
    pub fn row_offset(&self, i: usize) -> usize {
        self.row_start[i]
    }

    /// True when the unpacked codeword `c` (N_ldpc = cols * Z bits) satisfies
    /// H c = 0. A straightforward reference, not a fast path.
    pub fn syndrome_is_zero(&self, c: &[u8]) -> bool {
        let z = self.z;
        if c.len() != self.bg.codeword_len(z) {
            return false;
        }
        (0..self.bg.rows()).all(|i| {
            (0..z).all(|r| {
                self.row(i).iter().fold(0u8, |acc, e| {
                    acc ^ (c[e.col as usize * z + (r + e.shift as usize) % z] & 1)
                }) == 0
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifting_set_index_matches_table_5_3_2_1() {
        let sets: [&[u16]; 8] = [
            &[2, 4, 8, 16, 32, 64, 128, 256],
            &[3, 6, 12, 24, 48, 96, 192, 384],
            &[5, 10, 20, 40, 80, 160, 320],
            &[7, 14, 28, 56, 112, 224],
            &[9, 18, 36, 72, 144, 288],
            &[11, 22, 44, 88, 176, 352],
            &[13, 26, 52, 104, 208],
            &[15, 30, 60, 120, 240],
        ];
        let mut all: Vec<u16> = Vec::new();
        for (i, s) in sets.iter().enumerate() {
            for &z in s.iter() {
                assert_eq!(lifting_set_index(z), Some(i as u8), "z = {z}");
                all.push(z);
            }
        }
        all.sort();
        assert_eq!(all, LIFTING_SIZES.to_vec());
        for z in 0..600u16 {
            if !LIFTING_SIZES.contains(&z) {
                assert_eq!(lifting_set_index(z), None, "z = {z}");
            }
        }
    }

    #[test]
    fn select_lifting_takes_the_smallest_fitting_z() {
        assert_eq!(select_lifting(BaseGraph::Bg1, 22, 8448), Some((384, 1)));
        assert_eq!(select_lifting(BaseGraph::Bg1, 22, 8449), None);
        assert_eq!(select_lifting(BaseGraph::Bg1, 22, 23), Some((2, 0)));
        assert_eq!(select_lifting(BaseGraph::Bg1, 22, 45), Some((3, 1)));
        assert_eq!(select_lifting(BaseGraph::Bg2, 6, 40), Some((7, 3)));
        assert_eq!(select_lifting(BaseGraph::Bg2, 10, 3840), Some((384, 1)));
        assert_eq!(select_lifting(BaseGraph::Bg2, 7, 100), None);
        assert_eq!(select_lifting(BaseGraph::Bg1, 10, 100), None);
    }
}
