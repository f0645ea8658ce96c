use std::collections::{BTreeMap, BTreeSet};

use eksguard_model::aws_kinds as k;
use eksguard_model::{FactValue, FieldPath, Object, Severity};

use crate::aws_svc::{
    cluster_nodes, clusters, finding_resources, is, is_node_tagged, tag_pairs, text, vuln,
    vuln_counts, vuln_summary, Vuln,
};
use crate::{declare_rule, Ctx, InventoryRule, Sink};

/// How many CVEs a message lists by name.
const WORST: usize = 5;

declare_rule! {
    /// ## What it checks
    /// Worker nodes with open critical or high vulnerabilities: ACTIVE
    /// `PACKAGE_VULNERABILITY` findings of `inspector2 list-findings` with `severity`
    /// `CRITICAL` or `HIGH` on an `AWS_EC2_INSTANCE` that is a node of the cluster — by
    /// the instance's cluster tags (on the finding's resource, in `describe-instances`
    /// or in Inspector's coverage), or because a Kubernetes `Node` of the scan names it
    /// in `spec.providerID`. One finding per node, on the instance (`describe-instances`
    /// entry, else the coverage entry or `Node`, else the worst Inspector finding):
    /// critical when a CVE is CRITICAL, high otherwise. The message counts the node's
    /// open CVEs by severity and lists the worst with their packages and fixed versions.
    /// Suppressed and closed findings do not count.
    ///
    /// ## Why it matters
    /// A node runs the kubelet, the container runtime and every pod scheduled on it; a
    /// kernel or runtime CVE there is a container escape waiting for a workload to use
    /// it. The guide's answer is to replace nodes with a patched AMI, not to patch them.
    ///
    /// ## Reads
    /// - CLI: `aws inspector2 list-findings`, `aws inspector2 list-coverage`,
    ///   `aws ec2 describe-instances`
    /// - API: `ListFindings`, `ListCoverage`, `DescribeInstances`
    /// - Infrastructure code: none (findings are a runtime state)
    ///
    /// ## Example
    /// ```json
    /// {"findings": [{"type": "PACKAGE_VULNERABILITY", "severity": "CRITICAL", "status": "ACTIVE",
    ///   "resources": [{"type": "AWS_EC2_INSTANCE", "id": "i-0abc", "tags": {"eks:cluster-name": "prod"}}],
    ///   "packageVulnerabilityDetails": {"vulnerabilityId": "CVE-2026-1001",
    ///     "vulnerablePackages": [{"name": "kernel", "version": "6.1.100", "fixedInVersion": "6.1.115"}]}}]}
    /// ```
    ///
    /// ## Fix
    /// Roll the node group (or let Karpenter drift) onto the latest EKS-optimised AMI;
    /// for packages without a fix, weigh the exposure the CVE needs.
    pub NodeWithKnownVulnerabilities {
        id: "NODE016",
        name: "node-with-known-vulnerabilities",
        severity: High,
        data: [Inspector],
        scope: Inventory,
        reads: &[k::INSPECTOR_FINDING, k::INSPECTOR_COVERAGE, k::EC2_INSTANCE, "Node", k::EKS_CLUSTER, "ClusterConfig", k::EC2_SUBNET],
        summary: "A node has open critical or high vulnerabilities found by Amazon Inspector",
        remediation: "Replace the node with one built from a patched AMI (update the node group or let Karpenter drift).",
        guide: &["HS-02", "HS-08"],
    }
}

impl InventoryRule for NodeWithKnownVulnerabilities {
    fn check_inventory(&self, cx: &Ctx<'_>, out: &mut Sink) {
        let names: BTreeSet<String> = clusters(cx).into_iter().map(|c| c.name).collect();
        let nodes = cluster_nodes(cx);
        // instance → (first finding and its resource path, vulnerabilities)
        let mut by_node: BTreeMap<String, (&Object, FieldPath, Vec<Vuln>)> = BTreeMap::new();
        for f in cx.objects_of(k::INSPECTOR_FINDING) {
            let Some(v) = vuln(f) else { continue };
            for (i, r) in finding_resources(f) {
                if !is(r, "type", "AWS_EC2_INSTANCE") {
                    continue;
                }
                let Some(id) = text(r, "id") else { continue };
                let id = id.rsplit('/').next().unwrap_or(id);
                if !(nodes.contains_key(id) || is_node_tagged(&names, tag_pairs(r.get("tags")))) {
                    continue;
                }
                let path = FieldPath::root().key("resources").index(i).key("id");
                let entry = by_node
                    .entry(id.to_string())
                    .or_insert_with(|| (f, path.clone(), Vec::new()));
                if entry.2.iter().all(|w| v.rank < w.rank) {
                    (entry.0, entry.1) = (f, path);
                }
                entry.2.push(v.clone());
            }
        }
        for (id, (finding, path, mut vulns)) in by_node {
            if !vulns.iter().any(Vuln::is_high_or_worse) {
                continue;
            }
            let critical = vulns.iter().any(|v| v.rank == 0);
            let (counts, worst) = vuln_summary(&mut vulns, WORST);
            let message = format!("node {id} has open vulnerabilities ({counts}); worst: {worst}");
            let severity = if critical {
                Severity::Critical
            } else {
                Severity::High
            };
            let mut facts = vec![("instance", FactValue::Text(id.clone()))];
            facts.extend(vuln_counts(&vulns));
            facts.push(("worst", FactValue::Text(worst)));
            let (obj, path) = match nodes.get(&id) {
                Some(obj) if &*obj.kind == k::EC2_INSTANCE => {
                    (*obj, FieldPath::parse("InstanceId"))
                }
                Some(obj) if &*obj.kind == k::INSPECTOR_COVERAGE => {
                    (*obj, FieldPath::parse("resourceId"))
                }
                Some(obj) => (*obj, FieldPath::parse("spec.providerID")),
                None => (finding, path),
            };
            out.report_facts(obj, path, severity, message, facts);
        }
    }
}
