//! Suppressions: the `eksguard.io/ignore` annotation and configured ones.
//!
//! Annotation form: `"POD001,RUN001 -- reason"` with an optional `until=YYYY-MM-DD` at the
//! end of the reason. Rules are named by ID or family (`POD`), never by wildcard, so a
//! suppression cannot reach rules its author did not think of. A reason is required; a
//! suppression past its date no longer applies.

use eksguard_model::{FieldPath, Object};

pub const ANNOTATION: &str = "eksguard.io/ignore";

pub use eksguard_model::date::Date;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suppression {
    /// Rule IDs (`POD001`) or families (`POD`), checked with [`classify`]: never a wildcard.
    pub rules: Vec<String>,
    pub reason: String,
    pub until: Option<Date>,
}

impl Suppression {
    /// Whether the suppression names `rule_id` or its family.
    pub fn covers(&self, rule_id: &str) -> bool {
        let family = rule_id.trim_end_matches(|c: char| c.is_ascii_digit());
        self.rules
            .iter()
            .any(|r| r.eq_ignore_ascii_case(rule_id) || r.eq_ignore_ascii_case(family))
    }
}

/// What a rule pattern of a suppression names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RulePattern {
    /// A rule ID of the catalog.
    Rule,
    /// A family of rules (`POD`, `IAM`).
    Family,
    /// `*`, `ALL` or a glob: would hide rules nobody chose, critical ones included.
    Wildcard,
    Unknown,
}

/// Classifies one entry of a suppression's rule list against the catalog.
pub fn classify(pattern: &str) -> RulePattern {
    let p = pattern.trim();
    let rules = crate::registry::all();
    if p.eq_ignore_ascii_case("all") || p.contains(['*', '?', '[', ']', '{', '}']) {
        RulePattern::Wildcard
    } else if rules.iter().any(|r| r.meta().id.eq_ignore_ascii_case(p)) {
        RulePattern::Rule
    } else if !p.is_empty()
        && rules
            .iter()
            .any(|r| r.meta().family().eq_ignore_ascii_case(p))
    {
        RulePattern::Family
    } else {
        RulePattern::Unknown
    }
}

/// A parsed annotation: the suppression, and the rule IDs it named that the catalog does
/// not know (left out of the suppression, and worth a warning).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Annotation {
    pub suppression: Suppression,
    pub unknown: Vec<String>,
}

/// Parses the annotation value; the error says what is wrong with it. A wildcard, or a
/// list with no known rule, makes the whole annotation invalid: it then suppresses nothing.
pub fn parse_annotation(value: &str) -> Result<Annotation, String> {
    const FORM: &str = "\"RULE[,RULE] -- reason [until=YYYY-MM-DD]\"";
    let (ids, rest) = match value.split_once("--") {
        Some((ids, rest)) => (ids, rest.trim()),
        None => return Err(format!("`{ANNOTATION}` needs a reason: {FORM}")),
    };
    let named: Vec<String> = ids
        .split([',', ' '])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_ascii_uppercase)
        .collect();
    if named.is_empty() {
        return Err(format!("`{ANNOTATION}` names no rule before `--`: {FORM}"));
    }
    let mut rules = Vec::new();
    let mut unknown = Vec::new();
    for id in named {
        match classify(&id) {
            RulePattern::Wildcard => {
                return Err(format!(
                    "`{ANNOTATION}`: `{id}` would suppress rules by wildcard; name rule IDs or \
                     families (`POD001`, `POD`)"
                ))
            }
            RulePattern::Unknown => unknown.push(id),
            RulePattern::Rule | RulePattern::Family => rules.push(id),
        }
    }
    if rules.is_empty() {
        return Err(format!(
            "`{ANNOTATION}` names no known rule (`{}`)",
            unknown.join("`, `")
        ));
    }
    let (reason, until) = match rest.rfind("until=") {
        Some(i) => {
            let date = rest[i + 6..].trim();
            let d = Date::parse(date).ok_or_else(|| {
                format!("`{ANNOTATION}`: `until={date}` is not a calendar date (YYYY-MM-DD)")
            })?;
            (rest[..i].trim(), Some(d))
        }
        None => (rest, None),
    };
    if reason.is_empty() {
        return Err(format!("`{ANNOTATION}` needs a reason after `--`"));
    }
    Ok(Annotation {
        suppression: Suppression {
            rules,
            reason: reason.to_string(),
            until,
        },
        unknown,
    })
}

/// The annotation suppressions that apply to an object: its own and its pod template's,
/// each with the path of the annotation (for error positions).
pub fn annotations_of(obj: &Object) -> Vec<(FieldPath, &str)> {
    let mut out = Vec::new();
    if let Some(v) = obj.annotation(ANNOTATION) {
        out.push((FieldPath::parse("metadata.annotations").key(ANNOTATION), v));
    }
    if let Some(pod) = obj.pod_spec() {
        if &*obj.kind != "Pod" {
            if let Some(v) = pod.annotation(ANNOTATION) {
                out.push((pod.meta_path.key("annotations").key(ANNOTATION), v));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_numbers() {
        assert_eq!(Date(1970, 1, 1).days(), 0);
        assert_eq!(Date(2000, 3, 1).days(), 11_017);
        assert_eq!(Date(2025, 1, 3).days() - Date(2024, 12, 31).days(), 3);
        for z in [-1, 0, 59, 60, 11_016, 20_000, 2_932_896] {
            assert_eq!(Date::from_days(z).days(), z);
        }
    }

    #[test]
    fn parses_ids_reason_and_expiry() {
        let a = parse_annotation("pod001, RUN -- vendor chart until=2030-01-31").unwrap();
        assert!(a.unknown.is_empty());
        let s = a.suppression;
        assert_eq!(s.rules, vec!["POD001", "RUN"]);
        assert_eq!(s.reason, "vendor chart");
        assert_eq!(s.until, Some(Date(2030, 1, 31)));
        assert!(s.covers("RUN002"));
        assert!(!s.covers("POD002"));
    }

    #[test]
    fn reason_is_required() {
        assert!(parse_annotation("POD001").is_err());
        assert!(parse_annotation("POD001 --  ").is_err());
        assert!(parse_annotation("POD001 -- x until=soon").is_err());
    }

    #[test]
    fn wildcards_and_unknown_rules_are_not_suppressions() {
        for v in [
            "* -- x",
            "ALL -- x",
            "all -- x",
            "POD* -- x",
            "POD00? -- x",
            " -- x",
        ] {
            assert!(parse_annotation(v).is_err(), "{v}");
        }
        assert!(parse_annotation("POD001,* -- x").is_err());
        let err = parse_annotation("NOPE001 -- x").unwrap_err();
        assert!(err.contains("NOPE001"), "{err}");
        let a = parse_annotation("POD001,NOPE001 -- x").unwrap();
        assert_eq!(a.suppression.rules, vec!["POD001"]);
        assert_eq!(a.unknown, vec!["NOPE001"]);
        // A family, not a string prefix: `PO` names nothing, `POD` does not cover `POD0`.
        assert_eq!(classify("PO"), RulePattern::Unknown);
        assert_eq!(classify("pod"), RulePattern::Family);
        let s = parse_annotation("POD -- x").unwrap().suppression;
        assert!(s.covers("POD019") && !s.covers("RUN001"));
    }
}
