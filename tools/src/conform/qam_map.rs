//! `qam_map` vectors: TS 38.211 §5.1.3-5.1.7.

use super::util::{bits_of, compare_complex, int};
use super::{CaseResult, Vector};
use num_complex::{Complex32, Complex64};
use ranlab_phy::modulation::{Mapper, Modulation};

pub fn check(v: &Vector) -> CaseResult {
    let qm = int::<usize>(&v.params, "qm")?;
    let m = Modulation::from_qm(qm, false).ok_or_else(|| format!("unsupported qm {qm}"))?;
    let input = bits_of(&v.input, "input")?;
    if input.len() % qm != 0 {
        return Err(format!("input length {} is not a multiple of qm {qm}", input.len()).into());
    }
    let mut out = vec![Complex32::default(); input.len() / qm];
    Mapper::new(m)
        .map(&input, &mut out)
        .map_err(|e| e.to_string())?;
    let got: Vec<Complex64> = out
        .iter()
        .map(|c| Complex64::new(c.re as f64, c.im as f64))
        .collect();
    let want = super::util::complex_list(&v.expected, "expected")?;
    compare_complex("symbols", &got, &want, 1e-6)?;
    Ok(())
}
