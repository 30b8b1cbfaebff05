//! Version management outside publishing: list a module's versions with their status,
//! deprecate/undeprecate/revoke/unrevoke one version, delete a version or the module.
//! Each command is one or two API calls reported as an [`Outcome`].
//!
//! Where `versions` reads each state is where the documentation puts it: deprecation from
//! the module registry protocol's versions listing (`deprecation`, `null` when not
//! deprecated), revocation from the api/v2 version's `revocation`
//! (manage-module-versions.md). A version whose revocation was reverted is deprecated
//! (same page), which counts when the listing does not show the version.

use anyhow::Context as _;

use crate::api::VersionChange;
use crate::publish::error::PublishError;
use crate::publish::{parse_version, Context};
use crate::report::{Action, Item, ItemKind, Outcome, OutcomeKind};
use crate::vocab::ModuleAddress;

/// `tfpub module versions NAME/PROVIDER`.
pub async fn versions(ctx: &Context, module: &str) -> anyhow::Result<Outcome> {
    let addr = ModuleAddress::parse_ref(ctx.org(), module)?;
    let mut outcome = Outcome::new("module versions");
    outcome.target = Some(ctx.target_info());
    let id = addr.to_string();
    let m = ctx
        .client
        .get_module(&addr)
        .await?
        .ok_or_else(|| PublishError::ModuleNotFound { id: id.clone() })?;
    let listing = ctx.client.module_versions_listing(&addr).await?;
    let mut statuses = m.version_statuses.clone();
    statuses.sort_by(|a, b| {
        let pa = semver::Version::parse(&a.version).ok();
        let pb = semver::Version::parse(&b.version).ok();
        pa.cmp(&pb)
    });
    for s in statuses {
        let mut detail = format!("status {}", s.status);
        let listed = listing.versions().find(|l| l.version == s.version);
        let read = ctx.client.get_module_version(&addr, &s.version).await;
        let version = read.ok().flatten();
        let revoked = version.as_ref().is_some_and(|v| v.revoked());
        let deprecated = match listed {
            Some(l) => l.deprecation.is_some(),
            None => version.as_ref().is_some_and(|v| v.unrevoked()),
        };
        if revoked {
            detail.push_str(", revoked");
        } else if deprecated {
            detail.push_str(", deprecated");
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
