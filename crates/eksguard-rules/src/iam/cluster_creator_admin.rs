use eksguard_model::aws_kinds as k;
use eksguard_model::{FieldPath, Object};

use crate::aws_iam::{flag, is_eks_cluster, is_eksctl};
use crate::{declare_rule, Ctx, ObjectRule, Sink};

declare_rule! {
    /// ## What it checks
    /// Clusters created with `accessConfig.bootstrapClusterCreatorAdminPermissions: true`,
    /// which gives the IAM identity that created the cluster a cluster-admin access entry.
    /// For `describe-cluster` output the field must say true (older outputs lack it); for
    /// an eksctl `ClusterConfig` an absent field counts as true, eksctl's default.
    ///
    /// ## Why it matters
    /// The creator is often a CI role or a person's session that then keeps full cluster
    /// admin indefinitely, outside the access you manage on purpose.
    ///
    /// ## Example
    /// ```yaml
    /// accessConfig:
    ///   authenticationMode: API
    ///   bootstrapClusterCreatorAdminPermissions: true
    /// ```
    ///
    /// ## Fix
    /// Create clusters with `bootstrapClusterCreatorAdminPermissions: false` and grant
    /// admin through explicit access entries, or delete the creator's access entry.
    pub ClusterCreatorAdmin {
        id: "IAM004",
        name: "cluster-creator-admin",
        severity: Low,
        data: [Eks],
        scope: Objects(&[k::EKS_CLUSTER, "ClusterConfig"]),
        summary: "Cluster creator is granted cluster-admin access",
        remediation: "Set `bootstrapClusterCreatorAdminPermissions: false` and grant administrators access through explicit access entries.",
        guide: &["IAM-05"],
    }
}

impl ObjectRule for ClusterCreatorAdmin {
    fn check_object(&self, _cx: &Ctx<'_>, obj: &Object, out: &mut Sink) {
        const FIELD: &str = "accessConfig.bootstrapClusterCreatorAdminPermissions";
        let note = if is_eks_cluster(obj) {
            if !flag(&obj.root, FIELD, false) {
                return;
            }
            ""
        } else if is_eksctl(obj) {
            if !flag(&obj.root, FIELD, true) {
                return;
            }
            if obj.root.at(FIELD).is_some() {
                ""
            } else {
                " (eksctl's default)"
            }
        } else {
            return;
        };
        out.report(
            obj,
            FieldPath::parse(FIELD),
            format!("the IAM identity that created the cluster gets cluster-admin access{note}"),
        );
    }
}
