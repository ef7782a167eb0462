//! The inventory simulation behind `ranlab tags`: tags in the hall, the
//! waveform-level air interface (every Msg1 and Msg3 is rendered by the tag
//! model, passed through the hall channel to every site and decoded by the
//! joint D2R receiver), the inventory round, its NR timeline, and positioning.

use super::config::TagsConfig;
use num_complex::Complex32;
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use ranlab_mac::piot::inventory::{
    run_inventory, IdealAir, InventoryAir, InventoryConfig, Msg1Outcome, SlotKind,
};
use ranlab_mac::piot::occasions::{OccasionConfig, Timeline};
use ranlab_mac::piot::positioning::{percentile, Fingerprint, Fusion, Trilateration};
use ranlab_phy::coding::crc::CrcPoly;
use ranlab_phy::piot::d2r::{CaptureLayout, D2rConfig, D2rReceiver, D2rTransmitter, SiteSoft};
use ranlab_phy::piot::tag::{backscatter_waveform, TagClock};
use ranlab_sim_channel::pathloss::Scenario;
use ranlab_sim_channel::piot::{add_backscatter, add_leakage, Hall, HallConfig};
use ranlab_sim_channel::rng::{Gaussian, Purpose};

/// Msg1 carries a 16-bit random ID (protected by CRC6), Msg3 a 96-bit tag ID (CRC16).
pub const MSG1_BITS: usize = 16;
/// Tag ID length (an EPC-96-sized identifier).
pub const ID_BITS: usize = 96;

/// The hall, its sites and the link budget constants.
pub struct World {
    pub cfg: TagsConfig,
    pub hall: Hall,
    pub sites: Vec<(f64, f64)>,
    /// Noise power per sample at the reader, dBm.
    pub noise_dbm: f64,
    /// Sample rate of the D2R captures, Hz.
    pub fs: f64,
}

impl World {
    pub fn new(cfg: &TagsConfig, seed: u64) -> Result<World, String> {
        cfg.validate()?;
        let sites = cfg.reader_positions();
        let hcfg = HallConfig {
            width_m: cfg.hall.width_m,
            length_m: cfg.hall.length_m,
            fc_hz: cfg.hall.carrier_mhz * 1e6,
            h_reader_m: cfg.hall.reader_height_m,
            h_tag_m: cfg.hall.tag_height_m,
            scenario: if cfg.hall.scenario == "inh-mixed" {
                Scenario::InHMixed
            } else {
                Scenario::InHOpen
            },
            shadowing: cfg.hall.shadowing,
        };
        let hall = Hall::new(hcfg, &sites, seed).map_err(|e| format!("hall: {e}"))?;
        let fs = cfg.d2r.chip_rate_khz
            * 1e3
            * 2.0
            * cfg.d2r.subcarrier_cycles as f64
            * cfg.d2r.samples_per_subchip as f64;
        let noise_dbm = -174.0 + 10.0 * fs.log10() + cfg.readers.noise_figure_db;
        let w = World {
            cfg: cfg.clone(),
            hall,
            sites,
            noise_dbm,
            fs,
        };
        w.check_coverage()?;
        Ok(w)
    }

    /// Incident power at (x, y) from all sites (incoherent sum), dBm.
    pub fn incident_dbm(&self, x: f64, y: f64) -> f64 {
        let mw: f64 = (0..self.sites.len())
            .map(|j| {
                10f64.powf(
                    (self.cfg.readers.tx_power_dbm - self.hall.link(j, x, y).loss_db()) / 10.0,
                )
            })
            .sum();
        10.0 * mw.log10()
    }

    /// The same without shadowing (deterministic LOS model), dBm.
    pub fn incident_model_dbm(&self, x: f64, y: f64) -> f64 {
        let dh = self.cfg.hall.reader_height_m - self.cfg.hall.tag_height_m;
        let mw: f64 = self
            .sites
            .iter()
            .map(|s| {
                let d3 = (x - s.0).hypot(y - s.1).hypot(dh);
                10f64.powf((self.cfg.readers.tx_power_dbm - self.hall.los_path_loss_db(d3)) / 10.0)
            })
            .sum();
        10.0 * mw.log10()
    }

    /// Mean received backscatter power at `site` from a tag at (x, y), dBm.
    pub fn backscatter_dbm(&self, site: usize, x: f64, y: f64) -> f64 {
        self.incident_dbm(x, y) + 20.0 * self.cfg.tags.reflection.log10()
            - self.hall.link(site, x, y).loss_db()
    }

    /// "No reader in range": no point of the hall reaches the sensitivity
    /// with the deterministic model.
    fn check_coverage(&self) -> Result<(), String> {
        let (w, h) = (self.cfg.hall.width_m, self.cfg.hall.length_m);
        let mut best = f64::MIN;
        for i in 0..=40 {
            for j in 0..=40 {
                best = best.max(self.incident_model_dbm(w * i as f64 / 40.0, h * j as f64 / 40.0));
            }
        }
        if best < self.cfg.tags.sensitivity_dbm {
            return Err(format!(
                "no reader in range: the strongest incident power anywhere in the hall is {best:.1} dBm, \
                 below tags.sensitivity_dbm {} dBm (raise readers.tx_power_dbm, add readers or lower the sensitivity)",
                self.cfg.tags.sensitivity_dbm
            ));
        }
        Ok(())
    }

    pub fn d2r_config(&self) -> D2rConfig {
        D2rConfig {
            modulation: self.cfg.modulation(),
            line_code: self.cfg.line_code(),
            subcarrier_cycles: self.cfg.d2r.subcarrier_cycles,
            samples_per_subchip: self.cfg.d2r.samples_per_subchip as f64,
            coding: self.cfg.coding(),
            repetitions: self.cfg.d2r.repetitions,
            preamble_chips: self.cfg.d2r.preamble_chips,
            max_ppm: self.cfg.tags.max_ppm,
            max_jitter: self.cfg.tags.jitter.max(0.002),
            crc: CrcPoly::Crc16,
            detection: self.cfg.detection(),
        }
    }
}

/// One tag of the population.
#[derive(Debug, Clone)]
pub struct TagState {
    pub pos: (f64, f64),
    pub ppm: f64,
    pub id: Vec<u8>,
    pub powered: bool,
    /// Mean backscatter power per site, dBm.
    pub rx_dbm: Vec<f64>,
    /// RSSI measured per site on the tag's last decoded Msg3, dBm.
    pub rssi: Vec<Option<f64>>,
}

/// A message format: transmitter, receiver, capture and buffers.
struct Msg {
    tx: D2rTransmitter,
    rx: D2rReceiver,
    cap: CaptureLayout,
    states: Vec<f32>,
    refl: Vec<Vec<f32>>,
    ys: Vec<Vec<Complex32>>,
    softs: Vec<SiteSoft>,
    bits: Vec<u8>,
}

impl Msg {
    fn new(cfg: D2rConfig, info: usize, sites: usize) -> Result<Msg, String> {
        let tx = D2rTransmitter::new(cfg, info).map_err(|e| e.to_string())?;
        let rx = D2rReceiver::new(cfg, info).map_err(|e| e.to_string())?;
        let chip = 2.0 * cfg.subcarrier_cycles as f64 * cfg.samples_per_subchip;
        let cap = rx.capture(64, (4.0 * chip) as usize);
        let n = tx.layout().subchips;
        Ok(Msg {
            softs: (0..sites).map(|_| rx.new_site_soft()).collect(),
            tx,
            rx,
            states: vec![0.0; n],
            refl: Vec::new(),
            ys: vec![vec![Complex32::new(0.0, 0.0); cap.len]; sites],
            cap,
            bits: vec![0; info],
        })
    }

    /// Renders `senders` (bits, clock) and receives at every site; returns
    /// (any site detected, CRC ok) and leaves the decoded bits in `self.bits`.
    fn exchange(
        &mut self,
        w: &World,
        tags: &[TagState],
        senders: &[(usize, Vec<u8>)],
        g: &mut Gaussian,
        rng: &mut Xoshiro256PlusPlus,
    ) -> (bool, bool) {
        let sps = self.rx.config().samples_per_subchip;
        self.refl.resize_with(senders.len(), Vec::new);
        for (k, (t, bits)) in senders.iter().enumerate() {
            self.tx.states(bits, &mut self.states).expect("sized");
            let start = self.cap.guard as f64 + rng.gen_range(0.0..self.cap.window as f64);
            let clock = TagClock {
                ppm: tags[*t].ppm,
                jitter: w.cfg.tags.jitter,
            };
            self.refl[k].resize(self.cap.len, 0.0);
            let mut gs = || g.normal() as f64;
            backscatter_waveform(&self.states, sps, &clock, start, &mut gs, &mut self.refl[k]);
        }
        let leak = 10f32.powf(w.cfg.readers.leakage_db as f32 / 20.0);
        let cfo = std::f64::consts::TAU * w.cfg.readers.cfo_hz / w.fs;
        for (j, y) in self.ys.iter_mut().enumerate() {
            y.iter_mut().for_each(|v| *v = Complex32::new(0.0, 0.0));
            add_leakage(y, leak, rng.gen_range(0.0..std::f64::consts::TAU), 1e-5);
            for (k, (t, _)) in senders.iter().enumerate() {
                // SNR per sample of the full-reflection level, with fast fading.
                let db = tags[*t].rx_dbm[j] - w.noise_dbm
                    + w.cfg.tags.fast_fading_db * g.normal() as f64;
                let gain = Complex32::from_polar(
                    10f32.powf(db as f32 / 20.0),
                    rng.gen_range(0.0..std::f32::consts::TAU),
                );
                add_backscatter(y, &self.refl[k], gain, cfo * rng.gen_range(-1.0..1.0));
            }
            g.add_complex(y, 1.0);
        }
        let yr: Vec<&[Complex32]> = self.ys.iter().map(|y| &y[..]).collect();
        self.rx
            .receive(&yr, &self.cap, &mut self.softs)
            .expect("sized");
        let refs: Vec<&SiteSoft> = self.softs.iter().collect();
        let o = self.rx.decode(&refs, &mut self.bits).expect("sized");
        (o.sites > 0, o.crc_ok)
    }
}

/// The waveform-level air interface.
struct WaveAir<'a> {
    w: &'a World,
    tags: &'a mut [TagState],
    msg1: Msg,
    msg3: Msg,
    g: Gaussian,
    rng: Xoshiro256PlusPlus,
}

fn bits16(v: u16) -> Vec<u8> {
    (0..16).map(|i| ((v >> (15 - i)) & 1) as u8).collect()
}

impl InventoryAir for WaveAir<'_> {
    fn msg1(&mut self, responders: &[(usize, u16)]) -> Msg1Outcome {
        let senders: Vec<(usize, Vec<u8>)> =
            responders.iter().map(|&(t, rn)| (t, bits16(rn))).collect();
        let (det, ok) = self
            .msg1
            .exchange(self.w, self.tags, &senders, &mut self.g, &mut self.rng);
        if ok {
            let rn = self
                .msg1
                .bits
                .iter()
                .fold(0u16, |a, &b| (a << 1) | b as u16);
            Msg1Outcome::Decoded(rn)
        } else if det {
            Msg1Outcome::Collision
        } else {
            Msg1Outcome::Empty
        }
    }

    fn msg3(&mut self, senders: &[usize]) -> Option<usize> {
        if senders.is_empty() {
            return None;
        }
        let s: Vec<(usize, Vec<u8>)> = senders
            .iter()
            .map(|&t| (t, self.tags[t].id.clone()))
            .collect();
        let (_, ok) = self
            .msg3
            .exchange(self.w, self.tags, &s, &mut self.g, &mut self.rng);
        if !ok {
            return None;
        }
        let t = *senders
            .iter()
            .find(|&&t| self.tags[t].id == self.msg3.bits)?;
        let noise = self.w.noise_dbm;
        self.tags[t].rssi = self
            .msg3
            .softs
            .iter()
            .map(|s| {
                s.detected
                    .then(|| 10.0 * (s.amplitude.norm_sqr() as f64).log10() + noise)
            })
            .collect();
        Some(t)
    }

    fn stop(&mut self) -> bool {
        crate::interrupt::requested()
    }
}

/// Everything `ranlab tags` reports.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TagsReport {
    /// Ctrl-C ended the inventory early: the tags read so far.
    pub interrupted: bool,
    pub tags: usize,
    pub readers: usize,
    pub tags_powered: usize,
    pub tags_read: usize,
    pub tags_missed: usize,
    pub read_fraction: f64,
    pub inventory_time_s: f64,
    pub read_rate_tags_per_s: f64,
    pub access_occasions: usize,
    pub empty_occasions: usize,
    pub collision_occasions: usize,
    pub nack_occasions: usize,
    pub captures: usize,
    pub slot_efficiency: f64,
    pub aloha_bound: f64,
    pub slot_efficiency_no_capture: f64,
    pub ul_prb_share: f64,
    pub msg1_ms: f64,
    pub msg3_ms: f64,
    pub rssi_dbm_p10: f64,
    pub rssi_dbm_p50: f64,
    pub rssi_dbm_p90: f64,
    pub position_error_p50_m: f64,
    pub position_error_p90_m: f64,
    pub trilateration_error_p50_m: f64,
    pub fingerprint_error_p50_m: f64,
    pub fusion_weight_trilateration: f64,
    pub positioned: usize,
    /// (time s, tags read so far), at every tenth of the read count and at the end.
    pub read_over_time: Vec<(f64, usize)>,
    /// Per read tag: id index, x, y, estimated x, y, error m, RSSI per site (dBm, null when not heard).
    pub per_tag: Vec<PerTag>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct PerTag {
    pub tag: usize,
    pub x: f64,
    pub y: f64,
    pub est_x: Option<f64>,
    pub est_y: Option<f64>,
    pub error_m: Option<f64>,
    pub rssi_dbm: Vec<Option<f64>>,
}

/// Runs one inventory round and positioning.
pub fn run(cfg: &TagsConfig, seed: u64) -> Result<TagsReport, String> {
    let w = World::new(cfg, seed)?;
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed ^ 0x7a65);
    let (wd, ln) = (cfg.hall.width_m, cfg.hall.length_m);
    let ns = w.sites.len();
    let mut tags: Vec<TagState> = (0..cfg.tags.count)
        .map(|_| {
            let pos = (rng.gen_range(0.0..wd), rng.gen_range(0.0..ln));
            let ppm = if cfg.tags.max_ppm > 0.0 {
                rng.gen_range(-cfg.tags.max_ppm..=cfg.tags.max_ppm)
            } else {
                0.0
            };
            let id = (0..ID_BITS).map(|_| rng.gen_range(0..2u8)).collect();
            let powered = w.incident_dbm(pos.0, pos.1) >= cfg.tags.sensitivity_dbm;
            let rx_dbm = (0..ns)
                .map(|j| w.backscatter_dbm(j, pos.0, pos.1))
                .collect();
            TagState {
                pos,
                ppm,
                id,
                powered,
                rx_dbm,
                rssi: vec![None; ns],
            }
        })
        .collect();
    let powered: Vec<usize> = (0..tags.len()).filter(|&t| tags[t].powered).collect();
    // The inventory sees only powered tags; it indexes them 0..n.
    let d2r = w.d2r_config();
    let mut m1cfg = d2r;
    m1cfg.crc = CrcPoly::Crc6;
    let msg1 = Msg::new(m1cfg, MSG1_BITS, ns)?;
    let msg3 = Msg::new(d2r, ID_BITS, ns)?;
    let msg1_s = msg1.tx.layout().samples(&d2r) / w.fs;
    let msg3_s = msg3.tx.layout().samples(&d2r) / w.fs;
    let mut sub: Vec<TagState> = powered.iter().map(|&t| tags[t].clone()).collect();
    let inv = InventoryConfig {
        initial_q: cfg.inventory.initial_q,
        c: cfg.inventory.c,
        ..InventoryConfig::default()
    };
    let mut air = WaveAir {
        w: &w,
        tags: &mut sub,
        msg1,
        msg3,
        g: Gaussian::new(seed, Purpose::Noise, 0x7a6, 0, 0),
        rng: Xoshiro256PlusPlus::seed_from_u64(seed ^ 0xa1),
    };
    let mut trng = Xoshiro256PlusPlus::seed_from_u64(seed ^ 0x51);
    let report =
        run_inventory(sub_len(&powered), &inv, &mut air, &mut trng).map_err(|e| e.to_string())?;
    for (k, &t) in powered.iter().enumerate() {
        tags[t].rssi = sub[k].rssi.clone();
    }
    // The same round over an ideal collision channel (no capture, no noise),
    // for the slot efficiency that framed slotted ALOHA alone achieves.
    let ideal =
        run_inventory(powered.len(), &inv, &mut IdealAir, &mut trng).map_err(|e| e.to_string())?;
    // NR timeline. R2D airtimes: preamble (8 chips) + Manchester(command ‖ CRC6).
    let r2d = |bits: usize| (8 + 2 * (bits + 6)) as f64 * cfg.r2d.chip_us * 1e-6;
    let occ = OccasionConfig {
        nr_slot_s: cfg.nr.slot_ms * 1e-3,
        ul_prbs: cfg.nr.ul_prbs,
        d2r_prbs: cfg.nr.d2r_prbs,
        dl_prbs: cfg.nr.dl_prbs,
        r2d_prbs: cfg.nr.r2d_prbs,
        paging_s: r2d(22),
        trigger_s: r2d(4),
        msg1_s,
        msg2_s: r2d(16 + 8),
        msg3_s,
        ack_s: r2d(16),
        t1_s: 100e-6,
    };
    let tl: Timeline = occ.schedule(&report.slots);
    let read = report.tags_read();
    let mut over_time = Vec::new();
    let mut count = 0;
    let mut next = 1;
    for (s, &t_end) in report.slots.iter().zip(&tl.occasion_end_s) {
        if s.kind == SlotKind::Read {
            count += 1;
            if count * 10 >= next * read.max(1) {
                over_time.push((t_end, count));
                next += 1;
            }
        }
    }
    if over_time.last().map(|x| x.1) != Some(count) {
        over_time.push((tl.duration_s, count));
    }
    // Positioning: survey, calibration, per-tag estimates.
    let dh = cfg.hall.reader_height_m - cfg.hall.tag_height_m;
    let hall = &w.hall;
    let pl = |d3: f64| hall.los_path_loss_db(d3);
    let common = |p: (f64, f64)| w.incident_model_dbm(p.0, p.1);
    let c_refl = 20.0 * cfg.tags.reflection.log10();
    let tri = Trilateration::new(&w.sites, dh, &pl, (wd, ln)).with_model(&common, None);
    let _ = c_refl; // the reflection loss is known, but estimating c also absorbs the shadowing of the incident power
    let mut fp = Fingerprint::default();
    let step = cfg.positioning.survey_step_m;
    let mut sg = Gaussian::new(seed, Purpose::User, 0x5e, 0, 0);
    let (nx, ny) = ((wd / step).floor() as usize, (ln / step).floor() as usize);
    for i in 0..=nx {
        for j in 0..=ny {
            let p = (i as f64 * step, j as f64 * step);
            if w.incident_dbm(p.0, p.1) < cfg.tags.sensitivity_dbm {
                continue; // a reference tag there would not answer
            }
            fp.points.push(p);
            fp.rssi.push(
                (0..ns)
                    .map(|s| {
                        Some(
                            w.backscatter_dbm(s, p.0, p.1)
                                + cfg.tags.fast_fading_db * sg.normal() as f64,
                        )
                    })
                    .collect(),
            );
        }
    }
    let k = cfg.positioning.k;
    let fusion = Fusion::calibrate(&tri, &fp, k);
    let (mut errs, mut e_tri, mut e_fp, mut rssi_all) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut per_tag = Vec::new();
    for (t, tag) in tags.iter().enumerate() {
        let k_read = powered
            .iter()
            .position(|&p| p == t)
            .map(|k| report.reads_per_tag[k] > 0);
        if k_read != Some(true) {
            continue;
        }
        rssi_all.extend(tag.rssi.iter().flatten().copied());
        let a = tri.locate(&tag.rssi);
        let b = fp.locate(&tag.rssi, k);
        let f = fusion.fuse(a, b);
        let d = |p: (f64, f64)| (p.0 - tag.pos.0).hypot(p.1 - tag.pos.1);
        if let Some(a) = a {
            e_tri.push(d(a));
        }
        if let Some(b) = b {
            e_fp.push(d(b));
        }
        if let Some(f) = f {
            errs.push(d(f));
        }
        per_tag.push(PerTag {
            tag: t,
            x: tag.pos.0,
            y: tag.pos.1,
            est_x: f.map(|p| p.0),
            est_y: f.map(|p| p.1),
            error_m: f.map(d),
            rssi_dbm: tag.rssi.clone(),
        });
    }
    let n = cfg.tags.count;
    Ok(TagsReport {
        interrupted: report.stopped,
        tags: n,
        readers: ns,
        tags_powered: powered.len(),
        tags_read: read,
        tags_missed: n - read,
        read_fraction: read as f64 / n as f64,
        inventory_time_s: tl.duration_s,
        read_rate_tags_per_s: read as f64 / tl.duration_s.max(1e-9),
        access_occasions: report.slots.len(),
        empty_occasions: report.count(SlotKind::Empty),
        collision_occasions: report.count(SlotKind::Collision),
        nack_occasions: report.count(SlotKind::Nack),
        captures: report.captures(),
        slot_efficiency: report.slot_efficiency(),
        aloha_bound: 1.0 / std::f64::consts::E,
        slot_efficiency_no_capture: ideal.slot_efficiency(),
        ul_prb_share: tl.ul_share(&occ),
        msg1_ms: msg1_s * 1e3,
        msg3_ms: msg3_s * 1e3,
        rssi_dbm_p10: percentile(&rssi_all, 10.0),
        rssi_dbm_p50: percentile(&rssi_all, 50.0),
        rssi_dbm_p90: percentile(&rssi_all, 90.0),
        position_error_p50_m: percentile(&errs, 50.0),
        position_error_p90_m: percentile(&errs, 90.0),
        trilateration_error_p50_m: percentile(&e_tri, 50.0),
        fingerprint_error_p50_m: percentile(&e_fp, 50.0),
        fusion_weight_trilateration: fusion.w_tri,
        positioned: errs.len(),
        read_over_time: over_time,
        per_tag,
    })
}

fn sub_len(v: &[usize]) -> usize {
    v.len()
}
