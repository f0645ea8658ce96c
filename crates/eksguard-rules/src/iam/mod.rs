//! IAM — cluster access and RBAC.

mod anonymous_binding;
mod aws_auth_configmap_authentication;
mod aws_auth_maps_iam_users;
mod aws_auth_username_without_session;
mod cluster_admin_binding;
mod cluster_admin_equivalent_binding;
mod cluster_created_by_person;
mod cluster_creator_admin;
mod legacy_service_account_token;
mod mapped_iam_user_stale_access_key;
mod mapped_iam_user_with_aws_permissions;
mod mapped_users;
mod oidc_identity_provider_unprefixed;
mod private_endpoint_disabled;
mod public_endpoint_unrestricted;
mod rbac_create_pods;
mod rbac_escalation_verbs;
mod rbac_node_proxy;
mod rbac_persistent_volume_create;
mod rbac_pod_exec;
mod rbac_secrets_read;
mod rbac_token_create;
mod rbac_webhook_config_write;
mod rbac_wildcard;
mod system_masters_mapping;

pub use anonymous_binding::AnonymousBinding;
pub use aws_auth_configmap_authentication::AwsAuthConfigmapAuthentication;
pub use aws_auth_maps_iam_users::AwsAuthMapsIamUsers;
pub use aws_auth_username_without_session::AwsAuthUsernameWithoutSession;
pub use cluster_admin_binding::ClusterAdminBinding;
pub use cluster_admin_equivalent_binding::ClusterAdminEquivalentBinding;
pub use cluster_created_by_person::ClusterCreatedByPerson;
pub use cluster_creator_admin::ClusterCreatorAdmin;
pub use legacy_service_account_token::LegacyServiceAccountToken;
pub use mapped_iam_user_stale_access_key::MappedIamUserStaleAccessKey;
pub use mapped_iam_user_with_aws_permissions::MappedIamUserWithAwsPermissions;
pub use oidc_identity_provider_unprefixed::OidcIdentityProviderUnprefixed;
pub use private_endpoint_disabled::PrivateEndpointDisabled;
pub use public_endpoint_unrestricted::PublicEndpointUnrestricted;
pub use rbac_create_pods::RbacCreatePods;
pub use rbac_escalation_verbs::RbacEscalationVerbs;
pub use rbac_node_proxy::RbacNodeProxy;
pub use rbac_persistent_volume_create::RbacPersistentVolumeCreate;
pub use rbac_pod_exec::RbacPodExec;
pub use rbac_secrets_read::RbacSecretsRead;
pub use rbac_token_create::RbacTokenCreate;
pub use rbac_webhook_config_write::RbacWebhookConfigWrite;
pub use rbac_wildcard::RbacWildcard;
pub use system_masters_mapping::SystemMastersMapping;

use eksguard_model::rbac::powers::Power;
use eksguard_model::{rbac, FieldPath, Node, Object};

use crate::{Ctx, Rule};

pub const RULES: &[&dyn Rule] = &[
    &PublicEndpointUnrestricted,
    &PrivateEndpointDisabled,
    &AwsAuthConfigmapAuthentication,
    &ClusterCreatorAdmin,
    &AwsAuthMapsIamUsers,
    &SystemMastersMapping,
    &AwsAuthUsernameWithoutSession,
    &RbacWildcard,
    &ClusterAdminBinding,
    &AnonymousBinding,
    &RbacEscalationVerbs,
    &RbacSecretsRead,
    &RbacPodExec,
    &RbacCreatePods,
    &RbacNodeProxy,
    &RbacWebhookConfigWrite,
    &RbacTokenCreate,
    &RbacPersistentVolumeCreate,
    &LegacyServiceAccountToken,
    &ClusterAdminEquivalentBinding,
    &MappedIamUserStaleAccessKey,
    &MappedIamUserWithAwsPermissions,
    &ClusterCreatedByPerson,
    &OidcIdentityProviderUnprefixed,
];

// ---------------------------------------------------------------------------------------
// RBAC rule matching

/// One request an RBAC rule may authorize, as the model's table of powers lists them.
pub(crate) use eksguard_model::rbac::powers::Request as Req;

/// A request a rule authorizes, with the index of the `verbs` and `resources` entries
/// that let it through.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Hit {
    pub req: Req,
    pub verb_idx: usize,
    pub resource_idx: usize,
}

fn strings(rule: &Node, field: &str) -> Vec<Option<String>> {
    rule.get(field)
        .map(Node::items)
        .unwrap_or(&[])
        .iter()
        .map(Node::scalar_text)
        .collect()
}

/// The `resourceNames` a rule is limited to (empty: every name).
pub(crate) fn resource_names(rule: &Node) -> Vec<String> {
    strings(rule, "resourceNames")
        .into_iter()
        .flatten()
        .collect()
}

/// Whether one PolicyRule authorizes `r` for some object, matching each entry with the
/// model's RBAC matcher (the API server's semantics). A rule limited by `resourceNames`
/// never authorizes `create` on a top-level resource, because such a request carries no
/// name; any other request may name one of the listed objects.
pub(crate) fn grants(rule: &Node, r: Req) -> Option<Hit> {
    let verbs = strings(rule, "verbs");
    let groups = strings(rule, "apiGroups");
    let resources = strings(rule, "resources");
    let (resource, sub) = match r.resource.split_once('/') {
        Some((res, s)) => (res, Some(s)),
        None => (r.resource, None),
    };
    let verb_idx = verbs
        .iter()
        .position(|v| v.as_deref().is_some_and(|v| rbac::verb_matches(v, r.verb)))?;
    groups.iter().position(|g| {
        g.as_deref()
            .is_some_and(|g| rbac::api_group_matches(g, r.group))
    })?;
    let resource_idx = resources.iter().position(|res| {
        res.as_deref()
            .is_some_and(|res| rbac::resource_matches(res, resource, sub))
    })?;
    let names = resource_names(rule);
    let name = match (r.verb, sub) {
        ("create", None) => None,
        _ => names.first().map(String::as_str),
    };
    if !rbac::resource_name_matches(&names, name) {
        return None;
    }
    Some(Hit {
        req: r,
        verb_idx,
        resource_idx,
    })
}

/// Every request of `reqs` that `rule` authorizes, in the order of the rule's own verbs
/// and resources, so the first hit is the first offending entry in the file.
pub(crate) fn grants_any(rule: &Node, reqs: &[Req]) -> Vec<Hit> {
    let mut hits: Vec<Hit> = reqs.iter().filter_map(|r| grants(rule, *r)).collect();
    hits.sort_by_key(|h| (h.verb_idx, h.resource_idx));
    hits
}

/// The rules of a Role or ClusterRole with their index.
pub(crate) fn role_rules(obj: &Object) -> impl Iterator<Item = (usize, &Node)> {
    obj.root
        .get("rules")
        .map(Node::items)
        .unwrap_or(&[])
        .iter()
        .enumerate()
}

/// Roles Kubernetes itself creates: `system:*` roles, and the default user-facing
/// ClusterRoles `cluster-admin`, `admin`, `edit` and `view`.
pub(crate) fn is_builtin_role(obj: &Object) -> bool {
    obj.name.starts_with("system:")
        || (&*obj.kind == "ClusterRole"
            && matches!(&*obj.name, "cluster-admin" | "admin" | "edit" | "view"))
}

pub(crate) fn verb_path(rule_idx: usize, hit: &Hit) -> FieldPath {
    FieldPath::parse("rules")
        .index(rule_idx)
        .key("verbs")
        .index(hit.verb_idx)
}

pub(crate) fn resource_path(rule_idx: usize, hit: &Hit) -> FieldPath {
    FieldPath::parse("rules")
        .index(rule_idx)
        .key("resources")
        .index(hit.resource_idx)
}

fn distinct<'a>(items: impl Iterator<Item = &'a str>) -> String {
    let mut seen: Vec<&str> = Vec::new();
    for i in items {
        if !seen.contains(&i) {
            seen.push(i);
        }
    }
    seen.iter()
        .map(|s| format!("`{s}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// "rule 2 grants `get`, `list` on `secrets` (only resourceNames `a`, `b`)".
pub(crate) fn describe_grant(rule_idx: usize, rule: &Node, hits: &[Hit]) -> String {
    let mut s = format!(
        "rule {} grants {} on {}",
        rule_idx + 1,
        distinct(hits.iter().map(|h| h.req.verb)),
        distinct(hits.iter().map(|h| h.req.resource)),
    );
    let names = resource_names(rule);
    if !names.is_empty() {
        s.push_str(&format!(
            " (limited to resourceNames {})",
            distinct(names.iter().map(String::as_str))
        ));
    }
    s
}

/// The common shape of IAM011–IAM018: one finding per role rule that grants any of
/// `reqs`, at its verbs entry (or resources entry when `at_resource`).
pub(crate) fn report_grants(
    obj: &Object,
    powers: &[&Power],
    at_resource: bool,
    out: &mut crate::Sink,
) {
    if is_builtin_role(obj) {
        return;
    }
    let reqs: Vec<Req> = powers
        .iter()
        .flat_map(|p| p.requests.iter().copied())
        .collect();
    for (i, rule) in role_rules(obj) {
        let hits = grants_any(rule, &reqs);
        let Some(first) = hits.first() else { continue };
        let path = if at_resource {
            resource_path(i, first)
        } else {
            verb_path(i, first)
        };
        out.report(
            obj,
            path,
            format!("{}: {}", describe_grant(i, rule, &hits), why(powers, first)),
        );
    }
}

/// What the power behind a hit lets its holder do.
fn why(powers: &[&Power], hit: &Hit) -> &'static str {
    powers
        .iter()
        .find(|p| p.requests.contains(&hit.req))
        .map_or("", |p| p.why)
}

// ---------------------------------------------------------------------------------------
// aws-auth ConfigMap

/// The `kube-system/aws-auth` ConfigMap's mapping list under `data.<key>` (`mapRoles` or
/// `mapUsers`), parsed from its embedded YAML with positions in the outer file, with the
/// path of the list. `None` when the object is not aws-auth, the key is absent, or the
/// text is not a YAML list (a malformed mapping is skipped quietly: the authenticator
/// would reject it too, and it is not this rule's finding).
pub(crate) fn aws_auth_entries<'i>(
    cx: &Ctx<'i>,
    obj: &Object,
    key: &str,
) -> Option<(&'i Node, FieldPath)> {
    let parsed = cx.inv.aws_auth_of(obj.id)?.map(key)?;
    parsed.as_seq()?;
    Some((parsed, FieldPath::parse("data").key(key)))
}

/// The group names of one aws-auth mapping entry, with their index.
pub(crate) fn entry_groups(entry: &Node) -> impl Iterator<Item = (usize, String)> + '_ {
    entry
        .get("groups")
        .map(Node::items)
        .unwrap_or(&[])
        .iter()
        .enumerate()
        .filter_map(|(i, g)| g.scalar_text().map(|g| (i, g)))
}

/// The IAM principal ARN of an aws-auth entry (`rolearn` or `userarn`), for messages.
pub(crate) fn entry_arn(entry: &Node) -> String {
    entry
        .get("rolearn")
        .or_else(|| entry.get("userarn"))
        .and_then(Node::scalar_text)
        .unwrap_or_else(|| "(no ARN)".to_string())
}

// ---------------------------------------------------------------------------------------
// Bindings

/// The roleRef of a RoleBinding or ClusterRoleBinding: (kind, name).
pub(crate) fn role_ref(obj: &Object) -> (&str, &str) {
    let r = obj.root.get("roleRef");
    let field = |k: &str| {
        r.and_then(|r| r.get(k))
            .and_then(Node::as_str)
            .unwrap_or("")
    };
    (field("kind"), field("name"))
}

/// The subjects of a binding with their index: (index, kind, name, namespace).
pub(crate) fn subjects(obj: &Object) -> impl Iterator<Item = (usize, &str, &str, Option<&str>)> {
    obj.root
        .get("subjects")
        .map(Node::items)
        .unwrap_or(&[])
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let f = |k: &str| s.get(k).and_then(Node::as_str);
            (
                i,
                f("kind").unwrap_or(""),
                f("name").unwrap_or(""),
                f("namespace"),
            )
        })
}

/// Where a binding grants its role: "in namespace `ns`" for a RoleBinding,
/// "cluster-wide" for a ClusterRoleBinding.
pub(crate) fn binding_scope(obj: &Object) -> String {
    match obj.ns() {
        Some(ns) if &*obj.kind == "RoleBinding" => format!("in namespace `{ns}`"),
        _ => "cluster-wide".to_string(),
    }
}

/// The subjects a binding gives its role to, each at its path and described: all but the
/// group `system:masters`, which holds every permission anyway.
pub(crate) fn bound_subjects(obj: &Object) -> impl Iterator<Item = (FieldPath, String)> + '_ {
    subjects(obj)
        .filter(|(_, kind, name, _)| !(*kind == "Group" && *name == "system:masters"))
        .map(|(i, kind, name, ns)| {
            (
                FieldPath::parse("subjects").index(i),
                describe_subject(kind, name, ns),
            )
        })
}

/// "User `alice`", "ServiceAccount `ci/deployer`".
pub(crate) fn describe_subject(kind: &str, name: &str, ns: Option<&str>) -> String {
    match (kind, ns) {
        ("ServiceAccount", Some(ns)) => format!("ServiceAccount `{ns}/{name}`"),
        _ => format!("{kind} `{name}`"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use eksguard_model::yaml::{parse_documents, ParseLimits};

    fn rule(text: &str) -> Node {
        let mut d = parse_documents(text, false, ParseLimits::default());
        d.swap_remove(0).unwrap().root
    }

    #[test]
    fn matches_like_the_api_server() {
        let r = rule("apiGroups: ['']\nresources: ['*/exec']\nverbs: [create]\n");
        assert!(grants(&r, Req::new("create", "", "pods/exec")).is_some());
        assert!(grants(&r, Req::new("create", "", "pods")).is_none());
        assert!(grants(&r, Req::new("get", "", "pods/exec")).is_none());
        let r = rule("apiGroups: ['*']\nresources: [pods]\nverbs: ['*']\n");
        assert!(grants(&r, Req::new("create", "apps", "pods")).is_some());
        assert!(grants(&r, Req::new("create", "", "pods/exec")).is_none());
        let r = rule("apiGroups: [apps]\nresources: [Deployments]\nverbs: [create]\n");
        assert!(grants(&r, Req::new("create", "apps", "deployments")).is_none());
    }

    #[test]
    fn resource_names_block_create_of_top_level_resources() {
        let r = rule(
            "apiGroups: ['']\nresources: [pods, pods/exec]\nresourceNames: [a]\nverbs: [create]\n",
        );
        assert!(grants(&r, Req::new("create", "", "pods")).is_none());
        assert!(grants(&r, Req::new("create", "", "pods/exec")).is_some());
    }
}
