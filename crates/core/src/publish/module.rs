//! Module publishing: package → preflight → ensure module → ensure version → upload →
//! wait for `ok`; plus the version-management commands.
//!
//! Why the converging rules look the way they do:
//! - A 422 on create is not proof the thing exists (wire-facts): we re-read and decide.
//! - A version that exists and is `ok` is "already published" only when the registry's
//!   archive has the same bytes as ours (archives are deterministic, so this is exact).
//! - `pending` with an upload link means a previous run died before its upload: upload.
//! - `*_failed` is never papered over: we report the registry's error and the command that
//!   deletes and retries it (`--replace-failed` does that).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context as _};
use sha2::{Digest, Sha256};

use super::{parse_version, Context};
use crate::api::{ModuleVersion, VersionChange};
use crate::error::hinted;
use crate::package::module::{self as pkg, ModuleArchive, ModulePackageOptions};
use crate::report::{Action, Item, ItemKind, Outcome, OutcomeKind, Progress};
use crate::vocab::ModuleAddress;

/// Everything `tfpub module publish` was asked.
#[derive(Debug, Clone)]
pub struct ModulePublishRequest {
    pub dir: PathBuf,
    pub name: Option<String>,
    pub provider: Option<String>,
    pub version: Option<String>,
    pub commit_sha: Option<String>,
    pub no_code: bool,
    pub dry_run: bool,
    pub timeout: Duration,
    pub allow_dirty: bool,
    pub replace_failed: bool,
    pub tag_prefix: String,
    pub max_size: Option<u64>,
}

/// The module identity and version, resolved and validated before any request.
#[derive(Debug, Clone)]
pub struct ResolvedModule {
    pub dir: PathBuf,
    pub name: String,
    pub provider: String,
    pub version: semver::Version,
    pub commit_sha: Option<String>,
}

/// Options of the publish core shared by `publish` and `sync`.
#[derive(Debug, Clone, Copy)]
pub struct CoreOptions {
    pub timeout: Duration,
    pub replace_failed: bool,
    pub no_code: bool,
    /// The caller already knows the module exists (a sync read it once for all its
    /// versions): skip the per-version module check.
    pub module_known: bool,
}

/// `out` as a `/`-separated path relative to `dir` when it lies inside it.
fn path_inside(dir: &Path, out: &Path) -> Option<String> {
    let dir = dir.canonicalize().ok()?;
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.canonicalize().ok()?,
        _ => std::env::current_dir().ok()?.canonicalize().ok()?,
    };
    let full = parent.join(out.file_name()?);
    let rel = full.strip_prefix(&dir).ok()?;
    Some(
        rel.components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join("/"),
    )
}

/// `module publish` in a repository whose `tfpub.toml` lists modules: publish each (or
/// the one named), each with its own tag prefix for the version at HEAD. One module's
/// failure is reported and the others go on; the outcome says whether any failed.
pub async fn publish_configured(
    ctx: &Context,
    base: &ModulePublishRequest,
    cfg: crate::project::ProjectConfig,
    only: Option<&str>,
) -> anyhow::Result<Outcome> {
    let mut mods = cfg.modules;
    if let Some(o) = only {
        mods.retain(|m| m.name == o || format!("{}/{}", m.name, m.provider) == o);
        if mods.is_empty() {
            return Err(hinted(
                format!(
                    "no module {o:?} in {}",
                    base.dir.join("tfpub.toml").display()
                ),
                "name one of the [[module]] entries as NAME or NAME/PROVIDER",
            ));
        }
    }
    if base.version.is_some() && mods.len() > 1 {
        return Err(hinted(
            format!(
                "--version applies to one module, but tfpub.toml lists {}",
                mods.len()
            ),
            "add --module NAME to publish that module at --version, or drop --version to \
             take each module's version from its prefixed tag at HEAD",
        ));
    }
    let mut all = Outcome::new("module publish");
    all.target = Some(ctx.target_info());
    let (mut any_failed, mut any_published) = (false, false);
    for m in mods {
        let req = ModulePublishRequest {
            dir: base.dir.join(&m.path),
            name: Some(m.name.clone()),
            provider: Some(m.provider.clone()),
            tag_prefix: m.tag_prefix.clone(),
            ..base.clone()
        };
        match publish(ctx, &req).await {
            Ok(o) => {
                any_published |= o.published;
                any_failed |= !o.ok;
                all.items.extend(o.items);
            }
            Err(e) => {
                any_failed = true;
                all.push(
                    Item::new(
                        ItemKind::Module,
                        ctx.module(&m.name, &m.provider).to_string(),
                        Action::Failed,
                    )
                    .detail(crate::error::chain_messages(&e).join(": ")),
                );
            }
        }
    }
    all.settle(
        base.dry_run,
        any_failed,
        any_published,
        OutcomeKind::AlreadyPublished,
    );
    Ok(all)
}

/// Resolve name, provider, version and commit from flags, the directory name and git.
pub fn resolve(req: &ModulePublishRequest) -> anyhow::Result<ResolvedModule> {
    let dir = &req.dir;
    if !dir.is_dir() {
        return Err(hinted(
            format!("module directory {} does not exist", dir.display()),
            "pass the path of the folder that holds the module's .tf files",
        ));
    }
    let dir = dir
        .canonicalize()
        .with_context(|| format!("reading {}", dir.display()))?;
    let dir_name = dir
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let parsed = crate::project::parse_module_dir_name(&dir_name);
    let (name, provider) = match (&req.name, &req.provider, parsed) {
        (Some(n), Some(p), _) => (n.clone(), p.clone()),
        (n, p, Some((pp, pn))) => (n.clone().unwrap_or(pn), p.clone().unwrap_or(pp)),
        _ => {
            return Err(hinted(
                format!(
                    "cannot tell the module's name and provider: directory {dir_name:?} is not named terraform-<PROVIDER>-<NAME>"
                ),
                "pass --name and --provider (e.g. --name vpc --provider aws), or list the module in tfpub.toml",
            ))
        }
    };
    crate::project::validate_module_name(&name).context("checking the module name")?;
    crate::project::validate_provider_name(&provider).context("checking the module provider")?;

    let repo = crate::git::Repo::discover(&dir).ok();
    if let Some(repo) = &repo {
        if !req.allow_dirty {
            let sub = dir.strip_prefix(repo.root()).ok().map(Path::to_path_buf);
            let sub = sub.filter(|p| !p.as_os_str().is_empty());
            let dirty = repo.is_dirty(sub.as_deref())?;
            if !dirty.is_empty() {
                let shown: Vec<_> = dirty.iter().take(5).cloned().collect();
                return Err(hinted(
                    format!(
                        "the working tree of {} has uncommitted changes: {}{}",
                        dir.display(),
                        shown.join(", "),
                        if dirty.len() > 5 { ", …" } else { "" }
                    ),
                    "commit or stash them so the archive is what the commit holds, or pass --allow-dirty",
                ));
            }
        }
    }
    let version = match &req.version {
        Some(v) => parse_version(v)?,
        None => match &repo {
            Some(repo) => match repo.version_at_head(&req.tag_prefix)? {
                Some(t) => t.version,
                None => {
                    return Err(hinted(
                        "no --version given and no semver tag points at HEAD",
                        "pass --version 1.2.3, or tag the commit (git tag v1.2.3)",
                    ))
                }
            },
            None => {
                return Err(hinted(
                    format!(
                        "no --version given and {} is not in a git repository",
                        dir.display()
                    ),
                    "pass --version 1.2.3",
                ))
            }
        },
    };
    let commit_sha = match &req.commit_sha {
        Some(s) => Some(s.clone()),
        None => match &repo {
            Some(r) => Some(r.head_commit()?),
            None => None,
        },
    };
    Ok(ResolvedModule {
        dir,
        name,
        provider,
        version,
        commit_sha,
    })
}

fn package_options(req: &ModulePublishRequest) -> ModulePackageOptions {
    let mut o = ModulePackageOptions::default();
    if let Some(m) = req.max_size {
        o.max_size = m;
    }
    o
}

/// `tfpub module publish`.
pub async fn publish(ctx: &Context, req: &ModulePublishRequest) -> anyhow::Result<Outcome> {
    let mut outcome = Outcome::new("module publish");
    outcome.target = Some(ctx.target_info());
    let m = resolve(req)?;
    let addr = ctx.module(&m.name, &m.provider);
    let id = addr.to_string();
    let version = m.version.to_string();

    let opts = package_options(req);
    let tmp = tempfile::tempdir().context("creating a temporary folder for the archive")?;
    let archive_path = tmp.path().join("module.tar.gz");
    ctx.progress
        .stage(&format!("packaging {}", m.dir.display()));
    let archive = pkg::package_dir(&m.dir, &archive_path, &opts)
        .with_context(|| format!("packaging {}", m.dir.display()))?;
    outcome.warn_all(&archive.warnings, ctx.progress.as_ref());

    ctx.preflight().await?;

    if req.dry_run {
        outcome.outcome = OutcomeKind::Planned;
        let existing = ctx.client.get_module_version(&addr, &version).await?;
        let action = if existing.is_some() {
            Action::Exists
        } else {
            Action::Planned
        };
        let mut it = Item::new(ItemKind::ModuleVersion, &id, action)
            .version(&version)
            .url(ctx.module_url(&addr, Some(&version)))
            .detail(format!(
                "{} files, {} bytes, sha256 {}",
                archive.files.len(),
                archive.size,
                archive.sha256
            ));
        if let Some(v) = existing {
            it = it.detail(format!("already in the registry with status {}", v.status));
        }
        outcome.push(it);
        for f in &archive.files {
            outcome.push(Item::new(ItemKind::File, f, Action::Planned));
        }
        for f in &archive.excluded {
            outcome.push(Item::new(ItemKind::File, f, Action::Skipped).detail("excluded"));
        }
        return Ok(outcome);
    }

    let core = CoreOptions {
        timeout: req.timeout,
        replace_failed: req.replace_failed,
        no_code: req.no_code,
        module_known: false,
    };
    let published = publish_archive(
        ctx,
        &addr,
        &m.version,
        m.commit_sha.as_deref(),
        &archive,
        core,
        &mut outcome.items,
    )
    .await?;
    outcome.published = published;
    outcome.outcome = if published {
        OutcomeKind::Published
    } else {
        OutcomeKind::AlreadyPublished
    };
    Ok(outcome)
}

/// Make sure the module exists; returns the item describing what happened.
pub async fn ensure_module(
    ctx: &Context,
    addr: &ModuleAddress,
    no_code: bool,
) -> anyhow::Result<Item> {
    let id = addr.to_string();
    let url = ctx.module_url(addr, None);
    if ctx.client.get_module(addr).await?.is_some() {
        return Ok(Item::new(ItemKind::Module, id, Action::Exists).url(url));
    }
    ctx.progress.stage(&format!("creating module {id}"));
    match ctx.client.create_module(addr, no_code).await {
        Ok(_) => Ok(Item::new(ItemKind::Module, id, Action::Created).url(url)),
        Err(e) => {
            // Another publisher may have created it between our read and our write.
            if ctx.client.get_module(addr).await?.is_some() {
                Ok(Item::new(ItemKind::Module, id, Action::Exists).url(url))
            } else {
                Err(anyhow::Error::new(e).context(format!("creating module {id}")))
            }
        }
    }
}

/// The converging core: given a packaged archive, make the registry hold it as `ok`.
/// Returns whether anything new was published. Items describing each step are pushed.
#[allow(clippy::too_many_arguments)]
pub async fn publish_archive(
    ctx: &Context,
    addr: &ModuleAddress,
    version: &semver::Version,
    commit_sha: Option<&str>,
    archive: &ModuleArchive,
    opts: CoreOptions,
    items: &mut Vec<Item>,
) -> anyhow::Result<bool> {
    let v = version.to_string();
    let id = addr.to_string();
    let vurl = ctx.module_url(addr, Some(&v));

    let mut existing = ctx.client.get_module_version(addr, &v).await?;
    if let Some(ev) = &existing {
        if ev.status.is_failed() {
            let why = ingress_error(ctx, addr, &v)
                .await
                .unwrap_or_else(|| ev.status.to_string());
            if !opts.replace_failed {
                return Err(hinted(
                    format!(
                        "version {v} of {id} is in the failed state {}: {why}",
                        ev.status
                    ),
                    format!(
                        "fix the module, then delete the failed version and publish again: \
                         `tfpub module delete {} {v} --yes`, or re-run with --replace-failed",
                        addr.cli_ref()
                    ),
                ));
            }
            ctx.progress
                .stage(&format!("deleting failed version {v} ({})", ev.status));
            ctx.client
                .delete_module_version(addr, &v)
                .await
                .with_context(|| format!("deleting failed version {v} of {id}"))?;
            items.push(
                Item::new(ItemKind::ModuleVersion, &id, Action::Deleted)
                    .version(&v)
                    .detail(format!("was {}: {why}", ev.status)),
            );
            existing = None;
        }
    }

    let ver: ModuleVersion = match existing {
        Some(ev) if ev.status.is_ok() => {
            // Already published: prove the bytes are ours before saying so.
            same_archive(ctx, addr, &v, archive).await?;
            items.push(
                Item::new(ItemKind::ModuleVersion, &id, Action::Exists)
                    .version(&v)
                    .url(vurl)
                    .detail("already published with identical content"),
            );
            return Ok(false);
        }
        Some(ev) => {
            items.push(
                Item::new(ItemKind::ModuleVersion, &id, Action::Exists)
                    .version(&v)
                    .detail(format!("found in status {}", ev.status)),
            );
            ev
        }
        None => {
            if !opts.module_known {
                items.push(ensure_module(ctx, addr, opts.no_code).await?);
            }
            ctx.progress.stage(&format!("creating version {v}"));
            match ctx.client.create_module_version(addr, &v, commit_sha).await {
                Ok(created) => {
                    items.push(
                        Item::new(ItemKind::ModuleVersion, &id, Action::Created)
                            .version(&v)
                            .url(vurl.clone()),
                    );
                    created
                }
                Err(e) => match ctx.client.get_module_version(addr, &v).await? {
                    // A concurrent publisher (or a retried request) created it.
                    Some(found) if found.status.is_ok() => {
                        // Finished by the other publisher: ours only if the bytes are.
                        same_archive(ctx, addr, &v, archive).await?;
                        items.push(
                            Item::new(ItemKind::ModuleVersion, &id, Action::Exists)
                                .version(&v)
                                .url(vurl)
                                .detail("published concurrently with identical content"),
                        );
                        return Ok(false);
                    }
                    Some(found) => {
                        items.push(
                            Item::new(ItemKind::ModuleVersion, &id, Action::Exists)
                                .version(&v)
                                .detail(format!("created concurrently, status {}", found.status)),
                        );
                        found
                    }
                    None => {
                        return Err(
                            anyhow::Error::new(e).context(format!("creating version {v} of {id}"))
                        )
                    }
                },
            }
        }
    };

    if ver.status.is_pending() {
        if let Some(link) = &ver.upload {
            ctx.progress.mask(link.expose().as_str());
            // The upload reports itself (transfer_start): no separate stage line.
            let up = ctx
                .client
                .upload_file(
                    link,
                    &archive.path,
                    &archive_label(&v),
                    ctx.progress.as_ref(),
                )
                .await;
            match up {
                Ok(()) => items.push(
                    Item::new(ItemKind::File, archive_label(&v), Action::Uploaded)
                        .detail(format!("{} bytes, sha256 {}", archive.size, archive.sha256)),
                ),
                Err(e) => {
                    // A concurrent publisher may have uploaded first, which spends the
                    // link. If the version has moved on from `pending`, wait for it and
                    // let the content check below decide; otherwise the failure stands.
                    let now = ctx.client.get_module_version(addr, &v).await?;
                    match now {
                        Some(n) if !n.status.is_pending() => items.push(
                            Item::new(ItemKind::ModuleVersion, &id, Action::Exists)
                                .version(&v)
                                .detail(format!(
                                    "uploaded concurrently by another publisher, status {}",
                                    n.status
                                )),
                        ),
                        _ => {
                            return Err(anyhow::Error::new(e)
                                .context(format!("uploading the archive of {id} {v}")))
                        }
                    }
                }
            }
        }
    }

    wait_ok(ctx, addr, &v, opts.timeout).await?;
    // A concurrent publisher may have uploaded into the same version: say `published`
    // only if the registry serves our bytes.
    same_archive(ctx, addr, &v, archive).await?;
    items.push(
        Item::new(ItemKind::ModuleVersion, &id, Action::Updated)
            .version(&v)
            .url(vurl)
            .detail("status ok"),
    );
    // Reaching here means this run completed a version the registry did not serve before.
    Ok(true)
}

fn archive_label(v: &str) -> String {
    format!("module-{v}.tar.gz")
}

async fn ingress_error(ctx: &Context, addr: &ModuleAddress, v: &str) -> Option<String> {
    let m = ctx.client.get_module(addr).await.ok()??;
    m.version_statuses
        .into_iter()
        .find(|s| s.version == v)
        .and_then(|s| s.error)
        .filter(|e| !e.is_empty())
}

/// Fails unless the registry's archive of version `v` has the bytes of `archive`.
async fn same_archive(
    ctx: &Context,
    addr: &ModuleAddress,
    v: &str,
    archive: &ModuleArchive,
) -> anyhow::Result<()> {
    let id = addr;
    // Compare what the archives hold (the tar stream), not their gzip bytes: a tfpub
    // built with another deflate implementation must still recognise its own content.
    let local = &archive.tar_sha256;
    match registry_archive_sha256(ctx, addr, v).await {
        Ok(remote) if &remote == local => Ok(()),
        Ok(remote) => Err(hinted(
            format!(
                "version {v} of {id} is already published with different content \
                 (sha256 of the registry's tar {remote}, of the local tar {local})"
            ),
            "published versions are immutable: publish the change as a new version \
             (if two publishers raced on this version, the other one's archive won)",
        )),
        Err(e) => Err(e.context(format!(
            "version {v} of {id} is published; downloading it to compare with the local archive failed"
        ))),
    }
}

async fn registry_archive_sha256(
    ctx: &Context,
    addr: &ModuleAddress,
    v: &str,
) -> anyhow::Result<String> {
    let url = ctx.client.module_download_url(addr, v).await?;
    let bytes = ctx.client.fetch(&url).await?;
    tar_sha256(&bytes[..]).context("the registry's archive is not a readable .tar.gz")
}

/// SHA-256 of the tar stream inside a gzip archive.
fn tar_sha256(gz: impl std::io::Read) -> std::io::Result<String> {
    let mut hasher = Sha256::new();
    std::io::copy(&mut flate2::read::GzDecoder::new(gz), &mut hasher)?;
    Ok(hex::encode(hasher.finalize()))
}

/// Poll the version until `ok`, a failed state, or the timeout (bounded backoff).
pub async fn wait_ok(
    ctx: &Context,
    addr: &ModuleAddress,
    v: &str,
    timeout: Duration,
) -> anyhow::Result<()> {
    let start = Instant::now();
    let mut delay = Duration::from_millis(200);
    let mut last: Option<crate::vocab::VersionStatus> = None;
    let name_provider = addr.cli_ref();
    loop {
        let cur = ctx
            .client
            .get_module_version(addr, v)
            .await?
            .ok_or_else(|| anyhow!("version {v} of {name_provider} disappeared while waiting"))?;
        if cur.status.is_ok() {
            return Ok(());
        }
        if cur.status.is_failed() {
            let why = ingress_error(ctx, addr, v)
                .await
                .unwrap_or_else(|| "the registry gave no error text".into());
            return Err(hinted(
                format!(
                    "the registry could not ingest version {v} of {name_provider}: status {}: {why}",
                    cur.status
                ),
                format!(
                    "fix the module (the archive must be a gzip tarball with .tf files at its root), \
                     then run `tfpub module delete {name_provider} {v} --yes` and publish again, \
                     or publish again with --replace-failed"
                ),
            ));
        }
        if last.as_ref() != Some(&cur.status) {
            ctx.progress
                .stage(&format!("waiting: version {v} is {}", cur.status));
            last = Some(cur.status.clone());
        }
        if start.elapsed() + delay > timeout {
            return Err(hinted(
                format!(
                    "version {v} of {name_provider} is still `{}` after {}s",
                    cur.status,
                    timeout.as_secs()
                ),
                "the archive was uploaded but the registry has not finished ingesting it; \
                 run the same publish again later (it resumes and keeps waiting), raise --timeout, \
                 or check the version in the registry UI",
            ));
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 3 / 2).min(Duration::from_secs(5));
    }
}

/// `tfpub module package DIR -o FILE` (offline).
pub fn package(
    dir: &Path,
    out: &Path,
    dry_run: bool,
    max_size: Option<u64>,
    progress: &dyn Progress,
) -> anyhow::Result<Outcome> {
    let mut opts = ModulePackageOptions::default();
    if let Some(m) = max_size {
        opts.max_size = m;
    }
    if let Some(rel) = path_inside(dir, out) {
        // `-o module.tar.gz` inside the module: never pack the previous archive.
        opts.skip.push(rel);
    }
    let mut outcome = Outcome::new("module package");
    if dry_run {
        let plan =
            pkg::plan_dir(dir, &opts).with_context(|| format!("packaging {}", dir.display()))?;
        outcome.outcome = OutcomeKind::Planned;
        for f in &plan.files {
            outcome.push(Item::new(ItemKind::File, f, Action::Planned));
        }
        for f in &plan.excluded {
            outcome.push(Item::new(ItemKind::File, f, Action::Skipped).detail("excluded"));
        }
        outcome.warn_all(&plan.warnings, progress);
        return Ok(outcome);
    }
    let a = pkg::package_dir(dir, out, &opts)
        .with_context(|| format!("packaging {}", dir.display()))?;
    outcome.outcome = OutcomeKind::Updated;
    outcome.push(
        Item::new(ItemKind::File, out.display().to_string(), Action::Created).detail(format!(
            "{} files, {} bytes, sha256 {}",
            a.files.len(),
            a.size,
            a.sha256
        )),
    );
    outcome.warn_all(&a.warnings, progress);
    Ok(outcome)
}

/// `tfpub module versions NAME/PROVIDER`.
pub async fn versions(ctx: &Context, module: &str) -> anyhow::Result<Outcome> {
    let addr = ModuleAddress::parse_ref(ctx.org(), module)?;
    let mut outcome = Outcome::new("module versions");
    outcome.target = Some(ctx.target_info());
    let id = addr.to_string();
    let m = ctx.client.get_module(&addr).await?.ok_or_else(|| {
        hinted(
            format!("module {id} is not in the registry"),
            "check the name, provider and --organization",
        )
    })?;
    let mut statuses = m.version_statuses.clone();
    statuses.sort_by(|a, b| {
        let pa = semver::Version::parse(&a.version).ok();
        let pb = semver::Version::parse(&b.version).ok();
        pa.cmp(&pb)
    });
    for s in statuses {
        let mut detail = format!("status {}", s.status);
        if let Ok(Some(v)) = ctx.client.get_module_version(&addr, &s.version).await {
            if v.revoked() {
                detail.push_str(", revoked");
            } else if v.deprecated() {
                detail.push_str(", deprecated");
            }
        }
        if let Some(e) = s.error.filter(|e| !e.is_empty()) {
            detail.push_str(&format!(": {e}"));
        }
        outcome.push(
            Item::new(ItemKind::ModuleVersion, &id, Action::Exists)
                .version(&s.version)
                .url(ctx.module_url(&addr, Some(&s.version)))
                .detail(detail),
        );
    }
    Ok(outcome)
}

/// `tfpub module deprecate|undeprecate|revoke|unrevoke`.
pub async fn change(
    ctx: &Context,
    module: &str,
    version: &str,
    change: VersionChange,
    verb: &str,
) -> anyhow::Result<Outcome> {
    let addr = ModuleAddress::parse_ref(ctx.org(), module)?;
    let v = parse_version(version)?.to_string();
    let mut outcome = Outcome::new(format!("module {verb}"));
    outcome.target = Some(ctx.target_info());
    let id = addr.to_string();
    ctx.client
        .change_module_version(&addr, &v, change)
        .await
        .with_context(|| format!("{verb} version {v} of {id}"))?;
    outcome.outcome = OutcomeKind::Updated;
    outcome.push(
        Item::new(ItemKind::ModuleVersion, &id, Action::Updated)
            .version(&v)
            .url(ctx.module_url(&addr, Some(&v)))
            .detail(verb.to_string()),
    );
    Ok(outcome)
}

/// `tfpub module delete NAME/PROVIDER [VERSION]`.
pub async fn delete(ctx: &Context, module: &str, version: Option<&str>) -> anyhow::Result<Outcome> {
    let addr = ModuleAddress::parse_ref(ctx.org(), module)?;
    let mut outcome = Outcome::new("module delete");
    outcome.target = Some(ctx.target_info());
    let id = addr.to_string();
    match version {
        Some(version) => {
            let v = parse_version(version)?.to_string();
            ctx.client
                .delete_module_version(&addr, &v)
                .await
                .with_context(|| format!("deleting version {v} of {id}"))?;
            outcome.push(Item::new(ItemKind::ModuleVersion, &id, Action::Deleted).version(&v));
        }
        None => {
            ctx.client
                .delete_module(&addr)
                .await
                .with_context(|| format!("deleting module {id}"))?;
            outcome.push(Item::new(ItemKind::Module, &id, Action::Deleted));
        }
    }
    outcome.outcome = OutcomeKind::Deleted;
    Ok(outcome)
}
