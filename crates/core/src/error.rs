//! The error contract of the library: what every layer's error can say beyond its
//! message.
//!
//! Each layer (API client, configuration, packaging, signing, git, project file,
//! publish pipelines) has its own error enum whose `Display` says only what went wrong.
//! What the user should do next, and what a script may branch on, come from the
//! [`Hint`] trait those enums implement: [`Hint::hint`] and [`Hint::kind`]. The
//! renderer ([`crate::report::ErrorInfo::from_error`]) walks an `anyhow` chain once and
//! asks each layer error it recognises for both. No hint is ever written into a
//! message, so a message reads the same in a log line, a `caused by:` line and JSON.

use std::fmt;

use serde::Serialize;

/// A refusal a script may branch on, serialised as `error.kind` in the
/// `tfpub.result/v1` JSON. The names are part of the stable schema: add, never rename.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorKind {
    /// The version is already published with different content (archive, protocols,
    /// platforms or SHA256SUMS); published versions are immutable.
    ContentConflict,
    /// The version is registered with another GPG key than the one the release is
    /// signed with.
    KeyMismatch,
    /// The registry holds the version in a failed state (it could not ingest it).
    VersionFailed,
    /// The organization, module, provider or version does not exist or is hidden.
    NotFound,
    /// The token was rejected.
    Unauthorized,
    /// Still rate limited after the client's retries.
    RateLimited,
    /// Waiting on the registry or the network ran out of time; running again resumes.
    TimedOut,
    /// An argument, a file or a setting given to tfpub is wrong; nothing was sent.
    InvalidInput,
}

impl ErrorKind {
    /// The stable kebab-case name, as in the JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::ContentConflict => "content-conflict",
            ErrorKind::KeyMismatch => "key-mismatch",
            ErrorKind::VersionFailed => "version-failed",
            ErrorKind::NotFound => "not-found",
            ErrorKind::Unauthorized => "unauthorized",
            ErrorKind::RateLimited => "rate-limited",
            ErrorKind::TimedOut => "timed-out",
            ErrorKind::InvalidInput => "invalid-input",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a layer's error says beyond its message: the next step for the user, and the
/// refusal kind a script may branch on. Implemented by every layer's error enum.
pub trait Hint {
    /// What the user could do about it, when there is something to say.
    fn hint(&self) -> Option<String>;
    /// The stable kind of the refusal, when a script may want to branch on it.
    fn kind(&self) -> Option<ErrorKind> {
        None
    }
}

/// An error with a message and a hint, for the few refusals that belong to no layer
/// (the binary's own checks, e.g. a missing confirmation).
#[derive(Debug)]
pub struct UserError {
    pub message: String,
    pub hint: String,
    pub kind: Option<ErrorKind>,
}

impl fmt::Display for UserError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for UserError {}

impl Hint for UserError {
    fn hint(&self) -> Option<String> {
        Some(self.hint.clone())
    }
    fn kind(&self) -> Option<ErrorKind> {
        self.kind
    }
}

/// Build an `anyhow::Error` carrying a message and a hint (see [`UserError`]).
pub fn hinted(message: impl Into<String>, hint: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(UserError {
        message: message.into(),
        hint: hint.into(),
        kind: None,
    })
}

/// The hint and kind of one error of the chain, if it is a layer error this crate
/// knows. The renderer asks this for every link, outermost first.
pub fn layer_hint(
    e: &(dyn std::error::Error + 'static),
) -> Option<(Option<String>, Option<ErrorKind>)> {
    fn ask(h: &dyn Hint) -> Option<(Option<String>, Option<ErrorKind>)> {
        Some((h.hint(), h.kind()))
    }
    macro_rules! try_layers {
        ($($t:ty),* $(,)?) => {
            $(if let Some(x) = e.downcast_ref::<$t>() { return ask(x); })*
        };
    }
    try_layers!(
        UserError,
        crate::api::ApiError,
        crate::config::ConfigError,
        crate::package::PackageError,
        crate::sign::SignError,
        crate::git::GitError,
        crate::project::ProjectError,
        crate::publish::error::PublishError,
        crate::gha::GhaError,
    );
    None
}

/// The hint of an error chain, as the renderer finds it. Kept for callers that have
/// not moved to [`crate::report::ErrorInfo::from_error`].
pub fn find_hint(err: &anyhow::Error) -> Option<String> {
    crate::report::ErrorInfo::from_error(err, &|_| None).hint
}

/// The messages of an error chain, outermost first (the message, then the causes).
/// Kept for callers that have not moved to [`crate::report::ErrorInfo::from_error`].
pub fn chain_messages(err: &anyhow::Error) -> Vec<String> {
    let info = crate::report::ErrorInfo::from_error(err, &|_| None);
    std::iter::once(info.message).chain(info.causes).collect()
}
