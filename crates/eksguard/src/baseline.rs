//! Baselines: findings already known, fingerprinted by rule, resource and field path (no
//! line numbers), so a baseline survives edits that move lines.

use std::collections::BTreeSet;
use std::path::Path;

use anyhow::Context;
use eksguard_model::ResourceRef;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The stable identity of a finding.
pub fn fingerprint(rule_id: &str, resource: &ResourceRef, field_path: &str) -> String {
    let mut h = Sha256::new();
    for part in [
        rule_id,
        &resource.kind,
        resource.namespace.as_deref().unwrap_or(""),
        &resource.name,
        field_path,
    ] {
        h.update(part.as_bytes());
        h.update([0u8]);
    }
    h.finalize()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[derive(Debug, Serialize, Deserialize)]
pub struct BaselineFile {
    pub schema_version: u32,
    pub findings: Vec<BaselineEntry>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct BaselineEntry {
    pub fingerprint: String,
    pub rule_id: String,
    pub resource: String,
    pub field_path: String,
}

pub fn read(path: &Path) -> anyhow::Result<BTreeSet<String>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read baseline {}", path.display()))?;
    let file: BaselineFile = serde_json::from_str(&text)
        .with_context(|| format!("{} is not an eksguard baseline", path.display()))?;
    Ok(file.findings.into_iter().map(|e| e.fingerprint).collect())
}

pub fn write(path: &Path, entries: Vec<BaselineEntry>) -> anyhow::Result<()> {
    let mut entries = entries;
    entries.sort_by(|a, b| {
        (&a.rule_id, &a.resource, &a.field_path).cmp(&(&b.rule_id, &b.resource, &b.field_path))
    });
    entries.dedup_by(|a, b| a.fingerprint == b.fingerprint);
    let file = BaselineFile {
        schema_version: 1,
        findings: entries,
    };
    let mut text = serde_json::to_string_pretty(&file)?;
    text.push('\n');
    std::fs::write(path, text).with_context(|| format!("cannot write baseline {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_ignores_nothing_but_position() {
        let r = ResourceRef {
            api_version: "apps/v1".into(),
            kind: "Deployment".into(),
            namespace: Some("a".into()),
            name: "web".into(),
        };
        let f = fingerprint("POD001", &r, "spec.x");
        assert_eq!(f.len(), 32);
        assert_eq!(f, fingerprint("POD001", &r, "spec.x"));
        assert_ne!(f, fingerprint("POD002", &r, "spec.x"));
        assert_ne!(f, fingerprint("POD001", &r, "spec.y"));
    }
}
