use eksguard_model::aws_kinds as k;
use eksguard_model::{FieldPath, Node};

use super::vpc_cni::{aws_node, container, flag, vpc_cni_addons};
use crate::{declare_rule, Ctx, InventoryRule, Sink};

const AGENT: &str = "aws-network-policy-agent";
const FLAG: &str = "--enable-policy-event-logs";

declare_rule! {
    /// ## What it checks
    /// Scans that hold NetworkPolicies, and each object of the scan through which the
    /// enforcing agent is configured without policy decision logs:
    /// - the `vpc-cni` add-on (`describe-addon`, eksctl `addons`) whose
    ///   `configurationValues` do not set `nodeAgent.enablePolicyEventLogs: "true"`;
    /// - the kube-system `aws-node` DaemonSet whose `aws-network-policy-agent` container
    ///   runs without `--enable-policy-event-logs=true` (a DaemonSet without that
    ///   container is NET010's finding);
    /// - an EKS Auto Mode `NodeClass` (`eks.amazonaws.com`) that does not set
    ///   `spec.networkPolicyEventLogs: Enabled` (the default is `Disabled`).
    ///
    /// ## Why it matters
    /// Without decision logs nobody can tell which connections the policies allowed or
    /// denied: a blocked attack leaves no trace, and a policy that lets too much through
    /// cannot be found from traffic. The guide asks for the policy event logs, shipped to
    /// CloudWatch, wherever NetworkPolicies are enforced.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: eks.amazonaws.com/v1
    /// kind: NodeClass
    /// spec:
    ///   networkPolicy: DefaultAllow
    /// ```
    ///
    /// ## Fix
    /// Set `nodeAgent.enablePolicyEventLogs: "true"` (and `enableCloudWatchLogs`) in the
    /// `vpc-cni` add-on configuration, or `networkPolicyEventLogs: Enabled` on Auto Mode
    /// NodeClasses.
    pub NetworkPolicyEventLogsDisabled {
        id: "NET016",
        name: "network-policy-event-logs-disabled",
        severity: Info,
        data: [Kubernetes, Eks],
        scope: Inventory,
        reads: &["NetworkPolicy", "DaemonSet", "NodeClass", k::EKS_ADDON, "ClusterConfig"],
        summary: "NetworkPolicy decisions are not logged",
        remediation: "Turn on the network policy agent's event logs (`enablePolicyEventLogs`, or `networkPolicyEventLogs: Enabled` on Auto Mode).",
        guide: &["NS-06", "AM-02"],
    }
}

impl InventoryRule for NetworkPolicyEventLogsDisabled {
    fn check_inventory(&self, cx: &Ctx<'_>, out: &mut Sink) {
        if cx.objects_of("NetworkPolicy").next().is_none() {
            return;
        }
        for addon in vpc_cni_addons(cx) {
            let on = addon
                .setting("nodeAgent.enablePolicyEventLogs")
                .and_then(Node::as_bool_lenient)
                == Some(true);
            if !on {
                out.report(
                    addon.obj,
                    addon.at("nodeAgent.enablePolicyEventLogs"),
                    "vpc-cni add-on configuration does not set `nodeAgent.enablePolicyEventLogs: \"true\"`: policy decisions are not logged",
                );
            }
        }
        for ds in aws_node(cx) {
            let Some(agent) = container(ds, AGENT) else {
                continue;
            };
            match flag(&agent, FLAG) {
                Some((v, _)) if v.eq_ignore_ascii_case("true") => {}
                found => out.report(
                    ds,
                    found.map_or_else(|| agent.path_to("args"), |(_, p)| p),
                    format!(
                        "`{AGENT}` runs without `{FLAG}=true`: policy decisions are not logged"
                    ),
                ),
            }
        }
        for nc in cx
            .objects_of("NodeClass")
            .filter(|o| o.api_version.starts_with("eks.amazonaws.com/"))
        {
            let v = nc
                .spec()
                .get("networkPolicyEventLogs")
                .and_then(Node::as_str);
            if v.map(str::trim) != Some("Enabled") {
                out.report(
                    nc,
                    FieldPath::parse("spec.networkPolicyEventLogs"),
                    "Auto Mode NodeClass does not set `networkPolicyEventLogs: Enabled`: policy decisions on its nodes are not logged",
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::scan_test::findings;

    #[test]
    fn nothing_without_network_policies() {
        let node_class = "
apiVersion: eks.amazonaws.com/v1
kind: NodeClass
metadata: {name: default}
spec: {role: AmazonEKSAutoNodeRole}
";
        assert!(findings("NET016", node_class).is_empty());
        let policy = "---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny, namespace: shop}
spec: {podSelector: {}}
";
        let got = findings("NET016", &format!("{node_class}{policy}"));
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].1, "spec.networkPolicyEventLogs");
    }
}
