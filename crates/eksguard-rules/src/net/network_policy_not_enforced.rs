use eksguard_model::aws_kinds as k;
use eksguard_model::{FieldPath, Node, Object};

use crate::aws_iam::{eksctl_addon, is_eksctl};
use crate::img::parse_image;
use crate::{declare_rule, Ctx, InventoryRule, Sink};

const AGENT: &str = "aws-network-policy-agent";
const CM_KEY: &str = "enable-network-policy-controller";
/// The spelling the guide's Auto Mode page prints, which nothing reads.
const GUIDE_KEY: &str = "enable-network-policy";
const FLAG: &str = "--enable-network-policy";

declare_rule! {
    /// ## What it checks
    /// Scans that hold NetworkPolicies and show the Amazon VPC CNI (the kube-system
    /// `aws-node` DaemonSet or `amazon-vpc-cni` ConfigMap) with network-policy enforcement
    /// off, while no other enforcing CNI is present (no `calico-node` or `cilium`
    /// DaemonSet, and no container running a Calico node or Cilium agent image).
    ///
    /// Enforcement needs both halves, so each object showing a half off is reported:
    /// the ConfigMap when `data.enable-network-policy-controller` is not `"true"`, and the
    /// DaemonSet when it has no `aws-network-policy-agent` container or that container
    /// is not run with `--enable-network-policy=true` (the agent's default is off).
    ///
    /// The ConfigMap key EKS reads is `enable-network-policy-controller`. The Auto Mode
    /// page of the EKS Best Practices Guide spells it `enable-network-policy`: a ConfigMap
    /// with that key alone enables nothing and is reported, with a note saying so.
    ///
    /// The `vpc-cni` EKS add-on (`EKSAddon`, and eksctl `addons` entries named `vpc-cni`)
    /// is reported when its `configurationValues` (JSON or YAML text) do not set
    /// `enableNetworkPolicy` to `"true"` (absent means off, the add-on's default), at
    /// that key or at the add-on's name. Text that does not parse is skipped: EKS rejects
    /// it too.
    ///
    /// ## Why it matters
    /// The VPC CNI ignores NetworkPolicies unless policy enforcement is enabled: the
    /// policies look like isolation in review but nothing blocks any traffic.
    ///
    /// ## Example
    /// ```yaml
    /// kind: ConfigMap
    /// metadata: {name: amazon-vpc-cni, namespace: kube-system}
    /// data:
    ///   enable-network-policy-controller: "false"
    /// ```
    ///
    /// ## Fix
    /// Enable network policy in the VPC CNI add-on (`enableNetworkPolicy: "true"`), or
    /// install a CNI that enforces policies.
    pub NetworkPolicyNotEnforced {
        id: "NET010",
        name: "network-policy-not-enforced",
        severity: Medium,
        data: [Kubernetes, Eks],
        scope: Inventory,
        reads: &["NetworkPolicy", "ConfigMap", "DaemonSet", "Pod", "Deployment", "StatefulSet", "ReplicaSet", "Job", "CronJob", "ClusterConfig", k::EKS_ADDON],
        summary: "NetworkPolicies exist but the VPC CNI does not enforce them",
        remediation: "Enable the VPC CNI network policy agent and controller, or run a CNI that enforces NetworkPolicies.",
        guide: &["AM-02", "MT-03", "NS-01"],
    }
}

fn is_policy_engine_image(image: &str) -> bool {
    parse_image(image).is_some_and(|r| {
        r.base_name() == "calico-node"
            || r.repository.ends_with("calico/node")
            || r.base_name() == "cilium"
    })
}

fn other_cni_present(cx: &Ctx<'_>) -> bool {
    cx.objects_of("DaemonSet")
        .any(|d| matches!(&*d.name, "calico-node" | "cilium"))
        || cx.workloads().any(|w| {
            w.pod_spec().is_some_and(|pod| {
                pod.containers()
                    .any(|c| c.image().is_some_and(is_policy_engine_image))
            })
        })
}

/// Whether the agent's arguments turn enforcement on; returns the path to report.
fn agent_state(ds: &Object) -> Result<(), (FieldPath, String)> {
    let Some(pod) = ds.pod_spec() else {
        return Ok(());
    };
    let Some(agent) = pod.containers().find(|c| {
        c.kind != eksguard_model::workload::ContainerKind::Ephemeral && c.name() == AGENT
    }) else {
        return Err((
            pod.field_path("containers"),
            format!("aws-node has no `{AGENT}` container, so NetworkPolicies are not enforced"),
        ));
    };
    let args = agent.node.get("args").map(Node::items).unwrap_or(&[]);
    let mut on = false;
    let mut off_at = None;
    for (i, a) in args.iter().enumerate() {
        let Some(a) = a.as_str() else { continue };
        match a.split_once('=') {
            Some((FLAG, v)) => {
                on = v.trim().eq_ignore_ascii_case("true");
                off_at = (!on).then(|| agent.path_to("args").index(i));
            }
            None if a == FLAG => {
                on = true;
                off_at = None;
            }
            _ => {}
        }
    }
    if on {
        return Ok(());
    }
    Err((
        off_at.unwrap_or_else(|| agent.path_to("args")),
        format!("`{AGENT}` runs without `{FLAG}=true`, so NetworkPolicies are not enforced"),
    ))
}

/// Whether add-on `configurationValues` turn network policy on; `Err` carries the path
/// (below `base`, the add-on) to report. Unparsable text counts as on (not this rule's
/// finding).
fn addon_state(addon: &Node, base: &FieldPath, name_key: &str) -> Result<(), FieldPath> {
    let Some(raw) = addon
        .get("configurationValues")
        .filter(|v| !v.is_empty_value())
    else {
        return Err(base.key(name_key));
    };
    let parsed = match eksguard_model::yaml::parse_embedded(raw) {
        Some(Ok(p)) => p,
        _ => return Ok(()),
    };
    match parsed.get("enableNetworkPolicy") {
        Some(v) if v.as_bool_lenient() == Some(true) => Ok(()),
        Some(_) => Err(base.key("configurationValues").key("enableNetworkPolicy")),
        None => Err(base.key(name_key)),
    }
}

const ADDON_MSG: &str =
    "vpc-cni add-on configuration does not set `enableNetworkPolicy: \"true\"`, so NetworkPolicies are not enforced";

impl InventoryRule for NetworkPolicyNotEnforced {
    fn check_inventory(&self, cx: &Ctx<'_>, out: &mut Sink) {
        if cx.objects_of("NetworkPolicy").next().is_none() || other_cni_present(cx) {
            return;
        }
        for cm in cx
            .objects_in("ConfigMap", "kube-system")
            .filter(|o| &*o.name == "amazon-vpc-cni")
        {
            let value = cm.root.get("data").and_then(|d| d.get(CM_KEY));
            if value.and_then(Node::as_bool_lenient) != Some(true) {
                // The Auto Mode page of the guide prints this shorter key; EKS ignores it.
                let misspelled = cm.root.get("data").and_then(|d| d.get(GUIDE_KEY)).is_some();
                let note = if misspelled {
                    format!(
                        "; the key `{GUIDE_KEY}` it sets is not read by EKS and enables nothing"
                    )
                } else {
                    String::new()
                };
                out.report(
                    cm,
                    FieldPath::parse("data").key(CM_KEY),
                    format!(
                        "VPC CNI ConfigMap key `{CM_KEY}`, the one EKS reads, is not \"true\", so NetworkPolicies are not enforced{note}"
                    ),
                );
            }
        }
        for ds in cx
            .objects_in("DaemonSet", "kube-system")
            .filter(|o| &*o.name == "aws-node")
        {
            if let Err((path, msg)) = agent_state(ds) {
                out.report(ds, path, msg);
            }
        }
        for addon in cx.objects_of(k::EKS_ADDON) {
            if addon.root.get("addonName").and_then(Node::as_str) != Some("vpc-cni") {
                continue;
            }
            if let Err(path) = addon_state(&addon.root, &FieldPath::root(), "addonName") {
                out.report(addon, path, ADDON_MSG);
            }
        }
        for cfg in cx.objects_of("ClusterConfig").filter(|o| is_eksctl(o)) {
            let Some((i, addon)) = eksctl_addon(cfg, "vpc-cni") else {
                continue;
            };
            if let Err(path) = addon_state(addon, &FieldPath::parse("addons").index(i), "name") {
                out.report(cfg, path, ADDON_MSG);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::engine::{Engine, EngineConfig};
    use crate::registry;
    use eksguard_load::files::load_text;
    use eksguard_load::LoadOptions;

    fn findings(yaml: &str) -> usize {
        let inv = load_text("t.yaml", yaml.as_bytes(), &LoadOptions::default());
        let config = EngineConfig {
            select: vec!["NET010".into()],
            ..EngineConfig::default()
        };
        Engine::new(registry::all(), config)
            .run(&inv)
            .findings
            .len()
    }

    const BASE: &str = "
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: p, namespace: shop}
spec: {podSelector: {}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: amazon-vpc-cni, namespace: kube-system}
data: {enable-network-policy-controller: \"false\"}
";

    #[test]
    fn another_enforcing_cni_silences_the_rule() {
        assert_eq!(findings(BASE), 1);
        let calico = "---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: calico-node, namespace: calico-system}
spec: {template: {spec: {containers: [{name: calico-node, image: quay.io/calico/node:v3.28.0}]}}}
";
        assert_eq!(findings(&format!("{BASE}{calico}")), 0);
        let cilium = "---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, namespace: kube-system}
spec: {template: {spec: {containers: [{name: agent, image: quay.io/cilium/cilium:v1.15.6@sha256:0f}]}}}
";
        assert_eq!(findings(&format!("{BASE}{cilium}")), 0);
    }

    #[test]
    fn needs_network_policies_and_an_enabled_agent_passes() {
        assert_eq!(findings(&BASE[BASE.find("---").unwrap()..]), 0);
        let on = BASE.replace("\"false\"", "\"true\"");
        let ds = "---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: aws-node, namespace: kube-system}
spec: {template: {spec: {containers: [{name: aws-network-policy-agent, image: a:1, args: [--enable-network-policy=true]}]}}}
";
        assert_eq!(findings(&format!("{on}{ds}")), 0);
    }
}
