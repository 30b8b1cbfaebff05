//! Stage "verify": read back what `terraform init` will read and compare it with the
//! local release, in three round trips: the platform listing together with one
//! consumer download document, then SHA256SUMS together with its signature. The listing
//! covers every platform's record (file name, checksum, uploaded); the download document
//! covers what is per version (signing key, SHA256SUMS links); the signature check, with
//! a line for every zip, covers every platform's checksum. Few requests keep a big
//! release well under the API's rate limit.

use anyhow::Context as _;

use super::is_local_file;
use crate::api::{Platform, ProviderDownload};
use crate::package::provider::{PlatformFile, ProviderRelease};
use crate::publish::error::PublishError;
use crate::publish::Context;
use crate::vocab::{KeyId, ProviderAddress};

/// Fail unless every platform is uploaded as the local file, the registry serves it
/// signed by `key_id`, and its SHA256SUMS verifies and lists every zip.
pub async fn consumer_view(
    ctx: &Context,
    addr: &ProviderAddress,
    rel: &ProviderRelease,
    key_id: &KeyId,
) -> anyhow::Result<()> {
    let v = rel.version.to_string();
    let first = rel
        .platforms
        .first()
        .ok_or_else(|| anyhow::anyhow!("the release has no platforms"))?;
    let (listed, d) = tokio::try_join!(
        async {
            ctx.client
                .list_platforms(addr, &v)
                .await
                .with_context(|| format!("reading back the platforms of {v}"))
        },
        async {
            ctx.client
                .provider_download(addr, &v, &first.os, &first.arch)
                .await
                .with_context(|| {
                    format!(
                        "reading back {}_{} as terraform would",
                        first.os, first.arch
                    )
                })
        },
    )?;
    for p in &rel.platforms {
        check_listed(&listed, p)?;
    }
    let public = check_download(&d, first, key_id, &v)?;
    let (sums, sig) = tokio::try_join!(
        ctx.client.fetch(&d.shasums_url),
        ctx.client.fetch(&d.shasums_signature_url)
    )?;
    crate::sign::verify_detached(public, &sums, &sig)
        .context("verifying the registry's SHA256SUMS signature")?;
    let text = String::from_utf8_lossy(&sums);
    for q in &rel.platforms {
        if !text.contains(&format!("{}  {}", q.sha256, q.filename)) {
            return Err(PublishError::ShasumsMissingLine {
                filename: q.filename.clone(),
            }
            .into());
        }
    }
    Ok(())
}

/// The listing has `p`, as the local file, uploaded.
fn check_listed(listed: &[Platform], p: &PlatformFile) -> anyhow::Result<()> {
    let found = listed.iter().find(|e| e.os == p.os && e.arch == p.arch);
    if found.is_some_and(|e| e.provider_binary_uploaded && is_local_file(&e.shasum, &e.filename, p))
    {
        return Ok(());
    }
    let registry = match found {
        Some(e) => format!(
            "{} sha256 {}{}",
            e.filename,
            e.shasum,
            if e.provider_binary_uploaded {
                ""
            } else {
                " (binary not uploaded)"
            }
        ),
        None => "nothing".to_string(),
    };
    Err(PublishError::ReadBackMismatch {
        platform: format!("{}_{}", p.os, p.arch),
        registry,
        local_file: p.filename.clone(),
        local_sha: p.sha256.clone(),
    }
    .into())
}

/// The download document serves `first` as the local file and lists `key_id`; returns
/// that key's armored public part.
fn check_download<'d>(
    d: &'d ProviderDownload,
    first: &PlatformFile,
    key_id: &KeyId,
    v: &str,
) -> anyhow::Result<&'d str> {
    if !is_local_file(&d.shasum, &d.filename, first) {
        return Err(PublishError::DownloadMismatch {
            platform: format!("{}_{}", first.os, first.arch),
            served_file: d.filename.clone(),
            served_sha: d.shasum.to_string(),
            local_file: first.filename.clone(),
            local_sha: first.sha256.clone(),
        }
        .into());
    }
    d.signing_keys
        .gpg_public_keys
        .iter()
        .find(|k| k.key_id == *key_id)
        .map(|k| k.ascii_armor.as_str())
        .ok_or_else(|| {
            PublishError::KeyNotListed {
                key_id: key_id.to_string(),
                version: v.to_string(),
            }
            .into()
        })
}
