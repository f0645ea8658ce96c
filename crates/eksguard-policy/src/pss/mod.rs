//! Pod Security Standards (Kubernetes v1.33), checked field by field as the Pod Security
//! Admission controller checks them (`controls`), and the namespace labels
//! and securityContext patches (`patch`) that follow from the result.

mod controls;
mod patch;

use std::collections::BTreeMap;

use eksguard_model::{FieldPath, Object, PodSpecView};

use crate::yaml::{Stream, Yaml};

pub use controls::{Control, CONTROLS};
pub use patch::{patch_for, render_patches};

/// The Pod Security Standards version these checks implement.
pub const PSS_VERSION: &str = "v1.33";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    Privileged,
    Baseline,
    Restricted,
}

impl Level {
    pub fn name(self) -> &'static str {
        match self {
            Level::Privileged => "privileged",
            Level::Baseline => "baseline",
            Level::Restricted => "restricted",
        }
    }

    pub fn stricter(self) -> Option<Level> {
        match self {
            Level::Privileged => Some(Level::Baseline),
            Level::Baseline => Some(Level::Restricted),
            Level::Restricted => None,
        }
    }
}

/// One field that keeps a pod out of a level.
#[derive(Debug, Clone, PartialEq)]
pub struct Violation {
    /// The level the field violates.
    pub level: Level,
    /// The check's name in the standard, e.g. "Host Namespaces".
    pub check: &'static str,
    pub path: FieldPath,
    pub message: String,
}

/// Every violation of the baseline and restricted levels in a pod spec, control by
/// control in the order of [`CONTROLS`].
pub fn check_pod(pod: &PodSpecView<'_>) -> Vec<Violation> {
    CONTROLS
        .iter()
        .flat_map(|c| {
            (c.check)(pod)
                .into_iter()
                .map(move |(path, message)| Violation {
                    level: c.level,
                    check: c.name,
                    path,
                    message,
                })
        })
        .collect()
}

/// The strictest level a set of violations allows.
pub fn level_of(violations: &[Violation]) -> Level {
    if violations.iter().any(|v| v.level == Level::Baseline) {
        Level::Privileged
    } else if violations.iter().any(|v| v.level == Level::Restricted) {
        Level::Baseline
    } else {
        Level::Restricted
    }
}

/// One workload's result.
#[derive(Debug, Clone)]
pub struct WorkloadLevel {
    pub workload: String,
    pub file: Option<String>,
    pub level: Level,
    /// Violations of the next stricter level, with their lines when known.
    pub blockers: Vec<(Violation, Option<u32>)>,
}

/// One namespace's result.
#[derive(Debug, Clone)]
pub struct NamespaceLevel {
    pub namespace: String,
    pub level: Level,
    pub workloads: Vec<WorkloadLevel>,
}

impl NamespaceLevel {
    /// The labels to apply: enforce what every workload meets, audit and warn at the next
    /// stricter level so the remaining gaps show up without breaking anything.
    pub fn labels(&self) -> Vec<(String, String)> {
        let next = self.level.stricter().unwrap_or(self.level);
        let p = "pod-security.kubernetes.io";
        vec![
            (format!("{p}/enforce"), self.level.name().into()),
            (format!("{p}/enforce-version"), PSS_VERSION.into()),
            (format!("{p}/audit"), next.name().into()),
            (format!("{p}/audit-version"), PSS_VERSION.into()),
            (format!("{p}/warn"), next.name().into()),
            (format!("{p}/warn-version"), PSS_VERSION.into()),
        ]
    }
}

/// The level of every namespace that has a workload or a Namespace object in `objects`.
pub fn namespace_levels<'a>(objects: impl IntoIterator<Item = &'a Object>) -> Vec<NamespaceLevel> {
    let mut by_ns: BTreeMap<String, Vec<WorkloadLevel>> = BTreeMap::new();
    for obj in objects {
        if &*obj.kind == "Namespace" {
            by_ns.entry(obj.name.to_string()).or_default();
            continue;
        }
        let (Some(pod), Some(ns)) = (obj.pod_spec(), obj.ns()) else {
            continue;
        };
        let violations = check_pod(&pod);
        let level = level_of(&violations);
        let blockers = match level.stricter() {
            Some(next) => violations
                .into_iter()
                .filter(|v| v.level == next)
                .map(|v| {
                    let line = obj.locate(&v.path).map(|p| p.line);
                    (v, line)
                })
                .collect(),
            None => Vec::new(),
        };
        by_ns
            .entry(ns.to_string())
            .or_default()
            .push(WorkloadLevel {
                workload: obj.display_name(),
                file: obj.file().map(str::to_string),
                level,
                blockers,
            });
    }
    by_ns
        .into_iter()
        .map(|(namespace, workloads)| NamespaceLevel {
            level: workloads
                .iter()
                .map(|w| w.level)
                .min()
                .unwrap_or(Level::Restricted),
            namespace,
            workloads,
        })
        .collect()
}

/// A Namespace object carrying the labels.
pub fn namespace_object(ns: &NamespaceLevel) -> Yaml {
    Yaml::map([
        ("apiVersion", Yaml::str("v1")),
        ("kind", Yaml::str("Namespace")),
        (
            "metadata",
            Yaml::map([
                ("name", Yaml::str(&ns.namespace)),
                (
                    "labels",
                    Yaml::Map(
                        ns.labels()
                            .into_iter()
                            .map(|(k, v)| (k, Yaml::Str(v)))
                            .collect(),
                    ),
                ),
            ]),
        ),
    ])
}

/// The report of one namespace, one line of text per entry (unescaped: for a comment).
fn namespace_notes(ns: &NamespaceLevel) -> Vec<String> {
    let mut out = vec![format!(
        "namespace {}: {} (Pod Security Standards {PSS_VERSION})",
        ns.namespace,
        ns.level.name()
    )];
    for w in &ns.workloads {
        out.push(format!("  {}: {}", w.workload, w.level.name()));
        for (v, line) in &w.blockers {
            let at = match (&w.file, line) {
                (Some(f), Some(l)) => format!(" ({f}:{l})"),
                _ => String::new(),
            };
            out.push(format!(
                "    blocks {}: {} [{}] {}{at}",
                v.level.name(),
                v.path,
                v.check,
                v.message
            ));
        }
    }
    out
}

/// The report of one namespace as `#` comment lines, escaped like every generated comment.
pub fn namespace_comment(ns: &NamespaceLevel) -> String {
    crate::yaml::comments(namespace_notes(ns))
}

/// The labels document: a commented Namespace per namespace.
pub fn render_namespaces(levels: &[NamespaceLevel]) -> String {
    let mut out = Stream::new();
    for ns in levels {
        for line in namespace_notes(ns) {
            out.comment(&line);
        }
        out.document(&namespace_object(ns));
    }
    out.finish()
}

#[cfg(test)]
mod tests;
