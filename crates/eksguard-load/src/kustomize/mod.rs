//! Inputs that are built before they are read: kustomize directories and Helm charts.
//!
//! A directory walk hands its files to [`take_built`]. A directory holding a
//! `kustomization.yaml` is built as `kubectl kustomize` builds it (in Rust; nothing is run),
//! and the files the build read are not scanned again alone. When a tree holds a base and
//! the overlays using it, each overlay is built and the base is scanned through them, as
//! it is applied; a note says so. A directory holding a `Chart.yaml` is rendered with
//! `helm template` when `helm` is on `PATH`, and otherwise named in one message saying how
//! to render it.

mod build;
mod generate;
pub mod helm;
mod nameref;
mod patch;
mod res;
mod transform;
mod tree;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use eksguard_model::{InputError, Inventory, Object, Source};

use crate::files::LoadOptions;
use crate::read::display;
use build::{is_remote, normalize, Builder, KUSTOMIZATION_FILES};

/// What one kustomization names: local directories (bases, components) and whether it
/// is a Component.
struct Refs {
    dirs: Vec<PathBuf>,
    component: bool,
}

/// Whether `p` is a kustomization file (by its name, and it exists as a file).
pub(crate) fn is_kustomization_file(p: &Path) -> bool {
    p.file_name()
        .is_some_and(|n| KUSTOMIZATION_FILES.iter().any(|k| n == *k))
        && p.is_file()
}

fn kustomization_file(dir: &Path) -> Option<PathBuf> {
    KUSTOMIZATION_FILES
        .iter()
        .map(|n| dir.join(n))
        .find(|p| p.is_file())
}

/// The local directories a kustomization names, read without building it.
fn refs(dir: &Path, opts: &LoadOptions) -> Refs {
    let mut out = Refs {
        dirs: Vec::new(),
        component: false,
    };
    let Some(file) = kustomization_file(dir) else {
        return out;
    };
    let Ok(bytes) = crate::read::read_file(&file, opts.max_file_size) else {
        return out;
    };
    let text = String::from_utf8_lossy(&bytes);
    let Some(Ok(doc)) = eksguard_model::yaml::parse_documents(&text, true, opts.limits)
        .into_iter()
        .next()
    else {
        return out;
    };
    out.component = doc.root.get("kind").and_then(|k| k.as_str()) == Some("Component");
    for field in ["resources", "bases", "components"] {
        for item in doc.root.get(field).map(|l| l.items()).unwrap_or_default() {
            let Some(entry) = item.as_str() else { continue };
            if is_remote(entry) {
                continue;
            }
            let p = normalize(&dir.join(entry));
            if p.is_dir() {
                out.dirs.push(p);
            }
        }
    }
    out
}

/// Whether the normalized path `p` lies in the normalized directory `dir` (`.` holds
/// every relative path).
fn within(p: &Path, dir: &Path) -> bool {
    (dir == Path::new(".") && p.is_relative() && !p.starts_with("..")) || p.starts_with(dir)
}

/// Builds the kustomizations and renders the charts among `found` (the files a walk of
/// `root` kept), and takes out of `found` the files they consumed. `explicit`: the user
/// named `root` itself.
pub(crate) fn take_built(
    root: &Path,
    found: &mut Vec<(PathBuf, bool)>,
    explicit: bool,
    opts: &LoadOptions,
    inv: &mut Inventory,
) {
    let mut parents: BTreeSet<PathBuf> = BTreeSet::new();
    for (p, _) in found.iter() {
        let Ok(rel) = p.strip_prefix(root) else {
            continue;
        };
        let mut dir = rel.parent();
        while let Some(d) = dir {
            if !parents.insert(normalize(&root.join(d))) {
                break;
            }
            dir = d.parent();
        }
    }
    let root = normalize(root);
    parents.insert(root.clone());
    // Charts first: what lies in a chart is the chart's.
    let mut charts: Vec<PathBuf> = parents
        .iter()
        .filter(|d| d.join("Chart.yaml").is_file())
        .cloned()
        .collect();
    let all = charts.clone();
    charts.retain(|c| !all.iter().any(|o| o != c && within(c, o)));
    let in_chart = |p: &Path| charts.iter().any(|c| within(p, c));
    let kdirs: Vec<PathBuf> = parents
        .iter()
        .filter(|d| !in_chart(d) && kustomization_file(d).is_some())
        .cloned()
        .collect();
    let mut claimed: BTreeSet<PathBuf> = BTreeSet::new();
    for chart in &charts {
        helm::scan_chart(chart, explicit && *chart == root, opts, inv);
        for (p, _) in found.iter() {
            if within(&normalize(p), chart) && claimed.insert(p.clone()) {
                inv.files_scanned += 1;
            }
        }
    }
    if !kdirs.is_empty() {
        build_all(&root, explicit, &kdirs, opts, inv, &mut claimed, found);
    }
    if !claimed.is_empty() {
        found.retain(|(p, _)| !claimed.contains(p));
    }
}

fn build_all(
    root: &Path,
    explicit: bool,
    kdirs: &[PathBuf],
    opts: &LoadOptions,
    inv: &mut Inventory,
    claimed: &mut BTreeSet<PathBuf>,
    found: &[(PathBuf, bool)],
) {
    let refs: BTreeMap<&PathBuf, Refs> = kdirs.iter().map(|d| (d, refs(d, opts))).collect();
    let used: BTreeSet<&PathBuf> = refs.values().flat_map(|r| &r.dirs).collect();
    let mut order: Vec<&PathBuf> = kdirs.iter().filter(|d| !used.contains(d)).collect();
    // Anything no top-level build reaches (a cycle) is built on its own, to report it.
    let mut covered: BTreeSet<PathBuf> = BTreeSet::new();
    let mut read: BTreeSet<PathBuf> = BTreeSet::new();
    let mut i = 0;
    loop {
        if i == order.len() {
            match kdirs
                .iter()
                .find(|d| !covered.contains(*d) && !order.contains(d))
            {
                Some(d) => order.push(d),
                None => break,
            }
        }
        let dir = order[i];
        i += 1;
        let mut b = Builder::new(opts, root);
        let result = b.build_top(dir);
        covered.extend(b.dirs.iter().cloned());
        let kfile = kustomization_file(dir).unwrap_or_else(|| dir.clone());
        inv.warnings.append(&mut b.notes);
        if !b.remote.is_empty() {
            inv.warnings.push(InputError::new(
                display(&kfile),
                None,
                format!(
                    "{} remote {} not followed (only local files are built): {}",
                    b.remote.len(),
                    if b.remote.len() == 1 {
                        "resource"
                    } else {
                        "resources"
                    },
                    b.remote.join(", ")
                ),
            ));
        }
        match result {
            Ok(resources) => {
                let bases: Vec<String> = b
                    .dirs
                    .iter()
                    .filter(|d| *d != dir && kdirs.contains(d))
                    .map(|d| display(d))
                    .collect();
                if !bases.is_empty() {
                    inv.warnings.push(InputError::new(
                        display(&kfile),
                        None,
                        format!(
                            "built as `kubectl kustomize {}` builds it ({} objects); the kustomizations it uses are scanned through it, not alone: {}",
                            display(dir),
                            resources.len(),
                            bases.join(", ")
                        ),
                    ));
                }
                for r in resources {
                    let name = b.files_name(r.file());
                    let source = Source::File {
                        path: name.clone(),
                        doc: r.doc,
                        item: r.item,
                    };
                    let own = r.file();
                    let (node, table) = r.root.into_node(&b.files, own);
                    match Object::from_node(node, source, &opts.default_namespace) {
                        Ok(mut obj) => {
                            obj.files = table;
                            inv.push(obj);
                        }
                        Err(_) => inv.errors.push(InputError::new(
                            &*name,
                            None,
                            "a built object lost its apiVersion or kind",
                        )),
                    }
                }
                read.extend(b.read.iter().cloned());
            }
            // A Component is made to be added to a kustomization: one no kustomization
            // here uses may not build alone, which is no input error.
            Err(e) if refs[dir].component => {
                inv.warnings.push(InputError::new(
                    e.file,
                    e.line,
                    format!(
                        "a kustomize Component no kustomization here uses; built alone it fails ({}), so its files are scanned as they are",
                        e.message
                    ),
                ));
                read.insert(kfile);
            }
            // Named by the user, a kustomization that does not build is an input error;
            // found by a walk, a warning. Either way its files are scanned alone.
            Err(e) => {
                let named = explicit && dir.as_path() == root;
                let sink = if named {
                    &mut inv.errors
                } else {
                    &mut inv.warnings
                };
                sink.push(InputError::new(
                    e.file,
                    e.line,
                    format!(
                        "kustomize build of {} failed: {}; its files are scanned alone",
                        display(dir),
                        e.message
                    ),
                ));
                // Its resources are still scanned alone, not lost with the build.
                read.insert(kfile);
            }
        }
    }
    inv.files_scanned += read.len();
    let normalized: BTreeSet<PathBuf> = read.iter().map(|p| normalize(p)).collect();
    for (p, _) in found {
        if normalized.contains(&normalize(p)) {
            claimed.insert(p.clone());
        }
    }
}

impl Builder<'_> {
    fn files_name(&self, id: tree::FileId) -> std::sync::Arc<str> {
        self.files.name(id).clone()
    }
}

/// The objects `kubectl kustomize DIR` would print, built here, as plain JSON (for
/// comparing with kustomize itself), or the error that stopped the build.
pub fn build_json(dir: &Path, opts: &LoadOptions) -> Result<Vec<serde_json::Value>, String> {
    let mut b = Builder::new(opts, dir);
    b.build_top(&normalize(dir))
        .map(|rs| rs.iter().map(|r| r.root.to_json()).collect())
        .map_err(|e| format!("{}:{}: {}", e.file, e.line.unwrap_or(0), e.message))
}

/// Notes (fields not carried out, remote resources) a build of `dir` gives.
pub fn build_notes(dir: &Path, opts: &LoadOptions) -> Vec<String> {
    let mut b = Builder::new(opts, dir);
    let _ = b.build_top(&normalize(dir));
    b.notes
        .iter()
        .map(|n| n.message.clone())
        .chain(b.remote.iter().cloned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(tag: &str, files: &[(&str, &str)]) -> PathBuf {
        let d = std::env::temp_dir().join(format!("eksguard-kz-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        for (rel, text) in files {
            let p = d.join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        d
    }

    fn names(objects: &[serde_json::Value]) -> Vec<String> {
        let mut n: Vec<String> = objects
            .iter()
            .map(|o| o["metadata"]["name"].as_str().unwrap().to_string())
            .collect();
        n.sort();
        n
    }

    #[test]
    fn generated_names_carry_kustomizes_hash() {
        // The names `kubectl kustomize` gives these generators.
        let d = dir(
            "gen",
            &[(
                "kustomization.yaml",
                "secretGenerator:\n- name: s\n  literals: [a=b]\n- name: t\n  type: kubernetes.io/tls\n  literals: [tls.crt=x, tls.key=y]\nconfigMapGenerator:\n- name: c\n  literals: [k=\"<v&>\"]\n",
            )],
        );
        let built = build_json(&d, &LoadOptions::default()).unwrap();
        assert_eq!(
            names(&built),
            ["c-b62b7c6cb7", "s-k695gkmbtk", "t-f4c6k54dt5"]
        );
        let c = built.iter().find(|o| o["kind"] == "ConfigMap").unwrap();
        assert_eq!(c["data"]["k"], "<v&>");
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn patches_merge_lists_by_key_in_kustomizes_order_and_json_patches_apply() {
        let d = dir(
            "patch",
            &[
                (
                    "kustomization.yaml",
                    "resources: [d.yaml]\npatches:\n- patch: |-\n    apiVersion: apps/v1\n    kind: Deployment\n    metadata: {name: d}\n    spec:\n      template:\n        spec:\n          containers:\n          - name: c\n            env:\n            - {name: C, value: \"3x\"}\n            - {name: D, value: \"4\"}\n          - name: z\n            image: z\n- target: {kind: Deployment, name: \"d.*\"}\n  patch: |-\n    - op: add\n      path: /spec/replicas\n      value: 3\n    - op: remove\n      path: /spec/template/spec/containers/2/image\n",
                ),
                (
                    "d.yaml",
                    "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec:\n  template:\n    spec:\n      containers:\n      - name: a\n        image: a\n      - name: c\n        image: c\n        env:\n        - {name: A, value: \"1\"}\n        - {name: C, value: \"3\"}\n",
                ),
            ],
        );
        let built = build_json(&d, &LoadOptions::default()).unwrap();
        // As `kubectl kustomize` orders them: the patch's items first, then the others.
        let spec = &built[0]["spec"];
        let containers: Vec<&str> = spec["template"]["spec"]["containers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert_eq!(containers, ["c", "z", "a"]);
        let env = &spec["template"]["spec"]["containers"][0]["env"];
        assert_eq!(
            env,
            &serde_json::json!([
                {"name": "C", "value": "3x"},
                {"name": "D", "value": "4"},
                {"name": "A", "value": "1"}
            ])
        );
        assert_eq!(spec["replicas"], 3);
        assert!(spec["template"]["spec"]["containers"][2]
            .get("image")
            .is_none());
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn a_base_multiplied_at_every_level_stops_at_the_document_bound() {
        let mut files = vec![(
            "l20/kustomization.yaml".to_string(),
            "resources: [p.yaml]\n".to_string(),
        )];
        files.push((
            "l20/p.yaml".into(),
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: p}\n".into(),
        ));
        for i in 0..20 {
            files.push((
                format!("l{i}/kustomization.yaml"),
                format!("resources: [../l{n}, ../l{n}]\n", n = i + 1),
            ));
        }
        let refs: Vec<(&str, &str)> = files
            .iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect();
        let d = dir("bomb", &refs);
        let err = build_json(&d.join("l0"), &LoadOptions::default()).unwrap_err();
        assert!(err.contains("more than 100000 documents"), "{err}");
        std::fs::remove_dir_all(&d).unwrap();
    }
}
