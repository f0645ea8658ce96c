use eksguard_model::{FieldPath, Node, Object};

use crate::context::SkipNamespaces;
use crate::{declare_rule, Ctx, ObjectRule, Sink};

declare_rule! {
    /// ## What it checks
    /// Two ways of pinning a tenant to its nodes that do not hold on EKS:
    ///
    /// - A Namespace annotated `scheduler.alpha.kubernetes.io/node-selector`,
    ///   `scheduler.alpha.kubernetes.io/defaultTolerations` or
    ///   `scheduler.alpha.kubernetes.io/tolerationsWhitelist`. Only the `PodNodeSelector`
    ///   and `PodTolerationRestriction` admission plugins read these annotations, and EKS
    ///   does not run them: the namespace's pods are placed as if the annotation were not
    ///   there (unless a mutating webhook applies the same, which the scan cannot see).
    /// - A workload that tolerates a dedicated-node taint (a `NoSchedule` or `NoExecute`
    ///   toleration with a key) and selects the same nodes (`nodeSelector`, or a
    ///   `requiredDuringSchedulingIgnoredDuringExecution` node-affinity `In` or `Exists`
    ///   expression) by a label that names the same pool — the taint's key, or the
    ///   toleration's value (other than `true`/`false`) among the label's values — and
    ///   that the kubelet may set on its own Node: any key outside the
    ///   `kubernetes.io` and `k8s.io` domains, or under `kubelet.kubernetes.io/` or
    ///   `node.kubernetes.io/`. Well-known topology labels (`kubernetes.io/os`, `arch`,
    ///   `hostname`, zone, region, instance type) place pods, they do not isolate them,
    ///   and are not reported. DaemonSets and namespaces in `skip_namespaces` are skipped.
    ///
    /// ## Why it matters
    /// The guide pins tenants to dedicated nodes with taints, tolerations and node
    /// affinity, and points to the `node-restriction.kubernetes.io/` label prefix: the
    /// NodeRestriction admission plugin forbids kubelets to set labels under it, while
    /// any other label can come from the node itself (`--node-labels`, or a Node update
    /// with the node's credentials). A compromised node that labels itself `pool=team-a`
    /// attracts team A's pods, with their service-account tokens and mounted Secrets.
    /// Namespace annotations that nothing enforces leave the tenant's pods free to land
    /// on any node while the manifests say otherwise.
    ///
    /// ## Example
    /// ```yaml
    /// spec:
    ///   nodeSelector:
    ///     pool: team-a
    ///   tolerations:
    ///   - {key: dedicated, value: team-a, effect: NoSchedule}
    /// ```
    ///
    /// ## Fix
    /// Label the dedicated nodes with a `node-restriction.kubernetes.io/` key (set by the
    /// node provisioner or an administrator, not the kubelet: Karpenter `NodePool`
    /// template labels, or a label applied after registration) and select on it. Put the
    /// selector and tolerations in the workloads, or have an admission policy (Kyverno,
    /// Gatekeeper) inject them per namespace, instead of the `scheduler.alpha` annotations.
    pub TenantNodePinningNotEnforced {
        id: "TEN004",
        name: "tenant-node-pinning-not-enforced",
        severity: Low,
        data: [Kubernetes],
        scope: Objects(&[
            "Namespace",
            "Pod",
            "Deployment",
            "StatefulSet",
            "ReplicaSet",
            "ReplicationController",
            "Job",
            "CronJob",
            "PodTemplate",
            "Rollout",
        ]),
        summary: "Tenant pinned to nodes by a means a node or EKS does not enforce",
        remediation: "Select dedicated nodes by a `node-restriction.kubernetes.io/` label, and set node selectors and tolerations in the pods or through an admission policy.",
        params: SkipNamespaces,
        guide: &["MT-08"],
    }
}

/// Namespace annotations read only by admission plugins EKS does not run.
const SCHEDULER_ANNOTATIONS: &[&str] = &[
    "scheduler.alpha.kubernetes.io/node-selector",
    "scheduler.alpha.kubernetes.io/defaultTolerations",
    "scheduler.alpha.kubernetes.io/tolerationsWhitelist",
];

/// Labels that say where a node is or what it runs, not whom it serves.
const TOPOLOGY_LABELS: &[&str] = &[
    "kubernetes.io/hostname",
    "kubernetes.io/arch",
    "kubernetes.io/os",
    "beta.kubernetes.io/arch",
    "beta.kubernetes.io/os",
    "beta.kubernetes.io/instance-type",
    "node.kubernetes.io/instance-type",
    "failure-domain.beta.kubernetes.io/region",
    "failure-domain.beta.kubernetes.io/zone",
    "topology.kubernetes.io/region",
    "topology.kubernetes.io/zone",
];

/// Whether the kubelet may set this label on its own Node (the NodeRestriction rules),
/// leaving out the topology labels, which no one uses to isolate tenants.
fn node_settable_pin(key: &str) -> bool {
    if TOPOLOGY_LABELS.contains(&key) {
        return false;
    }
    let Some((prefix, _)) = key.rsplit_once('/') else {
        return true;
    };
    let restricted_domain = |d: &str| prefix == d || prefix.ends_with(&format!(".{d}"));
    if !restricted_domain("kubernetes.io") && !restricted_domain("k8s.io") {
        return true;
    }
    prefix == "kubelet.kubernetes.io"
        || prefix.ends_with(".kubelet.kubernetes.io")
        || prefix == "node.kubernetes.io"
        || prefix.ends_with(".node.kubernetes.io")
}

fn text(n: Option<&Node>) -> &str {
    n.and_then(Node::as_str).map(str::trim).unwrap_or("")
}

/// A toleration of a dedicated-node taint: a key, and an effect that keeps other pods
/// off (or no effect, which tolerates both). Condition taints are not dedication.
fn tolerates_dedicated_taint(tol: &Node) -> bool {
    let key = text(tol.get("key"));
    let effect = text(tol.get("effect"));
    !key.is_empty()
        && !key.starts_with("node.kubernetes.io/")
        && !key.starts_with("node.cloudprovider.kubernetes.io/")
        && matches!(effect, "" | "NoSchedule" | "NoExecute")
}

/// Whether a node label (key and values) names the pool a tolerated taint dedicates: the
/// same key, or the toleration's value among the label's. `true` and `false` name no pool
/// (device labels and taints say `true` for unrelated things).
fn same_pool(tolerations: &[&Node], key: &str, values: &[String]) -> bool {
    tolerations.iter().any(|t| {
        let value = text(t.get("value"));
        text(t.get("key")) == key
            || (!matches!(value, "" | "true" | "false") && values.iter().any(|v| v == value))
    })
}

impl ObjectRule for TenantNodePinningNotEnforced {
    fn check_object(&self, cx: &Ctx<'_>, obj: &Object, out: &mut Sink) {
        let skip = cx.params::<SkipNamespaces>(&Self::META);
        if &*obj.kind == "Namespace" {
            if skip.skips(&obj.name) {
                return;
            }
            for key in SCHEDULER_ANNOTATIONS {
                if obj.annotation(key).is_some() {
                    out.report(
                        obj,
                        FieldPath::parse("metadata.annotations").key(key),
                        format!(
                            "namespace `{}` relies on `{key}`, which only the PodNodeSelector and PodTolerationRestriction admission plugins read; EKS does not run them, so its pods are not pinned by it",
                            obj.name
                        ),
                    );
                }
            }
            return;
        }
        if skip.skips(obj.ns().unwrap_or("default")) {
            return;
        }
        let Some(pod) = obj.pod_spec() else { return };
        let tolerations: Vec<&Node> = pod
            .field("tolerations")
            .map(Node::items)
            .unwrap_or(&[])
            .iter()
            .filter(|t| tolerates_dedicated_taint(t))
            .collect();
        if tolerations.is_empty() {
            return;
        }
        let mut pins: Vec<(FieldPath, String)> = Vec::new();
        for e in pod.field("nodeSelector").map(Node::entries).unwrap_or(&[]) {
            let value = e.value.scalar_text().unwrap_or_default();
            if node_settable_pin(&e.key)
                && same_pool(&tolerations, &e.key, std::slice::from_ref(&value))
            {
                pins.push((
                    pod.field_path("nodeSelector").key(&e.key),
                    format!("{}={value}", e.key),
                ));
            }
        }
        let terms_path = "affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms";
        let terms = pod.spec.at(terms_path).map(Node::items).unwrap_or(&[]);
        for (t, term) in terms.iter().enumerate() {
            let exprs = term.get("matchExpressions").map(Node::items).unwrap_or(&[]);
            for (i, expr) in exprs.iter().enumerate() {
                let key = text(expr.get("key"));
                let op = text(expr.get("operator"));
                let values: Vec<String> = expr
                    .get("values")
                    .map(Node::items)
                    .unwrap_or(&[])
                    .iter()
                    .filter_map(Node::scalar_text)
                    .collect();
                if matches!(op, "In" | "Exists")
                    && node_settable_pin(key)
                    && same_pool(&tolerations, key, &values)
                {
                    pins.push((
                        pod.field_path(terms_path)
                            .index(t)
                            .key("matchExpressions")
                            .index(i)
                            .key("key"),
                        key.to_string(),
                    ));
                }
            }
        }
        for (path, label) in pins {
            out.report(
                obj,
                path,
                format!(
                    "pods are pinned to dedicated nodes by the label `{label}`, which a node's kubelet can set on itself: a compromised node can attract them; select on a `node-restriction.kubernetes.io/` label"
                ),
            );
        }
    }
}
