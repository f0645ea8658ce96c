//! Pod Security Standards (Kubernetes v1.33), checked field by field as the Pod Security
//! Admission controller checks them, and the namespace labels and securityContext patches
//! that follow from the result.
//!
//! PSA reads each field where it is written: a pod-level value and a container-level value
//! are separate checks, except for `runAsNonRoot` and the seccomp profile of the restricted
//! level, where a container may leave the field unset when the pod sets it. Init and
//! ephemeral containers are checked like regular ones.

use std::collections::BTreeMap;

use eksguard_model::{ContainerView, FieldPath, Node, Object, PodSpecView};

use eksguard_model::podsec::{self, Confinement, Reading};

use crate::yaml::{Stream, Yaml};

/// The Pod Security Standards version these checks implement.
pub const PSS_VERSION: &str = "v1.33";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    Privileged,
    Baseline,
    Restricted,
}

impl Level {
    pub fn name(self) -> &'static str {
        match self {
            Level::Privileged => "privileged",
            Level::Baseline => "baseline",
            Level::Restricted => "restricted",
        }
    }

    pub fn stricter(self) -> Option<Level> {
        match self {
            Level::Privileged => Some(Level::Baseline),
            Level::Baseline => Some(Level::Restricted),
            Level::Restricted => None,
        }
    }
}

/// One field that keeps a pod out of a level.
#[derive(Debug, Clone, PartialEq)]
pub struct Violation {
    /// The level the field violates.
    pub level: Level,
    /// The check's name in the standard, e.g. "Host Namespaces".
    pub check: &'static str,
    pub path: FieldPath,
    pub message: String,
}

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

/// Every violation of the baseline and restricted levels in a pod spec. The fields are
/// read by the model's pod security facts, as the POD and RUN rules read them, with names
/// compared as Pod Security Admission compares them.
pub fn check_pod(pod: &PodSpecView<'_>) -> Vec<Violation> {
    let mut v = Vec::new();
    let mut add = |level, check, path: FieldPath, message: String| {
        v.push(Violation {
            level,
            check,
            path,
            message,
        })
    };
    use Level::{Baseline as B, Restricted as R};
    let psc = pod.security_context();
    let psc_path = pod.field_path("securityContext");
    let windows = podsec::is_windows(pod);
    let containers: Vec<ContainerView<'_>> = pod.containers().collect();

    for site in podsec::host_process(pod) {
        add(
            B,
            "HostProcess",
            site.path.clone(),
            format!("{} sets windowsOptions.hostProcess: true", site.who()),
        );
    }
    for f in podsec::HOST_NAMESPACES {
        if let Some(path) = podsec::host_namespace(pod, f) {
            add(B, "Host Namespaces", path, format!("pod sets {f}: true"));
        }
    }
    for site in podsec::privileged(pod) {
        add(
            B,
            "Privileged Containers",
            site.path.clone(),
            format!("{} is privileged", site.who()),
        );
    }
    for (site, cap) in podsec::added_capabilities(pod, Reading::Admission) {
        if !BASELINE_CAPS.contains(&cap.as_str()) {
            add(
                B,
                "Capabilities",
                site.path.clone(),
                format!("{} adds capability {cap}", site.who()),
            );
        }
        if !windows && cap != "NET_BIND_SERVICE" {
            add(
                R,
                "Capabilities",
                site.path.clone(),
                format!(
                    "{} adds capability {cap} (restricted allows only NET_BIND_SERVICE)",
                    site.who()
                ),
            );
        }
    }
    for (site, _) in podsec::host_ports(pod) {
        add(
            B,
            "Host Ports",
            site.path.clone(),
            format!("{} uses a hostPort", site.who()),
        );
    }
    for (site, value) in podsec::proc_mount(pod) {
        add(
            B,
            "/proc Mount Type",
            site.path.clone(),
            format!("{} sets procMount: {value}", site.who()),
        );
    }
    for (site, _) in podsec::privilege_escalation(pod) {
        add(
            R,
            "Privilege Escalation",
            site.path.clone(),
            format!(
                "{} does not set allowPrivilegeEscalation: false",
                site.who()
            ),
        );
    }
    for site in podsec::not_dropping_all(pod, Reading::Admission) {
        add(
            R,
            "Capabilities",
            site.path.clone(),
            format!("{} does not drop ALL capabilities", site.who()),
        );
    }
    // Baseline: hostPath; restricted: volume types.
    for (path, vol) in pod.volumes() {
        for e in vol.entries() {
            let k = &*e.key;
            if k == "name" {
                continue;
            }
            if k == "hostPath" {
                add(
                    B,
                    "HostPath Volumes",
                    path.key("hostPath"),
                    "pod mounts a hostPath volume".into(),
                );
            }
            if !RESTRICTED_VOLUMES.contains(&k) && !e.value.is_null() {
                add(
                    R,
                    "Volume Types",
                    path.key(k),
                    format!("volume type {k} is not allowed"),
                );
            }
        }
    }
    for set in podsec::apparmor_settings(pod) {
        if set.confinement == Confinement::Confined {
            continue;
        }
        let message = if set.annotation {
            format!("AppArmor profile {} for {}", set.value, set.site.who())
        } else {
            format!("{} sets AppArmor profile {}", set.site.who(), set.value)
        };
        add(B, "AppArmor", set.site.path.clone(), message);
    }
    for (site, field, value) in podsec::selinux_custom(pod) {
        let message = if field == "type" {
            format!("{} sets SELinux type {value}", site.who())
        } else {
            format!("{} sets a custom SELinux {field}", site.who())
        };
        add(B, "SELinux", site.path.clone(), message);
    }
    // Seccomp: baseline forbids Unconfined in the fields; restricted requires
    // RuntimeDefault or Localhost on the pod, or on every container.
    for set in podsec::seccomp_settings(pod) {
        if !set.annotation && set.confinement == Confinement::Unconfined {
            add(
                B,
                "Seccomp",
                set.site.path.clone(),
                format!("{} sets seccomp profile Unconfined", set.site.who()),
            );
        }
    }
    let profile = |n: Option<&Node>| podsec::profile_type(n).map(str::to_string);
    let pod_profile = profile(psc.and_then(|s| s.get("seccompProfile")));
    let confined =
        |t: &Option<String>| matches!(t.as_deref(), Some("RuntimeDefault" | "Localhost"));
    // An explicit pod-level profile other than the two confined ones fails restricted too.
    if !windows && pod_profile.is_some() && !confined(&pod_profile) {
        add(
            R,
            "Seccomp",
            psc_path.join("seccompProfile.type"),
            format!(
                "pod sets seccomp profile {}",
                pod_profile.as_deref().unwrap_or_default()
            ),
        );
    }
    for c in &containers {
        let (n, p) = c.sc_field("seccompProfile");
        let own = profile(n);
        let ok = match &own {
            Some(_) => confined(&own),
            None => confined(&pod_profile),
        };
        if !windows && !ok {
            add(
                R,
                "Seccomp",
                p.key("type"),
                format!(
                    "{} has no RuntimeDefault or Localhost seccomp profile",
                    c.describe()
                ),
            );
        }
    }
    for (path, name) in podsec::unsafe_sysctls(pod, Reading::Admission) {
        add(B, "Sysctls", path, format!("pod sets unsafe sysctl {name}"));
    }
    // Restricted: runAsNonRoot, true on the pod or on every container, false nowhere.
    let pod_nonroot = psc
        .and_then(|s| s.get("runAsNonRoot"))
        .and_then(Node::as_bool);
    if pod_nonroot == Some(false) {
        add(
            R,
            "Running as Non-root",
            psc_path.key("runAsNonRoot"),
            "pod sets runAsNonRoot: false".into(),
        );
    }
    for c in &containers {
        let (own, p) = c.sc_bool("runAsNonRoot");
        let bad = match own {
            Some(b) => !b,
            None => pod_nonroot != Some(true),
        };
        if bad {
            add(
                R,
                "Running as Non-root",
                p,
                format!("{} does not set runAsNonRoot: true", c.describe()),
            );
        }
    }
    // Restricted: runAsUser must not be 0, on the pod or on any container.
    if psc.and_then(|s| s.get("runAsUser")).and_then(Node::as_i64) == Some(0) {
        add(
            R,
            "Running as Non-root user",
            psc_path.key("runAsUser"),
            "pod sets runAsUser: 0".into(),
        );
    }
    for c in &containers {
        let (n, p) = c.sc_field("runAsUser");
        if n.and_then(Node::as_i64) == Some(0) {
            add(
                R,
                "Running as Non-root user",
                p,
                format!("{} sets runAsUser: 0", c.describe()),
            );
        }
    }
    v
}

/// The strictest level a set of violations allows.
pub fn level_of(violations: &[Violation]) -> Level {
    if violations.iter().any(|v| v.level == Level::Baseline) {
        Level::Privileged
    } else if violations.iter().any(|v| v.level == Level::Restricted) {
        Level::Baseline
    } else {
        Level::Restricted
    }
}

/// One workload's result.
#[derive(Debug, Clone)]
pub struct WorkloadLevel {
    pub workload: String,
    pub file: Option<String>,
    pub level: Level,
    /// Violations of the next stricter level, with their lines when known.
    pub blockers: Vec<(Violation, Option<u32>)>,
}

/// One namespace's result.
#[derive(Debug, Clone)]
pub struct NamespaceLevel {
    pub namespace: String,
    pub level: Level,
    pub workloads: Vec<WorkloadLevel>,
}

impl NamespaceLevel {
    /// The labels to apply: enforce what every workload meets, audit and warn at the next
    /// stricter level so the remaining gaps show up without breaking anything.
    pub fn labels(&self) -> Vec<(String, String)> {
        let next = self.level.stricter().unwrap_or(self.level);
        let p = "pod-security.kubernetes.io";
        vec![
            (format!("{p}/enforce"), self.level.name().into()),
            (format!("{p}/enforce-version"), PSS_VERSION.into()),
            (format!("{p}/audit"), next.name().into()),
            (format!("{p}/audit-version"), PSS_VERSION.into()),
            (format!("{p}/warn"), next.name().into()),
            (format!("{p}/warn-version"), PSS_VERSION.into()),
        ]
    }
}

/// The level of every namespace that has a workload or a Namespace object in `objects`.
pub fn namespace_levels<'a>(objects: impl IntoIterator<Item = &'a Object>) -> Vec<NamespaceLevel> {
    let mut by_ns: BTreeMap<String, Vec<WorkloadLevel>> = BTreeMap::new();
    for obj in objects {
        if &*obj.kind == "Namespace" {
            by_ns.entry(obj.name.to_string()).or_default();
            continue;
        }
        let (Some(pod), Some(ns)) = (obj.pod_spec(), obj.ns()) else {
            continue;
        };
        let violations = check_pod(&pod);
        let level = level_of(&violations);
        let blockers = match level.stricter() {
            Some(next) => violations
                .into_iter()
                .filter(|v| v.level == next)
                .map(|v| {
                    let line = obj.locate(&v.path).map(|p| p.line);
                    (v, line)
                })
                .collect(),
            None => Vec::new(),
        };
        by_ns
            .entry(ns.to_string())
            .or_default()
            .push(WorkloadLevel {
                workload: obj.display_name(),
                file: obj.file().map(str::to_string),
                level,
                blockers,
            });
    }
    by_ns
        .into_iter()
        .map(|(namespace, workloads)| NamespaceLevel {
            level: workloads
                .iter()
                .map(|w| w.level)
                .min()
                .unwrap_or(Level::Restricted),
            namespace,
            workloads,
        })
        .collect()
}

/// A Namespace object carrying the labels.
pub fn namespace_object(ns: &NamespaceLevel) -> Yaml {
    Yaml::map([
        ("apiVersion", Yaml::str("v1")),
        ("kind", Yaml::str("Namespace")),
        (
            "metadata",
            Yaml::map([
                ("name", Yaml::str(&ns.namespace)),
                (
                    "labels",
                    Yaml::Map(
                        ns.labels()
                            .into_iter()
                            .map(|(k, v)| (k, Yaml::Str(v)))
                            .collect(),
                    ),
                ),
            ]),
        ),
    ])
}

/// The report of one namespace, one line of text per entry (unescaped: for a comment).
fn namespace_notes(ns: &NamespaceLevel) -> Vec<String> {
    let mut out = vec![format!(
        "namespace {}: {} (Pod Security Standards {PSS_VERSION})",
        ns.namespace,
        ns.level.name()
    )];
    for w in &ns.workloads {
        out.push(format!("  {}: {}", w.workload, w.level.name()));
        for (v, line) in &w.blockers {
            let at = match (&w.file, line) {
                (Some(f), Some(l)) => format!(" ({f}:{l})"),
                _ => String::new(),
            };
            out.push(format!(
                "    blocks {}: {} [{}] {}{at}",
                v.level.name(),
                v.path,
                v.check,
                v.message
            ));
        }
    }
    out
}

/// The report of one namespace as `#` comment lines, escaped like every generated comment.
pub fn namespace_comment(ns: &NamespaceLevel) -> String {
    crate::yaml::comments(namespace_notes(ns))
}

/// The labels document: a commented Namespace per namespace.
pub fn render_namespaces(levels: &[NamespaceLevel]) -> String {
    let mut out = Stream::new();
    for ns in levels {
        for line in namespace_notes(ns) {
            out.comment(&line);
        }
        out.document(&namespace_object(ns));
    }
    out.finish()
}

/// Mount paths whose presence as a writable emptyDir suggests the container keeps its
/// scratch data on volumes.
const SCRATCH_PATHS: &[&str] = &["/tmp", "/var/tmp"];

/// A strategic-merge patch giving a workload the least-privilege securityContext it can take
/// without breaking, or `None` when there is nothing to tighten (or the pod is Windows).
///
/// Heuristics:
/// - seccompProfile RuntimeDefault on the pod when the pod sets none; containers with their
///   own profile keep it;
/// - allowPrivilegeEscalation false, unless the container is privileged or adds SYS_ADMIN
///   (the API rejects the combination);
/// - capabilities drop ALL keeping the container's own adds, unless privileged;
/// - runAsNonRoot true only where runAsUser is set non-zero, since an image whose user is
///   root would otherwise fail to start;
/// - readOnlyRootFilesystem true only when the container mounts a writable emptyDir at
///   /tmp or /var/tmp: the manifest cannot show where a process writes, and a scratch
///   volume is the sign that writes were moved off the root file system.
pub fn patch_for(obj: &Object) -> Option<Yaml> {
    let pod = obj.pod_spec()?;
    if podsec::is_windows(&pod) || !podsec::host_process(&pod).is_empty() {
        return None;
    }
    let mut spec = Yaml::empty_map();
    let psc = pod.security_context();
    if psc.and_then(|s| s.get("seccompProfile")).is_none() {
        spec.child("securityContext").set(
            "seccompProfile",
            Yaml::map([("type", Yaml::str("RuntimeDefault"))]),
        );
    }
    let emptydirs: Vec<&str> = pod
        .volumes()
        .filter(|(_, v)| v.get("emptyDir").is_some())
        .filter_map(|(_, v)| v.get("name").and_then(Node::as_str))
        .collect();
    let mut lists: BTreeMap<&'static str, Vec<Yaml>> = BTreeMap::new();
    for c in pod.containers() {
        let mut sc = Yaml::empty_map();
        let privileged = c.sc_bool("privileged").0 == Some(true);
        let adds: Vec<String> = c.capabilities("add").into_iter().map(|(n, _)| n).collect();
        let sys_admin = adds.iter().any(|a| a == "SYS_ADMIN");
        if !privileged && !sys_admin && c.sc_bool("allowPrivilegeEscalation").0.is_none() {
            sc.set("allowPrivilegeEscalation", Yaml::Bool(false));
        }
        if !privileged && !c.capabilities("drop").iter().any(|(d, _)| d == "ALL") {
            let mut caps = Yaml::map([("drop", Yaml::Seq(vec![Yaml::str("ALL")]))]);
            if !adds.is_empty() {
                caps.set("add", Yaml::Seq(adds.iter().map(Yaml::str).collect()));
            }
            sc.set("capabilities", caps);
        }
        let user = c.effective_i64("runAsUser").0;
        if user.is_some_and(|u| u > 0) && c.effective_bool("runAsNonRoot").0.is_none() {
            sc.set("runAsNonRoot", Yaml::Bool(true));
        }
        let scratch = c
            .node
            .get("volumeMounts")
            .map(Node::items)
            .unwrap_or(&[])
            .iter()
            .any(|m| {
                let path = m.get("mountPath").and_then(Node::as_str).unwrap_or("");
                let name = m.get("name").and_then(Node::as_str).unwrap_or("");
                SCRATCH_PATHS.contains(&path.trim_end_matches('/'))
                    && emptydirs.contains(&name)
                    && m.get("readOnly").and_then(Node::as_bool) != Some(true)
            });
        if scratch && c.sc_bool("readOnlyRootFilesystem").0.is_none() && !privileged {
            sc.set("readOnlyRootFilesystem", Yaml::Bool(true));
        }
        if matches!(&sc, Yaml::Map(m) if !m.is_empty()) {
            lists.entry(c.kind.field()).or_default().push(Yaml::map([
                ("name", Yaml::str(c.name())),
                ("securityContext", sc),
            ]));
        }
    }
    for (field, items) in lists {
        spec.set(field, Yaml::Seq(items));
    }
    if matches!(&spec, Yaml::Map(m) if m.is_empty()) {
        return None;
    }
    // Wrap the pod-spec patch in the workload's path to it.
    let mut body = spec;
    for seg in pod.path.segs().iter().rev() {
        if let eksguard_model::Seg::Key(k) = seg {
            body = Yaml::map([(k.to_string(), body)]);
        }
    }
    let mut meta = Yaml::map([("name", Yaml::str(&*obj.name))]);
    if let Some(ns) = obj.ns() {
        meta.set("namespace", Yaml::str(ns));
    }
    let mut doc = Yaml::map([
        ("apiVersion", Yaml::str(&*obj.api_version)),
        ("kind", Yaml::str(&*obj.kind)),
        ("metadata", meta),
    ]);
    if let Yaml::Map(entries) = body {
        for (k, v) in entries {
            doc.set(&k, v);
        }
    }
    Some(doc)
}

/// Every workload's patch, as YAML documents with a comment naming the target.
pub fn render_patches<'a>(objects: impl IntoIterator<Item = &'a Object>) -> String {
    let mut out = Stream::new();
    for obj in objects {
        let Some(doc) = patch_for(obj) else { continue };
        // A running Pod's securityContext is immutable: a bare Pod's patch is for its manifest.
        let how = if &*obj.kind == "Pod" {
            "merge into the manifest"
        } else {
            "kubectl patch --type strategic"
        };
        out.comment(&format!(
            "strategic-merge patch for {} ({how})",
            obj.display_name()
        ));
        out.document(&doc);
    }
    out.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use eksguard_model::yaml::{parse_documents, ParseLimits};
    use eksguard_model::Source;

    fn pod(spec: &str) -> Object {
        let text = format!("apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n{spec}");
        let doc = parse_documents(&text, true, ParseLimits::default())
            .into_iter()
            .next()
            .unwrap()
            .unwrap();
        let source = Source::File {
            path: "t.yaml".into(),
            doc: 0,
            item: None,
        };
        Object::from_node(doc.root, source, "default").unwrap()
    }

    /// A pod that meets restricted, with `extra` lines appended to the container.
    const RESTRICTED: &str = "spec:
  securityContext:
    runAsNonRoot: true
    seccompProfile:
      type: RuntimeDefault
  containers:
    - name: app
      image: app
      securityContext:
        allowPrivilegeEscalation: false
        capabilities:
          drop: [ALL]
";

    fn checks(obj: &Object) -> Vec<(Level, &'static str, String)> {
        check_pod(&obj.pod_spec().unwrap())
            .into_iter()
            .map(|v| (v.level, v.check, v.path.to_string()))
            .collect()
    }

    fn with(extra_pod: &str, extra_container: &str) -> Object {
        let mut s = RESTRICTED.replace(
            "  securityContext:\n    runAsNonRoot",
            &format!("{extra_pod}  securityContext:\n    runAsNonRoot"),
        );
        s.push_str(extra_container);
        pod(&s)
    }

    fn only(obj: &Object, level: Level, check: &str, path: &str) {
        assert_eq!(
            checks(obj),
            vec![(level, leak(check), path.to_string())],
            "{obj:?}"
        );
    }

    fn leak(s: &str) -> &'static str {
        Box::leak(s.to_string().into_boxed_str())
    }

    const C: &str = "spec.containers[0]";

    #[test]
    fn restricted_pod_has_no_violations() {
        let p = with("", "");
        assert!(checks(&p).is_empty());
        let levels = namespace_levels([&p]);
        assert_eq!(levels[0].level, Level::Restricted);
    }

    #[test]
    fn host_namespaces() {
        for f in ["hostNetwork", "hostPID", "hostIPC"] {
            only(
                &with(&format!("  {f}: true\n"), ""),
                Level::Baseline,
                "Host Namespaces",
                &format!("spec.{f}"),
            );
            assert!(checks(&with(&format!("  {f}: false\n"), "")).is_empty());
        }
    }

    #[test]
    fn privileged() {
        only(
            &with("", "        privileged: true\n"),
            Level::Baseline,
            "Privileged Containers",
            &format!("{C}.securityContext.privileged"),
        );
    }

    #[test]
    fn capabilities_baseline_set_and_restricted_add() {
        let p = pod(&RESTRICTED.replace(
            "drop: [ALL]",
            "drop: [ALL]\n          add: [CHOWN, NET_BIND_SERVICE, SYS_ADMIN]",
        ));
        let cap = format!("{C}.securityContext.capabilities.add");
        assert_eq!(
            checks(&p),
            vec![
                (Level::Restricted, "Capabilities", format!("{cap}[0]")),
                (Level::Baseline, "Capabilities", format!("{cap}[2]")),
                (Level::Restricted, "Capabilities", format!("{cap}[2]")),
            ]
        );
        // Restricted needs drop ALL, spelled exactly.
        let p = pod(&RESTRICTED.replace("drop: [ALL]", "drop: [all]"));
        only(
            &p,
            Level::Restricted,
            "Capabilities",
            &format!("{C}.securityContext.capabilities.drop"),
        );
    }

    #[test]
    fn host_path_and_volume_types() {
        let p = with(
            "  volumes:\n    - name: h\n      hostPath:\n        path: /\n    - name: n\n      nfs:\n        server: x\n    - name: ok\n      emptyDir: {}\n",
            "",
        );
        assert_eq!(
            checks(&p),
            vec![
                (
                    Level::Baseline,
                    "HostPath Volumes",
                    "spec.volumes[0].hostPath".into()
                ),
                (
                    Level::Restricted,
                    "Volume Types",
                    "spec.volumes[0].hostPath".into()
                ),
                (
                    Level::Restricted,
                    "Volume Types",
                    "spec.volumes[1].nfs".into()
                ),
            ]
        );
    }

    #[test]
    fn host_ports() {
        only(
            &with(
                "",
                "      ports:\n        - containerPort: 80\n          hostPort: 80\n",
            ),
            Level::Baseline,
            "Host Ports",
            &format!("{C}.ports[0].hostPort"),
        );
        assert!(checks(&with(
            "",
            "      ports:\n        - containerPort: 80\n          hostPort: 0\n"
        ))
        .is_empty());
    }

    #[test]
    fn apparmor_annotation_and_field() {
        let p = pod(&format!(
            "  annotations:\n    container.apparmor.security.beta.kubernetes.io/app: unconfined\n{RESTRICTED}"
        ));
        only(
            &p,
            Level::Baseline,
            "AppArmor",
            "metadata.annotations[\"container.apparmor.security.beta.kubernetes.io/app\"]",
        );
        only(
            &with("", "        appArmorProfile:\n          type: Unconfined\n"),
            Level::Baseline,
            "AppArmor",
            &format!("{C}.securityContext.appArmorProfile.type"),
        );
        assert!(checks(&with(
            "",
            "        appArmorProfile:\n          type: Localhost\n"
        ))
        .is_empty());
    }

    #[test]
    fn selinux() {
        only(
            &with("", "        seLinuxOptions:\n          type: spc_t\n"),
            Level::Baseline,
            "SELinux",
            &format!("{C}.securityContext.seLinuxOptions.type"),
        );
        only(
            &with("", "        seLinuxOptions:\n          role: sysadm_r\n"),
            Level::Baseline,
            "SELinux",
            &format!("{C}.securityContext.seLinuxOptions.role"),
        );
        assert!(checks(&with(
            "",
            "        seLinuxOptions:\n          type: container_init_t\n          level: s0:c1\n"
        ))
        .is_empty());
    }

    #[test]
    fn proc_mount() {
        only(
            &with("", "        procMount: Unmasked\n"),
            Level::Baseline,
            "/proc Mount Type",
            &format!("{C}.securityContext.procMount"),
        );
    }

    #[test]
    fn seccomp_unconfined_and_inheritance() {
        let p = with("", "        seccompProfile:\n          type: Unconfined\n");
        assert_eq!(
            checks(&p),
            vec![
                (
                    Level::Baseline,
                    "Seccomp",
                    format!("{C}.securityContext.seccompProfile.type")
                ),
                (
                    Level::Restricted,
                    "Seccomp",
                    format!("{C}.securityContext.seccompProfile.type")
                ),
            ]
        );
        // Without a pod profile every container needs its own.
        let p = pod(&RESTRICTED.replace("    seccompProfile:\n      type: RuntimeDefault\n", ""));
        only(
            &p,
            Level::Restricted,
            "Seccomp",
            &format!("{C}.securityContext.seccompProfile.type"),
        );
    }

    #[test]
    fn pod_level_unconfined_fails_both_levels() {
        let p = pod(&RESTRICTED.replace("type: RuntimeDefault", "type: Unconfined"));
        let found = checks(&p);
        let pod_path = "spec.securityContext.seccompProfile.type".to_string();
        assert!(found.contains(&(Level::Baseline, "Seccomp", pod_path.clone())));
        assert!(found.contains(&(Level::Restricted, "Seccomp", pod_path)));
        assert_eq!(
            level_of(&check_pod(&p.pod_spec().unwrap())),
            Level::Privileged
        );
    }

    #[test]
    fn sysctls() {
        let p = with("", "");
        assert!(checks(&p).is_empty());
        let p = pod(&RESTRICTED.replace(
            "    runAsNonRoot: true\n",
            "    runAsNonRoot: true\n    sysctls:\n      - name: net.ipv4.tcp_syncookies\n        value: \"1\"\n      - name: kernel.msgmax\n        value: \"1\"\n",
        ));
        only(
            &p,
            Level::Baseline,
            "Sysctls",
            "spec.securityContext.sysctls[1].name",
        );
    }

    #[test]
    fn host_process() {
        only(
            &with("", "        windowsOptions:\n          hostProcess: true\n"),
            Level::Baseline,
            "HostProcess",
            &format!("{C}.securityContext.windowsOptions.hostProcess"),
        );
    }

    #[test]
    fn privilege_escalation() {
        let p = pod(&RESTRICTED.replace(
            "allowPrivilegeEscalation: false",
            "allowPrivilegeEscalation: true",
        ));
        only(
            &p,
            Level::Restricted,
            "Privilege Escalation",
            &format!("{C}.securityContext.allowPrivilegeEscalation"),
        );
    }

    #[test]
    fn run_as_non_root_inheritance() {
        // Container false overrides a pod true.
        only(
            &with("", "        runAsNonRoot: false\n"),
            Level::Restricted,
            "Running as Non-root",
            &format!("{C}.securityContext.runAsNonRoot"),
        );
        // Neither set: the container is blamed.
        let p = pod(&RESTRICTED.replace("    runAsNonRoot: true\n", ""));
        only(
            &p,
            Level::Restricted,
            "Running as Non-root",
            &format!("{C}.securityContext.runAsNonRoot"),
        );
        // Container true is enough without a pod value.
        let p = pod(&RESTRICTED.replace("    runAsNonRoot: true\n", "").replace(
            "allowPrivilegeEscalation: false",
            "allowPrivilegeEscalation: false\n        runAsNonRoot: true",
        ));
        assert!(checks(&p).is_empty());
    }

    #[test]
    fn run_as_user_zero() {
        only(
            &with("", "        runAsUser: 0\n"),
            Level::Restricted,
            "Running as Non-root user",
            &format!("{C}.securityContext.runAsUser"),
        );
    }

    #[test]
    fn init_and_ephemeral_containers_are_checked() {
        let p = pod(&format!(
            "{RESTRICTED}  initContainers:\n    - name: i\n      securityContext:\n        privileged: true\n        allowPrivilegeEscalation: false\n        capabilities:\n          drop: [ALL]\n  ephemeralContainers:\n    - name: e\n      securityContext:\n        allowPrivilegeEscalation: false\n        capabilities:\n          drop: [ALL]\n        runAsUser: 0\n"
        ));
        assert_eq!(
            checks(&p),
            vec![
                (
                    Level::Baseline,
                    "Privileged Containers",
                    "spec.initContainers[0].securityContext.privileged".into()
                ),
                (
                    Level::Restricted,
                    "Running as Non-root user",
                    "spec.ephemeralContainers[0].securityContext.runAsUser".into()
                ),
            ]
        );
    }

    #[test]
    fn windows_pods_skip_linux_only_restricted_checks() {
        let p = pod("spec:\n  os:\n    name: windows\n  securityContext:\n    runAsNonRoot: true\n  containers:\n    - name: w\n");
        assert!(checks(&p).is_empty());
    }

    #[test]
    fn namespace_level_is_the_weakest_workload_and_labels_follow() {
        let a = with("", "");
        let b = with("  hostNetwork: true\n", "");
        let levels = namespace_levels([&a, &b]);
        assert_eq!(levels[0].level, Level::Privileged);
        assert_eq!(levels[0].workloads[1].blockers.len(), 1);
        assert_eq!(levels[0].workloads[1].blockers[0].1, Some(6));
        let labels = levels[0].labels();
        assert!(labels.contains(&(
            "pod-security.kubernetes.io/enforce".into(),
            "privileged".into()
        )));
        assert!(labels.contains(&("pod-security.kubernetes.io/warn".into(), "baseline".into())));
    }

    #[test]
    fn patch_sets_least_privilege_fields() {
        let p = pod("spec:\n  volumes:\n    - name: tmp\n      emptyDir: {}\n  containers:\n    - name: app\n      securityContext:\n        runAsUser: 1000\n        capabilities:\n          add: [NET_BIND_SERVICE]\n      volumeMounts:\n        - name: tmp\n          mountPath: /tmp\n    - name: priv\n      securityContext:\n        privileged: true\n");
        let text = patch_for(&p).unwrap().to_text();
        assert_eq!(
            text,
            "apiVersion: v1
kind: Pod
metadata:
  name: p
  namespace: default
spec:
  securityContext:
    seccompProfile:
      type: RuntimeDefault
  containers:
    - name: app
      securityContext:
        allowPrivilegeEscalation: false
        capabilities:
          drop:
            - ALL
          add:
            - NET_BIND_SERVICE
        runAsNonRoot: true
        readOnlyRootFilesystem: true
"
        );
        // Already tight: nothing to patch.
        assert!(patch_for(&with("", "")).is_none());
    }
}
