//! The component configurations a repository's `tfpub.toml` lists (`[[component]]`), for
//! `module publish` and `module sync` run at the root: after the modules, each listed
//! component configuration is published (version from its prefixed tag at HEAD) or synced,
//! and its items join the module command's result. One failure does not stop the others.

use std::path::Path;

use super::sync::{self, ComponentSyncRequest, SyncComponent};
use super::{publish, ComponentPublishRequest};
use crate::project::{ComponentConfig, ProjectConfig};
use crate::publish::module::ModulePublishRequest;
use crate::publish::Context;
use crate::report::{Action, Item, ItemKind, Outcome, OutcomeKind};

/// The `[[component]]` entries of `root/tfpub.toml` (none without the file).
pub fn listed(root: &Path) -> anyhow::Result<Vec<ComponentConfig>> {
    Ok(ProjectConfig::load(root)?
        .map(|c| c.components)
        .unwrap_or_default())
}

/// Adds `part`'s items to `into` and settles `into` again over both.
pub fn merge(into: &mut Outcome, part: Outcome, dry_run: bool, idle: OutcomeKind) {
    let failed = !into.ok || !part.ok;
    let published = into.published || part.published;
    into.items.extend(part.items);
    into.warnings.extend(part.warnings);
    into.settle(dry_run, failed, published, idle);
}

/// `module publish` at a root listing components: publish each of `comps`.
pub async fn publish_listed(
    ctx: &Context,
    base: &ModulePublishRequest,
    comps: Vec<ComponentConfig>,
) -> Outcome {
    let mut out = Outcome::new("module publish");
    let (mut failed, mut published) = (false, false);
    for c in comps {
        let req = ComponentPublishRequest {
            dir: base.dir.join(&c.path),
            name: Some(c.name.clone()),
            version: None,
            dry_run: base.dry_run,
            timeout: base.timeout,
            allow_dirty: base.allow_dirty,
            replace_failed: base.replace_failed,
            tag_prefix: c.tag_prefix.clone(),
            max_size: base.max_size,
        };
        match publish(ctx, &req).await {
            Ok(o) => {
                published |= o.published;
                out.items.extend(o.items);
                out.warnings.extend(o.warnings);
            }
            Err(e) => {
                failed = true;
                out.push(
                    Item::new(ItemKind::Component, &c.name, Action::Failed)
                        .detail(crate::error::chain_messages(&e).join(": ")),
                );
            }
        }
    }
    out.settle(
        base.dry_run,
        failed,
        published,
        OutcomeKind::AlreadyPublished,
    );
    out
}

/// `module sync` at a root listing components: sync each of `comps` like `component sync`.
pub async fn sync_listed(
    ctx: &Context,
    base: &ComponentSyncRequest,
    comps: Vec<ComponentConfig>,
) -> anyhow::Result<Outcome> {
    let req = ComponentSyncRequest {
        components: comps
            .into_iter()
            .map(|c| SyncComponent {
                path: c.path,
                name: c.name,
                tag_prefix: c.tag_prefix,
            })
            .collect(),
        ..base.clone()
    };
    sync::sync(ctx, &req).await
}
