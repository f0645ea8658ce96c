use eksguard_model::aws_kinds as k;
use eksguard_model::Object;

use super::logging::logging;
use crate::{declare_rule, Ctx, ObjectRule, Sink};

/// The log types besides `audit` (DET001's).
const TYPES: &[&str] = &["api", "authenticator", "controllerManager", "scheduler"];

declare_rule! {
    /// ## What it checks
    /// EKS clusters where any of the `api`, `authenticator`, `controllerManager` and
    /// `scheduler` control-plane log types is off (read as in DET001). One finding per
    /// cluster lists the missing types; it points at the first missing type in a
    /// disabled item, or at the list of log types.
    ///
    /// ## Why it matters
    /// The authenticator log ties Kubernetes users to IAM principals, and the API,
    /// controller-manager and scheduler logs show how the control plane acted on
    /// requests: without them an audit trail has gaps.
    ///
    /// ## Example
    /// ```json
    /// "logging": {"clusterLogging": [
    ///   {"types": ["audit"], "enabled": true},
    ///   {"types": ["api", "authenticator", "controllerManager", "scheduler"], "enabled": false}]}
    /// ```
    ///
    /// ## Fix
    /// Enable all five control-plane log types.
    pub ControlPlaneLoggingIncomplete {
        id: "DET002",
        name: "control-plane-logging-incomplete",
        severity: Low,
        data: [Eks],
        scope: Objects(&[k::EKS_CLUSTER, "ClusterConfig"]),
        summary: "Not every control-plane log type is enabled",
        remediation: "Enable the `api`, `authenticator`, `controllerManager` and `scheduler` log types along with `audit`.",
        guide: &["AM-03", "DC-01", "NS-06"],
    }
}

impl ObjectRule for ControlPlaneLoggingIncomplete {
    fn check_object(&self, _cx: &Ctx<'_>, obj: &Object, out: &mut Sink) {
        let Some(l) = logging(obj) else { return };
        let missing: Vec<&str> = TYPES.iter().copied().filter(|t| !l.is_on(t)).collect();
        let Some(first) = missing.first() else { return };
        let listed = missing
            .iter()
            .map(|t| format!("`{t}`"))
            .collect::<Vec<_>>()
            .join(", ");
        out.report(
            obj,
            l.path_for(first),
            format!("control-plane log types not enabled: {listed}{}", l.note),
        );
    }
}
