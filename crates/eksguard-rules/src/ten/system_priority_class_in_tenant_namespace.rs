use eksguard_model::{Node, Object};

use crate::{declare_rule, Ctx, ObjectRule, Sink, WORKLOAD_KINDS};

/// The built-in priority classes meant for the cluster's own components.
const SYSTEM_CLASSES: &[&str] = &["system-node-critical", "system-cluster-critical"];

crate::rule_params! {
    pub struct SystemNamespaces {
        /// Namespaces whose workloads may use the system priority classes.
        system_namespaces: Vec<String> = crate::params::strings(&["kube-system"]),
    }
}

declare_rule! {
    /// ## What it checks
    /// Workloads outside the namespaces of the `system_namespaces` parameter (by default
    /// `kube-system`) whose pod spec sets `priorityClassName` to `system-node-critical`
    /// or `system-cluster-critical`.
    ///
    /// ## Why it matters
    /// These two classes carry the highest priorities the scheduler knows. A tenant pod
    /// that uses them preempts ordinary pods and, when nodes are full, the platform's own
    /// DNS, CNI and monitoring pods; it is also the last to be evicted under node
    /// pressure. The guide asks to keep priority and preemption under the platform's
    /// control in multi-tenant clusters. (Kubernetes admits these classes only in
    /// `kube-system` unless a ResourceQuota elsewhere allows them, so a manifest using them
    /// outside it is a mistake or a quota that gives too much away.)
    ///
    /// ## Example
    /// ```yaml
    /// metadata:
    ///   namespace: team-a
    /// spec:
    ///   priorityClassName: system-cluster-critical
    /// ```
    ///
    /// ## Fix
    /// Create PriorityClasses for tenants with values below the system classes and limit
    /// who may use them with ResourceQuota `scopeSelector` on `PriorityClass`.
    pub SystemPriorityClassInTenantNamespace {
        id: "TEN003",
        name: "system-priority-class-in-tenant-namespace",
        severity: Medium,
        data: [Kubernetes],
        scope: Objects(WORKLOAD_KINDS),
        summary: "Tenant workload uses a system priority class",
        remediation: "Give tenant workloads a PriorityClass below the system classes.",
        params: SystemNamespaces,
        guide: &["MT-05"],
    }
}

impl ObjectRule for SystemPriorityClassInTenantNamespace {
    fn check_object(&self, cx: &Ctx<'_>, obj: &Object, out: &mut Sink) {
        let Some(pod) = obj.pod_spec() else { return };
        let ns = obj.ns().unwrap_or("default");
        let params = cx.params::<SystemNamespaces>(&Self::META);
        if params.system_namespaces.iter().any(|s| s == ns) {
            return;
        }
        let Some(class) = pod.field("priorityClassName").and_then(Node::as_str) else {
            return;
        };
        if SYSTEM_CLASSES.contains(&class.trim()) {
            out.report(
                obj,
                pod.field_path("priorityClassName"),
                format!(
                    "pods in namespace `{ns}` run with priority class `{}`, which can preempt the cluster's own components",
                    class.trim()
                ),
            );
        }
    }
}
