//! The refusals of the registry operations (`module|provider list|show|pull`,
//! `registry copy`): what is not in the registry, what a download failed to prove, and a
//! badly written registry reference. One enum, with its hints and kinds.

use std::path::PathBuf;

use crate::error::{ErrorKind, Hint};

#[derive(Debug, thiserror::Error)]
pub enum OpsError {
    #[error("module {module} is not in the private registry of {organization}")]
    ModuleNotFound {
        module: String,
        organization: String,
    },
    #[error("provider {provider} is not in the private registry of {organization}")]
    ProviderNotFound {
        provider: String,
        organization: String,
    },
    #[error("{what} has no version {version}")]
    VersionNotFound { what: String, version: String },
    #[error("version {version} of {what} is not installable (status {status})")]
    NotInstallable {
        what: String,
        version: String,
        status: String,
    },
    #[error("the registry names a platform file {file:?}, which is not a plain .zip file name")]
    UnsafeFileName { file: String },
    #[error("{file}: the registry's SHA256SUMS does not list it")]
    NotInSums { file: String },
    #[error("{file}: sha256 {actual} does not match {expected} in the signed SHA256SUMS")]
    HashMismatch {
        file: String,
        expected: String,
        actual: String,
    },
    #[error("version {version} of {provider} is served without its signing key {key_id}")]
    KeyNotServed {
        provider: String,
        version: String,
        key_id: String,
    },
    #[error("{} exists and is not a folder", .path.display())]
    OutputNotAFolder { path: PathBuf },
    #[error("{input:?} is not a registry reference HOST/ORGANIZATION")]
    BadRegistryRef { input: String },
    #[error("registry copy does not take {flag}")]
    CopyGlobalFlag { flag: String },
    #[error("--from and --to name the same registry and organization ({target})")]
    SameRegistry { target: String },
    #[error("{failed} of {total} items could not be copied")]
    CopyIncomplete { failed: usize, total: usize },
}

impl Hint for OpsError {
    fn hint(&self) -> Option<String> {
        Some(match self {
            OpsError::ModuleNotFound { .. } => {
                "`tfpub module list` shows the organization's modules (a token without access sees none)".into()
            }
            OpsError::ProviderNotFound { .. } => {
                "`tfpub provider list` shows the organization's providers".into()
            }
            OpsError::VersionNotFound { .. } => {
                "`tfpub module show` / `tfpub provider show` list the versions".into()
            }
            OpsError::NotInstallable { .. } => {
                "only a version with status ok can be downloaded; `tfpub module show` says why it is not".into()
            }
            OpsError::UnsafeFileName { .. } => {
                "nothing was written for it; the registry's platform record is wrong: republish the version".into()
            }
            OpsError::NotInSums { .. } | OpsError::HashMismatch { .. } => {
                "the registry serves a file its signed checksums do not vouch for: do not use it; republish the version".into()
            }
            OpsError::KeyNotServed { .. } => {
                "register the public key in the namespace (`tfpub gpg-key add`)".into()
            }
            OpsError::OutputNotAFolder { .. } => "give -o a folder (it is created if missing)".into(),
            OpsError::BadRegistryRef { .. } => {
                "write HOST/ORG, e.g. app.terraform.io/acme or http://127.0.0.1:8080/acme".into()
            }
            OpsError::SameRegistry { .. } => "copy between two registries or organizations".into(),
            OpsError::CopyGlobalFlag { .. } => {
                "name both registries with --from HOST/ORG and --to HOST/ORG (serve the embedded one with `tfpub registry serve`)".into()
            }
            OpsError::CopyIncomplete { .. } => {
                "read the failed items; run the same command again to finish (what was copied is skipped)".into()
            }
        })
    }

    fn kind(&self) -> Option<ErrorKind> {
        match self {
            OpsError::ModuleNotFound { .. }
            | OpsError::ProviderNotFound { .. }
            | OpsError::VersionNotFound { .. } => Some(ErrorKind::NotFound),
            OpsError::NotInSums { .. }
            | OpsError::HashMismatch { .. }
            | OpsError::UnsafeFileName { .. } => Some(ErrorKind::ContentConflict),
            OpsError::KeyNotServed { .. } => Some(ErrorKind::KeyMismatch),
            OpsError::NotInstallable { .. } => Some(ErrorKind::VersionFailed),
            OpsError::OutputNotAFolder { .. }
            | OpsError::BadRegistryRef { .. }
            | OpsError::SameRegistry { .. }
            | OpsError::CopyGlobalFlag { .. } => Some(ErrorKind::InvalidInput),
            OpsError::CopyIncomplete { .. } => None,
        }
    }
}
