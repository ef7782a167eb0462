//! Property tests of the transport chain: segmentation over random TB sizes,
//! rate matching against a literal reading of TS 38.212 §5.4.2, and
//! de-rate-matching round trips with combining, plus fuzzed lengths.

#[path = "common/vectors.rs"]
mod vectors;

use proptest::prelude::*;
use ranlab_phy::coding::ldpc::{BaseGraph, LIFTING_SIZES};
use ranlab_phy::coding::rate_match::{k0, CbRateMatcher, HarqSoftBuffer, FILLER_LLR};
use ranlab_phy::coding::segmentation::{
    max_code_block, select_base_graph, CodeBlockShape, Segmentation,
};
use ranlab_phy::coding::tbs::{mcs, transport_block_size, McsTable, TbScaling, TbsParams};

fn bg_strategy() -> impl Strategy<Value = BaseGraph> {
    prop_oneof![Just(BaseGraph::Bg1), Just(BaseGraph::Bg2)]
}

/// A random TBS as TS 38.214 would produce it, and the MCS rate.
fn tbs_strategy() -> impl Strategy<Value = (usize, u32)> {
    (1u32..=273, 2u8..=14, 0u8..28, 1u8..=4, 0usize..3).prop_map(|(n_prb, n_symb, idx, v, t)| {
        let table = [McsTable::Qam64, McsTable::Qam256, McsTable::Qam64LowSe][t];
        let m = mcs(table, idx.min(27), false).unwrap();
        let p = TbsParams {
            n_prb,
            n_symb_sh: n_symb,
            n_dmrs_prb: 12.min(12 * n_symb as u32 - 1),
            n_oh: 0,
            num_layers: v,
            mcs: m,
            scaling: TbScaling::One,
        };
        (transport_block_size(&p).unwrap().tbs as usize, m.r_x2048)
    })
}

/// Bit selection and interleaving as §5.4.2.1-2 write them, one bit at a time.
fn reference_rate_match(
    shape: &CodeBlockShape,
    n_cb: usize,
    rv: u8,
    e: usize,
    qm: usize,
    c: &[u8],
) -> Vec<u8> {
    let z = shape.z;
    let d = &c[2 * z..];
    let k0 = k0(shape.bg, rv, n_cb, z);
    let fill = (shape.k_prime - 2 * z)..(shape.k - 2 * z);
    let mut ebits = Vec::with_capacity(e);
    let mut k = 0;
    while ebits.len() < e {
        let pos = (k0 + k) % n_cb;
        if !fill.contains(&pos) {
            ebits.push(d[pos]);
        }
        k += 1;
    }
    let mut f = vec![0u8; e];
    for i in 0..qm {
        for j in 0..e / qm {
            f[i + j * qm] = ebits[i * (e / qm) + j];
        }
    }
    f
}

/// How often each position of d is selected (the literal walk again).
fn reference_counts(shape: &CodeBlockShape, n_cb: usize, rv: u8, e: usize) -> Vec<i32> {
    let z = shape.z;
    let k0 = k0(shape.bg, rv, n_cb, z);
    let fill = (shape.k_prime - 2 * z)..(shape.k - 2 * z);
    let mut cnt = vec![0; shape.n()];
    let (mut k, mut got) = (0, 0);
    while got < e {
        let pos = (k0 + k) % n_cb;
        if !fill.contains(&pos) {
            cnt[pos] += 1;
            got += 1;
        }
        k += 1;
    }
    cnt
}

/// A random code block shape, rv, Q_m and E (up to 2.5x the buffer: repetition).
fn block_strategy() -> impl Strategy<Value = (CodeBlockShape, u8, usize, usize, u64)> {
    (
        bg_strategy(),
        0.0f64..1.0,
        0u8..4,
        prop_oneof![Just(1usize), Just(2), Just(4), Just(6), Just(8), Just(10)],
        0.05f64..2.5,
        any::<u64>(),
    )
        .prop_map(|(bg, kf, rv, qm, ef, seed)| {
            let kmax = max_code_block(bg);
            let k_prime = 40 + ((kmax - 40) as f64 * kf) as usize;
            let shape = CodeBlockShape::new(bg, k_prime, k_prime).unwrap();
            let e = (((shape.n() as f64 * ef) as usize / qm).max(1)) * qm;
            (shape, rv, qm, e, seed)
        })
}

fn random_codeword(shape: &CodeBlockShape, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    let mut c: Vec<u8> = (0..shape.n_ldpc())
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 33) as u8 & 1
        })
        .collect();
    c[shape.k_prime..shape.k].fill(0);
    c
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn segmentation_follows_5_2_2((tbs, r) in tbs_strategy()) {
        let bg = select_base_graph(tbs, r);
        let s = Segmentation::new(tbs, bg).unwrap();
        let kcb = max_code_block(bg);
        prop_assert_eq!(s.b, tbs + if tbs > 3824 { 24 } else { 16 });
        if s.b <= kcb {
            prop_assert_eq!((s.num_cb, s.cb_crc_len), (1, 0));
        } else {
            prop_assert_eq!(s.num_cb, s.b.div_ceil(kcb - 24));
            prop_assert_eq!(s.cb_crc_len, 24);
        }
        let sh = s.shape;
        prop_assert_eq!(sh.k_prime * s.num_cb, s.b + s.num_cb * s.cb_crc_len);
        prop_assert!(sh.k_prime <= kcb);
        prop_assert!(sh.k_b * sh.z >= sh.k_prime);
        // Z is the smallest lifting size that fits.
        let smaller = LIFTING_SIZES.iter().map(|&z| z as usize).filter(|&z| z < sh.z).max();
        if let Some(zs) = smaller { prop_assert!(sh.k_b * zs < sh.k_prime); }
        prop_assert_eq!(sh.k, if bg == BaseGraph::Bg1 { 22 * sh.z } else { 10 * sh.z });
        prop_assert_eq!(s.payload_per_cb() * s.num_cb, s.b);
    }

    #[test]
    fn rate_matching_matches_the_literal_spec((shape, rv, qm, e, seed) in block_strategy(), lbrm in 0.4f64..1.0, use_lbrm in any::<bool>()) {
        let n_cb = if use_lbrm { ((shape.n() as f64 * lbrm) as usize).max(shape.k) } else { shape.n() };
        let c = random_codeword(&shape, seed);
        let rm = CbRateMatcher::new(shape, n_cb, rv, e, qm as u8).unwrap();
        let mut scratch = vec![0u8; e];
        let mut f = vec![0u8; e];
        rm.rate_match(&c, &mut scratch, &mut f).unwrap();
        prop_assert_eq!(f, reference_rate_match(&shape, n_cb, rv, e, qm, &c));
    }

    #[test]
    fn derate_matching_inverts_and_combines((shape, rv, qm, e, seed) in block_strategy(), rv2 in 0u8..4) {
        let n_cb = shape.n();
        let c = random_codeword(&shape, seed);
        let mut soft = HarqSoftBuffer::new(shape.n(), 1);
        soft.reset(shape, 1, n_cb).unwrap();
        let mut counts = vec![0i32; shape.n()];
        let mut filled = 0;
        for (tx, rvx) in [rv, rv2].into_iter().enumerate() {
            let e = if tx == 0 { e } else { (e / 2 / qm).max(1) * qm };
            let rm = CbRateMatcher::new(shape, n_cb, rvx, e, qm as u8).unwrap();
            let mut scratch = vec![0u8; e];
            let mut f = vec![0u8; e];
            rm.rate_match(&c, &mut scratch, &mut f).unwrap();
            // LLR +1 for a 0 bit, −1 for a 1 bit.
            let llrs: Vec<i8> = f.iter().map(|&b| 1 - 2 * b as i8).collect();
            let mut s8 = vec![0i8; e];
            let (buf, n_filled) = soft.cb_mut(0);
            let top = rm.derate_match(&llrs, &mut s8, buf).unwrap();
            *n_filled = (*n_filled).max(top);
            filled = *n_filled;
            for (p, k) in reference_counts(&shape, n_cb, rvx, e).into_iter().enumerate() {
                counts[p] += k;
            }
        }
        let (buf, _) = soft.cb(0);
        let d = &c[2 * shape.z..];
        let fill = (shape.k_prime - 2 * shape.z)..(shape.k - 2 * shape.z);
        let mut top = 0;
        for p in 0..shape.n() {
            if fill.contains(&p) {
                prop_assert_eq!(buf[p], FILLER_LLR);
                continue;
            }
            let want = (counts[p] * (1 - 2 * d[p] as i32)).clamp(-128, 127) as i8;
            prop_assert_eq!(buf[p], want, "position {}", p);
            if counts[p] > 0 { top = p + 1; }
        }
        // n_filled is one past the last written position.
        prop_assert_eq!(filled, top);
    }

    #[test]
    fn derate_matcher_rejects_bad_lengths_without_panicking((shape, rv, qm, e, _seed) in block_strategy(), dl in -3i64..3, ds in -3i64..3, db in -3i64..3) {
        let rm = CbRateMatcher::new(shape, shape.n(), rv, e, qm as u8).unwrap();
        let llrs = vec![-128i8; (e as i64 + dl).max(0) as usize];
        let mut scratch = vec![0i8; (e as i64 + ds).max(0) as usize];
        let mut soft = vec![127i8; (shape.n() as i64 + db).max(0) as usize];
        let r = rm.derate_match(&llrs, &mut scratch, &mut soft);
        let ok = dl == 0 && ds == 0 && db >= 0;
        prop_assert_eq!(r.is_ok(), ok);
    }
}

#[test]
fn rate_matcher_rejects_bad_parameters() {
    let shape = CodeBlockShape::new(BaseGraph::Bg2, 500, 500).unwrap();
    assert!(CbRateMatcher::new(shape, shape.n(), 4, 100, 2).is_err());
    assert!(CbRateMatcher::new(shape, shape.n(), 0, 101, 2).is_err());
    assert!(CbRateMatcher::new(shape, shape.n(), 0, 0, 2).is_err());
    assert!(CbRateMatcher::new(shape, shape.n(), 0, 100, 3).is_err());
}

// ---------------------------------------------------------------------------
// Transport-block chains (TbEncoder / TbDecoder).

use ranlab_phy::coding::ldpc::DecoderConfig;
use ranlab_phy::coding::rate_match::SoftBufferPool;
use ranlab_phy::coding::scrambling::{c_init_pusch, scramble_bits};
use ranlab_phy::coding::tb::{TbConfig, TbDecoder, TbEncoder, TbError, TbPlan};

fn tb_bits(n: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 40) as u8 & 1
        })
        .collect()
}

/// TbEncoder + PUSCH scrambling reproduces `expected.coded_bits` of every
/// `pusch_tx` vector (an independent check of CRC, segmentation, LDPC, rate
/// matching, interleaving and concatenation together).
#[test]
fn tb_encoder_matches_the_pusch_tx_vectors() {
    let mut enc = TbEncoder::new();
    let mut n = 0;
    for v in vectors::vectors_of("pusch_tx") {
        let p = &v["params"];
        let im = &v["expected"]["intermediate"];
        let tb: Vec<u8> = v["input"]
            .as_str()
            .unwrap()
            .bytes()
            .map(|b| b - b'0')
            .collect();
        let want: Vec<u8> = v["expected"]["coded_bits"]
            .as_str()
            .unwrap()
            .bytes()
            .map(|b| b - b'0')
            .collect();
        let cfg = TbConfig {
            tbs: im["tbs"].as_u64().unwrap() as usize,
            r_x2048: (im["r_x1024"].as_f64().unwrap() * 2.0) as u32,
            qm: im["qm"].as_u64().unwrap() as u8,
            num_layers: p["num_layers"].as_u64().unwrap() as u8,
            g: im["g"].as_u64().unwrap() as usize,
            tbs_lbrm: None,
        };
        let plan = TbPlan::new(cfg).unwrap();
        assert_eq!(
            plan.num_cb(),
            im["num_cb"].as_u64().unwrap() as usize,
            "{}",
            v["id"]
        );
        let mut out = vec![0u8; cfg.g];
        enc.encode(&plan, &tb, 0, &mut out).unwrap();
        let c_init = c_init_pusch(
            p["n_rnti"].as_u64().unwrap() as u16,
            p["data_scrambling_n_id"].as_u64().unwrap() as u16,
        );
        scramble_bits(c_init, &mut out);
        assert!(out == want, "{}: coded bits differ", v["id"]);
        n += 1;
    }
    assert!(n > 0, "no pusch_tx vectors");
}

fn plan(tbs: usize, r_x2048: u32, qm: u8, layers: u8, g: usize, lbrm: Option<u32>) -> TbPlan {
    TbPlan::new(TbConfig {
        tbs,
        r_x2048,
        qm,
        num_layers: layers,
        g,
        tbs_lbrm: lbrm,
    })
    .unwrap()
}

#[test]
fn tb_round_trip_noiseless_over_configurations() {
    let mut enc = TbEncoder::new();
    let mut dec = TbDecoder::new(DecoderConfig::default());
    let mut pool = SoftBufferPool::new(2, 6 * 25344, 6);
    // (tbs, R·2048, Qm, layers, G, LBRM): BG2 single block, BG1 multi-block, LBRM, 2 layers.
    for (i, &(tbs, r, qm, v, g, lbrm)) in [
        (1000usize, 1200u32, 2u8, 1u8, 2400usize, None),
        (2664, 1134, 6, 1, 4752, None),
        (50184, 1200, 6, 2, 88800, None),
        (50184, 1200, 4, 1, 88800, Some(60000)),
        (24, 240, 2, 1, 300, None),
    ]
    .iter()
    .enumerate()
    {
        let plan = plan(tbs, r, qm, v, g, lbrm);
        let tb = tb_bits(tbs, i as u64);
        let mut coded = vec![0u8; g];
        enc.encode(&plan, &tb, 0, &mut coded).unwrap();
        let llrs: Vec<i8> = coded
            .iter()
            .map(|&b| if b == 0 { 20 } else { -20 })
            .collect();
        let mut out = vec![0u8; tbs];
        let o = dec
            .decode(&plan, &llrs, 0, pool.get_mut(1).unwrap(), true, &mut out)
            .unwrap();
        assert!(o.tb_crc_ok, "config {i}");
        assert!(o.cbs.iter().all(|c| c.crc_ok && c.parity_ok), "config {i}");
        assert_eq!(o.cbs.len(), plan.num_cb());
        assert_eq!(out, tb, "config {i}");
        // A corrupted TB bit fails the TB CRC check path (flip an LLR hard in every copy).
        let mut bad = llrs.clone();
        for b in bad.iter_mut() {
            *b = -*b;
        }
        let o = dec
            .decode(&plan, &bad, 0, pool.get_mut(0).unwrap(), true, &mut out)
            .unwrap();
        assert!(
            !o.tb_crc_ok || out != tb,
            "config {i}: inverted LLRs cannot give the TB back"
        );
    }
}

/// Incremental redundancy: at a rate of about 0.89 (above capacity) the first
/// transmission fails; adding rv 2 (about 0.44 combined) decodes.
#[test]
fn harq_combining_recovers_what_one_transmission_cannot() {
    use rand::SeedableRng;
    use rand_distr::{Distribution, Normal};
    let (tbs, g) = (8456usize, 9600usize);
    let plan = plan(tbs, 1800, 2, 1, g, None);
    assert_eq!(plan.num_cb(), 2);
    let tb = tb_bits(tbs, 42);
    let mut enc = TbEncoder::new();
    let mut dec = TbDecoder::new(DecoderConfig {
        max_iterations: 20,
        ..DecoderConfig::default()
    });
    let mut pool = SoftBufferPool::new(1, 2 * 25344, 2);
    let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(5);
    let noise = Normal::new(0.0f32, 1.0).unwrap();
    let mut out = vec![0u8; tbs];
    let mut results = Vec::new();
    for (tx, rv) in [0u8, 2].into_iter().enumerate() {
        let mut coded = vec![0u8; g];
        enc.encode(&plan, &tb, rv, &mut coded).unwrap();
        // BPSK at Es/N0 = 2 dB (capacity ≈ 0.64 bit): y = ±1 + σn; LLRs ∝ y
        // (min-sum does not need the 2/σ² factor).
        let llrs: Vec<i8> = coded
            .iter()
            .map(|&b| {
                let y = (1.0 - 2.0 * b as f32) + 0.794 * noise.sample(&mut rng);
                (8.0 * y).round().clamp(-127.0, 127.0) as i8
            })
            .collect();
        let o = dec
            .decode(
                &plan,
                &llrs,
                rv,
                pool.get_mut(0).unwrap(),
                tx == 0,
                &mut out,
            )
            .unwrap();
        results.push(o.tb_crc_ok && out == tb);
    }
    assert_eq!(
        results,
        vec![false, true],
        "first alone must fail, combined must pass"
    );
}

#[test]
fn tb_chain_rejects_bad_input_without_panicking() {
    let plan = plan(2664, 1134, 6, 1, 4752, None);
    let mut enc = TbEncoder::new();
    let mut dec = TbDecoder::new(DecoderConfig::default());
    let mut pool = SoftBufferPool::new(1, 25344, 1);
    let tb = tb_bits(2664, 1);
    let mut out = vec![0u8; 4752];
    assert!(matches!(
        enc.encode(&plan, &tb[1..], 0, &mut out),
        Err(TbError::Length { .. })
    ));
    assert!(enc.encode(&plan, &tb, 0, &mut out[1..]).is_err());
    assert!(enc.encode(&plan, &tb, 4, &mut out).is_err());
    let mut tb_out = vec![0u8; 2664];
    assert!(dec
        .decode(
            &plan,
            &vec![0i8; 4751],
            0,
            pool.get_mut(0).unwrap(),
            true,
            &mut tb_out
        )
        .is_err());
    assert!(dec
        .decode(
            &plan,
            &vec![0i8; 4752],
            0,
            pool.get_mut(0).unwrap(),
            true,
            &mut tb_out[1..]
        )
        .is_err());
    assert!(pool.get_mut(1).is_err());
    // All-zero and saturated LLRs decode (or fail) cleanly.
    for fill in [0i8, 127, -128] {
        let o = dec
            .decode(
                &plan,
                &vec![fill; 4752],
                1,
                pool.get_mut(0).unwrap(),
                true,
                &mut tb_out,
            )
            .unwrap();
        assert_eq!(o.cbs.len(), 1);
    }
    // A soft buffer too small for the TB is an error.
    let big = self::plan(50184, 1200, 6, 2, 88800, None);
    let mut small = SoftBufferPool::new(1, 25344, 1);
    let mut o = vec![0u8; 50184];
    assert!(matches!(
        dec.decode(
            &big,
            &vec![0i8; 88800],
            0,
            small.get_mut(0).unwrap(),
            true,
            &mut o
        ),
        Err(TbError::SoftBuffer(_))
    ));
    // Configurations that cannot work are refused at planning.
    assert!(TbPlan::new(TbConfig {
        tbs: 2664,
        r_x2048: 1134,
        qm: 3,
        num_layers: 1,
        g: 4752,
        tbs_lbrm: None
    })
    .is_err());
    assert!(TbPlan::new(TbConfig {
        tbs: 2664,
        r_x2048: 1134,
        qm: 6,
        num_layers: 1,
        g: 4753,
        tbs_lbrm: None
    })
    .is_err());
    assert!(TbPlan::new(TbConfig {
        tbs: 0,
        r_x2048: 1134,
        qm: 6,
        num_layers: 1,
        g: 4752,
        tbs_lbrm: None
    })
    .is_err());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// The receive chain (de-rate-matching into a HARQ buffer, LDPC, CRCs) on
    /// arbitrary LLRs (saturated, all-zero, random), any rv (4 is invalid), wrong
    /// LLR / output lengths and soft buffers too small for the TB: an error or an
    /// outcome, never a panic; two transmissions combine into the same buffer.
    #[test]
    fn tb_decoder_never_panics(
        cfg_i in 0usize..4,
        fill in 0u8..3,
        seed in any::<u64>(),
        rv in 0u8..5,
        rv2 in 0u8..4,
        dl in -2i64..=2,
        dout in -1i64..=1,
        small_buffer in any::<bool>(),
    ) {
        let (tbs, r, qm, v, g) = [
            (1000usize, 1200u32, 2u8, 1u8, 2400usize),
            (24, 240, 2, 1, 300),
            (2664, 1134, 6, 1, 4752),
            (8456, 900, 4, 2, 12000),
        ][cfg_i];
        let plan = plan(tbs, r, qm, v, g, None);
        let mut x = seed | 1;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let llrs: Vec<i8> = (0..(g as i64 + dl).max(0) as usize)
            .map(|_| match fill {
                0 => 0,
                1 => if next() & 1 == 0 { 127 } else { -128 },
                _ => next() as i8,
            })
            .collect();
        let cap = if small_buffer { plan.soft_buffer_len() / 2 } else { plan.soft_buffer_len() };
        let mut pool = SoftBufferPool::new(1, cap, plan.num_cb());
        let mut dec = TbDecoder::new(DecoderConfig { max_iterations: 4, ..DecoderConfig::default() });
        let mut out = vec![0u8; (tbs as i64 + dout).max(0) as usize];
        let first = dec
            .decode(&plan, &llrs, rv, pool.get_mut(0).unwrap(), true, &mut out)
            .map(|o| o.cbs.len());
        let valid = dl == 0 && dout == 0 && rv < 4 && !small_buffer;
        prop_assert_eq!(first.is_ok(), valid, "{:?}", first);
        if let Ok(n) = first {
            prop_assert_eq!(n, plan.num_cb());
            prop_assert!(out.iter().all(|&b| b <= 1));
            // A retransmission combines into the same buffer (saturating).
            let again = dec.decode(&plan, &llrs, rv2, pool.get_mut(0).unwrap(), false, &mut out);
            prop_assert!(again.is_ok());
        }
    }
}
