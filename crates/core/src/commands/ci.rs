//! `tfpub ci github-report` and `tfpub ci gitlab-report`: read a `--json` result file and
//! write the CI system's outputs and reports ([`crate::gha`] and [`crate::gitlab`] do the
//! formatting).

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

/// Reads `result` and writes GitLab's dotenv and JUnit report files; returns the job-log
/// lines (a collapsed section).
pub fn gitlab_report(result: &Path, dotenv: &Path, junit: &Path) -> anyhow::Result<Vec<String>> {
    let text = std::fs::read_to_string(result)
        .with_context(|| format!("reading the result file {}", result.display()))?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let to = crate::gitlab::GitlabReport { dotenv, junit, now };
    Ok(crate::gitlab::gitlab_report(&text, &to)?)
}
