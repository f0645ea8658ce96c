//! `eksguard rules list` and `eksguard rules explain`.

use std::io::Write;

use eksguard_rules::registry;

use crate::cli::{ListFormat, RulesCommand};
use crate::Outcome;

pub fn run(cmd: RulesCommand) -> anyhow::Result<Outcome> {
    let mut out = super::open_output(None)?;
    match cmd {
        RulesCommand::List { format } => list(format, &mut out)?,
        RulesCommand::Explain { rule } => match registry::find(&rule) {
            Some(r) => out.write_all(crate::docs::rule_page(r.meta()).as_bytes())?,
            None => {
                eprintln!(
                    "error: no rule `{}`; `eksguard rules list` shows them all",
                    super::shown(&rule)
                );
                return Ok(Outcome::Error);
            }
        },
    }
    out.flush()?;
    Ok(Outcome::Clean)
}

fn list(format: ListFormat, out: &mut dyn Write) -> anyhow::Result<()> {
    match format {
        ListFormat::Text => {
            for r in registry::all() {
                let m = r.meta();
                writeln!(
                    out,
                    "{:<8} {:<8} {:<42} {}",
                    m.id, m.severity, m.name, m.summary
                )?;
            }
        }
        ListFormat::Markdown => out.write_all(crate::docs::index_page().as_bytes())?,
        ListFormat::Json => {
            let rules: Vec<serde_json::Value> = registry::all()
                .iter()
                .map(|r| {
                    let m = r.meta();
                    serde_json::json!({
                        "id": m.id,
                        "name": m.name,
                        "severity": m.severity,
                        "data": m.data.letters(),
                        "kinds": m.kinds(),
                        "summary": m.summary,
                        "remediation": m.remediation,
                        "help_uri": m.help_uri(),
                        "parameters": m.params.map(|set| {
                            let defaults = (set.defaults)();
                            set.fields.iter().map(|p| serde_json::json!({
                                "name": p.name,
                                "type": p.kind.describe(),
                                "default": defaults[p.name],
                                "doc": p.doc_text(),
                            })).collect::<Vec<_>>()
                        }).unwrap_or_default(),
                    })
                })
                .collect();
            serde_json::to_writer_pretty(&mut *out, &rules)?;
            writeln!(out)?;
        }
    }
    Ok(())
}
