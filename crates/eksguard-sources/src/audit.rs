//! Streaming audit-log readers.
//!
//! Accepted, plain or gzip (detected by its magic bytes, concatenated members included):
//! JSON lines of events; a JSON array of events; `EventList` documents; the JSON of
//! `aws logs filter-log-events`; CloudWatch Logs S3 export lines (`<timestamp> <event>`)
//! and `aws logs tail` lines (`<timestamp> <stream> <event>`); subscription payloads
//! (`DATA_MESSAGE` JSON, gzip, base64 of gzip, or a Lambda `{"awslogs":{"data":…}}`
//! event; `CONTROL_MESSAGE` skipped).
//!
//! Input is read in batches of complete lines (or, for JSON documents, of complete array
//! elements); each batch is parsed in parallel, deduplicated in order and handed to the
//! caller before the next is read, so memory depends on the batch size and the largest
//! event, not on the input size. Duplicates (same auditID and stage) are dropped within a
//! bounded window of recent events: repeats in CloudWatch exports arrive close together,
//! and a window keeps memory flat on endless streams.

use std::borrow::Cow;
use std::collections::{HashSet, VecDeque};
use std::hash::Hasher;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::sync::Arc;

use eksguard_model::audit::{AuditEvent, AuditParseError, AuditStats, Str};
use eksguard_model::encoding::decode_base64;
use eksguard_model::InputError;
use rayon::prelude::*;
use serde::Deserialize;
use serde_json::value::RawValue;

/// Where an event came from: a file (or `LOG_GROUP/STREAM` label) and a line (or index).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub file: Arc<str>,
    pub line: u32,
}

/// An event that could not be read, and whether it was cut short.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventError {
    pub error: InputError,
    pub truncated: bool,
}

/// Parses one event (a CloudWatch message, a line) and names its origin on failure.
pub fn parse_event<'a>(bytes: &'a [u8], origin: &Origin) -> Result<AuditEvent<'a>, EventError> {
    AuditEvent::parse(bytes).map_err(|e| EventError {
        truncated: e.is_truncated(),
        error: InputError::new(&*origin.file, Some(origin.line), e.to_string()),
    })
}

/// One event of a batch with its line.
#[derive(Debug)]
pub struct Parsed<'a> {
    pub event: AuditEvent<'a>,
    pub line: u32,
}

/// Events read together from one input, in input order, duplicates removed.
pub struct Batch<'a> {
    pub file: &'a Arc<str>,
    pub events: Vec<&'a Parsed<'a>>,
}

#[derive(Debug, Clone)]
pub struct ReadOptions {
    /// Bytes read and parsed at once.
    pub batch_bytes: usize,
    /// Recent (auditID, stage) pairs remembered to drop duplicates.
    pub dedup_window: usize,
    /// Longest line or array element accepted; longer ones are skipped with an error.
    pub max_event_bytes: usize,
    /// Errors kept for the report; further ones are only counted.
    pub max_errors: usize,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            batch_bytes: 8 << 20,
            dedup_window: 200_000,
            max_event_bytes: 64 << 20,
            max_errors: 1000,
        }
    }
}

pub(crate) const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

/// FNV-1a: quick on short keys such as auditIDs; the set needs no protection against
/// crafted collisions (a collision only keeps one extra event, or drops one).
pub(crate) fn fnv1a(mut h: u64, bytes: &[u8]) -> u64 {
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    // A separator, so that ("ab", "c") and ("a", "bc") differ.
    (h ^ 0xff).wrapping_mul(0x0100_0000_01b3)
}

/// Hashes the keys of [`Dedup`], which are hashes already, by passing them through.
#[derive(Default)]
struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 << 8) | u64::from(*b);
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = v;
    }
}

/// Recent (auditID, stage) pairs as 64-bit hashes: a collision within the window is
/// vanishingly unlikely and the memory stays a few megabytes.
struct Dedup {
    seen: HashSet<u64, std::hash::BuildHasherDefault<PassThrough>>,
    order: VecDeque<u64>,
    cap: usize,
}

impl Dedup {
    fn is_repeat(&mut self, ev: &AuditEvent<'_>) -> bool {
        let Some(id) = ev.audit_id.as_deref() else {
            return false;
        };
        let key = fnv1a(fnv1a(FNV_OFFSET, id.as_bytes()), ev.stage().as_bytes());
        if !self.seen.insert(key) {
            return true;
        }
        self.order.push_back(key);
        if self.order.len() > self.cap {
            if let Some(old) = self.order.pop_front() {
                self.seen.remove(&old);
            }
        }
        false
    }
}

/// What a path is when it is not a regular file, for the error that refuses it.
fn not_regular(meta: &std::fs::Metadata) -> Option<String> {
    let ft = meta.file_type();
    if ft.is_file() {
        return None;
    }
    let what = crate::files::file_kind(&ft);
    Some(format!(
        "{what}, not a regular file: skipped (give a pipe's output as `-`, standard input)"
    ))
}

/// Opens a regular file without blocking, and checks what was opened: the path may have
/// been replaced by a FIFO since it was looked at.
fn open_regular(path: &Path) -> Result<std::fs::File, String> {
    let f = crate::files::open_nonblocking(path).map_err(|e| format!("cannot read: {e}"))?;
    let meta = f.metadata().map_err(|e| format!("cannot read: {e}"))?;
    match not_regular(&meta) {
        Some(what) => Err(what),
        None => Ok(f),
    }
}

/// Reads audit logs and hands their events to a callback, batch by batch.
pub struct AuditReader {
    opts: ReadOptions,
    stats: AuditStats,
    errors: Vec<InputError>,
    errors_dropped: u64,
    dedup: Dedup,
    inputs: usize,
}

pub type OnBatch<'f> = dyn FnMut(&Batch<'_>) + 'f;

impl AuditReader {
    pub fn new(opts: ReadOptions) -> Self {
        let cap = opts.dedup_window;
        AuditReader {
            opts,
            stats: AuditStats::default(),
            errors: Vec::new(),
            errors_dropped: 0,
            dedup: Dedup {
                seen: HashSet::with_capacity_and_hasher(cap.min(1 << 16), Default::default()),
                order: VecDeque::new(),
                cap,
            },
            inputs: 0,
        }
    }

    pub fn stats(&self) -> AuditStats {
        self.stats
    }

    /// Files and streams read.
    pub fn inputs(&self) -> usize {
        self.inputs
    }

    /// The errors met, with a last entry counting those left out.
    pub fn errors(&self) -> Vec<InputError> {
        let mut out = self.errors.clone();
        if self.errors_dropped > 0 {
            out.push(InputError::new(
                "<audit>",
                None,
                format!("{} more unreadable events not listed", self.errors_dropped),
            ));
        }
        out
    }

    /// The errors met since the last call, handed over and forgotten (a reader that runs
    /// for days reports them as they come), with a last entry counting those left out.
    pub fn take_errors(&mut self) -> Vec<InputError> {
        let out = self.errors();
        self.errors.clear();
        self.errors_dropped = 0;
        out
    }

    /// The (auditID, stage) keys of the recent events, oldest first: the duplicate filter,
    /// for a checkpoint.
    pub fn dedup_keys(&self) -> Vec<u64> {
        self.dedup.order.iter().copied().collect()
    }

    /// Takes back what [`dedup_keys`](Self::dedup_keys) gave (the newest, at most the
    /// window).
    pub fn restore_dedup_keys(&mut self, keys: &[u64]) {
        self.dedup.seen.clear();
        self.dedup.order.clear();
        for k in &keys[keys.len().saturating_sub(self.dedup.cap)..] {
            if self.dedup.seen.insert(*k) {
                self.dedup.order.push_back(*k);
            }
        }
    }

    /// Records an error met outside the reader (an input that could not be fetched).
    pub fn push_error(&mut self, e: InputError) {
        self.error(e);
    }

    fn error(&mut self, e: InputError) {
        if self.errors.len() < self.opts.max_errors {
            self.errors.push(e);
        } else {
            self.errors_dropped += 1;
        }
    }

    fn event_error(&mut self, e: EventError) {
        if e.truncated {
            self.stats.truncated += 1;
        } else {
            self.stats.malformed += 1;
        }
        self.error(e.error);
    }

    /// Reads a file, every file under a directory (in name order: an S3 export tree),
    /// or standard input for `-`.
    pub fn read_path(&mut self, path: &Path, on_batch: &mut OnBatch<'_>) {
        if path.as_os_str() == "-" {
            self.read_stream("-", std::io::stdin(), on_batch);
            return;
        }
        let name = path.display().to_string();
        let meta = match std::fs::metadata(path) {
            Ok(m) => m,
            Err(e) => {
                self.inputs += 1;
                self.error(InputError::new(name, None, format!("cannot read: {e}")));
                return;
            }
        };
        if meta.is_dir() {
            match std::fs::read_dir(path) {
                Ok(entries) => {
                    let mut paths: Vec<_> = entries.flatten().map(|e| e.path()).collect();
                    paths.sort();
                    for p in paths {
                        let hidden = p
                            .file_name()
                            .is_some_and(|n| n.to_string_lossy().starts_with('.'));
                        if hidden {
                            continue;
                        }
                        // Links to directories are not followed inside a tree: a link
                        // back up would make the walk endless.
                        let linked_dir = std::fs::symlink_metadata(&p)
                            .is_ok_and(|m| m.file_type().is_symlink())
                            && p.is_dir();
                        if linked_dir {
                            self.inputs += 1;
                            self.error(InputError::new(
                                p.display().to_string(),
                                None,
                                "a symbolic link to a directory inside a directory read: not followed",
                            ));
                            continue;
                        }
                        self.read_path(&p, on_batch);
                    }
                }
                Err(e) => {
                    self.inputs += 1;
                    self.error(InputError::new(name, None, format!("cannot read: {e}")));
                }
            }
            return;
        }
        // A FIFO would block the run until something writes to it, a device may never
        // end: only regular files are read (pipes go through `-`).
        let opened = match not_regular(&meta) {
            Some(what) => Err(what),
            None => open_regular(path),
        };
        match opened {
            Ok(f) => self.read_stream(&name, f, on_batch),
            Err(e) => {
                self.inputs += 1;
                self.error(InputError::new(name, None, e));
            }
        }
    }

    /// Reads one input of any accepted format.
    pub fn read_stream<'r>(
        &mut self,
        name: &str,
        input: impl Read + Send + 'r,
        on_batch: &mut OnBatch<'_>,
    ) {
        self.inputs += 1;
        let file: Arc<str> = name.into();
        self.read_inner(&file, Box::new(input), 0, on_batch);
    }

    /// Parses messages that arrive one by one (a CloudWatch Logs API page): each has an
    /// index that stands for its line.
    pub fn read_messages(
        &mut self,
        label: &str,
        messages: &[(u32, &[u8])],
        on_batch: &mut OnBatch<'_>,
    ) {
        let file: Arc<str> = label.into();
        let units: Vec<Unit<'_>> = messages
            .iter()
            .map(|(i, m)| Unit {
                bytes: Cow::Borrowed(*m),
                line: *i,
            })
            .collect();
        self.parse_units(&file, &units, false, on_batch);
    }

    fn read_inner(
        &mut self,
        file: &Arc<str>,
        input: Box<dyn Read + Send + '_>,
        nesting: u32,
        on_batch: &mut OnBatch<'_>,
    ) {
        let mut input = BufReader::with_capacity(1 << 20, input);
        let gzip = match input.fill_buf() {
            Ok(b) => b.starts_with(&[0x1f, 0x8b]),
            Err(e) => {
                self.error(InputError::new(&**file, None, format!("cannot read: {e}")));
                return;
            }
        };
        if gzip {
            let inner = flate2::bufread::MultiGzDecoder::new(input);
            self.read_plain(file, Box::new(inner), nesting, on_batch);
        } else {
            self.read_plain(file, Box::new(input), nesting, on_batch);
        }
    }

    fn read_plain(
        &mut self,
        file: &Arc<str>,
        input: Box<dyn Read + Send + '_>,
        nesting: u32,
        on_batch: &mut OnBatch<'_>,
    ) {
        let mut input = input;
        // The first bytes decide the format.
        let mut head = Vec::with_capacity(64 << 10);
        if let Err(e) = (&mut input).take(64 << 10).read_to_end(&mut head) {
            self.error(InputError::new(&**file, None, format!("cannot read: {e}")));
            return;
        }
        let first = head.iter().position(|b| !b.is_ascii_whitespace());
        let Some(first) = first else {
            return;
        };
        let lead = head[first];
        // A first line longer than the head is one long event, or one envelope (an
        // `EventList` written on one line) whose events are then cut out one by one
        // instead of the whole line being held, and refused past the event size limit.
        let long_envelope =
            memchr::memchr(b'\n', &head[first..]).is_none() && opens_envelope(&head[first..]);
        let one_line = lead == b'{' && !long_envelope && first_line_is_one_value(&head[first..]);
        let base64 = nesting == 0 && looks_base64(&head[first..]);
        let rest = std::io::Cursor::new(head).chain(input);
        match lead {
            b'[' => self.read_document(file, Box::new(rest), on_batch),
            b'{' if !one_line => self.read_document(file, Box::new(rest), on_batch),
            _ if base64 => {
                // A subscription payload stored as base64 text: small by nature (a
                // Kinesis record is at most 1 MB), so it is read whole, up to a limit.
                let mut all = Vec::new();
                let limit = self.opts.max_event_bytes as u64;
                if let Err(e) = rest.take(limit + 1).read_to_end(&mut all) {
                    self.error(InputError::new(&**file, None, format!("cannot read: {e}")));
                    return;
                }
                if all.len() as u64 > limit {
                    self.event_error(EventError {
                        error: InputError::new(
                            &**file,
                            Some(1),
                            format!(
                                "base64 payload longer than {} skipped",
                                size_text(limit as usize)
                            ),
                        ),
                        truncated: false,
                    });
                    return;
                }
                match decode_base64(&all) {
                    Some(bytes) => self.read_inner(
                        file,
                        Box::new(std::io::Cursor::new(bytes)),
                        nesting + 1,
                        on_batch,
                    ),
                    None => self.event_error(EventError {
                        error: InputError::new(&**file, Some(1), "neither JSON nor base64"),
                        truncated: false,
                    }),
                }
            }
            _ => self.read_lines(file, Box::new(rest), on_batch),
        }
    }

    /// JSON lines (with optional timestamp prefixes), in batches of whole lines. A thread
    /// reads (and decompresses) the next batch while this one is parsed.
    fn read_lines(
        &mut self,
        file: &Arc<str>,
        input: Box<dyn Read + Send + '_>,
        on_batch: &mut OnBatch<'_>,
    ) {
        let batch = self.opts.batch_bytes.max(1 << 12);
        let max = self.opts.max_event_bytes;
        std::thread::scope(|scope| {
            let (tx, rx) = std::sync::mpsc::sync_channel::<Chunk>(2);
            scope.spawn(move || read_chunks(input, batch, max, &tx));
            for chunk in rx {
                match chunk {
                    Chunk::Lines { data, first_line } => {
                        let mut units = Vec::new();
                        // Saturating: a pathological input may hold more lines than u32.
                        let mut line = first_line;
                        for text in data.split(|b| *b == b'\n') {
                            if let Some(payload) = line_payload(text) {
                                units.push(Unit {
                                    bytes: Cow::Borrowed(payload),
                                    line,
                                });
                            }
                            line = line.saturating_add(1);
                        }
                        self.parse_units(file, &units, true, on_batch);
                    }
                    Chunk::LongLine(line) => self.event_error(EventError {
                        error: InputError::new(
                            &**file,
                            Some(line),
                            format!("line longer than {} skipped", size_text(max)),
                        ),
                        truncated: false,
                    }),
                    Chunk::Failed(line, e) => self.error(InputError::new(
                        &**file,
                        Some(line),
                        format!("cannot read: {e}"),
                    )),
                }
            }
        });
    }

    /// A JSON document (array, EventList, filter-log-events output, subscription payload,
    /// concatenated documents): elements of its event arrays are cut out one by one.
    fn read_document(
        &mut self,
        file: &Arc<str>,
        input: Box<dyn Read + Send + '_>,
        on_batch: &mut OnBatch<'_>,
    ) {
        let mut splitter = Splitter::new(self.opts.max_event_bytes);
        let mut input = BufReader::with_capacity(1 << 20, input);
        loop {
            let chunk = match input.fill_buf() {
                Ok([]) => break,
                Ok(c) => c,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.error(InputError::new(&**file, None, format!("cannot read: {e}")));
                    break;
                }
            };
            let n = chunk.len();
            splitter.feed(chunk);
            input.consume(n);
            if splitter.batch.len() >= self.opts.batch_bytes {
                self.flush_splitter(file, &mut splitter, on_batch);
            }
        }
        splitter.finish();
        self.flush_splitter(file, &mut splitter, on_batch);
    }

    fn flush_splitter(&mut self, file: &Arc<str>, s: &mut Splitter, on_batch: &mut OnBatch<'_>) {
        for (line, message) in s.errors.drain(..) {
            self.event_error(EventError {
                error: InputError::new(&**file, Some(line), message),
                truncated: true,
            });
        }
        let units: Vec<Unit<'_>> = s
            .spans
            .iter()
            .map(|&(a, b, line)| Unit {
                bytes: Cow::Borrowed(&s.batch[a..b]),
                line,
            })
            .collect();
        self.parse_units(file, &units, true, on_batch);
        drop(units);
        // Keep the element being collected, if the batch ended inside one.
        match s.cur {
            Some((start, line)) => {
                s.batch.drain(..start);
                s.cur = Some((0, line));
            }
            None => s.batch.clear(),
        }
        s.spans.clear();
    }

    /// Parses units in parallel, expands envelopes, drops duplicates and hands the events
    /// on in input order.
    fn parse_units(
        &mut self,
        file: &Arc<str>,
        units: &[Unit<'_>],
        envelopes: bool,
        on_batch: &mut OnBatch<'_>,
    ) {
        if units.is_empty() {
            return;
        }
        // Events stay where they were parsed: they are large, and the batch hands out
        // references.
        let parsed: Vec<Result<Parsed<'_>, AuditParseError>> = units
            .par_iter()
            .with_min_len(64)
            .map(|u| {
                AuditEvent::parse(&u.bytes).map(|event| Parsed {
                    event,
                    line: u.line,
                })
            })
            .collect();
        // Envelopes fail as events; the rare failures are looked at again, one by one.
        let mut expanded: Vec<Option<Expansion>> = Vec::new();
        if envelopes {
            expanded = parsed
                .iter()
                .zip(units)
                .map(|(r, u)| match r {
                    Err(AuditParseError::Malformed(_)) => expand_envelope(&u.bytes, u.line),
                    _ => None,
                })
                .collect();
        }
        let inner: Vec<Vec<Result<Parsed<'_>, AuditParseError>>> = expanded
            .iter()
            .map(|x| match x {
                Some(x) => x
                    .units
                    .iter()
                    .map(|u| {
                        AuditEvent::parse(&u.bytes).map(|event| Parsed {
                            event,
                            line: u.line,
                        })
                    })
                    .collect(),
                None => Vec::new(),
            })
            .collect();
        let mut events: Vec<&Parsed<'_>> = Vec::with_capacity(parsed.len());
        let mut errors = Vec::new();
        for (i, (result, unit)) in parsed.iter().zip(units).enumerate() {
            if let Some(Some(x)) = expanded.get(i) {
                errors.extend(x.errors.iter().cloned());
                for (r, u) in inner[i].iter().zip(&x.units) {
                    match r {
                        Ok(p) => events.push(p),
                        Err(e) => errors.push((u.line, e.clone())),
                    }
                }
                continue;
            }
            match result {
                Ok(p) => events.push(p),
                Err(e) => errors.push((unit.line, e.clone())),
            }
        }
        for (line, e) in errors {
            self.event_error(EventError {
                truncated: e.is_truncated(),
                error: InputError::new(&**file, Some(line), e.to_string()),
            });
        }
        self.stats.events_read += events.len() as u64;
        let before = events.len();
        events.retain(|p| !self.dedup.is_repeat(&p.event));
        self.stats.duplicates += (before - events.len()) as u64;
        if !events.is_empty() {
            on_batch(&Batch { file, events });
        }
    }
}

/// What the reading thread hands over.
enum Chunk {
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
fn read_chunks(
    mut input: Box<dyn Read + Send + '_>,
    batch: usize,
    max: usize,
    tx: &std::sync::mpsc::SyncSender<Chunk>,
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
        let rest = buf.split_off(end);
        let mut data = std::mem::replace(&mut buf, rest);
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

/// Bytes to parse as one event (or envelope) and their line.
struct Unit<'a> {
    bytes: Cow<'a, [u8]>,
    line: u32,
}

/// The events inside an envelope, owned, and the problems met unpacking it.
struct Expansion {
    units: Vec<Unit<'static>>,
    errors: Vec<(u32, AuditParseError)>,
}

/// The JSON of a line: as it is, or after the timestamp (and stream name) that S3 exports
/// and `aws logs tail` put in front. `None` for blank lines.
fn line_payload(line: &[u8]) -> Option<&[u8]> {
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
fn first_line_is_one_value(head: &[u8]) -> bool {
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
fn opens_envelope(head: &[u8]) -> bool {
    let mut s = Splitter::new(head.len());
    s.feed(head);
    s.envelopes > 0
}

/// `64 MiB`, or a byte count when it is no whole number of MiB.
fn size_text(n: usize) -> String {
    if n >= 1 << 20 && n % (1 << 20) == 0 {
        format!("{} MiB", n >> 20)
    } else {
        format!("{n} bytes")
    }
}

fn looks_base64(head: &[u8]) -> bool {
    head.len() >= 8
        && head.iter().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=' | b'\n' | b'\r' | b' ')
        })
}

/// Gunzips a payload, at most `limit` bytes of output.
fn gunzip(bytes: &[u8], limit: u64) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(bytes)
        .take(limit)
        .read_to_end(&mut out)
        .ok()?;
    Some(out)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Envelope<'a> {
    #[serde(borrow)]
    kind: Option<Str<'a>>,
    #[serde(borrow)]
    items: Option<Vec<&'a RawValue>>,
    #[serde(borrow)]
    events: Option<Vec<&'a RawValue>>,
    #[serde(borrow)]
    log_events: Option<Vec<&'a RawValue>>,
    #[serde(borrow)]
    message_type: Option<Str<'a>>,
    #[serde(borrow)]
    message: Option<Str<'a>>,
    #[serde(borrow)]
    awslogs: Option<AwsLogs<'a>>,
}

#[derive(Deserialize)]
struct AwsLogs<'a> {
    #[serde(borrow)]
    data: Str<'a>,
}

const MAX_NESTING: u32 = 4;

/// Unpacks the envelopes events travel in; `None` when `bytes` is none of them.
fn expand_envelope(bytes: &[u8], line: u32) -> Option<Expansion> {
    let mut x = Expansion {
        units: Vec::new(),
        errors: Vec::new(),
    };
    expand_into(bytes, line, 0, &mut x).then_some(x)
}

/// The line of `part` (a slice of `whole`) given the line `whole` starts on.
fn line_within(whole: &[u8], part: &[u8], line: u32) -> u32 {
    let off = (part.as_ptr() as usize)
        .saturating_sub(whole.as_ptr() as usize)
        .min(whole.len());
    line.saturating_add(memchr::memchr_iter(b'\n', &whole[..off]).count() as u32)
}

fn expand_into(bytes: &[u8], line: u32, depth: u32, x: &mut Expansion) -> bool {
    if depth > MAX_NESTING {
        return false;
    }
    let trimmed = bytes.trim_ascii_start();
    if trimmed.starts_with(b"[") {
        let Ok(items) = serde_json::from_slice::<Vec<&RawValue>>(bytes) else {
            return false;
        };
        for item in items {
            push_value(bytes, item, line, depth, x);
        }
        return true;
    }
    let Ok(env) = serde_json::from_slice::<Envelope<'_>>(bytes) else {
        return false;
    };
    if let Some(items) = env
        .items
        .filter(|_| env.kind.as_deref() == Some("EventList"))
    {
        for item in items {
            push_value(bytes, item, line, depth, x);
        }
        return true;
    }
    if let Some(list) = env.log_events {
        if env.message_type.as_deref() == Some("CONTROL_MESSAGE") {
            return true;
        }
        for item in list {
            push_value(bytes, item, line, depth, x);
        }
        return true;
    }
    if let Some(list) = env.events {
        for item in list {
            push_value(bytes, item, line, depth, x);
        }
        return true;
    }
    if let Some(message) = env.message.filter(|_| env.kind.is_none()) {
        // A CloudWatch log event: its message is the audit event, on the line of the key.
        let at = memchr::memmem::find(bytes, b"\"message\"")
            .map(|i| line_within(bytes, &bytes[i..], line))
            .unwrap_or(line);
        x.units.push(Unit {
            bytes: Cow::Owned(message.0.into_owned().into_bytes()),
            line: at,
        });
        return true;
    }
    if let Some(aws) = env.awslogs {
        let decoded = decode_base64(aws.data.as_bytes()).and_then(|b| gunzip(&b, 256 << 20));
        match decoded {
            Some(inner) if expand_into(&inner, line, depth + 1, x) => {}
            _ => x.errors.push((
                line,
                AuditParseError::Malformed(
                    "`awslogs.data` is not a gzip subscription payload".into(),
                ),
            )),
        }
        return true;
    }
    false
}

/// One array element: an event, or a nested envelope.
fn push_value(whole: &[u8], item: &RawValue, line: u32, depth: u32, x: &mut Expansion) {
    let raw = item.get().as_bytes();
    let at = line_within(whole, raw, line);
    match AuditEvent::parse(raw) {
        Ok(_) => x.units.push(Unit {
            bytes: Cow::Owned(raw.to_vec()),
            line: at,
        }),
        Err(e) => {
            if !expand_into(raw, at, depth + 1, x) {
                x.errors.push((at, e));
            }
        }
    }
}

/// Cuts a stream of JSON documents into units: each top-level value, or, for arrays and
/// for objects holding an `items`, `events` or `logEvents` array, each element of that
/// array. Elements are copied into `batch` with their first line.
struct Splitter {
    max: usize,
    batch: Vec<u8>,
    spans: Vec<(usize, usize, u32)>,
    errors: Vec<(u32, String)>,
    line: u32,
    depth: u32,
    in_str: bool,
    esc: bool,
    /// Depth at which elements are cut out (1: a top-level array, 2: an envelope array).
    elem_depth: Option<u32>,
    /// The element (or whole top-level object) being collected: start in batch, line.
    cur: Option<(usize, u32)>,
    /// Collecting a top-level object that may turn out to be an envelope.
    top_object: bool,
    /// At depth 1 of a top-level object, the next string is a key.
    expect_key: bool,
    key: Vec<u8>,
    in_key: bool,
    last_key: Vec<u8>,
    /// The skipped elements of a CONTROL_MESSAGE.
    skip_elements: bool,
    overflow: bool,
    /// Envelope arrays entered so far.
    envelopes: u32,
}

impl Splitter {
    fn new(max: usize) -> Self {
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

    fn feed(&mut self, chunk: &[u8]) {
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
    fn finish(&mut self) {
        if let Some((s, line)) = self.cur.take() {
            let text = &self.batch[s..];
            if !text.iter().all(u8::is_ascii_whitespace) {
                // Parsing reports it as truncated JSON, with its auditID if one is there.
                self.spans.push((s, self.batch.len(), line));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(name: &str, bytes: &[u8]) -> (Vec<(u32, String)>, AuditReader) {
        let mut r = AuditReader::new(ReadOptions {
            batch_bytes: 64,
            ..ReadOptions::default()
        });
        let mut got = Vec::new();
        r.read_stream(name, bytes, &mut |b| {
            for p in &b.events {
                got.push((
                    p.line,
                    p.event.audit_id.as_deref().unwrap_or("").to_string(),
                ));
            }
        });
        (got, r)
    }

    fn ev(id: &str) -> String {
        format!(
            r#"{{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"{id}","stage":"ResponseComplete","verb":"get","user":{{"username":"u"}}}}"#
        )
    }

    #[test]
    fn json_lines_with_errors_and_duplicates() {
        let text = format!(
            "{}\n\n{}\nnot json\n{}\n{}\n{{\"kind\": 0}}\n{}",
            ev("a"),
            ev("b"),
            ev("a"),
            &ev("c")[..40],
            ev("d")
        );
        let (got, r) = read_all("x.log", text.as_bytes());
        assert_eq!(got, [(1, "a".into()), (3, "b".into()), (8, "d".into())]);
        let s = r.stats();
        assert_eq!(
            (s.events_read, s.duplicates, s.truncated, s.malformed),
            (4, 1, 1, 2)
        );
        let lines: Vec<_> = r.errors().iter().map(|e| e.line).collect();
        assert_eq!(lines, [Some(4), Some(6), Some(7)]);
    }

    #[test]
    fn pretty_array_and_event_list() {
        let text = format!("[\n  {},\n  {}\n]\n", ev("a"), ev("b"));
        assert_eq!(
            read_all("a.json", text.as_bytes()).0,
            [(2, "a".into()), (3, "b".into())]
        );
        let text = format!(
            "{{\n \"kind\": \"EventList\",\n \"apiVersion\": \"audit.k8s.io/v1\",\n \"items\": [\n  {},\n  {}\n ]\n}}\n",
            ev("a"),
            ev("b")
        );
        assert_eq!(
            read_all("l.json", text.as_bytes()).0,
            [(5, "a".into()), (6, "b".into())]
        );
        // The same on one line.
        let text = format!(
            r#"{{"kind":"EventList","items":[{},{}]}}"#,
            ev("a"),
            ev("b")
        );
        assert_eq!(
            read_all("l.json", text.as_bytes()).0,
            [(1, "a".into()), (1, "b".into())]
        );
    }

    #[test]
    fn single_pretty_event() {
        let text = "{\n  \"kind\": \"Event\",\n  \"auditID\": \"p\",\n  \"verb\": \"get\"\n}\n";
        assert_eq!(read_all("e.json", text.as_bytes()).0, [(1, "p".into())]);
    }

    fn quoted(s: &str) -> String {
        serde_json::to_string(s).unwrap()
    }

    #[test]
    fn filter_log_events_output() {
        let text = format!(
            "{{\n    \"events\": [\n        {{\n            \"logStreamName\": \"kube-apiserver-audit-1\",\n            \"timestamp\": 1700000000123,\n            \"message\": {},\n            \"eventId\": \"1\"\n        }},\n        {{\n            \"logStreamName\": \"kube-apiserver-audit-1\",\n            \"message\": {}\n        }}\n    ],\n    \"searchedLogStreams\": []\n}}\n",
            quoted(&ev("a")),
            quoted(&(ev("b")[..60].to_string() + "[Truncated...]"))
        );
        let (got, r) = read_all("cw.json", text.as_bytes());
        assert_eq!(got, [(6, "a".into())]);
        assert_eq!(r.stats().truncated, 1);
        assert_eq!(r.errors()[0].line, Some(11));
        assert!(
            r.errors()[0].message.contains("auditID b"),
            "{:?}",
            r.errors()
        );
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        use std::io::Write;
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(bytes).unwrap();
        e.finish().unwrap()
    }

    fn encode_base64(bytes: &[u8]) -> String {
        const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut out = String::new();
        for c in bytes.chunks(3) {
            let n = (u32::from(c[0]) << 16)
                | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
                | u32::from(*c.get(2).unwrap_or(&0));
            for i in 0..4 {
                if i <= c.len() {
                    out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
                } else {
                    out.push('=');
                }
            }
        }
        out
    }

    fn subscription(kind: &str, messages: &[String]) -> String {
        let events: Vec<String> = messages
            .iter()
            .enumerate()
            .map(|(i, m)| {
                format!(
                    r#"{{"id":"{i}","timestamp":1700000000000,"message":{}}}"#,
                    quoted(m)
                )
            })
            .collect();
        format!(
            r#"{{"messageType":"{kind}","owner":"111122223333","logGroup":"/aws/eks/demo/cluster","logStream":"kube-apiserver-audit-1","subscriptionFilters":["f"],"logEvents":[{}]}}"#,
            events.join(",")
        )
    }

    #[test]
    fn gzip_lines_and_subscription_payloads() {
        let plain = format!("{}\n{}\n", ev("a"), ev("b"));
        assert_eq!(read_all("x.gz", &gzip(plain.as_bytes())).0.len(), 2);

        let data = subscription("DATA_MESSAGE", &[ev("a"), ev("b")]);
        let control = subscription(
            "CONTROL_MESSAGE",
            &["CWL CONTROL MESSAGE: Checking health".into()],
        );
        // Firehose without a transform: gzip members one after another.
        let mut fire = gzip(data.as_bytes());
        fire.extend(gzip(control.as_bytes()));
        fire.extend(gzip(subscription("DATA_MESSAGE", &[ev("c")]).as_bytes()));
        let (got, r) = read_all("firehose.gz", &fire);
        assert_eq!(
            got.iter().map(|g| g.1.as_str()).collect::<Vec<_>>(),
            ["a", "b", "c"]
        );
        assert!(r.errors().is_empty(), "{:?}", r.errors());

        // Kinesis record data saved as base64 text.
        let b64 = encode_base64(&gzip(data.as_bytes()));
        assert_eq!(read_all("record.b64", b64.as_bytes()).0.len(), 2);

        // A Lambda event, one per line.
        let lambda = format!(r#"{{"awslogs":{{"data":"{b64}"}}}}"#);
        let two = format!("{lambda}\n{lambda}\n");
        let (got, r) = read_all("lambda.json", two.as_bytes());
        // The second copy repeats the first: its events are duplicates.
        assert_eq!(got.len(), 2);
        assert_eq!(r.stats().duplicates, 2);
        // Control messages alone, pretty or not, yield nothing and no error.
        let (got, r) = read_all("ctl.json", control.as_bytes());
        assert!(got.is_empty() && r.errors().is_empty());
    }

    #[test]
    fn s3_export_and_tail_lines() {
        let text = format!(
            "2024-05-01T12:00:00.000Z {}\n2024-05-01T12:00:01.000Z kube-apiserver-audit-0123 {}\n",
            ev("a"),
            ev("b")
        );
        assert_eq!(
            read_all("000000", text.as_bytes()).0,
            [(1, "a".into()), (2, "b".into())]
        );
    }

    #[test]
    fn messages_from_an_api() {
        let mut r = AuditReader::new(ReadOptions::default());
        let (a, bad) = (ev("a"), b"{\"kind\":\"Event\"".to_vec());
        let msgs: Vec<(u32, &[u8])> = vec![(0, a.as_bytes()), (1, &bad)];
        let mut n = 0;
        r.read_messages(
            "/aws/eks/demo/cluster/kube-apiserver-audit-1",
            &msgs,
            &mut |b| {
                n += b.events.len();
                assert_eq!(&**b.file, "/aws/eks/demo/cluster/kube-apiserver-audit-1");
            },
        );
        assert_eq!(n, 1);
        assert_eq!(r.errors()[0].line, Some(1));
        assert_eq!(r.stats().truncated, 1);
    }

    #[test]
    fn cut_document_and_junk() {
        let text = format!("[\n{},\n{}", ev("a"), &ev("b")[..50]);
        let (got, r) = read_all("cut.json", text.as_bytes());
        assert_eq!(got, [(2, "a".into())]);
        assert_eq!(r.stats().truncated, 1);
        let (got, r) = read_all("junk", &[0xff, 0xfe, b'\n', 0, 1, 2]);
        assert!(got.is_empty());
        assert_eq!(r.stats().malformed, 2);
        let (_, r) = read_all("junk.gz", &[0x1f, 0x8b, 1, 2, 3]);
        assert_eq!(r.errors().len(), 1);
    }

    #[test]
    fn directories_are_read_in_name_order() {
        let dir = std::env::temp_dir().join(format!("eksguard-audit-dir-{}", std::process::id()));
        let sub = dir.join("task/kube-apiserver-audit-1");
        std::fs::create_dir_all(&sub).unwrap();
        std::fs::write(
            sub.join("000001.gz"),
            gzip(format!("2024-05-01T12:00:01Z {}\n", ev("b")).as_bytes()),
        )
        .unwrap();
        std::fs::write(
            sub.join("000000.gz"),
            gzip(format!("2024-05-01T12:00:00Z {}\n", ev("a")).as_bytes()),
        )
        .unwrap();
        std::fs::write(dir.join(".hidden"), "junk").unwrap();
        let mut r = AuditReader::new(ReadOptions::default());
        let mut got = Vec::new();
        r.read_path(&dir, &mut |b| {
            for p in &b.events {
                got.push((
                    b.file.to_string(),
                    p.event.audit_id.as_deref().unwrap().to_string(),
                ));
            }
        });
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(r.errors().is_empty(), "{:?}", r.errors());
        assert_eq!(r.inputs(), 2);
        assert!(
            got[0].0.ends_with("000000.gz") && got[0].1 == "a",
            "{got:?}"
        );
        assert!(
            got[1].0.ends_with("000001.gz") && got[1].1 == "b",
            "{got:?}"
        );
    }

    #[test]
    fn line_numbers_across_batches() {
        // Blank lines, CRLF, and batches that end anywhere.
        let mut text = String::new();
        let mut want = Vec::new();
        for i in 0..200 {
            match i % 4 {
                0 => text.push('\n'),
                1 => text.push_str(&format!("{}\r\n", ev(&format!("e{i}")))),
                _ => {
                    text.push_str(&ev(&format!("e{i}")));
                    text.push('\n');
                }
            }
            if i % 4 != 0 {
                want.push((i as u32 + 1, format!("e{i}")));
            }
        }
        for batch in [4096, 5000, 1 << 20] {
            let mut r = AuditReader::new(ReadOptions {
                batch_bytes: batch,
                ..ReadOptions::default()
            });
            let mut got = Vec::new();
            r.read_stream("n.log", text.as_bytes(), &mut |b| {
                got.extend(
                    b.events
                        .iter()
                        .map(|p| (p.line, p.event.audit_id.as_deref().unwrap().to_string())),
                )
            });
            assert_eq!(got, want, "batch {batch}");
            assert!(r.errors().is_empty());
        }
    }

    #[test]
    fn a_one_line_event_list_is_read_event_by_event() {
        // An EventList on one line, longer than the first bytes looked at (64 KiB) and
        // than the event size limit: its events are cut out one by one, and the one
        // event over the limit is refused with the file and line.
        let pad = "p".repeat(1000);
        let mut items: Vec<String> = (0..100)
            .map(|i| ev(&format!("e{i}")).replace(r#""verb""#, &format!(r#""x":"{pad}","verb""#)))
            .collect();
        items[50] = ev("big").replace(
            r#""verb""#,
            &format!(r#""x":"{}","verb""#, "q".repeat(9000)),
        );
        let text = format!(
            r#"{{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":[{}]}}"#,
            items.join(",")
        );
        assert!(text.len() > 100_000);
        let mut r = AuditReader::new(ReadOptions {
            batch_bytes: 4096,
            max_event_bytes: 5000,
            ..ReadOptions::default()
        });
        let mut got = Vec::new();
        r.read_stream("list.json", text.as_bytes(), &mut |b| {
            got.extend(
                b.events
                    .iter()
                    .map(|p| (p.line, p.event.audit_id.as_deref().unwrap().to_string())),
            )
        });
        assert_eq!(got.len(), 99);
        assert!(got.iter().all(|(line, id)| *line == 1 && id != "big"));
        assert_eq!(r.stats().events_read, 99);
        let errors = r.errors();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!((&*errors[0].file, errors[0].line), ("list.json", Some(1)));
        assert_eq!(errors[0].message, "event longer than 5000 bytes skipped");
    }

    #[cfg(unix)]
    #[test]
    fn fifos_and_links_to_directories_are_refused() {
        let dir = std::env::temp_dir().join(format!("eksguard-audit-fifo-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("a.log"), format!("{}\n", ev("a"))).unwrap();
        let fifo = dir.join("b.pipe");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        if !made.is_ok_and(|s| s.success()) {
            eprintln!("SKIPPED: mkfifo not available");
            return;
        }
        // A link back up: followed, the walk would not end.
        std::os::unix::fs::symlink(&dir, dir.join("c-loop")).unwrap();
        let mut r = AuditReader::new(ReadOptions::default());
        let mut got = Vec::new();
        // Nothing writes to the FIFO: opening it for a read would wait forever.
        r.read_path(&dir, &mut |b| got.extend(b.events.iter().map(|p| p.line)));
        r.read_path(&fifo, &mut |b| got.extend(b.events.iter().map(|p| p.line)));
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(got, [1]);
        let errors: Vec<(String, String)> = r
            .errors()
            .iter()
            .map(|e| {
                (
                    e.file.rsplit('/').next().unwrap().to_string(),
                    e.message.clone(),
                )
            })
            .collect();
        let fifo_msg =
            "a FIFO, not a regular file: skipped (give a pipe's output as `-`, standard input)";
        assert_eq!(
            errors,
            [
                ("b.pipe".to_string(), fifo_msg.to_string()),
                (
                    "c-loop".to_string(),
                    "a symbolic link to a directory inside a directory read: not followed"
                        .to_string()
                ),
                ("b.pipe".to_string(), fifo_msg.to_string()),
            ]
        );
    }

    #[test]
    fn long_lines_are_skipped_with_an_error() {
        let mut r = AuditReader::new(ReadOptions {
            batch_bytes: 4096,
            max_event_bytes: 5000,
            ..ReadOptions::default()
        });
        let text = format!("{}\n{}\n{}\n", ev("a"), "x".repeat(20_000), ev("b"));
        let mut got = Vec::new();
        r.read_stream("long.log", text.as_bytes(), &mut |b| {
            got.extend(b.events.iter().map(|p| p.line))
        });
        assert_eq!(got, [1, 3]);
        assert_eq!(r.errors()[0].line, Some(2));
    }
}
