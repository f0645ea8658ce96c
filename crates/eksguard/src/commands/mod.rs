//! One module per command.

pub mod cluster;
pub mod generate;
pub mod node;
pub mod rules;
pub mod scan;

use std::io::{IsTerminal, Write};
use std::path::Path;

use crate::cli::ColorArg;

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
