use eksguard_model::workload::ContainerKind;
use eksguard_model::Object;

use crate::{declare_rule, Ctx, ObjectRule, Sink, WORKLOAD_KINDS};

use super::has_quantity;

declare_rule! {
    /// ## What it checks
    /// Init and regular containers without a positive `resources.limits.memory`.
    /// Ephemeral containers are skipped: Kubernetes does not let them set resources.
    /// A limit a LimitRange would inject at admission is not visible in a manifest, so
    /// it does not count.
    ///
    /// ## Why it matters
    /// A container without a memory limit can consume the node's memory: a leak or an
    /// attacker-triggered allocation then gets other pods, possibly the node's agents,
    /// OOM-killed or evicted, a denial of service across tenants.
    ///
    /// ## Example
    /// ```yaml
    /// resources:
    ///   requests:
    ///     memory: 256Mi
    /// ```
    ///
    /// ## Fix
    /// Set `resources.limits.memory`, usually equal to the request.
    pub MissingMemoryLimit {
        id: "QOS001",
        name: "missing-memory-limit",
        severity: Medium,
        data: [Kubernetes],
        scope: Objects(WORKLOAD_KINDS),
        summary: "Container has no memory limit",
        remediation: "Set `resources.limits.memory` on every container.",
        guide: &["PS-07"],
    }
}

impl ObjectRule for MissingMemoryLimit {
    fn check_object(&self, _cx: &Ctx<'_>, obj: &Object, out: &mut Sink) {
        let Some(pod) = obj.pod_spec() else { return };
        for c in pod.containers() {
            if c.kind == ContainerKind::Ephemeral || has_quantity(c.resources(), "limits", "memory")
            {
                continue;
            }
            out.report(
                obj,
                c.path_to("resources.limits.memory"),
                format!("{} has no memory limit", c.describe()),
            );
        }
    }
}
