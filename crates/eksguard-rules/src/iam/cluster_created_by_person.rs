use eksguard_model::arn::Arn;
use eksguard_model::aws_kinds as k;
use eksguard_model::{FieldPath, Node};

use crate::aws_iam::{is_eks_cluster, role_name};
use crate::{declare_rule, Ctx, InventoryRule, Sink};

declare_rule! {
    /// ## What it checks
    /// The `CreateCluster` event of each cluster of the scan in CloudTrail
    /// (`aws cloudtrail lookup-events --lookup-attributes
    /// AttributeKey=EventName,AttributeValue=CreateCluster`): the event whose
    /// `requestParameters.name` is the cluster's name and, when the cluster's ARN is known,
    /// whose `awsRegion` and `recipientAccountId` match it. The cluster is reported when
    /// the caller (`userIdentity`) was an IAM user, the root user, or a session of an IAM
    /// Identity Center role (`sessionContext.sessionIssuer.arn` naming an
    /// `AWSReservedSSO_*` role) rather than a dedicated provisioning role. Clusters
    /// without such an event in the scan are not judged (`lookup-events` reaches back 90
    /// days).
    ///
    /// ## Why it matters
    /// The creator of a cluster is its first administrator, and in clusters that still
    /// grant the creator admin rights, stays one. A pipeline role whose use is audited
    /// makes that power a controlled one; a person's identity makes it a personal one.
    ///
    /// ## Example
    /// ```json
    /// {"Events": [{"EventName": "CreateCluster", "CloudTrailEvent": "{\"userIdentity\": {\"type\": \"IAMUser\", \"arn\": \"arn:aws:iam::111122223333:user/alice\"}, \"requestParameters\": {\"name\": \"prod\"}}"}]}
    /// ```
    ///
    /// ## Fix
    /// Create clusters from an automated pipeline with a dedicated IAM role, and restrict
    /// and audit who may assume that role.
    pub ClusterCreatedByPerson {
        id: "IAM023",
        name: "cluster-created-by-person",
        severity: Low,
        data: [Eks, CloudTrail],
        scope: Inventory,
        reads: &[k::EKS_CLUSTER, k::CLOUDTRAIL_EVENT],
        summary: "Cluster was created by a person rather than a provisioning role",
        remediation: "Create and change clusters through a pipeline that uses a dedicated IAM role.",
        guide: &["IAM-09"],
    }
}

/// Who made a call, when it was a person: an IAM user, root, or an Identity Center
/// session.
fn person(identity: &Node) -> Option<String> {
    let text = |k: &str| identity.at(k).and_then(Node::as_str).map(str::trim);
    let arn = text("arn").unwrap_or("(unknown principal)");
    match text("type")? {
        "IAMUser" => Some(format!("IAM user `{arn}`")),
        "Root" => Some("the account's root user".to_string()),
        "AssumedRole" => {
            let issuer = text("sessionContext.sessionIssuer.arn")?;
            role_name(issuer)
                .is_some_and(|r| r.starts_with("AWSReservedSSO_"))
                .then(|| format!("IAM Identity Center session `{arn}`"))
        }
        _ => None,
    }
}

impl InventoryRule for ClusterCreatedByPerson {
    fn check_inventory(&self, cx: &Ctx<'_>, out: &mut Sink) {
        let events: Vec<_> = cx
            .objects_of(k::CLOUDTRAIL_EVENT)
            .filter(|e| e.root.get("EventName").and_then(Node::as_str) == Some("CreateCluster"))
            .collect();
        if events.is_empty() {
            return;
        }
        for cluster in cx.objects_of(k::EKS_CLUSTER).filter(|c| is_eks_cluster(c)) {
            let Some(name) = cluster.root.get("name").and_then(Node::as_str) else {
                continue;
            };
            let arn = cluster
                .root
                .get("arn")
                .and_then(Node::as_str)
                .and_then(Arn::parse);
            for ev in &events {
                let Some(record) = ev.root.get("CloudTrailEvent").filter(|r| r.is_map()) else {
                    continue;
                };
                let field = |k: &str| record.at(k).and_then(Node::as_str);
                if field("requestParameters.name") != Some(name) {
                    continue;
                }
                if let Some(a) = &arn {
                    let region_ok = field("awsRegion").is_none_or(|r| r == a.region);
                    let account_ok = field("recipientAccountId").is_none_or(|r| r == a.account);
                    if !region_ok || !account_ok {
                        continue;
                    }
                }
                let Some(who) = record.get("userIdentity").and_then(person) else {
                    continue;
                };
                let id = ev.name.as_ref();
                out.report(
                    cluster,
                    FieldPath::parse("name"),
                    format!("cluster `{name}` was created by {who} (CloudTrail event `{id}`), not by a provisioning role"),
                );
            }
        }
    }
}
