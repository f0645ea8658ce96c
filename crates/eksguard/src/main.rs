use std::process::ExitCode;

use clap::CommandFactory;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    // Parser-library panics are caught and reported as input errors with file and line;
    // keep the default panic message for everything else.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !eksguard_model::yaml::in_parser() {
            default_hook(info);
        }
    }));
    // Installed as `kubectl-eksguard`, kubectl runs it as `kubectl eksguard ...`: the same
    // commands, and help and errors that name it so.
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let name = eksguard::commands::shell::bin_name(args.first().map(|a| a.as_os_str()));
    let matches = eksguard::cli::Cli::command()
        .bin_name(name)
        .get_matches_from(args);
    let cli = eksguard::cli::Cli::from_matches(&matches).unwrap_or_else(|e| e.exit());
    match eksguard::run(cli) {
        Ok(outcome) => ExitCode::from(outcome.code()),
        Err(e) => {
            // A closed pipe (`eksguard ... | head`) is not an error.
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) {
                return ExitCode::SUCCESS;
            }
            eprintln!("error: {}", eksguard::term::shown(format!("{e:#}")));
            ExitCode::from(eksguard::Outcome::Error.code())
        }
    }
}
