use eksguard_model::aws_kinds as k;
use eksguard_model::{FieldPath, Object, Severity};

use super::ecr::{anyone, limits_caller};
use crate::aws_iam::statements;
use crate::aws_svc::text;
use crate::{declare_rule, Ctx, ObjectRule, Sink};

/// Condition keys that restrict who the caller is or where it calls from.
const CALLER_KEYS: &[&str] = &[
    "aws:PrincipalOrgID",
    "aws:PrincipalAccount",
    "aws:PrincipalArn",
    "aws:SourceAccount",
    "aws:SourceVpce",
    "aws:SourceVpc",
];

/// Actions that write to a repository.
const PUSH: &[&str] = &[
    "ecr:PutImage",
    "ecr:InitiateLayerUpload",
    "ecr:UploadLayerPart",
    "ecr:CompleteLayerUpload",
    "ecr:BatchDeleteImage",
];

declare_rule! {
    /// ## What it checks
    /// ECR repository policies with an `Allow` statement for every principal
    /// (`"Principal": "*"` or `{"AWS": "*"}`) and no condition limiting the caller
    /// (`aws:PrincipalOrgID`, `aws:PrincipalAccount`, `aws:PrincipalArn`,
    /// `aws:SourceAccount`, `aws:SourceVpce`, `aws:SourceVpc`). High when the statement's
    /// actions include a push (`ecr:PutImage`, the layer uploads,
    /// `ecr:BatchDeleteImage`, or a pattern matching one), medium when it only pulls.
    ///
    /// ## Why it matters
    /// A principal of `*` is every AWS account in the world. Pull access leaks the images
    /// (and any secret baked into a layer); push access lets anyone replace what the
    /// cluster runs.
    ///
    /// ## Reads
    /// - CLI: `aws ecr get-repository-policy --repository-name N` (`policyText`)
    /// - API: `GetRepositoryPolicy`
    /// - Terraform: `aws_ecr_repository_policy.policy`
    /// - CloudFormation: `AWS::ECR::Repository` `RepositoryPolicyText`
    ///
    /// ## Example
    /// ```json
    /// {"Statement": [{"Effect": "Allow", "Principal": "*",
    ///   "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]}]}
    /// ```
    ///
    /// ## Fix
    /// Name the accounts or roles that may pull, or add an `aws:PrincipalOrgID` condition.
    pub EcrRepositoryPolicyPublic {
        id: "IMG008",
        name: "ecr-repository-policy-public",
        severity: High,
        data: [Ecr],
        scope: Objects(&[k::ECR_REPOSITORY_POLICY]),
        reads: &[k::ECR_REPOSITORY],
        summary: "An ECR repository policy lets any AWS principal pull or push",
        remediation: "Restrict the policy's principals, or add an `aws:PrincipalOrgID` condition.",
        guide: &["IM-06"],
    }
}

/// The repository's ARN when `describe-repositories` lists it, else its name.
fn repository_label(cx: &Ctx<'_>, policy: &Object) -> String {
    let name = text(&policy.root, "repositoryName").unwrap_or("");
    let registry = text(&policy.root, "registryId");
    cx.objects_of(k::ECR_REPOSITORY)
        .find(|r| {
            text(&r.root, "repositoryName") == Some(name)
                && (registry.is_none() || text(&r.root, "registryId") == registry)
        })
        .and_then(|r| text(&r.root, "repositoryArn"))
        .unwrap_or(name)
        .to_string()
}

impl ObjectRule for EcrRepositoryPolicyPublic {
    fn check_object(&self, cx: &Ctx<'_>, obj: &Object, out: &mut Sink) {
        let Some(doc) = obj.root.get("policyText").filter(|d| d.is_map()) else {
            return;
        };
        for st in statements(doc, &FieldPath::root().key("policyText")) {
            if !st.is_allow() || !anyone(&st) || limits_caller(&st, CALLER_KEYS) {
                continue;
            }
            let push = PUSH.iter().any(|a| st.covers_action(a));
            let (severity, what) = if push {
                (Severity::High, "push to and pull from")
            } else {
                (Severity::Medium, "pull from")
            };
            out.report_with(
                obj,
                st.path.key("Principal"),
                severity,
                format!(
                    "any AWS principal may {what} ECR repository {}",
                    repository_label(cx, obj)
                ),
            );
        }
    }
}
