use eksguard_model::Object;

use super::host_path_volumes;
use crate::{declare_rule, Ctx, ObjectRule, Sink, WORKLOAD_KINDS};

declare_rule! {
    /// ## What it checks
    /// Pods with any `hostPath` volume, whatever the path and whether or not a container
    /// mounts it.
    ///
    /// ## Why it matters
    /// A hostPath volume ties the pod to the node's filesystem: it can read node secrets
    /// and other pods' data, and a writable one can plant files the node will execute. The
    /// Pod Security Standards baseline profile forbids hostPath volumes.
    ///
    /// ## Example
    /// ```yaml
    /// volumes:
    /// - name: logs
    ///   hostPath:
    ///     path: /var/log
    /// ```
    ///
    /// ## Fix
    /// Use `emptyDir`, a projected volume, a PersistentVolumeClaim or a CSI driver instead.
    pub HostPathVolume {
        id: "POD004",
        name: "host-path-volume",
        severity: Medium,
        data: [Kubernetes],
        scope: Objects(WORKLOAD_KINDS),
        summary: "Pod mounts a hostPath volume",
        remediation: "Replace the hostPath volume with emptyDir, a PersistentVolumeClaim or a CSI volume.",
        guide: &["PS-06"],
    }
}

impl ObjectRule for HostPathVolume {
    fn check_object(&self, _cx: &Ctx<'_>, obj: &Object, out: &mut Sink) {
        let Some(pod) = obj.pod_spec() else { return };
        for v in host_path_volumes(&pod) {
            out.report(
                obj,
                v.field,
                format!("volume `{}` is hostPath `{}`", v.name, v.host_path),
            );
        }
    }
}
