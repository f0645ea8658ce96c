use eksguard_model::{Node, Object};

use crate::{declare_rule, Ctx, ObjectRule, Sink, WORKLOAD_KINDS};

crate::rule_params! {
    pub struct UntrustedNamespaces {
        /// Namespaces that run code the cluster's owner does not trust (customer code,
        /// build jobs, plugins). Empty: the rule does nothing.
        untrusted_namespaces: Vec<String> = Vec::new(),
    }
}

declare_rule! {
    /// ## What it checks
    /// Workloads in the namespaces of the `untrusted_namespaces` parameter that run on a
    /// shared kernel: neither under a sandboxed runtime nor on Fargate. Which code is
    /// untrusted is the cluster owner's knowledge, not the scan's, so the rule does
    /// nothing until the parameter lists namespaces.
    ///
    /// A workload counts as sandboxed when its `runtimeClassName` names a `RuntimeClass`
    /// whose `handler` is a virtual-machine or user-space-kernel runtime (Kata
    /// Containers `kata*`, gVisor `runsc`/`gvisor`, Firecracker `fc`/`firecracker`); a
    /// RuntimeClass the scan does not hold is unknown and not reported. It runs on Fargate
    /// when it selects `eks.amazonaws.com/compute-type: fargate`, or when a Fargate
    /// profile of an eksctl `ClusterConfig` (`fargateProfiles[].selectors`: namespace and
    /// labels) selects its pods. Fargate profiles made otherwise are not read: suppress
    /// the finding for namespaces they serve.
    ///
    /// ## Why it matters
    /// Containers share the node's kernel: one kernel exploit or container escape by
    /// untrusted code gives it the node, the other tenants' pods on it, and the node's
    /// credentials. The guide recommends running untrusted code in a sandbox with its own
    /// kernel — Fargate, where each pod is a micro-VM, or a micro-VM runtime class.
    ///
    /// ## Example
    /// ```yaml
    /// # .eksguard.toml: [rules.TEN005] untrusted_namespaces = ["customer-jobs"]
    /// metadata:
    ///   namespace: customer-jobs
    /// spec:
    ///   containers: [{name: job, image: customer/job:1}]
    /// ```
    ///
    /// ## Fix
    /// Serve the namespace from a Fargate profile, or give its pods a RuntimeClass whose
    /// handler is a sandboxed runtime (Kata Containers, gVisor) on nodes that provide it.
    pub UntrustedWorkloadNotSandboxed {
        id: "TEN005",
        name: "untrusted-workload-not-sandboxed",
        severity: Medium,
        data: [Kubernetes],
        scope: Objects(WORKLOAD_KINDS),
        reads: &["RuntimeClass", "ClusterConfig"],
        summary: "Untrusted workload shares the node's kernel",
        remediation: "Run untrusted namespaces on Fargate or under a sandboxed RuntimeClass.",
        params: UntrustedNamespaces,
        guide: &["MT-06"],
    }
}

/// Runtime handlers that give each pod its own kernel.
fn is_sandbox_handler(handler: &str) -> bool {
    let h = handler.trim().to_ascii_lowercase();
    h.starts_with("kata")
        || h == "runsc"
        || h.starts_with("gvisor")
        || h == "fc"
        || h.starts_with("firecracker")
}

fn text(n: Option<&Node>) -> &str {
    n.and_then(Node::as_str).map(str::trim).unwrap_or("")
}

/// Whether an eksctl Fargate profile selects pods of `ns` with `labels`.
fn fargate_profile_selects(cx: &Ctx<'_>, ns: &str, labels: &Node) -> bool {
    cx.objects_of("ClusterConfig").any(|cfg| {
        cfg.root
            .get("fargateProfiles")
            .map(Node::items)
            .unwrap_or(&[])
            .iter()
            .flat_map(|p| p.get("selectors").map(Node::items).unwrap_or(&[]))
            .any(|sel| {
                text(sel.get("namespace")) == ns
                    && sel.get("labels").is_none_or(|want| {
                        want.entries().iter().all(|e| {
                            labels.get(&e.key).and_then(Node::scalar_text) == e.value.scalar_text()
                        })
                    })
            })
    })
}

impl ObjectRule for UntrustedWorkloadNotSandboxed {
    fn check_object(&self, cx: &Ctx<'_>, obj: &Object, out: &mut Sink) {
        let params = cx.params::<UntrustedNamespaces>(&Self::META);
        let ns = obj.ns().unwrap_or("default");
        if !params.untrusted_namespaces.iter().any(|u| u == ns) {
            return;
        }
        let Some(pod) = obj.pod_spec() else { return };
        let on_fargate = pod
            .field("nodeSelector")
            .and_then(|s| s.get("eks.amazonaws.com/compute-type"))
            .and_then(Node::as_str)
            == Some("fargate");
        if on_fargate || fargate_profile_selects(cx, ns, pod.labels()) {
            return;
        }
        let class = text(pod.field("runtimeClassName"));
        if class.is_empty() {
            out.report(
                obj,
                pod.field_path("runtimeClassName"),
                format!(
                    "namespace `{ns}` is untrusted, and its pods run in ordinary containers on a shared kernel: no sandboxed RuntimeClass, no Fargate profile"
                ),
            );
            return;
        }
        let Some(rc) = cx.objects_of("RuntimeClass").find(|rc| *rc.name == *class) else {
            return;
        };
        let handler = text(rc.root.get("handler"));
        if !is_sandbox_handler(handler) {
            out.report(
                obj,
                pod.field_path("runtimeClassName"),
                format!(
                    "namespace `{ns}` is untrusted, and RuntimeClass `{class}` runs its pods with handler `{handler}`, which shares the node's kernel"
                ),
            );
        }
    }
}
