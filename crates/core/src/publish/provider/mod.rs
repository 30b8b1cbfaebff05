//! Provider publishing, as the stages [`publish`] lists in order, one file each:
//!
//! | stage | file |
//! |---|---|
//! | load the key | done by the caller ([`crate::sign::load_signer`], or a public key) into [`ProviderRequest::signer`]; a `--key-id` is looked up in the namespace first |
//! | preflight | [`super::Context::preflight`] |
//! | package: zips, manifest, SHA256SUMS (bytes only) | [`package`] |
//! | sign SHA256SUMS (or check the signature a dist/ came with) | [`sign`] |
//! | observe everything the registry holds | [`observe`] |
//! | decide what to create and upload, or refuse (pure) | [`decide`] |
//! | a release zipped by an earlier tfpub: re-zip at its level and decide again | [`repack`] |
//! | register the key, create provider, version, platform records | [`register`] |
//! | upload SHA256SUMS, its signature and the platform zips | [`upload`] |
//! | verify what a consumer (`terraform init`) reads | [`verify`] |
//!
//! Everything the registry already holds is compared with the local release BEFORE the
//! first write, so a mismatch (other key, other shasum, other protocols, other
//! SHA256SUMS) is refused with the difference named and nothing changed; `--dry-run`
//! shows the plan the same `decide` made. Uploads are streamed and run with bounded
//! concurrency.

mod decide;
pub mod mirror;
mod observe;
mod package;
mod pipeline;
mod register;
mod repack;
mod sign;
mod upload;
mod verify;

use std::path::PathBuf;

use anyhow::Context as _;

use super::error::PublishError;
use super::Context;
use crate::package::provider::{BinaryInput, PlatformFile, ProviderRelease};
use crate::report::{Action, Item, ItemKind, Outcome, OutcomeKind};
use crate::sign::{PublicKey, SignCommand, Signer, Signing};
use crate::vocab::KeyId;
use crate::vocab::Sha256;

pub use package::release_files;

/// Where the release files come from.
#[derive(Debug, Clone)]
pub enum ProviderInput {
    /// A goreleaser `dist/` folder, taken as it is after verification.
    Dist(PathBuf),
    /// Raw binaries that tfpub zips itself.
    Binaries(Vec<BinaryInput>),
    /// A folder laid out as `OS_ARCH/terraform-provider-NAME*`.
    BinariesDir(PathBuf),
}

/// The key a release is signed with: a loaded key (secret, or public only), or the key
/// id of a public key the namespace already holds (`--key-id`), with the external
/// signer that signs with it, if any (`--sign-command`).
#[derive(Debug)]
pub enum KeyChoice {
    Key(Signing),
    Registered(KeyId, Option<SignCommand>),
    /// A secret key being unlocked on its own thread: a publish overlaps the unlock
    /// (the passphrase's S2K hashing, ~0.3 s) with its preflight and registry reads.
    Unlocking(Unlock),
}

/// A secret key unlocking on its own thread, started when the request is made.
pub struct Unlock(std::sync::Mutex<Option<std::thread::JoinHandle<anyhow::Result<Signer>>>>);

impl std::fmt::Debug for Unlock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Unlock(..)")
    }
}

impl Unlock {
    /// Start `load` (reading and unlocking the key) on a thread of its own.
    pub fn start(load: impl FnOnce() -> anyhow::Result<Signer> + Send + 'static) -> Unlock {
        Unlock(std::sync::Mutex::new(Some(std::thread::spawn(load))))
    }

    fn take(&self) -> anyhow::Result<std::thread::JoinHandle<anyhow::Result<Signer>>> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
            .ok_or_else(|| anyhow::anyhow!("the signing key was already taken"))
    }

    /// The unlocked key, waiting for it on this thread.
    pub fn wait(&self) -> anyhow::Result<Signer> {
        self.take()?
            .join()
            .map_err(|_| anyhow::anyhow!("unlocking the signing key failed unexpectedly"))?
    }

    /// The unlocked key, waiting for it off the async workers.
    pub async fn wait_async(&self) -> anyhow::Result<Signer> {
        let h = self.take()?;
        tokio::task::spawn_blocking(move || h.join())
            .await
            .map_err(|_| anyhow::anyhow!("unlocking the signing key failed unexpectedly"))?
            .map_err(|_| anyhow::anyhow!("unlocking the signing key failed unexpectedly"))?
    }
}

/// The public key the namespace holds as `id` (a read, before any write); refused when
/// the namespace does not hold it.
async fn registered_key(ctx: &Context, id: &KeyId) -> anyhow::Result<PublicKey> {
    let keys = ctx
        .client
        .list_gpg_keys(ctx.org())
        .await
        .context("listing GPG keys")?;
    let Some(k) = keys.iter().find(|k| k.key_id == *id) else {
        return Err(PublishError::KeyNotRegistered {
            key_id: id.to_string(),
            namespace: ctx.org().to_string(),
        }
        .into());
    };
    PublicKey::from_armored(&k.ascii_armor)
        .with_context(|| format!("reading the registered GPG key {id}"))
}

/// Everything `tfpub provider publish|package` was asked.
pub struct ProviderRequest {
    pub input: ProviderInput,
    pub name: Option<String>,
    pub version: Option<String>,
    pub protocols: Vec<String>,
    pub signer: KeyChoice,
    pub dry_run: bool,
    pub concurrency: usize,
}

/// `tfpub provider package ... -o DIR` (offline): package and sign.
pub fn package(req: &ProviderRequest, out: &std::path::Path) -> anyhow::Result<Outcome> {
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let unlocked;
    let signing = match &req.signer {
        KeyChoice::Key(signing) => signing,
        KeyChoice::Unlocking(u) => {
            unlocked = Signing::Secret(Box::new(u.wait()?));
            &unlocked
        }
        KeyChoice::Registered(..) => return Err(PublishError::KeyIdNeedsRegistry.into()),
    };
    let rel = release_files(req, out, true)?;
    sign::sign_release(signing, &rel)?;
    let mut outcome = Outcome::new("provider package");
    outcome.outcome = OutcomeKind::Updated;
    for p in &rel.platforms {
        outcome.push(
            Item::new(ItemKind::File, &p.filename, Action::Created)
                .detail(format!("sha256 {}", p.sha256)),
        );
    }
    for f in [
        Some(&rel.shasums),
        Some(&rel.signature),
        rel.manifest.as_ref(),
    ]
    .into_iter()
    .flatten()
    {
        outcome.push(Item::new(ItemKind::File, file_name(f), Action::Created));
    }
    Ok(outcome)
}

/// `tfpub provider publish`: the preflight, the key and the reads together
/// ([`pipeline::start`]), then a new version from binaries through the overlapped stages
/// ([`pipeline::run`]), anything else through [`stages`].
pub async fn publish(ctx: &Context, req: &ProviderRequest) -> anyhow::Result<Outcome> {
    let mut started = pipeline::start(ctx, req).await?;
    let warnings = std::mem::take(&mut started.warnings);
    let unlocked = started.signing.take();
    if let Some(signing) = &unlocked {
        if pipeline::applies(req, &started, signing) {
            if let (Some(job), Some(held)) = (started.job.take(), started.held.take()) {
                let expiry = expiry_warning(ctx, signing);
                let mut outcome = pipeline::run(ctx, req, job, held, signing).await?;
                let later = std::mem::replace(&mut outcome.warnings, warnings);
                outcome.warnings.extend(expiry);
                outcome.warnings.extend(later);
                return Ok(outcome);
            }
        }
    }
    stages(ctx, req, unlocked.as_ref(), started.held, warnings).await
}

/// The signing key's expiry warning (within 30 days), shown now and returned for the
/// result's `warnings`.
fn expiry_warning(ctx: &Context, signing: &Signing) -> Option<String> {
    let expiry = signing.expiry_warning();
    if let Some(w) = &expiry {
        ctx.progress.warn(w);
    }
    expiry
}

/// The stages in the order they run, once the preflight passed: `signing` is the key
/// already unlocked (else the request's), `held` what the registry was read to hold.
async fn stages(
    ctx: &Context,
    req: &ProviderRequest,
    unlocked: Option<&Signing>,
    held: Option<observe::Held>,
    token_warnings: Vec<String>,
) -> anyhow::Result<Outcome> {
    let registered;
    let signing = match (&req.signer, unlocked) {
        (_, Some(s)) => s,
        (KeyChoice::Key(s), None) => s,
        (KeyChoice::Unlocking(_), None) => {
            return Err(anyhow::anyhow!("the signing key was not unlocked"))
        }
        (KeyChoice::Registered(id, command), None) => {
            let key = Box::new(registered_key(ctx, id).await?);
            registered = match command {
                Some(c) => Signing::Command(key, c.clone()),
                None => Signing::PublicOnly(key),
            };
            &registered
        }
    };
    let expiry = expiry_warning(ctx, signing);
    ctx.progress.stage("preparing the release files");
    let work = super::workdir::create()?;
    let (rel, shasums, held, plan) = prepared(ctx, req, signing, held, work.path()).await?;
    let addr = ctx.provider(&rel.name);
    let local = decide::Local::new(&rel, &addr, signing.key_id(), &shasums);
    let mut outcome = Outcome::new("provider publish");
    outcome.target = Some(ctx.target_info());
    outcome.warnings.extend(token_warnings);
    outcome.warnings.extend(expiry);
    if req.dry_run {
        outcome.outcome = OutcomeKind::Planned;
        outcome.items = plan.items(&local);
        return Ok(outcome);
    }

    let url = ctx.provider_url(&addr, Some(&local.version));
    let acts = register::Acts {
        ctx,
        addr: &addr,
        local: &local,
        plan: &plan,
        held: &held,
    };
    let mut changed = register::key_and_provider(&acts, signing, &mut outcome).await?;
    let (ver, created) = register::version(&acts, &url, &mut outcome).await?;
    changed |= created;
    // The platform records and the two checksum files all hang off the version: create
    // the records while SHA256SUMS and its signature upload; then the platform zips.
    let (records, sums_items) = tokio::try_join!(
        register::platforms(&acts),
        upload::checksums(&acts, &ver, &rel),
    )?;
    for it in sums_items {
        changed = true;
        outcome.push(it);
    }
    for (it, c) in upload::binaries(&acts, records, req.concurrency).await? {
        changed |= c;
        outcome.push(it);
    }

    ctx.progress.stage("checking what a consumer will read");
    verify::consumer_view(ctx, &addr, &rel, &local.key_id).await?;
    Ok(verified(outcome, &local, url, changed))
}

/// Stages package, sign, observe and decide: the release files (zipped as an earlier
/// tfpub zipped them when that is what the registry holds, see [`repack`]), their
/// SHA256SUMS bytes, what the registry holds, and the plan.
async fn prepared(
    ctx: &Context,
    req: &ProviderRequest,
    signing: &Signing,
    held: Option<observe::Held>,
    work: &std::path::Path,
) -> anyhow::Result<(ProviderRelease, Vec<u8>, observe::Held, decide::Plan)> {
    let rel = release_files(req, work, false)?;
    sign::sign_release(signing, &rel)?;
    if rel.protocols.is_empty() {
        return Err(PublishError::NoProtocols.into());
    }
    let shasums = std::fs::read(&rel.shasums)
        .with_context(|| format!("reading {}", rel.shasums.display()))?;
    let addr = ctx.provider(&rel.name);
    let held = match held {
        Some(h) => h,
        None => observe::observe(ctx, &addr, &rel.version.to_string()).await?,
    };
    let first = decide::Local::new(&rel, &addr, signing.key_id(), &shasums);
    match decide::decide(&first, &held) {
        Ok(plan) => Ok((rel, shasums, held, plan)),
        Err(refusal) => {
            let (rel, shasums, plan) =
                repack::earlier_packing(ctx, req, signing, &addr, &held, work, refusal)?;
            Ok((rel, shasums, held, plan))
        }
    }
}

/// The publish's outcome once the read-back passed.
fn verified(mut outcome: Outcome, local: &decide::Local, url: String, changed: bool) -> Outcome {
    outcome.push(
        Item::new(ItemKind::ProviderVersion, &local.id, Action::Updated)
            .version(&local.version)
            .url(url)
            .detail("verified: every platform installable with a valid signature"),
    );
    outcome.published = changed;
    outcome.outcome = if changed {
        OutcomeKind::Published
    } else {
        OutcomeKind::AlreadyPublished
    };
    outcome
}

/// Whether a file the registry describes (checksum and name) is the local `p`.
fn is_local_file(shasum: &Sha256, filename: &str, p: &PlatformFile) -> bool {
    *shasum == p.sha256 && filename == p.filename
}

/// The last component of `p`, as release files are named in reports.
fn file_name(p: &std::path::Path) -> String {
    p.file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}
