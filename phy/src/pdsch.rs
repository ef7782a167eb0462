//! The PDSCH processors (TS 38.211 §7.3.1, §7.4.1.1; TS 38.214 §5.1): the
//! shared-channel chain ([`crate::sch`]) with the downlink differences —
//! scrambling c_init = n_RNTI·2^15 + q·2^14 + n_ID (§7.3.1.1, one codeword,
//! q = 0), the PDSCH DM-RS position tables (Tables 7.4.1.1.2-3/-4) with
//! mapping type A or B, and the PDSCH MCS tables. One codeword: up to 4
//! layers.
//!
//! Precoding onto the gNB's antennas (TS 38.211 §7.3.1.5): without a
//! precoder layer j goes to antenna j; with a [`PrgPrecoder`](crate::mimo::PrgPrecoder) per PDSCH
//! ([`PdschTransmitter::transmit_precoded`], or
//! `DownlinkSlot::set_pdus_precoded` in the slot pipeline) every antenna
//! carries `W x` with one `n_tx x υ` matrix per PRG (TS 38.214 §5.1.2.3),
//! the DM-RS precoded as the data so the UE estimates the effective channel
//! (§7.4.1.1.2). PDSCHs co-scheduled on the same REs (MU-MIMO, on DM-RS
//! ports of other CDM groups or codes) add up on the antennas.

use crate::coding::scrambling::c_init_pdsch;
use crate::coding::tbs::McsTable;
pub use crate::pdu::PdschPdu;
use crate::pdu::PduError;
use crate::refsig::dmrs::DmrsLink;
use crate::sch::{ShError, ShPlan, ShReceiver, ShRequest, ShResult, ShTransmitter, SharedChannel};

/// Why a PDSCH could not be processed.
pub type PdschError = ShError;
/// What a PDSCH receive reports.
pub type PdschResult = ShResult;

impl PdschPdu {
    /// Checks the PDU against a carrier of `carrier_prbs` PRBs received on
    /// `rx_antennas` antennas.
    pub fn validate(&self, carrier_prbs: u16, rx_antennas: u16) -> Result<(), PduError> {
        // The fields shared with the PUSCH have the same rules.
        self.validate_shared(carrier_prbs, rx_antennas)?;
        if self.num_layers > 4 {
            return Err(PduError::TooManyLayers {
                layers: self.num_layers as u32,
                limit: 4,
                what: "one codeword",
            });
        }
        Ok(())
    }
}

/// The PDSCH.
#[derive(Debug, Clone, Copy)]
pub struct Pdsch;

impl SharedChannel for Pdsch {
    type Pdu = PdschPdu;
    fn plan(pdu: &PdschPdu, carrier_prbs: u16, antennas: u16) -> Result<ShPlan, ShError> {
        pdu.validate(carrier_prbs, antennas)?;
        ShPlan::from_request(&ShRequest {
            link: DmrsLink::Pdsch,
            mapping: pdu.mapping_type,
            dmrs: &pdu.dmrs,
            slot: pdu.slot as u32,
            start_symbol: pdu.start_symbol,
            n_symbols: pdu.n_symbols,
            prb_start: pdu.prb_start,
            n_prb: pdu.n_prb,
            table: McsTable::pdsch(pdu.mcs_table),
            mcs_table: pdu.mcs_table,
            mcs_index: pdu.mcs_index,
            num_layers: pdu.num_layers,
            c_init: c_init_pdsch(pdu.rnti, 0, pdu.n_id),
            rv: pdu.rv,
            new_data: pdu.new_data,
            ndi: pdu.ndi,
            harq_id: pdu.harq_id,
            rnti: pdu.rnti,
        })
    }
    fn slot(pdu: &PdschPdu) -> u32 {
        pdu.slot as u32
    }
}

/// The PDSCH transmitter (gNB).
pub type PdschTransmitter = ShTransmitter<Pdsch>;
/// The PDSCH receiver (UE).
pub type PdschReceiver = ShReceiver<Pdsch>;
