use std::collections::BTreeSet;

use eksguard_model::Node;

use crate::util::selector_matches;
use crate::{declare_rule, Ctx, InventoryRule, Sink};

declare_rule! {
    /// ## What it checks
    /// Workloads whose pod labels no NetworkPolicy `podSelector` of their namespace
    /// selects, in namespaces that have at least one NetworkPolicy (namespaces with none
    /// are NET001's). Pods with `hostNetwork: true` are skipped: network policies do not
    /// apply to them. The finding points at the pod template's labels.
    ///
    /// ## Why it matters
    /// A pod no policy selects is not isolated at all, even when its neighbours are: it
    /// accepts any connection and can reach anything, often because a label was renamed
    /// or a selector mistyped.
    ///
    /// ## Example
    /// A policy selecting `app: web` and a Deployment whose pods are labelled
    /// `app: website`.
    ///
    /// ## Fix
    /// Add a default-deny policy with an empty podSelector, or make a policy select the
    /// workload's labels.
    pub PodNotCoveredByNetworkPolicy {
        id: "NET005",
        name: "pod-not-covered-by-network-policy",
        severity: Low,
        data: [Kubernetes],
        scope: Inventory,
        reads: &["Namespace", "Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Job", "CronJob", "PodTemplate", "Rollout", "NetworkPolicy"],
        summary: "Workload is selected by no NetworkPolicy",
        remediation: "Select the workload with a NetworkPolicy, ideally a namespace-wide default deny.",
        guide: &["NS-05"],
    }
}

impl InventoryRule for PodNotCoveredByNetworkPolicy {
    fn check_inventory(&self, cx: &Ctx<'_>, out: &mut Sink) {
        let namespaces: BTreeSet<&str> = cx
            .objects_of("NetworkPolicy")
            .filter_map(|p| p.ns())
            .collect();
        for w in cx.workloads() {
            let Some(ns) = w.ns().filter(|ns| namespaces.contains(ns)) else {
                continue;
            };
            let Some(pod) = w.pod_spec() else { continue };
            if pod.bool_field("hostNetwork") {
                continue;
            }
            let labels = pod.labels();
            let covered = cx.objects_in("NetworkPolicy", ns).any(|p| {
                selector_matches(p.spec().get("podSelector").unwrap_or(Node::null()), labels)
            });
            if !covered {
                out.report(
                    w,
                    pod.meta_path.key("labels"),
                    format!(
                        "no NetworkPolicy in namespace `{ns}` selects the pods of this workload"
                    ),
                );
            }
        }
    }
}
