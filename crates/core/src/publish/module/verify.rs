//! Stage 6, verify: after a publish, prove the registry serves exactly our content before
//! saying "published". A concurrent publisher may have uploaded into the same version;
//! if its archive won with other content, this is a `content-conflict` refusal, never a
//! success.
//!
//! Archives are compared by what they hold (the SHA-256 of the tar stream), not by their
//! gzip bytes: a tfpub built with another deflate implementation still recognises its
//! own content.

use anyhow::Context as _;
use sha2::{Digest, Sha256};

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
    let remote = registry_tar_sha256(ctx, addr, v).await?;
    if remote == archive.tar_sha256 {
        return Ok(());
    }
    Err(conflict(addr, v, archive, remote).into())
}

/// The refusal for version `v` published with the content `remote` instead of ours.
pub fn conflict(
    addr: &ModuleAddress,
    v: &str,
    archive: &ModuleArchive,
    remote: String,
) -> PublishError {
    PublishError::ContentConflict {
        id: addr.to_string(),
        version: v.to_string(),
        remote,
        local: archive.tar_sha256.clone(),
    }
}

/// SHA-256 of the tar stream the registry serves for version `v`.
pub async fn registry_tar_sha256(
    ctx: &Context,
    addr: &ModuleAddress,
    v: &str,
) -> anyhow::Result<String> {
    let download = async {
        let url = ctx.client.module_download_url(addr, v).await?;
        let bytes = ctx.client.fetch(&url).await?;
        tar_sha256(&bytes[..]).context("the registry's archive is not a readable .tar.gz")
    };
    download.await.with_context(|| {
        format!(
            "version {v} of {addr} is published; downloading it to compare with the local archive failed"
        )
    })
}

/// SHA-256 of the tar stream inside a gzip archive.
fn tar_sha256(gz: impl std::io::Read) -> std::io::Result<String> {
    let mut hasher = Sha256::new();
    std::io::copy(&mut flate2::read::GzDecoder::new(gz), &mut hasher)?;
    Ok(hex::encode(hasher.finalize()))
}
