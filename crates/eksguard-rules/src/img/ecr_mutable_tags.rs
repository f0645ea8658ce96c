use eksguard_model::aws_kinds as k;
use eksguard_model::FieldPath;

use super::ecr::{items, judged_repositories};
use crate::aws_svc::text;
use crate::{declare_rule, Ctx, InventoryRule, Sink};
use eksguard_model::wildcard::star_match;

declare_rule! {
    /// ## What it checks
    /// ECR repositories that let a tag a workload runs move. The tag moves when the
    /// repository's `imageTagMutability` is `MUTABLE`; `MUTABLE_WITH_EXCLUSION` and no
    /// `imageTagMutabilityExclusionFilters` entry matches the tag; or
    /// `IMMUTABLE_WITH_EXCLUSION` and one matches (filters are wildcards, `*` any run of
    /// characters). A workload that pins its image by digest does not count, and a
    /// reference without tag runs `latest`. In a scan without workloads, every
    /// repository whose mutability is not `IMMUTABLE` is reported. Reported once per
    /// repository, naming the tags and workloads.
    ///
    /// ## Why it matters
    /// With mutable tags, whoever can push to the repository can replace what `v1.4.2`
    /// means, and the next pod start runs it; the manifest never changes, so reviews and
    /// admission policies see nothing. Immutable tags make a tag a promise.
    ///
    /// ## Reads
    /// - CLI: `aws ecr describe-repositories`
    /// - API: `DescribeRepositories`
    /// - Terraform: `aws_ecr_repository.image_tag_mutability` (default `MUTABLE`),
    ///   `image_tag_mutability_exclusion_filter`
    /// - CloudFormation: `AWS::ECR::Repository` `ImageTagMutability`
    ///
    /// ## Example
    /// ```json
    /// {"repositoryName": "team/api", "imageTagMutability": "MUTABLE"}
    /// ```
    ///
    /// ## Fix
    /// Set `imageTagMutability` to `IMMUTABLE` (with exclusions only for tags meant to
    /// move, such as `latest`, that no workload runs), or pin images by digest.
    pub EcrMutableTags {
        id: "IMG007",
        name: "ecr-mutable-tags",
        severity: Medium,
        data: [Ecr, Kubernetes],
        scope: Inventory,
        reads: &[k::ECR_REPOSITORY],
        summary: "An ECR repository lets the tag a workload runs be overwritten",
        remediation: "Make the repository's tags immutable, or pin the workload's image by digest.",
        guide: &["IM-14"],
    }
}

impl InventoryRule for EcrMutableTags {
    fn check_inventory(&self, cx: &Ctx<'_>, out: &mut Sink) {
        for j in judged_repositories(cx) {
            let repo = &j.repo.root;
            let name = text(repo, "repositoryName").unwrap_or("");
            let mode = text(repo, "imageTagMutability")
                .unwrap_or("MUTABLE")
                .to_ascii_uppercase();
            let filters: Vec<&str> = items(repo, "imageTagMutabilityExclusionFilters")
                .iter()
                .filter_map(|f| text(f, "filter"))
                .collect();
            let excluded = |tag: &str| filters.iter().any(|f| star_match(f, tag));
            let moves = |tag: &str| match mode.as_str() {
                "IMMUTABLE" => false,
                "MUTABLE_WITH_EXCLUSION" => !excluded(tag),
                "IMMUTABLE_WITH_EXCLUSION" => excluded(tag),
                _ => true,
            };
            let path = FieldPath::parse("imageTagMutability");
            if j.uses.is_empty() {
                if mode != "IMMUTABLE" {
                    out.report(
                        j.repo,
                        path,
                        format!("ECR repository {name} has {mode} tags: a push can replace what a tag runs"),
                    );
                }
                continue;
            }
            let mut hits: Vec<String> = Vec::new();
            for u in &j.uses {
                if u.ecr.image.digest.is_some() {
                    continue;
                }
                let tag = u.ecr.image.tag.as_deref().unwrap_or("latest");
                if moves(tag) {
                    let hit = format!("`{tag}` ({})", u.workload.display_name());
                    if !hits.contains(&hit) {
                        hits.push(hit);
                    }
                }
            }
            if !hits.is_empty() {
                out.report(
                    j.repo,
                    path,
                    format!(
                        "ECR repository {name} ({mode}) lets these running tags be overwritten: {}",
                        hits.join(", ")
                    ),
                );
            }
        }
    }
}
