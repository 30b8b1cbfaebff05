//! Text a server chose, made safe to print: every string that came from a registry
//! (error titles and details, ingress errors, statuses, names, decode messages that
//! quote a body) passes through [`server_text`] where it enters the client, so no later
//! rendering (terminal, `--json`, a GitHub Actions log or annotation) has to remember to.
//!
//! The threats are concrete: a newline followed by `::error::` (or any `::command::`)
//! is a workflow command to GitHub Actions when it starts a log line; ESC sequences
//! repaint or retitle a terminal; bidi overrides reorder what a reader sees. So control
//! characters become visible escapes, workflow-command prefixes are broken up, and the
//! text is capped so one answer cannot flood a log.

use serde::{Deserialize, Deserializer};

use crate::vocab::VersionStatus;

/// The most characters of one server string that are kept (the rest is elided).
pub const MAX_SERVER_TEXT: usize = 2000;

/// `s` with C0/C1 controls, DEL and bidi/invisible formatting characters replaced by a
/// visible escape (`\n`, `\r`, `\t`, `\u{1b}`), every `::` broken into `: :` so it can
/// never open a workflow command, and at most [`MAX_SERVER_TEXT`] characters kept.
pub fn server_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len().min(MAX_SERVER_TEXT + 16));
    for (n, c) in s.chars().enumerate() {
        if n == MAX_SERVER_TEXT {
            out.push_str("...");
            break;
        }
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if is_unsafe(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            ':' if out.ends_with(':') => out.push_str(" :"),
            c => out.push(c),
        }
    }
    out
}

/// Controls (C0, DEL, C1) and the formatting characters that change how text around them
/// is displayed (bidi embeddings, overrides and isolates, zero-width joiners and marks,
/// line/paragraph separators, the BOM).
fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{200b}'..='\u{200f}'
            | '\u{2028}'..='\u{202e}'
            | '\u{2060}'..='\u{2069}'
            | '\u{feff}'
            | '\u{061c}')
}

/// serde helper: a server string, made safe.
pub(crate) fn de_text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(server_text(&String::deserialize(d)?))
}

/// serde helper: an optional server string, made safe.
pub(crate) fn de_opt_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(Option::<String>::deserialize(d)?.map(|s| server_text(&s)))
}

/// serde helper: a version status whose unknown spellings are kept as safe text.
pub(crate) fn de_status<'de, D: Deserializer<'de>>(d: D) -> Result<VersionStatus, D::Error> {
    Ok(VersionStatus::from(
        server_text(&String::deserialize(d)?).as_str(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_and_workflow_commands_are_neutralised() {
        let evil = "bad\n::error::owned\r\x1b[2J\x1b]0;title\x07\u{9b}31m \u{202e}txt";
        let s = server_text(evil);
        assert!(!s.chars().any(is_unsafe), "{s:?}");
        assert!(!s.contains("::"), "{s}");
        assert_eq!(
            s,
            "bad\\n: :error: :owned\\r\\u{1b}[2J\\u{1b}]0;title\\u{7}\\u{9b}31m \\u{202e}txt"
        );
        assert_eq!(server_text(":::"), ": : :");
        assert_eq!(server_text("plain: text, 100%"), "plain: text, 100%");
        assert_eq!(
            server_text(&"é".repeat(5000)).chars().count(),
            MAX_SERVER_TEXT + 3
        );
    }

    /// An ingress error (and an unknown status) read from a module is safe once decoded.
    #[test]
    fn decoded_ingress_errors_are_safe() {
        let e: crate::api::VersionStatusEntry = serde_json::from_value(serde_json::json!({
            "version": "1.0.0",
            "status": "weird\n::error::x",
            "error": "bad tar\n::error::owned\u{1b}[31m",
        }))
        .unwrap();
        assert_eq!(
            e.error.as_deref(),
            Some("bad tar\\n: :error: :owned\\u{1b}[31m")
        );
        assert_eq!(e.status.as_str(), "weird\\n: :error: :x");
        assert!(!e.status.is_failed());
    }
}
