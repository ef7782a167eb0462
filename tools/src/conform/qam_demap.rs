//! `qam_demap` vectors: max-log soft demapping of the TS 38.211 §5.1
//! constellations, run through the project's demapper at every instruction
//! set this CPU has (each must agree with the reference on its own).

use super::util::{complex_list, field, float, int};
use super::{CaseResult, Vector};
use num_complex::Complex32;
use ranlab_phy::modulation::{Demapper, Modulation};
use ranlab_phy::simd::SimdLevel;

/// FORMAT.md: relative tolerance 1e-4, absolute 1e-3 for values near 0.
fn close(got: f64, want: f64) -> bool {
    (got - want).abs() <= 1e-3f64.max(1e-4 * want.abs())
}

pub fn check(v: &Vector) -> CaseResult {
    let p = &v.params;
    let qm = int::<usize>(p, "qm")?;
    let modulation =
        Modulation::from_qm(qm, false).ok_or_else(|| format!("unsupported qm {qm}"))?;
    if let Some(m) = p.get("method").and_then(|m| m.as_str()) {
        if m != "max-log" {
            return Err(format!("method `{m}`: the demapper is max-log").into());
        }
    }
    let n0 = float(p, "noise_var")?;
    if !(n0.is_finite() && n0 > 0.0) {
        return Err(format!("noise_var {n0} is not a positive number").into());
    }
    let y: Vec<Complex32> = complex_list(&v.input, "input")?
        .iter()
        .map(|c| Complex32::new(c.re as f32, c.im as f32))
        .collect();
    if let Some(n) = p.get("num_symbols").and_then(|n| n.as_u64()) {
        super::util::compare_int("num_symbols", y.len() as u64, n)?;
    }
    let want: Vec<f64> = field(&v.expected, "llr")?
        .as_array()
        .ok_or("`llr` is not a list")?
        .iter()
        .map(|x| x.as_f64().ok_or("`llr` has an entry that is not a number"))
        .collect::<Result<_, _>>()?;
    super::util::compare_int("len(llr)", want.len() as u64, (y.len() * qm) as u64)?;
    let nv = vec![n0 as f32; y.len()];
    let mut llr = vec![0f32; want.len()];
    for level in SimdLevel::supported() {
        Demapper::with_level(modulation, level)
            .demap(&y, &nv, &mut llr)
            .map_err(|e| e.to_string())?;
        if let Some(i) = (0..want.len()).find(|&i| !close(llr[i] as f64, want[i])) {
            return Err(format!(
                "llr ({level}): first mismatch at symbol {} bit {}: got {:.4}, expected {:.4}",
                i / qm,
                i % qm,
                llr[i],
                want[i]
            )
            .into());
        }
    }
    Ok(())
}
