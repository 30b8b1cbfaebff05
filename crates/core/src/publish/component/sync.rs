//! `tfpub component sync`: publish every semver tag of a repository that the registry
//! lacks for a component configuration, oldest first, each packaged straight from the
//! tag's git tree (no checkout). The tag scan, the plan (`--since`, `--max`) and the
//! packager are the module sync's; only the registry side differs.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;

use super::converge::{component_url, ensure_component};
use super::{package_options, publish_version, Target};
use crate::git::{plan_sync, Repo, TagVersion};
use crate::publish::module::decide::Policy;
use crate::publish::Context;
use crate::report::{Action, Item, ItemKind, Outcome, OutcomeKind};

/// One component configuration of a repository to sync.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncComponent {
    /// Path inside the repository ("" for the root).
    pub path: PathBuf,
    pub name: String,
    pub tag_prefix: String,
}

#[derive(Debug, Clone)]
pub struct ComponentSyncRequest {
    pub repo: PathBuf,
    pub components: Vec<SyncComponent>,
    pub since: Option<semver::Version>,
    pub max: Option<usize>,
    pub dry_run: bool,
    pub timeout: Duration,
    pub replace_failed: bool,
}

/// Run a component sync. Failed tags do not stop the others.
pub async fn sync(ctx: &Context, req: &ComponentSyncRequest) -> anyhow::Result<Outcome> {
    let mut outcome = Outcome::new("component sync");
    outcome.target = Some(ctx.target_info());
    let repo = Repo::discover(&req.repo)
        .with_context(|| format!("opening the git repository at {}", req.repo.display()))?;
    let warnings = ctx.preflight(crate::api::Need::Modules).await?;
    outcome.warnings.extend(warnings);
    let tmp = crate::publish::workdir::create()?;
    let (mut failed, mut published) = (false, false);
    for c in &req.components {
        let (f, p) = sync_one(ctx, req, &repo, c, tmp.path(), &mut outcome).await?;
        failed |= f;
        published |= p;
    }
    outcome.settle(req.dry_run, failed, published, OutcomeKind::NothingToDo);
    Ok(outcome)
}

/// One component: one read of the versions the registry has completed, then every
/// missing tag; (any failed, any published).
async fn sync_one(
    ctx: &Context,
    req: &ComponentSyncRequest,
    repo: &Repo,
    c: &SyncComponent,
    tmp: &Path,
    outcome: &mut Outcome,
) -> anyhow::Result<(bool, bool)> {
    let scan = repo
        .semver_tags(&c.tag_prefix)
        .with_context(|| format!("reading the tags of {}", repo.root().display()))?;
    let found = ctx.client.find_component(&c.name).await?;
    let done: BTreeSet<semver::Version> = found
        .iter()
        .flat_map(|f| f.version_statuses.iter())
        .filter(|s| s.status == "completed")
        .filter_map(|s| semver::Version::parse(&s.version).ok())
        .collect();
    let plan = plan_sync(&scan, &done, req.since.as_ref(), req.max);
    crate::publish::sync::report_plan(&plan, &c.name, req.dry_run, outcome);
    if req.dry_run || plan.publish.is_empty() {
        return Ok((false, false));
    }
    let id = match found {
        Some(f) => f.id,
        None => match ensure_component(ctx, &c.name).await {
            Ok((id, it)) => {
                outcome.push(it);
                id
            }
            Err(e) => {
                outcome.push(
                    Item::new(ItemKind::Component, &c.name, Action::Failed)
                        .detail(crate::error::chain_messages(&e).join(": ")),
                );
                return Ok((true, false));
            }
        },
    };
    let (mut failed, mut published) = (false, false);
    for t in &plan.publish {
        let out = tmp.join(format!("{}-{}.tar.gz", c.name, t.version));
        let res = publish_tag(ctx, req, repo, c, &id, t, &out).await;
        let v = t.version.to_string();
        let item = match res {
            Ok(p) => {
                published |= p;
                let action = if p { Action::Uploaded } else { Action::Exists };
                Item::new(ItemKind::Tag, &t.tag, action)
                    .version(&v)
                    .url(format!("{}/versions/{v}", component_url(ctx, &id)))
                    .detail(format!("commit {}", t.commit))
            }
            Err(e) => {
                failed = true;
                Item::new(ItemKind::Tag, &t.tag, Action::Failed)
                    .version(&v)
                    .detail(crate::error::chain_messages(&e).join(": "))
            }
        };
        outcome.push(item);
        let _ = std::fs::remove_file(&out);
    }
    Ok((failed, published))
}

/// Package tag `t` from its git tree and publish it; whether it published.
async fn publish_tag(
    ctx: &Context,
    req: &ComponentSyncRequest,
    repo: &Repo,
    c: &SyncComponent,
    id: &str,
    t: &TagVersion,
    out: &Path,
) -> anyhow::Result<bool> {
    let v = t.version.to_string();
    ctx.progress
        .stage(&format!("{}: publishing {v} from tag {}", c.name, t.tag));
    let sub = (!c.path.as_os_str().is_empty()).then_some(c.path.as_path());
    let git_dir = repo.inner().path();
    let archive =
        crate::publish::pack_git_tree(git_dir, t.commit_oid, sub, out, package_options(None))
            .await
            .with_context(|| format!("packaging tag {}", t.tag))?;
    let target = Target {
        name: &c.name,
        version: &v,
        archive: &archive,
    };
    let policy = Policy {
        replace_failed: req.replace_failed,
    };
    let done = publish_version(ctx, target, Some(id.to_string()), policy, req.timeout).await?;
    Ok(done.published)
}
