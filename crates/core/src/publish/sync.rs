//! `tfpub module sync`: make the registry hold every semver tag of a repository.
//!
//! One read per module (the module document lists every version with its status), then
//! only the missing versions are packaged — straight from the git tree of each tag, with
//! no checkout — and published, oldest first. A tag that fails is reported and the others
//! go on; the outcome says whether anything failed.

use std::collections::BTreeSet;
use std::path::PathBuf;

use anyhow::Context as _;

use super::module::{ensure_module, publish_archive, CoreOptions};
use super::Context;
use crate::git::{plan_sync, Repo};
use crate::package::module::{package_git_tree, ModulePackageOptions};
use crate::report::{Action, Item, ItemKind, Outcome, OutcomeKind};

/// One module of a repository to sync.
#[derive(Debug, Clone)]
pub struct SyncModule {
    /// Path of the module inside the repository ("" for the root).
    pub path: PathBuf,
    pub name: String,
    pub provider: String,
    pub tag_prefix: String,
}

#[derive(Debug, Clone)]
pub struct SyncRequest {
    pub repo: PathBuf,
    pub modules: Vec<SyncModule>,
    pub since: Option<semver::Version>,
    pub max: Option<usize>,
    pub dry_run: bool,
    pub core: CoreOptions,
}

/// Work out which modules a sync (or a publish from a repository) acts on: `tfpub.toml`,
/// else the flags, else the repository root as one module named after its folder.
pub fn modules_for(
    repo: &Repo,
    only: Option<&str>,
    path: Option<&std::path::Path>,
    name: Option<&str>,
    provider: Option<&str>,
    tag_prefix: Option<&str>,
) -> anyhow::Result<Vec<SyncModule>> {
    if path.is_none() && name.is_none() {
        if let Some(cfg) = crate::project::ProjectConfig::load(repo.root())? {
            let mut mods: Vec<SyncModule> = cfg
                .modules
                .into_iter()
                .map(|m| SyncModule {
                    path: m.path,
                    name: m.name,
                    provider: m.provider,
                    tag_prefix: m.tag_prefix,
                })
                .collect();
            if let Some(o) = only {
                mods.retain(|m| m.name == o || format!("{}/{}", m.name, m.provider) == o);
                if mods.is_empty() {
                    return Err(crate::error::hinted(
                        format!("no module {o:?} in tfpub.toml"),
                        "name one of the [[module]] entries as NAME or NAME/PROVIDER",
                    ));
                }
            }
            return Ok(mods);
        }
    }
    let rel = path.map(PathBuf::from).unwrap_or_default();
    let dir = repo.root().join(&rel);
    let dir_name = dir
        .canonicalize()
        .ok()
        .and_then(|d| d.file_name().map(|s| s.to_string_lossy().into_owned()))
        .unwrap_or_default();
    let parsed = crate::project::parse_module_dir_name(&dir_name);
    let (n, p) = match (name, provider, parsed) {
        (Some(n), Some(p), _) => (n.to_string(), p.to_string()),
        (n, p, Some((pp, pn))) => (
            n.map(str::to_string).unwrap_or(pn),
            p.map(str::to_string).unwrap_or(pp),
        ),
        _ => {
            return Err(crate::error::hinted(
                format!("cannot tell the module's name and provider from {dir_name:?}"),
                "pass --name and --provider, or add a tfpub.toml listing the modules",
            ))
        }
    };
    crate::project::validate_module_name(&n)?;
    crate::project::validate_provider_name(&p)?;
    Ok(vec![SyncModule {
        path: rel,
        name: n,
        provider: p,
        tag_prefix: tag_prefix.unwrap_or("").to_string(),
    }])
}

/// Run a sync. Failed tags do not stop the others; `outcome.ok` is false if any failed.
pub async fn sync(ctx: &Context, req: &SyncRequest) -> anyhow::Result<Outcome> {
    let mut outcome = Outcome::new("module sync");
    outcome.target = Some(ctx.target_info());
    let repo = Repo::discover(&req.repo)
        .with_context(|| format!("opening the git repository at {}", req.repo.display()))?;
    ctx.preflight().await?;
    let tmp = tempfile::tempdir().context("creating a temporary folder")?;
    let mut any_failed = false;
    let mut any_published = false;

    for m in &req.modules {
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
        for t in &plan.already {
            outcome.push(
                Item::new(ItemKind::Tag, &t.tag, Action::Exists)
                    .version(t.version.to_string())
                    .detail(format!("{id} already has it")),
            );
        }
        for s in &plan.skipped {
            outcome
                .push(Item::new(ItemKind::Tag, &s.tag, Action::Skipped).detail(s.reason.clone()));
        }
        if req.dry_run {
            for t in &plan.publish {
                outcome.push(
                    Item::new(ItemKind::Tag, &t.tag, Action::Planned)
                        .version(t.version.to_string())
                        .detail(format!("publish to {id} from commit {}", t.commit)),
                );
            }
            continue;
        }
        if plan.publish.is_empty() {
            continue;
        }
        if module.is_none() {
            match ensure_module(ctx, &addr, req.core.no_code).await {
                Ok(it) => outcome.push(it),
                Err(e) => {
                    any_failed = true;
                    outcome.push(
                        Item::new(ItemKind::Module, &id, Action::Failed)
                            .detail(crate::error::chain_messages(&e).join(": ")),
                    );
                    continue;
                }
            }
        }
        for t in &plan.publish {
            let v = t.version.to_string();
            ctx.progress
                .stage(&format!("{id}: publishing {v} from tag {}", t.tag));
            let out = tmp
                .path()
                .join(format!("{}-{}-{v}.tar.gz", m.name, m.provider));
            let sub = (!m.path.as_os_str().is_empty()).then_some(m.path.as_path());
            let res = async {
                let archive = package_git_tree(
                    repo.inner(),
                    t.commit_oid,
                    sub,
                    &out,
                    &ModulePackageOptions::default(),
                )
                .with_context(|| format!("packaging tag {}", t.tag))?;
                let mut items = Vec::new();
                publish_archive(
                    ctx,
                    &addr,
                    &t.version,
                    Some(&t.commit),
                    &archive,
                    // The module was read (or created) above, once for every version.
                    CoreOptions {
                        module_known: true,
                        ..req.core
                    },
                    &mut items,
                )
                .await
                .map(|p| (p, items))
            }
            .await;
            match res {
                Ok((p, items)) => {
                    any_published |= p;
                    outcome.push(
                        Item::new(
                            ItemKind::Tag,
                            &t.tag,
                            if p { Action::Uploaded } else { Action::Exists },
                        )
                        .version(&v)
                        .url(ctx.module_url(&addr, Some(&v)))
                        .detail(format!("commit {}", t.commit)),
                    );
                    let _ = items;
                }
                Err(e) => {
                    any_failed = true;
                    outcome.push(
                        Item::new(ItemKind::Tag, &t.tag, Action::Failed)
                            .version(&v)
                            .detail(crate::error::chain_messages(&e).join(": ")),
                    );
                }
            }
            let _ = std::fs::remove_file(&out);
        }
    }
    outcome.settle(
        req.dry_run,
        any_failed,
        any_published,
        OutcomeKind::NothingToDo,
    );
    Ok(outcome)
}
