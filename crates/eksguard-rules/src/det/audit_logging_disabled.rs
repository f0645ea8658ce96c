use eksguard_model::aws_kinds as k;
use eksguard_model::Object;

use super::logging::logging;
use crate::{declare_rule, Ctx, ObjectRule, Sink};

declare_rule! {
    /// ## What it checks
    /// EKS clusters that do not send the `audit` control-plane log to CloudWatch Logs:
    /// `describe-cluster` output whose `logging.clusterLogging` has no `enabled: true`
    /// item listing `audit`, and eksctl `ClusterConfig` whose
    /// `cloudWatch.clusterLogging.enableTypes` lacks `audit` (`*` and `all` enable every
    /// type; eksctl enables none by default). The finding points at `audit` in a
    /// disabled item, or at the list of log types.
    ///
    /// ## Why it matters
    /// The audit log is the only record of who did what through the Kubernetes API: who
    /// read secrets, exec'd into pods, or changed RBAC. Without it incidents cannot be
    /// investigated, and it cannot be turned on after the fact.
    ///
    /// ## Example
    /// ```yaml
    /// cloudWatch:
    ///   clusterLogging:
    ///     enableTypes: ["api", "authenticator"]
    /// ```
    ///
    /// ## Fix
    /// Enable the `audit` log type (and set a retention period on the log group).
    pub AuditLoggingDisabled {
        id: "DET001",
        name: "audit-logging-disabled",
        severity: High,
        data: [Eks],
        scope: Objects(&[k::EKS_CLUSTER, "ClusterConfig"]),
        summary: "Control-plane audit logging is not enabled",
        remediation: "Enable the `audit` control-plane log type for the cluster.",
        guide: &["AM-03", "DC-01"],
    }
}

impl ObjectRule for AuditLoggingDisabled {
    fn check_object(&self, _cx: &Ctx<'_>, obj: &Object, out: &mut Sink) {
        let Some(l) = logging(obj) else { return };
        if !l.is_on("audit") {
            out.report(
                obj,
                l.path_for("audit"),
                format!("control-plane log type `audit` is not enabled{}", l.note),
            );
        }
    }
}
