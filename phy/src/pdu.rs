//! The PHY <-> MAC contract: per-slot PDUs in, indications out.
//!
//! A PDU is checked once by `validate` against the carrier it is meant for;
//! the processing path then assumes it is well formed.

use thiserror::Error;

/// DM-RS configuration type (TS 38.211 §6.4.1.1.3, dmrs-Type).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DmrsType {
    /// Type 1: comb of 2, up to 4 (single symbol) or 8 (double) ports.
    #[default]
    Type1,
    /// Type 2: 2 adjacent REs per group of 6, up to 6 or 12 ports.
    Type2,
}

/// PUSCH/PDSCH mapping type (TS 38.214 §6.1.2.1 / §5.1.2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MappingType {
    /// Type A: slot-based, first DM-RS at dmrs-TypeA-Position.
    #[default]
    A,
    /// Type B: mini-slot, first DM-RS on the first allocated symbol.
    B,
}

/// Most layers of one PDU (TS 38.211 §6.3.1.3: 4 for a PUSCH, §7.3.1.3: 8
/// for a PDSCH of two codewords), so most DM-RS ports listed.
pub const MAX_PDU_LAYERS: usize = 8;

/// The DM-RS antenna ports of a PDU, one per layer (0-based: port 1000 + p),
/// in a fixed array so a PDU copies without allocating.
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct DmrsPorts {
    len: u8,
    ports: [u8; MAX_PDU_LAYERS],
}

impl DmrsPorts {
    /// The listed ports; more than [`MAX_PDU_LAYERS`] is an error.
    pub fn new(ports: &[u8]) -> Result<Self, PduError> {
        if ports.len() > MAX_PDU_LAYERS {
            return Err(PduError::Field {
                field: "dmrs.ports",
                value: ports.len() as u32,
                allowed: "at most 8 ports",
            });
        }
        let mut p = Self::default();
        p.ports[..ports.len()].copy_from_slice(ports);
        p.len = ports.len() as u8;
        Ok(p)
    }

    /// `n` consecutive ports from `first` (a grant's layers on ports
    /// `first..first + n`); more than [`MAX_PDU_LAYERS`] is an error.
    pub fn consecutive(first: u8, n: u8) -> Result<Self, PduError> {
        if n as usize > MAX_PDU_LAYERS || first.checked_add(n).is_none() {
            return Err(PduError::Field {
                field: "dmrs.ports",
                value: n as u32,
                allowed: "at most 8 ports",
            });
        }
        let mut p = Self {
            len: n,
            ..Self::default()
        };
        for (k, port) in p.ports[..n as usize].iter_mut().enumerate() {
            *port = first + k as u8;
        }
        Ok(p)
    }

    /// The ports, one per layer.
    pub fn as_slice(&self) -> &[u8] {
        &self.ports[..self.len as usize]
    }
}

impl std::ops::Deref for DmrsPorts {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl<const N: usize> From<[u8; N]> for DmrsPorts {
    fn from(ports: [u8; N]) -> Self {
        const { assert!(N <= MAX_PDU_LAYERS, "at most 8 DM-RS ports") };
        Self::new(&ports).unwrap_or_default()
    }
}

impl std::fmt::Debug for DmrsPorts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.as_slice()).finish()
    }
}

/// DM-RS configuration of a PUSCH or PDSCH (TS 38.211 §6.4.1.1 / §7.4.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DmrsConfig {
    /// Configuration type.
    pub config_type: DmrsType,
    /// dmrs-TypeA-Position: 2 or 3.
    pub type_a_position: u8,
    /// dmrs-AdditionalPosition: 0..=3.
    pub additional_position: u8,
    /// 1 (single-symbol) or 2 (double-symbol) DM-RS.
    pub length: u8,
    /// Antenna ports, one per layer (0-based, i.e. port 1000 + p for PUSCH).
    pub ports: DmrsPorts,
    /// CDM groups without data: 1..=2 (type 1) or 1..=3 (type 2).
    pub cdm_groups_without_data: u8,
    /// N_ID^{n_SCID} for the sequence (the cell id when not configured).
    pub scrambling_id: u16,
    /// n_SCID, 0 or 1.
    pub n_scid: u8,
}

impl Default for DmrsConfig {
    /// The standard PUSCH/PDSCH DM-RS: single-symbol type 1 at
    /// dmrs-TypeA-Position 2 with one additional position, two CDM groups
    /// without data, port 0, scrambling id 0.
    fn default() -> Self {
        Self {
            config_type: DmrsType::Type1,
            type_a_position: 2,
            additional_position: 1,
            length: 1,
            ports: DmrsPorts::from([0]),
            cdm_groups_without_data: 2,
            scrambling_id: 0,
            n_scid: 0,
        }
    }
}

/// The uplink: a PUSCH ([`ShPdu<Ul>`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Ul;
/// The downlink: a PDSCH ([`ShPdu<Dl>`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Dl;

/// One shared-channel transmission in a slot as the scheduler grants it:
/// the allocation, MCS, layers, DM-RS and HARQ fields the PUSCH and PDSCH
/// share (TS 38.214 §6.1 / §5.1). `D` ([`Ul`] or [`Dl`]) keeps the two
/// apart; build one with `..Default::default()` for the fields you leave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShPdu<D> {
    /// C-RNTI of the UE.
    pub rnti: u16,
    /// Data scrambling identity n_ID (the cell id when not configured), 0..=1023.
    pub n_id: u16,
    /// Slot number within the frame (enters the DM-RS c_init).
    pub slot: u16,
    /// First PRB of the allocation, relative to CRB 0 (BWP start 0).
    pub prb_start: u16,
    /// Number of PRBs.
    pub n_prb: u16,
    /// First OFDM symbol of the allocation.
    pub start_symbol: u8,
    /// Number of OFDM symbols.
    pub n_symbols: u8,
    /// Mapping type A (slot) or B (mini-slot; PDSCH only here).
    pub mapping_type: MappingType,
    /// MCS table 1..=3 (TS 38.214 Tables 5.1.3.1-1..3 / 6.1.4.1).
    pub mcs_table: u8,
    /// MCS index I_MCS.
    pub mcs_index: u8,
    /// Number of layers v (one codeword: at most 4).
    pub num_layers: u8,
    /// DM-RS configuration.
    pub dmrs: DmrsConfig,
    /// Redundancy version 0..=3.
    pub rv: u8,
    /// HARQ process id (soft-buffer id), 0..=15.
    pub harq_id: u8,
    /// True for a new transport block (toggled NDI): clears the soft buffer.
    pub new_data: bool,
    /// The NDI bit of the grant (TS 38.212 §7.3.1.1 / §7.3.1.2, toggled by
    /// the MAC for each new transport block of a HARQ process): with (RNTI,
    /// HARQ id) the identity of the TB, so a retransmission whose first
    /// transmission never reached the receiver is not combined with the
    /// previous TB's soft bits.
    pub ndi: bool,
    /// The link direction (a marker).
    pub direction: std::marker::PhantomData<D>,
}

/// One PUSCH transmission in a slot.
pub type PuschPdu = ShPdu<Ul>;
/// One PDSCH transmission in a slot.
pub type PdschPdu = ShPdu<Dl>;

impl<D> Default for ShPdu<D> {
    /// One layer over PRBs 0..52 and the whole slot, MCS table 1 index 0,
    /// the default DM-RS, RNTI 0x4601, new data at rv 0 in HARQ process 0:
    /// set at least `n_prb` and the MCS for your carrier.
    fn default() -> Self {
        Self {
            rnti: 0x4601,
            n_id: 0,
            slot: 0,
            prb_start: 0,
            n_prb: 52,
            start_symbol: 0,
            n_symbols: 14,
            mapping_type: MappingType::A,
            mcs_table: 1,
            mcs_index: 0,
            num_layers: 1,
            dmrs: DmrsConfig::default(),
            rv: 0,
            harq_id: 0,
            new_data: true,
            ndi: false,
            direction: std::marker::PhantomData,
        }
    }
}

/// Why a PDU does not fit the carrier.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PduError {
    /// PRBs outside the carrier.
    #[error("PRBs {start}..{end} outside the carrier's {carrier} PRBs")]
    PrbsOutOfRange {
        /// First PRB.
        start: u32,
        /// One past the last PRB.
        end: u32,
        /// Carrier PRBs.
        carrier: u32,
    },
    /// Symbols outside the slot.
    #[error("symbols {start}..{end} outside the 14-symbol slot")]
    SymbolsOutOfRange {
        /// First symbol.
        start: u32,
        /// One past the last.
        end: u32,
    },
    /// More layers than receive antennas or DM-RS ports.
    #[error("{layers} layers do not fit {limit} ({what})")]
    TooManyLayers {
        /// Requested layers.
        layers: u32,
        /// The limit.
        limit: u32,
        /// What limits it.
        what: &'static str,
    },
    /// A field out of its allowed range.
    #[error("{field}: {value} (allowed: {allowed})")]
    Field {
        /// The field.
        field: &'static str,
        /// Its value.
        value: u32,
        /// Allowed values.
        allowed: &'static str,
    },
}

impl PuschPdu {
    /// Checks the PDU against a carrier of `carrier_prbs` PRBs and `rx_antennas` antennas.
    pub fn validate(&self, carrier_prbs: u16, rx_antennas: u16) -> Result<(), PduError> {
        if self.mapping_type != MappingType::A {
            return Err(PduError::Field {
                field: "mapping_type",
                value: 1,
                allowed: "A (PUSCH mapping type B is not supported)",
            });
        }
        self.validate_shared(carrier_prbs, rx_antennas)
    }
}

impl<D> ShPdu<D> {
    /// The checks the PUSCH and PDSCH share (allocation, MCS, HARQ, DM-RS).
    pub(crate) fn validate_shared(
        &self,
        carrier_prbs: u16,
        rx_antennas: u16,
    ) -> Result<(), PduError> {
        let f = |field, value: u32, ok: bool, allowed| {
            if ok {
                Ok(())
            } else {
                Err(PduError::Field {
                    field,
                    value,
                    allowed,
                })
            }
        };
        let end = self.prb_start as u32 + self.n_prb as u32;
        if self.n_prb == 0 || end > carrier_prbs as u32 {
            return Err(PduError::PrbsOutOfRange {
                start: self.prb_start as u32,
                end,
                carrier: carrier_prbs as u32,
            });
        }
        let send = self.start_symbol as u32 + self.n_symbols as u32;
        if self.n_symbols == 0 || send > 14 {
            return Err(PduError::SymbolsOutOfRange {
                start: self.start_symbol as u32,
                end: send,
            });
        }
        f(
            "mcs_table",
            self.mcs_table as u32,
            (1..=3).contains(&self.mcs_table),
            "1, 2, 3",
        )?;
        let max_mcs = if self.mcs_table == 2 { 27 } else { 28 };
        f(
            "mcs_index",
            self.mcs_index as u32,
            self.mcs_index <= max_mcs,
            "0..=27 (table 2) or 0..=28",
        )?;
        f("rv", self.rv as u32, self.rv <= 3, "0..=3")?;
        f("harq_id", self.harq_id as u32, self.harq_id <= 15, "0..=15")?;
        f("n_id", self.n_id as u32, self.n_id <= 1023, "0..=1023")?;
        let d = &self.dmrs;
        f(
            "dmrs.type_a_position",
            d.type_a_position as u32,
            matches!(d.type_a_position, 2 | 3),
            "2, 3",
        )?;
        f(
            "dmrs.additional_position",
            d.additional_position as u32,
            d.additional_position <= 3,
            "0..=3",
        )?;
        f(
            "dmrs.length",
            d.length as u32,
            matches!(d.length, 1 | 2),
            "1, 2",
        )?;
        f("dmrs.n_scid", d.n_scid as u32, d.n_scid <= 1, "0, 1")?;
        let (groups, ports_per_len) = match d.config_type {
            DmrsType::Type1 => (2u8, 4u8),
            DmrsType::Type2 => (3, 6),
        };
        f(
            "dmrs.cdm_groups_without_data",
            d.cdm_groups_without_data as u32,
            (1..=groups).contains(&d.cdm_groups_without_data),
            "1..=2 (type 1) or 1..=3 (type 2)",
        )?;
        let max_ports = ports_per_len * d.length;
        let layers = self.num_layers as u32;
        if layers == 0 {
            return Err(PduError::Field {
                field: "num_layers",
                value: 0,
                allowed: "1..=8",
            });
        }
        if layers > rx_antennas as u32 {
            return Err(PduError::TooManyLayers {
                layers,
                limit: rx_antennas as u32,
                what: "receive antennas",
            });
        }
        if d.ports.len() != self.num_layers as usize || d.ports.iter().any(|&p| p >= max_ports) {
            return Err(PduError::TooManyLayers {
                layers,
                limit: max_ports as u32,
                what: "DM-RS ports of this configuration",
            });
        }
        if self.mapping_type == MappingType::A
            && self.start_symbol as u32 > d.type_a_position as u32
        {
            return Err(PduError::Field {
                field: "start_symbol",
                value: self.start_symbol as u32,
                allowed: "at most dmrs.type_a_position for mapping type A",
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pdu() -> PuschPdu {
        PuschPdu {
            rnti: 0x4601,
            n_id: 1,
            slot: 0,
            prb_start: 0,
            n_prb: 106,
            start_symbol: 0,
            n_symbols: 14,
            mcs_table: 1,
            mcs_index: 10,
            num_layers: 2,
            dmrs: DmrsConfig {
                config_type: DmrsType::Type1,
                type_a_position: 2,
                additional_position: 1,
                length: 1,
                ports: DmrsPorts::from([0, 1]),
                cdm_groups_without_data: 2,
                scrambling_id: 1,
                n_scid: 0,
            },
            rv: 0,
            harq_id: 0,
            ..Default::default()
        }
    }

    #[test]
    fn valid_pdu_passes_and_bad_ones_name_the_problem() {
        assert_eq!(pdu().validate(106, 4), Ok(()));
        let e = PuschPdu {
            n_prb: 107,
            ..pdu()
        }
        .validate(106, 4)
        .unwrap_err();
        assert!(matches!(e, PduError::PrbsOutOfRange { .. }), "{e}");
        let e = pdu().validate(106, 1).unwrap_err();
        assert!(e.to_string().contains("receive antennas"), "{e}");
        let e = PuschPdu {
            mcs_index: 29,
            ..pdu()
        }
        .validate(106, 4)
        .unwrap_err();
        assert!(e.to_string().contains("mcs_index"), "{e}");
    }
}
