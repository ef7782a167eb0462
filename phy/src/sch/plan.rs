//! What one PDU of a shared channel becomes: the data-RE layout of its
//! allocation ([`SchLayout`]) and everything derived from the PDU
//! ([`ShPlan`]: modulation, TBS, G, scrambling, the coding plan).
//!
//! - Layer mapping (TS 38.211 §6.3.1.3 / §7.3.1.3, one codeword):
//!   x^(j)(i) = d(v·i + j).
//! - RE mapping (§6.3.1.6 / §7.3.1.6, non-interleaved VRB→PRB, identity
//!   precoding: layer j on port j): over the allocated symbols in increasing
//!   l, and within each over the allocated subcarriers in increasing k,
//!   skipping the DM-RS REs and, on DM-RS symbols, the REs of every CDM group
//!   without data. PT-RS, CSI-RS and reserved resources are not modelled.

use super::ShError;
use crate::coding::tb::{TbConfig, TbPlan};
use crate::coding::tbs::{mcs, transport_block_size, McsTable, TbScaling, TbsParams};
use crate::grid::ResourceGrid;
use crate::modulation::Modulation;
use crate::pdu::PduError;
use crate::refsig::dmrs::{data_mask_in_prb, DmrsError, DmrsLink, DmrsParams, MappingType};
use num_complex::Complex32;
use std::ops::Range;

/// The data REs of one allocation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SchLayout {
    /// The DM-RS of the allocation (ports, symbols, PRBs, sequence identity).
    pub dmrs: DmrsParams,
    /// First allocated symbol.
    pub start_symbol: usize,
    /// Allocated symbols.
    pub n_symbols: usize,
    /// Data subcarriers of a PRB on DM-RS symbols.
    dmrs_data_mask: [bool; 12],
    /// Data REs per layer on each symbol.
    re_per_symbol: [usize; 14],
    /// Data REs per layer in the slot.
    pub n_re: usize,
}

impl SchLayout {
    /// The layout of the allocation described by `dmrs`, on symbols
    /// `start_symbol..start_symbol+n_symbols`.
    pub fn new(dmrs: DmrsParams, start_symbol: usize, n_symbols: usize) -> Self {
        let mask = data_mask_in_prb(dmrs.config_type, dmrs.cdm_groups_without_data);
        let per_prb_dmrs = mask.iter().filter(|&&m| m).count();
        let mut re = [0usize; 14];
        for (l, r) in re.iter_mut().enumerate().skip(start_symbol).take(n_symbols) {
            *r = if dmrs.symbols.contains(l) {
                per_prb_dmrs * dmrs.n_prb
            } else {
                12 * dmrs.n_prb
            };
        }
        SchLayout {
            dmrs,
            start_symbol,
            n_symbols,
            dmrs_data_mask: mask,
            re_per_symbol: re,
            n_re: re.iter().sum(),
        }
    }

    /// Layers v.
    pub fn layers(&self) -> usize {
        self.dmrs.n_ports
    }

    /// Allocated subcarriers 12·n_PRB.
    pub fn n_sc(&self) -> usize {
        12 * self.dmrs.n_prb
    }

    /// First subcarrier of the allocation in the carrier grid.
    pub fn first_sc(&self) -> usize {
        12 * self.dmrs.prb_start
    }

    /// Data REs per layer on symbol `l`.
    pub fn res_on_symbol(&self, l: usize) -> usize {
        self.re_per_symbol.get(l).copied().unwrap_or(0)
    }

    /// Whether every allocated subcarrier of symbol `l` carries data.
    pub fn is_full(&self, l: usize) -> bool {
        self.res_on_symbol(l) == self.n_sc()
    }

    /// Coded bits G = n_RE·Q_m·v.
    pub fn g(&self, qm: usize) -> usize {
        self.n_re * qm * self.layers()
    }

    /// N_DMRS^PRB of TS 38.214 §5.1.3.2 / §6.1.4.2: DM-RS REs per PRB over the
    /// allocation, CDM groups without data included.
    pub fn n_dmrs_prb(&self) -> usize {
        let per_sym = 12 - self.dmrs_data_mask.iter().filter(|&&m| m).count();
        per_sym * self.dmrs.symbols.iter().count()
    }

    /// Calls `f(k)` for each data subcarrier k (relative to the allocation)
    /// of symbol `l`, in increasing order.
    #[inline]
    pub fn for_each_data_sc(&self, l: usize, mut f: impl FnMut(usize)) {
        if self.res_on_symbol(l) == 0 {
            return;
        }
        if self.is_full(l) {
            (0..self.n_sc()).for_each(f);
        } else {
            for prb in 0..self.dmrs.n_prb {
                for (i, &m) in self.dmrs_data_mask.iter().enumerate() {
                    if m {
                        f(12 * prb + i);
                    }
                }
            }
        }
    }

    /// Data REs per layer on the allocation's symbols before `l`: layer
    /// mapping puts symbol `l`'s first RE at codeword symbol `v` times this.
    pub fn res_before(&self, l: usize) -> usize {
        self.re_per_symbol[..l.min(14)].iter().sum()
    }

    /// Layer mapping and RE mapping of codeword symbols `d` (n_RE·v of them)
    /// onto ports 0..v of `grid` (whole-carrier symbols).
    pub fn map_data(&self, d: &[Complex32], grid: &mut ResourceGrid) {
        let symbols = grid.symbols();
        with_port_views(grid, |ports| self.map_data_symbols(d, 0..symbols, ports));
    }

    /// [`SchLayout::map_data`] for slot symbols `symbols` only: `d` holds
    /// their codeword symbols (v·Σ n_RE(l) of them, from codeword symbol
    /// v·[`SchLayout::res_before`]`(symbols.start)`), and `ports[j]` is port
    /// j's part of the grid for those symbols (symbol-major, whole-carrier
    /// symbols). Mapping a slot in blocks of symbols writes what mapping it
    /// whole writes.
    pub fn map_data_symbols(
        &self,
        d: &[Complex32],
        symbols: std::ops::Range<usize>,
        ports: &mut [&mut [Complex32]],
    ) {
        let v = self.layers();
        let base = self.first_sc();
        let n_sc = ports.first().map_or(0, |p| p.len() / symbols.len().max(1));
        let mut i = 0usize;
        for l in symbols.clone() {
            let n = self.res_on_symbol(l);
            if n == 0 {
                continue;
            }
            let o = (l - symbols.start) * n_sc;
            for (j, port) in ports.iter_mut().enumerate().take(v) {
                let sym = &mut port[o + base..o + n_sc];
                let mut r = 0;
                self.for_each_data_sc(l, |k| {
                    sym[k] = d[v * (i + r) + j];
                    r += 1;
                });
            }
            i += n;
        }
    }

    /// Writes the DM-RS of every layer into ports 0..v of `grid`; `seq` is
    /// scratch of `dmrs.seq_len()` values.
    pub fn map_dmrs(&self, grid: &mut ResourceGrid, seq: &mut [Complex32]) {
        let symbols = grid.symbols();
        with_port_views(grid, |ports| self.map_dmrs_symbols(0..symbols, ports, seq));
    }

    /// [`SchLayout::map_dmrs`] for slot symbols `symbols` only, into port
    /// views as [`SchLayout::map_data_symbols`] takes them.
    pub fn map_dmrs_symbols(
        &self,
        symbols: std::ops::Range<usize>,
        ports: &mut [&mut [Complex32]],
        seq: &mut [Complex32],
    ) {
        let n_sc = ports.first().map_or(0, |p| p.len() / symbols.len().max(1));
        for (j, port) in ports.iter_mut().enumerate().take(self.layers()) {
            for (l, _, lp) in self.dmrs.symbols.iter() {
                if symbols.contains(&l) {
                    let o = (l - symbols.start) * n_sc;
                    self.dmrs.map_layer(j, l, lp, &mut port[o..o + n_sc], seq);
                }
            }
        }
    }
}

/// Calls `f` with mutable views of every port of `grid` (at most 8 ports: the
/// layers of the shared channels).
fn with_port_views(grid: &mut ResourceGrid, f: impl FnOnce(&mut [&mut [Complex32]])) {
    let mut views: [&mut [Complex32]; 8] = Default::default();
    let mut n = 0;
    for (v, p) in views.iter_mut().zip(grid.ports_mut()) {
        *v = p;
        n += 1;
    }
    f(&mut views[..n]);
}

/// Everything derived from one PDU: layout, modulation, sizes, scrambling.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ShPlan {
    /// The data REs and DM-RS.
    pub layout: SchLayout,
    /// Modulation.
    pub modulation: Modulation,
    /// Q_m.
    pub qm: usize,
    /// Target code rate R·2048.
    pub r_x2048: u32,
    /// Transport block size A.
    pub tbs: usize,
    /// Coded bits G.
    pub g: usize,
    /// Scrambling c_init.
    pub c_init: u32,
    /// Redundancy version.
    pub rv: u8,
    /// New data (clears the HARQ soft buffer).
    pub new_data: bool,
    /// The NDI bit: with (RNTI, HARQ id) the identity of the TB.
    pub ndi: bool,
    /// HARQ process.
    pub harq_id: u8,
    /// The RNTI (with `harq_id`, the key of the HARQ soft buffer).
    pub rnti: u16,
    /// The transport-block coding plan (segmentation, E_r, N_cb).
    pub tb: TbPlan,
}

/// The common fields of a PUSCH or PDSCH request, as a link fills them in
/// from its PDU.
pub(crate) struct ShRequest<'a> {
    pub link: DmrsLink,
    pub mapping: MappingType,
    pub dmrs: &'a crate::pdu::DmrsConfig,
    pub slot: u32,
    pub start_symbol: u8,
    pub n_symbols: u8,
    pub prb_start: u16,
    pub n_prb: u16,
    pub table: Option<McsTable>,
    pub mcs_table: u8,
    pub mcs_index: u8,
    pub num_layers: u8,
    pub c_init: u32,
    pub rv: u8,
    pub new_data: bool,
    pub ndi: bool,
    pub harq_id: u8,
    pub rnti: u16,
}

impl ShPlan {
    /// The allocation's PRBs.
    pub fn prbs(&self) -> Range<usize> {
        let d = &self.layout.dmrs;
        d.prb_start..d.prb_start + d.n_prb
    }

    /// The allocation's OFDM symbols.
    pub fn symbols(&self) -> Range<usize> {
        self.layout.start_symbol..self.layout.start_symbol + self.layout.n_symbols
    }

    /// Codeword symbols n_RE·v (= G / Q_m).
    pub fn codeword_symbols(&self) -> usize {
        self.g / self.qm
    }

    /// The codeword symbols of the allocated symbols among slot symbols
    /// `symbols`: layer mapping puts them at `v·res_before(l)..`, so a
    /// block of symbols is one range.
    pub fn codeword_range(&self, symbols: Range<usize>) -> Range<usize> {
        let v = self.layout.layers();
        let (a, b) = (
            symbols.start.min(14),
            symbols.end.clamp(symbols.start.min(14), 14),
        );
        v * self.layout.res_before(a)..v * self.layout.res_before(b)
    }

    /// Chunks of [`DEMAP_CHUNK`](super::DEMAP_CHUNK) codeword symbols the
    /// codeword is demapped in.
    pub fn demap_chunks(&self) -> usize {
        self.codeword_symbols().div_ceil(super::DEMAP_CHUNK)
    }

    /// The codeword symbols of demapping chunk `c` (its LLRs are Q_m times
    /// these).
    pub fn demap_chunk(&self, c: usize) -> Range<usize> {
        let n = self.codeword_symbols();
        (c * super::DEMAP_CHUNK).min(n)..((c + 1) * super::DEMAP_CHUNK).min(n)
    }

    /// Whether the two allocations share an RE (PRBs and symbols intersect):
    /// then the second adds to the first on the antennas (MU-MIMO).
    pub fn overlaps(&self, other: &ShPlan) -> bool {
        let (a, b) = (self.prbs(), other.prbs());
        let (s, t) = (self.symbols(), other.symbols());
        a.start < b.end && b.start < a.end && s.start < t.end && t.start < s.end
    }

    /// The plan of a request a link has validated and filled in (see
    /// [`SharedChannel::plan`](super::SharedChannel::plan)).
    pub(crate) fn from_request(r: &ShRequest<'_>) -> Result<Self, ShError> {
        let dmrs = DmrsParams::new(
            r.link,
            r.mapping,
            r.dmrs,
            r.slot,
            r.start_symbol,
            r.n_symbols,
            r.prb_start as usize,
            r.n_prb as usize,
        )?;
        let layout = SchLayout::new(dmrs, r.start_symbol as usize, r.n_symbols as usize);
        if layout.n_re == 0 {
            return Err(ShError::Dmrs(DmrsError::NoPosition {
                mapping: r.mapping,
                ld: r.start_symbol + r.n_symbols,
                add: r.dmrs.additional_position,
                len: r.dmrs.length,
            }));
        }
        let table = r.table.ok_or(PduError::Field {
            field: "mcs_table",
            value: r.mcs_table as u32,
            allowed: "1, 2, 3",
        })?;
        let m = mcs(table, r.mcs_index, false)?;
        let info = transport_block_size(&TbsParams {
            n_prb: r.n_prb as u32,
            n_symb_sh: r.n_symbols,
            n_dmrs_prb: layout.n_dmrs_prb() as u32,
            n_oh: 0,
            num_layers: r.num_layers,
            mcs: m,
            scaling: TbScaling::One,
        })?;
        let qm = m.qm as usize;
        let modulation = Modulation::from_qm(qm, false).ok_or(PduError::Field {
            field: "mcs_index",
            value: r.mcs_index as u32,
            allowed: "an index with QPSK or higher (no transform precoding)",
        })?;
        let g = layout.g(qm);
        let tb = TbPlan::new(TbConfig {
            tbs: info.tbs as usize,
            r_x2048: m.r_x2048,
            qm: qm as u8,
            num_layers: r.num_layers,
            g,
            tbs_lbrm: None,
        })
        .map_err(|e| ShError::Coding(e.to_string()))?;
        Ok(ShPlan {
            layout,
            modulation,
            qm,
            r_x2048: m.r_x2048,
            tbs: info.tbs as usize,
            g,
            c_init: r.c_init,
            rv: r.rv,
            new_data: r.new_data,
            ndi: r.ndi,
            harq_id: r.harq_id,
            rnti: r.rnti,
            tb,
        })
    }
}
