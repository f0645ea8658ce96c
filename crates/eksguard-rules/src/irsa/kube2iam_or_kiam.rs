use eksguard_model::Object;

use super::image_repo_name;
use crate::{declare_rule, Ctx, ObjectRule, Sink, WORKLOAD_KINDS};

/// The pod annotation kube2iam and kiam read the role from.
const ROLE_ANNOTATION: &str = "iam.amazonaws.com/role";

declare_rule! {
    /// ## What it checks
    /// Workloads whose pod template (or Pod) carries the `iam.amazonaws.com/role`
    /// annotation, and containers whose image repository is `kube2iam` or `kiam` (the
    /// last path component of the image name, whatever the registry or tag) — the agents
    /// themselves. Images that merely contain the word, such as `kiam-exporter`, do not
    /// count.
    ///
    /// ## Why it matters
    /// kube2iam and kiam hand out IAM credentials by intercepting pod traffic to the
    /// instance metadata service, so the node role must be able to assume every role they
    /// serve, and a pod that bypasses the proxy gets the node's credentials. IRSA and EKS
    /// Pod Identity issue credentials per service account without those trade-offs.
    ///
    /// ## Example
    /// ```yaml
    /// spec:
    ///   template:
    ///     metadata:
    ///       annotations:
    ///         iam.amazonaws.com/role: arn:aws:iam::111122223333:role/reports
    /// ```
    ///
    /// ## Fix
    /// Move the role to an IRSA `eks.amazonaws.com/role-arn` annotation on the pod's
    /// ServiceAccount or to a Pod Identity association, then remove kube2iam or kiam.
    pub Kube2iamOrKiam {
        id: "IRSA012",
        name: "kube2iam-or-kiam",
        severity: Low,
        data: [Kubernetes],
        scope: Objects(WORKLOAD_KINDS),
        summary: "Pods get IAM credentials through kube2iam or kiam",
        remediation: "Migrate to IAM roles for service accounts or EKS Pod Identity and remove kube2iam or kiam.",
        guide: &["IAM-24"],
    }
}

impl ObjectRule for Kube2iamOrKiam {
    fn check_object(&self, _cx: &Ctx<'_>, obj: &Object, out: &mut Sink) {
        let Some(pod) = obj.pod_spec() else { return };
        if pod.annotation(ROLE_ANNOTATION).is_some() {
            out.report(
                obj,
                pod.meta_path.key("annotations").key(ROLE_ANNOTATION),
                format!("pods request an IAM role through the `{ROLE_ANNOTATION}` annotation (kube2iam/kiam)"),
            );
        }
        for c in pod.containers() {
            let Some(image) = c.image() else { continue };
            let repo = image_repo_name(image);
            if repo == "kube2iam" || repo == "kiam" {
                out.report(
                    obj,
                    c.path_to("image"),
                    format!("{} runs the {repo} agent", c.describe()),
                );
            }
        }
    }
}
