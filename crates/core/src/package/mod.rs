//! Turning sources into the exact bytes a registry stores.
//!
//! Archives are deterministic so that publishing the same content twice gives the same
//! hash (re-runs converge, and a registry can tell "already published" from "changed"):
//! - [`module`]: a module directory or git tree as a `.tar.gz` with the module at the root;
//! - [`provider`]: provider binaries as per-platform zips, `SHA256SUMS` and the manifest,
//!   or an existing goreleaser `dist/` checked against its `SHA256SUMS` (signing is the
//!   publish pipeline's signing stage, not packaging);
//! - [`archive`]: a module archive built elsewhere (`module publish --archive`), checked
//!   and taken as it is.

use crate::error::{ErrorKind, Hint};
use std::path::PathBuf;

pub mod archive;
pub mod module;
pub mod pargz;
pub mod provider;

pub use module::{
    package_dir, package_git_tree, plan_dir, ModuleArchive, ModulePackageOptions, ModulePlan,
};
pub use provider::{
    discover_binaries, load_dist, package_binaries, parse_binary_arg, sha256_file, BinaryInput,
    PlatformFile, ProviderRelease,
};

/// Everything that can go wrong while packaging. Each variant names the file or directory.
#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    #[error("module directory {} does not exist", .path.display())]
    MissingDir { path: PathBuf },
    #[error("{} is not a directory", .path.display())]
    NotADir { path: PathBuf },
    #[error("no .tf file at the root of the module {where_}")]
    NoTfFiles { where_: String },
    #[error("no Stack component configuration (*.tfcomponent.hcl) file at the root of {where_}")]
    NoComponentFiles { where_: String },
    #[error("symlink {path} points outside the module (to {target})")]
    SymlinkOutside { path: String, target: String },
    #[error("{path:?} in {where_} has a name that is not UTF-8 (bytes: {hex}); it cannot be packed without losing or renaming it")]
    NonUtf8Name {
        /// The path with invalid bytes shown as U+FFFD, for recognition only.
        path: String,
        /// The raw bytes of the offending name, hex-encoded.
        hex: String,
        where_: String,
    },
    #[error("{path:?} in {where_} is not a safe archive path ({reason})")]
    UnsafePath {
        path: String,
        where_: String,
        reason: String,
    },
    #[error("{path} in {where_} is nested more than {limit} folders deep")]
    TooDeep {
        path: String,
        where_: String,
        limit: usize,
    },
    #[error("cannot read {}: {source}", .path.display())]
    Unreadable {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{} changed while it was being packed", .path.display())]
    Changed { path: PathBuf },
    #[error("the archive for {what} exceeds the size limit of {limit} bytes ({limit_human})")]
    TooLarge {
        what: String,
        limit: u64,
        limit_human: String,
    },
    #[error("I/O error on {}: {source}", .path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid .terraformignore in {where_}: {reason}")]
    Ignore { where_: String, reason: String },
    #[error("git error while reading {what}: {source}")]
    Git {
        what: String,
        #[source]
        source: git2::Error,
    },
    #[error("invalid --binary argument {arg:?}: {reason}")]
    BadBinaryArg { arg: String, reason: String },
    #[error(
        "unknown platform {os}_{arch} (from {from}); known OS: {}; known arch: {}",
        provider::KNOWN_OS.join(", "),
        provider::KNOWN_ARCH.join(", ")
    )]
    UnknownPlatform {
        os: String,
        arch: String,
        from: String,
    },
    #[error("the {platform} provider binary {} does not exist", .path.display())]
    MissingBinary { platform: String, path: PathBuf },
    #[error("the {platform} provider binary {} {problem}", .path.display())]
    BadBinary {
        platform: String,
        path: PathBuf,
        /// What is wrong, as a predicate: "is a directory", "is empty (0 bytes)", ...
        problem: String,
    },
    #[error("no provider binaries found under {} (expected OS_ARCH/terraform-provider-{name}*)", .dir.display())]
    NoBinaries { dir: PathBuf, name: String },
    #[error("duplicate platform {os}_{arch}")]
    DuplicatePlatform { os: String, arch: String },
    #[error(
        "{file}: SHA-256 does not match the SHA256SUMS entry (expected {expected}, got {actual})"
    )]
    ShaMismatch {
        file: String,
        expected: String,
        actual: String,
    },
    #[error("{file} does not belong to provider {expected}")]
    WrongName { file: String, expected: String },
    #[error("invalid release in {}: {reason}", .dir.display())]
    Dist { dir: PathBuf, reason: String },
    #[error("invalid manifest {}: {reason}", .path.display())]
    Manifest { path: PathBuf, reason: String },
    #[error("signature {} does not verify with the signing key: {source}", .path.display())]
    BadSignature {
        path: PathBuf,
        #[source]
        source: crate::sign::SignError,
    },
    #[error("{} has no signature and no signing key was given", .path.display())]
    NoSigner { path: PathBuf },
    #[error("signing {} failed: {source}", .path.display())]
    Sign {
        path: PathBuf,
        #[source]
        source: crate::sign::SignError,
    },
    #[error("zip error on {}: {reason}", .path.display())]
    Zip { path: PathBuf, reason: String },
}

impl Hint for PackageError {
    fn hint(&self) -> Option<String> {
        Some(match self {
            PackageError::MissingDir { .. } => "pass the folder that holds the module's .tf files \
                 (relative paths start at the current folder)"
                .into(),
            PackageError::NoTfFiles { .. } => {
                "point at the directory that holds the module's main.tf".into()
            }
            PackageError::NoComponentFiles { .. } => {
                "point at the folder that holds the Stack's *.tfcomponent.hcl files; a plain module is published with `tfpub module publish`".into()
            }
            PackageError::SymlinkOutside { .. } => {
                "copy the file into the module or exclude the link in .terraformignore".into()
            }
            PackageError::Changed { .. } => "retry when nothing is writing to the module".into(),
            PackageError::NonUtf8Name { .. } => {
                "rename the file to a UTF-8 name (Terraform and registries need UTF-8 paths) or remove it".into()
            }
            PackageError::UnsafePath { .. } => {
                "the tree holds an entry no archive may carry; fix the tree (git fsck) or exclude it".into()
            }
            PackageError::TooDeep { .. } => {
                "flatten the folder structure or exclude the deep folder in .terraformignore".into()
            }
            PackageError::TooLarge { .. } => "exclude large files with a .terraformignore".into(),
            PackageError::BadBinaryArg { .. } => {
                "use OS_ARCH=PATH, e.g. linux_amd64=dist/terraform-provider-foo".into()
            }
            PackageError::MissingBinary { platform, .. } => {
                format!("build it first, or fix the path given for {platform}")
            }
            PackageError::BadBinary { platform, .. } => {
                format!("pass the built provider executable for {platform} (a regular, non-empty file)")
            }
            PackageError::ShaMismatch { .. } => "rebuild the release so the checksums match".into(),
            PackageError::WrongName { .. } => {
                "check --name or remove foreign files from the dist directory".into()
            }
            PackageError::NoSigner { .. } => {
                "provide the GPG secret key so tfpub can sign it".into()
            }
            // The signing layer knows what to do about its own errors.
            PackageError::BadSignature { source, .. } | PackageError::Sign { source, .. } => {
                return source.hint()
            }
            _ => return None,
        })
    }
    fn kind(&self) -> Option<ErrorKind> {
        match self {
            PackageError::Unreadable { .. }
            | PackageError::Changed { .. }
            | PackageError::Io { .. }
            | PackageError::Git { .. }
            | PackageError::Zip { .. } => None,
            PackageError::BadSignature { source, .. } | PackageError::Sign { source, .. } => {
                source.kind()
            }
            _ => Some(ErrorKind::InvalidInput),
        }
    }
}
