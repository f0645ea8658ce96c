use eksguard_model::aws_kinds as k;
use eksguard_model::Node;

use super::vpc_cni::{aws_node, container, env, vpc_cni_addons};
use crate::{declare_rule, Ctx, InventoryRule, Sink};

const POD_ENI: &str = "ENABLE_POD_ENI";
const MODE: &str = "POD_SECURITY_GROUP_ENFORCING_MODE";

declare_rule! {
    /// ## What it checks
    /// Scans that hold both `SecurityGroupPolicy` objects (security groups for pods) and
    /// NetworkPolicies, where the VPC CNI enables security groups for pods
    /// (`ENABLE_POD_ENI` `"true"` in the `aws-node` container of the kube-system
    /// `aws-node` DaemonSet, or in `env` of the `vpc-cni` add-on's `configurationValues`)
    /// with `POD_SECURITY_GROUP_ENFORCING_MODE` absent or other than `standard`. The
    /// CNI's default is `strict`. The DaemonSet or the add-on is reported.
    ///
    /// ## Why it matters
    /// In `strict` mode traffic of pods with their own security group bypasses the node's
    /// network stack, so NetworkPolicies, kube-proxy Service rules and the node's security
    /// groups do not see it. Used together with NetworkPolicies, `strict` mode leaves
    /// those pods outside the policies; the guide asks for `standard` mode when both are
    /// used.
    ///
    /// ## Example
    /// ```yaml
    /// env:
    /// - name: ENABLE_POD_ENI
    ///   value: "true"
    /// ```
    ///
    /// ## Fix
    /// Set `POD_SECURITY_GROUP_ENFORCING_MODE=standard` on the VPC CNI (add-on `env`, or
    /// the `aws-node` container).
    pub SgpEnforcingModeStrict {
        id: "NET014",
        name: "sgp-enforcing-mode-strict",
        severity: Medium,
        data: [Kubernetes, Eks],
        scope: Inventory,
        reads: &["SecurityGroupPolicy", "NetworkPolicy", "DaemonSet", k::EKS_ADDON, "ClusterConfig"],
        summary: "Security groups for pods run in strict mode beside NetworkPolicies",
        remediation: "Set `POD_SECURITY_GROUP_ENFORCING_MODE` to `standard` on the VPC CNI.",
        guide: &["NS-10"],
    }
}

fn is_true(v: Option<&str>) -> bool {
    v.is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
}

fn message(mode: Option<&str>) -> String {
    match mode {
        Some(m) => format!(
            "security groups for pods are enabled with `{MODE}={}`: pods with their own security group bypass NetworkPolicies; use `standard`",
            m.trim()
        ),
        None => format!(
            "security groups for pods are enabled without `{MODE}`, which defaults to `strict`: pods with their own security group bypass NetworkPolicies; use `standard`"
        ),
    }
}

impl InventoryRule for SgpEnforcingModeStrict {
    fn check_inventory(&self, cx: &Ctx<'_>, out: &mut Sink) {
        let sgp = cx
            .objects_of("SecurityGroupPolicy")
            .any(|o| o.api_version.starts_with("vpcresources.k8s.aws/"));
        if !sgp || cx.objects_of("NetworkPolicy").next().is_none() {
            return;
        }
        for ds in aws_node(cx) {
            let Some(cni) = container(ds, "aws-node") else {
                continue;
            };
            let Some((enabled, _)) = env(&cni, POD_ENI) else {
                continue;
            };
            if !is_true(enabled) {
                continue;
            }
            let mode = env(&cni, MODE);
            let value = mode.as_ref().and_then(|(v, _)| *v);
            if value.map(str::trim) != Some("standard") {
                let path = mode.map_or_else(|| cni.path_to("env"), |(_, p)| p);
                out.report(ds, path, message(value));
            }
        }
        for addon in vpc_cni_addons(cx) {
            let text = |key: &str| {
                addon
                    .setting("env")
                    .and_then(|e| e.get(key))
                    .and_then(Node::scalar_text)
            };
            if !is_true(text(POD_ENI).as_deref()) {
                continue;
            }
            let value = text(MODE);
            if value.as_deref().map(str::trim) != Some("standard") {
                out.report(
                    addon.obj,
                    addon.at(&format!("env.{MODE}")),
                    message(value.as_deref()),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::scan_test::findings;

    const AWS_NODE: &str = "
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: aws-node, namespace: kube-system}
spec:
  template:
    spec:
      containers:
      - name: aws-node
        image: example/cni:1.0
        env: [{name: ENABLE_POD_ENI, value: 'true'}]
";
    const SGP: &str = "---
apiVersion: vpcresources.k8s.aws/v1beta1
kind: SecurityGroupPolicy
metadata: {name: p, namespace: shop}
spec: {securityGroups: {groupIds: [sg-1]}}
";
    const NETPOL: &str = "---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny, namespace: shop}
spec: {podSelector: {}}
";

    #[test]
    fn only_when_both_kinds_of_policy_are_used() {
        assert_eq!(
            findings("NET014", &format!("{AWS_NODE}{SGP}{NETPOL}")).len(),
            1
        );
        assert!(findings("NET014", &format!("{AWS_NODE}{SGP}")).is_empty());
        assert!(findings("NET014", &format!("{AWS_NODE}{NETPOL}")).is_empty());
        let standard = AWS_NODE.replace(
            "env: [{name: ENABLE_POD_ENI, value: 'true'}]",
            "env: [{name: ENABLE_POD_ENI, value: 'true'}, {name: POD_SECURITY_GROUP_ENFORCING_MODE, value: standard}]",
        );
        assert!(findings("NET014", &format!("{standard}{SGP}{NETPOL}")).is_empty());
    }
}
