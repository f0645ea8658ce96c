//! Small helpers shared by rules.

use eksguard_model::Node;

/// A label selector's `matchLabels`/`matchExpressions` against a label map, as the API
/// server evaluates it. An empty selector matches everything.
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

/// A plain `key: value` selector (Services) against a label map; empty selects nothing.
pub fn map_selector_matches(selector: &Node, labels: &Node) -> bool {
    let entries = selector.entries();
    !entries.is_empty()
        && entries
            .iter()
            .all(|e| labels.get(&e.key).and_then(Node::scalar_text) == e.value.scalar_text())
}
