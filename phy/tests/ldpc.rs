//! LDPC (TS 38.212 §5.3.2): base-graph tables, encoder bit-exactness against the
//! shared vectors, H c = 0 for every lifting size.

use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use ranlab_phy::coding::ldpc::{BaseGraph, LdpcEncoder, LiftedGraph, LIFTING_SIZES};
use ranlab_phy::simd::SimdLevel;
#[path = "common/vectors.rs"]
mod vectors;
use vectors::vector_files;

/// Row degrees of Table 5.3.2-2 (BG1) and 5.3.2-3 (BG2).
const BG1_ROW_DEGREES: [usize; 46] = [
    19, 19, 19, 19, 3, 8, 9, 7, 10, 9, 7, 8, 7, 6, 7, 7, 6, 6, 6, 6, 6, 6, 5, 5, 6, 5, 5, 4, 5, 5,
    5, 5, 5, 5, 5, 5, 5, 4, 5, 5, 4, 5, 4, 5, 5, 4,
];
const BG2_ROW_DEGREES: [usize; 42] = [
    8, 10, 8, 10, 4, 6, 6, 6, 4, 5, 5, 5, 4, 5, 5, 4, 5, 5, 4, 4, 4, 4, 3, 4, 4, 3, 5, 3, 4, 3, 5,
    3, 4, 4, 4, 4, 4, 3, 4, 4, 4, 4,
];

#[test]
fn base_graph_tables_have_the_spec_shape() {
    for (bg, degrees, total) in [
        (BaseGraph::Bg1, &BG1_ROW_DEGREES[..], 316),
        (BaseGraph::Bg2, &BG2_ROW_DEGREES[..], 197),
    ] {
        assert_eq!(bg.num_entries(), total, "{bg:?}");
        assert_eq!(degrees.iter().sum::<usize>(), total);
        let g = LiftedGraph::new(bg, 384).unwrap();
        let sys = bg.sys_cols();
        let mut col_deg = vec![0usize; bg.cols()];
        for (i, &deg) in degrees.iter().enumerate() {
            let row = g.row(i);
            assert_eq!(row.len(), deg, "{bg:?} row {i}");
            assert!(
                row.windows(2).all(|w| w[0].col < w[1].col),
                "{bg:?} row {i} order"
            );
            for e in row {
                col_deg[e.col as usize] += 1;
            }
            if i >= 4 {
                // Extension rows: one degree-1 parity column, the identity.
                let last = row.last().unwrap();
                assert_eq!(
                    (last.col as usize, last.shift),
                    (sys + i, 0),
                    "{bg:?} row {i}"
                );
                assert!(row[..deg - 1].iter().all(|e| (e.col as usize) < sys + 4));
            }
        }
        assert!(col_deg[sys + 4..].iter().all(|&d| d == 1));
        // The two punctured columns are the heaviest (Table 5.3.2-2/-3).
        let (c0, c1) = match bg {
            BaseGraph::Bg1 => (30, 28),
            BaseGraph::Bg2 => (22, 23),
        };
        assert_eq!((col_deg[0], col_deg[1]), (c0, c1), "{bg:?}");
    }
}

fn bits(s: &str) -> Vec<u8> {
    s.bytes().map(|b| b - b'0').collect()
}

#[test]
fn encoder_matches_the_ldpc_encode_vectors() {
    let mut n = 0;
    for path in vector_files() {
        let text = std::fs::read_to_string(&path).unwrap();
        for line in text.lines().filter(|l| l.contains("\"ldpc_encode\"")) {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            if v["block"] != "ldpc_encode" {
                continue;
            }
            let id = v["id"].as_str().unwrap();
            let p = &v["params"];
            let bg = match p["bg"].as_str().unwrap() {
                "bg1" => BaseGraph::Bg1,
                "bg2" => BaseGraph::Bg2,
                other => panic!("{id}: bg {other}"),
            };
            let z = p["z"].as_u64().unwrap() as u16;
            let k_prime = p["k_prime"].as_u64().unwrap() as usize;
            assert_eq!(
                ranlab_phy::coding::ldpc::lifting_set_index(z),
                Some(p["i_ls"].as_u64().unwrap() as u8),
                "{id}"
            );
            let Some(expected) = v["expected"]["codeword"].as_str() else {
                continue; // vector generated with --no-full-codeword
            };
            let expected = bits(expected);
            let mut info = bits(v["input"].as_str().unwrap());
            assert_eq!(info.len(), k_prime, "{id}");
            info.resize(bg.info_len(z as usize), 0);
            for level in SimdLevel::supported() {
                let enc = LdpcEncoder::with_level(bg, z, level).unwrap();
                let mut cw = vec![0xAAu8; bg.codeword_len(z as usize)];
                enc.encode(&info, &mut cw).unwrap();
                if let Some(i) = (0..cw.len()).find(|&i| cw[i] != expected[i]) {
                    panic!("{id} ({level}): codeword differs first at bit {i}");
                }
            }
            n += 1;
        }
    }
    assert!(n > 0, "no ldpc_encode vectors with a full codeword found");
}

#[test]
fn every_lifting_size_gives_a_valid_codeword() {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(38212);
    for bg in [BaseGraph::Bg1, BaseGraph::Bg2] {
        for &z in &LIFTING_SIZES {
            let zu = z as usize;
            let info: Vec<u8> = (0..bg.info_len(zu)).map(|_| rng.gen_range(0..2)).collect();
            let mut reference: Option<Vec<u8>> = None;
            for level in SimdLevel::supported() {
                let enc = LdpcEncoder::with_level(bg, z, level).unwrap();
                let mut cw = vec![0u8; bg.codeword_len(zu)];
                enc.encode(&info, &mut cw).unwrap();
                assert_eq!(
                    &cw[..info.len()],
                    &info[..],
                    "{bg:?} Z={z}: systematic part"
                );
                assert!(
                    enc.graph().syndrome_is_zero(&cw),
                    "{bg:?} Z={z} {level}: H c != 0"
                );
                match &reference {
                    None => reference = Some(cw),
                    Some(r) => assert_eq!(r, &cw, "{bg:?} Z={z}: {level} differs from scalar"),
                }
            }
        }
    }
}

#[test]
fn encoder_rejects_bad_lengths_and_lifting_sizes() {
    assert!(LdpcEncoder::new(BaseGraph::Bg1, 17).is_err());
    assert!(LdpcEncoder::new(BaseGraph::Bg1, 0).is_err());
    assert!(LdpcEncoder::new(BaseGraph::Bg2, 400).is_err());
    let enc = LdpcEncoder::new(BaseGraph::Bg2, 8).unwrap();
    let mut cw = vec![0u8; 52 * 8];
    assert!(enc.encode(&[0u8; 79], &mut cw).is_err());
    assert!(enc.encode(&[0u8; 80], &mut cw[..100]).is_err());
    assert!(enc.encode(&[1u8; 80], &mut cw).is_ok());
    let mut bad = vec![0u8; 80];
    bad[3] = 0xFF; // only bit 0 counts
    enc.encode(&bad, &mut cw).unwrap();
    assert_eq!(cw[3], 1);
    assert!(enc.graph().syndrome_is_zero(&cw));
}

// ---------------------------------------------------------------- decoder

use proptest::prelude::*;
use rand_distr::{Distribution, StandardNormal};
use ranlab_phy::coding::crc::{Crc, CrcPoly};
use ranlab_phy::coding::ldpc::{quantize_llrs, BpDecoder, DecoderConfig, LdpcDecoder, MinSum};

/// A random codeword with `k_prime` info bits (fillers after them), its info part.
fn codeword(bg: BaseGraph, z: u16, k_prime: usize, rng: &mut Xoshiro256PlusPlus) -> Vec<u8> {
    let zu = z as usize;
    let mut info: Vec<u8> = (0..bg.info_len(zu)).map(|_| rng.gen_range(0..2)).collect();
    info[k_prime..].fill(0);
    let mut cw = vec![0u8; bg.codeword_len(zu)];
    LdpcEncoder::new(bg, z)
        .unwrap()
        .encode(&info, &mut cw)
        .unwrap();
    cw
}

/// BPSK over AWGN with noise standard deviation `sigma` on the first `n_filled`
/// positions of d = c[2Z..]; float LLRs 2y/sigma^2, 0 elsewhere.
fn noisy_llrs(
    cw: &[u8],
    z: usize,
    n_filled: usize,
    sigma: f32,
    rng: &mut Xoshiro256PlusPlus,
) -> Vec<f32> {
    cw[2 * z..]
        .iter()
        .enumerate()
        .map(|(i, &b)| {
            if i >= n_filled {
                return 0.0;
            }
            let n: f32 = StandardNormal.sample(rng);
            let y = 1.0 - 2.0 * b as f32 + sigma * n;
            2.0 * y / (sigma * sigma)
        })
        .collect()
}

fn cfg(level: SimdLevel) -> DecoderConfig {
    DecoderConfig {
        max_iterations: 10,
        algorithm: MinSum::default(),
        level,
        early_stop: true,
    }
}

#[test]
fn noise_free_round_trip_for_every_lifting_size() {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(1);
    for bg in [BaseGraph::Bg1, BaseGraph::Bg2] {
        for &z in &LIFTING_SIZES {
            let zu = z as usize;
            let k = bg.info_len(zu);
            // Some fillers whenever the block allows them.
            let k_prime = k - (k / 20).min(zu);
            let cw = codeword(bg, z, k_prime, &mut rng);
            let n = bg.buffer_len(zu);
            // Rate about 0.8 of the info length (minus fillers), rounded to whole bits.
            let n_filled = (k * 5 / 4).min(n);
            let mut llrs = vec![0i8; n];
            for (i, l) in llrs[..n_filled].iter_mut().enumerate() {
                *l = if cw[2 * zu + i] == 0 { 20 } else { -20 };
            }
            for level in SimdLevel::supported() {
                let mut dec = LdpcDecoder::new(bg, z, cfg(level)).unwrap();
                let mut out = vec![9u8; k];
                let o = dec
                    .decode(&llrs, n_filled, k_prime, None, &mut out)
                    .unwrap();
                assert!(o.parity_ok, "{bg:?} Z={z} {level}: {o:?}");
                assert_eq!(&out[..], &cw[..k], "{bg:?} Z={z} {level}");
            }
        }
    }
}

/// Every SIMD kernel against the scalar twin: identical bits, iterations and soft
/// values on noisy blocks, including Z that are not multiples of the vector width,
/// with a decoder reused across blocks (dirty buffers).
#[test]
fn simd_decoders_agree_bit_for_bit_with_scalar() {
    // Scalar and AVX2 here; AVX-512 in its own test, ignored on CPUs without it.
    let levels: Vec<SimdLevel> = SimdLevel::supported()
        .into_iter()
        .filter(|&l| l != SimdLevel::Avx512)
        .collect();
    simd_decoders_agree_bit_for_bit_with_scalar_at(&levels);
}

#[test]
#[cfg_attr(not(host_avx512), ignore = "this CPU has no AVX-512F/BW")]
fn simd_decoders_agree_bit_for_bit_with_scalar_avx512() {
    assert!(
        SimdLevel::Avx512.is_supported(),
        "built on an AVX-512 machine, run on one without: rebuild here"
    );
    simd_decoders_agree_bit_for_bit_with_scalar_at(&[SimdLevel::Scalar, SimdLevel::Avx512]);
}

fn simd_decoders_agree_bit_for_bit_with_scalar_at(levels: &[SimdLevel]) {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(2);
    for (bg, z) in [
        (BaseGraph::Bg1, 384u16),
        (BaseGraph::Bg1, 15),
        (BaseGraph::Bg1, 208),
        (BaseGraph::Bg2, 52),
        (BaseGraph::Bg2, 384),
        (BaseGraph::Bg2, 7),
    ] {
        let zu = z as usize;
        let (k, n) = (bg.info_len(zu), bg.buffer_len(zu));
        for (algorithm, early_stop) in [
            (MinSum::Normalized { alpha_16: 12 }, true),
            (MinSum::Offset { beta: 1 }, false),
            (MinSum::Normalized { alpha_16: 13 }, false),
            (MinSum::Lambda3 { beta: 0 }, true),
            (MinSum::Lambda3 { beta: 1 }, false),
        ] {
            let mut decs: Vec<LdpcDecoder> = levels
                .iter()
                .map(|&level| {
                    let c = DecoderConfig {
                        max_iterations: 8,
                        algorithm,
                        level,
                        early_stop,
                    };
                    LdpcDecoder::new(bg, z, c).unwrap()
                })
                .collect();
            for trial in 0..4 {
                let k_prime = rng.gen_range(k / 2..=k);
                let n_filled = rng.gen_range(k / 2..=n);
                let cw = codeword(bg, z, k_prime, &mut rng);
                let sigma = [0.6, 0.8, 1.0, 1.4][trial];
                let f = noisy_llrs(&cw, zu, n_filled, sigma, &mut rng);
                let mut q = vec![0i8; n];
                quantize_llrs(&f, 4.0, &mut q);
                let mut results = Vec::new();
                for dec in decs.iter_mut() {
                    let mut out = vec![0u8; k];
                    let o = dec.decode(&q, n_filled, k_prime, None, &mut out).unwrap();
                    let mut soft = vec![0i8; bg.codeword_len(zu)];
                    dec.soft_output(&mut soft);
                    results.push((o, out, soft));
                }
                for (l, r) in levels.iter().zip(&results).skip(1) {
                    assert!(
                        *r == results[0],
                        "{bg:?} Z={z} {algorithm:?} trial {trial}: {l} differs from scalar"
                    );
                }
            }
        }
    }
}

/// Both the fast decoders and the floating-point BP reference decode the same noisy
/// codewords at a moderate SNR, rate-matched (pruned rows) and with fillers.
#[test]
fn fast_decoders_match_the_bp_reference_at_moderate_snr() {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(3);
    for (bg, z, rate, ebno_db) in [
        (BaseGraph::Bg1, 32u16, 0.5f32, 3.0f32),
        (BaseGraph::Bg1, 56, 0.8, 5.0),
        (BaseGraph::Bg2, 40, 0.33, 2.5),
        (BaseGraph::Bg2, 13, 0.6, 4.0),
    ] {
        let zu = z as usize;
        let (k, n) = (bg.info_len(zu), bg.buffer_len(zu));
        let k_prime = k - zu / 2;
        let fillers = k - k_prime;
        let e = ((k_prime as f32 / rate) as usize).min(n - fillers);
        let n_filled = e + fillers; // the selection skips the fillers of d
        let sigma = (1.0 / (2.0 * rate * 10f32.powf(ebno_db / 10.0))).sqrt();
        let mut bp = BpDecoder::new(bg, z, 20).unwrap();
        let mut fast: Vec<LdpcDecoder> = SimdLevel::supported()
            .into_iter()
            .map(|l| LdpcDecoder::new(bg, z, cfg(l)).unwrap())
            .collect();
        for t in 0..10 {
            let cw = codeword(bg, z, k_prime, &mut rng);
            let f = noisy_llrs(&cw, zu, n_filled, sigma, &mut rng);
            let mut out = vec![0u8; k];
            let o = bp.decode(&f, n_filled, k_prime, &mut out).unwrap();
            assert!(
                o.parity_ok && out[..] == cw[..k],
                "{bg:?} Z={z} block {t}: BP failed"
            );
            let mut q = vec![0i8; n];
            quantize_llrs(&f, 8.0, &mut q);
            for dec in fast.iter_mut() {
                let o = dec.decode(&q, n_filled, k_prime, None, &mut out).unwrap();
                assert!(
                    o.parity_ok && out[..] == cw[..k],
                    "{bg:?} Z={z} block {t}: {} failed where BP decoded ({o:?})",
                    dec.config().level
                );
            }
        }
    }
}

#[test]
fn crc_stops_early_and_is_reported() {
    let (bg, z) = (BaseGraph::Bg2, 64u16);
    let zu = z as usize;
    let k = bg.info_len(zu);
    let k_prime = k - 40;
    let crc = Crc::new(CrcPoly::Crc24B);
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(4);
    let payload: Vec<u8> = (0..k_prime - 24).map(|_| rng.gen_range(0..2)).collect();
    let mut info = crc.attach(&payload);
    info.resize(k, 0);
    let mut cw = vec![0u8; bg.codeword_len(zu)];
    LdpcEncoder::new(bg, z)
        .unwrap()
        .encode(&info, &mut cw)
        .unwrap();
    let n = bg.buffer_len(zu);
    let llrs: Vec<i8> = cw[2 * zu..]
        .iter()
        .map(|&b| if b == 0 { 30 } else { -30 })
        .collect();
    let mut dec = LdpcDecoder::new(bg, z, cfg(SimdLevel::detect())).unwrap();
    let mut out = vec![0u8; k];
    let o = dec
        .decode(&llrs, n, k_prime, Some(CrcPoly::Crc24B), &mut out)
        .unwrap();
    assert_eq!((o.iterations, o.parity_ok, o.crc_ok), (1, true, Some(true)));
    assert_eq!(out, info);
    // A flipped payload bit fails the CRC but still returns the decoded bits.
    let mut bad = info.clone();
    bad[5] ^= 1;
    LdpcEncoder::new(bg, z)
        .unwrap()
        .encode(&bad, &mut cw)
        .unwrap();
    let llrs: Vec<i8> = cw[2 * zu..]
        .iter()
        .map(|&b| if b == 0 { 30 } else { -30 })
        .collect();
    let o = dec
        .decode(&llrs, n, k_prime, Some(CrcPoly::Crc24B), &mut out)
        .unwrap();
    assert_eq!((o.parity_ok, o.crc_ok), (true, Some(false)));
    assert_eq!(out, bad);
}

#[test]
fn degenerate_inputs_fail_cleanly() {
    let (bg, z) = (BaseGraph::Bg1, 16u16);
    let zu = z as usize;
    let (k, n) = (bg.info_len(zu), bg.buffer_len(zu));
    let mut dec = LdpcDecoder::new(bg, z, cfg(SimdLevel::detect())).unwrap();
    let mut out = vec![0u8; k];
    // All erased: the zero word satisfies every check.
    let o = dec.decode(&vec![0i8; n], n, k, None, &mut out).unwrap();
    assert!(o.parity_ok && out.iter().all(|&b| b == 0));
    // Saturated garbage: no panic, a bounded number of iterations.
    let sat: Vec<i8> = (0..n)
        .map(|i| if i % 3 == 0 { -128 } else { 127 })
        .collect();
    let o = dec
        .decode(&sat, n, k, Some(CrcPoly::Crc24A), &mut out)
        .unwrap();
    assert!(o.iterations <= 10 && o.crc_ok.is_some());
    // Length and range errors.
    assert!(dec.decode(&sat[1..], n, k, None, &mut out).is_err());
    assert!(dec.decode(&sat, n + 1, k, None, &mut out).is_err());
    assert!(dec.decode(&sat, n, 0, None, &mut out).is_err());
    assert!(dec.decode(&sat, n, k + 1, None, &mut out).is_err());
    assert!(dec
        .decode(&sat, n, 10, Some(CrcPoly::Crc24A), &mut out)
        .is_err());
    assert!(dec.decode(&sat, n, k, None, &mut out[1..]).is_err());
    let bad = DecoderConfig {
        max_iterations: 0,
        ..cfg(SimdLevel::Scalar)
    };
    assert!(LdpcDecoder::new(bg, z, bad).is_err());
    let bad = DecoderConfig {
        algorithm: MinSum::Normalized { alpha_16: 0 },
        ..cfg(SimdLevel::Scalar)
    };
    assert!(LdpcDecoder::new(bg, z, bad).is_err());
    assert!(LdpcDecoder::new(bg, 17, cfg(SimdLevel::Scalar)).is_err());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Arbitrary LLRs, lengths, n_filled and K': an error or a decode, never a panic.
    #[test]
    fn decoder_never_panics(
        seed in any::<u64>(),
        bg2 in any::<bool>(),
        zi in 0usize..LIFTING_SIZES.len(),
        len_delta in -2i64..=2,
        n_filled_frac in 0.0f64..1.2,
        k_prime_frac in -0.1f64..1.1,
        use_crc in any::<bool>(),
    ) {
        let bg = if bg2 { BaseGraph::Bg2 } else { BaseGraph::Bg1 };
        let z = LIFTING_SIZES[zi].min(96); // keep cases fast
        let zu = z as usize;
        let (k, n) = (bg.info_len(zu), bg.buffer_len(zu));
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
        let len = (n as i64 + len_delta).max(0) as usize;
        let llrs: Vec<i8> = (0..len).map(|_| match rng.gen_range(0..4) {
            0 => 0,
            1 => if rng.gen() { 127 } else { -128 },
            _ => rng.gen(),
        }).collect();
        let n_filled = (n as f64 * n_filled_frac) as usize;
        let k_prime = (k as f64 * k_prime_frac).max(0.0) as usize;
        let crc = use_crc.then_some(CrcPoly::Crc16);
        for level in SimdLevel::supported() {
            let mut dec = LdpcDecoder::new(bg, z, cfg(level)).unwrap();
            let mut out = vec![0u8; k];
            if let Ok(o) = dec.decode(&llrs, n_filled, k_prime, crc, &mut out) {
                prop_assert!(o.iterations >= 1 && o.iterations <= 10);
                prop_assert!(out.iter().all(|&b| b <= 1));
                prop_assert!(out[k_prime..].iter().all(|&b| b == 0));
            }
        }
    }
}

/// A decode depends only on its inputs: a decoder that has decoded other blocks
/// (other lengths, fillers and noise) gives exactly what a fresh one gives, for
/// every rule and instruction set (the pipeline's results must not depend on
/// which worker's decoder ran a block).
#[test]
fn decodes_do_not_depend_on_earlier_blocks() {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(11);
    for (bg, z) in [
        (BaseGraph::Bg1, 384u16),
        (BaseGraph::Bg2, 52),
        (BaseGraph::Bg1, 15),
    ] {
        let zu = z as usize;
        let (k, n) = (bg.info_len(zu), bg.buffer_len(zu));
        let blocks: Vec<(Vec<i8>, usize, usize)> = (0..6)
            .map(|t| {
                let k_prime = rng.gen_range(k / 2..=k);
                let n_filled = rng.gen_range(k / 2..=n);
                let cw = codeword(bg, z, k_prime, &mut rng);
                let f = noisy_llrs(&cw, zu, n_filled, [0.7, 1.0, 1.3][t % 3], &mut rng);
                let mut q = vec![0i8; n];
                quantize_llrs(&f, 8.0, &mut q);
                (q, n_filled, k_prime)
            })
            .collect();
        for algorithm in [
            MinSum::default(),
            MinSum::Normalized { alpha_16: 12 },
            MinSum::Offset { beta: 4 },
        ] {
            for level in SimdLevel::supported() {
                let c = DecoderConfig {
                    algorithm,
                    max_iterations: 6,
                    ..cfg(level)
                };
                let mut reused = LdpcDecoder::new(bg, z, c).unwrap();
                for (b, (q, n_filled, k_prime)) in blocks.iter().enumerate() {
                    let run = |dec: &mut LdpcDecoder| {
                        let mut out = vec![0u8; k];
                        let o = dec.decode(q, *n_filled, *k_prime, None, &mut out).unwrap();
                        let mut soft = vec![0i8; bg.codeword_len(zu)];
                        dec.soft_output(&mut soft);
                        (o, out, soft)
                    };
                    let fresh = run(&mut LdpcDecoder::new(bg, z, c).unwrap());
                    assert!(
                        run(&mut reused) == fresh,
                        "{bg:?} Z={z} {algorithm:?} {level} block {b}: history changed the decode"
                    );
                }
            }
        }
    }
}
