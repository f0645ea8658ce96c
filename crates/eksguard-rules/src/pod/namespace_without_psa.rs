use eksguard_model::{FieldPath, Node, Object, Severity};

use super::admission_policies::{enforcing_policy, GATEKEEPER_PSP_KINDS};
use crate::context::SkipNamespaces;
use crate::{declare_rule, Ctx, ObjectRule, Sink};

const ENFORCE: &str = "pod-security.kubernetes.io/enforce";
const AUDIT: &str = "pod-security.kubernetes.io/audit";
const WARN: &str = "pod-security.kubernetes.io/warn";

/// The Kyverno policies and Gatekeeper constraints that can stand in for the labels.
const READS: &[&str] = &{
    let mut all = [""; GATEKEEPER_PSP_KINDS.len() + 2];
    all[0] = "ClusterPolicy";
    all[1] = "Policy";
    let mut i = 0;
    while i < GATEKEEPER_PSP_KINDS.len() {
        all[i + 2] = GATEKEEPER_PSP_KINDS[i];
        i += 1;
    }
    all
};

declare_rule! {
    /// ## What it checks
    /// Namespace objects, except those in `skip_namespaces` (by default the system
    /// namespaces), and their Pod Security Admission labels:
    ///
    /// - no `pod-security.kubernetes.io/enforce` label, or `enforce: privileged`: medium;
    /// - an enforce level but neither an `audit` nor a `warn` label: low, since violations
    ///   of a stricter level then go unnoticed.
    ///
    /// A namespace without an enforce label passes when an admission policy of the scan
    /// enforces the Pod Security Standards on its pods instead: a Kyverno `ClusterPolicy`
    /// (or a `Policy` in that namespace) with a `validate.podSecurity` rule at `baseline` or
    /// `restricted`, `Enforce` as the rule's `failureAction` or the policy's
    /// `validationFailureAction` (Kyverno's default is `Audit`), and a `match` that selects
    /// pods in the namespace (by kind, `namespaces` pattern and `namespaceSelector`, minus
    /// `exclude`); or a Gatekeeper constraint of the pod-security-policy library
    /// (`K8sPSP*` kinds) whose `enforcementAction` is `deny` (Gatekeeper's default) and
    /// whose `match` covers pods in the namespace. An audit-only policy does not count, nor
    /// does an `eksguard serve` webhook, whose `--deny-on` and `--dry-run` the scan cannot
    /// see.
    ///
    /// ## Why it matters
    /// Pod Security Admission is the built-in replacement for PodSecurityPolicy. A namespace
    /// that enforces nothing accepts privileged pods, host namespaces and hostPath volumes
    /// from anyone who may create pods there.
    ///
    /// ## Example
    /// ```yaml
    /// kind: Namespace
    /// metadata:
    ///   name: shop
    /// ```
    ///
    /// ## Fix
    /// Label the namespace, e.g. `pod-security.kubernetes.io/enforce: baseline` and
    /// `pod-security.kubernetes.io/warn: restricted`.
    pub NamespaceWithoutPodSecurityAdmission {
        id: "POD014",
        name: "namespace-without-pod-security-admission",
        severity: Medium,
        data: [Kubernetes],
        scope: Objects(&["Namespace"]),
        reads: READS,
        summary: "Namespace does not enforce a Pod Security Standard",
        remediation: "Add the `pod-security.kubernetes.io/enforce` label (baseline or restricted) and a `warn` or `audit` label.",
        params: SkipNamespaces,
        guide: &["MT-07", "PS-01", "PS-02", "RT-06"],
    }
}

impl ObjectRule for NamespaceWithoutPodSecurityAdmission {
    fn check_object(&self, cx: &Ctx<'_>, obj: &Object, out: &mut Sink) {
        if cx.params::<SkipNamespaces>(&Self::META).skips(&obj.name) {
            return;
        }
        let labels = obj.labels();
        let label = |k: &str| labels.get(k).and_then(Node::scalar_text);
        let path = |k: &str| FieldPath::parse("metadata.labels").key(k);
        match label(ENFORCE).as_deref().map(str::trim) {
            None | Some("") if enforcing_policy(cx, obj).is_some() => {}
            None | Some("") => out.report(
                obj,
                path(ENFORCE),
                format!(
                    "namespace `{}` has no Pod Security Admission enforce label",
                    obj.name
                ),
            ),
            Some(level) if level.eq_ignore_ascii_case("privileged") => out.report(
                obj,
                path(ENFORCE),
                format!("namespace `{}` enforces the privileged level", obj.name),
            ),
            Some(level) => {
                if label(AUDIT).is_none() && label(WARN).is_none() {
                    out.report_with(
                        obj,
                        path(WARN),
                        Severity::Low,
                        format!(
                            "namespace `{}` enforces `{level}` but has no audit or warn label",
                            obj.name
                        ),
                    );
                }
            }
        }
    }
}
