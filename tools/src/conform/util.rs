//! Parsing and comparison helpers shared by the block checkers.

use num_complex::Complex64;
use serde_json::Value;

/// Looks up `key` in `v`, or says which key is missing.
pub fn field<'a>(v: &'a Value, key: &str) -> Result<&'a Value, String> {
    v.get(key).ok_or_else(|| format!("vector has no `{key}`"))
}

/// An unsigned integer field.
pub fn uint(v: &Value, key: &str) -> Result<u64, String> {
    field(v, key)?
        .as_u64()
        .ok_or_else(|| format!("`{key}` is not an unsigned integer"))
}

/// An unsigned integer field converted to `T` with a check: a value that
/// does not fit (e.g. `n_prb = 65542` for a `u16`) is an error naming the
/// field, never a silent truncation.
pub fn int<T: TryFrom<u64>>(v: &Value, key: &str) -> Result<T, String> {
    let x = uint(v, key)?;
    T::try_from(x).map_err(|_| {
        format!(
            "`{key}` = {x} is out of range for {}",
            std::any::type_name::<T>()
        )
    })
}

/// The `bg` field: `bg1` or `bg2`.
pub fn base_graph(v: &Value) -> Result<ranlab_phy::coding::ldpc::BaseGraph, String> {
    use ranlab_phy::coding::ldpc::BaseGraph;
    match string(v, "bg")? {
        "bg1" => Ok(BaseGraph::Bg1),
        "bg2" => Ok(BaseGraph::Bg2),
        other => Err(format!("unknown base graph `{other}`")),
    }
}

/// A float field.
pub fn float(v: &Value, key: &str) -> Result<f64, String> {
    field(v, key)?
        .as_f64()
        .ok_or_else(|| format!("`{key}` is not a number"))
}

/// A string field.
pub fn string<'a>(v: &'a Value, key: &str) -> Result<&'a str, String> {
    field(v, key)?
        .as_str()
        .ok_or_else(|| format!("`{key}` is not a string"))
}

/// Parses a '0'/'1' string into unpacked bits.
pub fn bits_of(v: &Value, what: &str) -> Result<Vec<u8>, String> {
    let s = v
        .as_str()
        .ok_or_else(|| format!("`{what}` is not a bit string"))?;
    s.bytes()
        .map(|b| match b {
            b'0' => Ok(0),
            b'1' => Ok(1),
            _ => Err(format!("`{what}` has a character other than 0/1")),
        })
        .collect()
}

/// A bit-string field.
pub fn bits(v: &Value, key: &str) -> Result<Vec<u8>, String> {
    bits_of(field(v, key)?, key)
}

/// Compares bit sequences exactly; names the first mismatch.
pub fn compare_bits(what: &str, got: &[u8], want: &[u8]) -> Result<(), String> {
    if got.len() != want.len() {
        return Err(format!(
            "{what}: length {} != expected {}",
            got.len(),
            want.len()
        ));
    }
    match got.iter().zip(want).position(|(a, b)| a != b) {
        None => Ok(()),
        Some(i) => Err(format!(
            "{what}: first mismatch at bit {i}: got {}, expected {}",
            got[i], want[i]
        )),
    }
}

/// Parses `[[re, im], ...]`.
pub fn complex_list(v: &Value, what: &str) -> Result<Vec<Complex64>, String> {
    let arr = v
        .as_array()
        .ok_or_else(|| format!("`{what}` is not a list"))?;
    arr.iter()
        .map(|p| {
            let re = p.get(0).and_then(Value::as_f64);
            let im = p.get(1).and_then(Value::as_f64);
            match (re, im) {
                (Some(re), Some(im)) => Ok(Complex64::new(re, im)),
                _ => Err(format!("`{what}` has an entry that is not [re, im]")),
            }
        })
        .collect()
}

/// Compares complex values with an absolute tolerance per component.
pub fn compare_complex(
    what: &str,
    got: &[Complex64],
    want: &[Complex64],
    tol: f64,
) -> Result<(), String> {
    if got.len() != want.len() {
        return Err(format!(
            "{what}: length {} != expected {}",
            got.len(),
            want.len()
        ));
    }
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        if (g.re - w.re).abs() > tol || (g.im - w.im).abs() > tol {
            return Err(format!(
                "{what}: first mismatch at index {i}: got ({:.6}, {:.6}), expected ({:.6}, {:.6})",
                g.re, g.im, w.re, w.im
            ));
        }
    }
    Ok(())
}

/// Compares integers; names the field.
pub fn compare_int(what: &str, got: u64, want: u64) -> Result<(), String> {
    if got == want {
        Ok(())
    } else {
        Err(format!("{what}: got {got}, expected {want}"))
    }
}
