use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = eksguard::cli::Cli::parse();
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
            eprintln!("error: {e:#}");
            ExitCode::from(eksguard::Outcome::Error.code())
        }
    }
}
