//! The questions `eksguard rbac` answers, in the terms of the model: a `VERB RESOURCE`
//! query turned into a request, a lookup query turned into identities, and the grants of
//! the model joined with the roles, bindings and IAM principals behind them, as rows a
//! report can print.

use serde::Serialize;

use super::{
    probes, service_account_of, Binding, BindingKind, BoundRole, Grant, Identity, Origin,
    PolicyRule, RbacModel, RequestAttributes, Role, RoleKind, Subject, SubjectKind,
};
use crate::inventory::Inventory;
use crate::node::Node;

/// A query that does not name a request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    #[error("give a VERB and a RESOURCE")]
    Empty,
    #[error("a non-resource URL takes neither --namespace nor --name")]
    ScopedUrl,
    /// A subresource or action given as the verb (`exec`).
    #[error(
        "`{verb}` is not a verb: it is the subresource {resource}, reached with `{with}` \
         (eksguard rbac who-can {with} {resource})"
    )]
    SubresourceAsVerb {
        verb: String,
        resource: String,
        with: String,
    },
    #[error(
        "unknown resource `{name}`: not a built-in resource, and no CustomResourceDefinition \
         in the input defines it{hint} (name another API's resource with its group: \
         RESOURCE.GROUP)"
    )]
    UnknownResource { name: String, hint: String },
    /// As [`QueryError::UnknownResource`], when the names came from the cluster's discovery.
    #[error(
        "unknown resource `{name}`: the API server does not serve it (not in its discovery \
         documents){hint} (name another API's resource with its group: RESOURCE.GROUP)"
    )]
    NotServed { name: String, hint: String },
}

/// One resource type an API server serves, as its discovery documents describe it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServedResource {
    /// `""` for the core group.
    pub group: String,
    pub plural: String,
    /// May be empty: the kind in lower case stands for it, as kubectl takes it.
    pub singular: String,
    pub kind: String,
    pub short_names: Vec<String>,
    /// `None` when discovery does not say.
    pub namespaced: Option<bool>,
}

/// Built-in resources as kubectl names them: plural, singular and short names. Their API
/// groups come from the model's table.
const BUILTIN_RESOURCES: &[(&str, &str, &[&str])] = &[
    ("bindings", "binding", &[]),
    ("componentstatuses", "componentstatus", &["cs"]),
    ("configmaps", "configmap", &["cm"]),
    ("endpoints", "endpoints", &["ep"]),
    ("events", "event", &["ev"]),
    ("limitranges", "limitrange", &["limits"]),
    ("namespaces", "namespace", &["ns"]),
    ("nodes", "node", &["no"]),
    ("persistentvolumeclaims", "persistentvolumeclaim", &["pvc"]),
    ("persistentvolumes", "persistentvolume", &["pv"]),
    ("pods", "pod", &["po"]),
    ("podtemplates", "podtemplate", &[]),
    ("replicationcontrollers", "replicationcontroller", &["rc"]),
    ("resourcequotas", "resourcequota", &["quota"]),
    ("secrets", "secret", &[]),
    ("serviceaccounts", "serviceaccount", &["sa"]),
    ("services", "service", &["svc"]),
    // What `impersonate` is granted on.
    ("users", "user", &[]),
    ("groups", "group", &[]),
    ("uids", "uid", &[]),
    ("controllerrevisions", "controllerrevision", &[]),
    ("daemonsets", "daemonset", &["ds"]),
    ("deployments", "deployment", &["deploy"]),
    ("replicasets", "replicaset", &["rs"]),
    ("statefulsets", "statefulset", &["sts"]),
    ("cronjobs", "cronjob", &["cj"]),
    ("jobs", "job", &[]),
    ("ingressclasses", "ingressclass", &[]),
    ("ingresses", "ingress", &["ing"]),
    ("ipaddresses", "ipaddress", &[]),
    ("networkpolicies", "networkpolicy", &["netpol"]),
    ("servicecidrs", "servicecidr", &[]),
    ("clusterrolebindings", "clusterrolebinding", &[]),
    ("clusterroles", "clusterrole", &[]),
    ("rolebindings", "rolebinding", &[]),
    ("roles", "role", &[]),
    (
        "horizontalpodautoscalers",
        "horizontalpodautoscaler",
        &["hpa"],
    ),
    ("poddisruptionbudgets", "poddisruptionbudget", &["pdb"]),
    ("podsecuritypolicies", "podsecuritypolicy", &["psp"]),
    ("csidrivers", "csidriver", &[]),
    ("csinodes", "csinode", &[]),
    ("csistoragecapacities", "csistoragecapacity", &[]),
    ("storageclasses", "storageclass", &["sc"]),
    ("volumeattachments", "volumeattachment", &[]),
    (
        "mutatingwebhookconfigurations",
        "mutatingwebhookconfiguration",
        &[],
    ),
    (
        "validatingadmissionpolicies",
        "validatingadmissionpolicy",
        &[],
    ),
    (
        "validatingadmissionpolicybindings",
        "validatingadmissionpolicybinding",
        &[],
    ),
    (
        "validatingwebhookconfigurations",
        "validatingwebhookconfiguration",
        &[],
    ),
    (
        "customresourcedefinitions",
        "customresourcedefinition",
        &["crd", "crds"],
    ),
    ("apiservices", "apiservice", &[]),
    (
        "certificatesigningrequests",
        "certificatesigningrequest",
        &["csr"],
    ),
    ("clustertrustbundles", "clustertrustbundle", &[]),
    ("leases", "lease", &[]),
    ("endpointslices", "endpointslice", &[]),
    ("priorityclasses", "priorityclass", &["pc"]),
    ("runtimeclasses", "runtimeclass", &[]),
    ("selfsubjectreviews", "selfsubjectreview", &[]),
    ("tokenreviews", "tokenreview", &[]),
    ("localsubjectaccessreviews", "localsubjectaccessreview", &[]),
    ("selfsubjectaccessreviews", "selfsubjectaccessreview", &[]),
    ("selfsubjectrulesreviews", "selfsubjectrulesreview", &[]),
    ("subjectaccessreviews", "subjectaccessreview", &[]),
    ("flowschemas", "flowschema", &[]),
    (
        "prioritylevelconfigurations",
        "prioritylevelconfiguration",
        &[],
    ),
];

/// The verbs Kubernetes authorizes: those of requests, and the special ones RBAC knows;
/// with whether an identity must hold it on everything to stand in for `cluster-admin`
/// (the usual read and write verbs and the three that reach past RBAC).
const VERB_TABLE: &[(&str, bool)] = &[
    ("get", true),
    ("list", true),
    ("watch", true),
    ("create", true),
    ("update", true),
    ("patch", true),
    ("delete", true),
    ("deletecollection", true),
    ("use", false),
    ("bind", true),
    ("escalate", true),
    ("impersonate", true),
    ("approve", false),
    ("sign", false),
    ("attest", false),
    ("*", false),
];

/// The verbs an identity must hold on every resource of every group to be as powerful
/// as `cluster-admin`.
pub fn admin_verbs() -> impl Iterator<Item = &'static str> {
    VERB_TABLE
        .iter()
        .filter(|(_, admin)| *admin)
        .map(|(v, _)| *v)
}

/// A group and resource no real rule names: only `*` in both `apiGroups` and `resources`
/// (without `resourceNames`) lets a request for it through, and that is what "every
/// resource in every group, present and future" means.
pub const ANY_GROUP: &str = "any.group.invalid";
pub const ANY_RESOURCE: &str = "anyresources";

/// Words people give as a verb that name a subresource: (word, verb, subresource).
const SUBRESOURCE_VERBS: &[(&str, &str, &str)] = &[
    ("exec", "create", "pods/exec"),
    ("attach", "create", "pods/attach"),
    ("port-forward", "create", "pods/portforward"),
    ("portforward", "create", "pods/portforward"),
    ("logs", "get", "pods/log"),
    ("log", "get", "pods/log"),
    ("evict", "create", "pods/eviction"),
    ("proxy", "get", "pods/proxy"),
    ("scale", "update", "deployments/scale"),
];

/// One resource type the query may name: its plural, API group, and other names.
#[derive(Debug, Clone)]
struct ResourceName {
    plural: String,
    group: String,
    /// Singular, short names and the kind, in lower case.
    aliases: Vec<String>,
    /// Whether discovery lists it as namespaced; `None` leaves it to the model.
    namespaced: Option<bool>,
}

/// The resource types a query can name, as kubectl resolves them: the built-in ones and
/// the custom resources whose definitions are in the input.
#[derive(Debug, Clone)]
pub struct ResourceNames {
    names: Vec<ResourceName>,
    /// The names include the cluster's discovery: an unknown one is not served.
    served: bool,
}

impl ResourceNames {
    pub fn new(m: &RbacModel, inv: &Inventory) -> Self {
        let mut names: Vec<ResourceName> = BUILTIN_RESOURCES
            .iter()
            .map(|(plural, singular, short)| ResourceName {
                plural: plural.to_string(),
                group: m.group_of(plural),
                aliases: std::iter::once(singular)
                    .chain(short.iter())
                    .map(|s| s.to_string())
                    .collect(),
                namespaced: None,
            })
            .collect();
        for obj in inv
            .objects
            .iter()
            .filter(|o| &*o.kind == "CustomResourceDefinition")
        {
            let spec = obj.spec();
            let text = |path: &str| spec.at(path).and_then(Node::scalar_text);
            let (Some(group), Some(plural)) = (text("group"), text("names.plural")) else {
                continue;
            };
            let mut aliases: Vec<String> = [text("names.singular"), text("names.kind")]
                .into_iter()
                .flatten()
                .map(|s| s.to_lowercase())
                .collect();
            if let Some(short) = spec.at("names.shortNames").and_then(Node::as_seq) {
                aliases.extend(
                    short
                        .iter()
                        .filter_map(Node::scalar_text)
                        .map(|s| s.to_lowercase()),
                );
            }
            names.push(ResourceName {
                plural: plural.to_lowercase(),
                group,
                aliases,
                namespaced: None,
            });
        }
        ResourceNames {
            names,
            served: false,
        }
    }

    /// Adds what the cluster's discovery lists: custom resources and aggregated APIs the
    /// inputs cannot name. From then on a name nothing defines is one the server does not
    /// serve.
    pub fn with_served(mut self, served: &[ServedResource]) -> Self {
        for r in served {
            let plural = r.plural.to_lowercase();
            let mut aliases: Vec<String> = [r.singular.as_str(), r.kind.as_str()]
                .into_iter()
                .chain(r.short_names.iter().map(String::as_str))
                .filter(|a| !a.is_empty())
                .map(str::to_lowercase)
                .filter(|a| *a != plural)
                .collect();
            aliases.dedup();
            self.names.push(ResourceName {
                plural,
                group: r.group.clone(),
                aliases,
                namespaced: r.namespaced,
            });
        }
        self.served = true;
        self
    }

    /// Whether discovery lists the resource as cluster-scoped; `None` when it does not
    /// say or did not run.
    fn cluster_scoped(&self, group: &str, plural: &str) -> Option<bool> {
        self.names
            .iter()
            .filter(|n| n.group == group && n.plural == plural)
            .find_map(|n| n.namespaced)
            .map(|namespaced| !namespaced)
    }

    /// `(plural, group)` of a name, within `group` when one is given: an exact plural
    /// first, then singulars, short names and kinds.
    fn resolve(&self, name: &str, group: Option<&str>) -> Option<(String, String)> {
        let in_group = |n: &&ResourceName| group.is_none_or(|g| n.group == g);
        let found = self
            .names
            .iter()
            .filter(in_group)
            .find(|n| n.plural == name)
            .or_else(|| {
                self.names
                    .iter()
                    .filter(in_group)
                    .find(|n| n.aliases.iter().any(|a| a == name))
            })?;
        Some((found.plural.clone(), found.group.clone()))
    }

    /// The names of one group's resources.
    fn names_in<'a>(&'a self, group: &'a str) -> impl Iterator<Item = &'a str> {
        self.names
            .iter()
            .filter(move |n| n.group == group)
            .flat_map(|n| std::iter::once(&n.plural).chain(&n.aliases))
            .map(String::as_str)
    }

    fn all_names(&self) -> impl Iterator<Item = &str> {
        self.names
            .iter()
            .flat_map(|n| std::iter::once(&n.plural).chain(&n.aliases))
            .map(String::as_str)
    }
}

/// A who-can query as a request.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub request: RequestAttributes,
    /// The cluster-scoped resource a namespace was given for (and left out of the request).
    pub namespace_ignored_for: Option<String>,
    /// What the query's words were taken to mean, or doubts about them, to say on the side.
    pub notes: Vec<String>,
}

/// Turns `VERB RESOURCE` into a request: `/path`, `res`, `res.group`, `res/sub`,
/// `res.group/sub`, where `res` is a plural, a singular or a short name as kubectl takes
/// them. The API group of a bare resource, and whether it is namespaced, come from the
/// model. A subresource given as the verb, or a resource nothing defines, is an error.
pub fn parse_request(
    m: &RbacModel,
    names: &ResourceNames,
    verb: &str,
    resource: &str,
    ns: Option<&str>,
    name: Option<&str>,
) -> Result<Query, QueryError> {
    if verb.is_empty() || resource.is_empty() {
        return Err(QueryError::Empty);
    }
    let mut notes = Vec::new();
    let verb_lc = verb.to_lowercase();
    if let Some((_, with, sub)) = SUBRESOURCE_VERBS.iter().find(|(w, _, _)| *w == verb_lc) {
        return Err(QueryError::SubresourceAsVerb {
            verb: verb.to_string(),
            resource: sub.to_string(),
            with: with.to_string(),
        });
    }
    if !VERB_TABLE.iter().any(|(v, _)| *v == verb_lc) {
        notes.push(format!(
            "`{verb}` is not a verb Kubernetes uses; only rules naming it (or `*`) match{}",
            crate::suggest::did_you_mean(&verb_lc, VERB_TABLE.iter().map(|(v, _)| *v))
        ));
    }
    if resource.starts_with('/') {
        if ns.is_some() || name.is_some() {
            return Err(QueryError::ScopedUrl);
        }
        return Ok(Query {
            request: RequestAttributes::non_resource(&verb_lc, resource),
            namespace_ignored_for: None,
            notes,
        });
    }
    let (base, sub) = match resource.split_once('/') {
        Some((b, s)) => (b, Some(s.to_lowercase())),
        None => (resource, None),
    };
    let base = base.to_lowercase();
    let (word, group) = match base.split_once('.') {
        Some((r, g)) => (r.to_string(), Some(g.to_string())),
        None => (base.clone(), None),
    };
    let (res, group) = if word == "*" {
        ("*".to_string(), group.unwrap_or_default())
    } else {
        match (names.resolve(&word, group.as_deref()), group) {
            (Some((plural, g)), _) => (plural, g),
            // Another API's resource, named with its group: taken as given, and when the
            // cluster's discovery ran, said to be unserved there.
            (None, Some(g)) => {
                if names.served {
                    notes.push(format!(
                        "`{word}.{g}` is not served by the API server (not in its discovery \
                         documents); taken as given{}",
                        crate::suggest::did_you_mean(&word, names.names_in(&g))
                    ));
                }
                (word.clone(), g)
            }
            (None, None) => {
                let hint = crate::suggest::did_you_mean(&word, names.all_names());
                return Err(if names.served {
                    QueryError::NotServed {
                        name: word.clone(),
                        hint,
                    }
                } else {
                    QueryError::UnknownResource {
                        name: word.clone(),
                        hint,
                    }
                });
            }
        }
    };
    if res != word {
        notes.push(format!("`{word}` is taken as `{res}`"));
    }
    let combined = match sub {
        Some(s) => format!("{res}/{s}"),
        None => res.clone(),
    };
    let mut request = RequestAttributes::resource(&verb_lc, &group, &combined);
    let mut namespace_ignored_for = None;
    if let Some(ns) = ns {
        let cluster_scoped = names
            .cluster_scoped(&group, &res)
            .unwrap_or_else(|| m.is_cluster_scoped(&group, &res));
        if cluster_scoped {
            namespace_ignored_for = Some(res);
        } else {
            request = request.in_namespace(ns);
        }
    }
    if let Some(n) = name {
        request = request.named(n);
    }
    Ok(Query {
        request,
        namespace_ignored_for,
        notes,
    })
}

/// The request in words; a namespaced resource asked about without a namespace is asked
/// about "in any namespace", not "cluster-wide".
pub fn describe_query(req: &RequestAttributes, m: &RbacModel) -> String {
    let mut d = req.describe();
    if req.is_resource_request()
        && req.namespace.is_none()
        && !m.is_cluster_scoped(&req.api_group, &req.resource)
    {
        d = d.replace(" cluster-wide", " in any namespace");
    }
    d
}

// ---------------------------------------------------------------------------------------
// Rows of the answers

/// A role or binding as the answers name it.
#[derive(Debug, Serialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct ObjRef {
    pub kind: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// From Kubernetes' default policy, not from the input.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub default_policy: bool,
    /// A role the binding refers to that the input does not hold.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub missing: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
}

impl ObjRef {
    /// `Role/ns/name`, `ClusterRole/name`, marked `(default)` or `(missing)`.
    pub fn text(&self) -> String {
        let mut s = match &self.namespace {
            Some(ns) if self.kind == "RoleBinding" || self.kind == "Role" => {
                format!("{}/{ns}/{}", self.kind, self.name)
            }
            _ => format!("{}/{}", self.kind, self.name),
        };
        if self.default_policy {
            s.push_str(" (default)");
        }
        if self.missing {
            s.push_str(" (missing)");
        }
        s
    }

    fn unlocated(kind: &str, name: &str, namespace: Option<String>, missing: bool) -> Self {
        ObjRef {
            kind: kind.into(),
            name: name.to_string(),
            namespace,
            default_policy: false,
            missing,
            file: None,
            line: None,
        }
    }

    fn located(mut self, inv: &Inventory, origin: Origin) -> Self {
        match origin {
            Origin::Object(id) => {
                let obj = inv.get(id);
                self.file = obj.file().map(str::to_string);
                self.line = Some(obj.root.pos.line).filter(|l| *l > 0);
            }
            Origin::DefaultPolicy => self.default_policy = true,
            Origin::AwsManaged => {}
        }
        self
    }
}

fn binding_ref(inv: &Inventory, b: &Binding) -> ObjRef {
    let kind = match b.kind {
        BindingKind::RoleBinding => "RoleBinding",
        BindingKind::ClusterRoleBinding => "ClusterRoleBinding",
        BindingKind::AccessPolicyAssociation => "AccessEntry",
    };
    ObjRef::unlocated(kind, &b.name, b.namespace.clone(), false).located(inv, b.origin)
}

fn role_kind(k: RoleKind) -> &'static str {
    match k {
        RoleKind::Role => "Role",
        RoleKind::ClusterRole => "ClusterRole",
        RoleKind::AccessPolicy => "AccessPolicy",
    }
}

fn role_ref(inv: &Inventory, role: Option<&Role>, b: &Binding) -> ObjRef {
    let kind = role_kind(b.role_ref.kind);
    match role {
        Some(r) => {
            ObjRef::unlocated(kind, &r.name, r.namespace.clone(), false).located(inv, r.origin)
        }
        None => {
            let ns = (b.role_ref.kind == RoleKind::Role)
                .then(|| b.namespace.clone())
                .flatten();
            ObjRef::unlocated(kind, &b.role_ref.name, ns, true)
        }
    }
}

/// One rule that allows the request, named by the role that holds it.
#[derive(Debug, Clone, Serialize)]
pub struct RuleRef {
    pub role: String,
    pub index: usize,
    pub rule: PolicyRule,
}

impl RuleRef {
    /// `role:rules[2]`.
    pub fn text(&self) -> String {
        format!("{}:rules[{}]", self.role, self.index)
    }
}

fn scope_of(b: &Binding) -> String {
    b.namespace.clone().unwrap_or_else(|| "cluster-wide".into())
}

/// How an IAM principal reaches a binding subject.
#[derive(Debug, Serialize)]
pub struct Via {
    /// `aws-auth mapRoles[0]`, `access entry`, ...
    pub mapping: String,
    /// The user name (template) and groups it is mapped to.
    pub username: String,
    pub groups: Vec<String>,
    /// The binding subject it reaches.
    pub subject: Subject,
}

/// A subject granted a request through one binding, with the rules that grant it.
#[derive(Debug, Serialize)]
pub struct GrantRow {
    pub subject: Subject,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub via: Option<Via>,
    pub scope: String,
    pub binding: ObjRef,
    pub role: ObjRef,
    pub rules: Vec<RuleRef>,
}

impl GrantRow {
    /// `aws-auth mapRoles[0] → Group ops`, or `-` for a subject bound directly.
    pub fn via_text(&self) -> String {
        self.via
            .as_ref()
            .map(|v| format!("{} → {}", v.mapping, v.subject.display()))
            .unwrap_or_else(|| "-".into())
    }

    /// The rules, `role:rules[0], role:rules[3]`.
    pub fn rules_text(&self) -> String {
        self.rules
            .iter()
            .map(RuleRef::text)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Grants grouped by binding subject, and each User or Group subject repeated for every
/// IAM principal mapped to it.
pub fn grant_rows(inv: &Inventory, m: &RbacModel, grants: &[Grant]) -> Vec<GrantRow> {
    let mut rows: Vec<GrantRow> = Vec::new();
    let mut keys: Vec<(usize, usize, usize)> = Vec::new();
    for g in grants {
        let b = &m.bindings[g.binding];
        let role = &m.roles[g.role];
        let entry = &role.rules[g.rule];
        let rule = RuleRef {
            role: entry.role.clone(),
            index: entry.index,
            rule: entry.rule.clone(),
        };
        if let Some(i) = keys
            .iter()
            .position(|k| (k.0, k.1) == (g.binding, g.subject))
        {
            rows[i].rules.push(rule);
            continue;
        }
        keys.push((g.binding, g.subject, g.role));
        rows.push(GrantRow {
            subject: b.subjects[g.subject].clone(),
            via: None,
            scope: scope_of(b),
            binding: binding_ref(inv, b),
            role: role_ref(inv, Some(role), b),
            rules: vec![rule],
        });
    }
    let mut iam_rows = Vec::new();
    for (row, &(bi, si, ri)) in rows.iter().zip(&keys) {
        let b = &m.bindings[bi];
        let s = &b.subjects[si];
        for mi in m.mappings_into(s) {
            let map = &m.mappings[mi];
            iam_rows.push(GrantRow {
                subject: Subject::new(SubjectKind::IamPrincipal, &map.arn, None),
                via: Some(Via {
                    mapping: map.describe(),
                    username: map.username.clone(),
                    groups: map.groups.clone(),
                    subject: s.clone(),
                }),
                scope: row.scope.clone(),
                binding: binding_ref(inv, b),
                role: role_ref(inv, Some(&m.roles[ri]), b),
                rules: row.rules.clone(),
            });
        }
    }
    rows.extend(iam_rows);
    rows.sort_by(|a, b| {
        (&a.subject, &a.scope, &a.binding).cmp(&(&b.subject, &b.scope, &b.binding))
    });
    rows
}

// ---------------------------------------------------------------------------------------
// lookup

/// What a lookup query names, when the caller says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LookupKind {
    User,
    Group,
    ServiceAccount,
}

/// An identity a lookup query stands for, and the IAM mapping that made it, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Looked {
    pub identity: Identity,
    pub mapping: Option<String>,
}

/// The identities a lookup query stands for: the kind given, or by its form an IAM ARN
/// (through every mapping of it), a service account, or a user and a group of that name.
pub fn identities(m: &RbacModel, q: &str, kind: Option<LookupKind>) -> Vec<Looked> {
    let direct = |identity| Looked {
        identity,
        mapping: None,
    };
    let group = || Identity {
        user: String::new(),
        groups: vec![q.to_string()],
    };
    let sa = || {
        let (ns, n) = service_account_of(q)
            .map(|(ns, n)| (ns.to_string(), n.to_string()))
            .or_else(|| {
                q.split_once(':')
                    .map(|(a, b)| (a.to_string(), b.to_string()))
            })?;
        Some(direct(Identity::service_account(&ns, &n)))
    };
    match kind {
        Some(LookupKind::User) => vec![direct(Identity::user(q, &[]))],
        Some(LookupKind::Group) => vec![direct(group())],
        Some(LookupKind::ServiceAccount) => sa().into_iter().collect(),
        None if q.starts_with("arn:") => m
            .resolve_iam(q)
            .into_iter()
            .map(|(mi, identity)| Looked {
                identity,
                mapping: Some(m.mappings[mi].describe()),
            })
            .collect(),
        None if q.starts_with("system:serviceaccount:") => sa().into_iter().collect(),
        None => vec![direct(Identity::user(q, &[])), direct(group())],
    }
}

/// An identity a lookup found, as the answer shows it.
#[derive(Debug, Serialize)]
pub struct IdentityOut {
    pub user: String,
    pub groups: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mapping: Option<String>,
}

/// The identities that are users (a group alone is not one), for the answer.
pub fn identities_out(ids: &[Looked]) -> Vec<IdentityOut> {
    ids.iter()
        .filter(|l| !l.identity.user.is_empty())
        .map(|l| IdentityOut {
            user: l.identity.user.clone(),
            groups: l.identity.groups.clone(),
            mapping: l.mapping.clone(),
        })
        .collect()
}

/// A role bound to a looked-up identity.
#[derive(Debug, Serialize)]
pub struct LookupRow {
    /// The binding subject that names the identity.
    pub subject: Subject,
    /// `direct`, `group system:authenticated`, `aws-auth mapRoles[0]`, ...
    pub via: String,
    pub scope: String,
    pub role: ObjRef,
    pub binding: ObjRef,
}

/// The roles bound to any of `ids`, once each, cluster-wide ones first.
pub fn lookup_rows(inv: &Inventory, m: &RbacModel, ids: &[Looked]) -> Vec<LookupRow> {
    let mut rows: Vec<LookupRow> = Vec::new();
    let mut seen: Vec<(usize, usize, Option<String>)> = Vec::new();
    for Looked { identity, mapping } in ids {
        for BoundRole {
            binding,
            subject,
            role,
        } in m.bound_roles(identity)
        {
            if seen.contains(&(binding, subject, mapping.clone())) {
                continue;
            }
            seen.push((binding, subject, mapping.clone()));
            let b = &m.bindings[binding];
            let s = &b.subjects[subject];
            let how = match s.kind {
                SubjectKind::Group => format!("group {}", s.name),
                _ => "direct".to_string(),
            };
            let via = match mapping {
                Some(mp) => format!("{mp}, {how}"),
                None => how,
            };
            rows.push(LookupRow {
                subject: s.clone(),
                via,
                scope: scope_of(b),
                role: role_ref(inv, role.map(|r| &m.roles[r]), b),
                binding: binding_ref(inv, b),
            });
        }
    }
    rows.sort_by(|a, b| {
        (&a.scope != "cluster-wide", &a.scope, &a.role, &a.binding).cmp(&(
            &b.scope != "cluster-wide",
            &b.scope,
            &b.role,
            &b.binding,
        ))
    });
    rows
}

// ---------------------------------------------------------------------------------------
// risks

/// A grant of a dangerous power.
#[derive(Debug, Serialize)]
pub struct RiskRow {
    pub severity: &'static str,
    pub risk: &'static str,
    pub title: &'static str,
    /// The request the grant allows.
    pub request: String,
    #[serde(flatten)]
    pub grant: GrantRow,
}

/// Every grant of a dangerous power, with Kubernetes' own identities when `all`.
pub fn risk_rows(inv: &Inventory, m: &RbacModel, all: bool) -> Vec<RiskRow> {
    let probes = probes();
    let mut rows = Vec::new();
    for r in m.risks(all) {
        let p = &probes[r.probe];
        for grant in grant_rows(inv, m, &[r.grant]) {
            rows.push(RiskRow {
                severity: r.severity.as_str(),
                risk: p.power.id,
                title: p.power.title,
                request: r.request.describe(),
                grant,
            });
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rbac::tests::inventory;

    const INPUT: &str = "\
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: exec}
rules:
- {apiGroups: [''], resources: [pods/exec], verbs: [create]}
- {apiGroups: [''], resources: [pods], verbs: [get]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: ops-exec, namespace: prod}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: exec}
subjects:
- {kind: Group, name: ops}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: dangling}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: gone}
subjects:
- {kind: User, name: ops}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: aws-auth, namespace: kube-system}
data:
  mapRoles: |
    - rolearn: arn:aws:iam::111122223333:role/Ops
      username: ops-{{SessionName}}
      groups: [ops]
";

    #[test]
    fn requests_from_short_names_groups_and_subresources() {
        let m = RbacModel::from_inventory(&Inventory::default());
        let names = ResourceNames::new(&m, &Inventory::default());
        let q = parse_request(&m, &names, "create", "po/exec", Some("prod"), Some("web")).unwrap();
        assert_eq!(q.request.resource, "pods");
        assert_eq!(q.request.subresource.as_deref(), Some("exec"));
        assert_eq!(q.request.api_group, "");
        assert_eq!(q.request.namespace.as_deref(), Some("prod"));
        assert_eq!(q.request.name.as_deref(), Some("web"));
        assert_eq!(q.namespace_ignored_for, None);

        let q = parse_request(&m, &names, "list", "deploy", None, None).unwrap();
        assert_eq!(
            (q.request.api_group.as_str(), q.request.resource.as_str()),
            ("apps", "deployments")
        );
        let q = parse_request(&m, &names, "get", "Widgets.example.com", None, None).unwrap();
        assert_eq!(q.request.resource, "widgets");
        assert_eq!(q.request.api_group, "example.com");
    }

    fn served(
        group: &str,
        plural: &str,
        singular: &str,
        kind: &str,
        short: &[&str],
        namespaced: bool,
    ) -> ServedResource {
        ServedResource {
            group: group.into(),
            plural: plural.into(),
            singular: singular.into(),
            kind: kind.into(),
            short_names: short.iter().map(|s| s.to_string()).collect(),
            namespaced: Some(namespaced),
        }
    }

    #[test]
    fn served_resources_resolve_by_every_name_and_scope() {
        let m = RbacModel::from_inventory(&Inventory::default());
        let offline = ResourceNames::new(&m, &Inventory::default());
        let err = parse_request(&m, &offline, "get", "cert", None, None).unwrap_err();
        assert!(matches!(err, QueryError::UnknownResource { .. }), "{err}");

        let names = ResourceNames::new(&m, &Inventory::default()).with_served(&[
            served(
                "cert-manager.io",
                "certificates",
                "certificate",
                "Certificate",
                &["cert", "certs"],
                true,
            ),
            served("metrics.k8s.io", "nodes", "", "NodeMetrics", &[], false),
            served(
                "example.com",
                "clusterwidgets",
                "",
                "ClusterWidget",
                &["cw"],
                false,
            ),
        ]);
        for word in ["certificates", "certificate", "cert", "CERTS"] {
            let q = parse_request(&m, &names, "get", word, Some("shop"), None).unwrap();
            assert_eq!(
                (q.request.api_group.as_str(), q.request.resource.as_str()),
                ("cert-manager.io", "certificates"),
                "{word}"
            );
            assert_eq!(q.request.namespace.as_deref(), Some("shop"));
        }
        // The kind stands for an empty singular; discovery says it is cluster-scoped.
        let q = parse_request(&m, &names, "delete", "clusterwidget", Some("shop"), None).unwrap();
        assert_eq!(q.request.resource, "clusterwidgets");
        assert_eq!(q.namespace_ignored_for.as_deref(), Some("clusterwidgets"));
        // An aggregated API's resource, named with its group.
        let q = parse_request(&m, &names, "get", "nodes.metrics.k8s.io", None, None).unwrap();
        assert_eq!(q.request.api_group, "metrics.k8s.io");
        assert!(q.notes.is_empty(), "{:?}", q.notes);
        // Built-in names still resolve to the core group first.
        let q = parse_request(&m, &names, "get", "nodes", None, None).unwrap();
        assert_eq!(q.request.api_group, "");

        let err = parse_request(&m, &names, "get", "certificat", None, None).unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown resource `certificat`: the API server does not serve it (not in its \
             discovery documents); did you mean `certificate`, `certificates` or \
             `certificatesigningrequest`? (name another API's resource with its group: \
             RESOURCE.GROUP)"
        );
        let q = parse_request(&m, &names, "get", "certs.example.com", None, None).unwrap();
        assert_eq!(q.request.resource, "certs");
        assert_eq!(
            q.notes,
            [
                "`certs.example.com` is not served by the API server (not in its discovery \
              documents); taken as given"
            ]
        );
    }

    #[test]
    fn cluster_scoped_resources_drop_the_namespace() {
        let m = RbacModel::from_inventory(&Inventory::default());
        let names = ResourceNames::new(&m, &Inventory::default());
        let q = parse_request(&m, &names, "get", "no", Some("prod"), None).unwrap();
        assert_eq!(q.request.namespace, None);
        assert_eq!(q.namespace_ignored_for.as_deref(), Some("nodes"));
        assert!(describe_query(&q.request, &m).contains("cluster-wide"));
        let q = parse_request(&m, &names, "get", "secrets", None, None).unwrap();
        assert!(describe_query(&q.request, &m).contains(" in any namespace"));
    }

    #[test]
    fn urls_and_empty_queries() {
        let m = RbacModel::from_inventory(&Inventory::default());
        let names = ResourceNames::new(&m, &Inventory::default());
        let q = parse_request(&m, &names, "get", "/metrics", None, None).unwrap();
        assert_eq!(q.request.path.as_deref(), Some("/metrics"));
        assert_eq!(
            parse_request(&m, &names, "get", "/metrics", Some("ns"), None),
            Err(QueryError::ScopedUrl)
        );
        assert_eq!(
            parse_request(&m, &names, "", "pods", None, None),
            Err(QueryError::Empty)
        );
        assert_eq!(
            parse_request(&m, &names, "get", "", None, None),
            Err(QueryError::Empty)
        );
    }

    #[test]
    fn grants_join_bindings_roles_and_iam_principals() {
        let inv = inventory(INPUT);
        let m = RbacModel::from_inventory(&inv);
        let names = ResourceNames::new(&m, &inv);
        let q = parse_request(&m, &names, "create", "pods/exec", Some("prod"), None).unwrap();
        let rows = grant_rows(&inv, &m, &m.who_can(&q.request));
        let group = rows
            .iter()
            .find(|r| r.subject == Subject::new(SubjectKind::Group, "ops", None))
            .expect("the group's grant");
        assert_eq!(group.scope, "prod");
        assert_eq!(group.binding.text(), "RoleBinding/prod/ops-exec");
        assert_eq!(group.binding.file.as_deref(), Some("t.yaml"));
        assert_eq!(group.binding.line, Some(8));
        assert_eq!(group.role.text(), "ClusterRole/exec");
        assert_eq!(group.rules_text(), "exec:rules[0]");
        assert_eq!(group.via_text(), "-");
        let iam = rows
            .iter()
            .find(|r| r.subject.kind == SubjectKind::IamPrincipal)
            .expect("the IAM role mapped into the group");
        assert_eq!(iam.subject.name, "arn:aws:iam::111122223333:role/Ops");
        assert_eq!(iam.via_text(), "aws-auth mapRoles[0] → Group ops");
        assert_eq!(iam.rules_text(), "exec:rules[0]");
    }

    #[test]
    fn lookups_by_form_and_kind() {
        let inv = inventory(INPUT);
        let m = RbacModel::from_inventory(&inv);
        // A bare name is a user and a group: both bindings show.
        let ids = identities(&m, "ops", None);
        assert_eq!(ids.len(), 2);
        let rows = lookup_rows(&inv, &m, &ids);
        let texts: Vec<_> = rows
            .iter()
            .map(|r| (r.via.as_str(), r.role.text()))
            .collect();
        assert!(
            texts.contains(&("direct", "ClusterRole/gone (missing)".into())),
            "{texts:?}"
        );
        assert!(
            texts.contains(&("group ops", "ClusterRole/exec".into())),
            "{texts:?}"
        );
        // Cluster-wide bindings come first.
        assert_eq!(rows[0].scope, "cluster-wide");
        assert_eq!(identities_out(&ids).len(), 1);

        let ids = identities(&m, "ops", Some(LookupKind::Group));
        assert!(lookup_rows(&inv, &m, &ids)
            .iter()
            .all(|r| r.via == "group ops"));

        let ids = identities(&m, "arn:aws:iam::111122223333:role/Ops", None);
        assert_eq!(ids.len(), 1);
        assert_eq!(ids[0].mapping.as_deref(), Some("aws-auth mapRoles[0]"));
        let rows = lookup_rows(&inv, &m, &ids);
        assert!(rows
            .iter()
            .any(|r| r.via == "aws-auth mapRoles[0], group ops"));

        let sa = identities(&m, "prod:builder", Some(LookupKind::ServiceAccount));
        assert_eq!(sa[0].identity.user, "system:serviceaccount:prod:builder");
        assert!(identities(&m, "nocolon", Some(LookupKind::ServiceAccount)).is_empty());
    }
}
