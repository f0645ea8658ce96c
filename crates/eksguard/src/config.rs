//! `.eksguard.toml`: rule selection, severity overrides, per-rule parameters, path excludes
//! and suppressions. Read in two phases: TOML into spanned structs (unknown keys and wrong
//! types are errors at their line), then checked against the rule registry.

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;
use std::path::{Path, PathBuf};

use clap::ValueEnum;
use eksguard_report::{ConfigSummary, ConfigSuppressEntry, SeverityOverride};
use eksguard_rules::engine::ConfigSuppression;
use eksguard_rules::suppress::{classify, Date, RulePattern, Suppression};
use eksguard_rules::{registry, Params};
use serde::Deserialize;
use toml::Spanned;

use crate::cli::FailOn;

pub const FILE_NAME: &str = ".eksguard.toml";

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    select: Option<Vec<Spanned<String>>>,
    ignore: Option<Vec<Spanned<String>>>,
    fail_on: Option<Spanned<String>>,
    exclude: Option<Vec<String>>,
    default_namespace: Option<String>,
    max_file_size_mb: Option<u64>,
    #[serde(default)]
    severity: BTreeMap<Spanned<String>, Spanned<String>>,
    #[serde(default)]
    rules: BTreeMap<Spanned<String>, BTreeMap<Spanned<String>, Spanned<toml::Value>>>,
    #[serde(default)]
    suppress: Vec<Spanned<RawSuppression>>,
    admission: Option<RawAdmission>,
}

/// `[admission]`: what `eksguard serve` does not judge.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAdmission {
    #[serde(default)]
    exempt: Vec<Spanned<RawExempt>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExempt {
    namespace: Option<String>,
    kind: Option<String>,
    name: Option<String>,
    service_account: Option<String>,
    until: Option<Spanned<String>>,
    reason: String,
}

/// An `[[admission.exempt]]` entry: requests for matching objects are allowed unjudged.
/// `namespace` and `name` are exact, or prefixes when they end with `*`;
/// `service_account` (`NAMESPACE:NAME`, exact) matches requests made by that service
/// account. Past `until` the entry exempts nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdmissionExempt {
    pub namespace: Option<String>,
    pub kind: Option<String>,
    pub name: Option<String>,
    pub service_account: Option<String>,
    pub until: Option<Date>,
    pub reason: String,
}

impl AdmissionExempt {
    pub fn matches(&self, namespace: Option<&str>, kind: &str, name: &str, user: &str) -> bool {
        let like = |pattern: &str, value: &str| match pattern.strip_suffix('*') {
            Some(prefix) => value.starts_with(prefix),
            None => value == pattern,
        };
        let by = |sa: &str| {
            user.strip_prefix("system:serviceaccount:")
                .is_some_and(|u| u == sa)
        };
        self.namespace
            .as_deref()
            .is_none_or(|p| namespace.is_some_and(|ns| like(p, ns)))
            && self.service_account.as_deref().is_none_or(by)
            && self.kind.as_deref().is_none_or(|k| k == kind)
            && self.name.as_deref().is_none_or(|n| like(n, name))
    }
}

/// How the configuration of a run was chosen.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Found in the working directory or a parent.
    Discovered,
    /// Named with `--config`.
    Flag,
    /// None found.
    #[default]
    NotFound,
    /// `--no-config`.
    Disabled,
}

impl Origin {
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Discovered => "discovered",
            Origin::Flag => "--config",
            Origin::NotFound => "not-found",
            Origin::Disabled => "--no-config",
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSuppression {
    rules: Vec<String>,
    reason: String,
    kind: Option<String>,
    namespace: Option<String>,
    name: Option<String>,
    until: Option<Spanned<String>>,
}

/// The validated configuration.
#[derive(Debug, Default, Clone)]
pub struct Config {
    /// Where it was read from, if anywhere.
    pub path: Option<PathBuf>,
    pub origin: Origin,
    pub select: Vec<String>,
    pub ignore: Vec<String>,
    pub fail_on: Option<FailOn>,
    pub exclude: Vec<String>,
    pub default_namespace: Option<String>,
    pub max_file_size_mb: Option<u64>,
    pub severity_overrides: HashMap<String, eksguard_model::Severity>,
    pub params: Params,
    pub suppressions: Vec<ConfigSuppression>,
    pub admission_exempt: Vec<AdmissionExempt>,
}

/// A configuration mistake, with the file and line it is on.
#[derive(Debug, thiserror::Error)]
#[error("{file}:{line}: {message}")]
pub struct ConfigError {
    pub file: String,
    pub line: u32,
    pub message: String,
}

/// A rule selection pattern (an ID, a prefix of IDs such as a family, `*` or `ALL`) in
/// upper case, or why it selects nothing, with the nearest rule IDs and families.
pub fn rule_pattern(pattern: &str) -> Result<String, String> {
    let p = pattern.trim().to_ascii_uppercase();
    let rules = registry::all();
    // Empty selects nothing extra: CI wrappers pass empty values for unset inputs.
    if p.is_empty() || p == "*" || p == "ALL" || rules.iter().any(|r| r.meta().id.starts_with(&p)) {
        return Ok(p);
    }
    let mut names: Vec<&str> = rules.iter().map(|r| r.meta().id).collect();
    names.extend(eksguard_model::rule::FAMILIES.iter().map(|f| f.prefix));
    let hint = eksguard_model::suggest::did_you_mean(&p, names);
    Err(format!(
        "no rule matches `{pattern}`{hint} (`eksguard rules list` shows them all)"
    ))
}

/// Finds `.eksguard.toml` in `start` or the nearest directory above it.
pub fn discover(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .map(|d| d.join(FILE_NAME))
        .find(|p| p.is_file())
}

pub fn load(path: &Path) -> Result<Config, Vec<ConfigError>> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| {
        vec![ConfigError {
            file: name.clone(),
            line: 0,
            message: format!("cannot read: {e}"),
        }]
    })?;
    let mut cfg = parse(&name, &text)?;
    cfg.path = Some(path.to_path_buf());
    Ok(cfg)
}

fn line_of(text: &str, span: Range<usize>) -> u32 {
    text[..span.start.min(text.len())].matches('\n').count() as u32 + 1
}

/// Parses and validates configuration text; `name` is used in error messages.
pub fn parse(name: &str, text: &str) -> Result<Config, Vec<ConfigError>> {
    let err = |span: Range<usize>, message: String| ConfigError {
        file: name.to_string(),
        line: line_of(text, span),
        message,
    };
    let raw: Raw = toml::from_str(text).map_err(|e| {
        vec![err(
            e.span().unwrap_or(0..0),
            e.message().trim().to_string(),
        )]
    })?;
    let mut errors = Vec::new();
    let mut cfg = Config {
        exclude: raw.exclude.unwrap_or_default(),
        default_namespace: raw.default_namespace,
        max_file_size_mb: raw.max_file_size_mb,
        ..Config::default()
    };
    for (field, list, out) in [
        ("select", raw.select, &mut cfg.select),
        ("ignore", raw.ignore, &mut cfg.ignore),
    ] {
        for item in list.unwrap_or_default() {
            match rule_pattern(item.get_ref()) {
                Ok(p) => out.push(p),
                Err(message) => errors.push(err(item.span(), format!("`{field}`: {message}"))),
            }
        }
    }
    if let Some(f) = raw.fail_on {
        // The same values as `--fail-on`, `never` included.
        match FailOn::from_str(f.get_ref(), true) {
            Ok(v) => cfg.fail_on = Some(v),
            Err(_) => errors.push(err(
                f.span(),
                format!(
                    "`fail_on`: `{}` is not a severity (critical, high, medium, low, info) or `never`",
                    f.get_ref()
                ),
            )),
        }
    }
    for (id, sev) in raw.severity {
        let rule = registry::find(id.get_ref());
        match (rule, eksguard_model::Severity::parse(sev.get_ref())) {
            (None, _) => errors.push(err(
                id.span(),
                format!("`severity`: unknown rule `{}`", id.get_ref()),
            )),
            (_, None) => errors.push(err(
                sev.span(),
                format!("`severity`: `{}` is not a severity", sev.get_ref()),
            )),
            (Some(r), Some(s)) => {
                cfg.severity_overrides.insert(r.meta().id.to_string(), s);
            }
        }
    }
    for (id, table) in raw.rules {
        let Some(rule) = registry::find(id.get_ref()) else {
            errors.push(err(
                id.span(),
                format!("`rules`: unknown rule `{}`", id.get_ref()),
            ));
            continue;
        };
        let meta = rule.meta();
        let mut values = BTreeMap::new();
        for (key, value) in table {
            let fields = meta.param_fields();
            let Some(pm) = fields.iter().find(|p| p.name == key.get_ref()) else {
                let names: Vec<&str> = fields.iter().map(|p| p.name).collect();
                let hint = if names.is_empty() {
                    "it takes no parameters".to_string()
                } else {
                    format!("known: {}", names.join(", "))
                };
                errors.push(err(
                    key.span(),
                    format!(
                        "rule {} has no parameter `{}` ({hint})",
                        meta.id,
                        key.get_ref()
                    ),
                ));
                continue;
            };
            let json = serde_json::to_value(value.get_ref()).unwrap_or_default();
            // The rule's parameter struct decides: the value must read into its field.
            let alone = serde_json::json!({ pm.name: json.clone() });
            if meta.params.is_some_and(|p| (p.check)(alone).is_ok()) {
                values.insert(pm.name.to_string(), json);
            } else {
                let kind = pm.kind.describe();
                errors.push(err(
                    value.span(),
                    format!(
                        "rule {} parameter `{}` must be {} {kind}",
                        meta.id,
                        pm.name,
                        if kind.starts_with('i') { "an" } else { "a" },
                    ),
                ));
            }
        }
        cfg.params.0.insert(meta.id.to_string(), values);
    }
    for s in raw.suppress {
        let span = s.span();
        let s = s.into_inner();
        if s.reason.trim().is_empty() {
            errors.push(err(
                span.clone(),
                "`[[suppress]]` needs a non-empty `reason`".into(),
            ));
        }
        // As in annotations: rule IDs or families, never a wildcard, so an entry cannot
        // hide rules (critical ones included) its author did not name.
        if s.rules.is_empty() {
            errors.push(err(
                span.clone(),
                "`[[suppress]]` needs `rules`: rule IDs or families (`POD001`, `POD`)".into(),
            ));
        }
        for r in &s.rules {
            match classify(r) {
                RulePattern::Rule | RulePattern::Family => {}
                RulePattern::Wildcard => errors.push(err(
                    span.clone(),
                    format!(
                        "`[[suppress]]`: `{r}` would suppress rules by wildcard; name rule IDs or families (`POD001`, `POD`)"
                    ),
                )),
                RulePattern::Unknown => errors.push(err(
                    span.clone(),
                    format!("`[[suppress]]`: no rule or rule family `{r}`"),
                )),
            }
        }
        let until = match &s.until {
            Some(u) => match Date::parse(u.get_ref()) {
                Some(d) => Some(d),
                None => {
                    errors.push(err(
                        u.span(),
                        format!(
                            "`until`: `{}` is not a calendar date (YYYY-MM-DD)",
                            u.get_ref()
                        ),
                    ));
                    None
                }
            },
            None => None,
        };
        cfg.suppressions.push(ConfigSuppression {
            suppression: Suppression {
                rules: s.rules.iter().map(|r| r.to_ascii_uppercase()).collect(),
                reason: s.reason,
                until,
            },
            kind: s.kind,
            namespace: s.namespace,
            name: s.name,
        });
    }
    for e in raw.admission.map(|a| a.exempt).unwrap_or_default() {
        let span = e.span();
        let e = e.into_inner();
        if e.reason.trim().is_empty() {
            errors.push(err(
                span.clone(),
                "`[[admission.exempt]]` needs a non-empty `reason`".into(),
            ));
        }
        // An empty namespace would exempt nothing by accident, and `*` everything.
        let bad_ns = |n: &str| n.trim().is_empty() || n.trim() == "*";
        let bad_sa = |s: &str| {
            s.split_once(':')
                .is_none_or(|(ns, n)| ns.is_empty() || n.is_empty() || n.contains(':'))
        };
        if e.namespace.as_deref().is_some_and(bad_ns)
            || (e.namespace.is_none() && e.service_account.is_none())
        {
            errors.push(err(
                span.clone(),
                "`[[admission.exempt]]` needs a `namespace` (exact, or a prefix ending in `*`) or a `service_account`"
                    .into(),
            ));
        }
        if e.service_account.as_deref().is_some_and(bad_sa) {
            errors.push(err(
                span.clone(),
                "`[[admission.exempt]]`: `service_account` is `NAMESPACE:NAME`".into(),
            ));
        }
        let until = match &e.until {
            Some(u) => match Date::parse(u.get_ref()) {
                Some(d) => Some(d),
                None => {
                    errors.push(err(
                        u.span(),
                        format!("`until`: `{}` is not a YYYY-MM-DD date", u.get_ref()),
                    ));
                    None
                }
            },
            None => None,
        };
        cfg.admission_exempt.push(AdmissionExempt {
            namespace: e.namespace,
            kind: e.kind,
            name: e.name,
            service_account: e.service_account,
            until,
            reason: e.reason,
        });
    }
    if errors.is_empty() {
        Ok(cfg)
    } else {
        Err(errors)
    }
}

impl Config {
    /// What this configuration turns off or changes, for the report. `inline` says whether
    /// annotations were applied (`None` where a command has none to apply).
    pub fn summary(&self, inline: Option<bool>, today: Date) -> ConfigSummary {
        let mut severity_overrides: Vec<SeverityOverride> = self
            .severity_overrides
            .iter()
            .filter_map(|(id, sev)| {
                Some(SeverityOverride {
                    rule_id: id.clone(),
                    default: registry::find(id)?.meta().severity,
                    severity: *sev,
                })
            })
            .collect();
        severity_overrides.sort_by(|a, b| a.rule_id.cmp(&b.rule_id));
        ConfigSummary {
            file: self.path.as_ref().map(|p| p.display().to_string()),
            origin: self.origin.as_str().to_string(),
            select: self.select.clone(),
            ignore: self.ignore.clone(),
            exclude: self.exclude.clone(),
            severity_overrides,
            suppress: self
                .suppressions
                .iter()
                .map(|c| ConfigSuppressEntry {
                    rules: c.suppression.rules.clone(),
                    kind: c.kind.clone(),
                    namespace: c.namespace.clone(),
                    name: c.name.clone(),
                    reason: c.suppression.reason.clone(),
                    until: c.suppression.until.map(|d| d.to_string()),
                    expired: c.suppression.until.is_some_and(|d| d < today),
                })
                .collect(),
            params: self
                .params
                .0
                .iter()
                .map(|(id, values)| (id.clone(), serde_json::json!(values)))
                .collect(),
            fail_on: self
                .fail_on
                .and_then(|f| f.to_possible_value())
                .map(|v| v.get_name().to_string()),
            default_namespace: self.default_namespace.clone(),
            max_file_size_mb: self.max_file_size_mb,
            inline_suppressions: inline,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use eksguard_model::Severity;

    #[test]
    fn full_config_parses() {
        let cfg = parse(
            "c.toml",
            r#"
select = ["POD", "IAM008"]
ignore = ["POD013"]
fail_on = "high"
exclude = ["charts/**"]

[severity]
POD001 = "high"

[rules.NET001]
skip_namespaces = ["kube-system", "monitoring"]

[[suppress]]
rules = ["POD007"]
kind = "DaemonSet"
namespace = "kube-system"
name = "aws-node"
reason = "the CNI needs the host network"
until = "2030-01-01"
"#,
        )
        .unwrap();
        assert_eq!(cfg.select, vec!["POD", "IAM008"]);
        assert_eq!(cfg.fail_on, Some(FailOn::High));
        assert_eq!(cfg.severity_overrides["POD001"], Severity::High);
        assert_eq!(cfg.suppressions.len(), 1);
        assert_eq!(cfg.params.0["NET001"]["skip_namespaces"][1], "monitoring");
    }

    /// Parameters are read into the rule's parameter struct: a value of the wrong type,
    /// or a name the struct lacks, is an error at its line.
    #[test]
    fn rule_parameters_are_typed_by_the_rule() {
        let text = "[rules.AUD020]\nthreshold = 5\nwindow_seconds = \"300\"\n\n[rules.NET001]\nskip_namespaces = [\"a\", 1]\nskip_namespace = []\n";
        let errs = parse("c.toml", text).unwrap_err();
        let got: Vec<(u32, &str)> = errs.iter().map(|e| (e.line, e.message.as_str())).collect();
        assert_eq!(
            got,
            [
                (
                    3,
                    "rule AUD020 parameter `window_seconds` must be an integer"
                ),
                (
                    7,
                    "rule NET001 has no parameter `skip_namespace` (known: skip_namespaces)"
                ),
                (
                    6,
                    "rule NET001 parameter `skip_namespaces` must be a list of strings"
                ),
            ],
            "{errs:?}"
        );
        let cfg = parse("c.toml", "[rules.AUD020]\nthreshold = 5\n").unwrap();
        assert_eq!(cfg.params.0["AUD020"]["threshold"], 5);
    }

    #[test]
    fn fail_on_never_is_a_value() {
        let cfg = parse("c.toml", "fail_on = \"never\"\n").unwrap();
        assert_eq!(cfg.fail_on, Some(FailOn::Never));
        assert_eq!(
            cfg.summary(None, Date(2026, 1, 1)).fail_on.as_deref(),
            Some("never")
        );
        let errs = parse("c.toml", "\nfail_on = \"sometimes\"\n").unwrap_err();
        assert_eq!(errs[0].line, 2);
        assert!(errs[0].message.contains("never"), "{errs:?}");
    }

    #[test]
    fn suppress_entries_name_rules_explicitly() {
        for rules in ["\"*\"", "\"ALL\"", "\"POD*\"", "\"NOPE001\""] {
            let text =
                format!("fail_on = \"high\"\n\n[[suppress]]\nrules = [{rules}]\nreason = \"x\"\n");
            let errs = parse("c.toml", &text).unwrap_err();
            assert_eq!(errs[0].line, 3, "{rules}: {errs:?}");
        }
        let errs = parse("c.toml", "[[suppress]]\nrules = []\nreason = \"x\"\n").unwrap_err();
        assert!(errs[0].message.contains("needs `rules`"), "{errs:?}");
        // A family and a resource pattern are fine, and the summary shows them.
        let cfg = parse(
            "c.toml",
            "[[suppress]]\nrules = [\"POD\"]\nname = \"web-*\"\nreason = \"x\"\nuntil = \"2020-01-01\"\n\n[severity]\nPOD001 = \"low\"\n",
        )
        .unwrap();
        let s = cfg.summary(Some(true), Date(2026, 1, 1));
        assert_eq!(s.suppress[0].resources(), "named web-*");
        assert!(s.suppress[0].expired);
        assert!(s.severity_overrides[0].lowers());
        assert_eq!(s.severity_overrides[0].default, Severity::Critical);
    }

    #[test]
    fn admission_exemptions_need_a_namespace_and_a_reason() {
        let cfg = parse(
            "c.toml",
            "[[admission.exempt]]\nnamespace = \"team-*\"\nkind = \"Pod\"\nreason = \"batch jobs\"\n",
        )
        .unwrap();
        let e = &cfg.admission_exempt[0];
        assert!(e.matches(Some("team-a"), "Pod", "x", "alice"));
        assert!(!e.matches(Some("team-a"), "Deployment", "x", "alice"));
        assert!(!e.matches(Some("other"), "Pod", "x", "alice"));
        assert!(!e.matches(None, "Pod", "x", "alice"));

        let cfg = parse(
            "c.toml",
            "[[admission.exempt]]\nservice_account = \"gitops:deployer\"\nuntil = \"2027-01-01\"\nreason = \"the pipeline\"\n",
        )
        .unwrap();
        let e = &cfg.admission_exempt[0];
        assert_eq!(e.until, Date::parse("2027-01-01"));
        assert!(e.matches(
            Some("shop"),
            "Pod",
            "x",
            "system:serviceaccount:gitops:deployer"
        ));
        assert!(!e.matches(
            Some("shop"),
            "Pod",
            "x",
            "system:serviceaccount:gitops:deployer2"
        ));
        assert!(!e.matches(Some("shop"), "Pod", "x", "gitops:deployer"));
        let errs = parse(
            "c.toml",
            "[[admission.exempt]]\nservice_account = \"deployer\"\nuntil = \"soon\"\nreason = \"x\"\n",
        )
        .unwrap_err();
        assert!(
            errs.iter().any(|e| e.message.contains("NAMESPACE:NAME")),
            "{errs:?}"
        );
        assert!(
            errs.iter()
                .any(|e| e.line == 3 && e.message.contains("`until`")),
            "{errs:?}"
        );

        let errs = parse(
            "c.toml",
            "fail_on = \"high\"\n\n[[admission.exempt]]\nnamespace = \"ops\"\nreason = \" \"\n",
        )
        .unwrap_err();
        assert_eq!((errs[0].line, errs.len()), (3, 1), "{errs:?}");
        assert!(errs[0].message.contains("reason"), "{errs:?}");

        let errs = parse("c.toml", "\n[[admission.exempt]]\nreason = \"x\"\n").unwrap_err();
        assert_eq!(errs[0].line, 2, "{errs:?}");
        assert!(errs[0].message.contains("namespace"), "{errs:?}");

        let errs = parse(
            "c.toml",
            "[[admission.exempt]]\nnamespace = \"*\"\nreason = \"x\"\n",
        )
        .unwrap_err();
        assert!(errs[0].message.contains("needs a `namespace`"), "{errs:?}");

        let errs = parse(
            "c.toml",
            "[[admission.exempt]]\nnamespace = \"a\"\nreason = \"x\"\nlabels = 1\n",
        )
        .unwrap_err();
        assert_eq!(errs[0].line, 4, "{errs:?}");
    }

    #[test]
    fn mistakes_point_at_their_line() {
        let errs = parse("c.toml", "select = [\"POD\"]\nbogus = 1\n").unwrap_err();
        assert_eq!(errs[0].line, 2, "{errs:?}");
        assert!(errs[0].message.contains("bogus"), "{errs:?}");

        let errs = parse(
            "c.toml",
            "[rules.NET001]\nskip_namespaces = [\"a\"]\nwhatever = 3\n\n[severity]\nPOD001 = \"urgent\"\n",
        )
        .unwrap_err();
        let lines: Vec<u32> = errs.iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![6, 3], "{errs:?}");

        let errs = parse("c.toml", "[rules.NET001]\nskip_namespaces = 3\n").unwrap_err();
        assert_eq!(errs[0].line, 2);
        assert!(errs[0].message.contains("list of strings"));
    }
}
