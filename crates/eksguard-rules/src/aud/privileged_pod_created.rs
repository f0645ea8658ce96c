use eksguard_model::audit::AuditEvent;

use eksguard_model::podsec;

use crate::aud::{created_pod, in_request, target_name, who};
use crate::{declare_rule, EventCtx, EventRule, EventSink};

declare_rule! {
    /// ## What it checks
    /// A pod created successfully with any container, init container or ephemeral
    /// container whose `securityContext.privileged` is true; one finding per privileged
    /// container, at its field in `requestObject`. Needs the `Request` audit level or
    /// higher for pods (EKS logs pod creation at `RequestResponse`). Corresponds to the
    /// Falco k8saudit rule `Create Privileged Pod`.
    ///
    /// ## Why it matters
    /// A privileged container has every capability and the host's devices: it is root
    /// on the node. A new one outside the expected system agents deserves a look.
    ///
    /// ## Example
    /// ```json
    /// {"kind":"Event","verb":"create","objectRef":{"resource":"pods","namespace":"default"},
    ///  "requestObject":{"spec":{"containers":[{"name":"nginx","image":"nginx",
    ///   "securityContext":{"privileged":true}}]}}}
    /// ```
    ///
    /// ## Fix
    /// Find the workload that created the pod and drop `privileged: true`; enforce the
    /// `baseline` Pod Security Standard on the namespace.
    pub PrivilegedPodCreated {
        id: "AUD005",
        name: "privileged-pod-created",
        severity: High,
        data: [Audit],
        scope: Events,
        summary: "A pod with a privileged container was created",
        remediation: "Remove `privileged: true` from the workload and enforce the baseline Pod Security Standard.",
        guide: &["DC-07"],
    }
}

impl EventRule for PrivilegedPodCreated {
    fn check_event(&self, _cx: &EventCtx<'_>, ev: &AuditEvent<'_>, out: &mut EventSink) {
        let Some(obj) = created_pod(ev) else {
            return;
        };
        let Some(pod) = obj.pod_spec() else {
            return;
        };
        for site in podsec::privileged(&pod) {
            let c = site.container.as_ref();
            let name = c.map_or("?", |c| c.name());
            let image = c.and_then(|c| c.image()).unwrap_or("?");
            out.report(
                in_request(&site.path),
                format!(
                    "{} created pod {} with privileged container `{name}` ({image})",
                    who(ev),
                    target_name(ev)
                ),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::aud::testing::{event, run};

    #[test]
    fn fires_per_privileged_container() {
        let pod = |spec: &str| {
            event(
                "system:serviceaccount:kube-system:replicaset-controller",
                "create",
                r#""resource":"pods","namespace":"default""#,
                201,
                &format!(r#""requestObject":{{"metadata":{{"name":"p"}},"spec":{spec}}}"#),
            )
        };
        let lines = [
            pod(
                r#"{"containers":[{"name":"a","image":"nginx"},{"name":"b","image":"busybox","securityContext":{"privileged":true}}]}"#,
            ),
            pod(
                r#"{"containers":[{"name":"a","image":"nginx","securityContext":{"privileged":false}}]}"#,
            ),
        ];
        let got = run("AUD005", Default::default(), &lines);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].0, 1);
        assert_eq!(
            got[0].1,
            "requestObject.spec.containers[1].securityContext.privileged"
        );
        assert!(
            got[0].2.contains("privileged container `b` (busybox)"),
            "{}",
            got[0].2
        );
    }
}
