use eksguard_model::workload::ContainerKind;
use eksguard_model::Object;

use crate::{declare_rule, Ctx, ObjectRule, Sink, WORKLOAD_KINDS};

use super::has_quantity;

declare_rule! {
    /// ## What it checks
    /// Init and regular containers missing a positive cpu or memory request. When only a
    /// limit is set, Kubernetes copies it to the request, so a limit counts as a request.
    /// Ephemeral containers are skipped: they cannot set resources. One finding per
    /// container names what is missing.
    ///
    /// ## Why it matters
    /// The scheduler places pods by their requests. Without them, nodes are overcommitted
    /// and pods are the first evicted under pressure; noisy neighbours can starve the
    /// workload.
    ///
    /// ## Example
    /// ```yaml
    /// resources:
    ///   limits:
    ///     memory: 512Mi   # memory request implied, cpu request missing
    /// ```
    ///
    /// ## Fix
    /// Set `resources.requests.cpu` and `resources.requests.memory` from observed usage.
    pub MissingResourceRequests {
        id: "QOS002",
        name: "missing-resource-requests",
        severity: Low,
        data: [Kubernetes],
        scope: Objects(WORKLOAD_KINDS),
        summary: "Container has no cpu or memory request",
        remediation: "Set cpu and memory requests on every container.",
        guide: &["PS-07"],
    }
}

impl ObjectRule for MissingResourceRequests {
    fn check_object(&self, _cx: &Ctx<'_>, obj: &Object, out: &mut Sink) {
        let Some(pod) = obj.pod_spec() else { return };
        for c in pod.containers() {
            if c.kind == ContainerKind::Ephemeral {
                continue;
            }
            let missing: Vec<&str> = ["cpu", "memory"]
                .into_iter()
                .filter(|r| {
                    !has_quantity(c.resources(), "requests", r)
                        && !has_quantity(c.resources(), "limits", r)
                })
                .collect();
            let path = match missing.as_slice() {
                [] => continue,
                [one] => c.path_to("resources.requests").key(one),
                _ => c.path_to("resources.requests"),
            };
            out.report(
                obj,
                path,
                format!("{} has no {} request", c.describe(), missing.join(" or ")),
            );
        }
    }
}
