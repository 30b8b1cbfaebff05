//! Stage 6, verify: after a publish, prove the registry serves our content before saying
//! "published". A concurrent publisher may have uploaded into the same version; if its
//! archive won with other content, this is a `content-conflict` refusal, never a success.
//!
//! Archives are compared by what a consumer unpacks ([`Manifest`]: regular files, their
//! bytes and executable bits, symlink targets), not by their tar or gzip bytes: nothing
//! documented promises the registry serves the upload back unchanged, and a tfpub built
//! with another deflate implementation must still recognise its own content. The
//! download is streamed to a temporary file, bounded in size, and read file by file.

use std::io::Seek;

use anyhow::Context as _;

use super::content::Manifest;
use crate::api::MAX_MODULE_ARCHIVE;
use crate::package::module::ModuleArchive;
use crate::publish::error::PublishError;
use crate::publish::Context;
use crate::vocab::ModuleAddress;

/// Fails with [`PublishError::ContentConflict`] unless the registry's archive of version
/// `v` holds the content of `archive`.
pub async fn serves_ours(
    ctx: &Context,
    addr: &ModuleAddress,
    v: &str,
    archive: &ModuleArchive,
) -> anyhow::Result<()> {
    match differences(ctx, addr, v, archive).await? {
        None => Ok(()),
        Some(differs) => Err(conflict(addr, v, differs).into()),
    }
}

/// The refusal for version `v` published with other content (`differs` says how).
pub fn conflict(addr: &ModuleAddress, v: &str, differs: String) -> PublishError {
    PublishError::ContentConflict {
        id: addr.to_string(),
        version: v.to_string(),
        differs,
    }
}

/// How the registry's archive of version `v` differs from `archive`, `None` when a
/// consumer gets the same files.
pub async fn differences(
    ctx: &Context,
    addr: &ModuleAddress,
    v: &str,
    archive: &ModuleArchive,
) -> anyhow::Result<Option<String>> {
    let theirs = registry_manifest(ctx, addr, v, archive.size)
        .await
        .with_context(|| {
            format!(
                "version {v} of {addr} is published; downloading it to compare with the local archive failed"
            )
        })?;
    let ours = local_manifest(archive).await?;
    Ok(ours.differences(&theirs))
}

/// What the local archive holds.
async fn local_manifest(archive: &ModuleArchive) -> anyhow::Result<Manifest> {
    let path = archive.path.clone();
    tokio::task::spawn_blocking(move || {
        let f = std::fs::File::open(&path)?;
        Manifest::read_tar_gz(std::io::BufReader::new(f))
    })
    .await?
    .with_context(|| format!("reading the local archive {}", archive.path.display()))
}

/// What the registry's archive of version `v` holds: fetched through `X-Terraform-Get`
/// into a temporary file (at most [`MAX_MODULE_ARCHIVE`] bytes, or twice our own
/// archive's size when that is more), then read as a stream.
async fn registry_manifest(
    ctx: &Context,
    addr: &ModuleAddress,
    v: &str,
    our_size: u64,
) -> anyhow::Result<Manifest> {
    let url = ctx.client.module_download_url(addr, v).await?;
    let mut file = tempfile::tempfile().context("creating a temporary file for the download")?;
    let max = MAX_MODULE_ARCHIVE.max(our_size.saturating_mul(2));
    ctx.client.fetch_to_file(&url, max, &mut file).await?;
    tokio::task::spawn_blocking(move || {
        file.rewind()?;
        Manifest::read_tar_gz(std::io::BufReader::new(file))
    })
    .await?
    .context("the registry's archive is not a readable .tar.gz")
}
