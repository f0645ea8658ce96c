//! Walking the paths of a scan: directories are walked for the files a row of
//! [`crate::format::FORMATS`] names, kustomizations and charts are built, Terraform files
//! are read by directory, every other file through [`crate::files`], and kubelet drop-ins
//! merged into their base.
//!
//! Nothing a scan meets disappears without a word: every file a walk passes over is
//! counted by reason ([`FilesSkipped`]).

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use eksguard_model::{FilesSkipped, InputError, Inventory};
use rayon::prelude::*;

use crate::files::{load_input, InFlight, LoadOptions, Skip};
use crate::format::{self, Reader};
use crate::read::{display, file_kind, read_file, size_text};

const MIB: u64 = 1024 * 1024;

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
    let terraform = |p: &Path| match format::of_path(p).map(|f| f.reader) {
        Some(Reader::Terraform { vars }) => Some(vars),
        _ => None,
    };
    let (tf, inputs): (Vec<_>, Vec<_>) = inputs
        .into_iter()
        .partition(|(p, _)| terraform(p).is_some());
    if !tf.is_empty() {
        let tf: Vec<(PathBuf, bool)> = tf
            .into_iter()
            .map(|(p, _)| {
                let vars = terraform(&p) == Some(true);
                (p, vars)
            })
            .collect();
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

fn build_excludes(globs: &[String]) -> Result<globset::GlobSet, String> {
    let mut b = globset::GlobSetBuilder::new();
    for g in globs {
        let glob = globset::Glob::new(g).map_err(|e| format!("bad exclude pattern `{g}`: {e}"))?;
        b.add(glob);
    }
    b.build().map_err(|e| e.to_string())
}

/// Whether a row of the input table names the file.
fn has_manifest_extension(path: &Path) -> bool {
    format::of_path(path).is_some()
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
