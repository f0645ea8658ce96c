use eksguard_model::Object;

use super::{binding_scope, bound_subjects, role_ref};
use crate::{declare_rule, Ctx, ObjectRule, Sink};

declare_rule! {
    /// ## What it checks
    /// ClusterRoleBindings and RoleBindings whose `roleRef` is the ClusterRole
    /// `cluster-admin`; every subject other than the group `system:masters` is a finding,
    /// at the subject. A RoleBinding counts too: it makes the subject owner of everything
    /// in its namespace, Secrets and RBAC included.
    ///
    /// ## Why it matters
    /// `cluster-admin` can do anything to any resource. A compromised holder — a CI
    /// token, a controller's service account, a person's laptop — takes the whole
    /// cluster and the IAM roles its workloads use.
    ///
    /// ## Example
    /// ```yaml
    /// kind: ClusterRoleBinding
    /// roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
    /// subjects:
    /// - kind: ServiceAccount
    ///   name: deployer
    ///   namespace: ci
    /// ```
    ///
    /// ## Fix
    /// Bind a ClusterRole or Role that grants only what the subject needs, in the
    /// namespaces it needs.
    pub ClusterAdminBinding {
        id: "IAM009",
        name: "cluster-admin-binding",
        severity: High,
        data: [Kubernetes],
        scope: Objects(&["ClusterRoleBinding", "RoleBinding"]),
        summary: "Subject bound to cluster-admin",
        remediation: "Bind a least-privilege role scoped to the namespaces the subject needs instead of `cluster-admin`.",
        guide: &["IAM-08"],
    }
}

impl ObjectRule for ClusterAdminBinding {
    fn check_object(&self, _cx: &Ctx<'_>, obj: &Object, out: &mut Sink) {
        if role_ref(obj) != ("ClusterRole", "cluster-admin") {
            return;
        }
        let scope = binding_scope(obj);
        for (path, subject) in bound_subjects(obj) {
            out.report(
                obj,
                path,
                format!("{subject} is bound to `cluster-admin` {scope}"),
            );
        }
    }
}
