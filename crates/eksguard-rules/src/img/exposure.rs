//! How exposed a workload is, from facts the scan already holds: what it can do on its
//! node, what its identity may do in the cluster and in AWS, and who can reach it.

use eksguard_model::aws_kinds as k;
use eksguard_model::podsec;
use eksguard_model::rbac::query::{admin_verbs, ANY_GROUP, ANY_RESOURCE};
use eksguard_model::rbac::{RbacModel, RequestAttributes};
use eksguard_model::{Node, Object};

use crate::aws_svc::text;
use crate::Ctx;

/// The exposure of a workload, one phrase per fact (empty: nothing known).
pub(crate) fn exposure(cx: &Ctx<'_>, rbac: &RbacModel, w: &Object) -> Vec<String> {
    let mut out = Vec::new();
    let Some(pod) = w.pod_spec() else { return out };
    if !podsec::privileged(&pod).is_empty() {
        out.push("privileged container".to_string());
    }
    let hosts: Vec<&str> = ["hostNetwork", "hostPID", "hostIPC"]
        .into_iter()
        .filter(|f| podsec::host_namespace(&pod, f).is_some())
        .collect();
    if !hosts.is_empty() {
        out.push(format!("host namespaces ({})", hosts.join(", ")));
    }
    let ns = w.ns().unwrap_or("default");
    let sa = pod.service_account();
    let user = format!("system:serviceaccount:{ns}:{sa}");
    let admin = admin_verbs().all(|verb| {
        let mut req = RequestAttributes::resource(verb, ANY_GROUP, ANY_RESOURCE);
        req.user = user.clone();
        !rbac.authorize(&req).is_empty()
    });
    if admin {
        out.push(format!("service account {sa} is cluster-admin equivalent"));
    }
    if let Some(role) = node_role(cx, ns, sa, hosts.contains(&"hostNetwork")) {
        out.push(role);
    }
    out.extend(reachable(cx, w, ns, pod.labels()));
    out
}

/// Whether the pod holds a node-level IAM role: its service account names a node
/// group's role, or it shares the node's network and so the node role's credentials
/// through the instance metadata service.
fn node_role(cx: &Ctx<'_>, ns: &str, sa: &str, host_network: bool) -> Option<String> {
    let annotated = cx
        .objects_in("ServiceAccount", ns)
        .find(|o| &*o.name == sa)
        .and_then(|o| o.annotation("eks.amazonaws.com/role-arn"))
        .map(str::trim);
    if let Some(arn) = annotated {
        let is_node_role = cx
            .objects_of(k::EKS_NODEGROUP)
            .any(|ng| text(&ng.root, "nodeRole") == Some(arn));
        if is_node_role {
            return Some(format!("service account {sa} uses the node IAM role"));
        }
        return None;
    }
    host_network.then(|| "node IAM role reachable through host network".to_string())
}

/// Services (LoadBalancer, NodePort, or behind an Ingress) that send outside traffic to
/// the pod.
fn reachable(cx: &Ctx<'_>, w: &Object, ns: &str, labels: &Node) -> Vec<String> {
    let selects = |svc: &Object| {
        let sel = svc
            .root
            .at("spec.selector")
            .map(Node::entries)
            .unwrap_or(&[]);
        !sel.is_empty()
            && sel
                .iter()
                .all(|e| labels.get(&e.key).and_then(Node::scalar_text) == e.value.scalar_text())
    };
    let mut out = Vec::new();
    let services: Vec<&Object> = cx
        .objects_in("Service", ns)
        .filter(|s| s.id != w.id && selects(s))
        .collect();
    for s in &services {
        let ty = text(&s.root, "spec.type").unwrap_or("ClusterIP");
        if ty == "LoadBalancer" || ty == "NodePort" {
            out.push(format!(
                "reachable from outside through Service/{} ({ty})",
                s.name
            ));
        }
    }
    for ing in cx.objects_in("Ingress", ns) {
        let backends = ingress_backends(&ing.root);
        if services
            .iter()
            .any(|s| backends.iter().any(|b| b == &*s.name))
        {
            out.push(format!(
                "reachable from outside through Ingress/{}",
                ing.name
            ));
        }
    }
    out
}

/// The Service names an Ingress sends traffic to.
fn ingress_backends(root: &Node) -> Vec<String> {
    let name = |b: &Node| {
        text(b, "service.name")
            .or_else(|| text(b, "serviceName"))
            .map(str::to_string)
    };
    let mut out: Vec<String> = ["spec.defaultBackend", "spec.backend"]
        .iter()
        .filter_map(|p| root.at(p).and_then(name))
        .collect();
    for rule in root.at("spec.rules").map(Node::items).unwrap_or(&[]) {
        for path in rule.at("http.paths").map(Node::items).unwrap_or(&[]) {
            out.extend(path.get("backend").and_then(name));
        }
    }
    out
}
