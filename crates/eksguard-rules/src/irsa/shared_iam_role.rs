use std::collections::{BTreeMap, BTreeSet};

use eksguard_model::Object;

use super::{irsa_role, role_arn_path};
use crate::{declare_rule, Ctx, Rule, Sink};

/// Most other service accounts a message lists by name.
const MAX_LISTED: usize = 5;

declare_rule! {
    /// ## What it checks
    /// ServiceAccounts whose `eks.amazonaws.com/role-arn` annotation names the same IAM
    /// role as another ServiceAccount of the scan — in another namespace, or another
    /// account in the same namespace. Each sharing ServiceAccount gets a finding at its
    /// annotation that names the others. ARNs are compared without regard to case, as IAM
    /// role names are unique regardless of case; the same ServiceAccount appearing twice
    /// in the scan is not sharing.
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
        sources: "K,E",
        kinds: &[],
        summary: "IAM role shared by several service accounts",
        remediation: "Give each workload's service account its own IAM role scoped to what it needs.",
    }
}

impl Rule for SharedIamRole {
    fn check_inventory(&self, cx: &Ctx<'_>, out: &mut Sink) {
        let mut by_role: BTreeMap<String, Vec<&Object>> = BTreeMap::new();
        for sa in cx.objects_of("ServiceAccount") {
            if let Some(arn) = irsa_role(sa) {
                by_role
                    .entry(arn.to_ascii_lowercase())
                    .or_default()
                    .push(sa);
            }
        }
        let ident = |o: &Object| format!("{}/{}", o.ns().unwrap_or("default"), o.name);
        for sas in by_role.values() {
            let all: BTreeSet<String> = sas.iter().map(|o| ident(o)).collect();
            if all.len() < 2 {
                continue;
            }
            for sa in sas {
                let me = ident(sa);
                let others: Vec<String> = all
                    .iter()
                    .filter(|o| **o != me)
                    .map(|o| format!("`{o}`"))
                    .collect();
                let mut listed = others
                    .iter()
                    .take(MAX_LISTED)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ");
                if others.len() > MAX_LISTED {
                    listed.push_str(&format!(" and {} more", others.len() - MAX_LISTED));
                }
                out.report(
                    sa,
                    role_arn_path(),
                    format!(
                        "IAM role `{}` is also used by {listed}",
                        irsa_role(sa).unwrap_or_default()
                    ),
                );
            }
        }
    }
}
