//! The pipelined provider publish: the stages of [`super`] overlapped where they do not
//! depend on each other.
//!
//! - [`start`]: the preflight, the key unlock (its own thread, see [`super::Unlock`]),
//!   the registry reads (`observe`) and service discovery (for the read-back) run
//!   together. Errors keep the order a sequential run reports them in: the key, then the
//!   token and organization, then the request, then the reads.
//! - [`run`], for a version the registry does not hold yet (so `decide` has nothing to
//!   refuse): once the binaries are checked, the key and provider are registered and the
//!   version created while the zips are built; each platform's record is created and its
//!   zip uploaded as soon as that zip and its hash are ready (at most `--concurrency`
//!   uploads at a time); SHA256SUMS is signed and uploaded when the last zip is done.
//!   Everything else (a dist/ folder, a version already registered, `--dry-run`, a key
//!   that cannot sign) takes the sequential stages, which compare before any write.

use anyhow::Context as _;
use futures_util::stream::{self, StreamExt, TryStreamExt};
use tokio::sync::mpsc;

use super::decide::{self, Local};
use super::observe::{self, Held};
use super::package::{binaries_job, BinariesJob};
use super::register::{self, Acts};
use super::{sign, upload, KeyChoice, ProviderRequest};
use crate::package::provider::{PackEvent, PlatformFile, ProviderRelease};
use crate::publish::Context;
use crate::report::{Action, Item, ItemKind, Outcome};
use crate::sign::Signing;

/// What [`start`] settled: the key to sign with (unless the caller must look up a
/// registered one), the binaries to zip (None: a dist/ folder) and what the registry
/// holds for their version.
pub struct Started {
    pub signing: Option<Signing>,
    pub job: Option<BinariesJob>,
    pub held: Option<Held>,
    /// What the preflight warned about (a token about to expire).
    pub warnings: Vec<String>,
}

/// The preflight, the key unlock and the reads, side by side.
pub async fn start(ctx: &Context, req: &ProviderRequest) -> anyhow::Result<Started> {
    let job = binaries_job(req);
    let reads = async {
        let Ok(Some(j)) = &job else { return None };
        let addr = ctx.provider(&j.name);
        Some(observe::observe(ctx, &addr, &j.version.to_string()).await)
    };
    let need = crate::api::Need::Providers;
    // Discovery too, for the read-back (what terraform reads) at the end.
    let (pre, key, held, ()) = tokio::join!(
        ctx.preflight(need),
        unlocked(req),
        reads,
        ctx.client.discover()
    );
    let signing = key?;
    let warnings = pre?;
    let job = job?;
    let held = held.transpose()?;
    Ok(Started {
        signing,
        job,
        held,
        warnings,
    })
}

/// The key of an unlocking request, once unlocked; None for the other choices.
async fn unlocked(req: &ProviderRequest) -> anyhow::Result<Option<Signing>> {
    let KeyChoice::Unlocking(u) = &req.signer else {
        return Ok(None);
    };
    let signer = u.wait_async().await?;
    Ok(Some(Signing::Secret(Box::new(signer))))
}

/// Whether [`run`] applies: binaries to zip, a version the registry does not hold, a
/// key that signs here (in-process or by command), and a real run.
pub fn applies(req: &ProviderRequest, s: &Started, signing: &Signing) -> bool {
    let signs = matches!(signing, Signing::Secret(_) | Signing::Command(..));
    !req.dry_run && signs && s.job.is_some() && s.held.as_ref().is_some_and(|h| h.version.is_none())
}

/// The overlapped stages for a new version; the outcome's items as the sequential
/// stages report them, then the read-back.
pub async fn run(
    ctx: &Context,
    req: &ProviderRequest,
    job: BinariesJob,
    held: Held,
    signing: &Signing,
) -> anyhow::Result<Outcome> {
    ctx.progress.stage("preparing the release files");
    let work = crate::publish::workdir::create()?;
    let addr = ctx.provider(&job.name);
    let (version, protocols) = (job.version.to_string(), job.protocols.clone());
    let (pack, rx) = start_packing(job, work.path().to_path_buf()).await?;
    let mut outcome = Outcome::new("provider publish");
    outcome.target = Some(ctx.target_info());
    let url = ctx.provider_url(&addr, Some(&version));
    let no_path = std::path::PathBuf::new();
    let early = Local {
        id: addr.to_string(),
        version: version.clone(),
        key_id: signing.key_id(),
        protocols: &protocols,
        platforms: &[],
        shasums: &[],
        shasums_path: &no_path,
    };
    let plan = decide::decide(&early, &held)?;
    let acts = Acts {
        ctx,
        addr: &addr,
        local: &early,
        plan: &plan,
        held: &held,
    };
    let mut changed = register::key_and_provider(&acts, signing, &mut outcome).await?;
    let (ver, created) = register::version(&acts, &url, &mut outcome).await?;
    changed |= created;

    let platforms = stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|p| (p, rx)) })
        .filter_map(|p| async move { p })
        .map(|p| platform(ctx, &addr, &version, p))
        .buffer_unordered(req.concurrency.max(1))
        .try_collect::<Vec<(Item, bool)>>();
    let sums = async {
        let rel = pack.await.context("packaging stopped")??;
        let (shasums, items) = sign_and_upload_sums(ctx, &addr, &held, signing, &ver, &rel).await?;
        anyhow::Ok((rel, shasums, items))
    };
    let (mut plat_items, (rel, shasums, sums_items)) = tokio::try_join!(platforms, sums)?;
    for it in sums_items {
        changed = true;
        outcome.push(it);
    }
    plat_items.sort_by(|x, y| x.0.id.cmp(&y.0.id));
    for (it, c) in plat_items {
        changed |= c;
        outcome.push(it);
    }
    ctx.progress.stage("checking what a consumer will read");
    let local = Local::new(&rel, &addr, signing.key_id(), &shasums);
    super::verify::consumer_view(ctx, &addr, &rel, &local.key_id).await?;
    Ok(super::verified(outcome, &local, url, changed))
}

type Packing = (
    tokio::task::JoinHandle<anyhow::Result<ProviderRelease>>,
    mpsc::UnboundedReceiver<Option<PlatformFile>>,
);

/// Starts building the zips in `dir` on the blocking pool and returns once the inputs
/// passed their checks (nothing is written to the registry before), with each zip to
/// come on the receiver as soon as it and its hash are ready.
async fn start_packing(job: BinariesJob, dir: std::path::PathBuf) -> anyhow::Result<Packing> {
    let (tx, mut rx) = mpsc::unbounded_channel::<Option<PlatformFile>>();
    let pack = tokio::task::spawn_blocking(move || {
        job.build(&dir, false, &|e| {
            let _ = tx.send(match e {
                PackEvent::Checked => None,
                PackEvent::Ready(p) => Some(p.clone()),
            });
        })
    });
    if rx.recv().await.is_none() {
        return Err(match pack.await.context("packaging stopped")? {
            Err(e) => e,
            Ok(_) => anyhow::anyhow!("packaging ended without reporting its checks"),
        });
    }
    Ok((pack, rx))
}

/// Once the last zip is built: SHA256SUMS signed, then it and its signature uploaded.
/// Returns the SHA256SUMS bytes and the items of the two uploads.
async fn sign_and_upload_sums(
    ctx: &Context,
    addr: &crate::vocab::ProviderAddress,
    held: &Held,
    signing: &Signing,
    ver: &crate::api::ProviderVersion,
    rel: &ProviderRelease,
) -> anyhow::Result<(Vec<u8>, Vec<Item>)> {
    sign::sign_release(signing, rel)?;
    let shasums = std::fs::read(&rel.shasums)
        .with_context(|| format!("reading {}", rel.shasums.display()))?;
    let local = Local::new(rel, addr, signing.key_id(), &shasums);
    let plan = decide::decide(&local, held)?;
    let acts = Acts {
        ctx,
        addr,
        local: &local,
        plan: &plan,
        held,
    };
    let items = upload::checksums(&acts, ver, rel).await?;
    Ok((shasums, items))
}

/// One platform as soon as its zip is ready: its record, then its upload.
async fn platform(
    ctx: &Context,
    addr: &crate::vocab::ProviderAddress,
    v: &str,
    p: PlatformFile,
) -> anyhow::Result<(Item, bool)> {
    let r = register::create_platform(ctx, addr, v, &p).await?;
    let plat_id = format!("{}_{}", p.os, p.arch);
    if r.platform.provider_binary_uploaded {
        let action = if r.created {
            Action::Created
        } else {
            Action::Exists
        };
        return Ok((
            Item::new(ItemKind::Platform, &plat_id, action).version(v),
            r.created,
        ));
    }
    let link = r.platform.binary_upload.as_ref().ok_or(
        crate::publish::error::PublishError::NoPlatformUploadLink {
            platform: plat_id.clone(),
        },
    )?;
    upload::put(ctx, link, &p.path, &p.filename).await?;
    let it = Item::new(ItemKind::Platform, &plat_id, Action::Uploaded)
        .version(v)
        .detail(format!("{} ({} bytes)", p.filename, p.size));
    Ok((it, true))
}
