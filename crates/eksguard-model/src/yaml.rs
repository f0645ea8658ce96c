//! YAML (and JSON, a subset of it) into position-carrying trees.
//!
//! The text is cut into documents at `---` lines first, so a broken document costs only
//! itself and documents parse independently. Nodes copied through anchors and aliases
//! count against a budget (alias bombs), nesting is bounded (deep nesting), and `<<` merge
//! keys are honoured as Kubernetes' YAML 1.1 reader honours them. A large plain document
//! costs no budget: the bytes read bound its size.

use std::cell::Cell;
use std::collections::HashMap;
use std::panic::AssertUnwindSafe;

use crate::node::Entry;
use crate::{Node, Pos, Value};
use libyaml_safer::{EventData, Mark, Parser, ScalarStyle};

/// Where an event starts; libyaml counts lines and columns from 0.
type Marker = Mark;

#[derive(Debug, Clone, Copy)]
pub struct ParseLimits {
    /// Deepest nesting of mappings and sequences accepted.
    pub max_depth: usize,
    /// Most nodes one document may copy through anchors and aliases: each anchored node is
    /// copied once where it is defined and once per alias that names it.
    pub max_alias_nodes: usize,
}

impl Default for ParseLimits {
    fn default() -> Self {
        ParseLimits {
            max_depth: 256,
            max_alias_nodes: 1_000_000,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct YamlError {
    /// 1-based line in the whole file.
    pub line: u32,
    pub column: u32,
    /// 0-based index of the document in the file.
    pub doc: u32,
    pub message: String,
}

#[derive(Debug)]
pub struct Document {
    /// 0-based index of the document in the file.
    pub index: u32,
    pub root: Node,
}

/// Parses every document of `text`. Each result is a document or the error that ended it.
pub fn parse_documents(
    text: &str,
    split: bool,
    limits: ParseLimits,
) -> Vec<Result<Document, YamlError>> {
    let opts = ParseOptions {
        limits,
        keep_tags: false,
    };
    join(pieces(text, split).iter().map(|p| parse_piece(p, opts)))
}

/// Like [`parse_documents`], but a node with a local tag (`!Ref x`, `!GetAtt [a, b]`) becomes
/// a one-entry mapping from the tag to the node (`{"!Ref": "x"}`), where plain parsing drops
/// the tag: CloudFormation's short-form functions are such tags.
pub fn parse_documents_keeping_tags(
    text: &str,
    split: bool,
    limits: ParseLimits,
) -> Vec<Result<Document, YamlError>> {
    let opts = ParseOptions {
        limits,
        keep_tags: true,
    };
    join(pieces(text, split).iter().map(|p| parse_piece(p, opts)))
}

/// How to parse: the bounds, and whether local tags are kept (see
/// [`parse_documents_keeping_tags`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct ParseOptions {
    pub limits: ParseLimits,
    pub keep_tags: bool,
}

/// A part of a text cut at document separators, parsed on its own: pieces of one text may
/// be parsed on different threads and their results joined in order with [`join`].
#[derive(Debug, Clone, Copy)]
pub struct Piece<'t> {
    /// Lines of the whole text before this piece.
    line_offset: u32,
    text: &'t str,
}

impl Piece<'_> {
    pub fn len(&self) -> usize {
        self.text.len()
    }

    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }
}

/// The documents of one piece, numbered from 0 within it, and how many documents it held
/// (those that were empty or failed included).
#[derive(Debug)]
pub struct PieceDocs {
    docs: Vec<Result<Document, YamlError>>,
    count: u32,
}

/// Cuts `text` into pieces at document separators (when `split`), or one piece.
pub fn pieces(text: &str, split: bool) -> Vec<Piece<'_>> {
    if split {
        split_documents(text)
    } else {
        vec![Piece {
            line_offset: 0,
            text,
        }]
    }
}

/// Parses one piece.
pub fn parse_piece(piece: &Piece<'_>, opts: ParseOptions) -> PieceDocs {
    // The parser needs a final line break to close a block scalar at the end of input;
    // only the last piece can lack one, and only it is copied.
    let owned;
    let chunk = if piece.text.ends_with('\n') {
        piece.text
    } else {
        owned = format!("{}\n", piece.text);
        &owned
    };
    let mut docs = Vec::new();
    let mut count = 0u32;
    parse_chunk_guarded(chunk, piece.line_offset, opts, &mut count, &mut docs);
    PieceDocs { docs, count }
}

/// Parses consecutive pieces as one: a thread takes a run of pieces at a time, so what it
/// keeps per piece does not add up on a text of many tiny documents.
pub fn parse_pieces(pieces: &[Piece<'_>], opts: ParseOptions) -> PieceDocs {
    let mut docs = Vec::new();
    let mut count = 0u32;
    for p in pieces {
        let parsed = parse_piece(p, opts);
        append(&mut docs, parsed.docs, count);
        count += parsed.count;
    }
    PieceDocs { docs, count }
}

/// The documents of consecutive pieces (or runs of pieces), numbered through the whole
/// text.
pub fn join(parsed: impl IntoIterator<Item = PieceDocs>) -> Vec<Result<Document, YamlError>> {
    let mut out = Vec::new();
    let mut first = 0u32;
    for p in parsed {
        append(&mut out, p.docs, first);
        first += p.count;
    }
    out
}

/// Appends documents numbered from 0 as numbered from `first`.
fn append(
    out: &mut Vec<Result<Document, YamlError>>,
    docs: Vec<Result<Document, YamlError>>,
    first: u32,
) {
    out.extend(docs.into_iter().map(|d| match d {
        Ok(mut d) => {
            d.index += first;
            Ok(d)
        }
        Err(mut e) => {
            e.doc += first;
            Err(e)
        }
    }));
}

/// The tag to keep as a mapping key: a local tag, and only when asked for.
fn kept_tag(keep: bool, tag: Option<&str>) -> Option<String> {
    let t = tag?;
    (keep && t.starts_with('!') && !t.starts_with("!!")).then(|| t.to_string())
}

fn wrap_tag(node: Node, tag: Option<String>) -> Node {
    match tag {
        Some(t) => {
            let pos = node.pos;
            Node::new(
                Value::Map(vec![Entry {
                    key: t.into(),
                    key_pos: pos,
                    value: node,
                }]),
                pos,
            )
        }
        None => node,
    }
}

/// Parses YAML held in a string field (the aws-auth ConfigMap's `mapRoles`, say), with
/// positions moved to where the text sits in the outer file. Exact for block scalars
/// (`key: |`), the common case; for quoted strings the lines are right and columns close.
pub fn parse_embedded(node: &Node) -> Option<Result<Node, YamlError>> {
    let text = node.as_str()?;
    let mut docs = parse_documents(text, true, ParseLimits::default());
    if docs.is_empty() {
        return None;
    }
    let (dl, dc) = (
        node.pos.line.saturating_sub(1),
        node.pos.col.saturating_sub(1),
    );
    Some(match docs.swap_remove(0) {
        Ok(doc) => {
            let mut root = doc.root;
            if node.pos.is_known() {
                shift(&mut root, dl, dc);
            }
            Ok(root)
        }
        Err(mut e) => {
            e.line += dl;
            e.column += dc;
            Err(e)
        }
    })
}

fn shift(node: &mut Node, dl: u32, dc: u32) {
    let mv = |p: &mut Pos| {
        p.line += dl;
        p.col += dc;
    };
    mv(&mut node.pos);
    match &mut node.value {
        Value::Seq(items) => items.iter_mut().for_each(|n| shift(n, dl, dc)),
        Value::Map(entries) => entries.iter_mut().for_each(|e| {
            mv(&mut e.key_pos);
            shift(&mut e.value, dl, dc);
        }),
        _ => {}
    }
}

/// Cuts the text at lines that start a new document (`---` followed by a blank or the end
/// of the line). Returns each piece with the number of lines before it.
fn split_documents(text: &str) -> Vec<Piece<'_>> {
    // Sized by a count of the candidate lines first: a text of many tiny documents would
    // otherwise hold the vector twice while it grows.
    let candidates = memchr::memmem::find_iter(text.as_bytes(), b"\n---").count();
    let mut pieces = Vec::with_capacity(candidates + 1);
    let mut start = 0usize;
    let mut start_line = 0u32;
    let mut line = 0u32;
    let mut pos = 0usize;
    let bytes = text.as_bytes();
    while pos < bytes.len() {
        let end = memchr_newline(bytes, pos);
        let l = &bytes[pos..end];
        let is_sep = l.starts_with(b"---") && l.get(3).is_none_or(|c| c.is_ascii_whitespace());
        if is_sep && pos > start {
            pieces.push(Piece {
                line_offset: start_line,
                text: &text[start..pos],
            });
            start = pos;
            start_line = line;
        }
        line += 1;
        pos = end + 1;
    }
    if start < text.len() {
        pieces.push(Piece {
            line_offset: start_line,
            text: &text[start..],
        });
    }
    pieces
}

fn memchr_newline(bytes: &[u8], from: usize) -> usize {
    memchr::memchr(b'\n', &bytes[from..]).map_or(bytes.len(), |p| from + p)
}

/// A collection being read. Its children wait on the builder's shared stacks (from
/// `start` on) rather than in a vector of their own: a vector that grows by doubling and is
/// then shrunk costs several allocations per collection, the shared stacks none.
enum Frame {
    Seq {
        start: usize,
        pos: Pos,
        anchor: Option<String>,
        tag: Option<String>,
        size: usize,
    },
    Map {
        start: usize,
        pos: Pos,
        anchor: Option<String>,
        tag: Option<String>,
        key: Option<(Box<str>, Pos)>,
        merges: Vec<Node>,
        size: usize,
    },
}

struct Builder<'l> {
    stack: Vec<Frame>,
    /// Items of the open sequences, innermost last.
    items: Vec<Node>,
    /// Entries of the open mappings, innermost last.
    entries: Vec<Entry>,
    anchors: HashMap<String, (Node, usize)>,
    /// Nodes copied through anchors and aliases so far in this document.
    copied: usize,
    limits: &'l ParseLimits,
    line_offset: u32,
    lines: &'l LineTable<'l>,
    root: Option<Node>,
}

impl Builder<'_> {
    fn pos(&self, m: &Marker) -> Pos {
        let (line, column) = self.lines.at(m);
        Pos::new(line + 1 + self.line_offset, column + 1)
    }

    fn err(&self, m: &Marker, msg: impl Into<String>) -> (Marker, String) {
        (*m, msg.into())
    }

    /// Places a finished node into its parent (or as the root).
    fn place(
        &mut self,
        node: Node,
        anchor: Option<String>,
        size: usize,
        m: &Marker,
    ) -> Result<(), (Marker, String)> {
        if let Some(a) = anchor {
            self.copy(size, m)?;
            self.anchors.insert(a, (node.clone(), size));
        }
        match self.stack.last_mut() {
            None => self.root = Some(node),
            Some(Frame::Seq { size: total, .. }) => {
                *total += size;
                self.items.push(node)
            }
            Some(Frame::Map {
                key,
                merges,
                size: total,
                ..
            }) => match key.take() {
                None => {
                    let pos = node.pos;
                    let text = key_text(node)
                        .ok_or_else(|| (*m, "a mapping key must be a scalar".to_string()))?;
                    *key = Some((text, pos));
                }
                Some((k, _)) if &*k == "<<" => {
                    *total += size;
                    merges.push(node);
                }
                Some((k, key_pos)) => {
                    *total += size;
                    self.entries.push(Entry {
                        key: k,
                        key_pos,
                        value: node,
                    })
                }
            },
        }
        Ok(())
    }

    /// Counts `n` nodes copied for an anchor or an alias. Plain nodes are not counted:
    /// the bytes read bound them, while aliases multiply.
    fn copy(&mut self, n: usize, m: &Marker) -> Result<(), (Marker, String)> {
        self.copied = self.copied.saturating_add(n);
        if self.copied > self.limits.max_alias_nodes {
            return Err(self.err(
                m,
                format!(
                    "document copies more than {} nodes through anchors and aliases (alias bomb?); skipped",
                    self.limits.max_alias_nodes
                ),
            ));
        }
        Ok(())
    }
}

/// A scalar key's text, taken out of its node (a string key is moved, not copied).
fn key_text(mut node: Node) -> Option<Box<str>> {
    match std::mem::replace(&mut node.value, Value::Null) {
        Value::Null => Some("".into()),
        Value::Str(s) => Some(s),
        value @ (Value::Seq(_) | Value::Map(_)) => {
            node.value = value;
            None
        }
        value => Node::new(value, node.pos).scalar_text().map(Into::into),
    }
}

thread_local! {
    static IN_PARSER: Cell<bool> = const { Cell::new(false) };
}

/// True while this thread runs the YAML parser. The parser library still has a few
/// panicking paths on odd input; they are caught and reported as input errors, and a
/// process-wide panic hook can use this to stay silent about them.
pub fn in_parser() -> bool {
    IN_PARSER.with(Cell::get)
}

/// Runs the parser on one chunk, turning a panic inside the parser library into an error
/// for the document it was reading.
fn parse_chunk_guarded(
    chunk: &str,
    line_offset: u32,
    opts: ParseOptions,
    doc_index: &mut u32,
    out: &mut Vec<Result<Document, YamlError>>,
) {
    let before = out.len();
    let first_doc = *doc_index;
    let last_line = Cell::new(0u32);
    IN_PARSER.with(|f| f.set(true));
    let caught = std::panic::catch_unwind(AssertUnwindSafe(|| {
        parse_chunk(chunk, line_offset, opts, doc_index, out, &last_line)
    }));
    IN_PARSER.with(|f| f.set(false));
    if caught.is_err() {
        // Keep the documents finished before the failure; report the one being read.
        let done = out[before..].iter().filter(|d| d.is_ok()).count() as u32;
        *doc_index = (*doc_index).max(first_doc + done);
        out.push(Err(YamlError {
            line: last_line.get() + 1 + line_offset,
            column: 1,
            doc: *doc_index,
            message: "invalid YAML: the parser cannot read this construct; document skipped".into(),
        }));
        *doc_index += 1;
    }
}

fn parse_chunk(
    chunk: &str,
    line_offset: u32,
    opts: ParseOptions,
    doc_index: &mut u32,
    out: &mut Vec<Result<Document, YamlError>>,
    last_line: &Cell<u32>,
) {
    let limits = opts.limits;
    let mut input = chunk.as_bytes();
    let mut parser = Parser::new();
    parser.set_input_string(&mut input);
    let lines = LineTable::new(chunk);
    let mut b = Builder {
        stack: Vec::new(),
        items: Vec::new(),
        entries: Vec::new(),
        anchors: HashMap::new(),
        copied: 0,
        limits: &limits,
        line_offset,
        lines: &lines,
        root: None,
    };
    let mut line_starts: Vec<usize> = Vec::new();
    let fail = |m: Mark, message: String, doc_index: &mut u32, out: &mut Vec<_>| {
        let (line, column) = lines.at(&m);
        out.push(Err(YamlError {
            line: line + 1 + line_offset,
            column: column + 1,
            doc: *doc_index,
            message,
        }));
        *doc_index += 1;
    };
    loop {
        let event = match parser.parse() {
            Ok(ev) => ev,
            Err(e) => {
                let m = e.problem_mark().unwrap_or_default();
                let what = match e.context() {
                    Some(ctx) => format!("{}, {}", ctx, e.problem()),
                    None => e.problem().to_string(),
                };
                fail(m, format!("invalid YAML: {what}"), doc_index, out);
                return;
            }
        };
        let mark = event.start_mark;
        last_line.set(lines.at(&event.end_mark).0);
        let step = match event.data {
            EventData::StreamEnd => return,
            EventData::DocumentStart { .. } => {
                b.stack.clear();
                b.items.clear();
                b.entries.clear();
                b.anchors.clear();
                b.copied = 0;
                b.root = None;
                Ok(())
            }
            EventData::DocumentEnd { .. } => {
                if let Some(root) = b.root.take() {
                    if !root.is_null() {
                        out.push(Ok(Document {
                            index: *doc_index,
                            root,
                        }));
                    }
                }
                *doc_index += 1;
                Ok(())
            }
            EventData::Scalar {
                anchor,
                tag,
                value,
                style,
                ..
            } => {
                let pos = if matches!(style, ScalarStyle::Literal | ScalarStyle::Folded) {
                    block_content_pos(chunk, &mut line_starts, lines.at(&mark).0 as usize)
                        .map_or_else(|| b.pos(&mark), |(l, c)| Pos::new(l + line_offset, c))
                } else {
                    b.pos(&mark)
                };
                let kept = kept_tag(opts.keep_tags, tag.as_deref());
                let value = resolve_scalar(value, style, tag.as_deref());
                b.place(wrap_tag(Node::new(value, pos), kept), anchor, 1, &mark)
            }
            EventData::Alias { anchor } => {
                match b.anchors.get(&anchor).map(|(n, s)| (n.clone(), *s)) {
                    Some((node, size)) => b
                        .copy(size, &mark)
                        .and_then(|_| b.place(node, None, size, &mark)),
                    None => Err(b.err(&mark, format!("alias `*{anchor}` to an unknown anchor"))),
                }
            }
            EventData::SequenceStart { anchor, tag, .. } => {
                let pos = b.pos(&mark);
                b.stack.push(Frame::Seq {
                    start: b.items.len(),
                    pos,
                    anchor,
                    tag: kept_tag(opts.keep_tags, tag.as_deref()),
                    size: 1,
                });
                depth_check(&b, &mark)
            }
            EventData::MappingStart { anchor, tag, .. } => {
                let pos = b.pos(&mark);
                b.stack.push(Frame::Map {
                    start: b.entries.len(),
                    pos,
                    anchor,
                    tag: kept_tag(opts.keep_tags, tag.as_deref()),
                    key: None,
                    merges: Vec::new(),
                    size: 1,
                });
                depth_check(&b, &mark)
            }
            EventData::SequenceEnd | EventData::MappingEnd => match b.stack.pop() {
                Some(Frame::Seq {
                    start,
                    pos,
                    anchor,
                    tag,
                    size,
                }) => {
                    // Collected at their exact size: trees stay for the run.
                    let items: Vec<Node> = b.items.drain(start..).collect();
                    let node = wrap_tag(Node::new(Value::Seq(items), pos), tag);
                    b.place(node, anchor, size, &mark)
                }
                Some(Frame::Map {
                    start,
                    pos,
                    anchor,
                    tag,
                    merges,
                    size,
                    ..
                }) => {
                    let mut entries: Vec<Entry> = b.entries.drain(start..).collect();
                    if !merges.is_empty() {
                        apply_merges(&mut entries, merges);
                        entries.shrink_to_fit();
                    }
                    let node = wrap_tag(Node::new(Value::Map(entries), pos), tag);
                    b.place(node, anchor, size, &mark)
                }
                None => Ok(()),
            },
            EventData::StreamStart { .. } => Ok(()),
        };
        if let Err((m, message)) = step {
            fail(m, message, doc_index, out);
            return;
        }
    }
}

/// Where the content of a block scalar whose indicator is on 0-based line `indicator_line`
/// begins: the first non-blank line after it, at its indentation. Positions of YAML
/// embedded in the scalar are counted from there.
/// Lines as the reports and code frames count them: ended by `\n` alone. The parser also
/// ends a line at a lone `\r`, NEL, LS and PS, so its own line and column are used only
/// in a chunk that holds none of those; otherwise a mark's byte index is placed in a
/// table of where each line starts.
struct LineTable<'t> {
    chunk: &'t str,
    starts: Option<Vec<usize>>,
}

impl<'t> LineTable<'t> {
    fn new(chunk: &'t str) -> LineTable<'t> {
        let bytes = chunk.as_bytes();
        // NEL is C2 85, LS and PS are E2 80 A8 and E2 80 A9.
        let irregular = memchr::memchr3_iter(b'\r', 0xc2, 0xe2, bytes).any(|i| match bytes[i] {
            b'\r' => bytes.get(i + 1) != Some(&b'\n'),
            0xc2 => bytes.get(i + 1) == Some(&0x85),
            _ => bytes.get(i + 1) == Some(&0x80) && matches!(bytes.get(i + 2), Some(0xa8 | 0xa9)),
        });
        let starts = irregular.then(|| {
            let mut v = vec![0];
            v.extend(memchr::memchr_iter(b'\n', bytes).map(|i| i + 1));
            v
        });
        LineTable { chunk, starts }
    }

    /// A mark's line and column, both from 0.
    fn at(&self, m: &Mark) -> (u32, u32) {
        let Some(starts) = &self.starts else {
            return (m.line as u32, m.column as u32);
        };
        let i = (m.index as usize).min(self.chunk.len());
        let line = starts.partition_point(|&s| s <= i).saturating_sub(1);
        let before = &self.chunk.as_bytes()[starts[line]..i];
        // Characters, not bytes, as the parser counts columns.
        let column = before.iter().filter(|&&b| (b & 0xc0) != 0x80).count();
        (line as u32, column as u32)
    }
}

fn block_content_pos(
    chunk: &str,
    starts: &mut Vec<usize>,
    indicator_line: usize,
) -> Option<(u32, u32)> {
    if starts.is_empty() {
        starts.push(0);
        starts.extend(chunk.match_indices('\n').map(|(i, _)| i + 1));
    }
    for line in indicator_line + 1..starts.len() {
        let begin = starts[line];
        let end = starts.get(line + 1).map_or(chunk.len(), |e| e - 1);
        let text = &chunk[begin..end];
        let indent = text.len() - text.trim_start_matches(' ').len();
        if !text.trim().is_empty() {
            return Some((line as u32 + 1, indent as u32 + 1));
        }
    }
    None
}

fn depth_check(b: &Builder<'_>, m: &Marker) -> Result<(), (Marker, String)> {
    if b.stack.len() > b.limits.max_depth {
        return Err((
            *m,
            format!(
                "nesting deeper than {} levels; document skipped",
                b.limits.max_depth
            ),
        ));
    }
    Ok(())
}

/// `<<: *base` or `<<: [*a, *b]`: keys not set explicitly come from the merged maps, earlier
/// maps winning.
fn apply_merges(entries: &mut Vec<Entry>, merges: Vec<Node>) {
    for merge in merges {
        let sources: Vec<&Node> = match &merge.value {
            Value::Map(_) => vec![&merge],
            Value::Seq(items) => items.iter().collect(),
            _ => vec![],
        };
        for src in sources {
            for e in src.entries() {
                if !entries.iter().any(|x| x.key == e.key) {
                    entries.push(e.clone());
                }
            }
        }
    }
}

fn resolve_scalar(text: String, style: ScalarStyle, tag: Option<&str>) -> Value {
    if style != ScalarStyle::Plain || tag.is_some_and(|t| t.ends_with(":str") || t == "!!str") {
        return Value::Str(text.into());
    }
    match text.as_str() {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" => {
            return Value::Bool(true)
        }
        "false" | "False" | "FALSE" | "no" | "No" | "NO" | "off" | "Off" | "OFF" => {
            return Value::Bool(false)
        }
        _ => {}
    }
    let first = text.as_bytes()[0];
    if first.is_ascii_digit() || matches!(first, b'-' | b'+' | b'.') {
        if let Some(i) = parse_int(&text) {
            return Value::Int(i);
        }
        if let Some(f) = parse_float(&text) {
            return Value::Float(f);
        }
    }
    Value::Str(text.into())
}

fn parse_int(s: &str) -> Option<i64> {
    let (neg, digits) = match s.as_bytes()[0] {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let v = if let Some(h) = digits.strip_prefix("0x") {
        i64::from_str_radix(h, 16).ok()?
    } else if let Some(o) = digits.strip_prefix("0o") {
        i64::from_str_radix(o, 8).ok()?
    } else if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        digits.parse().ok()?
    } else {
        return None;
    };
    Some(if neg { -v } else { v })
}

fn parse_float(s: &str) -> Option<f64> {
    match s {
        ".inf" | ".Inf" | ".INF" | "+.inf" => return Some(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => return Some(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Some(f64::NAN),
        _ => {}
    }
    let ok = s
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'-' | b'+'))
        && s.bytes().any(|b| b.is_ascii_digit());
    if ok {
        s.parse().ok()
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::FieldPath;

    fn docs(s: &str) -> Vec<Result<Document, YamlError>> {
        parse_documents(s, true, ParseLimits::default())
    }

    #[test]
    fn positions_are_one_based_and_point_at_keys() {
        let d = docs("a: 1\nb:\n  c: true\n  list:\n  - x\n  - y: 2\n");
        let root = &d[0].as_ref().unwrap().root;
        assert_eq!(
            root.locate(&FieldPath::parse("b.c")),
            (Pos::new(3, 3), true)
        );
        assert_eq!(
            root.locate(&FieldPath::parse("b.list[1].y")),
            (Pos::new(6, 5), true)
        );
        assert_eq!(
            root.locate(&FieldPath::parse("b.list[0]")),
            (Pos::new(5, 5), true)
        );
        assert_eq!(
            root.get("b").unwrap().get("c").unwrap().as_bool(),
            Some(true)
        );
    }

    #[test]
    fn later_documents_keep_their_lines_and_survive_a_broken_one() {
        let d = docs("a: 1\n---\nb: [\n---\n# c\nc: 3\n");
        assert_eq!(d.len(), 3);
        assert_eq!(d[0].as_ref().unwrap().index, 0);
        let e = d[1].as_ref().unwrap_err();
        assert_eq!(e.doc, 1);
        assert!(e.line >= 3, "{e:?}");
        let third = d[2].as_ref().unwrap();
        assert_eq!(third.index, 2);
        assert_eq!(third.root.locate(&FieldPath::parse("c")).0, Pos::new(6, 1));
    }

    #[test]
    fn lines_are_counted_by_newlines_alone() {
        // A lone CR, NEL, LS and PS end a line for the parser, not for the reports, whose
        // code frames cut lines at `\n`: positions and errors count `\n` only.
        let text = "a: 1\rz: 0\nb: \"p\u{85}q\"\nc: 3 # \u{2028}\u{2029}\nd: é\r\ne: 5\n";
        let d = docs(text);
        let root = &d[0].as_ref().unwrap().root;
        assert_eq!(root.locate(&FieldPath::parse("z")), (Pos::new(1, 6), true));
        assert_eq!(root.locate(&FieldPath::parse("b")), (Pos::new(2, 1), true));
        assert_eq!(root.locate(&FieldPath::parse("c")), (Pos::new(3, 1), true));
        assert_eq!(root.locate(&FieldPath::parse("e")), (Pos::new(5, 1), true));
        let d = docs("a: 1\rb: 2\rc: 3\nd: [x\ne: {\n");
        let e = d[0].as_ref().unwrap_err();
        assert!(e.line <= 3, "{e:?}");
        // Plain text keeps the parser's own count, which is the same there.
        let d = docs("a: 1\r\nb: 2\n");
        let root = &d[0].as_ref().unwrap().root;
        assert_eq!(root.locate(&FieldPath::parse("b")), (Pos::new(2, 1), true));
    }

    #[test]
    fn alias_bomb_is_refused() {
        let mut s = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            let p = i - 1;
            s.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        let d = docs(&s);
        let e = d[0].as_ref().unwrap_err();
        assert!(e.message.contains("alias bomb"), "{e:?}");
    }

    #[test]
    fn a_large_plain_document_is_no_alias_bomb() {
        // 600,000 keys and values: more plain nodes than the alias budget, no alias at all.
        let mut s = String::from("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: big}\ndata:\n");
        for i in 0..300_000 {
            s.push_str(&format!("  k{i}: v{i}\n"));
        }
        let d = docs(&s);
        let root = &d[0].as_ref().unwrap().root;
        assert_eq!(root.get("data").unwrap().entries().len(), 300_000);
    }

    #[test]
    fn nested_anchors_count_their_copies() {
        // Each anchor copies everything under it, so nested anchors multiply without a
        // single alias.
        let limits = ParseLimits {
            max_alias_nodes: 1_000,
            ..ParseLimits::default()
        };
        let mut s = String::new();
        for i in 0..20 {
            s.push_str(&format!("{}k{i}: &a{i}\n", "  ".repeat(i)));
        }
        s.push_str(&format!(
            "{}leaf: [{}]\n",
            "  ".repeat(20),
            "x, ".repeat(100)
        ));
        let d = parse_documents(&s, true, limits);
        let e = d[0].as_ref().unwrap_err();
        assert!(e.message.contains("alias bomb"), "{e:?}");
        // The same document without anchors parses.
        let unanchored: String = s
            .lines()
            .map(|l| l.split(" &").next().unwrap().to_string() + "\n")
            .collect();
        assert!(parse_documents(&unanchored, true, limits)[0].is_ok());
    }

    #[test]
    fn deep_nesting_is_refused() {
        let s = format!("{}1{}", "[".repeat(10_000), "]".repeat(10_000));
        let d = docs(&s);
        assert!(d[0].is_err());
    }

    #[test]
    fn merge_keys_and_scalars() {
        let d = docs(
            "base: &b {x: 1, y: 2}\nm:\n  <<: *b\n  y: 3\nq: \"true\"\nn: 0x10\nf: 1.5\nz: ~\n",
        );
        let root = &d[0].as_ref().unwrap().root;
        let m = root.get("m").unwrap();
        assert_eq!(m.get("x").unwrap().as_i64(), Some(1));
        assert_eq!(m.get("y").unwrap().as_i64(), Some(3));
        assert_eq!(root.get("q").unwrap().as_str(), Some("true"));
        assert_eq!(root.get("n").unwrap().as_i64(), Some(16));
        assert!(root.get("z").unwrap().is_null());
        assert!(matches!(root.get("f").unwrap().value, Value::Float(_)));
    }

    #[test]
    fn embedded_yaml_gets_outer_positions() {
        let d =
            docs("data:\n  mapRoles: |\n    - rolearn: x\n      groups:\n      - system:masters\n");
        let root = &d[0].as_ref().unwrap().root;
        let inner = parse_embedded(root.at("data.mapRoles").unwrap())
            .unwrap()
            .unwrap();
        assert_eq!(
            inner.locate(&FieldPath::parse("[0].groups[0]")),
            (Pos::new(5, 9), true)
        );
    }

    #[test]
    fn parser_panics_become_errors() {
        let d = docs("a: 1\n---\nb: [!t, x]\n---\nc: 3\n");
        assert_eq!(d.len(), 3, "{d:?}");
        assert!(d[0].is_ok() && d[2].is_ok());
        let e = d[1].as_ref().unwrap_err();
        assert_eq!((e.doc, e.line), (1, 3), "{e:?}");
        assert!(!in_parser());
    }

    #[test]
    fn json_parses_with_positions() {
        let d = parse_documents(
            "{\n  \"kind\": \"Pod\",\n  \"spec\": {\"hostPID\": true}\n}\n",
            false,
            ParseLimits::default(),
        );
        let root = &d[0].as_ref().unwrap().root;
        assert_eq!(root.locate(&FieldPath::parse("spec.hostPID")).0.line, 3);
        assert_eq!(root.at("spec.hostPID").unwrap().as_bool(), Some(true));
    }
}
