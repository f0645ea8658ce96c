//! Removing what a stored or served object must not keep: managed-field bookkeeping, and
//! every value of a Secret. Live reads apply it to what the API serves, snapshot reads to
//! what a file holds, the admission server to what it caches.

use serde_json::{Map, Value as Json};

use crate::{Node, Value};

pub const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// Whether a `kind` names a Secret, however it is cased or padded: the API server
/// matches kinds exactly, but a hand-edited or hostile document need not, and a value
/// kept by mistake is worse than one dropped too many.
pub fn is_secret_kind(kind: &str) -> bool {
    kind.trim().eq_ignore_ascii_case("Secret")
}

/// Whether a `kind` names a list whose `items` are Secrets.
fn is_secret_list_kind(kind: &str) -> bool {
    let k = kind.trim();
    k.len() == "SecretList".len() && k.eq_ignore_ascii_case("SecretList")
}

/// Drops what no rule reads and what must never be kept: managed-field bookkeeping, and
/// for Secrets every value (the last-applied annotation repeats them). The items of a
/// list are sanitized each.
pub fn sanitize(item: &mut Map<String, Json>) {
    sanitize_as(item, false);
}

/// [`sanitize`], with `secret` set when the item is known to be a Secret whatever its own
/// `kind` says (an item of a Secret list).
pub fn sanitize_as(item: &mut Map<String, Json>, secret: bool) {
    let kind = item.get("kind").and_then(Json::as_str).unwrap_or("");
    let is_secret = secret || is_secret_kind(kind);
    let items_are_secrets = is_secret_list_kind(kind);
    if let Some(Json::Object(meta)) = item.get_mut("metadata") {
        meta.remove("managedFields");
        if is_secret {
            if let Some(Json::Object(ann)) = meta.get_mut("annotations") {
                ann.remove(LAST_APPLIED);
            }
        }
    }
    if is_secret {
        item.remove("data");
        item.remove("stringData");
    }
    if let Some(Json::Array(items)) = item.get_mut("items") {
        for i in items {
            if let Json::Object(m) = i {
                sanitize_as(m, items_are_secrets);
            }
        }
    }
}

/// [`sanitize`] for a parsed document: a snapshot file may have been written by another
/// version or edited by hand, so its Secrets lose their values when it is read, too.
pub fn sanitize_node(item: &mut Node) {
    sanitize_node_as(item, false);
}

fn sanitize_node_as(item: &mut Node, secret: bool) {
    let kind = item.get("kind").and_then(Node::as_str).unwrap_or("");
    let is_secret = secret || is_secret_kind(kind);
    let items_are_secrets = is_secret_list_kind(kind);
    let Value::Map(entries) = &mut item.value else {
        return;
    };
    if is_secret {
        entries.retain(|e| !matches!(&*e.key, "data" | "stringData"));
    }
    for e in entries.iter_mut() {
        match &*e.key {
            "metadata" if is_secret => {
                if let Value::Map(meta) = &mut e.value.value {
                    for m in meta.iter_mut().filter(|m| &*m.key == "annotations") {
                        if let Value::Map(ann) = &mut m.value.value {
                            ann.retain(|a| &*a.key != LAST_APPLIED);
                        }
                    }
                }
            }
            "items" => {
                if let Value::Seq(items) = &mut e.value.value {
                    for i in items {
                        sanitize_node_as(i, items_are_secrets);
                    }
                }
            }
            _ => {}
        }
    }
}
