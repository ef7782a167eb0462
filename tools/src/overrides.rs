//! `--set KEY=VALUE`: one configuration value replaced on the command line,
//! so a sweep needs no edited copies of a TOML file. KEY is a dotted path
//! (`channel.snr_db`, `cell.carriers.0.bandwidth_mhz`, `ue.0.count`; a
//! number picks an array element); VALUE is a TOML value (`20.5`, `true`,
//! `"tdl-c"`; a bare word is taken as a string). The result goes through
//! the same parsing and checks as the file, so a wrong key or value is an
//! error naming it.

use toml::{Table, Value};

/// Applies `sets` (each `KEY=VALUE`) to the TOML document `text`; returns the new text.
pub fn apply(text: &str, sets: &[String]) -> Result<String, String> {
    if sets.is_empty() {
        return Ok(text.to_string());
    }
    let mut doc: Table = text.parse().map_err(|e| format!("configuration: {e}"))?;
    for s in sets {
        let (key, raw) = s
            .split_once('=')
            .ok_or_else(|| format!("--set `{s}`: expected KEY=VALUE"))?;
        let key = key.trim();
        let value = parse_value(raw.trim());
        set(&mut doc, key, value).map_err(|e| format!("--set {key}: {e}"))?;
    }
    toml::to_string(&doc).map_err(|e| format!("--set: {e}"))
}

/// A TOML value, or the raw text as a string.
fn parse_value(raw: &str) -> Value {
    format!("v = {raw}")
        .parse::<Table>()
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| Value::String(raw.to_string()))
}

fn set(doc: &mut Table, key: &str, value: Value) -> Result<(), String> {
    let parts: Vec<&str> = key.split('.').collect();
    if parts.iter().any(|p| p.is_empty()) {
        return Err("empty key segment".into());
    }
    let (last, path) = parts.split_last().ok_or("empty key")?;
    let mut node: &mut Value = doc
        .entry(path.first().copied().unwrap_or(last))
        .or_insert_with(|| Value::Table(Table::new()));
    if path.is_empty() {
        *node = value;
        return Ok(());
    }
    for p in &path[1..] {
        node = step(node, p)?;
    }
    match node {
        Value::Table(t) => {
            t.insert(last.to_string(), value);
            Ok(())
        }
        Value::Array(a) => {
            let i: usize = last
                .parse()
                .map_err(|_| format!("`{last}` is not an index of an array"))?;
            let n = a.len();
            *a.get_mut(i)
                .ok_or_else(|| format!("index {i} beyond the {n} entries"))? = value;
            Ok(())
        }
        _ => Err(format!("`{last}`: its parent is not a table")),
    }
}

fn step<'a>(node: &'a mut Value, p: &str) -> Result<&'a mut Value, String> {
    match node {
        Value::Table(t) => Ok(t
            .entry(p.to_string())
            .or_insert_with(|| Value::Table(Table::new()))),
        Value::Array(a) => {
            let i: usize = p
                .parse()
                .map_err(|_| format!("`{p}` is not an index of an array"))?;
            let n = a.len();
            a.get_mut(i)
                .ok_or_else(|| format!("index {i} beyond the {n} entries"))
        }
        _ => Err(format!("`{p}`: its parent is not a table")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_land_at_their_path_and_bad_paths_are_named() {
        let t = "slots = 4\n[channel]\nsnr_db = 20.0\n[[ue]]\ncount = 4\n";
        let out = apply(
            t,
            &[
                "channel.snr_db=7.5".into(),
                "ue.0.count=2".into(),
                "channel.model=tdl-a".into(),
                "slots = 10".into(),
            ],
        )
        .unwrap();
        let v: Table = out.parse().unwrap();
        assert_eq!(v["channel"]["snr_db"].as_float(), Some(7.5));
        assert_eq!(v["channel"]["model"].as_str(), Some("tdl-a"));
        assert_eq!(v["ue"][0]["count"].as_integer(), Some(2));
        assert_eq!(v["slots"].as_integer(), Some(10));
        for (s, what) in [
            ("ue.3.count=1", "beyond the 1 entries"),
            ("ue.x.count=1", "not an index"),
            ("slots.x=1", "parent is not a table"),
            ("snr", "KEY=VALUE"),
        ] {
            let e = apply(t, &[s.into()]).unwrap_err();
            assert!(e.contains(what), "{s}: {e}");
        }
    }
}
