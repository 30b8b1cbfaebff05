//! GitLab CI glue for `tfpub ci gitlab-report`, the counterpart of [`crate::gha`].
//!
//! A GitLab job runs tfpub with `--json` into a file and hands that file to this module,
//! which produces what GitLab understands natively:
//! - a dotenv file (`artifacts: reports: dotenv`) with `PUBLISHED`, `VERSION` and
//!   `REGISTRY_URL`, so later jobs and environments get them as variables;
//! - a JUnit XML report (`artifacts: reports: junit`), shown in merge requests: one test
//!   case for the command and one per published or failed item, failures carrying the
//!   message and hint;
//! - collapsible sections for the job log (GitLab's `section_start`/`section_end` markers).
//!
//! Every piece of text from the result is untrusted (ids, details and error messages can
//! hold anything a registry sent back): control characters are removed everywhere, XML is
//! escaped (never CDATA, so `]]>` cannot end a block), and a log line can therefore never
//! carry an escape sequence or a forged section marker. Masking secrets is GitLab's job
//! (masked variables), not this module's. Nothing here prints: the caller gets the log
//! lines back.

use crate::error::Hint;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::report::{read_result, result_items, ResultDocError};

/// Errors from turning a result document into GitLab CI reports.
#[derive(Debug, thiserror::Error)]
pub enum GitlabError {
    #[error(transparent)]
    Read(#[from] ResultDocError),
    #[error("cannot write the {what} file {path}: {source}")]
    Write {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl Hint for GitlabError {
    fn hint(&self) -> Option<String> {
        match self {
            GitlabError::Write { .. } => {
                Some("check that the folder exists and the job can write to it".into())
            }
            GitlabError::Read(e) => e.hint(),
        }
    }
}

/// Where the reports go.
#[derive(Debug, Clone)]
pub struct GitlabReport<'a> {
    /// The dotenv file (`artifacts: reports: dotenv`).
    pub dotenv: &'a Path,
    /// The JUnit XML file (`artifacts: reports: junit`).
    pub junit: &'a Path,
    /// Unix time stamped on the log section markers.
    pub now: u64,
}

/// Writes the dotenv and JUnit files (replacing them) and returns the job-log lines: one
/// collapsed section with the outcome, the items and the error, if any.
pub fn gitlab_report(result_json: &str, to: &GitlabReport<'_>) -> Result<Vec<String>, GitlabError> {
    let doc = read_result(result_json)?;
    let items = result_items(&doc);
    write(to.dotenv, "dotenv", &dotenv(&doc, items))?;
    write(to.junit, "JUnit", &junit(&doc, items))?;
    Ok(log_section(&doc, items, to.now))
}

fn text<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

/// Removes what must never reach a log, a dotenv value or an XML document: C0 and C1
/// controls (ESC, CR, NUL, ...) and the XML non-characters U+FFFE/U+FFFF. Line breaks and
/// tabs become spaces.
pub fn clean(s: &str) -> String {
    s.chars()
        .filter_map(|c| match c {
            '\n' | '\r' | '\t' => Some(' '),
            c if c.is_control() || c == '\u{FFFE}' || c == '\u{FFFF}' => None,
            c => Some(c),
        })
        .collect()
}

/// Like [`clean`] but keeps line breaks (for multi-line XML text).
fn clean_lines(s: &str) -> String {
    s.replace("\r\n", "\n")
        .split('\n')
        .map(clean)
        .collect::<Vec<_>>()
        .join("\n")
}

/// An XML attribute value: [`clean`]ed (one line), then the markup characters as
/// entities.
pub fn xml_escape(s: &str) -> String {
    markup(&clean(s))
}

/// XML element text: like [`xml_escape`] but line breaks stay line breaks.
fn xml_escape_text(s: &str) -> String {
    markup(&clean_lines(s))
}

/// The five markup characters as entities (so `]]>` and `</x>` are inert text).
fn markup(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
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

fn dotenv(doc: &Value, items: &[Value]) -> String {
    let published = doc.get("published").and_then(Value::as_bool) == Some(true);
    let head = headline(items);
    // GitLab's dotenv reports take one `KEY=value` per line and no multi-line values;
    // spaces are also removed so no value can be read as two.
    let value = |k: &str| {
        head.map(|i| clean(text(i, k)).replace(' ', ""))
            .unwrap_or_default()
    };
    format!(
        "PUBLISHED={published}\nVERSION={}\nREGISTRY_URL={}\n",
        value("version"),
        value("url")
    )
}

fn is_reported(item: &Value) -> bool {
    matches!(
        text(item, "action"),
        "created" | "uploaded" | "updated" | "failed"
    )
}

fn item_name(i: &Value) -> String {
    let mut name = text(i, "id").to_owned();
    let v = text(i, "version");
    if !v.is_empty() {
        let _ = write!(name, " {v}");
    }
    name
}

fn error_text(e: &Value) -> String {
    let mut s = text(e, "message").to_owned();
    if let Some(causes) = e.get("causes").and_then(Value::as_array) {
        for c in causes.iter().filter_map(Value::as_str) {
            let _ = write!(s, "\ncaused by: {c}");
        }
    }
    let hint = text(e, "hint");
    if !hint.is_empty() {
        let _ = write!(s, "\nhint: {hint}");
    }
    s
}

/// One `<testcase>` for the command and one per published or failed item.
fn junit(doc: &Value, items: &[Value]) -> String {
    let command = format!("tfpub {}", text(doc, "command"));
    let ok = doc.get("ok").and_then(Value::as_bool) == Some(true);
    let mut cases = Vec::new();
    let mut failures = 0;
    let mut case = |class: &str, name: &str, failure: Option<(&str, String)>| {
        let mut c = format!(
            "    <testcase classname=\"{}\" name=\"{}\"",
            xml_escape(class),
            xml_escape(name)
        );
        match failure {
            None => c.push_str("/>\n"),
            Some((message, body)) => {
                failures += 1;
                let _ = write!(
                    c,
                    ">\n      <failure message=\"{}\" type=\"failed\">{}</failure>\n    </testcase>\n",
                    xml_escape(message),
                    xml_escape_text(&body)
                );
            }
        }
        cases.push(c);
    };
    let error = doc.get("error").filter(|e| e.is_object());
    let failure = (!ok).then(|| {
        let e = error.map(error_text).unwrap_or_default();
        let first = e.lines().next().unwrap_or("failed").to_owned();
        (first, e)
    });
    case(
        "tfpub",
        &format!("{command}: {}", text(doc, "outcome")),
        failure.as_ref().map(|(m, b)| (m.as_str(), b.clone())),
    );
    for i in items.iter().filter(|i| is_reported(i)) {
        let failure = (text(i, "action") == "failed").then(|| {
            let detail = text(i, "detail");
            let d = if detail.is_empty() { "failed" } else { detail };
            (
                d.lines().next().unwrap_or("failed").to_owned(),
                d.to_owned(),
            )
        });
        case(
            &format!("tfpub.{}", text(i, "kind")),
            &item_name(i),
            failure.as_ref().map(|(m, b)| (m.as_str(), b.clone())),
        );
    }
    let n = cases.len();
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        x,
        "<testsuites name=\"tfpub\" tests=\"{n}\" failures=\"{failures}\" errors=\"0\">"
    );
    let _ = writeln!(
        x,
        "  <testsuite name=\"{}\" tests=\"{n}\" failures=\"{failures}\" errors=\"0\" skipped=\"0\">",
        xml_escape(&command)
    );
    x.extend(cases);
    x.push_str("  </testsuite>\n</testsuites>\n");
    x
}

/// Log text: [`clean`], and the marker words defused so no text from the result can open
/// or close a section even where GitLab's log parser does not need the escape prefix.
fn log_text(s: &str) -> String {
    clean(s)
        .replace("section_start:", "section-start:")
        .replace("section_end:", "section-end:")
}

/// GitLab's collapsible log section: `section_start:<ts>:<name>[collapsed=true]` and
/// `section_end:<ts>:<name>`, each followed by `\r` and an erase-line sequence, which
/// hides the marker from the rendered log.
fn log_section(doc: &Value, items: &[Value], now: u64) -> Vec<String> {
    const NAME: &str = "tfpub_report";
    const ERASE: &str = "\x1b[0K";
    let ok = doc.get("ok").and_then(Value::as_bool) == Some(true);
    let mut lines = vec![format!(
        "{ERASE}section_start:{now}:{NAME}[collapsed=true]\r{ERASE}tfpub {}: {}",
        log_text(text(doc, "command")),
        log_text(text(doc, "outcome"))
    )];
    if let Some(t) = doc.get("target").filter(|t| t.is_object()) {
        lines.push(format!(
            "target: {} (organization {})",
            log_text(text(t, "host")),
            log_text(text(t, "organization"))
        ));
    }
    for i in items {
        let mut l = format!(
            "{:<8} {} {}",
            log_text(text(i, "action")),
            log_text(text(i, "kind")),
            log_text(&item_name(i))
        );
        for key in ["url", "detail"] {
            let v = text(i, key);
            if !v.is_empty() {
                let _ = write!(l, " ({})", log_text(v));
            }
        }
        lines.push(l);
    }
    if !ok {
        if let Some(e) = doc.get("error").filter(|e| e.is_object()) {
            lines.extend(
                error_text(e)
                    .lines()
                    .map(|l| format!("error: {}", log_text(l))),
            );
        }
    }
    lines.push(format!("{ERASE}section_end:{now}:{NAME}\r{ERASE}"));
    lines
}

fn write(path: &Path, what: &'static str, content: &str) -> Result<(), GitlabError> {
    std::fs::write(path, content).map_err(|source| GitlabError::Write {
        what,
        path: path.to_owned(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_removes_controls_and_keeps_text() {
        assert_eq!(clean("a\x1b[31mb\r\nc\u{85}d\u{FFFF}é"), "a[31mb  cdé");
        assert_eq!(
            xml_escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&apos;"
        );
        assert_eq!(xml_escape("]]>"), "]]&gt;");
        assert_eq!(xml_escape("a\nb\x00"), "a b");
        assert_eq!(xml_escape_text("a\r\nb"), "a\nb");
    }
}
