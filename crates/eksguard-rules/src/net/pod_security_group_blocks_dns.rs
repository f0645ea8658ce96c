use eksguard_model::aws_kinds as k;
use std::collections::BTreeMap;

use eksguard_model::{FieldPath, Node, Object};

use crate::aws_ec2::text;
use crate::{declare_rule, Ctx, InventoryRule, Sink};

declare_rule! {
    /// ## What it checks
    /// Security groups that a `SecurityGroupPolicy` (`vpcresources.k8s.aws`) gives to pods
    /// (`spec.securityGroups.groupIds`) and that `ec2 describe-security-groups` in the scan
    /// describes, whose egress rules (`IpPermissionsEgress`) admit no UDP port 53 or no TCP
    /// port 53 to any destination: a rule with `IpProtocol` `-1`, or `udp`/`tcp` (`17`/`6`)
    /// with `FromPort` ≤ 53 ≤ `ToPort`. Each such group is reported once, naming what is
    /// missing. Groups the scan does not describe are not judged.
    ///
    /// ## Why it matters
    /// Pods with their own security group send their traffic through it, DNS to CoreDNS
    /// included. Without egress to port 53 they cannot resolve any name, and the failure
    /// shows up as application time-outs rather than as a network rule. (The guide also
    /// asks for the kubelet's probes to be admitted; that needs the nodes' address ranges
    /// and is not checked.)
    ///
    /// ## Example
    /// ```json
    /// {"GroupId": "sg-0pods", "IpPermissionsEgress": [
    ///   {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "10.0.0.0/16"}]}]}
    /// ```
    ///
    /// ## Fix
    /// Add egress rules for UDP and TCP port 53 to the cluster's DNS (the CoreDNS pods'
    /// security group or the VPC range).
    pub PodSecurityGroupBlocksDns {
        id: "NET013",
        name: "pod-security-group-blocks-dns",
        severity: Medium,
        data: [Kubernetes, Ec2],
        scope: Inventory,
        reads: &["SecurityGroupPolicy", k::EC2_SECURITY_GROUP],
        summary: "Pod security group blocks DNS",
        remediation: "Allow egress on UDP and TCP port 53 in security groups given to pods.",
        guide: &["NS-09"],
    }
}

/// Whether an egress permission admits `proto` (`udp` or `tcp`) to port 53.
fn admits_dns(perm: &Node, proto: &str, number: &str) -> bool {
    let p = text(perm.get("IpProtocol")).unwrap_or_else(|| "-1".into());
    let p = p.to_ascii_lowercase();
    if p == "-1" || p == "all" {
        return true;
    }
    if p != proto && p != number {
        return false;
    }
    let from = perm.get("FromPort").and_then(Node::as_i64);
    let to = perm.get("ToPort").and_then(Node::as_i64);
    match (from, to) {
        (Some(f), Some(t)) if f >= 0 && t >= 0 => f <= 53 && 53 <= t,
        // -1 or a missing bound means every port.
        _ => true,
    }
}

impl InventoryRule for PodSecurityGroupBlocksDns {
    fn check_inventory(&self, cx: &Ctx<'_>, out: &mut Sink) {
        // Group ID -> the first policy that gives it to pods.
        let mut given: BTreeMap<String, &Object> = BTreeMap::new();
        for sgp in cx
            .objects_of("SecurityGroupPolicy")
            .filter(|o| o.api_version.starts_with("vpcresources.k8s.aws/"))
        {
            let ids = sgp.spec().at("securityGroups.groupIds").map(Node::items);
            for id in ids.unwrap_or(&[]).iter().filter_map(|n| text(Some(n))) {
                given.entry(id).or_insert(sgp);
            }
        }
        if given.is_empty() {
            return;
        }
        for sg in cx.objects_of(k::EC2_SECURITY_GROUP) {
            let Some(id) = text(sg.root.get("GroupId")) else {
                continue;
            };
            let Some(sgp) = given.get(&id) else { continue };
            let perms = sg
                .root
                .get("IpPermissionsEgress")
                .map(Node::items)
                .unwrap_or(&[]);
            let missing: Vec<&str> = [("UDP", "udp", "17"), ("TCP", "tcp", "6")]
                .into_iter()
                .filter(|(_, p, n)| !perms.iter().any(|perm| admits_dns(perm, p, n)))
                .map(|(name, _, _)| name)
                .collect();
            if missing.is_empty() {
                continue;
            }
            out.report(
                sg,
                FieldPath::parse("IpPermissionsEgress"),
                format!(
                    "security group `{id}`, given to pods by SecurityGroupPolicy `{}/{}`, allows no egress to {} port 53: those pods cannot resolve names",
                    sgp.ns().unwrap_or("default"),
                    sgp.name,
                    missing.join(" or ")
                ),
            );
        }
    }
}
