//! Module publishing, as the stages it runs in order:
//!
//! 1. [`resolve`](mod@resolve): name, provider, version and commit (flags, folder name, tfpub.toml, git);
//! 2. preflight: the token and the organization ([`Context::preflight`]), before anything
//!    is built; then a VCS-linked module takes the [`vcs`] branch (tag-based: refused or
//!    `--wait-for-tag`; branch-based: the version is created, nothing uploaded);
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
pub mod test;
pub(crate) mod vcs;
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

use super::{Context, VersionPublished};
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
    /// With `no_code`: pin the no-code module to the version just published.
    pub pin_latest: bool,
    /// For a VCS-linked, tag-based module: wait until the registry has ingested the
    /// version from its tag instead of refusing.
    pub wait_for_tag: bool,
    pub dry_run: bool,
    pub timeout: Duration,
    pub allow_dirty: bool,
    pub replace_failed: bool,
    pub tag_prefix: String,
    pub max_size: Option<u64>,
    /// A module archive built elsewhere (`--archive`), published as it is instead of
    /// packaging `dir`; needs `name`, `provider` and `version`.
    pub archive: Option<PathBuf>,
    /// Run the module's tests in the registry on the archive first; publish only if
    /// they pass (`--require-tests`, `require_tests = true` in tfpub.toml).
    pub require_tests: bool,
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
    /// Run the module's tests on the archive before creating the version (stage 3b).
    pub require_tests: bool,
}

/// `tfpub module publish` for one module folder.
pub async fn publish(ctx: &Context, req: &ModulePublishRequest) -> anyhow::Result<Outcome> {
    let mut outcome = Outcome::new("module publish");
    outcome.target = Some(ctx.target_info());
    let m = resolve::resolve(ctx, req)?;
    // Discovery alongside, for the read-back of what terraform will download.
    let (warnings, ()) = tokio::join!(
        ctx.preflight(crate::api::Need::Modules),
        ctx.client.discover()
    );
    outcome.warnings.extend(warnings?);
    if vcs::publish_linked(ctx, &m, req, &mut outcome).await? {
        return Ok(outcome);
    }
    let packaged = package::package_resolved(ctx, &m, req.max_size, &mut outcome).await?;
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
        // No-code goes through the no-code module endpoints after the version is
        // published (commands::configure::ensure_no_code), not the deprecated create flag.
        no_code: false,
        module_known: false,
        require_tests: req.require_tests,
    };
    if req.dry_run {
        outcome.outcome = OutcomeKind::Planned;
        outcome.push(converge::plan(ctx, t, opts).await?);
        if req.no_code {
            let pin = if req.pin_latest {
                " pinned to this version"
            } else {
                ""
            };
            outcome.push(
                Item::new(ItemKind::Module, m.address.to_string(), Action::Planned)
                    .detail(format!("enable its no-code module{pin}")),
            );
        }
        let a = &packaged.archive;
        outcome
            .items
            .extend(package::file_items(&a.files, &a.excluded));
        return Ok(outcome);
    }
    let done = publish_version(ctx, t, opts).await?;
    outcome.items.extend(done.items);
    if req.no_code {
        let pin = req.pin_latest.then_some(version.as_str());
        let wish = crate::commands::configure::NoCodeWish {
            enabled: true,
            pin,
            options: None,
        };
        let item = crate::commands::configure::ensure_no_code(ctx, &m.address, &wish).await?;
        outcome.push(item);
    }
    outcome.settle_version(done.published);
    Ok(outcome)
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
    let tested = match opts.require_tests {
        true => test::gate(ctx, t.address, &t.archive.path, t.version, opts.timeout).await?,
        false => Vec::new(),
    };
    let c = converge::converge(ctx, t, opts).await?;
    let mut items = tested;
    items.extend(c.items);
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
