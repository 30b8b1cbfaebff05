//! The refusals of the publish pipelines (module, provider, sync): each variant says
//! what the pipeline found, its [`Hint`] says what to do next and, for the refusals a
//! script may branch on, which [`ErrorKind`] it is. Messages never carry the hint.
//!
//! Ids are passed in already formatted (`org/name/provider`, `org/name`), versions as
//! the plain semver text, so a message reads the same wherever it is raised.

use std::path::PathBuf;

use crate::error::{ErrorKind, Hint};

const REPUBLISH: &str = "re-run the publish; if it persists, delete the version and publish again";
const DELETE_AND_REPUBLISH: &str = "delete the version and publish it again";

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    // ---- what to publish (arguments, project file, working tree) ----
    #[error("version {input:?} is not a semantic version: {reason}")]
    NotSemver { input: String, reason: String },
    #[error("no module {module:?} in {}", .project_file.display())]
    NoSuchProjectModule {
        module: String,
        project_file: PathBuf,
    },
    #[error("--version applies to one module, but tfpub.toml lists {count}")]
    VersionNeedsOneModule { count: usize },
    #[error("--module {module} needs a tfpub.toml in {}", .dir.display())]
    ModuleNeedsProjectFile { module: String, dir: PathBuf },
    #[error("module directory {} does not exist", .dir.display())]
    ModuleDirMissing { dir: PathBuf },
    #[error("cannot tell the module's name and provider: directory {dir_name:?} is not named terraform-<PROVIDER>-<NAME>")]
    ModuleNameUnknown { dir_name: String },
    #[error("the working tree of {} has uncommitted changes: {files}", .dir.display())]
    DirtyWorktree { dir: PathBuf, files: String },
    #[error("no --version given and no semver tag points at HEAD")]
    NoVersionTag,
    #[error("no --version given and {} is not in a git repository", .dir.display())]
    NoVersionNoGit { dir: PathBuf },
    #[error("module {input:?} is not NAME/PROVIDER")]
    NotModuleAddress { input: String },
    #[error("no signing key: neither --gpg-key nor TFPUB_GPG_PRIVATE_KEY is set")]
    NoSigningKey,
    #[error(
        "a public key alone cannot sign: the release has no {file} to verify with the key {key_id}"
    )]
    NoSignatureToVerify { key_id: String, file: String },
    #[error("the GPG key {key_id} is not registered in the namespace {namespace}")]
    KeyNotRegistered { key_id: String, namespace: String },
    #[error("--key-id needs the registry; offline packaging needs a secret key")]
    KeyIdNeedsRegistry,
    #[error("cannot tell the provider's name")]
    ProviderNameUnknown,
    #[error("no --version given for raw binaries")]
    NoVersionForBinaries,
    #[error("no --protocols given for raw binaries")]
    NoProtocolsForBinaries,
    #[error("the release has no protocols")]
    NoProtocols,
    #[error("both a PATH and --binary given")]
    PathAndBinaries,
    #[error("no release files given")]
    NoReleaseFiles,
    #[error("{} is not a folder", .path.display())]
    NotAReleaseFolder { path: PathBuf },

    // ---- what the registry already holds ----
    #[error("module {id} is not in the registry")]
    ModuleNotFound { id: String },
    /// `module` is `name/provider`, as `tfpub module delete` takes it.
    #[error("version {version} of {id} is in the failed state {status}: {why}")]
    VersionFailed {
        id: String,
        module: String,
        version: String,
        status: String,
        why: String,
    },
    #[error("the registry could not ingest version {version} of {module}: status {status}: {why}")]
    IngestFailed {
        module: String,
        version: String,
        status: String,
        why: String,
    },
    #[error("version {version} of {module} is still `{status}` after {secs}s")]
    StillPending {
        module: String,
        version: String,
        status: String,
        secs: u64,
    },
    /// `differs` names what a consumer would get differently (files only on one side,
    /// other bytes, other executable bits).
    #[error("version {version} of {id} is already published with different content: {differs}")]
    ContentConflict {
        id: String,
        version: String,
        differs: String,
    },
    /// Another publisher created the same version first, with other content.
    #[error("version {version} of {id} was published concurrently by another publisher with different content")]
    ConcurrentPublisherWon { id: String, version: String },
    #[error("version {version} of {id} is registered with GPG key {registered}, but the local release is signed with {local}")]
    KeyMismatch {
        id: String,
        version: String,
        registered: String,
        local: String,
    },
    #[error("version {version} of {id} is registered with protocols {registered:?}, the local release has {local:?}")]
    OtherProtocols {
        id: String,
        version: String,
        registered: Vec<String>,
        local: Vec<String>,
    },
    #[error("platform {platform} of {id} {version} is registered as {registered_file} (sha256 {registered_sha}), the local file is {local_file} (sha256 {local_sha})")]
    OtherPlatformFile {
        id: String,
        version: String,
        platform: String,
        registered_file: String,
        registered_sha: String,
        local_file: String,
        local_sha: String,
    },
    #[error("the SHA256SUMS registered for {id} {version} differ from {}", .local.display())]
    OtherShasums {
        id: String,
        version: String,
        local: PathBuf,
    },

    // ---- uploading and verifying ----
    /// `what` names the file ("SHA256SUMS", "SHA256SUMS.sig").
    #[error("the registry gave no {what} upload link for {id} {version}")]
    NoUploadLink {
        what: String,
        id: String,
        version: String,
    },
    #[error("the registry gave no upload link for platform {platform}")]
    NoPlatformUploadLink { platform: String },
    /// `registry` describes what the registry holds ("F sha256 S", or "nothing").
    #[error("read-back mismatch for {platform}: registry holds {registry}, local {local_file} sha256 {local_sha}")]
    ReadBackMismatch {
        platform: String,
        registry: String,
        local_file: String,
        local_sha: String,
    },
    #[error("read-back mismatch for {platform}: registry serves {served_file} sha256 {served_sha}, local {local_file} sha256 {local_sha}")]
    DownloadMismatch {
        platform: String,
        served_file: String,
        served_sha: String,
        local_file: String,
        local_sha: String,
    },
    #[error("the registry does not list key {key_id} for {version}")]
    KeyNotListed { key_id: String, version: String },
    #[error("the registry's SHA256SUMS has no line for {filename}")]
    ShasumsMissingLine { filename: String },

    // ---- module tests ----
    /// `at` is empty or ` for version X`; `summary` names the counts and failing tests.
    #[error("the tests of {module} did not pass{at}: {summary}")]
    TestsFailed {
        module: String,
        at: String,
        summary: String,
    },
    #[error("test run {run} of {module} ended `{status}`: {message}")]
    TestRunEnded {
        module: String,
        run: String,
        status: String,
        message: String,
    },
    /// `why` says who stopped it and how (`--timeout of 60s reached; canceled`).
    #[error("test run {run} of {module} was stopped: {why}")]
    TestRunStopped {
        module: String,
        run: String,
        why: String,
        timed_out: bool,
    },
}

impl Hint for PublishError {
    fn hint(&self) -> Option<String> {
        use PublishError::*;
        Some(match self {
            NotSemver { .. } => "give a version like 1.2.3 (a leading v is allowed, e.g. v1.2.3)".into(),
            NoSuchProjectModule { .. } => "name one of the [[module]] entries as NAME or NAME/PROVIDER".into(),
            VersionNeedsOneModule { .. } => "add --module NAME to publish that module at --version, or drop --version to \
                 take each module's version from its prefixed tag at HEAD"
                .into(),
            ModuleNeedsProjectFile { .. } => "run from the repository root that holds tfpub.toml, or drop --module".into(),
            ModuleDirMissing { .. } => "pass the path of the folder that holds the module's .tf files".into(),
            ModuleNameUnknown { .. } => "pass --name and --provider (e.g. --name vpc --provider aws), or list the module in tfpub.toml".into(),
            DirtyWorktree { .. } => "commit or stash them so the archive is what the commit holds, or pass --allow-dirty".into(),
            NoVersionTag => "pass --version 1.2.3, or tag the commit (git tag v1.2.3)".into(),
            NoVersionNoGit { .. } => "pass --version 1.2.3".into(),
            NotModuleAddress { .. } => "write it like vpc/aws".into(),
            NoSigningKey => "export an ASCII-armored secret key (gpg --armor --export-secret-keys KEYID) into \
                 TFPUB_GPG_PRIVATE_KEY, or create one with `tfpub gpg-key generate`"
                .into(),
            NoSignatureToVerify { file, .. } => format!(
                "sign it where the key lives (`gpg --detach-sign --output {file} {}`), \
                 or pass --sign-command, or the secret key (--gpg-key or TFPUB_GPG_PRIVATE_KEY)",
                file.trim_end_matches(".sig")
            ),
            KeyNotRegistered { .. } => "pass the public key with --public-key FILE (it is registered on publish), \
                 or check the key id with `tfpub gpg-key list`"
                .into(),
            KeyIdNeedsRegistry => "pass --gpg-key (or TFPUB_GPG_PRIVATE_KEY) to package offline".into(),
            ProviderNameUnknown => "pass --name (the NAME of terraform-provider-NAME)".into(),
            NoVersionForBinaries => "pass --version 1.2.3 (or publish a goreleaser dist/ folder, which names it)".into(),
            NoProtocolsForBinaries => "pass the plugin protocol your provider speaks: --protocols 6.0 for the \
                 plugin framework, --protocols 5.0 for SDKv2 (wrong protocols publish fine \
                 and then cannot be installed)"
                .into(),
            NoProtocols => "add a _manifest.json with metadata.protocol_versions, or pass --protocols".into(),
            PathAndBinaries => "give either a dist/ folder, a folder of binaries, or --binary flags".into(),
            NoReleaseFiles => "pass a goreleaser dist/ folder, a folder of OS_ARCH/ binaries, or --binary OS_ARCH=FILE".into(),
            NotAReleaseFolder { .. } => "pass a goreleaser dist/ folder or a folder of OS_ARCH/ binaries".into(),
            ModuleNotFound { .. } => "check the name, provider and --organization".into(),
            VersionFailed { module, version, .. } => format!(
                "fix the module, then delete the failed version and publish again: \
                 `tfpub module delete {module} {version} --yes`, or re-run with --replace-failed"
            ),
            IngestFailed { module, version, .. } => format!(
                "fix the module (the archive must be a gzip tarball with .tf files at its root), \
                 then run `tfpub module delete {module} {version} --yes` and publish again, \
                 or publish again with --replace-failed"
            ),
            StillPending { .. } => "the archive was uploaded but the registry has not finished ingesting it; \
                 run the same publish again later (it resumes and keeps waiting), raise --timeout, \
                 or check the version in the registry UI"
                .into(),
            ContentConflict { .. } => "published versions are immutable: publish the change as a new version \
                 (if two publishers raced on this version, the other one's archive won)"
                .into(),
            ConcurrentPublisherWon { .. } => "published versions are immutable: the other publisher's content won; \
                 publish your change as a new version"
                .into(),
            KeyMismatch { .. } => "sign with the key the version was created with, or delete the version \
                 (`tfpub provider delete NAME VERSION --yes`) if it was never used"
                .into(),
            OtherProtocols { .. } => "published versions are not overwritten: fix the release or publish a new version".into(),
            OtherPlatformFile { .. } => "builds must be reproducible for a re-run; publish a new version instead of overwriting".into(),
            OtherShasums { .. } => "published versions are not overwritten: publish a new version".into(),
            NoUploadLink { .. } | NoPlatformUploadLink { .. } | ReadBackMismatch { .. } => REPUBLISH.into(),
            DownloadMismatch { .. } | ShasumsMissingLine { .. } => DELETE_AND_REPUBLISH.into(),
            KeyNotListed { .. } => "check `tfpub gpg-key list`".into(),
            TestsFailed { .. } => "read the failing tests and the log above, fix the module or its tests, \
                 and try them with `tfpub module test` (it publishes nothing)"
                .into(),
            TestRunEnded { .. } => "read the test log above; `tfpub module tests NAME/PROVIDER` lists recent runs".into(),
            TestRunStopped { timed_out: true, .. } => "raise --timeout if the tests need longer".into(),
            TestRunStopped { .. } => "run the tests again when ready".into(),
        })
    }

    fn kind(&self) -> Option<ErrorKind> {
        use PublishError::*;
        match self {
            NotSemver { .. }
            | NoSuchProjectModule { .. }
            | VersionNeedsOneModule { .. }
            | ModuleNeedsProjectFile { .. }
            | ModuleDirMissing { .. }
            | ModuleNameUnknown { .. }
            | NoVersionTag
            | NoVersionNoGit { .. }
            | NotModuleAddress { .. }
            | NoSigningKey
            | NoSignatureToVerify { .. }
            | KeyNotRegistered { .. }
            | KeyIdNeedsRegistry
            | ProviderNameUnknown
            | NoVersionForBinaries
            | NoProtocolsForBinaries
            | NoProtocols
            | PathAndBinaries
            | NoReleaseFiles
            | NotAReleaseFolder { .. } => Some(ErrorKind::InvalidInput),
            ModuleNotFound { .. } => Some(ErrorKind::NotFound),
            VersionFailed { .. } | IngestFailed { .. } => Some(ErrorKind::VersionFailed),
            StillPending { .. }
            | TestRunStopped {
                timed_out: true, ..
            } => Some(ErrorKind::TimedOut),
            ContentConflict { .. }
            | ConcurrentPublisherWon { .. }
            | OtherProtocols { .. }
            | OtherPlatformFile { .. }
            | OtherShasums { .. } => Some(ErrorKind::ContentConflict),
            KeyMismatch { .. } => Some(ErrorKind::KeyMismatch),
            DirtyWorktree { .. }
            | NoUploadLink { .. }
            | NoPlatformUploadLink { .. }
            | ReadBackMismatch { .. }
            | DownloadMismatch { .. }
            | KeyNotListed { .. }
            | ShasumsMissingLine { .. }
            | TestsFailed { .. }
            | TestRunEnded { .. }
            | TestRunStopped { .. } => None,
        }
    }
}
