use eksguard_model::{FieldPath, Object};

use crate::context::SkipNamespaces;
use crate::{declare_rule, Ctx, ObjectRule, Sink, WORKLOAD_KINDS};

declare_rule! {
    /// ## What it checks
    /// Workloads whose pods run as the service account `default`, named explicitly or by
    /// giving none (`serviceAccountName`, or the deprecated `serviceAccount`). The finding
    /// points at `serviceAccountName`, or where it belongs when it is missing. Workloads in
    /// the namespaces of the `skip_namespaces` parameter (by default `kube-system`,
    /// `kube-public` and `kube-node-lease`) are left alone: the platform's own add-ons
    /// are managed there, and their service accounts are the add-on vendor's choice.
    ///
    /// ## Why it matters
    /// Every workload of the namespace that names no account shares `default`, so any
    /// RBAC binding or IAM role given to it is given to all of them, and audit logs cannot
    /// tell the workloads apart.
    ///
    /// ## Example
    /// ```yaml
    /// kind: Deployment
    /// spec:
    ///   template:
    ///     spec:
    ///       containers:
    ///       - name: api
    ///         image: example/api:1.4
    /// ```
    ///
    /// ## Fix
    /// Create a ServiceAccount per workload and set `serviceAccountName` to it.
    pub DefaultServiceAccountUsed {
        id: "IRSA002",
        name: "default-service-account-used",
        severity: Low,
        data: [Kubernetes],
        scope: Objects(WORKLOAD_KINDS),
        summary: "Workload runs as the default service account",
        remediation: "Create a dedicated ServiceAccount for the workload and set `serviceAccountName`.",
        params: SkipNamespaces,
        guide: &["IAM-19"],
    }
}

impl ObjectRule for DefaultServiceAccountUsed {
    fn check_object(&self, cx: &Ctx<'_>, obj: &Object, out: &mut Sink) {
        let Some(pod) = obj.pod_spec() else { return };
        if pod.service_account() != "default" {
            return;
        }
        if let Some(ns) = obj.ns() {
            if cx.params::<SkipNamespaces>(&Self::META).skips(ns) {
                return;
            }
        }
        let given = ["serviceAccountName", "serviceAccount"]
            .into_iter()
            .find_map(|f| pod.field(f).map(|v| (f, v)));
        let (path, msg): (FieldPath, String) = match given {
            Some((f, v)) if v.as_str().is_some_and(|s| !s.is_empty()) => (
                pod.field_path(f),
                "pods run as the `default` service account".to_string(),
            ),
            Some((f, _)) => (
                pod.field_path(f),
                format!("pods run as the `default` service account (`{f}` is empty)"),
            ),
            None => (
                pod.field_path("serviceAccountName"),
                "pods run as the `default` service account (no `serviceAccountName` given)"
                    .to_string(),
            ),
        };
        out.report(obj, path, msg);
    }
}
