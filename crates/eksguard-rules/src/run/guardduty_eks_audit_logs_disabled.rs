use eksguard_model::aws_kinds as k;
use eksguard_model::{FieldPath, Object};

use super::guardduty::{disabled, feature, label, report_no_detector};
use crate::aws_svc::is;
use crate::{declare_rule, Ctx, ObjectRule, Sink};

declare_rule! {
    /// ## What it checks
    /// GuardDuty EKS Audit Log Monitoring is off: `guardduty list-detectors` lists no
    /// detector (GuardDuty is off in the region); a detector's `Status` is `DISABLED`; or
    /// its `EKS_AUDIT_LOGS` feature has `Status` `DISABLED` (for detectors without that
    /// feature entry, `DataSources.Kubernetes.AuditLogs.Status` `DISABLED`). A scan
    /// without GuardDuty output is not judged; in infrastructure code, a detector that
    /// says nothing about the feature is unknown, not a finding.
    ///
    /// ## Why it matters
    /// GuardDuty reads the cluster's audit log for known attack patterns (anonymous
    /// access, credential exfiltration, pods created with host mounts) without any agent.
    /// Off, those go unnoticed unless another detector looks at the same log.
    ///
    /// ## Reads
    /// - CLI: `aws guardduty list-detectors`, `aws guardduty get-detector --detector-id ID`
    /// - API: `ListDetectors`, `GetDetector`
    /// - Terraform: `aws_guardduty_detector` (`enable`,
    ///   `datasources.kubernetes.audit_logs.enable`), `aws_guardduty_detector_feature`
    ///   (`name = "EKS_AUDIT_LOGS"`, `status`)
    /// - CloudFormation: `AWS::GuardDuty::Detector` (`Enable`, `Features`,
    ///   `DataSources.Kubernetes.AuditLogs.Enable`)
    ///
    /// ## Example
    /// ```json
    /// {"ServiceRole": "…", "Status": "ENABLED",
    ///  "Features": [{"Name": "EKS_AUDIT_LOGS", "Status": "DISABLED"}]}
    /// ```
    ///
    /// ## Fix
    /// Enable GuardDuty in every region with clusters and turn on EKS Protection
    /// (`aws guardduty update-detector --features Name=EKS_AUDIT_LOGS,Status=ENABLED`).
    pub GuarddutyEksAuditLogsDisabled {
        id: "RUN005",
        name: "guardduty-eks-audit-logs-disabled",
        severity: Medium,
        data: [GuardDuty],
        scope: Objects(&[k::GUARDDUTY_DETECTOR_LIST, k::GUARDDUTY_DETECTOR, k::GUARDDUTY_DETECTOR_FEATURE]),
        reads: &[k::GUARDDUTY_DETECTOR_LIST],
        summary: "GuardDuty EKS Audit Log Monitoring is off",
        remediation: "Enable GuardDuty and its `EKS_AUDIT_LOGS` feature in the cluster's region.",
        guide: &["RT-01", "AM-03"],
    }
}

impl ObjectRule for GuarddutyEksAuditLogsDisabled {
    fn check_object(&self, cx: &Ctx<'_>, obj: &Object, out: &mut Sink) {
        match &*obj.kind {
            k::GUARDDUTY_DETECTOR_LIST => {
                report_no_detector(obj, "EKS audit logs are not monitored", out)
            }
            // A feature declared on its own (Terraform `aws_guardduty_detector_feature`).
            k::GUARDDUTY_DETECTOR_FEATURE => {
                if is(&obj.root, "Name", "EKS_AUDIT_LOGS") && is(&obj.root, "Status", "DISABLED") {
                    out.report(
                        obj,
                        FieldPath::parse("Status"),
                        "GuardDuty feature `EKS_AUDIT_LOGS` is DISABLED",
                    );
                }
            }
            _ => {
                let id = label(cx, obj);
                if disabled(obj) {
                    out.report(
                        obj,
                        FieldPath::parse("Status"),
                        format!(
                            "GuardDuty detector{id} is DISABLED: EKS audit logs are not monitored"
                        ),
                    );
                    return;
                }
                match feature(obj, "EKS_AUDIT_LOGS") {
                    Some((f, path)) => {
                        if is(f, "Status", "DISABLED") {
                            out.report(
                                obj,
                                path.key("Status"),
                                format!(
                                    "GuardDuty detector{id}: feature `EKS_AUDIT_LOGS` is DISABLED"
                                ),
                            );
                        }
                    }
                    None => {
                        if is(
                            &obj.root,
                            "DataSources.Kubernetes.AuditLogs.Status",
                            "DISABLED",
                        ) {
                            out.report(
                                obj,
                                FieldPath::parse("DataSources.Kubernetes.AuditLogs.Status"),
                                format!("GuardDuty detector{id}: Kubernetes audit logs data source is DISABLED"),
                            );
                        }
                    }
                }
            }
        }
    }
}
