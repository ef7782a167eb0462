//! The PUSCH (TS 38.211 §6.3.1, §6.4.1.1; TS 38.212 §6.2; TS 38.214
//! §6.1.4): the link rules of the uplink shared channel on the chain of
//! [`crate::sch`] — scrambling c_init = n_RNTI·2^15 + n_ID (§6.3.1.1), the
//! PUSCH DM-RS (mapping type A, Tables 6.4.1.1.3-3/-4), the PUSCH MCS
//! tables without transform precoding, and the PDU validation of
//! [`PuschPdu::validate`](crate::pdu::PuschPdu). The processors are the
//! shared ones, named for the PUSCH.

use crate::coding::scrambling::c_init_pusch;
use crate::coding::tbs::McsTable;
use crate::pdu::PuschPdu;
use crate::refsig::dmrs::{DmrsLink, MappingType};
use crate::sch::{ShPlan, ShRequest, SharedChannel};

pub use crate::sch::{
    CbDecoder, FrontScratch, ShError, ShFrontEnd, ShResult, ShRxConfig, ShSymbolMapper,
    SplitDecode, LLR_SCALE,
};

/// Why a PUSCH could not be processed.
pub type PuschError = ShError;
/// What a PUSCH receive reports.
pub type PuschResult = ShResult;
/// PUSCH receiver options.
pub type PuschRxConfig = ShRxConfig;
/// The plan of a PUSCH.
pub type PuschPlan = ShPlan;

/// The PUSCH.
#[derive(Debug, Clone, Copy)]
pub struct Pusch;

impl SharedChannel for Pusch {
    type Pdu = PuschPdu;

    /// Validates `pdu` against a carrier of `carrier_prbs` PRBs and
    /// `antennas` receive antennas, and derives the PUSCH plan (mapping type A).
    fn plan(pdu: &PuschPdu, carrier_prbs: u16, antennas: u16) -> Result<ShPlan, ShError> {
        pdu.validate(carrier_prbs, antennas)?;
        ShPlan::from_request(&ShRequest {
            link: DmrsLink::Pusch,
            mapping: MappingType::A,
            dmrs: &pdu.dmrs,
            slot: pdu.slot as u32,
            start_symbol: pdu.start_symbol,
            n_symbols: pdu.n_symbols,
            prb_start: pdu.prb_start,
            n_prb: pdu.n_prb,
            table: McsTable::pusch(pdu.mcs_table, false),
            mcs_table: pdu.mcs_table,
            mcs_index: pdu.mcs_index,
            num_layers: pdu.num_layers,
            c_init: c_init_pusch(pdu.rnti, pdu.n_id),
            rv: pdu.rv,
            new_data: pdu.new_data,
            ndi: pdu.ndi,
            harq_id: pdu.harq_id,
            rnti: pdu.rnti,
        })
    }

    fn slot(pdu: &PuschPdu) -> u32 {
        pdu.slot as u32
    }
}

/// The PUSCH transmitter (UE side: tests, the link simulator, conformance).
pub type PuschTransmitter = crate::sch::ShTransmitter<Pusch>;
/// The PUSCH receiver (gNB side).
pub type PuschReceiver = crate::sch::ShReceiver<Pusch>;
