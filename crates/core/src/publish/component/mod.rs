//! Stack component configuration publishing (stack-component-configurations.md), as the
//! stages it runs in order, mirroring module publish:
//!
//! 1. [`resolve`](mod@resolve): folder (must hold `*.tfcomponent.hcl` at its root), name,
//!    version and commit;
//! 2. preflight ([`Context::preflight`]);
//! 3. package: the module packager with the same exclusions, `.terraformignore`, symlink,
//!    secret and state guards, requiring `*.tfcomponent.hcl` instead of `.tf` at the root;
//! 4. [`converge`]: find or create the component by name, then observe
//!    ([`observe`]) → decide (the module pipeline's pure rules) → act;
//! 5. [`wait`]: until `completed`, or the registry's `error-message`;
//! 6. verify: the archive the registry serves is ours (read back through the version's
//!    `download` link when there is one).
//!
//! Version management is in [`manage`]; `component sync` in [`sync`].

pub mod configured;
pub mod converge;
pub mod error;
pub mod manage;
pub mod observe;
pub mod resolve;
pub mod sync;
pub mod wait;

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;

pub use error::ComponentError;

use super::{Context, VersionPublished};
use crate::package::module::{self as pkg, ArchiveRoot, ModuleArchive, ModulePackageOptions};
use crate::publish::module::decide::Policy;
use crate::report::{Action, Item, ItemKind, Outcome, OutcomeKind};

/// Everything `tfpub component publish` was asked.
#[derive(Debug, Clone)]
pub struct ComponentPublishRequest {
    pub dir: PathBuf,
    pub name: Option<String>,
    pub version: Option<String>,
    pub dry_run: bool,
    pub timeout: Duration,
    pub allow_dirty: bool,
    pub replace_failed: bool,
    pub tag_prefix: String,
    pub max_size: Option<u64>,
}

/// One component configuration version to publish.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    pub name: &'a str,
    pub version: &'a str,
    pub archive: &'a ModuleArchive,
}

/// The packaging options of a component archive.
pub fn package_options(max_size: Option<u64>) -> ModulePackageOptions {
    let mut o = ModulePackageOptions {
        root: ArchiveRoot::StackComponent,
        ..Default::default()
    };
    if let Some(m) = max_size {
        o.max_size = m;
    }
    o
}

/// Package `dir` into `tmp`; its warnings go to `outcome`.
fn package(
    ctx: &Context,
    dir: &Path,
    tmp: &Path,
    max_size: Option<u64>,
    outcome: &mut Outcome,
) -> anyhow::Result<ModuleArchive> {
    ctx.progress.stage(&format!("packaging {}", dir.display()));
    let archive = pkg::package_dir(
        dir,
        &tmp.join("component.tar.gz"),
        &package_options(max_size),
    )
    .with_context(|| format!("packaging {}", dir.display()))?;
    outcome.warn_all(&archive.warnings, ctx.progress.as_ref());
    Ok(archive)
}

/// `tfpub component publish` for one folder.
pub async fn publish(ctx: &Context, req: &ComponentPublishRequest) -> anyhow::Result<Outcome> {
    let mut outcome = Outcome::new("component publish");
    outcome.target = Some(ctx.target_info());
    let r = resolve::resolve(req)?;
    let warnings = ctx.preflight(crate::api::Need::Modules).await?;
    outcome.warnings.extend(warnings);
    let tmp = super::workdir::create()?;
    let archive = package(ctx, &r.dir, tmp.path(), req.max_size, &mut outcome)?;
    let version = r.version.to_string();
    let t = Target {
        name: &r.name,
        version: &version,
        archive: &archive,
    };
    let policy = Policy {
        replace_failed: req.replace_failed,
    };
    if req.dry_run {
        outcome.outcome = OutcomeKind::Planned;
        outcome.push(converge::plan(ctx, t, policy).await?);
        return Ok(outcome);
    }
    let done = publish_version(ctx, t, None, policy, req.timeout).await?;
    outcome.items.extend(done.items);
    outcome.settle_version(done.published);
    Ok(outcome)
}

/// Stages 4–6 for one packaged version: converge, then wait for `completed` and verify
/// the registry serves our content.
pub async fn publish_version(
    ctx: &Context,
    t: Target<'_>,
    known_id: Option<String>,
    policy: Policy,
    timeout: Duration,
) -> anyhow::Result<VersionPublished> {
    let c = converge::converge(ctx, t, known_id, policy).await?;
    let mut items = c.items;
    if c.end == converge::Converged::AlreadyPublished {
        return Ok(VersionPublished {
            published: false,
            items,
        });
    }
    let done = wait::until_completed(ctx, &c.component_id, t.name, t.version, timeout).await?;
    if let Some(differs) = observe::differences(ctx, t.name, &done, t.archive).await? {
        return Err(observe::conflict(t.name, t.version, differs).into());
    }
    let url = format!(
        "{}/versions/{}",
        converge::component_url(ctx, &c.component_id),
        t.version
    );
    items.push(
        Item::new(ItemKind::ComponentVersion, t.name, Action::Updated)
            .version(t.version)
            .url(url)
            .detail("status completed"),
    );
    Ok(VersionPublished {
        published: true,
        items,
    })
}
