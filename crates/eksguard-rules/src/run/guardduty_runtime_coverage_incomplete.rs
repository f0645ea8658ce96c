use std::collections::BTreeSet;

use eksguard_model::aws_kinds as k;
use eksguard_model::{FieldPath, Object};

use crate::aws_svc::{clusters, is, text};
use crate::{declare_rule, Ctx, ObjectRule, Sink};

declare_rule! {
    /// ## What it checks
    /// An EKS entry of `guardduty list-coverage` (`ResourceDetails.ResourceType` `EKS`)
    /// for the scan's cluster (`EksClusterDetails.ClusterName`; every EKS entry when the
    /// scan holds no cluster) with `CoverageStatus` `UNHEALTHY`, or fewer `CoveredNodes`
    /// than `CompatibleNodes`. The message carries GuardDuty's `Issue`.
    ///
    /// ## Why it matters
    /// Runtime Monitoring switched on is not runtime monitoring working: a node without
    /// the agent (a missing VPC endpoint, an agent pod that cannot schedule, an
    /// unsupported AMI) is a node where a container escape goes unseen.
    ///
    /// ## Reads
    /// - CLI: `aws guardduty list-coverage --detector-id ID`
    /// - API: `ListCoverage`
    /// - Infrastructure code: none (coverage is a runtime state)
    ///
    /// ## Example
    /// ```json
    /// {"Resources": [{"ResourceId": "prod", "CoverageStatus": "UNHEALTHY",
    ///   "Issue": "No agent reporting", "ResourceDetails": {"ResourceType": "EKS",
    ///   "EksClusterDetails": {"ClusterName": "prod", "CoveredNodes": 2, "CompatibleNodes": 5}}}]}
    /// ```
    ///
    /// ## Fix
    /// Follow the `Issue` GuardDuty reports: usually the agent add-on's pods, the
    /// GuardDuty VPC endpoint, or node AMIs the agent does not support.
    pub GuarddutyRuntimeCoverageIncomplete {
        id: "RUN007",
        name: "guardduty-runtime-coverage-incomplete",
        severity: Medium,
        data: [GuardDuty],
        scope: Objects(&[k::GUARDDUTY_COVERAGE]),
        reads: &[k::EKS_CLUSTER, "ClusterConfig", k::EC2_SUBNET],
        summary: "GuardDuty runtime coverage of the cluster is unhealthy or incomplete",
        remediation: "Fix what GuardDuty's coverage `Issue` names so that every compatible node runs the agent.",
        guide: &["RT-01"],
    }
}

impl ObjectRule for GuarddutyRuntimeCoverageIncomplete {
    fn check_object(&self, cx: &Ctx<'_>, obj: &Object, out: &mut Sink) {
        let r = &obj.root;
        if !is(r, "ResourceDetails.ResourceType", "EKS") {
            return;
        }
        let details = "ResourceDetails.EksClusterDetails";
        let cluster = text(r, &format!("{details}.ClusterName"))
            .or_else(|| text(r, "ResourceId"))
            .unwrap_or("");
        let names: BTreeSet<String> = clusters(cx).into_iter().map(|c| c.name).collect();
        if !names.is_empty() && !names.contains(cluster) {
            return;
        }
        let issue = text(r, "Issue")
            .map(|i| format!(": {i}"))
            .unwrap_or_default();
        let covered = r
            .at(&format!("{details}.CoveredNodes"))
            .and_then(|n| n.as_i64());
        let compatible = r
            .at(&format!("{details}.CompatibleNodes"))
            .and_then(|n| n.as_i64());
        if is(r, "CoverageStatus", "UNHEALTHY") {
            out.report(
                obj,
                FieldPath::parse("CoverageStatus"),
                format!("GuardDuty runtime coverage of cluster {cluster} is UNHEALTHY{issue}"),
            );
        } else if let (Some(c), Some(t)) = (covered, compatible) {
            if c < t {
                out.report(
                    obj,
                    FieldPath::parse(&format!("{details}.CoveredNodes")),
                    format!("GuardDuty runtime agent covers {c} of {t} compatible nodes of cluster {cluster}{issue}"),
                );
            }
        }
    }
}
