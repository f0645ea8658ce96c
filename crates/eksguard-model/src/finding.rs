//! Findings as rules emit them: an object and a field path, resolved to positions later.

use crate::object::ObjectId;
use crate::path::FieldPath;

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 5] = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Info,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    pub fn parse(s: &str) -> Option<Severity> {
        Severity::ALL
            .into_iter()
            .find(|v| v.as_str().eq_ignore_ascii_case(s))
    }
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The rule that found it, with its metadata: nothing downstream looks it up again.
    pub rule: &'static crate::RuleMeta,
    pub severity: Severity,
    pub message: String,
    pub object: ObjectId,
    pub path: FieldPath,
    /// Named values behind the message, for reports that tabulate one rule's findings
    /// (empty for most rules; an empty `Vec` does not allocate).
    pub facts: Facts,
}

/// A value a rule attaches to a finding beside its message.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(untagged)]
pub enum FactValue {
    Count(u64),
    Text(String),
}

impl FactValue {
    pub fn count(&self) -> Option<u64> {
        match self {
            FactValue::Count(n) => Some(*n),
            FactValue::Text(_) => None,
        }
    }

    pub fn text(&self) -> Option<&str> {
        match self {
            FactValue::Text(s) => Some(s),
            FactValue::Count(_) => None,
        }
    }
}

/// A finding's facts, in the order the rule gives them; names are the rule's own keys.
pub type Facts = Vec<(&'static str, FactValue)>;

/// The value of fact `name`, if the finding carries it.
pub fn fact<'a>(facts: &'a Facts, name: &str) -> Option<&'a FactValue> {
    facts.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
}

impl Finding {
    pub fn rule_id(&self) -> &'static str {
        self.rule.id
    }
}

/// Where the suppression of a finding comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SuppressionSource {
    /// The `eksguard.io/ignore` annotation of the object or its pod template.
    Inline,
    /// A `[[suppress]]` entry of the configuration file.
    Config,
    /// The `--baseline` file.
    Baseline,
}

impl SuppressionSource {
    pub fn as_str(self) -> &'static str {
        match self {
            SuppressionSource::Inline => "inline",
            SuppressionSource::Config => "config",
            SuppressionSource::Baseline => "baseline",
        }
    }

    /// How a person reads it: `inline annotation`, `config suppress`, `baseline`.
    pub fn describe(self) -> &'static str {
        match self {
            SuppressionSource::Inline => "inline annotation",
            SuppressionSource::Config => "config [[suppress]]",
            SuppressionSource::Baseline => "baseline",
        }
    }
}

/// Why a finding is not reported: kept with it, so suppressions stay reviewable.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SuppressionNote {
    pub source: SuppressionSource,
    pub reason: String,
    /// The expiry date (`YYYY-MM-DD`), when the suppression has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub until: Option<String>,
}
