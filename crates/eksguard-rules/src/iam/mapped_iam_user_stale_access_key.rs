use eksguard_model::aws_kinds as k;
use eksguard_model::date::Date;
use eksguard_model::{FieldPath, Node};

use super::mapped_users::{mapped_users, user_key};
use crate::{declare_rule, Ctx, InventoryRule, Sink};

crate::rule_params! {
    pub struct Params {
        /// Oldest an active access key may be, in days.
        max_key_age_days: i64 = 90,
        /// The date keys are aged against (`YYYY-MM-DD`); empty for the day of the scan.
        as_of: String = String::new(),
    }
}

declare_rule! {
    /// ## What it checks
    /// IAM users that aws-auth `mapUsers` or an access entry maps into the cluster, for
    /// access keys (`iam list-access-keys`, joined by `UserName`) with `Status` `Active`
    /// created more than `max_key_age_days` days before `as_of`. Inactive and expired keys
    /// are ignored. The finding is on the key's `CreateDate` and names the user's ARN as
    /// the mapping writes it.
    ///
    /// ## Why it matters
    /// A long-lived key of a user with cluster access is a credential that works from
    /// anywhere until someone rotates it; the older it is, the more places it has been
    /// copied to.
    ///
    /// ## Example
    /// ```json
    /// {"AccessKeyMetadata": [{"UserName": "alice", "AccessKeyId": "AKIAEXAMPLE", "Status": "Active", "CreateDate": "2024-01-10T08:00:00+00:00"}]}
    /// ```
    ///
    /// ## Fix
    /// Rotate the key, or better, give the person a role to assume (IAM Identity Center)
    /// and map the role instead of the user.
    pub MappedIamUserStaleAccessKey {
        id: "IAM021",
        name: "mapped-iam-user-stale-access-key",
        severity: Medium,
        data: [Iam, Kubernetes, Eks],
        scope: Inventory,
        reads: &["ConfigMap", k::EKS_ACCESS_ENTRY, "ClusterConfig", k::IAM_ACCESS_KEY],
        summary: "IAM user with cluster access has an old active access key",
        remediation: "Rotate the access key, or map an IAM role that people assume instead of the user.",
        params: Params,
        guide: &["IAM-30"],
    }
}

impl InventoryRule for MappedIamUserStaleAccessKey {
    fn check_inventory(&self, cx: &Ctx<'_>, out: &mut Sink) {
        let params = cx.params::<Params>(&Self::META);
        let users = mapped_users(cx);
        if users.is_empty() {
            return;
        }
        let as_of = Date::parse(params.as_of.trim()).unwrap_or_else(Date::today);
        for key in cx.objects_of(k::IAM_ACCESS_KEY) {
            let Some((arn, by)) = user_key(key).and_then(|u| users.get(&u)) else {
                continue;
            };
            let active = key
                .root
                .get("Status")
                .and_then(Node::as_str)
                .is_some_and(|s| s.eq_ignore_ascii_case("Active"));
            if !active {
                continue;
            }
            let Some(created) = key
                .root
                .get("CreateDate")
                .and_then(Node::as_str)
                .and_then(|s| Date::parse(s.get(..10)?))
            else {
                continue;
            };
            let age = as_of.days() - created.days();
            if age > params.max_key_age_days {
                out.report(
                    key,
                    FieldPath::parse("CreateDate"),
                    format!(
                        "IAM user `{arn}`, mapped into the cluster by {by}, has active access key `{}` created {age} days before {as_of}",
                        key.name
                    ),
                );
            }
        }
    }
}
