use eksguard_model::{podsec, Object};

use crate::{declare_rule, Ctx, ObjectRule, Sink, WORKLOAD_KINDS};

declare_rule! {
    /// ## What it checks
    /// Containers (init, regular and ephemeral) with `securityContext.privileged: true`.
    ///
    /// ## Why it matters
    /// A privileged container has every capability and sees the host's devices; escaping
    /// to the node is trivial, and from the node to the node's IAM role. The Pod Security
    /// Standards forbid it from the baseline level up.
    ///
    /// ## Example
    /// ```yaml
    /// containers:
    /// - name: app
    ///   securityContext:
    ///     privileged: true
    /// ```
    ///
    /// ## Fix
    /// Remove `privileged: true`; add only the capabilities the process needs.
    pub PrivilegedContainer {
        id: "POD001",
        name: "privileged-container",
        severity: Critical,
        data: [Kubernetes],
        scope: Objects(WORKLOAD_KINDS),
        summary: "Container runs privileged",
        remediation: "Remove `privileged: true` and grant only the capabilities the process needs.",
        guide: &["PS-03"],
    }
}

impl ObjectRule for PrivilegedContainer {
    fn check_object(&self, _cx: &Ctx<'_>, obj: &Object, out: &mut Sink) {
        let Some(pod) = obj.pod_spec() else { return };
        for site in podsec::privileged(&pod) {
            let message = format!("{} runs privileged", site.who());
            out.report(obj, site.path, message);
        }
    }
}
