use eksguard_model::aws_kinds as k;
use eksguard_model::{FieldPath, Node, Object};

use super::ecr::{items, judged_repositories, registry_of};
use crate::aws_iam::flag;
use crate::aws_svc::{is, text};
use crate::{declare_rule, Ctx, InventoryRule, Sink};
use eksguard_model::wildcard::star_match;

declare_rule! {
    /// ## What it checks
    /// ECR repositories whose images are scanned neither on push nor continuously. A
    /// repository is judged when a workload of the scan pulls from it (its image host is
    /// `<registryId>.dkr.ecr.<region>.amazonaws.com` and its path the repository name),
    /// or, in a scan without workloads, every repository listed. It is scanned when a
    /// rule of the registry's scanning configuration with `scanFrequency` `SCAN_ON_PUSH`
    /// or `CONTINUOUS_SCAN` has a repository filter matching its name (a filter with `*`
    /// is a wildcard over the whole name; one without matches names that contain it, as
    /// ECR documents), or — under basic scanning, or when the scan holds no registry
    /// configuration — when the repository's own `scanOnPush` is true.
    ///
    /// ## Why it matters
    /// An image nobody scans ships its vulnerabilities to production unnoticed. Scanning
    /// at push catches what is known when the image is built; continuous (enhanced)
    /// scanning catches what is published afterwards.
    ///
    /// ## Reads
    /// - CLI: `aws ecr describe-repositories`, `aws ecr get-registry-scanning-configuration`
    /// - API: `DescribeRepositories`, `GetRegistryScanningConfiguration`
    /// - Terraform: `aws_ecr_repository.image_scanning_configuration.scan_on_push`,
    ///   `aws_ecr_registry_scanning_configuration`
    /// - CloudFormation: `AWS::ECR::Repository` `ImageScanningConfiguration.ScanOnPush`,
    ///   `AWS::ECR::RegistryScanningConfiguration`
    ///
    /// ## Example
    /// ```json
    /// {"repositoryName": "team/api", "imageScanningConfiguration": {"scanOnPush": false}}
    /// ```
    ///
    /// ## Fix
    /// Turn on enhanced scanning with a `CONTINUOUS_SCAN` rule whose filter is `*`, or at
    /// least scan on push.
    pub EcrImageScanningDisabled {
        id: "IMG004",
        name: "ecr-image-scanning-disabled",
        severity: Medium,
        data: [Ecr, Kubernetes],
        scope: Inventory,
        reads: &[k::ECR_REPOSITORY, k::ECR_REGISTRY_SCANNING],
        summary: "An ECR repository's images are not scanned",
        remediation: "Enable scan on push or a continuous (enhanced) scanning rule that covers the repository.",
        guide: &["IM-04"],
    }
}

/// Whether a registry scanning rule's filter matches a repository name.
fn filter_matches(filter: &str, name: &str) -> bool {
    if filter.contains('*') {
        star_match(filter, name)
    } else {
        name.contains(filter)
    }
}

/// The registry's scanning configuration for a repository: the one with its registry
/// ID, or the only one of the scan.
fn config_for<'a>(cx: &Ctx<'a>, registry: &str) -> Option<&'a Object> {
    let all: Vec<&Object> = cx.objects_of(k::ECR_REGISTRY_SCANNING).collect();
    all.iter()
        .copied()
        .find(|c| text(&c.root, "registryId") == Some(registry))
        .or_else(|| match all.as_slice() {
            [one] if text(&one.root, "registryId").is_none() || registry.is_empty() => Some(*one),
            _ => None,
        })
}

/// Whether a rule of the configuration scans the repository.
fn rule_scans(config: &Node, name: &str) -> bool {
    items(config, "rules").iter().any(|rule| {
        (is(rule, "scanFrequency", "SCAN_ON_PUSH") || is(rule, "scanFrequency", "CONTINUOUS_SCAN"))
            && items(rule, "repositoryFilters")
                .iter()
                .filter_map(|f| text(f, "filter"))
                .any(|f| filter_matches(f, name))
    })
}

impl InventoryRule for EcrImageScanningDisabled {
    fn check_inventory(&self, cx: &Ctx<'_>, out: &mut Sink) {
        for j in judged_repositories(cx) {
            let repo = j.repo;
            let name = text(&repo.root, "repositoryName").unwrap_or("");
            let config = config_for(cx, &registry_of(repo));
            let sc = config.and_then(|c| c.root.get("scanningConfiguration"));
            if sc.is_some_and(|sc| rule_scans(sc, name)) {
                continue;
            }
            let enhanced = sc.is_some_and(|sc| is(sc, "scanType", "ENHANCED"));
            let users = users(&j.uses);
            if enhanced {
                out.report(
                    repo,
                    FieldPath::parse("repositoryName"),
                    format!("ECR repository {name} is not scanned: no rule of the registry's enhanced scanning matches it{users}"),
                );
            } else if !flag(&repo.root, "imageScanningConfiguration.scanOnPush", false) {
                out.report(
                    repo,
                    FieldPath::parse("imageScanningConfiguration.scanOnPush"),
                    format!("ECR repository {name} is not scanned: scan on push is off and no registry scanning rule matches it{users}"),
                );
            }
        }
    }
}

/// ` (pulled by Deployment/web, …)` for a message.
pub(crate) fn users(uses: &[crate::aws_svc::ImageUse<'_>]) -> String {
    let mut names: Vec<String> = uses.iter().map(|u| u.workload.display_name()).collect();
    names.dedup();
    if names.is_empty() {
        String::new()
    } else {
        format!(" (pulled by {})", names.join(", "))
    }
}
