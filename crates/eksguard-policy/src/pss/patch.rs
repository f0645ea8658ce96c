//! Least-privilege securityContext patches for workloads.

use std::collections::BTreeMap;

use eksguard_model::podsec;
use eksguard_model::{Node, Object};

use crate::yaml::{Stream, Yaml};

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
