//! Scans the shared corpus of real manifests written by others (`../shared/corpus`, beside
//! the repository). Skips, saying so, when the corpus is absent.

use crate::common;
use common::corpus;
use std::path::PathBuf;

use eksguard_load::LoadOptions;
use eksguard_rules::engine::{Engine, EngineConfig};
use eksguard_rules::registry;

#[test]
fn corpus_manifests_scan_without_errors() {
    let Some(dir) = corpus("manifests") else {
        return;
    };
    let inv = eksguard_load::load(&[dir], &LoadOptions::default());
    // The corpus census counts about 3,800 documents; most are Kubernetes objects.
    assert!(
        inv.objects.len() > 3000,
        "only {} objects loaded",
        inv.objects.len()
    );
    assert!(inv.files_scanned > 1900);
    assert!(
        inv.errors.is_empty(),
        "unexpected parse errors: {:#?}",
        inv.errors
    );
    let engine = Engine::new(registry::all(), EngineConfig::default());
    let result = engine.run(&inv);
    assert!(result.warnings.is_empty(), "{:#?}", result.warnings);
    // Every finding resolves to a line in its file.
    for f in &result.findings {
        let obj = inv.get(f.object);
        assert!(
            obj.locate(&f.path).is_some(),
            "{} {} has no position",
            f.rule.id,
            obj.display_name()
        );
    }
    assert!(result.findings.iter().any(|f| f.rule.id == "POD001"));
}

#[test]
fn corpus_aws_eksctl_and_node_files_load_without_panics() {
    let dirs: Vec<PathBuf> = ["aws", "eksctl", "node"]
        .iter()
        .filter_map(|d| corpus(d))
        .collect();
    if dirs.is_empty() {
        return;
    }
    let inv = eksguard_load::load(&dirs, &LoadOptions::default());
    let mut kinds = std::collections::BTreeMap::new();
    for o in &inv.objects {
        *kinds.entry(o.kind.to_string()).or_insert(0usize) += 1;
    }
    // The AWS CLI examples hold at least one of each of these outputs.
    for kind in [
        "EKSCluster",
        "EKSNodegroup",
        "EKSAccessEntry",
        "EKSAddon",
        "IAMRole",
        "IAMPolicyDocument",
        "EKSPodIdentityAssociation",
        "ClusterConfig",
        "KubeletConfiguration",
    ] {
        assert!(
            kinds.contains_key(kind),
            "no {kind} recognised; got {kinds:?}"
        );
    }
    // Walked directories skip unrecognised JSON silently; broken YAML is still an error.
    for e in &inv.errors {
        assert!(!e.message.contains("unrecognised"), "{e}");
    }
    let result = Engine::new(registry::all(), EngineConfig::default()).run(&inv);
    for f in &result.findings {
        assert!(inv.get(f.object).locate(&f.path).is_some());
    }
}
