use eksguard_model::audit::AuditEvent;
use eksguard_model::{podsec, FieldPath};

use crate::aud::{created_pod, in_request, target_name, who};
use crate::{declare_rule, EventCtx, EventRule, EventSink};

declare_rule! {
    /// ## What it checks
    /// A pod created successfully with `hostNetwork`, `hostPID` or `hostIPC` set to
    /// true; the finding points at the first of them and the message lists all.
    /// Corresponds to the Falco k8saudit rules `Create HostNetwork Pod`, `Create HostPid
    /// Pod` and `Create HostIPC Pod`.
    ///
    /// ## Why it matters
    /// Sharing the node's namespaces lets the pod see and reach the node's processes,
    /// shared memory and network interfaces, including the instance metadata service.
    ///
    /// ## Example
    /// ```json
    /// {"kind":"Event","verb":"create","objectRef":{"resource":"pods"},
    ///  "requestObject":{"spec":{"hostNetwork":true,"containers":[{"name":"nginx"}]}}}
    /// ```
    ///
    /// ## Fix
    /// Remove the host namespace settings from the workload unless it is a node agent
    /// that needs them; enforce the `baseline` Pod Security Standard.
    pub HostNamespacePodCreated {
        id: "AUD007",
        name: "host-namespace-pod-created",
        severity: High,
        data: [Audit],
        scope: Events,
        summary: "A pod sharing the node's network, PID or IPC namespace was created",
        remediation: "Remove hostNetwork, hostPID and hostIPC from the workload unless it is a node agent.",
        guide: &["DC-07"],
    }
}

impl EventRule for HostNamespacePodCreated {
    fn check_event(&self, _cx: &EventCtx<'_>, ev: &AuditEvent<'_>, out: &mut EventSink) {
        let Some(obj) = created_pod(ev) else {
            return;
        };
        let Some(pod) = obj.pod_spec() else {
            return;
        };
        let set: Vec<(&str, FieldPath)> = podsec::HOST_NAMESPACES
            .into_iter()
            .filter_map(|f| podsec::host_namespace(&pod, f).map(|p| (f, p)))
            .collect();
        if let Some((_, first)) = set.first() {
            let names: Vec<&str> = set.iter().map(|(f, _)| *f).collect();
            out.report(
                in_request(first),
                format!(
                    "{} created pod {} with {}",
                    who(ev),
                    target_name(ev),
                    names.join(", ")
                ),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::aud::testing::{event, run};

    #[test]
    fn fires_on_host_namespaces() {
        let pod = |spec: &str| {
            event(
                "alice",
                "create",
                r#""resource":"pods","namespace":"a""#,
                201,
                &format!(r#""requestObject":{{"spec":{spec}}}"#),
            )
        };
        let lines = [
            pod(r#"{"hostNetwork":false}"#),
            pod(r#"{"hostPID":true,"hostIPC":true}"#),
        ];
        let got = run("AUD007", Default::default(), &lines);
        assert_eq!(got.len(), 1);
        assert_eq!(
            (got[0].0, got[0].1.as_str()),
            (2, "requestObject.spec.hostPID")
        );
        assert!(got[0].2.ends_with("with hostPID, hostIPC"));
    }
}
