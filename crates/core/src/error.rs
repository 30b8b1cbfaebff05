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

/// What a layer error says beyond its message: `(hint, kind)`.
pub type HintAndKind = (Option<String>, Option<ErrorKind>);

fn ask(h: &dyn Hint) -> Option<HintAndKind> {
    Some((h.hint(), h.kind()))
}

/// Tries `$e.downcast_ref::<T>()` for every layer error type of this crate and returns
/// what the first match says. Works on `&dyn Error` and on `&anyhow::Error` alike.
macro_rules! ask_layers {
    ($e:expr) => {{
        let e = $e;
        if let Some(x) = e.downcast_ref::<crate::api::ApiError>() {
            return ask(x);
        }
        if let Some(x) = e.downcast_ref::<crate::config::ConfigError>() {
            return ask(x);
        }
        if let Some(x) = e.downcast_ref::<crate::package::PackageError>() {
            return ask(x);
        }
        if let Some(x) = e.downcast_ref::<crate::sign::SignError>() {
            return ask(x);
        }
        if let Some(x) = e.downcast_ref::<crate::git::GitError>() {
            return ask(x);
        }
        if let Some(x) = e.downcast_ref::<crate::project::ProjectError>() {
            return ask(x);
        }
        if let Some(x) = e.downcast_ref::<crate::publish::error::PublishError>() {
            return ask(x);
        }
        if let Some(x) = e.downcast_ref::<crate::publish::provider::mirror::MirrorError>() {
            return ask(x);
        }
        if let Some(x) = e.downcast_ref::<crate::commands::gpg_key::GpgKeyError>() {
            return ask(x);
        }
        if let Some(x) = e.downcast_ref::<crate::publish::component::ComponentError>() {
            return ask(x);
        }
        if let Some(x) = e.downcast_ref::<crate::gha::GhaError>() {
            return ask(x);
        }
        if let Some(x) = e.downcast_ref::<crate::gitlab::GitlabError>() {
            return ask(x);
        }
        if let Some(x) = e.downcast_ref::<crate::proxy::ProxyError>() {
            return ask(x);
        }
        if let Some(x) = e.downcast_ref::<crate::vocab::VocabError>() {
            return ask(x);
        }
        if let Some(x) = e.downcast_ref::<crate::vocab::HexError>() {
            return ask(x);
        }
        if let Some(x) = e.downcast_ref::<crate::commands::ops_error::OpsError>() {
            return ask(x);
        }
        if let Some(x) = e.downcast_ref::<crate::package::archive::ArchiveError>() {
            return ask(x);
        }
        if let Some(x) = e.downcast_ref::<crate::commands::module_tests::TestVarError>() {
            return ask(x);
        }
        if let Some(x) = e.downcast_ref::<crate::commands::link::LinkError>() {
            return ask(x);
        }
        if let Some(x) = e.downcast_ref::<crate::commands::curate::CurateError>() {
            return ask(x);
        }
        None
    }};
}

/// The hint and kind of one link of an error chain, if it is a layer error this crate
/// knows. The renderer asks this for every link, outermost first.
pub fn layer_hint(e: &(dyn std::error::Error + 'static)) -> Option<HintAndKind> {
    ask_layers!(e)
}

/// Like [`layer_hint`] for the outermost error, where `anyhow` can also find a layer
/// error attached with `.context(..)` (a context value is not reachable from the chain).
pub(crate) fn outer_layer_hint(e: &anyhow::Error) -> Option<HintAndKind> {
    ask_layers!(e)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::ApiError;
    use crate::publish::error::PublishError;
    use anyhow::Context;
    use std::path::{Path, PathBuf};

    #[test]
    fn hint_found_through_context_layers() {
        let e: anyhow::Result<()> = Err(crate::package::PackageError::NoTfFiles {
            where_: "./mod".into(),
        }
        .into());
        let e = e.context("packaging ./mod").unwrap_err();
        assert!(
            find_hint(&e).is_some_and(|h| h.contains("main.tf")),
            "{e:?}"
        );
        assert_eq!(
            chain_messages(&e),
            vec![
                "packaging ./mod",
                "no .tf file at the root of the module ./mod"
            ]
        );
    }

    #[test]
    fn layer_error_gives_hint_and_kind_and_a_clean_message() {
        let e = anyhow::Error::new(ApiError::Unauthorized {
            method: "GET".into(),
            path: "/api/v2/ping".into(),
        })
        .context("checking the token and the organization");
        let info = crate::report::ErrorInfo::from_error(&e, &|_| None);
        assert_eq!(info.kind, Some(ErrorKind::Unauthorized));
        assert!(info.hint.as_deref().unwrap_or("").contains("TFE_TOKEN"));
        assert_eq!(
            chain_messages(&e),
            vec![
                "checking the token and the organization",
                "GET /api/v2/ping: HTTP 401 Unauthorized: the token was rejected"
            ]
        );
        let json = serde_json::to_value(&info).unwrap();
        assert_eq!(json["kind"], "unauthorized");
    }

    #[test]
    fn rate_limit_hint_names_a_real_flag() {
        let e = ApiError::RateLimited {
            method: "GET".into(),
            path: "/x".into(),
            attempts: 5,
        };
        let h = e.hint().unwrap();
        assert!(!h.contains("max-rps"), "{h}");
        assert!(
            h.contains("--concurrency") && h.contains("retry later"),
            "{h}"
        );
        assert_eq!(e.kind(), Some(ErrorKind::RateLimited));
    }

    #[test]
    fn kinds_serialise_kebab_case() {
        for (k, s) in [
            (ErrorKind::ContentConflict, "content-conflict"),
            (ErrorKind::KeyMismatch, "key-mismatch"),
            (ErrorKind::VersionFailed, "version-failed"),
            (ErrorKind::NotFound, "not-found"),
            (ErrorKind::Unauthorized, "unauthorized"),
            (ErrorKind::RateLimited, "rate-limited"),
            (ErrorKind::TimedOut, "timed-out"),
            (ErrorKind::InvalidInput, "invalid-input"),
        ] {
            assert_eq!(serde_json::to_value(k).unwrap(), s);
            assert_eq!(k.as_str(), s);
        }
    }

    /// Every `#[error("...")]` attribute of the crate, read from the sources: none may
    /// carry a hint (that is what [`Hint`] is for). Reading the sources catches variants
    /// added later without a test constructing them.
    #[test]
    fn no_error_attribute_in_the_crate_mentions_a_hint() {
        fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let p = entry.unwrap().path();
                if p.is_dir() {
                    walk(&p, out);
                } else if p.extension().is_some_and(|e| e == "rs") {
                    out.push(p);
                }
            }
        }
        let mut files = Vec::new();
        walk(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
            &mut files,
        );
        assert!(files.len() > 10, "{files:?}");
        let mut attributes = 0;
        for f in files {
            let text = std::fs::read_to_string(&f).unwrap();
            for (n, line) in text.lines().enumerate() {
                if line.trim_start().starts_with("#[error(") {
                    attributes += 1;
                    assert!(
                        !line.to_lowercase().contains("hint"),
                        "{}:{}: a hint inside an #[error] message: {line}",
                        f.display(),
                        n + 1
                    );
                }
            }
        }
        assert!(
            attributes > 50,
            "only {attributes} #[error] attributes found"
        );
    }

    /// Rendered messages of constructed variants: no "hint:" in any Display, and every
    /// variant that used to carry a hint in its message has one now.
    #[test]
    fn displays_carry_no_hint_and_hinted_variants_keep_theirs() {
        let s = || String::from("x");
        let p = || PathBuf::from("/p");
        let io = || std::io::Error::other("boom");
        let mut all: Vec<(String, Option<String>)> = Vec::new();
        let mut add = |d: String, h: Option<String>| all.push((d, h));
        use crate::config::ConfigError as C;
        for e in [
            C::NoOrganization,
            C::MalformedHost {
                value: s(),
                source_name: s(),
                reason: s(),
            },
            C::CredentialsUnreadable {
                path: p(),
                host: s(),
                var: s(),
                reason: s(),
            },
            C::CredentialsInvalid {
                path: p(),
                host: s(),
                var: s(),
                reason: s(),
            },
            C::CaCert {
                path: p(),
                source_name: s(),
                reason: s(),
            },
            C::NoToken {
                host: s(),
                var: s(),
            },
        ] {
            assert!(e.hint().is_some(), "{e}");
            add(e.to_string(), e.hint());
        }
        use crate::sign::SignError as S;
        for e in [
            S::Unparseable { reason: s() },
            S::NotSecret { key_id: s() },
            S::UnsupportedAlgorithm {
                key_id: s(),
                algorithm: s(),
            },
            S::Expired {
                key_id: s(),
                on: None,
            },
            S::Revoked { key_id: s() },
            S::NoSigningKey { key_id: s() },
            S::PassphraseRequired { key_id: s() },
            S::WrongPassphrase { key_id: s() },
            S::BadSignature { reason: s() },
        ] {
            assert!(e.hint().is_some(), "{e}");
            add(e.to_string(), e.hint());
        }
        use crate::package::PackageError as P;
        for e in [
            P::MissingDir { path: p() },
            P::NoTfFiles { where_: s() },
            P::NoComponentFiles { where_: s() },
            P::SymlinkOutside {
                path: s(),
                target: s(),
            },
            P::Changed { path: p() },
            P::TooLarge {
                what: s(),
                limit: 1,
                limit_human: s(),
            },
            P::BadBinaryArg {
                arg: s(),
                reason: s(),
            },
            P::MissingBinary {
                platform: s(),
                path: p(),
            },
            P::ShaMismatch {
                file: s(),
                expected: s(),
                actual: s(),
            },
            P::WrongName {
                file: s(),
                expected: s(),
            },
            P::NoSigner { path: p() },
        ] {
            assert!(e.hint().is_some(), "{e}");
            add(e.to_string(), e.hint());
        }
        let e = P::Unreadable {
            path: p(),
            source: io(),
        };
        add(e.to_string(), e.hint());
        use crate::project::ProjectError as J;
        let e = J::Parse {
            path: p(),
            message: s(),
        };
        assert!(e.hint().is_some());
        add(e.to_string(), e.hint());
        let e = J::MissingName {
            file: p(),
            path: p(),
            what: "name",
        };
        assert!(e.hint().is_some());
        add(e.to_string(), e.hint());
        use crate::gha::GhaError as G;
        for e in [
            G::Read(crate::report::ResultDocError::WrongSchema { found: None }),
            G::Write {
                what: "GITHUB_OUTPUT",
                path: p(),
                source: io(),
            },
        ] {
            assert!(e.hint().is_some(), "{e}");
            add(e.to_string(), e.hint());
        }
        for e in [
            ApiError::Unauthorized {
                method: s(),
                path: s(),
            },
            ApiError::NotFound {
                method: s(),
                path: s(),
            },
            ApiError::OrganizationNotFound {
                organization: s(),
                path: s(),
            },
            ApiError::RateLimited {
                method: s(),
                path: s(),
                attempts: 1,
            },
            ApiError::Transport {
                method: s(),
                path: s(),
                message: s(),
            },
            ApiError::Tls {
                method: s(),
                path: s(),
                host: s(),
                reason: s(),
            },
            ApiError::Timeout {
                method: s(),
                path: s(),
            },
            ApiError::Upload {
                id: s(),
                status: 500,
            },
            ApiError::CaCert {
                path: p(),
                reason: s(),
            },
        ] {
            assert!(e.hint().is_some(), "{e}");
            add(e.to_string(), e.hint());
        }
        use PublishError as B;
        for e in [
            B::NotSemver {
                input: s(),
                reason: s(),
            },
            B::NoSuchProjectModule {
                module: s(),
                project_file: p(),
            },
            B::VersionNeedsOneModule { count: 2 },
            B::ModuleDirMissing { dir: p() },
            B::ModuleNameUnknown { dir_name: s() },
            B::DirtyWorktree {
                dir: p(),
                files: s(),
            },
            B::NoVersionTag,
            B::NoVersionNoGit { dir: p() },
            B::NotModuleAddress { input: s() },
            B::NoSigningKey,
            B::ProviderNameUnknown,
            B::NoVersionForBinaries,
            B::NoProtocolsForBinaries,
            B::NoProtocols,
            B::ModuleNotFound { id: s() },
            B::VersionFailed {
                id: s(),
                module: s(),
                version: s(),
                status: s(),
                why: s(),
            },
            B::IngestFailed {
                module: s(),
                version: s(),
                status: s(),
                why: s(),
            },
            B::StillPending {
                module: s(),
                version: s(),
                status: s(),
                secs: 1,
            },
            B::ContentConflict {
                id: s(),
                version: s(),
                differs: s(),
            },
            B::ConcurrentPublisherWon {
                id: s(),
                version: s(),
            },
            B::KeyMismatch {
                id: s(),
                version: s(),
                registered: s(),
                local: s(),
            },
            B::OtherProtocols {
                id: s(),
                version: s(),
                registered: vec![],
                local: vec![],
            },
            B::OtherPlatformFile {
                id: s(),
                version: s(),
                platform: s(),
                registered_file: s(),
                registered_sha: s(),
                local_file: s(),
                local_sha: s(),
            },
            B::OtherShasums {
                id: s(),
                version: s(),
                local: p(),
            },
            B::NoUploadLink {
                what: s(),
                id: s(),
                version: s(),
            },
            B::NoPlatformUploadLink { platform: s() },
            B::ReadBackMismatch {
                platform: s(),
                registry: s(),
                local_file: s(),
                local_sha: s(),
            },
            B::DownloadMismatch {
                platform: s(),
                served_file: s(),
                served_sha: s(),
                local_file: s(),
                local_sha: s(),
            },
            B::KeyNotListed {
                key_id: s(),
                version: s(),
            },
            B::ShasumsMissingLine { filename: s() },
            B::TestsFailed {
                module: s(),
                at: s(),
                summary: s(),
            },
            B::TestRunEnded {
                module: s(),
                run: s(),
                status: s(),
                message: s(),
            },
            B::TestRunStopped {
                module: s(),
                run: s(),
                why: s(),
                timed_out: true,
            },
        ] {
            assert!(e.hint().is_some(), "{e}");
            add(e.to_string(), e.hint());
        }
        assert!(all.len() > 60);
        for (display, hint) in &all {
            assert!(!display.contains("hint"), "hint in a message: {display}");
            if let Some(h) = hint {
                assert!(!display.contains(h.as_str()), "hint repeated in {display}");
            }
        }
    }

    #[test]
    fn the_kinds_scripts_branch_on_come_from_the_publish_refusals() {
        let s = || String::from("x");
        let cases = [
            (
                PublishError::ContentConflict {
                    id: s(),
                    version: s(),
                    differs: s(),
                },
                ErrorKind::ContentConflict,
            ),
            (
                PublishError::KeyMismatch {
                    id: s(),
                    version: s(),
                    registered: s(),
                    local: s(),
                },
                ErrorKind::KeyMismatch,
            ),
            (
                PublishError::VersionFailed {
                    id: s(),
                    module: s(),
                    version: s(),
                    status: s(),
                    why: s(),
                },
                ErrorKind::VersionFailed,
            ),
            (
                PublishError::ModuleNotFound { id: s() },
                ErrorKind::NotFound,
            ),
        ];
        for (e, k) in cases {
            let info = crate::report::ErrorInfo::from_error(&anyhow::Error::new(e), &|_| None);
            assert_eq!(info.kind, Some(k));
        }
    }
}
