use eksguard_model::{FieldPath, Object};

use super::{role_ref, subjects};
use crate::{declare_rule, Ctx, ObjectRule, Sink};

/// ClusterRoles that only expose API discovery, version and health endpoints.
const DISCOVERY_ROLES: &[&str] = &[
    "system:discovery",
    "system:basic-user",
    "system:public-info-viewer",
];

declare_rule! {
    /// ## What it checks
    /// ClusterRoleBindings and RoleBindings with one of these subjects, each a finding at
    /// the subject:
    /// - the user `system:anonymous` or the group `system:unauthenticated`, unless the
    ///   binding's `roleRef` is the ClusterRole `system:public-info-viewer` (the built-in
    ///   binding that lets anyone read `/version` and `/healthz`);
    /// - the group `system:authenticated`, unless the `roleRef` is one of the discovery
    ///   ClusterRoles `system:discovery`, `system:basic-user` or
    ///   `system:public-info-viewer`.
    ///
    /// The exemptions key on the role, not the binding's name, so a binding that reuses a
    /// built-in name but points elsewhere still fires.
    ///
    /// ## Why it matters
    /// Anonymous subjects are anyone who can reach the API endpoint. `system:authenticated`
    /// is every service account in the cluster and every IAM principal the cluster
    /// accepts, so whatever the role grants is granted to all of them.
    ///
    /// ## Example
    /// ```yaml
    /// kind: ClusterRoleBinding
    /// roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}
    /// subjects:
    /// - kind: Group
    ///   name: system:authenticated
    /// ```
    ///
    /// ## Fix
    /// Bind named users, groups or service accounts instead, and keep anonymous
    /// authentication off.
    pub AnonymousBinding {
        id: "IAM010",
        name: "anonymous-binding",
        severity: Critical,
        data: [Kubernetes],
        scope: Objects(&["ClusterRoleBinding", "RoleBinding"]),
        summary: "Role bound to anonymous or all authenticated users",
        remediation: "Remove the anonymous, unauthenticated or all-authenticated subject and bind specific identities.",
        guide: &["IAM-22"],
    }
}

impl ObjectRule for AnonymousBinding {
    fn check_object(&self, _cx: &Ctx<'_>, obj: &Object, out: &mut Sink) {
        let (ref_kind, ref_name) = role_ref(obj);
        let cluster_role = |names: &[&str]| ref_kind == "ClusterRole" && names.contains(&ref_name);
        for (i, kind, name, _) in subjects(obj) {
            let who = match (kind, name) {
                ("User", "system:anonymous") | ("Group", "system:unauthenticated") => {
                    if cluster_role(&["system:public-info-viewer"]) {
                        continue;
                    }
                    "unauthenticated users"
                }
                ("Group", "system:authenticated") => {
                    if cluster_role(DISCOVERY_ROLES) {
                        continue;
                    }
                    "every authenticated identity"
                }
                _ => continue,
            };
            out.report(
                obj,
                FieldPath::parse("subjects").index(i),
                format!("{ref_kind} `{ref_name}` is bound to {kind} `{name}` ({who})"),
            );
        }
    }
}
