use eksguard_model::aws_kinds as k;
use std::collections::{BTreeMap, BTreeSet};

use eksguard_model::{FieldPath, Node, Object};

use super::{irsa_role, list_others, role_arn_path};
use crate::{declare_rule, Ctx, InventoryRule, Sink};

declare_rule! {
    /// ## What it checks
    /// ServiceAccounts whose `eks.amazonaws.com/role-arn` annotation names the same IAM
    /// role as another ServiceAccount of the scan — in another namespace, or another
    /// account in the same namespace. Each sharing ServiceAccount gets a finding at its
    /// annotation that names the others. ARNs are compared without regard to case, as IAM
    /// role names are unique regardless of case; the same ServiceAccount appearing twice
    /// in the scan is not sharing.
    ///
    /// EKS Pod Identity associations (`EKSPodIdentityAssociation`, from
    /// `describe-pod-identity-association` or `create-...`, whose `roleArn` names the
    /// role; `list-pod-identity-associations` does not show roles) count as uses by their
    /// `namespace`/`serviceAccount`, together with the annotations: a role annotated on
    /// one service account and associated with another is shared, while an annotation
    /// and an association for the same service account are not. Associations are
    /// reported at `roleArn`. Service accounts are told apart by namespace and name only,
    /// so the same service account in two clusters counts as one user of the role.
    ///
    /// ## Why it matters
    /// A shared role holds the union of what every workload needs, so compromising any
    /// one of them yields the permissions of all, and CloudTrail cannot tell which
    /// workload made a call. Its trust policy must also admit several subjects, often with
    /// wildcards.
    ///
    /// ## Example
    /// ```yaml
    /// kind: ServiceAccount
    /// metadata:
    ///   name: uploader
    ///   namespace: media
    ///   annotations:
    ///     eks.amazonaws.com/role-arn: arn:aws:iam::111122223333:role/app
    /// ---
    /// kind: ServiceAccount
    /// metadata:
    ///   name: billing
    ///   namespace: finance
    ///   annotations:
    ///     eks.amazonaws.com/role-arn: arn:aws:iam::111122223333:role/app
    /// ```
    ///
    /// ## Fix
    /// Create one IAM role per workload, with only its permissions and a trust policy for
    /// its one service account.
    pub SharedIamRole {
        id: "IRSA008",
        name: "shared-iam-role",
        severity: Medium,
        data: [Kubernetes, Eks],
        scope: Inventory,
        reads: &["ServiceAccount", k::EKS_POD_IDENTITY_ASSOCIATION],
        summary: "IAM role shared by several service accounts",
        remediation: "Give each workload's service account its own IAM role scoped to what it needs.",
        guide: &["IAM-16", "IAM-19"],
    }
}

/// One use of a role: the object, the service account it stands for, the role ARN as
/// written and where it is written.
struct Use<'a> {
    obj: &'a Object,
    ident: String,
    arn: String,
    path: FieldPath,
}

/// The role a Pod Identity association grants, with its service account.
fn association_use(a: &Object) -> Option<Use<'_>> {
    let field = |k: &str| {
        a.root
            .get(k)
            .and_then(Node::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
    };
    Some(Use {
        obj: a,
        ident: format!("{}/{}", field("namespace")?, field("serviceAccount")?),
        arn: field("roleArn")?.to_string(),
        path: FieldPath::parse("roleArn"),
    })
}

impl InventoryRule for SharedIamRole {
    fn check_inventory(&self, cx: &Ctx<'_>, out: &mut Sink) {
        let mut by_role: BTreeMap<String, Vec<Use>> = BTreeMap::new();
        for sa in cx.objects_of("ServiceAccount") {
            if let Some(arn) = irsa_role(sa) {
                by_role
                    .entry(arn.to_ascii_lowercase())
                    .or_default()
                    .push(Use {
                        obj: sa,
                        ident: format!("{}/{}", sa.ns().unwrap_or("default"), sa.name),
                        arn: arn.to_string(),
                        path: role_arn_path(),
                    });
            }
        }
        for u in cx
            .objects_of(k::EKS_POD_IDENTITY_ASSOCIATION)
            .filter_map(association_use)
        {
            by_role
                .entry(u.arn.to_ascii_lowercase())
                .or_default()
                .push(u);
        }
        for uses in by_role.values() {
            let all: BTreeSet<&str> = uses.iter().map(|u| u.ident.as_str()).collect();
            if all.len() < 2 {
                continue;
            }
            for u in uses {
                let me = u.ident.as_str();
                let others: Vec<String> = all
                    .iter()
                    .filter(|o| **o != me)
                    .map(|o| format!("`{o}`"))
                    .collect();
                let listed = list_others(&others);
                out.report(
                    u.obj,
                    u.path.clone(),
                    format!("IAM role `{}` is also used by {listed}", u.arn),
                );
            }
        }
    }
}
