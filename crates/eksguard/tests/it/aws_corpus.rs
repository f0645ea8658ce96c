//! Scans the AWS CLI outputs, IAM documents and eksctl configs of the shared corpus
//! (`../shared/corpus/aws` and `eksctl`, written by others) and pins what the cluster and
//! IAM rules find there. Skips, saying so, when the corpus is absent.

use crate::common;
use common::corpus;
use std::collections::BTreeMap;

use eksguard_load::LoadOptions;
use eksguard_rules::engine::{Engine, EngineConfig};
use eksguard_rules::registry;

const RULES: &[&str] = &[
    "IAM001", "IAM002", "IAM003", "IAM004", "IAM005", "IAM006", "IRSA004", "IRSA005", "IRSA006",
    "IRSA007", "IRSA008", "IRSA010", "IRSA011", "DET001", "DET002", "DATA001", "NET010", "NODE013",
];

#[test]
fn aws_and_eksctl_corpus_findings_are_pinned() {
    let (Some(aws), Some(eksctl)) = (corpus("aws"), corpus("eksctl")) else {
        return;
    };
    let inv = eksguard_load::load(&[aws, eksctl], &LoadOptions::default());
    let config = EngineConfig {
        select: RULES.iter().map(|s| s.to_string()).collect(),
        ..EngineConfig::default()
    };
    let result = Engine::new(registry::all(), config).run(&inv);
    assert!(result.warnings.is_empty(), "{:#?}", result.warnings);

    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    let mut triples = Vec::new();
    for f in &result.findings {
        *counts.entry(f.rule.id).or_default() += 1;
        let obj = inv.get(f.object);
        let line = obj.locate(&f.path).map(|p| p.line).unwrap_or(0);
        assert!(
            line > 0,
            "{} on {} has no line",
            f.rule.id,
            obj.display_name()
        );
        let file = obj.file().unwrap_or("").replace('\\', "/");
        triples.push((file, line, f.rule.id));
    }
    // The corpus also holds CloudFormation templates (eksctl's own, two with a cluster),
    // read as the same resources; with their node roles in the scan, the lone
    // `list-attached-role-policies` output no longer passes for the one node role's.
    let want: BTreeMap<&str, usize> = [
        ("DATA001", 86),
        ("DET001", 82),
        ("DET002", 85),
        ("IAM001", 82),
        ("IAM002", 76),
        ("IAM003", 85),
        ("IAM004", 80),
        ("IAM005", 4),
        ("IAM006", 1),
        ("IRSA004", 1),
        ("IRSA005", 1),
        ("IRSA006", 1),
        ("IRSA007", 3),
        ("IRSA008", 4),
        ("IRSA010", 29),
        ("IRSA011", 67),
        ("NODE013", 19),
    ]
    .into_iter()
    .collect();
    assert_eq!(counts, want, "finding counts per rule changed");

    // Checked by hand against the files.
    let has = |suffix: &str, line: u32, rule: &str| {
        triples
            .iter()
            .any(|(f, l, r)| f.ends_with(suffix) && *l == line && *r == rule)
    };
    for (suffix, line, rule) in [
        // An IAM user in an eksctl access entry, and cluster-scoped cluster admin.
        (
            "eksctl-io__eksctl/examples/40-access-entries.yaml",
            19,
            "IAM005",
        ),
        (
            "eksctl-io__eksctl/examples/40-access-entries.yaml",
            35,
            "IAM006",
        ),
        // `list-access-entries` lists an IAM user.
        (
            "examples/eks/list-access-entries/block-01-output.json",
            6,
            "IAM005",
        ),
        // A web-identity trust policy with no conditions at all.
        ("aws-access/service-accounts/block-27.json", 4, "IRSA004"),
        ("aws-access/service-accounts/block-27.json", 4, "IRSA006"),
        // The EFS CSI driver's documented `StringLike` on `efs-csi-*`.
        ("ug/storage/efs-csi/block-03.json", 12, "IRSA005"),
        // Pod Identity trust without a source account condition.
        ("aws-access/service-accounts/block-04.json", 4, "IRSA007"),
        // describe-cluster: 1.26, API_AND_CONFIG_MAP (low), no secrets encryption.
        (
            "examples/eks/describe-cluster/block-01-output.json",
            6,
            "NODE013",
        ),
        (
            "examples/eks/describe-cluster/block-01-output.json",
            74,
            "IAM003",
        ),
        (
            "examples/eks/describe-cluster/block-01-output.json",
            2,
            "DATA001",
        ),
        // The EKS workshop's eksctl cluster: public endpoint without CIDRs, creator admin.
        ("eks-workshop-v2/cluster/eksctl/cluster.yaml", 21, "IAM001"),
        ("eks-workshop-v2/cluster/eksctl/cluster.yaml", 46, "IAM004"),
        ("eks-workshop-v2/cluster/eksctl/cluster.yaml", 10, "NODE013"),
        // Add-on policies on node groups.
        (
            "eksctl-io__eksctl/examples/06-csi-drivers.yaml",
            15,
            "IRSA010",
        ),
    ] {
        assert!(has(suffix, line, rule), "no {rule} at {suffix}:{line}");
    }
    // The workshop cluster enables OIDC and network policy in its vpc-cni add-on.
    for rule in ["IRSA011", "NET010", "IAM002", "IAM003"] {
        assert!(
            !triples.iter().any(|(f, _, r)| f
                .ends_with("eks-workshop-v2/cluster/eksctl/cluster.yaml")
                && *r == rule),
            "unexpected {rule} on the workshop cluster"
        );
    }
}
