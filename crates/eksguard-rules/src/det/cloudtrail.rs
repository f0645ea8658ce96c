//! CloudTrail trails with what other outputs say of them: `get-trail-status` (which
//! does not name its trail), `get-event-selectors` and `get-insight-selectors` (joined
//! by `TrailARN`).

use eksguard_model::aws_kinds as k;
use eksguard_model::{Node, Object};

use crate::aws_svc::{path_components, text};
use crate::Ctx;

/// The trails of the scan (each shadow copy counts: it is the same trail).
pub(crate) fn trails<'a>(cx: &Ctx<'a>) -> Vec<&'a Object> {
    cx.objects_of(k::CLOUDTRAIL_TRAIL).collect()
}

/// Whether the scan holds a trail listing (`describe-trails`, or trails declared as code).
pub(crate) fn holds_trails(cx: &Ctx<'_>) -> bool {
    cx.objects_of(k::CLOUDTRAIL_TRAIL_LIST).next().is_some()
        || cx.objects_of(k::CLOUDTRAIL_TRAIL).next().is_some()
}

pub(crate) fn arn(trail: &Object) -> &str {
    text(&trail.root, "TrailARN").unwrap_or(&trail.name)
}

/// A trail's name, for the path joins (`<name>/get-trail-status.json`).
fn name(trail: &Object) -> Option<&str> {
    text(&trail.root, "Name")
        .or_else(|| text(&trail.root, "TrailARN").and_then(|a| a.rsplit('/').next()))
}

/// The `get-trail-status` of a trail: in a directory named after it, else the only
/// status of a scan with one trail. Statuses that carry a trail ARN (IaC, live reads)
/// join by it.
pub(crate) fn status<'a>(cx: &Ctx<'a>, trail: &Object) -> Option<&'a Object> {
    let all: Vec<&Object> = cx.objects_of(k::CLOUDTRAIL_TRAIL_STATUS).collect();
    if let Some(s) = all
        .iter()
        .find(|s| text(&s.root, "TrailARN").is_some_and(|a| a == arn(trail)))
    {
        return Some(s);
    }
    if let Some(n) = name(trail) {
        if let Some(s) = all.iter().find(|s| path_components(s).contains(&n)) {
            return Some(s);
        }
    }
    let distinct: std::collections::BTreeSet<&str> = trails(cx).into_iter().map(arn).collect();
    match all.as_slice() {
        [one] if distinct.len() == 1 => Some(one),
        _ => None,
    }
}

/// The output of kind `kind` joined by `TrailARN`.
pub(crate) fn by_arn<'a>(cx: &Ctx<'a>, kind: &str, trail: &Object) -> Option<&'a Object> {
    cx.objects_of(kind)
        .find(|o| text(&o.root, "TrailARN") == Some(arn(trail)))
}

/// How much of the management events a trail records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Management {
    /// None, as far as the scan shows.
    None,
    /// Reads or writes only.
    Partial,
    All,
    /// Custom selectors the scan does not hold.
    Unknown,
}

/// What a trail records of the management events.
pub(crate) fn management(cx: &Ctx<'_>, trail: &Object) -> Management {
    let custom = trail
        .root
        .get("HasCustomEventSelectors")
        .and_then(Node::as_bool_lenient);
    let selectors = by_arn(cx, k::CLOUDTRAIL_EVENT_SELECTORS, trail)
        .map(|o| &o.root)
        .or_else(|| {
            // Infrastructure code carries its selectors on the trail itself.
            let r = &trail.root;
            (r.get("EventSelectors").is_some() || r.get("AdvancedEventSelectors").is_some())
                .then_some(r)
        });
    let Some(sel) = selectors else {
        return match custom {
            Some(true) => Management::Unknown,
            _ => Management::All,
        };
    };
    let mut best = Management::None;
    for s in sel.get("EventSelectors").map(Node::items).unwrap_or(&[]) {
        if s.get("IncludeManagementEvents")
            .and_then(Node::as_bool_lenient)
            == Some(false)
        {
            continue;
        }
        let rw = text(s, "ReadWriteType").unwrap_or("All");
        let m = if rw.eq_ignore_ascii_case("All") {
            Management::All
        } else {
            Management::Partial
        };
        best = best.max(m);
    }
    for s in sel
        .get("AdvancedEventSelectors")
        .map(Node::items)
        .unwrap_or(&[])
    {
        let fields = s.get("FieldSelectors").map(Node::items).unwrap_or(&[]);
        let equals = |field: &str, value: &str| {
            fields.iter().any(|f| {
                text(f, "Field") == Some(field)
                    && f.get("Equals")
                        .map(Node::items)
                        .unwrap_or(&[])
                        .iter()
                        .any(|v| v.as_str() == Some(value))
            })
        };
        if equals("eventCategory", "Management") {
            let read_only = fields.iter().any(|f| text(f, "Field") == Some("readOnly"));
            best = best.max(if read_only {
                Management::Partial
            } else {
                Management::All
            });
        }
    }
    best
}
