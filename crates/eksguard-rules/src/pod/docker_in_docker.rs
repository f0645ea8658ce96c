use eksguard_model::Object;

use super::{command_tokens, program, Tok};
use crate::{declare_rule, Ctx, ObjectRule, Sink, WORKLOAD_KINDS};

/// Programs that start a Docker daemon.
const DAEMONS: &[&str] = &["dockerd", "dockerd-entrypoint.sh", "dockerd-rootless.sh"];

/// True for images that run a Docker daemon: the official `docker` image with a `dind` tag
/// (`docker:dind`, `docker:27-dind-rootless`) or any repository named `dind` or with a
/// `dind` word in its name (`example/dind`, `acme/ubuntu-dind`).
fn is_dind_image(image: &str) -> bool {
    let image = image.split('@').next().unwrap_or(image).trim();
    let (repo, tag) = match image.rfind(':') {
        Some(i) if !image[i..].contains('/') => (&image[..i], &image[i + 1..]),
        _ => (image, ""),
    };
    let name = repo.rsplit('/').next().unwrap_or(repo).to_ascii_lowercase();
    let tag = tag.to_ascii_lowercase();
    (name == "docker" && tag.split(['-', '.', '_']).any(|w| w == "dind"))
        || name.split(['-', '_', '.']).any(|w| w == "dind")
}

declare_rule! {
    /// ## What it checks
    /// Containers (init, regular and ephemeral) that run a Docker daemon: an image of the
    /// official `docker` repository with a `dind` tag (`docker:dind`, `docker:27-dind`,
    /// `docker:dind-rootless`), an image whose repository name has a `dind` word
    /// (`example/dind`, `acme/ubuntu-dind`), or a `command`/`args` that starts `dockerd`
    /// (also `dockerd-entrypoint.sh` or `dockerd-rootless.sh`, including inside an
    /// `sh -c` script). Client-only images such as `docker:27-cli` are not reported.
    ///
    /// ## Why it matters
    /// A Docker daemon needs a privileged container in practice, and whoever reaches its
    /// socket can run containers with any privilege, outside Kubernetes admission and
    /// audit. Build pipelines that use it are an easy path to the node.
    ///
    /// ## Example
    /// ```yaml
    /// containers:
    /// - name: docker
    ///   image: docker:27-dind
    ///   securityContext:
    ///     privileged: true
    /// ```
    ///
    /// ## Fix
    /// Build images with a daemonless, unprivileged builder (BuildKit rootless, Kaniko,
    /// Buildah) or a managed build service.
    pub DockerInDocker {
        id: "POD017",
        name: "docker-in-docker",
        severity: High,
        data: [Kubernetes],
        scope: Objects(WORKLOAD_KINDS),
        summary: "Container runs a Docker daemon",
        remediation: "Replace Docker-in-Docker with a daemonless builder such as BuildKit rootless or Kaniko.",
        guide: &["PS-05"],
    }
}

impl ObjectRule for DockerInDocker {
    fn check_object(&self, _cx: &Ctx<'_>, obj: &Object, out: &mut Sink) {
        let Some(pod) = obj.pod_spec() else { return };
        for c in pod.containers() {
            if let Some(image) = c.image().filter(|i| is_dind_image(i)) {
                out.report(
                    obj,
                    c.path_to("image"),
                    format!("{} runs Docker-in-Docker image `{image}`", c.describe()),
                );
                continue;
            }
            let daemon = command_tokens(&c)
                .into_iter()
                .find_map(|(t, path)| match t {
                    Tok::Word(w) if DAEMONS.contains(&program(&w)) => Some((w, path)),
                    _ => None,
                });
            if let Some((word, path)) = daemon {
                out.report(
                    obj,
                    path,
                    format!("{} starts a Docker daemon (`{word}`)", c.describe()),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_dind_images() {
        for i in [
            "docker:dind",
            "docker:27.3-dind",
            "docker.io/library/docker:dind-rootless",
            "registry.example.com:5000/mirror/docker:26-dind@sha256:abc",
            "example/dind:latest",
            "acme/ubuntu-dind",
        ] {
            assert!(is_dind_image(i), "{i}");
        }
        for i in [
            "docker:27-cli",
            "docker",
            "docker:latest",
            "registry.example.com:5000/app:dind-test-harness",
            "moby/buildkit:rootless",
            "example/dindon",
        ] {
            assert!(!is_dind_image(i), "{i}");
        }
    }
}
