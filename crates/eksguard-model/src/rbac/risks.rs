//! Dangerous powers: requests that let a subject take over the cluster, read its
//! credentials or run code in others' workloads, and who holds them.

use super::powers::{Power, POWERS};
use super::{BindingKind, Grant, Origin, RbacModel, RequestAttributes, SubjectKind};
use crate::finding::Severity;

/// One dangerous power with the requests `rbac risks` asks the model about.
#[derive(Debug, Clone)]
pub struct Probe {
    pub power: &'static Power,
    pub requests: Vec<RequestAttributes>,
}

/// The powers `rbac risks` looks for, most dangerous first, from the one table the IAM
/// rules read too.
pub fn probes() -> Vec<Probe> {
    POWERS
        .iter()
        .map(|&power| Probe {
            power,
            requests: power
                .requests
                .iter()
                .map(|r| {
                    let req = RequestAttributes::resource(r.verb, r.group, r.resource);
                    match power.namespace {
                        Some(ns) => req.in_namespace(ns),
                        None => req,
                    }
                })
                .collect(),
        })
        .collect()
}

/// A subject that holds a probe's power, by one grant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Risk {
    pub probe: usize,
    pub severity: Severity,
    pub grant: Grant,
    /// The request that the grant allows.
    pub request: RequestAttributes,
}

fn lower(s: Severity) -> Severity {
    match s {
        Severity::Critical => Severity::High,
        Severity::High => Severity::Medium,
        Severity::Medium => Severity::Low,
        _ => Severity::Info,
    }
}

/// Kubernetes' own identities: `system:` users and groups (not service accounts, which
/// are workloads), and EKS's `eks:` ones.
pub fn is_system_name(kind: SubjectKind, name: &str) -> bool {
    matches!(kind, SubjectKind::User | SubjectKind::Group)
        && (name.starts_with("system:") || name.starts_with("eks:"))
}

impl RbacModel {
    /// Every grant of a dangerous power, one per (probe, binding, subject), the first
    /// matching rule standing for the others; a full-control grant stands for the other
    /// powers of the same binding. Grants to Kubernetes' own identities are
    /// left out unless `all`, or unless an IAM principal is mapped to them.
    pub fn risks(&self, all: bool) -> Vec<Risk> {
        let probes = probes();
        let mut out: Vec<Risk> = Vec::new();
        for (pi, probe) in probes.iter().enumerate() {
            for req in &probe.requests {
                for g in self.who_can(req) {
                    // Full control stands for every other power through the same binding.
                    if out.iter().any(|r| {
                        (r.probe == pi || r.probe == 0)
                            && r.grant.binding == g.binding
                            && r.grant.subject == g.subject
                    }) {
                        continue;
                    }
                    let b = &self.bindings[g.binding];
                    let s = &b.subjects[g.subject];
                    if !all
                        && is_system_name(s.kind, &s.name)
                        && (b.origin == Origin::DefaultPolicy || s.name.starts_with("eks:"))
                        && self.mappings_into(s).is_empty()
                    {
                        continue;
                    }
                    let narrow = b.namespace.as_deref().is_some_and(|ns| ns != "kube-system")
                        && b.kind != BindingKind::ClusterRoleBinding;
                    let severity = if narrow {
                        lower(probe.power.severity)
                    } else {
                        probe.power.severity
                    };
                    out.push(Risk {
                        probe: pi,
                        severity,
                        grant: g,
                        request: req.clone(),
                    });
                }
            }
        }
        out.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.probe.cmp(&b.probe)));
        out
    }
}
