use eksguard_model::yaml::{parse_documents, ParseLimits};
use eksguard_model::Source;

use super::*;

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
        // Control by control, the baseline table first.
        vec![
            (Level::Baseline, "Capabilities", format!("{cap}[2]")),
            (Level::Restricted, "Capabilities", format!("{cap}[0]")),
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

#[test]
fn the_table_lists_the_standard_controls_once_each() {
    let names = |level| -> Vec<&str> {
        CONTROLS
            .iter()
            .filter(|c| c.level == level)
            .map(|c| c.name)
            .collect()
    };
    assert_eq!(
        names(Level::Baseline),
        [
            "HostProcess",
            "Host Namespaces",
            "Privileged Containers",
            "Capabilities",
            "HostPath Volumes",
            "Host Ports",
            "AppArmor",
            "SELinux",
            "/proc Mount Type",
            "Seccomp",
            "Sysctls",
        ]
    );
    assert_eq!(
        names(Level::Restricted),
        [
            "Volume Types",
            "Privilege Escalation",
            "Running as Non-root",
            "Running as Non-root user",
            "Seccomp",
            "Capabilities",
        ]
    );
    assert!(CONTROLS.iter().all(|c| c.level != Level::Privileged));
}

#[test]
fn violations_come_control_by_control() {
    let p = pod("spec:
  hostNetwork: true
  volumes:
  - name: h
    hostPath: {path: /}
  containers:
  - name: c
    image: x
    ports: [{containerPort: 80, hostPort: 80}]
");
    let baseline: Vec<_> = checks(&p)
        .into_iter()
        .filter(|(l, _, _)| *l == Level::Baseline)
        .map(|(_, check, _)| check)
        .collect();
    assert_eq!(
        baseline,
        ["Host Namespaces", "HostPath Volumes", "Host Ports"]
    );
}
