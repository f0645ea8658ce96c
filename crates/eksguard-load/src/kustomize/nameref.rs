//! Name references: once objects are renamed (prefix, suffix, hash), the fields that name
//! them follow, as kustomize's name-reference transformer does.

use super::res::{is_cluster_scoped, Res};
use super::tree::{K, KV};

/// Kinds holding a pod spec, and where.
const POD_SPECS: &[(&str, &str)] = &[
    ("Pod", "spec"),
    ("Deployment", "spec/template/spec"),
    ("ReplicaSet", "spec/template/spec"),
    ("DaemonSet", "spec/template/spec"),
    ("StatefulSet", "spec/template/spec"),
    ("Job", "spec/template/spec"),
    ("ReplicationController", "spec/template/spec"),
    ("CronJob", "spec/jobTemplate/spec/template/spec"),
];

/// Fields of a pod spec naming an object of a kind.
const POD_REFS: &[(&str, &str)] = &[
    ("ConfigMap", "volumes/configMap/name"),
    ("ConfigMap", "volumes/projected/sources/configMap/name"),
    ("ConfigMap", "containers/env/valueFrom/configMapKeyRef/name"),
    (
        "ConfigMap",
        "initContainers/env/valueFrom/configMapKeyRef/name",
    ),
    ("ConfigMap", "containers/envFrom/configMapRef/name"),
    ("ConfigMap", "initContainers/envFrom/configMapRef/name"),
    ("Secret", "volumes/secret/secretName"),
    ("Secret", "volumes/projected/sources/secret/name"),
    ("Secret", "containers/env/valueFrom/secretKeyRef/name"),
    ("Secret", "initContainers/env/valueFrom/secretKeyRef/name"),
    ("Secret", "containers/envFrom/secretRef/name"),
    ("Secret", "initContainers/envFrom/secretRef/name"),
    ("Secret", "imagePullSecrets/name"),
    ("ServiceAccount", "serviceAccountName"),
    ("ServiceAccount", "serviceAccount"),
    (
        "PersistentVolumeClaim",
        "volumes/persistentVolumeClaim/claimName",
    ),
    ("PriorityClass", "priorityClassName"),
];

/// The final name and namespace of the object a reference names.
type Found = Option<(String, Option<String>)>;

type OtherRef = (
    &'static str,
    &'static [&'static str],
    &'static str,
    Option<&'static str>,
    bool,
);

/// Other fields naming objects: (referent kind, referrer kinds, path, the sibling field
/// that must name the referent's kind, whether a sibling `namespace` follows too).
const OTHER_REFS: &[OtherRef] = &[
    (
        "ServiceAccount",
        &["RoleBinding", "ClusterRoleBinding"],
        "subjects/name",
        Some("kind"),
        true,
    ),
    (
        "Role",
        &["RoleBinding"],
        "roleRef/name",
        Some("kind"),
        false,
    ),
    (
        "ClusterRole",
        &["RoleBinding", "ClusterRoleBinding"],
        "roleRef/name",
        Some("kind"),
        false,
    ),
    ("Service", &["StatefulSet"], "spec/serviceName", None, false),
    (
        "Service",
        &["Ingress"],
        "spec/rules/http/paths/backend/service/name",
        None,
        false,
    ),
    (
        "Service",
        &["Ingress"],
        "spec/rules/http/paths/backend/serviceName",
        None,
        false,
    ),
    (
        "Service",
        &["Ingress"],
        "spec/defaultBackend/service/name",
        None,
        false,
    ),
    (
        "Service",
        &["Ingress"],
        "spec/backend/serviceName",
        None,
        false,
    ),
    (
        "Service",
        &[
            "ValidatingWebhookConfiguration",
            "MutatingWebhookConfiguration",
        ],
        "webhooks/clientConfig/service/name",
        None,
        true,
    ),
    ("Service", &["APIService"], "spec/service/name", None, true),
    (
        "Service",
        &["CustomResourceDefinition"],
        "spec/conversion/webhook/clientConfig/service/name",
        None,
        true,
    ),
    ("Secret", &["ServiceAccount"], "secrets/name", None, false),
    (
        "Secret",
        &["ServiceAccount"],
        "imagePullSecrets/name",
        None,
        false,
    ),
    ("Secret", &["Ingress"], "spec/tls/secretName", None, false),
    (
        "Deployment",
        &["HorizontalPodAutoscaler"],
        "spec/scaleTargetRef/name",
        Some("kind"),
        false,
    ),
    (
        "StatefulSet",
        &["HorizontalPodAutoscaler"],
        "spec/scaleTargetRef/name",
        Some("kind"),
        false,
    ),
];

/// A renamed object another may name: its kind, old names, namespaces and final name.
struct Renamed {
    kind: String,
    old: Vec<String>,
    namespaces: Vec<String>,
    cluster: bool,
    name: String,
    ns: Option<String>,
}

pub(crate) fn fix(ra: &mut [Res]) {
    // Every object may be named: a reference without a namespace takes the namespace
    // of the object it names even when that object was not renamed.
    let renamed: Vec<Renamed> = ra
        .iter()
        .map(|r| {
            let mut namespaces = r.prev_namespaces.clone();
            namespaces.push(r.effective_ns());
            Renamed {
                kind: r.kind().to_string(),
                old: r.prev_names.iter().cloned().chain([r.name()]).collect(),
                namespaces,
                cluster: is_cluster_scoped(r.kind()),
                name: r.name(),
                ns: r.namespace(),
            }
        })
        .collect();
    for r in ra.iter_mut() {
        let kind = r.kind().to_string();
        let mut own_ns = r.prev_namespaces.clone();
        own_ns.push(r.effective_ns());
        let cluster_referrer = is_cluster_scoped(&kind);
        if let Some((_, prefix)) = POD_SPECS.iter().find(|(k, _)| *k == kind) {
            for (target, path) in POD_REFS {
                let full = format!("{prefix}/{path}");
                let segs: Vec<&str> = full.split('/').collect();
                update(&mut r.root, &segs, &mut |value, _| {
                    pick(&renamed, target, value, None, &own_ns, cluster_referrer)
                });
            }
        }
        for (target, kinds, path, kind_field, with_ns) in OTHER_REFS {
            if !kinds.contains(&kind.as_str()) {
                continue;
            }
            let segs: Vec<&str> = path.split('/').collect();
            update_with_parent(&mut r.root, &segs, &mut |parent: &mut K| {
                let name_key = segs[segs.len() - 1];
                if let Some(field) = kind_field {
                    if parent.get(field).and_then(K::as_str) != Some(*target) {
                        return;
                    }
                }
                let Some(value) = parent.get(name_key).and_then(K::as_str).map(str::to_string)
                else {
                    return;
                };
                let sibling_ns = parent
                    .get("namespace")
                    .and_then(K::as_str)
                    .map(str::to_string);
                let Some(found) = pick(
                    &renamed,
                    target,
                    &value,
                    if *with_ns {
                        sibling_ns.as_deref()
                    } else {
                        None
                    },
                    &own_ns,
                    cluster_referrer,
                ) else {
                    return;
                };
                let (name, ns) = found;
                set_keep_pos(parent, name_key, &name);
                if *with_ns {
                    if let Some(ns) = ns {
                        set_keep_pos(parent, "namespace", &ns);
                    }
                }
            });
        }
    }
}

/// The final name (and namespace) of the renamed object of `kind` that `value` names.
fn pick(
    renamed: &[Renamed],
    kind: &str,
    value: &str,
    sibling_ns: Option<&str>,
    referrer_ns: &[String],
    cluster_referrer: bool,
) -> Found {
    let candidates: Vec<&Renamed> = renamed
        .iter()
        .filter(|c| c.kind == kind && c.old.iter().any(|o| o == value))
        .filter(|c| {
            c.cluster
                || match sibling_ns {
                    Some(ns) => c.namespaces.iter().any(|n| n == ns),
                    None => {
                        cluster_referrer || c.namespaces.iter().any(|n| referrer_ns.contains(n))
                    }
                }
        })
        .collect();
    // One still named so wins over one that was.
    let c = candidates
        .iter()
        .find(|c| c.name == value)
        .or(candidates.first())?;
    Some((c.name.clone(), c.ns.clone()))
}

/// Replaces the string at `segs` (through lists) by what `f` gives for it.
fn update(k: &mut K, segs: &[&str], f: &mut dyn FnMut(&str, &K) -> Found) {
    update_with_parent(k, segs, &mut |parent| {
        let key = segs[segs.len() - 1];
        let Some(v) = parent.get(key) else { return };
        let Some(text) = v.as_str().map(str::to_string) else {
            return;
        };
        if let Some((name, _)) = f(&text, v) {
            set_keep_pos(parent, key, &name);
        }
    });
}

/// Calls `f` on each mapping holding the last segment of `segs`.
fn update_with_parent(k: &mut K, segs: &[&str], f: &mut dyn FnMut(&mut K)) {
    if let KV::Seq(items) = &mut k.v {
        for i in items.iter_mut() {
            update_with_parent(i, segs, f);
        }
        return;
    }
    match segs {
        [] => {}
        [_last] => {
            if k.is_map() {
                f(k)
            }
        }
        [first, rest @ ..] => {
            if let Some(next) = k.get_mut(first) {
                update_with_parent(next, rest, f);
            }
        }
    }
}

/// Rewrites a string where it stands: the reference is still the one its file wrote.
fn set_keep_pos(parent: &mut K, key: &str, text: &str) {
    if let Some(v) = parent.get_mut(key) {
        if v.as_str() != Some(text) {
            v.v = KV::Str(text.to_string());
        }
    } else if let Some(first) = parent.entries().first().map(|e| (e.key_pos, e.value.file)) {
        parent.set(key, first.0, K::str(text, first.0, first.1));
    }
}
