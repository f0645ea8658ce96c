//! The answers of `eksguard rbac` (who-can, lookup, risks) as aligned text, Markdown or
//! JSON. Every name in them comes from input and is escaped for the output here.

use eksguard_model::rbac::query::{GrantRow, IdentityOut, LookupRow, RiskRow};
use eksguard_model::rbac::RequestAttributes;
use eksguard_model::InputError;
use serde::Serialize;

use crate::escape;

/// How an answer is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnswerFormat {
    Text,
    Markdown,
    Json,
}

/// Input text (names, the query) escaped for the output: Markdown, or a terminal.
fn esc(s: &str, markdown: bool) -> String {
    if markdown {
        escape::markdown(s)
    } else {
        escape::terminal(s).into_owned()
    }
}

/// An aligned text table, or a Markdown one; cells are escaped for the output here.
fn table(headers: &[&str], rows: &[Vec<String>], markdown: bool) -> String {
    let mut out = String::new();
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| r.iter().map(|c| esc(c, markdown)).collect())
        .collect();
    if markdown {
        out.push_str(&format!("| {} |\n", headers.join(" | ")));
        out.push_str(&format!("|{}\n", "---|".repeat(headers.len())));
        for r in &rows {
            out.push_str(&format!("| {} |\n", r.join(" | ")));
        }
        return out;
    }
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut l = String::new();
        for (i, (c, w)) in cells.iter().zip(&widths).enumerate() {
            if i + 1 == cells.len() {
                l.push_str(c);
            } else {
                l.push_str(&format!("{c:<w$}  ", w = *w));
            }
        }
        l.trim_end().to_string() + "\n"
    };
    out.push_str(&line(headers.to_vec()));
    for r in &rows {
        out.push_str(&line(r.iter().map(String::as_str).collect()));
    }
    out
}

fn json<T: Serialize>(value: &T) -> serde_json::Result<String> {
    let mut out = Vec::new();
    crate::escape::write_json(value, &mut out, true).map_err(serde_json::Error::io)?;
    out.push(b'\n');
    // The writer emits UTF-8 only: its input is Rust strings.
    Ok(String::from_utf8(out).unwrap_or_default())
}

#[derive(Serialize)]
struct WhoCanAnswer<'a> {
    schema_version: u32,
    query: &'a RequestAttributes,
    grants: &'a [GrantRow],
    errors: &'a [InputError],
}

/// Who may make `query` (`what` in words), one row a grant.
pub fn who_can(
    format: AnswerFormat,
    query: &RequestAttributes,
    what: &str,
    rows: &[GrantRow],
    errors: &[InputError],
) -> serde_json::Result<String> {
    match format {
        AnswerFormat::Json => json(&WhoCanAnswer {
            schema_version: 1,
            query,
            grants: rows,
            errors,
        }),
        f => Ok(who_can_text(what, rows, f == AnswerFormat::Markdown)),
    }
}

fn who_can_text(what: &str, rows: &[GrantRow], md: bool) -> String {
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            vec![
                r.subject.display(),
                r.via_text(),
                r.scope.clone(),
                r.binding.text(),
                r.role.text(),
                r.rules_text(),
            ]
        })
        .collect();
    let what = esc(what, md);
    let title = if rows.is_empty() {
        format!("No subject may {what}.\n")
    } else {
        format!("Who may {what}: {} grants\n", rows.len())
    };
    let mut s = if md { format!("## {title}") } else { title };
    if !rows.is_empty() {
        s.push('\n');
        s.push_str(&table(
            &["SUBJECT", "VIA", "SCOPE", "BINDING", "ROLE", "RULES"],
            &cells,
            md,
        ));
    }
    s
}

#[derive(Serialize)]
struct LookupAnswer<'a> {
    schema_version: u32,
    query: &'a str,
    identities: &'a [IdentityOut],
    bindings: &'a [LookupRow],
    errors: &'a [InputError],
}

/// The roles bound to `subject`. With `show_identities` (an IAM ARN looked up by its
/// form) the text first says which identities the ARN authenticates as.
pub fn lookup(
    format: AnswerFormat,
    subject: &str,
    show_identities: bool,
    identities: &[IdentityOut],
    rows: &[LookupRow],
    errors: &[InputError],
) -> serde_json::Result<String> {
    match format {
        AnswerFormat::Json => json(&LookupAnswer {
            schema_version: 1,
            query: subject,
            identities,
            bindings: rows,
            errors,
        }),
        f => Ok(lookup_text(
            subject,
            show_identities,
            identities,
            rows,
            f == AnswerFormat::Markdown,
        )),
    }
}

fn lookup_text(
    subject: &str,
    show_identities: bool,
    identities: &[IdentityOut],
    rows: &[LookupRow],
    md: bool,
) -> String {
    let shown = esc(subject, md);
    let mut s = String::new();
    if md {
        s.push_str(&format!("## Roles bound to {shown}\n\n"));
    }
    if show_identities {
        if identities.is_empty() {
            s.push_str(&format!(
                "{shown} is mapped by no aws-auth entry or access entry.\n"
            ));
        }
        for i in identities {
            s.push_str(&format!(
                "{shown} authenticates as user {} in groups {} ({})\n",
                esc(&i.user, md),
                esc(&i.groups.join(", "), md),
                esc(i.mapping.as_deref().unwrap_or("-"), md)
            ));
        }
        s.push('\n');
    }
    if rows.is_empty() {
        s.push_str(&format!("No role is bound to {shown}.\n"));
    } else {
        let cells: Vec<Vec<String>> = rows
            .iter()
            .map(|r| {
                vec![
                    r.subject.display(),
                    r.via.clone(),
                    r.scope.clone(),
                    r.role.text(),
                    r.binding.text(),
                ]
            })
            .collect();
        s.push_str(&table(
            &["SUBJECT", "VIA", "SCOPE", "ROLE", "BINDING"],
            &cells,
            md,
        ));
    }
    s
}

#[derive(Serialize)]
struct RisksAnswer<'a> {
    schema_version: u32,
    risks: &'a [RiskRow],
    errors: &'a [InputError],
}

/// Grants of dangerous powers, one row a grant.
pub fn risks(
    format: AnswerFormat,
    rows: &[RiskRow],
    errors: &[InputError],
) -> serde_json::Result<String> {
    match format {
        AnswerFormat::Json => json(&RisksAnswer {
            schema_version: 1,
            risks: rows,
            errors,
        }),
        f => Ok(risks_text(rows, f == AnswerFormat::Markdown)),
    }
}

fn risks_text(rows: &[RiskRow], md: bool) -> String {
    let mut s = if md {
        "## RBAC risks\n\n".to_string()
    } else {
        String::new()
    };
    if rows.is_empty() {
        s.push_str("No subject holds a dangerous power.\n");
        return s;
    }
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            vec![
                r.severity.to_string(),
                r.risk.to_string(),
                r.grant.subject.display(),
                r.grant.via_text(),
                r.grant.scope.clone(),
                r.grant.binding.text(),
                r.grant.role.text(),
                r.grant.rules_text(),
            ]
        })
        .collect();
    s.push_str(&table(
        &[
            "SEVERITY", "RISK", "SUBJECT", "VIA", "SCOPE", "BINDING", "ROLE", "RULE",
        ],
        &cells,
        md,
    ));
    s.push_str(&format!("\n{} grants of dangerous powers\n", rows.len()));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_tables_align_and_trim() {
        let t = table(
            &["A", "LONG"],
            &[
                vec!["wide cell".into(), "x".into()],
                vec!["b".into(), "".into()],
            ],
            false,
        );
        assert_eq!(t, "A          LONG\nwide cell  x\nb\n");
    }

    #[test]
    fn cells_are_escaped_for_their_output() {
        let rows = [vec!["a|b\u{1b}[2J".to_string()]];
        assert_eq!(
            table(&["N"], &rows, true),
            "| N |\n|---|\n| a\\|b\\\\u{1b}\\[2J |\n"
        );
        assert_eq!(table(&["N"], &rows, false), "N\na|b\\u{1b}[2J\n");
    }

    #[test]
    fn empty_answers_say_so() {
        let req = RequestAttributes::resource("get", "", "pods");
        let md = who_can(AnswerFormat::Markdown, &req, "get *pods*", &[], &[]).unwrap();
        assert_eq!(md, "## No subject may get \\*pods\\*.\n");
        let text = risks(AnswerFormat::Text, &[], &[]).unwrap();
        assert_eq!(text, "No subject holds a dangerous power.\n");
        let json = lookup(AnswerFormat::Json, "ops", false, &[], &[], &[]).unwrap();
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["query"], "ops");
        assert_eq!(v["bindings"], serde_json::json!([]));
    }
}
