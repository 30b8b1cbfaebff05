//! Component configuration management outside publishing: list the organization's
//! component configurations (`q`), list one's versions with their status and error, delete
//! a version or the whole component configuration. Each is one or two API calls reported
//! as an [`Outcome`].

use super::converge::component_url;
use super::error::ComponentError;
use crate::api::RegistryComponent;
use crate::publish::{parse_version, Context};
use crate::report::{Action, Item, ItemKind, Outcome, OutcomeKind};

/// The component configuration named `name`, or the not-found refusal.
async fn named(ctx: &Context, name: &str) -> anyhow::Result<RegistryComponent> {
    ctx.client.find_component(name).await?.ok_or_else(|| {
        ComponentError::NotFound {
            name: name.to_string(),
        }
        .into()
    })
}

/// `tfpub component list [-q TEXT]`.
pub async fn list(ctx: &Context, q: Option<&str>) -> anyhow::Result<Outcome> {
    let mut outcome = Outcome::new("component list");
    outcome.target = Some(ctx.target_info());
    for c in ctx.client.list_components(q).await? {
        let providers: Vec<&str> = c.providers.iter().map(|p| p.source.as_str()).collect();
        let mut detail = format!("status {}", c.status);
        if !providers.is_empty() {
            detail.push_str(&format!(", providers {}", providers.join(", ")));
        }
        let mut it = Item::new(ItemKind::Component, &c.name, Action::Exists)
            .url(component_url(ctx, &c.id))
            .detail(detail);
        if let Some(v) = &c.latest_version {
            it = it.version(v);
        }
        outcome.push(it);
    }
    outcome.outcome = OutcomeKind::NothingToDo;
    Ok(outcome)
}

/// `tfpub component versions NAME`.
pub async fn versions(ctx: &Context, name: &str) -> anyhow::Result<Outcome> {
    let mut outcome = Outcome::new("component versions");
    outcome.target = Some(ctx.target_info());
    let c = named(ctx, name).await?;
    let mut vs = ctx.client.component_versions(&c.id).await?;
    vs.sort_by_key(|v| semver::Version::parse(&v.version).ok());
    for v in vs {
        let mut detail = format!("status {}", v.status);
        if let Some(e) = v.error_message.as_deref().filter(|e| !e.is_empty()) {
            detail.push_str(&format!(": {e}"));
        }
        outcome.push(
            Item::new(ItemKind::ComponentVersion, &c.name, Action::Exists)
                .version(&v.version)
                .url(format!(
                    "{}/versions/{}",
                    component_url(ctx, &c.id),
                    v.version
                ))
                .detail(detail),
        );
    }
    outcome.outcome = OutcomeKind::NothingToDo;
    Ok(outcome)
}

/// `tfpub component delete NAME [VERSION]` (the caller has confirmed).
pub async fn delete(ctx: &Context, name: &str, version: Option<&str>) -> anyhow::Result<Outcome> {
    let mut outcome = Outcome::new("component delete");
    outcome.target = Some(ctx.target_info());
    let c = named(ctx, name).await?;
    match version {
        Some(v) => {
            let v = parse_version(v)?.to_string();
            if ctx.client.get_component_version(&c.id, &v).await?.is_none() {
                return Err(ComponentError::VersionNotFound {
                    name: name.to_string(),
                    version: v,
                }
                .into());
            }
            ctx.client.delete_component_version(&c.id, &v).await?;
            outcome.push(Item::new(ItemKind::ComponentVersion, name, Action::Deleted).version(v));
        }
        None => {
            ctx.client.delete_component(&c.id).await?;
            outcome.push(Item::new(ItemKind::Component, name, Action::Deleted));
        }
    }
    outcome.outcome = OutcomeKind::Deleted;
    Ok(outcome)
}
