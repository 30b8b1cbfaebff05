//! `tfpub ci github-report`: reads a `--json` result file and writes the GitHub Actions
//! outputs and step summary ([`crate::gha`] does the formatting).

use std::path::Path;

use anyhow::Context as _;

/// Reads `result` and writes the outputs/summary files the runner named; returns the
/// lines to show in the log.
pub fn github_report(
    result: &Path,
    output: Option<&Path>,
    summary: Option<&Path>,
) -> anyhow::Result<Vec<String>> {
    let text = std::fs::read_to_string(result)
        .with_context(|| format!("reading the result file {}", result.display()))?;
    Ok(crate::gha::github_report(&text, output, summary)?)
}
