//! LDPC (TS 38.212 §5.3.2): base-graph tables, encoder bit-exactness against the
//! shared vectors, H c = 0 for every lifting size.

use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use ranlab_phy::coding::ldpc::{BaseGraph, LdpcEncoder, LiftedGraph, LIFTING_SIZES};
use ranlab_phy::simd::SimdLevel;
use std::path::PathBuf;

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

fn vector_files() -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/vectors");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    v.sort();
    v
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
