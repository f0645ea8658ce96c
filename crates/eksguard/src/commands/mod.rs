//! One module per command.

pub mod audit;
#[cfg(feature = "aws")]
mod audit_follow;
pub mod cluster;
pub mod find;
pub mod fleet;
pub mod generate;
pub mod node;
pub mod rbac;
pub mod rules;
pub mod scan;
pub mod serve;
pub mod shell;
pub mod snapshot;

pub use crate::pipeline::output::open_output;
pub use crate::term::{shown, use_color};

/// Loads files and directories, and standard input for `-`; `sources` keeps the text of
/// standard input for code frames, since it cannot be read twice.
pub fn load_paths(
    paths: &[std::path::PathBuf],
    opts: &eksguard_load::LoadOptions,
    sources: Option<&eksguard_report::SourceCache>,
) -> anyhow::Result<eksguard_model::Inventory> {
    let (stdin, files): (Vec<_>, Vec<_>) =
        paths.iter().cloned().partition(|p| p.as_os_str() == "-");
    let mut inv = eksguard_load::load(&files, opts);
    if !stdin.is_empty() {
        // Over the size limit it is an input error, never a silent truncation.
        let (stdin_inv, buf) = eksguard_load::files::load_stdin(opts);
        if let (Some(sources), Ok(text)) = (sources, std::str::from_utf8(&buf)) {
            sources.insert("-", text);
        }
        inv.extend(stdin_inv);
    }
    Ok(inv)
}
