use eksguard_model::{FieldPath, Node, Object};

use crate::{declare_rule, Ctx, ObjectRule, Sink};

declare_rule! {
    /// ## What it checks
    /// PersistentVolumes using the EFS CSI driver (`spec.csi.driver: efs.csi.aws.com`)
    /// with `spec.csi.volumeAttributes.encryptInTransit` set to `"false"`. The driver
    /// encrypts in transit by default, so an absent attribute is fine.
    ///
    /// ## Why it matters
    /// NFS traffic to EFS then crosses the VPC in clear text, readable by anything that
    /// can observe it.
    ///
    /// ## Example
    /// ```yaml
    /// csi:
    ///   driver: efs.csi.aws.com
    ///   volumeHandle: fs-0123456789abcdef0
    ///   volumeAttributes:
    ///     encryptInTransit: "false"
    /// ```
    ///
    /// ## Fix
    /// Remove `encryptInTransit: "false"` (or set it to `"true"`).
    pub EfsWithoutTransitEncryption {
        id: "DATA005",
        name: "efs-without-transit-encryption",
        severity: Low,
        data: [Kubernetes],
        scope: Objects(&["PersistentVolume"]),
        summary: "EFS volume mounted without encryption in transit",
        remediation: "Remove `encryptInTransit: \"false\"` so EFS traffic uses TLS.",
        guide: &["DE-02"],
    }
}

impl ObjectRule for EfsWithoutTransitEncryption {
    fn check_object(&self, _cx: &Ctx<'_>, obj: &Object, out: &mut Sink) {
        let Some(csi) = obj.spec().get("csi") else {
            return;
        };
        if csi.get("driver").and_then(Node::as_str) != Some("efs.csi.aws.com") {
            return;
        }
        if csi
            .at("volumeAttributes.encryptInTransit")
            .and_then(Node::as_bool_lenient)
            == Some(false)
        {
            out.report(
                obj,
                FieldPath::parse("spec.csi.volumeAttributes.encryptInTransit"),
                "EFS volume is mounted with encryption in transit turned off",
            );
        }
    }
}
