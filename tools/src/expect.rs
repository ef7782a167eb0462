//! `--expect`: thresholds a CI job gates a run on, over the command's own
//! JSON report: `"ul_goodput_mbps>=30 && bler<=0.1"`. Each term is a key, a
//! comparison (`>=`, `<=`, `>`, `<`, `==`, `!=`) and a number. A key is a
//! dotted path into the report (`cell.bler`, `timing.deadline_misses`,
//! `ues.0.bler`); a bare name is also looked up in the report's sections
//! (`cell`, `timing`, `radio`, `summary`, ...) when the top level lacks it.
//! Unmet terms end the command with [`EXIT_UNMET`], each named with the
//! value the run gave.

use serde_json::Value;
use std::fmt;
use std::str::FromStr;

/// Exit status of a run whose `--expect` is not met.
pub const EXIT_UNMET: u8 = 3;

/// A comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Ge,
    Le,
    Gt,
    Lt,
    Eq,
    Ne,
}

impl Op {
    const ALL: [(&'static str, Op); 6] = [
        (">=", Op::Ge),
        ("<=", Op::Le),
        ("==", Op::Eq),
        ("!=", Op::Ne),
        (">", Op::Gt),
        ("<", Op::Lt),
    ];

    fn holds(self, a: f64, b: f64) -> bool {
        match self {
            Op::Ge => a >= b,
            Op::Le => a <= b,
            Op::Gt => a > b,
            Op::Lt => a < b,
            Op::Eq => a == b,
            Op::Ne => a != b,
        }
    }
}

/// One `key op value` term.
#[derive(Debug, Clone, PartialEq)]
struct Term {
    text: String,
    key: String,
    op: Op,
    value: f64,
}

/// A conjunction of thresholds.
#[derive(Debug, Clone, PartialEq)]
pub struct Expectation {
    terms: Vec<Term>,
}

impl FromStr for Expectation {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let terms = s
            .split("&&")
            .map(|t| {
                let t = t.trim();
                let (at, sym, op) = Op::ALL
                    .iter()
                    .filter_map(|&(sym, op)| t.find(sym).map(|i| (i, sym, op)))
                    .min_by_key(|&(i, sym, _)| (i, std::cmp::Reverse(sym.len())))
                    .ok_or_else(|| format!("`{t}`: no comparison (use >=, <=, >, <, == or !=)"))?;
                let key = t[..at].trim();
                let rhs = t[at + sym.len()..].trim();
                if key.is_empty()
                    || !key
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
                {
                    return Err(format!("`{t}`: `{key}` is not a report key"));
                }
                let value: f64 = rhs
                    .parse()
                    .ok()
                    .filter(|v: &f64| v.is_finite())
                    .ok_or_else(|| format!("`{t}`: `{rhs}` is not a number"))?;
                Ok(Term {
                    text: t.to_string(),
                    key: key.to_string(),
                    op,
                    value,
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        if terms.is_empty() {
            return Err("empty expectation".into());
        }
        Ok(Expectation { terms })
    }
}

impl fmt::Display for Expectation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t: Vec<&str> = self.terms.iter().map(|t| t.text.as_str()).collect();
        f.write_str(&t.join(" && "))
    }
}

/// The value at dotted `key` of `report`, or of one of its sections.
fn lookup<'a>(report: &'a Value, key: &str) -> Option<&'a Value> {
    let at = |root: &'a Value| {
        key.split('.').try_fold(root, |v, part| match v {
            Value::Object(m) => m.get(part),
            Value::Array(a) => part.parse::<usize>().ok().and_then(|i| a.get(i)),
            _ => None,
        })
    };
    at(report).or_else(|| {
        let Value::Object(m) = report else {
            return None;
        };
        m.values().filter(|v| v.is_object()).find_map(|v| at(v))
    })
}

/// A number the report gives (booleans as 0/1).
fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::Bool(b) => Some(*b as u8 as f64),
        _ => None,
    }
}

impl Expectation {
    /// Checks that every key names a number in a report shaped like
    /// `template` (before the run, so a typo costs nothing).
    pub fn check_keys(&self, template: &Value) -> Result<(), String> {
        for t in &self.terms {
            if lookup(template, &t.key).and_then(number).is_none() {
                return Err(format!(
                    "--expect `{}`: the report has no number `{}`",
                    t.text, t.key
                ));
            }
        }
        Ok(())
    }

    /// The terms `report` does not meet, each with the value it gave.
    pub fn unmet(&self, report: &Value) -> Vec<String> {
        self.terms
            .iter()
            .filter_map(|t| match lookup(report, &t.key).and_then(number) {
                Some(v) if t.op.holds(v, t.value) => None,
                Some(v) => Some(format!("{} (got {v})", t.text)),
                None => Some(format!("{} (the report has no number `{}`)", t.text, t.key)),
            })
            .collect()
    }

    /// Prints the verdict of `report` on stderr: `None` when met, else the
    /// exit status [`EXIT_UNMET`].
    pub fn gate(&self, report: &Value) -> Option<std::process::ExitCode> {
        let unmet = self.unmet(report);
        if unmet.is_empty() {
            eprintln!("expect: met ({self})");
            None
        } else {
            for u in &unmet {
                eprintln!("expect: NOT MET: {u}");
            }
            Some(std::process::ExitCode::from(EXIT_UNMET))
        }
    }
}

/// Clap parser for `--expect`.
pub fn parse(s: &str) -> Result<Expectation, String> {
    s.parse()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn terms_parse_and_compare_against_nested_and_bare_keys() {
        let r = json!({"cell": {"ul_goodput_mbps": 34.1, "bler": 0.0},
                       "timing": {"deadline_misses": 3}, "ues": [{"bler": 0.2}]});
        let e: Expectation = "ul_goodput_mbps>=30 && bler <= 0.1 && timing.deadline_misses==3"
            .parse()
            .unwrap();
        assert!(e.unmet(&r).is_empty());
        let e: Expectation = "ul_goodput_mbps>40&&ues.0.bler<0.1".parse().unwrap();
        let u = e.unmet(&r);
        assert_eq!(u.len(), 2, "{u:?}");
        assert!(
            u[0].contains("ul_goodput_mbps>40") && u[0].contains("34.1"),
            "{u:?}"
        );
        assert!(u[1].contains("0.2"), "{u:?}");
    }

    #[test]
    fn bad_expectations_name_their_fault() {
        for (s, what) in [
            ("bler", "no comparison"),
            ("bler<=x", "not a number"),
            ("b-ler<=1", "not a report key"),
            ("bler<=inf", "not a number"),
        ] {
            let e = s.parse::<Expectation>().unwrap_err();
            assert!(e.contains(what), "{s}: {e}");
        }
        let e: Expectation = "nope>=1".parse().unwrap();
        let err = e.check_keys(&json!({"cell": {"bler": 0.0}})).unwrap_err();
        assert!(err.contains("`nope`"), "{err}");
    }
}
