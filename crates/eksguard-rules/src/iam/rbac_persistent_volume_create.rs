use eksguard_model::Object;

use eksguard_model::rbac::powers::PERSISTENT_VOLUME_CREATE;

use super::report_grants;
use crate::{declare_rule, Ctx, ObjectRule, Sink};

declare_rule! {
    /// ## What it checks
    /// ClusterRole rules that grant `create` on `persistentvolumes` in the core group,
    /// including through `*`. Only ClusterRoles are checked: PersistentVolumes are
    /// cluster-scoped, so a namespaced Role cannot grant them. The built-in roles
    /// (`system:*`, and the ClusterRoles `cluster-admin`, `admin`, `edit` and `view`) are
    /// exempt; one finding per role rule.
    ///
    /// ## Why it matters
    /// A PersistentVolume may be a `hostPath` volume; claiming it mounts a node's file
    /// system into a pod without the pod spec ever naming a host path, which slips past
    /// Pod Security Admission.
    ///
    /// ## Example
    /// ```yaml
    /// rules:
    /// - apiGroups: [""]
    ///   resources: [persistentvolumes]
    ///   verbs: [create]
    /// ```
    ///
    /// ## Fix
    /// Let users create PersistentVolumeClaims against StorageClasses; keep PV creation
    /// for the storage provisioner and administrators.
    pub RbacPersistentVolumeCreate {
        id: "IAM018",
        name: "rbac-persistent-volume-create",
        severity: Medium,
        data: [Kubernetes],
        scope: Objects(&["ClusterRole"]),
        summary: "Role grants creating PersistentVolumes",
        remediation: "Provision storage through StorageClasses and PersistentVolumeClaims and keep `create` on persistentvolumes for storage administrators.",
        guide: &["IAM-08"],
    }
}

impl ObjectRule for RbacPersistentVolumeCreate {
    fn check_object(&self, _cx: &Ctx<'_>, obj: &Object, out: &mut Sink) {
        report_grants(obj, &[&PERSISTENT_VOLUME_CREATE], false, out);
    }
}
