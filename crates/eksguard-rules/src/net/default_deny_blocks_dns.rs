use eksguard_model::Node;

use crate::context::SkipNamespaces;
use crate::{declare_rule, Ctx, InventoryRule, Sink};

use super::{governs, is_default_deny, namespace_path, Direction};

declare_rule! {
    /// ## What it checks
    /// Workload namespaces where egress is denied by default (a policy as NET002 defines
    /// it) yet no egress rule of any policy in the namespace opens port 53 over both UDP
    /// and TCP. A rule without `ports`, a port entry without `port`, or a range given by
    /// `endPort` that covers 53 all count; the named ports `dns`, `dns-tcp` and `domain`
    /// (CoreDNS's port names) count as 53. The rule does not judge the rule's peers: any
    /// egress rule opening port 53 is taken as allowing DNS. UDP and TCP may come from
    /// different rules or policies, and from policies selecting only some pods (the rule
    /// does not check that every pod is covered).
    ///
    /// ## Why it matters
    /// With egress denied and DNS not allowed, name resolution fails in every pod of the
    /// namespace. Allowing only UDP breaks large responses, which fall back to TCP. The
    /// usual reaction to such an outage is to delete the deny policy altogether.
    ///
    /// ## Example
    /// ```yaml
    /// spec:
    ///   podSelector: {}
    ///   policyTypes: [Egress]
    /// # and no policy with an egress rule for port 53
    /// ```
    ///
    /// ## Fix
    /// Add an egress rule to the cluster DNS (kube-system, `k8s-app: kube-dns`) on port
    /// 53 for UDP and TCP.
    pub DefaultDenyBlocksDns {
        id: "NET003",
        name: "default-deny-blocks-dns",
        severity: Medium,
        data: [Kubernetes],
        scope: Inventory,
        reads: &["Namespace", "Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Job", "CronJob", "PodTemplate", "Rollout", "NetworkPolicy"],
        summary: "Default-deny egress without a DNS egress rule",
        remediation: "Allow egress to the cluster DNS on port 53 over UDP and TCP.",
        params: SkipNamespaces,
        guide: &["MT-02", "NS-03"],
    }
}

const DNS_PORT_NAMES: &[&str] = &["dns", "dns-tcp", "domain"];

/// Whether one entry of an egress rule's `ports` opens DNS; returns the protocol.
fn dns_protocol(port: &Node) -> Option<String> {
    let proto = port
        .get("protocol")
        .and_then(Node::as_str)
        .unwrap_or("TCP")
        .to_ascii_uppercase();
    let opens = match port.get("port") {
        None => true,
        Some(p) if p.is_null() => true,
        Some(p) => match p.as_str() {
            Some(name) if name.parse::<i64>().is_err() => DNS_PORT_NAMES.contains(&name),
            _ => {
                let from = p.as_i64().unwrap_or(-1);
                let to = port.get("endPort").and_then(Node::as_i64).unwrap_or(from);
                from <= 53 && 53 <= to
            }
        },
    };
    opens.then_some(proto)
}

impl InventoryRule for DefaultDenyBlocksDns {
    fn check_inventory(&self, cx: &Ctx<'_>, out: &mut Sink) {
        for (ns, obj) in cx.workload_namespaces(&cx.params(&Self::META)) {
            let Some(deny) = cx
                .objects_in("NetworkPolicy", &ns)
                .find(|p| is_default_deny(p, Direction::Egress))
            else {
                continue;
            };
            let (mut udp, mut tcp) = (false, false);
            // Egress rules of a policy that does not govern egress are ignored by the API.
            for pol in cx
                .objects_in("NetworkPolicy", &ns)
                .filter(|p| governs(p, Direction::Egress))
            {
                for rule in pol.spec().get("egress").map(Node::items).unwrap_or(&[]) {
                    let ports = rule.get("ports").map(Node::items).unwrap_or(&[]);
                    if ports.is_empty() {
                        (udp, tcp) = (true, true);
                    }
                    for proto in ports.iter().filter_map(dns_protocol) {
                        match proto.as_str() {
                            "UDP" => udp = true,
                            "TCP" => tcp = true,
                            _ => {}
                        }
                    }
                }
            }
            let missing = match (udp, tcp) {
                (true, true) => continue,
                (false, false) => "UDP and TCP",
                (false, true) => "UDP",
                (true, false) => "TCP",
            };
            out.report(
                obj,
                namespace_path(obj),
                format!(
                    "NetworkPolicy `{}` denies egress in namespace `{ns}` but no egress rule allows DNS (port 53) over {missing}",
                    deny.name
                ),
            );
        }
    }
}
