use eksguard_model::aws_kinds as k;
use eksguard_model::{FieldPath, Source};

use super::ecr::{judged_repositories, registry_of};
use super::ecr_image_scanning_disabled::users;
use crate::aws_svc::text;
use crate::{declare_rule, Ctx, InventoryRule, Sink};

declare_rule! {
    /// ## What it checks
    /// ECR repositories (those the scan's workloads pull from; every repository when the
    /// scan holds no workloads) without a lifecycle policy. Judged only where absence is
    /// known: in a live scan (`GetLifecyclePolicy` answers
    /// `LifecyclePolicyNotFoundException`), and in infrastructure code (an
    /// `aws_ecr_repository` that no `aws_ecr_lifecycle_policy` names, an
    /// `AWS::ECR::Repository` without `LifecyclePolicy`). Offline CLI output is not
    /// judged: `get-lifecycle-policy` prints something only for a policy that exists, so
    /// a missing file says nothing.
    ///
    /// ## Why it matters
    /// Without expiry, every image ever pushed stays pullable, with every vulnerability
    /// it ever had: old tags keep running in forgotten deployments, and the registry's
    /// findings drown in images nobody uses.
    ///
    /// ## Reads
    /// - API: `GetLifecyclePolicy` (live scans)
    /// - Terraform: `aws_ecr_repository`, `aws_ecr_lifecycle_policy`
    /// - CloudFormation: `AWS::ECR::Repository` `LifecyclePolicy`
    ///
    /// ## Example
    /// ```yaml
    /// Api:
    ///   Type: AWS::ECR::Repository
    ///   Properties:
    ///     RepositoryName: team/api
    /// ```
    ///
    /// ## Fix
    /// Add a lifecycle policy that expires untagged images and keeps a bounded number of
    /// tagged ones.
    pub EcrLifecyclePolicyMissing {
        id: "IMG011",
        name: "ecr-lifecycle-policy-missing",
        severity: Info,
        data: [Ecr],
        scope: Inventory,
        reads: &[k::ECR_REPOSITORY, k::ECR_LIFECYCLE_POLICY],
        summary: "An ECR repository has no lifecycle policy",
        remediation: "Add a lifecycle policy that expires untagged and old images.",
        guide: &["IM-09"],
    }
}

impl InventoryRule for EcrLifecyclePolicyMissing {
    fn check_inventory(&self, cx: &Ctx<'_>, out: &mut Sink) {
        let policies: Vec<(String, String)> = cx
            .objects_of(k::ECR_LIFECYCLE_POLICY)
            .filter_map(|p| {
                Some((
                    text(&p.root, "registryId").unwrap_or("").to_string(),
                    text(&p.root, "repositoryName")?.to_string(),
                ))
            })
            .collect();
        for j in judged_repositories(cx) {
            let repo = j.repo;
            // Absence means something only where the reader asked, or the code declares.
            if !(matches!(repo.source, Source::Live) || repo.iac.is_some()) {
                continue;
            }
            let name = text(&repo.root, "repositoryName").unwrap_or("");
            let registry = registry_of(repo);
            let has = policies
                .iter()
                .any(|(r, n)| n == name && (r.is_empty() || registry.is_empty() || *r == registry));
            if !has {
                out.report(
                    repo,
                    FieldPath::parse("repositoryName"),
                    format!(
                        "ECR repository {name} has no lifecycle policy{}",
                        users(&j.uses)
                    ),
                );
            }
        }
    }
}
