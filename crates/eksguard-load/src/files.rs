//! Turning one file or text into objects: its reader is picked from the input table
//! ([`crate::format`]), its documents parsed (a long text on all cores) and each offered
//! to the table's content rows.
//!
//! Every read is bounded in bytes and refuses what is not a regular file
//! ([`crate::read`]), so a device or a FIFO can neither fill memory nor hang the run.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::Duration;

use eksguard_model::{InputError, Inventory, Node, Object};

use eksguard_model::yaml::{self, Document, ParseLimits, ParseOptions, YamlError};

use crate::format::{self, Missing, Reader, Unknown};
pub use crate::read::{display, read_file, read_stdin, ReadError};

const MIB: u64 = 1024 * 1024;

/// Values given to every chart rendered (`--helm-values`, `--helm-set`).
#[derive(Debug, Clone, Default)]
pub struct HelmOptions {
    pub values: Vec<PathBuf>,
    pub set: Vec<String>,
    /// Longest a render may take.
    pub timeout: Option<Duration>,
}

#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// Namespace given to namespaced objects that name none.
    pub default_namespace: String,
    /// Glob patterns (relative to the scanned directory) to skip.
    pub excludes: Vec<String>,
    /// Files (and standard input) larger than this are reported as errors and not read.
    pub max_file_size: u64,
    pub limits: ParseLimits,
    /// Terraform variable files (`--var-file`) applied to every Terraform directory.
    pub var_files: Vec<PathBuf>,
    /// Values for the Helm charts rendered (`--helm-values`, `--helm-set`).
    pub helm: HelmOptions,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            default_namespace: "default".into(),
            excludes: Vec::new(),
            max_file_size: 256 * MIB,
            limits: ParseLimits::default(),
            var_files: Vec::new(),
            helm: Default::default(),
        }
    }
}

impl LoadOptions {
    /// Bytes of file text read and being parsed at once across the loading threads. A
    /// text lives beside the tree it grows into until parsed; bounding the sum keeps N big
    /// files from being resident at once on N cores. Never below the file limit, so any
    /// file that may be read fits.
    pub(crate) fn bytes_in_flight(&self) -> u64 {
        self.max_file_size.max(64 * MIB)
    }
}

/// A counting semaphore over bytes: see [`LoadOptions::bytes_in_flight`].
pub(crate) struct InFlight {
    budget: u64,
    used: Mutex<u64>,
    freed: Condvar,
}

struct Permit<'a> {
    owner: &'a InFlight,
    bytes: u64,
}

impl InFlight {
    pub(crate) fn new(budget: u64) -> Self {
        InFlight {
            budget,
            used: Mutex::new(0),
            freed: Condvar::new(),
        }
    }

    /// Waits until `bytes` more fit the budget. A holder only parses and then drops its
    /// permit, so a waiter always wakes.
    fn acquire(&self, bytes: u64) -> Permit<'_> {
        let bytes = bytes.min(self.budget);
        let mut used = self.used.lock().unwrap_or_else(PoisonError::into_inner);
        while *used + bytes > self.budget {
            used = self
                .freed
                .wait(used)
                .unwrap_or_else(PoisonError::into_inner);
        }
        *used += bytes;
        Permit { owner: self, bytes }
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        let mut used = self
            .owner
            .used
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        *used -= self.bytes;
        self.owner.freed.notify_all();
    }
}

/// Parses one in-memory text as if read from `name`, a file the user named (used for
/// standard input and tests).
pub fn load_text(name: &str, bytes: &[u8], opts: &LoadOptions) -> Inventory {
    let r = load_bytes(name, bytes, true, opts);
    let mut inv = Inventory {
        files_scanned: 1,
        errors: r.errors,
        warnings: r.warnings,
        ..Inventory::default()
    };
    for obj in r.objects {
        inv.push(obj);
    }
    inv
}

/// Reads and parses standard input under the size limit. Returns the inventory and the
/// bytes read (empty when refused), which the caller may keep for code frames.
pub fn load_stdin(opts: &LoadOptions) -> (Inventory, Vec<u8>) {
    match read_stdin(opts.max_file_size) {
        Ok(bytes) => (load_text("-", &bytes, opts), bytes),
        Err(e) => {
            let mut inv = Inventory::default();
            if matches!(e, ReadError::TooLarge(_)) {
                inv.files_skipped.too_large += 1;
            }
            inv.errors.push(InputError::new("-", None, e.to_string()));
            (inv, Vec::new())
        }
    }
}

/// Why a file handed to the loader was not parsed.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Skip {
    TooLarge,
    NotRegular,
    /// Named, but nothing in it is an input eksguard reads.
    NotInput,
}

#[derive(Default)]
pub(crate) struct FileResult {
    pub(crate) objects: Vec<Object>,
    pub(crate) errors: Vec<InputError>,
    pub(crate) warnings: Vec<InputError>,
    pub(crate) skipped: Option<Skip>,
}

/// One file's objects and errors (a file found by eksguard itself, not named by the user).
pub(crate) fn load_file(path: &Path, opts: &LoadOptions) -> (Vec<Object>, Vec<InputError>) {
    let r = load_input(path, false, opts, None);
    (r.objects, r.errors)
}

pub(crate) fn load_input(
    path: &Path,
    explicit: bool,
    opts: &LoadOptions,
    in_flight: Option<&InFlight>,
) -> FileResult {
    let name = display(path);
    let limit = opts.max_file_size;
    let permit = match std::fs::metadata(path) {
        Ok(m) => in_flight.map(|f| f.acquire(m.len().min(limit))),
        Err(_) => None,
    };
    let result = match read_file(path, limit) {
        Ok(bytes) => load_bytes(&name, &bytes, explicit, opts),
        Err(e) => {
            let skipped = match e {
                ReadError::TooLarge(_) => Some(Skip::TooLarge),
                ReadError::NotRegular(_) => Some(Skip::NotRegular),
                ReadError::Io(_) => None,
            };
            FileResult {
                errors: vec![InputError::new(&name, None, e.to_string())],
                skipped,
                ..FileResult::default()
            }
        }
    };
    drop(permit);
    result
}

fn single_error(name: &str, message: String) -> FileResult {
    FileResult {
        errors: vec![InputError::new(name, None, message)],
        ..FileResult::default()
    }
}

fn load_bytes(name: &str, bytes: &[u8], explicit: bool, opts: &LoadOptions) -> FileResult {
    let head = &bytes[..bytes.len().min(8192)];
    if head.contains(&0) {
        return single_error(name, "binary file (contains NUL bytes); skipped".into());
    }
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let at = e.valid_up_to();
            let line = bytes[..at].iter().filter(|&&b| b == b'\n').count() as u32 + 1;
            return FileResult {
                errors: vec![InputError::new(
                    name,
                    Some(line),
                    "invalid UTF-8; file skipped",
                )],
                ..FileResult::default()
            };
        }
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    // A file named by the user is read whatever its name; JSON is also told by its start.
    let named_json = match format::of_name(name).map(|f| f.reader) {
        Some(Reader::Skipped(note)) => {
            return FileResult {
                warnings: vec![InputError::new(name, None, note)],
                skipped: Some(Skip::NotInput),
                ..FileResult::default()
            };
        }
        Some(Reader::Documents { json }) => json,
        _ => false,
    };
    let is_json = named_json || text.trim_start().starts_with(['{', '[']);
    let path: Arc<str> = name.into();
    let mut result = FileResult::default();
    // CloudFormation's short-form functions are YAML tags, which plain parsing drops.
    let parse = ParseOptions {
        limits: opts.limits,
        keep_tags: !is_json && crate::iac::cloudformation::looks_like_yaml_template(text),
    };
    let docs = parse_text(text, !is_json, parse);
    let mut unknown_docs = 0;
    for doc in docs {
        match doc {
            Ok(doc) => {
                let mut unknown = Vec::new();
                collect_objects(
                    doc.root,
                    &path,
                    doc.index,
                    opts,
                    &mut result.objects,
                    &mut result.errors,
                    &mut result.warnings,
                    &mut unknown,
                );
                // Named by the user, a document of no known shape is an error; found by a
                // walk (a chart's values, a CI workflow), a warning.
                let sink = if explicit {
                    &mut result.errors
                } else {
                    &mut result.warnings
                };
                unknown_docs += unknown.len();
                for u in unknown {
                    let at = match u.item {
                        Some(i) => format!("document {}, item {}", doc.index + 1, i + 1),
                        None => format!("document {}", doc.index + 1),
                    };
                    let what = if is_json && u.item.is_none() && u.why == Missing::Both {
                        "unrecognised JSON (neither a Kubernetes object nor a known AWS CLI output)"
                            .to_string()
                    } else {
                        format!("not a Kubernetes object ({})", u.why.text())
                    };
                    sink.push(InputError::new(
                        name,
                        Some(u.line),
                        format!("{at}: {what}; skipped"),
                    ));
                }
            }
            Err(e) => result.errors.push(InputError::new(
                name,
                Some(e.line),
                format!(
                    "document {}: {} (column {})",
                    e.doc + 1,
                    e.message,
                    e.column
                ),
            )),
        }
    }
    // A named file of which nothing is an input (a workflow or `package.json` passed by
    // a hook or a glob) is skipped with a note, not judged broken.
    if explicit
        && result.objects.is_empty()
        && result.errors.len() == unknown_docs
        && unknown_docs > 0
    {
        return FileResult {
            warnings: vec![InputError::new(
                name,
                None,
                "not a file eksguard reads (no Kubernetes object, eksctl, kubelet, AWS CLI or \
                 infrastructure-as-code document); skipped",
            )],
            skipped: Some(Skip::NotInput),
            ..FileResult::default()
        };
    }
    result
}

/// Texts at least this long have their documents parsed on all cores: one big file (a
/// cluster dump, a chart rendered whole) must not keep one core busy while the others
/// wait.
const PARALLEL_TEXT: usize = 512 * 1024;

/// Pieces a helper takes at a time.
const PIECES_PER_TAKE: usize = 16;

/// Parses the documents of `text`, those of a long text on all cores; the result is the
/// same either way. The helpers are threads of their own, not the loading pool's: a pool
/// thread waiting for pieces could take another file meanwhile, and block on the byte
/// budget held by the file it is already in.
fn parse_text(text: &str, split: bool, opts: ParseOptions) -> Vec<Result<Document, YamlError>> {
    let pieces = yaml::pieces(text, split);
    let helpers = match text.len() >= PARALLEL_TEXT {
        true => rayon::current_num_threads()
            .min(pieces.len())
            .saturating_sub(1),
        false => 0,
    };
    if helpers == 0 {
        return yaml::join(pieces.iter().map(|p| yaml::parse_piece(p, opts)));
    }
    // Runs of pieces, numbered by their first: a text of a million empty documents keeps
    // a result per run, not per document.
    let next = AtomicUsize::new(0);
    let work = || {
        let mut mine = Vec::new();
        loop {
            let k = next.fetch_add(PIECES_PER_TAKE, Ordering::Relaxed);
            let Some(run) = pieces.get(k..(k + PIECES_PER_TAKE).min(pieces.len())) else {
                break;
            };
            mine.push((k, yaml::parse_pieces(run, opts)));
        }
        mine
    };
    let mut parsed = std::thread::scope(|s| {
        let spawned: Vec<_> = (0..helpers).map(|_| s.spawn(work)).collect();
        let mut all = work();
        for h in spawned {
            // Parser panics are caught inside; anything else is a bug worth its trace.
            all.extend(h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)));
        }
        all
    });
    parsed.sort_unstable_by_key(|(i, _)| *i);
    yaml::join(parsed.into_iter().map(|(_, p)| p))
}

/// Turns a document into objects through the document rows of [`format::FORMATS`];
/// a document no row takes goes to `unknown`.
#[allow(clippy::too_many_arguments)]
fn collect_objects(
    root: Node,
    path: &Arc<str>,
    doc: u32,
    opts: &LoadOptions,
    out: &mut Vec<Object>,
    errors: &mut Vec<InputError>,
    warnings: &mut Vec<InputError>,
    unknown: &mut Vec<Unknown>,
) {
    let at = format::At {
        path,
        doc,
        default_ns: &opts.default_namespace,
    };
    let mut found = format::Found {
        objects: out,
        errors,
        warnings,
        unknown,
    };
    if let Some(root) = format::read_document(root, &at, &mut found) {
        found.unknown.push(Unknown {
            line: root.pos.line,
            item: None,
            why: Missing::of(&root),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rayon::prelude::*;

    #[test]
    fn list_items_become_objects_with_inferred_kind() {
        let text = b"apiVersion: v1\nkind: PodList\nitems:\n- metadata: {name: a}\n  spec: {}\n- metadata: {name: b, namespace: x}\n";
        let inv = load_text("l.yaml", text, &LoadOptions::default());
        assert_eq!(inv.objects.len(), 2);
        assert_eq!(&*inv.objects[0].kind, "Pod");
        assert_eq!(inv.objects[0].ns(), Some("default"));
        assert_eq!(inv.objects[1].ns(), Some("x"));
    }

    #[test]
    fn bytes_in_flight_never_exceed_the_budget() {
        use std::sync::atomic::{AtomicU64, Ordering};
        let in_flight = InFlight::new(100);
        let now = AtomicU64::new(0);
        let peak = AtomicU64::new(0);
        (0..16u64).into_par_iter().for_each(|i| {
            let bytes = 30 + i % 3 * 20;
            let _permit = in_flight.acquire(bytes);
            let held = now.fetch_add(bytes, Ordering::SeqCst) + bytes;
            peak.fetch_max(held, Ordering::SeqCst);
            std::thread::sleep(std::time::Duration::from_millis(5));
            now.fetch_sub(bytes, Ordering::SeqCst);
        });
        assert!(peak.load(Ordering::SeqCst) <= 100);
        // A request over the whole budget is served alone rather than never.
        drop(in_flight.acquire(1_000));
    }

    #[test]
    fn documents_of_no_known_shape_are_reported_where_they_start() {
        let text = b"apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\nkind: Pod\nmetadata: {name: b}\n---\n- just\n- a list\n";
        let inv = load_text("m.yaml", text, &LoadOptions::default());
        assert_eq!(inv.objects.len(), 1);
        let got: Vec<(Option<u32>, &str)> = inv
            .errors
            .iter()
            .map(|e| (e.line, e.message.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                (
                    Some(5),
                    "document 2: not a Kubernetes object (no apiVersion); skipped"
                ),
                (
                    Some(8),
                    "document 3: not a Kubernetes object (not a mapping); skipped"
                ),
            ]
        );
        // Found by a walk, the same documents are warnings.
        let r = load_bytes("m.yaml", text, false, &LoadOptions::default());
        assert!(r.errors.is_empty());
        assert_eq!(r.warnings.len(), 2);
    }

    #[test]
    fn a_long_text_parses_in_parallel_to_the_same_documents() {
        // Documents, an empty one, a broken one and a parser panic, past the length from
        // which pieces are parsed on several threads.
        let mut text = String::new();
        let mut i = 0;
        while text.len() < PARALLEL_TEXT + 4096 {
            text.push_str(&format!(
                "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: c{i}}}\ndata: {{k: v}}\n---\n"
            ));
            match i {
                7 => text.push_str("---\n"),
                11 => text.push_str("a: [\n---\n"),
                13 => text.push_str("b: [!t, x]\n---\n"),
                _ => {}
            }
            i += 1;
        }
        let opts = ParseOptions::default();
        let serial = yaml::join(
            yaml::pieces(&text, true)
                .iter()
                .map(|p| yaml::parse_piece(p, opts)),
        );
        let parallel = parse_text(&text, true, opts);
        assert_eq!(serial.len(), parallel.len());
        assert!(serial.len() > 1000);
        let errors: Vec<(u32, u32)> = parallel
            .iter()
            .filter_map(|d| d.as_ref().err().map(|e| (e.doc, e.line)))
            .collect();
        assert_eq!(errors.len(), 2, "{errors:?}");
        for (a, b) in serial.iter().zip(&parallel) {
            match (a, b) {
                (Ok(a), Ok(b)) => assert_eq!((a.index, &a.root), (b.index, &b.root)),
                (Err(a), Err(b)) => assert_eq!(a, b),
                _ => panic!("{a:?} / {b:?}"),
            }
        }
        // Numbered through the file: the empty document counts, as parsing it whole did.
        let whole = eksguard_model::yaml::parse_documents(&text, true, ParseLimits::default());
        let indexes = |d: &[Result<Document, YamlError>]| -> Vec<u32> {
            d.iter()
                .map(|d| match d {
                    Ok(d) => d.index,
                    Err(e) => e.doc,
                })
                .collect()
        };
        assert_eq!(indexes(&whole), indexes(&parallel));
    }

    #[test]
    fn bad_inputs_are_errors_with_lines() {
        let inv = load_text("bad.yaml", b"a: 1\nb: \xff\n", &LoadOptions::default());
        assert_eq!(inv.errors[0].line, Some(2));
        assert!(inv.errors[0].message.contains("UTF-8"));
        let inv = load_text("bin.yaml", b"\x00\x01\x02", &LoadOptions::default());
        assert!(inv.errors[0].message.contains("binary"));
    }
}
