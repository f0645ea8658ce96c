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
