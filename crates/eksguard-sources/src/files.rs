//! Walking paths and turning files into objects.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use eksguard_model::{InputError, Inventory, Node, Object, Source, Value};
use rayon::prelude::*;

use eksguard_model::yaml::{parse_documents, ParseLimits};

use crate::aws_json::{classify, Classified};

#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// Namespace given to namespaced objects that name none.
    pub default_namespace: String,
    /// Glob patterns (relative to the scanned directory) to skip.
    pub excludes: Vec<String>,
    /// Files larger than this are reported and skipped.
    pub max_file_size: u64,
    pub limits: ParseLimits,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            default_namespace: "default".into(),
            excludes: Vec::new(),
            max_file_size: 256 * 1024 * 1024,
            limits: ParseLimits::default(),
        }
    }
}

const EXTENSIONS: &[&str] = &["yaml", "yml", "json"];

/// Loads every path: files are read whatever their extension, directories are walked
/// recursively for `.yaml`, `.yml` and `.json` files. Standard input goes through
/// [`load_text`], since only the caller knows whether it wants to keep the text.
pub fn load(paths: &[PathBuf], opts: &LoadOptions) -> Inventory {
    let mut inv = Inventory::default();
    let excludes = match build_excludes(&opts.excludes) {
        Ok(g) => g,
        Err(e) => {
            inv.errors.push(InputError::new("<config>", None, e));
            globset::GlobSet::empty()
        }
    };
    // (path, named explicitly): unrecognised JSON is an error only where the user named the file.
    let mut inputs: Vec<(PathBuf, bool)> = Vec::new();
    for p in paths {
        if p.is_dir() {
            walk_dir(p, &excludes, &mut inputs, &mut inv.errors);
        } else if p.exists() {
            inputs.push((p.clone(), true));
        } else {
            inv.errors.push(InputError::new(
                display(p),
                None,
                "no such file or directory",
            ));
        }
    }
    let loaded: Vec<FileResult> = inputs
        .par_iter()
        .map(|(p, explicit)| load_input(p, *explicit, opts))
        .collect();
    let mut objects = Vec::new();
    for r in loaded {
        inv.files_scanned += 1;
        objects.extend(r.objects);
        inv.errors.extend(r.errors);
    }
    // Kubelet drop-ins count only merged into their base, as the kubelet reads them.
    inv.files_scanned += crate::kubelet::merge_scanned(&mut objects, &mut inv.errors, opts);
    for obj in objects {
        inv.push(obj);
    }
    inv
}

/// Parses one in-memory text as if read from `name` (used for stdin and tests).
pub fn load_text(name: &str, bytes: &[u8], opts: &LoadOptions) -> Inventory {
    let r = load_bytes(name, bytes, true, opts);
    let mut inv = Inventory {
        files_scanned: 1,
        errors: r.errors,
        ..Inventory::default()
    };
    for obj in r.objects {
        inv.push(obj);
    }
    inv
}

#[derive(Default)]
struct FileResult {
    objects: Vec<Object>,
    errors: Vec<InputError>,
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

fn walk_dir(
    root: &Path,
    excludes: &globset::GlobSet,
    out: &mut Vec<(PathBuf, bool)>,
    errors: &mut Vec<InputError>,
) {
    let walker = ignore::WalkBuilder::new(root)
        .require_git(false)
        .sort_by_file_name(|a, b| a.cmp(b))
        .build();
    for entry in walker {
        match entry {
            Ok(e) => {
                if !e.file_type().is_some_and(|t| t.is_file()) {
                    continue;
                }
                let path = e.path();
                let ext_ok = path
                    .extension()
                    .and_then(|x| x.to_str())
                    .is_some_and(|x| EXTENSIONS.iter().any(|k| x.eq_ignore_ascii_case(k)));
                let rel = path.strip_prefix(root).unwrap_or(path);
                if ext_ok && !excludes.is_match(rel) && !excludes.is_match(path) {
                    out.push((path.to_path_buf(), false));
                }
            }
            Err(e) => errors.push(InputError::new(display(root), None, e.to_string())),
        }
    }
}

/// One file's objects and errors (a file found by eksguard itself, not named by the user).
pub(crate) fn load_file(path: &Path, opts: &LoadOptions) -> (Vec<Object>, Vec<InputError>) {
    let r = load_input(path, false, opts);
    (r.objects, r.errors)
}

fn load_input(path: &Path, explicit: bool, opts: &LoadOptions) -> FileResult {
    let name = display(path);
    match std::fs::metadata(path) {
        Ok(m) if m.len() > opts.max_file_size => return too_large(&name, opts.max_file_size),
        Ok(_) => {}
        Err(e) => return single_error(&name, format!("cannot read: {e}")),
    }
    match std::fs::read(path) {
        Ok(bytes) => load_bytes(&name, &bytes, explicit, opts),
        Err(e) => single_error(&name, format!("cannot read: {e}")),
    }
}

fn single_error(name: &str, message: String) -> FileResult {
    FileResult {
        objects: Vec::new(),
        errors: vec![InputError::new(name, None, message)],
    }
}

fn too_large(name: &str, limit: u64) -> FileResult {
    single_error(
        name,
        format!(
            "file is larger than the {} MiB limit (max_file_size); skipped",
            limit / (1024 * 1024)
        ),
    )
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
                objects: Vec::new(),
                errors: vec![InputError::new(
                    name,
                    Some(line),
                    "invalid UTF-8; file skipped",
                )],
            };
        }
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let is_json =
        name.to_ascii_lowercase().ends_with(".json") || text.trim_start().starts_with(['{', '[']);
    let path: Arc<str> = name.into();
    let mut result = FileResult::default();
    for doc in parse_documents(text, !is_json, opts.limits) {
        match doc {
            Ok(doc) => {
                let line = doc.root.pos.line;
                let unknown = collect_objects(
                    doc.root,
                    &path,
                    doc.index,
                    opts,
                    &mut result.objects,
                    &mut result.errors,
                );
                if unknown && is_json && explicit {
                    result.errors.push(InputError::new(
                        name,
                        Some(line),
                        format!(
                            "document {}: unrecognised JSON (neither a Kubernetes object nor a known AWS CLI output); skipped",
                            doc.index + 1
                        ),
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
    result
}

/// Turns a document into objects: a `kind: List` (or `FooList`) yields its items, AWS CLI
/// outputs their resources. Returns true when the document is of no known shape.
fn collect_objects(
    root: Node,
    path: &Arc<str>,
    doc: u32,
    opts: &LoadOptions,
    out: &mut Vec<Object>,
    errors: &mut Vec<InputError>,
) -> bool {
    if crate::snapshot::is_snapshot(&root) {
        crate::snapshot::load(&root, path, doc, &opts.default_namespace, out, errors);
        return false;
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
            if let Ok(obj) = Object::from_node(item, source, &opts.default_namespace) {
                out.push(obj);
            }
        }
        return false;
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
            Classified::Unknown(_) => return true,
        },
    }
    false
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
    fn bad_inputs_are_errors_with_lines() {
        let inv = load_text("bad.yaml", b"a: 1\nb: \xff\n", &LoadOptions::default());
        assert_eq!(inv.errors[0].line, Some(2));
        assert!(inv.errors[0].message.contains("UTF-8"));
        let inv = load_text("bin.yaml", b"\x00\x01\x02", &LoadOptions::default());
        assert!(inv.errors[0].message.contains("binary"));
    }
}
