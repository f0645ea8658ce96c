use eksguard_model::audit::AuditEvent;

use crate::aud::{created_pod, in_request, matches_any, target_name, who, KUBE_NAMESPACES};
use crate::{declare_rule, EventCtx, EventRule, EventSink};

declare_rule! {
    /// ## What it checks
    /// A pod created successfully in `kube-system` or `kube-public` with a container
    /// image outside the `allowed_images` list (patterns where `*` matches anything).
    /// The default list holds the registries of EKS add-ons (Amazon ECR `eks/` and
    /// `amazon-k8s-cni` repositories, `public.ecr.aws/eks*`); add your own system agents.
    /// Corresponds to the Falco k8saudit rule `Pod Created in Kube Namespace`.
    ///
    /// ## Why it matters
    /// Pods in the system namespaces blend in with the cluster's own components and can
    /// use their powerful service accounts; attackers hide there.
    ///
    /// ## Example
    /// ```json
    /// {"kind":"Event","verb":"create","objectRef":{"resource":"pods","namespace":"kube-system"},
    ///  "requestObject":{"spec":{"containers":[{"name":"x","image":"nginx"}]}}}
    /// ```
    ///
    /// ## Fix
    /// Run applications in their own namespaces; add legitimate system agents to
    /// `allowed_images`.
    pub KubeNamespacePodCreated {
        id: "AUD014",
        name: "kube-namespace-pod-created",
        severity: Medium,
        data: [Audit],
        scope: Events,
        summary: "A pod with an unexpected image was created in a system namespace",
        remediation: "Run the workload in its own namespace, or add its image to the rule's allowed_images.",
        params: Params,
        guide: &["DC-07"],
    }
}

crate::rule_params! {
    pub struct Params {
        /// Image patterns (`*` matches anything) that may run in kube-system and kube-public.
        allowed_images: Vec<String> = crate::params::strings(&[
            "*.dkr.ecr.*.amazonaws.com/eks/*",
            "*.dkr.ecr.*.amazonaws.com/amazon-k8s-cni*",
            "*.dkr.ecr.*.amazonaws.com/amazon/aws-network-policy-agent*",
            "public.ecr.aws/eks/*",
            "public.ecr.aws/eks-distro/*",
        ]),
    }
}

impl EventRule for KubeNamespacePodCreated {
    fn check_event(&self, cx: &EventCtx<'_>, ev: &AuditEvent<'_>, out: &mut EventSink) {
        if !ev
            .namespace()
            .is_some_and(|ns| KUBE_NAMESPACES.contains(&ns))
        {
            return;
        }
        let Some(obj) = created_pod(ev) else {
            return;
        };
        let Some(pod) = obj.pod_spec() else {
            return;
        };
        let params = cx.params::<Params>(&Self::META);
        let allowed = &params.allowed_images;
        for c in pod.containers() {
            let image = c.image().unwrap_or("");
            if !matches_any(allowed, image) {
                out.report(
                    in_request(&c.path.key("image")),
                    format!(
                        "{} created pod {} with image `{image}`",
                        who(ev),
                        target_name(ev)
                    ),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::aud::testing::{event, params, run};

    #[test]
    fn fires_on_unlisted_images_in_kube_namespaces() {
        let pod = |ns: &str, image: &str| {
            event(
                "alice",
                "create",
                &format!(r#""resource":"pods","namespace":"{ns}""#),
                201,
                &format!(
                    r#""requestObject":{{"metadata":{{"name":"p"}},"spec":{{"containers":[{{"name":"c","image":"{image}"}}]}}}}"#
                ),
            )
        };
        let lines = [
            pod(
                "kube-system",
                "602401143452.dkr.ecr.us-west-2.amazonaws.com/eks/coredns:v1.11.1",
            ),
            pod("kube-system", "nginx"),
            pod("default", "nginx"),
            pod("kube-public", "falcosecurity/falco:0.38"),
        ];
        let got = run("AUD014", Default::default(), &lines);
        assert_eq!(got.iter().map(|g| g.0).collect::<Vec<_>>(), [2, 4]);
        assert_eq!(got[0].1, "requestObject.spec.containers[0].image");
        // A configured list replaces the default one.
        let allow = params(
            "AUD014",
            "allowed_images",
            serde_json::json!(["nginx", "falcosecurity/*"]),
        );
        let got = run("AUD014", allow, &lines);
        assert_eq!(got.iter().map(|g| g.0).collect::<Vec<_>>(), [1]);
    }
}
