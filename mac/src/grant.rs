//! What the scheduler hands the MAC and the PHY for one slot, and what the
//! PHY hands back.
//!
//! An [`UlGrant`] is one PUSCH of one UE on one carrier. The MAC fills its
//! transport block ([`crate::Mac::apply_grants`]), the PHY receives it as a
//! [`PuschPdu`] ([`UlGrant::pusch_pdu`]) and answers with a [`UlCrc`].

use ranlab_phy::pdu::{DmrsConfig, DmrsPorts, DmrsType, PuschPdu};
use ranlab_phy::pipeline::uplink_phy::CrcIndication;

/// One uplink grant: UE, carrier, resources, MCS and HARQ process.
#[derive(Debug, Clone, PartialEq)]
pub struct UlGrant {
    /// Index of the UE in the MAC's UE list.
    pub ue: u32,
    /// Index of the carrier.
    pub carrier: u8,
    /// HARQ process (the PHY's soft-buffer id within this UE and carrier).
    pub harq_id: u8,
    /// A new transport block (else a retransmission of `harq_id`).
    pub new_data: bool,
    /// NDI bit of the HARQ process (set by the MAC; toggled per new TB).
    pub ndi: bool,
    /// Redundancy version (set by the MAC from the HARQ process).
    pub rv: u8,
    /// MCS table, 1 or 2 (TS 38.214 Tables 5.1.3.1-1/2).
    pub mcs_table: u8,
    /// MCS index.
    pub mcs: u8,
    /// Transport-block size, bits.
    pub tbs_bits: u32,
    /// First PRB.
    pub prb_start: u16,
    /// PRBs.
    pub n_prb: u16,
    /// First OFDM symbol.
    pub start_symbol: u8,
    /// OFDM symbols.
    pub n_symbols: u8,
    /// Layers.
    pub layers: u8,
    /// First DM-RS port (co-scheduled MU-MIMO UEs get different ports).
    pub dmrs_port: u8,
    /// UE transmit power on this carrier, dBm (after power sharing).
    pub tx_power_dbm: f32,
    /// SINR the scheduler expects, dB (after OLLA and MU-MIMO loss).
    pub expected_sinr_db: f32,
    /// MU-MIMO co-scheduling group on this carrier, if paired.
    pub mu_group: Option<u16>,
}

impl UlGrant {
    /// The PUSCH PDU for the PHY: `rnti` and `n_id` of the UE and cell,
    /// `slot` within the frame. DM-RS: type 1, position 2, one additional
    /// position, single symbol up to 4 ports, double symbol up to 8, type 2
    /// double symbol up to 12.
    pub fn pusch_pdu(&self, rnti: u16, n_id: u16, slot: u16) -> PuschPdu {
        let top = self.dmrs_port as u32 + self.layers as u32;
        let (config_type, length) = match top {
            0..=4 => (DmrsType::Type1, 1),
            5..=8 => (DmrsType::Type1, 2),
            _ => (DmrsType::Type2, 2),
        };
        PuschPdu {
            rnti,
            n_id,
            slot,
            prb_start: self.prb_start,
            n_prb: self.n_prb,
            start_symbol: self.start_symbol,
            n_symbols: self.n_symbols,
            mcs_table: self.mcs_table,
            mcs_index: self.mcs,
            num_layers: self.layers,
            dmrs: DmrsConfig {
                config_type,
                type_a_position: 2,
                additional_position: 1,
                length,
                // A grant beyond 8 ports or layers gets no ports, which validation rejects.
                ports: DmrsPorts::consecutive(self.dmrs_port, self.layers).unwrap_or_default(),
                cdm_groups_without_data: if config_type == DmrsType::Type1 { 2 } else { 3 },
                scrambling_id: n_id,
                n_scid: 0,
            },
            rv: self.rv,
            harq_id: self.harq_id,
            new_data: self.new_data,
            ndi: self.ndi,
            ..PuschPdu::default()
        }
    }
}

/// The PHY's answer for one PUSCH: CRC and measured SINR.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UlCrc {
    /// UE index.
    pub ue: u32,
    /// Carrier index.
    pub carrier: u8,
    /// HARQ process.
    pub harq_id: u8,
    /// The transport block passed CRC.
    pub ok: bool,
    /// SINR measured on DM-RS, dB, if the receiver estimated it.
    pub sinr_db: Option<f32>,
}

impl UlCrc {
    /// The MAC's view of the PHY's CRC indication of UE `ue` on carrier
    /// `carrier`, with `ok` the verdict (the indication's CRC, or a caller
    /// that knows the sent bits overruling a false pass).
    pub fn from_indication(ue: u32, carrier: u8, ind: &CrcIndication<'_>, ok: bool) -> Self {
        UlCrc {
            ue,
            carrier,
            harq_id: ind.harq_id,
            ok,
            sinr_db: ind.sinr_db,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pdus_validate_for_up_to_twelve_ports() {
        for (port, layers) in [(0u8, 1u8), (3, 1), (6, 2), (10, 2)] {
            let g = UlGrant {
                ue: 0,
                carrier: 0,
                harq_id: 15,
                new_data: true,
                ndi: false,
                rv: 0,
                mcs_table: 2,
                mcs: 27,
                tbs_bits: 1000,
                prb_start: 200,
                n_prb: 73,
                start_symbol: 0,
                n_symbols: 14,
                layers,
                dmrs_port: port,
                tx_power_dbm: 23.0,
                expected_sinr_db: 10.0,
                mu_group: Some(0),
            };
            let pdu = g.pusch_pdu(0x4601, 1, 9);
            assert_eq!(pdu.validate(273, 64), Ok(()), "port {port}");
            assert_eq!(
                pdu.dmrs.ports.as_slice(),
                &(port..port + layers).collect::<Vec<_>>()[..]
            );
        }
    }
}
