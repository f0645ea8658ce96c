use eksguard_model::{FieldPath, Object};

use crate::{declare_rule, Ctx, ObjectRule, Sink};

declare_rule! {
    /// ## What it checks
    /// Any PodSecurityPolicy object.
    ///
    /// ## Why it matters
    /// The PodSecurityPolicy API was removed in Kubernetes 1.25, and every supported EKS
    /// version is newer. The object is rejected or ignored, so the controls it describes
    /// are not applied: pods it was meant to stop are admitted.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: policy/v1beta1
    /// kind: PodSecurityPolicy
    /// ```
    ///
    /// ## Fix
    /// Migrate to Pod Security Admission namespace labels, or to a policy engine such as
    /// Kyverno or OPA Gatekeeper, and delete the PodSecurityPolicy.
    pub PodSecurityPolicyRemoved {
        id: "POD015",
        name: "pod-security-policy-removed",
        severity: Low,
        data: [Kubernetes],
        scope: Objects(&["PodSecurityPolicy"]),
        summary: "PodSecurityPolicy is no longer enforced",
        remediation: "Replace the PodSecurityPolicy with Pod Security Admission labels or a policy engine.",
        guide: &["RT-06"],
    }
}

impl ObjectRule for PodSecurityPolicyRemoved {
    fn check_object(&self, _cx: &Ctx<'_>, obj: &Object, out: &mut Sink) {
        out.report(
            obj,
            FieldPath::parse("kind"),
            format!(
                "PodSecurityPolicy `{}` uses an API removed in Kubernetes 1.25; it protects nothing",
                obj.name
            ),
        );
    }
}
