use std::sync::Arc;

use super::*;
use crate::object::{Object, Source};

pub(super) fn inventory(text: &str) -> Inventory {
    let mut inv = Inventory::default();
    for d in parse_documents(text, true, ParseLimits::default()) {
        let d = d.expect("test YAML parses");
        let src = Source::File {
            path: Arc::from("t.yaml"),
            doc: d.index,
            item: None,
        };
        let root = d.root;
        // AWS CLI shapes are marked by a `kind` of their own in these tests.
        match root.get("kind").and_then(Node::as_str) {
            Some(k @ ("EKSAccessEntry" | "EKSAccessPolicies")) => {
                let name = root
                    .get("principalArn")
                    .and_then(Node::as_str)
                    .unwrap_or("")
                    .to_string();
                let k = k.to_string();
                inv.push(Object::synthetic("aws:eks", &k, &name, root, src));
            }
            _ => {
                inv.push(Object::from_node(root, src, "default").expect("an object"));
            }
        }
    }
    inv
}

fn model(text: &str) -> RbacModel {
    RbacModel::from_inventory(&inventory(text))
}

fn allowed(m: &RbacModel, req: RequestAttributes) -> bool {
    !m.authorize(&req).is_empty()
}

fn get(resource: &str) -> RequestAttributes {
    RequestAttributes::resource("get", "", resource)
}

#[test]
fn default_policy_is_complete_and_aggregated() {
    let m = RbacModel::from_inventory(&Inventory::default());
    let role = |n: &str| {
        m.roles
            .iter()
            .find(|r| r.name == n && r.kind == RoleKind::ClusterRole)
            .unwrap()
    };
    assert_eq!(role("view").aggregated_from, ["system:aggregate-to-view"]);
    assert_eq!(
        role("edit").aggregated_from,
        ["system:aggregate-to-edit", "view"]
    );
    assert_eq!(
        role("admin").aggregated_from,
        ["edit", "system:aggregate-to-admin"]
    );
    assert!(role("admin").rules.len() > role("edit").rules.len());
    assert!(role("admin")
        .rules
        .iter()
        .all(|r| r.origin == Origin::DefaultPolicy));
    // system:masters is cluster-admin through the default binding.
    let root = RequestAttributes::resource("delete", "apps", "deployments")
        .in_namespace("prod")
        .by("kubernetes-admin", &["system:masters"]);
    assert!(allowed(&m, root));
    // Every authenticated user may read discovery documents; anonymous users only health.
    assert!(allowed(
        &m,
        RequestAttributes::non_resource("get", "/apis/apps").by("bob", &[])
    ));
    assert!(!allowed(
        &m,
        RequestAttributes::non_resource("get", "/apis").by("system:anonymous", &[])
    ));
    assert!(allowed(
        &m,
        RequestAttributes::non_resource("get", "/healthz").by("system:anonymous", &[])
    ));
    assert!(!allowed(
        &m,
        get("pods").in_namespace("default").by("bob", &[])
    ));
}

const TEAM: &str = "
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: dev-edit, namespace: dev}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: edit}
subjects:
  - {kind: Group, name: developers}
  - {kind: ServiceAccount, name: ci}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: cm-one, namespace: dev}
rules:
  - apiGroups: ['']
    resources: [configmaps]
    resourceNames: [settings]
    verbs: [get, update]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: cm-one, namespace: dev}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: cm-one}
subjects:
  - {kind: User, name: carol}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: all-sa-view}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}
subjects:
  - {kind: Group, name: 'system:serviceaccounts:tools'}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: metrics-reader
  labels: {rbac.authorization.k8s.io/aggregate-to-view: 'true'}
rules:
  - apiGroups: [metrics.k8s.io]
    resources: [pods]
    verbs: [get, list]
";

#[test]
fn role_binding_to_cluster_role_grants_in_its_namespace_only() {
    let m = model(TEAM);
    let del = RequestAttributes::resource("delete", "", "pods").by("dave", &["developers"]);
    assert!(allowed(&m, del.clone().in_namespace("dev")));
    assert!(!allowed(&m, del.clone().in_namespace("prod")));
    assert!(!allowed(&m, del));
    // The subject without a namespace is the service account of the binding's namespace.
    let sa = Identity::service_account("dev", "ci");
    let req = RequestAttributes::resource("create", "apps", "deployments")
        .in_namespace("dev")
        .by(&sa.user, &[]);
    let grants = m.authorize(&req);
    assert_eq!(grants.len(), 1);
    let g = grants[0];
    assert_eq!(m.bindings[g.binding].name, "dev-edit");
    assert_eq!(m.roles[g.role].name, "edit");
    assert_eq!(
        m.roles[g.role].rules[g.rule].role,
        "system:aggregate-to-edit"
    );
}

#[test]
fn resource_names_and_implicit_service_account_groups() {
    let m = model(TEAM);
    let upd = RequestAttributes::resource("update", "", "configmaps")
        .in_namespace("dev")
        .by("carol", &[]);
    assert!(allowed(&m, upd.clone().named("settings")));
    assert!(!allowed(&m, upd.clone().named("other")));
    assert!(!allowed(&m, upd));
    // Every service account of `tools` is in `system:serviceaccounts:tools`, and view
    // took the custom metrics-reader by aggregation.
    let sa = Identity::service_account("tools", "runner");
    let metrics = RequestAttributes::resource("list", "metrics.k8s.io", "pods").by(&sa.user, &[]);
    let grants = m.authorize(&metrics);
    assert_eq!(grants.len(), 1);
    assert_eq!(
        m.roles[grants[0].role].rules[grants[0].rule].role,
        "metrics-reader"
    );
    let other = Identity::service_account("dev", "runner");
    assert!(!allowed(
        &m,
        RequestAttributes::resource("list", "metrics.k8s.io", "pods").by(&other.user, &[])
    ));
}

#[test]
fn who_can_in_a_namespace_and_anywhere() {
    let m = model(TEAM);
    let subjects = |req: &RequestAttributes| {
        let mut v: Vec<String> = m
            .who_can(req)
            .iter()
            .map(|g| m.bindings[g.binding].subjects[g.subject].display())
            .collect();
        v.sort();
        v.dedup();
        v
    };
    let del = RequestAttributes::resource("delete", "", "pods");
    assert_eq!(
        subjects(&del),
        [
            "Group developers",
            "Group system:masters",
            "ServiceAccount dev/ci",
            "User system:kube-scheduler"
        ]
    );
    assert_eq!(
        subjects(&del.clone().in_namespace("prod")),
        ["Group system:masters", "User system:kube-scheduler"]
    );
    // Cluster-scoped resources are never granted by RoleBindings.
    assert_eq!(
        subjects(&RequestAttributes::resource("delete", "", "nodes")),
        ["Group system:masters"]
    );
}

const EKS: &str = "
apiVersion: v1
kind: ConfigMap
metadata: {name: aws-auth, namespace: kube-system}
data:
  mapRoles: |
    - rolearn: arn:aws:iam::111122223333:role/platform/Ops
      username: ops:{{SessionName}}
      groups: [ops-team]
    - rolearn: arn:aws:iam::111122223333:role/Breakglass
      username: breakglass
      groups: [system:masters]
  mapUsers: |
    - userarn: arn:aws:iam::111122223333:user/carol
      username: carol
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: ops}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}
subjects: [{kind: Group, name: ops-team}]
---
kind: EKSAccessEntry
principalArn: arn:aws:iam::111122223333:role/Dev
kubernetesGroups: [dev-team]
type: STANDARD
---
kind: EKSAccessPolicies
principalArn: arn:aws:iam::111122223333:role/Dev
associatedAccessPolicies:
  - policyArn: arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy
    accessScope: {type: namespace, namespaces: [dev, qa]}
---
kind: EKSAccessPolicies
principalArn: arn:aws:iam::111122223333:role/Auditor
associatedAccessPolicies:
  - policyArn: arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy
    accessScope: {type: cluster}
";

#[test]
fn iam_principals_through_aws_auth_and_access_entries() {
    let m = model(EKS);
    let ids = m.resolve_iam("arn:aws:sts::111122223333:assumed-role/Ops/alice");
    assert_eq!(ids.len(), 1);
    assert_eq!(ids[0].1.user, "ops:alice");
    assert!(ids[0].1.groups.contains(&"ops-team".to_string()));
    let list = |id: &Identity, ns: &str| {
        RequestAttributes::resource("list", "", "pods")
            .in_namespace(ns)
            .by(
                &id.user,
                &id.groups.iter().map(String::as_str).collect::<Vec<_>>(),
            )
    };
    assert!(allowed(&m, list(&ids[0].1, "any")));

    let dev = m.resolve_iam("arn:aws:sts::111122223333:assumed-role/Dev/bob");
    assert_eq!(dev.len(), 1);
    assert_eq!(
        dev[0].1.user,
        "arn:aws:sts::111122223333:assumed-role/Dev/bob"
    );
    let create = |id: &Identity, ns: &str| {
        RequestAttributes::resource("create", "apps", "deployments")
            .in_namespace(ns)
            .by(
                &id.user,
                &id.groups.iter().map(String::as_str).collect::<Vec<_>>(),
            )
    };
    let g = m.authorize(&create(&dev[0].1, "qa"));
    assert_eq!(g.len(), 1);
    assert_eq!(
        m.bindings[g[0].binding].kind,
        BindingKind::AccessPolicyAssociation
    );
    assert_eq!(m.roles[g[0].role].name, "AmazonEKSEditPolicy");
    assert!(!allowed(&m, create(&dev[0].1, "prod")));

    // Without an access entry, an association still maps the default user name.
    let aud = m.resolve_iam("arn:aws:iam::111122223333:role/Auditor");
    assert_eq!(aud.len(), 1);
    assert!(allowed(&m, list(&aud[0].1, "kube-system")));
    assert!(!allowed(&m, create(&aud[0].1, "kube-system")));

    let bg = m.resolve_iam("arn:aws:iam::111122223333:role/Breakglass");
    assert!(allowed(&m, create(&bg[0].1, "kube-system")));
    // Who is mapped into a group.
    let masters = Subject::new(SubjectKind::Group, "system:masters", None);
    let into: Vec<&str> = m
        .mappings_into(&masters)
        .iter()
        .map(|&i| m.mappings[i].arn.as_str())
        .collect();
    assert_eq!(into, ["arn:aws:iam::111122223333:role/Breakglass"]);
    assert!(m
        .resolve_iam("arn:aws:iam::999999999999:role/Ops")
        .is_empty());
}

#[test]
fn cluster_scoped_custom_resources_come_from_their_definitions() {
    let m = model(
        "apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  scope: Cluster
  names: {plural: widgets, kind: Widget}
",
    );
    assert!(m.is_cluster_scoped("example.com", "widgets"));
    assert!(!m.is_cluster_scoped("example.com", "gadgets"));
    assert!(m.is_cluster_scoped("", "nodes"));
}

#[test]
fn aggregation_cycles_terminate() {
    let m = model(
        "apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: a, labels: {x: a}}
aggregationRule: {clusterRoleSelectors: [{matchLabels: {x: b}}]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: b, labels: {x: b}}
aggregationRule: {clusterRoleSelectors: [{matchLabels: {x: a}}]}
",
    );
    let a = m.roles.iter().find(|r| r.name == "a").unwrap();
    assert_eq!(a.aggregated_from, ["b"]);
    assert!(a.rules.is_empty());
}

/// Powers that the IAM rules flag in a role are also found on the subjects holding them:
/// impersonating UIDs, any verb on nodes/proxy, deleting webhook configurations, and
/// creating ReplicationControllers in kube-system.
#[test]
fn risks_cover_every_request_the_rules_flag() {
    let m = model(
        "
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: odd}
rules:
- apiGroups: [authentication.k8s.io]
  resources: [uids]
  verbs: [impersonate]
- apiGroups: ['']
  resources: [nodes/proxy]
  verbs: [patch]
- apiGroups: [admissionregistration.k8s.io]
  resources: [validatingwebhookconfigurations]
  verbs: [delete]
- apiGroups: ['']
  resources: [replicationcontrollers]
  verbs: [create]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: odd}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: odd}
subjects:
- {kind: User, name: mallory}
",
    );
    let probes = probes();
    let mut found: Vec<&str> = m
        .risks(false)
        .iter()
        .map(|r| probes[r.probe].power.id)
        .collect();
    found.sort();
    assert_eq!(
        found,
        [
            "impersonate",
            "node-proxy",
            "webhook-write",
            "workloads-kube-system"
        ]
    );
}
