//! `ldpc_encode` vectors: lifting (TS 38.212 §5.2.2), LDPC encoding (§5.3.2),
//! bit selection and interleaving (§5.4.2.1-2).

use super::util::{bits, bits_of, compare_bits, compare_int, int, uint};
use super::{CaseResult, Vector};
use ranlab_phy::coding::ldpc::LdpcEncoder;
use ranlab_phy::coding::rate_match::CbRateMatcher;
use ranlab_phy::coding::segmentation::CodeBlockShape;

pub fn check(v: &Vector) -> CaseResult {
    let p = &v.params;
    let bg = super::util::base_graph(p)?;
    let input = bits_of(&v.input, "input")?;
    let k_prime = int::<usize>(p, "k_prime")?;
    compare_int("len(input)", input.len() as u64, k_prime as u64)?;
    // A lone code block: B = K' picks K_b for BG2.
    let shape = CodeBlockShape::new(bg, k_prime, k_prime).map_err(|e| e.to_string())?;
    compare_int("z", shape.z as u64, uint(p, "z")?)?;
    compare_int("i_ls", shape.i_ls as u64, uint(p, "i_ls")?)?;
    compare_int("k", shape.k as u64, uint(p, "k")?)?;
    compare_int("filler", shape.filler() as u64, uint(p, "filler")?)?;
    compare_int("n_ldpc", shape.n_ldpc() as u64, uint(p, "n_ldpc")?)?;
    let lbrm = p.get("lbrm").and_then(|x| x.as_bool()).unwrap_or(false);
    if lbrm {
        return Err("lbrm vectors carry no TBS_LBRM to derive N_cb from".into());
    }
    let n_cb = int::<usize>(p, "n_cb")?;
    compare_int("n_cb", shape.n() as u64, n_cb as u64)?;
    let mut info = input.clone();
    info.resize(shape.k, 0);
    let mut cw = vec![0u8; shape.n_ldpc()];
    LdpcEncoder::new(bg, shape.z as u16)
        .and_then(|e| e.encode(&info, &mut cw))
        .map_err(|e| e.to_string())?;
    if v.expected.get("codeword").is_some() {
        compare_bits("codeword", &cw, &bits(&v.expected, "codeword")?)?;
    }
    let rm = CbRateMatcher::new(
        shape,
        n_cb,
        int::<u8>(p, "rv")?,
        int::<usize>(p, "e")?,
        int::<u8>(p, "qm")?,
    )
    .map_err(|e| e.to_string())?;
    compare_int("k0", rm.k0 as u64, uint(p, "k0")?)?;
    // E from the vector is checked against the expected output before
    // anything of that size is allocated.
    let want = bits(&v.expected, "output")?;
    compare_int(
        "e (the expected output's length)",
        rm.e as u64,
        want.len() as u64,
    )?;
    let mut scratch = vec![0u8; rm.e];
    let mut out = vec![0u8; rm.e];
    rm.rate_match(&cw, &mut scratch, &mut out)
        .map_err(|e| e.to_string())?;
    compare_bits("output", &out, &want)?;
    Ok(())
}
