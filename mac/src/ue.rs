//! Per-UE context: identity, capabilities, logical channels with their QoS,
//! the gNB's view of the buffer, and per-carrier HARQ, link adaptation and
//! channel knowledge.

use crate::bsr::{BufferView, ReportConfig};
use crate::buffer::{Counters, Micros, TxBuffer};
use crate::harq::HarqEntity;
use crate::la::Olla;
use crate::mcs::McsTable;
use crate::qos::{QosClass, QosParams};
use crate::traffic::{TrafficModel, TrafficSource};
use num_complex::Complex32;

/// What the UE can do.
#[derive(Debug, Clone, PartialEq)]
pub struct UeCapability {
    /// Carriers (indices into the MAC's carrier list) the UE may transmit on.
    pub ul_carriers: Vec<usize>,
    /// Maximum uplink layers.
    pub max_layers: u8,
    /// MCS table.
    pub mcs_table: McsTable,
    /// Maximum total transmit power over all carriers, dBm (P_CMAX).
    pub max_tx_power_dbm: f32,
}

/// A logical channel: one QoS flow with its buffer and traffic source.
#[derive(Debug, Clone)]
pub struct LogicalChannel {
    /// Logical channel id.
    pub lcid: u8,
    /// QoS class.
    pub qos: QosClass,
    /// Its characteristics.
    pub params: QosParams,
    /// The transmit buffer (the UE's truth).
    pub buffer: TxBuffer,
    /// What fills it.
    pub source: TrafficSource,
}

impl LogicalChannel {
    /// A channel of class `qos` fed by `model` with random stream `seed`.
    pub fn new(lcid: u8, qos: QosClass, model: TrafficModel, seed: u64) -> LogicalChannel {
        let params = qos.params();
        LogicalChannel {
            lcid,
            qos,
            params,
            buffer: TxBuffer::new(lcid, params.discard_ms),
            source: TrafficSource::new(model, seed),
        }
    }
}

/// Per-carrier statistics of a UE.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CarrierStats {
    /// Transmissions that passed CRC.
    pub tb_ok: u64,
    /// Transmissions that failed CRC (first transmissions and retransmissions).
    pub tb_failed: u64,
    /// Transport blocks lost after the last HARQ transmission.
    pub tb_dropped: u64,
    /// Bits of transport blocks that passed CRC.
    pub bits_ok: u64,
    /// PRB-slots granted.
    pub prb_slots: u64,
    /// Slots with a grant.
    pub slots_scheduled: u64,
    /// Grants that were MU-MIMO paired.
    pub paired_grants: u64,
}

/// A UE's state on one carrier.
#[derive(Debug, Clone)]
pub struct UeCarrier {
    /// Carrier index.
    pub carrier: usize,
    /// The HARQ entity.
    pub harq: HarqEntity,
    /// Outer-loop link adaptation.
    pub olla: Olla,
    /// Channel gain as SINR per PRB at 0 dBm per PRB, dB (from SRS/DM-RS:
    /// the measured SINR minus the per-PRB power it was measured at).
    pub gain_db: f32,
    /// Downlink path-loss estimate used for open-loop power control, dB.
    pub path_loss_db: f32,
    /// Channel direction over the gNB antennas (unit norm), for MU-MIMO
    /// pairing; empty when unknown.
    pub spatial: Vec<Complex32>,
    /// Per-PRB power of the last grant, dBm (to turn a measured SINR into a gain).
    pub last_prb_power_dbm: f32,
    /// Statistics.
    pub stats: CarrierStats,
}

/// The MAC context of one UE.
#[derive(Debug, Clone)]
pub struct UeContext {
    /// UE id in reports.
    pub id: u32,
    /// C-RNTI.
    pub rnti: u16,
    /// Capabilities.
    pub cap: UeCapability,
    /// Logical channels, highest priority (lowest value) first.
    pub lcs: Vec<LogicalChannel>,
    /// The gNB's view of the uplink buffer (SR/BSR).
    pub view: BufferView,
    /// Per-carrier state, one per entry of `cap.ul_carriers`, same order.
    pub carriers: Vec<UeCarrier>,
    /// SS-RSRP on the primary downlink carrier, dBm.
    pub rsrp_dbm: f32,
    /// Exponentially averaged served rate over all carriers, bit/s (PF denominator).
    pub avg_rate_bps: f32,
    /// The buffer estimate the scheduler works with this slot, bytes
    /// (refreshed by [`crate::Mac::begin_slot`], reduced as grants are given).
    pub est_bytes: u64,
    /// Bits granted this slot (for the PF average).
    pub(crate) granted_bits_slot: u64,
}

impl UeContext {
    /// A UE with `lcs` (sorted here by priority) and `max_tx` HARQ transmissions.
    pub fn new(
        id: u32,
        cap: UeCapability,
        mut lcs: Vec<LogicalChannel>,
        report: ReportConfig,
        max_tx: u8,
    ) -> UeContext {
        lcs.sort_by_key(|l| l.params.priority);
        let carriers = cap
            .ul_carriers
            .iter()
            .map(|&c| UeCarrier {
                carrier: c,
                harq: HarqEntity::new(max_tx),
                olla: Olla::default(),
                gain_db: -30.0,
                path_loss_db: 100.0,
                spatial: Vec::new(),
                last_prb_power_dbm: 0.0,
                stats: CarrierStats::default(),
            })
            .collect();
        UeContext {
            id,
            rnti: 0x4601u16.wrapping_add(id as u16),
            cap,
            lcs,
            view: BufferView::new(report),
            carriers,
            rsrp_dbm: -90.0,
            avg_rate_bps: 1.0,
            est_bytes: 0,
            granted_bits_slot: 0,
        }
    }

    /// This UE's state on carrier `c`, if it may use it.
    pub fn on_carrier(&self, c: usize) -> Option<&UeCarrier> {
        self.carriers.iter().find(|x| x.carrier == c)
    }

    /// Mutable state on carrier `c`.
    pub fn on_carrier_mut(&mut self, c: usize) -> Option<&mut UeCarrier> {
        self.carriers.iter_mut().find(|x| x.carrier == c)
    }

    /// The most important QoS class among channels with data (else the first channel's).
    pub fn qos(&self) -> QosClass {
        self.lcs
            .iter()
            .find(|l| l.buffer.unsent_bytes() > 0)
            .or(self.lcs.first())
            .map(|l| l.qos)
            .unwrap_or(QosClass::BestEffort)
    }

    /// Head-of-line delay of the most urgent waiting packet relative to its
    /// budget, as a pair (delay ms, budget ms). The gNB learns head-of-line
    /// delays from delay status reports (TS 38.321 §5.4.9, Rel-18 DSR).
    pub fn hol(&self, now: Micros) -> Option<(f64, f64)> {
        self.lcs
            .iter()
            .filter_map(|l| {
                l.buffer
                    .head_arrival()
                    .map(|a| (now.saturating_sub(a) as f64 / 1e3, l.params.pdb_ms))
            })
            .max_by(|a, b| (a.0 / a.1).total_cmp(&(b.0 / b.1)))
    }

    /// True buffer occupancy over all channels, bytes.
    pub fn unsent_bytes(&self) -> u64 {
        self.lcs.iter().map(|l| l.buffer.unsent_bytes()).sum()
    }

    /// Packet counters summed over channels.
    pub fn counters(&self) -> Counters {
        let mut c = Counters::default();
        for l in &self.lcs {
            c.add(l.buffer.counters());
        }
        c
    }

    /// Statistics summed over carriers.
    pub fn stats(&self) -> CarrierStats {
        let mut s = CarrierStats::default();
        for c in &self.carriers {
            s.tb_ok += c.stats.tb_ok;
            s.tb_failed += c.stats.tb_failed;
            s.tb_dropped += c.stats.tb_dropped;
            s.bits_ok += c.stats.bits_ok;
            s.prb_slots += c.stats.prb_slots;
            s.slots_scheduled += c.stats.slots_scheduled;
            s.paired_grants += c.stats.paired_grants;
        }
        s
    }
}
