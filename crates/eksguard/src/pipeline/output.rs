//! Where a report goes: standard output or `--output`, through the reporter of its format,
//! and Security Hub with `--security-hub`.

use std::io::Write;
use std::path::Path;

use eksguard_model::InputError;
use eksguard_report::{reporter, RenderOptions, Report, SourceCache};

use crate::cli::ReportArgs;
use crate::term::{shown, use_color};

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

/// Writes the report where `--output`/`--quiet` say, and sends it to Security Hub with
/// `--security-hub`.
pub fn emit(args: &ReportArgs, report: Report<'_>, sources: &SourceCache) -> anyhow::Result<()> {
    use eksguard_report::OutputFormat;
    let asff = match args.format == OutputFormat::Asff || args.security_hub {
        true => Some(crate::security_hub::target(args)?),
        false => None,
    };
    if let (true, Some(t)) = (args.security_hub, &asff) {
        crate::security_hub::send(args, &report, t)?;
    }
    errors_to_stderr(args, &report.errors);
    if args.quiet && args.output.is_none() {
        return Ok(());
    }
    let opts = RenderOptions {
        color: use_color(args.color, args.output.is_some()),
        no_frames: false,
        show_suppressed: args.show_suppressed,
        asff,
    };
    let mut out = open_output(args.output.as_deref())?;
    let mut r = reporter::document(args.format, sources, &opts, &mut out);
    reporter::write_report(&mut *r, report)?;
    Ok(())
}

/// Input errors reach standard error whatever `--quiet`, `--output` and `--format` say:
/// `--quiet` hides findings, never errors. Only a text report on a terminal already
/// shows them there.
pub fn errors_to_stderr(args: &ReportArgs, errors: &[InputError]) {
    use std::io::IsTerminal;
    let in_report = args.format.shows_errors()
        && !args.quiet
        && args.output.is_none()
        && std::io::stdout().is_terminal();
    if in_report {
        return;
    }
    for e in errors {
        eprintln!("error: {}", shown(e));
    }
}

#[cfg(test)]
mod tests {
    use clap::ValueEnum;
    use eksguard_report::OutputFormat;

    #[test]
    fn the_flag_names_every_format_as_the_report_crate_does() {
        let from_clap: Vec<String> = OutputFormat::value_variants()
            .iter()
            .map(|f| f.to_possible_value().unwrap().get_name().to_string())
            .collect();
        assert_eq!(from_clap, OutputFormat::NAMES);
        for f in OutputFormat::value_variants() {
            assert_eq!(OutputFormat::parse(f.name()), Some(*f));
        }
        assert_eq!(
            OutputFormat::of_extension("SARIF"),
            Some(OutputFormat::Sarif)
        );
        assert_eq!(OutputFormat::of_extension("csv"), None);
    }
}
