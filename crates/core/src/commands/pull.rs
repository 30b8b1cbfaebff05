//! `module pull` and `provider pull`: download what the registry serves, checked the way
//! Terraform checks it, and written atomically (a temporary file beside the target, then
//! a rename), so an interrupted pull leaves either the old file or the complete new one.
//!
//! A provider version is read as `terraform init` reads it: the providers.v1 download
//! document per platform, the SHA256SUMS and its signature (verified with the signing key
//! the document serves, which must be the version's key), then every zip hashed against
//! both the signed SHA256SUMS and the document's `shasum`. The result is a dist/ folder
//! `provider publish` accepts (`registry copy` publishes it elsewhere from there).

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use sha2::{Digest, Sha256};

use super::ops_error::OpsError;
use crate::api::{ProviderDownload, MAX_MODULE_ARCHIVE};
use crate::publish::Context;
use crate::report::{Action, Item, ItemKind, Outcome, OutcomeKind};
use crate::vocab::{ModuleAddress, ProviderAddress};

/// The most a provider zip download may hold (well above any real provider).
const MAX_PROVIDER_ZIP: u64 = 2 * 1024 * 1024 * 1024;
/// The most a SHA256SUMS or signature download may hold.
const MAX_SUMS: u64 = 4 * 1024 * 1024;

/// A file downloaded into place: where, how big, its SHA-256.
#[derive(Debug, Clone)]
pub struct Pulled {
    pub path: PathBuf,
    pub size: u64,
    pub sha256: String,
}

/// The folder of `path`, for the temporary file beside it.
fn parent_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Downloads `url` into a temporary file beside `dest`; `check` sees its SHA-256 before
/// it is renamed into place (a refused download leaves nothing behind).
async fn download_to(
    ctx: &Context,
    url: &str,
    max: u64,
    dest: &Path,
    check: impl FnOnce(&str) -> anyhow::Result<()>,
) -> anyhow::Result<Pulled> {
    let dir = parent_of(dest);
    let mut tmp = tempfile::Builder::new()
        .prefix(".tfpub-pull-")
        .tempfile_in(&dir)
        .with_context(|| format!("creating a temporary file in {}", dir.display()))?;
    let size = ctx
        .client
        .fetch_to_file(url, max, tmp.as_file_mut())
        .await?;
    tmp.as_file_mut().flush()?;
    let sha256 = hash_file(tmp.path())?;
    check(&sha256)?;
    tmp.as_file().sync_all()?;
    tmp.persist(dest)
        .map_err(|e| e.error)
        .with_context(|| format!("writing {}", dest.display()))?;
    Ok(Pulled {
        path: dest.to_path_buf(),
        size,
        sha256,
    })
}

fn hash_file(p: &Path) -> anyhow::Result<String> {
    let mut f = std::fs::File::open(p)?;
    let mut h = Sha256::new();
    std::io::copy(&mut f, &mut h)?;
    Ok(hex::encode(h.finalize()))
}

/// Writes `bytes` to `dest` atomically.
fn write_atomic(dest: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let dir = parent_of(dest);
    let mut tmp = tempfile::Builder::new()
        .prefix(".tfpub-pull-")
        .tempfile_in(&dir)
        .with_context(|| format!("creating a temporary file in {}", dir.display()))?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(dest)
        .map_err(|e| e.error)
        .with_context(|| format!("writing {}", dest.display()))?;
    Ok(())
}

/// Downloads version `version` of module `addr` (which must be `ok`) to `dest`; the
/// archive must read as a gzip tar.
pub async fn module_to(
    ctx: &Context,
    addr: &ModuleAddress,
    version: &str,
    dest: &Path,
) -> anyhow::Result<Pulled> {
    let v = ctx
        .client
        .get_module_version(addr, version)
        .await?
        .ok_or_else(|| OpsError::VersionNotFound {
            what: format!("module {}", addr.cli_ref()),
            version: version.to_string(),
        })?;
    if !v.status.is_ok() {
        return Err(OpsError::NotInstallable {
            what: format!("module {}", addr.cli_ref()),
            version: version.to_string(),
            status: v.status.to_string(),
        }
        .into());
    }
    let url = ctx.client.module_download_url(addr, version).await?;
    // The download location may be pre-signed: it never appears in a message.
    let pulled = download_to(ctx, &url, MAX_MODULE_ARCHIVE, dest, |_| Ok(())).await;
    let pulled = pulled.with_context(|| format!("downloading version {version} of {addr}"))?;
    let f = std::fs::File::open(&pulled.path)?;
    crate::publish::module::content::Manifest::read_tar_gz(f)
        .with_context(|| format!("{} is not a gzip tar archive", dest.display()))?;
    Ok(pulled)
}

/// `tfpub module pull NAME/PROVIDER VERSION -o FILE`.
pub async fn module(
    ctx: &Context,
    module_ref: &str,
    version: &str,
    out: &Path,
) -> anyhow::Result<Outcome> {
    let addr = ModuleAddress::parse_ref(ctx.org(), module_ref)?;
    ctx.progress
        .stage(&format!("downloading version {version} of {addr}"));
    let p = module_to(ctx, &addr, version, out).await?;
    let mut o = Outcome::new("module pull");
    o.target = Some(ctx.target_info());
    o.outcome = OutcomeKind::Updated;
    o.push(
        file_item(&p)
            .version(version)
            .fact("module", addr.to_string()),
    );
    Ok(o)
}

fn file_item(p: &Pulled) -> Item {
    Item::new(
        ItemKind::File,
        p.path.display().to_string(),
        Action::Created,
    )
    .detail(format!("{} bytes, sha256 {}", p.size, p.sha256))
    .fact("path", p.path.display().to_string())
    .fact("sha256", p.sha256.as_str())
    .fact("size", p.size)
}

/// A provider version pulled into a folder: the files, the signing key (armored) and the
/// protocols, which is what publishing it elsewhere needs.
#[derive(Debug)]
pub struct PulledRelease {
    pub files: Vec<Pulled>,
    pub key_armor: String,
    pub protocols: Vec<String>,
}

/// The `(file, sha256)` lines of a SHA256SUMS text.
fn sums_lines(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|l| l.split_once(char::is_whitespace))
        .map(|(s, f)| {
            let f = f.trim_start().trim_start_matches('*').to_string();
            (f, s.to_ascii_lowercase())
        })
        .collect()
}

/// The download documents of every platform of version `version`.
async fn documents(
    ctx: &Context,
    addr: &ProviderAddress,
    version: &str,
) -> anyhow::Result<(crate::api::ProviderVersion, Vec<ProviderDownload>)> {
    let not_found = || OpsError::VersionNotFound {
        what: format!("provider {addr}"),
        version: version.to_string(),
    };
    let v = ctx
        .client
        .get_provider_version(addr, version)
        .await?
        .ok_or_else(not_found)?;
    let platforms = ctx.client.list_platforms(addr, version).await?;
    let reads = platforms
        .iter()
        .map(|p| ctx.client.provider_download(addr, version, &p.os, &p.arch));
    let docs = futures_util::future::try_join_all(reads)
        .await
        .with_context(|| format!("reading version {version} of {addr} as terraform would"))?;
    if docs.is_empty() {
        return Err(not_found().into());
    }
    Ok((v, docs))
}

/// Downloads every platform zip, SHA256SUMS and its signature of version `version` of
/// `addr` into `dir`, each verified as Terraform verifies it.
pub async fn provider_to(
    ctx: &Context,
    addr: &ProviderAddress,
    version: &str,
    dir: &Path,
) -> anyhow::Result<PulledRelease> {
    if dir.exists() && !dir.is_dir() {
        return Err(OpsError::OutputNotAFolder {
            path: dir.to_path_buf(),
        }
        .into());
    }
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let (v, docs) = documents(ctx, addr, version).await?;
    let first = &docs[0];
    let key = first
        .signing_keys
        .gpg_public_keys
        .iter()
        .find(|k| k.key_id == v.key_id)
        .ok_or_else(|| OpsError::KeyNotServed {
            provider: addr.to_string(),
            version: version.to_string(),
            key_id: v.key_id.to_string(),
        })?;
    let (sums, sig) = tokio::try_join!(
        ctx.client.fetch_limited(&first.shasums_url, MAX_SUMS),
        ctx.client
            .fetch_limited(&first.shasums_signature_url, MAX_SUMS)
    )?;
    crate::sign::verify_detached(&key.ascii_armor, &sums, &sig)
        .with_context(|| format!("verifying the SHA256SUMS signature of {addr} {version}"))?;
    let listed = sums_lines(&String::from_utf8_lossy(&sums));
    let mut files = Vec::new();
    for d in &docs {
        files.push(platform_zip(ctx, d, &listed, dir).await?);
    }
    let base = format!("terraform-provider-{}_{version}", addr.name());
    let manifest = format!("{base}_manifest.json");
    if let Some((_, sha)) = listed.iter().find(|(f, _)| *f == manifest) {
        // Registries do not serve the manifest; recreate it when it is tfpub's own.
        let text = crate::package::provider::manifest_json(&v.protocols);
        if hex::encode(Sha256::digest(text.as_bytes())) == *sha {
            files.push(write_file(&dir.join(&manifest), text.as_bytes())?);
        }
    }
    let sums_file = dir.join(format!("{base}_SHA256SUMS"));
    files.push(write_file(
        &dir.join(format!("{base}_SHA256SUMS.sig")),
        &sig,
    )?);
    files.push(write_file(&sums_file, &sums)?);
    Ok(PulledRelease {
        files,
        key_armor: key.ascii_armor.clone(),
        protocols: v.protocols.clone(),
    })
}

fn write_file(p: &Path, bytes: &[u8]) -> anyhow::Result<Pulled> {
    write_atomic(p, bytes)?;
    Ok(Pulled {
        path: p.to_path_buf(),
        size: bytes.len() as u64,
        sha256: hex::encode(Sha256::digest(bytes)),
    })
}

/// A server-chosen zip file name, refused unless it is one plain `.zip` name (it is
/// joined to the output folder).
fn safe_zip_name(filename: &str) -> Result<String, OpsError> {
    let plain = Path::new(filename)
        .file_name()
        .is_some_and(|n| n.to_string_lossy() == filename);
    if plain && filename.ends_with(".zip") && !filename.starts_with('.') {
        Ok(filename.to_string())
    } else {
        Err(OpsError::UnsafeFileName {
            file: filename.to_string(),
        })
    }
}

/// One platform zip, checked against the signed SHA256SUMS and the document's shasum.
async fn platform_zip(
    ctx: &Context,
    d: &ProviderDownload,
    listed: &[(String, String)],
    dir: &Path,
) -> anyhow::Result<Pulled> {
    let name = safe_zip_name(&d.filename)?;
    let expected = listed
        .iter()
        .find(|(f, _)| *f == name)
        .map(|(_, s)| s.clone())
        .ok_or_else(|| OpsError::NotInSums { file: name.clone() })?;
    ctx.progress
        .stage(&format!("downloading {name} ({}_{})", d.os, d.arch));
    let dest = dir.join(&name);
    download_to(ctx, &d.download_url, MAX_PROVIDER_ZIP, &dest, |actual| {
        if actual != expected || d.shasum.as_str() != expected {
            return Err(OpsError::HashMismatch {
                file: name.clone(),
                expected: expected.clone(),
                actual: actual.to_string(),
            }
            .into());
        }
        Ok(())
    })
    .await
}

/// `tfpub provider pull NAME VERSION -o DIR`.
pub async fn provider(
    ctx: &Context,
    name: &str,
    version: &str,
    out: &Path,
) -> anyhow::Result<Outcome> {
    let addr = ctx.provider(name);
    ctx.progress
        .stage(&format!("downloading version {version} of {addr}"));
    let rel = provider_to(ctx, &addr, version, out).await?;
    let mut o = Outcome::new("provider pull");
    o.target = Some(ctx.target_info());
    o.outcome = OutcomeKind::Updated;
    for f in &rel.files {
        o.push(
            file_item(f)
                .version(version)
                .fact("provider", addr.to_string()),
        );
    }
    Ok(o)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_zip_names_are_written() {
        assert_eq!(
            safe_zip_name("a_1.0.0_linux_amd64.zip").unwrap(),
            "a_1.0.0_linux_amd64.zip"
        );
        for bad in [
            "../x.zip",
            "/tmp/x.zip",
            "d/x.zip",
            "x.exe",
            ".zip",
            "..",
            "",
        ] {
            assert!(safe_zip_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn sums_lines_read_text_and_binary_markers() {
        let l = sums_lines("ABCD  a.zip\nef01 *b.zip\n\n");
        assert_eq!(
            l,
            vec![
                ("a.zip".into(), "abcd".into()),
                ("b.zip".into(), "ef01".into())
            ]
        );
    }
}
