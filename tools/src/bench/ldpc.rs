//! Bench cases of the LDPC encoder and decoder (TS 38.212 §5.3.2).
//!
//! Decoder cases follow the usual method for comparing LDPC decoders: one code block
//! of K = 22*384 (BG1) or 10*384 (BG2) information bits, rv 0 with the rate-matched
//! length E (so only the first E positions of the circular buffer are filled and the
//! decoder keeps only the rows they reach), 6 layered iterations, random LLRs of
//! magnitude 10 so that early termination never fires; throughput counts
//! information bits per second of wall time.

use super::Case;
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use ranlab_phy::coding::ldpc::{BaseGraph, DecoderConfig, LdpcDecoder, LdpcEncoder, MinSum};
use ranlab_phy::simd::SimdLevel;

/// LDPC cases at `level`.
pub fn cases(level: SimdLevel) -> Vec<Case> {
    let mut v = Vec::new();
    for (bg, e) in [
        (BaseGraph::Bg1, 9216usize),
        (BaseGraph::Bg1, 25344),
        (BaseGraph::Bg2, 4608),
        (BaseGraph::Bg2, 19200),
    ] {
        v.push(decode_case(level, bg, 384, e, 6));
    }
    v.push(encode_case(level, BaseGraph::Bg1, 384));
    v.push(encode_case(level, BaseGraph::Bg2, 384));
    v
}

fn decode_case(level: SimdLevel, bg: BaseGraph, z: u16, e: usize, iterations: u32) -> Case {
    let zu = z as usize;
    let (k, n) = (bg.info_len(zu), bg.buffer_len(zu));
    let cfg = DecoderConfig {
        max_iterations: iterations,
        algorithm: MinSum::default(),
        level,
        early_stop: true,
    };
    let mut dec = LdpcDecoder::new(bg, z, cfg).expect("valid decoder configuration");
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(0x1dc0de);
    let mut llrs = vec![0i8; n];
    for l in &mut llrs[..e] {
        *l = if rng.gen() { 10 } else { -10 };
    }
    let mut out = vec![0u8; k];
    Case {
        block: "ldpc_decode",
        case: format!("bg{}-z{z}-e{e}-it{iterations}", bg.number()),
        info_bits: k as f64,
        res: 0.0,
        run: Box::new(move || {
            let o = dec
                .decode(std::hint::black_box(&llrs), e, k, None, &mut out)
                .expect("valid lengths");
            std::hint::black_box(o);
        }),
    }
}

fn encode_case(level: SimdLevel, bg: BaseGraph, z: u16) -> Case {
    let zu = z as usize;
    let enc = LdpcEncoder::with_level(bg, z, level).expect("valid encoder");
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(0xe1c0de);
    let info: Vec<u8> = (0..bg.info_len(zu)).map(|_| rng.gen_range(0..2)).collect();
    let mut cw = vec![0u8; bg.codeword_len(zu)];
    Case {
        block: "ldpc_encode",
        case: format!("bg{}-z{z}", bg.number()),
        info_bits: info.len() as f64,
        res: 0.0,
        run: Box::new(move || {
            enc.encode(std::hint::black_box(&info), &mut cw)
                .expect("valid lengths");
            std::hint::black_box(&cw);
        }),
    }
}
