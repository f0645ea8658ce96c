use eksguard_model::aws_kinds as k;
use eksguard_model::{FieldPath, Node, Object, Severity};

use super::cloudtrail::{arn, holds_trails, management, status, trails, Management};
use crate::{declare_rule, Ctx, InventoryRule, Sink};

declare_rule! {
    /// ## What it checks
    /// The scan holds `cloudtrail describe-trails` and no trail is at once:
    /// - multi-region (`IsMultiRegionTrail` true),
    /// - logging (`IsLogging` true in its `get-trail-status`, when the scan holds it; the
    ///   status is joined to the trail by a directory named after the trail, or is the
    ///   only status of a scan with one trail),
    /// - recording management events (a trail with `HasCustomEventSelectors` false
    ///   records them all; otherwise its `get-event-selectors` has an `EventSelectors`
    ///   entry with `IncludeManagementEvents` true, or an `AdvancedEventSelectors` entry
    ///   whose field `eventCategory` equals `Management`).
    ///
    /// Reported on each multi-region trail that fails, or once on the trail list when
    /// there is no multi-region trail. When the best trail records only reads or only
    /// writes (`ReadWriteType` other than `All`, or an advanced `readOnly` selector), the
    /// finding is low. Custom selectors the scan does not hold count as recording.
    ///
    /// ## Why it matters
    /// The EKS API calls (creating clusters, changing access entries, updating the
    /// endpoint or logging settings) and every IAM call that gives access to the cluster
    /// are management events. Without a trail in every region, their record is the 90-day
    /// event history and nothing more, in no place an investigation controls.
    ///
    /// ## Reads
    /// - CLI: `aws cloudtrail describe-trails`, `get-trail-status --name T`,
    ///   `get-event-selectors --trail-name T`
    /// - API: `DescribeTrails`, `GetTrailStatus`, `GetEventSelectors`
    /// - Terraform: `aws_cloudtrail` (`is_multi_region_trail`, `enable_logging` default
    ///   true, `event_selector.include_management_events`, `advanced_event_selector`)
    /// - CloudFormation: `AWS::CloudTrail::Trail` (`IsMultiRegionTrail`, `IsLogging`,
    ///   `EventSelectors`, `AdvancedEventSelectors`)
    ///
    /// ## Example
    /// ```json
    /// {"trailList": [{"Name": "regional", "IsMultiRegionTrail": false,
    ///   "HasCustomEventSelectors": false}]}
    /// ```
    ///
    /// ## Fix
    /// Create a multi-region trail (an organisation trail where there is an organisation)
    /// that records all management events, and keep it logging.
    pub CloudtrailNotLogging {
        id: "DET003",
        name: "cloudtrail-not-logging",
        severity: Medium,
        data: [CloudTrail],
        scope: Inventory,
        reads: &[
            k::CLOUDTRAIL_TRAIL_LIST,
            k::CLOUDTRAIL_TRAIL,
            k::CLOUDTRAIL_TRAIL_STATUS,
            k::CLOUDTRAIL_EVENT_SELECTORS,
        ],
        summary: "No multi-region CloudTrail trail is logging management events",
        remediation: "Keep a multi-region trail logging all management events.",
        guide: &["DC-05"],
    }
}

/// Why a multi-region trail fails, with the path to point at; `None` when it passes.
fn failure(cx: &Ctx<'_>, t: &Object) -> Option<(FieldPath, Severity, String)> {
    if let Some(s) = status(cx, t) {
        if s.root.get("IsLogging").and_then(Node::as_bool_lenient) == Some(false) {
            return Some((
                FieldPath::parse("IsMultiRegionTrail"),
                Severity::Medium,
                "is not logging (`IsLogging` false)".to_string(),
            ));
        }
    }
    match management(cx, t) {
        Management::All | Management::Unknown => None,
        Management::Partial => Some((
            FieldPath::parse("HasCustomEventSelectors"),
            Severity::Low,
            "records only read or only write management events".to_string(),
        )),
        Management::None => Some((
            FieldPath::parse("HasCustomEventSelectors"),
            Severity::Medium,
            "records no management events".to_string(),
        )),
    }
}

impl InventoryRule for CloudtrailNotLogging {
    fn check_inventory(&self, cx: &Ctx<'_>, out: &mut Sink) {
        if !holds_trails(cx) {
            return;
        }
        let multi: Vec<&Object> = trails(cx)
            .into_iter()
            .filter(|t| {
                t.root
                    .get("IsMultiRegionTrail")
                    .and_then(Node::as_bool_lenient)
                    == Some(true)
            })
            .collect();
        if multi.is_empty() {
            let on = cx
                .objects_of(k::CLOUDTRAIL_TRAIL_LIST)
                .next()
                .map(|l| (l, FieldPath::parse("trailList")))
                .or_else(|| {
                    trails(cx)
                        .first()
                        .map(|t| (*t, FieldPath::parse("IsMultiRegionTrail")))
                });
            if let Some((obj, path)) = on {
                out.report(
                    obj,
                    path,
                    "no multi-region CloudTrail trail: management events of other regions are not recorded",
                );
            }
            return;
        }
        let failures: Vec<_> = multi.iter().map(|t| (t, failure(cx, t))).collect();
        if failures.iter().any(|(_, f)| f.is_none()) {
            return;
        }
        let best_partial = failures
            .iter()
            .any(|(_, f)| f.as_ref().is_some_and(|(_, s, _)| *s == Severity::Low));
        let mut seen = std::collections::BTreeSet::new();
        for (t, f) in failures {
            let Some((path, severity, why)) = f else {
                continue;
            };
            // Shadow copies repeat a trail; one finding is enough.
            if !seen.insert(arn(t).to_string()) {
                continue;
            }
            if best_partial && severity != Severity::Low {
                continue;
            }
            out.report_with(
                t,
                path,
                severity,
                format!("multi-region trail {} {why}", arn(t)),
            );
        }
    }
}
