use eksguard_model::Object;

use super::runs_on_windows;
use crate::{declare_rule, Ctx, ObjectRule, Sink, WORKLOAD_KINDS};

declare_rule! {
    /// ## What it checks
    /// Containers (init, regular and ephemeral) whose
    /// `securityContext.readOnlyRootFilesystem` is not `true`. Windows pods are skipped:
    /// the API does not accept the field for them.
    /// A pod is a Windows pod when `spec.os.name` is `windows`, when its `nodeSelector`
    /// sets `kubernetes.io/os` (or the legacy `beta.kubernetes.io/os`) to `windows`, or when
    /// every term of its required node affinity admits only `windows` for that label.
    ///
    /// ## Why it matters
    /// A writable root filesystem lets an attacker drop tools, modify binaries and
    /// configuration, and persist for the life of the container.
    ///
    /// ## Example
    /// ```yaml
    /// securityContext:
    ///   readOnlyRootFilesystem: false
    /// ```
    ///
    /// ## Fix
    /// Set `readOnlyRootFilesystem: true` and mount an `emptyDir` where the application
    /// must write (for example `/tmp`).
    pub WritableRootFilesystem {
        id: "POD013",
        name: "writable-root-filesystem",
        severity: Low,
        data: [Kubernetes],
        scope: Objects(WORKLOAD_KINDS),
        summary: "Container root filesystem is writable",
        remediation: "Set `readOnlyRootFilesystem: true` and mount emptyDir volumes where writes are needed.",
        guide: &["PS-11"],
    }
}

impl ObjectRule for WritableRootFilesystem {
    fn check_object(&self, _cx: &Ctx<'_>, obj: &Object, out: &mut Sink) {
        let Some(pod) = obj.pod_spec() else { return };
        if runs_on_windows(&pod) {
            return;
        }
        for c in pod.containers() {
            let (v, path) = c.sc_bool("readOnlyRootFilesystem");
            if v != Some(true) {
                out.report(
                    obj,
                    path,
                    format!("{} has a writable root filesystem", c.describe()),
                );
            }
        }
    }
}
