//! The one YAML writer of the generators: an ordered value tree written in block style, so
//! generated objects read the way people write them (`apiVersion` and `kind` first), and a
//! [`Stream`] of documents and comments.
//!
//! Every text that comes from an input (object names, field values, paths) reaches the
//! output only through here: scalars are written plain only when YAML reads them back as
//! the same string, otherwise double-quoted with every line break and control character
//! escaped; comment text goes through [`clean`]. So no input can end a line, and no input
//! can add, remove or alter a document.

use std::borrow::Cow;

/// An ordered YAML value.
#[derive(Debug, Clone, PartialEq)]
pub enum Yaml {
    Null,
    Bool(bool),
    Int(i64),
    Str(String),
    Seq(Vec<Yaml>),
    Map(Vec<(String, Yaml)>),
    /// A value with a comment line written above it (above its key in a mapping, above
    /// its dash in a sequence, above the document at the top).
    Noted(String, Box<Yaml>),
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

    /// This value with a comment line above it.
    pub fn noted(self, comment: impl Into<String>) -> Yaml {
        Yaml::Noted(comment.into(), Box::new(self))
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
        let mut v = self;
        while let Yaml::Noted(c, inner) = v {
            push_comment(&mut out, "", c);
            v = inner;
        }
        match v {
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

/// A multi-document YAML text: comments and documents in order, `---` between documents.
/// A comment belongs to the document that follows it.
#[derive(Debug, Default)]
pub struct Stream {
    out: String,
    after_document: bool,
    documents: usize,
}

impl Stream {
    pub fn new() -> Stream {
        Stream::default()
    }

    /// One `#` comment line; `text` is passed through [`clean`].
    pub fn comment(&mut self, text: &str) {
        self.separate();
        push_comment(&mut self.out, "", text);
    }

    pub fn document(&mut self, doc: &Yaml) {
        self.separate();
        self.out.push_str(&doc.to_text());
        self.after_document = true;
        self.documents += 1;
    }

    /// Documents written so far.
    pub fn documents(&self) -> usize {
        self.documents
    }

    pub fn is_empty(&self) -> bool {
        self.out.is_empty()
    }

    pub fn finish(self) -> String {
        self.out
    }

    fn separate(&mut self) {
        if self.after_document {
            self.out.push_str("---\n");
            self.after_document = false;
        }
    }
}

/// Several documents separated by `---`.
pub fn documents(docs: &[Yaml]) -> String {
    let mut s = Stream::new();
    for d in docs {
        s.document(d);
    }
    s.finish()
}

/// Comment lines alone (for standard error, say), each passed through [`clean`].
pub fn comments<S: AsRef<str>>(lines: impl IntoIterator<Item = S>) -> String {
    let mut out = String::new();
    for l in lines {
        push_comment(&mut out, "", l.as_ref());
    }
    out
}

/// Characters that must never reach a comment, a terminal or a scalar unescaped: line
/// breaks of every kind (a YAML reader or a terminal ends the line at each), other C0 and
/// C1 controls and DEL (terminal escape sequences, U+009B among them), bidirectional
/// overrides and isolates (text that displays in another order than it reads), the byte
/// order mark and the two non-characters YAML refuses.
pub fn must_escape(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{2028}'
                | '\u{2029}'
                | '\u{061C}'
                | '\u{200E}'
                | '\u{200F}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2066}'..='\u{2069}'
                | '\u{FEFF}'
                | '\u{FFFE}'
                | '\u{FFFF}'
        )
}

/// `text` with every character of [`must_escape`] written as a visible escape (`\n`, `\r`,
/// `\t`, else `\uXXXX`): safe on one comment line and on a terminal.
pub fn clean(text: &str) -> Cow<'_, str> {
    if !text.chars().any(must_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        push_escaped(&mut out, c);
    }
    Cow::Owned(out)
}

fn push_escaped(out: &mut String, c: char) {
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        // Every character of `must_escape` is below U+10000: four digits suffice.
        c if must_escape(c) => out.push_str(&format!("\\u{:04x}", c as u32)),
        c => out.push(c),
    }
}

fn push_comment(out: &mut String, pad: &str, text: &str) {
    out.push_str(pad);
    if text.is_empty() {
        out.push_str("#\n");
        return;
    }
    out.push_str("# ");
    out.push_str(&clean(text));
    out.push('\n');
}

fn is_block(v: &Yaml) -> bool {
    match v {
        Yaml::Map(m) => !m.is_empty(),
        Yaml::Seq(s) => !s.is_empty(),
        Yaml::Noted(_, inner) => is_block(inner),
        _ => false,
    }
}

/// The comments of a value, and the value under them.
fn unnote(mut v: &Yaml) -> (Vec<&str>, &Yaml) {
    let mut notes = Vec::new();
    while let Yaml::Noted(c, inner) = v {
        notes.push(c.as_str());
        v = inner;
    }
    (notes, v)
}

/// Longest key written as an implicit key; YAML readers refuse implicit keys longer than
/// 1024 characters, so longer ones are written as explicit `? key` entries.
const MAX_IMPLICIT_KEY: usize = 1000;

fn write_map(entries: &[(String, Yaml)], indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    for (k, v) in entries {
        let (notes, v) = unnote(v);
        for n in notes {
            push_comment(out, &pad, n);
        }
        let key = scalar(k);
        out.push_str(&pad);
        if key.len() > MAX_IMPLICIT_KEY {
            out.push_str("? ");
            out.push_str(&key);
            out.push('\n');
            out.push_str(&pad);
        } else {
            out.push_str(&key);
        }
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
        let (notes, item) = unnote(item);
        for n in notes {
            push_comment(out, &pad, n);
        }
        if is_block(item) {
            // Render the item one level deeper, then put the dash on its first line; any
            // comments of its first entry stay on their own lines above the dash.
            let mut inner = String::new();
            match item {
                Yaml::Map(m) => write_map(m, indent + 2, &mut inner),
                Yaml::Seq(s) => write_seq(s, indent + 2, &mut inner),
                _ => {}
            }
            let deeper = " ".repeat(indent + 2);
            let mut rest = inner.as_str();
            while rest.starts_with(&format!("{deeper}#")) {
                let end = rest.find('\n').map_or(rest.len(), |i| i + 1);
                out.push_str(&pad);
                out.push_str(&rest[indent + 2..end]);
                rest = &rest[end..];
            }
            out.push_str(&pad);
            out.push_str("- ");
            out.push_str(&rest[indent + 2..]);
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
        Yaml::Noted(_, inner) => inline(inner),
    }
}

/// A string as a plain scalar when YAML would read it back as the same string, else
/// double-quoted with [`must_escape`] characters, quotes and backslashes escaped.
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
            c => push_escaped(&mut q, c),
        }
    }
    q.push('"');
    q
}

#[cfg(test)]
mod tests {
    use super::*;
    use eksguard_model::yaml::{parse_documents, ParseLimits};

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

    #[test]
    fn comments_and_scalars_escape_every_line_break_and_control() {
        let hostile =
            "a\nb\rc\u{85}d\u{2028}e\u{2029}f\u{1b}[31mg\u{9b}h\u{7f}i\u{202e}j\u{2066}k\0l\tm";
        let cleaned = clean(hostile);
        assert_eq!(
            cleaned,
            "a\\nb\\rc\\u0085d\\u2028e\\u2029f\\u001b[31mg\\u009bh\\u007fi\\u202ej\\u2066k\\u0000l\\tm"
        );
        let mut s = Stream::new();
        s.comment(hostile);
        s.document(&Yaml::map([("name", Yaml::str(hostile))]).noted(hostile));
        s.comment(hostile);
        s.document(&Yaml::seq([Yaml::str(hostile).noted(hostile)]));
        let text = s.finish();
        assert_eq!(text.lines().count(), 7, "{text}");
        assert!(!text.chars().any(|c| c != '\n' && must_escape(c)), "{text}");
        let docs = parse_documents(&text, true, ParseLimits::default());
        assert_eq!(docs.len(), 2);
        let first = docs[0].as_ref().unwrap();
        assert_eq!(first.root.get("name").unwrap().as_str(), Some(hostile));
        let second = docs[1].as_ref().unwrap();
        assert_eq!(second.root.index(0).unwrap().as_str(), Some(hostile));
    }

    #[test]
    fn noted_values_put_their_comment_above_the_dash_or_key() {
        let doc = Yaml::map([(
            "rules",
            Yaml::seq([
                Yaml::map([("verbs", Yaml::seq([Yaml::str("get")]))]).noted("seen denied"),
                Yaml::map([("verbs", Yaml::seq([Yaml::str("list")]).noted("inner"))]),
            ]),
        )]);
        assert_eq!(
            doc.to_text(),
            "rules:\n  # seen denied\n  - verbs:\n      - get\n  # inner\n  - verbs:\n      - list\n"
        );
    }

    #[test]
    fn keys_too_long_for_an_implicit_key_are_written_explicitly() {
        let long = "k".repeat(5000);
        let doc = Yaml::map([
            (long.as_str(), Yaml::str("v")),
            ("after", Yaml::map([(long.as_str(), Yaml::Int(1))])),
        ]);
        let text = doc.to_text();
        let docs = parse_documents(&text, true, ParseLimits::default());
        let root = &docs[0].as_ref().unwrap().root;
        assert_eq!(root.get(&long).unwrap().as_str(), Some("v"));
        assert_eq!(
            root.at("after").unwrap().get(&long).unwrap().as_i64(),
            Some(1)
        );
    }
}
