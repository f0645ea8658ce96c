//! The committed rule pages must match what the metadata generates.

use std::path::Path;

#[test]
fn rule_docs_are_current() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/rules");
    if std::env::var_os("EKSGUARD_BLESS").is_some() {
        eksguard::docs::write_all(&dir).unwrap();
    }
    let stale = eksguard::docs::stale(&dir);
    assert!(
        stale.is_empty(),
        "docs/rules is out of date ({stale:?}); run `EKSGUARD_BLESS=1 cargo test -p eksguard --test it docs::`"
    );
}

#[test]
fn readme_rule_table_is_current() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md");
    let text = std::fs::read_to_string(&path).unwrap();
    let fresh = eksguard::docs::refresh_readme(&text).expect("README lacks the rule table markers");
    if std::env::var_os("EKSGUARD_BLESS").is_some() {
        std::fs::write(&path, &fresh).unwrap();
        return;
    }
    assert!(
        fresh == text,
        "README.md's rule table is out of date; run `EKSGUARD_BLESS=1 cargo test -p eksguard --test it docs::`"
    );
}

/// Checkable guide recommendations with a rule when this page was last regenerated:
/// coverage only grows, so raise it when it does.
const GUIDE_ROWS_COVERED_AT_LEAST: usize = 108;

#[test]
fn guide_coverage_page_is_current() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/guide-coverage.md");
    let fresh = eksguard::docs::guide_coverage_page();
    if std::env::var_os("EKSGUARD_BLESS").is_some() {
        std::fs::write(&path, &fresh).unwrap();
    }
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        fresh == text,
        "docs/guide-coverage.md is out of date; run `EKSGUARD_BLESS=1 cargo test -p eksguard --test it docs::`"
    );
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
