//! GitHub Actions glue for `tfpub ci github-report`.
//!
//! The action runs tfpub with `--json` into a file and then hands that file to this module,
//! so the workflow-facing surface (step outputs, job summary, annotations) is produced by
//! tested Rust code instead of by `jq` one-liners in YAML. Nothing here prints: the caller
//! gets the workflow-command lines back and writes them to stdout.

use crate::error::Hint;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::report::{read_result, result_items, ResultDocError};

/// Errors from turning a result document into GitHub Actions outputs.
#[derive(Debug, thiserror::Error)]
pub enum GhaError {
    #[error(transparent)]
    Read(#[from] ResultDocError),
    #[error("cannot append to {what} file {path}: {source}")]
    Write {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl Hint for GhaError {
    fn hint(&self) -> Option<String> {
        match self {
            GhaError::Write { what, .. } => Some(format!(
                "check that the runner set {what} to a writable file"
            )),
            GhaError::Read(e) => e.hint(),
        }
    }
}

/// Writes step outputs (`published`, `version`, `registry-url`, `result-json`) to
/// `output_file` (GITHUB_OUTPUT) and a Markdown summary to `summary_file`
/// (GITHUB_STEP_SUMMARY), and returns workflow-command lines for stdout: one
/// `::error title=tfpub::` for a failed result and one `::warning title=tfpub::` per failed
/// item. Missing files are skipped (running outside Actions).
pub fn github_report(
    result_json: &str,
    output_file: Option<&Path>,
    summary_file: Option<&Path>,
) -> Result<Vec<String>, GhaError> {
    let doc = read_result(result_json)?;
    let items = result_items(&doc);

    if let Some(path) = output_file {
        append(path, "GITHUB_OUTPUT", &outputs(&doc, items, result_json))?;
    }
    if let Some(path) = summary_file {
        append(path, "GITHUB_STEP_SUMMARY", &summary(&doc, items))?;
    }
    Ok(annotations(&doc, items))
}

fn text<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

/// The item that best represents "what was published": a module, provider or Stack
/// component configuration version.
fn headline(items: &[Value]) -> Option<&Value> {
    items
        .iter()
        .find(|i| {
            matches!(
                text(i, "kind"),
                "module-version" | "provider-version" | "component-version"
            )
        })
        .or_else(|| items.iter().find(|i| !text(i, "version").is_empty()))
}

fn outputs(doc: &Value, items: &[Value], raw: &str) -> String {
    let published = doc.get("published").and_then(Value::as_bool) == Some(true);
    let head = headline(items);
    let version = head.map(|i| text(i, "version")).unwrap_or("");
    let url = head.map(|i| text(i, "url")).unwrap_or("");
    let mut out = String::new();
    out.push_str(&single(
        "published",
        if published { "true" } else { "false" },
    ));
    out.push_str(&single("version", version));
    out.push_str(&single("registry-url", url));
    out.push_str(&multiline("result-json", raw.trim_end()));
    out
}

/// `name=value`, or the heredoc form when the value is not a single line.
fn single(name: &str, value: &str) -> String {
    if value.contains(['\n', '\r']) {
        multiline(name, value)
    } else {
        format!("{name}={value}\n")
    }
}

/// `name<<DELIM` / value / `DELIM` with a random delimiter that does not occur in the
/// value, so a value can never end the block early and inject further outputs.
fn multiline(name: &str, value: &str) -> String {
    let delim = loop {
        let d = format!("tfpub_{:016x}", rand::random::<u64>());
        if !value.contains(&d) {
            break d;
        }
    };
    format!("{name}<<{delim}\n{value}\n{delim}\n")
}

fn cell(s: &str) -> String {
    let s = s.replace('\\', "\\\\").replace('|', "\\|");
    s.replace("\r\n", " ").replace(['\n', '\r'], " ")
}

fn summary(doc: &Value, items: &[Value]) -> String {
    let mut md = String::new();
    let command = text(doc, "command");
    let outcome = text(doc, "outcome");
    let icon = if doc.get("ok").and_then(Value::as_bool) == Some(true) {
        "✅"
    } else {
        "❌"
    };
    let _ = writeln!(md, "### tfpub {}\n", cell(command));
    let _ = write!(md, "{icon} Outcome: **{}**", cell(outcome));
    if let Some(t) = doc.get("target").filter(|t| t.is_object()) {
        let _ = write!(
            md,
            " on `{}` (organization `{}`)",
            cell(text(t, "host")).replace('`', "'"),
            cell(text(t, "organization")).replace('`', "'")
        );
    }
    md.push_str("\n\n");
    if !items.is_empty() {
        md.push_str("| Kind | ID | Version | Action | Link |\n|---|---|---|---|---|\n");
        for i in items {
            let url = text(i, "url");
            let link = if url.is_empty() {
                String::new()
            } else {
                format!("[open]({})", url.replace([' ', ')', '|'], ""))
            };
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {} |",
                cell(text(i, "kind")),
                cell(text(i, "id")),
                cell(text(i, "version")),
                cell(text(i, "action")),
                link
            );
        }
        md.push('\n');
    }
    if let Some(e) = doc.get("error").filter(|e| e.is_object()) {
        let _ = writeln!(md, "**Error:** {}", cell(text(e, "message")));
        let hint = text(e, "hint");
        if !hint.is_empty() {
            let _ = writeln!(md, "\n**Hint:** {}", cell(hint));
        }
        md.push('\n');
    }
    md
}

/// Escapes the message part of a workflow command (`%`, CR, LF).
pub fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a property value of a workflow command (data rules plus `:` and `,`).
pub fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

fn annotations(doc: &Value, items: &[Value]) -> Vec<String> {
    let mut lines = Vec::new();
    for i in items.iter().filter(|i| text(i, "action") == "failed") {
        let mut msg = format!("{} {}", text(i, "kind"), text(i, "id"));
        let v = text(i, "version");
        if !v.is_empty() {
            let _ = write!(msg, " {v}");
        }
        msg.push_str(" failed");
        let d = text(i, "detail");
        if !d.is_empty() {
            let _ = write!(msg, ": {d}");
        }
        lines.push(format!("::warning title=tfpub::{}", escape_data(&msg)));
    }
    if doc.get("ok").and_then(Value::as_bool) != Some(true) {
        let mut msg = format!("{} failed", text(doc, "command"));
        if let Some(e) = doc.get("error").filter(|e| e.is_object()) {
            let _ = write!(msg, ": {}", text(e, "message"));
            if let Some(causes) = e.get("causes").and_then(Value::as_array) {
                for c in causes.iter().filter_map(Value::as_str) {
                    let _ = write!(msg, "\ncaused by: {c}");
                }
            }
            let hint = text(e, "hint");
            if !hint.is_empty() {
                let _ = write!(msg, "\nhint: {hint}");
            }
        }
        lines.push(format!("::error title=tfpub::{}", escape_data(&msg)));
    }
    lines
}

fn append(path: &Path, what: &'static str, content: &str) -> Result<(), GhaError> {
    let err = |source| GhaError::Write {
        what,
        path: path.to_owned(),
        source,
    };
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(err)?;
    f.write_all(content.as_bytes()).map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{Action, ErrorInfo, Item, ItemKind, Outcome, OutcomeKind, TargetInfo};

    fn published() -> Outcome {
        let mut o = Outcome::new("module publish");
        o.outcome = OutcomeKind::Published;
        o.published = true;
        o.target = Some(TargetInfo {
            host: "127.0.0.1:8080".into(),
            organization: "acme".into(),
            local: true,
        });
        o.push(Item::new(
            ItemKind::Module,
            "acme/greeting/null",
            Action::Exists,
        ));
        o.push(
            Item::new(
                ItemKind::ModuleVersion,
                "acme/greeting/null",
                Action::Created,
            )
            .version("1.2.0")
            .url(
                "http://127.0.0.1:8080/app/acme/registry/modules/private/acme/greeting/null/1.2.0",
            ),
        );
        o
    }

    fn failed() -> Outcome {
        let mut o = Outcome::new("provider publish");
        o.ok = false;
        o.outcome = OutcomeKind::Failed;
        o.push(
            Item::new(ItemKind::Platform, "acme/tools linux_amd64", Action::Failed)
                .version("0.3.0")
                .detail("upload rejected: 100% full\nretry later"),
        );
        o.error = Some(ErrorInfo {
            message: "upload of linux_amd64 failed".into(),
            causes: vec!["HTTP 507".into()],
            hint: Some("free space, then rerun".into()),
            kind: None,
        });
        o
    }

    /// Parses GITHUB_OUTPUT content the way the runner does (both forms).
    fn parse_outputs(s: &str) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut lines = s.lines();
        while let Some(l) = lines.next() {
            if let Some((name, delim)) = l.split_once("<<") {
                let mut v = Vec::new();
                for l in lines.by_ref() {
                    if l == delim {
                        break;
                    }
                    v.push(l);
                }
                out.push((name.to_owned(), v.join("\n")));
            } else if let Some((k, v)) = l.split_once('=') {
                out.push((k.to_owned(), v.to_owned()));
            }
        }
        out
    }

    fn get<'a>(o: &'a [(String, String)], k: &str) -> &'a str {
        &o.iter().find(|(n, _)| n == k).unwrap().1
    }

    #[test]
    fn outputs_for_published_module() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        std::fs::write(&out, "earlier=1\n").unwrap();
        let json = published().to_json();
        let lines = github_report(&json, Some(&out), None).unwrap();
        assert!(lines.is_empty(), "{lines:?}");
        let written = std::fs::read_to_string(&out).unwrap();
        assert!(written.starts_with("earlier=1\n"), "must append");
        let o = parse_outputs(&written);
        assert_eq!(get(&o, "published"), "true");
        assert_eq!(get(&o, "version"), "1.2.0");
        assert!(get(&o, "registry-url").ends_with("/greeting/null/1.2.0"));
        let back: Value = serde_json::from_str(get(&o, "result-json")).unwrap();
        assert_eq!(back, serde_json::from_str::<Value>(&json).unwrap());
    }

    #[test]
    fn heredoc_delimiter_is_random_and_absent_from_value() {
        let a = multiline("x", "v");
        let b = multiline("x", "v");
        assert_ne!(a, b);
        let delim = a.lines().next().unwrap().split_once("<<").unwrap().1;
        assert!(delim.len() > 16);
        assert_eq!(a, format!("x<<{delim}\nv\n{delim}\n"));
        // A value containing a line that looks like an output cannot inject one.
        let s = single("version", "1.0\nevil=true");
        let o = parse_outputs(&s);
        assert_eq!(o.len(), 1);
        assert_eq!(get(&o, "version"), "1.0\nevil=true");
    }

    #[test]
    fn nothing_published_gives_false_and_empty() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let json = Outcome::new("module sync").to_json();
        github_report(&json, Some(&out), None).unwrap();
        let o = parse_outputs(&std::fs::read_to_string(&out).unwrap());
        assert_eq!(get(&o, "published"), "false");
        assert_eq!(get(&o, "version"), "");
        assert_eq!(get(&o, "registry-url"), "");
    }

    #[test]
    fn summary_has_table_and_outcome() {
        let dir = tempfile::tempdir().unwrap();
        let sum = dir.path().join("sum");
        github_report(&published().to_json(), None, Some(&sum)).unwrap();
        let md = std::fs::read_to_string(&sum).unwrap();
        assert!(md.contains("### tfpub module publish"), "{md}");
        assert!(md.contains("Outcome: **published**"), "{md}");
        assert!(
            md.contains("| Kind | ID | Version | Action | Link |"),
            "{md}"
        );
        assert!(md.contains(
            "| module-version | acme/greeting/null | 1.2.0 | created | [open](http://127.0.0.1:8080/app/acme/registry/modules/private/acme/greeting/null/1.2.0) |"
        ), "{md}");
        assert!(
            md.contains("| module | acme/greeting/null |  | exists |  |"),
            "{md}"
        );
    }

    #[test]
    fn summary_escapes_table_breakers_and_shows_error() {
        let dir = tempfile::tempdir().unwrap();
        let sum = dir.path().join("sum");
        let mut o = failed();
        o.items[0].id = "a|b".into();
        github_report(&o.to_json(), None, Some(&sum)).unwrap();
        let md = std::fs::read_to_string(&sum).unwrap();
        assert!(md.contains("| platform | a\\|b | 0.3.0 | failed |"), "{md}");
        assert!(md.contains("❌ Outcome: **failed**"), "{md}");
        assert!(
            md.contains("**Error:** upload of linux_amd64 failed"),
            "{md}"
        );
        assert!(md.contains("**Hint:** free space, then rerun"), "{md}");
    }

    #[test]
    fn failed_result_gives_escaped_error_and_item_warnings() {
        let lines = github_report(&failed().to_json(), None, None).unwrap();
        assert_eq!(
            lines,
            vec![
                "::warning title=tfpub::platform acme/tools linux_amd64 0.3.0 failed: upload rejected: 100%25 full%0Aretry later".to_owned(),
                "::error title=tfpub::provider publish failed: upload of linux_amd64 failed%0Acaused by: HTTP 507%0Ahint: free space, then rerun".to_owned(),
            ]
        );
    }

    #[test]
    fn escaping_rules() {
        assert_eq!(escape_data("a%b\r\nc"), "a%25b%0D%0Ac");
        assert_eq!(escape_property("t:x,y%"), "t%3Ax%2Cy%25");
    }

    #[test]
    fn rejects_non_result_documents() {
        assert!(matches!(
            github_report("not json", None, None),
            Err(GhaError::Read(ResultDocError::ParseResult { .. }))
        ));
        assert!(matches!(
            github_report(r#"{"schema":"other"}"#, None, None),
            Err(GhaError::Read(ResultDocError::WrongSchema {
                found: Some(_)
            }))
        ));
    }

    #[test]
    fn unwritable_output_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("missing-dir").join("out");
        let e = github_report(&published().to_json(), Some(&bad), None).unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains("GITHUB_OUTPUT") && msg.contains("missing-dir"),
            "{msg}"
        );
    }
}
