//! Least-privilege RBAC from observed requests: the Roles, ClusterRole and bindings that
//! allow one subject exactly what it was seen doing.
//!
//! - A request in a namespace goes to that namespace's Role; a request without one (a
//!   cluster-scoped resource, or a list across all namespaces) and every non-resource URL
//!   (query string removed) go to the ClusterRole.
//! - `create` requests carry no name; other names become `resourceNames` only with
//!   [`Options::resource_names`], and a verb seen once without a name drops them.
//! - Verbs are widened as kubectl and client informers need them: `list` and `watch`
//!   come together (`kubectl get -w` and every informer list then watch) and bring `get`
//!   (which reveals nothing `list` does not); `update` and `patch` bring `get`, since
//!   `kubectl apply`, `edit` and `scale` read the object before writing it.
//! - Requests every authenticated user may already make under Kubernetes' default policy
//!   (discovery, health checks) are left out, unless [`Options::keep_default_allowed`].
//! - Rules of one API group with the same verbs and names are merged into one; objects,
//!   rules and lists come out sorted, so the same input gives the same YAML.

use std::collections::{BTreeMap, BTreeSet};

use eksguard_model::rbac::{service_account_of, PolicyRule, RbacModel, RequestAttributes};
use eksguard_model::Inventory;

use crate::yaml::{documents, Yaml};

/// Who the bindings name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    User(String),
    Group(String),
    ServiceAccount { namespace: String, name: String },
}

impl Target {
    /// A user name, or a service account for `system:serviceaccount:NS:NAME`.
    pub fn from_user(user: &str) -> Target {
        match service_account_of(user) {
            Some((ns, name)) => Target::ServiceAccount {
                namespace: ns.to_string(),
                name: name.to_string(),
            },
            None => Target::User(user.to_string()),
        }
    }

    fn label(&self) -> String {
        match self {
            Target::User(u) | Target::Group(u) => u.clone(),
            Target::ServiceAccount { namespace, name } => {
                format!("system:serviceaccount:{namespace}:{name}")
            }
        }
    }

    fn subject(&self) -> Yaml {
        match self {
            Target::User(u) => Yaml::map([
                ("apiGroup", Yaml::str("rbac.authorization.k8s.io")),
                ("kind", Yaml::str("User")),
                ("name", Yaml::str(u)),
            ]),
            Target::Group(g) => Yaml::map([
                ("apiGroup", Yaml::str("rbac.authorization.k8s.io")),
                ("kind", Yaml::str("Group")),
                ("name", Yaml::str(g)),
            ]),
            Target::ServiceAccount { namespace, name } => Yaml::map([
                ("kind", Yaml::str("ServiceAccount")),
                ("name", Yaml::str(name)),
                ("namespace", Yaml::str(namespace)),
            ]),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Options {
    pub target: Target,
    /// Object names are `PREFIX:SUBJECT`, lower-cased, other characters than letters,
    /// digits and `:` turned into `-`.
    pub name_prefix: String,
    /// Keep the names of the objects requested as `resourceNames`.
    pub resource_names: bool,
    /// Keep requests the default policy already allows every authenticated user.
    pub keep_default_allowed: bool,
}

impl Options {
    pub fn new(target: Target) -> Self {
        Options {
            target,
            name_prefix: "eksguard".into(),
            resource_names: false,
            keep_default_allowed: false,
        }
    }

    /// The name of every generated object.
    pub fn object_name(&self) -> String {
        let raw = format!("{}:{}", self.name_prefix, self.target.label());
        raw.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == ':' {
                    c.to_ascii_lowercase()
                } else {
                    '-'
                }
            })
            .collect()
    }
}

/// The generated permissions: rules per namespace, and cluster-wide rules.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Generated {
    pub namespaces: BTreeMap<String, Vec<PolicyRule>>,
    pub cluster: Vec<PolicyRule>,
    /// Observed requests used, and left out as allowed by default.
    pub used: usize,
    pub skipped_default: usize,
}

impl Generated {
    pub fn is_empty(&self) -> bool {
        self.namespaces.is_empty() && self.cluster.is_empty()
    }
}

fn widen(verb: &str) -> &'static [&'static str] {
    match verb {
        "list" | "watch" => &["get", "list", "watch"],
        "update" => &["get", "update"],
        "patch" => &["get", "patch"],
        _ => &[],
    }
}

/// Verbs per (group, resource), each with the names it was used on (`None`: unnamed).
type Atoms = BTreeMap<(String, String), BTreeMap<String, Option<BTreeSet<String>>>>;

#[derive(Default)]
struct Bucket {
    atoms: Atoms,
    urls: BTreeMap<String, BTreeSet<String>>,
}

impl Bucket {
    fn add(&mut self, req: &RequestAttributes, keep_names: bool) {
        if let Some(path) = &req.path {
            let path = path.split('?').next().unwrap_or(path).to_string();
            self.urls.entry(path).or_default().insert(req.verb.clone());
            return;
        }
        let name = match req.verb.as_str() {
            "create" if req.subresource.is_none() => None,
            _ if keep_names => req.name.clone(),
            _ => None,
        };
        let verbs = self
            .atoms
            .entry((req.api_group.clone(), req.combined_resource()))
            .or_default();
        let mut all: Vec<&str> = vec![req.verb.as_str()];
        all.extend(widen(&req.verb));
        for v in all {
            match (verbs.get_mut(v), &name) {
                (Some(None), _) => {}
                (Some(Some(set)), Some(n)) => {
                    set.insert(n.clone());
                }
                (Some(slot), None) => *slot = None,
                (None, n) => {
                    verbs.insert(v.to_string(), n.clone().map(|n| BTreeSet::from([n])));
                }
            }
        }
    }

    /// Compact rules: per group, resources sharing verbs and names share a rule.
    fn rules(&self) -> Vec<PolicyRule> {
        // (group, verbs, names) → resources
        let mut merged: BTreeMap<(String, Vec<String>, Vec<String>), BTreeSet<String>> =
            BTreeMap::new();
        for ((group, resource), verbs) in &self.atoms {
            let mut by_names: BTreeMap<Vec<String>, BTreeSet<String>> = BTreeMap::new();
            for (verb, names) in verbs {
                let key = names
                    .as_ref()
                    .map(|n| n.iter().cloned().collect())
                    .unwrap_or_default();
                by_names.entry(key).or_default().insert(verb.clone());
            }
            for (names, vs) in by_names {
                merged
                    .entry((group.clone(), vs.into_iter().collect(), names))
                    .or_default()
                    .insert(resource.clone());
            }
        }
        let mut rules: Vec<PolicyRule> = merged
            .into_iter()
            .map(|((group, verbs, names), resources)| PolicyRule {
                verbs,
                api_groups: vec![group],
                resources: resources.into_iter().collect(),
                resource_names: names,
                non_resource_urls: Vec::new(),
            })
            .collect();
        rules.sort_by(|a, b| {
            (&a.api_groups, &a.resources, &a.verbs, &a.resource_names).cmp(&(
                &b.api_groups,
                &b.resources,
                &b.verbs,
                &b.resource_names,
            ))
        });
        let mut by_verbs: BTreeMap<Vec<String>, Vec<String>> = BTreeMap::new();
        for (url, verbs) in &self.urls {
            by_verbs
                .entry(verbs.iter().cloned().collect())
                .or_default()
                .push(url.clone());
        }
        rules.extend(by_verbs.into_iter().map(|(verbs, urls)| PolicyRule {
            verbs,
            non_resource_urls: urls,
            ..Default::default()
        }));
        rules
    }
}

/// The permissions that allow `requests` (those of one subject: the caller filters).
pub fn generate(requests: &[RequestAttributes], opts: &Options) -> Generated {
    let defaults = RbacModel::from_inventory(&Inventory::default());
    let mut cluster = Bucket::default();
    let mut namespaces: BTreeMap<String, Bucket> = BTreeMap::new();
    let mut out = Generated::default();
    for req in requests {
        // Asked for any authenticated user, not for this one: its own groups (say
        // system:masters) are what the output is meant to replace.
        let mut probe = req.clone();
        probe.user = "eksguard:any-authenticated-user".into();
        probe.groups = vec!["system:authenticated".into()];
        if let Some(p) = &probe.path {
            probe.path = Some(p.split('?').next().unwrap_or(p).to_string());
        }
        if !opts.keep_default_allowed && !defaults.authorize(&probe).is_empty() {
            out.skipped_default += 1;
            continue;
        }
        out.used += 1;
        match (&req.namespace, req.is_resource_request()) {
            (Some(ns), true) => namespaces
                .entry(ns.clone())
                .or_default()
                .add(req, opts.resource_names),
            _ => cluster.add(req, opts.resource_names),
        }
    }
    out.cluster = cluster.rules();
    out.namespaces = namespaces
        .into_iter()
        .map(|(ns, b)| (ns, b.rules()))
        .collect();
    out
}

fn rule_yaml(r: &PolicyRule) -> Yaml {
    let list = |v: &[String]| Yaml::seq(v.iter().map(Yaml::str));
    let mut m = Yaml::empty_map();
    if r.non_resource_urls.is_empty() {
        m.set("apiGroups", list(&r.api_groups));
        m.set("resources", list(&r.resources));
        if !r.resource_names.is_empty() {
            m.set("resourceNames", list(&r.resource_names));
        }
    } else {
        m.set("nonResourceURLs", list(&r.non_resource_urls));
    }
    m.set("verbs", list(&r.verbs));
    m
}

fn metadata(name: &str, ns: Option<&str>, opts: &Options) -> Yaml {
    let mut m = Yaml::map([("name", Yaml::str(name))]);
    if let Some(ns) = ns {
        m.set("namespace", Yaml::str(ns));
    }
    m.set(
        "labels",
        Yaml::map([("eksguard.io/generated", Yaml::str("true"))]),
    );
    m.set(
        "annotations",
        Yaml::map([
            (
                "eksguard.io/generated-from",
                Yaml::str("observed API requests"),
            ),
            ("eksguard.io/subject", Yaml::str(opts.target.label())),
        ]),
    );
    m
}

fn object(kind: &str, name: &str, ns: Option<&str>, opts: &Options) -> Yaml {
    Yaml::map([
        ("apiVersion", Yaml::str("rbac.authorization.k8s.io/v1")),
        ("kind", Yaml::str(kind)),
        ("metadata", metadata(name, ns, opts)),
    ])
}

/// The objects, in the order Roles, ClusterRole, RoleBindings, ClusterRoleBinding.
pub fn objects(g: &Generated, opts: &Options) -> Vec<Yaml> {
    let name = opts.object_name();
    let mut docs = Vec::new();
    for (ns, rules) in &g.namespaces {
        let mut o = object("Role", &name, Some(ns), opts);
        o.set("rules", Yaml::seq(rules.iter().map(rule_yaml)));
        docs.push(o);
    }
    if !g.cluster.is_empty() {
        let mut o = object("ClusterRole", &name, None, opts);
        o.set("rules", Yaml::seq(g.cluster.iter().map(rule_yaml)));
        docs.push(o);
    }
    let binding = |kind: &str, ns: Option<&str>, role_kind: &str| {
        let mut o = object(kind, &name, ns, opts);
        o.set(
            "roleRef",
            Yaml::map([
                ("apiGroup", Yaml::str("rbac.authorization.k8s.io")),
                ("kind", Yaml::str(role_kind)),
                ("name", Yaml::str(&name)),
            ]),
        );
        o.set("subjects", Yaml::seq([opts.target.subject()]));
        o
    };
    for ns in g.namespaces.keys() {
        docs.push(binding("RoleBinding", Some(ns), "Role"));
    }
    if !g.cluster.is_empty() {
        docs.push(binding("ClusterRoleBinding", None, "ClusterRole"));
    }
    docs
}

/// Ready-to-apply YAML; empty when nothing was generated.
pub fn render(g: &Generated, opts: &Options) -> String {
    documents(&objects(g, opts))
}

#[cfg(test)]
mod tests;
