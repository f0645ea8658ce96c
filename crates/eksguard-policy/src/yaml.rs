//! A small block-style YAML emitter for the documents the generators write: maps keep
//! their insertion order, strings are quoted only when YAML would read them otherwise.

use std::fmt::Write;

#[derive(Debug, Clone, PartialEq)]
pub enum Y {
    Str(String),
    Int(i64),
    Map(Vec<(String, Y)>),
    Seq(Vec<Y>),
}

impl Y {
    pub fn s(v: impl Into<String>) -> Y {
        Y::Str(v.into())
    }

    pub fn map<K: Into<String>>(entries: impl IntoIterator<Item = (K, Y)>) -> Y {
        Y::Map(entries.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }

    pub fn seq(items: impl IntoIterator<Item = Y>) -> Y {
        Y::Seq(items.into_iter().collect())
    }

    fn is_scalar_like(&self) -> bool {
        match self {
            Y::Str(_) | Y::Int(_) => true,
            Y::Map(m) => m.is_empty(),
            Y::Seq(s) => s.is_empty(),
        }
    }
}

/// Emits documents separated by `---`.
pub fn documents(docs: &[Y]) -> String {
    let mut out = String::new();
    for (i, d) in docs.iter().enumerate() {
        if i > 0 {
            out.push_str("---\n");
        }
        emit(d, 0, &mut out);
    }
    out
}

fn emit(y: &Y, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    match y {
        Y::Map(entries) if !entries.is_empty() => {
            for (k, v) in entries {
                let _ = write!(out, "{pad}{}:", scalar(k));
                value_after_key(v, indent, out);
            }
        }
        Y::Seq(items) if !items.is_empty() => {
            for item in items {
                if item.is_scalar_like() {
                    let _ = writeln!(out, "{pad}- {}", inline(item));
                } else {
                    // Emit the item two deeper, then turn its first indent into the dash.
                    let mut inner = String::new();
                    emit(item, indent + 2, &mut inner);
                    out.push_str(&pad);
                    out.push_str("- ");
                    out.push_str(&inner[indent + 2..]);
                }
            }
        }
        other => {
            let _ = writeln!(out, "{pad}{}", inline(other));
        }
    }
}

fn value_after_key(v: &Y, indent: usize, out: &mut String) {
    if v.is_scalar_like() {
        let _ = writeln!(out, " {}", inline(v));
    } else {
        out.push('\n');
        emit(v, indent + 2, out);
    }
}

fn inline(y: &Y) -> String {
    match y {
        Y::Str(s) => scalar(s),
        Y::Int(i) => i.to_string(),
        Y::Map(_) => "{}".into(),
        Y::Seq(_) => "[]".into(),
    }
}

/// A string as a plain scalar when that reads back as the same string, else JSON-quoted
/// (a JSON string is a valid double-quoted YAML scalar).
pub fn scalar(s: &str) -> String {
    const WORDS: &[&str] = &[
        "true", "false", "yes", "no", "on", "off", "null", "y", "n", "~",
    ];
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "._/-=,".contains(c))
        && !s.starts_with(['-', '.'])
        && !WORDS.contains(&s.to_ascii_lowercase().as_str())
        && !looks_numeric(s);
    if plain {
        s.to_string()
    } else {
        serde_json::to_string(s).unwrap_or_default()
    }
}

fn looks_numeric(s: &str) -> bool {
    s.parse::<f64>().is_ok()
        || s.starts_with(|c: char| c.is_ascii_digit())
            && s.chars()
                .all(|c| c.is_ascii_digit() || c == '_' || c == '.')
        || s.starts_with("0x")
        || s.starts_with("0o")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_documents() {
        let d = Y::map([
            ("a", Y::s("x")),
            (
                "b",
                Y::seq([Y::map([("k", Y::Int(1)), ("l", Y::s("true"))])]),
            ),
            ("c", Y::map::<&str>([])),
            ("d", Y::seq([Y::s("1"), Y::s("p q")])),
        ]);
        assert_eq!(
            documents(&[d.clone(), d])
                .lines()
                .take(9)
                .collect::<Vec<_>>(),
            [
                "a: x",
                "b:",
                "  - k: 1",
                "    l: \"true\"",
                "c: {}",
                "d:",
                "  - \"1\"",
                "  - \"p q\"",
                "---"
            ]
        );
    }
}
