//! What the readers of AWS output share: the service names objects carry, what a
//! document turned out to be, and moving values out of a parsed tree.

use eksguard_model::yaml::{parse_documents, ParseLimits};
use eksguard_model::{Node, Object, Pos, Value};

pub const EKS: &str = "aws:eks";
pub const IAM: &str = "aws:iam";
pub const EC2: &str = "aws:ec2";

/// What a non-Kubernetes document turned out to be.
#[derive(Debug)]
pub enum Classified {
    /// AWS resources to check.
    Objects(Vec<Object>),
    /// A known output that carries nothing the rules read (`eks list-clusters`, say).
    Known,
    /// Not a shape this module knows; the document is handed back.
    Unknown(Node),
}

/// Moves the value under `key` out of a mapping (leaving `null`).
pub fn take(node: &mut Node, key: &str) -> Node {
    if let Value::Map(entries) = &mut node.value {
        if let Some(e) = entries.iter_mut().find(|e| &*e.key == key) {
            let pos = e.value.pos;
            return std::mem::replace(&mut e.value, Node::new(Value::Null, pos));
        }
    }
    Node::new(Value::Null, node.pos)
}

/// Moves the sequence under `key` out of a mapping; anything else yields no items.
pub fn take_seq(node: &mut Node, key: &str) -> Vec<Node> {
    let mut v = take(node, key);
    match &mut v.value {
        Value::Seq(items) => std::mem::take(items),
        _ => Vec::new(),
    }
}

/// IAM returns policy documents URL-encoded (`%7B%22Version%22...`) from the API, and
/// some exports keep them as JSON text; either way, replace the string with the parsed
/// document, every node at the string's position.
pub fn decode_policy_field(node: &mut Node, key: &str) {
    let Value::Map(entries) = &mut node.value else {
        return;
    };
    let Some(e) = entries.iter_mut().find(|e| &*e.key == key) else {
        return;
    };
    let Some(text) = e.value.as_str() else { return };
    let trimmed = text.trim_start();
    let decoded = if trimmed.starts_with('{') {
        trimmed.to_string()
    } else if trimmed.starts_with('%') {
        match percent_encoding::percent_decode_str(trimmed).decode_utf8() {
            Ok(s) => s.replace('+', " "),
            Err(_) => return,
        }
    } else {
        return;
    };
    let pos = e.value.pos;
    let mut docs = parse_documents(&decoded, false, ParseLimits::default());
    if let Some(Ok(doc)) = docs.pop() {
        let mut tree = doc.root;
        place_at(&mut tree, pos);
        e.value = tree;
    }
}

fn place_at(node: &mut Node, pos: Pos) {
    node.pos = pos;
    match &mut node.value {
        Value::Seq(items) => items.iter_mut().for_each(|n| place_at(n, pos)),
        Value::Map(entries) => entries.iter_mut().for_each(|e| {
            e.key_pos = pos;
            place_at(&mut e.value, pos);
        }),
        _ => {}
    }
}
