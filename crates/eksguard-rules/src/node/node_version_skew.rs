use eksguard_model::aws_kinds as k;
use eksguard_model::{FieldPath, Node, Object};

use crate::aws_ec2::{
    cluster_name, eksctl_nodegroups, minor_version, nodegroup_cluster, nodegroup_name,
    release_date, text,
};
use crate::aws_iam::is_eksctl;
use crate::suppress::Date;
use crate::{declare_rule, Ctx, ObjectRule, Sink};

crate::rule_params! {
    pub struct Params {
        /// Oldest acceptable AMI release, in days before `as_of`.
        max_ami_age_days: i64 = 90,
        /// The date (YYYY-MM-DD) AMI ages are measured from. Empty skips the age check,
        /// which keeps results independent of the day the scan runs.
        as_of: String = String::new(),
    }
}

declare_rule! {
    /// ## What it checks
    /// - A managed node group (`eks describe-nodegroup`) whose `version` is behind the
    ///   Kubernetes version of its cluster (the one `eks describe-cluster` in the scan with
    ///   its `clusterName`, in the same region and account when both give ARNs; when the
    ///   scan holds several such descriptions, which may disagree, the check is skipped);
    ///   in an eksctl ClusterConfig, a node group `version` behind `metadata.version`.
    ///   Minor versions are compared.
    /// - A Kubernetes `Node` whose `status.nodeInfo.kubeletVersion` is behind the cluster's
    ///   version: the nodes that no managed node group describes (Karpenter, self-managed
    ///   and Auto Mode nodes), reported on the Node. Node objects do not name their
    ///   cluster, so this is checked only when the scan holds exactly one cluster
    ///   (`describe-cluster` or an eksctl ClusterConfig), whose name the message gives.
    /// - An AMI `releaseVersion` (EKS-optimized releases such as `1.31.3-20250103` carry
    ///   their build date) more than `max_ami_age_days` (default 90) days before `as_of`.
    ///   Rules must give the same result whatever day they run, so the age check uses the
    ///   `as_of` parameter (YYYY-MM-DD) as "today" and is skipped while it is empty, the
    ///   default. Releases without a date (Bottlerocket's `1.19.2-29cc92cc`) are not aged.
    ///
    /// ## Why it matters
    /// Nodes behind the control plane miss kubelet and container-runtime fixes and limit
    /// the next cluster upgrade (the kubelet may trail the API server by a bounded number
    /// of minors only). Old AMIs miss kernel and OS security patches, which matter most on
    /// a host shared by many containers.
    ///
    /// ## Example
    /// A node group with `"version": "1.28"` in a cluster with `"version": "1.30"`.
    ///
    /// ## Fix
    /// Update the node group to the cluster's version and the latest AMI release
    /// (`aws eks update-nodegroup-version`, `eksctl upgrade nodegroup`), and do so on a
    /// schedule.
    pub NodeVersionSkew {
        id: "NODE004",
        name: "node-version-skew",
        severity: Low,
        data: [Eks],
        scope: Objects(&[k::EKS_NODEGROUP, "ClusterConfig", "Node"]),
        reads: &[k::EKS_CLUSTER],
        summary: "Node group runs an older Kubernetes version than its cluster, or an old AMI release",
        remediation: "Update the node group to the cluster's Kubernetes version and the latest AMI release.",
        params: Params,
        guide: &["HS-02", "HS-03"],
    }
}

impl ObjectRule for NodeVersionSkew {
    fn check_object(&self, cx: &Ctx<'_>, obj: &Object, out: &mut Sink) {
        let params = cx.params::<Params>(&Self::META);
        let today = match params.as_of.trim() {
            "" => None,
            s => Date::parse(s),
        };
        let max_age = params.max_ami_age_days;
        if &*obj.kind == "Node" {
            if obj.api_version.as_ref() != "v1" {
                return;
            }
            let clusters: Vec<&Object> = cx
                .objects_of(k::EKS_CLUSTER)
                .chain(cx.objects_of("ClusterConfig").filter(|o| is_eksctl(o)))
                .collect();
            // Node objects do not say which cluster they belong to: only with one cluster.
            let [cluster] = clusters.as_slice() else {
                return;
            };
            let version = text(cluster.root.get("version"))
                .or_else(|| text(cluster.root.at("metadata.version")));
            skew(
                out,
                obj,
                obj.root.at("status.nodeInfo.kubeletVersion"),
                FieldPath::parse("status.nodeInfo.kubeletVersion"),
                version,
                &format!(
                    "the kubelet of node `{}` (cluster `{}`)",
                    obj.name,
                    cluster_name(cluster)
                ),
            );
            return;
        }
        if &*obj.kind == k::EKS_NODEGROUP {
            let name = nodegroup_name(obj);
            let cluster = nodegroup_cluster(cx, obj);
            if let Some(cluster) = cluster {
                skew(
                    out,
                    obj,
                    obj.root.get("version"),
                    FieldPath::parse("version"),
                    text(cluster.root.get("version")),
                    &format!("node group `{name}`"),
                );
            }
            age(
                out,
                obj,
                &obj.root,
                FieldPath::parse("releaseVersion"),
                today,
                max_age,
                &name,
            );
            return;
        }
        let cluster_version = text(obj.root.at("metadata.version"));
        for ng in eksctl_nodegroups(obj) {
            let name = ng.name();
            skew(
                out,
                obj,
                ng.node.get("version"),
                ng.at("version"),
                cluster_version.clone(),
                &format!("eksctl node group `{name}`"),
            );
            age(
                out,
                obj,
                ng.node,
                ng.at("releaseVersion"),
                today,
                max_age,
                &name,
            );
        }
    }
}

fn skew(
    out: &mut Sink,
    obj: &Object,
    ng_version: Option<&Node>,
    path: FieldPath,
    cluster_version: Option<String>,
    who: &str,
) {
    let (Some(ngv), Some(cv)) = (text(ng_version), cluster_version) else {
        return;
    };
    let (Some(n), Some(c)) = (minor_version(&ngv), minor_version(&cv)) else {
        return;
    };
    if n < c {
        out.report(
            obj,
            path,
            format!("{who} runs Kubernetes {ngv}, behind its cluster's {cv}"),
        );
    }
}

fn age(
    out: &mut Sink,
    obj: &Object,
    ng: &Node,
    path: FieldPath,
    today: Option<Date>,
    max_age: i64,
    name: &str,
) {
    let (Some(today), Some(release)) = (today, text(ng.get("releaseVersion"))) else {
        return;
    };
    let Some(built) = release_date(&release) else {
        return;
    };
    let days = today.days() - built.days();
    if days > max_age {
        out.report(
            obj,
            path,
            format!(
                "node group `{name}` runs AMI release {release}, {days} days old (maximum {max_age})"
            ),
        );
    }
}
