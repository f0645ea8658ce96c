//! NetworkPolicies for each namespace of the input: default deny both ways, DNS to
//! kube-dns, and per Service an ingress rule from pods of the same namespace on the ports
//! the Service sends traffic to.

use std::collections::{BTreeMap, BTreeSet};

use eksguard_model::selector::{map_selector_matches, selector_matches};
use eksguard_model::{Node, Object};

use crate::yaml::{Stream, Yaml};

/// Namespaces the platform owns: policies there are the cluster operator's business.
pub const SKIPPED_NAMESPACES: &[&str] = &["kube-system", "kube-public", "kube-node-lease"];

/// What was generated for one namespace, and what already existed.
#[derive(Debug, Clone)]
pub struct NamespacePolicies {
    pub namespace: String,
    pub policies: Vec<Yaml>,
    /// Existing NetworkPolicy name -> the workloads it selects.
    pub existing: BTreeMap<String, Vec<String>>,
    /// Services whose named targetPort matched no container port (kept by name).
    pub unresolved: Vec<String>,
}

fn policy(ns: &str, name: &str, spec: Yaml) -> Yaml {
    Yaml::map([
        ("apiVersion", Yaml::str("networking.k8s.io/v1")),
        ("kind", Yaml::str("NetworkPolicy")),
        (
            "metadata",
            Yaml::map([("name", Yaml::str(name)), ("namespace", Yaml::str(ns))]),
        ),
        ("spec", spec),
    ])
}

fn default_deny(ns: &str) -> Yaml {
    policy(
        ns,
        "default-deny-all",
        Yaml::map([
            ("podSelector", Yaml::empty_map()),
            (
                "policyTypes",
                Yaml::Seq(vec![Yaml::str("Ingress"), Yaml::str("Egress")]),
            ),
        ]),
    )
}

fn allow_dns(ns: &str) -> Yaml {
    let port = |proto: &str| Yaml::map([("protocol", Yaml::str(proto)), ("port", Yaml::Int(53))]);
    let to = Yaml::map([
        (
            "namespaceSelector",
            Yaml::map([(
                "matchLabels",
                Yaml::map([("kubernetes.io/metadata.name", Yaml::str("kube-system"))]),
            )]),
        ),
        (
            "podSelector",
            Yaml::map([(
                "matchLabels",
                Yaml::map([("k8s-app", Yaml::str("kube-dns"))]),
            )]),
        ),
    ]);
    policy(
        ns,
        "allow-dns",
        Yaml::map([
            ("podSelector", Yaml::empty_map()),
            ("policyTypes", Yaml::Seq(vec![Yaml::str("Egress")])),
            (
                "egress",
                Yaml::Seq(vec![Yaml::map([
                    ("to", Yaml::Seq(vec![to])),
                    ("ports", Yaml::Seq(vec![port("UDP"), port("TCP")])),
                ])]),
            ),
        ]),
    )
}

/// The container port named `name` in the pods `selector` picks, if exactly one number.
fn resolve_named(workloads: &[&Object], selector: &Node, name: &str) -> Option<i64> {
    let found: BTreeSet<i64> = workloads
        .iter()
        .filter_map(|w| w.pod_spec())
        .filter(|p| map_selector_matches(selector, p.labels()))
        .flat_map(|p| {
            p.containers()
                .flat_map(|c| c.node.get("ports").map(Node::items).unwrap_or(&[]).iter())
                .filter(|port| port.get("name").and_then(Node::as_str) == Some(name))
                .filter_map(|port| port.get("containerPort").and_then(Node::as_i64))
                .collect::<Vec<_>>()
        })
        .collect();
    (found.len() == 1).then(|| found.into_iter().next().unwrap_or(0))
}

fn service_policy(
    svc: &Object,
    ns: &str,
    workloads: &[&Object],
    unresolved: &mut Vec<String>,
) -> Option<Yaml> {
    let selector = svc
        .spec()
        .get("selector")
        .filter(|s| !s.entries().is_empty())?;
    let mut ports = Vec::new();
    for p in svc.spec().get("ports").map(Node::items).unwrap_or(&[]) {
        let proto = p
            .get("protocol")
            .and_then(Node::as_str)
            .unwrap_or("TCP")
            .to_string();
        let target = p
            .get("targetPort")
            .filter(|t| !t.is_null())
            .or(p.get("port"));
        let port = match target.map(|t| (t.as_i64(), t.scalar_text())) {
            Some((Some(n), _)) => Yaml::Int(n),
            Some((None, Some(name))) => match resolve_named(workloads, selector, &name) {
                Some(n) => Yaml::Int(n),
                None => {
                    // NetworkPolicy accepts port names too; keep it when it cannot be resolved.
                    unresolved.push(format!("Service/{}: targetPort {name}", svc.name));
                    Yaml::Str(name)
                }
            },
            _ => continue,
        };
        let entry = Yaml::map([("protocol", Yaml::Str(proto)), ("port", port)]);
        if !ports.contains(&entry) {
            ports.push(entry);
        }
    }
    let mut rule = Yaml::map([(
        "from",
        Yaml::Seq(vec![Yaml::map([("podSelector", Yaml::empty_map())])]),
    )]);
    if !ports.is_empty() {
        rule.set("ports", Yaml::Seq(ports));
    }
    let match_labels = Yaml::Map(
        selector
            .entries()
            .iter()
            .map(|e| {
                (
                    e.key.to_string(),
                    Yaml::Str(e.value.scalar_text().unwrap_or_default()),
                )
            })
            .collect(),
    );
    Some(policy(
        ns,
        &format!("allow-{}-from-namespace", svc.name),
        Yaml::map([
            ("podSelector", Yaml::map([("matchLabels", match_labels)])),
            ("policyTypes", Yaml::Seq(vec![Yaml::str("Ingress")])),
            ("ingress", Yaml::Seq(vec![rule])),
        ]),
    ))
}

/// Policies for every namespace that holds a workload or a Service, system ones excepted.
pub fn generate<'a>(objects: impl IntoIterator<Item = &'a Object>) -> Vec<NamespacePolicies> {
    let mut by_ns: BTreeMap<&str, Vec<&Object>> = BTreeMap::new();
    for obj in objects {
        if let Some(ns) = obj.ns() {
            if !SKIPPED_NAMESPACES.contains(&ns) {
                by_ns.entry(ns).or_default().push(obj);
            }
        }
    }
    let mut out = Vec::new();
    for (ns, objs) in by_ns {
        let workloads: Vec<&Object> = objs
            .iter()
            .copied()
            .filter(|o| o.pod_spec().is_some())
            .collect();
        let services: Vec<&Object> = objs
            .iter()
            .copied()
            .filter(|o| &*o.kind == "Service")
            .collect();
        if workloads.is_empty() && services.is_empty() {
            continue;
        }
        let mut existing = BTreeMap::new();
        for p in objs.iter().filter(|o| &*o.kind == "NetworkPolicy") {
            let sel = p.spec().get("podSelector").unwrap_or(Node::null());
            let covered = workloads
                .iter()
                .filter(|w| {
                    w.pod_spec()
                        .is_some_and(|ps| selector_matches(sel, ps.labels()))
                })
                .map(|w| w.display_name())
                .collect();
            existing.insert(p.name.to_string(), covered);
        }
        let mut unresolved = Vec::new();
        let mut policies = vec![default_deny(ns), allow_dns(ns)];
        policies.extend(
            services
                .iter()
                .filter_map(|s| service_policy(s, ns, &workloads, &mut unresolved)),
        );
        out.push(NamespacePolicies {
            namespace: ns.to_string(),
            policies,
            existing,
            unresolved,
        });
    }
    out
}

/// All namespaces' policies as YAML documents, each namespace led by a comment block on
/// the policies it already has.
pub fn render(namespaces: &[NamespacePolicies]) -> String {
    let mut out = Stream::new();
    for ns in namespaces {
        out.comment(&format!("namespace {}", ns.namespace));
        if ns.existing.is_empty() {
            out.comment("  no existing NetworkPolicy");
        }
        for (name, covered) in &ns.existing {
            if covered.is_empty() {
                out.comment(&format!(
                    "  existing NetworkPolicy {name} selects no workload of the input"
                ));
            } else {
                out.comment(&format!(
                    "  existing NetworkPolicy {name} selects: {}",
                    covered.join(", ")
                ));
            }
        }
        for u in &ns.unresolved {
            out.comment(&format!("  unresolved named port, kept by name: {u}"));
        }
        for p in &ns.policies {
            out.document(p);
        }
    }
    out.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use eksguard_model::yaml::{parse_documents, ParseLimits};

    fn node(s: &str) -> Node {
        parse_documents(s, false, ParseLimits::default())
            .remove(0)
            .unwrap()
            .root
    }

    #[test]
    fn selectors_match_labels_and_expressions() {
        let labels = node("app: web\ntier: front\n");
        assert!(selector_matches(&node("{}"), &labels));
        assert!(selector_matches(
            &node("matchLabels:\n  app: web\n"),
            &labels
        ));
        assert!(!selector_matches(
            &node("matchLabels:\n  app: db\n"),
            &labels
        ));
        let expr = |op: &str, vals: &str| {
            node(&format!(
                "matchExpressions:\n  - key: tier\n    operator: {op}\n    values: [{vals}]\n"
            ))
        };
        assert!(selector_matches(&expr("In", "front, back"), &labels));
        assert!(!selector_matches(&expr("NotIn", "front"), &labels));
        assert!(selector_matches(&expr("Exists", ""), &labels));
        assert!(!selector_matches(&expr("DoesNotExist", ""), &labels));
        assert!(!selector_matches(&expr("Bogus", ""), &labels));
    }

    #[test]
    fn service_selectors_never_match_when_empty() {
        assert!(!map_selector_matches(&node("{}"), &node("app: web\n")));
        assert!(map_selector_matches(
            &node("app: web\n"),
            &node("app: web\nx: y\n")
        ));
    }
}
