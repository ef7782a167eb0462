//! The gNB cell as a library type: [`Cell::new`] builds the MAC, the
//! scheduler, the UEs (their PUSCH transmitters and channels), the radio (the
//! software channel or SoapySDR devices) and the uplink and downlink PHY
//! pipelines from a [`Scenario`]; [`Cell::run_slot`] runs one slot;
//! [`Cell::finish`] drains the pipeline and gives the [`Report`]. `ranlab
//! loopback`, `record` and `bench slot` are drivers over it.
//!
//! It lives in `tools` because it is the one crate that sees every block
//! (MAC and scheduler, PHY, radio, channel model) and the scenario format.
//!
//! Per slot: the MAC runs its timers and traffic, the scheduler grants
//! PUSCHs on uplink slots, each granted UE encodes its transport block (the
//! same bits again for a retransmission) and sends the OFDM burst timed at the
//! slot start; the gNB reads the slot's samples from the radio into the
//! uplink PHY ([`UplinkPhy::submit_with`]); its CRC indications
//! ([`UplinkPhy::poll`], keyed by RNTI and HARQ process) go back to HARQ and
//! link adaptation before the next uplink slot is scheduled (`--pace free`:
//! the cell waits for them, so a seed gives the same run with any worker
//! count). A slot the pipeline cannot take is dropped with its reason; its
//! transport blocks count as not received (HARQ retransmits them, and a
//! block whose last transmission was dropped is reported as dropped, not
//! failed).

pub(crate) mod downlink;
pub mod radio;
pub mod report;
pub(crate) mod stats;
mod ue;

use self::downlink::Downlink;
use self::radio::{
    mix, open_soapy, receive_slot, sim_link, stack_ref, Link, RadioChoice, RadioKind, Request,
    MAX_STREAMS,
};
use self::report::{CellReport, RadioReport, Report, Timing, UeReport, Verdict};
use self::stats::LinkStats;
use self::ue::{UeState, MAX_HARQ_TX};
use crate::scenario::{Duplex, Scenario};
use crate::CliResult;
use num_complex::Complex32;
use ranlab_mac::la::McsSelector;
use ranlab_mac::mcs::McsTable;
use ranlab_mac::timing::{CarrierTiming, SlotPattern};
use ranlab_mac::{CarrierConfig, Mac, MacConfig, UlCrc, UlGrant};
use ranlab_phy::numerology::{carrier_prbs, CyclicPrefix, FrequencyRange, Numerology, Scs};
use ranlab_phy::ofdm::OfdmOptions;
use ranlab_phy::pdu::PuschPdu;
use ranlab_phy::pipeline::uplink_phy::{UplinkPhy, UplinkPhyConfig};
use ranlab_phy::pipeline::{PipelineConfig, SubmitError};
use ranlab_phy::pusch::PuschRxConfig;
use ranlab_sched::{Policy, SchedConfig, Scheduler, UlScheduler};
use ranlab_sdr::radio::TxTime;
use ranlab_sdr::reader::TimedReader;
use std::time::{Duration, Instant};

/// Pacing of the run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Pace {
    /// As fast as the CPU allows, each slot's results back before the next is
    /// scheduled; deterministic (CI). Over SoapySDR the device clock still
    /// runs on its own (`mode=realtime` or hardware), only the waiting stays.
    Free,
    /// The simulated clock paced to the wall clock, one slot per slot
    /// duration; results are taken as they come (over SoapySDR: never wait
    /// for the decoder, as a live gNB must not).
    Realtime,
}

/// How the cell runs.
#[derive(Clone, Debug)]
pub struct CellOptions {
    /// Radio clock pacing.
    pub pace: Pace,
    /// Pipeline workers.
    pub workers: usize,
    /// The radio: the simulated channel or SoapySDR devices.
    pub radio: RadioChoice,
    /// Every new uplink grant set to this allocation (benches), or the scheduler's.
    pub fixed_ul: Option<FixedUl>,
}

impl Default for CellOptions {
    fn default() -> Self {
        CellOptions {
            pace: Pace::Free,
            workers: 1,
            radio: RadioChoice::default(),
            fixed_ul: None,
        }
    }
}

/// What the gNB received in one slot, handed to a tap (`ranlab record`).
pub struct RxSlot<'a> {
    /// Slot number since the start of the run.
    pub index: u64,
    /// Slot number within the frame.
    pub slot_in_frame: u32,
    /// Device time of the slot's first sample.
    pub time: i64,
    /// The samples, one slice per gNB antenna.
    pub samples: &'a [&'a [Complex32]],
    /// The PUSCHs scheduled in the slot.
    pub pdus: &'a [PuschPdu],
}

/// A consumer of every received slot.
pub type Tap<'a> = &'a mut dyn FnMut(RxSlot<'_>) -> CliResult;

/// What one [`Cell::run_slot`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlotStep {
    /// The slot scheduled and transmitted (UE side), if one was.
    pub scheduled: Option<u64>,
    /// The slot the gNB received, if one was.
    pub received: Option<u64>,
}

/// A fixed uplink allocation replacing the scheduler's choice for every new
/// transport block: the whole carrier at one MCS and layer count (benches).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FixedUl {
    /// MCS table, 1 or 2 (TS 38.214 Tables 5.1.3.1-1/2).
    pub mcs_table: u8,
    /// MCS index.
    pub mcs: u8,
    /// Layers.
    pub layers: u8,
}

/// A slot the UE side has sent and the gNB side has still to receive.
struct Pending {
    index: u64,
    slot_in_frame: u32,
    len: usize,
    time: i64,
    /// The slot's PDUs, one per grant.
    pdus: Vec<PuschPdu>,
    grants: Vec<UlGrant>,
}

/// Slots whose results may still be outstanding when the next uplink slot is scheduled.
const MAX_IN_FLIGHT: usize = 4;
/// PUSCHs one slot can carry.
const MAX_PDUS: usize = 16;

/// The gNB of one carrier with its UEs and radio.
pub struct Cell {
    /// The scenario as run.
    scenario: Scenario,
    name: String,
    cell_id: u16,
    seed: u64,
    slots: u64,
    pace: Pace,
    workers: usize,
    fixed: Option<FixedUl>,
    link_desc: String,
    carrier_name: String,
    num: Numerology,
    pattern: SlotPattern,
    slot_us: u64,
    budget_us: f64,
    mac: Mac,
    sched: UlScheduler,
    ues: Vec<UeState>,
    snrs: Vec<f64>,
    link: Link,
    downlink: Option<Downlink>,
    phy: UplinkPhy,
    reader: TimedReader,
    /// Where a dropped slot's samples are read to.
    rx_bufs: Vec<Vec<Complex32>>,
    /// UE antenna streams added onto the radio's TX channels.
    tx_mix: Vec<Vec<Complex32>>,
    grants: Vec<UlGrant>,
    pdus: Vec<PuschPdu>,
    /// Slots sent and not yet received, `lookahead + 1` of them in a ring.
    pending: Vec<Pending>,
    sample_time: i64,
    scheduled: u64,
    slots_run: u64,
    dropped_slots: u64,
    interrupted: bool,
    started: Option<Instant>,
}

impl Cell {
    /// Builds the cell of scenario `s`: opens the radio (SoapySDR devices
    /// first, their channels bound the gNB antennas), the UEs, MAC,
    /// scheduler and the PHY pipelines.
    pub fn new(s: &Scenario, o: &CellOptions) -> CliResult<Cell> {
        check_waveform_scenario(s)?;
        let c = &s.cell.carriers[0];
        let num = numerology(s)?;
        let n_prb = num.n_prb();
        let slot_len_max = (0..num.slots_per_frame())
            .map(|k| num.slot_len(k))
            .max()
            .unwrap_or(0);
        let tx_streams: usize = s.ues.iter().map(|g| (g.count * g.antennas) as usize).sum();
        let soapy = match o.radio.kind {
            RadioKind::Sim => {
                if s.radio.is_some() {
                    eprintln!("note: the scenario's [radio] board settings apply to --radio soapy; the simulated channel runs without them");
                }
                None
            }
            RadioKind::Soapy => Some(open_soapy(
                &o.radio.with_profile(s.radio.as_ref()),
                &Request {
                    n_rx: c.antennas as usize,
                    tx_streams,
                    sample_rate_hz: num.sample_rate_hz(),
                    center_frequency_hz: c.center_frequency_mhz * 1e6,
                    scs_khz: c.scs_khz,
                    slot_len: slot_len_max,
                    occupancy: num.n_sc() as f64 / num.fft_size() as f64,
                },
            )?),
        };
        let n_rx = soapy.as_ref().map_or(c.antennas as usize, |l| l.n_rx);
        let max_tx_layers = soapy.as_ref().map_or(usize::MAX, |l| l.tx_channels);
        let pattern = match c.duplex {
            Duplex::Tdd => SlotPattern::tdd(c.tdd_pattern.as_deref().unwrap_or("U"))
                .map_err(|e| format!("cell.carriers[0].tdd_pattern: {e}"))?,
            Duplex::Fdd => SlotPattern::fdd(),
            Duplex::Sul => SlotPattern::sul(),
        };
        let timing = CarrierTiming::new(c.scs_khz, pattern.clone());
        let slot_us = timing.slot_us;
        // DM-RS type 1, type A position 2, one additional position, 2 CDM groups without data:
        // two DM-RS symbols of 12 REs per PRB carry no data (TS 38.214 §6.1.4.2 N_DMRS^PRB).
        let carrier = CarrierConfig {
            name: c.name.clone(),
            timing,
            n_prb,
            sul: false,
            dci_carrier: 0,
            rx_antennas: n_rx as u16,
            n_symbols: 14,
            dmrs_re_per_prb: 24,
            overhead_re: 0,
            // Loopback holds each UE at its scenario SNR: no open-loop power control.
            p0_dbm: 0.0,
            alpha: 0.0,
        };
        if s.ue_count() as usize > MAX_PDUS {
            return Err(format!(
                "ue: {} UEs in loopback (at most {MAX_PDUS}, one PUSCH each per slot)",
                s.ue_count()
            )
            .into());
        }
        let seed = s.channel.seed;
        let setup = ue::setup(s, &num, n_rx, max_tx_layers)?;
        let max_slot_len = slot_len_max;
        let link = match soapy {
            Some(l) => l,
            None => sim_link(
                &num,
                c,
                &setup,
                n_rx,
                tx_streams,
                max_slot_len,
                o.pace,
                seed,
            )?,
        };
        if let Some(note) = &link.note {
            eprintln!("note: {note}");
        }
        let max_ue_antennas = s.ues.iter().map(|g| g.antennas as usize).max().unwrap_or(0);
        if n_rx > MAX_STREAMS || link.tx_channels > MAX_STREAMS || max_ue_antennas > MAX_STREAMS {
            return Err(format!(
                "{n_rx} gNB antennas, {} radio TX channels, {max_ue_antennas} antennas per UE: at most {MAX_STREAMS} each in loopback",
                link.tx_channels
            )
            .into());
        }

        let ofdm = OfdmOptions::default();
        let ues = s
            .ues
            .iter()
            .flat_map(|g| std::iter::repeat_n(g, g.count as usize))
            .enumerate()
            .map(|(i, g)| UeState::new(i, g, num, ofdm, max_slot_len, seed))
            .collect::<CliResult<Vec<_>>>()?;
        let mac = Mac::new(
            vec![carrier],
            setup.contexts,
            MacConfig {
                k2_min: 1,
                decode_us: slot_us,
                pf_window_s: 0.05,
            },
        );
        // The downlink runs over the simulated air only.
        let downlink = match o.radio.kind {
            RadioKind::Sim => {
                let rntis: Vec<u16> = mac.ues().iter().map(|u| u.rnti).collect();
                Some(Downlink::new(
                    num,
                    pattern.clone(),
                    slot_us,
                    &setup.links,
                    &setup.dl_snrs,
                    &rntis,
                    s.cell.id,
                    seed,
                    o.workers,
                )?)
            }
            RadioKind::Soapy => None,
        };
        let sched = UlScheduler::new(
            SchedConfig {
                policy: s.cell.scheduler,
                max_ues_per_carrier: MAX_PDUS,
                ..SchedConfig::default()
            },
            McsSelector::shannon_gap(McsTable::Qam256, 3.0),
        );
        let max_layers = s
            .ues
            .iter()
            .map(|g| (g.antennas as usize).min(max_tx_layers))
            .max()
            .unwrap_or(1);
        let ues_n = s.ue_count() as usize;
        let rx_cfg = rx_config(n_rx, max_layers, ues_n, o.workers);
        let budget_us = slot_us as f64 * 2.0; // a slot's samples plus one slot of processing (K2 >= 1)
        let phy = UplinkPhy::new(UplinkPhyConfig {
            num,
            rx: rx_cfg,
            ofdm,
            receivers: ul_receivers(ues_n, o.workers),
            pool: MAX_IN_FLIGHT + 1,
            max_pdus: MAX_PDUS,
            pipeline: PipelineConfig {
                workers: o.workers,
                pin: true,
                cores: Vec::new(),
                deadline: Duration::from_micros(budget_us as u64),
            },
        })?;
        let link_desc = format!(
            "PUSCH over {}, {} PRB at {} kHz, {} gNB antennas, ZF, LDPC {} iterations, {} scheduler with HARQ (max {} tx) and OLLA",
            match o.radio.kind {
                RadioKind::Sim => format!(
                    "{} ({:.0} ns, {:.0} km/h)",
                    s.channel.model.name(),
                    s.channel.delay_spread_ns,
                    s.channel.speed_kmh
                ),
                RadioKind::Soapy => format!(
                    "SoapySDR {} ({} TX channels, bursts {} slots ahead)",
                    link.radio.info().hardware,
                    link.tx_channels,
                    link.lookahead
                ),
            },
            n_prb,
            c.scs_khz,
            n_rx,
            rx_cfg.ldpc_iterations,
            s.cell.scheduler.name().to_uppercase(),
            MAX_HARQ_TX
        );
        let lookahead = link.lookahead;
        Ok(Cell {
            scenario: s.clone(),
            name: s.name.clone(),
            cell_id: s.cell.id,
            seed,
            slots: s.slots,
            pace: o.pace,
            workers: o.workers,
            fixed: o.fixed_ul,
            link_desc,
            carrier_name: c.name.clone(),
            num,
            pattern,
            slot_us,
            budget_us,
            mac,
            sched,
            ues,
            snrs: setup.snrs,
            downlink,
            phy,
            reader: TimedReader::new(n_rx, max_slot_len),
            rx_bufs: vec![vec![Complex32::default(); max_slot_len]; n_rx],
            tx_mix: vec![vec![Complex32::default(); max_slot_len]; link.tx_channels],
            link,
            grants: Vec::with_capacity(MAX_PDUS),
            pdus: Vec::with_capacity(MAX_PDUS),
            pending: (0..=lookahead)
                .map(|_| Pending {
                    index: 0,
                    slot_in_frame: 0,
                    len: 0,
                    time: 0,
                    pdus: Vec::with_capacity(MAX_PDUS),
                    grants: Vec::with_capacity(MAX_PDUS),
                })
                .collect(),
            sample_time: 0,
            scheduled: 0,
            slots_run: 0,
            dropped_slots: 0,
            interrupted: false,
            started: None,
        })
    }

    /// Slots the scenario runs.
    pub fn slots(&self) -> u64 {
        self.slots
    }

    /// Stops scheduling new slots (Ctrl-C); what was sent is still
    /// received, and the report is marked interrupted.
    pub fn interrupt(&mut self) {
        if self.scheduled < self.slots {
            self.interrupted = true;
        }
    }

    /// Starts the radio (on the first slot).
    fn start(&mut self) -> CliResult {
        let max_slot_len = self.reader_len();
        let radio = &mut self.link.radio;
        radio.start()?;
        // The UE side runs `lookahead` slots ahead of the gNB side (a device
        // needs its bursts before its clock reaches them); slot 0 starts on a
        // slot boundary that far past the device time now.
        let ahead = (self.link.lookahead * max_slot_len) as i64;
        self.sample_time = radio.hardware_time().map_or(0, |t| {
            (t + ahead + max_slot_len as i64 - 1).div_euclid(max_slot_len as i64)
        }) * max_slot_len as i64;
        self.started = Some(Instant::now());
        Ok(())
    }

    fn reader_len(&self) -> usize {
        self.rx_bufs.first().map_or(0, |b| b.len())
    }

    /// Runs one step: schedules and sends the next slot (unless every slot
    /// is sent or the run was interrupted) and receives the oldest sent slot
    /// once it is due. `None` when every sent slot has been received.
    pub fn run_slot(&mut self, mut tap: Option<Tap<'_>>) -> CliResult<Option<SlotStep>> {
        if self.started.is_none() {
            self.start()?;
        }
        let more = self.scheduled < self.slots && !self.interrupted;
        let now = self.scheduled * self.slot_us;
        let mut step = SlotStep {
            scheduled: None,
            received: None,
        };
        if more {
            step.scheduled = Some(self.scheduled);
            self.send_slot()?;
        }
        // The gNB receives every slot (the device clock runs on); uplink slots
        // with PUSCHs go to the pipeline.
        let lookahead = self.link.lookahead as u64;
        if self.slots_run < self.scheduled && (self.scheduled - self.slots_run > lookahead || !more)
        {
            step.received = Some(self.slots_run);
            self.receive(now, &mut tap)?;
        } else if !more {
            return Ok(None);
        }
        if more {
            self.mac.end_slot(self.slot_us);
        }
        Ok(Some(step))
    }

    /// The UE side of the next slot: results of earlier slots, MAC, the
    /// scheduler's grants, the UEs' PUSCHs on the radio, and the downlink.
    fn send_slot(&mut self) -> CliResult {
        let n = self.scheduled;
        let now = n * self.slot_us;
        let slot_in_frame = (n % self.num.slots_per_frame() as u64) as u32;
        let len = self.num.slot_len(slot_in_frame);
        // Results of earlier slots come back before this slot is scheduled.
        self.collect(now, self.pace == Pace::Free);
        self.mac.begin_slot(now);
        self.grants.clear();
        self.pdus.clear();
        if self.pattern.is_ul(n) {
            self.sched.schedule_ul(
                now,
                &[true],
                self.mac.carriers(),
                self.mac.ues(),
                &mut self.grants,
            );
            if let Some(f) = self.fixed {
                for g in self.grants.iter_mut().filter(|g| g.new_data) {
                    f.apply(g, &self.mac.carriers()[0]);
                }
            }
            self.mac.apply_grants(now, &mut self.grants);
            for g in &self.grants {
                let rnti = self.mac.ues()[g.ue as usize].rnti;
                let pdu = g.pusch_pdu(rnti, self.cell_id, slot_in_frame as u16);
                self.pdus.push(pdu);
                self.ues[g.ue as usize].transmit(g, &pdu, len)?;
            }
            // Every UE antenna is a TX stream: silent UEs send zeros.
            for (u, st) in self.ues.iter_mut().enumerate() {
                if !self.grants.iter().any(|g| g.ue as usize == u) {
                    st.silence(len);
                }
            }
            let streams = self
                .ues
                .iter()
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
        if let Some(dl) = self.downlink.as_mut() {
            dl.run_slot(n, slot_in_frame, len, self.sample_time)?;
        }
        self.sample_time += len as i64;
        self.scheduled += 1;
        Ok(())
    }

    /// The gNB side of the oldest sent slot: its samples from the radio,
    /// to the uplink PHY when it carries PUSCHs.
    fn receive(&mut self, now: u64, tap: &mut Option<Tap<'_>>) -> CliResult {
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
                    for g in &p.grants {
                        self.ues[g.ue as usize].awaiting[g.harq_id as usize] = Some(g.clone());
                    }
                }
                Err(Submit::Phy(SubmitError::Dropped(_))) => {
                    self.dropped_slots += 1;
                    receive_slot(reader, radio, &mut self.rx_bufs, p, tap)?;
                    for g in &p.grants {
                        let out = self.mac.on_crc(
                            now,
                            &UlCrc {
                                ue: g.ue,
                                carrier: 0,
                                harq_id: g.harq_id,
                                ok: false,
                                sinr_db: None,
                            },
                        );
                        self.ues[g.ue as usize].account(g, out, false, true);
                    }
                }
                Err(Submit::Phy(e)) => return Err(e.to_string().into()),
                Err(Submit::Radio(e)) => return Err(e),
            }
        }
        self.slots_run += 1;
        Ok(())
    }

    /// Feeds completed slots' CRC indications back to the MAC; with
    /// `wait_all`, waits for every submitted slot (in submit order, so the
    /// run is the same with any worker count).
    fn collect(&mut self, now: u64, wait_all: bool) {
        let wait = wait_all.then_some(Duration::from_secs(60));
        let (mac, ues) = (&mut self.mac, &mut self.ues);
        while self.phy.poll(wait, |ind| {
            let Some(ue) = mac.ue_of(ind.rnti) else {
                return;
            };
            let st = &mut ues[ue as usize];
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
            let out = mac.on_crc(now, &UlCrc::from_indication(ue, 0, &ind, crc_ok));
            st.account(&g, out, crc_ok, false);
        }) {}
    }

    /// Drains the pipeline, stops the radio and reports the run.
    pub fn finish(mut self) -> CliResult<Report> {
        // Every submitted slot completes.
        self.collect(self.slots_run * self.slot_us, true);
        let wall = self.started.map_or(0.0, |t| t.elapsed().as_secs_f64());
        let radio = &mut self.link.radio;
        if self.started.is_some() {
            radio.stop()?;
        }
        let slots_run = self.slots_run;
        let air_s = slots_run as f64 * self.slot_us as f64 * 1e-6;
        let mut report = Report {
            version: env!("CARGO_PKG_VERSION").to_string(),
            config: Some(self.scenario.clone()),
            scenario: self.name.clone(),
            slots: slots_run,
            seed: self.seed,
            interrupted: self.interrupted,
            air_time_s: air_s,
            link: self.link_desc.clone(),
            ..Report::default()
        };
        let mut cell_ul = LinkStats::default();
        for (i, st) in self.ues.iter().enumerate() {
            let ue = &self.mac.ues()[i];
            report.ues.push(UeReport {
                id: i as u32,
                rnti: ue.rnti,
                ul_goodput_mbps: st.ul.goodput_mbps(air_s),
                dl_goodput_mbps: 0.0,
                bler: st.ul.bler(),
                bler_first_tx: st.ul.bler_first_tx(),
                tb_ok: st.ul.ok,
                tb_failed: st.ul.failed,
                tb_dropped: st.ul.dropped,
                tb_in_flight: ue.carriers[0].harq.busy() as u64,
                transmissions: st.ul.transmissions,
                mcs_mean: st.ul.mcs_mean(),
                sinr_db: st.ul.sinr_db().unwrap_or(self.snrs[i]),
                tb_undetected: st.ul.undetected,
                drop_reasons: if st.ul.dropped > 0 {
                    vec![(
                        "last HARQ transmission dropped: pipeline behind".into(),
                        st.ul.dropped,
                    )]
                } else {
                    vec![]
                },
                ul_carriers: vec![self.carrier_name.clone()],
                ..UeReport::default()
            });
            cell_ul.add(&st.ul);
        }
        report.cell = CellReport {
            ul_goodput_mbps: cell_ul.goodput_mbps(air_s),
            dl_goodput_mbps: 0.0,
            bler: cell_ul.bler(),
            bler_first_tx: cell_ul.bler_first_tx(),
            ..CellReport::default()
        };
        if let Some(dl) = &self.downlink {
            dl.report(&mut report.ues, &mut report.cell, air_s);
            report.link += &format!(
                "; downlink: PDSCH from 1 gNB antenna to every UE antenna, one UE per D slot (PF), 256QAM table, HARQ (max {MAX_HARQ_TX} tx, ACK in the next U slot) and OLLA"
            );
        }
        let mut t = Timing::from_metrics(
            self.phy.metrics(),
            self.phy.stages(),
            self.budget_us,
            self.workers,
        );
        t.wall_s = wall;
        t.realtime_factor = air_s / wall.max(1e-9);
        t.dropped_slots = self.dropped_slots;
        if let Some(dl) = &self.downlink {
            let (m, stages) = dl.pipeline_metrics();
            t.downlink = Some(
                Timing::from_metrics(m, stages, 2.0 * self.slot_us as f64, self.workers).into(),
            );
        }
        report.timing = t;
        report.radio = RadioReport::from((radio.info().driver.as_str(), radio.events()));
        report.verdict = Verdict::of(
            self.pace == Pace::Realtime,
            &report.timing,
            &report.radio,
            &report.ues,
        );
        Ok(report)
    }
}

/// Refuses what the waveform cell cannot honour yet, naming the key.
fn check_waveform_scenario(s: &Scenario) -> CliResult {
    if s.cell.carriers.len() > 1 {
        return Err(format!(
            "cell.carriers: {} carriers, but the waveform cell runs one carrier; uplink carrier aggregation and SUL run with the link abstraction (`ranlab system`)",
            s.cell.carriers.len()
        )
        .into());
    }
    if s.cell.scheduler != Policy::Qos {
        if let Some((i, g)) = s
            .ues
            .iter()
            .enumerate()
            .find(|(_, g)| g.qos_class != crate::scenario::QosClass::BestEffort)
        {
            return Err(format!(
                "ue[{i}].qos_class = \"{}\": the {} scheduler does not look at QoS classes; set cell.scheduler = \"qos\" (or leave the class at best_effort)",
                g.qos_class.name(),
                s.cell.scheduler.name()
            )
            .into());
        }
    }
    Ok(())
}

/// Why a slot did not reach the uplink PHY.
enum Submit {
    Phy(SubmitError),
    Radio(Box<dyn std::error::Error>),
}

impl From<SubmitError> for Submit {
    fn from(e: SubmitError) -> Self {
        Submit::Phy(e)
    }
}

/// Runs the scenario to the end and returns its report.
pub fn run(s: &Scenario, o: &CellOptions, mut tap: Option<Tap<'_>>) -> CliResult<Report> {
    let mut cell = Cell::new(s, o)?;
    while cell
        .run_slot(match &mut tap {
            Some(t) => Some(&mut **t),
            None => None,
        })?
        .is_some()
    {}
    cell.finish()
}

impl FixedUl {
    /// Makes `g` this allocation over every PRB and symbol of carrier `cc`.
    fn apply(&self, g: &mut UlGrant, cc: &CarrierConfig) {
        g.mcs_table = self.mcs_table;
        g.mcs = self.mcs;
        g.layers = self.layers;
        g.prb_start = 0;
        g.n_prb = cc.n_prb;
        g.start_symbol = 0;
        g.n_symbols = 14;
        g.dmrs_port = 0;
        let table = if self.mcs_table == 2 {
            McsTable::Qam256
        } else {
            McsTable::Qam64
        };
        g.tbs_bits = ranlab_mac::mcs::tbs(
            table,
            self.mcs,
            cc.n_prb as u32,
            cc.re_per_prb(),
            self.layers as u32,
        );
    }
}

/// The numerology of the scenario's first carrier.
pub fn numerology(s: &Scenario) -> CliResult<Numerology> {
    let c = &s.cell.carriers[0];
    let scs = Scs::from_khz(c.scs_khz).map_err(|e| format!("cell.carriers[0].scs_khz: {e}"))?;
    let fr = if c.center_frequency_mhz > 7_125.0 {
        FrequencyRange::Fr2
    } else {
        FrequencyRange::Fr1
    };
    let n_prb =
        carrier_prbs(fr, c.bandwidth_mhz, scs).map_err(|e| format!("cell.carriers[0]: {e}"))?;
    Ok(Numerology::new(scs, CyclicPrefix::Normal, n_prb, None)
        .map_err(|e| format!("cell.carriers[0]: {e}"))?)
}

/// The gNB PUSCH receivers of the uplink job for `ues` UEs and `workers`
/// workers: one per UE, so every PUSCH of a slot takes the split (parallel)
/// stages, up to 8 (each holds its own front-end and soft buffers), and at
/// least `workers + 1`.
pub fn ul_receivers(ues: usize, workers: usize) -> usize {
    ues.min(8).max(workers + 1)
}

/// The gNB PUSCH receiver settings of the loopback: `n_rx` antennas, up to
/// `max_layers` layers per PUSCH, and HARQ soft buffers for `ues` UEs spread
/// over the [`ul_receivers`] receivers of the uplink job (16 processes per UE
/// on each receiver its RNTIs map to, so no waiting block is ever evicted).
pub fn rx_config(n_rx: usize, max_layers: usize, ues: usize, workers: usize) -> PuschRxConfig {
    let mut cfg = PuschRxConfig::new(n_rx, max_layers.clamp(1, n_rx.min(4)));
    cfg.harq_buffers = 16 * ues.div_ceil(ul_receivers(ues, workers)).max(1);
    cfg
}

impl Pending {
    fn rx_slot<'a>(&'a self, samples: &'a [&'a [Complex32]]) -> RxSlot<'a> {
        RxSlot {
            index: self.index,
            slot_in_frame: self.slot_in_frame,
            time: self.time,
            samples,
            pdus: &self.pdus,
        }
    }
}
