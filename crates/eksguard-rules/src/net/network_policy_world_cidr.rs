use eksguard_model::{FieldPath, Node, Object};

use crate::{declare_rule, Ctx, ObjectRule, Sink};

use super::{governs, Direction};

declare_rule! {
    /// ## What it checks
    /// NetworkPolicy ingress rules with a `from` peer whose `ipBlock.cidr` has a prefix
    /// length of 0 (`0.0.0.0/0`, `::/0` or another spelling of them), whether or not
    /// `except` carves some ranges out: what remains is still the whole internet.
    ///
    /// ## Why it matters
    /// The rule admits traffic from any address, including the internet when the pods
    /// are reachable through a load balancer or public IP, defeating the policy.
    ///
    /// ## Example
    /// ```yaml
    /// ingress:
    /// - from:
    ///   - ipBlock:
    ///       cidr: 0.0.0.0/0
    /// ```
    ///
    /// ## Fix
    /// Narrow the CIDR to the client ranges that need access, such as the VPC or the load
    /// balancer subnets.
    pub NetworkPolicyWorldCidr {
        id: "NET009",
        name: "network-policy-world-cidr",
        severity: Low,
        data: [Kubernetes],
        scope: Objects(&["NetworkPolicy"]),
        summary: "NetworkPolicy admits traffic from any address",
        remediation: "Replace the 0.0.0.0/0 or ::/0 ipBlock with the client CIDRs that need access.",
        guide: &["NS-04"],
    }
}

/// Whether a CIDR covers every address of its family (prefix length 0).
pub(crate) fn is_world_cidr(cidr: &str) -> bool {
    cidr.trim().split_once('/').is_some_and(|(addr, len)| {
        addr.parse::<std::net::IpAddr>().is_ok() && len.trim().parse::<u8>() == Ok(0)
    })
}

impl ObjectRule for NetworkPolicyWorldCidr {
    fn check_object(&self, _cx: &Ctx<'_>, obj: &Object, out: &mut Sink) {
        if !governs(obj, Direction::Ingress) {
            return;
        }
        let rules = obj.spec().get("ingress").map(Node::items).unwrap_or(&[]);
        for (i, rule) in rules.iter().enumerate() {
            for (j, peer) in rule
                .get("from")
                .map(Node::items)
                .unwrap_or(&[])
                .iter()
                .enumerate()
            {
                let Some(cidr) = peer.at("ipBlock.cidr").and_then(Node::as_str) else {
                    continue;
                };
                if is_world_cidr(cidr) {
                    out.report(
                        obj,
                        FieldPath::parse("spec.ingress")
                            .index(i)
                            .key("from")
                            .index(j)
                            .join("ipBlock.cidr"),
                        format!("ingress rule {} admits traffic from {cidr}", i + 1),
                    );
                }
            }
        }
    }
}
