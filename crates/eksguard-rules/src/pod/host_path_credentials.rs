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

/// The same on Windows nodes, without the drive letter: the kubelet root, the kubelet
/// configuration the EKS Windows bootstrap writes, and users' profiles.
const WINDOWS_CREDENTIAL_PATHS: &[&str] = &[
    "/var/lib/kubelet/pki",
    "/var/lib/kubelet/pods",
    "/ProgramData/kubernetes",
    "/Users/*/.aws",
    "/Users/*/.kube",
    "/Users/*/.docker",
    "/Users/*/.ssh",
];

/// A path written the Windows way: with a drive letter or a backslash. Named pipes
/// (`\.\pipe\…`) are endpoints, not directories, and are left to POD006.
fn windows_path(p: &str) -> Option<String> {
    let b = p.as_bytes();
    let drive = b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':';
    if !drive && !p.contains('\\') {
        return None;
    }
    let rest = if drive { &p[2..] } else { p };
    let slashed = rest.replace('\\', "/");
    if slashed.starts_with("//./") || slashed.starts_with("//?/") {
        return None;
    }
    Some(normalize_path(&slashed))
}

/// The entry of `list` that `path` (normalised) is, is inside, or contains; `fold`
/// compares segments case-insensitively, as Windows does.
fn find_location(path: &str, list: &'static [&'static str], fold: bool) -> Option<&'static str> {
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    list.iter().copied().find(|loc| {
        let pat: Vec<&str> = loc.split('/').filter(|s| !s.is_empty()).collect();
        // The shorter of the two must be a prefix of the longer, segment by segment.
        segs.iter()
            .zip(&pat)
            .all(|(s, want)| *want == "*" || s == want || (fold && s.eq_ignore_ascii_case(want)))
    })
}

/// The credential location a host path exposes: the location itself, a file or directory
/// inside it, or a parent directory that contains it (`/root`, `/var/lib/kubelet`, `/`,
/// `C:\`), with the normalised path that was compared. Linux locations are returned as
/// written in [`CREDENTIAL_PATHS`], Windows ones with a `C:` drive and backslashes.
/// Windows paths compare case-insensitively, with either separator and any drive.
fn exposed_location(host_path: &str) -> Option<(String, String)> {
    if let Some(p) = windows_path(host_path) {
        let loc = find_location(&p, WINDOWS_CREDENTIAL_PATHS, true)?;
        return Some((format!("C:{}", loc.replace('/', "\\")), p));
    }
    let p = normalize_path(host_path);
    let loc = find_location(&p, CREDENTIAL_PATHS, false)?;
    Some((loc.to_string(), p))
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
    ///   `/var/eks-hybrid/.aws`) and their IAM Roles Anywhere key (`/etc/iam/pki`);
    /// - on Windows nodes, the kubelet's `C:\var\lib\kubelet\pki` and `pods`,
    ///   `C:\ProgramData\kubernetes` (where the EKS Windows bootstrap writes the kubelet's
    ///   kubeconfig) and `C:\Users\<user>\.aws`, `.kube`, `.docker` and `.ssh`. Windows paths
    ///   compare case-insensitively, with `\` or `/` as separator and any or no drive letter,
    ///   and their parents (`C:\`, `C:\var`, `C:\ProgramData`, `C:\Users`) count too.
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
            let Some((loc, p)) = exposed_location(v.host_path) else {
                continue;
            };
            let pat_len = loc
                .split(['/', '\\'])
                .filter(|s| !s.is_empty() && !s.ends_with(':'))
                .count();
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
            assert_eq!(exposed_location(p).map(|l| l.0), Some(loc.into()), "{p}");
        }
        for (p, loc) in [
            (r"C:\var\lib\kubelet", r"C:\var\lib\kubelet\pki"),
            (r"c:\VAR\Lib\kubelet\pods\x", r"C:\var\lib\kubelet\pods"),
            (r"D:/var/lib/kubelet/pki", r"C:\var\lib\kubelet\pki"),
            (r"\var\lib\kubelet\pods", r"C:\var\lib\kubelet\pods"),
            (
                r"C:\ProgramData\kubernetes\kubeconfig",
                r"C:\ProgramData\kubernetes",
            ),
            (r"c:/programdata", r"C:\ProgramData\kubernetes"),
            (r"C:\", r"C:\var\lib\kubelet\pki"),
            (r"C:\var", r"C:\var\lib\kubelet\pki"),
            (r"C:\Users", r"C:\Users\*\.aws"),
            (r"C:\Users\Administrator\.ssh", r"C:\Users\*\.ssh"),
        ] {
            assert_eq!(exposed_location(p).map(|l| l.0), Some(loc.into()), "{p}");
        }
        for p in [
            r"C:\var\lib\kubelet\plugins\ebs.csi.aws.com",
            r"C:\var\lib\kubelet\plugins_registry",
            r"C:\csi",
            r"C:\var\log",
            r"\\.\pipe\csi-proxy-disk-v1",
            r"\\.\pipe\containerd-containerd",
            r"C:\Users\Administrator\Documents",
        ] {
            assert_eq!(exposed_location(p), None, "{p}");
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
