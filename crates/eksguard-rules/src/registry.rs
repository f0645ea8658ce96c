//! Every rule, in ID order within the order of the guide's sections. Docs, `rules list`,
//! SARIF and config validation all read this list.

use std::collections::HashMap;
use std::sync::LazyLock;

use crate::Rule;

static ALL: LazyLock<Vec<&'static dyn Rule>> = LazyLock::new(|| {
    [
        crate::iam::RULES,
        crate::irsa::RULES,
        crate::pod::RULES,
        crate::qos::RULES,
        crate::ten::RULES,
        crate::det::RULES,
        crate::net::RULES,
        crate::sg::RULES,
        crate::run::RULES,
        crate::node::RULES,
        crate::data::RULES,
        crate::img::RULES,
        crate::aud::RULES,
    ]
    .concat()
});

pub fn all() -> &'static [&'static dyn Rule] {
    &ALL
}

/// Rules by their exact ID: reports look a rule up once per finding, and an audit log
/// can carry hundreds of thousands.
static BY_ID: LazyLock<HashMap<&'static str, &'static dyn Rule>> =
    LazyLock::new(|| all().iter().map(|r| (r.meta().id, *r)).collect());

/// A rule by ID (case-insensitive) or by name.
pub fn find(key: &str) -> Option<&'static dyn Rule> {
    if let Some(r) = BY_ID.get(key) {
        return Some(*r);
    }
    all()
        .iter()
        .copied()
        .find(|r| r.meta().id.eq_ignore_ascii_case(key) || r.meta().name == key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    use eksguard_model::rule::FAMILIES;

    #[test]
    fn ids_are_unique_well_formed_and_ordered() {
        let mut ids = HashSet::new();
        let mut names = HashSet::new();
        let mut last: Option<(usize, &str)> = None;
        for r in all() {
            let m = r.meta();
            assert!(ids.insert(m.id), "duplicate id {}", m.id);
            assert!(names.insert(m.name), "duplicate name {}", m.name);
            let fam = FAMILIES.iter().position(|f| f.prefix == m.family());
            let fam = fam.unwrap_or_else(|| panic!("{}: unknown family", m.id));
            let digits = &m.id[m.family().len()..];
            assert!(
                digits.len() == 3 && digits.bytes().all(|b| b.is_ascii_digit()),
                "{}",
                m.id
            );
            if let Some(prev) = last {
                assert!(
                    prev < (fam, m.id),
                    "{} is out of order after {}",
                    m.id,
                    prev.1
                );
            }
            last = Some((fam, m.id));
        }
    }

    /// The scope a rule declares picks the check it implements and the engine that calls
    /// it: each rule is run by exactly one engine, and none is declared so that it never
    /// runs.
    #[test]
    fn each_rule_is_run_by_exactly_one_engine() {
        use crate::{AuditEngine, Dispatch, Engine, EngineConfig};
        use eksguard_model::{Data, Scope};
        let objects = Engine::new(all(), EngineConfig::default());
        let events = AuditEngine::new(all(), EngineConfig::default());
        for r in all() {
            let m = r.meta();
            let by_objects = objects.rules().iter().any(|x| x.meta().id == m.id);
            let by_events = events.rules().iter().any(|x| x.meta().id == m.id);
            assert!(
                by_objects ^ by_events,
                "{}: run by both engines or none",
                m.id
            );
            assert_eq!(by_events, m.scope.is_events(), "{}", m.id);
            match (r.dispatch(), m.scope) {
                (Dispatch::Objects(_), Scope::Objects(kinds)) => {
                    assert!(!kinds.is_empty(), "{}: handed no kinds, never runs", m.id)
                }
                (Dispatch::Inventory(_), Scope::Inventory)
                | (Dispatch::Events(_), Scope::Events)
                | (Dispatch::EventWindow(_), Scope::EventWindow) => {}
                _ => panic!("{}: scope and check disagree", m.id),
            }
            assert_eq!(
                m.data.contains(Data::Audit),
                m.scope.is_events(),
                "{}: audit data and audit events go together",
                m.id
            );
            assert!(m.data.iter().next().is_some(), "{}: reads no data", m.id);
        }
    }

    #[test]
    fn every_family_has_rules() {
        for f in FAMILIES {
            assert!(
                all().iter().any(|r| r.meta().family() == f.prefix),
                "{}: no rules",
                f.prefix
            );
        }
    }

    #[test]
    fn metadata_is_complete() {
        for r in all() {
            let m = r.meta();
            assert!(
                m.name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
                "{}: name must be kebab-case",
                m.id
            );
            assert!(
                !m.name.starts_with("no-"),
                "{}: name the risky pattern",
                m.id
            );
            assert!(
                m.remediation.ends_with('.'),
                "{}: remediation ends with a period",
                m.id
            );
            assert!(!m.summary.ends_with('.'), "{}: summary is a phrase", m.id);
            for heading in [
                "## What it checks",
                "## Why it matters",
                "## Example",
                "## Fix",
            ] {
                assert!(m.docs.contains(heading), "{}: docs lack `{heading}`", m.id);
            }
            if let Some(p) = m.params {
                let defaults = (p.defaults)();
                let names: Vec<&str> = p.fields.iter().map(|f| f.name).collect();
                let keys: Vec<&str> = defaults
                    .as_object()
                    .map(|o| o.keys().map(String::as_str).collect())
                    .unwrap_or_default();
                let mut sorted = names.clone();
                sorted.sort_unstable();
                assert_eq!(sorted, keys, "{}: parameters and defaults differ", m.id);
                // The defaults read back into the struct: the docs show what runs.
                assert_eq!((p.check)(defaults), Ok(()), "{}", m.id);
                for f in p.fields {
                    assert!(!f.doc.trim().is_empty(), "{}: {} has no doc", m.id, f.name);
                }
            }
        }
    }

    #[test]
    fn guide_rows_exist() {
        for r in all() {
            for row in r.meta().guide {
                assert!(
                    eksguard_model::guide::find(row).is_some(),
                    "{}: no guide row `{row}`",
                    r.meta().id
                );
            }
        }
    }
}
