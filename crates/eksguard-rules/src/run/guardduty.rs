//! GuardDuty detectors as `get-detector` prints them (and the IaC readers build them):
//! the detector's status and its features.

use eksguard_model::aws_kinds as k;
use eksguard_model::{FieldPath, Node, Object};

use crate::aws_svc::{is, text};
use crate::{Ctx, Sink};

/// A feature of `Features[]` by name, with its path.
pub(crate) fn feature<'a>(detector: &'a Object, name: &str) -> Option<(&'a Node, FieldPath)> {
    detector
        .root
        .get("Features")
        .map(Node::items)
        .unwrap_or(&[])
        .iter()
        .enumerate()
        .find(|(_, f)| is(f, "Name", name))
        .map(|(i, f)| (f, FieldPath::root().key("Features").index(i)))
}

/// An `AdditionalConfiguration` entry of a feature by name, with its path.
pub(crate) fn additional<'a>(
    feature: &'a Node,
    base: &FieldPath,
    name: &str,
) -> Option<(&'a Node, FieldPath)> {
    feature
        .get("AdditionalConfiguration")
        .map(Node::items)
        .unwrap_or(&[])
        .iter()
        .enumerate()
        .find(|(_, c)| is(c, "Name", name))
        .map(|(i, c)| (c, base.key("AdditionalConfiguration").index(i)))
}

/// Whether a detector is switched off (`Status` DISABLED).
pub(crate) fn disabled(detector: &Object) -> bool {
    is(&detector.root, "Status", "DISABLED")
}

/// A `list-detectors` output that lists no detector: GuardDuty is off in the region.
fn no_detector(list: &Object) -> bool {
    list.root
        .get("DetectorIds")
        .and_then(Node::as_seq)
        .is_some_and(<[Node]>::is_empty)
}

/// Reports a `list-detectors` output without detectors, saying what goes unwatched, so
/// every GuardDuty rule words an absent detector the same way.
pub(crate) fn report_no_detector(list: &Object, unwatched: &str, out: &mut Sink) {
    if no_detector(list) {
        out.report(
            list,
            FieldPath::parse("DetectorIds"),
            format!("GuardDuty has no detector in this region: {unwatched}"),
        );
    }
}

/// How messages name a detector: `get-detector` does not print its ID, so the reader
/// names it by a directory that is an ID; else the only ID of a `list-detectors` of
/// the scan; else the detector is not named.
pub(crate) fn label(cx: &Ctx<'_>, detector: &Object) -> String {
    let is_id = |s: &str| s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit());
    if let Some(id) = text(&detector.root, "DetectorId").filter(|s| is_id(s)) {
        return format!(" {id}");
    }
    if is_id(&detector.name) {
        return format!(" {}", detector.name);
    }
    let ids: Vec<&str> = cx
        .objects_of(k::GUARDDUTY_DETECTOR_LIST)
        .flat_map(|l| l.root.get("DetectorIds").map(Node::items).unwrap_or(&[]))
        .filter_map(Node::as_str)
        .collect();
    match ids.as_slice() {
        [one] => format!(" {one}"),
        _ => String::new(),
    }
}
