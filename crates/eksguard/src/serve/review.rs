//! Reading an `AdmissionReview` body in one pass: the object and the old object are
//! built straight into the tree the rules read, with no JSON value tree in between and
//! no copy of either, so a request holds each object once.

use std::fmt;

use eksguard_model::node::Entry;
use eksguard_model::{Node, Pos, Value};
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

/// The request part of an AdmissionReview that the decision needs.
#[derive(Debug)]
pub struct Review {
    pub uid: String,
    pub operation: String,
    pub kind: String,
    pub namespace: Option<String>,
    pub name: String,
    pub object: Option<Node>,
    pub old_object: Option<Node>,
    pub username: String,
}

/// Text fields: a string, or empty for any other value (which is skipped unread).
#[derive(Default)]
struct Text(String);

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Text, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Text;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Text, E> {
                Ok(Text(s.to_string()))
            }
            fn visit_string<E: de::Error>(self, s: String) -> Result<Text, E> {
                Ok(Text(s))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Text, E> {
                Ok(Text::default())
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Text, E> {
                Ok(Text::default())
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Text, E> {
                Ok(Text::default())
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Text, E> {
                Ok(Text::default())
            }
            fn visit_unit<E: de::Error>(self) -> Result<Text, E> {
                Ok(Text::default())
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Text, A::Error> {
                while a.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Text::default())
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Text, A::Error> {
                while a.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Text::default())
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct Raw {
    #[serde(rename = "apiVersion")]
    api_version: Text,
    kind: Text,
    request: Option<RawRequest>,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct Named {
    kind: Text,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct User {
    username: Text,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct RawRequest {
    uid: Text,
    operation: Text,
    kind: Option<Named>,
    namespace: Text,
    name: Text,
    #[serde(rename = "userInfo")]
    user_info: Option<User>,
    #[serde(deserialize_with = "object")]
    object: Option<Node>,
    #[serde(rename = "oldObject", deserialize_with = "object")]
    old_object: Option<Node>,
}

/// `null` or a JSON object, as a tree.
fn object<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Node>, D::Error> {
    let node = NodeSeed.deserialize(d)?;
    match node.value {
        Value::Null => Ok(None),
        Value::Map(_) => Ok(Some(node)),
        _ => Err(de::Error::custom("an object or null is expected here")),
    }
}

/// Builds a position-less [`Node`] from any JSON value, as `Node::from_json` would.
struct NodeSeed;

impl<'de> DeserializeSeed<'de> for NodeSeed {
    type Value = Node;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        d.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

fn node(value: Value) -> Node {
    Node::new(value, Pos::NONE)
}

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Node, E> {
        Ok(node(Value::Null))
    }
    fn visit_none<E: de::Error>(self) -> Result<Node, E> {
        Ok(node(Value::Null))
    }
    fn visit_bool<E: de::Error>(self, b: bool) -> Result<Node, E> {
        Ok(node(Value::Bool(b)))
    }
    fn visit_i64<E: de::Error>(self, i: i64) -> Result<Node, E> {
        Ok(node(Value::Int(i)))
    }
    fn visit_u64<E: de::Error>(self, u: u64) -> Result<Node, E> {
        Ok(node(match i64::try_from(u) {
            Ok(i) => Value::Int(i),
            Err(_) => Value::Float(u as f64),
        }))
    }
    fn visit_f64<E: de::Error>(self, f: f64) -> Result<Node, E> {
        Ok(node(Value::Float(f)))
    }
    fn visit_str<E: de::Error>(self, s: &str) -> Result<Node, E> {
        Ok(node(Value::Str(s.into())))
    }
    fn visit_string<E: de::Error>(self, s: String) -> Result<Node, E> {
        Ok(node(Value::Str(s.into_boxed_str())))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Node, A::Error> {
        let mut items = Vec::with_capacity(a.size_hint().unwrap_or(0).min(1024));
        while let Some(n) = a.next_element_seed(NodeSeed)? {
            items.push(n);
        }
        items.shrink_to_fit();
        Ok(node(Value::Seq(items)))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Node, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = a.next_key::<String>()? {
            let value = a.next_value_seed(NodeSeed)?;
            entries.push(Entry {
                key: key.into_boxed_str(),
                key_pos: Pos::NONE,
                value,
            });
        }
        entries.shrink_to_fit();
        Ok(node(Value::Map(entries)))
    }
}

fn shorten(s: &str) -> String {
    super::admission::shorten(s, 60)
}

/// Parses a request body; the error is the message of a 400 answer.
pub fn parse_review(body: &[u8]) -> Result<Review, String> {
    let raw: Raw = serde_json::from_slice(body).map_err(|e| match e.classify() {
        serde_json::error::Category::Data => {
            format!("request body is not a well-formed AdmissionReview: {e}")
        }
        _ => format!("request body is not JSON: {e}"),
    })?;
    if raw.kind.0 != "AdmissionReview" || raw.api_version.0 != "admission.k8s.io/v1" {
        return Err(format!(
            "expected an AdmissionReview of apiVersion admission.k8s.io/v1, got kind `{}` apiVersion `{}`",
            shorten(&raw.kind.0),
            shorten(&raw.api_version.0)
        ));
    }
    let Some(req) = raw.request else {
        return Err("AdmissionReview has no `request` object".into());
    };
    if req.uid.0.is_empty() {
        return Err("AdmissionReview `request.uid` is missing".into());
    }
    if req.operation.0.is_empty() {
        return Err("AdmissionReview `request.operation` is missing".into());
    }
    let kind = req.kind.map(|k| k.kind.0).unwrap_or_default();
    if kind.is_empty() {
        return Err("AdmissionReview `request.kind.kind` is missing".into());
    }
    Ok(Review {
        uid: req.uid.0,
        operation: req.operation.0,
        kind,
        namespace: Some(req.namespace.0).filter(|n| !n.is_empty()),
        name: req.name.0,
        object: req.object,
        old_object: req.old_object,
        username: req.user_info.map(|u| u.username.0).unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tree_equals_the_one_built_from_json() {
        let text =
            r#"{"a": [1, -2, 18446744073709551615, 1.5, "x", null, true, {"b": {}}], "c": "é"}"#;
        let json: serde_json::Value = serde_json::from_str(text).unwrap();
        let mut de = serde_json::Deserializer::from_str(text);
        let ours = NodeSeed.deserialize(&mut de).unwrap();
        assert_eq!(ours, Node::from_json(&json));
    }

    #[test]
    fn bad_bodies_say_what_is_wrong() {
        assert!(parse_review(b"{").unwrap_err().contains("not JSON"));
        let e = parse_review(br#"{"apiVersion":"v1","kind":"Pod"}"#).unwrap_err();
        assert!(e.contains("AdmissionReview"), "{e}");
        let e = parse_review(
            br#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"operation":"CREATE"}}"#,
        )
        .unwrap_err();
        assert!(e.contains("uid"), "{e}");
        let e = parse_review(
            br#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","operation":"CREATE","kind":{"kind":"Pod"},"object":[1]}}"#,
        )
        .unwrap_err();
        assert!(e.contains("object or null"), "{e}");
    }
}
