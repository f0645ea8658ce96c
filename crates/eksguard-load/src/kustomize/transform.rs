//! The built-in transformers, in the order kustomize runs them, and the last steps of a
//! build: hash suffixes and name references.

use eksguard_model::Pos;

use super::build::{json6902_docs, Builder, Kust, R};
use super::patch;
use super::res::{is_cluster_scoped, Res};
use super::tree::{FileId, Files, K, KV};

pub(crate) fn run(b: &mut Builder<'_>, k: &Kust, ra: &mut Vec<Res>) -> R<()> {
    strategic_merge_patches(b, k, ra)?;
    patches(b, k, ra)?;
    namespace(k, ra);
    prefix_suffix(k, ra);
    labels(k, ra)?;
    annotations(k, ra);
    json6902_patches(b, k, ra)?;
    replicas(k, ra)?;
    images(k, ra)
}

/// The resources an untargeted strategic-merge patch names (by kind, group, name and
/// namespace, current or earlier).
fn patch_targets(ra: &[Res], p: &K) -> Vec<usize> {
    let kind = p.get("kind").and_then(K::as_str).unwrap_or("");
    let group = patch::patch_group(p);
    let name = p.at("metadata/name").and_then(K::text).unwrap_or_default();
    let ns = p.at("metadata/namespace").and_then(K::text);
    ra.iter()
        .enumerate()
        .filter(|(_, r)| r.kind() == kind && r.group() == group && r.was_named(&name))
        .filter(|(_, r)| ns.as_deref().is_none_or(|ns| r.was_in(ns)))
        .map(|(i, _)| i)
        .collect()
}

fn describe(p: &K) -> String {
    let kind = p.get("kind").and_then(K::as_str).unwrap_or("?");
    let name = p.at("metadata/name").and_then(K::text).unwrap_or_default();
    format!("{kind} {name}")
}

fn apply_smp(k: &Kust, ra: &mut Vec<Res>, docs: &[K], at: Pos) -> R<()> {
    for p in docs {
        let targets = patch_targets(ra, p);
        if targets.is_empty() {
            return Err(k.err(
                at,
                format!(
                    "no resource matches the strategic merge patch for {}",
                    describe(p)
                ),
            ));
        }
        // `$patch: delete` at the top removes the object itself.
        if p.get("$patch").and_then(K::as_str) == Some("delete") {
            let mut i = 0;
            ra.retain(|_| {
                i += 1;
                !targets.contains(&(i - 1))
            });
            continue;
        }
        for i in targets {
            let group = ra[i].group().to_string();
            patch::strategic_merge(&mut ra[i].root, p, &group);
        }
    }
    Ok(())
}

fn strategic_merge_patches(b: &mut Builder<'_>, k: &Kust, ra: &mut Vec<Res>) -> R<()> {
    let Some(list) = k.root.get("patchesStrategicMerge") else {
        return Ok(());
    };
    for item in list.items() {
        let docs = match item.as_str() {
            // A file name, or the patch itself as text.
            Some(s) if !s.contains('\n') && !s.trim_start().starts_with(['{', '[']) => {
                let path = super::build::normalize(&k.dir.join(s));
                let name = crate::read::display(&path);
                let text = b.read_text(&path, Some((k, item.pos)))?;
                b.parse(&name, &text)?.into_iter().map(|(_, d)| d).collect()
            }
            _ => b.inline(k, item)?,
        };
        apply_smp(k, ra, &docs, item.pos)?;
    }
    Ok(())
}

/// A `target:` selector of `patches` and `patchesJson6902`.
struct Selector {
    group: Option<String>,
    version: Option<String>,
    kind: Option<regex_lite::Regex>,
    name: Option<regex_lite::Regex>,
    namespace: Option<regex_lite::Regex>,
    labels: Option<String>,
    annotations: Option<String>,
}

impl Selector {
    fn parse(k: &Kust, t: &K) -> R<Selector> {
        let text = |f: &str| t.get(f).and_then(K::text);
        let re = |f: &str| -> R<Option<regex_lite::Regex>> {
            match text(f) {
                None => Ok(None),
                Some(s) => regex_lite::Regex::new(&format!("^(?:{s})$"))
                    .map(Some)
                    .map_err(|e| k.err(t.pos, format!("target {f} `{s}`: {e}"))),
            }
        };
        Ok(Selector {
            group: text("group"),
            version: text("version"),
            kind: re("kind")?,
            name: re("name")?,
            namespace: re("namespace")?,
            labels: text("labelSelector"),
            annotations: text("annotationSelector"),
        })
    }

    fn matches(&self, r: &Res) -> bool {
        let re =
            |re: &Option<regex_lite::Regex>, v: &str| re.as_ref().is_none_or(|re| re.is_match(v));
        let version = r.api_version().rsplit('/').next().unwrap_or("");
        self.group.as_ref().is_none_or(|g| g == r.group())
            && self.version.as_ref().is_none_or(|v| v == version)
            && re(&self.kind, r.kind())
            && (re(&self.name, &r.name()) || r.prev_names.iter().any(|n| re(&self.name, n)))
            && self
                .namespace
                .as_ref()
                .is_none_or(|ns| ns.is_match(&r.namespace().unwrap_or_default()))
            && self.labels.as_ref().is_none_or(|s| selects(s, &r.labels()))
            && self
                .annotations
                .as_ref()
                .is_none_or(|s| selects(s, &r.annotations()))
    }
}

/// A label selector of equalities, inequalities and existence tests (`a=b,c!=d,e,!f`).
fn selects(selector: &str, have: &[(String, String)]) -> bool {
    let get = |k: &str| {
        have.iter()
            .find(|(hk, _)| hk == k.trim())
            .map(|(_, v)| v.as_str())
    };
    selector
        .split(',')
        .filter(|s| !s.trim().is_empty())
        .all(|term| {
            if let Some((k, v)) = term.split_once("!=") {
                get(k) != Some(v.trim())
            } else if let Some((k, v)) = term.split_once("==").or_else(|| term.split_once('=')) {
                get(k) == Some(v.trim())
            } else if let Some(k) = term.trim().strip_prefix('!') {
                get(k).is_none()
            } else {
                get(term).is_some()
            }
        })
}

fn targeted(k: &Kust, ra: &mut [Res], t: &K, docs: &[K], at: Pos) -> R<()> {
    let sel = Selector::parse(k, t)?;
    let json = json6902_docs(docs);
    for r in ra.iter_mut().filter(|r| sel.matches(r)) {
        if json {
            patch::json6902(&mut r.root, &docs[0])
                .map_err(|e| k.err(at, format!("JSON patch on {}: {e}", r.id())))?;
        } else {
            for p in docs {
                let group = r.group().to_string();
                patch::strategic_merge(&mut r.root, p, &group);
            }
        }
    }
    Ok(())
}

fn patches(b: &mut Builder<'_>, k: &Kust, ra: &mut Vec<Res>) -> R<()> {
    let Some(list) = k.root.get("patches") else {
        return Ok(());
    };
    for item in list.items() {
        let docs = b.patch_docs(k, item, "patch")?;
        match item.get("target") {
            Some(t) => targeted(k, ra, t, &docs, item.pos)?,
            None if json6902_docs(&docs) => {
                return Err(k.err(item.pos, "a JSON 6902 patch needs a `target`"))
            }
            None => apply_smp(k, ra, &docs, item.pos)?,
        }
    }
    Ok(())
}

fn json6902_patches(b: &mut Builder<'_>, k: &Kust, ra: &mut [Res]) -> R<()> {
    let Some(list) = k.root.get("patchesJson6902") else {
        return Ok(());
    };
    for item in list.items() {
        let docs = b.patch_docs(k, item, "patch")?;
        let t = item
            .get("target")
            .ok_or_else(|| k.err(item.pos, "a JSON 6902 patch needs a `target`"))?;
        targeted(k, ra, t, &docs, item.pos)?;
    }
    Ok(())
}

/// `namespace:`: every namespaced object moves there; a Namespace object takes the name,
/// and ServiceAccount subjects named `default` follow.
fn namespace(k: &Kust, ra: &mut [Res]) {
    let Some(n) = k.root.get("namespace") else {
        return;
    };
    let Some(ns) = n.text().filter(|s| !s.is_empty()) else {
        return;
    };
    let (pos, file) = (n.pos, n.file);
    for r in ra.iter_mut() {
        let kind = r.kind().to_string();
        if kind == "Namespace" {
            r.set_name(&ns, pos, file);
            continue;
        }
        if !is_cluster_scoped(&kind) {
            r.set_namespace(&ns, pos, file);
        }
        if kind == "RoleBinding" || kind == "ClusterRoleBinding" {
            if let Some(KV::Seq(subjects)) = r.root.get_mut("subjects").map(|s| &mut s.v) {
                for s in subjects.iter_mut() {
                    if s.get("name").and_then(K::as_str) == Some("default") {
                        s.set("namespace", pos, K::str(&ns, pos, file));
                    }
                }
            }
        }
        if kind == "APIService" {
            let svc = r
                .root
                .map_at("spec", pos, file)
                .map_at("service", pos, file);
            svc.set("namespace", pos, K::str(&ns, pos, file));
        }
        if kind == "CustomResourceDefinition" {
            if let Some(svc) = r
                .root
                .at_mut("spec/conversion/webhook/clientConfig/service")
            {
                svc.set("namespace", pos, K::str(&ns, pos, file));
            }
        }
    }
}

fn prefix_suffix(k: &Kust, ra: &mut [Res]) {
    let prefix = k.root.get("namePrefix");
    let suffix = k.root.get("nameSuffix");
    if prefix.is_none() && suffix.is_none() {
        return;
    }
    let text = |n: Option<&K>| n.and_then(K::text).unwrap_or_default();
    let (p, s) = (text(prefix), text(suffix));
    let writer = prefix.or(suffix).expect("one is set");
    for r in ra.iter_mut() {
        let skip = matches!(
            r.kind(),
            "CustomResourceDefinition" | "APIService" | "Namespace"
        );
        if skip {
            continue;
        }
        let name = format!("{p}{}{s}", r.name());
        r.set_name(&name, writer.pos, writer.file);
    }
}

/// Where `commonLabels` (and `labels` with `includeSelectors`) go besides
/// `metadata/labels`: (kinds, path, create when absent).
const SELECTOR_FIELDS: &[(&[&str], &str, bool)] = &[
    (&["Service"], "spec/selector", true),
    (&["ReplicationController"], "spec/selector", true),
    (
        &["Deployment", "ReplicaSet", "DaemonSet", "StatefulSet"],
        "spec/selector/matchLabels",
        true,
    ),
    (&["Job"], "spec/selector/matchLabels", false),
    (&["CronJob"], "spec/jobTemplate/spec/selector/matchLabels", false),
    (&["PodDisruptionBudget"], "spec/selector/matchLabels", false),
    (&["NetworkPolicy"], "spec/podSelector/matchLabels", false),
    (&["NetworkPolicy"], "spec/ingress/from/podSelector/matchLabels", false),
    (&["NetworkPolicy"], "spec/egress/to/podSelector/matchLabels", false),
    (
        &["Deployment", "ReplicaSet", "DaemonSet", "StatefulSet"],
        "spec/template/spec/affinity/podAffinity/preferredDuringSchedulingIgnoredDuringExecution/podAffinityTerm/labelSelector/matchLabels",
        false,
    ),
    (
        &["Deployment", "ReplicaSet", "DaemonSet", "StatefulSet"],
        "spec/template/spec/affinity/podAffinity/requiredDuringSchedulingIgnoredDuringExecution/labelSelector/matchLabels",
        false,
    ),
    (
        &["Deployment", "ReplicaSet", "DaemonSet", "StatefulSet"],
        "spec/template/spec/affinity/podAntiAffinity/preferredDuringSchedulingIgnoredDuringExecution/podAffinityTerm/labelSelector/matchLabels",
        false,
    ),
    (
        &["Deployment", "ReplicaSet", "DaemonSet", "StatefulSet"],
        "spec/template/spec/affinity/podAntiAffinity/requiredDuringSchedulingIgnoredDuringExecution/labelSelector/matchLabels",
        false,
    ),
];

/// Pod templates' metadata (labels and annotations of the pods).
const TEMPLATE_FIELDS: &[(&[&str], &str)] = &[
    (
        &[
            "ReplicationController",
            "Deployment",
            "ReplicaSet",
            "DaemonSet",
            "StatefulSet",
            "Job",
        ],
        "spec/template/metadata",
    ),
    (&["CronJob"], "spec/jobTemplate/metadata"),
    (&["CronJob"], "spec/jobTemplate/spec/template/metadata"),
];

/// Calls `f` on the node at `path` (going into every item of a list on the way),
/// making missing mappings when `create`.
fn at_path(
    k: &mut K,
    segs: &[&str],
    create: bool,
    pos: Pos,
    file: FileId,
    f: &mut dyn FnMut(&mut K),
) {
    if let KV::Seq(items) = &mut k.v {
        for i in items.iter_mut() {
            at_path(i, segs, create, pos, file, f);
        }
        return;
    }
    let Some((first, rest)) = segs.split_first() else {
        f(k);
        return;
    };
    if !k.is_map() {
        return;
    }
    if k.get(first).is_none_or(|v| matches!(v.v, KV::Null)) {
        if !create {
            return;
        }
        k.set(first, pos, K::map(pos, file));
    }
    if let Some(next) = k.get_mut(first) {
        at_path(next, rest, create, pos, file, f);
    }
}

/// Sets each pair (written at its own position) in the mapping `m`.
fn put_all(m: &mut K, pairs: &[(String, K, Pos)]) {
    if !m.is_map() {
        return;
    }
    for (key, value, key_pos) in pairs {
        m.set(key, *key_pos, value.clone());
    }
}

/// The entries of a string map in the kustomization, as values to set.
fn pairs_of(k: &Kust, m: &K, what: &str) -> R<Vec<(String, K, Pos)>> {
    if matches!(m.v, KV::Null) {
        return Ok(Vec::new());
    }
    if !m.is_map() {
        return Err(k.err(m.pos, format!("`{what}` must be a mapping")));
    }
    Ok(m.entries()
        .iter()
        .map(|e| {
            let text = e.value.text().unwrap_or_default();
            (
                e.key.clone(),
                K::str(&text, e.value.pos, e.value.file),
                e.key_pos,
            )
        })
        .collect())
}

fn add_labels(
    ra: &mut [Res],
    pairs: &[(String, K, Pos)],
    selectors: bool,
    templates: bool,
    at: (Pos, FileId),
) {
    let (pos, file) = at;
    for r in ra.iter_mut() {
        let kind = r.kind().to_string();
        at_path(
            &mut r.root,
            &["metadata", "labels"],
            true,
            pos,
            file,
            &mut |m| put_all(m, pairs),
        );
        if selectors {
            for (kinds, path, create) in SELECTOR_FIELDS {
                if kinds.contains(&kind.as_str()) {
                    let segs: Vec<&str> = path.split('/').collect();
                    at_path(&mut r.root, &segs, *create, pos, file, &mut |m| {
                        put_all(m, pairs)
                    });
                }
            }
            if kind == "StatefulSet" {
                at_path(
                    &mut r.root,
                    &["spec", "volumeClaimTemplates", "metadata", "labels"],
                    true,
                    pos,
                    file,
                    &mut |m| put_all(m, pairs),
                );
            }
        }
        if selectors || templates {
            for (kinds, path) in TEMPLATE_FIELDS {
                if kinds.contains(&kind.as_str()) {
                    let mut segs: Vec<&str> = path.split('/').collect();
                    segs.push("labels");
                    at_path(&mut r.root, &segs, true, pos, file, &mut |m| {
                        put_all(m, pairs)
                    });
                }
            }
        }
    }
}

fn labels(k: &Kust, ra: &mut [Res]) -> R<()> {
    if let Some(m) = k.root.get("commonLabels") {
        let pairs = pairs_of(k, m, "commonLabels")?;
        add_labels(ra, &pairs, true, true, (m.pos, m.file));
    }
    if let Some(list) = k.root.get("labels") {
        for item in list.items() {
            let Some(m) = item.get("pairs") else { continue };
            let pairs = pairs_of(k, m, "labels.pairs")?;
            let flag = |f: &str| {
                item.get(f).and_then(|v| match v.v {
                    KV::Bool(b) => Some(b),
                    _ => None,
                }) == Some(true)
            };
            if item.get("fields").is_some() {
                return Err(k.err(
                    item.pos,
                    "`labels` with `fields` is not carried out by eksguard's kustomize build",
                ));
            }
            add_labels(
                ra,
                &pairs,
                flag("includeSelectors"),
                flag("includeTemplates"),
                (m.pos, m.file),
            );
        }
    }
    Ok(())
}

fn annotations(k: &Kust, ra: &mut [Res]) {
    let Some(m) = k.root.get("commonAnnotations") else {
        return;
    };
    let Ok(pairs) = pairs_of(k, m, "commonAnnotations") else {
        return;
    };
    for r in ra.iter_mut() {
        let kind = r.kind().to_string();
        at_path(
            &mut r.root,
            &["metadata", "annotations"],
            true,
            m.pos,
            m.file,
            &mut |n| put_all(n, &pairs),
        );
        for (kinds, path) in TEMPLATE_FIELDS {
            if kinds.contains(&kind.as_str()) {
                let mut segs: Vec<&str> = path.split('/').collect();
                segs.push("annotations");
                at_path(&mut r.root, &segs, true, m.pos, m.file, &mut |n| {
                    put_all(n, &pairs)
                });
            }
        }
    }
}

fn replicas(k: &Kust, ra: &mut [Res]) -> R<()> {
    let Some(list) = k.root.get("replicas") else {
        return Ok(());
    };
    for item in list.items() {
        let name = item.get("name").and_then(K::text).unwrap_or_default();
        let Some(count) = item.get("count") else {
            return Err(k.err(item.pos, "a replicas entry needs `count`"));
        };
        for r in ra.iter_mut().filter(|r| {
            matches!(
                r.kind(),
                "Deployment" | "ReplicaSet" | "StatefulSet" | "ReplicationController"
            ) && r.was_named(&name)
        }) {
            let spec = r.root.map_at("spec", count.pos, count.file);
            spec.set("replicas", count.pos, count.clone());
        }
    }
    Ok(())
}

/// An image reference split into name, tag and digest.
fn split_image(image: &str) -> (&str, Option<&str>, Option<&str>) {
    let (rest, digest) = match image.split_once('@') {
        Some((r, d)) => (r, Some(d)),
        None => (image, None),
    };
    let slash = rest.rfind('/').map_or(0, |i| i + 1);
    match rest[slash..].rfind(':') {
        Some(i) => (&rest[..slash + i], Some(&rest[slash + i + 1..]), digest),
        None => (rest, None, digest),
    }
}

fn images(k: &Kust, ra: &mut [Res]) -> R<()> {
    let Some(list) = k.root.get("images") else {
        return Ok(());
    };
    for item in list.items() {
        let Some(name) = item.get("name").and_then(K::text) else {
            return Err(k.err(item.pos, "an images entry needs `name`"));
        };
        for r in ra.iter_mut() {
            each_container(&mut r.root, &mut |container: &mut K| {
                let Some(current) = container.get("image").and_then(K::as_str) else {
                    return;
                };
                let current = current.to_string();
                let (have, tag, digest) = split_image(&current);
                if have != name {
                    return;
                }
                let get = |f: &str| item.get(f).and_then(K::text);
                let new_name = get("newName").unwrap_or_else(|| have.to_string());
                let (mut tag, mut digest) = (tag.map(str::to_string), digest.map(str::to_string));
                match (get("newTag"), get("digest")) {
                    (Some(t), Some(d)) => (tag, digest) = (Some(t), Some(d)),
                    (Some(t), None) => (tag, digest) = (Some(t), None),
                    (None, Some(d)) => (tag, digest) = (None, Some(d)),
                    (None, None) => {}
                }
                if let (Some(sfx), Some(t)) = (get("tagSuffix"), tag.as_mut()) {
                    t.push_str(&sfx);
                }
                let mut out = new_name;
                if let Some(t) = tag {
                    out = format!("{out}:{t}");
                }
                if let Some(d) = digest {
                    out = format!("{out}@{d}");
                }
                // The image now comes from the kustomization's `images` entry.
                container.set("image", item.pos, K::str(&out, item.pos, item.file));
            });
        }
    }
    Ok(())
}

/// Every container of an object (any `containers` or `initContainers` list).
fn each_container(k: &mut K, f: &mut dyn FnMut(&mut K)) {
    match &mut k.v {
        KV::Map(entries) => {
            for e in entries.iter_mut() {
                if matches!(e.key.as_str(), "containers" | "initContainers") {
                    if let KV::Seq(items) = &mut e.value.v {
                        items.iter_mut().for_each(&mut *f);
                    }
                } else {
                    each_container(&mut e.value, f);
                }
            }
        }
        KV::Seq(items) => items.iter_mut().for_each(|i| each_container(i, f)),
        _ => {}
    }
}

/// The end of a top-level build: generated objects get their hash suffix, then every
/// reference to a renamed object follows it.
pub(crate) fn finish(ra: &mut [Res], _files: &Files) {
    for r in ra.iter_mut().filter(|r| r.hashed) {
        let hash = super::generate::hash(r);
        let name = format!("{}-{hash}", r.name());
        let (pos, file) = r
            .root
            .at("metadata/name")
            .map_or((r.root.pos, r.root.file), |n| (n.pos, n.file));
        r.set_name(&name, pos, file);
    }
    super::nameref::fix(ra);
    // Kustomize writes no empty label or annotation mapping.
    for r in ra.iter_mut() {
        if let Some(meta) = r.root.get_mut("metadata") {
            for field in ["labels", "annotations"] {
                let empty = meta.get(field).is_some_and(|m| {
                    matches!(m.v, KV::Null) || (m.is_map() && m.entries().is_empty())
                });
                if empty {
                    meta.remove(field);
                }
            }
        }
    }
}
