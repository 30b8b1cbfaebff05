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
            }
            .into(),
        )
    }
    fn kind(&self) -> Option<ErrorKind> {
        match self {
            CliError::LocalAndHost => Some(ErrorKind::InvalidInput),
            _ => None,
        }
    }
}
