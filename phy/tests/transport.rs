//! Property tests of the transport chain: segmentation over random TB sizes,
//! rate matching against a literal reading of TS 38.212 §5.4.2, and
//! de-rate-matching round trips with combining, plus fuzzed lengths.

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
