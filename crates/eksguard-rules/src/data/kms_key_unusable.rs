use std::collections::BTreeMap;

use eksguard_model::aws_kinds as k;
use eksguard_model::FieldPath;

use super::kms::{key, key_id, key_uses};
use crate::aws_svc::text;
use crate::{declare_rule, Ctx, InventoryRule, Sink};

/// Key states in which nothing can be decrypted, now or soon.
const UNUSABLE: &[&str] = &[
    "PendingDeletion",
    "Disabled",
    "PendingReplicaDeletion",
    "Unavailable",
];

declare_rule! {
    /// ## What it checks
    /// A KMS key that encrypts the cluster's Secrets or an EBS StorageClass (found as
    /// DATA008 finds it) whose `kms describe-key` `KeyState` is `PendingDeletion`,
    /// `Disabled`, `PendingReplicaDeletion` or `Unavailable`. The message gives the
    /// `DeletionDate`. In infrastructure code, `aws_kms_key.is_enabled = false` or
    /// `AWS::KMS::Key` `Enabled: false`.
    ///
    /// ## Why it matters
    /// EKS cannot decrypt Secrets with a disabled key, so the API server fails to read
    /// them; once the key is deleted, the Secrets (and volumes) encrypted with it are
    /// lost for good.
    ///
    /// ## Reads
    /// - CLI: `aws kms describe-key`, `aws kms list-aliases`, `aws eks describe-cluster`
    /// - API: `DescribeKey`, `ListAliases`
    /// - Terraform: `aws_kms_key.is_enabled`
    /// - CloudFormation: `AWS::KMS::Key` `Enabled`
    ///
    /// ## Example
    /// ```json
    /// {"KeyMetadata": {"KeyId": "1111aaaa-…", "KeyState": "PendingDeletion",
    ///   "DeletionDate": "2026-12-21T10:00:00+00:00"}}
    /// ```
    ///
    /// ## Fix
    /// `aws kms cancel-key-deletion` and `aws kms enable-key`, or move the cluster to a
    /// new key before the old one goes.
    pub KmsKeyUnusable {
        id: "DATA009",
        name: "kms-key-unusable",
        severity: High,
        data: [Kms, Eks],
        scope: Inventory,
        reads: &[k::KMS_KEY, k::KMS_ALIAS, k::EKS_CLUSTER, "ClusterConfig", "StorageClass"],
        summary: "A KMS key that protects the cluster's data is disabled or pending deletion",
        remediation: "Cancel the key's deletion and enable it, or re-encrypt with a new key before it goes.",
        guide: &["DE-03"],
    }
}

impl InventoryRule for KmsKeyUnusable {
    fn check_inventory(&self, cx: &Ctx<'_>, out: &mut Sink) {
        let mut by_key: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for u in key_uses(cx) {
            if let Some(id) = key_id(cx, &u.reference) {
                by_key.entry(id).or_default().push(u.by.display_name());
            }
        }
        for (id, mut users) in by_key {
            users.dedup();
            let Some(key) = key(cx, &id) else { continue };
            let Some(state) = text(&key.root, "KeyState") else {
                continue;
            };
            if !UNUSABLE.iter().any(|s| s.eq_ignore_ascii_case(state)) {
                continue;
            }
            let when = text(&key.root, "DeletionDate")
                .map(|d| format!(", to be deleted on {d}"))
                .unwrap_or_default();
            out.report(
                key,
                FieldPath::parse("KeyState"),
                format!(
                    "KMS key {id}, used by {}, is {state}{when}",
                    users.join(", ")
                ),
            );
        }
    }
}
