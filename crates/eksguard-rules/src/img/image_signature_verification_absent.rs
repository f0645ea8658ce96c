use eksguard_model::{FieldPath, Node, Object, Source};

use crate::img::parse_image;
use crate::{declare_rule, Ctx, InventoryRule, Sink};

/// Kinds that verify image signatures at admission, each with its API group prefix.
const VERIFIERS: &[(&str, &str)] = &[
    ("ImageValidatingPolicy", "policies.kyverno.io/"),
    ("ClusterImagePolicy", "policy.sigstore.dev/"),
    ("Verifier", "config.ratify.deislabs.io/"),
];

declare_rule! {
    /// ## What it checks
    /// A scan of a whole cluster (`eksguard cluster`, a snapshot, or objects as the API
    /// server returns them, which carry `metadata.uid`) that holds workloads but no
    /// policy verifying image signatures at admission: no Kyverno `ClusterPolicy` or
    /// `Policy` (`kyverno.io`) with a `verifyImages` rule, no Kyverno
    /// `ImageValidatingPolicy`, no sigstore policy-controller `ClusterImagePolicy`, no
    /// Ratify `Verifier`, and no Connaisseur deployment. Manifests and rendered charts say
    /// nothing about the rest of the cluster and are not judged. Reported once, on the
    /// first workload of the scan.
    ///
    /// ## Why it matters
    /// Without signature verification, any image that reaches a registry the nodes can
    /// pull from runs: a compromised pipeline, a pushed-over tag or a typosquatted name
    /// is enough. The guide recommends signing images and verifying the signatures
    /// before pods are admitted.
    ///
    /// ## Example
    /// A cluster whose only admission controls are Pod Security Admission labels.
    ///
    /// ## Fix
    /// Sign images (cosign, Notation with AWS Signer) and enforce verification with
    /// Kyverno `verifyImages`, the sigstore policy-controller, or Ratify with Gatekeeper.
    pub ImageSignatureVerificationAbsent {
        id: "IMG012",
        name: "image-signature-verification-absent",
        severity: Info,
        data: [Kubernetes],
        scope: Inventory,
        reads: &["ClusterPolicy", "Policy", "ImageValidatingPolicy", "ClusterImagePolicy", "Verifier", "Deployment", "Pod", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Job", "CronJob", "Rollout"],
        summary: "Cluster does not verify image signatures",
        remediation: "Enforce image signature verification at admission (Kyverno `verifyImages`, sigstore policy-controller, Ratify).",
        guide: &["IM-05", "IM-16"],
    }
}

/// Read from the API server: live, or saved as the server returned it (a snapshot or a
/// `kubectl get -o yaml` dump), which the server's `metadata.uid` shows.
fn from_cluster(obj: &Object) -> bool {
    obj.source == Source::Live
        || obj
            .metadata()
            .get("uid")
            .is_some_and(|u| !u.is_empty_value())
}

fn verifies_images(obj: &Object) -> bool {
    if matches!(&*obj.kind, "ClusterPolicy" | "Policy")
        && obj.api_version.starts_with("kyverno.io/")
    {
        return obj
            .spec()
            .get("rules")
            .map(Node::items)
            .unwrap_or(&[])
            .iter()
            .any(|r| r.get("verifyImages").is_some_and(|v| !v.items().is_empty()));
    }
    VERIFIERS
        .iter()
        .any(|(kind, group)| &*obj.kind == *kind && obj.api_version.starts_with(group))
}

fn is_connaisseur(obj: &Object) -> bool {
    &*obj.kind == "Deployment"
        && obj.pod_spec().is_some_and(|pod| {
            pod.containers().any(|c| {
                c.image()
                    .and_then(parse_image)
                    .is_some_and(|r| r.base_name() == "connaisseur")
            })
        })
}

impl InventoryRule for ImageSignatureVerificationAbsent {
    fn check_inventory(&self, cx: &Ctx<'_>, out: &mut Sink) {
        let mut workloads = cx.workloads().filter(|w| from_cluster(w));
        let Some(first) = workloads.next() else {
            return;
        };
        let guarded = cx
            .inv
            .objects
            .iter()
            .any(|o| verifies_images(o) || is_connaisseur(o));
        if guarded {
            return;
        }
        let n = 1 + workloads.count();
        out.report(
            first,
            FieldPath::parse("metadata.name"),
            format!(
                "the cluster runs {n} workload(s) and no admission policy verifies image signatures (Kyverno verifyImages, sigstore policy-controller, Ratify or Connaisseur)"
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::scan_test::findings;

    const READ: &str = "
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: shop, uid: 5c0ffee0-0000-4000-8000-000000000001}
spec: {template: {spec: {containers: [{name: api, image: example/api:1.0}]}}}
";

    #[test]
    fn a_verifying_policy_or_a_manifest_scan_is_left_alone() {
        assert_eq!(findings("IMG012", READ).len(), 1);
        let kyverno = "---
apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata: {name: verify, uid: 5c0ffee0-0000-4000-8000-000000000002}
spec:
  rules:
  - name: signed
    match: {any: [{resources: {kinds: [Pod]}}]}
    verifyImages:
    - imageReferences: ['*']
";
        assert!(findings("IMG012", &format!("{READ}{kyverno}")).is_empty());
        let sigstore = "---
apiVersion: policy.sigstore.dev/v1beta1
kind: ClusterImagePolicy
metadata: {name: signed}
spec: {images: [{glob: '**'}]}
";
        assert!(findings("IMG012", &format!("{READ}{sigstore}")).is_empty());
        // Rendered manifests (no server-assigned uid) say nothing about the cluster.
        let manifest = READ.replace(", uid: 5c0ffee0-0000-4000-8000-000000000001", "");
        assert!(findings("IMG012", &manifest).is_empty());
    }
}
