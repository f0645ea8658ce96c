use eksguard_model::Object;

use super::{host_path_volumes, normalize_path};
use crate::{declare_rule, Ctx, ObjectRule, Sink, WORKLOAD_KINDS};

/// Directories that hold a container runtime's socket or state, and the host root.
const RUNTIME_DIRS: &[&str] = &[
    "/",
    "/run",
    "/var/run",
    "/var/lib/docker",
    "/var/lib/containerd",
    "/run/containerd",
    "/var/run/containerd",
    "/run/crio",
    "/var/run/crio",
    "/run/docker",
    "/var/run/docker",
    "/run/podman",
    "/var/run/podman",
];

/// Runtime API sockets, wherever they live.
const SOCKETS: &[&str] = &[
    "docker.sock",
    "containerd.sock",
    "crio.sock",
    "cri-dockerd.sock",
    "dockershim.sock",
    "podman.sock",
];

/// The runtime API endpoints of Windows nodes: named pipes, not files. Other pipes (CSI
/// Proxy's `\\.\pipe\csi-proxy-*`) are not runtimes.
const PIPES: &[&str] = &["containerd-containerd", "docker_engine"];

/// The name of a Windows named pipe (`\\.\pipe\NAME`, either separator, any case).
fn pipe_name(p: &str) -> Option<String> {
    let p = p.trim().replace('\\', "/").to_ascii_lowercase();
    let name = p.strip_prefix("//./pipe/")?;
    Some(name.trim_matches('/').to_string())
}

fn is_runtime_path(p: &str) -> bool {
    if let Some(pipe) = pipe_name(p) {
        return PIPES.contains(&pipe.as_str());
    }
    let p = normalize_path(p);
    RUNTIME_DIRS.contains(&p.as_str()) || SOCKETS.iter().any(|s| p.rsplit('/').next() == Some(s))
}

declare_rule! {
    /// ## What it checks
    /// `hostPath` volumes whose path is a container runtime socket (`docker.sock`,
    /// `containerd.sock`, `crio.sock`, `cri-dockerd.sock`, `dockershim.sock`, the Podman
    /// API's `podman.sock`, in any directory) or a directory that contains one: `/run`,
    /// `/var/run`, `/run/containerd`, `/run/crio`, `/var/run/docker`, `/run/podman` (and
    /// their `/var/run` twins), `/var/lib/docker`, `/var/lib/containerd`, and the host root
    /// `/`. On Windows nodes the runtimes listen on named pipes:
    /// `\\.\pipe\containerd-containerd` and `\\.\pipe\docker_engine` are reported, other
    /// pipes (CSI Proxy's `\\.\pipe\csi-proxy-*`) are not. Paths are compared after removing
    /// repeated and trailing slashes and resolving `.` and `..`. Subdirectories that hold no
    /// socket, such as `/var/lib/docker/containers` read by log shippers, are left to POD004.
    ///
    /// ## Why it matters
    /// Whoever can talk to the runtime socket can start a privileged container with the
    /// host's root filesystem mounted: it is root on the node, even from a read-only mount.
    ///
    /// ## Example
    /// ```yaml
    /// volumes:
    /// - name: docker
    ///   hostPath:
    ///     path: /var/run/docker.sock
    /// ```
    ///
    /// ## Fix
    /// Remove the volume. Build images with a daemonless builder (BuildKit rootless, Kaniko)
    /// and read container metadata through the Kubernetes API instead.
    pub ContainerRuntimeSocket {
        id: "POD006",
        name: "container-runtime-socket",
        severity: Critical,
        data: [Kubernetes],
        scope: Objects(WORKLOAD_KINDS),
        summary: "Pod mounts the container runtime socket",
        remediation: "Remove the hostPath volume of the runtime socket or its directory.",
        guide: &["PS-05"],
    }
}

impl ObjectRule for ContainerRuntimeSocket {
    fn check_object(&self, _cx: &Ctx<'_>, obj: &Object, out: &mut Sink) {
        let Some(pod) = obj.pod_spec() else { return };
        for v in host_path_volumes(&pod) {
            if is_runtime_path(v.host_path) {
                let what = if normalize_path(v.host_path) == "/" {
                    "the host root filesystem"
                } else {
                    "the container runtime socket"
                };
                out.report(
                    obj,
                    v.field.key("path"),
                    format!(
                        "volume `{}` mounts host path `{}`, which exposes {what}",
                        v.name, v.host_path
                    ),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_sockets_and_their_directories() {
        for p in [
            "/var/run/docker.sock",
            "/run/containerd/containerd.sock",
            "/var/run/",
            "//run",
            "/var/log/../run/crio/",
            "/",
            "/custom/cri-dockerd.sock",
            "/run/user/1000/podman/podman.sock",
            "/run/podman",
            r"\\.\pipe\containerd-containerd",
            r"\\.\PIPE\docker_engine",
            "//./pipe/docker_engine",
        ] {
            assert!(is_runtime_path(p), "{p}");
        }
        for p in [
            "/var/log",
            "/var/lib/docker/containers",
            "/run/xtables.lock",
            "/etc",
            r"\\.\pipe\csi-proxy-disk-v1",
            r"\\.\pipe\containerd-containerd-other",
        ] {
            assert!(!is_runtime_path(p), "{p}");
        }
    }
}
