use eksguard_model::{FieldPath, Node, Object};

use crate::{declare_rule, Ctx, ObjectRule, Sink};

const EBS_PROVISIONERS: &[&str] = &["ebs.csi.aws.com", "kubernetes.io/aws-ebs"];

declare_rule! {
    /// ## What it checks
    /// StorageClasses for EBS (provisioner `ebs.csi.aws.com` or the in-tree
    /// `kubernetes.io/aws-ebs`) whose `parameters.encrypted` is not `"true"`. Account-level
    /// EBS encryption by default cannot be seen in a manifest, so it is not taken into
    /// account: the StorageClass should state encryption itself.
    ///
    /// ## Why it matters
    /// Unencrypted volumes and their snapshots expose data to anyone who can copy or
    /// share a snapshot, and fail most compliance baselines.
    ///
    /// ## Example
    /// ```yaml
    /// kind: StorageClass
    /// provisioner: ebs.csi.aws.com
    /// parameters:
    ///   type: gp3
    /// ```
    ///
    /// ## Fix
    /// Set `parameters.encrypted: "true"` (and `kmsKeyId` for a customer managed key).
    pub UnencryptedStorageClass {
        id: "DATA003",
        name: "unencrypted-storage-class",
        severity: Medium,
        data: [Kubernetes],
        scope: Objects(&["StorageClass"]),
        summary: "EBS StorageClass does not encrypt volumes",
        remediation: "Set `parameters.encrypted: \"true\"` on the StorageClass.",
        guide: &["DE-01"],
    }
}

impl ObjectRule for UnencryptedStorageClass {
    fn check_object(&self, _cx: &Ctx<'_>, obj: &Object, out: &mut Sink) {
        let provisioner = obj
            .root
            .get("provisioner")
            .and_then(Node::as_str)
            .unwrap_or("");
        if !EBS_PROVISIONERS.contains(&provisioner) {
            return;
        }
        let value = obj.root.at("parameters.encrypted");
        if value.and_then(Node::as_bool_lenient) == Some(true) {
            return;
        }
        let msg = match value.and_then(Node::scalar_text) {
            Some(v) => format!("EBS StorageClass sets `encrypted` to `{v}`"),
            None => "EBS StorageClass does not set `encrypted: \"true\"`".to_string(),
        };
        out.report(obj, FieldPath::parse("parameters.encrypted"), msg);
    }
}
