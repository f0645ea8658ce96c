//! The generated pages of the book must match what the metadata and the command-line
//! definitions generate: the rule pages and their index, the rules' entries in
//! `SUMMARY.md`, the guide-coverage page and the CLI reference.

use std::path::{Path, PathBuf};

const BLESS_HINT: &str = "run `EKSGUARD_BLESS=1 cargo test -p eksguard --test it docs::`";

fn book_src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/book/src")
}

/// Compares one generated page with its committed file, rewriting it first when blessing.
fn check_page(name: &str, fresh: &str) {
    let path = book_src().join(name);
    if std::env::var_os("EKSGUARD_BLESS").is_some() {
        std::fs::write(&path, fresh).unwrap();
    }
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        fresh == text,
        "docs/book/src/{name} is out of date; {BLESS_HINT}"
    );
}

#[test]
fn rule_docs_are_current() {
    let dir = book_src().join("rules");
    if std::env::var_os("EKSGUARD_BLESS").is_some() {
        eksguard::docs::write_all(&dir).unwrap();
    }
    let stale = eksguard::docs::stale(&dir);
    assert!(
        stale.is_empty(),
        "docs/book/src/rules is out of date ({stale:?}); {BLESS_HINT}"
    );
}

#[test]
fn summary_lists_every_rule_page() {
    let path = book_src().join("SUMMARY.md");
    let text = std::fs::read_to_string(&path).unwrap();
    let fresh = eksguard::docs::refresh_summary(&text).expect("SUMMARY.md lacks the rules entry");
    if std::env::var_os("EKSGUARD_BLESS").is_some() {
        std::fs::write(&path, &fresh).unwrap();
        return;
    }
    assert!(
        fresh == text,
        "docs/book/src/SUMMARY.md's rule list is out of date; {BLESS_HINT}"
    );
}

/// The page documents the default build, whose commands depend on its features.
#[cfg(all(feature = "aws", feature = "cluster", feature = "serve"))]
#[test]
fn cli_reference_is_current() {
    let page = eksguard::docs::cli_reference_page();
    for command in [
        "`eksguard scan`",
        "`eksguard rbac who-can`",
        "`eksguard audit scan`",
    ] {
        assert!(
            page.contains(command),
            "{command} missing from the CLI reference"
        );
    }
    check_page("cli.md", &page);
}

/// Checkable guide recommendations with a rule when this page was last regenerated:
/// coverage only grows, so raise it when it does.
const GUIDE_ROWS_COVERED_AT_LEAST: usize = 108;

#[test]
fn guide_coverage_page_is_current() {
    check_page("guide-coverage.md", &eksguard::docs::guide_coverage_page());
    let covered = eksguard::docs::guide_rows_covered();
    assert!(
        covered >= GUIDE_ROWS_COVERED_AT_LEAST,
        "guide coverage fell from {GUIDE_ROWS_COVERED_AT_LEAST} to {covered} recommendations"
    );
}

/// Each command the coverage page credits is a real subcommand, and serves rows that
/// exist and are checkable.
#[test]
fn guide_commands_exist() {
    use clap::CommandFactory;
    let root = eksguard::cli::Cli::command();
    for c in eksguard::docs::GUIDE_COMMANDS {
        let mut cmd = &root;
        for word in c.command.split_whitespace() {
            cmd = cmd
                .find_subcommand(word)
                .unwrap_or_else(|| panic!("`eksguard {}`: no subcommand `{word}`", c.command));
        }
        assert!(!c.rows.is_empty(), "{}", c.command);
        for row in c.rows {
            let r = eksguard_model::guide::find(row)
                .unwrap_or_else(|| panic!("`{}`: no guide row {row}", c.command));
            assert!(r.checkable, "`{}`: {row} is not checkable", c.command);
        }
    }
}

/// The README and the book's introduction state how many rules there are.
#[test]
fn rule_count_stated_is_the_registry_s() {
    let stated = format!("- {} rules across", eksguard_rules::registry::all().len());
    for page in ["README.md", "docs/book/src/introduction.md"] {
        let text = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../..")
                .join(page),
        )
        .unwrap();
        assert!(text.contains(&stated), "{page} does not say `{stated}`");
    }
}
