use eksguard_model::{FieldPath, Node, Object};

use crate::{declare_rule, Ctx, ObjectRule, Sink};

declare_rule! {
    /// ## What it checks
    /// EFS PersistentVolumes (`spec.csi.driver: efs.csi.aws.com`) whose `volumeHandle`
    /// names no access point: `fs-…` or `fs-…:/path`, rather than `fs-…::fsap-…` or
    /// `fs-…:/path:fsap-…` (the access point is the third `:`-separated part). Volumes
    /// provisioned dynamically by the driver's `efs-ap` mode get an access point and a
    /// handle that names it.
    ///
    /// ## Why it matters
    /// An access point pins the POSIX user and group the pod writes as and the directory
    /// it sees. Without one, every pod mounting the volume sees the whole file system (or
    /// the whole subdirectory) as whatever user it runs as, so one tenant can read or
    /// overwrite another's files.
    ///
    /// ## Example
    /// ```yaml
    /// spec:
    ///   csi:
    ///     driver: efs.csi.aws.com
    ///     volumeHandle: fs-0123456789abcdef0
    /// ```
    ///
    /// ## Fix
    /// Create an EFS access point with a POSIX user and root directory for the workload
    /// and mount through it: `volumeHandle: fs-0123456789abcdef0::fsap-0123456789abcdef0`.
    pub EfsVolumeWithoutAccessPoint {
        id: "DATA010",
        name: "efs-volume-without-access-point",
        severity: Low,
        data: [Kubernetes],
        scope: Objects(&["PersistentVolume"]),
        summary: "EFS volume mounted without an access point",
        remediation: "Mount EFS through an access point: `volumeHandle: <fs-id>::<fsap-id>`.",
        guide: &["DE-04"],
    }
}

impl ObjectRule for EfsVolumeWithoutAccessPoint {
    fn check_object(&self, _cx: &Ctx<'_>, obj: &Object, out: &mut Sink) {
        let Some(csi) = obj.spec().get("csi") else {
            return;
        };
        if csi.get("driver").and_then(Node::as_str) != Some("efs.csi.aws.com") {
            return;
        }
        let Some(handle) = csi.get("volumeHandle").and_then(Node::as_str) else {
            return;
        };
        let access_point = handle.trim().split(':').nth(2).unwrap_or("").trim();
        if access_point.is_empty() {
            out.report(
                obj,
                FieldPath::parse("spec.csi.volumeHandle"),
                format!(
                    "EFS volume handle `{}` names no access point: pods see the file system as whatever user they run as",
                    handle.trim()
                ),
            );
        }
    }
}
