//! Framing: cutting a byte stream into the units events are parsed from. JSON lines
//! (with the timestamp and stream prefixes of S3 exports and `aws logs tail`) are cut at
//! newlines by a thread that reads ahead; JSON documents (arrays, `EventList`s,
//! `filter-log-events` output, subscription payloads) element by element by [`Splitter`].

use std::io::Read;

/// What the reading thread hands over.
pub(super) enum Chunk {
    /// Whole lines (the last without its newline), the first of them numbered.
    Lines {
        data: Vec<u8>,
        first_line: u32,
    },
    /// A line longer than any event may be, skipped.
    LongLine(u32),
    Failed(u32, std::io::Error),
}

/// Reads `input` in chunks of about `batch` bytes cut after a newline.
pub(super) fn read_chunks(
    mut input: Box<dyn Read + Send + '_>,
    batch: usize,
    max: usize,
    tx: &std::sync::mpsc::SyncSender<Chunk>,
    done: &std::sync::mpsc::Receiver<Vec<u8>>,
) {
    let mut buf: Vec<u8> = Vec::with_capacity(batch);
    let mut line_no: u32 = 1;
    // Inside a line that is being skipped for its length.
    let mut skipping = false;
    let mut eof = false;
    while !eof {
        // One long line grows the buffer, up to just past the longest event allowed.
        let want = if buf.len() >= batch {
            (buf.len() * 2).min(max + batch)
        } else {
            batch
        };
        let mut filled = buf.len();
        buf.resize(want, 0);
        while filled < want {
            match input.read(&mut buf[filled..]) {
                Ok(0) => {
                    eof = true;
                    break;
                }
                Ok(n) => filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    let _ = tx.send(Chunk::Failed(line_no, e));
                    eof = true;
                    break;
                }
            }
        }
        buf.truncate(filled);
        let end = match memchr::memrchr(b'\n', &buf) {
            _ if eof => buf.len(),
            Some(i) => i + 1,
            None if buf.len() > max => {
                if !skipping && tx.send(Chunk::LongLine(line_no)).is_err() {
                    return;
                }
                skipping = true;
                buf.clear();
                continue;
            }
            None => continue,
        };
        // The rest goes to the front of a batch buffer handed back, or of a new one.
        let mut next = done
            .try_recv()
            .ok()
            // One grown by a long line is let go, so memory goes back to the batch size.
            .filter(|b| b.capacity() <= 2 * batch)
            .unwrap_or_else(|| Vec::with_capacity(batch));
        next.clear();
        next.extend_from_slice(&buf[end..]);
        buf.truncate(end);
        let mut data = std::mem::replace(&mut buf, next);
        if std::mem::take(&mut skipping) {
            // The tail of the skipped line.
            match memchr::memchr(b'\n', &data) {
                Some(i) => {
                    data.drain(..=i);
                    line_no = line_no.saturating_add(1);
                }
                None => data.clear(),
            }
        }
        // Lines in the chunk: one per newline, plus an unterminated last one.
        let newlines = memchr::memchr_iter(b'\n', &data).count() as u32;
        let lines = if data.last() == Some(&b'\n') {
            data.pop();
            newlines
        } else {
            newlines + 1
        };
        let first_line = line_no;
        line_no = line_no.saturating_add(lines);
        if !data.is_empty() && tx.send(Chunk::Lines { data, first_line }).is_err() {
            return;
        }
    }
}

/// The JSON of a line: as it is, or after the timestamp (and stream name) that S3 exports
/// and `aws logs tail` put in front. `None` for blank lines.
pub(super) fn line_payload(line: &[u8]) -> Option<&[u8]> {
    let start = line.iter().position(|b| !b.is_ascii_whitespace())?;
    let line = &line[start..];
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if matches!(line.first(), Some(b'{' | b'[')) || !line[0].is_ascii_digit() {
        return Some(line);
    }
    // `2024-05-01T12:00:00.000Z {...}` or `... kube-apiserver-audit-abc {...}`.
    match memchr::memchr(b'{', &line[..line.len().min(512)]) {
        Some(i)
            if line[..i]
                .split(|b| *b == b' ')
                .filter(|t| !t.is_empty())
                .count()
                <= 2 =>
        {
            Some(&line[i..])
        }
        _ => Some(line),
    }
}

/// Whether the first line holds exactly one complete JSON value (JSON lines) rather than
/// the start of a document spread over lines or several values on one line.
pub(super) fn first_line_is_one_value(head: &[u8]) -> bool {
    let line_end = memchr::memchr(b'\n', head).unwrap_or(head.len());
    let line = &head[..line_end];
    let mut depth = 0i64;
    let (mut in_str, mut esc) = (false, false);
    for (i, &c) in line.iter().enumerate() {
        if in_str {
            match (esc, c) {
                (true, _) => esc = false,
                (false, b'\\') => esc = true,
                (false, b'"') => in_str = false,
                _ => {}
            }
            continue;
        }
        match c {
            b'"' => in_str = true,
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                depth -= 1;
                if depth == 0 {
                    return line[i + 1..].iter().all(u8::is_ascii_whitespace);
                }
            }
            _ => {}
        }
    }
    // A first line longer than the head is a long JSON line, not a document.
    line_end == head.len() && depth > 0 && head.len() >= 64 << 10
}

/// Whether a document's first bytes open the event array of an envelope (`items`,
/// `events` or `logEvents` at the top level of an object), the way [`Splitter`] sees it.
pub(super) fn opens_envelope(head: &[u8]) -> bool {
    let mut s = Splitter::new(head.len());
    s.feed(head);
    s.envelopes > 0
}

/// `64 MiB`, or a byte count when it is no whole number of MiB.
pub(super) fn size_text(n: usize) -> String {
    if n >= 1 << 20 && n % (1 << 20) == 0 {
        format!("{} MiB", n >> 20)
    } else {
        format!("{n} bytes")
    }
}

pub(super) fn looks_base64(head: &[u8]) -> bool {
    head.len() >= 8
        && head.iter().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=' | b'\n' | b'\r' | b' ')
        })
}

/// Cuts a stream of JSON documents into units: each top-level value, or, for arrays and
/// for objects holding an `items`, `events` or `logEvents` array, each element of that
/// array. Elements are copied into `batch` with their first line.
pub(super) struct Splitter {
    pub(super) max: usize,
    pub(super) batch: Vec<u8>,
    pub(super) spans: Vec<(usize, usize, u32)>,
    pub(super) errors: Vec<(u32, String)>,
    pub(super) line: u32,
    pub(super) depth: u32,
    pub(super) in_str: bool,
    pub(super) esc: bool,
    /// Depth at which elements are cut out (1: a top-level array, 2: an envelope array).
    pub(super) elem_depth: Option<u32>,
    /// The element (or whole top-level object) being collected: start in batch, line.
    pub(super) cur: Option<(usize, u32)>,
    /// Collecting a top-level object that may turn out to be an envelope.
    pub(super) top_object: bool,
    /// At depth 1 of a top-level object, the next string is a key.
    pub(super) expect_key: bool,
    pub(super) key: Vec<u8>,
    pub(super) in_key: bool,
    pub(super) last_key: Vec<u8>,
    /// The skipped elements of a CONTROL_MESSAGE.
    pub(super) skip_elements: bool,
    pub(super) overflow: bool,
    /// Envelope arrays entered so far.
    pub(super) envelopes: u32,
}

impl Splitter {
    pub(super) fn new(max: usize) -> Self {
        Splitter {
            max,
            batch: Vec::new(),
            spans: Vec::new(),
            errors: Vec::new(),
            line: 1,
            depth: 0,
            in_str: false,
            esc: false,
            elem_depth: None,
            cur: None,
            top_object: false,
            expect_key: false,
            key: Vec::new(),
            in_key: false,
            last_key: Vec::new(),
            skip_elements: false,
            overflow: false,
            envelopes: 0,
        }
    }

    fn start(&mut self, at_line: u32) {
        self.cur = Some((self.batch.len(), at_line));
        self.overflow = false;
    }

    fn end(&mut self) {
        if let Some((s, line)) = self.cur.take() {
            if self.overflow {
                self.errors.push((
                    line,
                    format!("event longer than {} skipped", size_text(self.max)),
                ));
                self.batch.truncate(s);
            } else if self.skip_elements {
                self.batch.truncate(s);
            } else {
                self.spans.push((s, self.batch.len(), line));
            }
        }
    }

    fn push(&mut self, c: u8) {
        if let Some((s, _)) = self.cur {
            if self.batch.len() - s < self.max {
                self.batch.push(c);
            } else {
                self.overflow = true;
            }
        }
    }

    pub(super) fn feed(&mut self, chunk: &[u8]) {
        for &c in chunk {
            if c == b'\n' {
                self.line = self.line.saturating_add(1);
            }
            if self.in_str {
                self.push(c);
                if self.in_key {
                    self.key.push(c);
                }
                match (self.esc, c) {
                    (true, _) => self.esc = false,
                    (false, b'\\') => self.esc = true,
                    (false, b'"') => {
                        self.in_str = false;
                        if self.in_key {
                            self.in_key = false;
                            self.key.pop();
                            self.last_key = std::mem::take(&mut self.key);
                        }
                    }
                    _ => {}
                }
                continue;
            }
            let in_elem_level = self.elem_depth == Some(self.depth);
            match c {
                b' ' | b'\t' | b'\r' | b'\n' => self.push(c),
                b',' if in_elem_level => self.end(),
                b',' => {
                    if self.depth == 1 && self.top_object {
                        self.expect_key = true;
                    }
                    self.push(c);
                }
                b'{' | b'[' => {
                    if self.depth == 0 {
                        self.start(self.line);
                        if c == b'[' {
                            self.elem_depth = Some(1);
                            self.cur = None;
                        } else {
                            self.top_object = true;
                            self.expect_key = true;
                            self.skip_elements = false;
                        }
                    } else if self.depth == 1
                        && self.top_object
                        && c == b'['
                        && matches!(&self.last_key[..], b"items" | b"events" | b"logEvents")
                    {
                        // An envelope: keep what identifies it and cut out its elements.
                        if let Some((s, _)) = self.cur.take() {
                            self.skip_elements =
                                memchr::memmem::find(&self.batch[s..], b"\"CONTROL_MESSAGE\"")
                                    .is_some();
                            self.batch.truncate(s);
                        }
                        self.elem_depth = Some(2);
                        self.envelopes += 1;
                        self.depth += 1;
                        continue;
                    } else if in_elem_level && self.cur.is_none() {
                        self.start(self.line);
                    }
                    self.depth += 1;
                    self.push(c);
                }
                b'}' | b']' => {
                    if self.depth == 0 {
                        continue;
                    }
                    self.depth -= 1;
                    if self.elem_depth == Some(self.depth + 1) {
                        // The array whose elements were cut out is closed.
                        self.end();
                        self.elem_depth = None;
                        if self.depth == 0 {
                            self.top_object = false;
                        }
                        continue;
                    }
                    self.push(c);
                    if self.depth == 0 {
                        // A top-level object that was no envelope: it is one unit.
                        self.end();
                        self.top_object = false;
                    } else if self.elem_depth == Some(self.depth) {
                        self.end();
                    }
                }
                b'"' => {
                    if in_elem_level && self.cur.is_none() {
                        self.start(self.line);
                    }
                    self.in_str = true;
                    if self.depth == 1 && self.top_object && self.expect_key {
                        self.in_key = true;
                        self.expect_key = false;
                        self.key.clear();
                    }
                    self.push(c);
                }
                _ => {
                    if in_elem_level && self.cur.is_none() {
                        self.start(self.line);
                    }
                    self.push(c);
                }
            }
        }
    }

    /// At the end of input: whatever was still open was cut short.
    pub(super) fn finish(&mut self) {
        if let Some((s, line)) = self.cur.take() {
            let text = &self.batch[s..];
            if !text.iter().all(u8::is_ascii_whitespace) {
                // Parsing reports it as truncated JSON, with its auditID if one is there.
                self.spans.push((s, self.batch.len(), line));
            }
        }
    }
}
