//! Dangerous powers: requests that let a subject take over the cluster, read its
//! credentials or run code in others' workloads, and who holds them.

use super::{BindingKind, Grant, Origin, RbacModel, RequestAttributes, SubjectKind};
use crate::finding::Severity;

/// One dangerous power, probed by the requests that exercise it.
#[derive(Debug, Clone)]
pub struct Probe {
    pub id: &'static str,
    pub title: &'static str,
    /// Severity when held cluster-wide (or in kube-system); one step lower when held
    /// only in other namespaces.
    pub severity: Severity,
    pub requests: Vec<RequestAttributes>,
}

fn reqs(verbs: &[&str], group: &str, resources: &[&str]) -> Vec<RequestAttributes> {
    verbs
        .iter()
        .flat_map(|v| {
            resources
                .iter()
                .map(move |r| RequestAttributes::resource(v, group, r))
        })
        .collect()
}

/// The powers `rbac risks` looks for, most dangerous first.
pub fn probes() -> Vec<Probe> {
    let workloads = [
        "pods",
        "deployments",
        "daemonsets",
        "statefulsets",
        "replicasets",
        "jobs",
        "cronjobs",
    ];
    let in_kube_system: Vec<RequestAttributes> = workloads
        .iter()
        .map(|w| {
            let group = match *w {
                "pods" => "",
                "jobs" | "cronjobs" => "batch",
                _ => "apps",
            };
            RequestAttributes::resource("create", group, w).in_namespace("kube-system")
        })
        .collect();
    vec![
        Probe {
            id: "full-control",
            title: "every verb on every resource (cluster-admin or `*`)",
            severity: Severity::Critical,
            requests: vec![RequestAttributes::resource("*", "*", "*")],
        },
        Probe {
            id: "escalate",
            title: "escalate roles: grant permissions it does not hold",
            severity: Severity::Critical,
            requests: reqs(
                &["escalate"],
                "rbac.authorization.k8s.io",
                &["clusterroles", "roles"],
            ),
        },
        Probe {
            id: "bind",
            title: "bind roles it does not hold",
            severity: Severity::Critical,
            requests: reqs(
                &["bind"],
                "rbac.authorization.k8s.io",
                &["clusterroles", "roles"],
            ),
        },
        Probe {
            id: "impersonate",
            title: "impersonate users, groups or service accounts",
            severity: Severity::Critical,
            requests: reqs(
                &["impersonate"],
                "",
                &["users", "groups", "serviceaccounts"],
            ),
        },
        Probe {
            id: "webhook-write",
            title: "write admission webhook configurations",
            severity: Severity::High,
            requests: reqs(
                &["create", "update", "patch"],
                "admissionregistration.k8s.io",
                &[
                    "mutatingwebhookconfigurations",
                    "validatingwebhookconfigurations",
                ],
            ),
        },
        Probe {
            id: "node-proxy",
            title: "reach the kubelet API through nodes/proxy",
            severity: Severity::High,
            requests: reqs(&["get", "create"], "", &["nodes/proxy"]),
        },
        Probe {
            id: "workloads-kube-system",
            title: "create pods or workloads in kube-system",
            severity: Severity::High,
            requests: in_kube_system,
        },
        Probe {
            id: "token-create",
            title: "create service account tokens",
            severity: Severity::High,
            requests: reqs(&["create"], "", &["serviceaccounts/token"]),
        },
        Probe {
            id: "secrets-read",
            title: "read Secrets",
            severity: Severity::High,
            requests: reqs(&["get", "list", "watch"], "", &["secrets"]),
        },
        Probe {
            id: "pod-exec",
            title: "exec or attach into pods",
            severity: Severity::High,
            requests: reqs(&["create", "get"], "", &["pods/exec", "pods/attach"]),
        },
        Probe {
            id: "persistent-volume-create",
            title: "create PersistentVolumes (host paths)",
            severity: Severity::Medium,
            requests: reqs(&["create"], "", &["persistentvolumes"]),
        },
    ]
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
                        lower(probe.severity)
                    } else {
                        probe.severity
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
