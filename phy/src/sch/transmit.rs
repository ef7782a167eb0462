//! The shared-channel transmitter: TB → coded bits → grid → time samples
//! (TS 38.211 §6.3.1 / §7.3.1; TS 38.212 §6.2 / §7.2). Scrambling,
//! modulation, layer mapping, identity or per-PRG precoding, RE mapping and
//! DM-RS ([`ShSymbolMapper`], per block of symbols), and the whole chain
//! ([`ShTransmitter`]).

use super::{qm_slot, ShError, ShPlan, SharedChannel, QMS};
use crate::coding::scrambling::scramble_bits_at;
use crate::coding::tb::TbEncoder;
use crate::grid::ResourceGrid;
use crate::mimo::PrgPrecoder;
use crate::modulation::{Mapper, Modulation};
use crate::numerology::Numerology;
use crate::ofdm::{OfdmModulator, OfdmOptions};
use crate::simd::SimdLevel;
use num_complex::Complex32;
use std::ops::Range;

/// Scrambling, modulation, layer mapping, RE mapping and DM-RS of a shared
/// channel's coded bits into a grid, one block of OFDM symbols at a time,
/// with its own scratch: the mapping stage of [`ShTransmitter`]
/// ([`ShTransmitter::map`] runs it over the whole slot), which a pipeline
/// runs per block of symbols on several workers at once.
pub struct ShSymbolMapper {
    n_sc: usize,
    max_layers: usize,
    mappers: Vec<Mapper>,
    bits: Vec<u8>,
    d: Vec<Complex32>,
    seq: Vec<Complex32>,
    /// Layers x symbols x subcarriers: the layers of a precoded (or
    /// overlapping) shared channel before they are added to the antennas.
    layers: Vec<Complex32>,
}

impl ShSymbolMapper {
    /// Scratch for carrier `num` and up to `max_layers` layers.
    pub fn new(num: &Numerology, max_layers: usize) -> Self {
        let n_sc = num.n_sc();
        ShSymbolMapper {
            n_sc,
            mappers: QMS
                .iter()
                .map(|&q| Mapper::new(Modulation::from_qm(q, false).unwrap_or(Modulation::Qpsk)))
                .collect(),
            bits: vec![0; 14 * n_sc * max_layers * 10],
            d: vec![Complex32::default(); 14 * n_sc * max_layers],
            seq: vec![Complex32::default(); 6 * num.n_prb() as usize],
            max_layers,
            layers: vec![Complex32::default(); 14 * n_sc * max_layers],
        }
    }

    /// Maps slot symbols `symbols` of `plan` from `coded` (all G coded bits,
    /// before scrambling) into `ports`: `ports[j]` is port j's part of the
    /// grid for those symbols (symbol-major, whole-carrier symbols), for
    /// every layer j. Only the allocation's REs are written; the symbols'
    /// other REs keep what they had. The symbols' bits are scrambled as
    /// their part of the whole codeword (TS 38.211 §6.3.1.1 / §7.3.1.1), so
    /// mapping a slot in blocks writes exactly what mapping it whole writes.
    pub fn map_symbols(
        &mut self,
        plan: &ShPlan,
        coded: &[u8],
        symbols: std::ops::Range<usize>,
        ports: &mut [&mut [Complex32]],
    ) -> Result<(), ShError> {
        if coded.len() != plan.g {
            return Err(ShError::Size(format!(
                "{} coded bits, G is {}",
                coded.len(),
                plan.g
            )));
        }
        let lay = &plan.layout;
        let v = lay.layers();
        let span = symbols.end.saturating_sub(symbols.start);
        let want = span * self.n_sc;
        if symbols.end > 14 || ports.len() < v || ports.iter().any(|p| p.len() != want) {
            return Err(ShError::Size(format!(
                "symbols {symbols:?} into {} port views (need {v} of {want} REs)",
                ports.len()
            )));
        }
        let (i0, i1) = (lay.res_before(symbols.start), lay.res_before(symbols.end));
        let (b0, b1) = (plan.qm * v * i0, plan.qm * v * i1);
        let n_sym = v * (i1 - i0);
        if b1 - b0 > self.bits.len() || n_sym > self.d.len() {
            return Err(ShError::Size(format!(
                "{} coded bits exceed the mapper's {}",
                b1 - b0,
                self.bits.len()
            )));
        }
        let bits = &mut self.bits[..b1 - b0];
        bits.copy_from_slice(&coded[b0..b1]);
        scramble_bits_at(plan.c_init, b0, bits);
        self.mappers[qm_slot(plan.qm)]
            .map(bits, &mut self.d[..n_sym])
            .map_err(|e| ShError::Coding(e.to_string()))?;
        lay.map_data_symbols(&self.d[..n_sym], symbols.clone(), ports);
        lay.map_dmrs_symbols(symbols, ports, &mut self.seq);
        Ok(())
    }

    /// Maps symbols `symbols` of `plan` as [`ShSymbolMapper::map_symbols`]
    /// does, onto antennas: `antennas[a]` is antenna a's part of the grid for
    /// those symbols. The shared channel's contribution is
    /// - without `precoding` and with `add` false, its layers written in
    ///   place, layer j on antenna j (what `map_symbols` does: the REs were
    ///   clear);
    /// - without `precoding` and with `add`, layer j added to antenna j;
    /// - with `precoding`, `W x` added to every antenna, `W` the matrix of
    ///   each RE's PRG (TS 38.211 §7.3.1.5; TS 38.214 §5.1.2.3), over every
    ///   RE of the allocation: data and DM-RS alike, so the UE estimates the
    ///   precoded channel (§7.4.1.1.2), and the REs a layer leaves empty (the
    ///   other CDM groups' DM-RS) add nothing.
    ///
    /// Adding is how co-scheduled (MU-MIMO) channels on the same REs sum.
    /// `precoding` has been checked against the plan
    /// ([`PrgPrecoder::check`]); `antennas` are then its `n_tx` antennas.
    #[allow(clippy::too_many_arguments)]
    pub fn map_precoded(
        &mut self,
        plan: &ShPlan,
        coded: &[u8],
        symbols: Range<usize>,
        precoding: Option<&PrgPrecoder>,
        add: bool,
        level: SimdLevel,
        antennas: &mut [&mut [Complex32]],
    ) -> Result<(), ShError> {
        if precoding.is_none() && !add {
            return self.map_symbols(plan, coded, symbols, antennas);
        }
        let v = plan.layout.layers();
        let n_sc = self.n_sc;
        let want = symbols.end.saturating_sub(symbols.start) * n_sc;
        if v > self.max_layers.min(8) || v * want > self.layers.len() || antennas.len() < v {
            return Err(ShError::Size(format!(
                "{v} layers of {want} REs onto {} antennas (mapper of {} layers)",
                antennas.len(),
                self.max_layers
            )));
        }
        // The allocated symbols among `symbols`, as rows of the views.
        let alloc = plan.symbols();
        let rows = alloc.start.max(symbols.start).saturating_sub(symbols.start)
            ..alloc.end.min(symbols.end).saturating_sub(symbols.start);
        let sc = 12 * plan.layout.dmrs.prb_start
            ..12 * (plan.layout.dmrs.prb_start + plan.layout.dmrs.n_prb);
        let mut scratch = std::mem::take(&mut self.layers);
        let mut views: [&mut [Complex32]; 8] = Default::default();
        for (view, chunk) in views.iter_mut().zip(scratch.chunks_exact_mut(want)).take(v) {
            // The mapper writes data and its layer's DM-RS only: clear the
            // rest, on the symbols without data on every subcarrier (DM-RS).
            for r in rows.clone() {
                if !plan.layout.is_full(symbols.start + r) {
                    chunk[r * n_sc + sc.start..r * n_sc + sc.end].fill(Complex32::default());
                }
            }
            *view = chunk;
        }
        let mapped = self.map_symbols(plan, coded, symbols, &mut views[..v]);
        let r = mapped.and_then(|()| {
            let mut xs: [&[Complex32]; 8] = Default::default();
            for (x, view) in xs.iter_mut().zip(views.iter()) {
                *x = view;
            }
            match precoding {
                Some(p) => p
                    .apply_add(level, &xs[..v], n_sc, rows.clone(), plan.prbs(), antennas)
                    .map_err(ShError::from),
                None => {
                    for (ant, x) in antennas.iter_mut().zip(&xs[..v]) {
                        for r in rows.clone() {
                            let re = r * n_sc + sc.start..r * n_sc + sc.end;
                            for (o, i) in ant[re.clone()].iter_mut().zip(&x[re]) {
                                *o += *i;
                            }
                        }
                    }
                    Ok(())
                }
            }
        });
        self.layers = scratch;
        r
    }

    /// The scrambled bits of the last [`ShSymbolMapper::map_symbols`] (its
    /// symbols' part of the codeword).
    pub fn scrambled_bits(&self, len: usize) -> &[u8] {
        &self.bits[..len.min(self.bits.len())]
    }
}

/// Shared-channel transmitter: TB → coded bits → grid → time samples.
/// `pusch::PuschTransmitter` is the UE side of the PUSCH (tests, the link
/// simulator, conformance); `pdsch::PdschTransmitter` the gNB side of the PDSCH.
///
/// Its stages ([`ShTransmitter::encode`], [`ShTransmitter::map`],
/// [`ShTransmitter::modulate`]) are made of pieces a pipeline can run in
/// parallel: [`TbEncoder::encode_blocks`] per group of code blocks,
/// [`ShSymbolMapper::map_symbols`] per block of symbols and
/// [`OfdmModulator::modulate_symbol`] per antenna and symbol.
///
/// Its grid has one port per antenna. Without a precoder layer j goes to
/// antenna j; with one ([`ShTransmitter::transmit_precoded`], a
/// [`PrgPrecoder`] per channel) every antenna carries `W x` per PRG. The
/// grid is the sum of the slot's channels' contributions: channels on the
/// same REs (MU-MIMO, on different DM-RS ports) add up.
pub struct ShTransmitter<L: SharedChannel> {
    _link: std::marker::PhantomData<L>,
    num: Numerology,
    max_layers: usize,
    level: SimdLevel,
    mods: Vec<OfdmModulator>,
    grid: ResourceGrid,
    mapper: ShSymbolMapper,
    encoder: TbEncoder,
    coded: Vec<u8>,
    /// The channels in the grid since it was cleared (up to its capacity;
    /// beyond, every later channel is taken to overlap, which only costs time).
    added: Vec<ShPlan>,
    added_all: bool,
}

/// Channels a transmitter remembers per slot to tell overlapping ones.
const ADDED_CAPACITY: usize = 32;

impl<L: SharedChannel> ShTransmitter<L> {
    /// A transmitter for the carrier `num` with `max_layers` antennas
    /// (1..=64; grid ports), sending up to `min(max_layers, 8)` layers.
    pub fn new(num: Numerology, max_layers: usize, ofdm: OfdmOptions) -> Result<Self, ShError> {
        if !(1..=crate::mimo::prg::MAX_PRECODER_ANTENNAS).contains(&max_layers) {
            return Err(ShError::Size(format!(
                "{max_layers} transmit antennas (1..=64)"
            )));
        }
        let n_sc = num.n_sc();
        let layers = max_layers.min(8);
        let max_g = 14 * n_sc * layers * 10;
        Ok(ShTransmitter {
            _link: std::marker::PhantomData,
            num,
            max_layers,
            level: SimdLevel::detect(),
            mods: (0..max_layers)
                .map(|_| OfdmModulator::new(num, ofdm))
                .collect::<Result<_, _>>()?,
            grid: ResourceGrid::new(max_layers, num.symbols_per_slot(), n_sc),
            mapper: ShSymbolMapper::new(&num, layers),
            encoder: TbEncoder::new(),
            coded: vec![0; max_g],
            added: Vec::with_capacity(ADDED_CAPACITY),
            added_all: false,
        })
    }

    /// The carrier.
    pub fn numerology(&self) -> &Numerology {
        &self.num
    }

    /// Largest number of layers (the grid's ports).
    pub fn max_layers(&self) -> usize {
        self.max_layers
    }

    /// Antennas (the grid's ports, the `n_tx` of a precoder).
    pub fn n_tx(&self) -> usize {
        self.grid.ports()
    }

    fn clear_grid(&mut self) {
        self.grid.clear();
        self.added.clear();
        self.added_all = false;
    }

    /// The plan of `pdu` on this carrier.
    pub fn plan(&self, pdu: &L::Pdu) -> Result<ShPlan, ShError> {
        L::plan(pdu, self.num.n_prb(), self.max_layers as u16)
    }

    /// Stage: channel coding of transport block `tb` (A bits) into the G
    /// coded bits (before scrambling), returned.
    pub fn encode(&mut self, plan: &ShPlan, tb: &[u8]) -> Result<&[u8], ShError> {
        if tb.len() != plan.tbs {
            return Err(ShError::Size(format!(
                "transport block of {} bits, the PDU's TBS is {}",
                tb.len(),
                plan.tbs
            )));
        }
        let out = &mut self.coded[..plan.g];
        self.encoder
            .encode(&plan.tb, tb, plan.rv, out)
            .map_err(|e| ShError::Coding(e.to_string()))?;
        Ok(&self.coded[..plan.g])
    }

    /// Stage: scrambling, modulation, layer mapping, RE mapping and DM-RS of
    /// `coded` (G bits before scrambling) into the transmit grid (ports =
    /// layers), which is cleared first and returned. The scrambled bits are
    /// kept ([`ShTransmitter::scrambled_bits`]).
    pub fn map(&mut self, plan: &ShPlan, coded: &[u8]) -> Result<&ResourceGrid, ShError> {
        self.clear_grid();
        self.map_add(plan, coded)?;
        Ok(&self.grid)
    }

    /// As [`ShTransmitter::map`] without clearing the grid first: adds
    /// another shared channel of the slot to what the grid holds (on the
    /// same REs, the two add up).
    pub fn map_add(&mut self, plan: &ShPlan, coded: &[u8]) -> Result<(), ShError> {
        self.map_add_precoded(plan, coded, None)
    }

    /// As [`ShTransmitter::map_add`] with the channel's layers precoded onto
    /// every antenna by `precoding` (`None`: layer j on antenna j), which is
    /// checked against the plan and the transmitter's antennas first.
    pub fn map_add_precoded(
        &mut self,
        plan: &ShPlan,
        coded: &[u8],
        precoding: Option<&PrgPrecoder>,
    ) -> Result<(), ShError> {
        if let Some(p) = precoding {
            p.check(self.grid.ports(), plan.layout.layers(), plan.prbs())?;
        }
        // Onto clear REs a channel without precoder is written in place;
        // where an earlier one lies it is added.
        let add = self.added_all || self.added.iter().any(|a| a.overlaps(plan));
        if self.added.len() < ADDED_CAPACITY {
            self.added.push(*plan);
        } else {
            self.added_all = true;
        }
        let symbols = self.grid.symbols();
        let mut views: [&mut [Complex32]; crate::mimo::prg::MAX_PRECODER_ANTENNAS] =
            std::array::from_fn(|_| Default::default());
        let mut n = 0;
        for (v, p) in views.iter_mut().zip(self.grid.ports_mut()) {
            *v = p;
            n += 1;
        }
        self.mapper.map_precoded(
            plan,
            coded,
            0..symbols,
            precoding,
            add,
            self.level,
            &mut views[..n],
        )
    }

    /// The scrambled bits of the last [`ShTransmitter::map`] (the modulator input).
    pub fn scrambled_bits(&self, plan: &ShPlan) -> &[u8] {
        self.mapper.scrambled_bits(plan.g)
    }

    /// TB → grid: [`ShTransmitter::encode`] then [`ShTransmitter::map`].
    pub fn transmit(
        &mut self,
        pdu: &L::Pdu,
        tb: &[u8],
    ) -> Result<(ShPlan, &ResourceGrid), ShError> {
        self.transmit_precoded(pdu, tb, None)
    }

    /// As [`ShTransmitter::transmit`] with the layers precoded per PRG onto
    /// every antenna ([`ShTransmitter::map_add_precoded`]).
    pub fn transmit_precoded(
        &mut self,
        pdu: &L::Pdu,
        tb: &[u8],
        precoding: Option<&PrgPrecoder>,
    ) -> Result<(ShPlan, &ResourceGrid), ShError> {
        self.clear_grid();
        let plan = self.transmit_add_precoded(pdu, tb, precoding)?;
        Ok((plan, &self.grid))
    }

    /// As [`ShTransmitter::transmit`] without clearing the grid first (see
    /// [`ShTransmitter::map_add`]): a slot with several shared channels is
    /// `transmit` of the first and `transmit_add` of the others.
    pub fn transmit_add(&mut self, pdu: &L::Pdu, tb: &[u8]) -> Result<ShPlan, ShError> {
        self.transmit_add_precoded(pdu, tb, None)
    }

    /// As [`ShTransmitter::transmit_add`] with a precoder
    /// ([`ShTransmitter::map_add_precoded`]).
    pub fn transmit_add_precoded(
        &mut self,
        pdu: &L::Pdu,
        tb: &[u8],
        precoding: Option<&PrgPrecoder>,
    ) -> Result<ShPlan, ShError> {
        let plan = self.plan(pdu)?;
        if let Some(p) = precoding {
            p.check(self.grid.ports(), plan.layout.layers(), plan.prbs())?;
        }
        self.encode(&plan, tb)?;
        let coded = std::mem::take(&mut self.coded);
        let r = self.map_add_precoded(&plan, &coded[..plan.g], precoding);
        self.coded = coded;
        r?;
        Ok(plan)
    }

    /// The transmit grid (ports = antennas).
    pub fn grid(&self) -> &ResourceGrid {
        &self.grid
    }

    /// Stage: CP-OFDM of the grid's first `out.len()` ports, one slot each
    /// (`numerology().slot_len(slot)` samples per port).
    pub fn modulate(&mut self, slot: u32, out: &mut [&mut [Complex32]]) -> Result<(), ShError> {
        if out.len() > self.max_layers {
            return Err(ShError::Size(format!(
                "{} output ports, built for {}",
                out.len(),
                self.max_layers
            )));
        }
        for (p, o) in out.iter_mut().enumerate() {
            self.mods[p].modulate_slot(slot, &self.grid, p, o)?;
        }
        Ok(())
    }
}
