use eksguard_model::audit::AuditEvent;

use eksguard_model::podsec;

use crate::aud::{created_pod, in_request, target_name, who};
use crate::{declare_rule, EventCtx, EventRule, EventSink};

declare_rule! {
    /// ## What it checks
    /// A pod created successfully with a `hostPath` volume on a sensitive host path: the
    /// root `/`, or `/etc`, `/proc`, `/root`, `/home`, `/var/lib/kubelet`,
    /// `/etc/kubernetes`, the container runtime sockets and directories (`docker.sock`,
    /// containerd, CRI-O, `/var/lib/docker`, `/var/lib/containerd`), `/var/run`, `/run`,
    /// `/boot`, `/dev` and `/sys`, or anything under them. Corresponds to the Falco
    /// k8saudit rule `Create Sensitive Mount Pod`, which compares whole paths only; this
    /// rule also catches `/etc/shadow` or `/root/.ssh`, and reads paths as the pod rules do,
    /// with repeated slashes, `.` and `..` resolved (`//etc`, `/var/log/../../etc`).
    ///
    /// ## Why it matters
    /// These paths hold the node's credentials, the kubelet's certificates and the
    /// runtime's control socket: mounting them is a step from a container to the node.
    ///
    /// ## Example
    /// ```json
    /// {"kind":"Event","verb":"create","objectRef":{"resource":"pods"},
    ///  "requestObject":{"spec":{"volumes":[{"name":"etc","hostPath":{"path":"/etc"}}]}}}
    /// ```
    ///
    /// ## Fix
    /// Replace the hostPath volume with a ConfigMap, Secret, emptyDir or CSI volume; only
    /// node agents that need the host should mount it, read-only where possible.
    pub SensitiveMountPodCreated {
        id: "AUD006",
        name: "sensitive-mount-pod-created",
        severity: High,
        data: [Audit],
        scope: Events,
        summary: "A pod mounting a sensitive host path was created",
        remediation: "Replace the hostPath volume with a ConfigMap, Secret, emptyDir or CSI volume.",
        guide: &["DC-07"],
    }
}

const SENSITIVE: &[&str] = &[
    "/etc",
    "/proc",
    "/root",
    "/home",
    "/boot",
    "/dev",
    "/sys",
    "/var/lib/kubelet",
    "/var/lib/docker",
    "/var/lib/containerd",
    "/var/run",
    "/run",
];

/// Whether a host path is `/`, `/var`, or one of [`SENSITIVE`] or below it.
pub(crate) fn is_sensitive(path: &str) -> bool {
    let p = path.trim_end_matches('/');
    if p.is_empty() || p == "/var" || p == "/var/lib" {
        return true;
    }
    SENSITIVE
        .iter()
        .any(|s| p == *s || p.strip_prefix(s).is_some_and(|r| r.starts_with('/')))
}

impl EventRule for SensitiveMountPodCreated {
    fn check_event(&self, _cx: &EventCtx<'_>, ev: &AuditEvent<'_>, out: &mut EventSink) {
        let Some(obj) = created_pod(ev) else {
            return;
        };
        let Some(pod) = obj.pod_spec() else {
            return;
        };
        for vol in podsec::host_path_volumes(&pod) {
            if is_sensitive(&podsec::normalize_path(vol.host_path)) {
                out.report(
                    in_request(&vol.field.key("path")),
                    format!(
                        "{} created pod {} mounting host path `{}`",
                        who(ev),
                        target_name(ev),
                        vol.host_path
                    ),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::is_sensitive;
    use crate::aud::testing::{event, run};

    #[test]
    fn sensitive_paths() {
        for p in [
            "/",
            "/etc",
            "/etc/shadow",
            "/var/run/docker.sock",
            "/run/containerd/containerd.sock",
            "/proc/",
            "/var",
        ] {
            assert!(is_sensitive(p), "{p}");
        }
        for p in [
            "/data",
            "/var/log",
            "/mnt/disks/ssd0",
            "/etcd-data",
            "/opt/cni/bin",
        ] {
            assert!(!is_sensitive(p), "{p}");
        }
    }

    #[test]
    fn fires_on_sensitive_host_paths() {
        let pod = |path: &str| {
            event(
                "system:serviceaccount:kube-system:replicaset-controller",
                "create",
                r#""resource":"pods","namespace":"default""#,
                201,
                &format!(
                    r#""requestObject":{{"spec":{{"volumes":[{{"name":"c","configMap":{{"name":"x"}}}},{{"name":"h","hostPath":{{"path":"{path}"}}}}]}}}}"#
                ),
            )
        };
        let got = run(
            "AUD006",
            Default::default(),
            &[
                pod("/var/log"),
                pod("/etc"),
                pod("//etc"),
                pod("/var/log/../../etc/"),
            ],
        );
        let got: Vec<(usize, &str)> = got.iter().map(|g| (g.0, g.1.as_str())).collect();
        let at = "requestObject.spec.volumes[1].hostPath.path";
        // Spellings the pod rules see through are seen through here too.
        assert_eq!(got, [(2, at), (3, at), (4, at)]);
    }
}
