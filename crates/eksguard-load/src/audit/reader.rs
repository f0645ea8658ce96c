//! The reader: picks the format from the first bytes, reads in batches, parses each
//! batch in parallel and drops repeated events.

use std::borrow::Cow;
use std::collections::{HashSet, VecDeque};
use std::hash::Hasher;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::sync::Arc;

use eksguard_model::audit::{AuditEvent, AuditParseError, AuditStats};
use eksguard_model::encoding::decode_base64;
use eksguard_model::InputError;
use rayon::prelude::*;

use super::envelope::{expand_envelope, Expansion, Unit};
use super::framing::{
    first_line_is_one_value, line_payload, looks_base64, opens_envelope, read_chunks, size_text,
    Chunk, Splitter,
};
use super::{Batch, EventError, Parsed, ReadOptions};

use eksguard_model::hash::{fnv1a, FNV_OFFSET};

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
    let what = crate::read::file_kind(&ft);
    Some(format!(
        "{what}, not a regular file: skipped (give a pipe's output as `-`, standard input)"
    ))
}

/// Opens a regular file without blocking, and checks what was opened: the path may have
/// been replaced by a FIFO since it was looked at.
fn open_regular(path: &Path) -> Result<std::fs::File, String> {
    let f = crate::read::open_nonblocking(path).map_err(|e| format!("cannot read: {e}"))?;
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
            // Batches go back to the reading thread to be filled again: a fresh 8 MB
            // buffer per batch cost a page fault every 4 KiB.
            let (done_tx, done_rx) = std::sync::mpsc::channel::<Vec<u8>>();
            scope.spawn(move || read_chunks(input, batch, max, &tx, &done_rx));
            for chunk in rx {
                match chunk {
                    Chunk::Lines { data, first_line } => {
                        let mut units = Vec::new();
                        // Saturating: a pathological input may hold more lines than u32.
                        let mut line = first_line;
                        let mut start = 0;
                        let ends = memchr::memchr_iter(b'\n', &data);
                        for end in ends.chain(std::iter::once(data.len())) {
                            if let Some(payload) = line_payload(&data[start..end]) {
                                units.push(Unit {
                                    bytes: Cow::Borrowed(payload),
                                    line,
                                });
                            }
                            line = line.saturating_add(1);
                            start = end + 1;
                        }
                        self.parse_units(file, &units, true, on_batch);
                        drop(units);
                        // The reader may have finished: then the buffer is simply freed.
                        let _ = done_tx.send(data);
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
