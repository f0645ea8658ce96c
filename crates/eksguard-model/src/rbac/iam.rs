//! EKS identities: IAM principals mapped to Kubernetes users and groups by the aws-auth
//! ConfigMap or by access entries, and EKS access policies acting as bindings.

use crate::aws_kinds as k;
use serde::Serialize;

use super::{Binding, BindingKind, Origin, PolicyRule, Role, RoleKind, RoleRef, RuleEntry};
use super::{Subject, SubjectKind};
use crate::arn::Arn;
use crate::inventory::Inventory;
use crate::node::Node;
use crate::object::{Object, ObjectId};

/// The EKS access policies the model knows, and the default ClusterRole each matches.
/// `AmazonEKSAdminViewPolicy` (read everything, Secrets included) has no default twin.
pub const ACCESS_POLICIES: &[&str] = &[
    "AmazonEKSClusterAdminPolicy",
    "AmazonEKSAdminPolicy",
    "AmazonEKSEditPolicy",
    "AmazonEKSViewPolicy",
    "AmazonEKSAdminViewPolicy",
];

/// The permissions of an access policy, from the resolved default ClusterRoles.
pub fn access_policy_role(policy: &str, defaults: &[Role]) -> Role {
    let twin = match policy {
        "AmazonEKSClusterAdminPolicy" => "cluster-admin",
        "AmazonEKSAdminPolicy" => "admin",
        "AmazonEKSEditPolicy" => "edit",
        "AmazonEKSViewPolicy" => "view",
        _ => "",
    };
    let rules = match defaults.iter().find(|r| r.name == twin) {
        Some(r) => r.rules.clone(),
        None => vec![RuleEntry {
            rule: PolicyRule {
                verbs: vec!["get".into(), "list".into(), "watch".into()],
                api_groups: vec!["*".into()],
                resources: vec!["*".into()],
                ..Default::default()
            },
            role: policy.to_string(),
            index: 0,
            origin: Origin::AwsManaged,
        }],
    };
    Role {
        kind: RoleKind::AccessPolicy,
        name: policy.to_string(),
        namespace: None,
        origin: Origin::AwsManaged,
        rules,
        aggregated_from: Vec::new(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MappingSource {
    /// An entry of aws-auth's `mapRoles`.
    AwsAuthRole,
    /// An entry of aws-auth's `mapUsers`.
    AwsAuthUser,
    /// An EKS access entry (from the EKS API or eksctl's `accessConfig`).
    AccessEntry,
}

/// An IAM principal mapped to a Kubernetes user name (a template such as
/// `admin:{{SessionName}}`) and groups.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IamMapping {
    pub arn: String,
    pub username: String,
    pub groups: Vec<String>,
    pub source: MappingSource,
    #[serde(skip)]
    pub object: ObjectId,
    /// Index in `mapRoles`/`mapUsers` or in eksctl's `accessEntries`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<usize>,
}

impl IamMapping {
    /// "aws-auth mapRoles[0]", "access entry".
    pub fn describe(&self) -> String {
        match (self.source, self.index) {
            (MappingSource::AwsAuthRole, Some(i)) => format!("aws-auth mapRoles[{i}]"),
            (MappingSource::AwsAuthUser, Some(i)) => format!("aws-auth mapUsers[{i}]"),
            (MappingSource::AccessEntry, Some(i)) => format!("eksctl accessEntries[{i}]"),
            (MappingSource::AwsAuthRole | MappingSource::AwsAuthUser, None) => "aws-auth".into(),
            (MappingSource::AccessEntry, None) => "access entry".into(),
        }
    }
}

/// An IAM principal reduced to what authentication compares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub account: String,
    /// `role` or `user`.
    pub kind: String,
    /// The role or user name, without its IAM path.
    pub name: String,
    /// The session name of an assumed-role ARN.
    pub session: Option<String>,
}

impl Principal {
    /// Same account, kind and name. IAM paths are ignored: an assumed-role ARN carries
    /// none, and EKS compares roles without them.
    pub fn same_as(&self, other: &Principal) -> bool {
        self.account == other.account && self.kind == other.kind && self.name == other.name
    }

    /// A user-name template with `{{AccountID}}` and, when known, `{{SessionName}}`
    /// filled in.
    pub fn render_username(&self, template: &str) -> String {
        let mut s = template.replace("{{AccountID}}", &self.account);
        if let Some(session) = &self.session {
            s = s
                .replace("{{SessionNameRaw}}", session)
                .replace("{{SessionName}}", &session.replace('@', "-"));
        }
        s
    }
}

/// Parses an IAM role or user ARN, or an STS assumed-role ARN
/// (`arn:aws:sts::111122223333:assumed-role/NAME/SESSION`).
pub fn normalize_principal(arn: &str) -> Option<Principal> {
    let Arn {
        service,
        account,
        resource,
        ..
    } = Arn::parse(arn)?;
    let (kind, rest) = resource.split_once('/')?;
    match (service, kind) {
        ("sts", "assumed-role") => {
            let (name, session) = rest.split_once('/')?;
            Some(Principal {
                account: account.to_string(),
                kind: "role".into(),
                name: name.to_string(),
                session: Some(session.to_string()),
            })
        }
        ("iam", "role" | "user") => Some(Principal {
            account: account.to_string(),
            kind: kind.to_string(),
            name: rest.rsplit('/').next()?.to_string(),
            session: None,
        }),
        _ => None,
    }
}

pub(crate) fn same_principal(a: &str, b: &str) -> bool {
    match (normalize_principal(a), normalize_principal(b)) {
        (Some(p), Some(q)) => p.same_as(&q),
        _ => a == b,
    }
}

/// Whether a user-name template can produce `user`: each `{{...}}` placeholder stands for
/// one or more characters.
pub(crate) fn username_matches(template: &str, user: &str) -> bool {
    fn go(t: &str, u: &str) -> bool {
        match t.find("{{") {
            None => t == u,
            Some(i) => {
                let Some(end) = t[i..].find("}}") else {
                    return t == u;
                };
                let (lit, rest) = (&t[..i], &t[i + end + 2..]);
                let Some(u) = u.strip_prefix(lit) else {
                    return false;
                };
                (1..=u.len())
                    .filter(|&k| u.is_char_boundary(k))
                    .any(|k| go(rest, &u[k..]))
            }
        }
    }
    go(template, user)
}

/// The user name EKS gives an access entry that names none.
fn default_username(arn: &str, entry_type: &str) -> String {
    match entry_type {
        "EC2_LINUX" | "EC2_WINDOWS" => return "system:node:{{EC2PrivateDNSName}}".into(),
        "FARGATE_LINUX" | "HYBRID_LINUX" => return "system:node:{{SessionName}}".into(),
        _ => {}
    }
    match normalize_principal(arn) {
        Some(p) if p.kind == "role" => {
            let partition = arn.split(':').nth(1).unwrap_or("aws");
            format!(
                "arn:{partition}:sts::{}:assumed-role/{}/{{{{SessionName}}}}",
                p.account, p.name
            )
        }
        _ => arn.to_string(),
    }
}

/// The groups EKS adds for node access-entry types.
fn type_groups(entry_type: &str) -> &'static [&'static str] {
    match entry_type {
        "EC2_LINUX" | "EC2_WINDOWS" | "HYBRID_LINUX" => &["system:bootstrappers", "system:nodes"],
        "FARGATE_LINUX" => &[
            "system:bootstrappers",
            "system:nodes",
            "system:node-proxier",
        ],
        _ => &[],
    }
}

fn text(n: &Node, key: &str) -> Option<String> {
    n.get(key).and_then(Node::scalar_text)
}

fn texts(n: Option<&Node>) -> Vec<String> {
    n.map(Node::items)
        .unwrap_or(&[])
        .iter()
        .filter_map(Node::scalar_text)
        .collect()
}

fn entry_mapping(
    obj: &Object,
    e: &Node,
    keys: [&str; 4],
    index: Option<usize>,
) -> Option<IamMapping> {
    let [arn_k, user_k, groups_k, type_k] = keys;
    let arn = text(e, arn_k)?;
    let ty = text(e, type_k).unwrap_or_else(|| "STANDARD".into());
    let username = text(e, user_k)
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| default_username(&arn, &ty));
    let mut groups = texts(e.get(groups_k));
    groups.extend(type_groups(&ty).iter().map(|g| g.to_string()));
    Some(IamMapping {
        arn,
        username,
        groups,
        source: MappingSource::AccessEntry,
        object: obj.id,
        index,
    })
}

/// Bindings for one list of associated access policies.
fn policy_bindings(
    obj: &Object,
    arn: &str,
    list: Option<&Node>,
    arn_key: &str,
    out: &mut Vec<Binding>,
) {
    for p in list.map(Node::items).unwrap_or(&[]) {
        let Some(policy_arn) = text(p, arn_key) else {
            continue;
        };
        let policy = policy_arn.rsplit('/').next().unwrap_or("").to_string();
        let scope = p.get("accessScope");
        let cluster = scope
            .and_then(|s| text(s, "type"))
            .is_none_or(|t| t.eq_ignore_ascii_case("cluster"));
        let namespaces: Vec<Option<String>> = if cluster {
            vec![None]
        } else {
            texts(scope.and_then(|s| s.get("namespaces")))
                .into_iter()
                .map(Some)
                .collect()
        };
        for ns in namespaces {
            out.push(Binding {
                kind: BindingKind::AccessPolicyAssociation,
                name: arn.to_string(),
                namespace: ns,
                role_ref: RoleRef {
                    kind: RoleKind::AccessPolicy,
                    name: policy.clone(),
                },
                subjects: vec![Subject {
                    kind: SubjectKind::IamPrincipal,
                    name: arn.to_string(),
                    namespace: None,
                }],
                origin: Origin::Object(obj.id),
            });
        }
    }
}

/// Reads aws-auth, access entries, associated access policies and eksctl `accessConfig`.
pub(crate) fn read(inv: &Inventory) -> (Vec<IamMapping>, Vec<Binding>) {
    let mut mappings: Vec<IamMapping> = Vec::new();
    let mut bare: Vec<IamMapping> = Vec::new();
    let mut bindings = Vec::new();
    for obj in &inv.objects {
        match &*obj.kind {
            "ConfigMap" if crate::aws_auth::is_aws_auth(obj) => {
                let Some(parsed) = inv.aws_auth_of(obj.id) else {
                    continue;
                };
                for (key, arn_key, source) in [
                    ("mapRoles", "rolearn", MappingSource::AwsAuthRole),
                    ("mapUsers", "userarn", MappingSource::AwsAuthUser),
                ] {
                    let Some(list) = parsed.map(key) else {
                        continue;
                    };
                    for (i, e) in list.items().iter().enumerate() {
                        let Some(arn) = text(e, arn_key) else {
                            continue;
                        };
                        let username = text(e, "username").unwrap_or_else(|| arn.clone());
                        mappings.push(IamMapping {
                            arn,
                            username,
                            groups: texts(e.get("groups")),
                            source,
                            object: obj.id,
                            index: Some(i),
                        });
                    }
                }
            }
            k::EKS_ACCESS_ENTRY => {
                let keys = ["principalArn", "username", "kubernetesGroups", "type"];
                let Some(m) = entry_mapping(obj, &obj.root, keys, None) else {
                    continue;
                };
                // `list-access-entries` gives the ARN alone.
                let described = ["username", "kubernetesGroups", "type"]
                    .iter()
                    .any(|k| obj.root.get(k).is_some());
                if described {
                    mappings.push(m);
                } else {
                    bare.push(m);
                }
            }
            k::EKS_ACCESS_POLICIES => {
                if let Some(arn) = text(&obj.root, "principalArn") {
                    let list = obj.root.get("associatedAccessPolicies");
                    policy_bindings(obj, &arn, list, "policyArn", &mut bindings);
                }
            }
            "ClusterConfig" if obj.api_version.starts_with("eksctl.io/") => {
                let entries = obj.root.at("accessConfig.accessEntries");
                for (i, e) in entries.map(Node::items).unwrap_or(&[]).iter().enumerate() {
                    let keys = [
                        "principalARN",
                        "kubernetesUsername",
                        "kubernetesGroups",
                        "type",
                    ];
                    let Some(m) = entry_mapping(obj, e, keys, Some(i)) else {
                        continue;
                    };
                    let arn = m.arn.clone();
                    mappings.push(m);
                    policy_bindings(
                        obj,
                        &arn,
                        e.get("accessPolicies"),
                        "policyARN",
                        &mut bindings,
                    );
                }
            }
            _ => {}
        }
    }
    let known = |arn: &str, ms: &[IamMapping]| {
        ms.iter()
            .any(|m| m.source == MappingSource::AccessEntry && same_principal(&m.arn, arn))
    };
    for m in bare {
        if !known(&m.arn, &mappings) {
            mappings.push(m);
        }
    }
    // An association implies an access entry; without its description, assume the
    // default user name.
    for b in &bindings {
        if !known(&b.name, &mappings) {
            let obj_id = match b.origin {
                Origin::Object(id) => id,
                _ => ObjectId(0),
            };
            mappings.push(IamMapping {
                arn: b.name.clone(),
                username: default_username(&b.name, "STANDARD"),
                groups: Vec::new(),
                source: MappingSource::AccessEntry,
                object: obj_id,
                index: None,
            });
        }
    }
    (mappings, bindings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn principals_normalize() {
        let p = normalize_principal("arn:aws:sts::111122223333:assumed-role/Admin/alice@x.com")
            .unwrap();
        assert_eq!((p.kind.as_str(), p.name.as_str()), ("role", "Admin"));
        let q = normalize_principal("arn:aws:iam::111122223333:role/team/Admin").unwrap();
        assert!(p.same_as(&q));
        assert_eq!(p.render_username("ops:{{SessionName}}"), "ops:alice-x.com");
        assert_eq!(
            p.render_username("{{AccountID}}:{{SessionNameRaw}}"),
            "111122223333:alice@x.com"
        );
        let u = normalize_principal("arn:aws:iam::111122223333:user/Admin").unwrap();
        assert!(!u.same_as(&q));
        assert!(normalize_principal("not-an-arn").is_none());
    }

    #[test]
    fn username_templates() {
        assert!(username_matches("ops:{{SessionName}}", "ops:alice"));
        assert!(!username_matches("ops:{{SessionName}}", "ops:"));
        assert!(!username_matches("ops:{{SessionName}}", "dev:alice"));
        assert!(username_matches("alice", "alice"));
        assert!(username_matches(
            "system:node:{{EC2PrivateDNSName}}",
            "system:node:ip-10-0-0-1.ec2.internal"
        ));
    }

    #[test]
    fn default_usernames() {
        assert_eq!(
            default_username("arn:aws:iam::1:role/path/Dev", "STANDARD"),
            "arn:aws:sts::1:assumed-role/Dev/{{SessionName}}"
        );
        assert_eq!(
            default_username("arn:aws:iam::1:user/bob", "STANDARD"),
            "arn:aws:iam::1:user/bob"
        );
        assert_eq!(
            default_username("arn:aws:iam::1:role/node", "EC2_LINUX"),
            "system:node:{{EC2PrivateDNSName}}"
        );
    }
}
