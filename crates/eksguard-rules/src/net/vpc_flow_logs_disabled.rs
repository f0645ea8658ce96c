use eksguard_model::aws_kinds as k;
use eksguard_model::{Object, Severity};

use crate::aws_svc::{clusters, is, text};
use crate::{declare_rule, Ctx, InventoryRule, Sink};

declare_rule! {
    /// ## What it checks
    /// The scan holds the cluster (`resourcesVpcConfig.vpcId`, `subnetIds`) and
    /// `ec2 describe-flow-logs`, and no flow log covers the cluster's VPC. Covered means
    /// a flow log whose `ResourceId` is the VPC, or flow logs on every cluster subnet,
    /// each with `FlowLogStatus` `ACTIVE` and `DeliverLogsStatus` not `FAILED`. Medium
    /// when uncovered; low when covered only by flow logs whose `TrafficType` is `ACCEPT`
    /// or `REJECT` rather than `ALL`. Reported on the cluster.
    ///
    /// ## Why it matters
    /// Flow logs are the record of which pods and nodes talked to what: the evidence for
    /// lateral movement, data exfiltration and the connections a network policy
    /// rejected. Rejected traffic alone misses what got through; accepted alone misses
    /// the probing.
    ///
    /// ## Reads
    /// - CLI: `aws ec2 describe-flow-logs`, `aws eks describe-cluster`
    /// - API: `DescribeFlowLogs`
    /// - Terraform: `aws_flow_log` (`vpc_id`, `subnet_id`, `traffic_type`)
    /// - CloudFormation: `AWS::EC2::FlowLog` (`ResourceId`, `ResourceType`, `TrafficType`)
    ///
    /// ## Example
    /// ```json
    /// {"FlowLogs": [{"FlowLogId": "fl-0001", "ResourceId": "vpc-0a1b",
    ///   "FlowLogStatus": "ACTIVE", "TrafficType": "REJECT"}]}
    /// ```
    ///
    /// ## Fix
    /// `aws ec2 create-flow-logs --resource-type VPC --resource-ids VPC
    /// --traffic-type ALL …` to CloudWatch Logs or S3.
    pub VpcFlowLogsDisabled {
        id: "NET012",
        name: "vpc-flow-logs-disabled",
        severity: Medium,
        data: [Ec2, Eks],
        scope: Inventory,
        reads: &[k::EC2_FLOW_LOG_LIST, k::EC2_FLOW_LOG, k::EKS_CLUSTER, "ClusterConfig", k::EC2_SUBNET],
        summary: "The cluster's VPC has no flow log",
        remediation: "Create a VPC flow log of all traffic for the cluster's VPC.",
        guide: &["NS-07"],
    }
}

/// Whether a flow log delivers.
fn works(f: &Object) -> bool {
    text(&f.root, "FlowLogStatus").is_none_or(|s| s.eq_ignore_ascii_case("ACTIVE"))
        && !is(&f.root, "DeliverLogsStatus", "FAILED")
}

impl InventoryRule for VpcFlowLogsDisabled {
    fn check_inventory(&self, cx: &Ctx<'_>, out: &mut Sink) {
        let logs: Vec<&Object> = cx
            .objects_of(k::EC2_FLOW_LOG)
            .filter(|f| works(f))
            .collect();
        if cx.objects_of(k::EC2_FLOW_LOG_LIST).next().is_none()
            && cx.objects_of(k::EC2_FLOW_LOG).next().is_none()
        {
            return;
        }
        for c in clusters(cx) {
            let Some(vpc) = c.vpc_id.as_deref() else {
                continue;
            };
            let on = |id: &str| -> Vec<&Object> {
                logs.iter()
                    .copied()
                    .filter(|f| text(&f.root, "ResourceId") == Some(id))
                    .collect()
            };
            let mut covering = on(vpc);
            if covering.is_empty() && !c.subnet_ids.is_empty() {
                let per_subnet: Vec<Vec<&Object>> = c.subnet_ids.iter().map(|s| on(s)).collect();
                if per_subnet.iter().all(|l| !l.is_empty()) {
                    covering = per_subnet.into_iter().flatten().collect();
                }
            }
            if covering.is_empty() {
                out.report(
                    c.obj,
                    c.vpc_path.clone(),
                    format!("no active flow log covers VPC {vpc} of cluster {}", c.name),
                );
            } else if !covering.iter().any(|f| is(&f.root, "TrafficType", "ALL")) {
                let types: Vec<&str> = covering
                    .iter()
                    .filter_map(|f| text(&f.root, "TrafficType"))
                    .collect();
                out.report_with(
                    c.obj,
                    c.vpc_path.clone(),
                    Severity::Low,
                    format!(
                        "flow logs of VPC {vpc} of cluster {} record only {} traffic, not ALL",
                        c.name,
                        types.join("/")
                    ),
                );
            }
        }
    }
}
