use eksguard_model::Object;

use eksguard_model::rbac::powers::{WORKLOAD_CREATE, WORKLOAD_REWRITE};

use super::report_grants;
use crate::{declare_rule, Ctx, ObjectRule, Sink};

declare_rule! {
    /// ## What it checks
    /// Role and ClusterRole rules that grant `create` on pods, replicationcontrollers,
    /// deployments, replicasets, statefulsets, daemonsets (`apps`), jobs or cronjobs
    /// (`batch`), including through `*`, and rules that grant `patch` or `update` on those
    /// controllers: changing one rewrites its pod template, which runs any image as any
    /// service account of the namespace just as creating one does. Subresources
    /// (`deployments/status`, `deployments/scale`) do not count. A `create` limited by
    /// `resourceNames` does not fire: create requests carry no name, so the API server
    /// never lets it through; a `patch` limited to named controllers does.
    /// The built-in roles (`system:*`, and the ClusterRoles `cluster-admin`, `admin`,
    /// `edit` and `view`) are exempt; one finding per role rule.
    ///
    /// ## Why it matters
    /// Whoever can create a pod can mount any Secret and run as any service account in
    /// the namespace, and so use their permissions and IAM roles; without Pod Security
    /// Admission enforcing, a privileged pod reaches the node too.
    ///
    /// ## Example
    /// ```yaml
    /// rules:
    /// - apiGroups: [apps]
    ///   resources: [deployments]
    ///   verbs: [create, update]
    /// ```
    ///
    /// ## Fix
    /// Keep the permission to the pipeline or controller that deploys, enforce Pod
    /// Security Admission in the namespace, and give people read-only roles.
    pub RbacCreatePods {
        id: "IAM014",
        name: "rbac-create-pods",
        severity: Low,
        data: [Kubernetes],
        scope: Objects(&["Role", "ClusterRole"]),
        summary: "Role grants creating pods or creating or changing workload controllers",
        remediation: "Grant `create`, `patch` and `update` on pods and workload controllers only to deployment pipelines and controllers that need them.",
        guide: &["IAM-08"],
    }
}

impl ObjectRule for RbacCreatePods {
    fn check_object(&self, _cx: &Ctx<'_>, obj: &Object, out: &mut Sink) {
        report_grants(obj, &[&WORKLOAD_CREATE, &WORKLOAD_REWRITE], false, out);
    }
}
