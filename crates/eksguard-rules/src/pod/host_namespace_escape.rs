use eksguard_model::workload::ContainerView;
use eksguard_model::{FieldPath, Node, Object};

use super::{command_tokens, host_path_volumes, normalize_path, program, Tok};
use crate::{declare_rule, Ctx, ObjectRule, Sink, WORKLOAD_KINDS};

/// True when the words after `nsenter` (up to the next shell separator) target PID 1.
fn targets_pid_one(words: &[&str]) -> bool {
    words.iter().enumerate().any(|(i, w)| {
        let next = words.get(i + 1).copied();
        match *w {
            "-t" | "--target" => next == Some("1"),
            w => w == "-t1" || w == "--target=1" || w.contains("/proc/1/"),
        }
    })
}

/// The first non-option word after `chroot`: its new root.
fn chroot_target<'w>(words: &[&'w str]) -> Option<&'w str> {
    words.iter().copied().find(|w| !w.starts_with('-'))
}

/// Mount paths at which this container sees the host's root filesystem.
fn host_root_mounts(c: &ContainerView<'_>, root_volumes: &[&str]) -> Vec<String> {
    c.node
        .get("volumeMounts")
        .map(Node::items)
        .unwrap_or(&[])
        .iter()
        .filter(|m| {
            m.get("name")
                .and_then(Node::as_str)
                .is_some_and(|n| root_volumes.contains(&n))
        })
        .filter_map(|m| m.get("mountPath").and_then(Node::as_str))
        .map(normalize_path)
        .collect()
}

declare_rule! {
    /// ## What it checks
    /// Privileged containers in a `hostPID: true` pod whose `command` or `args` (including
    /// an `sh -c` script) enter the host:
    ///
    /// - `nsenter` aimed at PID 1 (`-t 1`, `--target 1`, `--target=1`, `-t1`, or a
    ///   namespace file under `/proc/1/`), whatever other flags (`-a`, `-m -u -i -n -p`) go
    ///   with it;
    /// - `chroot` into `/proc/1/root`, or into the mount path of a hostPath volume of the
    ///   host root `/` — the equivalent escapes through the host's filesystem.
    ///
    /// ## Why it matters
    /// With host PIDs and full privileges, entering PID 1's namespaces gives a root shell on
    /// the node. This is the pattern of "node shell" tools and of attack kits; such a pod
    /// is the node's root account, reachable by anyone who can create or exec into pods.
    ///
    /// ## Example
    /// ```yaml
    /// hostPID: true
    /// containers:
    /// - name: shell
    ///   image: alpine:3.20
    ///   command: ["nsenter", "-t", "1", "-m", "-u", "-i", "-n", "--", "bash"]
    ///   securityContext:
    ///     privileged: true
    /// ```
    ///
    /// ## Fix
    /// Delete the workload; for node access use AWS Systems Manager Session Manager, and
    /// for node tasks a purpose-built DaemonSet without host namespaces.
    pub HostNamespaceEscape {
        id: "POD018",
        name: "host-namespace-escape",
        severity: Critical,
        data: [Kubernetes],
        scope: Objects(WORKLOAD_KINDS),
        summary: "Privileged host-PID container enters the host",
        remediation: "Remove the workload and use SSM Session Manager for node access.",
        guide: &["PS-05"],
    }
}

impl ObjectRule for HostNamespaceEscape {
    fn check_object(&self, _cx: &Ctx<'_>, obj: &Object, out: &mut Sink) {
        let Some(pod) = obj.pod_spec() else { return };
        if !pod.bool_field("hostPID") {
            return;
        }
        let root_volumes: Vec<&str> = host_path_volumes(&pod)
            .into_iter()
            .filter(|v| normalize_path(v.host_path) == "/")
            .map(|v| v.name)
            .collect();
        for c in pod.containers() {
            if c.sc_bool("privileged").0 != Some(true) {
                continue;
            }
            let toks = command_tokens(&c);
            let roots = host_root_mounts(&c, &root_volumes);
            let mut hit: Option<(FieldPath, String)> = None;
            for (i, (t, path)) in toks.iter().enumerate() {
                let Tok::Word(w) = t else { continue };
                let rest: Vec<&str> = toks[i + 1..]
                    .iter()
                    .map_while(|(t, _)| match t {
                        Tok::Word(w) => Some(w.as_str()),
                        Tok::Sep => None,
                    })
                    .collect();
                let found = match program(w) {
                    "nsenter" if targets_pid_one(&rest) => {
                        Some("runs `nsenter` into the namespaces of host PID 1".to_string())
                    }
                    "chroot" => chroot_target(&rest).map(normalize_path).and_then(|t| {
                        if t == "/proc/1/root" {
                            Some("runs `chroot /proc/1/root` into the host filesystem".into())
                        } else if roots.contains(&t) {
                            Some(format!("runs `chroot` into the host root mounted at `{t}`"))
                        } else {
                            None
                        }
                    }),
                    _ => None,
                };
                if let Some(what) = found {
                    hit = Some((path.clone(), what));
                    break;
                }
            }
            if let Some((path, what)) = hit {
                out.report(
                    obj,
                    path,
                    format!("privileged {} in a hostPID pod {what}", c.describe()),
                );
            }
        }
    }
}
