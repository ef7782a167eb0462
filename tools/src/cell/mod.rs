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
//! link adaptation when they are due, one slot after the PUSCH ends (the
//! MAC's decoding time; `--pace free`: the cell waits for exactly those, so a
//! seed gives the same run with any worker count, while the PHY decodes the
//! newest slot beside the UE side's next one). A slot the pipeline cannot take is dropped with its reason; its
//! transport blocks count as not received (HARQ retransmits them, and a
//! block whose last transmission was dropped is reported as dropped, not
//! failed).

mod carrier;
pub(crate) mod downlink;
pub mod radio;
pub mod report;
pub(crate) mod stats;
mod ue;

use self::carrier::{CarrierParts, CarrierPath, Wait};
use self::downlink::Downlink;
use self::radio::{open_soapy, sim_link, RadioChoice, RadioKind, Request, MAX_STREAMS};
use self::report::{
    CarrierReport, CellReport, ClassReport, PacketReport, RadioReport, Report, Timing,
    UeCarrierReport, UeReport, Verdict,
};
use self::stats::LinkStats;
use self::ue::{UeState, MAX_HARQ_TX};
use crate::scenario::{Duplex, Scenario};
use crate::CliResult;
use num_complex::Complex32;
use ranlab_mac::la::McsSelector;
use ranlab_mac::mcs::McsTable;
use ranlab_mac::timing::{CarrierTiming, SlotPattern};
use ranlab_mac::{CarrierConfig, Mac, MacConfig, UlGrant};
use ranlab_phy::numerology::{carrier_prbs, CyclicPrefix, FrequencyRange, Numerology, Scs};
use ranlab_phy::ofdm::OfdmOptions;
use ranlab_phy::pdu::PuschPdu;
use ranlab_phy::pipeline::uplink_phy::{UplinkPhy, UplinkPhyConfig};
use ranlab_phy::pipeline::{PipelineConfig, SubmitError};
use ranlab_phy::pusch::PuschRxConfig;
use ranlab_sched::{Policy, SchedConfig, Scheduler, SulConfig, UlScheduler};
use std::time::{Duration, Instant};

/// Pacing of the run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Pace {
    /// As fast as the CPU allows, each slot's results taken when due (one
    /// slot after it ends); deterministic (CI). Over SoapySDR the device clock still
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
pub(crate) struct Pending {
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

/// The gNB of one cell, its carriers, UEs and radios.
pub struct Cell {
    /// The scenario as run.
    scenario: Scenario,
    name: String,
    cell_id: u16,
    seed: u64,
    /// Ticks to run: slots of the shortest slot duration among the carriers.
    slots: u64,
    pace: Pace,
    workers: usize,
    fixed: Option<FixedUl>,
    link_desc: String,
    /// The shortest slot of the carriers, µs: the cell's timeline advances by it.
    tick_us: u64,
    mac: Mac,
    sched: UlScheduler,
    /// The component carriers, primary first.
    carriers: Vec<CarrierPath>,
    downlink: Option<Downlink>,
    grants: Vec<UlGrant>,
    /// Per carrier: an uplink slot starts at this tick.
    ul_now: Vec<bool>,
    /// Ticks scheduled.
    scheduled: u64,
    interrupted: bool,
    started: Option<Instant>,
}

impl Cell {
    /// Builds the cell of scenario `s`: opens the radio (SoapySDR devices
    /// first, their channels bound the gNB antennas), the UEs, MAC,
    /// scheduler and, per carrier, the uplink PHY pipeline; the downlink
    /// runs on the primary carrier.
    pub fn new(s: &Scenario, o: &CellOptions) -> CliResult<Cell> {
        check_waveform_scenario(s, o)?;
        let nums = s
            .cell
            .carriers
            .iter()
            .enumerate()
            .map(|(k, _)| carrier_numerology(s, k))
            .collect::<CliResult<Vec<_>>>()?;
        if s.ue_count() as usize > MAX_PDUS {
            return Err(format!(
                "ue: {} UEs in loopback (at most {MAX_PDUS}, one PUSCH each per slot)",
                s.ue_count()
            )
            .into());
        }
        let seed = s.channel.seed;
        // Radios first: a SoapySDR device's channels bound the gNB antennas and UE layers.
        let mut soapy = None;
        if o.radio.kind == RadioKind::Soapy {
            let c = &s.cell.carriers[0];
            let num = &nums[0];
            let tx_streams: usize = s.ues.iter().map(|g| (g.count * g.antennas) as usize).sum();
            soapy = Some(open_soapy(
                &o.radio.with_profile(s.radio.as_ref()),
                &Request {
                    n_rx: c.antennas as usize,
                    tx_streams,
                    sample_rate_hz: num.sample_rate_hz(),
                    center_frequency_hz: c.center_frequency_mhz * 1e6,
                    scs_khz: c.scs_khz,
                    slot_len: max_slot_len(num),
                    occupancy: num.n_sc() as f64 / num.fft_size() as f64,
                },
            )?);
        } else if s.radio.is_some() {
            eprintln!("note: the scenario's [radio] board settings apply to --radio soapy; the simulated channel runs without them");
        }
        let n_rx: Vec<usize> = s
            .cell
            .carriers
            .iter()
            .enumerate()
            .map(|(k, c)| match (&soapy, k) {
                (Some(l), 0) => l.n_rx,
                _ => c.antennas as usize,
            })
            .collect();
        let max_tx_layers = soapy.as_ref().map_or(usize::MAX, |l| l.tx_channels);
        let setup = ue::setup(s, &nums, &n_rx, max_tx_layers)?;
        let mut mac_carriers = Vec::with_capacity(nums.len());
        for (k, (c, num)) in s.cell.carriers.iter().zip(&nums).enumerate() {
            let pattern = match c.duplex {
                Duplex::Tdd => SlotPattern::tdd(c.tdd_pattern.as_deref().unwrap_or("U"))
                    .map_err(|e| format!("cell.carriers[{k}].tdd_pattern: {e}"))?,
                Duplex::Fdd => SlotPattern::fdd(),
                Duplex::Sul => SlotPattern::sul(),
            };
            let sul = c.duplex == Duplex::Sul;
            // DM-RS type 1, type A position 2, one additional position, 2 CDM groups without data:
            // two DM-RS symbols of 12 REs per PRB carry no data (TS 38.214 §6.1.4.2 N_DMRS^PRB).
            mac_carriers.push(CarrierConfig {
                name: c.name.clone(),
                timing: CarrierTiming::new(c.scs_khz, pattern),
                n_prb: num.n_prb(),
                sul,
                // A SUL is scheduled by the primary's PDCCH (TS 38.213 §7.3.1 UL/SUL indicator).
                dci_carrier: if sul { 0 } else { k },
                rx_antennas: n_rx[k] as u16,
                n_symbols: 14,
                dmrs_re_per_prb: 24,
                overhead_re: 0,
                // TS 38.213 §7.1.1 open loop; with channel.snr_db the SNR is held fixed (P0 0, alpha 0).
                p0_dbm: if setup.power_control {
                    c.p0_dbm.unwrap_or(crate::scenario::DEFAULT_P0_DBM) as f32
                } else {
                    0.0
                },
                alpha: if setup.power_control {
                    c.alpha.unwrap_or(1.0) as f32
                } else {
                    0.0
                },
            });
        }
        let tick_us = mac_carriers
            .iter()
            .map(|c| c.timing.slot_us)
            .min()
            .unwrap_or(1000);
        if let Some(c) = mac_carriers
            .iter()
            .find(|c| c.timing.slot_us % tick_us != 0)
        {
            return Err(format!(
                "cell.carriers: the slot of {} is not a multiple of the shortest slot",
                c.name
            )
            .into());
        }
        let ues_n = s.ue_count() as usize;
        let ofdm = OfdmOptions::default();
        let mut carriers = Vec::with_capacity(nums.len());
        let mut soapy = soapy;
        for (k, (c, &num)) in s.cell.carriers.iter().zip(&nums).enumerate() {
            let cl = &setup.carriers[k];
            let tx_streams: usize = s
                .ues
                .iter()
                .filter(|g| s.ue_on_carrier(g, k))
                .map(|g| (g.count * g.antennas) as usize)
                .sum();
            let slot_len = max_slot_len(&num);
            let link = match soapy.take() {
                Some(l) => l,
                None => {
                    let links: Vec<_> = cl
                        .links
                        .iter()
                        .zip(&cl.on)
                        .filter(|(_, &on)| on)
                        .map(|(l, _)| l.clone())
                        .collect();
                    sim_link(&num, c, &links, n_rx[k], tx_streams, slot_len, o.pace, seed)?
                }
            };
            if let Some(note) = &link.note {
                eprintln!("note: {note}");
            }
            let max_ue_antennas = s.ues.iter().map(|g| g.antennas as usize).max().unwrap_or(0);
            if n_rx[k] > MAX_STREAMS
                || link.tx_channels > MAX_STREAMS
                || max_ue_antennas > MAX_STREAMS
            {
                return Err(format!(
                    "{} gNB antennas, {} radio TX channels, {max_ue_antennas} antennas per UE: at most {MAX_STREAMS} each in loopback",
                    n_rx[k], link.tx_channels
                )
                .into());
            }
            let mut ues = Vec::with_capacity(ues_n);
            let mut p_max = Vec::with_capacity(ues_n);
            for (i, g) in s
                .ues
                .iter()
                .flat_map(|g| std::iter::repeat_n(g, g.count as usize))
                .enumerate()
            {
                p_max.push(g.max_tx_power_dbm);
                ues.push(if cl.on[i] {
                    // Carrier 0 keeps the single-carrier random streams.
                    Some(UeState::new(
                        i,
                        g,
                        num,
                        ofdm,
                        slot_len,
                        seed ^ ((k as u64) << 40),
                    )?)
                } else {
                    None
                });
            }
            let max_layers = s
                .ues
                .iter()
                .map(|g| (g.antennas as usize).min(max_tx_layers))
                .max()
                .unwrap_or(1);
            let slot_us = mac_carriers[k].timing.slot_us;
            let budget_us = slot_us as f64 * 2.0; // a slot's samples plus one slot of processing (K2 >= 1)
            let ues_here = cl.on.iter().filter(|&&on| on).count().max(1);
            let phy = UplinkPhy::new(UplinkPhyConfig {
                num,
                rx: rx_config(n_rx[k], max_layers, ues_here, o.workers),
                ofdm,
                receivers: ul_receivers(ues_here, o.workers),
                pool: MAX_IN_FLIGHT + 1,
                max_pdus: MAX_PDUS,
                pipeline: PipelineConfig {
                    workers: o.workers,
                    pin: true,
                    cores: Vec::new(),
                    deadline: Duration::from_micros(budget_us as u64),
                },
            })?;
            carriers.push(CarrierPath::new(CarrierParts {
                index: k,
                name: c.name.clone(),
                duplex: c.duplex,
                num,
                pattern: mac_carriers[k].timing.pattern.clone(),
                slot_us,
                budget_us,
                phy,
                link,
                n_rx: n_rx[k],
                max_slot_len: slot_len,
                ues,
                snrs: cl.snrs.clone(),
                p_max_dbm: p_max,
                power_control: setup.power_control,
                max_pdus: MAX_PDUS,
            }));
        }
        let mac = Mac::new(
            mac_carriers,
            setup.contexts,
            MacConfig {
                k2_min: 1,
                decode_us: carriers[0].slot_us,
                pf_window_s: 0.05,
            },
        );
        // The downlink runs on the primary carrier, over the simulated air only.
        let downlink = match o.radio.kind {
            RadioKind::Sim => {
                let rntis: Vec<u16> = mac.ues().iter().map(|u| u.rnti).collect();
                let p = &carriers[0];
                Some(Downlink::new(
                    p.num,
                    p.pattern.clone(),
                    p.slot_us,
                    &setup.carriers[0].links,
                    &setup.dl_snrs,
                    &rntis,
                    s.cell.id,
                    seed,
                    o.workers,
                )?)
            }
            RadioKind::Soapy => None,
        };
        let sul_idx = s.cell.carriers.iter().position(|c| c.duplex == Duplex::Sul);
        let sched = UlScheduler::new(
            SchedConfig {
                policy: s.cell.scheduler,
                max_ues_per_carrier: MAX_PDUS,
                sul: match (s.cell.sul, sul_idx) {
                    (Some(sel), Some(i)) => Some(SulConfig {
                        nul: 0,
                        sul: i,
                        threshold_dbm: sel.threshold_dbm as f32,
                        hysteresis: sel.hysteresis as f32,
                    }),
                    _ => None,
                },
                ..SchedConfig::default()
            },
            McsSelector::shannon_gap(McsTable::Qam256, 3.0),
        );
        let p = &carriers[0];
        let link_desc = format!(
            "PUSCH over {}, {}, {} gNB antennas, ZF, LDPC {} iterations, {} scheduler with HARQ (max {} tx) and OLLA{}",
            match o.radio.kind {
                RadioKind::Sim => format!(
                    "{} ({:.0} ns, {:.0} km/h)",
                    s.channel.model.name(),
                    s.channel.delay_spread_ns,
                    s.channel.speed_kmh
                ),
                RadioKind::Soapy => format!(
                    "SoapySDR {} ({} TX channels, bursts {} slots ahead)",
                    p.link.radio.info().hardware,
                    p.link.tx_channels,
                    p.link.lookahead
                ),
            },
            carriers
                .iter()
                .map(|c| format!(
                    "{} {} PRB at {} kHz {}",
                    c.name,
                    c.num.n_prb(),
                    c.num.scs().hz() / 1e3,
                    match c.duplex {
                        Duplex::Tdd => "TDD",
                        Duplex::Fdd => "FDD",
                        Duplex::Sul => "SUL",
                    }
                ))
                .collect::<Vec<_>>()
                .join(" + "),
            n_rx[0],
            rx_config(n_rx[0], 1, 1, 1).ldpc_iterations,
            s.cell.scheduler.name().to_uppercase(),
            MAX_HARQ_TX,
            if setup.power_control {
                ", open-loop power control (TS 38.213 §7.1.1)"
            } else {
                ", per-RE SNR held at channel.snr_db"
            }
        );
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
            tick_us,
            ul_now: vec![false; carriers.len()],
            carriers,
            mac,
            sched,
            downlink,
            grants: Vec::with_capacity(MAX_PDUS * 4),
            scheduled: 0,
            interrupted: false,
            started: None,
        })
    }

    /// Ticks the scenario runs (slots of the shortest slot duration).
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

    /// Starts the radios (on the first slot).
    fn start(&mut self) -> CliResult {
        for c in &mut self.carriers {
            let max_slot_len = c.max_slot_len();
            let radio = &mut c.link.radio;
            radio.start()?;
            // The UE side runs `lookahead` slots ahead of the gNB side (a device
            // needs its bursts before its clock reaches them); slot 0 starts on a
            // slot boundary that far past the device time now.
            let ahead = (c.link.lookahead * max_slot_len) as i64;
            c.sample_time = radio.hardware_time().map_or(0, |t| {
                (t + ahead + max_slot_len as i64 - 1).div_euclid(max_slot_len as i64)
            }) * max_slot_len as i64;
        }
        self.started = Some(Instant::now());
        Ok(())
    }

    /// Runs one step of the timeline (the shortest slot of the carriers):
    /// schedules and sends the slots starting now (unless every slot is
    /// sent or the run was interrupted) and receives each carrier's oldest
    /// sent slot once it is due. `None` when every sent slot has been received.
    pub fn run_slot(&mut self, mut tap: Option<Tap<'_>>) -> CliResult<Option<SlotStep>> {
        if self.started.is_none() {
            self.start()?;
        }
        let more = self.scheduled < self.slots && !self.interrupted;
        let now = self.scheduled * self.tick_us;
        let mut step = SlotStep {
            scheduled: None,
            received: None,
        };
        if more {
            step.scheduled = Some(self.scheduled);
            self.send_tick(now)?;
        }
        // The gNB receives every slot (the device clock runs on); uplink slots
        // with PUSCHs go to the pipeline.
        let mut received = false;
        for c in &mut self.carriers {
            if c.receive_due(more) {
                if c.index == 0 {
                    step.received = Some(c.slots_run);
                }
                received = true;
                c.receive(now, &mut self.mac, &mut tap)?;
            }
        }
        if !more && !received {
            return Ok(None);
        }
        if more {
            self.mac.end_slot(self.tick_us);
            self.scheduled += 1;
        }
        Ok(Some(step))
    }

    /// The UE side of the tick at `now`: results of earlier slots, MAC, the
    /// scheduler's grants over the carriers with an uplink slot starting
    /// now, the UEs' PUSCHs on each carrier's radio, and the downlink.
    fn send_tick(&mut self, now: u64) -> CliResult {
        // Results of earlier slots come back before this slot is scheduled:
        // those due by now (free pace: waited for), or what is done (real time).
        let wait = if self.pace == Pace::Free {
            Wait::Due
        } else {
            Wait::None
        };
        for c in &mut self.carriers {
            c.collect(now, wait, &mut self.mac);
        }
        self.mac.begin_slot(now);
        self.grants.clear();
        for (u, c) in self.ul_now.iter_mut().zip(&self.carriers) {
            *u = c.ul_starts(now);
        }
        if self.ul_now.iter().any(|&u| u) {
            self.sched.schedule_ul(
                now,
                &self.ul_now,
                self.mac.carriers(),
                self.mac.ues(),
                &mut self.grants,
            );
            if let Some(f) = self.fixed {
                for g in self.grants.iter_mut().filter(|g| g.new_data) {
                    f.apply(g, &self.mac.carriers()[g.carrier as usize]);
                }
            }
            self.mac.apply_grants(now, &mut self.grants);
        }
        for c in &mut self.carriers {
            if !c.starts(now) {
                continue;
            }
            let sent = c.send(&self.grants, &self.mac, self.cell_id)?;
            if c.index == 0 {
                if let Some(dl) = self.downlink.as_mut() {
                    dl.run_slot(sent.index, sent.slot_in_frame, sent.len, sent.time)?;
                }
            }
        }
        Ok(())
    }

    /// Drains the pipelines, stops the radios and reports the run.
    pub fn finish(mut self) -> CliResult<Report> {
        // Every submitted slot completes.
        let now = self.scheduled * self.tick_us;
        for c in &mut self.carriers {
            c.collect(now, Wait::All, &mut self.mac);
        }
        let wall = self.started.map_or(0.0, |t| t.elapsed().as_secs_f64());
        if self.started.is_some() {
            for c in &mut self.carriers {
                c.link.radio.stop()?;
            }
        }
        let air_s = self.scheduled as f64 * self.tick_us as f64 * 1e-6;
        let mut report = Report {
            version: env!("CARGO_PKG_VERSION").to_string(),
            config: Some(self.scenario.clone()),
            scenario: self.name.clone(),
            slots: self.scheduled,
            seed: self.seed,
            interrupted: self.interrupted,
            air_time_s: air_s,
            link: self.link_desc.clone(),
            ..Report::default()
        };
        let mut cell_ul = LinkStats::default();
        for (i, ue) in self.mac.ues().iter().enumerate() {
            let mut ul = LinkStats::default();
            let mut carriers = Vec::new();
            for c in &self.carriers {
                let Some(st) = &c.ues[i] else { continue };
                ul.add(&st.ul);
                let uc = ue.on_carrier(c.index);
                carriers.push(UeCarrierReport {
                    name: c.name.clone(),
                    ul_goodput_mbps: st.ul.goodput_mbps(air_s),
                    slots_used: uc.map_or(0, |x| x.stats.slots_scheduled),
                    tb_ok: st.ul.ok,
                    tb_failed: st.ul.failed,
                    tb_dropped: st.ul.dropped,
                    bler_first_tx: st.ul.bler_first_tx(),
                    mcs_mean: st.ul.mcs_mean(),
                    layers_mean: st.ul.layers_mean(),
                    sinr_db: st.ul.sinr_db(),
                    snr_max_power_db: c.snrs[i],
                });
            }
            let in_flight: u64 = ue.carriers.iter().map(|c| c.harq.busy() as u64).sum();
            let mut r = UeReport {
                id: i as u32,
                rnti: ue.rnti,
                ul_goodput_mbps: ul.goodput_mbps(air_s),
                dl_goodput_mbps: 0.0,
                bler: ul.bler(),
                bler_first_tx: ul.bler_first_tx(),
                tb_ok: ul.ok,
                tb_failed: ul.failed,
                tb_dropped: ul.dropped,
                tb_in_flight: in_flight,
                transmissions: ul.transmissions,
                mcs_mean: ul.mcs_mean(),
                layers_mean: ul.layers_mean(),
                sinr_db: ul.sinr_db().unwrap_or(self.carriers[0].snrs[i]),
                tb_undetected: ul.undetected,
                drop_reasons: if ul.dropped > 0 {
                    vec![(
                        "last HARQ transmission dropped: pipeline behind".into(),
                        ul.dropped,
                    )]
                } else {
                    vec![]
                },
                ul_carriers: carriers
                    .iter()
                    .filter(|c| c.slots_used > 0)
                    .map(|c| c.name.clone())
                    .collect(),
                carriers,
                rsrp_dbm: self
                    .scenario
                    .channel
                    .snr_db
                    .is_none()
                    .then_some(ue.rsrp_dbm as f64),
                ..UeReport::default()
            };
            r.packets = PacketReport::of(ue, air_s);
            r.latency_p99_ms = r.packets.latency_p99_ms;
            r.qos_class = ue.lcs.first().map_or("", |l| l.qos.name()).into();
            report.ues.push(r);
            cell_ul.add(&ul);
        }
        report.cell = CellReport {
            ul_goodput_mbps: cell_ul.goodput_mbps(air_s),
            dl_goodput_mbps: 0.0,
            bler: cell_ul.bler(),
            bler_first_tx: cell_ul.bler_first_tx(),
            ..CellReport::default()
        };
        report.classes = ClassReport::pool(self.mac.ues());
        if let Some(dl) = &self.downlink {
            dl.report(&mut report.ues, &mut report.cell, air_s);
            report.link += &format!(
                "; downlink on {}: PDSCH from 1 gNB antenna to every UE antenna, one UE per D slot (PF), 256QAM table, HARQ (max {MAX_HARQ_TX} tx, ACK in the next U slot) and OLLA",
                self.carriers[0].name
            );
        }
        let mut timings = Vec::with_capacity(self.carriers.len());
        for c in &self.carriers {
            let mut t =
                Timing::from_metrics(c.phy.metrics(), c.phy.stages(), c.budget_us, self.workers);
            t.wall_s = wall;
            t.realtime_factor = air_s / wall.max(1e-9);
            t.dropped_slots = c.dropped_slots;
            timings.push(t);
        }
        let mut t = timings[0].clone();
        // Misses and drops of every carrier count against real time.
        t.deadline_misses = timings.iter().map(|x| x.deadline_misses).sum();
        t.dropped_slots = timings.iter().map(|x| x.dropped_slots).sum();
        if let Some(dl) = &self.downlink {
            let (m, stages) = dl.pipeline_metrics();
            t.downlink = Some(
                Timing::from_metrics(
                    m,
                    stages,
                    2.0 * self.carriers[0].slot_us as f64,
                    self.workers,
                )
                .into(),
            );
        }
        report.timing = t;
        let mut radio = RadioReport::default();
        for (c, ct) in self.carriers.iter().zip(timings) {
            let r = RadioReport::from((c.link.radio.info().driver.as_str(), c.link.radio.events()));
            if c.index == 0 {
                radio.driver = r.driver.clone();
            }
            radio.overflows += r.overflows;
            radio.underflows += r.underflows;
            radio.late += r.late;
            radio.time_errors += r.time_errors;
            if self.carriers.len() > 1 {
                report.carriers.push(CarrierReport {
                    name: c.name.clone(),
                    duplex: match c.duplex {
                        Duplex::Tdd => "tdd",
                        Duplex::Fdd => "fdd",
                        Duplex::Sul => "sul",
                    },
                    n_prb: c.num.n_prb(),
                    scs_khz: (c.num.scs().hz() / 1e3) as u32,
                    ul_slots: c.ul_slots,
                    ul_goodput_mbps: report
                        .ues
                        .iter()
                        .flat_map(|u| u.carriers.iter().filter(|x| x.name == c.name))
                        .map(|x| x.ul_goodput_mbps)
                        .sum(),
                    timing: ct,
                    radio: r,
                });
            }
        }
        report.radio = radio;
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
fn check_waveform_scenario(s: &Scenario, o: &CellOptions) -> CliResult {
    if s.cell.carriers.len() > 1 && o.radio.kind == RadioKind::Soapy {
        return Err(format!(
            "cell.carriers: {} carriers over --radio soapy; the waveform cell opens one SoapySDR device for the primary carrier only (run the carriers with --radio sim, or keep one carrier)",
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
    carrier_numerology(s, 0)
}

/// The numerology of carrier `k` of the scenario.
pub fn carrier_numerology(s: &Scenario, k: usize) -> CliResult<Numerology> {
    let c = &s.cell.carriers[k];
    let scs = Scs::from_khz(c.scs_khz).map_err(|e| format!("cell.carriers[{k}].scs_khz: {e}"))?;
    let fr = if c.center_frequency_mhz > 7_125.0 {
        FrequencyRange::Fr2
    } else {
        FrequencyRange::Fr1
    };
    let n_prb =
        carrier_prbs(fr, c.bandwidth_mhz, scs).map_err(|e| format!("cell.carriers[{k}]: {e}"))?;
    Ok(Numerology::new(scs, CyclicPrefix::Normal, n_prb, None)
        .map_err(|e| format!("cell.carriers[{k}]: {e}"))?)
}

/// The longest slot of numerology `num`, in samples.
fn max_slot_len(num: &Numerology) -> usize {
    (0..num.slots_per_frame())
        .map(|k| num.slot_len(k))
        .max()
        .unwrap_or(0)
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
