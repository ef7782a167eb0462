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
    /// `len`-sample buffers at amplitude `amp` (its power control): new
    /// random bits for new data, the same bits again for a retransmission.
    pub fn transmit(&mut self, g: &UlGrant, pdu: &PuschPdu, len: usize, amp: f32) -> CliResult {
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
        if amp != 1.0 {
            for b in &mut self.samples {
                b[..len].iter_mut().for_each(|x| *x *= amp);
            }
        }
        self.ul.transmissions += 1;
        self.ul.mcs_sum += g.mcs as f64;
        self.ul.layers_sum += g.layers as u64;
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

/// One carrier's view of the UEs.
pub(crate) struct CarrierLinks {
    /// Per UE of the cell: its channel to the gNB antennas of this carrier.
    pub links: Vec<LinkConfig>,
    /// Per UE: Es/N0 per RE at one gNB antenna when the UE sends its
    /// maximum power over the whole carrier, dB (what its channel's gain is).
    pub snrs: Vec<f64>,
    /// Per UE: whether it may send its uplink here (`ue[].carriers`).
    pub on: Vec<bool>,
}

/// What the scenario gives each UE: its MAC context, and per carrier its
/// uplink channel and SNR; its downlink Es/N0 on the primary carrier.
pub(crate) struct UeSetup {
    pub contexts: Vec<UeContext>,
    pub carriers: Vec<CarrierLinks>,
    pub dl_snrs: Vec<f64>,
    /// The per-RE SNR follows each grant's power and size (path loss and
    /// open-loop power control); false when `channel.snr_db` holds it fixed.
    pub power_control: bool,
}

/// The scenario's UEs over its carriers (numerologies `nums`, `n_rx[c]`
/// gNB antennas), at most `max_tx_layers` layers per UE (the radio's TX
/// channels).
pub(crate) fn setup(
    s: &Scenario,
    nums: &[Numerology],
    n_rx: &[usize],
    max_tx_layers: usize,
) -> CliResult<UeSetup> {
    let model = model_kind(s.channel.model)?;
    let seed = s.channel.seed;
    let n_ues = s.ue_count() as usize;
    let mut out = UeSetup {
        contexts: Vec::with_capacity(n_ues),
        carriers: s
            .cell
            .carriers
            .iter()
            .map(|_| CarrierLinks {
                links: Vec::with_capacity(n_ues),
                snrs: Vec::with_capacity(n_ues),
                on: Vec::with_capacity(n_ues),
            })
            .collect(),
        dl_snrs: Vec::with_capacity(n_ues),
        power_control: s.channel.snr_db.is_none(),
    };
    for g in &s.ues {
        for _ in 0..g.count {
            let id = out.contexts.len() as u32;
            let allowed: Vec<usize> = (0..s.cell.carriers.len())
                .filter(|&k| s.ue_on_carrier(g, k))
                .collect();
            let cap = UeCapability {
                ul_carriers: allowed.clone(),
                max_layers: allowed
                    .iter()
                    .map(|&k| n_rx[k])
                    .min()
                    .unwrap_or(1)
                    .min(g.antennas as usize)
                    .min(max_tx_layers) as u8,
                mcs_table: McsTable::Qam256,
                max_tx_power_dbm: g.max_tx_power_dbm as f32,
            };
            let lc = LogicalChannel::new(
                1,
                g.qos_class,
                g.traffic_model(),
                seed ^ (0x1000 + id as u64),
            );
            let mut ue = UeContext::new(id, cap, vec![lc], ReportConfig::default(), MAX_HARQ_TX);
            for (k, (c, num)) in s.cell.carriers.iter().zip(nums).enumerate() {
                // With channel.snr_db the loss plays no part (no power control, no SUL choice).
                let loss = if s.channel.snr_db.is_none() {
                    path_loss(g, c.center_frequency_mhz, id)?
                } else {
                    0.0
                };
                let b = LinkBudget {
                    ue_max_power_dbm: g.max_tx_power_dbm,
                    gnb_noise_figure_db: c.noise_figure_db,
                    antenna_gain_db: 0.0,
                };
                let scs_hz = num.scs().hz();
                let snr_db = s.channel.snr_db.unwrap_or_else(|| {
                    b.snr_per_re_db(g.max_tx_power_dbm, loss, num.n_sc(), scs_hz)
                });
                if k == 0 {
                    // SS-RSRP: the gNB's power per RE over the primary's subcarriers, less the loss.
                    ue.rsrp_dbm =
                        (c.tx_power_dbm - 10.0 * (num.n_sc() as f64).log10() - loss) as f32;
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
                if let Some(uc) = ue.on_carrier_mut(k) {
                    if out.power_control {
                        // SINR per RE at 0 dBm per PRB after combining over the
                        // gNB antennas, as an initial SRS measurement would give.
                        uc.path_loss_db = loss as f32;
                        uc.gain_db = (snr_db - g.max_tx_power_dbm
                            + 10.0 * (num.n_sc() as f64 / 12.0).log10()
                            + 10.0 * (n_rx[k] as f64).log10())
                            as f32;
                    } else {
                        uc.path_loss_db = 0.0;
                        uc.gain_db = snr_db as f32;
                    }
                }
                let cl = &mut out.carriers[k];
                cl.on.push(allowed.contains(&k));
                cl.snrs.push(snr_db);
                cl.links.push(LinkConfig {
                    channel: ChannelConfig {
                        model,
                        delay_spread_s: s.channel.delay_spread_ns * 1e-9,
                        speed_kmh: s.channel.speed_kmh,
                        carrier_hz: c.center_frequency_mhz * 1e6,
                        sample_rate_hz: num.sample_rate_hz(),
                        n_rx: n_rx[k],
                        n_tx: g.antennas as usize,
                        correlation: Correlation::Low,
                        k_factor_db: None,
                        seed,
                        // Independent fading per carrier; carrier 0 keeps the single-carrier streams.
                        stream: id as u64 + ((k as u64) << 32),
                        ..ChannelConfig::default()
                    },
                    // Unitary OFDM: unit-energy REs over noise of variance 1 give Es/N0 = gain (module doc of sim-channel::awgn).
                    gain_db: snr_db,
                    source: ranlab_sim_channel::multilink::TxSource::Caller,
                    cfo_hz: 0.0,
                    timing_offset_samples: 0.0,
                });
            }
            out.contexts.push(ue);
        }
    }
    debug_assert_eq!(out.contexts.len(), n_ues);
    Ok(out)
}

/// The path loss of a UE of group `g` at `freq_mhz`: the group's
/// `path_loss_db`, or TR 38.901 UMa NLOS at its distance (100 m when none).
fn path_loss(g: &UeGroup, freq_mhz: f64, id: u32) -> CliResult<f64> {
    use ranlab_sim_channel::pathloss::{path_loss_db, Geometry, LosState, Scenario as Layout};
    Ok(match g.path_loss_db {
        Some(pl) => pl,
        None => {
            let geo = Geometry::new(Layout::UMa, g.distance_m.unwrap_or(100.0), freq_mhz * 1e6);
            path_loss_db(&geo, LosState::Nlos).map_err(|e| format!("ue[{id}]: {e}"))?
        }
    })
}

/// The amplitude a UE applies to its unit-energy resource elements so its
/// per-RE SNR follows its grant: `p_dbm` spread over `n_prb` PRBs, against
/// the reference of its channel (`p_max_dbm` over the carrier's `n_sc`
/// subcarriers). TS 38.213 §7.1.1: the power is set per PUSCH from P0,
/// alpha, the path loss and the PRB count, capped at P_CMAX.
pub(crate) fn power_amplitude(p_dbm: f32, n_prb: u16, p_max_dbm: f64, n_sc: usize) -> f32 {
    let per_re = p_dbm as f64 - 10.0 * (12.0 * n_prb.max(1) as f64).log10();
    let reference = p_max_dbm - 10.0 * (n_sc.max(1) as f64).log10();
    10f64.powf((per_re - reference) / 20.0) as f32
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
