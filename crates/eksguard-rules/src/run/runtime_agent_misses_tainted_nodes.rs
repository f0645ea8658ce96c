use eksguard_model::aws_kinds as k;
use eksguard_model::{Node, Object};

use crate::{declare_rule, Ctx, InventoryRule, Sink};

declare_rule! {
    /// ## What it checks
    /// Runtime security agents deployed as DaemonSets — Falco, Tetragon, the GuardDuty
    /// runtime agent (`aws-guardduty-agent`), KubeArmor, the Sysdig agent, Prisma Cloud
    /// Defender, Aqua Enforcer, the CrowdStrike Falcon sensor, recognised by the DaemonSet
    /// name `aws-guardduty-agent` or a container image repository — whose pod tolerations
    /// do not tolerate a `NoSchedule` or `NoExecute` taint of a node the scan shows:
    /// Kubernetes `Node` objects (`spec.taints`), EKS managed node groups (`taints`, effect
    /// `NO_SCHEDULE` or `NO_EXECUTE`) and Karpenter `NodePool`s
    /// (`spec.template.spec.taints`). The DaemonSet is reported once, naming the nodes,
    /// node groups and node pools it cannot run on.
    ///
    /// Taints that come and go (`node.kubernetes.io/*` conditions, which DaemonSets
    /// tolerate anyway, `node.cloudprovider.kubernetes.io/uninitialized`, `karpenter.sh/*`,
    /// cluster-autoscaler's, and `*agent-not-ready` startup taints) are not judged, nor
    /// are Windows and Fargate nodes, where these agents do not run. Only taints are
    /// judged: a `nodeSelector` or node affinity of the agent is not compared with node
    /// labels.
    ///
    /// ## Why it matters
    /// A runtime agent sees only the nodes its pods run on. Nodes tainted for a tenant, for
    /// GPUs or for a sensitive workload are often those that matter most, and an agent
    /// without a matching toleration is simply never scheduled there: no alert comes from
    /// those nodes and nothing says they are unwatched. Several agents' default charts
    /// tolerate only the control-plane taints. The guide recommends runtime monitoring
    /// (GuardDuty, or a third-party tool) of every node.
    ///
    /// ## Example
    /// ```yaml
    /// kind: DaemonSet
    /// metadata: {name: falco}
    /// spec:
    ///   template:
    ///     spec:
    ///       containers: [{name: falco, image: falcosecurity/falco:0.39.2}]
    /// # node group `gpu`: taints [{key: nvidia.com/gpu, effect: NO_SCHEDULE}]
    /// ```
    ///
    /// ## Fix
    /// Give the agent a toleration for every taint of the cluster's nodes, usually
    /// `tolerations: [{operator: Exists}]`, which tolerates all taints.
    pub RuntimeAgentMissesTaintedNodes {
        id: "RUN008",
        name: "runtime-agent-misses-tainted-nodes",
        severity: Medium,
        data: [Kubernetes, Eks],
        scope: Inventory,
        reads: &["DaemonSet", "Node", k::EKS_NODEGROUP, "NodePool"],
        summary: "Runtime security agent cannot run on tainted nodes",
        remediation: "Let the runtime agent's DaemonSet tolerate every taint of the cluster's nodes (`operator: Exists`).",
        guide: &["RT-01", "RT-02"],
    }
}

/// Image repositories (the path after the registry) of runtime security agents, with the
/// product's name. A repository matches when it is the path or the path's tail.
const AGENTS: &[(&str, &str)] = &[
    ("falcosecurity/falco", "Falco"),
    ("falcosecurity/falco-no-driver", "Falco"),
    ("falcosecurity/falco-distroless", "Falco"),
    ("cilium/tetragon", "Tetragon"),
    ("aws-guardduty-agent", "the GuardDuty runtime agent"),
    ("kubearmor/kubearmor", "KubeArmor"),
    ("sysdig/agent", "the Sysdig agent"),
    ("sysdig/agent-slim", "the Sysdig agent"),
    ("twistlock/defender", "Prisma Cloud Defender"),
    ("aquasec/enforcer", "Aqua Enforcer"),
    ("falcon-sensor", "the CrowdStrike Falcon sensor"),
];

/// How many places a message names before it counts the rest.
const NAMED: usize = 5;

/// The repository path of an image reference: no registry host, tag or digest.
fn repository(image: &str) -> &str {
    let image = image.trim();
    let image = image.split('@').next().unwrap_or(image);
    let image = match image.rfind(':') {
        Some(i) if !image[i..].contains('/') => &image[..i],
        _ => image,
    };
    match image.split_once('/') {
        Some((host, rest)) if host.contains('.') || host.contains(':') || host == "localhost" => {
            rest
        }
        _ => image,
    }
}

/// The runtime agent a DaemonSet runs, by product name.
fn agent(ds: &Object) -> Option<&'static str> {
    if &*ds.name == "aws-guardduty-agent" {
        return Some("the GuardDuty runtime agent");
    }
    let pod = ds.pod_spec()?;
    let found = pod.containers().find_map(|c| {
        let repo = repository(c.image()?);
        AGENTS.iter().find_map(|(r, product)| {
            (repo == *r || repo.ends_with(&format!("/{r}"))).then_some(*product)
        })
    });
    found
}

/// One taint: key, value, effect (`NoSchedule` or `NoExecute`).
struct Taint {
    key: String,
    value: String,
    effect: &'static str,
}

impl Taint {
    fn describe(&self) -> String {
        if self.value.is_empty() {
            format!("{}:{}", self.key, self.effect)
        } else {
            format!("{}={}:{}", self.key, self.value, self.effect)
        }
    }
}

/// Taints that a node carries for a while (startup, pressure, draining), not for good.
fn is_transient(key: &str) -> bool {
    key.starts_with("node.kubernetes.io/")
        || key == "node.cloudprovider.kubernetes.io/uninitialized"
        || key.starts_with("karpenter.sh/")
        || key == "ToBeDeletedByClusterAutoscaler"
        || key == "DeletionCandidateOfClusterAutoscaler"
        || key.ends_with("agent-not-ready")
}

fn text(n: Option<&Node>) -> String {
    n.and_then(Node::scalar_text)
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

/// The lasting, scheduling-blocking taints of a list, with effects in Kubernetes or EKS
/// API spelling.
fn taints(list: Option<&Node>) -> Vec<Taint> {
    list.map(Node::items)
        .unwrap_or(&[])
        .iter()
        .filter_map(|t| {
            let effect = match text(t.get("effect")).as_str() {
                "NoSchedule" | "NO_SCHEDULE" => "NoSchedule",
                "NoExecute" | "NO_EXECUTE" => "NoExecute",
                _ => return None,
            };
            let key = text(t.get("key"));
            (!key.is_empty() && !is_transient(&key)).then(|| Taint {
                key,
                value: text(t.get("value")),
                effect,
            })
        })
        .collect()
}

/// Whether one toleration tolerates a taint, as the scheduler decides.
fn tolerates(tol: &Node, taint: &Taint) -> bool {
    let effect = text(tol.get("effect"));
    if !effect.is_empty() && effect != taint.effect {
        return false;
    }
    let key = text(tol.get("key"));
    let exists = text(tol.get("operator")) == "Exists";
    if key.is_empty() {
        return exists;
    }
    key == taint.key && (exists || text(tol.get("value")) == taint.value)
}

/// Nodes, node groups and node pools of the scan with their lasting taints, as
/// ("node `x`", taints).
fn tainted_places(cx: &Ctx<'_>) -> Vec<(String, Vec<Taint>)> {
    let mut out = Vec::new();
    for node in cx.objects_of("Node") {
        let label = |k: &str| node.labels().get(k).and_then(Node::as_str);
        if label("kubernetes.io/os") == Some("windows")
            || label("eks.amazonaws.com/compute-type") == Some("fargate")
        {
            continue;
        }
        out.push((
            format!("node `{}`", node.name),
            taints(node.spec().get("taints")),
        ));
    }
    for ng in cx.objects_of(k::EKS_NODEGROUP) {
        if text(ng.root.get("amiType")).starts_with("WINDOWS") {
            continue;
        }
        let name = text(ng.root.get("nodegroupName"));
        let name = if name.is_empty() {
            ng.name.to_string()
        } else {
            name
        };
        out.push((
            format!("node group `{name}`"),
            taints(ng.root.get("taints")),
        ));
    }
    for pool in cx
        .objects_of("NodePool")
        .filter(|p| p.api_version.starts_with("karpenter.sh/"))
    {
        let windows_only = pool
            .spec()
            .at("template.spec.requirements")
            .map(Node::items)
            .unwrap_or(&[])
            .iter()
            .any(|r| {
                text(r.get("key")) == "kubernetes.io/os"
                    && text(r.get("operator")) == "In"
                    && r.get("values").map(Node::items).is_some_and(|v| {
                        !v.is_empty() && v.iter().all(|x| text(Some(x)) == "windows")
                    })
            });
        if windows_only {
            continue;
        }
        out.push((
            format!("NodePool `{}`", pool.name),
            taints(pool.spec().at("template.spec.taints")),
        ));
    }
    out.retain(|(_, t)| !t.is_empty());
    // The same node group or node read from two files is one place.
    let mut seen = std::collections::HashSet::new();
    out.retain(|(place, _)| seen.insert(place.clone()));
    out
}

impl InventoryRule for RuntimeAgentMissesTaintedNodes {
    fn check_inventory(&self, cx: &Ctx<'_>, out: &mut Sink) {
        let places = tainted_places(cx);
        if places.is_empty() {
            return;
        }
        for ds in cx.objects_of("DaemonSet") {
            let Some(product) = agent(ds) else { continue };
            let Some(pod) = ds.pod_spec() else { continue };
            let tolerations = pod.field("tolerations").map(Node::items).unwrap_or(&[]);
            let missed: Vec<String> = places
                .iter()
                .filter_map(|(place, taints)| {
                    let blocking: Vec<String> = taints
                        .iter()
                        .filter(|t| !tolerations.iter().any(|tol| tolerates(tol, t)))
                        .map(|t| format!("`{}`", t.describe()))
                        .collect();
                    (!blocking.is_empty())
                        .then(|| format!("{place} (taint {})", blocking.join(", ")))
                })
                .collect();
            if missed.is_empty() {
                continue;
            }
            let mut named = missed[..missed.len().min(NAMED)].join("; ");
            if missed.len() > NAMED {
                named.push_str(&format!("; and {} more", missed.len() - NAMED));
            }
            out.report(
                ds,
                pod.field_path("tolerations"),
                format!(
                    "{product} (DaemonSet `{}`) does not tolerate the taints of {named}: those nodes run unmonitored",
                    ds.name
                ),
            );
        }
    }
}
