//! What bakeoff tells the person at the terminal, and how: the verbosity chosen once on the
//! command line (`-q`, `-v`) and colour where it helps (a terminal, unless `NO_COLOR` is
//! set; never in a pipe or a file). Results files are never affected by either.

use anstyle::{AnsiColor, Style};
use std::sync::OnceLock;

/// How much bakeoff prints to stderr besides results and errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum Verbosity {
    /// Errors, warnings and the final result only (`-q`).
    Quiet,
    /// Progress and short notes (the default).
    #[default]
    Normal,
    /// Also each cell's settings, compile figures and log file (`-v`).
    Verbose,
}

static VERBOSITY: OnceLock<Verbosity> = OnceLock::new();

/// Set the verbosity once, at start-up; later calls are ignored.
pub fn set_verbosity(v: Verbosity) {
    let _ = VERBOSITY.set(v);
}

/// The verbosity in effect.
pub fn verbosity() -> Verbosity {
    VERBOSITY.get().copied().unwrap_or_default()
}

/// A note for the default verbosity: printed to stderr unless `-q`.
pub fn note(line: impl std::fmt::Display) {
    if verbosity() >= Verbosity::Normal {
        eprintln!("{line}");
    }
}

/// A detail printed only with `-v`.
pub fn detail(line: impl std::fmt::Display) {
    if verbosity() >= Verbosity::Verbose {
        eprintln!("{line}");
    }
}

/// A warning: always printed, in yellow on a terminal.
pub fn warn(line: impl std::fmt::Display) {
    eprintln!("{}", paint(Tone::Warn, &line.to_string()));
}

/// The meaning a colour carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    /// Good news: completed, identical, improved, PASS.
    Good,
    /// Needs a look: near tie, skipped, unsupported, a warning.
    Warn,
    /// Bad news: failed, hard mismatch, regressed, FAIL.
    Bad,
}

/// Whether stderr gets colour: a terminal, and neither `NO_COLOR` nor `CLICOLOR=0` set
/// (`CLICOLOR_FORCE` forces it; `NO_COLOR` wins over everything), as `anstream` decides.
pub fn colour_on_stderr() -> bool {
    anstream::AutoStream::choice(&std::io::stderr()) != anstream::ColorChoice::Never
}

/// `text` styled for `tone` when stderr gets colour, else `text` as it is. Everything
/// bakeoff colours goes to stderr; stdout (results, JSON, paths) is never coloured.
pub fn paint(tone: Tone, text: &str) -> String {
    if !colour_on_stderr() {
        return text.to_string();
    }
    let style = match tone {
        Tone::Good => Style::new().fg_color(Some(AnsiColor::Green.into())),
        Tone::Warn => Style::new().fg_color(Some(AnsiColor::Yellow.into())),
        Tone::Bad => Style::new().fg_color(Some(AnsiColor::Red.into())).bold(),
    };
    format!("{style}{text}{style:#}")
}
