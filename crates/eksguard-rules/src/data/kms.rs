//! The KMS keys that protect the cluster's data: the Secrets envelope-encryption key and
//! the keys of EBS storage classes, resolved through aliases to the `describe-key`
//! output and the rotation status of the scan.

use eksguard_model::arn::Arn;
use eksguard_model::aws_kinds as k;
use eksguard_model::{Node, Object};

use crate::aws_svc::{path_components, text};
use crate::Ctx;

/// One use of a key: the object that names it, and how it names it.
pub(crate) struct KeyUse<'a> {
    pub by: &'a Object,
    pub reference: String,
}

/// Every key reference of the cluster's Secrets encryption and EBS storage classes.
pub(crate) fn key_uses<'a>(cx: &Ctx<'a>) -> Vec<KeyUse<'a>> {
    let mut out = Vec::new();
    for c in cx.objects_of(k::EKS_CLUSTER) {
        for cfg in c
            .root
            .get("encryptionConfig")
            .map(Node::items)
            .unwrap_or(&[])
        {
            if let Some(r) = text(cfg, "provider.keyArn") {
                out.push(KeyUse {
                    by: c,
                    reference: r.to_string(),
                });
            }
        }
    }
    for c in cx.objects_of("ClusterConfig") {
        if let Some(r) = text(&c.root, "secretsEncryption.keyARN") {
            out.push(KeyUse {
                by: c,
                reference: r.to_string(),
            });
        }
    }
    for sc in cx.objects_of("StorageClass") {
        let p = text(&sc.root, "provisioner").unwrap_or("");
        if p != "ebs.csi.aws.com" && p != "kubernetes.io/aws-ebs" {
            continue;
        }
        if let Some(r) = text(&sc.root, "parameters.kmsKeyId") {
            out.push(KeyUse {
                by: sc,
                reference: r.to_string(),
            });
        }
    }
    out
}

/// The key ID a reference names: a key ARN's `key/<id>`, a bare ID, or an alias (ARN
/// or `alias/…` name) resolved through `list-aliases`.
pub(crate) fn key_id(cx: &Ctx<'_>, reference: &str) -> Option<String> {
    let alias = match Arn::parse(reference) {
        Some(a) if a.resource.starts_with("key/") => {
            return Some(a.resource["key/".len()..].to_string())
        }
        Some(a) if a.resource.starts_with("alias/") => a.resource.to_string(),
        // Infrastructure code names a key by the stand-in ARN of its reader.
        Some(_) => return Some(reference.to_string()),
        None if reference.starts_with("alias/") => reference.to_string(),
        None => return Some(reference.to_string()),
    };
    cx.objects_of(k::KMS_ALIAS)
        .find(|a| {
            text(&a.root, "AliasName") == Some(alias.as_str())
                || text(&a.root, "AliasArn") == Some(reference)
        })
        .and_then(|a| text(&a.root, "TargetKeyId"))
        .map(|id| id.rsplit('/').next().unwrap_or(id).to_string())
}

/// The `describe-key` output of a key ID.
pub(crate) fn key<'a>(cx: &Ctx<'a>, id: &str) -> Option<&'a Object> {
    cx.objects_of(k::KMS_KEY).find(|o| {
        text(&o.root, "KeyId") == Some(id)
            || text(&o.root, "Arn").is_some_and(|a| a == id || a.ends_with(&format!("key/{id}")))
    })
}

/// The `get-key-rotation-status` output of a key ID: by its `KeyId` (an ARN in current
/// CLI versions), else a path component naming the key, else the only one of the scan
/// when the scan describes one key.
pub(crate) fn rotation<'a>(cx: &Ctx<'a>, id: &str) -> Option<&'a Object> {
    let all: Vec<&Object> = cx.objects_of(k::KMS_KEY_ROTATION).collect();
    let named = |o: &&Object| {
        text(&o.root, "KeyId").is_some_and(|k| k == id || k.ends_with(&format!("key/{id}")))
    };
    if let Some(o) = all.iter().copied().find(named) {
        return Some(o);
    }
    let unnamed: Vec<&Object> = all
        .iter()
        .copied()
        .filter(|o| text(&o.root, "KeyId").is_none())
        .collect();
    if let Some(o) = unnamed.iter().find(|o| path_components(o).contains(&id)) {
        return Some(o);
    }
    match (unnamed.as_slice(), cx.objects_of(k::KMS_KEY).count()) {
        ([one], n) if n <= 1 => Some(one),
        _ => None,
    }
}
