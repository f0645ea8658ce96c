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
//! - Requests that were denied are left out: anyone can make a request that is refused,
//!   so a refused request is no evidence of need. [`Options::include_denied`] keeps them,
//!   each resulting rule marked with a comment.
//! - The powers that reach beyond the observed work ([`Power`]: `escalate`, `bind`,
//!   `impersonate`, `nodes/proxy`) are never granted unless named in [`Options::allow`];
//!   what was withheld is said in comments at the top and in [`notes`].
//! - Rules of one API group with the same verbs and names are merged into one; objects,
//!   rules and lists come out sorted, so the same input gives the same YAML.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use eksguard_model::rbac::{service_account_of, PolicyRule, RbacModel, RequestAttributes};
use eksguard_model::Inventory;

use crate::yaml::{Stream, Yaml};

/// A power that lets its holder go beyond what the observed requests needed: write any
/// role (`escalate`), bind any role (`bind`), act as another identity (`impersonate`), or
/// reach the kubelet API of a node (`nodes/proxy`). Requests that need one are granted
/// only when it is named.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Power {
    Escalate,
    Bind,
    Impersonate,
    NodesProxy,
}

impl Power {
    pub const ALL: [Power; 4] = [
        Power::Escalate,
        Power::Bind,
        Power::Impersonate,
        Power::NodesProxy,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Power::Escalate => "escalate",
            Power::Bind => "bind",
            Power::Impersonate => "impersonate",
            Power::NodesProxy => "nodes/proxy",
        }
    }

    pub fn parse(s: &str) -> Option<Power> {
        Power::ALL.into_iter().find(|p| p.name() == s)
    }

    /// The power a request needs, if any.
    pub fn of(req: &RequestAttributes) -> Option<Power> {
        match req.verb.as_str() {
            "escalate" => return Some(Power::Escalate),
            "bind" => return Some(Power::Bind),
            "impersonate" => return Some(Power::Impersonate),
            _ => {}
        }
        (req.is_resource_request()
            && req.api_group.is_empty()
            && req.resource == "nodes"
            && req.subresource.as_deref() == Some("proxy"))
        .then_some(Power::NodesProxy)
    }
}

/// What the API server answered to an observed request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allowed,
    Denied,
}

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
    /// Keep requests that were denied, as rules marked with a comment.
    pub include_denied: bool,
    /// The dangerous powers that may be granted; requests needing another are left out.
    pub allow: BTreeSet<Power>,
}

impl Options {
    pub fn new(target: Target) -> Self {
        Options {
            target,
            name_prefix: "eksguard".into(),
            resource_names: false,
            keep_default_allowed: false,
            include_denied: false,
            allow: BTreeSet::new(),
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
    /// Rules only denied requests asked for (with [`Options::include_denied`]).
    pub denied_namespaces: BTreeMap<String, Vec<PolicyRule>>,
    pub denied_cluster: Vec<PolicyRule>,
    /// Observed requests used, and left out as allowed by default.
    pub used: usize,
    pub skipped_default: usize,
    /// Denied requests left out.
    pub skipped_denied: usize,
    /// Requests left out for a power not allowed, described, per power.
    pub withheld: BTreeMap<Power, BTreeSet<String>>,
}

impl Generated {
    pub fn is_empty(&self) -> bool {
        self.namespaces.is_empty()
            && self.cluster.is_empty()
            && self.denied_namespaces.is_empty()
            && self.denied_cluster.is_empty()
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

    /// Removes what `allowed` already grants, so only what denied requests alone asked for
    /// stays (to be marked).
    fn subtract(&mut self, allowed: &Bucket) {
        for (atom, verbs) in &mut self.atoms {
            let Some(granted) = allowed.atoms.get(atom) else {
                continue;
            };
            verbs.retain(|verb, names| match (granted.get(verb), names) {
                (None, _) => true,
                (Some(None), _) => false,
                (Some(Some(_)), None) => true,
                (Some(Some(ok)), Some(mine)) => {
                    mine.retain(|n| !ok.contains(n));
                    !mine.is_empty()
                }
            });
        }
        self.atoms.retain(|_, verbs| !verbs.is_empty());
        for (url, verbs) in &mut self.urls {
            if let Some(ok) = allowed.urls.get(url) {
                verbs.retain(|v| !ok.contains(v));
            }
        }
        self.urls.retain(|_, verbs| !verbs.is_empty());
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

/// The permissions that allow `requests` (those of one subject: the caller filters), all
/// taken as allowed.
pub fn generate(requests: &[RequestAttributes], opts: &Options) -> Generated {
    generate_from(requests.iter().map(|r| (r, Decision::Allowed)), opts)
}

/// The permissions that allow the observed requests of one subject, each with the answer
/// it got.
pub fn generate_from<'a>(
    requests: impl IntoIterator<Item = (&'a RequestAttributes, Decision)>,
    opts: &Options,
) -> Generated {
    // Kubernetes' default policy, built once: it is the same for every call.
    static DEFAULTS: OnceLock<RbacModel> = OnceLock::new();
    let defaults = DEFAULTS.get_or_init(|| RbacModel::from_inventory(&Inventory::default()));
    // [allowed, denied]
    let mut cluster = [Bucket::default(), Bucket::default()];
    let mut namespaces: BTreeMap<String, [Bucket; 2]> = BTreeMap::new();
    let mut out = Generated::default();
    for (req, decision) in requests {
        let denied = decision == Decision::Denied;
        if denied && !opts.include_denied {
            out.skipped_denied += 1;
            continue;
        }
        if let Some(power) = Power::of(req).filter(|p| !opts.allow.contains(p)) {
            out.withheld
                .entry(power)
                .or_default()
                .insert(req.describe());
            continue;
        }
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
        let slot = usize::from(denied);
        match (&req.namespace, req.is_resource_request()) {
            (Some(ns), true) => {
                namespaces.entry(ns.clone()).or_default()[slot].add(req, opts.resource_names)
            }
            _ => cluster[slot].add(req, opts.resource_names),
        }
    }
    let [allowed, mut denied] = cluster;
    denied.subtract(&allowed);
    out.cluster = allowed.rules();
    out.denied_cluster = denied.rules();
    for (ns, [allowed, mut denied]) in namespaces {
        denied.subtract(&allowed);
        let (a, d) = (allowed.rules(), denied.rules());
        if !a.is_empty() {
            out.namespaces.insert(ns.clone(), a);
        }
        if !d.is_empty() {
            out.denied_namespaces.insert(ns, d);
        }
    }
    out
}

/// What was left out or marked, one line each: for the comments at the top of the output
/// and for standard error. Unescaped: write them through [`crate::yaml`] or
/// [`crate::yaml::clean`].
pub fn notes(g: &Generated) -> Vec<String> {
    let mut out = Vec::new();
    if g.skipped_denied > 0 {
        out.push(format!(
            "left out {} denied request(s): anyone can be refused anything; include them with --include-denied",
            g.skipped_denied
        ));
    }
    if !g.denied_cluster.is_empty() || !g.denied_namespaces.is_empty() {
        out.push(
            "rules marked `denied` come from requests that were refused: the subject did not have them when observed"
                .into(),
        );
    }
    for (power, requests) in &g.withheld {
        out.push(format!(
            "not granted: {} ({} request(s)), a power beyond the observed work; grant it only by naming it: --allow-dangerous {}",
            power.name(),
            requests.len(),
            power.name()
        ));
        const SHOWN: usize = 5;
        for r in requests.iter().take(SHOWN) {
            out.push(format!("  {r}"));
        }
        if requests.len() > SHOWN {
            out.push(format!("  and {} more", requests.len() - SHOWN));
        }
    }
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
    let rules = |allowed: Option<&Vec<PolicyRule>>, denied: Option<&Vec<PolicyRule>>| {
        let allowed = allowed.into_iter().flatten().map(rule_yaml);
        let denied = denied
            .into_iter()
            .flatten()
            .map(|r| rule_yaml(r).noted("denied: the subject was refused this when observed"));
        Yaml::seq(allowed.chain(denied))
    };
    let scopes: BTreeSet<&String> = g
        .namespaces
        .keys()
        .chain(g.denied_namespaces.keys())
        .collect();
    let mut docs = Vec::new();
    for ns in &scopes {
        let mut o = object("Role", &name, Some(ns), opts);
        o.set(
            "rules",
            rules(g.namespaces.get(*ns), g.denied_namespaces.get(*ns)),
        );
        docs.push(o);
    }
    let cluster_wide = !g.cluster.is_empty() || !g.denied_cluster.is_empty();
    if cluster_wide {
        let mut o = object("ClusterRole", &name, None, opts);
        o.set("rules", rules(Some(&g.cluster), Some(&g.denied_cluster)));
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
    for ns in scopes {
        docs.push(binding("RoleBinding", Some(ns), "Role"));
    }
    if cluster_wide {
        docs.push(binding("ClusterRoleBinding", None, "ClusterRole"));
    }
    docs
}

/// Ready-to-apply YAML, led by the [`notes`] as comments; empty when nothing was generated
/// or left out.
pub fn render(g: &Generated, opts: &Options) -> String {
    let mut out = Stream::new();
    for n in notes(g) {
        out.comment(&n);
    }
    for d in objects(g, opts) {
        out.document(&d);
    }
    out.finish()
}

#[cfg(test)]
mod tests;
