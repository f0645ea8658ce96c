use eksguard_model::{Node, Object};

use crate::context::SkipNamespaces;
use crate::{declare_rule, Ctx, ObjectRule, Sink, WORKLOAD_KINDS};

declare_rule! {
    /// ## What it checks
    /// Workloads whose pods get a service account token mounted: the pod spec does not set
    /// `automountServiceAccountToken: false`, and the pod's ServiceAccount — looked up
    /// among the scanned objects, in the workload's namespace — does not set it to false
    /// either. The pod's own value wins, as in Kubernetes: a pod with `true` fires even if
    /// its ServiceAccount says `false`. A ServiceAccount missing from the scan counts as
    /// not saying `false`. Namespaces of the `skip_namespaces` parameter (by default the
    /// system namespaces, whose add-ons mostly need the API) are left alone.
    ///
    /// ## Why it matters
    /// The token lets whoever compromises the container call the Kubernetes API with the
    /// service account's rights. Most application pods never call the API and need no
    /// token.
    ///
    /// ## Example
    /// ```yaml
    /// kind: Pod
    /// spec:
    ///   serviceAccountName: web
    ///   containers:
    ///   - name: web
    ///     image: nginx:1.27
    /// ```
    ///
    /// ## Fix
    /// Set `automountServiceAccountToken: false` on the pod or its ServiceAccount unless
    /// the workload talks to the Kubernetes API.
    pub ServiceAccountTokenAutomount {
        id: "IRSA003",
        name: "service-account-token-automount",
        severity: Info,
        data: [Kubernetes],
        scope: Objects(WORKLOAD_KINDS),
        reads: &["ServiceAccount"],
        summary: "Pod automounts a service account token",
        remediation: "Set `automountServiceAccountToken: false` on the pod or its ServiceAccount unless it calls the Kubernetes API.",
        params: SkipNamespaces,
        guide: &["IAM-18", "PS-09"],
    }
}

impl ObjectRule for ServiceAccountTokenAutomount {
    fn check_object(&self, cx: &Ctx<'_>, obj: &Object, out: &mut Sink) {
        let Some(pod) = obj.pod_spec() else { return };
        let ns = obj.ns().unwrap_or("default");
        if cx.params::<SkipNamespaces>(&Self::META).skips(ns) {
            return;
        }
        let sa_name = pod.service_account();
        let path = pod.field_path("automountServiceAccountToken");
        let msg = match pod
            .field("automountServiceAccountToken")
            .and_then(Node::as_bool)
        {
            Some(false) => return,
            Some(true) => format!(
                "pods mount the token of service account `{sa_name}` (the pod sets `automountServiceAccountToken: true`)"
            ),
            None => {
                let sa = cx
                    .objects_in("ServiceAccount", ns)
                    .find(|sa| &*sa.name == sa_name);
                match sa.map(|sa| {
                    sa.root
                        .get("automountServiceAccountToken")
                        .and_then(Node::as_bool)
                }) {
                    Some(Some(false)) => return,
                    Some(_) => format!(
                        "pods mount the token of service account `{sa_name}`; neither the pod nor the ServiceAccount disables automounting"
                    ),
                    None => format!(
                        "pods mount the token of service account `{sa_name}`; the pod does not disable automounting and the ServiceAccount is not in the scan"
                    ),
                }
            }
        };
        out.report(obj, path, msg);
    }
}
