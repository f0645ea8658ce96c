//! `aws cloudtrail lookup-events` output: one `CloudTrailEvent` object (`aws:cloudtrail`)
//! per event, named by `EventId`, with the event record that the CLI prints as JSON text
//! (`CloudTrailEvent`) parsed in place, every node at the string's position.

use eksguard_model::aws_kinds as k;
use std::sync::Arc;

use eksguard_model::{Node, Object, Source, Value};

use crate::aws_shape::{decode_policy_field, Classified};

pub const CLOUDTRAIL: &str = "aws:cloudtrail";

/// The events of a `lookup-events` output (key `Events` whose items carry
/// `CloudTrailEvent`), or `None` for any other shape.
pub fn classify(root: &mut Node, path: &Arc<str>, doc: u32) -> Option<Classified> {
    let events = root.get("Events")?.as_seq()?;
    if !events.iter().any(|e| e.get("CloudTrailEvent").is_some()) {
        return None;
    }
    let Value::Map(entries) = &mut root.value else {
        return None;
    };
    let e = entries.iter_mut().find(|e| &*e.key == "Events")?;
    let Value::Seq(items) = std::mem::replace(&mut e.value.value, Value::Null) else {
        return None;
    };
    let objects = items
        .into_iter()
        .enumerate()
        .filter(|(_, n)| n.is_map())
        .map(|(i, mut n)| {
            decode_policy_field(&mut n, "CloudTrailEvent");
            let name = n
                .get("EventId")
                .and_then(Node::scalar_text)
                .unwrap_or_default();
            let src = Source::File {
                path: path.clone(),
                doc,
                item: Some(i as u32),
            };
            Object::synthetic(CLOUDTRAIL, k::CLOUDTRAIL_EVENT, &name, n, src)
        })
        .collect();
    Some(Classified::Objects(objects))
}

#[cfg(test)]
mod tests {
    use super::*;
    use eksguard_model::yaml::{parse_documents, ParseLimits};

    #[test]
    fn event_text_is_parsed() {
        let text = r#"{"Events": [{"EventId": "e1", "EventName": "CreateCluster", "CloudTrailEvent": "{\"userIdentity\": {\"type\": \"IAMUser\"}, \"requestParameters\": {\"name\": \"prod\"}}"}]}"#;
        let mut root = parse_documents(text, false, ParseLimits::default())
            .remove(0)
            .unwrap()
            .root;
        let Some(Classified::Objects(o)) = classify(&mut root, &Arc::from("t.json"), 0) else {
            panic!("not recognised");
        };
        assert_eq!((&*o[0].kind, &*o[0].name), ("CloudTrailEvent", "e1"));
        assert_eq!(
            o[0].root
                .at("CloudTrailEvent.userIdentity.type")
                .and_then(Node::as_str),
            Some("IAMUser")
        );
    }
}
