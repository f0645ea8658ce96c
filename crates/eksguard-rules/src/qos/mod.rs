//! QOS — resource requests, limits, quotas and quality of service.

mod best_effort_pod;
mod missing_memory_limit;
mod missing_resource_requests;
mod namespace_without_limit_range;
mod namespace_without_resource_quota;

pub use best_effort_pod::BestEffortPod;
pub use missing_memory_limit::MissingMemoryLimit;
pub use missing_resource_requests::MissingResourceRequests;
pub use namespace_without_limit_range::NamespaceWithoutLimitRange;
pub use namespace_without_resource_quota::NamespaceWithoutResourceQuota;

use eksguard_model::Node;

use crate::Rule;

pub const RULES: &[&dyn Rule] = &[
    &MissingMemoryLimit,
    &MissingResourceRequests,
    &BestEffortPod,
    &NamespaceWithoutResourceQuota,
    &NamespaceWithoutLimitRange,
];

/// A resource quantity (`500m`, `1Gi`, `2`, `1e3`) as a number.
pub(crate) fn parse_quantity(text: &str) -> Option<f64> {
    let t = text.trim();
    const SUFFIXES: &[(&str, f64)] = &[
        ("Ki", 1024.0),
        ("Mi", 1048576.0),
        ("Gi", 1073741824.0),
        ("Ti", 1099511627776.0),
        ("Pi", 1125899906842624.0),
        ("Ei", 1152921504606846976.0),
        ("m", 1e-3),
        ("k", 1e3),
        ("M", 1e6),
        ("G", 1e9),
        ("T", 1e12),
        ("P", 1e15),
        ("E", 1e18),
    ];
    for (suffix, factor) in SUFFIXES {
        if let Some(num) = t.strip_suffix(suffix) {
            if let Ok(v) = num.parse::<f64>() {
                return Some(v * factor);
            }
        }
    }
    t.parse().ok()
}

/// Whether a resource quantity is above zero. Unparseable values count as set: the API
/// server would have rejected them, so they are not ours to judge.
pub(crate) fn quantity_positive(q: &Node) -> bool {
    let Some(text) = q.scalar_text() else {
        return false;
    };
    match parse_quantity(&text) {
        Some(v) => v > 0.0,
        None => !text.trim().is_empty(),
    }
}

/// A positive `resources.<section>.<name>` on a resources block.
pub(crate) fn has_quantity(resources: &Node, section: &str, name: &str) -> bool {
    resources
        .get(section)
        .and_then(|s| s.get(name))
        .is_some_and(quantity_positive)
}
