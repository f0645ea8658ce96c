//! What reaches the terminal: input text escaped, colour when wanted.

use std::io::IsTerminal;

use crate::cli::ColorArg;

/// Text from input (a file name, an error quoting a value) as standard error may show it:
/// control and bidi characters escaped, so input cannot drive the terminal.
pub fn shown(text: impl std::fmt::Display) -> String {
    eksguard_report::escape::terminal(&text.to_string()).into_owned()
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
