use eksguard_model::aws_kinds as k;
use eksguard_model::{FieldPath, Node, Object};

use crate::aws_iam::{is_eks_cluster, is_eksctl, text};
use crate::{declare_rule, Ctx, ObjectRule, Sink};

declare_rule! {
    /// ## What it checks
    /// EKS clusters without envelope encryption of Kubernetes secrets under a KMS key you
    /// manage: `describe-cluster` output with no `encryptionConfig` item whose
    /// `resources` include `secrets` and whose `provider.keyArn` is set, and eksctl
    /// `ClusterConfig` without `secretsEncryption.keyARN`. EKS's default encryption with
    /// an AWS-owned key does not count: you can neither audit nor revoke that key.
    ///
    /// ## Why it matters
    /// With your own KMS key, reading secrets from etcd or its backups also needs
    /// `kms:Decrypt`, every use of the key is in CloudTrail, and disabling the key makes
    /// the secrets unreadable.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: eksctl.io/v1alpha5
    /// kind: ClusterConfig
    /// metadata: {name: prod, region: eu-west-1}
    /// ```
    ///
    /// ## Fix
    /// Associate a customer managed KMS key with the cluster for `secrets`
    /// (`aws eks associate-encryption-config`, or eksctl `secretsEncryption.keyARN`).
    pub SecretsEnvelopeEncryptionDisabled {
        id: "DATA001",
        name: "secrets-envelope-encryption-disabled",
        severity: Medium,
        data: [Eks],
        scope: Objects(&[k::EKS_CLUSTER, "ClusterConfig"]),
        summary: "Kubernetes secrets are not envelope-encrypted with a customer KMS key",
        remediation: "Enable envelope encryption of secrets with a customer managed KMS key.",
        guide: &["DE-05"],
    }
}

impl ObjectRule for SecretsEnvelopeEncryptionDisabled {
    fn check_object(&self, _cx: &Ctx<'_>, obj: &Object, out: &mut Sink) {
        if is_eks_cluster(obj) {
            let configs = obj
                .root
                .get("encryptionConfig")
                .map(Node::items)
                .unwrap_or(&[]);
            let ok = configs.iter().any(|c| {
                let secrets = c
                    .get("resources")
                    .map(Node::items)
                    .unwrap_or(&[])
                    .iter()
                    .any(|r| r.as_str() == Some("secrets"));
                secrets && text(c, "provider.keyArn").is_some()
            });
            if !ok {
                out.report(
                    obj,
                    FieldPath::parse("encryptionConfig"),
                    "no encryptionConfig encrypts `secrets` with a customer KMS key",
                );
            }
        } else if is_eksctl(obj) && text(&obj.root, "secretsEncryption.keyARN").is_none() {
            out.report(
                obj,
                FieldPath::parse("secretsEncryption.keyARN"),
                "no `secretsEncryption.keyARN`: secrets are not encrypted with a customer KMS key",
            );
        }
    }
}
