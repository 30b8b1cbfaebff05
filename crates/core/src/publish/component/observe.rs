//! Observe and verify: what the registry holds for one component configuration version,
//! as the module pipeline's [`VersionState`] (so the module pipeline's pure
//! [`decide`](crate::publish::module::decide) rules apply unchanged), and whether the
//! archive it serves is ours.
//!
//! A `completed` version is compared with our archive by what a consumer unpacks
//! ([`Manifest`]), read through the version's `download` link. A registry that gives no
//! such link (the documented API has none) cannot be read back: the version is taken as
//! ours and the progress says so.

use std::io::Seek;

use anyhow::Context as _;

use crate::api::{ComponentVersion, MAX_MODULE_ARCHIVE};
use crate::package::module::ModuleArchive;
use crate::publish::error::PublishError;
use crate::publish::module::content::Manifest;
use crate::publish::module::observe::{Content, VersionState};
use crate::publish::Context;
use crate::vocab::VersionStatus;

/// Read version `v` of the component `id` (None: the component does not exist yet).
pub async fn observe(
    ctx: &Context,
    id: Option<&str>,
    name: &str,
    v: &str,
    archive: &ModuleArchive,
) -> anyhow::Result<VersionState> {
    let Some(id) = id else {
        return Ok(VersionState::Missing);
    };
    let found = ctx.client.get_component_version(id, v).await?;
    state_of(ctx, name, found, archive).await
}

/// Classify a version document already in hand.
pub async fn state_of(
    ctx: &Context,
    name: &str,
    found: Option<ComponentVersion>,
    archive: &ModuleArchive,
) -> anyhow::Result<VersionState> {
    let Some(ver) = found else {
        return Ok(VersionState::Missing);
    };
    Ok(if ver.is_completed() {
        let content = match differences(ctx, name, &ver, archive).await? {
            None => Content::Ours,
            Some(differs) => Content::Other { differs },
        };
        VersionState::Ok { content }
    } else if ver.is_failed() {
        let why = ver
            .error_message
            .clone()
            .unwrap_or_else(|| "the registry gave no error-message".into());
        VersionState::Failed {
            status: VersionStatus::from(ver.status.as_str()),
            why,
        }
    } else if ver.is_pending() && ver.upload.is_some() {
        VersionState::Pending { upload: ver.upload }
    } else {
        VersionState::Ingesting {
            status: VersionStatus::from(ver.status.as_str()),
        }
    })
}

/// The refusal for version `v` published with other content.
pub fn conflict(name: &str, v: &str, differs: String) -> PublishError {
    PublishError::ContentConflict {
        id: format!("component configuration {name}"),
        version: v.to_string(),
        differs,
    }
}

/// How the registry's archive of `ver` differs from `archive` (None: the same files, or
/// no way to read it back).
pub async fn differences(
    ctx: &Context,
    name: &str,
    ver: &ComponentVersion,
    archive: &ModuleArchive,
) -> anyhow::Result<Option<String>> {
    let Some(url) = &ver.download else {
        ctx.progress.stage(&format!(
            "{name} {}: the registry offers no download link; content not compared",
            ver.version
        ));
        return Ok(None);
    };
    let theirs = fetch_manifest(ctx, url, archive.size)
        .await
        .with_context(|| {
            format!(
                "version {} of component configuration {name} is published; downloading it to compare with the local archive failed",
                ver.version
            )
        })?;
    let path = archive.path.clone();
    let ours = tokio::task::spawn_blocking(move || {
        Manifest::read_tar_gz(std::io::BufReader::new(std::fs::File::open(path)?))
    })
    .await?
    .context("reading the local archive")?;
    Ok(ours.differences(&theirs))
}

/// The archive at `url`, streamed into a bounded temporary file and read as a manifest.
async fn fetch_manifest(ctx: &Context, url: &str, our_size: u64) -> anyhow::Result<Manifest> {
    let mut file = tempfile::tempfile().context("creating a temporary file for the download")?;
    let max = MAX_MODULE_ARCHIVE.max(our_size.saturating_mul(2));
    ctx.client.fetch_to_file(url, max, &mut file).await?;
    tokio::task::spawn_blocking(move || {
        file.rewind()?;
        Manifest::read_tar_gz(std::io::BufReader::new(file))
    })
    .await?
    .context("the registry's archive is not a readable .tar.gz")
}
