//! Helpers for the rules on the AWS security services (GuardDuty, Inspector, ECR, KMS,
//! CloudTrail, flow logs, EFS, ACM Private CA): the clusters of the scan, their nodes,
//! and the ECR repositories their workloads pull from.

use std::collections::{BTreeMap, BTreeSet};

use eksguard_model::arn::Arn;
use eksguard_model::aws_kinds as k;
use eksguard_model::{FactValue, Facts, FieldPath, Node, Object};

use crate::img::{parse_image, ImageRef};
use crate::Ctx;

/// The trimmed text of a scalar at a dotted path, `None` when absent or blank.
pub(crate) fn text<'a>(node: &'a Node, dotted: &str) -> Option<&'a str> {
    node.at(dotted)
        .and_then(Node::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// A string field compared as AWS enums are (case-insensitively).
pub(crate) fn is(node: &Node, dotted: &str, value: &str) -> bool {
    text(node, dotted).is_some_and(|v| v.eq_ignore_ascii_case(value))
}

/// One EKS cluster of the scan, as the joins need it.
pub(crate) struct Cluster<'a> {
    pub obj: &'a Object,
    pub name: String,
    pub vpc_id: Option<String>,
    pub subnet_ids: Vec<String>,
    /// Path of `resourcesVpcConfig` (or the eksctl `vpc`), where cluster-level network
    /// findings point.
    pub vpc_path: FieldPath,
}

/// The EKS clusters of the scan: `describe-cluster` outputs (connector registrations
/// left out) and eksctl `ClusterConfig`s.
pub(crate) fn clusters<'a>(cx: &Ctx<'a>) -> Vec<Cluster<'a>> {
    let mut out = Vec::new();
    for c in cx.objects_of(k::EKS_CLUSTER) {
        if c.root.get("connectorConfig").is_some() {
            continue;
        }
        let vpc = c.root.get("resourcesVpcConfig").unwrap_or(Node::null());
        let subnet_ids: Vec<String> = vpc
            .get("subnetIds")
            .map(Node::items)
            .unwrap_or(&[])
            .iter()
            .filter_map(|s| s.as_str().map(str::to_string))
            .collect();
        // Infrastructure code names the VPC on the subnets, not on the cluster.
        let vpc_id = text(vpc, "vpcId")
            .map(str::to_string)
            .or_else(|| subnets_vpc(cx, &subnet_ids));
        out.push(Cluster {
            obj: c,
            name: text(&c.root, "name").unwrap_or(&c.name).to_string(),
            vpc_id,
            subnet_ids,
            vpc_path: FieldPath::parse("resourcesVpcConfig.vpcId"),
        });
    }
    for c in cx.objects_of("ClusterConfig") {
        if !c.api_version.starts_with("eksctl.io/") {
            continue;
        }
        let Some(name) = text(&c.root, "metadata.name") else {
            continue;
        };
        out.push(Cluster {
            obj: c,
            name: name.to_string(),
            vpc_id: text(&c.root, "vpc.id").map(str::to_string),
            subnet_ids: Vec::new(),
            vpc_path: FieldPath::parse("vpc.id"),
        });
    }
    out
}

/// The one VPC that the scan's `describe-subnets` (or subnets of code) put all these
/// subnets in.
fn subnets_vpc(cx: &Ctx<'_>, subnet_ids: &[String]) -> Option<String> {
    let vpcs: BTreeSet<&str> = cx
        .objects_of(k::EC2_SUBNET)
        .filter(|s| text(&s.root, "SubnetId").is_some_and(|id| subnet_ids.iter().any(|x| x == id)))
        .filter_map(|s| text(&s.root, "VpcId"))
        .collect();
    match vpcs.len() {
        1 => vpcs.into_iter().next().map(str::to_string),
        _ => None,
    }
}

/// Whether EC2 tags (key, value) mark a node of one of the scan's clusters; with no
/// cluster in the scan, of any cluster.
pub(crate) fn is_node_tagged<'t>(
    names: &BTreeSet<String>,
    tags: impl IntoIterator<Item = (&'t str, &'t str)>,
) -> bool {
    tags.into_iter().any(|(key, value)| {
        k::node_tag_cluster(key, value).is_some_and(|c| names.is_empty() || names.contains(c))
    })
}

/// Tags as EC2 prints them (`[{Key, Value}]`) or as Inspector does (`{key: value}`).
pub(crate) fn tag_pairs(tags: Option<&Node>) -> Vec<(&str, &str)> {
    let Some(tags) = tags else { return Vec::new() };
    if let Some(items) = tags.as_seq() {
        return items
            .iter()
            .filter_map(|t| Some((t.get("Key")?.as_str()?, t.get("Value")?.as_str()?)))
            .collect();
    }
    tags.entries()
        .iter()
        .filter_map(|e| Some((&*e.key, e.value.as_str()?)))
        .collect()
}

/// The instances that are nodes of the scan's clusters, with the object that shows it:
/// `describe-instances` entries tagged for the cluster, Kubernetes `Node`s by their
/// provider ID, and Inspector coverage entries tagged for the cluster.
pub(crate) fn cluster_nodes<'a>(cx: &Ctx<'a>) -> BTreeMap<String, &'a Object> {
    let names: BTreeSet<String> = clusters(cx).into_iter().map(|c| c.name).collect();
    let mut out = BTreeMap::new();
    for i in cx.objects_of(k::EC2_INSTANCE) {
        if is_node_tagged(&names, tag_pairs(i.root.get("Tags"))) {
            if let Some(id) = text(&i.root, "InstanceId") {
                out.entry(id.to_string()).or_insert(i);
            }
        }
    }
    for n in cx.objects_of("Node") {
        if let Some(id) = text(&n.root, "spec.providerID").and_then(k::provider_instance_id) {
            out.entry(id.to_string()).or_insert(n);
        }
    }
    for c in cx.objects_of(k::INSPECTOR_COVERAGE) {
        if is(&c.root, "resourceType", "AWS_EC2_INSTANCE")
            && is_node_tagged(&names, tag_pairs(c.root.at("resourceMetadata.ec2.tags")))
        {
            if let Some(id) = text(&c.root, "resourceId") {
                out.entry(id.to_string()).or_insert(c);
            }
        }
    }
    out
}

/// An image reference that names an ECR private repository
/// (`<registryId>.dkr.ecr.<region>.amazonaws.com/<repositoryName>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EcrImage {
    pub registry_id: String,
    pub region: String,
    pub image: ImageRef,
}

pub(crate) fn ecr_image(reference: &str) -> Option<EcrImage> {
    let image = parse_image(reference)?;
    let mut parts = image.registry.split('.');
    let registry_id = parts.next()?.to_string();
    if parts.next()? != "dkr" || parts.next()? != "ecr" {
        return None;
    }
    let region = parts.next()?.to_string();
    let rest: Vec<&str> = parts.collect();
    // amazonaws.com, amazonaws.com.cn, and the FIPS host names.
    if rest.first().is_none_or(|d| *d != "amazonaws")
        || registry_id.is_empty()
        || !registry_id.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    Some(EcrImage {
        registry_id,
        region,
        image,
    })
}

/// One container image of a workload, where it is written.
pub(crate) struct ImageUse<'a> {
    pub workload: &'a Object,
    pub path: FieldPath,
    /// The container as messages name it.
    pub container: String,
    pub container_name: String,
    pub reference: String,
    pub ecr: EcrImage,
}

/// Every container of the scan's workloads that runs an ECR image.
pub(crate) fn ecr_image_uses<'a>(cx: &Ctx<'a>) -> Vec<ImageUse<'a>> {
    let mut out = Vec::new();
    for w in cx.workloads() {
        let Some(pod) = w.pod_spec() else { continue };
        for c in pod.containers() {
            let Some(reference) = c.image() else { continue };
            if let Some(ecr) = ecr_image(reference) {
                out.push(ImageUse {
                    workload: w,
                    path: c.path_to("image"),
                    container: c.describe(),
                    container_name: c.name().to_string(),
                    reference: reference.to_string(),
                    ecr,
                });
            }
        }
    }
    out
}

/// `(registryId, region, repositoryName)` of an ECR repository object, from its ARN (or
/// URI, or the registry ID and name of IaC).
pub(crate) fn repository_key(repo: &Object) -> Option<(String, String, String)> {
    let name = text(&repo.root, "repositoryName")?.to_string();
    if let Some(arn) = text(&repo.root, "repositoryArn").and_then(Arn::parse) {
        return Some((arn.account.to_string(), arn.region.to_string(), name));
    }
    if let Some(uri) = text(&repo.root, "repositoryUri").and_then(ecr_image) {
        return Some((uri.registry_id, uri.region, name));
    }
    let registry = text(&repo.root, "registryId").unwrap_or("").to_string();
    Some((registry, String::new(), name))
}

/// Whether an image comes from a repository: same repository name, and the same
/// registry and region where the repository object knows them.
pub(crate) fn comes_from(img: &EcrImage, key: &(String, String, String)) -> bool {
    let (registry, region, name) = key;
    img.image.repository == *name
        && (registry.is_empty() || *registry == img.registry_id)
        && (region.is_empty() || *region == img.region)
}

/// The path components of the file an object came from (for outputs that do not name
/// their resource and are named by their directory).
pub(crate) fn path_components(obj: &Object) -> Vec<&str> {
    obj.file()
        .map(|p| p.split(['/', '\\']).filter(|c| !c.is_empty()).collect())
        .unwrap_or_default()
}

// ---- Amazon Inspector findings ---------------------------------------------------------

/// Inspector's severities, worst first.
pub(crate) const SEVERITIES: [&str; 5] = ["CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL"];

/// One open package vulnerability of `inspector2 list-findings`.
#[derive(Clone)]
pub(crate) struct Vuln {
    /// Index in [`SEVERITIES`] (`UNTRIAGED` and unknown values sort last).
    pub rank: usize,
    pub id: String,
    /// `name version → fixedInVersion` per vulnerable package.
    pub packages: Vec<String>,
}

impl Vuln {
    pub fn severity(&self) -> &'static str {
        SEVERITIES.get(self.rank).copied().unwrap_or("UNTRIAGED")
    }

    pub fn is_high_or_worse(&self) -> bool {
        self.rank <= 1
    }
}

/// The finding as a vulnerability when it is an ACTIVE `PACKAGE_VULNERABILITY`:
/// suppressed and closed findings do not count.
pub(crate) fn vuln(finding: &Object) -> Option<Vuln> {
    let r = &finding.root;
    if !is(r, "type", "PACKAGE_VULNERABILITY") || !is(r, "status", "ACTIVE") {
        return None;
    }
    let sev = text(r, "severity").unwrap_or("").to_ascii_uppercase();
    let rank = SEVERITIES
        .iter()
        .position(|s| *s == sev)
        .unwrap_or(SEVERITIES.len());
    let details = r.get("packageVulnerabilityDetails").unwrap_or(Node::null());
    let id = text(details, "vulnerabilityId")
        .or_else(|| text(r, "title"))
        .unwrap_or("unnamed vulnerability")
        .to_string();
    let packages = details
        .get("vulnerablePackages")
        .map(Node::items)
        .unwrap_or(&[])
        .iter()
        .filter_map(|p| {
            let name = text(p, "name")?;
            let version = text(p, "version").unwrap_or("?");
            let fix = match text(p, "fixedInVersion") {
                Some(v) if v != "NotAvailable" => format!("fixed in {v}"),
                _ => "no fix".to_string(),
            };
            Some(format!("{name} {version}, {fix}"))
        })
        .collect();
    Some(Vuln { rank, id, packages })
}

/// `resources[]` of a finding with their index.
pub(crate) fn finding_resources(finding: &Object) -> impl Iterator<Item = (usize, &Node)> {
    finding
        .root
        .get("resources")
        .map(Node::items)
        .unwrap_or(&[])
        .iter()
        .enumerate()
}

/// The open CVEs counted by Inspector severity (each CVE once, at its worst rank), as
/// facts named after the severities in lower case: `critical`, `high`, `medium`, `low`,
/// `informational`, `untriaged`.
pub(crate) fn vuln_counts(vulns: &[Vuln]) -> Facts {
    let mut worst: BTreeMap<&str, usize> = BTreeMap::new();
    for v in vulns {
        let rank = worst.entry(v.id.as_str()).or_insert(v.rank);
        *rank = (*rank).min(v.rank);
    }
    let mut counts = [0u64; SEVERITIES.len() + 1];
    for rank in worst.values() {
        counts[(*rank).min(SEVERITIES.len())] += 1;
    }
    const NAMES: [&str; SEVERITIES.len() + 1] = [
        "critical",
        "high",
        "medium",
        "low",
        "informational",
        "untriaged",
    ];
    NAMES
        .iter()
        .zip(counts)
        .map(|(name, n)| (*name, FactValue::Count(n)))
        .collect()
}

/// How many CVEs by severity, worst first (`2 CRITICAL, 5 HIGH, 1 MEDIUM`), and the
/// worst `limit` with their packages and fixes.
pub(crate) fn vuln_summary(vulns: &mut [Vuln], limit: usize) -> (String, String) {
    vulns.sort_by(|a, b| a.rank.cmp(&b.rank).then_with(|| a.id.cmp(&b.id)));
    let mut counts: Vec<(usize, usize)> = Vec::new();
    let mut ids = BTreeSet::new();
    for v in vulns.iter() {
        if !ids.insert((v.rank, v.id.clone())) {
            continue;
        }
        match counts.last_mut() {
            Some((r, n)) if *r == v.rank => *n += 1,
            _ => counts.push((v.rank, 1)),
        }
    }
    let counts = counts
        .iter()
        .map(|(r, n)| format!("{n} {}", SEVERITIES.get(*r).copied().unwrap_or("UNTRIAGED")))
        .collect::<Vec<_>>()
        .join(", ");
    let mut seen = BTreeSet::new();
    let worst = vulns
        .iter()
        .filter(|v| seen.insert(v.id.clone()))
        .take(limit)
        .map(|v| {
            if v.packages.is_empty() {
                format!("{} ({})", v.id, v.severity())
            } else {
                format!("{} ({}: {})", v.id, v.severity(), v.packages.join("; "))
            }
        })
        .collect::<Vec<_>>()
        .join(", ");
    (counts, worst)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ecr_references() {
        let e = ecr_image("111122223333.dkr.ecr.eu-west-1.amazonaws.com/team/api:v1").unwrap();
        assert_eq!(
            (e.registry_id.as_str(), e.region.as_str()),
            ("111122223333", "eu-west-1")
        );
        assert_eq!(e.image.repository, "team/api");
        assert!(ecr_image("public.ecr.aws/eks/coredns:v1").is_none());
        assert!(ecr_image("nginx").is_none());
        assert!(ecr_image("x.dkr.ecr.eu-west-1.amazonaws.com/a").is_none());
    }
}
