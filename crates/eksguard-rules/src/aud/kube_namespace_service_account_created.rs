use eksguard_model::audit::AuditEvent;
use eksguard_model::FieldPath;

use crate::aud::{matches_any, succeeded_on, target_name, who, KUBE_NAMESPACES};
use crate::{declare_rule, EventCtx, EventRule, EventSink};

declare_rule! {
    /// ## What it checks
    /// A ServiceAccount created successfully in `kube-system` or `kube-public` whose name
    /// is not in `allowed_names`: by default the service accounts of the Kubernetes
    /// controllers and of the EKS add-ons. Corresponds to the Falco k8saudit rule
    /// `Service Account Created in Kube Namespace`.
    ///
    /// ## Why it matters
    /// A new identity in a system namespace, once bound to a role, looks like part of
    /// the platform: a common way to keep access after a compromise.
    ///
    /// ## Example
    /// ```json
    /// {"kind":"Event","verb":"create",
    ///  "objectRef":{"resource":"serviceaccounts","namespace":"kube-system","name":"backup"}}
    /// ```
    ///
    /// ## Fix
    /// Create application service accounts in the application's namespace; add expected
    /// system ones to `allowed_names`.
    pub KubeNamespaceServiceAccountCreated {
        id: "AUD015",
        name: "kube-namespace-service-account-created",
        severity: Medium,
        data: [Audit],
        scope: Events,
        summary: "A service account was created in a system namespace",
        remediation: "Create the service account in the application's namespace, or add its name to the rule's allowed_names.",
        params: Params,
        guide: &["DC-07"],
    }
}

crate::rule_params! {
    pub struct Params {
        /// Service account names (`*` matches anything) that may be created in kube-system and
        /// kube-public.
        allowed_names: Vec<String> = crate::params::strings(&[
            "attachdetach-controller",
            "bootstrap-signer",
            "certificate-controller",
            "clusterrole-aggregation-controller",
            "cronjob-controller",
            "daemon-set-controller",
            "deployment-controller",
            "disruption-controller",
            "endpoint-controller",
            "ephemeral-volume-controller",
            "expand-controller",
            "generic-garbage-collector",
            "horizontal-pod-autoscaler",
            "job-controller",
            "legacy-service-account-token-cleaner",
            "namespace-controller",
            "node-controller",
            "persistent-volume-binder",
            "pod-garbage-collector",
            "pv-protection-controller",
            "pvc-protection-controller",
            "replicaset-controller",
            "replication-controller",
            "resourcequota-controller",
            "root-ca-cert-publisher",
            "service-account-controller",
            "service-controller",
            "statefulset-controller",
            "token-cleaner",
            "ttl-after-finished-controller",
            "ttl-controller",
            "default",
            "aws-node",
            "coredns",
            "kube-proxy",
            "aws-cloud-provider",
            "eks-vpc-resource-controller",
            "ebs-csi-*",
            "efs-csi-*",
            "eks-pod-identity-agent",
            "vpc-resource-controller",
        ]),
    }
}

impl EventRule for KubeNamespaceServiceAccountCreated {
    fn check_event(&self, cx: &EventCtx<'_>, ev: &AuditEvent<'_>, out: &mut EventSink) {
        if !ev
            .namespace()
            .is_some_and(|ns| KUBE_NAMESPACES.contains(&ns))
            || !succeeded_on(ev, &["create"], "serviceaccounts")
        {
            return;
        }
        let name = ev.name().map(|n| n.into_owned()).unwrap_or_default();
        if matches_any(&cx.params::<Params>(&Self::META).allowed_names, &name) {
            return;
        }
        out.report(
            FieldPath::parse("objectRef.name"),
            format!("{} created service account {}", who(ev), target_name(ev)),
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::aud::testing::{event, run};

    #[test]
    fn fires_on_unknown_names() {
        let sa = |ns: &str, name: &str| {
            event(
                "alice",
                "create",
                &format!(r#""resource":"serviceaccounts","namespace":"{ns}","name":"{name}""#),
                201,
                "",
            )
        };
        let lines = [
            sa("kube-system", "job-controller"),
            sa("kube-system", "backup"),
            sa("prod", "backup"),
        ];
        let got = run("AUD015", Default::default(), &lines);
        assert_eq!(
            got,
            [(
                2,
                "objectRef.name".into(),
                "`alice` created service account kube-system/backup".into()
            )]
        );
    }
}
