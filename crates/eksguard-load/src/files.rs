//! Walking paths and turning files into objects.
//!
//! Nothing a scan meets disappears without a word: every file a walk passes over is
//! counted by reason ([`FilesSkipped`]), and every read is bounded in bytes and refuses
//! what is not a regular file, so a device or a FIFO can neither fill memory nor hang
//! the run.

use std::collections::HashSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};

use eksguard_model::{FilesSkipped, InputError, Inventory, Node, Object, Source, Value};
use rayon::prelude::*;

use eksguard_model::yaml::{self, Document, ParseLimits, ParseOptions, YamlError};

use crate::aws_json::{classify, Classified};

const MIB: u64 = 1024 * 1024;

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
    pub helm: crate::kustomize::helm::HelmOptions,
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
    fn bytes_in_flight(&self) -> u64 {
        self.max_file_size.max(64 * MIB)
    }
}

const EXTENSIONS: &[&str] = &["yaml", "yml", "json", "tf", "tfvars"];

/// Why a file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("not a regular file ({0}); not read")]
    NotRegular(&'static str),
    #[error("larger than the {} limit (max_file_size_mb); not read", size_text(*.0))]
    TooLarge(u64),
    #[error("cannot read: {0}")]
    Io(#[from] std::io::Error),
}

fn size_text(bytes: u64) -> String {
    if bytes % MIB == 0 {
        format!("{} MiB", bytes / MIB)
    } else {
        format!("{bytes}-byte")
    }
}

/// Reads a whole regular file of at most `limit` bytes. Devices, FIFOs and sockets are
/// refused before they are opened (a symbolic link is judged by its target), the file is
/// opened without blocking in case it was swapped for a FIFO meanwhile, and the read
/// stops one byte past the limit whatever the file's metadata claimed.
pub fn read_file(path: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
    let meta = std::fs::metadata(path)?;
    regular(&meta)?;
    if meta.len() > limit {
        return Err(ReadError::TooLarge(limit));
    }
    let file = open_nonblocking(path)?;
    let meta = file.metadata()?;
    regular(&meta)?;
    read_limited(file, limit, meta.len())
}

/// Reads standard input, which may be a pipe, up to `limit` bytes; more is an error,
/// never a silent truncation.
pub fn read_stdin(limit: u64) -> Result<Vec<u8>, ReadError> {
    read_limited(std::io::stdin().lock(), limit, 0)
}

fn read_limited(input: impl Read, limit: u64, size_hint: u64) -> Result<Vec<u8>, ReadError> {
    // Sized from the metadata so a big file is not copied through doubling buffers.
    let mut buf = Vec::with_capacity(usize::try_from(size_hint.min(limit) + 1).unwrap_or(0));
    input.take(limit.saturating_add(1)).read_to_end(&mut buf)?;
    if buf.len() as u64 > limit {
        return Err(ReadError::TooLarge(limit));
    }
    Ok(buf)
}

fn regular(meta: &std::fs::Metadata) -> Result<(), ReadError> {
    let t = meta.file_type();
    if t.is_file() {
        return Ok(());
    }
    Err(ReadError::NotRegular(file_kind(&t)))
}

/// What a file that is not a regular file is, for messages.
pub(crate) fn file_kind(t: &std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return "a FIFO";
        }
        if t.is_char_device() {
            return "a character device";
        }
        if t.is_block_device() {
            return "a block device";
        }
        if t.is_socket() {
            return "a socket";
        }
    }
    if t.is_dir() {
        "a directory"
    } else {
        "a special file"
    }
}

/// Opens for reading without blocking: opening a FIFO otherwise waits for a writer.
#[cfg(unix)]
pub(crate) fn open_nonblocking(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
}

#[cfg(not(unix))]
pub(crate) fn open_nonblocking(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::File::open(path)
}

/// A counting semaphore over bytes: see [`LoadOptions::bytes_in_flight`].
struct InFlight {
    budget: u64,
    used: Mutex<u64>,
    freed: Condvar,
}

struct Permit<'a> {
    owner: &'a InFlight,
    bytes: u64,
}

impl InFlight {
    fn new(budget: u64) -> Self {
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

/// Loads every path: files are read whatever their extension, directories are walked
/// recursively for `.yaml`, `.yml` and `.json` files. Standard input goes through
/// [`load_stdin`], since only the caller knows whether it wants to keep the text.
pub fn load(paths: &[PathBuf], opts: &LoadOptions) -> Inventory {
    let mut inv = Inventory::default();
    let excludes = match build_excludes(&opts.excludes) {
        Ok(g) => g,
        Err(e) => {
            inv.errors.push(InputError::new("<config>", None, e));
            globset::GlobSet::empty()
        }
    };
    // (path, named explicitly): a document of unknown shape is an error only where the
    // user named the file, a warning where a walk found it.
    let mut inputs: Vec<(PathBuf, bool)> = Vec::new();
    for p in paths {
        if p.is_dir() {
            let before = inputs.len();
            walk_dir(p, &excludes, &mut inputs, &mut inv);
            // Kustomizations and charts are built first; what they read is not read alone.
            let mut found = inputs.split_off(before);
            crate::kustomize::take_built(p, &mut found, true, opts, &mut inv);
            inputs.append(&mut found);
        } else if crate::kustomize::is_kustomization_file(p) {
            // A kustomization named by its file is built, as its directory would be.
            let dir = p.parent().filter(|d| !d.as_os_str().is_empty());
            let dir = dir.unwrap_or(Path::new("."));
            crate::kustomize::take_built(dir, &mut Vec::new(), true, opts, &mut inv);
        } else if std::fs::symlink_metadata(p).is_ok() {
            inputs.push((p.clone(), true));
        } else {
            inv.errors.push(InputError::new(
                display(p),
                None,
                "no such file or directory",
            ));
        }
    }
    // Terraform files are read by directory, each one module scope.
    let (tf, inputs): (Vec<_>, Vec<_>) = inputs
        .into_iter()
        .partition(|(p, _)| crate::iac::is_terraform_path(p));
    if !tf.is_empty() {
        let tf: Vec<PathBuf> = tf.into_iter().map(|(p, _)| p).collect();
        let limit = opts.max_file_size;
        let r = crate::iac::load_terraform(&tf, &opts.var_files, &opts.default_namespace, &|p| {
            read_file(p, limit)
        });
        inv.files_scanned += r.files_scanned;
        inv.files_skipped.too_large += r.too_large;
        inv.files_skipped.not_regular_file += r.not_regular;
        inv.errors.extend(r.errors);
        inv.warnings.extend(r.warnings);
        for obj in r.objects {
            inv.push(obj);
        }
    }
    let in_flight = InFlight::new(opts.bytes_in_flight());
    let loaded = load_largest_first(&inputs, |(p, explicit)| {
        load_input(p, *explicit, opts, Some(&in_flight))
    });
    let mut objects = Vec::new();
    for r in loaded {
        match r.skipped {
            None => inv.files_scanned += 1,
            Some(Skip::TooLarge) => inv.files_skipped.too_large += 1,
            Some(Skip::NotRegular) => inv.files_skipped.not_regular_file += 1,
            Some(Skip::NotInput) => inv.files_skipped.not_an_input += 1,
        }
        objects.extend(r.objects);
        inv.errors.extend(r.errors);
        inv.warnings.extend(r.warnings);
    }
    // Kubelet drop-ins count only merged into their base, as the kubelet reads them.
    inv.files_scanned += crate::kubelet::merge_scanned(&mut objects, &mut inv.errors, opts);
    for obj in objects {
        inv.push(obj);
    }
    inv
}

/// Runs `load` over every input on all cores, largest file first, and returns the results
/// in input order. In name order one big file met late (a chart's CRDs, most of which are
/// one document each) kept one core parsing it alone at the end; started first, it
/// overlaps the small ones.
fn load_largest_first<R: Send>(
    inputs: &[(PathBuf, bool)],
    load: impl Fn(&(PathBuf, bool)) -> R + Sync,
) -> Vec<R> {
    let sizes: Vec<u64> = inputs
        .par_iter()
        .map(|(p, _)| std::fs::metadata(p).map_or(0, |m| m.len()))
        .collect();
    let mut order: Vec<usize> = (0..inputs.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(sizes[i]));
    // Each worker takes the largest file left: splitting the list into ranges instead
    // would hand one worker all the big files.
    let next = AtomicUsize::new(0);
    let workers = rayon::current_num_threads().min(inputs.len()).max(1);
    let mut done: Vec<(usize, R)> = (0..workers)
        .into_par_iter()
        .flat_map_iter(|_| {
            let mut mine = Vec::new();
            while let Some(&i) = order.get(next.fetch_add(1, Ordering::Relaxed)) {
                mine.push((i, load(&inputs[i])));
            }
            mine
        })
        .collect();
    done.sort_unstable_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, r)| r).collect()
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
enum Skip {
    TooLarge,
    NotRegular,
    /// Named, but nothing in it is an input eksguard reads.
    NotInput,
}

#[derive(Default)]
struct FileResult {
    objects: Vec<Object>,
    errors: Vec<InputError>,
    warnings: Vec<InputError>,
    skipped: Option<Skip>,
}

pub(crate) fn display(p: &Path) -> String {
    let s = p.to_string_lossy();
    s.strip_prefix("./").unwrap_or(&s).to_string()
}

fn build_excludes(globs: &[String]) -> Result<globset::GlobSet, String> {
    let mut b = globset::GlobSetBuilder::new();
    for g in globs {
        let glob = globset::Glob::new(g).map_err(|e| format!("bad exclude pattern `{g}`: {e}"))?;
        b.add(glob);
    }
    b.build().map_err(|e| e.to_string())
}

fn has_manifest_extension(path: &Path) -> bool {
    path.extension()
        .and_then(|x| x.to_str())
        .is_some_and(|x| EXTENSIONS.iter().any(|k| x.eq_ignore_ascii_case(k)))
}

/// Largest ignore file (`.gitignore`, a `.git` link file, `info/exclude`) the walk lets
/// the ignore rules read; these are read whole and are a few KiB in practice.
const MAX_IGNORE_FILE: u64 = MIB;

/// A directory walk as `kubectl apply -f DIR -R` sees the tree: hidden files included,
/// symbolic links followed (a link back to an ancestor is detected and counted), only
/// the `.git` directory left out. With `gitignore`, the `.gitignore` rules of a git work
/// tree apply (never outside one, and never `.ignore` files).
fn walker(root: &Path, gitignore: bool, git_entries: Arc<Mutex<Vec<PathBuf>>>) -> ignore::Walk {
    ignore::WalkBuilder::new(root)
        .standard_filters(false)
        .git_ignore(gitignore)
        .git_exclude(gitignore)
        .git_global(gitignore)
        .parents(gitignore)
        .require_git(true)
        .follow_links(true)
        .sort_by_file_name(|a, b| a.cmp(b))
        .filter_entry(move |e| {
            if e.depth() > 0 && e.file_name() == ".git" {
                git_entries
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(e.path().to_path_buf());
                return false;
            }
            true
        })
        .build()
}

/// The file a walk error is about, and whether it is a symbolic-link loop.
fn walk_error_path(e: &ignore::Error) -> (Option<&Path>, bool) {
    match e {
        ignore::Error::Loop { child, .. } => (Some(child.as_path()), true),
        ignore::Error::WithPath { path, err } => {
            let (inner, is_loop) = walk_error_path(err);
            (inner.or(Some(path.as_path())), is_loop)
        }
        ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
            walk_error_path(err)
        }
        _ => (None, false),
    }
}

fn walk_dir(
    root: &Path,
    excludes: &globset::GlobSet,
    out: &mut Vec<(PathBuf, bool)>,
    inv: &mut Inventory,
) {
    let git_entries = Arc::new(Mutex::new(Vec::new()));
    // Every file, with its type after following links; ignore rules come afterwards.
    let mut files: Vec<(PathBuf, bool)> = Vec::new();
    let mut skipped = FilesSkipped::default();
    for entry in walker(root, false, git_entries.clone()) {
        match entry {
            Ok(e) => match e.file_type() {
                Some(t) if t.is_dir() => {}
                Some(t) => files.push((e.into_path(), t.is_file())),
                None => {}
            },
            Err(e) => match walk_error_path(&e) {
                (_, true) => skipped.symlink_loop += 1,
                (Some(p), false) if !has_manifest_extension(p) => {
                    skipped.unrecognised_extension += 1
                }
                (p, false) => inv.errors.push(InputError::new(
                    display(p.unwrap_or(root)),
                    None,
                    format!("cannot read: {}", innermost(&e)),
                )),
            },
        }
    }
    let git_entries =
        std::mem::take(&mut *git_entries.lock().unwrap_or_else(PoisonError::into_inner));
    let kept = gitignore_kept(root, &files, &git_entries, inv);
    let before = out.len();
    for (path, is_regular) in files {
        let rel = path.strip_prefix(root).unwrap_or(&path);
        if !has_manifest_extension(&path) {
            skipped.unrecognised_extension += 1;
        } else if !is_regular {
            skipped.not_regular_file += 1;
            let kind = std::fs::metadata(&path)
                .map(|m| file_kind(&m.file_type()))
                .unwrap_or("a special file");
            inv.warnings.push(InputError::new(
                display(&path),
                None,
                format!("not a regular file ({kind}); not read"),
            ));
        } else if kept.as_ref().is_some_and(|k| !k.contains(&path)) {
            skipped.gitignored += 1;
        } else if excludes.is_match(rel) || excludes.is_match(&path) {
            skipped.excluded += 1;
        } else {
            out.push((path, false));
        }
    }
    if out.len() == before {
        let why = match skipped.total() {
            0 => "an empty directory".to_string(),
            n => format!(
                "{n} {} skipped: {}",
                if n == 1 { "file" } else { "files" },
                reasons(&skipped)
            ),
        };
        inv.warnings.push(InputError::new(
            display(root),
            None,
            format!("no .yaml, .yml, .json or .tf file to scan ({why})"),
        ));
    }
    inv.files_skipped.add(&skipped);
}

/// `2 gitignored, 1 excluded`: the reasons with a count.
fn reasons(s: &FilesSkipped) -> String {
    let parts: Vec<String> = s
        .by_reason()
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(name, n)| format!("{n} {}", name.replace('_', " ")))
        .collect();
    parts.join(", ")
}

fn innermost(e: &ignore::Error) -> String {
    match e {
        ignore::Error::WithPath { err, .. }
        | ignore::Error::WithDepth { err, .. }
        | ignore::Error::WithLineNumber { err, .. } => innermost(err),
        other => other.to_string(),
    }
}

/// The files a `.gitignore`-honouring walk keeps, or `None` when no ignore rule can apply
/// (no git work tree at or above `root`, or none below it). The ignore rules are read
/// whole, so they are first checked to be small regular files; if one is not, none
/// applies and a warning says so.
fn gitignore_kept(
    root: &Path,
    files: &[(PathBuf, bool)],
    git_entries: &[PathBuf],
    inv: &mut Inventory,
) -> Option<HashSet<PathBuf>> {
    let ancestors: Vec<PathBuf> = std::fs::canonicalize(root)
        .map(|r| r.ancestors().map(Path::to_path_buf).collect())
        .unwrap_or_default();
    let ancestor_git: Vec<PathBuf> = ancestors
        .iter()
        .map(|a| a.join(".git"))
        .filter(|g| std::fs::symlink_metadata(g).is_ok())
        .collect();
    if git_entries.is_empty() && ancestor_git.is_empty() {
        return None;
    }
    let mut rule_files: Vec<PathBuf> = files
        .iter()
        .filter(|(p, _)| p.file_name().is_some_and(|n| n == ".gitignore"))
        .map(|(p, _)| p.clone())
        .collect();
    rule_files.extend(
        ancestors
            .iter()
            .map(|a| a.join(".gitignore"))
            .filter(|g| std::fs::symlink_metadata(g).is_ok()),
    );
    for git in git_entries.iter().chain(&ancestor_git) {
        if git.is_dir() {
            let exclude = git.join("info/exclude");
            if std::fs::symlink_metadata(&exclude).is_ok() {
                rule_files.push(exclude);
            }
        } else {
            // A work tree's `.git` file names the real git directory.
            rule_files.push(git.clone());
        }
    }
    for f in &rule_files {
        let ok = std::fs::metadata(f).is_ok_and(|m| m.is_file() && m.len() <= MAX_IGNORE_FILE);
        if !ok {
            inv.warnings.push(InputError::new(
                display(f),
                None,
                format!(
                    "not a regular file of at most {}; no .gitignore rule applies under {}",
                    size_text(MAX_IGNORE_FILE),
                    display(root)
                ),
            ));
            return None;
        }
    }
    let mut kept = HashSet::new();
    for e in walker(root, true, Arc::new(Mutex::new(Vec::new()))).flatten() {
        if !e.file_type().is_some_and(|t| t.is_dir()) {
            kept.insert(e.into_path());
        }
    }
    Some(kept)
}

/// One file's objects and errors (a file found by eksguard itself, not named by the user).
pub(crate) fn load_file(path: &Path, opts: &LoadOptions) -> (Vec<Object>, Vec<InputError>) {
    let r = load_input(path, false, opts, None);
    (r.objects, r.errors)
}

fn load_input(
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
    let is_json =
        name.to_ascii_lowercase().ends_with(".json") || text.trim_start().starts_with(['{', '[']);
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

/// What a document that is no object lacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Missing {
    NotAMapping,
    ApiVersion,
    Kind,
    Both,
}

impl Missing {
    fn of(node: &Node) -> Missing {
        if !matches!(node.value, Value::Map(_)) {
            return Missing::NotAMapping;
        }
        let has = |k: &str| node.get(k).and_then(Node::as_str).is_some();
        match (has("apiVersion"), has("kind")) {
            (false, false) => Missing::Both,
            (false, true) => Missing::ApiVersion,
            (true, false) => Missing::Kind,
            // Both present but not strings of an object: reported as lacking both.
            (true, true) => Missing::Both,
        }
    }

    fn text(self) -> &'static str {
        match self {
            Missing::NotAMapping => "not a mapping",
            Missing::ApiVersion => "no apiVersion",
            Missing::Kind => "no kind",
            Missing::Both => "no apiVersion or kind",
        }
    }
}

/// A document, or an item of a list, that is no object of a known shape.
struct Unknown {
    line: u32,
    item: Option<u32>,
    why: Missing,
}

/// Turns a document into objects: a `kind: List` (or `FooList`) yields its items, AWS CLI
/// outputs their resources. Documents and items of no known shape go to `unknown`.
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
    if crate::snapshot::is_snapshot(&root) {
        crate::snapshot::load(&root, path, doc, &opts.default_namespace, out, errors);
        return;
    }
    if let Some(r) = crate::iac::detect(&root, path, &opts.default_namespace) {
        out.extend(r.objects);
        errors.extend(r.errors);
        warnings.extend(r.warnings);
        return;
    }
    let kind = root.get("kind").and_then(Node::as_str).unwrap_or("");
    let is_list = kind.ends_with("List") && root.get("items").is_some_and(|i| i.as_seq().is_some());
    if is_list {
        let item_kind = kind.strip_suffix("List").unwrap_or("").to_string();
        let api_version = root
            .get("apiVersion")
            .and_then(Node::as_str)
            .unwrap_or("v1")
            .to_string();
        let mut root = root;
        let items = take_items(&mut root);
        for (i, mut item) in items.into_iter().enumerate() {
            // Lists served by the API omit kind and apiVersion on their items.
            if !item_kind.is_empty() {
                fill_identity(&mut item, &item_kind, &api_version);
            }
            let source = Source::File {
                path: path.clone(),
                doc,
                item: Some(i as u32),
            };
            match Object::from_node(item, source, &opts.default_namespace) {
                Ok(obj) => out.push(obj),
                Err(item) => unknown.push(Unknown {
                    line: item.pos.line,
                    item: Some(i as u32),
                    why: Missing::of(&item),
                }),
            }
        }
        return;
    }
    let source = Source::File {
        path: path.clone(),
        doc,
        item: None,
    };
    match Object::from_node(root, source, &opts.default_namespace) {
        Ok(obj) => out.push(obj),
        Err(root) => match classify(root, path, doc) {
            Classified::Objects(objects) => out.extend(objects),
            Classified::Known => {}
            Classified::Unknown(root) => unknown.push(Unknown {
                line: root.pos.line,
                item: None,
                why: Missing::of(&root),
            }),
        },
    }
}

fn take_items(root: &mut Node) -> Vec<Node> {
    if let Value::Map(entries) = &mut root.value {
        if let Some(e) = entries.iter_mut().find(|e| &*e.key == "items") {
            if let Value::Seq(items) = &mut e.value.value {
                return std::mem::take(items);
            }
        }
    }
    Vec::new()
}

fn fill_identity(item: &mut Node, kind: &str, api_version: &str) {
    use eksguard_model::node::Entry;
    let pos = item.pos;
    if let Value::Map(entries) = &mut item.value {
        for (k, v) in [("kind", kind), ("apiVersion", api_version)] {
            if !entries.iter().any(|e| &*e.key == k) {
                entries.push(Entry {
                    key: k.into(),
                    key_pos: pos,
                    value: Node::new(Value::Str(v.into()), pos),
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn reads_stop_past_the_limit_whatever_the_size_hint() {
        let r = read_limited(std::io::repeat(b'a'), 1000, 0);
        assert!(matches!(r, Err(ReadError::TooLarge(1000))), "{r:?}");
        let r = read_limited(&b"abc"[..], 3, 3).unwrap();
        assert_eq!(r, b"abc");
        let r = read_limited(&b"abcd"[..], 3, 1);
        assert!(matches!(r, Err(ReadError::TooLarge(3))));
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
    fn largest_files_first_and_results_in_input_order() {
        let dir = std::env::temp_dir().join(format!("eksguard-lpt-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let inputs: Vec<(PathBuf, bool)> = [3usize, 900, 1, 40, 7000, 2]
            .iter()
            .enumerate()
            .map(|(i, n)| {
                let p = dir.join(format!("{i}.yaml"));
                std::fs::write(&p, "#".repeat(*n)).unwrap();
                (p, false)
            })
            .collect();
        let size = |(p, _): &(PathBuf, bool)| std::fs::metadata(p).unwrap().len();
        let got = load_largest_first(&inputs, size);
        assert_eq!(got, [3, 900, 1, 40, 7000, 2]);
        // On one worker, the order files are taken in is plain to see.
        let started = Mutex::new(Vec::new());
        let one = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap();
        let got = one.install(|| {
            load_largest_first(&inputs, |i| {
                started.lock().unwrap().push(size(i));
                size(i)
            })
        });
        assert_eq!(got, [3, 900, 1, 40, 7000, 2]);
        assert_eq!(started.into_inner().unwrap(), [7000, 900, 40, 3, 2, 1]);
        std::fs::remove_dir_all(&dir).unwrap();
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
