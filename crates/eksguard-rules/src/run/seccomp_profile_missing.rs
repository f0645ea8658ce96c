use eksguard_model::{Node, Object};

use eksguard_model::podsec::{container_seccomp, runs_on_windows, Confinement};

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
    /// A pod is a Windows pod when `spec.os.name` is `windows`, when its `nodeSelector`
    /// sets `kubernetes.io/os` (or the legacy `beta.kubernetes.io/os`) to `windows`, or when
    /// every term of its required node affinity admits only `windows` for that label.
    ///
    /// When the scan holds kubelet configurations and every one of them sets
    /// `seccompDefault: true`, pods without a profile run under the runtime's default
    /// profile and nothing is reported; a pod that asks for `Unconfined` stays RUN002's
    /// finding. One kubelet without it (or a scan without kubelet configurations) and the
    /// pods are judged as written, since they may be scheduled on that node.
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
        reads: &["KubeletConfiguration"],
        summary: "Container runs without a seccomp profile",
        remediation: "Set `seccompProfile.type: RuntimeDefault` in the pod's securityContext.",
        guide: &["RT-03"],
    }
}

/// Every kubelet configuration of the scan (there is at least one) sets `seccompDefault:
/// true`: pods without a profile run under the runtime's default profile.
fn kubelets_default_to_runtime_default(cx: &Ctx<'_>) -> bool {
    let mut kubelets = cx
        .objects_of("KubeletConfiguration")
        .filter(|o| o.api_version.starts_with("kubelet.config.k8s.io/"))
        .peekable();
    kubelets.peek().is_some()
        && kubelets.all(|k| k.root.get("seccompDefault").and_then(Node::as_bool) == Some(true))
}

impl ObjectRule for SeccompProfileMissing {
    fn check_object(&self, cx: &Ctx<'_>, obj: &Object, out: &mut Sink) {
        let Some(pod) = obj.pod_spec() else { return };
        if runs_on_windows(&pod) || kubelets_default_to_runtime_default(cx) {
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

#[cfg(test)]
mod tests {
    use crate::scan_test::findings;

    const POD: &str = "
apiVersion: v1
kind: Pod
metadata: {name: app, namespace: shop}
spec: {containers: [{name: app, image: example/app:1.0}]}
";

    #[test]
    fn kubelets_defaulting_to_runtime_default_cover_every_pod() {
        let kubelet = |on: bool| {
            format!("---\napiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nseccompDefault: {on}\n")
        };
        assert_eq!(findings("RUN001", POD).len(), 1);
        let all_on = format!("{POD}{}{}", kubelet(true), kubelet(true));
        assert!(findings("RUN001", &all_on).is_empty());
        let one_off = format!("{POD}{}{}", kubelet(true), kubelet(false));
        assert_eq!(findings("RUN001", &one_off).len(), 1);
    }
}
