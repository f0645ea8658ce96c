use eksguard_model::{FieldPath, Node, Object};

use crate::{declare_rule, Ctx, ObjectRule, Sink};

declare_rule! {
    /// ## What it checks
    /// RoleBindings with a subject from another namespace: a ServiceAccount subject whose
    /// `namespace` differs from the binding's, a User `system:serviceaccount:<ns>:<name>`
    /// or a Group `system:serviceaccounts:<ns>` naming another namespace. A ServiceAccount
    /// subject without a namespace means the binding's own and is left alone.
    ///
    /// ## Why it matters
    /// Namespaces are the tenancy boundary. A binding that hands rights in one namespace to
    /// another namespace's workloads breaks it: compromising that workload, or anyone who
    /// can run pods as it, reaches into this namespace.
    ///
    /// ## Example
    /// ```yaml
    /// kind: RoleBinding
    /// metadata: {name: ci-deploy, namespace: shop}
    /// subjects:
    /// - kind: ServiceAccount
    ///   name: deployer
    ///   namespace: ci
    /// ```
    ///
    /// ## Fix
    /// Run the workload in the namespace it manages, or keep such grants few and reviewed
    /// (a dedicated deployer identity).
    pub CrossNamespaceBinding {
        id: "TEN002",
        name: "cross-namespace-binding",
        severity: Medium,
        data: [Kubernetes],
        scope: Objects(&["RoleBinding"]),
        summary: "RoleBinding grants rights to another namespace's service account",
        remediation: "Bind only service accounts of the binding's own namespace.",
        guide: &["MT-01"],
    }
}

impl ObjectRule for CrossNamespaceBinding {
    fn check_object(&self, _cx: &Ctx<'_>, obj: &Object, out: &mut Sink) {
        let Some(own) = obj.ns() else { return };
        let subjects = obj.root.get("subjects").map(Node::items).unwrap_or(&[]);
        for (i, s) in subjects.iter().enumerate() {
            let kind = s.get("kind").and_then(Node::as_str).unwrap_or("");
            let name = s.get("name").and_then(Node::as_str).unwrap_or("");
            let base = FieldPath::parse("subjects").index(i);
            let (other, path, who) = match kind {
                "ServiceAccount" => match s.get("namespace").and_then(Node::as_str) {
                    Some(ns) if !ns.is_empty() => (
                        ns,
                        base.key("namespace"),
                        format!("service account `{ns}/{name}`"),
                    ),
                    _ => continue,
                },
                "User" => match name.strip_prefix("system:serviceaccount:") {
                    Some(rest) => {
                        let (ns, sa) = rest.split_once(':').unwrap_or((rest, ""));
                        (ns, base.key("name"), format!("service account `{ns}/{sa}`"))
                    }
                    None => continue,
                },
                "Group" => match name.strip_prefix("system:serviceaccounts:") {
                    Some(ns) => (
                        ns,
                        base.key("name"),
                        format!("all service accounts of `{ns}`"),
                    ),
                    None => continue,
                },
                _ => continue,
            };
            if other != own {
                let role = obj
                    .root
                    .at("roleRef.name")
                    .and_then(Node::as_str)
                    .unwrap_or("?");
                out.report(
                    obj,
                    path,
                    format!("binds `{role}` in namespace `{own}` to {who} from another namespace"),
                );
            }
        }
    }
}
