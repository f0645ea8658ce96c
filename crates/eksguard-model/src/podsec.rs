//! Pod security facts: each place a pod spec loosens a container's isolation, read once
//! here and used by the POD and RUN rules, the Pod Security Standards levels of
//! `generate pod-security` and the admission paths, so that they cannot disagree on what a
//! field means.
//!
//! Fields are read as the API server validates them: booleans strictly (the YAML reader
//! already turns YAML 1.1's `yes`/`on` into booleans, and the API rejects the string
//! `"true"`), and `spec.os.name` exactly (`windows`). Names in lists are read one of two
//! ways, chosen by the caller with [`Reading`]: as Pod Security Admission compares them
//! (as written), to predict what a namespace label admits; or as the node applies them
//! (capabilities upper-cased without `CAP_`, sysctls with `/` separators as dots), to
//! judge what a pod can really do. Each function reports every place that sets the field;
//! callers decide which values matter at their level.

use crate::node::Node;
use crate::path::FieldPath;
use crate::selector::PSS_SAFE_SYSCTLS;
use crate::workload::{ContainerView, PodSpecView};

/// How names in capability and sysctl lists are compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reading {
    /// As Pod Security Admission compares them: exactly as written, so `CAP_CHOWN` is not
    /// the allowed `CHOWN` and `drop: [all]` does not drop `ALL`.
    Admission,
    /// As the kubelet and the container runtime apply them.
    Runtime,
}

/// Where a pod spec sets something: on the pod, or on one of its containers.
#[derive(Debug, Clone)]
pub struct Site<'a> {
    pub path: FieldPath,
    pub container: Option<ContainerView<'a>>,
}

impl Site<'_> {
    /// "pod", or "container `app`".
    pub fn who(&self) -> String {
        self.container
            .as_ref()
            .map_or_else(|| "pod".to_string(), ContainerView::describe)
    }
}

fn pod_site<'a>(path: FieldPath) -> Site<'a> {
    Site {
        path,
        container: None,
    }
}

fn container_site<'a>(c: &ContainerView<'a>, path: FieldPath) -> Site<'a> {
    Site {
        path,
        container: Some(c.clone()),
    }
}

/// A Windows pod as the API server and Pod Security Admission see it: `spec.os.name:
/// windows`. The API rejects Linux-only settings (capabilities, seccomp,
/// allowPrivilegeEscalation, ...) on it, and PSA exempts it from those controls.
pub fn is_windows(pod: &PodSpecView<'_>) -> bool {
    pod.spec.at("os.name").and_then(Node::as_str) == Some("windows")
}

/// The node OS labels the scheduler matches; the `beta.` one is still set by kubelets.
const OS_LABELS: [&str; 2] = ["kubernetes.io/os", "beta.kubernetes.io/os"];

/// A pod that can only be scheduled on Windows nodes: [`is_windows`], or a node selector
/// on the OS label equal to `windows`, or a required node affinity each of whose terms
/// admits only `windows` through an OS label `In` expression. Linux-only settings mean
/// nothing there, so the rules asking for them leave it alone; an affinity or selector
/// that also admits `linux` is not Windows.
pub fn runs_on_windows(pod: &PodSpecView<'_>) -> bool {
    if is_windows(pod) {
        return true;
    }
    let selector = pod.field("nodeSelector");
    let mut by_selector = OS_LABELS
        .iter()
        .filter_map(|l| selector.and_then(|s| s.get(l)).and_then(Node::as_str));
    if let Some(first) = by_selector.next() {
        // Two labels that disagree select no node at all; only all-`windows` counts.
        return first == "windows" && by_selector.all(|v| v == "windows");
    }
    let terms = pod
        .spec
        .at("affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms")
        .map(Node::items)
        .unwrap_or(&[]);
    !terms.is_empty()
        && terms.iter().all(|term| {
            term.get("matchExpressions")
                .map(Node::items)
                .unwrap_or(&[])
                .iter()
                .any(|e| {
                    let key = e.get("key").and_then(Node::as_str).unwrap_or("");
                    let values = e.get("values").map(Node::items).unwrap_or(&[]);
                    OS_LABELS.contains(&key)
                        && e.get("operator").and_then(Node::as_str) == Some("In")
                        && !values.is_empty()
                        && values.iter().all(|v| v.as_str() == Some("windows"))
                })
        })
}

/// Whether a Linux-only check leaves the pod alone: as the API sees it when predicting
/// admission, as the scheduler places it when judging what runs.
fn windows_for(pod: &PodSpecView<'_>, reading: Reading) -> bool {
    match reading {
        Reading::Admission => is_windows(pod),
        Reading::Runtime => runs_on_windows(pod),
    }
}

/// `windowsOptions.hostProcess: true` on the pod (which applies to every container) or a
/// container.
pub fn host_process<'a>(pod: &PodSpecView<'a>) -> Vec<Site<'a>> {
    let set = |sc: Option<&Node>| {
        sc.and_then(|sc| sc.at("windowsOptions.hostProcess"))
            .and_then(Node::as_bool)
            == Some(true)
    };
    let mut out = Vec::new();
    if set(pod.security_context()) {
        out.push(pod_site(
            pod.field_path("securityContext.windowsOptions.hostProcess"),
        ));
    }
    for c in pod.containers() {
        if set(c.security_context()) {
            out.push(container_site(
                &c,
                c.path_to("securityContext.windowsOptions.hostProcess"),
            ));
        }
    }
    out
}

/// The host namespaces a pod can share.
pub const HOST_NAMESPACES: [&str; 3] = ["hostNetwork", "hostPID", "hostIPC"];

/// The path of `field` (one of [`HOST_NAMESPACES`]) when the pod sets it to true.
pub fn host_namespace(pod: &PodSpecView<'_>, field: &str) -> Option<FieldPath> {
    (pod.field(field).and_then(Node::as_bool) == Some(true)).then(|| pod.field_path(field))
}

/// Containers with `privileged: true`.
pub fn privileged<'a>(pod: &PodSpecView<'a>) -> Vec<Site<'a>> {
    pod.containers()
        .filter_map(|c| match c.sc_bool("privileged") {
            (Some(true), path) => Some(container_site(&c, path)),
            _ => None,
        })
        .collect()
}

/// Container ports bound on the node, with the port number.
pub fn host_ports<'a>(pod: &PodSpecView<'a>) -> Vec<(Site<'a>, i64)> {
    let mut out = Vec::new();
    for c in pod.containers() {
        let ports = c.node.get("ports").map(Node::items).unwrap_or(&[]);
        for (k, port) in ports.iter().enumerate() {
            match port.get("hostPort").and_then(Node::as_i64) {
                Some(hp) if hp != 0 => out.push((
                    container_site(&c, c.path.key("ports").index(k).key("hostPort")),
                    hp,
                )),
                _ => {}
            }
        }
    }
    out
}

/// Containers whose `procMount` is set to anything but `Default` (the API knows only
/// `Unmasked` besides), with the value.
pub fn proc_mount<'a>(pod: &PodSpecView<'a>) -> Vec<(Site<'a>, String)> {
    pod.containers()
        .filter_map(|c| {
            let (v, path) = c.sc_field("procMount");
            let v = v.and_then(Node::scalar_text)?;
            (v.trim() != "Default").then(|| (container_site(&c, path), v))
        })
        .collect()
}

/// Linux containers that do not set `allowPrivilegeEscalation: false`, with the value they
/// set, if any; `reading` says how a Windows pod is recognised.
pub fn privilege_escalation<'a>(
    pod: &PodSpecView<'a>,
    reading: Reading,
) -> Vec<(Site<'a>, Option<bool>)> {
    if windows_for(pod, reading) {
        return Vec::new();
    }
    pod.containers()
        .filter_map(|c| {
            let (v, path) = c.sc_bool("allowPrivilegeEscalation");
            (v != Some(false)).then(|| (container_site(&c, path), v))
        })
        .collect()
}

/// A container's `capabilities.add` or `capabilities.drop` names, read as `reading` says,
/// with the path of each entry.
fn capabilities(c: &ContainerView<'_>, list: &str, reading: Reading) -> Vec<(String, FieldPath)> {
    match reading {
        Reading::Runtime => c.capabilities(list),
        Reading::Admission => {
            let base = c.path.key("securityContext").key("capabilities").key(list);
            c.security_context()
                .and_then(|sc| sc.at("capabilities"))
                .and_then(|caps| caps.get(list))
                .map(Node::items)
                .unwrap_or(&[])
                .iter()
                .enumerate()
                .filter_map(|(i, n)| Some((n.scalar_text()?, base.index(i))))
                .collect()
        }
    }
}

/// Linux containers that do not drop `ALL` capabilities.
pub fn not_dropping_all<'a>(pod: &PodSpecView<'a>, reading: Reading) -> Vec<Site<'a>> {
    if windows_for(pod, reading) {
        return Vec::new();
    }
    pod.containers()
        .filter(|c| {
            !capabilities(c, "drop", reading)
                .iter()
                .any(|(cap, _)| cap == "ALL")
        })
        .map(|c| container_site(&c, c.path_to("securityContext.capabilities.drop")))
        .collect()
}

/// Every capability a container adds, with the path of the entry.
pub fn added_capabilities<'a>(pod: &PodSpecView<'a>, reading: Reading) -> Vec<(Site<'a>, String)> {
    let mut out = Vec::new();
    for c in pod.containers() {
        for (cap, path) in capabilities(&c, "add", reading) {
            out.push((container_site(&c, path), cap));
        }
    }
    out
}

/// Whether a sysctl is in the set the Pod Security Standards call safe; the kubelet
/// accepts `/` separators for dots.
pub fn sysctl_is_safe(name: &str, reading: Reading) -> bool {
    match reading {
        Reading::Admission => PSS_SAFE_SYSCTLS.contains(&name),
        Reading::Runtime => PSS_SAFE_SYSCTLS.contains(&name.trim().replace('/', ".").as_str()),
    }
}

/// Pod sysctls outside the safe set: the path of each `name` and the name as written.
pub fn unsafe_sysctls(pod: &PodSpecView<'_>, reading: Reading) -> Vec<(FieldPath, String)> {
    let base = pod.field_path("securityContext.sysctls");
    pod.security_context()
        .and_then(|sc| sc.get("sysctls"))
        .map(Node::items)
        .unwrap_or(&[])
        .iter()
        .enumerate()
        .filter_map(|(i, s)| {
            let name = s
                .get("name")
                .and_then(Node::scalar_text)
                .unwrap_or_default();
            (!sysctl_is_safe(&name, reading))
                .then(|| (base.index(i).key("name"), name.trim().to_string()))
        })
        .collect()
}

/// A `hostPath` volume of a pod.
pub struct HostPathVol<'a> {
    pub name: &'a str,
    /// The host path as written.
    pub host_path: &'a str,
    /// The path of the volume's `hostPath` field.
    pub field: FieldPath,
}

pub fn host_path_volumes<'a>(pod: &PodSpecView<'a>) -> Vec<HostPathVol<'a>> {
    pod.volumes()
        .filter_map(|(path, v)| {
            let hp = v.get("hostPath")?;
            Some(HostPathVol {
                name: v.get("name").and_then(Node::as_str).unwrap_or(""),
                host_path: hp.get("path").and_then(Node::as_str).unwrap_or(""),
                field: path.key("hostPath"),
            })
        })
        .collect()
}

/// An absolute path with repeated and trailing slashes, `.` and `..` resolved, so
/// `/var/run/`, `//var/run` and `/var/log/../run` compare equal to their plain form.
pub fn normalize_path(p: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for seg in p.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            s => parts.push(s),
        }
    }
    format!("/{}", parts.join("/"))
}

/// Capabilities that amount to, or lead quickly to, control of the node or its network
/// (upper case, without `CAP_`): POD011 reports them when added, and the admission
/// policies deny them.
pub const DANGEROUS_CAPABILITIES: &[&str] = &[
    "ALL",
    "SYS_ADMIN",
    "NET_ADMIN",
    "SYS_PTRACE",
    "SYS_MODULE",
    "DAC_READ_SEARCH",
    "BPF",
    "PERFMON",
    "SYS_RAWIO",
    "NET_RAW",
];

/// SELinux types container runtimes run containers with.
pub const SELINUX_TYPES: &[&str] = &[
    "container_t",
    "container_init_t",
    "container_kvm_t",
    "container_engine_t",
];

/// Custom SELinux options on the pod or a container: a `type` outside
/// [`SELINUX_TYPES`], or any `user` or `role`; with the field and its value.
pub fn selinux_custom<'a>(pod: &PodSpecView<'a>) -> Vec<(Site<'a>, &'static str, String)> {
    let mut out = Vec::new();
    let mut check = |opts: Option<&Node>, base: FieldPath, c: Option<&ContainerView<'a>>| {
        let Some(opts) = opts else { return };
        for field in ["type", "user", "role"] {
            let Some(v) = opts.get(field).and_then(Node::scalar_text) else {
                continue;
            };
            let v = v.trim();
            if v.is_empty() || (field == "type" && SELINUX_TYPES.contains(&v)) {
                continue;
            }
            let path = base.key(field);
            let site = match c {
                Some(c) => container_site(c, path),
                None => pod_site(path),
            };
            out.push((site, field, v.to_string()));
        }
    };
    check(
        pod.security_context()
            .and_then(|sc| sc.get("seLinuxOptions")),
        pod.field_path("securityContext.seLinuxOptions"),
        None,
    );
    for c in pod.containers() {
        let (opts, path) = c.sc_field("seLinuxOptions");
        check(opts, path, Some(&c));
    }
    out
}

// ---------------------------------------------------------------------------------------
// Seccomp and AppArmor

/// The legacy pod-wide seccomp annotation.
pub const SECCOMP_POD_ANNOTATION: &str = "seccomp.security.alpha.kubernetes.io/pod";

pub fn seccomp_container_annotation(name: &str) -> String {
    format!("container.seccomp.security.alpha.kubernetes.io/{name}")
}

pub fn apparmor_container_annotation(name: &str) -> String {
    format!("container.apparmor.security.beta.kubernetes.io/{name}")
}

/// The path of an annotation on the pod (template) metadata.
pub fn annotation_path(pod: &PodSpecView<'_>, key: &str) -> FieldPath {
    pod.meta_path.key("annotations").key(key)
}

/// How a seccomp or AppArmor setting confines the container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Confinement {
    Confined,
    Unconfined,
    /// Set to something else (an unknown type or value): neither.
    Other,
}

/// `seccompProfile.type` or `appArmorProfile.type` of a securityContext field.
pub fn profile_type(profile: Option<&Node>) -> Option<&str> {
    profile?.get("type").and_then(Node::as_str)
}

/// What a `seccompProfile.type` or `appArmorProfile.type` value does.
pub fn field_confinement(ty: &str) -> Confinement {
    match ty {
        "RuntimeDefault" | "Localhost" => Confinement::Confined,
        "Unconfined" => Confinement::Unconfined,
        _ => Confinement::Other,
    }
}

/// What the value of a legacy seccomp or AppArmor annotation does.
pub fn annotation_confinement(value: &str) -> Confinement {
    let v = value.trim();
    if v == "runtime/default" || v == "docker/default" || v.starts_with("localhost/") {
        Confinement::Confined
    } else if v == "unconfined" {
        Confinement::Unconfined
    } else {
        Confinement::Other
    }
}

/// One explicit seccomp or AppArmor setting: where, what it does, the value as written,
/// and whether it is a legacy annotation rather than a field.
#[derive(Debug, Clone)]
pub struct ProfileSetting<'a> {
    pub site: Site<'a>,
    pub confinement: Confinement,
    pub value: String,
    pub annotation: bool,
}

/// Every seccomp or AppArmor profile the pod spec sets, fields and annotations alike.
fn profile_settings<'a>(
    pod: &PodSpecView<'a>,
    field: &str,
    pod_annotation: Option<&str>,
    container_annotation: fn(&str) -> String,
) -> Vec<ProfileSetting<'a>> {
    let mut out = Vec::new();
    let by_field = |sc_profile: Option<&Node>, site: Site<'a>| {
        profile_type(sc_profile).map(|ty| ProfileSetting {
            site,
            confinement: field_confinement(ty),
            value: ty.to_string(),
            annotation: false,
        })
    };
    let by_annotation = |key: &str, container: Option<&ContainerView<'a>>| {
        pod.annotation(key).map(|v| ProfileSetting {
            site: Site {
                path: annotation_path(pod, key),
                container: container.cloned(),
            },
            confinement: annotation_confinement(v),
            value: v.trim().to_string(),
            annotation: true,
        })
    };
    out.extend(by_field(
        pod.security_context().and_then(|sc| sc.get(field)),
        pod_site(pod.field_path("securityContext").key(field).key("type")),
    ));
    if let Some(key) = pod_annotation {
        out.extend(by_annotation(key, None));
    }
    for c in pod.containers() {
        let (own, path) = c.sc_field(field);
        out.extend(by_field(own, container_site(&c, path.key("type"))));
        out.extend(by_annotation(&container_annotation(c.name()), Some(&c)));
    }
    out
}

/// Every seccomp profile set on the pod or its containers.
pub fn seccomp_settings<'a>(pod: &PodSpecView<'a>) -> Vec<ProfileSetting<'a>> {
    profile_settings(
        pod,
        "seccompProfile",
        Some(SECCOMP_POD_ANNOTATION),
        seccomp_container_annotation,
    )
}

/// Every AppArmor profile set on the pod or its containers.
pub fn apparmor_settings<'a>(pod: &PodSpecView<'a>) -> Vec<ProfileSetting<'a>> {
    profile_settings(pod, "appArmorProfile", None, apparmor_container_annotation)
}

/// The seccomp profile a container ends up with, and whether the container chose it
/// itself (its own field or annotation) rather than inheriting the pod's.
pub fn container_seccomp(
    pod: &PodSpecView<'_>,
    c: &ContainerView<'_>,
) -> (Option<Confinement>, bool) {
    if let Some(ty) = profile_type(c.sc_field("seccompProfile").0) {
        return (Some(field_confinement(ty)), true);
    }
    if let Some(v) = pod.annotation(&seccomp_container_annotation(c.name())) {
        return (Some(annotation_confinement(v)), true);
    }
    let pod_sc = pod
        .security_context()
        .and_then(|sc| sc.get("seccompProfile"));
    if let Some(ty) = profile_type(pod_sc) {
        return (Some(field_confinement(ty)), false);
    }
    let pod_ann = pod.annotation(SECCOMP_POD_ANNOTATION);
    (pod_ann.map(annotation_confinement), false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::object::{Object, Source};
    use crate::yaml::{parse_documents, ParseLimits};

    fn pod(spec: &str) -> Object {
        let text = format!("apiVersion: v1\nkind: Pod\nmetadata: {{name: p}}\nspec: {spec}\n");
        let doc = parse_documents(&text, false, ParseLimits::default())
            .swap_remove(0)
            .unwrap();
        Object::from_node(doc.root, Source::Live, "default").unwrap()
    }

    #[test]
    fn windows_is_the_api_spelling_only() {
        let o = pod("{os: {name: windows}, containers: [{name: a}]}");
        assert!(is_windows(&o.pod_spec().unwrap()));
        let o = pod("{os: {name: Windows}, containers: [{name: a}]}");
        let p = o.pod_spec().unwrap();
        assert!(!is_windows(&p));
        assert_eq!(not_dropping_all(&p, Reading::Runtime).len(), 1);
    }

    #[test]
    fn windows_by_selector_or_affinity_for_the_rules_only() {
        for spec in [
            "{nodeSelector: {kubernetes.io/os: windows}, containers: [{name: a}]}",
            "{nodeSelector: {beta.kubernetes.io/os: windows}, containers: [{name: a}]}",
            "{affinity: {nodeAffinity: {requiredDuringSchedulingIgnoredDuringExecution: {nodeSelectorTerms: [{matchExpressions: [{key: kubernetes.io/os, operator: In, values: [windows]}]}, {matchExpressions: [{key: kubernetes.io/arch, operator: In, values: [amd64]}, {key: kubernetes.io/os, operator: In, values: [windows]}]}]}}}, containers: [{name: a}]}",
        ] {
            let o = pod(spec);
            let p = o.pod_spec().unwrap();
            assert!(runs_on_windows(&p), "{spec}");
            assert!(!is_windows(&p), "{spec}");
            assert!(not_dropping_all(&p, Reading::Runtime).is_empty(), "{spec}");
            assert_eq!(not_dropping_all(&p, Reading::Admission).len(), 1, "{spec}");
            assert!(privilege_escalation(&p, Reading::Runtime).is_empty());
            assert_eq!(privilege_escalation(&p, Reading::Admission).len(), 1);
        }
        for spec in [
            "{nodeSelector: {kubernetes.io/os: linux}, containers: [{name: a}]}",
            "{nodeSelector: {kubernetes.io/os: windows, beta.kubernetes.io/os: linux}, containers: [{name: a}]}",
            "{affinity: {nodeAffinity: {requiredDuringSchedulingIgnoredDuringExecution: {nodeSelectorTerms: [{matchExpressions: [{key: kubernetes.io/os, operator: In, values: [windows, linux]}]}]}}}, containers: [{name: a}]}",
            "{affinity: {nodeAffinity: {requiredDuringSchedulingIgnoredDuringExecution: {nodeSelectorTerms: [{matchExpressions: [{key: kubernetes.io/os, operator: In, values: [windows]}]}, {matchExpressions: [{key: kubernetes.io/arch, operator: In, values: [amd64]}]}]}}}, containers: [{name: a}]}",
            "{affinity: {nodeAffinity: {requiredDuringSchedulingIgnoredDuringExecution: {nodeSelectorTerms: [{matchExpressions: [{key: kubernetes.io/os, operator: NotIn, values: [windows]}]}]}}}, containers: [{name: a}]}",
            "{affinity: {nodeAffinity: {preferredDuringSchedulingIgnoredDuringExecution: [{weight: 1, preference: {matchExpressions: [{key: kubernetes.io/os, operator: In, values: [windows]}]}}]}}, containers: [{name: a}]}",
        ] {
            let o = pod(spec);
            assert!(!runs_on_windows(&o.pod_spec().unwrap()), "{spec}");
        }
    }

    #[test]
    fn sysctl_slashes_are_dots_on_the_node_only() {
        assert!(sysctl_is_safe("kernel/shm_rmid_forced", Reading::Runtime));
        assert!(!sysctl_is_safe(
            "kernel/shm_rmid_forced",
            Reading::Admission
        ));
        assert!(sysctl_is_safe(
            " net.ipv4.tcp_syncookies ",
            Reading::Runtime
        ));
        assert!(!sysctl_is_safe("kernel/msgmax", Reading::Runtime));
        let o = pod("{securityContext: {sysctls: [{name: net/ipv4/ping_group_range}, {name: kernel.msgmax}]}, containers: [{name: a}]}");
        let p = o.pod_spec().unwrap();
        let got = unsafe_sysctls(&p, Reading::Runtime);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].1, "kernel.msgmax");
        assert_eq!(unsafe_sysctls(&p, Reading::Admission).len(), 2);
    }

    #[test]
    fn capability_names_as_written_or_as_applied() {
        let o = pod("{containers: [{name: a, securityContext: {capabilities: {drop: [all], add: [cap_chown]}}}]}");
        let p = o.pod_spec().unwrap();
        assert!(not_dropping_all(&p, Reading::Runtime).is_empty());
        assert_eq!(not_dropping_all(&p, Reading::Admission).len(), 1);
        assert_eq!(added_capabilities(&p, Reading::Runtime)[0].1, "CHOWN");
        assert_eq!(added_capabilities(&p, Reading::Admission)[0].1, "cap_chown");
    }

    #[test]
    fn strings_are_not_booleans() {
        let o = pod(
            "{hostNetwork: 'true', containers: [{name: a, securityContext: {privileged: 'true'}}]}",
        );
        let p = o.pod_spec().unwrap();
        assert!(host_namespace(&p, "hostNetwork").is_none());
        assert!(privileged(&p).is_empty());
        let o =
            pod("{hostNetwork: yes, containers: [{name: a, securityContext: {privileged: on}}]}");
        let p = o.pod_spec().unwrap();
        assert!(host_namespace(&p, "hostNetwork").is_some());
        assert_eq!(privileged(&p).len(), 1);
    }

    #[test]
    fn profiles_from_fields_and_annotations() {
        let o = pod("{securityContext: {seccompProfile: {type: Unconfined}}, containers: [{name: a, securityContext: {appArmorProfile: {type: Localhost}}}]}");
        let p = o.pod_spec().unwrap();
        let s = seccomp_settings(&p);
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].confinement, Confinement::Unconfined);
        assert_eq!(
            s[0].site.path.to_string(),
            "spec.securityContext.seccompProfile.type"
        );
        let a = apparmor_settings(&p);
        assert_eq!(a[0].site.who(), "container `a`");
        assert_eq!(a[0].confinement, Confinement::Confined);
    }
}
