//! Baselines: findings already known, fingerprinted by rule, resource and field path (no
//! line numbers), so a baseline survives edits that move lines.

use std::collections::BTreeSet;
use std::path::Path;

use anyhow::Context;
use eksguard_report::ReportFinding;
use serde::{Deserialize, Serialize};

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

impl BaselineEntry {
    pub fn of(f: &ReportFinding) -> Self {
        BaselineEntry {
            fingerprint: f.fingerprint(),
            rule_id: f.rule.id.to_string(),
            resource: f.qualified_name(),
            field_path: f.field_path.clone(),
        }
    }
}

pub fn read(path: &Path) -> anyhow::Result<BTreeSet<String>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read baseline {}", path.display()))?;
    let file: BaselineFile = serde_json::from_str(&text)
        .with_context(|| format!("{} is not an eksguard baseline", path.display()))?;
    Ok(file.findings.into_iter().map(|e| e.fingerprint).collect())
}

/// Says on standard error what a baseline run wrote: it exits 0 whatever it found.
pub fn written(path: &Path, count: usize) {
    eprintln!(
        "eksguard: wrote a baseline of {count} finding{} to {}",
        if count == 1 { "" } else { "s" },
        crate::term::shown(path.display())
    );
}

/// Writes the entries (sorted, one per fingerprint) and returns how many there are.
pub fn write(path: &Path, entries: Vec<BaselineEntry>) -> anyhow::Result<usize> {
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
    std::fs::write(path, text)
        .with_context(|| format!("cannot write baseline {}", path.display()))?;
    Ok(file.findings.len())
}
