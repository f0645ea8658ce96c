use eksguard_model::Object;

use crate::{declare_rule, Ctx, ObjectRule, Sink, WORKLOAD_KINDS};

declare_rule! {
    /// ## What it checks
    /// Containers (init, regular and ephemeral) that may run as root: the effective
    /// `runAsNonRoot` (container, else pod) is not `true` and the effective `runAsUser` is
    /// unset or 0. An explicit `runAsUser: 0` or `runAsGroup: 0`, at either level, is
    /// reported at that field even when `runAsNonRoot: true` is set. Each container gets at
    /// most one finding per cause; when the value comes from the pod's securityContext the
    /// finding points there. The image's `USER` cannot be seen from a manifest, so an unset
    /// user counts as root unless `runAsNonRoot: true` makes the kubelet check it.
    ///
    /// ## Why it matters
    /// Root in the container is root on the node's kernel: a runtime or kernel escape, or a
    /// writable host mount, hands the attacker the node. A non-root UID removes most of that
    /// leverage, and the Pod Security Standards restricted profile requires it.
    ///
    /// ## Example
    /// ```yaml
    /// securityContext:
    ///   runAsUser: 0
    /// ```
    ///
    /// ## Fix
    /// Set `runAsNonRoot: true` and a non-zero `runAsUser`/`runAsGroup` (pod level is
    /// enough), and build the image with a non-root `USER`.
    pub RunAsRoot {
        id: "POD002",
        name: "run-as-root",
        severity: Medium,
        data: [Kubernetes],
        scope: Objects(WORKLOAD_KINDS),
        summary: "Container may run as root",
        remediation: "Set `runAsNonRoot: true` with a non-zero `runAsUser` and `runAsGroup`.",
        guide: &["IAM-20", "PS-04"],
    }
}

impl ObjectRule for RunAsRoot {
    fn check_object(&self, _cx: &Ctx<'_>, obj: &Object, out: &mut Sink) {
        let Some(pod) = obj.pod_spec() else { return };
        for c in pod.containers() {
            let (user, user_path) = c.effective_i64("runAsUser");
            let (non_root, non_root_path) = c.effective_bool("runAsNonRoot");
            if user == Some(0) {
                out.report(
                    obj,
                    user_path,
                    format!("{} runs as UID 0 (`runAsUser: 0`)", c.describe()),
                );
            } else if user.is_none() && non_root != Some(true) {
                let why = if non_root == Some(false) {
                    "`runAsNonRoot` is false"
                } else {
                    "`runAsNonRoot` is not set"
                };
                out.report(
                    obj,
                    non_root_path,
                    format!(
                        "{} may run as root: {why} and no `runAsUser` is given",
                        c.describe()
                    ),
                );
            }
            if let (Some(0), group_path) = c.effective_i64("runAsGroup") {
                out.report(
                    obj,
                    group_path,
                    format!("{} runs with GID 0 (`runAsGroup: 0`)", c.describe()),
                );
            }
        }
    }
}
