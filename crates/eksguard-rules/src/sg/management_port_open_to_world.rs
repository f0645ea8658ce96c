use crate::aws_ec2::{covers_tcp_port, linked_security_groups, world_open_ingress};
use crate::{declare_rule, Ctx, InventoryRule, Sink};
use eksguard_model::aws_kinds as k;

/// Ports that administer a node or the cluster, with what listens there.
const MANAGEMENT_PORTS: &[(i64, &str)] = &[
    (22, "SSH"),
    (443, "Kubernetes API / HTTPS"),
    (10250, "kubelet API"),
    (10255, "kubelet read-only port"),
];

declare_rule! {
    /// ## What it checks
    /// The open ingress `SG001` reports (a cluster or node security group admitting
    /// `0.0.0.0/0` or `::/0`) where the permission's port range covers 22 (SSH), 443
    /// (the API server's and webhooks' HTTPS), 10250 (kubelet API) or 10255 (kubelet
    /// read-only port). `FromPort`/`ToPort` ranges count, and `IpProtocol: "-1"` covers all
    /// ports. The finding points at the open range; the security groups judged are those
    /// listed in `SG001`.
    ///
    /// ## Why it matters
    /// These ports administer the node or the cluster. Open to the internet they invite
    /// SSH brute force, kubelet API calls that run commands in pods when kubelet
    /// authentication is weak, and scans of the API server or admission webhooks.
    ///
    /// ## Example
    /// ```json
    /// { "IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
    ///   "IpRanges": [{ "CidrIp": "0.0.0.0/0" }] }
    /// ```
    ///
    /// ## Fix
    /// Remove the open range. Reach nodes through SSM Session Manager instead of SSH, keep
    /// kubelet ports reachable from the control plane's security group only, and restrict
    /// the public API endpoint with `publicAccessCidrs`.
    pub ManagementPortOpenToWorld {
        id: "SG002",
        name: "management-port-open-to-world",
        severity: Critical,
        data: [Ec2],
        scope: Inventory,
        reads: &["ClusterConfig", k::EC2_LAUNCH_TEMPLATE_VERSION, "EC2NodeClass", k::EC2_SECURITY_GROUP, k::EKS_CLUSTER, k::EKS_NODEGROUP],
        summary: "Cluster or node security group opens SSH, HTTPS or kubelet ports to anywhere",
        remediation: "Remove the 0.0.0.0/0 or ::/0 range from the management ports; use SSM Session Manager and security-group references instead.",
        guide: &["HS-05", "HS-07", "NS-08"],
    }
}

impl InventoryRule for ManagementPortOpenToWorld {
    fn check_inventory(&self, cx: &Ctx<'_>, out: &mut Sink) {
        for (sg, id, why) in linked_security_groups(cx) {
            for open in world_open_ingress(sg) {
                let ports: Vec<String> = MANAGEMENT_PORTS
                    .iter()
                    .filter(|(p, _)| covers_tcp_port(open.perm, *p))
                    .map(|(p, what)| format!("{p} ({what})"))
                    .collect();
                if ports.is_empty() {
                    continue;
                }
                out.report(
                    sg,
                    open.path,
                    format!(
                        "{id} ({why}) opens port {} to {}",
                        ports.join(", "),
                        open.cidr
                    ),
                );
            }
        }
    }
}
