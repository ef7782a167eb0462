//! `ldpc_decode` vectors: the receive chain of one code block, as the
//! shared-channel receiver runs it: quantisation at the receiver's LLR scale,
//! de-interleaving and de-rate-matching (TS 38.212 §5.4.2), LDPC decoding
//! (§5.3.2) with the receiver's default decoder settings, at every
//! instruction set this CPU has. No CRC is given to the decoder: the vectors'
//! info bits carry none of their own, so decoding stops on the parity checks.

use super::util::{bits, compare_bits, compare_int, int, string, uint};
use super::{CaseResult, Vector};
use ranlab_phy::coding::ldpc::{quantize_llrs, LdpcDecoder};
use ranlab_phy::coding::rate_match::CbRateMatcher;
use ranlab_phy::coding::segmentation::CodeBlockShape;
use ranlab_phy::pusch::{PuschRxConfig, LLR_SCALE};
use ranlab_phy::simd::SimdLevel;

pub fn check(v: &Vector) -> CaseResult {
    let p = &v.params;
    let bg = super::util::base_graph(p)?;
    let k_prime = int::<usize>(p, "k_prime")?;
    let shape = CodeBlockShape::new(bg, k_prime, k_prime).map_err(|e| e.to_string())?;
    compare_int("z", shape.z as u64, uint(p, "z")?)?;
    compare_int("k", shape.k as u64, uint(p, "k")?)?;
    compare_int("filler", shape.filler() as u64, uint(p, "filler")?)?;
    let n_cb = int::<usize>(p, "n_cb")?;
    if n_cb == 0 || n_cb > shape.n() {
        return Err(format!("n_cb {n_cb} is not in 1..={}", shape.n()).into());
    }
    let e = int::<usize>(p, "e")?;
    let rv = int::<u8>(p, "rv")?;
    let qm = int::<u8>(p, "qm")?;
    let rm = CbRateMatcher::new(shape, n_cb, rv, e, qm).map_err(|e| e.to_string())?;
    let llr: Vec<f32> = v
        .input
        .as_array()
        .ok_or("`input` is not a list of LLRs")?
        .iter()
        .map(|x| x.as_f64().map(|x| x as f32))
        .collect::<Option<_>>()
        .ok_or("`input` has an entry that is not a number")?;
    compare_int("len(input)", llr.len() as u64, e as u64)?;
    if let Ok(sign) = string(p, "llr_sign") {
        if sign != "positive = bit 0" {
            return Err(format!("llr_sign `{sign}`: the chain takes positive = bit 0").into());
        }
    }
    let want = bits(&v.expected, "info_bits")?;
    compare_int("len(info_bits)", want.len() as u64, k_prime as u64)?;

    let mut q = vec![0i8; e];
    quantize_llrs(&llr, LLR_SCALE, &mut q);
    let mut scratch = vec![0i8; e];
    let mut soft = vec![0i8; shape.n()];
    let mut out = vec![0u8; shape.k];
    let defaults = PuschRxConfig::new(1, 1).decoder_config();
    for level in SimdLevel::supported() {
        soft.fill(0);
        rm.mark_fillers(&mut soft);
        let filled = rm
            .derate_match(&q, &mut scratch, &mut soft)
            .map_err(|e| e.to_string())?;
        let cfg = ranlab_phy::coding::ldpc::DecoderConfig { level, ..defaults };
        let outcome = LdpcDecoder::new(bg, shape.z as u16, cfg)
            .and_then(|mut d| d.decode(&soft, filled, k_prime, None, &mut out))
            .map_err(|e| e.to_string())?;
        compare_bits(
            &format!(
                "info_bits ({level}, {} iterations, parity {})",
                outcome.iterations,
                if outcome.parity_ok { "ok" } else { "failed" }
            ),
            &out[..k_prime],
            &want,
        )?;
    }
    Ok(())
}
