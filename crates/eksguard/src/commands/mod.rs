//! One module per command.

pub mod audit;
#[cfg(feature = "aws")]
mod audit_follow;
pub mod cluster;
pub mod fleet;
pub mod generate;
pub mod node;
pub mod rbac;
pub mod rules;
pub mod scan;
pub mod serve;
pub mod shell;
pub mod snapshot;

use std::io::{IsTerminal, Write};
use std::path::Path;

use crate::cli::ColorArg;

/// Text from input (a file name, an error quoting a value) as standard error may show it:
/// control and bidi characters escaped, so input cannot drive the terminal.
pub fn shown(text: impl std::fmt::Display) -> String {
    eksguard_report::escape::terminal(&text.to_string()).into_owned()
}

/// Standard output, or the file given with `--output`.
pub fn open_output(path: Option<&Path>) -> anyhow::Result<Box<dyn Write>> {
    use anyhow::Context;
    Ok(match path {
        Some(p) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("cannot write {}", p.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    })
}

/// Colour on when asked, or on a terminal unless NO_COLOR is set.
pub fn use_color(arg: ColorArg, to_file: bool) -> bool {
    match arg {
        ColorArg::Always => true,
        ColorArg::Never => false,
        ColorArg::Auto => {
            !to_file && std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
        }
    }
}

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
