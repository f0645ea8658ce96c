use eksguard_model::aws_kinds as k;
use eksguard_model::{FieldPath, Node, Object};

use super::guardduty::{additional, disabled, feature, label, report_no_detector};
use crate::aws_svc::{is, text};
use crate::{declare_rule, Ctx, ObjectRule, Sink};

/// The add-on that carries GuardDuty's runtime agent.
const AGENT: &str = "aws-guardduty-agent";

declare_rule! {
    /// ## What it checks
    /// GuardDuty Runtime Monitoring does not cover the cluster's nodes:
    /// - GuardDuty is off (`list-detectors` lists no detector, or the detector's `Status`
    ///   is `DISABLED`);
    /// - the detector's `Features` has neither `RUNTIME_MONITORING` nor
    ///   `EKS_RUNTIME_MONITORING` with `Status` `ENABLED` (the two are alternatives: the
    ///   newer includes the older);
    /// - the enabled one has its `EKS_ADDON_MANAGEMENT` additional configuration
    ///   `DISABLED`, so GuardDuty does not install its agent, and the scan shows the
    ///   cluster's add-ons (`eks describe-addon`, `list-addons`, eksctl `addons`) without
    ///   `aws-guardduty-agent`.
    ///
    /// A detector output without `Features` (infrastructure code that does not declare
    /// them) is not judged.
    ///
    /// ## Why it matters
    /// Audit logs show what was asked of the API server; only the runtime agent sees what
    /// happens inside containers and on nodes (a reverse shell, a crypto miner, a
    /// container escape). The guide makes it GuardDuty's primary runtime control.
    ///
    /// ## Reads
    /// - CLI: `aws guardduty list-detectors`, `aws guardduty get-detector`,
    ///   `aws eks describe-addon`
    /// - API: `ListDetectors`, `GetDetector`
    /// - Terraform: `aws_guardduty_detector`, `aws_guardduty_detector_feature`
    ///   (`RUNTIME_MONITORING`, `EKS_RUNTIME_MONITORING`, `additional_configuration`),
    ///   `aws_eks_addon` (`addon_name = "aws-guardduty-agent"`)
    /// - CloudFormation: `AWS::GuardDuty::Detector` `Features`, `AWS::EKS::Addon`
    ///
    /// ## Example
    /// ```json
    /// "Features": [{"Name": "RUNTIME_MONITORING", "Status": "DISABLED"}]
    /// ```
    ///
    /// ## Fix
    /// Enable `RUNTIME_MONITORING` with `EKS_ADDON_MANAGEMENT`, or install the
    /// `aws-guardduty-agent` add-on on the cluster yourself.
    pub GuarddutyRuntimeMonitoringDisabled {
        id: "RUN006",
        name: "guardduty-runtime-monitoring-disabled",
        severity: Medium,
        data: [GuardDuty, Eks],
        scope: Objects(&[k::GUARDDUTY_DETECTOR_LIST, k::GUARDDUTY_DETECTOR, k::GUARDDUTY_DETECTOR_FEATURE]),
        reads: &[k::GUARDDUTY_DETECTOR_LIST, k::EKS_ADDON, k::EKS_ADDON_LIST, "ClusterConfig"],
        summary: "GuardDuty Runtime Monitoring does not cover the cluster's nodes",
        remediation: "Enable GuardDuty `RUNTIME_MONITORING` with automated agent management, or install the `aws-guardduty-agent` add-on.",
        guide: &["RT-01", "AM-03"],
    }
}

/// Whether the scan shows the cluster's add-ons, and if so whether the agent is one.
fn agent_installed(cx: &Ctx<'_>) -> Option<bool> {
    let mut seen = false;
    let mut found = false;
    for a in cx.objects_of(k::EKS_ADDON) {
        seen = true;
        found |= text(&a.root, "addonName") == Some(AGENT);
    }
    for l in cx.objects_of(k::EKS_ADDON_LIST) {
        seen = true;
        found |= l
            .root
            .get("addons")
            .map(Node::items)
            .unwrap_or(&[])
            .iter()
            .any(|n| n.as_str() == Some(AGENT));
    }
    for c in cx.objects_of("ClusterConfig") {
        if let Some(addons) = c.root.get("addons").and_then(Node::as_seq) {
            seen = true;
            found |= addons.iter().any(|a| text(a, "name") == Some(AGENT));
        }
    }
    seen.then_some(found)
}

impl ObjectRule for GuarddutyRuntimeMonitoringDisabled {
    fn check_object(&self, cx: &Ctx<'_>, obj: &Object, out: &mut Sink) {
        match &*obj.kind {
            k::GUARDDUTY_DETECTOR_LIST => report_no_detector(obj, "no runtime monitoring", out),
            k::GUARDDUTY_DETECTOR_FEATURE => {
                let name = text(&obj.root, "Name").unwrap_or("");
                if (name == "RUNTIME_MONITORING" || name == "EKS_RUNTIME_MONITORING")
                    && is(&obj.root, "Status", "DISABLED")
                {
                    out.report(
                        obj,
                        FieldPath::parse("Status"),
                        format!("GuardDuty feature `{name}` is DISABLED"),
                    );
                }
            }
            _ => {
                let id = label(cx, obj);
                if disabled(obj) {
                    out.report(
                        obj,
                        FieldPath::parse("Status"),
                        format!("GuardDuty detector{id} is DISABLED: no runtime monitoring"),
                    );
                    return;
                }
                if obj.root.get("Features").and_then(Node::as_seq).is_none() {
                    return;
                }
                let enabled = ["RUNTIME_MONITORING", "EKS_RUNTIME_MONITORING"]
                    .into_iter()
                    .filter_map(|n| feature(obj, n).map(|f| (n, f)))
                    .find(|(_, (f, _))| is(f, "Status", "ENABLED"));
                let Some((name, (f, path))) = enabled else {
                    let path = feature(obj, "RUNTIME_MONITORING")
                        .or_else(|| feature(obj, "EKS_RUNTIME_MONITORING"))
                        .map_or(FieldPath::parse("Features"), |(_, p)| p.key("Status"));
                    out.report(
                        obj,
                        path,
                        format!("GuardDuty detector{id}: neither `RUNTIME_MONITORING` nor `EKS_RUNTIME_MONITORING` is ENABLED"),
                    );
                    return;
                };
                let Some((c, cpath)) = additional(f, &path, "EKS_ADDON_MANAGEMENT") else {
                    return;
                };
                if is(c, "Status", "DISABLED") && agent_installed(cx) == Some(false) {
                    out.report(
                        obj,
                        cpath.key("Status"),
                        format!("GuardDuty detector{id}: `{name}` is on but does not manage its agent (`EKS_ADDON_MANAGEMENT` DISABLED), and the cluster has no `{AGENT}` add-on"),
                    );
                }
            }
        }
    }
}
