//! Shared by the integration tests that read `../shared/corpus`, the real configuration
//! written by others that sits beside the repository (and beside CI's clone).

use std::path::{Path, PathBuf};

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
