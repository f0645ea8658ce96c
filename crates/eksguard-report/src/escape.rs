//! One escaping function per output kind. Every string that comes from input (object
//! names, file names, messages quoting a value, audit fields, source lines) goes through
//! the function of the output it is written to, so no input can drive a terminal, add
//! markup to a pull-request comment or reorder what a reader sees.

use std::borrow::Cow;

/// Characters a terminal or a renderer may act on instead of showing: C0 controls, DEL,
/// C1 controls (U+009B is a one-byte CSI), and format controls that reorder or hide text
/// (bidi embeddings, overrides and isolates, zero-width characters, line and paragraph
/// separators, the byte-order mark, tag characters).
fn is_hidden_control(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{1f}'
        | '\u{7f}'..='\u{9f}'
        | '\u{ad}'
        | '\u{61c}'
        | '\u{180e}'
        | '\u{200b}'..='\u{200f}'
        | '\u{2028}'..='\u{202e}'
        | '\u{2060}'..='\u{206f}'
        | '\u{feff}'
        | '\u{fff9}'..='\u{fffb}'
        | '\u{e0001}'
        | '\u{e0020}'..='\u{e007f}')
}

fn push_visible(out: &mut String, c: char) {
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        c => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
    }
}

/// Text for a terminal: every control and format character except the tab shown as a
/// visible escape (`\u{1b}`, `\u{202e}`, `\n`), so input cannot move the cursor, change
/// colours, rewrite earlier lines or reverse the text that follows.
pub fn terminal(s: &str) -> Cow<'_, str> {
    // Printable ASCII and tabs, nearly every line: no control among them.
    if s.bytes().all(|b| b == b'\t' || (b' '..=b'~').contains(&b)) {
        return Cow::Borrowed(s);
    }
    if !s.chars().any(|c| c != '\t' && is_hidden_control(c)) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if c != '\t' && is_hidden_control(c) {
            push_visible(&mut out, c);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Text for HTML (and XML): the five characters with a meaning in markup as entities.
pub fn html(s: &str) -> Cow<'_, str> {
    if !s.contains(['&', '<', '>', '"', '\'']) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Schemes a link could run or embed content with; their colon is written as an entity
/// so no renderer reads them as a scheme.
const ACTIVE_SCHEMES: &[&str] = &["javascript", "vbscript", "data"];

/// Inline Markdown text (a table cell, or after a list dash or heading marks: never alone
/// at the start of a line) that renders as exactly the input: markup characters are escaped, so no HTML comment or tag, image, link, emphasis,
/// heading, table cell break or code span can start; `@` gets a zero-width space after it,
/// so no mention notifies anyone; line breaks become spaces, so the text stays on its line;
/// control and format characters are shown as visible escapes as on a terminal.
pub fn markdown(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 16);
    let mut rest = s;
    while let Some(c) = rest.chars().next() {
        match c {
            '\n' | '\r' => out.push(' '),
            '\t' => out.push(' '),
            c if is_hidden_control(c) => push_visible_md(&mut out, c),
            // Raw HTML is allowed in Markdown: these start tags, comments and entities.
            '&' | '<' | '>' => out.push_str(&html(c.encode_utf8(&mut [0; 4]))),
            '@' => out.push_str("@&#8203;"),
            ':' if ends_with_active_scheme(&out) => out.push_str("&#58;"),
            '\\' | '`' | '*' | '_' | '[' | ']' | '(' | ')' | '!' | '|' | '#' | '~' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// A visible escape inside Markdown: its backslash escaped so it shows.
fn push_visible_md(out: &mut String, c: char) {
    let mut v = String::new();
    push_visible(&mut v, c);
    out.push('\\');
    out.push_str(&v);
}

fn ends_with_active_scheme(out: &str) -> bool {
    ACTIVE_SCHEMES.iter().any(|scheme| {
        out.len() >= scheme.len()
            && out.is_char_boundary(out.len() - scheme.len())
            && out[out.len() - scheme.len()..].eq_ignore_ascii_case(scheme)
    })
}

/// Text as an inline Markdown code span: a fence of more backticks than the longest run
/// in the text, so the text cannot close it early. Inside a span nothing else is markup,
/// except `|`, which still ends a table cell and is escaped; line breaks become spaces and
/// control characters visible escapes.
pub fn markdown_code(s: &str) -> String {
    let mut body = String::with_capacity(s.len() + 4);
    for c in s.chars() {
        match c {
            '\n' | '\r' | '\t' => body.push(' '),
            '|' => body.push_str("\\|"),
            c if is_hidden_control(c) => push_visible(&mut body, c),
            c => body.push(c),
        }
    }
    let longest = body.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    // A space inside the fence keeps a leading or trailing backtick off it; renderers
    // strip one space from each end when both are there.
    let pad = if body.starts_with('`') || body.ends_with('`') || body.trim() != body {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{body}{pad}{fence}")
}

/// A JSON formatter that writes every hidden control character (see
/// [`is_hidden_control`]; serde escapes C0 itself) as a `\uXXXX` escape. A JSON reader
/// gets the same strings; a terminal or viewer showing the file itself (`cat
/// report.json`, a CI log) meets nothing it acts on, such as U+009B (CSI) or U+202E.
pub struct JsonFormatter<F>(pub F);

impl<F: serde_json::ser::Formatter> serde_json::ser::Formatter for JsonFormatter<F> {
    fn write_string_fragment<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        fragment: &str,
    ) -> std::io::Result<()> {
        // Every hidden control is DEL or above: plain ASCII goes out as it is.
        if fragment.bytes().all(|b| b < 0x7f) {
            return w.write_all(fragment.as_bytes());
        }
        let mut start = 0;
        for (i, c) in fragment.char_indices() {
            if is_hidden_control(c) {
                w.write_all(&fragment.as_bytes()[start..i])?;
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    write!(w, "\\u{u:04x}")?;
                }
                start = i + c.len_utf8();
            }
        }
        w.write_all(&fragment.as_bytes()[start..])
    }

    // Layout is the inner formatter's.
    fn begin_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.begin_array(w)
    }
    fn end_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_array(w)
    }
    fn begin_array_value<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.0.begin_array_value(w, first)
    }
    fn end_array_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_array_value(w)
    }
    fn begin_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.begin_object(w)
    }
    fn end_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_object(w)
    }
    fn begin_object_key<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.0.begin_object_key(w, first)
    }
    fn end_object_key<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_object_key(w)
    }
    fn begin_object_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.begin_object_value(w)
    }
    fn end_object_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_object_value(w)
    }
}

/// `value` as JSON through [`JsonFormatter`]: indented when `pretty`, else on one line
/// (JSON lines). No trailing newline.
pub fn write_json<T: serde::Serialize + ?Sized, W: std::io::Write>(
    value: &T,
    out: W,
    pretty: bool,
) -> std::io::Result<()> {
    use serde_json::ser::{CompactFormatter, PrettyFormatter, Serializer};
    if pretty {
        let mut ser = Serializer::with_formatter(out, JsonFormatter(PrettyFormatter::new()));
        value.serialize(&mut ser).map_err(std::io::Error::from)
    } else {
        let mut ser = Serializer::with_formatter(out, JsonFormatter(CompactFormatter));
        value.serialize(&mut ser).map_err(std::io::Error::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_shows_controls() {
        assert_eq!(terminal("a\u{1b}[31mb\tc"), "a\\u{1b}[31mb\tc");
        assert_eq!(terminal("bell\u{7}"), "bell\\u{7}");
        assert_eq!(terminal("x\ry\nz"), "x\\ry\\nz");
        assert_eq!(terminal("\u{9b}2J"), "\\u{9b}2J");
        assert_eq!(terminal("abc\u{202e}fed"), "abc\\u{202e}fed");
        assert_eq!(terminal("\u{2066}i\u{2069}"), "\\u{2066}i\\u{2069}");
        assert_eq!(terminal("zw\u{200b}sp\u{feff}"), "zw\\u{200b}sp\\u{feff}");
        assert_eq!(terminal("del\u{7f}"), "del\\u{7f}");
        assert_eq!(terminal("ünïcode ok"), "ünïcode ok");
        assert!(matches!(terminal("plain"), Cow::Borrowed(_)));
    }

    #[test]
    fn html_entities() {
        assert_eq!(
            html(r#"<img src="x" onerror='a'>&"#),
            "&lt;img src=&quot;x&quot; onerror=&#39;a&#39;&gt;&amp;"
        );
        assert!(matches!(html("plain"), Cow::Borrowed(_)));
    }

    #[test]
    fn markdown_forms_no_markup() {
        assert_eq!(markdown("<!-- hidden"), "&lt;\\!-- hidden");
        assert_eq!(
            markdown("<img src=x onerror=alert(1)>"),
            "&lt;img src=x onerror=alert\\(1\\)&gt;"
        );
        assert_eq!(markdown("10.0.12.7"), "10.0.12.7");
        assert_eq!(markdown("kube-system/web.v2"), "kube-system/web.v2");
        assert_eq!(markdown("![x](http://e/)"), "\\!\\[x\\]\\(http://e/\\)");
        assert_eq!(
            markdown("[a](javascript:alert(1))"),
            "\\[a\\]\\(javascript&#58;alert\\(1\\)\\)"
        );
        assert_eq!(markdown("JavaScript:x"), "JavaScript&#58;x");
        assert_eq!(markdown("@org/team"), "@&#8203;org/team");
        assert_eq!(markdown("# head"), "\\# head");
        assert_eq!(markdown("a|b\nc\rd"), "a\\|b c d");
        assert_eq!(
            markdown("*b* _i_ `c` ~s~"),
            "\\*b\\* \\_i\\_ \\`c\\` \\~s\\~"
        );
        assert_eq!(markdown("a\\b"), "a\\\\b");
        assert_eq!(markdown("esc\u{1b}x\u{202e}"), "esc\\\\u{1b}x\\\\u{202e}");
        assert_eq!(markdown("a & b"), "a &amp; b");
        assert_eq!(markdown("plain words"), "plain words");
    }

    #[test]
    fn code_spans_cannot_be_closed_early() {
        assert_eq!(markdown_code("k8s/web.yaml:3"), "`k8s/web.yaml:3`");
        assert_eq!(markdown_code("a`b"), "``a`b``");
        assert_eq!(markdown_code("a``b`"), "``` a``b` ```");
        assert_eq!(markdown_code("x|y\nz"), "`x\\|y z`");
        assert_eq!(markdown_code("e\u{1b}[0m"), "`e\\u{1b}[0m`");
        assert_eq!(markdown_code("<!--"), "`<!--`");
    }
}
