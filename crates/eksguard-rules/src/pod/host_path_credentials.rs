use eksguard_model::Object;

use super::{host_path_volumes, normalize_path};
use crate::{declare_rule, Ctx, ObjectRule, Sink, WORKLOAD_KINDS};

/// Node locations that hold credentials, as path segments; `*` stands for any one segment
/// (a user's home directory).
const CREDENTIAL_PATHS: &[&str] = &[
    // AWS CLI/SDK credentials of root and of users.
    "/root/.aws",
    "/home/*/.aws",
    // kubeconfigs, registry logins and SSH keys of root and of users.
    "/root/.kube",
    "/home/*/.kube",
    "/root/.docker",
    "/home/*/.docker",
    "/root/.ssh",
    "/home/*/.ssh",
    // The kubelet's client certificate and key, and its kubeconfig.
    "/var/lib/kubelet/pki",
    "/var/lib/kubelet/kubeconfig",
    // Every pod's service account and IRSA tokens and Secret volumes.
    "/var/lib/kubelet/pods",
    // Certificates, keys and kubeconfigs under /etc/kubernetes; its other subdirectories
    // (node-feature-discovery feature files, CSI provider sockets, static pod manifests)
    // hold none, but mounting /etc/kubernetes itself exposes these.
    "/etc/kubernetes/pki",
    "/etc/kubernetes/admin.conf",
    "/etc/kubernetes/super-admin.conf",
    "/etc/kubernetes/kubelet.conf",
    "/etc/kubernetes/bootstrap-kubelet.conf",
    "/etc/kubernetes/controller-manager.conf",
    "/etc/kubernetes/scheduler.conf",
    "/etc/kubernetes/aws-iam-authenticator",
    // Hybrid nodes' temporary IAM credentials (Bottlerocket keeps them under /var) and the
    // IAM Roles Anywhere certificate and private key they are issued against.
    "/eks-hybrid/.aws",
    "/var/eks-hybrid/.aws",
    "/etc/iam/pki",
];

/// The credential location a host path exposes: the location itself, a file or directory
/// inside it, or a parent directory that contains it (`/root`, `/var/lib/kubelet`, `/`).
/// The location is returned as written in [`CREDENTIAL_PATHS`].
fn exposed_location(host_path: &str) -> Option<&'static str> {
    let p = normalize_path(host_path);
    let segs: Vec<&str> = p.split('/').filter(|s| !s.is_empty()).collect();
    CREDENTIAL_PATHS.iter().copied().find(|loc| {
        let pat: Vec<&str> = loc.split('/').filter(|s| !s.is_empty()).collect();
        // The shorter of the two must be a prefix of the longer, segment by segment.
        segs.iter()
            .zip(&pat)
            .all(|(s, want)| *want == "*" || s == want)
    })
}

declare_rule! {
    /// ## What it checks
    /// `hostPath` volumes that expose a place where the node keeps credentials:
    /// - AWS credentials of root or any user (`/root/.aws`, `/home/<user>/.aws`), and
    ///   their kubeconfigs, registry logins and SSH keys (`.kube`, `.docker`, `.ssh`);
    /// - the kubelet's client certificate and kubeconfig (`/var/lib/kubelet/pki`,
    ///   `/var/lib/kubelet/kubeconfig`) and the pods' tokens and Secret volumes
    ///   (`/var/lib/kubelet/pods`);
    /// - in `/etc/kubernetes`, the `pki` directory, the kubeconfigs (`admin.conf`,
    ///   `super-admin.conf`, `kubelet.conf`, `bootstrap-kubelet.conf`,
    ///   `controller-manager.conf`, `scheduler.conf`) and `aws-iam-authenticator`;
    /// - the IAM credentials of EKS hybrid nodes (`/eks-hybrid/.aws`,
    ///   `/var/eks-hybrid/.aws`) and their IAM Roles Anywhere key (`/etc/iam/pki`).
    ///
    /// A path inside one of these locations counts, and so does a parent directory that
    /// contains one: mounting `/root`, `/home`, `/var/lib/kubelet`, `/etc/kubernetes`, `/etc`
    /// or `/` exposes them too. Paths are compared after removing repeated and trailing slashes and
    /// resolving `.` and `..`, so `//root/.aws/` and `/tmp/../root/.aws` match. The finding
    /// stands beside POD004, which reports every hostPath volume at lower severity, whether
    /// or not a container mounts it and read-only or not: reading is all it takes.
    ///
    /// ## Why it matters
    /// These files let whoever reads them act as the node, as the node's IAM role, as an
    /// administrator's kubeconfig, or as any pod scheduled on the node. A compromised
    /// container with such a mount walks out with credentials that work outside the pod.
    ///
    /// ## Example
    /// ```yaml
    /// volumes:
    /// - name: aws
    ///   hostPath:
    ///     path: /root/.aws
    /// ```
    ///
    /// ## Fix
    /// Remove the volume. Give the workload its own identity (IRSA or EKS Pod Identity, a
    /// service account token) instead of the node's, and pass certificates as Secrets.
    pub HostPathCredentials {
        id: "POD020",
        name: "host-path-credentials",
        severity: High,
        data: [Kubernetes],
        scope: Objects(WORKLOAD_KINDS),
        summary: "Pod mounts a host path holding node or user credentials",
        remediation: "Remove the hostPath volume; give the workload its own identity through IRSA or Pod Identity.",
        guide: &["PS-06"],
    }
}

impl ObjectRule for HostPathCredentials {
    fn check_object(&self, _cx: &Ctx<'_>, obj: &Object, out: &mut Sink) {
        let Some(pod) = obj.pod_spec() else { return };
        for v in host_path_volumes(&pod) {
            let Some(loc) = exposed_location(v.host_path) else {
                continue;
            };
            let p = normalize_path(v.host_path);
            let pat_len = loc.split('/').filter(|s| !s.is_empty()).count();
            let depth = p.split('/').filter(|s| !s.is_empty()).count();
            let how = match depth.cmp(&pat_len) {
                std::cmp::Ordering::Less => "which contains",
                std::cmp::Ordering::Equal => "which is",
                std::cmp::Ordering::Greater => "inside",
            };
            out.report(
                obj,
                v.field.key("path"),
                format!(
                    "volume `{}` mounts host path `{}`, {how} credential location `{loc}`",
                    v.name, v.host_path
                ),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_locations_their_contents_and_parents() {
        for (p, loc) in [
            ("/root/.aws", "/root/.aws"),
            ("//root/.aws/", "/root/.aws"),
            ("/root/.aws/credentials", "/root/.aws"),
            ("/tmp/../root/./.aws", "/root/.aws"),
            ("/home/ec2-user/.aws", "/home/*/.aws"),
            ("/home/ubuntu/.aws/config", "/home/*/.aws"),
            ("/home", "/home/*/.aws"),
            ("/home/ec2-user", "/home/*/.aws"),
            ("/root", "/root/.aws"),
            ("/", "/root/.aws"),
            ("/var/lib/kubelet", "/var/lib/kubelet/pki"),
            (
                "/var/lib/kubelet/pki/kubelet-client-current.pem",
                "/var/lib/kubelet/pki",
            ),
            ("/var/lib/kubelet/kubeconfig", "/var/lib/kubelet/kubeconfig"),
            ("/etc/kubernetes/", "/etc/kubernetes/pki"),
            ("/etc/kubernetes/admin.conf", "/etc/kubernetes/admin.conf"),
            (
                "/etc/kubernetes/aws-iam-authenticator/",
                "/etc/kubernetes/aws-iam-authenticator",
            ),
            ("/etc", "/etc/kubernetes/pki"),
            ("/var", "/var/lib/kubelet/pki"),
            ("/eks-hybrid/.aws/credentials", "/eks-hybrid/.aws"),
            ("/etc/iam/pki/server.key", "/etc/iam/pki"),
        ] {
            assert_eq!(exposed_location(p), Some(loc), "{p}");
        }
        for p in [
            "/var/log",
            "/var/lib/kubelet/plugins",
            "/var/lib/kubelet/plugins_registry",
            "/var/lib/kubelet/device-plugins",
            "/var/lib/docker/containers",
            "/etc/ssl/certs",
            "/home/ubuntu/data",
            "/root/.awsome",
            "/var/run/docker.sock",
            "/etc/kubernetes-extra",
            "/etc/kubernetes/node-feature-discovery/features.d",
            "/etc/kubernetes/secrets-store-csi-providers",
            "/etc/kubernetes/manifests",
        ] {
            assert_eq!(exposed_location(p), None, "{p}");
        }
    }
}
