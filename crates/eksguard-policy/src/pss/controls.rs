//! The controls of the Pod Security Standards, in the order the standard lists them, each
//! with the level it belongs to and a function that finds the fields breaking it.
//!
//! PSA reads each field where it is written: a pod-level value and a container-level value
//! are separate checks, except for `runAsNonRoot` and the seccomp profile of the restricted
//! level, where a container may leave the field unset when the pod sets it. Init and
//! ephemeral containers are checked like regular ones. The fields are read by the model's
//! pod security facts, as the POD and RUN rules read them, with names compared as Pod
//! Security Admission compares them.

use eksguard_model::podsec::{self, Confinement, Reading, Site};
use eksguard_model::{FieldPath, Node, PodSpecView};

use super::Level::{self, Baseline as B, Restricted as R};

/// A field that breaks a control, and why.
pub(super) type Breach = (FieldPath, String);

/// One control of the standard.
pub struct Control {
    pub level: Level,
    /// The control's name in the standard, e.g. "Host Namespaces".
    pub name: &'static str,
    pub(super) check: fn(&PodSpecView<'_>) -> Vec<Breach>,
}

const fn control(
    level: Level,
    name: &'static str,
    check: fn(&PodSpecView<'_>) -> Vec<Breach>,
) -> Control {
    Control { level, name, check }
}

/// The standard's controls: the baseline table, then the restricted one.
pub const CONTROLS: &[Control] = &[
    control(B, "HostProcess", host_process),
    control(B, "Host Namespaces", host_namespaces),
    control(B, "Privileged Containers", privileged),
    control(B, "Capabilities", baseline_capabilities),
    control(B, "HostPath Volumes", host_path_volumes),
    control(B, "Host Ports", host_ports),
    control(B, "AppArmor", apparmor),
    control(B, "SELinux", selinux),
    control(B, "/proc Mount Type", proc_mount),
    control(B, "Seccomp", baseline_seccomp),
    control(B, "Sysctls", sysctls),
    control(R, "Volume Types", volume_types),
    control(R, "Privilege Escalation", privilege_escalation),
    control(R, "Running as Non-root", run_as_non_root),
    control(R, "Running as Non-root user", run_as_non_root_user),
    control(R, "Seccomp", restricted_seccomp),
    control(R, "Capabilities", restricted_capabilities),
];

/// Capabilities the baseline level allows in `capabilities.add`.
const BASELINE_CAPS: &[&str] = &[
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_BIND_SERVICE",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
];

/// Volume types the restricted level allows.
const RESTRICTED_VOLUMES: &[&str] = &[
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
];

/// A breach at a pod or container site, with a message naming who breaks it.
fn at(site: Site<'_>, why: impl FnOnce(&str) -> String) -> Breach {
    let message = why(&site.who());
    (site.path, message)
}

// ---------------------------------------------------------------------------------------
// Baseline

fn host_process(pod: &PodSpecView<'_>) -> Vec<Breach> {
    podsec::host_process(pod)
        .into_iter()
        .map(|site| {
            at(site, |who| {
                format!("{who} sets windowsOptions.hostProcess: true")
            })
        })
        .collect()
}

fn host_namespaces(pod: &PodSpecView<'_>) -> Vec<Breach> {
    podsec::HOST_NAMESPACES
        .iter()
        .filter_map(|f| {
            Some((
                podsec::host_namespace(pod, f)?,
                format!("pod sets {f}: true"),
            ))
        })
        .collect()
}

fn privileged(pod: &PodSpecView<'_>) -> Vec<Breach> {
    podsec::privileged(pod)
        .into_iter()
        .map(|site| at(site, |who| format!("{who} is privileged")))
        .collect()
}

fn baseline_capabilities(pod: &PodSpecView<'_>) -> Vec<Breach> {
    podsec::added_capabilities(pod, Reading::Admission)
        .into_iter()
        .filter(|(_, cap)| !BASELINE_CAPS.contains(&cap.as_str()))
        .map(|(site, cap)| at(site, |who| format!("{who} adds capability {cap}")))
        .collect()
}

fn host_path_volumes(pod: &PodSpecView<'_>) -> Vec<Breach> {
    let mut out = Vec::new();
    for (path, vol) in pod.volumes() {
        for e in vol.entries().iter().filter(|e| &*e.key == "hostPath") {
            out.push((path.key(&e.key), "pod mounts a hostPath volume".into()));
        }
    }
    out
}

fn host_ports(pod: &PodSpecView<'_>) -> Vec<Breach> {
    podsec::host_ports(pod)
        .into_iter()
        .map(|(site, _)| at(site, |who| format!("{who} uses a hostPort")))
        .collect()
}

fn apparmor(pod: &PodSpecView<'_>) -> Vec<Breach> {
    podsec::apparmor_settings(pod)
        .into_iter()
        .filter(|set| set.confinement != Confinement::Confined)
        .map(|set| {
            let value = set.value;
            if set.annotation {
                at(set.site, |who| {
                    format!("AppArmor profile {value} for {who}")
                })
            } else {
                at(set.site, |who| {
                    format!("{who} sets AppArmor profile {value}")
                })
            }
        })
        .collect()
}

fn selinux(pod: &PodSpecView<'_>) -> Vec<Breach> {
    podsec::selinux_custom(pod)
        .into_iter()
        .map(|(site, field, value)| {
            if field == "type" {
                at(site, |who| format!("{who} sets SELinux type {value}"))
            } else {
                at(site, |who| format!("{who} sets a custom SELinux {field}"))
            }
        })
        .collect()
}

fn proc_mount(pod: &PodSpecView<'_>) -> Vec<Breach> {
    podsec::proc_mount(pod)
        .into_iter()
        .map(|(site, value)| at(site, |who| format!("{who} sets procMount: {value}")))
        .collect()
}

/// Unconfined in the fields (the annotation is not read at this level).
fn baseline_seccomp(pod: &PodSpecView<'_>) -> Vec<Breach> {
    podsec::seccomp_settings(pod)
        .into_iter()
        .filter(|set| !set.annotation && set.confinement == Confinement::Unconfined)
        .map(|set| {
            at(set.site, |who| {
                format!("{who} sets seccomp profile Unconfined")
            })
        })
        .collect()
}

fn sysctls(pod: &PodSpecView<'_>) -> Vec<Breach> {
    podsec::unsafe_sysctls(pod, Reading::Admission)
        .into_iter()
        .map(|(path, name)| (path, format!("pod sets unsafe sysctl {name}")))
        .collect()
}

// ---------------------------------------------------------------------------------------
// Restricted

fn volume_types(pod: &PodSpecView<'_>) -> Vec<Breach> {
    let mut out = Vec::new();
    for (path, vol) in pod.volumes() {
        for e in vol.entries() {
            let k = &*e.key;
            if k != "name" && !RESTRICTED_VOLUMES.contains(&k) && !e.value.is_null() {
                out.push((path.key(k), format!("volume type {k} is not allowed")));
            }
        }
    }
    out
}

fn privilege_escalation(pod: &PodSpecView<'_>) -> Vec<Breach> {
    podsec::privilege_escalation(pod, Reading::Admission)
        .into_iter()
        .map(|(site, _)| {
            at(site, |who| {
                format!("{who} does not set allowPrivilegeEscalation: false")
            })
        })
        .collect()
}

/// `runAsNonRoot`: true on the pod or on every container, false nowhere.
fn run_as_non_root(pod: &PodSpecView<'_>) -> Vec<Breach> {
    let mut out = Vec::new();
    let pod_nonroot = pod
        .security_context()
        .and_then(|s| s.get("runAsNonRoot"))
        .and_then(Node::as_bool);
    if pod_nonroot == Some(false) {
        out.push((
            pod.field_path("securityContext").key("runAsNonRoot"),
            "pod sets runAsNonRoot: false".into(),
        ));
    }
    for c in pod.containers() {
        let (own, p) = c.sc_bool("runAsNonRoot");
        let bad = match own {
            Some(b) => !b,
            None => pod_nonroot != Some(true),
        };
        if bad {
            out.push((
                p,
                format!("{} does not set runAsNonRoot: true", c.describe()),
            ));
        }
    }
    out
}

/// `runAsUser` must not be 0, on the pod or on any container.
fn run_as_non_root_user(pod: &PodSpecView<'_>) -> Vec<Breach> {
    let mut out = Vec::new();
    let pod_user = pod.security_context().and_then(|s| s.get("runAsUser"));
    if pod_user.and_then(Node::as_i64) == Some(0) {
        out.push((
            pod.field_path("securityContext").key("runAsUser"),
            "pod sets runAsUser: 0".into(),
        ));
    }
    for c in pod.containers() {
        let (n, p) = c.sc_field("runAsUser");
        if n.and_then(Node::as_i64) == Some(0) {
            out.push((p, format!("{} sets runAsUser: 0", c.describe())));
        }
    }
    out
}

/// RuntimeDefault or Localhost on the pod, or on every container; an explicit pod-level
/// profile other than those two fails too. Not for Windows pods.
fn restricted_seccomp(pod: &PodSpecView<'_>) -> Vec<Breach> {
    let mut out = Vec::new();
    if podsec::is_windows(pod) {
        return out;
    }
    let profile = |n: Option<&Node>| podsec::profile_type(n).map(str::to_string);
    let pod_profile = profile(pod.security_context().and_then(|s| s.get("seccompProfile")));
    let confined =
        |t: &Option<String>| matches!(t.as_deref(), Some("RuntimeDefault" | "Localhost"));
    if pod_profile.is_some() && !confined(&pod_profile) {
        out.push((
            pod.field_path("securityContext")
                .join("seccompProfile.type"),
            format!(
                "pod sets seccomp profile {}",
                pod_profile.as_deref().unwrap_or_default()
            ),
        ));
    }
    for c in pod.containers() {
        let (n, p) = c.sc_field("seccompProfile");
        let own = profile(n);
        let ok = match &own {
            Some(_) => confined(&own),
            None => confined(&pod_profile),
        };
        if !ok {
            out.push((
                p.key("type"),
                format!(
                    "{} has no RuntimeDefault or Localhost seccomp profile",
                    c.describe()
                ),
            ));
        }
    }
    out
}

/// Add nothing but NET_BIND_SERVICE (not checked for Windows pods), and drop ALL.
fn restricted_capabilities(pod: &PodSpecView<'_>) -> Vec<Breach> {
    let mut out = Vec::new();
    if !podsec::is_windows(pod) {
        for (site, cap) in podsec::added_capabilities(pod, Reading::Admission) {
            if cap != "NET_BIND_SERVICE" {
                out.push(at(site, |who| {
                    format!("{who} adds capability {cap} (restricted allows only NET_BIND_SERVICE)")
                }));
            }
        }
    }
    for site in podsec::not_dropping_all(pod, Reading::Admission) {
        out.push(at(site, |who| {
            format!("{who} does not drop ALL capabilities")
        }));
    }
    out
}
