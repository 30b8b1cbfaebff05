//! User-facing error plumbing: hints that travel with an error, and exit codes.
//!
//! Pipelines return `anyhow::Result` whose chain names what was being worked on
//! (file, URL path, version). A [`Hint`] attached with `.context(Hint(..))` or created
//! with [`hinted`] says what the user should do next; the CLI prints the chain, then the
//! hint, and puts both in the `--json` result.

use std::fmt;

/// A "what to do next" sentence attached to an error chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hint(pub String);

impl fmt::Display for Hint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An error with a message and a hint, for failures found by tfpub itself.
#[derive(Debug)]
pub struct UserError {
    pub message: String,
    pub hint: String,
}

impl fmt::Display for UserError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for UserError {}

/// Build an `anyhow::Error` carrying a message and a hint.
pub fn hinted(message: impl Into<String>, hint: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(UserError {
        message: message.into(),
        hint: hint.into(),
    })
}

/// The hint of an error chain: the outermost [`Hint`] context, else a [`UserError`]'s
/// hint, else the `hint: ...` part some layer errors carry in their message.
pub fn find_hint(err: &anyhow::Error) -> Option<String> {
    if let Some(h) = err.downcast_ref::<Hint>() {
        return Some(h.0.clone());
    }
    for cause in err.chain() {
        if let Some(u) = cause.downcast_ref::<UserError>() {
            return Some(u.hint.clone());
        }
    }
    err.chain()
        .find_map(|c| split_hint(&c.to_string()).1.map(str::to_owned))
}

/// Splits a layer error's message into its text and the `\n  hint: ...` part, if any.
fn split_hint(msg: &str) -> (&str, Option<&str>) {
    match msg.split_once("\n  hint: ") {
        Some((m, h)) => (m, Some(h.trim())),
        None => (msg, None),
    }
}

/// The messages of an error chain, outermost first, without hint layers and without
/// repeating a message already contained in the previous one.
pub fn chain_messages(err: &anyhow::Error) -> Vec<String> {
    let hint = err.downcast_ref::<Hint>().map(|h| h.0.clone());
    let mut out: Vec<String> = Vec::new();
    for cause in err.chain() {
        let msg = split_hint(&cause.to_string()).0.to_owned();
        if Some(&msg) == hint.as_ref() {
            continue;
        }
        if out.last().is_some_and(|prev| prev.contains(&msg)) {
            continue;
        }
        out.push(msg);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context;

    #[test]
    fn hint_found_through_context_layers() {
        let e: anyhow::Result<()> = Err(hinted("no .tf file at the root", "add main.tf"));
        let e = e.context("packaging ./mod").unwrap_err();
        assert_eq!(find_hint(&e).as_deref(), Some("add main.tf"));
        assert_eq!(
            chain_messages(&e),
            vec!["packaging ./mod", "no .tf file at the root"]
        );
    }

    #[test]
    fn hint_context_is_not_printed_as_a_cause() {
        let e: anyhow::Result<()> = Err(anyhow::anyhow!("401 Unauthorized"));
        let e = e
            .context(Hint("check TFE_TOKEN".into()))
            .context("checking the token and the organization")
            .unwrap_err();
        assert_eq!(find_hint(&e).as_deref(), Some("check TFE_TOKEN"));
        assert_eq!(
            chain_messages(&e),
            vec![
                "checking the token and the organization",
                "401 Unauthorized"
            ]
        );
    }

    #[test]
    fn hint_embedded_in_a_layer_message_is_split_off() {
        let e: anyhow::Result<()> = Err(anyhow::anyhow!(
            "no organization given\n  hint: pass --organization"
        ));
        let e = e.context("resolving the target").unwrap_err();
        assert_eq!(find_hint(&e).as_deref(), Some("pass --organization"));
        assert_eq!(
            chain_messages(&e),
            vec!["resolving the target", "no organization given"]
        );
    }
}
