use eksguard_model::{FieldPath, Node, Object};

use crate::{declare_rule, Ctx, ObjectRule, Sink};

declare_rule! {
    /// ## What it checks
    /// Services with `spec.type: NodePort`.
    ///
    /// ## Why it matters
    /// A NodePort opens the port on every node of the cluster, on every node address.
    /// Reachability then depends on node security groups instead of a load balancer you
    /// configure on purpose, and traffic bypasses ingress controls.
    ///
    /// ## Example
    /// ```yaml
    /// spec:
    ///   type: NodePort
    /// ```
    ///
    /// ## Fix
    /// Use a ClusterIP Service behind an Ingress or a LoadBalancer Service.
    pub NodePortService {
        id: "NET011",
        name: "node-port-service",
        severity: Low,
        data: [Kubernetes],
        scope: Objects(&["Service"]),
        summary: "Service of type NodePort",
        remediation: "Use a ClusterIP Service behind an Ingress or a LoadBalancer instead of NodePort.",
    }
}

impl ObjectRule for NodePortService {
    fn check_object(&self, _cx: &Ctx<'_>, obj: &Object, out: &mut Sink) {
        if obj.spec().get("type").and_then(Node::as_str) == Some("NodePort") {
            out.report(
                obj,
                FieldPath::parse("spec.type"),
                "Service is of type NodePort and opens its ports on every node",
            );
        }
    }
}
