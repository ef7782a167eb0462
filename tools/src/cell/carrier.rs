//! One component carrier of the cell: its numerology and slot pattern, its
//! radio stream (the simulated channel or a SoapySDR device), the UEs'
//! PUSCH transmitters on it and the gNB's uplink PHY pipeline. The cell's
//! MAC and scheduler serve every carrier together; each carrier sends and
//! receives its own slots on its own sample clock.

use super::radio::{mix, receive_slot, stack_ref, Link};
use super::ue::{power_amplitude, UeState};
use super::{Pending, Submit, Tap};
use crate::scenario::Duplex;
use crate::CliResult;
use num_complex::Complex32;
use ranlab_mac::timing::SlotPattern;
use ranlab_mac::{Mac, UlCrc, UlGrant};
use ranlab_phy::numerology::Numerology;
use ranlab_phy::pdu::PuschPdu;
use ranlab_phy::pipeline::uplink_phy::UplinkPhy;
use ranlab_phy::pipeline::SubmitError;
use ranlab_sdr::radio::TxTime;
use ranlab_sdr::reader::TimedReader;
use std::collections::VecDeque;
use std::time::Duration;

/// Slots whose results may be outstanding beside the newest (sizes the queue).
const MAX_IN_FLIGHT_SLOTS: usize = 8;

/// A slot a carrier has just sent (for the downlink of the primary).
#[derive(Debug, Clone, Copy)]
pub(crate) struct SentSlot {
    /// Slot number of the carrier since the start.
    pub index: u64,
    /// Slot number within the frame.
    pub slot_in_frame: u32,
    /// Samples in the slot.
    pub len: usize,
    /// Device time of its first sample.
    pub time: i64,
}

/// One carrier's radio, UE transmitters and uplink PHY.
pub(crate) struct CarrierPath {
    /// Index in the scenario's carrier list (and the MAC's).
    pub index: usize,
    pub name: String,
    pub duplex: Duplex,
    pub num: Numerology,
    pub pattern: SlotPattern,
    pub slot_us: u64,
    /// Deadline of a slot's results, µs.
    pub budget_us: f64,
    pub phy: UplinkPhy,
    pub link: Link,
    reader: TimedReader,
    /// Where a slot's samples are read when they do not go to the PHY.
    rx_bufs: Vec<Vec<Complex32>>,
    /// UE antenna streams added onto the radio's TX channels.
    tx_mix: Vec<Vec<Complex32>>,
    /// Per UE of the cell: its transmitter here, `None` when it may not send here.
    pub ues: Vec<Option<UeState>>,
    /// Per UE: Es/N0 per RE at its maximum power over the whole carrier, dB.
    pub snrs: Vec<f64>,
    /// Per UE: maximum transmit power, dBm (the reference of `snrs`).
    pub p_max_dbm: Vec<f64>,
    /// The per-RE SNR follows each grant (open-loop power control).
    pub power_control: bool,
    pdus: Vec<PuschPdu>,
    grants: Vec<UlGrant>,
    /// Slot numbers of the slots in the uplink PHY, oldest first.
    submitted: VecDeque<u64>,
    /// Slots sent and not yet received, `lookahead + 1` of them in a ring.
    pending: Vec<Pending>,
    pub sample_time: i64,
    /// Slots sent.
    pub scheduled: u64,
    /// Slots received.
    pub slots_run: u64,
    pub dropped_slots: u64,
    /// Uplink slots sent.
    pub ul_slots: u64,
}

/// The parts of a [`CarrierPath`] built by the cell.
pub(crate) struct CarrierParts {
    pub index: usize,
    pub name: String,
    pub duplex: Duplex,
    pub num: Numerology,
    pub pattern: SlotPattern,
    pub slot_us: u64,
    pub budget_us: f64,
    pub phy: UplinkPhy,
    pub link: Link,
    pub n_rx: usize,
    pub max_slot_len: usize,
    pub ues: Vec<Option<UeState>>,
    pub snrs: Vec<f64>,
    pub p_max_dbm: Vec<f64>,
    pub power_control: bool,
    pub max_pdus: usize,
}

impl CarrierPath {
    pub fn new(p: CarrierParts) -> Self {
        let lookahead = p.link.lookahead;
        CarrierPath {
            reader: TimedReader::new(p.n_rx, p.max_slot_len),
            rx_bufs: vec![vec![Complex32::default(); p.max_slot_len]; p.n_rx],
            tx_mix: vec![vec![Complex32::default(); p.max_slot_len]; p.link.tx_channels],
            pdus: Vec::with_capacity(p.max_pdus),
            grants: Vec::with_capacity(p.max_pdus),
            submitted: VecDeque::with_capacity(2 * (lookahead + MAX_IN_FLIGHT_SLOTS)),
            pending: (0..=lookahead)
                .map(|_| Pending {
                    index: 0,
                    slot_in_frame: 0,
                    len: 0,
                    time: 0,
                    pdus: Vec::with_capacity(p.max_pdus),
                    grants: Vec::with_capacity(p.max_pdus),
                })
                .collect(),
            index: p.index,
            name: p.name,
            duplex: p.duplex,
            num: p.num,
            pattern: p.pattern,
            slot_us: p.slot_us,
            budget_us: p.budget_us,
            phy: p.phy,
            link: p.link,
            ues: p.ues,
            snrs: p.snrs,
            p_max_dbm: p.p_max_dbm,
            power_control: p.power_control,
            sample_time: 0,
            scheduled: 0,
            slots_run: 0,
            dropped_slots: 0,
            ul_slots: 0,
        }
    }

    /// Whether one of this carrier's slots starts at `now` (µs).
    pub fn starts(&self, now: u64) -> bool {
        now % self.slot_us == 0
    }

    /// Whether an uplink slot of this carrier starts at `now`.
    pub fn ul_starts(&self, now: u64) -> bool {
        self.starts(now) && self.pattern.is_ul(now / self.slot_us)
    }

    /// The longest slot, in samples.
    pub fn max_slot_len(&self) -> usize {
        self.rx_bufs.first().map_or(0, |b| b.len())
    }

    /// Sends the carrier's next slot: the PUSCHs of `grants` that are for
    /// this carrier, each UE at the power of its grant.
    pub fn send(&mut self, grants: &[UlGrant], mac: &Mac, cell_id: u16) -> CliResult<SentSlot> {
        let n = self.scheduled;
        let slot_in_frame = (n % self.num.slots_per_frame() as u64) as u32;
        let len = self.num.slot_len(slot_in_frame);
        self.grants.clear();
        self.pdus.clear();
        if self.pattern.is_ul(n) {
            self.ul_slots += 1;
            for g in grants.iter().filter(|g| g.carrier as usize == self.index) {
                let rnti = mac.ues()[g.ue as usize].rnti;
                let pdu = g.pusch_pdu(rnti, cell_id, slot_in_frame as u16);
                let u = g.ue as usize;
                // Each layer sends on its own antenna (no precoder): the power
                // is split equally over them (TS 38.213 §7.1.1).
                let per_layer = 1.0 / (g.layers.max(1) as f32).sqrt();
                let amp = per_layer
                    * if self.power_control {
                        power_amplitude(g.tx_power_dbm, g.n_prb, self.p_max_dbm[u], self.num.n_sc())
                    } else {
                        1.0
                    };
                let st = self.ues[u].as_mut().ok_or_else(|| {
                    format!(
                        "UE {u} granted on carrier {}, which it may not use",
                        self.name
                    )
                })?;
                st.transmit(g, &pdu, len, amp)?;
                self.pdus.push(pdu);
                self.grants.push(g.clone());
            }
            // Every UE antenna on the carrier is a TX stream: silent UEs send zeros.
            for (u, st) in self.ues.iter_mut().enumerate() {
                if let Some(st) = st {
                    if !self.grants.iter().any(|g| g.ue as usize == u) {
                        st.silence(len);
                    }
                }
            }
            let streams = self
                .ues
                .iter()
                .flatten()
                .flat_map(|st| st.samples.iter().map(|b| &b[..len]));
            mix(streams, &mut self.tx_mix, len, self.link.tx_scale);
            let txs = stack_ref(&self.tx_mix, len);
            self.link.radio.transmit(
                &txs[..self.tx_mix.len()],
                TxTime::At(self.sample_time),
                true,
            )?;
        }
        let ring = self.pending.len() as u64;
        let p = &mut self.pending[(n % ring) as usize];
        p.index = n;
        p.slot_in_frame = slot_in_frame;
        p.len = len;
        p.time = self.sample_time;
        // Swapped, not cloned: `pdus` and `grants` are cleared before the next slot.
        std::mem::swap(&mut p.pdus, &mut self.pdus);
        std::mem::swap(&mut p.grants, &mut self.grants);
        let sent = SentSlot {
            index: n,
            slot_in_frame,
            len,
            time: self.sample_time,
        };
        self.sample_time += len as i64;
        self.scheduled += 1;
        Ok(sent)
    }

    /// Whether the oldest sent slot is due at the gNB: the radio is
    /// `lookahead` slots ahead, or nothing more will be sent.
    pub fn receive_due(&self, more: bool) -> bool {
        self.slots_run < self.scheduled
            && (self.scheduled - self.slots_run > self.link.lookahead as u64 || !more)
    }

    /// The gNB side of the oldest sent slot: its samples from the radio,
    /// to the uplink PHY when it carries PUSCHs. A slot the pipeline
    /// cannot take is dropped: its blocks count as not received.
    pub fn receive(&mut self, now: u64, mac: &mut Mac, tap: &mut Option<Tap<'_>>) -> CliResult {
        let ring = self.pending.len() as u64;
        let p = &self.pending[(self.slots_run % ring) as usize];
        let radio = self.link.radio.as_mut();
        let reader = &mut self.reader;
        if p.pdus.is_empty() {
            receive_slot(reader, radio, &mut self.rx_bufs, p, tap)?;
        } else {
            let submitted = self.phy.submit_with(p.slot_in_frame, &p.pdus, |rx| {
                receive_slot(reader, radio, rx, p, tap).map_err(Submit::Radio)
            });
            match submitted {
                Ok(()) => {
                    self.submitted.push_back(p.index);
                    for g in &p.grants {
                        if let Some(st) = self.ues[g.ue as usize].as_mut() {
                            st.awaiting[g.harq_id as usize & 15] = Some(g.clone());
                        }
                    }
                }
                Err(Submit::Phy(SubmitError::Dropped(_))) => {
                    self.dropped_slots += 1;
                    receive_slot(reader, radio, &mut self.rx_bufs, p, tap)?;
                    for g in &p.grants {
                        let out = mac.on_crc(
                            now,
                            &UlCrc {
                                ue: g.ue,
                                carrier: self.index as u8,
                                harq_id: g.harq_id,
                                ok: false,
                                sinr_db: None,
                            },
                        );
                        if let Some(st) = self.ues[g.ue as usize].as_mut() {
                            st.account(g, out, false, true);
                        }
                    }
                }
                Err(Submit::Phy(e)) => return Err(e.to_string().into()),
                Err(Submit::Radio(e)) => return Err(e),
            }
        }
        self.slots_run += 1;
        Ok(())
    }

    /// Feeds completed slots' CRC indications back to the MAC at `now`
    /// (µs). `Wait::Due` (free pace) waits for every slot that ended a slot
    /// or more before `now` (the MAC's decoding time, `MacConfig::decode_us`)
    /// and takes no later one, so a seed gives the same run with any worker
    /// count while the pipeline decodes the newest slot beside the UE side's
    /// next one; `Wait::All` waits for everything (end of the run);
    /// `Wait::None` (real-time pace) takes what has completed.
    pub fn collect(&mut self, now: u64, wait: Wait, mac: &mut Mac) {
        // Carrier slot number of `now`; slot s ends at (s + 1) slots and its
        // CRC is due one slot later.
        let current = now / self.slot_us;
        while let Some(&s) = self.submitted.front() {
            let timeout = match wait {
                Wait::All => Some(Duration::from_secs(60)),
                Wait::Due if s + 2 <= current => Some(Duration::from_secs(60)),
                Wait::Due => break,
                Wait::None => None,
            };
            if !self.poll(timeout, now, mac) {
                break;
            }
            self.submitted.pop_front();
        }
    }

    /// Takes the oldest slot's indications (waiting up to `wait`).
    fn poll(&mut self, wait: Option<Duration>, now: u64, mac: &mut Mac) -> bool {
        let (ues, c) = (&mut self.ues, self.index as u8);
        self.phy.poll(wait, |ind| {
            let Some(ue) = mac.ue_of(ind.rnti) else {
                return;
            };
            let Some(st) = ues[ue as usize].as_mut() else {
                return;
            };
            let Some(g) = st.awaiting[ind.harq_id as usize & 15].take() else {
                return;
            };
            // The cell knows what was sent: a CRC pass with wrong bits (e.g. a
            // lone rv 2/3 decoding to the all-zero codeword, whose CRC is zero) is
            // counted as an undetected error and handled as a NACK.
            let crc_ok = if ind.crc_ok && ind.tb != st.tb[g.harq_id as usize] {
                st.ul.undetected += 1;
                false
            } else {
                ind.crc_ok
            };
            if let Some(s) = ind.sinr_db {
                st.ul.sinr_sum += s as f64;
                st.ul.sinr_n += 1;
            }
            let out = mac.on_crc(now, &UlCrc::from_indication(ue, c, &ind, crc_ok));
            st.account(&g, out, crc_ok, false);
        })
    }
}

/// How long [`CarrierPath::collect`] waits for the uplink PHY.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wait {
    /// For the slots whose CRC is due now, and no other.
    Due,
    /// For every submitted slot.
    All,
    /// Not at all: what has completed.
    None,
}
