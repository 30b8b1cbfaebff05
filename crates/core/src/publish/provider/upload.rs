//! Stage "upload": SHA256SUMS and its signature to the version's upload links, and every
//! platform zip not uploaded yet to its record's link. Files are streamed from disk; the
//! platform zips, which compete for bandwidth, run at most `--concurrency` at a time.
//! Upload links are masked in the progress output: they carry a credential.

use anyhow::Context as _;
use futures_util::stream::{self, StreamExt, TryStreamExt};

use super::file_name;
use super::register::{Acts, Record};
use crate::api::ProviderVersion;
use crate::package::provider::ProviderRelease;
use crate::publish::error::PublishError;
use crate::publish::Context;
use crate::report::{Action, Item, ItemKind};
use crate::secret::SecretUrl;

/// Upload SHA256SUMS and its signature where the version does not have them yet; one
/// item per file uploaded.
pub async fn checksums(
    a: &Acts<'_>,
    ver: &ProviderVersion,
    rel: &ProviderRelease,
) -> anyhow::Result<Vec<Item>> {
    let sums = a.plan.upload_shasums && !ver.shasums_uploaded;
    let sig = a.plan.upload_signature && !ver.shasums_sig_uploaded;
    let (sums, sig) = tokio::try_join!(
        once(
            a,
            sums,
            ver.shasums_upload.as_ref(),
            &rel.shasums,
            "SHA256SUMS"
        ),
        once(
            a,
            sig,
            ver.shasums_sig_upload.as_ref(),
            &rel.signature,
            "signature"
        ),
    )?;
    Ok([sums, sig].into_iter().flatten().collect())
}

async fn once(
    a: &Acts<'_>,
    todo: bool,
    link: Option<&SecretUrl>,
    path: &std::path::Path,
    what: &str,
) -> anyhow::Result<Option<Item>> {
    if !todo {
        return Ok(None);
    }
    let link = link.ok_or_else(|| PublishError::NoUploadLink {
        what: what.to_string(),
        id: a.local.id.clone(),
        version: a.local.version.clone(),
    })?;
    let name = file_name(path);
    put(a.ctx, link, path, &name).await?;
    Ok(Some(Item::new(ItemKind::File, name, Action::Uploaded)))
}

/// Upload every platform zip its record does not have yet, at most `concurrency` at a
/// time. One item per platform, sorted by platform, and whether it changed anything.
pub async fn binaries(
    a: &Acts<'_>,
    records: Vec<Record>,
    concurrency: usize,
) -> anyhow::Result<Vec<(Item, bool)>> {
    let v = &a.local.version;
    let each =
        a.local
            .platforms
            .iter()
            .zip(records)
            .map(|(p, r)| async move {
                let plat_id = format!("{}_{}", p.os, p.arch);
                if r.platform.provider_binary_uploaded {
                    let action = if r.created {
                        Action::Created
                    } else {
                        Action::Exists
                    };
                    let it = Item::new(ItemKind::Platform, &plat_id, action).version(v);
                    return anyhow::Ok((it, r.created));
                }
                let link = r.platform.binary_upload.as_ref().ok_or(
                    PublishError::NoPlatformUploadLink {
                        platform: plat_id.clone(),
                    },
                )?;
                put(a.ctx, link, &p.path, &p.filename).await?;
                let it = Item::new(ItemKind::Platform, &plat_id, Action::Uploaded)
                    .version(v)
                    .detail(format!("{} ({} bytes)", p.filename, p.size));
                Ok((it, true))
            });
    let mut items: Vec<(Item, bool)> = stream::iter(each)
        .buffer_unordered(concurrency.max(1))
        .try_collect()
        .await?;
    items.sort_by(|x, y| x.0.id.cmp(&y.0.id));
    Ok(items)
}

/// Stream the file at `path` to `link`.
pub async fn put(
    ctx: &Context,
    link: &SecretUrl,
    path: &std::path::Path,
    name: &str,
) -> anyhow::Result<()> {
    ctx.progress.mask(link.expose().as_str());
    ctx.client
        .upload_file(link, path, name, ctx.progress.as_ref())
        .await
        .with_context(|| format!("uploading {name}"))?;
    Ok(())
}
