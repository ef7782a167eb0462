//! The cell's UEs: their MAC contexts, channels and SNRs from the scenario,
//! and each UE's PUSCH transmitter (the same transport block bits again for
//! a retransmission).

use super::stats::LinkStats;
use crate::scenario::{ChannelModel, Scenario, UeGroup};
use crate::CliResult;
use num_complex::Complex32;
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use ranlab_mac::bsr::ReportConfig;
use ranlab_mac::harq::HarqOutcome;
use ranlab_mac::mcs::McsTable;
use ranlab_mac::traffic::TrafficModel;
use ranlab_mac::ue::{LogicalChannel, UeCapability, UeContext};
use ranlab_mac::UlGrant;
use ranlab_phy::numerology::Numerology;
use ranlab_phy::ofdm::OfdmOptions;
use ranlab_phy::pdu::PuschPdu;
use ranlab_phy::pusch::PuschTransmitter;
use ranlab_sim_channel::pathloss::LinkBudget;
use ranlab_sim_channel::tdl::Correlation;
use ranlab_sim_channel::{ChannelConfig, LinkConfig, ModelKind};

/// HARQ transmissions per transport block.
pub const MAX_HARQ_TX: u8 = 4;
/// UE receiver noise figure, dB (TS 38.101-1 assumes 9 dB for FR1 UEs).
const UE_NOISE_FIGURE_DB: f64 = 9.0;

/// One UE's transmit side and counters.
pub(crate) struct UeState {
    /// Transport block bits per HARQ process (resent unchanged on retransmission).
    pub tb: Vec<Vec<u8>>,
    /// Per HARQ process: the grant whose CRC is awaited.
    pub awaiting: [Option<UlGrant>; 16],
    tx: PuschTransmitter,
    /// Transmit samples, one buffer per UE antenna.
    pub samples: Vec<Vec<Complex32>>,
    rng: Xoshiro256PlusPlus,
    /// Uplink transport-block counters.
    pub ul: LinkStats,
}

impl UeState {
    /// UE `i` of group `g` with `max_slot_len`-sample buffers.
    pub fn new(
        i: usize,
        g: &UeGroup,
        num: Numerology,
        ofdm: OfdmOptions,
        max_slot_len: usize,
        seed: u64,
    ) -> CliResult<Self> {
        Ok(UeState {
            tb: vec![Vec::new(); 16],
            awaiting: Default::default(),
            tx: PuschTransmitter::new(num, g.antennas as usize, ofdm)
                .map_err(|e| format!("ue[{i}]: {e}"))?,
            samples: vec![vec![Complex32::default(); max_slot_len]; g.antennas as usize],
            rng: Xoshiro256PlusPlus::seed_from_u64(seed ^ (0xBEEF_0000 + i as u64)),
            ul: LinkStats::default(),
        })
    }

    /// Encodes and modulates the PUSCH of grant `g` into the UE's
    /// `len`-sample buffers: new random bits for new data, the same bits
    /// again for a retransmission.
    pub fn transmit(&mut self, g: &UlGrant, pdu: &PuschPdu, len: usize) -> CliResult {
        let plan = self
            .tx
            .plan(pdu)
            .map_err(|e| format!("UE {} grant: {e}", g.ue))?;
        let tb = &mut self.tb[g.harq_id as usize];
        if g.new_data || tb.len() != plan.tbs {
            tb.clear();
            let rng = &mut self.rng;
            tb.extend((0..plan.tbs).map(|_| rng.gen::<u8>() & 1));
        }
        self.tx
            .transmit(pdu, tb)
            .map_err(|e| format!("UE {} transmit: {e}", g.ue))?;
        let ports = self.samples.len();
        let mut outs = super::radio::stack_mut(&mut self.samples, len);
        self.tx
            .modulate(pdu.slot as u32, &mut outs[..ports])
            .map_err(|e| format!("UE {} modulate: {e}", g.ue))?;
        self.ul.transmissions += 1;
        self.ul.mcs_sum += g.mcs as f64;
        if g.new_data {
            self.ul.first_tx += 1;
        }
        Ok(())
    }

    /// Silence on every antenna for this slot.
    pub fn silence(&mut self, len: usize) {
        self.samples
            .iter_mut()
            .for_each(|b| b[..len].fill(Complex32::default()));
    }

    /// Books one HARQ outcome of grant `g`.
    pub fn account(&mut self, g: &UlGrant, out: HarqOutcome, crc_ok: bool, dropped: bool) {
        if g.new_data && !crc_ok {
            self.ul.first_tx_fail += 1;
        }
        match out {
            HarqOutcome::Ack => {
                self.ul.ok += 1;
                self.ul.bits_ok += g.tbs_bits as u64;
            }
            HarqOutcome::Failed if dropped => self.ul.dropped += 1,
            HarqOutcome::Failed => self.ul.failed += 1,
            HarqOutcome::Retx | HarqOutcome::Unexpected => {}
        }
    }
}

/// What the scenario gives each UE: its MAC context, uplink channel and
/// uplink and downlink Es/N0.
pub(crate) struct UeSetup {
    pub contexts: Vec<UeContext>,
    pub links: Vec<LinkConfig>,
    pub snrs: Vec<f64>,
    pub dl_snrs: Vec<f64>,
}

/// The scenario's UEs on carrier `num` with `n_rx` gNB antennas and at
/// most `max_tx_layers` layers per UE (the radio's TX channels).
pub(crate) fn setup(
    s: &Scenario,
    num: &Numerology,
    n_rx: usize,
    max_tx_layers: usize,
) -> CliResult<UeSetup> {
    let c = &s.cell.carriers[0];
    let scs = num.scs();
    let budget = LinkBudget {
        ue_max_power_dbm: 23.0,
        gnb_noise_figure_db: c.noise_figure_db,
        antenna_gain_db: 0.0,
    };
    let mut out = UeSetup {
        contexts: Vec::new(),
        links: Vec::new(),
        snrs: Vec::new(),
        dl_snrs: Vec::new(),
    };
    let model = model_kind(s.channel.model)?;
    let seed = s.channel.seed;
    for g in &s.ues {
        for _ in 0..g.count {
            let id = out.contexts.len() as u32;
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
                g.qos_class,
                TrafficModel::standard(g.traffic),
                seed ^ (0x1000 + id as u64),
            );
            let mut ue = UeContext::new(id, cap, vec![lc], ReportConfig::default(), MAX_HARQ_TX);
            ue.carriers[0].path_loss_db = 0.0;
            ue.carriers[0].gain_db = snr_db as f32; // as an initial SRS measurement would give
            out.contexts.push(ue);
            out.links.push(LinkConfig {
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
            out.snrs.push(snr_db);
            // Downlink Es/N0 at the UE: the same SNR when the scenario fixes
            // it, else the same path loss with the gNB's power and the UE's
            // noise figure (the per-RE SNR is linear in both).
            out.dl_snrs.push(match s.channel.snr_db {
                Some(v) => v,
                None => {
                    snr_db + (c.tx_power_dbm - g.max_tx_power_dbm)
                        - (UE_NOISE_FIGURE_DB - c.noise_figure_db)
                }
            });
        }
    }
    debug_assert_eq!(out.contexts.len(), s.ue_count() as usize);
    Ok(out)
}

/// The models the waveform cell simulates (CDL needs antenna arrays the
/// cell does not model yet).
fn model_kind(m: ChannelModel) -> Result<ModelKind, String> {
    match m {
        ModelKind::Cdl(_) => Err(format!(
            "channel.model: {m} is not available in loopback (allowed: awgn, rayleigh, tdl-a .. tdl-e)"
        )),
        m => Ok(m),
    }
}
