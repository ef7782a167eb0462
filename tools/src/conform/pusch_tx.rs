//! `pusch_tx` vectors (FORMAT.md): the PUSCH transmitter reproduces the
//! scrambled coded bits and the grid, and the receiver recovers the TB with a
//! passing CRC from the noise-free grid (channel estimated from its DM-RS).

use super::util::{bits_of, compare_bits, compare_complex, field, int, string, uint};
use super::{CaseResult, Vector};
use num_complex::{Complex32, Complex64};
use ranlab_phy::grid::ResourceGrid;
use ranlab_phy::numerology::{CyclicPrefix, Numerology, Scs};
use ranlab_phy::ofdm::OfdmOptions;
use ranlab_phy::pdu::{DmrsConfig, DmrsPorts, DmrsType, PuschPdu};
use ranlab_phy::pusch::{PuschReceiver, PuschRxConfig, PuschTransmitter};

fn pdu_of(p: &serde_json::Value) -> Result<(PuschPdu, Numerology), String> {
    let d = field(p, "dmrs")?;
    let n_prb = int::<u16>(p, "n_prb")?;
    let start_bwp = match p.get("n_start_bwp") {
        Some(_) => int::<u16>(p, "n_start_bwp")?,
        None => 0,
    };
    let scs = Scs::from_khz(int::<u32>(p, "subcarrier_spacing_khz")?).map_err(|e| e.to_string())?;
    let cp = match p
        .get("cyclic_prefix")
        .and_then(|x| x.as_str())
        .unwrap_or("normal")
    {
        "normal" => CyclicPrefix::Normal,
        "extended" => CyclicPrefix::Extended,
        other => return Err(format!("cyclic_prefix `{other}`")),
    };
    if string(p, "mapping_type").unwrap_or("A") != "A" {
        return Err("only mapping type A is described by the pusch_tx format".into());
    }
    if p.get("transform_precoding")
        .and_then(|x| x.as_bool())
        .unwrap_or(false)
    {
        return Err("transform precoding is not supported".into());
    }
    let alloc = field(p, "symbol_allocation")?
        .as_array()
        .filter(|a| a.len() == 2)
        .ok_or("`symbol_allocation` is not [start, length]")?;
    let num_layers = int::<u8>(p, "num_layers")?;
    if !(1..=4).contains(&num_layers) {
        return Err(format!("num_layers {num_layers}: one codeword has 1..=4 layers").into());
    }
    let ports: Vec<u8> = field(d, "ports")?
        .as_array()
        .ok_or("`dmrs.ports` is not a list")?
        .iter()
        .map(|x| {
            x.as_u64()
                .and_then(|v| u8::try_from(v).ok())
                .ok_or("`dmrs.ports` has an entry that is not a port number")
        })
        .collect::<Result<_, _>>()?;
    let pdu = PuschPdu {
        rnti: int::<u16>(p, "n_rnti")?,
        n_id: int::<u16>(p, "data_scrambling_n_id").or_else(|_| int::<u16>(p, "n_cell_id"))?,
        slot: int::<u16>(p, "slot_number")?,
        prb_start: start_bwp,
        n_prb,
        start_symbol: alloc[0]
            .as_u64()
            .and_then(|v| u8::try_from(v).ok())
            .ok_or("`symbol_allocation[0]` is not a symbol index")?,
        n_symbols: alloc[1]
            .as_u64()
            .and_then(|v| u8::try_from(v).ok())
            .ok_or("`symbol_allocation[1]` is not a symbol count")?,
        mcs_table: int::<u8>(p, "mcs_table")?,
        mcs_index: int::<u8>(p, "mcs_index")?,
        num_layers,
        dmrs: DmrsConfig {
            config_type: if uint(d, "config_type")? == 2 {
                DmrsType::Type2
            } else {
                DmrsType::Type1
            },
            type_a_position: int::<u8>(d, "type_a_position")?,
            additional_position: int::<u8>(d, "additional_position")?,
            length: int::<u8>(d, "length")?,
            ports: DmrsPorts::new(&ports).map_err(|e| e.to_string())?,
            cdm_groups_without_data: int::<u8>(d, "num_cdm_groups_without_data")?,
            scrambling_id: int::<u16>(d, "n_id")?,
            n_scid: int::<u8>(d, "n_scid")?,
        },
        rv: match p.get("rv") {
            Some(_) => int::<u8>(p, "rv")?,
            None => 0,
        },
        harq_id: 0,
        new_data: true,
        ndi: false,
        ..Default::default()
    };
    let top = start_bwp
        .checked_add(n_prb)
        .ok_or("n_start_bwp + n_prb is out of range")?;
    let num = Numerology::new(scs, cp, top, None).map_err(|e| e.to_string())?;
    Ok((pdu, num))
}

pub fn check(v: &Vector) -> CaseResult {
    let (pdu, num) = pdu_of(&v.params)?;
    let tb = bits_of(&v.input, "input")?;
    let layers = pdu.num_layers as usize;
    // Transmit direction.
    let mut tx =
        PuschTransmitter::new(num, layers, OfdmOptions::default()).map_err(|e| e.to_string())?;
    let plan = tx.plan(&pdu).map_err(|e| e.to_string())?;
    let inter = field(&v.expected, "intermediate")?;
    super::util::compare_int("tbs", plan.tbs as u64, uint(inter, "tbs")?)?;
    super::util::compare_int("g", plan.g as u64, uint(inter, "g")?)?;
    tx.transmit(&pdu, &tb).map_err(|e| e.to_string())?;
    let want_bits = bits_of(field(&v.expected, "coded_bits")?, "coded_bits")?;
    compare_bits("coded_bits", tx.scrambled_bits(&plan), &want_bits)?;
    let grid_json = field(&v.expected, "grid")?
        .as_array()
        .ok_or("`grid` is not a list")?;
    if grid_json.len() != layers {
        return Err(format!("grid has {} ports, expected {layers}", grid_json.len()).into());
    }
    let mut rx_grid = ResourceGrid::new(layers, num.symbols_per_slot(), num.n_sc());
    for (port, pj) in grid_json.iter().enumerate() {
        let syms = pj.as_array().ok_or("grid port is not a list")?;
        for (l, sj) in syms.iter().enumerate() {
            let want = super::util::complex_list(sj, "grid symbol")?;
            if l >= num.symbols_per_slot() || want.len() != num.n_sc() {
                return Err(format!(
                    "grid[{port}][{l}] has {} subcarriers, expected {}",
                    want.len(),
                    num.n_sc()
                )
                .into());
            }
            let got: Vec<Complex64> = tx
                .grid()
                .symbol(port, l)
                .iter()
                .map(|c| Complex64::new(c.re as f64, c.im as f64))
                .collect();
            compare_complex(&format!("grid[{port}][{l}]"), &got, &want, 1e-6)?;
            for (d, w) in rx_grid.symbol_mut(port, l).iter_mut().zip(&want) {
                *d = Complex32::new(w.re as f32, w.im as f32);
            }
        }
    }
    // Receive direction: antenna j sees port j.
    let mut rx =
        PuschReceiver::new(num, PuschRxConfig::new(layers, layers)).map_err(|e| e.to_string())?;
    let res = rx
        .process_grid(&pdu, Some(&rx_grid))
        .map_err(|e| e.to_string())?;
    if !res.crc_ok {
        return Err(format!(
            "receiver: TB CRC failed (EVM {:.3} %, SINR {:.1} dB)",
            res.evm_percent, res.sinr_db
        )
        .into());
    }
    compare_bits("received TB", rx.transport_block(&plan), &tb)?;
    Ok(())
}
