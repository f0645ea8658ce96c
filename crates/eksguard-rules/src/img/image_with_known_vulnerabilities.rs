use std::collections::{BTreeMap, BTreeSet};

use eksguard_model::aws_kinds as k;
use eksguard_model::rbac::RbacModel;
use eksguard_model::{FactValue, Node, ObjectId, Severity};

use super::exposure::exposure;
use crate::aws_svc::{
    ecr_image_uses, finding_resources, is, text, vuln, vuln_counts, vuln_summary, EcrImage, Vuln,
};
use crate::{declare_rule, Ctx, InventoryRule, Sink};

/// How many CVEs a message lists by name.
const WORST: usize = 5;

declare_rule! {
    /// ## What it checks
    /// Workloads running an ECR image on which Amazon Inspector has open critical or high
    /// vulnerabilities. The ACTIVE `PACKAGE_VULNERABILITY` findings of
    /// `inspector2 list-findings` are joined to the containers of the scan's workloads
    /// (live pods or manifests): the finding's `AWS_ECR_CONTAINER_IMAGE` resource has the
    /// image's `registry`, `repositoryName` and `region`, and its `imageHash` is the
    /// reference's digest or, for a reference by tag, its `imageTags` hold the tag
    /// (`latest` when the reference names none). Suppressed and closed findings do not
    /// count.
    ///
    /// One finding per workload and image, on the container's `image`, when at least one
    /// CVE is CRITICAL or HIGH. It counts the image's open CVEs by severity, lists the
    /// worst with their packages and fixed versions, and says how exposed the workload
    /// is: a privileged container or host namespaces, a service account that is
    /// cluster-admin equivalent or holds the node's IAM role (named in its
    /// `eks.amazonaws.com/role-arn`, or reached through the host network), and Services
    /// of type LoadBalancer or NodePort, or Ingresses, that reach it from outside.
    /// Critical when a CVE is CRITICAL; a HIGH image rises to critical when the workload
    /// is exposed.
    ///
    /// Each finding carries its numbers as facts: `container`, `image`, the CVE counts
    /// per Inspector severity (`critical` … `untriaged`), `worst` and `exposure`. JSON
    /// reports them under `facts`; the HTML report lists the findings in a table that
    /// sorts on any column, so the most exposed and most vulnerable workloads come first.
    ///
    /// ## Why it matters
    /// A CVE matters where it runs. The same vulnerable library is a routine patch in a
    /// batch job nobody can reach, and an incident waiting to happen in a privileged pod
    /// behind a public load balancer whose service account can read every Secret.
    ///
    /// ## How this differs from scanning images yourself
    /// A scanner such as trivy pulls every image (registry credentials, bandwidth, minutes
    /// per image) and reports per image, not per workload. Here ECR's enhanced scanning
    /// has already scanned the images, continuously, inside AWS: eksguard reads the
    /// findings through the Inspector API (or `list-findings` output) and needs no
    /// registry access. What it adds is the join: which running workloads carry which
    /// CVEs, and which of them an attacker could reach or would gain most from. Images
    /// outside ECR, or in repositories Inspector does not scan (IMG004, IMG005), are not
    /// covered; run a scanner on those.
    ///
    /// ## Reads
    /// - CLI: `aws inspector2 list-findings` (with the workloads of the scan)
    /// - API: `ListFindings`
    /// - Infrastructure code: none (findings are a runtime state)
    ///
    /// ## Example
    /// ```yaml
    /// image: 111122223333.dkr.ecr.eu-west-1.amazonaws.com/team/api:v1.4.2
    /// # Inspector: CVE-2026-1111 (HIGH, openssl 3.0.8, fixed in 3.0.15) on team/api, tag v1.4.2
    /// # Service/api-public (LoadBalancer) selects the pod: reported as critical
    /// ```
    ///
    /// ## Fix
    /// Rebuild the image on patched base layers and packages (the fixed versions are in
    /// the message) and roll the workload; reduce its exposure while it runs.
    pub ImageWithKnownVulnerabilities {
        id: "IMG006",
        name: "image-with-known-vulnerabilities",
        severity: High,
        data: [Inspector, Kubernetes],
        scope: Inventory,
        reads: &[
            k::INSPECTOR_FINDING,
            "Service",
            "Ingress",
            "ServiceAccount",
            k::EKS_NODEGROUP,
        ],
        summary: "A workload runs an image with open critical or high vulnerabilities",
        remediation: "Rebuild the image with the fixed package versions and roll the workload.",
        guide: &["IM-04"],
    }
}

/// Whether an Inspector ECR image resource is the image a reference names.
fn same_image(details: &Node, region: Option<&str>, img: &EcrImage) -> bool {
    if text(details, "repositoryName") != Some(img.image.repository.as_str()) {
        return false;
    }
    if text(details, "registry").is_some_and(|r| r != img.registry_id)
        || region.is_some_and(|r| r != img.region)
    {
        return false;
    }
    match (&img.image.digest, text(details, "imageHash")) {
        (Some(digest), Some(hash)) => digest == hash,
        (Some(_), None) => false,
        (None, _) => {
            let tag = img.image.tag.as_deref().unwrap_or("latest");
            details
                .get("imageTags")
                .map(Node::items)
                .unwrap_or(&[])
                .iter()
                .any(|t| t.as_str() == Some(tag))
        }
    }
}

impl InventoryRule for ImageWithKnownVulnerabilities {
    fn check_inventory(&self, cx: &Ctx<'_>, out: &mut Sink) {
        // Every ECR image resource of an open finding, once.
        let mut images: Vec<(&Node, Option<&str>, Vuln)> = Vec::new();
        for f in cx.objects_of(k::INSPECTOR_FINDING) {
            let Some(v) = vuln(f) else { continue };
            for (_, r) in finding_resources(f) {
                if !is(r, "type", "AWS_ECR_CONTAINER_IMAGE") {
                    continue;
                }
                if let Some(d) = r.at("details.awsEcrContainerImage") {
                    images.push((d, text(r, "region"), v.clone()));
                }
            }
        }
        if images.is_empty() {
            return;
        }
        let rbac = RbacModel::from_inventory(cx.inv);
        let mut done: BTreeSet<(ObjectId, String)> = BTreeSet::new();
        let mut exposures: BTreeMap<ObjectId, Vec<String>> = BTreeMap::new();
        for u in ecr_image_uses(cx) {
            if !done.insert((u.workload.id, u.reference.clone())) {
                continue;
            }
            let mut vulns: Vec<Vuln> = images
                .iter()
                .filter(|(d, region, _)| same_image(d, *region, &u.ecr))
                .map(|(_, _, v)| v.clone())
                .collect();
            if !vulns.iter().any(Vuln::is_high_or_worse) {
                continue;
            }
            let critical = vulns.iter().any(|v| v.rank == 0);
            let (counts, worst) = vuln_summary(&mut vulns, WORST);
            let exposed = exposures
                .entry(u.workload.id)
                .or_insert_with(|| exposure(cx, &rbac, u.workload));
            let severity = if critical || !exposed.is_empty() {
                Severity::Critical
            } else {
                Severity::High
            };
            let exposure_text = if exposed.is_empty() {
                String::new()
            } else {
                format!("; exposure: {}", exposed.join(", "))
            };
            let message = format!(
                "{} runs `{}` with open vulnerabilities ({counts}); worst: {worst}{exposure_text}",
                u.container, u.reference
            );
            // The HTML report's vulnerable-workloads table sorts on these.
            let mut facts = vec![
                ("container", FactValue::Text(u.container_name.clone())),
                ("image", FactValue::Text(u.reference.clone())),
            ];
            facts.extend(vuln_counts(&vulns));
            facts.push(("worst", FactValue::Text(worst)));
            facts.push(("exposure", FactValue::Text(exposed.join(", "))));
            out.report_facts(u.workload, u.path.clone(), severity, message, facts);
        }
    }
}
