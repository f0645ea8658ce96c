//! Pod-spec views over every workload kind, with container security settings resolved the
//! way Kubernetes resolves them (the container's value wins over the pod's).

use std::collections::{HashMap, HashSet};

use crate::inventory::Inventory;
use crate::node::Node;
use crate::object::{Object, ObjectId};
use crate::path::FieldPath;

pub use crate::kinds::WORKLOAD_KINDS;

/// Workloads run by a controller that is itself among the objects: the pods of a
/// ReplicaSet, StatefulSet, DaemonSet or Job, the ReplicaSets of a Deployment, the Jobs of
/// a CronJob. Their pod spec comes from the owner's template, so findings belong on the
/// owner alone, unless the workload's security settings differ from the template (see
/// `same_security_settings`); a workload whose controller is absent (a bare pod, a ReplicaSet scanned
/// without its Deployment, a static pod owned by its Node) is its own reporting point.
/// The owner is matched by UID when both sides carry one, else by kind, name and
/// namespace.
pub fn controlled_workloads(inv: &Inventory) -> HashSet<ObjectId> {
    let mut by_uid: HashMap<&str, &Object> = HashMap::new();
    let mut by_name: HashMap<(&str, Option<&str>, &str), &Object> = HashMap::new();
    for o in inv
        .objects
        .iter()
        .filter(|o| WORKLOAD_KINDS.contains(&&*o.kind))
    {
        if let Some(uid) = o.metadata().get("uid").and_then(Node::as_str) {
            by_uid.insert(uid, o);
        }
        by_name.insert((&o.kind, o.ns(), &o.name), o);
    }
    let mut out = HashSet::new();
    for o in inv
        .objects
        .iter()
        .filter(|o| WORKLOAD_KINDS.contains(&&*o.kind))
    {
        let owner = o
            .metadata()
            .get("ownerReferences")
            .map(Node::items)
            .unwrap_or(&[])
            .iter()
            .filter(|r| r.get("controller").and_then(Node::as_bool) == Some(true))
            .find_map(|r| {
                let uid = r
                    .get("uid")
                    .and_then(Node::as_str)
                    .filter(|u| !u.is_empty());
                match uid {
                    Some(uid) if !by_uid.is_empty() && by_uid.contains_key(uid) => {
                        by_uid.get(uid).copied()
                    }
                    _ => {
                        let kind = r.get("kind").and_then(Node::as_str).unwrap_or("");
                        let name = r.get("name").and_then(Node::as_str).unwrap_or("");
                        by_name.get(&(kind, o.ns(), name)).copied()
                    }
                }
            });
        if owner.is_some_and(|owner| same_security_settings(o, owner)) {
            out.insert(o.id);
        }
    }
    out
}

/// Whether a controlled workload runs what its controller's template says, as far as
/// security goes: the same containers with the same securityContext, and the same host
/// namespaces, host paths and pod securityContext. A mutating webhook that injects a
/// sidecar or edits a securityContext, or a debug container added to a running pod, makes
/// them differ; the workload is then reported itself, since its owner's findings would not
/// show it. Fields the API server fills in (service account token volumes, image pull
/// policies, an empty pod securityContext) do not count.
fn same_security_settings(o: &Object, owner: &Object) -> bool {
    match (o.pod_spec(), owner.pod_spec()) {
        (Some(mine), Some(theirs)) => security_settings(&mine) == security_settings(&theirs),
        _ => true,
    }
}

type SecuritySettings = (
    Vec<(String, serde_json::Value)>,
    [bool; 3],
    Vec<String>,
    serde_json::Value,
);

fn security_settings(spec: &PodSpecView<'_>) -> SecuritySettings {
    let non_empty = |n: Option<&Node>| {
        n.map(Node::to_json)
            .filter(|v| v.as_object().is_none_or(|m| !m.is_empty()))
            .unwrap_or(serde_json::Value::Null)
    };
    let mut containers: Vec<(String, serde_json::Value)> = spec
        .containers()
        .map(|c| (c.name().to_string(), non_empty(c.security_context())))
        .collect();
    containers.sort_by(|a, b| a.0.cmp(&b.0));
    let hosts = ["hostNetwork", "hostPID", "hostIPC"].map(|f| spec.bool_field(f));
    let mut host_paths: Vec<String> = spec
        .volumes()
        .filter_map(|(_, v)| v.at("hostPath.path").and_then(Node::as_str))
        .map(str::to_string)
        .collect();
    host_paths.sort();
    (
        containers,
        hosts,
        host_paths,
        non_empty(spec.security_context()),
    )
}

/// Pod-level securityContext fields that containers inherit.
const INHERITED: &[&str] = &[
    "runAsUser",
    "runAsGroup",
    "runAsNonRoot",
    "seccompProfile",
    "seLinuxOptions",
    "appArmorProfile",
    "windowsOptions",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContainerKind {
    Init,
    Regular,
    Ephemeral,
}

impl ContainerKind {
    pub fn field(self) -> &'static str {
        match self {
            ContainerKind::Init => "initContainers",
            ContainerKind::Regular => "containers",
            ContainerKind::Ephemeral => "ephemeralContainers",
        }
    }

    /// The word used in messages: "init container `x`".
    pub fn noun(self) -> &'static str {
        match self {
            ContainerKind::Init => "init container",
            ContainerKind::Regular => "container",
            ContainerKind::Ephemeral => "ephemeral container",
        }
    }
}

/// A pod spec inside any workload, with the path that leads to it.
#[derive(Debug, Clone)]
pub struct PodSpecView<'a> {
    pub spec: &'a Node,
    pub path: FieldPath,
    /// The pod's metadata (the template's for controllers, the object's for a Pod).
    pub meta: &'a Node,
    pub meta_path: FieldPath,
}

impl Object {
    /// The pod spec of a workload, or `None` for other kinds (or a template-less Rollout).
    pub fn pod_spec(&self) -> Option<PodSpecView<'_>> {
        let template = crate::kinds::get(&self.kind)?.pod_template?;
        if template.is_empty() {
            return self.root.get("spec").map(|spec| PodSpecView {
                spec,
                path: FieldPath::parse("spec"),
                meta: self.metadata(),
                meta_path: FieldPath::parse("metadata"),
            });
        }
        let tpl = self.root.at(template)?;
        let spec = tpl.get("spec")?;
        let base = FieldPath::parse(template);
        Some(PodSpecView {
            spec,
            path: base.key("spec"),
            meta: tpl.get("metadata").unwrap_or(Node::null()),
            meta_path: base.key("metadata"),
        })
    }
}

impl<'a> PodSpecView<'a> {
    pub fn field(&self, name: &str) -> Option<&'a Node> {
        self.spec.get(name)
    }

    pub fn field_path(&self, rest: &str) -> FieldPath {
        self.path.join(rest)
    }

    pub fn bool_field(&self, name: &str) -> bool {
        self.field(name).and_then(Node::as_bool).unwrap_or(false)
    }

    pub fn security_context(&self) -> Option<&'a Node> {
        self.spec.get("securityContext")
    }

    pub fn annotation(&self, key: &str) -> Option<&'a str> {
        self.meta
            .get("annotations")
            .and_then(|a| a.get(key))
            .and_then(Node::as_str)
    }

    pub fn labels(&self) -> &'a Node {
        self.meta.get("labels").unwrap_or(Node::null())
    }

    /// Init, regular and ephemeral containers, in that order.
    pub fn containers(&self) -> impl Iterator<Item = ContainerView<'a>> + '_ {
        [
            ContainerKind::Init,
            ContainerKind::Regular,
            ContainerKind::Ephemeral,
        ]
        .into_iter()
        .flat_map(move |kind| {
            let list = self.spec.get(kind.field()).map(Node::items).unwrap_or(&[]);
            list.iter().enumerate().map(move |(i, node)| ContainerView {
                node,
                kind,
                path: self.path.key(kind.field()).index(i),
                pod_sc: self.security_context(),
                pod_sc_path: self.path.key("securityContext"),
            })
        })
    }

    pub fn volumes(&self) -> impl Iterator<Item = (FieldPath, &'a Node)> + '_ {
        let list = self.spec.get("volumes").map(Node::items).unwrap_or(&[]);
        list.iter()
            .enumerate()
            .map(move |(i, v)| (self.path.key("volumes").index(i), v))
    }

    /// The service account the pod runs as (`default` when none is named).
    pub fn service_account(&self) -> &'a str {
        self.field("serviceAccountName")
            .or_else(|| self.field("serviceAccount"))
            .and_then(Node::as_str)
            .filter(|s| !s.is_empty())
            .unwrap_or("default")
    }
}

/// One container with the pod-level securityContext it inherits.
#[derive(Debug, Clone)]
pub struct ContainerView<'a> {
    pub node: &'a Node,
    pub kind: ContainerKind,
    pub path: FieldPath,
    pod_sc: Option<&'a Node>,
    pod_sc_path: FieldPath,
}

impl<'a> ContainerView<'a> {
    pub fn name(&self) -> &'a str {
        self.node.get("name").and_then(Node::as_str).unwrap_or("")
    }

    pub fn image(&self) -> Option<&'a str> {
        self.node.get("image").and_then(Node::as_str)
    }

    /// "container `app`", "init container `setup`".
    pub fn describe(&self) -> String {
        format!("{} `{}`", self.kind.noun(), self.name())
    }

    pub fn path_to(&self, rest: &str) -> FieldPath {
        self.path.join(rest)
    }

    pub fn security_context(&self) -> Option<&'a Node> {
        self.node.get("securityContext")
    }

    /// A container-only securityContext field with its path (present or not).
    pub fn sc_field(&self, name: &str) -> (Option<&'a Node>, FieldPath) {
        (
            self.security_context().and_then(|sc| sc.get(name)),
            self.path.key("securityContext").key(name),
        )
    }

    /// A container-only boolean securityContext field with its path.
    pub fn sc_bool(&self, name: &str) -> (Option<bool>, FieldPath) {
        let (v, p) = self.sc_field(name);
        (v.and_then(Node::as_bool), p)
    }

    /// The effective value of a securityContext field: the container's, else the pod's for
    /// fields Kubernetes inherits. The path names where the value came from, or the
    /// container's field when neither sets it.
    pub fn effective(&self, name: &str) -> (Option<&'a Node>, FieldPath) {
        let (own, own_path) = self.sc_field(name);
        if own.is_some_and(|n| !n.is_null()) {
            return (own, own_path);
        }
        if INHERITED.contains(&name) {
            if let Some(v) = self.pod_sc.and_then(|sc| sc.get(name)) {
                if !v.is_null() {
                    return (Some(v), self.pod_sc_path.key(name));
                }
            }
        }
        (None, own_path)
    }

    pub fn effective_bool(&self, name: &str) -> (Option<bool>, FieldPath) {
        let (v, p) = self.effective(name);
        (v.and_then(Node::as_bool), p)
    }

    pub fn effective_i64(&self, name: &str) -> (Option<i64>, FieldPath) {
        let (v, p) = self.effective(name);
        (v.and_then(Node::as_i64), p)
    }

    pub fn resources(&self) -> &'a Node {
        self.node.get("resources").unwrap_or(Node::null())
    }

    /// Capability names under `securityContext.capabilities.<list>` (`add` or `drop`),
    /// normalised to upper case without a `CAP_` prefix, with the path of each.
    pub fn capabilities(&self, list: &str) -> Vec<(String, FieldPath)> {
        let base = self
            .path
            .key("securityContext")
            .key("capabilities")
            .key(list);
        self.security_context()
            .and_then(|sc| sc.get("capabilities"))
            .and_then(|c| c.get(list))
            .map(Node::items)
            .unwrap_or(&[])
            .iter()
            .enumerate()
            .filter_map(|(i, n)| {
                let s = n.as_str()?.trim().to_ascii_uppercase();
                let s = s.strip_prefix("CAP_").map(str::to_string).unwrap_or(s);
                Some((s, base.index(i)))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::object::Source;
    use crate::yaml::{parse_documents, ParseLimits};

    fn inventory(text: &str) -> Inventory {
        let mut inv = Inventory::default();
        for doc in parse_documents(text, true, ParseLimits::default()) {
            let root = doc.unwrap().root;
            inv.push(Object::from_node(root, Source::Live, "default").unwrap());
        }
        inv
    }

    fn names(inv: &Inventory, ids: &HashSet<ObjectId>) -> Vec<String> {
        let mut v: Vec<String> = ids.iter().map(|id| inv.get(*id).display_name()).collect();
        v.sort();
        v
    }

    #[test]
    fn controlled_workloads_follow_present_controllers_only() {
        let inv = inventory(
            "kind: Deployment\napiVersion: apps/v1\nmetadata: {name: web, namespace: a, uid: d1}\n---\n\
             kind: ReplicaSet\napiVersion: apps/v1\nmetadata: {name: web-1, namespace: a, uid: r1, ownerReferences: [{kind: Deployment, name: web, uid: d1, controller: true}]}\n---\n\
             kind: Pod\napiVersion: v1\nmetadata: {name: web-1-x, namespace: a, ownerReferences: [{kind: ReplicaSet, name: web-1, uid: r1, controller: true}]}\n---\n\
             kind: Pod\napiVersion: v1\nmetadata: {name: bare, namespace: a}\n---\n\
             kind: Pod\napiVersion: v1\nmetadata: {name: static, namespace: a, ownerReferences: [{kind: Node, name: n1, controller: true}]}\n---\n\
             kind: Pod\napiVersion: v1\nmetadata: {name: other-ns, namespace: b, ownerReferences: [{kind: ReplicaSet, name: web-1, controller: true}]}\n---\n\
             kind: Pod\napiVersion: v1\nmetadata: {name: not-controller, namespace: a, ownerReferences: [{kind: ReplicaSet, name: web-1}]}\n---\n\
             kind: Job\napiVersion: batch/v1\nmetadata: {name: j, namespace: a, ownerReferences: [{kind: CronJob, name: cj, controller: true}]}\n",
        );
        let ids = controlled_workloads(&inv);
        assert_eq!(
            names(&inv, &ids),
            ["Pod/a/web-1-x", "ReplicaSet/a/web-1"],
            "a Job whose CronJob is absent, bare and static pods stay"
        );
    }

    #[test]
    fn workloads_that_diverge_from_their_template_stay() {
        let template =
            "{metadata: {labels: {app: web}}, spec: {containers: [{name: app, image: web:1}]}}";
        let inv = inventory(&format!(
            "kind: ReplicaSet\napiVersion: apps/v1\nmetadata: {{name: web-1, namespace: a, uid: r1}}\nspec: {{template: {template}}}\n---\n\
             kind: Pod\napiVersion: v1\nmetadata: {{name: same, namespace: a, ownerReferences: [{{kind: ReplicaSet, name: web-1, uid: r1, controller: true}}]}}\n\
             spec: {{securityContext: {{}}, containers: [{{name: app, image: web:1, imagePullPolicy: IfNotPresent}}], volumes: [{{name: kube-api-access, projected: {{sources: []}}}}]}}\n---\n\
             kind: Pod\napiVersion: v1\nmetadata: {{name: injected, namespace: a, ownerReferences: [{{kind: ReplicaSet, name: web-1, uid: r1, controller: true}}]}}\n\
             spec: {{initContainers: [{{name: mesh-init, image: mesh:1, securityContext: {{capabilities: {{add: [NET_ADMIN]}}}}}}], containers: [{{name: app, image: web:1}}]}}\n---\n\
             kind: Pod\napiVersion: v1\nmetadata: {{name: edited, namespace: a, ownerReferences: [{{kind: ReplicaSet, name: web-1, uid: r1, controller: true}}]}}\n\
             spec: {{containers: [{{name: app, image: web:1, securityContext: {{privileged: true}}}}]}}\n---\n\
             kind: Pod\napiVersion: v1\nmetadata: {{name: debugged, namespace: a, ownerReferences: [{{kind: ReplicaSet, name: web-1, uid: r1, controller: true}}]}}\n\
             spec: {{containers: [{{name: app, image: web:1}}], ephemeralContainers: [{{name: debugger, image: busybox}}]}}\n"
        ));
        let ids = controlled_workloads(&inv);
        assert_eq!(names(&inv, &ids), ["Pod/a/same"]);
    }
}
