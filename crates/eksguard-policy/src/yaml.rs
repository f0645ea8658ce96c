//! A tiny YAML emitter: an ordered value tree written in block style, so generated objects
//! read the way people write them (`apiVersion` and `kind` first) without a serializer dep.

/// An ordered YAML value.
#[derive(Debug, Clone, PartialEq)]
pub enum Yaml {
    Null,
    Bool(bool),
    Int(i64),
    Str(String),
    Seq(Vec<Yaml>),
    Map(Vec<(String, Yaml)>),
}

impl Yaml {
    pub fn str(s: impl Into<String>) -> Yaml {
        Yaml::Str(s.into())
    }

    pub fn map<K: Into<String>>(entries: impl IntoIterator<Item = (K, Yaml)>) -> Yaml {
        Yaml::Map(entries.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }

    pub fn seq(items: impl IntoIterator<Item = Yaml>) -> Yaml {
        Yaml::Seq(items.into_iter().collect())
    }

    pub fn empty_map() -> Yaml {
        Yaml::Map(Vec::new())
    }

    /// Inserts or replaces `key` in a mapping (no-op on other values).
    pub fn set(&mut self, key: &str, value: Yaml) {
        if let Yaml::Map(entries) = self {
            match entries.iter_mut().find(|(k, _)| k == key) {
                Some(e) => e.1 = value,
                None => entries.push((key.to_string(), value)),
            }
        }
    }

    /// The mapping under `key`, created when absent (no-op target on other values).
    pub fn child(&mut self, key: &str) -> &mut Yaml {
        if !matches!(self, Yaml::Map(_)) {
            *self = Yaml::empty_map();
        }
        let Yaml::Map(entries) = self else {
            unreachable!("just made a map")
        };
        let i = match entries.iter().position(|(k, _)| k == key) {
            Some(i) => i,
            None => {
                entries.push((key.to_string(), Yaml::empty_map()));
                entries.len() - 1
            }
        };
        &mut entries[i].1
    }

    /// The document as YAML text, ending in a newline.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        match self {
            Yaml::Map(m) if !m.is_empty() => write_map(m, 0, &mut out),
            Yaml::Seq(s) if !s.is_empty() => write_seq(s, 0, &mut out),
            other => {
                out.push_str(&inline(other));
                out.push('\n');
            }
        }
        out
    }
}

/// Several documents separated by `---`.
pub fn documents(docs: &[Yaml]) -> String {
    docs.iter()
        .map(Yaml::to_text)
        .collect::<Vec<_>>()
        .join("---\n")
}

fn is_block(v: &Yaml) -> bool {
    matches!(v, Yaml::Map(m) if !m.is_empty()) || matches!(v, Yaml::Seq(s) if !s.is_empty())
}

fn write_map(entries: &[(String, Yaml)], indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    for (k, v) in entries {
        out.push_str(&pad);
        out.push_str(&scalar(k));
        if is_block(v) {
            out.push_str(":\n");
            match v {
                Yaml::Map(m) => write_map(m, indent + 2, out),
                Yaml::Seq(s) => write_seq(s, indent + 2, out),
                _ => {}
            }
        } else {
            out.push_str(": ");
            out.push_str(&inline(v));
            out.push('\n');
        }
    }
}

fn write_seq(items: &[Yaml], indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    for item in items {
        if is_block(item) {
            // Render the item one level deeper, then put the dash on its first line.
            let mut inner = String::new();
            match item {
                Yaml::Map(m) => write_map(m, indent + 2, &mut inner),
                Yaml::Seq(s) => write_seq(s, indent + 2, &mut inner),
                _ => {}
            }
            out.push_str(&pad);
            out.push_str("- ");
            out.push_str(&inner[indent + 2..]);
        } else {
            out.push_str(&pad);
            out.push_str("- ");
            out.push_str(&inline(item));
            out.push('\n');
        }
    }
}

fn inline(v: &Yaml) -> String {
    match v {
        Yaml::Null => "null".into(),
        Yaml::Bool(b) => b.to_string(),
        Yaml::Int(i) => i.to_string(),
        Yaml::Str(s) => scalar(s),
        Yaml::Seq(_) => "[]".into(),
        Yaml::Map(_) => "{}".into(),
    }
}

/// A string as a plain scalar when YAML would read it back as the same string, else quoted.
fn scalar(s: &str) -> String {
    const RESERVED: &[&str] = &[
        "true", "false", "yes", "no", "on", "off", "y", "n", "null", "~",
    ];
    let plain = !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'/' | b'$'))
        && !s.starts_with(['-', '.'])
        && !RESERVED.iter().any(|r| r.eq_ignore_ascii_case(s))
        && s.parse::<f64>().is_err()
        && !s.starts_with(|c: char| c.is_ascii_digit());
    if plain {
        return s.to_string();
    }
    let mut q = String::with_capacity(s.len() + 2);
    q.push('"');
    for c in s.chars() {
        match c {
            '"' => q.push_str("\\\""),
            '\\' => q.push_str("\\\\"),
            '\n' => q.push_str("\\n"),
            '\t' => q.push_str("\\t"),
            c if c.is_control() => q.push_str(&format!("\\u{:04x}", c as u32)),
            c => q.push(c),
        }
    }
    q.push('"');
    q
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_block_style_and_quotes_ambiguous_scalars() {
        let doc = Yaml::map([
            ("kind", Yaml::str("Namespace")),
            (
                "items",
                Yaml::Seq(vec![
                    Yaml::map([("a", Yaml::Int(1)), ("b", Yaml::str("yes"))]),
                    Yaml::str("53"),
                ]),
            ),
            ("empty", Yaml::empty_map()),
        ]);
        assert_eq!(
            doc.to_text(),
            "kind: Namespace\nitems:\n  - a: 1\n    b: \"yes\"\n  - \"53\"\nempty: {}\n"
        );
    }
}
