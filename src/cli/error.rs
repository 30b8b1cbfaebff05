//! The command line's own refusals (before any library call): each names what was wrong
//! and, through [`Hint`], what to do instead.

use tfpub_core::error::{ErrorKind, Hint};

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("refusing to {what} without confirmation")]
    NoTerminalToConfirm { what: String },
    #[error("not confirmed")]
    NotConfirmed,
    #[error("--local and --host both given")]
    LocalAndHost,
    #[error("cannot find a user data folder for the embedded registry")]
    NoDataDir,
    #[error("--namespace {namespace} differs from the organization {organization}: a private provider lives in its organization's namespace")]
    NamespaceMismatch {
        namespace: String,
        organization: String,
    },
}

impl Hint for CliError {
    fn hint(&self) -> Option<String> {
        Some(
            match self {
                CliError::NoTerminalToConfirm { .. } => "pass --yes to confirm in a script",
                CliError::NotConfirmed => "type yes, or pass --yes",
                CliError::LocalAndHost => {
                    "use --local for the embedded registry, or --host for a remote one"
                }
                CliError::NoDataDir => "pass --data DIR",
                CliError::NamespaceMismatch { .. } => {
                    "pass the namespace as --organization, or leave --namespace out"
                }
            }
            .into(),
        )
    }
    fn kind(&self) -> Option<ErrorKind> {
        match self {
            CliError::LocalAndHost | CliError::NamespaceMismatch { .. } => {
                Some(ErrorKind::InvalidInput)
            }
            _ => None,
        }
    }
}
