//! Module commands around the pipeline: choosing between a tfpub.toml and a single module
//! folder for `publish`, turning `sync`'s options into a [`SyncRequest`] (repository,
//! modules, lower bound), the version lifecycle verbs and `delete` behind a confirmation.

use std::path::PathBuf;

use anyhow::Context as _;

use super::Confirm;
use crate::api::VersionChange;
use crate::publish::component::{self, sync::ComponentSyncRequest};
use crate::publish::error::PublishError;
use crate::publish::module::{self, CoreOptions, ModulePublishRequest};
use crate::publish::sync::{self, SyncRequest};
use crate::publish::{parse_version, Context};
use crate::report::{Outcome, OutcomeKind};

/// `module publish`: with a tfpub.toml in the folder (and no --name/--provider), every
/// configured module or just `only`; otherwise the one module in `req.dir`.
pub async fn publish(
    ctx: &Context,
    req: &ModulePublishRequest,
    only: Option<&str>,
) -> anyhow::Result<Outcome> {
    if req.name.is_none() && req.provider.is_none() {
        if let Some(mods) = module::resolve::configured(&req.dir, only)? {
            let mut out = module::publish_configured(ctx, req, mods).await?;
            // tfpub.toml's [[component]] entries too, unless --module picked one module.
            let comps = match only {
                None => component::configured::listed(&req.dir)?,
                Some(_) => Vec::new(),
            };
            if !comps.is_empty() {
                let part = component::configured::publish_listed(ctx, req, comps).await;
                component::configured::merge(
                    &mut out,
                    part,
                    req.dry_run,
                    OutcomeKind::AlreadyPublished,
                );
            }
            return Ok(out);
        }
    }
    if let Some(m) = only {
        return Err(PublishError::ModuleNeedsProjectFile {
            module: m.to_string(),
            dir: req.dir.clone(),
        }
        .into());
    }
    module::publish(ctx, req).await
}

/// What `module sync` was asked, before the repository is opened.
#[derive(Debug, Clone)]
pub struct ModuleSyncOptions {
    pub repo: PathBuf,
    /// Only this module of tfpub.toml (NAME or NAME/PROVIDER).
    pub module: Option<String>,
    pub path: Option<PathBuf>,
    pub name: Option<String>,
    pub provider: Option<String>,
    pub tag_prefix: Option<String>,
    /// Versions lower than this are ignored (as typed; `v` prefix allowed).
    pub since: Option<String>,
    pub max: Option<usize>,
    pub dry_run: bool,
    pub core: CoreOptions,
    /// Versions of a module published at once (`--concurrency`).
    pub concurrency: usize,
}

/// `module sync`: opens the repository, finds its modules, then publishes every semver
/// tag the registry lacks.
pub async fn sync(ctx: &Context, opts: &ModuleSyncOptions) -> anyhow::Result<Outcome> {
    let repo = crate::git::Repo::discover(&opts.repo)
        .with_context(|| format!("opening the git repository at {}", opts.repo.display()))?;
    let modules = sync::modules_for(
        &repo,
        opts.module.as_deref(),
        opts.path.as_deref(),
        opts.name.as_deref(),
        opts.provider.as_deref(),
        opts.tag_prefix.as_deref(),
    )?;
    let since = opts.since.as_deref().map(parse_version).transpose()?;
    let whole_project = opts.module.is_none() && opts.path.is_none() && opts.name.is_none();
    let comps = match whole_project {
        true => component::configured::listed(repo.root())?,
        false => Vec::new(),
    };
    let req = SyncRequest {
        repo: repo.root().to_path_buf(),
        modules,
        since,
        max: opts.max,
        dry_run: opts.dry_run,
        core: opts.core,
        concurrency: opts.concurrency,
    };
    let mut out = sync::sync(ctx, &req).await?;
    if !comps.is_empty() {
        // tfpub.toml's [[component]] entries: each tag to its own kind.
        let base = ComponentSyncRequest {
            repo: req.repo.clone(),
            components: Vec::new(),
            since: req.since.clone(),
            max: req.max,
            dry_run: req.dry_run,
            timeout: req.core.timeout,
            replace_failed: req.core.replace_failed,
        };
        let part = component::configured::sync_listed(ctx, &base, comps).await?;
        component::configured::merge(&mut out, part, req.dry_run, OutcomeKind::NothingToDo);
    }
    Ok(out)
}

/// The command verb of a lifecycle change, as it appears in the result document.
pub fn change_verb(change: &VersionChange) -> &'static str {
    match change {
        VersionChange::Deprecate { .. } => "deprecate",
        VersionChange::Undeprecate => "undeprecate",
        VersionChange::Revoke { .. } => "revoke",
        VersionChange::Unrevoke => "unrevoke",
    }
}

/// `module deprecate|undeprecate|revoke|unrevoke MODULE VERSION`.
pub async fn change(
    ctx: &Context,
    module_ref: &str,
    version: &str,
    change: VersionChange,
) -> anyhow::Result<Outcome> {
    let verb = change_verb(&change);
    module::change(ctx, module_ref, version, change, verb).await
}

/// `module delete MODULE [VERSION]`, once the user confirmed.
pub async fn delete(
    ctx: &Context,
    module_ref: &str,
    version: Option<&str>,
    confirm: &dyn Confirm,
) -> anyhow::Result<Outcome> {
    let what = match version {
        Some(v) => format!("delete version {v} of module {module_ref}"),
        None => format!("delete module {module_ref} and all its versions"),
    };
    confirm.confirm(&what)?;
    module::delete(ctx, module_ref, version).await
}
