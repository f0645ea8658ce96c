use eksguard_model::{FieldPath, Node, Object};

use crate::{declare_rule, Ctx, ObjectRule, Sink};

use super::network_policy_world_cidr::is_world_cidr;

const SCHEME: &str = "service.beta.kubernetes.io/aws-load-balancer-scheme";
const INTERNAL: &str = "service.beta.kubernetes.io/aws-load-balancer-internal";
const LB_TYPE: &str = "service.beta.kubernetes.io/aws-load-balancer-type";
const SOURCE_RANGES: &str = "service.beta.kubernetes.io/load-balancer-source-ranges";

declare_rule! {
    /// ## What it checks
    /// Internet-facing Services of type LoadBalancer with no source ranges, or with
    /// `0.0.0.0/0` or `::/0` among them. Source ranges come from
    /// `spec.loadBalancerSourceRanges`, or, when that is empty, from the
    /// `service.beta.kubernetes.io/load-balancer-source-ranges` annotation.
    ///
    /// A Service counts as internet-facing when
    /// `service.beta.kubernetes.io/aws-load-balancer-scheme` is `internet-facing`. Without
    /// that annotation it is internal when `aws-load-balancer-internal` is set to anything
    /// but `false`, or when the AWS Load Balancer Controller provisions it
    /// (`aws-load-balancer-type` `external` or `nlb-ip`, or a `service.k8s.aws/…`
    /// loadBalancerClass), since that controller defaults to internal. Otherwise the
    /// in-tree cloud provider provisions it, and its default is internet-facing.
    ///
    /// ## Why it matters
    /// The load balancer, and through it the pods, can be reached from any address on the
    /// internet: scanners and exploit attempts arrive within minutes.
    ///
    /// ## Example
    /// ```yaml
    /// metadata:
    ///   annotations:
    ///     service.beta.kubernetes.io/aws-load-balancer-scheme: internet-facing
    /// spec:
    ///   type: LoadBalancer
    /// ```
    ///
    /// ## Fix
    /// Set `spec.loadBalancerSourceRanges` to the client CIDRs, or make the load balancer
    /// internal.
    pub LoadBalancerOpenToWorld {
        id: "NET008",
        name: "load-balancer-open-to-world",
        severity: Medium,
        data: [Kubernetes],
        scope: Objects(&["Service"]),
        summary: "Internet-facing load balancer open to any address",
        remediation: "Restrict `spec.loadBalancerSourceRanges` to known client CIDRs or make the load balancer internal.",
        guide: &["NS-13"],
    }
}

fn internet_facing(obj: &Object) -> bool {
    if let Some(scheme) = obj.annotation(SCHEME) {
        return scheme.trim() == "internet-facing";
    }
    let internal = obj
        .annotations()
        .get(INTERNAL)
        .and_then(Node::scalar_text)
        .is_some_and(|v| !v.trim().is_empty() && !v.trim().eq_ignore_ascii_case("false"));
    let controller = matches!(obj.annotation(LB_TYPE), Some("external" | "nlb-ip"))
        || obj
            .spec()
            .get("loadBalancerClass")
            .and_then(Node::as_str)
            .is_some_and(|c| c.starts_with("service.k8s.aws/"));
    !internal && !controller
}

impl ObjectRule for LoadBalancerOpenToWorld {
    fn check_object(&self, _cx: &Ctx<'_>, obj: &Object, out: &mut Sink) {
        if obj.spec().get("type").and_then(Node::as_str) != Some("LoadBalancer")
            || !internet_facing(obj)
        {
            return;
        }
        let ranges = obj
            .spec()
            .get("loadBalancerSourceRanges")
            .map(Node::items)
            .unwrap_or(&[]);
        if !ranges.is_empty() {
            for (i, r) in ranges.iter().enumerate() {
                if r.as_str().is_some_and(is_world_cidr) {
                    out.report(
                        obj,
                        FieldPath::parse("spec.loadBalancerSourceRanges").index(i),
                        format!(
                            "internet-facing load balancer allows {}",
                            r.as_str().unwrap_or_default().trim()
                        ),
                    );
                }
            }
            return;
        }
        if let Some(list) = obj
            .annotation(SOURCE_RANGES)
            .filter(|s| !s.trim().is_empty())
        {
            if let Some(world) = list.split(',').map(str::trim).find(|c| is_world_cidr(c)) {
                out.report(
                    obj,
                    FieldPath::parse("metadata.annotations").key(SOURCE_RANGES),
                    format!("internet-facing load balancer allows {world}"),
                );
            }
            return;
        }
        out.report(
            obj,
            FieldPath::parse("spec.loadBalancerSourceRanges"),
            "internet-facing load balancer has no source ranges and accepts any address",
        );
    }
}
