use std::collections::BTreeMap;

use eksguard_model::aws_kinds as k;
use eksguard_model::{FieldPath, Node};

use super::kms::{key, key_id, key_uses, rotation};
use crate::aws_svc::text;
use crate::{declare_rule, Ctx, InventoryRule, Sink};

declare_rule! {
    /// ## What it checks
    /// Customer-managed symmetric KMS keys (`KeyManager` `CUSTOMER`, `KeySpec`
    /// `SYMMETRIC_DEFAULT`, `Origin` `AWS_KMS`, from `kms describe-key` when the scan
    /// holds it) that encrypt the cluster's Secrets (`encryptionConfig[].provider.keyArn`,
    /// eksctl `secretsEncryption.keyARN`: a key ARN, or an alias resolved through
    /// `kms list-aliases`) or an EBS StorageClass (`parameters.kmsKeyId`), whose
    /// `get-key-rotation-status` says `KeyRotationEnabled` false. Other keys of the scan
    /// are not judged. Reported on the rotation status (its `KeyId` is the key ARN).
    ///
    /// ## Why it matters
    /// Rotation gives the key new cryptographic material every year (or the period
    /// chosen) while old data stays readable; a key that never rotates protects ever more
    /// data with the same material, and the guide asks for rotation of the keys that
    /// protect the cluster.
    ///
    /// ## Reads
    /// - CLI: `aws kms describe-key`, `aws kms get-key-rotation-status`,
    ///   `aws kms list-aliases`, `aws eks describe-cluster`
    /// - API: `DescribeKey`, `GetKeyRotationStatus`, `ListAliases`
    /// - Terraform: `aws_kms_key.enable_key_rotation` (default false) of the key
    ///   `aws_eks_cluster.encryption_config.provider.key_arn` references
    /// - CloudFormation: `AWS::KMS::Key` `EnableKeyRotation`
    ///
    /// ## Example
    /// ```json
    /// {"KeyRotationEnabled": false, "KeyId": "arn:aws:kms:eu-west-1:111122223333:key/1111aaaa-…"}
    /// ```
    ///
    /// ## Fix
    /// `aws kms enable-key-rotation --key-id KEY` (optionally
    /// `--rotation-period-in-days`).
    pub KmsKeyRotationDisabled {
        id: "DATA008",
        name: "kms-key-rotation-disabled",
        severity: Medium,
        data: [Kms, Eks, Kubernetes],
        scope: Inventory,
        reads: &[
            k::KMS_KEY,
            k::KMS_KEY_ROTATION,
            k::KMS_ALIAS,
            k::EKS_CLUSTER,
            "ClusterConfig",
            "StorageClass",
        ],
        summary: "A KMS key that protects the cluster's data does not rotate",
        remediation: "Enable automatic rotation of the key (`aws kms enable-key-rotation`).",
        guide: &["DE-03"],
    }
}

/// Whether `describe-key` (when the scan holds it) shows a key KMS can rotate: customer
/// managed, symmetric, with KMS-generated material.
fn rotatable(key: Option<&eksguard_model::Object>) -> bool {
    let Some(key) = key else { return true };
    let is = |f: &str, v: &str| text(&key.root, f).is_none_or(|s| s.eq_ignore_ascii_case(v));
    is("KeyManager", "CUSTOMER") && is("KeySpec", "SYMMETRIC_DEFAULT") && is("Origin", "AWS_KMS")
}

impl InventoryRule for KmsKeyRotationDisabled {
    fn check_inventory(&self, cx: &Ctx<'_>, out: &mut Sink) {
        let mut by_key: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for u in key_uses(cx) {
            if let Some(id) = key_id(cx, &u.reference) {
                by_key.entry(id).or_default().push(u.by.display_name());
            }
        }
        for (id, mut users) in by_key {
            users.dedup();
            let Some(status) = rotation(cx, &id) else {
                continue;
            };
            if !rotatable(key(cx, &id)) {
                continue;
            }
            if status
                .root
                .get("KeyRotationEnabled")
                .and_then(Node::as_bool_lenient)
                == Some(false)
            {
                out.report(
                    status,
                    FieldPath::parse("KeyRotationEnabled"),
                    format!(
                        "KMS key {id}, used by {}, does not rotate",
                        users.join(", ")
                    ),
                );
            }
        }
    }
}
