//! Module publishing, as the stages it runs in order:
//!
//! 1. [`resolve`](mod@resolve): name, provider, version and commit (flags, folder name, tfpub.toml, git);
//! 2. preflight: the token and the organization ([`Context::preflight`]), before anything
//!    is built;
//! 3. [`package`](mod@package): the deterministic archive;
//! 4. [`converge`]: observe ([`observe`]) → decide ([`decide`], pure) → act, until the
//!    registry holds the version or refuses it;
//! 5. [`wait`]: until the registry has ingested it;
//! 6. [`verify`]: the registry serves our content (the files a consumer unpacks,
//!    compared by [`content`]).
//!
//! `--dry-run` stops after the first decision and reports it ([`converge::plan`]), so it
//! refuses what the real run refuses. `module sync` runs stages 4–6 per tag through
//! [`publish_version`]. Version management (list, deprecate, revoke, delete) is in
//! [`manage`]; a tfpub.toml with several modules is driven by [`configured`].

pub mod configured;
pub mod content;
pub mod converge;
pub mod decide;
pub mod manage;
pub mod observe;
pub mod package;
pub mod resolve;
pub mod verify;
pub mod wait;
pub mod watch;

use std::path::PathBuf;
use std::time::Duration;

use converge::{Converged, Target};

pub use configured::publish_configured;
pub use converge::ensure_module;
pub use manage::{change, delete, versions};
pub use package::package;
pub use resolve::{resolve, ResolvedModule};

use super::Context;
use crate::report::{Action, Item, ItemKind, Outcome, OutcomeKind};

/// Everything `tfpub module publish` was asked.
#[derive(Debug, Clone)]
pub struct ModulePublishRequest {
    pub dir: PathBuf,
    pub name: Option<String>,
    pub provider: Option<String>,
    pub version: Option<String>,
    pub commit_sha: Option<String>,
    pub no_code: bool,
    pub dry_run: bool,
    pub timeout: Duration,
    pub allow_dirty: bool,
    pub replace_failed: bool,
    pub tag_prefix: String,
    pub max_size: Option<u64>,
    /// Modules of a tfpub.toml published at once (`--concurrency`, at least 1).
    pub concurrency: usize,
}

/// Options of stages 4–6, shared by `publish` and `sync`.
#[derive(Debug, Clone, Copy)]
pub struct CoreOptions {
    pub timeout: Duration,
    pub replace_failed: bool,
    pub no_code: bool,
    /// The caller already knows the module exists (a sync read it once for all its
    /// versions): skip the per-version module check.
    pub module_known: bool,
}

/// `tfpub module publish` for one module folder.
pub async fn publish(ctx: &Context, req: &ModulePublishRequest) -> anyhow::Result<Outcome> {
    let mut outcome = Outcome::new("module publish");
    outcome.target = Some(ctx.target_info());
    let m = resolve::resolve(ctx, req)?;
    ctx.preflight().await?;
    let packaged = package::package_for_publish(ctx, &m.dir, req.max_size, &mut outcome)?;
    let version = m.version.to_string();
    let t = Target {
        address: &m.address,
        version: &version,
        commit_sha: m.commit_sha.as_deref(),
        archive: &packaged.archive,
    };
    let opts = CoreOptions {
        timeout: req.timeout,
        replace_failed: req.replace_failed,
        no_code: req.no_code,
        module_known: false,
    };
    if req.dry_run {
        outcome.outcome = OutcomeKind::Planned;
        outcome.push(converge::plan(ctx, t, opts).await?);
        let a = &packaged.archive;
        outcome
            .items
            .extend(package::file_items(&a.files, &a.excluded));
        return Ok(outcome);
    }
    let done = publish_version(ctx, t, opts).await?;
    outcome.items.extend(done.items);
    outcome.published = done.published;
    outcome.outcome = if done.published {
        OutcomeKind::Published
    } else {
        OutcomeKind::AlreadyPublished
    };
    Ok(outcome)
}

/// What stages 4–6 did for one version.
#[derive(Debug)]
pub struct VersionPublished {
    /// This run completed a version the registry did not serve before.
    pub published: bool,
    pub items: Vec<Item>,
}

/// Stages 4–6 for one packaged version: converge; then, unless the registry already
/// served our content, wait for it and verify what it serves.
pub async fn publish_version(
    ctx: &Context,
    t: Target<'_>,
    opts: CoreOptions,
) -> anyhow::Result<VersionPublished> {
    publish_version_watched(ctx, t, opts, None).await
}

/// [`publish_version`], waiting through `watch` (one module read shared by every version
/// a concurrent sync has in flight) when given.
pub async fn publish_version_watched(
    ctx: &Context,
    t: Target<'_>,
    opts: CoreOptions,
    watch: Option<&watch::Watch>,
) -> anyhow::Result<VersionPublished> {
    let c = converge::converge(ctx, t, opts).await?;
    let mut items = c.items;
    if c.end == Converged::AlreadyPublished {
        return Ok(VersionPublished {
            published: false,
            items,
        });
    }
    match watch {
        Some(w) => w.until_ok(ctx, t.version, opts.timeout).await?,
        None => wait::until_ok(ctx, t.address, t.version, opts.timeout).await?,
    }
    verify::serves_ours(ctx, t.address, t.version, t.archive).await?;
    items.push(
        Item::new(
            ItemKind::ModuleVersion,
            t.address.to_string(),
            Action::Updated,
        )
        .version(t.version)
        .url(ctx.module_url(t.address, Some(t.version)))
        .detail("status ok"),
    );
    Ok(VersionPublished {
        published: true,
        items,
    })
}
