//! Stage 1, resolve: what to publish, decided before any request. This is the one place
//! that works out a module's identity and version:
//! - which modules a repository declares: `tfpub.toml`, loaded here and nowhere else
//!   ([`configured`]);
//! - name and provider: the flags, else the folder name `terraform-<PROVIDER>-<NAME>`
//!   ([`identity`]; tfpub.toml entries were resolved the same way when the file was read);
//! - version: `--version`, else the semver tag (with the module's tag prefix) at HEAD;
//! - commit: `--commit-sha`, else HEAD.
//!
//! The organization comes from the target, once: the result carries a full
//! [`ModuleAddress`], so no later stage rebuilds it.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::Context as _;

use super::ModulePublishRequest;
use crate::package::module as pkg;
use crate::project::{self, ModuleConfig, ProjectConfig};
use crate::publish::error::PublishError;
use crate::publish::{parse_version, Context};
use crate::vocab::ModuleAddress;

/// The module identity and version, resolved and validated before any request.
#[derive(Debug, Clone)]
pub struct ResolvedModule {
    /// The module folder, or the archive file of a prebuilt module (`prebuilt`).
    pub dir: PathBuf,
    /// `dir` is an archive built elsewhere (`--archive`), published as it is.
    pub prebuilt: bool,
    pub address: ModuleAddress,
    pub version: semver::Version,
    pub commit_sha: Option<String>,
}

/// The modules `tfpub.toml` at `root` declares (only `only`, given as NAME or
/// NAME/PROVIDER, when set); `Ok(None)` when there is no tfpub.toml.
pub fn configured(root: &Path, only: Option<&str>) -> anyhow::Result<Option<Vec<ModuleConfig>>> {
    let Some(cfg) = ProjectConfig::load(root)? else {
        return Ok(None);
    };
    let mut mods = cfg.modules;
    if let Some(o) = only {
        mods.retain(|m| m.name == o || format!("{}/{}", m.name, m.provider) == o);
        if mods.is_empty() {
            return Err(PublishError::NoSuchProjectModule {
                module: o.to_string(),
                project_file: root.join(project::CONFIG_FILE),
            }
            .into());
        }
    }
    Ok(Some(mods))
}

/// Name and provider of the module in `dir`: the given ones win, the folder name
/// `terraform-<PROVIDER>-<NAME>` fills in what is missing; both are validated.
pub fn identity(
    dir: &Path,
    name: Option<&str>,
    provider: Option<&str>,
) -> anyhow::Result<(String, String)> {
    let dir_name = dir
        .canonicalize()
        .ok()
        .and_then(|d| d.file_name().map(|s| s.to_string_lossy().into_owned()))
        .unwrap_or_default();
    let (name, provider) = project::infer_identity(&dir_name, name, provider)
        .map_err(|_| PublishError::ModuleNameUnknown { dir_name })?;
    project::validate_module_name(&name).context("checking the module name")?;
    project::validate_provider_name(&provider).context("checking the module provider")?;
    Ok((name, provider))
}

/// The folder `dir`, canonical; `missing()` when it is not a folder.
pub(crate) fn existing_dir<E>(dir: &Path, missing: impl FnOnce() -> E) -> anyhow::Result<PathBuf>
where
    E: std::error::Error + Send + Sync + 'static,
{
    if !dir.is_dir() {
        return Err(missing().into());
    }
    dir.canonicalize()
        .with_context(|| format!("reading {}", dir.display()))
}

/// The git side of publishing the folder `dir`: its repository (`None` outside git),
/// after refusing a dirty working tree unless `allow_dirty`; and the version: `version`
/// when given, else the semver tag (after `tag_prefix`) at HEAD.
pub(crate) fn version_from_git(
    dir: &Path,
    version: Option<&str>,
    tag_prefix: &str,
    allow_dirty: bool,
) -> anyhow::Result<(Option<crate::git::Repo>, semver::Version)> {
    let repo = crate::git::Repo::discover(dir).ok();
    if let (Some(repo), false) = (&repo, allow_dirty) {
        refuse_dirty(repo, dir)?;
    }
    let version = match (version, &repo) {
        (Some(v), _) => parse_version(v)?,
        (None, Some(repo)) => match repo.version_at_head(tag_prefix)? {
            Some(t) => t.version,
            None => return Err(PublishError::NoVersionTag.into()),
        },
        (None, None) => {
            let dir = dir.to_path_buf();
            return Err(PublishError::NoVersionNoGit { dir }.into());
        }
    };
    Ok((repo, version))
}

/// Resolve `module publish`'s request: identity, version and commit, from the flags, the
/// folder name and git; refuses a dirty working tree unless allowed.
pub fn resolve(ctx: &Context, req: &ModulePublishRequest) -> anyhow::Result<ResolvedModule> {
    if let Some(archive) = &req.archive {
        return prebuilt(ctx, req, archive);
    }
    let dir = existing_dir(&req.dir, || PublishError::ModuleDirMissing {
        dir: req.dir.clone(),
    })?;
    let (name, provider) = identity(&dir, req.name.as_deref(), req.provider.as_deref())?;
    let (repo, version) = version_from_git(
        &dir,
        req.version.as_deref(),
        &req.tag_prefix,
        req.allow_dirty,
    )?;
    let commit_sha = match (&req.commit_sha, &repo) {
        (Some(s), _) => Some(s.clone()),
        (None, Some(r)) => Some(r.head_commit()?),
        (None, None) => None,
    };
    Ok(ResolvedModule {
        address: ctx.module(&name, &provider),
        dir,
        prebuilt: false,
        version,
        commit_sha,
    })
}

/// `--archive FILE`: nothing to infer from a folder or git, so name, provider and
/// version are the flags' (validated like inferred ones); the commit only `--commit-sha`.
fn prebuilt(
    ctx: &Context,
    req: &ModulePublishRequest,
    archive: &Path,
) -> anyhow::Result<ResolvedModule> {
    let file_name = archive
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let (Some(name), Some(provider)) = (&req.name, &req.provider) else {
        return Err(PublishError::ModuleNameUnknown {
            dir_name: file_name,
        }
        .into());
    };
    project::validate_module_name(name).context("checking the module name")?;
    project::validate_provider_name(provider).context("checking the module provider")?;
    let Some(v) = &req.version else {
        return Err(PublishError::NoVersionNoGit {
            dir: archive.to_path_buf(),
        }
        .into());
    };
    Ok(ResolvedModule {
        address: ctx.module(name, provider),
        dir: archive.to_path_buf(),
        prebuilt: true,
        version: parse_version(v)?,
        commit_sha: req.commit_sha.clone(),
    })
}

/// Fails when the module's part of the working tree differs from the commit in a way that
/// changes the archive: the archive must be what the commit holds. A change counts when
/// the packer would pack the path ([`pkg::plan_dir`], the packer's own exclusion rules, so
/// `.terraform/`, state files and `.terraformignore` patterns never count) or when a
/// tracked file is gone from disk. Files `.gitignore` hides count too when they would be
/// packed: the packer does not read `.gitignore`.
pub(crate) fn refuse_dirty(repo: &crate::git::Repo, dir: &Path) -> anyhow::Result<()> {
    let sub = dir.strip_prefix(repo.root()).ok().map(Path::to_path_buf);
    let sub = sub.filter(|p| !p.as_os_str().is_empty());
    let changed = repo.changes(sub.as_deref(), true)?;
    if changed.is_empty() {
        return Ok(());
    }
    let dirty = archive_changes(dir, sub.as_deref(), changed);
    if dirty.is_empty() {
        return Ok(());
    }
    let shown: Vec<_> = dirty.iter().take(5).cloned().collect();
    Err(PublishError::DirtyWorktree {
        dir: dir.to_path_buf(),
        files: format!(
            "{}{}",
            shown.join(", "),
            if dirty.len() > 5 { ", …" } else { "" }
        ),
    }
    .into())
}

/// Of `changed` (repo-relative, `/`-separated; ignored folders end with `/`), the paths
/// that would make the archive differ from the commit. When the module cannot be planned
/// every untracked or modified path counts (packaging reports the real problem later),
/// ignored ones do not (they never counted before this filter existed).
fn archive_changes(dir: &Path, sub: Option<&Path>, changed: Vec<String>) -> Vec<String> {
    let prefix = sub
        .map(|s| {
            let parts: Vec<String> = s
                .components()
                .filter_map(|c| match c {
                    std::path::Component::Normal(p) => Some(p.to_string_lossy().into_owned()),
                    _ => None,
                })
                .collect();
            format!("{}/", parts.join("/"))
        })
        .unwrap_or_default();
    let Ok(plan) = pkg::plan_dir(dir, &pkg::ModulePackageOptions::default()) else {
        return changed.into_iter().filter(|p| !p.ends_with('/')).collect();
    };
    let packed: BTreeSet<&str> = plan.files.iter().map(String::as_str).collect();
    changed
        .into_iter()
        .filter(|p| {
            let Some(rel) = p.strip_prefix(prefix.as_str()) else {
                return true;
            };
            if packed.contains(rel) {
                return true;
            }
            if let Some(folder) = rel.strip_suffix('/') {
                let inside = format!("{folder}/");
                return packed.iter().any(|f| f.starts_with(&inside));
            }
            // A tracked file gone from disk is missing from the archive.
            dir.join(rel).symlink_metadata().is_err()
        })
        .collect()
}
