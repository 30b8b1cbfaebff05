//! Stage 4, converge: make the registry hold our archive as one module version, as a loop
//! observe → [`decide`] → act until the decision is to wait, to stop (done) or to refuse.
//!
//! Each write is followed by a fresh observation (the answer to a create is one), so a
//! publish that died half way resumes, a finished one writes nothing, and a concurrent
//! publisher's work is read rather than guessed. The dry run ([`plan`]) observes once and
//! reports the same decision without acting.

use anyhow::{anyhow, Context as _};

use super::decide::{decide, Policy, Refusal, Step};
use super::observe::{observe, state_of, Attempt, Observed, VersionState};
use super::verify;
use super::CoreOptions;
use crate::package::module::ModuleArchive;
use crate::publish::error::PublishError;
use crate::publish::Context;
use crate::report::{Action, Item, ItemKind};
use crate::secret::SecretUrl;
use crate::vocab::ModuleAddress;

/// A bound on observe → act rounds; the longest honest path is delete, create, upload.
const MAX_ROUNDS: usize = 8;

/// One module version to publish.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    pub address: &'a ModuleAddress,
    pub version: &'a str,
    pub commit_sha: Option<&'a str>,
    pub archive: &'a ModuleArchive,
}

/// How converging ended (refusals are errors).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Converged {
    /// The registry already serves our content (possibly a concurrent publisher's work).
    AlreadyPublished,
    /// The version is being ingested (our upload, or one found under way): wait, verify.
    Ingesting,
}

/// The end of converging and the items describing each step taken.
#[derive(Debug)]
pub struct Convergence {
    pub end: Converged,
    pub items: Vec<Item>,
}

/// What one act did: the attempt, the registry's answer when it gave one, the failure.
struct Acted {
    attempt: Attempt,
    items: Vec<Item>,
    answer: Option<crate::api::ModuleVersion>,
    failure: Option<anyhow::Error>,
}

/// Run the loop for `t`.
pub async fn converge(
    ctx: &Context,
    t: Target<'_>,
    opts: CoreOptions,
) -> anyhow::Result<Convergence> {
    let policy = Policy {
        replace_failed: opts.replace_failed,
    };
    let mut items = Vec::new();
    let mut obs = Observed {
        state: observe(ctx, t.address, t.version, t.archive).await?,
        last: None,
    };
    let mut failure = None;
    for _ in 0..MAX_ROUNDS {
        items.extend(note(t, &obs));
        // Act. Create and upload failures come back in `Acted::failure` for the next
        // observation to judge; any other failure ends the run.
        let acted = match decide(&obs, policy) {
            Step::Done => {
                items.push(done_item(ctx, t, obs.last));
                return Ok(Convergence {
                    end: Converged::AlreadyPublished,
                    items,
                });
            }
            Step::Wait => {
                return Ok(Convergence {
                    end: Converged::Ingesting,
                    items,
                })
            }
            Step::Refuse(r) => return Err(refusal(t, r, failure)),
            Step::Create => create(ctx, t, opts).await?,
            Step::Upload(link) => upload(ctx, t, &link).await,
            Step::DeleteFailed => delete_failed(ctx, t, &obs.state).await?,
        };
        items.extend(acted.items);
        failure = acted.failure;
        let state = match (acted.answer, acted.attempt) {
            (Some(v), _) => state_of(ctx, t.address, t.version, Some(v), t.archive).await?,
            // After our upload, decide waits whatever the state: spend no read on it (the
            // wait and verify stages read it anyway).
            (None, Attempt::Uploaded) => obs.state,
            (None, _) => observe(ctx, t.address, t.version, t.archive).await?,
        };
        obs = Observed {
            state,
            last: Some(acted.attempt),
        };
    }
    Err(anyhow!(
        "version {} of {} kept changing while publishing; run the publish again",
        t.version,
        t.address
    ))
}

/// The dry run: observe once, decide as the real run would, describe the step.
pub async fn plan(ctx: &Context, t: Target<'_>, opts: CoreOptions) -> anyhow::Result<Item> {
    let policy = Policy {
        replace_failed: opts.replace_failed,
    };
    let state = observe(ctx, t.address, t.version, t.archive).await?;
    let obs = Observed { state, last: None };
    let what = crate::publish::module::package::archive_summary(t.archive);
    let item = |action| {
        Item::new(ItemKind::ModuleVersion, t.address.to_string(), action)
            .version(t.version)
            .url(ctx.module_url(t.address, Some(t.version)))
    };
    Ok(match decide(&obs, policy) {
        Step::Create => item(Action::Planned).detail(what),
        Step::Upload(_) => {
            item(Action::Planned).detail(format!("found in status pending; would upload {what}"))
        }
        Step::DeleteFailed => item(Action::Planned).detail(format!(
            "{}; would delete it, create it again and upload {what}",
            failed_text(&obs.state)
        )),
        Step::Wait => item(Action::Exists)
            .detail("found being ingested; would wait for the registry to finish it"),
        Step::Done => item(Action::Exists).detail("already published with identical content"),
        Step::Refuse(r) => return Err(refusal(t, r, None)),
    })
}

/// "in the failed state S: WHY" for a failed version.
fn failed_text(state: &VersionState) -> String {
    match state {
        VersionState::Failed { status, why } => format!("in the failed state {status}: {why}"),
        other => format!("in the state {other:?}"),
    }
}

/// Create the version (and the module first, unless the caller knows it exists).
async fn create(ctx: &Context, t: Target<'_>, opts: CoreOptions) -> anyhow::Result<Acted> {
    let (id, v) = (t.address.to_string(), t.version);
    let mut items = Vec::new();
    if !opts.module_known {
        items.push(ensure_module(ctx, t.address, opts.no_code).await?);
    }
    ctx.progress.stage(&format!("creating version {v}"));
    let res = ctx
        .client
        .create_module_version(t.address, v, t.commit_sha)
        .await;
    Ok(match res {
        Ok(created) => {
            items.push(
                Item::new(ItemKind::ModuleVersion, &id, Action::Created)
                    .version(v)
                    .url(ctx.module_url(t.address, Some(v))),
            );
            Acted {
                attempt: Attempt::Created,
                items,
                answer: Some(created),
                failure: None,
            }
        }
        Err(e) => Acted {
            attempt: Attempt::CreateFailed,
            items,
            answer: None,
            failure: Some(anyhow::Error::new(e)),
        },
    })
}

/// Upload the archive through `link`; a failure is handed back, not raised.
async fn upload(ctx: &Context, t: Target<'_>, link: &SecretUrl) -> Acted {
    let a = t.archive;
    let label = format!("module-{}.tar.gz", t.version);
    ctx.progress.mask(link.expose().as_str());
    // The upload reports itself (transfer_start): no separate stage line.
    let up = ctx
        .client
        .upload_file(link, &a.path, &label, ctx.progress.as_ref())
        .await;
    let (attempt, items, failure) = match up {
        Ok(()) => {
            let it = Item::new(ItemKind::File, label, Action::Uploaded)
                .detail(format!("{} bytes, sha256 {}", a.size, a.sha256));
            (Attempt::Uploaded, vec![it], None)
        }
        Err(e) => (Attempt::UploadFailed, vec![], Some(anyhow::Error::new(e))),
    };
    Acted {
        attempt,
        items,
        answer: None,
        failure,
    }
}

/// Delete the failed version (`--replace-failed`), to create it again.
async fn delete_failed(
    ctx: &Context,
    t: Target<'_>,
    state: &VersionState,
) -> anyhow::Result<Acted> {
    let (id, v) = (t.address.to_string(), t.version);
    let (status, why) = match state {
        VersionState::Failed { status, why } => (status.to_string(), why.as_str()),
        _ => ("failed".to_string(), ""),
    };
    ctx.progress
        .stage(&format!("deleting failed version {v} ({status})"));
    ctx.client
        .delete_module_version(t.address, v)
        .await
        .with_context(|| format!("deleting failed version {v} of {id}"))?;
    let it = Item::new(ItemKind::ModuleVersion, &id, Action::Deleted)
        .version(v)
        .detail(format!("was {status}: {why}"));
    Ok(Acted {
        attempt: Attempt::DeletedFailed,
        items: vec![it],
        answer: None,
        failure: None,
    })
}

/// Make sure the module exists; returns the item describing what happened.
pub async fn ensure_module(
    ctx: &Context,
    addr: &ModuleAddress,
    no_code: bool,
) -> anyhow::Result<Item> {
    let id = addr.to_string();
    let url = ctx.module_url(addr, None);
    if ctx.client.get_module(addr).await?.is_some() {
        return Ok(Item::new(ItemKind::Module, id, Action::Exists).url(url));
    }
    ctx.progress.stage(&format!("creating module {id}"));
    match ctx.client.create_module(addr, no_code).await {
        Ok(_) => Ok(Item::new(ItemKind::Module, id, Action::Created).url(url)),
        // Another publisher may have created it between our read and our write.
        Err(_) if ctx.client.get_module(addr).await?.is_some() => {
            Ok(Item::new(ItemKind::Module, id, Action::Exists).url(url))
        }
        Err(e) => Err(anyhow::Error::new(e).context(format!("creating module {id}"))),
    }
}

/// What an observation says that the report should show: a version found under way, or
/// one a concurrent publisher moved on.
fn note(t: Target<'_>, obs: &Observed) -> Option<Item> {
    let (status, under_way) = match &obs.state {
        VersionState::Missing => return None,
        VersionState::Pending { .. } => ("pending".to_string(), true),
        VersionState::Ingesting { status } => (status.to_string(), true),
        VersionState::Failed { status, .. } => (status.to_string(), false),
        VersionState::Ok { .. } => ("ok".to_string(), false),
    };
    let pending = matches!(obs.state, VersionState::Pending { .. });
    let detail = match obs.last {
        None if under_way => format!("found in status {status}"),
        Some(Attempt::CreateFailed) if under_way => {
            format!("created concurrently, status {status}")
        }
        Some(Attempt::UploadFailed) if !pending => {
            format!("uploaded concurrently by another publisher, status {status}")
        }
        _ => return None,
    };
    Some(
        Item::new(
            ItemKind::ModuleVersion,
            t.address.to_string(),
            Action::Exists,
        )
        .version(t.version)
        .detail(detail),
    )
}

fn done_item(ctx: &Context, t: Target<'_>, last: Option<Attempt>) -> Item {
    let detail = if last == Some(Attempt::CreateFailed) {
        "published concurrently with identical content"
    } else {
        "already published with identical content"
    };
    Item::new(
        ItemKind::ModuleVersion,
        t.address.to_string(),
        Action::Exists,
    )
    .version(t.version)
    .url(ctx.module_url(t.address, Some(t.version)))
    .detail(detail)
}

/// The error for a refusal; `failure` is the write error a create/upload refusal stands on.
fn refusal(t: Target<'_>, r: Refusal, failure: Option<anyhow::Error>) -> anyhow::Error {
    let (id, v) = (t.address.to_string(), t.version);
    let failure = || failure.unwrap_or_else(|| anyhow!("the registry refused the write"));
    match r {
        Refusal::Failed { status, why } => PublishError::VersionFailed {
            id,
            module: t.address.cli_ref(),
            version: v.to_string(),
            status: status.to_string(),
            why,
        }
        .into(),
        Refusal::OtherContent { differs } => verify::conflict(t.address, v, differs).into(),
        Refusal::CreateFailed => failure().context(format!("creating version {v} of {id}")),
        Refusal::UploadFailed => failure().context(format!("uploading the archive of {id} {v}")),
    }
}
