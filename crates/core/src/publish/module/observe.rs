//! Converge, step 1: observe what the registry holds for one module version, as a
//! [`VersionState`] that [`super::decide`] can reason about without any I/O.
//!
//! Observing is reads only. Two states need more than the version document: a `*_failed`
//! version carries the registry's error text (read from the module's version list), and
//! an `ok` version is compared with our archive by downloading it (what a consumer
//! unpacks from it, see [`super::content`], not its tar or gzip bytes).

use crate::api::ModuleVersion;
use crate::package::module::ModuleArchive;
use crate::publish::Context;
use crate::secret::SecretUrl;
use crate::vocab::{ModuleAddress, VersionStatus};

/// What the registry holds for the version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VersionState {
    /// No such version.
    Missing,
    /// Created, nothing uploaded yet; `upload` is the link when the registry gives one.
    Pending { upload: Option<SecretUrl> },
    /// Being ingested (`cloning`, `reg_ingressing`, or a status this client does not know).
    Ingesting { status: VersionStatus },
    /// A terminal `*_failed` status with the registry's error text.
    Failed { status: VersionStatus, why: String },
    /// Published; `content` says whether it is ours.
    Ok { content: Content },
}

/// How the registry's archive of an `ok` version compares with ours.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Content {
    Ours,
    /// Other content: `differs` names the files that differ.
    Other {
        differs: String,
    },
}

/// What this run did last, so a state can be read in the light of it (a create that
/// failed because the version appeared meanwhile, an upload link already spent).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt {
    Created,
    CreateFailed,
    Uploaded,
    UploadFailed,
    DeletedFailed,
}

/// One observation: the registry's state and this run's last write attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observed {
    pub state: VersionState,
    pub last: Option<Attempt>,
}

/// Read the version `v` of `addr` and classify it.
pub async fn observe(
    ctx: &Context,
    addr: &ModuleAddress,
    v: &str,
    archive: &ModuleArchive,
) -> anyhow::Result<VersionState> {
    let found = ctx.client.get_module_version(addr, v).await?;
    state_of(ctx, addr, v, found, archive).await
}

/// Classify a version document already in hand (a read, or the answer to a create).
pub async fn state_of(
    ctx: &Context,
    addr: &ModuleAddress,
    v: &str,
    found: Option<ModuleVersion>,
    archive: &ModuleArchive,
) -> anyhow::Result<VersionState> {
    let Some(ver) = found else {
        return Ok(VersionState::Missing);
    };
    let status = ver.status;
    Ok(if status.is_ok() {
        let content = match super::verify::differences(ctx, addr, v, archive).await? {
            None => Content::Ours,
            Some(differs) => Content::Other { differs },
        };
        VersionState::Ok { content }
    } else if status.is_failed() {
        let why = ingress_error(ctx, addr, v)
            .await
            .unwrap_or_else(|| status.to_string());
        VersionState::Failed { status, why }
    } else if status.is_pending() {
        VersionState::Pending { upload: ver.upload }
    } else {
        VersionState::Ingesting { status }
    })
}

/// The registry's error text for version `v`, from the module's version list.
pub async fn ingress_error(ctx: &Context, addr: &ModuleAddress, v: &str) -> Option<String> {
    let m = ctx.client.get_module(addr).await.ok()??;
    m.version_statuses
        .into_iter()
        .find(|s| s.version == v)
        .and_then(|s| s.error)
        .filter(|e| !e.is_empty())
}
