//! The eksguard command line: argument parsing, configuration, and the commands. `main`
//! only parses, calls [`run`] and turns the outcome into an exit status.

pub mod baseline;
pub mod cli;
pub mod commands;
pub mod config;
pub mod docs;
pub mod live;
#[cfg(any(feature = "aws", feature = "serve"))]
pub mod metrics;
pub mod pipeline;
pub mod security_hub;
#[cfg(feature = "serve")]
pub mod serve;
#[cfg(any(feature = "aws", feature = "serve"))]
pub mod signals;
pub mod term;

/// How a run ended, as the exit status reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing at or above the failure threshold.
    Clean,
    /// Findings at or above the threshold.
    Findings,
    /// A usage error or an input that could not be read.
    Error,
}

impl Outcome {
    pub fn code(self) -> u8 {
        match self {
            Outcome::Clean => 0,
            Outcome::Findings => 1,
            Outcome::Error => 2,
        }
    }
}

pub fn run(cli: cli::Cli) -> anyhow::Result<Outcome> {
    #[cfg(feature = "aws")]
    eksguard_live::aws_request::set_verbose(cli.verbose);
    match cli.command {
        cli::Command::Scan(args) => commands::scan::run(*args),
        cli::Command::Node(args) => commands::node::run(args),
        cli::Command::Cluster(args) => commands::cluster::run(*args),
        cli::Command::Snapshot(args) => commands::snapshot::run(*args),
        cli::Command::Fleet(args) => commands::fleet::run(*args),
        cli::Command::Rules(cmd) => commands::rules::run(cmd),
        cli::Command::Generate(cmd) => commands::generate::run(cmd),
        cli::Command::Find(args) => commands::find::run(*args),
        cli::Command::Rbac(cmd) => commands::rbac::run(cmd),
        cli::Command::Audit(cmd) => commands::audit::run(cmd),
        cli::Command::Serve(args) => commands::serve::run(*args),
        cli::Command::Completions { shell } => commands::shell::completions(shell),
        cli::Command::Man { out } => commands::shell::man(out.as_deref()),
    }
}
