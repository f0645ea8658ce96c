//! `eksguard completions` and `eksguard man`: generated from the command-line definitions,
//! so they always match the flags the binary accepts.

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use clap::CommandFactory;

use crate::cli::Cli;
use crate::Outcome;

/// The name the command is run under: `kubectl eksguard` when installed as a kubectl
/// plugin, else `eksguard`.
pub fn bin_name(argv0: Option<&std::ffi::OsStr>) -> &'static str {
    let stem = argv0
        .and_then(|a| Path::new(a).file_stem())
        .and_then(|s| s.to_str());
    match stem {
        Some("kubectl-eksguard") => "kubectl eksguard",
        _ => "eksguard",
    }
}

pub fn completions(shell: clap_complete::Shell) -> anyhow::Result<Outcome> {
    let mut cmd = Cli::command();
    let mut out = std::io::stdout().lock();
    clap_complete::generate(shell, &mut cmd, "eksguard", &mut out);
    out.flush()?;
    Ok(Outcome::Clean)
}

pub fn man(out: Option<&Path>) -> anyhow::Result<Outcome> {
    let cmd = Cli::command();
    match out {
        None => {
            let mut stdout = std::io::stdout().lock();
            clap_mangen::Man::new(cmd).render(&mut stdout)?;
            stdout.flush()?;
        }
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            clap_mangen::generate_to(cmd, dir)
                .with_context(|| format!("cannot write man pages to {}", dir.display()))?;
        }
    }
    Ok(Outcome::Clean)
}
