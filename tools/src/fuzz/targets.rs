//! The fuzz targets: each draws one input from its generator and runs one
//! library call (or parse) on it. A returned error is fine; only a panic (or
//! an abort) is a finding.

use super::mutate::{float, int, text, Gen};
use num_complex::Complex32;
use rand::Rng;
use ranlab_phy::coding::crc::CrcPoly;
use ranlab_phy::coding::ldpc::{BaseGraph, DecoderConfig, LdpcDecoder, LIFTING_SIZES};
use ranlab_phy::coding::rate_match::{CbRateMatcher, HarqSoftBuffer};
use ranlab_phy::coding::segmentation::CodeBlockShape;
use ranlab_phy::coding::tb::{TbConfig, TbDecoder, TbPlan};
use ranlab_phy::modulation::{Demapper, Modulation};
use ranlab_phy::numerology::{CyclicPrefix, Numerology, Scs};
use ranlab_phy::pdu::{DmrsConfig, DmrsPorts, DmrsType, PuschPdu};
use ranlab_phy::pusch::{PuschReceiver, PuschRxConfig};
use ranlab_phy::simd::SimdLevel;
use ranlab_sdr::sigmf::{Metadata, SigmfRadio};
use ranlab_sdr::{Radio, RadioConfig};
use std::path::PathBuf;
use std::time::Duration;

/// State shared by the inputs of one run (built once: decoders, receiver,
/// seed documents, a scratch directory).
pub struct Ctx {
    dir: PathBuf,
    decoders: Vec<((BaseGraph, u16), LdpcDecoder)>,
    tb: TbDecoder,
    rx: Option<PuschReceiver>,
    vectors: Vec<String>,
}

impl Ctx {
    /// A context with its scratch files under `dir`.
    pub fn new(dir: PathBuf) -> Self {
        let vectors =
            std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../phy/tests/vectors"))
                .into_iter()
                .flatten()
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
                .filter_map(|p| std::fs::read_to_string(p).ok())
                .flat_map(|t| t.lines().map(str::to_string).collect::<Vec<_>>())
                .collect();
        Ctx {
            dir,
            decoders: Vec::new(),
            tb: TbDecoder::new(DecoderConfig {
                max_iterations: 4,
                ..DecoderConfig::default()
            }),
            rx: None,
            vectors,
        }
    }
}

/// How a target draws its input.
#[derive(Clone, Copy)]
pub enum Input {
    /// Structured: the target draws its own values.
    Values(fn(&mut Gen, &mut Ctx)),
    /// Text: a mutation of a seed document (the first function), given to
    /// the parse function (the second); regression inputs are such texts.
    Text(fn(&mut Gen, &Ctx) -> String, fn(&str, &mut Ctx)),
}

/// One fuzz target.
pub struct Target {
    /// Its name on the command line.
    pub name: &'static str,
    /// What it exercises.
    pub what: &'static str,
    /// Its input.
    pub input: Input,
}

impl Target {
    /// Runs one generated input.
    pub fn run(&self, g: &mut Gen, cx: &mut Ctx) {
        match self.input {
            Input::Values(f) => f(g, cx),
            Input::Text(seed, f) => {
                let t = seed(g, cx);
                f(&t, cx)
            }
        }
    }

    /// The text input `g` draws (text targets only).
    pub fn input_text(&self, g: &mut Gen, cx: &Ctx) -> Option<String> {
        match self.input {
            Input::Text(seed, _) => Some(seed(g, cx)),
            Input::Values(_) => None,
        }
    }

    /// Runs one given text input (text targets only; `false` otherwise).
    pub fn run_text(&self, t: &str, cx: &mut Ctx) -> bool {
        match self.input {
            Input::Text(_, f) => {
                f(t, cx);
                true
            }
            Input::Values(_) => false,
        }
    }
}

fn mutated_meta(g: &mut Gen, _: &Ctx) -> String {
    text(g, META)
}

fn mutated_scenario(g: &mut Gen, _: &Ctx) -> String {
    text(g, crate::scenario::DEFAULT_SCENARIO)
}

fn mutated_system(g: &mut Gen, _: &Ctx) -> String {
    let i = g.gen_range(0..SYSTEM_EXAMPLES.len());
    text(g, SYSTEM_EXAMPLES[i])
}

fn mutated_tags(g: &mut Gen, _: &Ctx) -> String {
    text(g, crate::tags::config::DEFAULT_TAGS)
}

fn mutated_vector(g: &mut Gen, cx: &Ctx) -> String {
    if cx.vectors.is_empty() {
        return String::new();
    }
    let i = g.gen_range(0..cx.vectors.len());
    text(g, &cx.vectors[i])
}

/// Every target.
pub const TARGETS: &[Target] = &[
    Target { name: "ldpc-decoder", what: "LdpcDecoder::decode: random BG, Z, LLRs, lengths, n_filled, K', CRC", input: Input::Values(ldpc_decoder) },
    Target { name: "derate-match", what: "CodeBlockShape, CbRateMatcher::new and derate_match with random sizes and buffers", input: Input::Values(derate_match) },
    Target { name: "tb-decoder", what: "TbPlan::new and TbDecoder::decode: random TBS, rate, Qm, layers, G, LBRM, buffers", input: Input::Values(tb_decoder) },
    Target { name: "demapper", what: "Demapper::demap at every SIMD level: random points (NaN, inf, huge), noise variances, lengths", input: Input::Values(demapper) },
    Target { name: "pusch-rx", what: "PuschReceiver::process_grid: random PDUs on random grids (NaN/inf REs)", input: Input::Values(pusch_rx) },
    Target { name: "sigmf-meta", what: "SigMF metadata parser on mutated metadata", input: Input::Text(mutated_meta, sigmf_meta) },
    Target { name: "sigmf-reader", what: "SigmfRadio::open and reads over mutated metadata and data files of any length", input: Input::Values(sigmf_reader) },
    Target { name: "replay-meta", what: "replay's interpretation of a recording's metadata (carrier, slots, PDUs)", input: Input::Text(mutated_meta, replay_meta) },
    Target { name: "scenario-toml", what: "the loopback scenario parser on mutated scenarios", input: Input::Text(mutated_scenario, scenario_toml) },
    Target { name: "system-toml", what: "the system-study config parser on mutated configs", input: Input::Text(mutated_system, system_toml) },
    Target { name: "tags-toml", what: "the passive-IoT tag config parser on mutated configs", input: Input::Text(mutated_tags, tags_toml) },
    Target { name: "conform-vector", what: "conform's vector reader and checkers on mutated vectors", input: Input::Text(mutated_vector, conform_vector) },
];

/// A buffer length near `want` (sometimes wrong), never a huge allocation.
fn len_near(g: &mut Gen, want: usize) -> usize {
    match g.gen_range(0..10) {
        0 => 0,
        1 => want.saturating_sub(1),
        2 => want + 1,
        _ => want,
    }
    .min(1 << 20)
}

fn ldpc_decoder(g: &mut Gen, cx: &mut Ctx) {
    let bg = if g.gen() {
        BaseGraph::Bg1
    } else {
        BaseGraph::Bg2
    };
    let z = if g.gen_range(0..16) == 0 {
        int(g, 1, 400) as u16
    } else {
        LIFTING_SIZES[g.gen_range(0..24)]
    };
    let dec = match cx.decoders.iter().position(|(k, _)| *k == (bg, z)) {
        Some(i) => &mut cx.decoders[i].1,
        None => match LdpcDecoder::new(
            bg,
            z,
            DecoderConfig {
                max_iterations: 4,
                ..DecoderConfig::default()
            },
        ) {
            Ok(d) => {
                cx.decoders.push(((bg, z), d));
                &mut cx.decoders.last_mut().expect("just pushed").1
            }
            Err(_) => return,
        },
    };
    let (n, k) = (dec.buffer_len(), dec.info_len());
    let llrs: Vec<i8> = (0..len_near(g, n)).map(|_| g.gen()).collect();
    let mut out = vec![0u8; len_near(g, k)];
    let crc = match g.gen_range(0..4) {
        0 => Some(CrcPoly::Crc24B),
        1 => Some(CrcPoly::Crc16),
        _ => None,
    };
    let _ = dec.decode(
        &llrs,
        int(g, 0, n as u64) as usize,
        int(g, 1, k as u64) as usize,
        crc,
        &mut out,
    );
}

fn shape(g: &mut Gen) -> Option<CodeBlockShape> {
    let bg = if g.gen() {
        BaseGraph::Bg1
    } else {
        BaseGraph::Bg2
    };
    let k_prime = int(g, 1, 8448) as usize;
    let b = int(g, k_prime as u64, 9000) as usize;
    CodeBlockShape::new(bg, k_prime, b).ok()
}

fn derate_match(g: &mut Gen, _: &mut Ctx) {
    let Some(shape) = shape(g) else { return };
    let qm = [0u8, 1, 2, 3, 4, 6, 8, 10, 12][g.gen_range(0..9)];
    let rm = match CbRateMatcher::new(
        shape,
        int(g, 1, shape.n() as u64 + 8) as usize,
        int(g, 0, 4) as u8,
        int(g, 1, 3 * shape.n() as u64) as usize,
        qm,
    ) {
        Ok(rm) => rm,
        Err(_) => return,
    };
    let e = rm.e.min(1 << 20);
    let llrs: Vec<i8> = (0..len_near(g, e)).map(|_| g.gen()).collect();
    let mut scratch = vec![0i8; len_near(g, e)];
    let mut soft = vec![0i8; len_near(g, rm.n_cb)];
    let _ = rm.derate_match(&llrs, &mut scratch, &mut soft);
    rm.mark_fillers(&mut soft);
}

fn tb_decoder(g: &mut Gen, cx: &mut Ctx) {
    // Mostly consistent sizes (G from the TBS at a code rate 0.1-0.93, a
    // multiple of Q_m·layers), each sometimes out of range.
    let qm = [2u8, 4, 6, 8, 1, 10, 0, 7][g.gen_range(0..8)];
    let num_layers = if g.gen_bool(0.8) {
        g.gen_range(1..=4)
    } else {
        int(g, 0, 8) as u8
    };
    let tbs = int(g, 24, 20_000) as usize;
    let rate: f64 = g.gen_range(0.1..0.93);
    let unit = (qm.max(1) as usize) * (num_layers.max(1) as usize);
    let coded = ((tbs.min(1 << 20) as f64 / rate) as usize).div_ceil(unit) * unit;
    let cfg = TbConfig {
        tbs,
        r_x2048: if g.gen_bool(0.8) {
            (rate * 2048.0) as u32
        } else {
            int(g, 0, 2048) as u32
        },
        qm,
        num_layers,
        g: if g.gen_bool(0.8) {
            coded
        } else {
            int(g, 0, 60_000) as usize
        },
        tbs_lbrm: g.gen_bool(0.2).then(|| int(g, 0, 100_000) as u32),
    };
    let Ok(plan) = TbPlan::new(cfg) else { return };
    if plan.cfg.g > 200_000 || plan.cfg.tbs > 200_000 {
        return;
    }
    let llrs: Vec<i8> = (0..len_near(g, plan.cfg.g)).map(|_| g.gen()).collect();
    let cap = len_near(g, plan.soft_buffer_len());
    let mut soft = HarqSoftBuffer::new(cap, len_near(g, plan.num_cb()));
    let mut out = vec![0u8; len_near(g, plan.cfg.tbs)];
    let _ = cx.tb.decode(
        &plan,
        &llrs,
        int(g, 0, 4) as u8,
        &mut soft,
        g.gen(),
        &mut out,
    );
}

fn demapper(g: &mut Gen, _: &mut Ctx) {
    let m = Modulation::ALL[g.gen_range(0..Modulation::ALL.len())];
    let levels = SimdLevel::supported();
    let level = levels[g.gen_range(0..levels.len())];
    let n = g.gen_range(0..300);
    let scale = [1.0, 100.0, 1e30][g.gen_range(0..3)];
    let y: Vec<Complex32> = (0..n)
        .map(|_| Complex32::new(float(g, scale), float(g, scale)))
        .collect();
    let nv: Vec<f32> = (0..len_near(g, n)).map(|_| float(g, 1.0).abs()).collect();
    let mut llr = vec![0f32; len_near(g, n * m.qm())];
    let _ = Demapper::with_level(m, level).demap_from(g.gen_range(0..4), &y, &nv, &mut llr);
}

fn pusch_rx(g: &mut Gen, cx: &mut Ctx) {
    const N_PRB: u16 = 24;
    let rx = cx.rx.get_or_insert_with(|| {
        let num = Numerology::new(Scs::Khz30, CyclicPrefix::Normal, N_PRB, None)
            .expect("24 PRB at 30 kHz");
        PuschReceiver::new(num, PuschRxConfig::new(2, 2)).expect("a 2-antenna receiver")
    });
    // Mostly valid PDUs (so most inputs reach estimation, detection and
    // decoding), each field sometimes out of range.
    let layers = int(g, 1, 2) as u8;
    let ports: Vec<u8> = if g.gen_bool(0.8) {
        (0..layers).collect()
    } else {
        (0..int(g, 0, 3).min(4))
            .map(|_| int(g, 0, 11) as u8)
            .collect()
    };
    let prb_start = if g.gen_bool(0.7) {
        g.gen_range(0..N_PRB)
    } else {
        int(g, 0, N_PRB as u64) as u16
    };
    let n_prb = if g.gen_bool(0.7) {
        g.gen_range(1..=N_PRB - prb_start.min(N_PRB - 1))
    } else {
        int(g, 1, N_PRB as u64) as u16
    };
    let start_symbol = if g.gen_bool(0.7) {
        g.gen_range(0..3)
    } else {
        int(g, 0, 13) as u8
    };
    let n_symbols = if g.gen_bool(0.7) {
        14 - start_symbol.min(13)
    } else {
        int(g, 1, 14) as u8
    };
    let pdu = PuschPdu {
        rnti: g.gen(),
        n_id: int(g, 0, 1023) as u16,
        slot: int(g, 0, 19) as u16,
        prb_start,
        n_prb,
        start_symbol,
        n_symbols,
        mcs_table: int(g, 1, 3) as u8,
        mcs_index: if g.gen_bool(0.8) {
            g.gen_range(0..28)
        } else {
            int(g, 0, 31) as u8
        },
        num_layers: layers,
        dmrs: DmrsConfig {
            config_type: if g.gen_bool(0.8) {
                DmrsType::Type1
            } else {
                DmrsType::Type2
            },
            type_a_position: if g.gen_bool(0.8) {
                2
            } else {
                int(g, 2, 3) as u8
            },
            additional_position: int(g, 0, 3) as u8,
            length: if g.gen_bool(0.8) {
                1
            } else {
                int(g, 1, 2) as u8
            },
            // A PDU holds at most 8 ports; more layers than ports is for validation to catch.
            ports: DmrsPorts::new(&ports[..ports.len().min(8)]).unwrap_or_default(),
            cdm_groups_without_data: if g.gen_bool(0.8) {
                2
            } else {
                int(g, 1, 3) as u8
            },
            scrambling_id: g.gen(),
            n_scid: int(g, 0, 1) as u8,
        },
        rv: int(g, 0, 3) as u8,
        harq_id: int(g, 0, 15) as u8,
        new_data: g.gen(),
        ndi: g.gen(),
        ..Default::default()
    };
    let special = g.gen_bool(0.1);
    for x in rx.grid_mut().as_mut_slice() {
        *x = if special && g.gen_range(0..1000) == 0 {
            Complex32::new(float(g, 1.0), float(g, 1.0))
        } else {
            Complex32::new(g.gen::<f32>() - 0.5, g.gen::<f32>() - 0.5)
        };
    }
    let _ = rx.process_grid(&pdu, None);
}

/// A valid SigMF recording's metadata (two channels of cf32, one capture,
/// slot annotations with a PUSCH PDU) to mutate.
const META: &str = r#"{"global":{"core:datatype":"cf32_le","core:sample_rate":7680000.0,"core:num_channels":2,"core:version":"1.0.0","core:recorder":"ranlab","core:extensions":[{"name":"ranlab","version":"0.1.0","optional":true}],"ranlab:carrier":{"scs_khz":30,"n_prb":24,"fft_size":512,"cyclic_prefix":"normal","cell_id":7,"antennas":2}},"captures":[{"core:sample_start":0,"core:global_index":1000,"core:frequency":3500000000.0}],"annotations":[{"core:sample_start":0,"core:sample_count":3840,"core:label":"slot 0","ranlab:slot":0,"ranlab:pusch":[]},{"core:sample_start":3840,"core:sample_count":3840,"core:label":"slot 1","ranlab:slot":1,"ranlab:pusch":[{"rnti":17921,"n_id":7,"prb_start":0,"n_prb":24,"start_symbol":0,"n_symbols":14,"mcs_table":1,"mcs_index":10,"layers":1,"rv":0,"harq_id":0,"new_data":true,"ndi":true,"dmrs":{"type":1,"type_a_position":2,"additional_position":1,"length":1,"ports":[0],"cdm_groups_without_data":2,"scrambling_id":7,"n_scid":0}}]}]}"#;

fn meta_of(t: &str) -> Option<Metadata> {
    let v: serde_json::Value = serde_json::from_str(t).ok()?;
    Metadata::from_json(&v, "fuzz.sigmf-meta").ok()
}

fn sigmf_meta(t: &str, _: &mut Ctx) {
    let _ = meta_of(t);
}

fn sigmf_reader(g: &mut Gen, cx: &mut Ctx) {
    let t = text(g, META);
    // Mostly short files (a few slots of the 2-channel cf32 recording),
    // any length, whole samples or not.
    let bytes = if g.gen_bool(0.9) {
        g.gen_range(0..4 * 3840) * 16
    } else {
        g.gen_range(0..65_536)
    };
    sigmf_files(&t, bytes, cx);
}

/// Opens and reads a recording of metadata `t` and a data file of `bytes` bytes.
fn sigmf_files(t: &str, bytes: usize, cx: &mut Ctx) {
    let base = cx.dir.join("fuzz");
    let (mp, dp) = ranlab_sdr::sigmf::paths(&base);
    let _ = std::fs::write(&mp, t);
    let data: Vec<u8> = (0..bytes).map(|i| (i * 7 % 251) as u8).collect();
    let _ = std::fs::write(&dp, data);
    let Ok(mut radio) = SigmfRadio::open(&base) else {
        return;
    };
    let cfg = RadioConfig {
        sample_rate_hz: radio.metadata().sample_rate_hz,
        center_frequency_hz: 0.0,
        rx_gain_db: vec![],
        tx_gain_db: vec![],
        rx_antennas: vec![],
        tx_antennas: vec![],
    };
    if radio.configure(&cfg).is_err() || radio.start().is_err() {
        return;
    }
    let ch = radio.metadata().num_channels.min(16);
    let mut bufs = vec![vec![Complex32::default(); 2048]; ch];
    for _ in 0..4 {
        let mut views: Vec<&mut [Complex32]> = bufs.iter_mut().map(|b| &mut b[..]).collect();
        if radio.receive(&mut views, Duration::ZERO).is_err() {
            break;
        }
    }
}

fn replay_meta(t: &str, _: &mut Ctx) {
    if let Some(meta) = meta_of(t) {
        let _ = crate::replay::interpret(&meta, std::path::Path::new("fuzz.sigmf-meta"), 30);
    }
}

fn scenario_toml(t: &str, _: &mut Ctx) {
    let _ = crate::scenario::Scenario::parse(t, "fuzz.toml");
}

/// The system-study examples the mutations start from.
const SYSTEM_EXAMPLES: [&str; 3] = [
    include_str!("../../examples/qos.toml"),
    include_str!("../../examples/ul-ca.toml"),
    include_str!("../../examples/mu-mimo.toml"),
];

fn system_toml(t: &str, _: &mut Ctx) {
    let _ = crate::system::config::SystemConfig::parse(t, "fuzz.toml");
}

fn tags_toml(t: &str, _: &mut Ctx) {
    let _ = crate::tags::config::TagsConfig::parse(t, "fuzz.toml");
}

fn conform_vector(t: &str, _: &mut Ctx) {
    if let Ok(v) = serde_json::from_str::<crate::conform::Vector>(t) {
        let _ = crate::conform::check(&v);
    }
}
