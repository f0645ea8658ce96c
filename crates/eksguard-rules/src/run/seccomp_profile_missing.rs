use eksguard_model::Object;

use eksguard_model::podsec::{container_seccomp, is_windows, Confinement};

use crate::{declare_rule, Ctx, ObjectRule, Sink, WORKLOAD_KINDS};

declare_rule! {
    /// ## What it checks
    /// Containers (init, regular and ephemeral) without an effective seccomp profile of
    /// type `RuntimeDefault` or `Localhost`. The container's `seccompProfile` wins over the
    /// pod's; the legacy annotations `container.seccomp.security.alpha.kubernetes.io/<name>`
    /// and `seccomp.security.alpha.kubernetes.io/pod` with `runtime/default`,
    /// `docker/default` or `localhost/...` count too. When nothing in the pod sets a
    /// profile the finding is given once, at the pod's `securityContext.seccompProfile`;
    /// otherwise each container left without one is reported. A profile explicitly set to
    /// `Unconfined` is left to RUN002, which reports it at a higher severity. Windows pods
    /// are skipped: seccomp does not apply to them.
    ///
    /// ## Why it matters
    /// Kubernetes runs containers unconfined by default, so every system call the kernel
    /// offers is available; most container escapes rely on calls that the runtime's
    /// default profile blocks. The Pod Security Standards restricted profile requires one.
    ///
    /// ## Example
    /// ```yaml
    /// spec:
    ///   containers:
    ///   - name: app
    ///     image: example/app:1.0
    /// ```
    ///
    /// ## Fix
    /// Set `securityContext.seccompProfile.type: RuntimeDefault` on the pod, or a
    /// `Localhost` profile tailored to the workload.
    pub SeccompProfileMissing {
        id: "RUN001",
        name: "seccomp-profile-missing",
        severity: Medium,
        data: [Kubernetes],
        scope: Objects(WORKLOAD_KINDS),
        summary: "Container runs without a seccomp profile",
        remediation: "Set `seccompProfile.type: RuntimeDefault` in the pod's securityContext.",
        guide: &["RT-03"],
    }
}

impl ObjectRule for SeccompProfileMissing {
    fn check_object(&self, _cx: &Ctx<'_>, obj: &Object, out: &mut Sink) {
        let Some(pod) = obj.pod_spec() else { return };
        if is_windows(&pod) {
            return;
        }
        let containers: Vec<_> = pod.containers().collect();
        let missing: Vec<_> = containers
            .iter()
            .filter_map(|c| match container_seccomp(&pod, c) {
                (None | Some(Confinement::Other), own) => Some((c, own)),
                _ => None,
            })
            .collect();
        if missing.is_empty() {
            return;
        }
        if missing.len() == containers.len() && missing.iter().all(|(_, own)| !own) {
            out.report(
                obj,
                pod.field_path("securityContext.seccompProfile"),
                "no RuntimeDefault or Localhost seccomp profile is set for the pod or any of its containers",
            );
            return;
        }
        for (c, _) in missing {
            out.report(
                obj,
                c.path_to("securityContext.seccompProfile"),
                format!(
                    "{} has no RuntimeDefault or Localhost seccomp profile",
                    c.describe()
                ),
            );
        }
    }
}
