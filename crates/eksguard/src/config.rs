//! `.eksguard.toml`: rule selection, severity overrides, per-rule parameters, path excludes
//! and suppressions. Read in two phases: TOML into spanned structs (unknown keys and wrong
//! types are errors at their line), then checked against the rule registry.

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;
use std::path::{Path, PathBuf};

use eksguard_model::Severity;
use eksguard_rules::context::param_type_ok;
use eksguard_rules::engine::ConfigSuppression;
use eksguard_rules::suppress::{Date, Suppression};
use eksguard_rules::{registry, Params};
use serde::Deserialize;
use toml::Spanned;

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
    pub select: Vec<String>,
    pub ignore: Vec<String>,
    pub fail_on: Option<Severity>,
    pub exclude: Vec<String>,
    pub default_namespace: Option<String>,
    pub max_file_size_mb: Option<u64>,
    pub severity_overrides: HashMap<String, Severity>,
    pub params: Params,
    pub suppressions: Vec<ConfigSuppression>,
}

/// A configuration mistake, with the file and line it is on.
#[derive(Debug, thiserror::Error)]
#[error("{file}:{line}: {message}")]
pub struct ConfigError {
    pub file: String,
    pub line: u32,
    pub message: String,
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
    let known = |pattern: &str| {
        let p = pattern.to_ascii_uppercase();
        p == "*" || p == "ALL" || registry::all().iter().any(|r| r.meta().id.starts_with(&p))
    };
    for (field, list, out) in [
        ("select", raw.select, &mut cfg.select),
        ("ignore", raw.ignore, &mut cfg.ignore),
    ] {
        for item in list.unwrap_or_default() {
            if known(item.get_ref()) {
                out.push(item.get_ref().to_ascii_uppercase());
            } else {
                errors.push(err(
                    item.span(),
                    format!("`{field}`: no rule matches `{}`", item.get_ref()),
                ));
            }
        }
    }
    if let Some(f) = raw.fail_on {
        match Severity::parse(f.get_ref()) {
            Some(s) => cfg.fail_on = Some(s),
            None => errors.push(err(
                f.span(),
                format!(
                    "`fail_on`: `{}` is not a severity (critical, high, medium, low, info)",
                    f.get_ref()
                ),
            )),
        }
    }
    for (id, sev) in raw.severity {
        let rule = registry::find(id.get_ref());
        match (rule, Severity::parse(sev.get_ref())) {
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
            let Some(pm) = meta.params.iter().find(|p| p.name == key.get_ref()) else {
                let names: Vec<&str> = meta.params.iter().map(|p| p.name).collect();
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
            if param_type_ok(pm.kind, &json) {
                values.insert(pm.name.to_string(), json);
            } else {
                errors.push(err(
                    value.span(),
                    format!(
                        "rule {} parameter `{}` must be a {}",
                        meta.id,
                        pm.name,
                        pm.kind.describe()
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
        if let Some(bad) = s.rules.iter().find(|r| !known(r)) {
            errors.push(err(
                span.clone(),
                format!("`[[suppress]]`: no rule matches `{bad}`"),
            ));
        }
        let until = match &s.until {
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
    if errors.is_empty() {
        Ok(cfg)
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(cfg.fail_on, Some(Severity::High));
        assert_eq!(cfg.severity_overrides["POD001"], Severity::High);
        assert_eq!(cfg.suppressions.len(), 1);
        assert_eq!(cfg.params.0["NET001"]["skip_namespaces"][1], "monitoring");
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
