use std::collections::BTreeSet;

use eksguard_model::aws_kinds as k;
use eksguard_model::{FieldPath, Node};

use crate::aws_svc::text;
use crate::{declare_rule, Ctx, InventoryRule, Sink};

declare_rule! {
    /// ## What it checks
    /// EFS file systems of `efs describe-file-systems` with `Encrypted` false that the
    /// cluster uses: named by an EFS PersistentVolume (`spec.csi.driver:
    /// efs.csi.aws.com`; the file system is the part of `volumeHandle` before the first
    /// `:`) or StorageClass (`provisioner: efs.csi.aws.com`, `parameters.fileSystemId`)
    /// of the scan. When the scan holds no EFS PersistentVolume or StorageClass, every
    /// listed file system is judged. FSx file systems are always encrypted at rest.
    ///
    /// ## Why it matters
    /// Encryption at rest can only be chosen when a file system is created. Unencrypted,
    /// its data sits in clear on AWS storage and in its backups, outside the key policy
    /// and CloudTrail trail that a KMS key would give.
    ///
    /// ## Reads
    /// - CLI: `aws efs describe-file-systems`
    /// - API: `DescribeFileSystems`
    /// - Terraform: `aws_efs_file_system.encrypted` (default false)
    /// - CloudFormation: `AWS::EFS::FileSystem` `Encrypted`
    ///
    /// ## Example
    /// ```json
    /// {"FileSystems": [{"FileSystemId": "fs-0aaa1111", "PerformanceMode": "generalPurpose", "Encrypted": false}]}
    /// ```
    ///
    /// ## Fix
    /// Create an encrypted file system, copy the data (AWS DataSync), and point the
    /// volumes at it.
    pub EfsFileSystemUnencrypted {
        id: "DATA007",
        name: "efs-file-system-unencrypted",
        severity: Medium,
        data: [Efs, Kubernetes],
        scope: Inventory,
        reads: &[k::EFS_FILE_SYSTEM, "PersistentVolume", "StorageClass"],
        summary: "An EFS file system the cluster uses is not encrypted at rest",
        remediation: "Move the data to an EFS file system created with encryption at rest.",
        guide: &["DE-01", "AM-03"],
    }
}

/// The EFS file systems the scan's volumes and storage classes name.
fn used(cx: &Ctx<'_>) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for pv in cx.objects_of("PersistentVolume") {
        let csi = pv.spec().get("csi").unwrap_or(Node::null());
        if text(csi, "driver") == Some("efs.csi.aws.com") {
            if let Some(h) = text(csi, "volumeHandle") {
                out.insert(h.split(':').next().unwrap_or(h).to_string());
            }
        }
    }
    for sc in cx.objects_of("StorageClass") {
        if text(&sc.root, "provisioner") == Some("efs.csi.aws.com") {
            if let Some(fs) = text(&sc.root, "parameters.fileSystemId") {
                out.insert(fs.to_string());
            }
        }
    }
    out
}

impl InventoryRule for EfsFileSystemUnencrypted {
    fn check_inventory(&self, cx: &Ctx<'_>, out: &mut Sink) {
        let used = used(cx);
        for fs in cx.objects_of(k::EFS_FILE_SYSTEM) {
            let id = text(&fs.root, "FileSystemId").unwrap_or(&fs.name);
            if !used.is_empty() && !used.contains(id) {
                continue;
            }
            let encrypted = fs.root.get("Encrypted").and_then(Node::as_bool_lenient);
            if encrypted == Some(false) {
                let note = if used.is_empty() {
                    ""
                } else {
                    ", and the cluster mounts it"
                };
                out.report(
                    fs,
                    FieldPath::parse("Encrypted"),
                    format!("EFS file system {id} is not encrypted at rest{note}"),
                );
            }
        }
    }
}
