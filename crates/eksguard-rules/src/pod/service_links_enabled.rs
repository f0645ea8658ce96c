use eksguard_model::{Node, Object};

use crate::context::SkipNamespaces;
use crate::{declare_rule, Ctx, ObjectRule, Sink, WORKLOAD_KINDS};

declare_rule! {
    /// ## What it checks
    /// Pod specs that do not set `enableServiceLinks: false`. Kubernetes defaults the
    /// field to `true`, which injects every Service of the pod's namespace into each
    /// container as `<NAME>_SERVICE_HOST`, `<NAME>_SERVICE_PORT` and Docker-link variables.
    /// Namespaces of the `skip_namespaces` parameter (by default `kube-system`,
    /// `kube-public` and `kube-node-lease`) are skipped.
    ///
    /// ## Why it matters
    /// The variables hand every container a map of the namespace's services, addresses
    /// and ports, without any DNS query: discovery an attacker gets for free after
    /// compromising one pod. The guide recommends turning service links off where
    /// applications use DNS. In namespaces with many Services the variables also slow pod
    /// start-up and can collide with an application's own environment.
    ///
    /// ## Example
    /// ```yaml
    /// spec:
    ///   containers:
    ///   - name: api
    ///     image: example/api:1.0
    /// ```
    ///
    /// ## Fix
    /// Set `enableServiceLinks: false` in the pod spec and reach services by DNS name.
    pub ServiceLinksEnabled {
        id: "POD021",
        name: "service-links-enabled",
        severity: Info,
        data: [Kubernetes],
        scope: Objects(WORKLOAD_KINDS),
        summary: "Pod gets every Service of its namespace as environment variables",
        remediation: "Set `enableServiceLinks: false` in the pod spec and use DNS names for services.",
        params: SkipNamespaces,
        guide: &["PS-10"],
    }
}

impl ObjectRule for ServiceLinksEnabled {
    fn check_object(&self, cx: &Ctx<'_>, obj: &Object, out: &mut Sink) {
        let Some(pod) = obj.pod_spec() else { return };
        if cx
            .params::<SkipNamespaces>(&Self::META)
            .skips(obj.ns().unwrap_or("default"))
        {
            return;
        }
        let msg = match pod.field("enableServiceLinks").and_then(Node::as_bool) {
            Some(false) => return,
            Some(true) => "the pod sets `enableServiceLinks: true`: every Service of the namespace is injected as environment variables",
            None => "the pod does not set `enableServiceLinks: false`: every Service of the namespace is injected as environment variables",
        };
        out.report(obj, pod.field_path("enableServiceLinks"), msg);
    }
}
