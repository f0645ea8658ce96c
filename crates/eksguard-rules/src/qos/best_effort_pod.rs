use eksguard_model::workload::ContainerKind;
use eksguard_model::{Node, Object};

use crate::{declare_rule, Ctx, ObjectRule, Sink, WORKLOAD_KINDS};

use super::{has_quantity, parse_quantity};

declare_rule! {
    /// ## What it checks
    /// Pods whose QoS class, computed as the kubelet does, is BestEffort: no init or
    /// regular container (nor the pod-level `spec.resources`) sets a positive cpu or
    /// memory request or limit. Zero quantities and other resources (ephemeral storage,
    /// GPUs) do not count, as in Kubernetes.
    ///
    /// ## Why it matters
    /// BestEffort pods are the first killed when a node runs short of memory, and they
    /// give the scheduler nothing to plan with, so they pile onto nodes and hurt their
    /// neighbours.
    ///
    /// ## Example
    /// ```yaml
    /// containers:
    /// - name: app
    ///   image: app:1.0   # no resources
    /// ```
    ///
    /// ## Fix
    /// Set cpu and memory requests (and a memory limit) on every container; requests equal
    /// to limits give the Guaranteed class.
    pub BestEffortPod {
        id: "QOS003",
        name: "best-effort-pod",
        severity: Medium,
        data: [Kubernetes],
        scope: Objects(WORKLOAD_KINDS),
        summary: "Pod has the BestEffort QoS class",
        remediation: "Set cpu and memory requests and limits so the pod is Burstable or Guaranteed.",
        guide: &["PS-07"],
    }
}

/// The pod's QoS class from its containers' cpu and memory requests and limits.
pub(crate) fn qos_class<'a>(
    pod_resources: Option<&'a Node>,
    containers: impl Iterator<Item = &'a Node>,
) -> &'static str {
    let mut any = false;
    let mut guaranteed = true;
    let check = |r: &Node, any: &mut bool, guaranteed: &mut bool| {
        for name in ["cpu", "memory"] {
            let req = r.get("requests").and_then(|s| s.get(name));
            let lim = r.get("limits").and_then(|s| s.get(name));
            let (has_req, has_lim) = (
                has_quantity(r, "requests", name),
                has_quantity(r, "limits", name),
            );
            *any |= has_req || has_lim;
            // Guaranteed needs every limit set and any request equal to it.
            let value = |n: Option<&Node>| {
                n.and_then(Node::scalar_text)
                    .and_then(|t| parse_quantity(&t))
            };
            if !has_lim || (has_req && value(req) != value(lim)) {
                *guaranteed = false;
            }
        }
    };
    if let Some(r) = pod_resources.filter(|r| {
        ["cpu", "memory"]
            .iter()
            .any(|n| has_quantity(r, "requests", n) || has_quantity(r, "limits", n))
    }) {
        // Pod-level resources, when set, decide the class on their own.
        check(r, &mut any, &mut guaranteed);
    } else {
        for c in containers {
            check(
                c.get("resources").unwrap_or(Node::null()),
                &mut any,
                &mut guaranteed,
            );
        }
    }
    match (any, guaranteed) {
        (false, _) => "BestEffort",
        (true, true) => "Guaranteed",
        (true, false) => "Burstable",
    }
}

impl ObjectRule for BestEffortPod {
    fn check_object(&self, _cx: &Ctx<'_>, obj: &Object, out: &mut Sink) {
        let Some(pod) = obj.pod_spec() else { return };
        let containers: Vec<_> = pod
            .containers()
            .filter(|c| c.kind != ContainerKind::Ephemeral)
            .collect();
        let class = qos_class(pod.field("resources"), containers.iter().map(|c| c.node));
        if class == "BestEffort" {
            out.report(
                obj,
                pod.field_path("containers"),
                format!(
                    "pod QoS class is {class}: no container sets a cpu or memory request or limit"
                ),
            );
        }
    }
}
