//! `crc` vectors: TS 38.212 §5.1.

use super::util::{bits, compare_bits, field, int, string};
use super::{CaseResult, Vector};
use ranlab_phy::coding::crc::{Crc, CrcPoly};

pub fn check(v: &Vector) -> CaseResult {
    let name = string(&v.params, "poly")?;
    let poly = CrcPoly::from_name(name).ok_or_else(|| format!("unknown polynomial `{name}`"))?;
    // The vector states g(D); a disagreement with our table is itself a failure.
    let exps: Vec<u64> = field(&v.params, "poly_exponents")?
        .as_array()
        .ok_or("`poly_exponents` is not a list")?
        .iter()
        .filter_map(|e| e.as_u64())
        .collect();
    let ours: Vec<u64> = poly.exponents().iter().map(|&e| e as u64).collect();
    if exps != ours {
        return Err(format!("g(D) exponents {exps:?} differ from ours {ours:?}").into());
    }
    let input = super::util::bits_of(&v.input, "input")?;
    if int::<usize>(&v.params, "k")? != input.len() {
        return Err("`k` does not match the input length".into());
    }
    let out = Crc::new(poly).attach(&input);
    compare_bits("parity", &out[input.len()..], &bits(&v.expected, "parity")?)?;
    compare_bits("output", &out, &bits(&v.expected, "output")?)?;
    Ok(())
}
