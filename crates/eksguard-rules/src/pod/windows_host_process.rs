use eksguard_model::{podsec, Object};

use crate::{declare_rule, Ctx, ObjectRule, Sink, WORKLOAD_KINDS};

declare_rule! {
    /// ## What it checks
    /// Windows HostProcess containers: `securityContext.windowsOptions.hostProcess: true`
    /// on the pod (which applies to every container) or on any init, regular or ephemeral
    /// container. Each place that sets it is a finding. The field means the same with or
    /// without `spec.os.name: windows`, so the rule does not ask for it.
    ///
    /// ## Why it matters
    /// A HostProcess container is a process on the Windows node itself, not in a container:
    /// it sees the host's filesystem, network and processes and can run as `SYSTEM`. It is
    /// the Windows counterpart of a privileged container, and the Pod Security Standards
    /// baseline profile forbids it.
    ///
    /// ## Example
    /// ```yaml
    /// spec:
    ///   securityContext:
    ///     windowsOptions:
    ///       hostProcess: true
    ///       runAsUserName: "NT AUTHORITY\\SYSTEM"
    ///   hostNetwork: true
    /// ```
    ///
    /// ## Fix
    /// Run the workload as an ordinary Windows container. Node agents that truly need the
    /// host belong in a dedicated namespace with the `privileged` Pod Security level, as
    /// few of them as possible.
    pub WindowsHostProcess {
        id: "POD019",
        name: "windows-host-process",
        severity: High,
        data: [Kubernetes],
        scope: Objects(WORKLOAD_KINDS),
        summary: "Pod runs a Windows HostProcess container",
        remediation: "Remove `windowsOptions.hostProcess` and run the workload as an ordinary container.",
        guide: &["PS-12"],
    }
}

impl ObjectRule for WindowsHostProcess {
    fn check_object(&self, _cx: &Ctx<'_>, obj: &Object, out: &mut Sink) {
        let Some(pod) = obj.pod_spec() else { return };
        for site in podsec::host_process(&pod) {
            let message = match &site.container {
                None => "the pod's containers run as HostProcess containers on the Windows node"
                    .to_string(),
                Some(c) => format!(
                    "{} runs as a HostProcess container on the Windows node",
                    c.describe()
                ),
            };
            out.report(obj, site.path, message);
        }
    }
}
