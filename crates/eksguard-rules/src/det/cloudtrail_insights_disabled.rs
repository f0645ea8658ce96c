use eksguard_model::aws_kinds as k;
use eksguard_model::{FieldPath, Node};

use super::cloudtrail::{by_arn, holds_trails, trails};
use crate::{declare_rule, Ctx, InventoryRule, Sink};

declare_rule! {
    /// ## What it checks
    /// The scan holds `cloudtrail describe-trails` and no trail has CloudTrail Insights:
    /// `HasInsightSelectors` true, or a non-empty `InsightSelectors` in its
    /// `get-insight-selectors` (joined by `TrailARN`). Reported once, on the trail list
    /// (or the first trail declared as code).
    ///
    /// ## Why it matters
    /// Insights learns the account's normal rate of write calls and error rates and
    /// flags bursts: a leaked key creating instances, a script deleting resources, a
    /// sudden wave of access denials from a probing attacker.
    ///
    /// ## Reads
    /// - CLI: `aws cloudtrail describe-trails`, `get-insight-selectors --trail-name T`
    /// - API: `DescribeTrails`, `GetInsightSelectors`
    /// - Terraform: `aws_cloudtrail.insight_selector`
    /// - CloudFormation: `AWS::CloudTrail::Trail` `InsightSelectors`
    ///
    /// ## Example
    /// ```json
    /// {"trailList": [{"Name": "main", "IsMultiRegionTrail": true, "HasInsightSelectors": false}]}
    /// ```
    ///
    /// ## Fix
    /// `aws cloudtrail put-insight-selectors --trail-name T --insight-selectors
    /// '[{"InsightType":"ApiCallRateInsight"},{"InsightType":"ApiErrorRateInsight"}]'`.
    pub CloudtrailInsightsDisabled {
        id: "DET004",
        name: "cloudtrail-insights-disabled",
        severity: Low,
        data: [CloudTrail],
        scope: Inventory,
        reads: &[k::CLOUDTRAIL_TRAIL_LIST, k::CLOUDTRAIL_TRAIL, k::CLOUDTRAIL_INSIGHT_SELECTORS],
        summary: "No CloudTrail trail has CloudTrail Insights",
        remediation: "Enable CloudTrail Insights (API call rate and error rate) on a trail.",
        guide: &["DC-06"],
    }
}

impl InventoryRule for CloudtrailInsightsDisabled {
    fn check_inventory(&self, cx: &Ctx<'_>, out: &mut Sink) {
        if !holds_trails(cx) {
            return;
        }
        let all = trails(cx);
        let insights = all.iter().any(|t| {
            let flag = t
                .root
                .get("HasInsightSelectors")
                .and_then(Node::as_bool_lenient)
                == Some(true);
            let own = t.root.get("InsightSelectors").and_then(Node::as_seq);
            let listed = by_arn(cx, k::CLOUDTRAIL_INSIGHT_SELECTORS, t)
                .and_then(|o| o.root.get("InsightSelectors"))
                .and_then(Node::as_seq)
                .or(own)
                .is_some_and(|s| !s.is_empty());
            flag || listed
        });
        if insights {
            return;
        }
        let on = cx
            .objects_of(k::CLOUDTRAIL_TRAIL_LIST)
            .next()
            .map(|l| (l, FieldPath::parse("trailList")))
            .or_else(|| {
                all.first()
                    .map(|t| (*t, FieldPath::parse("HasInsightSelectors")))
            });
        if let Some((obj, path)) = on {
            out.report(obj, path, "no CloudTrail trail has CloudTrail Insights");
        }
    }
}
