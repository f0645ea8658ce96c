//! Pins what the node and EC2 rules (IRSA009, SG001-SG004, NODE001-NODE004) find in the
//! shared corpus of AWS CLI outputs and eksctl configs written by others
//! (`../shared/corpus/aws` and `../shared/corpus/eksctl`, beside the repository). Skips,
//! saying so, when the corpus is absent.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use eksguard_load::LoadOptions;
use eksguard_rules::engine::{Engine, EngineConfig};
use eksguard_rules::{registry, Params};

const RULES: &[&str] = &[
    "IRSA009", "SG001", "SG002", "SG003", "SG004", "NODE001", "NODE002", "NODE003", "NODE004",
];

fn corpus_dirs() -> Option<Vec<PathBuf>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus");
    let dirs: Vec<PathBuf> = ["aws", "eksctl"].iter().map(|d| root.join(d)).collect();
    if dirs.iter().all(|d| d.is_dir()) {
        Some(dirs)
    } else {
        eprintln!("SKIPPED: corpus directories {dirs:?} not found");
        None
    }
}

/// `(file relative to the corpus, line, rule)` for every finding of the rules above, with
/// `params` as the rules' parameters.
fn findings(params: Params) -> Option<Vec<(String, u32, String)>> {
    let dirs = corpus_dirs()?;
    let inv = eksguard_load::load(&dirs, &LoadOptions::default());
    let config = EngineConfig {
        select: RULES.iter().map(|s| s.to_string()).collect(),
        params,
        ..EngineConfig::default()
    };
    let result = Engine::new(registry::all(), config).run(&inv);
    assert!(result.warnings.is_empty(), "{:#?}", result.warnings);
    let mut out = Vec::new();
    for f in &result.findings {
        let obj = inv.get(f.object);
        let line = obj
            .locate(&f.path)
            .expect("finding without a position")
            .line;
        let file = obj.file().unwrap_or_default();
        let rel = file
            .split("/shared/corpus/")
            .last()
            .unwrap_or(file)
            .to_string();
        out.push((rel, line, f.rule.id.to_string()));
    }
    out.sort();
    Some(out)
}

fn counts(found: &[(String, u32, String)]) -> BTreeMap<&str, usize> {
    let mut counts = BTreeMap::new();
    for (_, _, rule) in found {
        *counts.entry(rule.as_str()).or_insert(0) += 1;
    }
    counts
}

fn has(found: &[(String, u32, String)], file: &str, line: u32, rule: &str) -> bool {
    found
        .iter()
        .any(|(f, l, r)| f == file && *l == line && r == rule)
}

#[test]
fn ec2_and_node_rules_on_the_corpus() {
    let Some(found) = findings(Params::default()) else {
        return;
    };
    let listing: Vec<String> = found
        .iter()
        .map(|(f, l, r)| format!("{f}:{l}: {r}"))
        .collect();
    let counts = counts(&found);
    // The corpus holds no security groups, launch templates, subnets or instances that
    // belong to a cluster, so the SG rules stay silent; eksctl configs rarely set
    // disablePodIMDS or privateNetworking, hence the many IRSA009 and NODE002 findings.
    let want: BTreeMap<&str, usize> = [
        // Eleven launch templates and three AL2 node groups are eksctl's CloudFormation.
        ("IRSA009", 135),
        // One of eksctl's CloudFormation launch templates names a key pair and gives
        // its interface a public address.
        ("NODE001", 8),
        ("NODE002", 111),
        ("NODE003", 22),
    ]
    .into_iter()
    .collect();
    assert_eq!(counts, want, "{}", listing.join("\n"));

    let pinned = [
        // disableIMDSv1: false on ng1-public.
        ("eksctl/eksctl-io__eksctl/examples/05-advanced-nodegroups.yaml", 20, "IRSA009"),
        // ng1-public sets neither disablePodIMDS nor privateNetworking.
        ("eksctl/eksctl-io__eksctl/examples/05-advanced-nodegroups.yaml", 11, "IRSA009"),
        ("eksctl/eksctl-io__eksctl/examples/05-advanced-nodegroups.yaml", 11, "NODE002"),
        // amiFamily: AmazonLinux2.
        ("eksctl/eksctl-io__eksctl/examples/05-advanced-nodegroups.yaml", 18, "NODE003"),
        // A public key path without `allow` turns SSH on.
        ("eksctl/eksctl-io__eksctl/examples/07-ssh-keys.yaml", 15, "NODE001"),
        // The workshop's private managed node group still gets hop limit 2.
        ("eksctl/aws-samples__eks-workshop-v2/cluster/eksctl/cluster.yaml", 23, "IRSA009"),
        // describe-nodegroup with amiType AL2_x86_64.
        (
            "aws/aws__aws-cli/extracted/awscli/examples/eks/describe-nodegroup/block-01-output.json",
            25,
            "NODE003",
        ),
    ];
    for (file, line, rule) in pinned {
        assert!(
            has(&found, file, line, rule),
            "missing {file}:{line}: {rule}\n{}",
            listing.join("\n")
        );
    }
    // Left alone: `ssh.allow: false` with a key, and the workshop's privateNetworking: true.
    assert!(!has(
        &found,
        "eksctl/eksctl-io__eksctl/examples/07-ssh-keys.yaml",
        35,
        "NODE001"
    ));
    assert!(!found.iter().any(|(f, _, r)| f
        .ends_with("eks-workshop-v2/cluster/eksctl/cluster.yaml")
        && r == "NODE002"));
    // Two descriptions of my-eks-cluster (1.26 and 1.27) disagree, so node-group skew is
    // not judged against either.
    assert!(!counts.contains_key("NODE004"));
}

#[test]
fn ami_age_is_judged_from_the_as_of_date() {
    let mut params = Params::default();
    params.0.insert(
        "NODE004".into(),
        [("as_of".to_string(), serde_json::json!("2026-01-01"))]
            .into_iter()
            .collect(),
    );
    let Some(found) = findings(params) else {
        return;
    };
    let aged: BTreeSet<(String, u32)> = found
        .iter()
        .filter(|(_, _, r)| r == "NODE004")
        .map(|(f, l, _)| (f.clone(), *l))
        .collect();
    // releaseVersion 1.33.0-20250704 is 181 days old on 2026-01-01.
    assert!(aged.contains(&(
        "eksctl/aws-samples__eks-workshop-v2/cluster/eksctl/cluster.yaml".to_string(),
        29
    )));
    // describe-nodegroup's 1.26.12-20240329.
    assert!(aged.contains(&(
        "aws/aws__aws-cli/extracted/awscli/examples/eks/describe-nodegroup/block-01-output.json"
            .to_string(),
        7
    )));
    // Five AWS CLI node-group outputs, the workshop config and an eksctl CloudFormation
    // node group (release 1.31-20201212).
    assert!(aged.contains(&(
        "aws/eksctl-io__eksctl/pkg/actions/nodegroup/testdata/al2-updated-template.json"
            .to_string(),
        157
    )));
    assert_eq!(aged.len(), 7, "{aged:#?}");
}
