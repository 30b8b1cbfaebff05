//! `module publish` in a repository whose `tfpub.toml` lists modules: each module is
//! published through the same stages as a single one, with its own tag prefix for the
//! version at HEAD. One module's failure is reported and the others go on; the outcome
//! says whether any failed.
//!
//! Up to `--concurrency` modules are published at once (each a different module, so no
//! order between them matters; the registry computes each module's "latest" by semver),
//! and their results are reported in tfpub.toml order.

use futures_util::StreamExt as _;

use super::{publish, ModulePublishRequest};
use crate::project::ModuleConfig;
use crate::publish::error::PublishError;
use crate::publish::Context;
use crate::report::{Action, Item, ItemKind, Outcome, OutcomeKind};

/// Publish every module of `mods` (already narrowed to `--module` by the resolve stage).
pub async fn publish_configured(
    ctx: &Context,
    base: &ModulePublishRequest,
    mods: Vec<ModuleConfig>,
) -> anyhow::Result<Outcome> {
    if base.version.is_some() && mods.len() > 1 {
        return Err(PublishError::VersionNeedsOneModule { count: mods.len() }.into());
    }
    let mut all = Outcome::new("module publish");
    all.target = Some(ctx.target_info());
    let (mut any_failed, mut any_published) = (false, false);
    let mut done = futures_util::stream::iter(mods.into_iter().map(|m| async move {
        let req = ModulePublishRequest {
            dir: base.dir.join(&m.path),
            name: Some(m.name.clone()),
            provider: Some(m.provider.clone()),
            tag_prefix: m.tag_prefix.clone(),
            require_tests: base.require_tests || m.require_tests,
            ..base.clone()
        };
        let res = publish(ctx, &req).await;
        (m, res)
    }))
    .buffered(base.concurrency.max(1));
    while let Some((m, res)) = done.next().await {
        match res {
            Ok(o) => {
                any_published |= o.published;
                any_failed |= !o.ok;
                all.items.extend(o.items);
            }
            Err(e) => {
                any_failed = true;
                let id = ctx.module(&m.name, &m.provider).to_string();
                all.push(
                    Item::new(ItemKind::Module, id, Action::Failed)
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
