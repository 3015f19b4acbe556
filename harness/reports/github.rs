//! GitHub Actions, when bakeoff runs inside it: the markdown summary appended to the job's
//! step summary (`$GITHUB_STEP_SUMMARY`), and workflow-command annotations
//! (`::error title=...::message`) for failed cells, correctness failures and regressions, so
//! they show on the run page and the pull request without opening an artifact. Outside
//! Actions both are silent. Annotations go to stderr (the runner reads workflow commands
//! from both streams), so stdout stays the command's result (a path, JSON).

use crate::io::FileError;
use std::io::Write;

/// The severity of an annotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// `::error`: a failed cell, a correctness failure, a regression, a FAIL.
    Error,
    /// `::warning`: worth a look, not failing (e.g. machines not comparable).
    Warning,
}

/// Whether this process runs as a GitHub Actions step (`GITHUB_ACTIONS=true`).
pub fn in_actions() -> bool {
    std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true")
}

/// Print an annotation when running in Actions; nothing elsewhere.
pub fn annotate(level: Level, title: &str, message: &str) {
    if in_actions() {
        eprintln!("{}", workflow_command(level, title, message));
    }
}

/// The workflow command line of an annotation, its title and message escaped as the
/// runner expects (`%`, CR and LF in both; `:` and `,` too in the title, a property).
pub fn workflow_command(level: Level, title: &str, message: &str) -> String {
    let data = |s: &str| s.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A");
    let property = |s: &str| data(s).replace(':', "%3A").replace(',', "%2C");
    let kind = match level {
        Level::Error => "error",
        Level::Warning => "warning",
    };
    format!("::{kind} title={}::{}", property(title), data(message))
}

/// Append `markdown` to the step summary when `$GITHUB_STEP_SUMMARY` names a file; the
/// error names the file. Several commands of one step append one after another.
pub fn append_step_summary(markdown: &str) -> Result<(), FileError> {
    let Some(path) = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|p| !p.is_empty()) else {
        return Ok(());
    };
    let shown = || std::path::Path::new(&path).display().to_string();
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(|source| FileError::Write { path: shown(), source })?;
    file.write_all(format!("{}\n\n", markdown.trim_end()).as_bytes())
        .map_err(|source| FileError::Write { path: shown(), source })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_and_messages_are_escaped_as_the_runner_reads_them() {
        let line = workflow_command(Level::Error, "m/kvcache/NPU:host/a,b", "50% slower\nsee summary");
        assert_eq!(line, "::error title=m/kvcache/NPU%3Ahost/a%2Cb::50%25 slower%0Asee summary");
        assert!(workflow_command(Level::Warning, "t", "m").starts_with("::warning title=t::"));
    }
}
