//! Namespace-per-tenant isolation: the namespace with Pod Security Admission labels,
//! quota and defaults, a scoped Role and its binding, and network policies.
//!
//! # Tenant file
//!
//! A YAML list; each entry takes the command-line flags as keys, all but `name` optional:
//!
//! ```yaml
//! - name: team-a
//!   groups: [team-a-devs]          # RBAC groups bound to the tenant role
//!   users: [alice@example.com]
//!   cpu: "4"                       # quota on requests and limits
//!   memory: 8Gi
//!   pods: 50
//!   pss: restricted                # or baseline
//!   nodeSelector: {pool: team-a}   # pods pinned to these nodes
//!   tolerations: ["dedicated=team-a:NoSchedule"]
//! ```
//!
//! # Node isolation
//!
//! A node selector and tolerations become the namespace annotations
//! `scheduler.alpha.kubernetes.io/node-selector` and
//! `scheduler.alpha.kubernetes.io/defaultTolerations`. They only act when the API server
//! runs the `PodNodeSelector` and `PodTolerationRestriction` admission plugins, which EKS
//! does not enable; elsewhere, pair them with a policy engine that injects the same.
//!
//! # The tenant role
//!
//! Like the built-in `edit` ClusterRole, scoped to the namespace, minus what lets a tenant
//! leave it: no reading Secrets (write-only, so apps can still be configured), no
//! `escalate`, `bind` or `impersonate`, no service account tokens, no `pods/exec`,
//! `pods/attach` or `pods/portforward`, and no NetworkPolicy, ResourceQuota or
//! LimitRange writes, so the isolation below stays as generated. Creating pods and
//! controllers is what a tenant is for; the Role says so in an `eksguard.io/ignore`
//! annotation for IAM014, and Pod Security Admission bounds what those pods may do.

use std::fmt;

use eksguard_model::yaml::{parse_documents, ParseLimits};
use eksguard_model::{Node, Value};

use crate::yaml::{clean, documents, Yaml};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pss {
    Restricted,
    Baseline,
}

impl Pss {
    pub fn as_str(self) -> &'static str {
        match self {
            Pss::Restricted => "restricted",
            Pss::Baseline => "baseline",
        }
    }

    pub fn parse(s: &str) -> Result<Pss, String> {
        match s {
            "restricted" => Ok(Pss::Restricted),
            "baseline" => Ok(Pss::Baseline),
            _ => Err(format!(
                "pod security level `{}`: expected restricted or baseline",
                clean(s)
            )),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Toleration {
    pub key: String,
    /// None: the `Exists` operator.
    pub value: Option<String>,
    pub effect: String,
}

impl Toleration {
    /// `key=value:Effect` or `key:Effect`.
    pub fn parse(s: &str) -> Result<Toleration, String> {
        let shown = clean(s);
        let bad = || format!("toleration `{shown}`: expected key=value:Effect or key:Effect");
        let (kv, effect) = s.rsplit_once(':').ok_or_else(bad)?;
        if !["NoSchedule", "PreferNoSchedule", "NoExecute"].contains(&effect) {
            return Err(format!(
                "toleration `{shown}`: effect must be NoSchedule, PreferNoSchedule or NoExecute"
            ));
        }
        let (key, value) = match kv.split_once('=') {
            Some((k, v)) => (k, Some(v.to_string())),
            None => (kv, None),
        };
        if key.is_empty() {
            return Err(bad());
        }
        Ok(Toleration {
            key: key.to_string(),
            value,
            effect: effect.to_string(),
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant {
    pub name: String,
    pub groups: Vec<String>,
    pub users: Vec<String>,
    pub cpu: String,
    pub memory: String,
    pub pods: u32,
    pub node_selector: Vec<(String, String)>,
    pub tolerations: Vec<Toleration>,
    pub pss: Pss,
}

impl Tenant {
    /// A tenant with the default quota: 4 CPUs, 8Gi, 50 pods, restricted.
    pub fn new(name: impl Into<String>) -> Tenant {
        Tenant {
            name: name.into(),
            groups: Vec::new(),
            users: Vec::new(),
            cpu: "4".into(),
            memory: "8Gi".into(),
            pods: 50,
            node_selector: Vec::new(),
            tolerations: Vec::new(),
            pss: Pss::Restricted,
        }
    }

    /// Checks what the API server would reject, and names it can't have.
    pub fn validate(&self) -> Result<(), String> {
        let n = &self.name;
        let shown = clean(n);
        let label_ok = !n.is_empty()
            && n.len() <= 63
            && n.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !n.starts_with('-')
            && !n.ends_with('-');
        if !label_ok {
            return Err(format!(
                "tenant name `{shown}` is not a DNS label (lowercase letters, digits and `-`, at most 63)"
            ));
        }
        if n == "default" || n.starts_with("kube-") {
            return Err(format!(
                "tenant name `{shown}` is a system namespace; tenants need their own"
            ));
        }
        Ok(())
    }
}

/// `key=value`, for `--node-selector`.
pub fn parse_selector(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(format!("node selector `{}`: expected key=value", clean(s))),
    }
}

/// A tenant file error, with its line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct FileError {
    pub line: u32,
    pub message: String,
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

fn err(node: &Node, message: impl Into<String>) -> FileError {
    FileError {
        line: node.pos.line,
        message: message.into(),
    }
}

fn string(node: &Node, what: &str) -> Result<String, FileError> {
    node.scalar_text()
        .filter(|_| !matches!(node.value, Value::Null | Value::Seq(_) | Value::Map(_)))
        .ok_or_else(|| err(node, format!("`{what}` must be a string")))
}

fn strings(node: &Node, what: &str) -> Result<Vec<String>, FileError> {
    match &node.value {
        Value::Seq(items) => items.iter().map(|i| string(i, what)).collect(),
        _ => Ok(vec![string(node, what)?]),
    }
}

/// Parses a tenant file (see the module documentation).
pub fn parse_file(text: &str) -> Result<Vec<Tenant>, FileError> {
    let docs = parse_documents(text, false, ParseLimits::default());
    let root = match docs.into_iter().next() {
        None => return Ok(Vec::new()),
        Some(Err(e)) => {
            return Err(FileError {
                line: e.line,
                message: e.message,
            })
        }
        Some(Ok(d)) => d.root,
    };
    let Value::Seq(items) = &root.value else {
        return Err(err(&root, "expected a list of tenants"));
    };
    let mut out = Vec::new();
    for item in items {
        if !item.is_map() {
            return Err(err(item, "a tenant must be a mapping with at least `name`"));
        }
        let name = item
            .get("name")
            .ok_or_else(|| err(item, "tenant without `name`"))?;
        let mut t = Tenant::new(string(name, "name")?);
        for e in item.entries() {
            let v = &e.value;
            let at = |m: String| FileError {
                line: v.pos.line.max(e.key_pos.line),
                message: m,
            };
            match &*e.key {
                "name" => {}
                "groups" => t.groups = strings(v, "groups")?,
                "users" => t.users = strings(v, "users")?,
                "cpu" => t.cpu = string(v, "cpu")?,
                "memory" => t.memory = string(v, "memory")?,
                "pods" => {
                    t.pods = v
                        .as_i64()
                        .and_then(|p| u32::try_from(p).ok())
                        .ok_or_else(|| err(v, "`pods` must be a whole number"))?
                }
                "pss" => t.pss = Pss::parse(&string(v, "pss")?).map_err(at)?,
                "nodeSelector" => {
                    if !v.is_map() {
                        return Err(err(v, "`nodeSelector` must be a mapping"));
                    }
                    for s in v.entries() {
                        t.node_selector
                            .push((s.key.to_string(), string(&s.value, "nodeSelector")?));
                    }
                }
                "tolerations" => {
                    for s in strings(v, "tolerations")? {
                        t.tolerations.push(Toleration::parse(&s).map_err(at)?);
                    }
                }
                other => {
                    return Err(FileError {
                        line: e.key_pos.line,
                        message: format!("unknown tenant key `{}`", clean(other)),
                    })
                }
            }
        }
        t.validate().map_err(|m| err(name, m))?;
        out.push(t);
    }
    Ok(out)
}

fn meta(name: &str, ns: &str, extra: Vec<(&str, Yaml)>) -> Yaml {
    let mut m = vec![("name", Yaml::str(name)), ("namespace", Yaml::str(ns))];
    m.extend(extra);
    Yaml::map(m)
}

fn tenant_label(t: &Tenant) -> (&'static str, Yaml) {
    (
        "labels",
        Yaml::map([("eksguard.io/tenant", Yaml::str(&t.name))]),
    )
}

/// The tenant's documents, in apply order.
pub fn documents_for(t: &Tenant) -> Vec<Yaml> {
    let ns = t.name.as_str();
    let level = t.pss.as_str();
    let mut labels = vec![("eksguard.io/tenant", Yaml::str(ns))];
    for mode in ["enforce", "audit", "warn"] {
        labels.push((
            match mode {
                "enforce" => "pod-security.kubernetes.io/enforce",
                "audit" => "pod-security.kubernetes.io/audit",
                _ => "pod-security.kubernetes.io/warn",
            },
            Yaml::str(level),
        ));
        labels.push((
            match mode {
                "enforce" => "pod-security.kubernetes.io/enforce-version",
                "audit" => "pod-security.kubernetes.io/audit-version",
                _ => "pod-security.kubernetes.io/warn-version",
            },
            Yaml::str("latest"),
        ));
    }
    let mut ns_meta = vec![("name", Yaml::str(ns)), ("labels", Yaml::map(labels))];
    let mut annotations = Vec::new();
    if !t.node_selector.is_empty() {
        let sel: Vec<String> = t
            .node_selector
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        annotations.push((
            "scheduler.alpha.kubernetes.io/node-selector",
            Yaml::str(sel.join(",")),
        ));
    }
    if !t.tolerations.is_empty() {
        let tols: Vec<serde_json::Value> = t
            .tolerations
            .iter()
            .map(|tol| match &tol.value {
                Some(v) => serde_json::json!({"key": tol.key, "operator": "Equal", "value": v, "effect": tol.effect}),
                None => serde_json::json!({"key": tol.key, "operator": "Exists", "effect": tol.effect}),
            })
            .collect();
        annotations.push((
            "scheduler.alpha.kubernetes.io/defaultTolerations",
            Yaml::str(serde_json::Value::Array(tols).to_string()),
        ));
    }
    if !annotations.is_empty() {
        ns_meta.push(("annotations", Yaml::map(annotations)));
    }
    let mut docs = vec![Yaml::map([
        ("apiVersion", Yaml::str("v1")),
        ("kind", Yaml::str("Namespace")),
        ("metadata", Yaml::map(ns_meta)),
    ])];

    docs.push(Yaml::map([
        ("apiVersion", Yaml::str("v1")),
        ("kind", Yaml::str("ResourceQuota")),
        ("metadata", meta("tenant-quota", ns, vec![tenant_label(t)])),
        (
            "spec",
            Yaml::map([(
                "hard",
                Yaml::map([
                    ("requests.cpu", Yaml::str(&t.cpu)),
                    ("requests.memory", Yaml::str(&t.memory)),
                    ("limits.cpu", Yaml::str(&t.cpu)),
                    ("limits.memory", Yaml::str(&t.memory)),
                    ("pods", Yaml::Int(i64::from(t.pods))),
                ]),
            )]),
        ),
    ]));

    // Defaults so pods that name no resources still fit the quota (which otherwise
    // rejects them) and are not BestEffort.
    docs.push(Yaml::map([
        ("apiVersion", Yaml::str("v1")),
        ("kind", Yaml::str("LimitRange")),
        (
            "metadata",
            meta("tenant-defaults", ns, vec![tenant_label(t)]),
        ),
        (
            "spec",
            Yaml::map([(
                "limits",
                Yaml::seq([Yaml::map([
                    ("type", Yaml::str("Container")),
                    (
                        "default",
                        Yaml::map([("cpu", Yaml::str("500m")), ("memory", Yaml::str("512Mi"))]),
                    ),
                    (
                        "defaultRequest",
                        Yaml::map([("cpu", Yaml::str("100m")), ("memory", Yaml::str("128Mi"))]),
                    ),
                ])]),
            )]),
        ),
    ]));

    docs.push(role(t));
    let subjects: Vec<Yaml> = t
        .groups
        .iter()
        .map(|g| ("Group", g))
        .chain(t.users.iter().map(|u| ("User", u)))
        .map(|(kind, name)| {
            Yaml::map([
                ("kind", Yaml::str(kind)),
                ("name", Yaml::str(name)),
                ("apiGroup", Yaml::str("rbac.authorization.k8s.io")),
            ])
        })
        .collect();
    if !subjects.is_empty() {
        docs.push(Yaml::map([
            ("apiVersion", Yaml::str("rbac.authorization.k8s.io/v1")),
            ("kind", Yaml::str("RoleBinding")),
            ("metadata", meta("tenant-edit", ns, vec![tenant_label(t)])),
            ("subjects", Yaml::Seq(subjects)),
            (
                "roleRef",
                Yaml::map([
                    ("apiGroup", Yaml::str("rbac.authorization.k8s.io")),
                    ("kind", Yaml::str("Role")),
                    ("name", Yaml::str("tenant-edit")),
                ]),
            ),
        ]));
    }

    let both = || Yaml::seq([Yaml::str("Ingress"), Yaml::str("Egress")]);
    docs.push(Yaml::map([
        ("apiVersion", Yaml::str("networking.k8s.io/v1")),
        ("kind", Yaml::str("NetworkPolicy")),
        ("metadata", meta("default-deny", ns, vec![tenant_label(t)])),
        (
            "spec",
            Yaml::map([
                ("podSelector", Yaml::map::<&str>([])),
                ("policyTypes", both()),
            ]),
        ),
    ]));
    let same_ns = || Yaml::seq([Yaml::map([("podSelector", Yaml::map::<&str>([]))])]);
    let port = |proto: &str| Yaml::map([("protocol", Yaml::str(proto)), ("port", Yaml::Int(53))]);
    docs.push(Yaml::map([
        ("apiVersion", Yaml::str("networking.k8s.io/v1")),
        ("kind", Yaml::str("NetworkPolicy")),
        (
            "metadata",
            meta("allow-dns-and-namespace", ns, vec![tenant_label(t)]),
        ),
        (
            "spec",
            Yaml::map([
                ("podSelector", Yaml::map::<&str>([])),
                ("policyTypes", both()),
                ("ingress", Yaml::seq([Yaml::map([("from", same_ns())])])),
                (
                    "egress",
                    Yaml::seq([
                        Yaml::map([("to", same_ns())]),
                        Yaml::map([
                            (
                                "to",
                                Yaml::seq([Yaml::map([(
                                    "namespaceSelector",
                                    Yaml::map([(
                                        "matchLabels",
                                        Yaml::map([(
                                            "kubernetes.io/metadata.name",
                                            Yaml::str("kube-system"),
                                        )]),
                                    )]),
                                )])]),
                            ),
                            ("ports", Yaml::seq([port("UDP"), port("TCP")])),
                        ]),
                    ]),
                ),
            ]),
        ),
    ]));
    docs
}

fn rule(groups: &[&str], resources: &[&str], verbs: &[&str]) -> Yaml {
    let list = |xs: &[&str]| Yaml::seq(xs.iter().map(|x| Yaml::str(*x)));
    Yaml::map([
        ("apiGroups", list(groups)),
        ("resources", list(resources)),
        ("verbs", list(verbs)),
    ])
}

fn role(t: &Tenant) -> Yaml {
    const READ: &[&str] = &["get", "list", "watch"];
    const ALL: &[&str] = &[
        "get", "list", "watch", "create", "update", "patch", "delete",
    ];
    const WRITE: &[&str] = &["create", "update", "patch", "delete"];
    Yaml::map([
        ("apiVersion", Yaml::str("rbac.authorization.k8s.io/v1")),
        ("kind", Yaml::str("Role")),
        (
            "metadata",
            meta(
                "tenant-edit",
                &t.name,
                vec![
                    tenant_label(t),
                    (
                        "annotations",
                        Yaml::map([(
                            "eksguard.io/ignore",
                            Yaml::str(format!(
                                "IAM012,IAM014 -- tenants deploy their own workloads and manage their own Secrets; Pod Security Admission enforces {} in the namespace",
                                t.pss.as_str()
                            )),
                        )]),
                    ),
                ],
            ),
        ),
        (
            "rules",
            Yaml::seq([
                rule(
                    &[""],
                    &[
                        "pods",
                        "configmaps",
                        "services",
                        "persistentvolumeclaims",
                        "serviceaccounts",
                    ],
                    ALL,
                ),
                rule(&[""], &["secrets"], WRITE),
                rule(
                    &[""],
                    &[
                        "pods/log",
                        "pods/status",
                        "events",
                        "endpoints",
                        "resourcequotas",
                        "limitranges",
                    ],
                    READ,
                ),
                rule(
                    &["apps"],
                    &[
                        "deployments",
                        "deployments/scale",
                        "statefulsets",
                        "statefulsets/scale",
                        "replicasets",
                        "daemonsets",
                    ],
                    ALL,
                ),
                rule(&["batch"], &["jobs", "cronjobs"], ALL),
                rule(&["autoscaling"], &["horizontalpodautoscalers"], ALL),
                rule(&["policy"], &["poddisruptionbudgets"], ALL),
                rule(&["networking.k8s.io"], &["ingresses"], ALL),
                rule(&["networking.k8s.io"], &["networkpolicies"], READ),
            ]),
        ),
    ])
}

/// Every tenant's documents as one multi-document YAML stream.
pub fn render(tenants: &[Tenant]) -> String {
    let docs: Vec<Yaml> = tenants.iter().flat_map(documents_for).collect();
    documents(&docs)
}
