//! The RBAC model of one inventory: Roles and ClusterRoles (aggregation resolved),
//! RoleBindings and ClusterRoleBindings, and the EKS identities that act as bindings — the
//! `kube-system/aws-auth` ConfigMap's mappings and EKS access entries with their access
//! policies. Queries answer who may do what, and through which binding, role and rule.
//!
//! Kubernetes creates a set of default roles and bindings at start-up (`cluster-admin`,
//! `admin`, `edit`, `view`, `system:discovery`, ...). Manifests rarely carry them, so the
//! model holds its own definitions and uses them for every name the inventory lacks; such
//! roles and bindings have [`Origin::DefaultPolicy`].

mod iam;
mod matching;
pub mod powers;
pub mod query;
mod risks;

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

pub use iam::{
    access_policy_role, normalize_principal, IamMapping, MappingSource, Principal, ACCESS_POLICIES,
};
pub use matching::{
    api_group_matches, non_resource_url_matches, resource_matches, resource_name_matches,
    verb_matches, PolicyRule, RequestAttributes,
};
pub use risks::{is_system_name, probes, Probe, Risk};

use crate::inventory::Inventory;
use crate::node::Node;
use crate::object::ObjectId;
use crate::selector::selector_matches;
use crate::yaml::{parse_documents, ParseLimits};

const DEFAULTS: &str = include_str!("defaults.yaml");

/// Where a role or binding comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case", tag = "type", content = "object")]
pub enum Origin {
    /// An object of the inventory.
    Object(ObjectId),
    /// Kubernetes' default policy, absent from the inventory.
    DefaultPolicy,
    /// An EKS access policy, managed by AWS.
    AwsManaged,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum SubjectKind {
    User,
    Group,
    ServiceAccount,
    /// An IAM role or user ARN with EKS access policies associated to its access entry.
    IamPrincipal,
}

/// Who a binding names.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Subject {
    pub kind: SubjectKind,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

impl Subject {
    pub fn new(kind: SubjectKind, name: &str, namespace: Option<&str>) -> Self {
        Subject {
            kind,
            name: name.to_string(),
            namespace: namespace.map(str::to_string),
        }
    }

    /// "User alice", "Group ops", "ServiceAccount ns1/sa1", "IAM arn:aws:iam::1:role/x".
    pub fn display(&self) -> String {
        match self.kind {
            SubjectKind::User => format!("User {}", self.name),
            SubjectKind::Group => format!("Group {}", self.name),
            SubjectKind::ServiceAccount => format!(
                "ServiceAccount {}/{}",
                self.namespace.as_deref().unwrap_or("?"),
                self.name
            ),
            SubjectKind::IamPrincipal => format!("IAM {}", self.name),
        }
    }
}

/// An authenticated identity: a user name and its groups, implicit groups included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub user: String,
    pub groups: Vec<String>,
}

impl Identity {
    /// A user with its groups plus the implicit one: `system:authenticated`, or
    /// `system:unauthenticated` for `system:anonymous`.
    pub fn user(user: &str, groups: &[String]) -> Self {
        let mut groups = groups.to_vec();
        let implicit = if user == "system:anonymous" {
            "system:unauthenticated"
        } else {
            "system:authenticated"
        };
        if !groups.iter().any(|g| g == implicit) {
            groups.push(implicit.to_string());
        }
        if let Some((ns, _)) = service_account_of(user) {
            for g in [
                "system:serviceaccounts".to_string(),
                format!("system:serviceaccounts:{ns}"),
            ] {
                if !groups.contains(&g) {
                    groups.push(g);
                }
            }
        }
        Identity {
            user: user.to_string(),
            groups,
        }
    }

    /// A service account: user `system:serviceaccount:NS:NAME` in the groups
    /// `system:serviceaccounts`, `system:serviceaccounts:NS` and `system:authenticated`.
    pub fn service_account(ns: &str, name: &str) -> Self {
        Identity::user(&format!("system:serviceaccount:{ns}:{name}"), &[])
    }
}

/// `(namespace, name)` of a `system:serviceaccount:NS:NAME` user name.
pub fn service_account_of(user: &str) -> Option<(&str, &str)> {
    let rest = user.strip_prefix("system:serviceaccount:")?;
    let (ns, name) = rest.split_once(':')?;
    (!ns.is_empty() && !name.is_empty() && !name.contains(':')).then_some((ns, name))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum RoleKind {
    Role,
    ClusterRole,
    /// An EKS access policy (AmazonEKSAdminPolicy, ...).
    AccessPolicy,
}

/// One rule a role holds, with the role (and index) it was written in: an aggregated
/// ClusterRole's rules come from the roles it selects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleEntry {
    pub rule: PolicyRule,
    /// The role whose `rules` list holds it.
    pub role: String,
    /// Its 0-based index in that list.
    pub index: usize,
    pub origin: Origin,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Role {
    pub kind: RoleKind,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub origin: Origin,
    pub rules: Vec<RuleEntry>,
    /// The ClusterRoles whose rules an aggregated ClusterRole took, sorted.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub aggregated_from: Vec<String>,
}

impl Role {
    pub fn display(&self) -> String {
        let kind = match self.kind {
            RoleKind::Role => "Role",
            RoleKind::ClusterRole => "ClusterRole",
            RoleKind::AccessPolicy => "AccessPolicy",
        };
        format!("{kind}/{}", self.name)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum BindingKind {
    RoleBinding,
    ClusterRoleBinding,
    /// An access policy associated with an EKS access entry.
    AccessPolicyAssociation,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RoleRef {
    pub kind: RoleKind,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Binding {
    pub kind: BindingKind,
    pub name: String,
    /// The namespace it grants in; `None` grants cluster-wide.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub role_ref: RoleRef,
    pub subjects: Vec<Subject>,
    pub origin: Origin,
}

impl Binding {
    pub fn display(&self) -> String {
        match (self.kind, &self.namespace) {
            (BindingKind::RoleBinding, Some(ns)) => format!("RoleBinding/{ns}/{}", self.name),
            (BindingKind::RoleBinding, None) => format!("RoleBinding/{}", self.name),
            (BindingKind::ClusterRoleBinding, _) => format!("ClusterRoleBinding/{}", self.name),
            (BindingKind::AccessPolicyAssociation, _) => {
                format!("AccessEntry/{}", self.name)
            }
        }
    }
}

/// One way a request is allowed: `subjects[subject]` of `bindings[binding]` refers to
/// `roles[role]`, whose `rules[rule]` matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Grant {
    pub binding: usize,
    pub subject: usize,
    pub role: usize,
    pub rule: usize,
}

/// A binding whose subject names an identity, with the role it refers to (`None` when
/// the role is missing from the inventory).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct BoundRole {
    pub binding: usize,
    pub subject: usize,
    pub role: Option<usize>,
}

/// The RBAC state of one inventory.
#[derive(Debug, Clone, Default)]
pub struct RbacModel {
    pub roles: Vec<Role>,
    pub bindings: Vec<Binding>,
    pub mappings: Vec<IamMapping>,
    /// `(group, resource)` of custom resources that are cluster-scoped.
    cluster_scoped_crds: BTreeSet<(String, String)>,
    /// `resource → group` of every custom resource defined in the inventory.
    crd_groups: BTreeMap<String, String>,
    role_index: BTreeMap<(RoleKind, Option<String>, String), usize>,
}

/// The API groups of built-in resources outside the core group.
const BUILTIN_GROUPS: &[(&str, &[&str])] = &[
    (
        "apps",
        &[
            "deployments",
            "daemonsets",
            "statefulsets",
            "replicasets",
            "controllerrevisions",
        ],
    ),
    ("batch", &["jobs", "cronjobs"]),
    (
        "networking.k8s.io",
        &[
            "ingresses",
            "ingressclasses",
            "networkpolicies",
            "ipaddresses",
            "servicecidrs",
        ],
    ),
    (
        "rbac.authorization.k8s.io",
        &[
            "roles",
            "rolebindings",
            "clusterroles",
            "clusterrolebindings",
        ],
    ),
    ("autoscaling", &["horizontalpodautoscalers"]),
    ("policy", &["poddisruptionbudgets", "podsecuritypolicies"]),
    (
        "storage.k8s.io",
        &[
            "storageclasses",
            "csidrivers",
            "csinodes",
            "csistoragecapacities",
            "volumeattachments",
        ],
    ),
    (
        "admissionregistration.k8s.io",
        &[
            "mutatingwebhookconfigurations",
            "validatingwebhookconfigurations",
            "validatingadmissionpolicies",
            "validatingadmissionpolicybindings",
        ],
    ),
    ("apiextensions.k8s.io", &["customresourcedefinitions"]),
    ("apiregistration.k8s.io", &["apiservices"]),
    (
        "certificates.k8s.io",
        &["certificatesigningrequests", "clustertrustbundles"],
    ),
    ("coordination.k8s.io", &["leases"]),
    ("discovery.k8s.io", &["endpointslices"]),
    ("scheduling.k8s.io", &["priorityclasses"]),
    ("node.k8s.io", &["runtimeclasses"]),
    (
        "authentication.k8s.io",
        &["tokenreviews", "selfsubjectreviews"],
    ),
    (
        "authorization.k8s.io",
        &[
            "subjectaccessreviews",
            "selfsubjectaccessreviews",
            "selfsubjectrulesreviews",
            "localsubjectaccessreviews",
        ],
    ),
    (
        "flowcontrol.apiserver.k8s.io",
        &["flowschemas", "prioritylevelconfigurations"],
    ),
];

/// A role as read, before aggregation.
struct RawRole {
    role: Role,
    labels: Node,
    selectors: Option<Vec<Node>>,
}

fn raw_role(obj_kind: &str, name: &str, ns: Option<&str>, root: &Node, origin: Origin) -> RawRole {
    let kind = if obj_kind == "Role" {
        RoleKind::Role
    } else {
        RoleKind::ClusterRole
    };
    let rules = root
        .get("rules")
        .map(Node::items)
        .unwrap_or(&[])
        .iter()
        .enumerate()
        .map(|(i, r)| RuleEntry {
            rule: PolicyRule::from_node(r),
            role: name.to_string(),
            index: i,
            origin,
        })
        .collect();
    let selectors = root
        .at("aggregationRule.clusterRoleSelectors")
        .filter(|_| kind == RoleKind::ClusterRole)
        .map(|s| s.items().to_vec());
    RawRole {
        role: Role {
            kind,
            name: name.to_string(),
            namespace: ns.filter(|_| kind == RoleKind::Role).map(str::to_string),
            origin,
            rules,
            aggregated_from: Vec::new(),
        },
        labels: root
            .at("metadata.labels")
            .cloned()
            .unwrap_or_else(|| Node::null().clone()),
        selectors,
    }
}

fn binding_of(
    obj_kind: &str,
    name: &str,
    ns: Option<&str>,
    root: &Node,
    origin: Origin,
) -> Binding {
    let kind = if obj_kind == "RoleBinding" {
        BindingKind::RoleBinding
    } else {
        BindingKind::ClusterRoleBinding
    };
    let text = |n: Option<&Node>, k: &str| {
        n.and_then(|n| n.get(k))
            .and_then(Node::scalar_text)
            .unwrap_or_default()
    };
    let role_ref = root.get("roleRef");
    let ref_kind = if text(role_ref, "kind") == "Role" {
        RoleKind::Role
    } else {
        RoleKind::ClusterRole
    };
    let subjects = root
        .get("subjects")
        .map(Node::items)
        .unwrap_or(&[])
        .iter()
        .filter_map(|s| {
            let kind = match text(Some(s), "kind").as_str() {
                "User" => SubjectKind::User,
                "Group" => SubjectKind::Group,
                "ServiceAccount" => SubjectKind::ServiceAccount,
                _ => return None,
            };
            let sns = s.get("namespace").and_then(Node::scalar_text);
            // A service account subject of a RoleBinding without a namespace is taken to
            // be in the binding's namespace.
            let sns = match (kind, sns) {
                (SubjectKind::ServiceAccount, None) => ns.map(str::to_string),
                (SubjectKind::ServiceAccount, Some(n)) => Some(n),
                _ => None,
            };
            Some(Subject {
                kind,
                name: text(Some(s), "name"),
                namespace: sns,
            })
        })
        .collect();
    Binding {
        kind,
        name: name.to_string(),
        namespace: ns
            .filter(|_| kind == BindingKind::RoleBinding)
            .map(str::to_string),
        role_ref: RoleRef {
            kind: ref_kind,
            name: text(role_ref, "name"),
        },
        subjects,
        origin,
    }
}

fn is_rbac(api_version: &str) -> bool {
    api_version.starts_with("rbac.authorization.k8s.io/")
}

/// The default policy's documents: (kind, name, namespace, root).
fn default_documents() -> Vec<(String, String, Option<String>, Node)> {
    parse_documents(DEFAULTS, true, ParseLimits::default())
        .into_iter()
        .flatten()
        .filter_map(|d| {
            let root = d.root;
            let kind = root.get("kind")?.as_str()?.to_string();
            let name = root.at("metadata.name")?.as_str()?.to_string();
            let ns = root
                .at("metadata.namespace")
                .and_then(Node::as_str)
                .map(str::to_string);
            Some((kind, name, ns, root))
        })
        .collect()
}

/// Resolves aggregation the way the cluster's aggregation controller does: the rules of
/// an aggregated ClusterRole become the union of the rules of every other ClusterRole
/// whose labels match one of its selectors, transitively; its own rules are replaced.
fn aggregate(raws: &mut [RawRole]) {
    fn resolve(
        i: usize,
        raws: &[RawRole],
        stack: &mut Vec<usize>,
    ) -> (Vec<RuleEntry>, Vec<String>) {
        let Some(selectors) = &raws[i].selectors else {
            return (raws[i].role.rules.clone(), Vec::new());
        };
        stack.push(i);
        let mut rules: Vec<RuleEntry> = Vec::new();
        let mut from = Vec::new();
        let mut sources: Vec<usize> = (0..raws.len())
            .filter(|&j| {
                j != i
                    && raws[j].role.kind == RoleKind::ClusterRole
                    && selectors
                        .iter()
                        .any(|s| selector_matches(s, &raws[j].labels))
            })
            .collect();
        sources.sort_by(|a, b| raws[*a].role.name.cmp(&raws[*b].role.name));
        for j in sources {
            if stack.contains(&j) {
                continue;
            }
            from.push(raws[j].role.name.clone());
            let (sub, _) = resolve(j, raws, stack);
            for r in sub {
                if !rules.iter().any(|x| x.rule == r.rule) {
                    rules.push(r);
                }
            }
        }
        stack.pop();
        (rules, from)
    }
    let resolved: Vec<Option<(Vec<RuleEntry>, Vec<String>)>> = (0..raws.len())
        .map(|i| {
            raws[i]
                .selectors
                .is_some()
                .then(|| resolve(i, raws, &mut Vec::new()))
        })
        .collect();
    for (raw, r) in raws.iter_mut().zip(resolved) {
        if let Some((rules, from)) = r {
            raw.role.rules = rules;
            raw.role.aggregated_from = from;
        }
    }
}

impl RbacModel {
    /// Builds the model from every RBAC object, aws-auth ConfigMap, EKS access entry and
    /// access-policy list, and eksctl `accessConfig` of the inventory.
    pub fn from_inventory(inv: &Inventory) -> Self {
        let mut raws: Vec<RawRole> = Vec::new();
        let mut bindings: Vec<Binding> = Vec::new();
        let mut cluster_scoped_crds = BTreeSet::new();
        let mut crd_groups = BTreeMap::new();
        for obj in &inv.objects {
            let origin = Origin::Object(obj.id);
            match (&*obj.kind, is_rbac(&obj.api_version)) {
                ("Role" | "ClusterRole", true) => {
                    raws.push(raw_role(&obj.kind, &obj.name, obj.ns(), &obj.root, origin))
                }
                ("RoleBinding" | "ClusterRoleBinding", true) => bindings.push(binding_of(
                    &obj.kind,
                    &obj.name,
                    obj.ns(),
                    &obj.root,
                    origin,
                )),
                ("CustomResourceDefinition", _) => {
                    let spec = obj.spec();
                    let group = spec.get("group").and_then(Node::scalar_text);
                    let plural = spec.at("names.plural").and_then(Node::scalar_text);
                    if let (Some(g), Some(p)) = (group, plural) {
                        if spec.get("scope").and_then(Node::as_str) == Some("Cluster") {
                            cluster_scoped_crds.insert((g.clone(), p.clone()));
                        }
                        crd_groups.insert(p, g);
                    }
                }
                _ => {}
            }
        }
        let have_role: BTreeSet<(RoleKind, Option<String>, String)> = raws
            .iter()
            .map(|r| (r.role.kind, r.role.namespace.clone(), r.role.name.clone()))
            .collect();
        let have_binding: BTreeSet<(BindingKind, Option<String>, String)> = bindings
            .iter()
            .map(|b| (b.kind, b.namespace.clone(), b.name.clone()))
            .collect();
        for (kind, name, ns, root) in default_documents() {
            let origin = Origin::DefaultPolicy;
            match kind.as_str() {
                "Role" | "ClusterRole" => {
                    let raw = raw_role(&kind, &name, ns.as_deref(), &root, origin);
                    let key = (raw.role.kind, raw.role.namespace.clone(), name);
                    if !have_role.contains(&key) {
                        raws.push(raw);
                    }
                }
                _ => {
                    let b = binding_of(&kind, &name, ns.as_deref(), &root, origin);
                    if !have_binding.contains(&(b.kind, b.namespace.clone(), name)) {
                        bindings.push(b);
                    }
                }
            }
        }
        aggregate(&mut raws);
        let mut roles: Vec<Role> = raws.into_iter().map(|r| r.role).collect();
        // Access policies are defined by AWS, whatever the inventory's admin/edit/view say.
        let defaults = {
            let mut d: Vec<RawRole> = default_documents()
                .into_iter()
                .filter(|(k, ..)| k == "ClusterRole")
                .map(|(k, n, ns, root)| {
                    raw_role(&k, &n, ns.as_deref(), &root, Origin::DefaultPolicy)
                })
                .collect();
            aggregate(&mut d);
            d.into_iter().map(|r| r.role).collect::<Vec<_>>()
        };
        for policy in ACCESS_POLICIES {
            roles.push(access_policy_role(policy, &defaults));
        }
        let (mappings, policy_bindings) = iam::read(inv);
        bindings.extend(policy_bindings);
        let role_index = roles
            .iter()
            .enumerate()
            .map(|(i, r)| ((r.kind, r.namespace.clone(), r.name.clone()), i))
            .collect();
        RbacModel {
            roles,
            bindings,
            mappings,
            cluster_scoped_crds,
            crd_groups,
            role_index,
        }
    }

    /// The role a binding refers to: a RoleBinding's Role lives in its namespace.
    pub fn role_of(&self, b: &Binding) -> Option<usize> {
        let ns = match b.role_ref.kind {
            RoleKind::Role => b.namespace.clone(),
            _ => None,
        };
        self.role_index
            .get(&(b.role_ref.kind, ns, b.role_ref.name.clone()))
            .copied()
    }

    /// Whether `resource` of `group` is cluster-scoped: a built-in one, or a custom
    /// resource whose definition in the inventory says so.
    pub fn is_cluster_scoped(&self, group: &str, resource: &str) -> bool {
        crate::kinds::is_cluster_scoped_resource(resource)
            || self
                .cluster_scoped_crds
                .contains(&(group.to_string(), resource.to_string()))
    }

    /// The API group of a resource named without one (`deployments` → `apps`): a custom
    /// resource defined in the inventory, a well-known built-in one, else the core group.
    pub fn group_of(&self, resource: &str) -> String {
        if let Some(g) = self.crd_groups.get(resource) {
            return g.clone();
        }
        BUILTIN_GROUPS
            .iter()
            .find(|(_, rs)| rs.contains(&resource))
            .map(|(g, _)| g.to_string())
            .unwrap_or_default()
    }

    /// Whether a binding subject names the identity.
    pub fn subject_matches(&self, s: &Subject, id: &Identity) -> bool {
        match s.kind {
            SubjectKind::User => s.name == id.user,
            SubjectKind::Group => id.groups.contains(&s.name),
            SubjectKind::ServiceAccount => service_account_of(&id.user)
                .is_some_and(|(ns, name)| name == s.name && Some(ns) == s.namespace.as_deref()),
            SubjectKind::IamPrincipal => self.mappings.iter().any(|m| {
                m.source == MappingSource::AccessEntry
                    && iam::same_principal(&m.arn, &s.name)
                    && iam::username_matches(&m.username, &id.user)
            }),
        }
    }

    /// Whether a binding can grant the request: cluster-wide bindings always; namespaced
    /// ones only resource requests in their namespace — or, with `anywhere`, requests
    /// without a namespace on namespaced resources (who may do it in some namespace).
    fn binding_applies(&self, b: &Binding, req: &RequestAttributes, anywhere: bool) -> bool {
        let Some(bns) = &b.namespace else {
            return true;
        };
        if !req.is_resource_request() {
            return false;
        }
        match &req.namespace {
            Some(ns) => ns == bns,
            None => anywhere && !self.is_cluster_scoped(&req.api_group, &req.resource),
        }
    }

    fn matching_rules<'a>(
        &'a self,
        role: usize,
        req: &'a RequestAttributes,
    ) -> impl Iterator<Item = usize> + 'a {
        self.roles[role]
            .rules
            .iter()
            .enumerate()
            .filter(|(_, r)| r.rule.allows(req))
            .map(|(i, _)| i)
    }

    /// Every path by which the requester (`req.user` and `req.groups`, implicit groups
    /// added) is allowed the request, as the RBAC authorizer plus EKS access policies
    /// would allow it. Empty: denied.
    pub fn authorize(&self, req: &RequestAttributes) -> Vec<Grant> {
        let id = Identity::user(&req.user, &req.groups);
        let mut out = Vec::new();
        for b in self.bound_roles(&id) {
            let Some(role) = b.role else { continue };
            if !self.binding_applies(&self.bindings[b.binding], req, false) {
                continue;
            }
            for rule in self.matching_rules(role, req) {
                out.push(Grant {
                    binding: b.binding,
                    subject: b.subject,
                    role,
                    rule,
                });
            }
        }
        out
    }

    /// Every subject of every binding that grants the request, whoever asks. A request
    /// without a namespace on a namespaced resource asks "in some namespace": RoleBindings
    /// of every namespace count, each for its own namespace.
    pub fn who_can(&self, req: &RequestAttributes) -> Vec<Grant> {
        let mut out = Vec::new();
        for (bi, b) in self.bindings.iter().enumerate() {
            if !self.binding_applies(b, req, true) {
                continue;
            }
            let Some(role) = self.role_of(b) else {
                continue;
            };
            for rule in self.matching_rules(role, req) {
                for si in 0..b.subjects.len() {
                    out.push(Grant {
                        binding: bi,
                        subject: si,
                        role,
                        rule,
                    });
                }
            }
        }
        out
    }

    /// Every binding subject that names the identity, with the role bound.
    pub fn bound_roles(&self, id: &Identity) -> Vec<BoundRole> {
        let mut out = Vec::new();
        for (bi, b) in self.bindings.iter().enumerate() {
            for (si, s) in b.subjects.iter().enumerate() {
                if self.subject_matches(s, id) {
                    out.push(BoundRole {
                        binding: bi,
                        subject: si,
                        role: self.role_of(b),
                    });
                }
            }
        }
        out
    }

    /// The IAM mappings through which a principal becomes a subject: those whose user
    /// name (a template) can be the subject's user, or whose groups hold the group.
    pub fn mappings_into(&self, s: &Subject) -> Vec<usize> {
        self.mappings
            .iter()
            .enumerate()
            .filter(|(_, m)| match s.kind {
                SubjectKind::User => iam::username_matches(&m.username, &s.name),
                SubjectKind::Group => m.groups.contains(&s.name),
                SubjectKind::ServiceAccount | SubjectKind::IamPrincipal => false,
            })
            .map(|(i, _)| i)
            .collect()
    }

    /// The identities an IAM principal ARN (role, user, or STS assumed-role session)
    /// authenticates as, one per mapping that covers it: access entries first, as EKS
    /// prefers them over aws-auth.
    pub fn resolve_iam(&self, arn: &str) -> Vec<(usize, Identity)> {
        let Some(p) = normalize_principal(arn) else {
            return Vec::new();
        };
        let mut out: Vec<(usize, Identity)> = self
            .mappings
            .iter()
            .enumerate()
            .filter(|(_, m)| normalize_principal(&m.arn).is_some_and(|q| q.same_as(&p)))
            .map(|(i, m)| {
                (
                    i,
                    Identity::user(&p.render_username(&m.username), &m.groups),
                )
            })
            .collect();
        out.sort_by_key(|(i, _)| self.mappings[*i].source != MappingSource::AccessEntry);
        out
    }
}

#[cfg(test)]
mod tests;
