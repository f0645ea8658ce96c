//! Building one kustomization: resources and bases, components, generators, then the
//! transformers in kustomize's order, and at the top the hash suffixes and the name
//! references.

use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};

use eksguard_model::{InputError, Pos};

use super::patch;
use super::res::Res;
use super::transform;
use super::tree::{FileId, Files, K, KV};
use crate::files::LoadOptions;
use crate::read::{display, read_file};

/// Names kustomize looks for in a directory, in its order.
pub(crate) const KUSTOMIZATION_FILES: [&str; 3] =
    ["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// Deepest chain of kustomizations (overlay → base → base …) followed.
const MAX_DEPTH: usize = 32;

/// Bytes one build may read in all, whatever the per-file limit.
const MAX_BUILD_BYTES: u64 = 512 * 1024 * 1024;

/// Documents one build may load in all: a base listed twice at each of many levels
/// multiplies its objects, and small files would stay under the byte budget.
const MAX_BUILD_DOCUMENTS: usize = 100_000;

/// Fields of a kustomization this build does not carry out: named in a note, since the
/// objects may then differ from `kubectl kustomize`.
const NOT_APPLIED: &[&str] = &[
    "vars",
    "replacements",
    "configurations",
    "crds",
    "openapi",
    "transformers",
    "generators",
    "validators",
    "helmCharts",
    "helmGlobals",
    "buildMetadata",
];

/// Fields read (or, for `sortOptions`, without effect on the objects).
const APPLIED: &[&str] = &[
    "apiVersion",
    "kind",
    "metadata",
    "resources",
    "bases",
    "components",
    "namespace",
    "namePrefix",
    "nameSuffix",
    "commonLabels",
    "labels",
    "commonAnnotations",
    "patches",
    "patchesStrategicMerge",
    "patchesJson6902",
    "images",
    "replicas",
    "configMapGenerator",
    "secretGenerator",
    "generatorOptions",
    "sortOptions",
];

pub(crate) type R<T> = Result<T, InputError>;

/// One kustomization file as read.
pub(crate) struct Kust {
    pub dir: PathBuf,
    pub name: String,
    pub file: FileId,
    pub root: K,
}

impl Kust {
    pub(crate) fn err(&self, at: Pos, message: impl Into<String>) -> InputError {
        InputError::new(&self.name, at.is_known().then_some(at.line), message)
    }

    /// The strings of a list field, with their positions.
    pub(crate) fn strings(&self, field: &str) -> R<Vec<(String, Pos)>> {
        let Some(k) = self.root.get(field) else {
            return Ok(Vec::new());
        };
        match &k.v {
            KV::Null => Ok(Vec::new()),
            KV::Seq(items) => items
                .iter()
                .map(|i| {
                    i.text()
                        .map(|t| (t, i.pos))
                        .ok_or_else(|| self.err(i.pos, format!("`{field}` items must be strings")))
                })
                .collect(),
            _ => Err(self.err(k.pos, format!("`{field}` must be a list"))),
        }
    }
}

/// Lexically resolves `.` and `..`, keeping the path as the user would write it.
pub(crate) fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                let last_is_normal =
                    matches!(out.components().next_back(), Some(Component::Normal(_)));
                if last_is_normal {
                    out.pop();
                } else {
                    out.push("..");
                }
            }
            other => out.push(other),
        }
    }
    if out.as_os_str().is_empty() {
        out.push(".");
    }
    out
}

/// Resources named by URL (`github.com/…`, `https://…`, `git@…`), which are not fetched.
pub(crate) fn is_remote(entry: &str) -> bool {
    entry.contains("://")
        || entry.starts_with("git@")
        || entry.starts_with("github.com/")
        || entry.starts_with("gitlab.com/")
        || entry.starts_with("bitbucket.org/")
        || entry.contains("?ref=")
}

pub(crate) struct Builder<'o> {
    opts: &'o LoadOptions,
    /// The scanned directory (resolved): what is read from outside it gets a note.
    scan_root: Option<PathBuf>,
    pub files: Files,
    /// Every file read, as named.
    pub read: BTreeSet<PathBuf>,
    /// Every kustomization directory used, as named.
    pub dirs: BTreeSet<PathBuf>,
    pub notes: Vec<InputError>,
    /// Remote resources not followed.
    pub remote: Vec<String>,
    /// The kustomizations being built, outermost first: resolved, and as shown.
    stack: Vec<(PathBuf, String)>,
    bytes: u64,
    documents: usize,
}

impl<'o> Builder<'o> {
    pub(crate) fn new(opts: &'o LoadOptions, scan_root: &Path) -> Self {
        Builder {
            opts,
            scan_root: std::fs::canonicalize(scan_root).ok(),
            files: Files::default(),
            read: BTreeSet::new(),
            dirs: BTreeSet::new(),
            notes: Vec::new(),
            remote: Vec::new(),
            stack: Vec::new(),
            bytes: 0,
            documents: 0,
        }
    }

    /// Builds the kustomization in `dir` as `kubectl kustomize DIR` does.
    pub(crate) fn build_top(&mut self, dir: &Path) -> R<Vec<Res>> {
        let mut ra = self.build(dir, None)?;
        transform::finish(&mut ra, &self.files);
        Ok(ra)
    }

    fn build(&mut self, dir: &Path, from: Option<(&Kust, Pos)>) -> R<Vec<Res>> {
        let mut ra = Vec::new();
        self.accumulate(dir, &mut ra, from, false)?;
        Ok(ra)
    }

    /// The text of a file, read under the limits; an error names where it was asked for.
    pub(crate) fn read_text(&mut self, path: &Path, asked: Option<(&Kust, Pos)>) -> R<String> {
        let fail = |message: String| match asked {
            Some((k, at)) => k.err(at, message),
            None => InputError::new(display(path), None, message),
        };
        self.note_outside(path);
        let bytes = read_file(path, self.opts.max_file_size)
            .map_err(|e| fail(format!("{}: {e}", display(path))))?;
        self.bytes += bytes.len() as u64;
        if self.bytes > MAX_BUILD_BYTES {
            return Err(fail(format!(
                "the build reads more than {} MiB; stopped",
                MAX_BUILD_BYTES >> 20
            )));
        }
        self.read.insert(path.to_path_buf());
        String::from_utf8(bytes).map_err(|_| fail(format!("{}: not UTF-8 text", display(path))))
    }

    fn note_outside(&mut self, path: &Path) {
        let (Some(root), Ok(real)) = (&self.scan_root, std::fs::canonicalize(path)) else {
            return;
        };
        if !real.starts_with(root) {
            let message = format!(
                "read by a kustomization from outside the scanned directory {}",
                display(root)
            );
            let name = display(path);
            if !self
                .notes
                .iter()
                .any(|n| n.file == name && n.message == message)
            {
                self.notes.push(InputError::new(name, None, message));
            }
        }
    }

    /// Parses YAML text into its non-empty documents.
    pub(crate) fn parse(&mut self, name: &str, text: &str) -> R<Vec<(u32, K)>> {
        let file = self.files.add(name);
        let mut out = Vec::new();
        for doc in eksguard_model::yaml::parse_documents(text, true, self.opts.limits) {
            match doc {
                Ok(d) if d.root.is_null() => {}
                Ok(d) => out.push((d.index, K::from_node(&d.root, file))),
                Err(e) => {
                    return Err(InputError::new(
                        name,
                        Some(e.line),
                        format!(
                            "document {}: {} (column {})",
                            e.doc + 1,
                            e.message,
                            e.column
                        ),
                    ))
                }
            }
        }
        self.documents += out.len();
        if self.documents > MAX_BUILD_DOCUMENTS {
            return Err(InputError::new(
                name,
                None,
                format!("the build loads more than {MAX_BUILD_DOCUMENTS} documents; stopped"),
            ));
        }
        let lines: Vec<&str> = text.lines().collect();
        for (_, k) in out.iter_mut() {
            octal_ints(k, &lines);
        }
        Ok(out)
    }

    fn read_kustomization(&mut self, dir: &Path, from: Option<(&Kust, Pos)>) -> R<Kust> {
        let present: Vec<PathBuf> = KUSTOMIZATION_FILES
            .iter()
            .map(|n| dir.join(n))
            .filter(|p| p.is_file())
            .collect();
        let path = match present.as_slice() {
            [one] => one.clone(),
            [] => {
                let message = format!("{}: no kustomization.yaml in this directory", display(dir));
                return Err(match from {
                    Some((k, at)) => k.err(at, message),
                    None => InputError::new(display(dir), None, message),
                });
            }
            many => {
                return Err(InputError::new(
                    display(dir),
                    None,
                    format!(
                        "more than one kustomization file: {}",
                        many.iter()
                            .map(|p| display(p))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ))
            }
        };
        let name = display(&path);
        let text = self.read_text(&path, from)?;
        let mut docs = self.parse(&name, &text)?;
        let root = match docs.len() {
            0 => K::map(Pos::NONE, self.files.add(&name)),
            _ => docs.swap_remove(0).1,
        };
        if !root.is_map() {
            return Err(InputError::new(&name, Some(root.pos.line), "not a mapping"));
        }
        Ok(Kust {
            dir: dir.to_path_buf(),
            file: root.file,
            name,
            root,
        })
    }

    fn accumulate(
        &mut self,
        dir: &Path,
        ra: &mut Vec<Res>,
        from: Option<(&Kust, Pos)>,
        component: bool,
    ) -> R<()> {
        let real = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
        if self.stack.iter().any(|(r, _)| *r == real) {
            let chain: Vec<String> = self
                .stack
                .iter()
                .map(|(_, shown)| shown.clone())
                .chain([display(dir)])
                .collect();
            let message = format!("kustomizations form a cycle: {}", chain.join(" -> "));
            return Err(match from {
                Some((k, at)) => k.err(at, message),
                None => InputError::new(display(dir), None, message),
            });
        }
        if self.stack.len() >= MAX_DEPTH {
            let message = format!("kustomizations nested deeper than {MAX_DEPTH}; stopped");
            return Err(match from {
                Some((k, at)) => k.err(at, message),
                None => InputError::new(display(dir), None, message),
            });
        }
        let k = self.read_kustomization(dir, from)?;
        self.dirs.insert(dir.to_path_buf());
        let kind = k
            .root
            .get("kind")
            .and_then(K::as_str)
            .unwrap_or("Kustomization");
        match (kind, component) {
            ("Component", false) if from.is_some() => {
                return Err(k.err(
                    k.root.get("kind").map_or(Pos::NONE, |n| n.pos),
                    "a Component is listed under `components`, not built alone or as a resource",
                ))
            }
            ("Kustomization", true) => {
                return Err(k.err(
                    k.root.get("kind").map_or(Pos::NONE, |n| n.pos),
                    "listed under `components` but of kind Kustomization",
                ))
            }
            _ => {}
        }
        for e in k.root.entries() {
            if NOT_APPLIED.contains(&e.key.as_str()) {
                self.notes.push(k.err(
                    e.key_pos,
                    format!(
                        "`{}` is not carried out by eksguard's kustomize build; the objects may differ from `kubectl kustomize`",
                        e.key
                    ),
                ));
            } else if !APPLIED.contains(&e.key.as_str()) {
                self.notes.push(k.err(
                    e.key_pos,
                    format!("unknown kustomization field `{}`; ignored", e.key),
                ));
            }
        }
        self.stack.push((real, display(dir)));
        let result = self.accumulate_in(&k, ra);
        self.stack.pop();
        result
    }

    fn accumulate_in(&mut self, k: &Kust, ra: &mut Vec<Res>) -> R<()> {
        let mut resources = k.strings("resources")?;
        resources.extend(k.strings("bases")?);
        for (entry, at) in resources {
            if is_remote(&entry) {
                self.remote
                    .push(format!("{entry} (in {}:{})", k.name, at.line));
                continue;
            }
            let path = normalize(&k.dir.join(&entry));
            if path.is_dir() {
                let sub = self.build(&path, Some((k, at)))?;
                ra.extend(sub);
            } else if path.exists() {
                let name = display(&path);
                let text = self.read_text(&path, Some((k, at)))?;
                for (doc, root) in self.parse(&name, &text)? {
                    add_document(ra, root, doc, &name)?;
                }
            } else {
                return Err(k.err(at, format!("resource `{entry}`: no such file or directory")));
            }
        }
        for (entry, at) in k.strings("components")? {
            if is_remote(&entry) {
                self.remote
                    .push(format!("{entry} (in {}:{})", k.name, at.line));
                continue;
            }
            let path = normalize(&k.dir.join(&entry));
            if !path.is_dir() {
                return Err(k.err(at, format!("component `{entry}`: not a directory")));
            }
            self.accumulate(&path, ra, Some((k, at)), true)?;
        }
        // Not carried out (a note says so), but read: a missing one fails the build as
        // it fails kustomize's, and the files are the build's, not manifests.
        for field in ["configurations", "crds"] {
            for (entry, at) in k.strings(field)? {
                let path = normalize(&k.dir.join(&entry));
                self.read_text(&path, Some((k, at)))?;
            }
        }
        super::generate::run(self, k, ra)?;
        transform::run(self, k, ra)
    }

    /// A patch given by `path:` or inline `patch:` text: its parsed documents.
    pub(crate) fn patch_docs(&mut self, k: &Kust, item: &K, field: &str) -> R<Vec<K>> {
        if let Some(path) = item.get("path").and_then(K::as_str) {
            let at = item.get("path").map_or(item.pos, |p| p.pos);
            let full = normalize(&k.dir.join(path));
            let name = display(&full);
            let text = self.read_text(&full, Some((k, at)))?;
            return Ok(self
                .parse(&name, &text)?
                .into_iter()
                .map(|(_, d)| d)
                .collect());
        }
        if let Some(p) = item.get(field) {
            return self.inline(k, p);
        }
        Err(k.err(item.pos, "a patch needs `path` or `patch`"))
    }

    /// An inline patch: YAML text in a string (positions shifted to the kustomization's
    /// lines), or the patch written as YAML itself.
    pub(crate) fn inline(&mut self, k: &Kust, p: &K) -> R<Vec<K>> {
        let Some(text) = p.as_str() else {
            return Ok(vec![p.clone()]);
        };
        let docs = eksguard_model::yaml::parse_documents(text, true, self.opts.limits);
        let mut out = Vec::new();
        // A block scalar starts on the line after its key.
        let base = p.pos.line;
        for d in docs {
            match d {
                Ok(d) if d.root.is_null() => {}
                Ok(d) => {
                    let mut node = K::from_node(&d.root, k.file);
                    shift(&mut node, base);
                    out.push(node);
                }
                Err(e) => {
                    return Err(k.err(
                        p.pos,
                        format!("inline patch: {} (line {} of the patch)", e.message, e.line),
                    ))
                }
            }
        }
        Ok(out)
    }
}

/// Reads integers written with a leading zero (`defaultMode: 0755`) as octal, as
/// Kubernetes and kustomize (YAML 1.1) read them.
fn octal_ints(k: &mut K, lines: &[&str]) {
    match &mut k.v {
        KV::Int(i) if *i > 0 && k.pos.is_known() => {
            let Some(line) = lines.get(k.pos.line as usize - 1) else {
                return;
            };
            let token: String = line
                .chars()
                .skip(k.pos.col.saturating_sub(1) as usize)
                .take_while(|c| c.is_ascii_digit())
                .collect();
            if token.len() > 1 && token.starts_with('0') {
                if let Ok(v) = i64::from_str_radix(&token, 8) {
                    *i = v;
                }
            }
        }
        KV::Seq(items) => items.iter_mut().for_each(|i| octal_ints(i, lines)),
        KV::Map(entries) => entries
            .iter_mut()
            .for_each(|e| octal_ints(&mut e.value, lines)),
        _ => {}
    }
}

/// Moves positions of a text embedded at `base` to the lines of the enclosing file.
fn shift(k: &mut K, base: u32) {
    if k.pos.is_known() {
        k.pos.line += base;
    }
    match &mut k.v {
        KV::Seq(items) => items.iter_mut().for_each(|i| shift(i, base)),
        KV::Map(entries) => entries.iter_mut().for_each(|e| {
            if e.key_pos.is_known() {
                e.key_pos.line += base;
            }
            shift(&mut e.value, base)
        }),
        _ => {}
    }
}

/// Adds one document of a resource file: a `List` adds its items.
fn add_document(ra: &mut Vec<Res>, root: K, doc: u32, name: &str) -> R<()> {
    let kind = root.get("kind").and_then(K::as_str).unwrap_or("");
    if kind.ends_with("List") && root.get("items").is_some() {
        for (i, item) in root.items_of("items").into_iter().enumerate() {
            check_object(&item, doc, name)?;
            ra.push(Res::new(item, doc, Some(i as u32)));
        }
        return Ok(());
    }
    check_object(&root, doc, name)?;
    ra.push(Res::new(root, doc, None));
    Ok(())
}

fn check_object(root: &K, doc: u32, name: &str) -> R<()> {
    let has = |f: &str| {
        root.get(f)
            .and_then(K::as_str)
            .is_some_and(|s| !s.is_empty())
    };
    let named = root.at("metadata/name").and_then(K::text).is_some();
    if !root.is_map() || !has("apiVersion") || !has("kind") || !named {
        return Err(InputError::new(
            name,
            Some(root.pos.line),
            format!(
                "document {}: a kustomize resource needs apiVersion, kind and metadata.name",
                doc + 1
            ),
        ));
    }
    Ok(())
}

impl K {
    fn items_of(&self, key: &str) -> Vec<K> {
        self.get(key)
            .map(|k| k.items().to_vec())
            .unwrap_or_default()
    }
}

/// Whether the patch list entry is a JSON 6902 list (after parsing).
pub(crate) fn json6902_docs(docs: &[K]) -> bool {
    docs.len() == 1 && patch::is_json6902(&docs[0])
}
