//! Admission policies that enforce the Pod Security Standards in place of Pod Security
//! Admission labels: Kyverno `validate.podSecurity` rules and Gatekeeper constraints of
//! the pod-security-policy library.

use eksguard_model::selector::selector_matches;
use eksguard_model::{Node, Object};

use crate::Ctx;

/// The constraint kinds of Gatekeeper's pod-security-policy library.
pub(crate) const GATEKEEPER_PSP_KINDS: &[&str] = &[
    "K8sPSPAllowPrivilegeEscalationContainer",
    "K8sPSPAllowedUsers",
    "K8sPSPAppArmor",
    "K8sPSPCapabilities",
    "K8sPSPFSGroup",
    "K8sPSPFlexVolumes",
    "K8sPSPForbiddenSysctls",
    "K8sPSPHostFilesystem",
    "K8sPSPHostNamespace",
    "K8sPSPHostNetworkingPorts",
    "K8sPSPPrivilegedContainer",
    "K8sPSPProcMount",
    "K8sPSPReadOnlyRootFilesystem",
    "K8sPSPSELinuxV2",
    "K8sPSPSeccomp",
    "K8sPSPVolumeTypes",
];

/// `*` matches any run of characters, `?` one, as Kyverno and Gatekeeper match namespace
/// names (namespace names are lower case, so the matcher's case folding changes nothing).
fn glob(pattern: &str, text: &str) -> bool {
    crate::aws_iam::wildcard_match(pattern, text)
}

fn strings(node: Option<&Node>) -> Vec<String> {
    node.map(Node::items)
        .unwrap_or(&[])
        .iter()
        .filter_map(Node::scalar_text)
        .collect()
}

/// Whether a Kyverno `ResourceFilter` (`resources` of a `match`/`exclude` entry) selects
/// pods in the namespace.
fn kyverno_filter_selects(filter: &Node, ns: &Object) -> bool {
    let Some(res) = filter.get("resources") else {
        return false;
    };
    let kinds = strings(res.get("kinds"));
    let pods = kinds.iter().any(|k| {
        let k = k.rsplit('/').next().unwrap_or(k);
        k == "Pod" || k == "*"
    });
    let names = strings(res.get("namespaces"));
    let by_name = names.is_empty() || names.iter().any(|p| glob(p, &ns.name));
    let by_labels = res
        .get("namespaceSelector")
        .is_none_or(|s| selector_matches(s, ns.labels()));
    pods && by_name && by_labels
}

/// The filters of a `match` or `exclude` block: `any`, `all` or the legacy inline form.
fn kyverno_selects(block: Option<&Node>, ns: &Object, default: bool) -> bool {
    let Some(block) = block else { return default };
    if let Some(any) = block.get("any") {
        return any.items().iter().any(|f| kyverno_filter_selects(f, ns));
    }
    if let Some(all) = block.get("all") {
        let all = all.items();
        return !all.is_empty() && all.iter().all(|f| kyverno_filter_selects(f, ns));
    }
    kyverno_filter_selects(block, ns)
}

fn enforces(action: Option<&Node>) -> bool {
    action
        .and_then(Node::as_str)
        .is_some_and(|a| a.trim().eq_ignore_ascii_case("enforce"))
}

/// A Kyverno policy rule enforcing the baseline or restricted standard on the pods of
/// `ns`: its description, or `None`.
fn kyverno(policy: &Object, ns: &Object) -> Option<String> {
    if !policy.api_version.starts_with("kyverno.io/") {
        return None;
    }
    if &*policy.kind == "Policy" && policy.ns() != Some(&*ns.name) {
        return None;
    }
    let spec = policy.spec();
    let rules = spec.get("rules").map(Node::items).unwrap_or(&[]);
    rules.iter().find_map(|rule| {
        let validate = rule.get("validate")?;
        let level = validate.at("podSecurity.level")?.as_str()?.trim();
        if !matches!(level, "baseline" | "restricted") {
            return None;
        }
        // The rule's own action wins over the policy-wide one; Kyverno's default audits.
        let action = validate
            .get("failureAction")
            .or_else(|| spec.get("validationFailureAction"));
        if !enforces(action) {
            return None;
        }
        if !kyverno_selects(rule.get("match"), ns, false)
            || kyverno_selects(rule.get("exclude"), ns, false)
        {
            return None;
        }
        let name = rule.get("name").and_then(Node::as_str).unwrap_or("");
        Some(format!(
            "Kyverno {} `{}` rule `{name}` enforces the {level} standard",
            policy.kind, policy.name
        ))
    })
}

/// A Gatekeeper pod-security constraint denying in `ns`: its description, or `None`.
fn gatekeeper(constraint: &Object, ns: &Object) -> Option<String> {
    if !constraint
        .api_version
        .starts_with("constraints.gatekeeper.sh/")
    {
        return None;
    }
    let spec = constraint.spec();
    // Gatekeeper denies unless told otherwise.
    let action = spec
        .get("enforcementAction")
        .and_then(Node::as_str)
        .unwrap_or("deny");
    if !action.trim().eq_ignore_ascii_case("deny") {
        return None;
    }
    let m = spec.get("match").unwrap_or(Node::null());
    let kinds_ok = m.get("kinds").is_none_or(|ks| {
        ks.items().iter().any(|k| {
            let groups = strings(k.get("apiGroups"));
            let kinds = strings(k.get("kinds"));
            (groups.is_empty() || groups.iter().any(|g| g.is_empty() || g == "*"))
                && kinds.iter().any(|k| k == "Pod" || k == "*")
        })
    });
    let names = strings(m.get("namespaces"));
    let excluded = strings(m.get("excludedNamespaces"));
    let by_name = names.is_empty() || names.iter().any(|p| glob(p, &ns.name));
    let not_excluded = !excluded.iter().any(|p| glob(p, &ns.name));
    let by_labels = m
        .get("namespaceSelector")
        .is_none_or(|s| selector_matches(s, ns.labels()));
    (kinds_ok && by_name && not_excluded && by_labels).then(|| {
        format!(
            "Gatekeeper constraint {} `{}` denies in it",
            constraint.kind, constraint.name
        )
    })
}

/// An admission policy of the scan that enforces the Pod Security Standards on the pods
/// of namespace `ns`, described for a message.
pub(crate) fn enforcing_policy(cx: &Ctx<'_>, ns: &Object) -> Option<String> {
    cx.objects_of("ClusterPolicy")
        .chain(cx.objects_of("Policy"))
        .find_map(|p| kyverno(p, ns))
        .or_else(|| {
            GATEKEEPER_PSP_KINDS
                .iter()
                .flat_map(|k| cx.objects_of(k))
                .find_map(|c| gatekeeper(c, ns))
        })
}
