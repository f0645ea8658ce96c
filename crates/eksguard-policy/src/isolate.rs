//! A NetworkPolicy that cuts one pod off the network during incident response. It selects
//! the pod by a label added for the purpose (so the pod's own labels, which its
//! controller and Services rely on, stay as they are) and allows no ingress and no
//! egress. NetworkPolicies add up: a pod is allowed whatever any policy selecting it
//! allows, so the result also names the existing policies that keep traffic flowing.

use eksguard_model::selector::selector_matches;
use eksguard_model::{Node, Object};

use crate::yaml::{Stream, Yaml};

/// The label the policy selects on; its value names the pod.
pub const LABEL: &str = "eksguard.io/isolate";

/// The pod to isolate, `NAMESPACE/POD`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub namespace: String,
    pub pod: String,
}

/// Why a target was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    #[error("write the pod as NAMESPACE/POD")]
    Shape,
    #[error(
        "namespace must be a DNS label (lower-case letters, digits and `-`, at most 63 characters)"
    )]
    Namespace,
    #[error("pod name must be a DNS subdomain (lower-case letters, digits, `-` and `.`, at most 253 characters)")]
    Pod,
}

/// Lower-case letters, digits and `-`, starting and ending with a letter or digit.
fn is_label_shaped(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// A DNS-1123 label: the shape of a namespace name.
fn is_dns_label(s: &str) -> bool {
    s.len() <= 63 && is_label_shaped(s)
}

/// A DNS-1123 subdomain as the API server checks pod names: at most 253 characters,
/// dot-separated parts of label shape (no per-part length limit).
fn is_dns_subdomain(s: &str) -> bool {
    s.len() <= 253 && s.split('.').all(is_label_shaped)
}

impl Target {
    pub fn parse(s: &str) -> Result<Target, TargetError> {
        let (ns, pod) = s.split_once('/').ok_or(TargetError::Shape)?;
        if !is_dns_label(ns) {
            return Err(TargetError::Namespace);
        }
        if !is_dns_subdomain(pod) {
            return Err(TargetError::Pod);
        }
        Ok(Target {
            namespace: ns.to_string(),
            pod: pod.to_string(),
        })
    }

    /// The value of [`LABEL`] for this pod: its name, or, when that is longer than a label
    /// value may be, a prefix and a hash of the whole name.
    pub fn label_value(&self) -> String {
        if self.pod.len() <= 63 {
            return self.pod.clone();
        }
        let prefix = self.pod[..54].trim_end_matches(['-', '.']);
        format!("{prefix}-{:08x}", fnv1a(self.pod.as_bytes()))
    }

    /// The policy's name: `isolate-` and the pod's name, shortened as the label value is
    /// when the whole would be too long.
    pub fn policy_name(&self) -> String {
        let full = format!("isolate-{}", self.pod);
        if full.len() <= 253 {
            full
        } else {
            format!("isolate-{}", self.label_value())
        }
    }
}

/// 32-bit FNV-1a: a stable short hash for names that must be shortened.
fn fnv1a(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5, |h, b| {
        (h ^ u32::from(*b)).wrapping_mul(0x0100_0193)
    })
}

/// The policy, the label to add, and what stands in the way of isolation.
#[derive(Debug, Clone)]
pub struct Isolation {
    pub target: Target,
    pub policy: Yaml,
    /// Whether the pod was among the objects read: without it, nothing below was checked.
    pub pod_found: bool,
    /// What would keep the pod reachable, one sentence each.
    pub warnings: Vec<String>,
}

/// Whether a policy governs a direction, with the API server's defaulting: without
/// `policyTypes`, Ingress always and Egress when egress rules are given.
fn governs(policy: &Object, dir: &str) -> bool {
    let spec = policy.spec();
    match spec.get("policyTypes").map(Node::items) {
        Some(types) if !types.is_empty() => types.iter().any(|t| t.as_str() == Some(dir)),
        _ => dir == "Ingress" || spec.get("egress").is_some_and(|e| !e.is_empty_value()),
    }
}

fn deny_all(target: &Target) -> Yaml {
    Yaml::map([
        ("apiVersion", Yaml::str("networking.k8s.io/v1")),
        ("kind", Yaml::str("NetworkPolicy")),
        (
            "metadata",
            Yaml::map([
                ("name", Yaml::str(target.policy_name())),
                ("namespace", Yaml::str(&target.namespace)),
                (
                    "labels",
                    Yaml::map([("app.kubernetes.io/managed-by", Yaml::str("eksguard"))]),
                ),
            ]),
        ),
        (
            "spec",
            Yaml::map([
                (
                    "podSelector",
                    Yaml::map([(
                        "matchLabels",
                        Yaml::map([(LABEL, Yaml::str(target.label_value()))]),
                    )]),
                ),
                (
                    "policyTypes",
                    Yaml::seq([Yaml::str("Ingress"), Yaml::str("Egress")]),
                ),
            ]),
        ),
    ])
}

/// The isolation of `target`, judged against the objects read (the pod, and the
/// NetworkPolicies of its namespace).
pub fn isolate<'a>(target: Target, objects: impl IntoIterator<Item = &'a Object>) -> Isolation {
    let objects: Vec<&Object> = objects.into_iter().collect();
    let in_ns = |o: &&&Object| o.ns() == Some(target.namespace.as_str());
    let pod = objects
        .iter()
        .filter(in_ns)
        .find(|o| &*o.kind == "Pod" && *o.name == *target.pod);
    let mut warnings = Vec::new();
    if let Some(pod) = pod {
        let spec = pod.spec();
        if spec.get("hostNetwork").and_then(Node::as_bool) == Some(true) {
            warnings.push(
                "the pod uses the node's network (hostNetwork: true): NetworkPolicies do not apply to it; isolate the node instead (cordon it and replace its security groups)"
                    .to_string(),
            );
        }
        // The pod's labels once the isolation label is added: what every policy of the
        // namespace will select on.
        let mut labels = match pod.labels().to_json() {
            serde_json::Value::Object(m) => m,
            _ => serde_json::Map::new(),
        };
        labels.insert(
            LABEL.to_string(),
            serde_json::Value::String(target.label_value()),
        );
        let labels = Node::from_json(&serde_json::Value::Object(labels));
        for np in objects
            .iter()
            .filter(in_ns)
            .filter(|o| &*o.kind == "NetworkPolicy")
        {
            let selector = np.spec().get("podSelector").unwrap_or(Node::null());
            if !selector_matches(selector, &labels) {
                continue;
            }
            for (dir, field) in [("Ingress", "ingress"), ("Egress", "egress")] {
                let allows = governs(np, dir)
                    && np
                        .spec()
                        .get(field)
                        .is_some_and(|rules| !rules.items().is_empty());
                if allows {
                    warnings.push(format!(
                        "NetworkPolicy `{}` also selects the pod and allows {}: policies add up, so that traffic stays allowed; change its podSelector, or delete it while the pod is isolated",
                        np.name,
                        field
                    ));
                }
            }
        }
    }
    Isolation {
        policy: deny_all(&target),
        pod_found: pod.is_some(),
        target,
        warnings,
    }
}

/// The policy as a YAML document, led by comments saying how to apply it and what stands
/// in its way.
pub fn render(iso: &Isolation) -> String {
    let t = &iso.target;
    let mut out = Stream::new();
    out.comment(&format!(
        "Isolate pod {}/{}: apply this NetworkPolicy, then label the pod:",
        t.namespace, t.pod
    ));
    out.comment(&format!(
        "  kubectl label pod --namespace {} {} {LABEL}={}",
        t.namespace,
        t.pod,
        t.label_value()
    ));
    out.comment("It denies all ingress and egress only where NetworkPolicies are enforced (see rule NET010).");
    if !iso.pod_found {
        out.comment(
            "The pod was not in the input: the policies that also select it were not checked.",
        );
    }
    for w in &iso.warnings {
        out.comment(&format!("WARNING: {w}"));
    }
    out.document(&iso.policy);
    out.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_are_validated() {
        assert_eq!(
            Target::parse("shop/web-1").unwrap(),
            Target {
                namespace: "shop".into(),
                pod: "web-1".into()
            }
        );
        assert_eq!(Target::parse("web-1"), Err(TargetError::Shape));
        assert_eq!(Target::parse("Shop/web"), Err(TargetError::Namespace));
        assert_eq!(Target::parse("shop/"), Err(TargetError::Pod));
        assert_eq!(Target::parse("shop/web\nx"), Err(TargetError::Pod));
        assert_eq!(Target::parse("shop/a/b"), Err(TargetError::Pod));
    }

    #[test]
    fn long_names_are_shortened_stably() {
        let pod = format!("{}-{}", "a".repeat(60), "b".repeat(10));
        let t = Target::parse(&format!("shop/{pod}")).unwrap();
        let v = t.label_value();
        assert!(v.len() <= 63, "{v}");
        assert!(v.starts_with(&"a".repeat(54)));
        assert_eq!(v, t.label_value());
        let other = Target::parse(&format!("shop/{pod}c")).unwrap();
        assert_ne!(v, other.label_value());
        assert_eq!(t.policy_name(), format!("isolate-{pod}"));
    }
}
