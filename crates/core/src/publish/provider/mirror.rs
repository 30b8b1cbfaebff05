//! `tfpub provider mirror`: publish releases exactly as their upstream published them
//! (HashiCorp's own providers for an air-gapped registry, say): the upstream zips,
//! `SHA256SUMS`, its signature and the upstream public key, never re-signed.
//!
//! A release is laid out as releases.hashicorp.com lays it out, one version per folder:
//! `terraform-provider-NAME_VERSION_OS_ARCH.zip`, `terraform-provider-NAME_VERSION_SHA256SUMS`,
//! its detached signature as `..._SHA256SUMS.sig` or, per key, `..._SHA256SUMS.72D7468F.sig`
//! (the last 8 hex digits of the signing key's id; HashiCorp publishes one per key it
//! signs with), and `..._manifest.json` (the protocols). With `--recursive` every folder
//! of a tree that holds such a release is one.
//!
//! EVERY release found is checked before the first write: each zip against the signed
//! `SHA256SUMS` (naming the file that differs), the signature against the given key
//! (made by it, while it was live). Then each release goes through the provider
//! pipeline's own stages ([`super::publish`]: observe, decide, register, upload,
//! verify) with [`Signing::PublicOnly`], so a re-run converges: what the registry holds
//! already is compared and skipped, only what it lacks is uploaded.

use std::path::{Path, PathBuf};

use anyhow::Context as _;

use super::{KeyChoice, ProviderInput, ProviderRequest};
use crate::error::{ErrorKind, Hint};
use crate::package::provider::{self as pkg, ProviderRelease};
use crate::publish::Context;
use crate::report::{Action, Item, ItemKind, Outcome, OutcomeKind};
use crate::sign::{PublicKey, Signing};

/// Everything `tfpub provider mirror` was asked.
pub struct MirrorRequest {
    /// A release folder, or (with `recursive`) a tree of them.
    pub source: PathBuf,
    /// Only releases of this provider (`--name`).
    pub name: Option<String>,
    /// The upstream public key every release must be signed by.
    pub key: PublicKey,
    /// Protocols for a release without a manifest (`--protocols`).
    pub protocols: Vec<String>,
    pub recursive: bool,
    pub dry_run: bool,
    pub concurrency: usize,
}

/// Why a mirror source was refused before any write.
#[derive(Debug, thiserror::Error)]
pub enum MirrorError {
    #[error("the mirror source {} is not a folder", .dir.display())]
    NotAFolder { dir: PathBuf },
    #[error("no provider release (terraform-provider-NAME_VERSION_SHA256SUMS) found in {}", .dir.display())]
    NoRelease { dir: PathBuf, recursive: bool },
    #[error("{} has no signature: neither {sig} nor {keyed} is there", .dir.display())]
    NoSignature {
        dir: PathBuf,
        sig: String,
        keyed: String,
    },
    #[error("{} has no _manifest.json to read the protocols from", .dir.display())]
    NoProtocols { dir: PathBuf },
}

impl Hint for MirrorError {
    fn hint(&self) -> Option<String> {
        Some(match self {
            MirrorError::NotAFolder { .. } => {
                "pass the folder holding the upstream release files (zips, SHA256SUMS, .sig)".into()
            }
            MirrorError::NoRelease {
                recursive: false, ..
            } => "point at one version's folder, or pass --recursive to walk a tree of them".into(),
            MirrorError::NoRelease { .. } => {
                "download the release files (zips, SHA256SUMS, .sig, manifest) into the tree first"
                    .into()
            }
            MirrorError::NoSignature { .. } => {
                "download the SHA256SUMS signature from the upstream release too".into()
            }
            MirrorError::NoProtocols { .. } => {
                "download the upstream _manifest.json too, or pass --protocols (e.g. 5.0)".into()
            }
        })
    }

    fn kind(&self) -> Option<ErrorKind> {
        Some(ErrorKind::InvalidInput)
    }
}

/// One upstream release found and checked: its folder, what it is, and the signature
/// file chosen for the key.
struct Upstream {
    rel: ProviderRelease,
    signature: PathBuf,
}

/// `tfpub provider mirror`: find, check every release, then publish each one.
pub async fn mirror(ctx: &Context, req: &MirrorRequest) -> anyhow::Result<Outcome> {
    if !req.source.is_dir() {
        return Err(MirrorError::NotAFolder {
            dir: req.source.clone(),
        }
        .into());
    }
    // A bad token or organization fails here, before minutes of hashing upstream zips.
    ctx.preflight(crate::api::Need::Providers).await?;
    let found = release_folders(&req.source, req.recursive)?;
    let mut checked = Vec::new();
    for (dir, sums) in &found {
        if let Some(u) = check_release(dir, sums, req)? {
            checked.push(u);
        }
    }
    if checked.is_empty() {
        return Err(MirrorError::NoRelease {
            dir: req.source.clone(),
            recursive: req.recursive,
        }
        .into());
    }
    let mut outcome = Outcome::new("provider mirror");
    outcome.target = Some(ctx.target_info());
    let (mut any_failed, mut any_published) = (false, false);
    for u in &checked {
        let label = format!("{} {}", u.rel.name, u.rel.version);
        ctx.progress.stage(&format!("mirroring {label}"));
        match publish_upstream(ctx, req, u).await {
            Ok(o) => {
                any_published |= o.published;
                outcome.items.extend(o.items);
                for w in o.warnings {
                    if !outcome.warnings.contains(&w) {
                        outcome.warnings.push(w);
                    }
                }
            }
            Err(e) if req.recursive => {
                any_failed = true;
                outcome.push(
                    Item::new(ItemKind::ProviderVersion, &u.rel.name, Action::Failed)
                        .version(u.rel.version.to_string())
                        .detail(crate::error::chain_messages(&e).join(": ")),
                );
            }
            Err(e) => return Err(e.context(format!("mirroring {label}"))),
        }
    }
    outcome.settle(
        req.dry_run,
        any_failed,
        any_published,
        OutcomeKind::AlreadyPublished,
    );
    Ok(outcome)
}

/// Every `(folder, SHA256SUMS file name)` of a release: in `source` itself, or (with
/// `recursive`) in any folder under it (symbolic links are not followed), sorted.
fn release_folders(source: &Path, recursive: bool) -> anyhow::Result<Vec<(PathBuf, String)>> {
    let depth = if recursive { usize::MAX } else { 1 };
    let mut out = Vec::new();
    for entry in walkdir::WalkDir::new(source)
        .max_depth(depth)
        .sort_by_file_name()
    {
        let entry = entry.with_context(|| format!("reading {}", source.display()))?;
        let name = entry.file_name().to_string_lossy();
        if entry.file_type().is_file()
            && name.starts_with("terraform-provider-")
            && name.ends_with("_SHA256SUMS")
        {
            let dir = entry.path().parent().unwrap_or(source).to_path_buf();
            out.push((dir, name.into_owned()));
        }
    }
    Ok(out)
}

/// The release of `sums` in `dir`, checked: every zip against SHA256SUMS, the
/// signature against the key, the protocols known. None when `--name` excludes it.
fn check_release(dir: &Path, sums: &str, req: &MirrorRequest) -> anyhow::Result<Option<Upstream>> {
    let Some((name, version)) = name_and_version(sums) else {
        return Ok(None);
    };
    if req.name.as_deref().is_some_and(|n| n != name) {
        return Ok(None);
    }
    let mut rel = pkg::load_dist(dir, Some(&name), Some(&version))
        .with_context(|| format!("checking the upstream release in {}", dir.display()))?;
    let signature = signature_for(dir, sums, &req.key)?;
    let data = std::fs::read(&rel.shasums)
        .with_context(|| format!("reading {}", rel.shasums.display()))?;
    let sig =
        std::fs::read(&signature).with_context(|| format!("reading {}", signature.display()))?;
    req.key
        .verify_release(&data, &sig)
        .with_context(|| format!("checking the signature {}", signature.display()))?;
    if rel.protocols.is_empty() {
        if req.protocols.is_empty() {
            return Err(MirrorError::NoProtocols {
                dir: dir.to_path_buf(),
            }
            .into());
        }
        rel.protocols = req.protocols.clone();
    }
    Ok(Some(Upstream { rel, signature }))
}

/// `(NAME, VERSION)` of `terraform-provider-NAME_VERSION_SHA256SUMS`.
fn name_and_version(sums: &str) -> Option<(String, semver::Version)> {
    let rest = sums
        .strip_prefix("terraform-provider-")?
        .strip_suffix("_SHA256SUMS")?;
    let (name, version) = rest.rsplit_once('_')?;
    let version = semver::Version::parse(version.trim_start_matches('v')).ok()?;
    Some((name.to_string(), version))
}

/// The signature of `sums` made for `key`: `SUMS.<last 8 hex of the key id>.sig` when
/// upstream publishes one per key, else `SUMS.sig`.
fn signature_for(dir: &Path, sums: &str, key: &PublicKey) -> Result<PathBuf, MirrorError> {
    let id = key.key_id().to_string();
    let short = &id[id.len().saturating_sub(8)..];
    let keyed = format!("{sums}.{short}.sig");
    let plain = format!("{sums}.sig");
    for f in [&keyed, &keyed.to_ascii_lowercase(), &plain] {
        let p = dir.join(f);
        if p.is_file() {
            return Ok(p);
        }
    }
    Err(MirrorError::NoSignature {
        dir: dir.to_path_buf(),
        sig: plain,
        keyed,
    })
}

/// Publish one checked release through the provider pipeline, with the public key only.
/// A per-key signature file is handed to the pipeline under the name it reads
/// (`SUMS.sig`), in a run folder of links to the same bytes.
async fn publish_upstream(
    ctx: &Context,
    req: &MirrorRequest,
    u: &Upstream,
) -> anyhow::Result<Outcome> {
    let plain = u.rel.dir.join(format!("{}.sig", file_name(&u.rel.shasums)));
    let work;
    let dir = if u.signature == plain {
        u.rel.dir.clone()
    } else {
        work = super::super::workdir::create()?;
        link_release(&u.rel, &u.signature, work.path())?;
        work.path().to_path_buf()
    };
    let preq = ProviderRequest {
        input: ProviderInput::Dist(dir),
        name: Some(u.rel.name.clone()),
        version: Some(u.rel.version.to_string()),
        protocols: u.rel.protocols.clone(),
        signer: KeyChoice::Key(Signing::PublicOnly(Box::new(req.key.clone()))),
        dry_run: req.dry_run,
        concurrency: req.concurrency,
    };
    super::publish(ctx, &preq).await
}

/// The release's files in `to` (hard links, else copies), its signature as `SUMS.sig`.
fn link_release(rel: &ProviderRelease, signature: &Path, to: &Path) -> anyhow::Result<()> {
    let sig_name = format!("{}.sig", file_name(&rel.shasums));
    let mut files: Vec<(PathBuf, String)> = rel
        .platforms
        .iter()
        .map(|p| (p.path.clone(), p.filename.clone()))
        .collect();
    files.push((rel.shasums.clone(), file_name(&rel.shasums)));
    files.push((signature.to_path_buf(), sig_name));
    if let Some(m) = &rel.manifest {
        files.push((m.clone(), file_name(m)));
    }
    for (from, name) in files {
        let dest = to.join(&name);
        if std::fs::hard_link(&from, &dest).is_err() {
            std::fs::copy(&from, &dest)
                .with_context(|| format!("copying {} to {}", from.display(), dest.display()))?;
        }
    }
    Ok(())
}

fn file_name(p: &Path) -> String {
    super::file_name(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_versions_come_from_the_sums_file() {
        let (n, v) = name_and_version("terraform-provider-null_3.2.2_SHA256SUMS").unwrap();
        assert_eq!((n.as_str(), v.to_string().as_str()), ("null", "3.2.2"));
        assert!(name_and_version("terraform-provider-null_x_SHA256SUMS").is_none());
        assert!(name_and_version("null_3.2.2_SHA256SUMS").is_none());
    }

    #[test]
    fn the_key_specific_signature_wins_over_the_plain_one() {
        let armored = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/keys/rsa.pub.asc"),
        )
        .unwrap();
        let key = PublicKey::from_armored(&armored).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let sums = "terraform-provider-x_1.0.0_SHA256SUMS";
        let e = signature_for(dir.path(), sums, &key).unwrap_err();
        assert!(
            e.to_string().contains(&format!("{sums}.438F9A26.sig")),
            "{e}"
        );
        std::fs::write(dir.path().join(format!("{sums}.sig")), b"s").unwrap();
        let p = signature_for(dir.path(), sums, &key).unwrap();
        assert!(p.ends_with(format!("{sums}.sig")));
        std::fs::write(dir.path().join(format!("{sums}.438F9A26.sig")), b"s").unwrap();
        let p = signature_for(dir.path(), sums, &key).unwrap();
        assert!(p.ends_with(format!("{sums}.438F9A26.sig")));
    }
}
