//! The VCS branch of `module publish`, taken after the preflight and before anything is
//! packaged, when the registry module is linked to a repository (modules.md "Create a
//! Module Version": the endpoint "only applies to private modules without a VCS
//! repository and VCS-linked branch based modules"):
//!
//! - tag-based: nothing can be uploaded; refused with the tag to push, or with
//!   `--wait-for-tag`, wait until the registry has ingested the tag's version (`ok`);
//! - branch-based: the version is created with its commit SHA and the registry ingests
//!   it from the branch; no archive is uploaded; then wait for `ok` as usual.

use std::time::{Duration, Instant};

use super::resolve::ResolvedModule;
use super::{wait, ModulePublishRequest};
use crate::api::VcsRepo;
use crate::commands::link::LinkError;
use crate::publish::Context;
use crate::report::{Action, Item, ItemKind, Outcome, OutcomeKind};

/// Publishes through the module's VCS link if it has one; `false` when it has none (the
/// upload pipeline runs).
pub(super) async fn publish_linked(
    ctx: &Context,
    m: &ResolvedModule,
    req: &ModulePublishRequest,
    outcome: &mut Outcome,
) -> anyhow::Result<bool> {
    let Some(vcs) = ctx
        .client
        .module_settings(&m.address)
        .await?
        .and_then(|s| s.vcs)
    else {
        return Ok(false);
    };
    let version = m.version.to_string();
    let id = m.address.to_string();
    let url = ctx.module_url(&m.address, Some(&version));
    if let Some(v) = ctx.client.get_module_version(&m.address, &version).await? {
        if v.status.is_ok() {
            outcome.outcome = OutcomeKind::AlreadyPublished;
            outcome.push(
                item(&id, &version, Action::Exists, &url)
                    .detail(format!("ingested from {}", vcs.identifier)),
            );
            return Ok(true);
        }
    }
    if vcs.tags {
        tag_based(ctx, m, req, &vcs).await?;
    } else {
        branch_based(ctx, m, req, &vcs).await?;
    }
    if req.dry_run {
        outcome.outcome = OutcomeKind::Planned;
        outcome.push(item(&id, &version, Action::Planned, &url).detail(format!(
            "create from branch {} of {}",
            vcs.branch, vcs.identifier
        )));
        return Ok(true);
    }
    wait::until_ok(ctx, &m.address, &version, req.timeout).await?;
    outcome.outcome = OutcomeKind::Published;
    outcome.published = true;
    outcome.push(
        item(&id, &version, Action::Created, &url)
            .detail(format!("ingested from {}", vcs.identifier)),
    );
    Ok(true)
}

fn item(id: &str, version: &str, a: Action, url: &str) -> Item {
    Item::new(ItemKind::ModuleVersion, id, a)
        .version(version)
        .url(url)
}

/// Tag-based: refuse, or wait for the version the pushed tag creates.
async fn tag_based(
    ctx: &Context,
    m: &ResolvedModule,
    req: &ModulePublishRequest,
    vcs: &VcsRepo,
) -> anyhow::Result<()> {
    let version = m.version.to_string();
    if !req.wait_for_tag || req.dry_run {
        return Err(LinkError::TagBased {
            module: m.address.cli_ref(),
            identifier: vcs.identifier.clone(),
            version,
        }
        .into());
    }
    let tag = format!("{}{version}", req.tag_prefix);
    ctx.progress.stage(&format!(
        "waiting for tag {tag} of {} to appear as version {version}",
        vcs.identifier
    ));
    let start = Instant::now();
    let mut delay = Duration::from_millis(200);
    loop {
        if ctx
            .client
            .get_module_version(&m.address, &version)
            .await?
            .is_some()
        {
            return Ok(());
        }
        let module = ctx.client.get_module(&m.address).await?;
        if module.is_some_and(|x| x.status == "setup_failed") {
            return Err(LinkError::SetupFailed {
                module: m.address.cli_ref(),
                identifier: vcs.identifier.clone(),
            }
            .into());
        }
        if start.elapsed() + delay > req.timeout {
            return Err(LinkError::TagNotSeen {
                module: m.address.cli_ref(),
                version,
                tag,
                identifier: vcs.identifier.clone(),
                secs: req.timeout.as_secs(),
            }
            .into());
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(5));
    }
}

/// Branch-based: create the version with its commit; the registry ingests the branch.
async fn branch_based(
    ctx: &Context,
    m: &ResolvedModule,
    req: &ModulePublishRequest,
    vcs: &VcsRepo,
) -> anyhow::Result<()> {
    let version = m.version.to_string();
    if req.dry_run
        || ctx
            .client
            .get_module_version(&m.address, &version)
            .await?
            .is_some()
    {
        return Ok(());
    }
    ctx.progress.stage(&format!(
        "creating version {version} from branch {} of {}",
        vcs.branch, vcs.identifier
    ));
    ctx.client
        .create_module_version(&m.address, &version, m.commit_sha.as_deref())
        .await?;
    Ok(())
}

/// For `module sync`: why a VCS-linked module's tags are not uploaded, or `None` when it
/// has no link (or does not exist yet).
pub(crate) async fn sync_skip_reason(
    ctx: &Context,
    addr: &crate::vocab::ModuleAddress,
) -> anyhow::Result<Option<String>> {
    let Some(vcs) = ctx.client.module_settings(addr).await?.and_then(|s| s.vcs) else {
        return Ok(None);
    };
    Ok(Some(if vcs.tags {
        format!(
            "linked to {} and tag-based: the registry ingests pushed tags itself; nothing uploaded",
            vcs.identifier
        )
    } else {
        format!(
            "linked to {} (branch {}): versions are created with `tfpub module publish --version V`, not uploaded",
            vcs.identifier, vcs.branch
        )
    }))
}
