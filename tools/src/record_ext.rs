//! The `ranlab` SigMF extension namespace: what a receiver needs besides the
//! samples to decode a recording.
//!
//! Declared in `global.core:extensions` as `{"name": "ranlab", "version":
//! "1.0.0", "optional": true}` (SigMF §2.3.3: every namespace but `core`
//! must be declared; optional, so readers that do not know it still read the
//! samples). Fields:
//! - `global.ranlab:carrier`: `{scs_khz, n_prb, fft_size, cyclic_prefix,
//!   cell_id, antennas}`, the numerology of TS 38.211 §4 the samples follow;
//! - on each slot annotation, `ranlab:slot` (slot number in the frame, which
//!   sets CP lengths and the DM-RS sequence) and `ranlab:pusch`, the PUSCH
//!   PDUs scheduled in that slot (RNTI, n_ID, PRBs, symbols, MCS table and
//!   index, layers, rv, HARQ id, new data, and the DM-RS configuration of
//!   TS 38.211 §6.4.1.1).

use ranlab_phy::numerology::{CyclicPrefix, Numerology, Scs};
use ranlab_phy::pdu::{DmrsConfig, DmrsPorts, DmrsType, PuschPdu};
use serde_json::{json, Map, Value};

/// Namespace name.
pub const NAMESPACE: &str = "ranlab";
/// Namespace version.
pub const VERSION: &str = "1.0.0";
/// Global key of the carrier.
pub const CARRIER: &str = "ranlab:carrier";
/// Annotation key of the slot number in the frame.
pub const SLOT: &str = "ranlab:slot";
/// Annotation key of the slot's PUSCH PDUs.
pub const PUSCH: &str = "ranlab:pusch";

/// The carrier of a recording.
#[derive(Debug, Clone, PartialEq)]
pub struct Carrier {
    /// Numerology (SCS, PRBs, FFT size, CP).
    pub num: Numerology,
    /// Physical cell id, when known.
    pub cell_id: Option<u16>,
    /// gNB receive antennas the recording was made with (its channel
    /// count), when known.
    pub antennas: Option<usize>,
}

/// `ranlab:carrier` of a numerology.
pub fn carrier_json(num: &Numerology, cell_id: u16, antennas: usize) -> Value {
    json!({
        "scs_khz": num.scs().khz(),
        "n_prb": num.n_prb(),
        "fft_size": num.fft_size(),
        "cyclic_prefix": match num.cp() {
            CyclicPrefix::Normal => "normal",
            CyclicPrefix::Extended => "extended",
        },
        "cell_id": cell_id,
        "antennas": antennas,
    })
}

fn field<'a>(v: &'a Value, k: &str, what: &str) -> Result<&'a Value, String> {
    v.get(k).ok_or_else(|| format!("{what}.{k} is missing"))
}

fn uint(v: &Value, k: &str, what: &str, max: u64) -> Result<u64, String> {
    field(v, k, what)?
        .as_u64()
        .filter(|&x| x <= max)
        .ok_or_else(|| format!("{what}.{k}: not a whole number up to {max}"))
}

/// Reads `ranlab:carrier`.
pub fn carrier_from_json(v: &Value) -> Result<Carrier, String> {
    let w = CARRIER;
    let scs = Scs::from_khz(uint(v, "scs_khz", w, 480)? as u32)
        .map_err(|e| format!("{w}.scs_khz: {e}"))?;
    let cp = match v.get("cyclic_prefix").and_then(Value::as_str) {
        None | Some("normal") => CyclicPrefix::Normal,
        Some("extended") => CyclicPrefix::Extended,
        Some(o) => return Err(format!("{w}.cyclic_prefix: {o:?} (normal or extended)")),
    };
    let fft = v
        .get("fft_size")
        .and_then(Value::as_u64)
        .map(|f| f as usize);
    let num = Numerology::new(scs, cp, uint(v, "n_prb", w, 275)? as u16, fft)
        .map_err(|e| format!("{w}: {e}"))?;
    Ok(Carrier {
        num,
        cell_id: v
            .get("cell_id")
            .and_then(Value::as_u64)
            .and_then(|c| u16::try_from(c).ok()),
        antennas: match v.get("antennas") {
            None => None,
            Some(_) => Some(uint(v, "antennas", w, 64)? as usize),
        },
    })
}

/// One PUSCH PDU as a JSON object.
pub fn pdu_json(p: &PuschPdu) -> Value {
    json!({
        "rnti": p.rnti,
        "n_id": p.n_id,
        "prb_start": p.prb_start,
        "n_prb": p.n_prb,
        "start_symbol": p.start_symbol,
        "n_symbols": p.n_symbols,
        "mcs_table": p.mcs_table,
        "mcs_index": p.mcs_index,
        "layers": p.num_layers,
        "rv": p.rv,
        "harq_id": p.harq_id,
        "new_data": p.new_data,
        "ndi": p.ndi,
        "dmrs": {
            "type": match p.dmrs.config_type { DmrsType::Type1 => 1, DmrsType::Type2 => 2 },
            "type_a_position": p.dmrs.type_a_position,
            "additional_position": p.dmrs.additional_position,
            "length": p.dmrs.length,
            "ports": p.dmrs.ports.as_slice(),
            "cdm_groups_without_data": p.dmrs.cdm_groups_without_data,
            "scrambling_id": p.dmrs.scrambling_id,
            "n_scid": p.dmrs.n_scid,
        },
    })
}

/// A PUSCH PDU of slot `slot` back from its JSON object.
pub fn pdu_from_json(v: &Value, slot: u16, what: &str) -> Result<PuschPdu, String> {
    let u8_ = |k: &str, max: u64| uint(v, k, what, max).map(|x| x as u8);
    let u16_ = |k: &str, max: u64| uint(v, k, what, max).map(|x| x as u16);
    let d = field(v, "dmrs", what)?;
    let dw = format!("{what}.dmrs");
    let du8 = |k: &str, max: u64| uint(d, k, &dw, max).map(|x| x as u8);
    let ports = field(d, "ports", &dw)?
        .as_array()
        .ok_or_else(|| format!("{dw}.ports: not an array"))?
        .iter()
        .map(|p| {
            p.as_u64()
                .filter(|&p| p < 12)
                .map(|p| p as u8)
                .ok_or_else(|| format!("{dw}.ports: {p} is not a port 0..11"))
        })
        .collect::<Result<Vec<u8>, String>>()?;
    Ok(PuschPdu {
        rnti: u16_("rnti", 65535)?,
        n_id: u16_("n_id", 1023)?,
        slot,
        prb_start: u16_("prb_start", 274)?,
        n_prb: u16_("n_prb", 275)?,
        start_symbol: u8_("start_symbol", 13)?,
        n_symbols: u8_("n_symbols", 14)?,
        mcs_table: u8_("mcs_table", 3)?,
        mcs_index: u8_("mcs_index", 31)?,
        num_layers: u8_("layers", 8)?,
        rv: u8_("rv", 3)?,
        harq_id: u8_("harq_id", 15)?,
        new_data: field(v, "new_data", what)?
            .as_bool()
            .ok_or_else(|| format!("{what}.new_data: not true or false"))?,
        // Recordings made before the NDI was written carry none: the
        // receiver then still never combines with a decoded TB.
        ndi: match v.get("ndi") {
            None => false,
            Some(x) => x
                .as_bool()
                .ok_or_else(|| format!("{what}.ndi: not true or false"))?,
        },
        dmrs: DmrsConfig {
            config_type: match du8("type", 2)? {
                1 => DmrsType::Type1,
                2 => DmrsType::Type2,
                t => return Err(format!("{dw}.type: {t} (1 or 2)")),
            },
            type_a_position: du8("type_a_position", 3)?,
            additional_position: du8("additional_position", 3)?,
            length: du8("length", 2)?,
            ports: DmrsPorts::new(&ports).map_err(|e| format!("{dw}: {e}"))?,
            cdm_groups_without_data: du8("cdm_groups_without_data", 3)?,
            scrambling_id: uint(d, "scrambling_id", &dw, 65535)? as u16,
            n_scid: du8("n_scid", 1)?,
        },
        ..Default::default()
    })
}

/// The extension fields of a slot annotation.
pub fn slot_fields(slot_in_frame: u32, pdus: &[PuschPdu]) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert(SLOT.into(), json!(slot_in_frame));
    m.insert(
        PUSCH.into(),
        Value::Array(pdus.iter().map(pdu_json).collect()),
    );
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pdu_and_carrier_round_trip() {
        let pdu = PuschPdu {
            rnti: 17921,
            n_id: 1,
            slot: 9,
            prb_start: 3,
            n_prb: 20,
            start_symbol: 0,
            n_symbols: 14,
            mcs_table: 2,
            mcs_index: 17,
            num_layers: 2,
            rv: 2,
            harq_id: 5,
            new_data: false,
            ndi: true,
            dmrs: DmrsConfig {
                config_type: DmrsType::Type2,
                type_a_position: 3,
                additional_position: 1,
                length: 1,
                ports: DmrsPorts::from([0, 1]),
                cdm_groups_without_data: 2,
                scrambling_id: 7,
                n_scid: 1,
            },
            ..Default::default()
        };
        let v = pdu_json(&pdu);
        assert_eq!(pdu_from_json(&v, 9, "p").unwrap(), pdu);
        let mut bad = v.clone();
        bad["dmrs"]["ports"] = json!([0, 12]);
        assert!(pdu_from_json(&bad, 9, "p")
            .unwrap_err()
            .contains("p.dmrs.ports"));
        let mut bad = v;
        bad.as_object_mut().unwrap().remove("rv");
        assert_eq!(pdu_from_json(&bad, 9, "p").unwrap_err(), "p.rv is missing");
        let num = Numerology::new(Scs::Khz30, CyclicPrefix::Normal, 106, None).unwrap();
        let c = carrier_from_json(&carrier_json(&num, 1, 4)).unwrap();
        assert_eq!((c.num, c.cell_id), (num, Some(1)));
    }
}
