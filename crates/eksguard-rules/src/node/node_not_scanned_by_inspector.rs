use std::collections::BTreeSet;

use eksguard_model::aws_kinds as k;
use eksguard_model::FieldPath;

use crate::aws_svc::{cluster_nodes, clusters, is, is_node_tagged, tag_pairs, text};
use crate::{declare_rule, Ctx, InventoryRule, Sink};

declare_rule! {
    /// ## What it checks
    /// Nodes of the cluster that Amazon Inspector does not scan. A node is an EC2
    /// instance tagged `eks:cluster-name` or `aws:eks:cluster-name` with the cluster's
    /// name, or `kubernetes.io/cluster/<name>` (tags from `describe-instances` or from
    /// Inspector's own `resourceMetadata.ec2.tags`); with no cluster in the scan, any
    /// instance so tagged. Reported:
    /// - an `AWS_EC2_INSTANCE` entry of `inspector2 list-coverage` for such a node with
    ///   `scanStatus.statusCode` `INACTIVE`, with Inspector's `reason` (for instance
    ///   `UNMANAGED_EC2_INSTANCE`, a node without the SSM agent);
    /// - when the scan holds `list-coverage` with EC2 entries and `describe-instances`, a
    ///   node that has no entry at all.
    ///
    /// ## Why it matters
    /// Inspector switched on for the account still skips instances it cannot reach:
    /// Bottlerocket and custom AMIs without the SSM agent, instances without the
    /// instance profile permissions SSM needs. Their vulnerabilities stay unknown.
    ///
    /// ## Reads
    /// - CLI: `aws inspector2 list-coverage`, `aws ec2 describe-instances`
    /// - API: `ListCoverage`, `DescribeInstances`
    /// - Infrastructure code: none (coverage is a runtime state)
    ///
    /// ## Example
    /// ```json
    /// {"coveredResources": [{"resourceType": "AWS_EC2_INSTANCE", "resourceId": "i-0abc",
    ///   "scanStatus": {"statusCode": "INACTIVE", "reason": "UNMANAGED_EC2_INSTANCE"},
    ///   "resourceMetadata": {"ec2": {"tags": {"eks:cluster-name": "prod"}}}}]}
    /// ```
    ///
    /// ## Fix
    /// Run the SSM agent on the nodes (it ships with the EKS-optimised Amazon Linux AMIs;
    /// Bottlerocket needs its control container) and give the node role
    /// `AmazonSSMManagedInstanceCore`, or use Inspector's agentless hybrid scan mode.
    pub NodeNotScannedByInspector {
        id: "NODE015",
        name: "node-not-scanned-by-inspector",
        severity: Medium,
        data: [Inspector, Ec2],
        scope: Inventory,
        reads: &[k::INSPECTOR_COVERAGE, k::EC2_INSTANCE, "Node", k::EKS_CLUSTER, "ClusterConfig", k::EC2_SUBNET],
        summary: "A node of the cluster is not scanned by Amazon Inspector",
        remediation: "Make every node an SSM managed instance (SSM agent and `AmazonSSMManagedInstanceCore`) so that Inspector scans it.",
        guide: &["HS-08"],
    }
}

impl InventoryRule for NodeNotScannedByInspector {
    fn check_inventory(&self, cx: &Ctx<'_>, out: &mut Sink) {
        let names: BTreeSet<String> = clusters(cx).into_iter().map(|c| c.name).collect();
        let nodes = cluster_nodes(cx);
        let mut listed = BTreeSet::new();
        let mut any_ec2 = false;
        for c in cx.objects_of(k::INSPECTOR_COVERAGE) {
            if !is(&c.root, "resourceType", "AWS_EC2_INSTANCE") {
                continue;
            }
            any_ec2 = true;
            let Some(id) = text(&c.root, "resourceId") else {
                continue;
            };
            listed.insert(id.to_string());
            let tagged = is_node_tagged(&names, tag_pairs(c.root.at("resourceMetadata.ec2.tags")));
            if !(tagged || nodes.contains_key(id)) {
                continue;
            }
            if is(&c.root, "scanStatus.statusCode", "INACTIVE") {
                let reason = text(&c.root, "scanStatus.reason")
                    .map(|r| format!(" ({r})"))
                    .unwrap_or_default();
                out.report(
                    c,
                    FieldPath::parse("scanStatus.statusCode"),
                    format!("node {id} is not scanned by Amazon Inspector{reason}"),
                );
            }
        }
        if !any_ec2 {
            return;
        }
        for i in cx.objects_of(k::EC2_INSTANCE) {
            let Some(id) = text(&i.root, "InstanceId") else {
                continue;
            };
            if listed.contains(id) || !is_node_tagged(&names, tag_pairs(i.root.get("Tags"))) {
                continue;
            }
            // Terminated instances no longer need scanning.
            if is(&i.root, "State.Name", "terminated") {
                continue;
            }
            out.report(
                i,
                FieldPath::parse("InstanceId"),
                format!("node {id} has no entry in Amazon Inspector's coverage: it is not scanned"),
            );
        }
    }
}
