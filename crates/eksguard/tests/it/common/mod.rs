//! Shared by the integration tests that read `../shared/corpus`, the real configuration
//! written by others that sits beside the repository (and beside CI's clone), and by
//! those that run the engine or feed the binary on standard input.
// Each test binary uses only some of these helpers.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use eksguard_model::{Finding, Inventory};
use eksguard_rules::engine::{Engine, EngineConfig};
use eksguard_rules::registry;

/// A fresh, empty directory for one test, unique per process and call.
pub fn temp_dir(tag: &str) -> PathBuf {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "eksguard-{tag}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// `rel` under the corpus, or `None` after printing SKIPPED when it is not there.
pub fn corpus(rel: &str) -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/corpus")
        .join(rel);
    if p.exists() {
        Some(p)
    } else {
        eprintln!("SKIPPED: corpus path {} not found", p.display());
        None
    }
}

/// `rel` under `../shared/holdout` (inputs written by other projects, read in place; the
/// `EKSGUARD_HOLDOUT` variable names another place), or `None` after printing SKIPPED when
/// it is not there.
pub fn holdout(rel: &str) -> Option<PathBuf> {
    let base = std::env::var_os("EKSGUARD_HOLDOUT").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/holdout"),
        PathBuf::from,
    );
    let p = base.join(rel);
    if p.exists() {
        Some(p)
    } else {
        eprintln!("SKIPPED: holdout path {} not found", p.display());
        None
    }
}

/// The findings of `rules` (IDs or prefixes) over an inventory.
pub fn findings(inv: &Inventory, rules: &[&str]) -> Vec<Finding> {
    let config = EngineConfig {
        select: rules.iter().map(|s| s.to_string()).collect(),
        ..EngineConfig::default()
    };
    Engine::new(registry::all(), config).run(inv).findings
}

/// Runs `cmd` with `input` on its standard input and collects its output.
pub fn run_with_stdin(cmd: &mut Command, input: &str) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// The JSON a command printed, or a panic showing what it printed instead.
pub fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}
