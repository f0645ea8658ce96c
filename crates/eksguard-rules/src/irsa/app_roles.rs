//! Application roles: the IAM roles service accounts assume (IRSA annotations, Pod
//! Identity associations, trust policies that admit an EKS OIDC provider or
//! `pods.eks.amazonaws.com`), minus node and cluster roles, each with the policies that
//! give it permissions. Roles are matched by name, case-insensitively: ARNs that code
//! computes carry a stand-in account, and a role name is unique within an account.

use eksguard_model::aws_kinds as k;
use std::collections::{BTreeMap, BTreeSet};

use eksguard_model::iam_policy::{statements, Statement};
use eksguard_model::{FieldPath, Node, Object};

use super::irsa_role;
use crate::aws_iam::{aws_managed_policy_name, role_name, trust_policy, web_identity_statements};
use crate::Ctx;

/// Every kind [`app_roles`] reads: the `reads` of the rules that use it.
pub(crate) const KINDS: &[&str] = &[
    "ServiceAccount",
    k::EKS_POD_IDENTITY_ASSOCIATION,
    k::EKS_CLUSTER,
    k::EKS_NODEGROUP,
    "NodeClass",
    "EC2NodeClass",
    k::IAM_ROLE,
    k::IAM_ATTACHED_POLICIES,
    k::IAM_ROLE_POLICY,
    k::IAM_POLICY_DOCUMENT,
    k::IAM_MANAGED_POLICY,
];

/// A policy document with the object that holds it and the path of the document.
#[derive(Clone)]
pub(crate) struct Doc<'a> {
    pub obj: &'a Object,
    pub node: &'a Node,
    pub base: FieldPath,
}

impl<'a> Doc<'a> {
    pub fn statements(&self) -> Vec<Statement<'a>> {
        statements(self.node, &self.base)
    }
}

/// A managed policy attached to a role, where the attachment is written.
pub(crate) struct Attached<'a> {
    pub list: &'a Object,
    pub path: FieldPath,
    /// The ARN, or the name when the list gives no ARN.
    pub shown: String,
    /// The name of an AWS-managed policy (`arn:aws:iam::aws:policy/NAME`).
    pub aws_managed: Option<String>,
    /// The default version's document of a customer-managed policy found in the scan.
    pub doc: Option<Doc<'a>>,
}

pub(crate) struct AppRole<'a> {
    /// The role name, as first seen.
    pub name: String,
    /// Why it is an application role, for messages.
    pub why: String,
    pub role: Option<&'a Object>,
    pub attached: Vec<Attached<'a>>,
    pub inline: Vec<Doc<'a>>,
}

impl<'a> AppRole<'a> {
    /// Every document that grants the role permissions: inline, then customer-managed.
    pub fn documents(&self) -> impl Iterator<Item = Doc<'a>> + '_ {
        self.inline
            .iter()
            .cloned()
            .chain(self.attached.iter().filter_map(|a| a.doc.clone()))
    }
}

fn field<'n>(n: &'n Node, dotted: &str) -> Option<&'n str> {
    n.at(dotted)
        .and_then(Node::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// The name of a role given by ARN or by name.
fn name_of(s: &str) -> String {
    role_name(s).unwrap_or(s).to_ascii_lowercase()
}

/// Roles that are not application roles whatever trusts them: node roles and cluster
/// roles.
fn infrastructure_roles(cx: &Ctx<'_>) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for ng in cx.objects_of(k::EKS_NODEGROUP) {
        out.extend(field(&ng.root, "nodeRole").map(name_of));
    }
    for c in cx.objects_of(k::EKS_CLUSTER) {
        out.extend(field(&c.root, "roleArn").map(name_of));
        out.extend(field(&c.root, "computeConfig.nodeRoleArn").map(name_of));
    }
    for kind in ["NodeClass", "EC2NodeClass"] {
        for nc in cx.objects_of(kind) {
            out.extend(field(&nc.root, "spec.role").map(name_of));
        }
    }
    out
}

/// Whether a trust policy admits pods: web identity from an EKS OIDC provider (or the
/// stand-in for one that code creates), or the Pod Identity service.
fn trusted_by_pods(role: &Object) -> Option<String> {
    let (doc, base) = trust_policy(role)?;
    let sts = statements(doc, &base);
    for (_, issuers) in web_identity_statements(&sts) {
        if let Some(i) = issuers
            .iter()
            .find(|i| i.starts_with("oidc.eks.") || i.ends_with(".oidc"))
        {
            return Some(format!("trusts the EKS OIDC provider `{i}`"));
        }
    }
    sts.iter()
        .any(|s| {
            s.is_allow()
                && s.principals("Service")
                    .iter()
                    .any(|p| p.eq_ignore_ascii_case("pods.eks.amazonaws.com"))
                && s.covers_action("sts:AssumeRole")
        })
        .then(|| "trusts EKS Pod Identity (`pods.eks.amazonaws.com`)".to_string())
}

/// The role a list of attached policies belongs to: its `RoleName`, else a component of
/// its file path that names a known role.
fn list_role(list: &Object, known: &BTreeMap<String, AppRole<'_>>) -> Option<String> {
    if let Some(n) = field(&list.root, "RoleName") {
        return Some(n.to_ascii_lowercase());
    }
    let file = list.file()?.to_ascii_lowercase();
    let comps: Vec<&str> = file.split(['/', '\\']).collect();
    known
        .keys()
        .filter(|r| {
            comps
                .iter()
                .any(|c| c == r || c.strip_suffix(".json").is_some_and(|s| s == *r))
        })
        .max_by_key(|r| r.len())
        .cloned()
}

/// The default version's document of a managed policy object.
fn managed_document(obj: &Object) -> Option<(&Node, String)> {
    match &*obj.kind {
        k::IAM_MANAGED_POLICY => {
            let versions = obj.root.get("PolicyVersionList")?.items();
            let default = obj.root.get("DefaultVersionId").and_then(Node::scalar_text);
            let (i, v) = versions.iter().enumerate().find(|(_, v)| {
                v.get("IsDefaultVersion").and_then(Node::as_bool_lenient) == Some(true)
                    || (default.is_some()
                        && v.get("VersionId").and_then(Node::scalar_text) == default)
            })?;
            let d = v.get("Document").filter(|d| d.is_map())?;
            Some((d, format!("PolicyVersionList[{i}].Document")))
        }
        k::IAM_POLICY_DOCUMENT => Some((&obj.root, String::new())),
        _ => None,
    }
}

/// A customer-managed policy's document: an `IAMManagedPolicy` or `IAMPolicyDocument`
/// named by the ARN, else one whose policy name or file path names the policy.
fn find_policy<'a>(cx: &Ctx<'a>, arn: &str) -> Option<(&'a Object, &'a Node, String)> {
    let pname = arn.rsplit('/').next().unwrap_or(arn).to_ascii_lowercase();
    let mut candidates: Vec<&'a Object> = cx.objects_of(k::IAM_MANAGED_POLICY).collect();
    candidates.extend(cx.objects_of(k::IAM_POLICY_DOCUMENT));
    let by_arn = candidates.iter().find(|o| o.name.eq_ignore_ascii_case(arn));
    let by_name = || {
        candidates.iter().find(|o| {
            let named = o.name.rsplit('/').next().unwrap_or("").to_ascii_lowercase();
            named == pname
                || field(&o.root, "PolicyName").is_some_and(|n| n.eq_ignore_ascii_case(&pname))
                || o.file().is_some_and(|f| {
                    o.name.as_ref() == f
                        && f.to_ascii_lowercase()
                            .split(['/', '\\'])
                            .any(|c| c == pname)
                })
        })
    };
    let obj = *by_arn.or_else(by_name)?;
    let (node, base) = managed_document(obj)?;
    Some((obj, node, base))
}

/// The application roles of the scan, by lower-case role name.
pub(crate) fn app_roles<'a>(cx: &Ctx<'a>) -> BTreeMap<String, AppRole<'a>> {
    let infra = infrastructure_roles(cx);
    let mut roles: BTreeMap<String, AppRole<'a>> = BTreeMap::new();
    let mut add = |name: &str, why: String| {
        let key = name_of(name);
        if key.is_empty() || infra.contains(&key) {
            return;
        }
        // Role names hold no `/`: a path before one is an ARN's or a stand-in's.
        let shown = role_name(name).unwrap_or(name);
        let shown = shown.rsplit('/').next().unwrap_or(shown);
        roles.entry(key).or_insert_with(|| AppRole {
            name: shown.to_string(),
            why,
            role: None,
            attached: Vec::new(),
            inline: Vec::new(),
        });
    };
    for sa in cx.objects_of("ServiceAccount") {
        if let Some(arn) = irsa_role(sa) {
            let ns = sa.ns().unwrap_or("default");
            add(
                arn,
                format!("service account `{ns}/{}` assumes it", sa.name),
            );
        }
    }
    for a in cx.objects_of(k::EKS_POD_IDENTITY_ASSOCIATION) {
        let sa = format!(
            "{}/{}",
            field(&a.root, "namespace").unwrap_or("?"),
            field(&a.root, "serviceAccount").unwrap_or("?")
        );
        for k in ["roleArn", "targetRoleArn"] {
            if let Some(arn) = field(&a.root, k) {
                add(
                    arn,
                    format!("Pod Identity gives it to service account `{sa}`"),
                );
            }
        }
    }
    let role_objs: Vec<&'a Object> = cx.objects_of(k::IAM_ROLE).collect();
    for r in &role_objs {
        if let Some(why) = trusted_by_pods(r) {
            let name = field(&r.root, "RoleName").unwrap_or(&r.name).to_string();
            add(&name, why);
        }
    }
    for r in role_objs {
        let name = field(&r.root, "RoleName")
            .map(str::to_string)
            .unwrap_or_else(|| name_of(&r.name));
        if let Some(app) = roles.get_mut(&name.to_ascii_lowercase()) {
            app.role.get_or_insert(r);
        }
    }
    for p in cx.objects_of(k::IAM_ROLE_POLICY) {
        let Some(role) = field(&p.root, "RoleName") else {
            continue;
        };
        if let Some(app) = roles.get_mut(&role.to_ascii_lowercase()) {
            if let Some(node) = p.root.get("PolicyDocument").filter(|d| d.is_map()) {
                app.inline.push(Doc {
                    obj: p,
                    node,
                    base: FieldPath::parse("PolicyDocument"),
                });
            }
        }
    }
    for list in cx.objects_of(k::IAM_ATTACHED_POLICIES) {
        let Some(role) = list_role(list, &roles) else {
            continue;
        };
        if !roles.contains_key(&role) {
            continue;
        }
        let mut found = Vec::new();
        for (i, p) in list
            .root
            .get("AttachedPolicies")
            .map(Node::items)
            .unwrap_or(&[])
            .iter()
            .enumerate()
        {
            let arn = field(p, "PolicyArn");
            let name = field(p, "PolicyName");
            let (key, shown) = match (arn, name) {
                (Some(a), _) => ("PolicyArn", a),
                (None, Some(n)) => ("PolicyName", n),
                _ => continue,
            };
            let aws_managed = match arn {
                Some(a) => aws_managed_policy_name(a).map(str::to_string),
                None => None,
            };
            let doc = match (arn, &aws_managed) {
                (Some(a), None) => find_policy(cx, a),
                _ => None,
            };
            found.push(Attached {
                list,
                path: FieldPath::parse("AttachedPolicies").index(i).key(key),
                shown: shown.to_string(),
                aws_managed,
                doc: doc.map(|(obj, node, base)| Doc {
                    obj,
                    node,
                    base: FieldPath::parse(&base),
                }),
            });
        }
        if let Some(app) = roles.get_mut(&role) {
            app.attached.extend(found);
        }
    }
    roles
}
