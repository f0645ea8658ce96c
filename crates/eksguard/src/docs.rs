//! The generated pages of the book under `docs/book/src/`: one page per rule and their
//! index (`rules/`), the rules' entries in `SUMMARY.md`, the guide-coverage page and the
//! CLI reference, all from the registry's metadata and the command-line definitions. A
//! test compares them with the committed files; `EKSGUARD_BLESS=1 cargo test` rewrites them.

use std::path::Path;

use eksguard_model::RuleMeta;
use eksguard_rules::registry;

/// The Markdown page of one rule.
pub fn rule_page(m: &RuleMeta) -> String {
    let mut s = format!("# {} {}\n\n{}.\n\n", m.id, m.name, m.summary);
    s.push_str("| | |\n|---|---|\n");
    if let Some(f) = eksguard_model::rule::family(m.family()) {
        s.push_str(&format!("| Family | {} — {} |\n", f.prefix, f.title));
    }
    s.push_str(&format!("| Severity | {} |\n", m.severity));
    s.push_str(&format!("| Data | {} |\n", m.data_description()));
    if !m.kinds().is_empty() {
        s.push_str(&format!("| Kinds | {} |\n", m.kinds().join(", ")));
    }
    s.push_str(&format!("| Guide | <{}> |\n\n", m.help_uri()));
    s.push_str(&m.docs_markdown());
    if let Some(params) = m.params {
        s.push_str("\n## Parameters\n\nSet in `.eksguard.toml` under `[rules.");
        s.push_str(m.id);
        s.push_str("]`.\n\n| name | type | default | meaning |\n|---|---|---|---|\n");
        for p in params.fields {
            s.push_str(&format!(
                "| `{}` | {} | `{}` | {} |\n",
                p.name,
                p.kind.describe(),
                params.default_text(p.name),
                p.doc_text()
            ));
        }
    }
    s
}

/// Every rule as a Markdown table; `link_prefix` leads from the page to the rule pages.
pub fn rule_table(link_prefix: &str) -> String {
    let mut s = String::from("| ID | name | severity | data | summary |\n|---|---|---|---|---|\n");
    for r in registry::all() {
        let m = r.meta();
        s.push_str(&format!(
            "| [{id}]({link_prefix}{id}.md) | {} | {} | {} | {} |\n",
            m.name,
            m.severity,
            m.data.letters(),
            m.summary,
            id = m.id
        ));
    }
    s
}

/// The index page: the families with their guide sections, then every rule in a table.
pub fn index_page() -> String {
    let mut families = String::from("| family | covers | guide section |\n|---|---|---|\n");
    for f in eksguard_model::rule::FAMILIES {
        families.push_str(&format!(
            "| {} | {} | <{}> |\n",
            f.prefix, f.title, f.guide_url
        ));
    }
    format!(
        "# Rules\n\nGenerated from the rule metadata, as are `eksguard rules explain ID` and the \
         SARIF rule list; a test fails when they drift. Each rule also names the \
         recommendations of the EKS Best Practices Guide it checks: \
         [Guide coverage](../guide-coverage.md) lists every recommendation with its rules, and \
         says why the ones no data can decide are left out. The data letters: K Kubernetes \
         objects, E the EKS API, I IAM, C EC2, N a node, A audit logs (each page names them in \
         full).\n\n{families}\n{}",
        rule_table("")
    )
}

/// `SUMMARY.md`'s entry of the rules index; the rule pages are listed under it, one
/// nested item each.
pub const SUMMARY_RULES_ENTRY: &str = "- [Rules](rules/index.md)\n";

/// `summary` with the nested items under the rules entry replaced by one per rule, in
/// registry order; `None` without the entry.
pub fn refresh_summary(summary: &str) -> Option<String> {
    let a = summary.find(SUMMARY_RULES_ENTRY)? + SUMMARY_RULES_ENTRY.len();
    let mut b = a;
    for line in summary[a..].split_inclusive('\n') {
        if !line.starts_with("  ") {
            break;
        }
        b += line.len();
    }
    let mut items = String::new();
    for r in registry::all() {
        let m = r.meta();
        items.push_str(&format!("  - [{} {}](rules/{}.md)\n", m.id, m.name, m.id));
    }
    Some(format!("{}{items}{}", &summary[..a], &summary[b..]))
}

/// The CLI reference: every command and subcommand with its long help, from the clap
/// definitions the binary parses with, at a fixed width so the page does not depend on
/// the terminal that generated it.
pub fn cli_reference_page() -> String {
    use clap::CommandFactory;
    let mut root = crate::cli::Cli::command()
        .bin_name("eksguard")
        .term_width(100);
    root.build();
    let mut s = String::from(
        "# CLI reference\n\nGenerated from the command-line definitions of the default build \
         (`eksguard help COMMAND` prints the same text); a test keeps this page current. \
         `eksguard completions SHELL` and `eksguard man` are generated from the same \
         definitions.\n",
    );
    fn walk(cmd: &mut clap::Command, path: &str, s: &mut String) {
        let level = path.split(' ').count().min(4) + 1;
        s.push_str(&format!(
            "\n{} `{path}`\n\n```text\n{}\n```\n",
            "#".repeat(level),
            cmd.render_long_help()
                .to_string()
                .lines()
                .map(str::trim_end)
                .collect::<Vec<_>>()
                .join("\n")
                .trim_end()
        ));
        let names: Vec<String> = cmd
            .get_subcommands()
            .filter(|c| !c.is_hide_set() && c.get_name() != "help")
            .map(|c| c.get_name().to_string())
            .collect();
        for name in names {
            if let Some(sub) = cmd.find_subcommand_mut(&name) {
                walk(sub, &format!("{path} {name}"), s);
            }
        }
    }
    walk(&mut root, "eksguard", &mut s);
    s
}

/// Every generated file: (relative name, contents).
pub fn all_pages() -> Vec<(String, String)> {
    let mut pages = vec![("index.md".to_string(), index_page())];
    pages.extend(
        registry::all()
            .iter()
            .map(|r| (format!("{}.md", r.meta().id), rule_page(r.meta()))),
    );
    pages
}

/// Files under `dir` that differ from what the metadata generates (or are missing/extra).
pub fn stale(dir: &Path) -> Vec<String> {
    let pages = all_pages();
    let mut out: Vec<String> = pages
        .iter()
        .filter(|(name, text)| {
            std::fs::read_to_string(dir.join(name)).ok().as_deref() != Some(text)
        })
        .map(|(name, _)| name.clone())
        .collect();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().to_string();
            if !pages.iter().any(|(n, _)| *n == name) {
                out.push(format!("{name} (no such rule)"));
            }
        }
    }
    out
}

pub fn write_all(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            std::fs::remove_file(e.path())?;
        }
    }
    for (name, text) in all_pages() {
        std::fs::write(dir.join(name), text)?;
    }
    Ok(())
}

/// A command of this binary that performs what a recommendation of the guide asks for.
/// Some recommendations are practices (review who has access) rather than conditions a
/// rule can fail on; a command that does the review counts for the row, named on the page.
#[derive(Debug, Clone, Copy)]
pub struct GuideCommand {
    /// The subcommand path after `eksguard`, as typed (`rbac who-can`).
    pub command: &'static str,
    /// The guide rows it serves, by ID.
    pub rows: &'static [&'static str],
    /// What it does for those rows, one phrase.
    pub does: &'static str,
}

/// Every command the coverage page credits. A test checks that each one exists.
pub const GUIDE_COMMANDS: &[GuideCommand] = &[
    GuideCommand {
        command: "rbac who-can",
        rows: &["IAM-10"],
        does: "lists every subject allowed a verb on a resource: ServiceAccounts, users, groups, and the IAM principals aws-auth and access entries map to them",
    },
    GuideCommand {
        command: "rbac lookup",
        rows: &["IAM-10"],
        does: "lists every role bound to a user, group, ServiceAccount or IAM ARN, through RBAC bindings, aws-auth and access entries",
    },
    GuideCommand {
        command: "rbac risks",
        rows: &["IAM-10"],
        does: "ranks the subjects holding dangerous powers: full control, escalate, bind and impersonate, webhook and workload rewrites, node proxy, secrets, tokens, exec",
    },
    GuideCommand {
        command: "find",
        rows: &["IR-01"],
        does: "lists the workloads and pods that run an image, as a service account or for a workload, with their controllers and the nodes the pods run on, from files or the live cluster",
    },
    GuideCommand {
        command: "generate isolate",
        rows: &["IR-02"],
        does: "writes a deny-all NetworkPolicy for one pod and the label that makes it select the pod, and names what would keep the pod reachable: other policies selecting it, hostNetwork, NetworkPolicies not enforced (NET010). Hosts (security groups) are not covered",
    },
];

/// The rules whose `guide` metadata names `row`.
fn rules_of(row: &str) -> Vec<&'static str> {
    registry::all()
        .iter()
        .map(|r| r.meta())
        .filter(|m| m.guide.contains(&row))
        .map(|m| m.id)
        .collect()
}

/// The commands of [`GUIDE_COMMANDS`] that serve `row`.
fn commands_of(row: &str) -> Vec<&'static str> {
    GUIDE_COMMANDS
        .iter()
        .filter(|c| c.rows.contains(&row))
        .map(|c| c.command)
        .collect()
}

/// The guide-coverage page: every recommendation of the guide that data can decide, with
/// the rules that check it (from each rule's `guide` metadata) and the commands that
/// perform it, then those nothing covers and those no data decides, with the reason.
pub fn guide_coverage_page() -> String {
    use eksguard_model::guide::RECOMMENDATIONS;
    let checkable: Vec<_> = RECOMMENDATIONS.iter().filter(|r| r.checkable).collect();
    let covered = guide_rows_covered();
    let mut s = format!(
        "# Guide coverage\n\nGenerated from the rule metadata (each rule names the recommendations of the EKS Best Practices Guide it checks) and from the commands that perform a recommendation; a test keeps this page current.\n\n**{covered} of {} checkable recommendations are checked by at least one rule or command.** {} more are practices no data can decide.\n\n",
        checkable.len(),
        RECOMMENDATIONS.len() - checkable.len()
    );
    s.push_str("## Checkable recommendations\n\n| row | section | recommendation | checked by |\n|---|---|---|---|\n");
    for r in &checkable {
        let mut by: Vec<String> = rules_of(r.id)
            .iter()
            .map(|id| format!("[{id}](rules/{id}.md)"))
            .collect();
        by.extend(commands_of(r.id).iter().map(|c| format!("`eksguard {c}`")));
        let by = if by.is_empty() {
            "—".to_string()
        } else {
            by.join(", ")
        };
        s.push_str(&format!(
            "| {} | {} | {} | {by} |\n",
            r.id,
            r.section,
            cell(r.text)
        ));
    }
    s.push_str("\n## Commands\n\nRecommendations that ask for a practice rather than a setting are served by commands: the row counts as covered because the command does what the guide asks, not because anything fails.\n\n| command | rows | what it does |\n|---|---|---|\n");
    for c in GUIDE_COMMANDS {
        s.push_str(&format!(
            "| `eksguard {}` | {} | {} |\n",
            c.command,
            c.rows.join(", "),
            cell(c.does)
        ));
    }
    let open: Vec<_> = checkable.iter().filter(|r| !is_covered(r.id)).collect();
    if !open.is_empty() {
        s.push_str(
            "\n## Checkable, not checked\n\n| row | recommendation | why |\n|---|---|---|\n",
        );
        for r in open {
            let why = if r.note.is_empty() {
                "no rule yet"
            } else {
                r.note
            };
            s.push_str(&format!(
                "| {} | {} | {} |\n",
                r.id,
                cell(r.text),
                cell(why)
            ));
        }
    }
    s.push_str("\n## Not decidable from data\n\n| row | recommendation | why |\n|---|---|---|\n");
    for r in RECOMMENDATIONS.iter().filter(|r| !r.checkable) {
        s.push_str(&format!(
            "| {} | {} | {} |\n",
            r.id,
            cell(r.text),
            cell(r.note)
        ));
    }
    s
}

/// Whether a rule or a command covers `row`.
fn is_covered(row: &str) -> bool {
    !rules_of(row).is_empty() || !commands_of(row).is_empty()
}

/// The number of checkable recommendations at least one rule or command covers.
pub fn guide_rows_covered() -> usize {
    eksguard_model::guide::RECOMMENDATIONS
        .iter()
        .filter(|r| r.checkable && is_covered(r.id))
        .count()
}

/// Text for a Markdown table cell.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}
