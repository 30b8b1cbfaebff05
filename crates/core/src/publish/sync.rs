//! `tfpub module sync`: make the registry hold every semver tag of a repository.
//!
//! One read per module (the module document lists every version with its status), then
//! only the missing versions are packaged — straight from the git tree of each tag, with
//! no checkout — and published, oldest first. A tag that fails is reported and the others
//! go on; the outcome says whether anything failed.
//!
//! Concurrency: up to `concurrency` versions of a module are in flight at once (packaged,
//! converged, waited on, verified), started oldest first and reported in tag order. Every
//! request still passes the client's one rate limiter, and the waiting versions share one
//! module read ([`Watch`]). No ordering between versions matters: the registry computes
//! "latest" by semver, not by upload order, and each version converges on its own, so an
//! interrupted sync leaves at most `concurrency` half-published versions that the next
//! run finishes.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use futures_util::StreamExt as _;

use super::module::converge::Target;
use super::module::watch::Watch;
use super::module::{ensure_module, publish_version_watched, resolve, CoreOptions};
use super::Context;
use crate::git::{plan_sync, Repo, SyncPlan, TagVersion};
use crate::package::module::ModulePackageOptions;
use crate::report::{Action, Item, ItemKind, Outcome, OutcomeKind};
use crate::vocab::ModuleAddress;

/// One module of a repository to sync.
#[derive(Debug, Clone)]
pub struct SyncModule {
    /// Path of the module inside the repository ("" for the root).
    pub path: PathBuf,
    pub name: String,
    pub provider: String,
    pub tag_prefix: String,
    /// `require_tests` of its tfpub.toml entry.
    pub require_tests: bool,
}

#[derive(Debug, Clone)]
pub struct SyncRequest {
    pub repo: PathBuf,
    pub modules: Vec<SyncModule>,
    pub since: Option<semver::Version>,
    pub max: Option<usize>,
    pub dry_run: bool,
    pub core: CoreOptions,
    /// Versions of a module in flight at once (`--concurrency`, at least 1).
    pub concurrency: usize,
}

/// Work out which modules a sync acts on: `tfpub.toml`, else the flags, else the
/// repository root as one module named after its folder (both through the resolve stage).
pub fn modules_for(
    repo: &Repo,
    only: Option<&str>,
    path: Option<&Path>,
    name: Option<&str>,
    provider: Option<&str>,
    tag_prefix: Option<&str>,
) -> anyhow::Result<Vec<SyncModule>> {
    if path.is_none() && name.is_none() {
        if let Some(mods) = resolve::configured(repo.root(), only)? {
            return Ok(mods
                .into_iter()
                .map(|m| SyncModule {
                    path: m.path,
                    name: m.name,
                    provider: m.provider,
                    tag_prefix: m.tag_prefix,
                    require_tests: m.require_tests,
                })
                .collect());
        }
    }
    let rel = path.map(PathBuf::from).unwrap_or_default();
    let (name, provider) = resolve::identity(&repo.root().join(&rel), name, provider)?;
    Ok(vec![SyncModule {
        path: rel,
        name,
        provider,
        tag_prefix: tag_prefix.unwrap_or("").to_string(),
        require_tests: false,
    }])
}

/// What a sync has done so far, across modules.
#[derive(Default)]
struct Tally {
    any_failed: bool,
    any_published: bool,
}

/// Run a sync. Failed tags do not stop the others; `outcome.ok` is false if any failed.
pub async fn sync(ctx: &Context, req: &SyncRequest) -> anyhow::Result<Outcome> {
    let mut outcome = Outcome::new("module sync");
    outcome.target = Some(ctx.target_info());
    let repo = Repo::discover(&req.repo)
        .with_context(|| format!("opening the git repository at {}", req.repo.display()))?;
    let warnings = ctx.preflight(crate::api::Need::Modules).await?;
    outcome.warnings.extend(warnings);
    let tmp = super::workdir::create()?;
    let mut tally = Tally::default();
    for m in &req.modules {
        sync_module(ctx, req, &repo, m, tmp.path(), &mut outcome, &mut tally).await?;
    }
    outcome.settle(
        req.dry_run,
        tally.any_failed,
        tally.any_published,
        OutcomeKind::NothingToDo,
    );
    Ok(outcome)
}

/// One module: one read of what the registry holds, then every missing tag.
async fn sync_module(
    ctx: &Context,
    req: &SyncRequest,
    repo: &Repo,
    m: &SyncModule,
    tmp: &Path,
    outcome: &mut Outcome,
    tally: &mut Tally,
) -> anyhow::Result<()> {
    let addr = ctx.module(&m.name, &m.provider);
    let id = addr.to_string();
    let scan = repo
        .semver_tags(&m.tag_prefix)
        .with_context(|| format!("reading the tags of {}", repo.root().display()))?;
    let module = ctx.client.get_module(&addr).await?;
    let published: BTreeSet<semver::Version> = module
        .as_ref()
        .map(|md| {
            md.version_statuses
                .iter()
                .filter(|s| s.status.is_ok())
                .filter_map(|s| semver::Version::parse(&s.version).ok())
                .collect()
        })
        .unwrap_or_default();
    let plan = plan_sync(&scan, &published, req.since.as_ref(), req.max);
    report_plan(&plan, &id, req.dry_run, outcome);
    if req.dry_run || plan.publish.is_empty() {
        return Ok(());
    }
    if module.is_some() {
        if let Some(why) = super::module::vcs::sync_skip_reason(ctx, &addr).await? {
            outcome.push(Item::new(ItemKind::Module, &id, Action::Skipped).detail(why));
            return Ok(());
        }
    }
    if module.is_none() {
        match ensure_module(ctx, &addr, req.core.no_code).await {
            Ok(it) => outcome.push(it),
            Err(e) => {
                tally.any_failed = true;
                outcome.push(
                    Item::new(ItemKind::Module, &id, Action::Failed)
                        .detail(crate::error::chain_messages(&e).join(": ")),
                );
                return Ok(());
            }
        }
    }
    let watch = Watch::new(addr.clone());
    let mut done = futures_util::stream::iter(plan.publish.iter().map(|t| {
        let out = tmp.join(format!("{}-{}-{}.tar.gz", m.name, m.provider, t.version));
        let (addr, watch) = (&addr, &watch);
        async move {
            let res = publish_tag(ctx, req, repo, m, addr, t, &out, watch).await;
            let _ = std::fs::remove_file(&out);
            (t, res)
        }
    }))
    .buffered(req.concurrency.max(1));
    while let Some((t, res)) = done.next().await {
        outcome.push(tag_item(ctx, &addr, t, res, tally));
    }
    Ok(())
}

/// The report item of tag `t`'s publish, counted in `tally`.
fn tag_item(
    ctx: &Context,
    addr: &ModuleAddress,
    t: &TagVersion,
    res: anyhow::Result<bool>,
    tally: &mut Tally,
) -> Item {
    let v = t.version.to_string();
    match res {
        Ok(p) => {
            tally.any_published |= p;
            let action = if p { Action::Uploaded } else { Action::Exists };
            Item::new(ItemKind::Tag, &t.tag, action)
                .version(&v)
                .url(ctx.module_url(addr, Some(&v)))
                .detail(format!("commit {}", t.commit))
        }
        Err(e) => {
            tally.any_failed = true;
            Item::new(ItemKind::Tag, &t.tag, Action::Failed)
                .version(&v)
                .detail(crate::error::chain_messages(&e).join(": "))
        }
    }
}

/// The tags already in the registry, the ones skipped and (dry run) the ones planned.
pub(crate) fn report_plan(plan: &SyncPlan, id: &str, dry_run: bool, outcome: &mut Outcome) {
    for t in &plan.already {
        outcome.push(
            Item::new(ItemKind::Tag, &t.tag, Action::Exists)
                .version(t.version.to_string())
                .detail(format!("{id} already has it")),
        );
    }
    for s in &plan.skipped {
        outcome.push(Item::new(ItemKind::Tag, &s.tag, Action::Skipped).detail(s.reason.clone()));
    }
    if dry_run {
        for t in &plan.publish {
            outcome.push(
                Item::new(ItemKind::Tag, &t.tag, Action::Planned)
                    .version(t.version.to_string())
                    .detail(format!("publish to {id} from commit {}", t.commit)),
            );
        }
    }
}

/// Package tag `t` straight from its git tree and run stages 4–6 (waiting through the
/// module's shared `watch`); whether it published.
#[allow(clippy::too_many_arguments)]
async fn publish_tag(
    ctx: &Context,
    req: &SyncRequest,
    repo: &Repo,
    m: &SyncModule,
    addr: &ModuleAddress,
    t: &TagVersion,
    out: &Path,
    watch: &Watch,
) -> anyhow::Result<bool> {
    let v = t.version.to_string();
    ctx.progress
        .stage(&format!("{addr}: publishing {v} from tag {}", t.tag));
    let sub = (!m.path.as_os_str().is_empty()).then_some(m.path.as_path());
    let opts = ModulePackageOptions::default();
    let archive = super::pack_git_tree(repo.inner().path(), t.commit_oid, sub, out, opts)
        .await
        .with_context(|| format!("packaging tag {}", t.tag))?;
    let target = Target {
        address: addr,
        version: &v,
        commit_sha: Some(&t.commit),
        archive: &archive,
    };
    // The module was read (or created) by the caller, once for every version.
    let core = CoreOptions {
        module_known: true,
        require_tests: req.core.require_tests || m.require_tests,
        ..req.core
    };
    Ok(publish_version_watched(ctx, target, core, Some(watch))
        .await?
        .published)
}
