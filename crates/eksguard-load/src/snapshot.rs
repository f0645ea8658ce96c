//! Cluster snapshots: what a live read produced — Kubernetes objects, AWS objects and the
//! read errors — as one JSON document that a later offline scan loads back into the same
//! inventory, so it gives the same findings and says what was missing.
//!
//! ```json
//! {"apiVersion": "eksguard.io/v1", "kind": "ClusterSnapshot",
//!  "metadata": {"server": "...", "context": "...", "cluster": "..."},
//!  "items":  [ Kubernetes objects as the API served them, Secret values removed ],
//!  "aws":    [ {"apiVersion": "...", "kind": "EKSCluster", "name": "...", "data": {...}} ],
//!  "errors": [ {"file": "kubernetes/pods", "message": "..."} ]}
//! ```

use std::sync::Arc;

use eksguard_model::{InputError, Inventory, Node, Object, Source};
use serde_json::{json, Map, Value as Json};

pub const API_VERSION: &str = "eksguard.io/v1";
pub const KIND: &str = "ClusterSnapshot";

/// Where the snapshot was taken, for the reader of the file.
#[derive(Debug, Clone, Default)]
pub struct SnapshotMeta {
    pub server: Option<String>,
    pub context: Option<String>,
    pub cluster: Option<String>,
}

pub use eksguard_model::sanitize::{is_secret_kind, sanitize, sanitize_as, sanitize_node};

/// Whether an object is a Kubernetes object (its tree carries its own identity) rather
/// than data named by eksguard (AWS API output).
fn is_kubernetes(o: &Object) -> bool {
    o.root.get("apiVersion").and_then(Node::as_str) == Some(&*o.api_version)
        && o.root.get("kind").and_then(Node::as_str) == Some(&*o.kind)
}

/// The snapshot document of an inventory.
pub fn to_json(inv: &Inventory, meta: &SnapshotMeta) -> Json {
    let mut items = Vec::new();
    let mut aws = Vec::new();
    for o in &inv.objects {
        let mut root = o.root.to_json();
        if is_kubernetes(o) {
            if let Json::Object(m) = &mut root {
                sanitize(m);
            }
            items.push(root);
        } else {
            let mut entry = json!({
                "apiVersion": &*o.api_version,
                "kind": &*o.kind,
                "name": &*o.name,
            });
            if let Some(ns) = o.ns() {
                entry["namespace"] = json!(ns);
            }
            entry["data"] = root;
            aws.push(entry);
        }
    }
    let errors: Vec<Json> = inv
        .errors
        .iter()
        .map(|e| serde_json::to_value(e).unwrap_or(Json::Null))
        .collect();
    let mut metadata = Map::new();
    for (k, v) in [
        ("server", &meta.server),
        ("context", &meta.context),
        ("cluster", &meta.cluster),
    ] {
        if let Some(v) = v {
            metadata.insert(k.into(), json!(v));
        }
    }
    json!({
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": metadata,
        "items": items,
        "aws": aws,
        "errors": errors,
    })
}

/// Whether a parsed document is a snapshot.
pub fn is_snapshot(root: &Node) -> bool {
    root.get("kind").and_then(Node::as_str) == Some(KIND)
        && root
            .get("apiVersion")
            .and_then(Node::as_str)
            .is_some_and(|v| v.starts_with("eksguard.io/"))
}

/// Loads a snapshot document: its objects keep positions in the file; the recorded read
/// errors come back as errors, marked as recorded.
pub fn load(
    root: &Node,
    path: &Arc<str>,
    doc: u32,
    default_ns: &str,
    objects: &mut Vec<Object>,
    errors: &mut Vec<InputError>,
) {
    let source = |i: usize| Source::File {
        path: path.clone(),
        doc,
        item: Some(i as u32),
    };
    let mut n = 0usize;
    for item in root.get("items").map(Node::items).unwrap_or(&[]) {
        let mut item = item.clone();
        sanitize_node(&mut item);
        match Object::from_node(item, source(n), default_ns) {
            Ok(o) => objects.push(o),
            Err(item) => errors.push(InputError::new(
                &**path,
                Some(item.pos.line).filter(|l| *l > 0),
                "snapshot item without apiVersion or kind; skipped",
            )),
        }
        n += 1;
    }
    for entry in root.get("aws").map(Node::items).unwrap_or(&[]) {
        let text = |k: &str| entry.get(k).and_then(Node::as_str);
        let (Some(api_version), Some(kind), Some(name), Some(data)) = (
            text("apiVersion"),
            text("kind"),
            text("name"),
            entry.get("data"),
        ) else {
            errors.push(InputError::new(
                &**path,
                Some(entry.pos.line).filter(|l| *l > 0),
                "snapshot AWS entry without apiVersion, kind, name or data; skipped",
            ));
            continue;
        };
        let mut o = Object::synthetic(api_version, kind, name, data.clone(), source(n));
        o.namespace = text("namespace").map(Into::into);
        objects.push(o);
        n += 1;
    }
    for e in root.get("errors").map(Node::items).unwrap_or(&[]) {
        let file = e.get("file").and_then(Node::as_str).unwrap_or("cluster");
        let message = e
            .get("message")
            .and_then(Node::as_str)
            .unwrap_or("read error");
        let line = e
            .get("line")
            .and_then(Node::as_i64)
            .and_then(|l| u32::try_from(l).ok());
        errors.push(InputError::new(
            file,
            line,
            format!("{message} (recorded in snapshot {path})"),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use eksguard_model::sanitize::LAST_APPLIED;

    #[test]
    fn secret_values_and_bookkeeping_are_dropped() {
        let mut item = json!({
            "kind": "Secret",
            "metadata": {"name": "s", "managedFields": [],
                "annotations": {LAST_APPLIED: "{\"data\":{\"k\":\"djE=\"}}", "other": "x"}},
            "data": {"k": "djE="}, "stringData": {"k": "v1"}, "type": "Opaque"
        });
        sanitize(item.as_object_mut().unwrap());
        assert_eq!(
            item,
            json!({"kind": "Secret", "metadata": {"name": "s", "annotations": {"other": "x"}}, "type": "Opaque"})
        );
        let mut cm = json!({"kind": "ConfigMap", "metadata": {"annotations": {LAST_APPLIED: "{}"}}, "data": {"a": "b"}});
        sanitize(cm.as_object_mut().unwrap());
        assert_eq!(cm["data"]["a"], "b");
        assert_eq!(cm["metadata"]["annotations"][LAST_APPLIED], "{}");
    }

    #[test]
    fn a_secret_is_known_however_its_kind_is_spelled() {
        for kind in ["secret", " Secret ", "SECRET", "Secret\n", "sEcReT"] {
            let mut item = json!({"kind": kind, "apiVersion": "v1", "metadata": {"name": "s",
                "annotations": {LAST_APPLIED: "x"}}, "data": {"k": "djE="}, "stringData": {"k": "v1"}});
            sanitize(item.as_object_mut().unwrap());
            assert_eq!(
                item,
                json!({"kind": kind, "apiVersion": "v1", "metadata": {"name": "s", "annotations": {}}}),
                "{kind:?}"
            );
        }
        // The items of a Secret list, whatever they say of themselves.
        let mut list = json!({"kind": "secretlist", "items": [
            {"metadata": {"name": "a"}, "data": {"k": "djE="}},
            {"kind": "Opaque", "metadata": {"name": "b"}, "stringData": {"k": "v1"}}]});
        sanitize(list.as_object_mut().unwrap());
        assert!(!list.to_string().contains("djE=") && !list.to_string().contains("v1"));
        // Known to be a Secret by where it came from.
        let mut item = json!({"kind": "NotASecret", "data": {"k": "djE="}});
        sanitize_as(item.as_object_mut().unwrap(), true);
        assert!(item.get("data").is_none());
        let mut other = json!({"kind": "Secrets", "data": {"k": "kept"}});
        sanitize(other.as_object_mut().unwrap());
        assert_eq!(other["data"]["k"], "kept");
    }

    #[test]
    fn secrets_in_a_snapshot_file_lose_their_values_when_loaded() {
        let text = format!(
            "{{\"apiVersion\": \"{API_VERSION}\", \"kind\": \"{KIND}\", \"items\": [\n\
             {{\"apiVersion\": \"v1\", \"kind\": \"secret \", \"metadata\": {{\"name\": \"s\", \"namespace\": \"a\",\n\
               \"annotations\": {{\"{LAST_APPLIED}\": \"djE=\", \"keep\": \"me\"}}}},\n\
               \"data\": {{\"k\": \"djE=\"}}, \"stringData\": {{\"k\": \"djE=\"}}, \"type\": \"Opaque\"}},\n\
             {{\"apiVersion\": \"v1\", \"kind\": \"ConfigMap\", \"metadata\": {{\"name\": \"c\"}}, \"data\": {{\"k\": \"djE=\"}}}}\n\
             ]}}"
        );
        let root = eksguard_model::yaml::parse_documents(
            &text,
            false,
            eksguard_model::yaml::ParseLimits::default(),
        )
        .remove(0)
        .unwrap()
        .root;
        assert!(is_snapshot(&root));
        let (mut objects, mut errors) = (Vec::new(), Vec::new());
        load(
            &root,
            &"snap.json".into(),
            0,
            "default",
            &mut objects,
            &mut errors,
        );
        assert!(errors.is_empty(), "{errors:?}");
        let secret = objects[0].root.to_json();
        assert!(!secret.to_string().contains("djE="), "{secret}");
        assert_eq!(objects[0].annotation("keep"), Some("me"));
        assert_eq!(secret["type"], "Opaque");
        // Positions survive; other kinds keep their data.
        assert_eq!(objects[0].root.get("type").unwrap().pos.line, 4);
        assert_eq!(objects[1].root.to_json()["data"]["k"], "djE=");
    }
}
