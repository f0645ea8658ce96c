//! Label selectors, evaluated as the API server evaluates them.

use crate::node::Node;

/// A label selector's `matchLabels`/`matchExpressions` against a label map. An empty
/// selector matches everything; an unknown operator matches nothing.
pub fn selector_matches(selector: &Node, labels: &Node) -> bool {
    let label = |k: &str| labels.get(k).and_then(Node::scalar_text);
    for e in selector
        .get("matchLabels")
        .map(Node::entries)
        .unwrap_or(&[])
    {
        if label(&e.key) != e.value.scalar_text() {
            return false;
        }
    }
    for expr in selector
        .get("matchExpressions")
        .map(Node::items)
        .unwrap_or(&[])
    {
        let key = expr.get("key").and_then(Node::as_str).unwrap_or("");
        let values: Vec<String> = expr
            .get("values")
            .map(Node::items)
            .unwrap_or(&[])
            .iter()
            .filter_map(Node::scalar_text)
            .collect();
        let have = label(key);
        let ok = match expr.get("operator").and_then(Node::as_str).unwrap_or("") {
            "In" => have.is_some_and(|v| values.contains(&v)),
            "NotIn" => have.is_none_or(|v| !values.contains(&v)),
            "Exists" => have.is_some(),
            "DoesNotExist" => have.is_none(),
            _ => false,
        };
        if !ok {
            return false;
        }
    }
    true
}

/// A plain `key: value` selector (a Service's) against a label map; an empty one selects
/// nothing, as a Service without a selector has no endpoints of its own.
pub fn map_selector_matches(selector: &Node, labels: &Node) -> bool {
    let entries = selector.entries();
    !entries.is_empty()
        && entries
            .iter()
            .all(|e| labels.get(&e.key).and_then(Node::scalar_text) == e.value.scalar_text())
}

/// The sysctls the Pod Security Standards baseline level allows (as of v1.33: the
/// `tcp_rmem`/`tcp_wmem` pair joined in v1.32).
pub const PSS_SAFE_SYSCTLS: &[&str] = &[
    "kernel.shm_rmid_forced",
    "net.ipv4.ip_local_port_range",
    "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range",
    "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time",
    "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
    "net.ipv4.tcp_rmem",
    "net.ipv4.tcp_wmem",
];
