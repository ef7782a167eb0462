//! The loopback engine: MAC and scheduler -> UE PUSCH transmitters -> radio
//! (the software channel, or SoapySDR) -> the uplink slot pipeline -> CRC
//! indications back to HARQ and link adaptation.
//!
//! Per slot: the MAC runs its timers and traffic, the scheduler grants
//! PUSCHs on uplink slots, each granted UE encodes its transport block (the
//! same bits again for a retransmission) and sends the OFDM burst timed at the
//! slot start; the gNB reads the slot's samples from the radio into a pooled
//! pipeline slot and starts it. Results are fed back before the next uplink
//! slot is scheduled (`--pace free`: the engine waits for them, so a seed
//! gives the same run with any worker count). A slot the pipeline cannot take
//! is dropped with its reason; its transport blocks count as not received
//! (HARQ retransmits them, and a block whose last transmission was dropped is
//! reported as dropped, not failed).

use super::downlink::Downlink;
use super::radio::{open_soapy, Link, RadioChoice, RadioKind, Request};
use super::report::{CellReport, RadioReport, Report, Timing, UeReport};
use super::stats::LinkStats;
use super::Pace;
use crate::scenario::{ChannelModel, Duplex, QosClass as CfgQos, Scenario, Traffic};
use crate::CliResult;
use num_complex::Complex32;
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use ranlab_mac::bsr::ReportConfig;
use ranlab_mac::harq::HarqOutcome;
use ranlab_mac::la::McsSelector;
use ranlab_mac::mcs::McsTable;
use ranlab_mac::qos::QosClass;
use ranlab_mac::timing::{CarrierTiming, SlotPattern};
use ranlab_mac::traffic::TrafficModel;
use ranlab_mac::ue::{LogicalChannel, UeCapability, UeContext};
use ranlab_mac::{CarrierConfig, Mac, MacConfig, UlCrc, UlGrant};
use ranlab_phy::numerology::{carrier_prbs, CyclicPrefix, FrequencyRange, Numerology, Scs};
use ranlab_phy::ofdm::OfdmOptions;
use ranlab_phy::pdu::PuschPdu;
use ranlab_phy::pipeline::uplink::UplinkJob;
use ranlab_phy::pipeline::{Pipeline, PipelineConfig, SlotJob};
use ranlab_phy::pusch::{PuschRxConfig, PuschTransmitter};
use ranlab_sched::{Policy, SchedConfig, Scheduler, UlScheduler};
use ranlab_sdr::radio::{Radio, RadioConfig, TxTime};
use ranlab_sdr::reader::TimedReader;
use ranlab_sdr::sim::{Pace as SimPace, SimRadio};
use ranlab_sim_channel::pathloss::LinkBudget;
use ranlab_sim_channel::tdl::{Correlation, TdlProfile};
use ranlab_sim_channel::{ChannelConfig, LinkConfig, ModelKind, MultiLinkChannel};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How the engine runs.
pub struct RunOptions {
    /// Radio clock pacing.
    pub pace: Pace,
    /// Pipeline workers.
    pub workers: usize,
    /// Show a progress bar (a terminal, and no JSON on stdout).
    pub progress: bool,
    /// Set by Ctrl-C: stop after the current slot and report.
    pub stop: Arc<AtomicBool>,
    /// The radio: the simulated channel or SoapySDR devices.
    pub radio: RadioChoice,
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

/// A slot the UE side has sent and the gNB side has still to receive.
struct Pending {
    index: u64,
    slot_in_frame: u32,
    len: usize,
    time: i64,
    /// PDU slots, recycled with their port lists; the first `n_pdus` are this slot's.
    pdus: Vec<PuschPdu>,
    n_pdus: usize,
    grants: Vec<UlGrant>,
}

/// Slots whose results may still be outstanding when the next uplink slot is scheduled.
const MAX_IN_FLIGHT: usize = 4;
/// PUSCHs one slot can carry.
const MAX_PDUS: usize = 16;
/// HARQ transmissions per transport block.
const MAX_HARQ_TX: u8 = 4;
/// UE receiver noise figure, dB (TS 38.101-1 assumes 9 dB for FR1 UEs).
const UE_NOISE_FIGURE_DB: f64 = 9.0;

struct UeState {
    /// Transport block bits per HARQ process (resent unchanged on retransmission).
    tb: Vec<Vec<u8>>,
    /// Whether the last transmission of each HARQ process's block was dropped by the pipeline.
    last_dropped: [bool; 16],
    tx: PuschTransmitter,
    samples: Vec<Vec<Complex32>>,
    rng: Xoshiro256PlusPlus,
    /// Uplink transport-block counters.
    ul: LinkStats,
}

fn traffic_model(t: Traffic) -> TrafficModel {
    match t {
        Traffic::FullBuffer => TrafficModel::FullBuffer {
            backlog_bytes: 2_000_000,
        },
        Traffic::PeriodicIot => TrafficModel::PeriodicIot {
            period_ms: 100.0,
            bytes: 200,
        },
        Traffic::AiUplink => TrafficModel::AiUplink {
            rate_mbps: 25.0,
            fps: 30.0,
        },
        Traffic::Video => TrafficModel::Video {
            rate_mbps: 8.0,
            fps: 30.0,
        },
    }
}

fn qos(q: CfgQos) -> QosClass {
    match q {
        CfgQos::Premium => QosClass::Premium,
        CfgQos::Streaming => QosClass::Streaming,
        CfgQos::BestEffort => QosClass::BestEffort,
        CfgQos::AiUplink => QosClass::AiUplink,
        CfgQos::Iot => QosClass::Iot,
    }
}

fn model_kind(m: ChannelModel) -> Result<ModelKind, String> {
    Ok(match m {
        ChannelModel::Awgn => ModelKind::Awgn,
        ChannelModel::Rayleigh => ModelKind::Rayleigh,
        ChannelModel::TdlA => ModelKind::Tdl(TdlProfile::A),
        ChannelModel::TdlB => ModelKind::Tdl(TdlProfile::B),
        ChannelModel::TdlC => ModelKind::Tdl(TdlProfile::C),
        ChannelModel::TdlD => ModelKind::Tdl(TdlProfile::D),
        ChannelModel::TdlE => ModelKind::Tdl(TdlProfile::E),
        other => return Err(format!("channel.model: {other:?} is not available in loopback (allowed: awgn, rayleigh, tdl-a .. tdl-e)")),
    })
}

/// Runs the scenario and returns its report.
pub fn run(s: &Scenario, o: &RunOptions) -> CliResult<Report> {
    run_with(s, o, None)
}

/// Runs the scenario, handing every received slot to `tap`, and returns its report.
pub fn run_with(s: &Scenario, o: &RunOptions, tap: Option<Tap<'_>>) -> CliResult<Report> {
    run_with_fixed_ul(s, o, tap, None)
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

/// [`run_with`], with every new uplink grant set to `fixed` when given.
pub fn run_with_fixed_ul(
    s: &Scenario,
    o: &RunOptions,
    mut tap: Option<Tap<'_>>,
    fixed: Option<FixedUl>,
) -> CliResult<Report> {
    let c = &s.cell.carriers[0];
    let num = numerology(s)?;
    let n_prb = num.n_prb();
    let scs = num.scs();
    let slot_len_max = (0..num.slots_per_frame())
        .map(|k| num.slot_len(k))
        .max()
        .unwrap_or(0);
    let tx_streams: usize = s.ues.iter().map(|g| (g.count * g.antennas) as usize).sum();
    // SoapySDR devices are opened first: their channels bound the gNB antennas.
    let soapy = match o.radio.kind {
        RadioKind::Sim => None,
        RadioKind::Soapy => Some(open_soapy(
            &o.radio,
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

    // UEs, their channels and SNRs.
    let budget = LinkBudget {
        ue_max_power_dbm: 23.0,
        gnb_noise_figure_db: c.noise_figure_db,
        antenna_gain_db: 0.0,
    };
    let mut ues = Vec::new();
    let mut links = Vec::new();
    let mut snrs = Vec::new();
    let mut dl_snrs = Vec::new();
    let model = model_kind(s.channel.model)?;
    if s.ue_count() as usize > MAX_PDUS {
        return Err(format!(
            "ue: {} UEs in loopback (at most {MAX_PDUS}, one PUSCH each per slot)",
            s.ue_count()
        )
        .into());
    }
    let seed = s.channel.seed;
    for g in &s.ues {
        for _ in 0..g.count {
            let id = ues.len() as u32;
            let snr_db = match s.channel.snr_db {
                Some(v) => v,
                None => {
                    let loss = match (g.path_loss_db, g.distance_m) {
                        (Some(pl), _) => pl,
                        (None, d) => {
                            let geo = ranlab_sim_channel::pathloss::Geometry::new(
                                ranlab_sim_channel::pathloss::Scenario::UMa,
                                d.unwrap_or(100.0),
                                c.center_frequency_mhz * 1e6,
                            );
                            ranlab_sim_channel::pathloss::path_loss_db(
                                &geo,
                                ranlab_sim_channel::pathloss::LosState::Nlos,
                            )
                            .map_err(|e| format!("ue[{id}]: {e}"))?
                        }
                    };
                    let b = LinkBudget {
                        ue_max_power_dbm: g.max_tx_power_dbm,
                        ..budget
                    };
                    b.snr_per_re_db(g.max_tx_power_dbm, loss, num.n_sc(), scs.hz())
                }
            };
            let cap = UeCapability {
                ul_carriers: vec![0],
                max_layers: (g.antennas as usize).min(n_rx).min(max_tx_layers) as u8,
                mcs_table: McsTable::Qam256,
                max_tx_power_dbm: g.max_tx_power_dbm as f32,
            };
            let lc = LogicalChannel::new(
                1,
                qos(g.qos_class),
                traffic_model(g.traffic),
                seed ^ (0x1000 + id as u64),
            );
            let mut ue = UeContext::new(id, cap, vec![lc], ReportConfig::default(), MAX_HARQ_TX);
            ue.carriers[0].path_loss_db = 0.0;
            ue.carriers[0].gain_db = snr_db as f32; // as an initial SRS measurement would give
            ues.push(ue);
            links.push(LinkConfig {
                channel: ChannelConfig {
                    model,
                    delay_spread_s: s.channel.delay_spread_ns * 1e-9,
                    speed_kmh: s.channel.speed_kmh,
                    carrier_hz: c.center_frequency_mhz * 1e6,
                    sample_rate_hz: num.sample_rate_hz(),
                    n_rx,
                    n_tx: g.antennas as usize,
                    correlation: Correlation::Low,
                    k_factor_db: None,
                    seed,
                    stream: id as u64,
                    ..ChannelConfig::default()
                },
                // Unitary OFDM: unit-energy REs over noise of variance 1 give Es/N0 = gain (module doc of sim-channel::awgn).
                gain_db: snr_db,
                source: ranlab_sim_channel::multilink::TxSource::Caller,
                cfo_hz: 0.0,
                timing_offset_samples: 0.0,
            });
            snrs.push(snr_db);
            // Downlink Es/N0 at the UE: the same SNR when the scenario fixes
            // it, else the same path loss with the gNB's power and the UE's
            // noise figure (the per-RE SNR is linear in both).
            dl_snrs.push(match s.channel.snr_db {
                Some(v) => v,
                None => {
                    snr_db + (c.tx_power_dbm - g.max_tx_power_dbm)
                        - (UE_NOISE_FIGURE_DB - c.noise_figure_db)
                }
            });
        }
    }
    debug_assert_eq!(ues.len(), s.ue_count() as usize);
    let max_slot_len = slot_len_max;
    let mut link = match soapy {
        Some(l) => l,
        None => {
            let air = MultiLinkChannel::new(n_rx, &links, 1.0, seed)
                .map_err(|e| format!("channel: {e}"))?;
            let mut radio: Box<dyn Radio> = Box::new(SimRadio::new(
                Box::new(air),
                tx_streams,
                n_rx,
                4 * max_slot_len,
                max_slot_len,
                if o.pace == Pace::Realtime {
                    SimPace::Realtime
                } else {
                    SimPace::Free
                },
            ));
            radio.configure(&RadioConfig {
                sample_rate_hz: num.sample_rate_hz(),
                center_frequency_hz: c.center_frequency_mhz * 1e6,
                rx_gain_db: vec![0.0; n_rx],
                tx_gain_db: vec![0.0; tx_streams],
                rx_antennas: vec![],
                tx_antennas: vec![],
            })?;
            Link {
                radio,
                n_rx,
                tx_channels: tx_streams,
                tx_scale: 1.0,
                lookahead: 0,
                note: None,
            }
        }
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
    let radio = &mut link.radio;

    let ofdm = OfdmOptions::default();
    let mut ue_state: Vec<UeState> = Vec::new();
    for (i, g) in s
        .ues
        .iter()
        .flat_map(|g| std::iter::repeat_n(g, g.count as usize))
        .enumerate()
    {
        ue_state.push(UeState {
            tb: vec![Vec::new(); 16],
            last_dropped: [false; 16],
            tx: PuschTransmitter::new(num, g.antennas as usize, ofdm)
                .map_err(|e| format!("ue[{i}]: {e}"))?,
            samples: vec![vec![Complex32::default(); max_slot_len]; g.antennas as usize],
            rng: Xoshiro256PlusPlus::seed_from_u64(seed ^ (0xBEEF_0000 + i as u64)),
            ul: LinkStats::default(),
        });
    }

    let mut mac = Mac::new(
        vec![carrier],
        ues,
        MacConfig {
            k2_min: 1,
            decode_us: slot_us,
            pf_window_s: 0.05,
        },
    );
    // The downlink runs over the simulated air only.
    let mut downlink = match o.radio.kind {
        RadioKind::Sim => {
            let rntis: Vec<u16> = mac.ues().iter().map(|u| u.rnti).collect();
            Some(Downlink::new(
                num,
                pattern.clone(),
                slot_us,
                &links,
                &dl_snrs,
                &rntis,
                s.cell.id,
                seed,
                o.workers,
            )?)
        }
        RadioKind::Soapy => None,
    };
    let mut sched = UlScheduler::new(
        SchedConfig {
            policy: Policy::ProportionalFair,
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
    let rx_cfg = rx_config(n_rx, max_layers, s.ue_count() as usize, o.workers);
    let budget_us = slot_us as f64 * 2.0; // a slot's samples plus one slot of processing (K2 >= 1)
    let pipe = uplink_pipeline(
        num,
        rx_cfg,
        ofdm,
        s.ue_count() as usize,
        o.workers,
        Vec::new(),
        MAX_IN_FLIGHT + 1,
        budget_us,
    )?;

    let bar = o.progress.then(|| {
        let b = indicatif::ProgressBar::new(s.slots);
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "{bar:40} {pos}/{len} slots {elapsed} eta {eta}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        b
    });

    radio.start()?;
    let start = Instant::now();
    let mut grants: Vec<UlGrant> = Vec::with_capacity(MAX_PDUS);
    let mut pdus: Vec<PuschPdu> = Vec::with_capacity(MAX_PDUS);
    // Per pooled slot: the (UE, HARQ id, grant) of each PDU, and when it was received.
    let mut inflight: Vec<Vec<(u32, u8, UlGrant)>> = (0..MAX_IN_FLIGHT + 1)
        .map(|_| Vec::with_capacity(MAX_PDUS))
        .collect();
    let mut inflight_order: std::collections::VecDeque<usize> =
        std::collections::VecDeque::with_capacity(MAX_IN_FLIGHT + 1);
    let mut dropped_slots = 0u64;
    let mut slots_run = 0u64;
    let mut interrupted = false;
    let mut rx_bufs: Vec<Vec<Complex32>> = vec![vec![Complex32::default(); max_slot_len]; n_rx];
    // UE antenna streams added onto the radio's TX channels.
    let mut tx_mix: Vec<Vec<Complex32>> =
        vec![vec![Complex32::default(); max_slot_len]; link.tx_channels];
    let mut reader = TimedReader::new(n_rx, max_slot_len);
    // The UE side runs `lookahead` slots ahead of the gNB side (a device
    // needs its bursts before its clock reaches them); slot 0 starts on a
    // slot boundary that far past the device time now.
    let lookahead = link.lookahead;
    let ahead = (lookahead * max_slot_len) as i64;
    let mut sample_time: i64 = radio.hardware_time().map_or(0, |t| {
        (t + ahead + max_slot_len as i64 - 1).div_euclid(max_slot_len as i64)
    }) * max_slot_len as i64;
    let mut pending: Vec<Pending> = (0..=lookahead)
        .map(|_| Pending {
            index: 0,
            slot_in_frame: 0,
            len: 0,
            time: 0,
            pdus: Vec::with_capacity(MAX_PDUS),
            n_pdus: 0,
            grants: Vec::with_capacity(MAX_PDUS),
        })
        .collect();
    let mut scheduled = 0u64;

    let slots_per_frame = num.slots_per_frame() as u64;
    loop {
        if scheduled < s.slots && !interrupted && o.stop.load(Ordering::Relaxed) {
            interrupted = true;
        }
        let more = scheduled < s.slots && !interrupted;
        let n = scheduled;
        let now = n * slot_us;
        if more {
            let slot_in_frame = (n % slots_per_frame) as u32;
            let len = num.slot_len(slot_in_frame);
            let ul = pattern.is_ul(n);

            // Results of earlier slots come back before this slot is scheduled.
            let wait_all = o.pace == Pace::Free;
            collect(
                &pipe,
                &mut mac,
                &mut ue_state,
                &mut inflight,
                &mut inflight_order,
                now,
                wait_all,
            );

            mac.begin_slot(now);
            grants.clear();
            let mut n_pdus = 0;
            if ul {
                sched.schedule_ul(now, &[true], mac.carriers(), mac.ues(), &mut grants);
                if let Some(f) = fixed {
                    for g in grants.iter_mut().filter(|g| g.new_data) {
                        f.apply(g, &mac.carriers()[0]);
                    }
                }
                mac.apply_grants(now, &mut grants);
                for g in &grants {
                    let ue = &mac.ues()[g.ue as usize];
                    let st = &mut ue_state[g.ue as usize];
                    let (rnti, sif) = (ue.rnti, slot_in_frame as u16);
                    match pdus.get_mut(n_pdus) {
                        Some(p) => g.write_pusch_pdu(rnti, s.cell.id, sif, p),
                        None => pdus.push(g.pusch_pdu(rnti, s.cell.id, sif)),
                    }
                    let pdu = &pdus[n_pdus];
                    n_pdus += 1;
                    let plan = st
                        .tx
                        .plan(pdu)
                        .map_err(|e| format!("UE {} grant: {e}", g.ue))?;
                    let tb = &mut st.tb[g.harq_id as usize];
                    if g.new_data || tb.len() != plan.tbs {
                        tb.clear();
                        let rng = &mut st.rng;
                        tb.extend((0..plan.tbs).map(|_| rng.gen::<u8>() & 1));
                    }
                    st.tx
                        .transmit(pdu, tb)
                        .map_err(|e| format!("UE {} transmit: {e}", g.ue))?;
                    {
                        let ports = st.samples.len();
                        let mut outs = stack_mut(&mut st.samples, len);
                        st.tx
                            .modulate(slot_in_frame, &mut outs[..ports])
                            .map_err(|e| format!("UE {} modulate: {e}", g.ue))?;
                    }
                    st.ul.transmissions += 1;
                    st.ul.mcs_sum += g.mcs as f64;
                    if g.new_data {
                        st.ul.first_tx += 1;
                    }
                }
                // Every UE antenna is a TX stream: silent UEs send zeros.
                for (u, st) in ue_state.iter_mut().enumerate() {
                    if !grants.iter().any(|g| g.ue as usize == u) {
                        st.samples
                            .iter_mut()
                            .for_each(|b| b[..len].fill(Complex32::default()));
                    }
                }
                let streams = ue_state
                    .iter()
                    .flat_map(|st| st.samples.iter().map(|b| &b[..len]));
                mix(streams, &mut tx_mix, len, link.tx_scale);
                let txs = stack_ref(&tx_mix, len);
                radio.transmit(&txs[..tx_mix.len()], TxTime::At(sample_time), true)?;
            }
            let p = &mut pending[(n % (lookahead as u64 + 1)) as usize];
            p.index = n;
            p.slot_in_frame = slot_in_frame;
            p.len = len;
            p.time = sample_time;
            // Swapped, not cloned: `pdus` is rewritten and `grants` cleared before the next slot.
            std::mem::swap(&mut p.pdus, &mut pdus);
            p.n_pdus = n_pdus;
            std::mem::swap(&mut p.grants, &mut grants);
            if let Some(dl) = downlink.as_mut() {
                dl.run_slot(n, slot_in_frame, len, sample_time)?;
            }
            sample_time += len as i64;
            scheduled += 1;
        }

        // The gNB receives every slot (the device clock runs on); uplink slots
        // with PUSCHs go to the pipeline.
        if slots_run < scheduled && (scheduled - slots_run > lookahead as u64 || !more) {
            let p = &pending[(slots_run % (lookahead as u64 + 1)) as usize];
            if p.n_pdus > 0 {
                match pipe.acquire() {
                    Ok(i) => {
                        {
                            let slot = pipe.slot(i);
                            let mut rx = slot.rx.write().unwrap_or_else(|e| e.into_inner());
                            receive_slot(&mut reader, radio.as_mut(), &mut rx, p, &mut tap)?;
                            drop(rx);
                            slot.set_pdus(pipe.job(), p.slot_in_frame, &p.pdus[..p.n_pdus])?;
                        }
                        inflight[i].clear();
                        inflight[i].extend(p.grants.iter().map(|g| (g.ue, g.harq_id, g.clone())));
                        inflight_order.push_back(i);
                        pipe.start(i, Instant::now());
                    }
                    Err(_reason) => {
                        dropped_slots += 1;
                        receive_slot(&mut reader, radio.as_mut(), &mut rx_bufs, p, &mut tap)?;
                        for g in &p.grants {
                            let st = &mut ue_state[g.ue as usize];
                            st.last_dropped[g.harq_id as usize] = true;
                            let out = mac.on_crc(
                                now,
                                &UlCrc {
                                    ue: g.ue,
                                    carrier: 0,
                                    harq_id: g.harq_id,
                                    ok: false,
                                    sinr_db: None,
                                },
                            );
                            account(st, g, out, false, true);
                        }
                    }
                }
            } else {
                receive_slot(&mut reader, radio.as_mut(), &mut rx_bufs, p, &mut tap)?;
            }
            slots_run += 1;
            if let Some(b) = &bar {
                b.inc(1);
            }
        } else if !more {
            break;
        }
        if more {
            mac.end_slot(slot_us);
        }
    }
    // Drain: every started slot completes.
    collect(
        &pipe,
        &mut mac,
        &mut ue_state,
        &mut inflight,
        &mut inflight_order,
        slots_run * slot_us,
        true,
    );
    let wall = start.elapsed().as_secs_f64();
    radio.stop()?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }

    let air_s = slots_run as f64 * slot_us as f64 * 1e-6;
    let mut report = Report {
        scenario: s.name.clone(),
        slots: slots_run,
        seed,
        interrupted,
        air_time_s: air_s,
        link: format!(
            "PUSCH over {}, {} PRB at {} kHz, {} gNB antennas, ZF, LDPC {} iterations, PF scheduler with HARQ (max {} tx) and OLLA",
            match o.radio.kind {
                RadioKind::Sim => format!(
                    "{} ({:.0} ns, {:.0} km/h)",
                    s.channel.model.name(),
                    s.channel.delay_spread_ns,
                    s.channel.speed_kmh
                ),
                RadioKind::Soapy => format!(
                    "SoapySDR {} ({} TX channels, bursts {} slots ahead)",
                    radio.info().hardware,
                    link.tx_channels,
                    link.lookahead
                ),
            },
            n_prb,
            c.scs_khz,
            n_rx,
            rx_cfg.ldpc_iterations,
            MAX_HARQ_TX
        ),
        ..Report::default()
    };
    let mut cell_ul = LinkStats::default();
    for (i, st) in ue_state.iter().enumerate() {
        let in_flight = mac.ues()[i].carriers[0].harq.busy() as u64;
        report.ues.push(UeReport {
            id: i as u32,
            rnti: mac.ues()[i].rnti,
            ul_goodput_mbps: st.ul.goodput_mbps(air_s),
            dl_goodput_mbps: 0.0,
            bler: st.ul.bler(),
            bler_first_tx: st.ul.bler_first_tx(),
            tb_ok: st.ul.ok,
            tb_failed: st.ul.failed,
            tb_dropped: st.ul.dropped,
            tb_in_flight: in_flight,
            transmissions: st.ul.transmissions,
            mcs_mean: st.ul.mcs_mean(),
            sinr_db: st.ul.sinr_db().unwrap_or(snrs[i]),
            tb_undetected: st.ul.undetected,
            drop_reasons: if st.ul.dropped > 0 {
                vec![(
                    "last HARQ transmission dropped: pipeline behind".into(),
                    st.ul.dropped,
                )]
            } else {
                vec![]
            },
            ul_carriers: vec![c.name.clone()],
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
    if let Some(dl) = &downlink {
        dl.report(&mut report.ues, &mut report.cell, air_s);
        report.link += &format!(
            "; downlink: PDSCH from 1 gNB antenna to every UE antenna, one UE per D slot (PF), 256QAM table, HARQ (max {MAX_HARQ_TX} tx, ACK in the next U slot) and OLLA"
        );
    }
    let mut t = Timing::from_metrics(pipe.metrics(), pipe.job().stages(), budget_us, o.workers);
    t.wall_s = wall;
    t.realtime_factor = air_s / wall.max(1e-9);
    t.dropped_slots = dropped_slots;
    if let Some(dl) = &downlink {
        let (m, stages) = dl.pipeline_metrics();
        t.downlink = Some(Timing::from_metrics(m, stages, 2.0 * slot_us as f64, o.workers).into());
    }
    report.timing = t;
    report.radio = RadioReport::from((radio.info().driver.as_str(), radio.events()));
    Ok(report)
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

/// The uplink slot pipeline of carrier `num` for `ues` UEs: `pool` slot
/// buffers of up to [`MAX_PDUS`] PUSCHs each, [`ul_receivers`] receivers,
/// `workers` workers pinned over `cores` (empty: the cores this thread may
/// run on), slots held to `budget_us`.
#[allow(clippy::too_many_arguments)]
pub fn uplink_pipeline(
    num: Numerology,
    rx_cfg: PuschRxConfig,
    ofdm: OfdmOptions,
    ues: usize,
    workers: usize,
    cores: Vec<usize>,
    pool: usize,
    budget_us: f64,
) -> CliResult<Pipeline<UplinkJob>> {
    let receivers = ul_receivers(ues, workers);
    let job = Arc::new(UplinkJob::with_receivers(
        num, rx_cfg, ofdm, workers, receivers,
    )?);
    let slots = (0..pool).map(|_| job.new_slot(MAX_PDUS)).collect();
    Ok(Pipeline::new(
        job,
        slots,
        PipelineConfig {
            workers,
            pin: true,
            cores,
            deadline: Duration::from_micros(budget_us as u64),
        },
    ))
}

/// Antenna streams one radio or PHY call handles (gNB antennas, radio TX
/// channels, one UE's antennas): their slice lists live on the stack.
const MAX_STREAMS: usize = 64;

/// `&mut b[..len]` of every buffer (at most [`MAX_STREAMS`]), in a stack array.
fn stack_mut(bufs: &mut [Vec<Complex32>], len: usize) -> [&mut [Complex32]; MAX_STREAMS] {
    let mut refs: [&mut [Complex32]; MAX_STREAMS] = std::array::from_fn(|_| Default::default());
    for (r, b) in refs.iter_mut().zip(bufs.iter_mut()) {
        *r = &mut b[..len];
    }
    refs
}

/// `&b[..len]` of every buffer (at most [`MAX_STREAMS`]), in a stack array.
fn stack_ref(bufs: &[Vec<Complex32>], len: usize) -> [&[Complex32]; MAX_STREAMS] {
    let mut refs: [&[Complex32]; MAX_STREAMS] = [&[]; MAX_STREAMS];
    for (r, b) in refs.iter_mut().zip(bufs.iter()) {
        *r = &b[..len];
    }
    refs
}

/// Reads the slot of `p` (its `len` samples at device time `p.time`) into
/// `bufs` and hands it to the tap, without allocating.
fn receive_slot(
    reader: &mut TimedReader,
    radio: &mut dyn Radio,
    bufs: &mut [Vec<Complex32>],
    p: &Pending,
    tap: &mut Option<Tap<'_>>,
) -> CliResult {
    let n = bufs.len();
    let mut refs = stack_mut(bufs, p.len);
    reader.read_at(radio, p.time, &mut refs[..n], RX_TIMEOUT)?;
    if let Some(tap) = tap.as_mut() {
        let mut view: [&[Complex32]; MAX_STREAMS] = [&[]; MAX_STREAMS];
        for (v, r) in view.iter_mut().zip(refs[..n].iter()) {
            *v = r;
        }
        tap(p.rx_slot(&view[..n]))?;
    }
    Ok(())
}

/// How long the gNB waits for a slot's samples.
const RX_TIMEOUT: Duration = Duration::from_secs(1);

impl Pending {
    fn rx_slot<'a>(&'a self, samples: &'a [&'a [Complex32]]) -> RxSlot<'a> {
        RxSlot {
            index: self.index,
            slot_in_frame: self.slot_in_frame,
            time: self.time,
            samples,
            pdus: &self.pdus[..self.n_pdus],
        }
    }
}

/// Adds UE antenna stream `s` onto TX channel `s % out.len()`, scaled.
fn mix<'a>(
    streams: impl Iterator<Item = &'a [Complex32]>,
    out: &mut [Vec<Complex32>],
    len: usize,
    scale: f32,
) {
    let ch = out.len();
    for (s, x) in streams.enumerate() {
        let o = &mut out[s % ch][..len];
        if s < ch {
            o.copy_from_slice(x);
        } else {
            o.iter_mut().zip(x).for_each(|(o, x)| *o += *x);
        }
    }
    if scale != 1.0 {
        out.iter_mut()
            .for_each(|o| o[..len].iter_mut().for_each(|x| *x *= scale));
    }
}

/// Books one HARQ outcome for a UE's transport block.
fn account(st: &mut UeState, g: &UlGrant, out: HarqOutcome, crc_ok: bool, dropped: bool) {
    if g.new_data && !crc_ok {
        st.ul.first_tx_fail += 1;
    }
    match out {
        HarqOutcome::Ack => {
            st.ul.ok += 1;
            st.ul.bits_ok += g.tbs_bits as u64;
        }
        HarqOutcome::Failed if dropped => st.ul.dropped += 1,
        HarqOutcome::Failed => st.ul.failed += 1,
        HarqOutcome::Retx | HarqOutcome::Unexpected => {}
    }
}

/// Feeds completed slots back to the MAC; with `wait_all`, waits for every started slot.
fn collect(
    pipe: &Pipeline<UplinkJob>,
    mac: &mut Mac,
    ues: &mut [UeState],
    inflight: &mut [Vec<(u32, u8, UlGrant)>],
    order: &mut std::collections::VecDeque<usize>,
    now: u64,
    wait_all: bool,
) {
    // In free pace, completions are taken in start order, so the run is the same with any worker count.
    while let Some(&i) = order.front() {
        let done = if wait_all {
            pipe.wait_completed(i, Duration::from_secs(60))
        } else {
            pipe.take_completed(i)
        };
        if !done {
            break;
        }
        order.pop_front();
        let slot = pipe.slot(i);
        for (k, (ue, harq_id, g)) in inflight[i].iter().enumerate() {
            let (ue, harq_id) = (*ue, *harq_id);
            let ind = slot.indications[k]
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            let st = &mut ues[ue as usize];
            let (crc_ok, sinr) = match &ind.result {
                Ok(r) => (r.crc_ok, Some(r.sinr_db)),
                Err(_) => (false, None),
            };
            // The loopback knows what was sent: a CRC pass with wrong bits (e.g. a
            // lone rv 2/3 decoding to the all-zero codeword, whose CRC is zero) is
            // counted as an undetected error and handled as a NACK.
            let crc_ok = if crc_ok && ind.tb != st.tb[harq_id as usize] {
                st.ul.undetected += 1;
                false
            } else {
                crc_ok
            };
            if let Some(s) = sinr.filter(|s| s.is_finite()) {
                st.ul.sinr_sum += s as f64;
                st.ul.sinr_n += 1;
            }
            st.last_dropped[harq_id as usize] = false;
            let out = mac.on_crc(
                now,
                &UlCrc {
                    ue,
                    carrier: 0,
                    harq_id,
                    ok: crc_ok,
                    sinr_db: sinr.filter(|s| s.is_finite()),
                },
            );
            account(st, g, out, crc_ok, false);
        }
        pipe.release(i);
    }
}
