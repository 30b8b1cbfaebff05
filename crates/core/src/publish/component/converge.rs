//! Converge: make the registry hold our archive as one component configuration version,
//! as the loop observe → decide (the module pipeline's pure rules) → act until the
//! decision is to wait, to stop or to refuse. The component itself is found by name (a
//! listing with `q`) and created only when missing; a create that loses a race to another
//! publisher finds the winner's component instead of making a second one.

use anyhow::{anyhow, Context as _};

use super::observe::{conflict, observe, state_of};
use super::Target;
use crate::api::ComponentVersion;
use crate::publish::module::decide::{decide, Policy, Refusal, Step};
use crate::publish::module::observe::{Attempt, Observed, VersionState};
use crate::publish::Context;
use crate::report::{Action, Item, ItemKind};
use crate::secret::SecretUrl;

const MAX_ROUNDS: usize = 8;

/// How converging ended: the module pipeline's ends.
pub use crate::publish::module::converge::Converged;

/// The end, the component's id and what was done.
#[derive(Debug)]
pub struct Convergence {
    pub end: Converged,
    pub component_id: String,
    pub items: Vec<Item>,
}

/// The registry's API address of a component (never an upload URL).
pub fn component_url(ctx: &Context, id: &str) -> String {
    format!("{}api/v2/registry-components/{id}", ctx.target.base_url)
}

/// The component named `name`, created when missing; its id and the item saying which.
pub async fn ensure_component(ctx: &Context, name: &str) -> anyhow::Result<(String, Item)> {
    let item =
        |id: &str, action| Item::new(ItemKind::Component, name, action).url(component_url(ctx, id));
    if let Some(c) = ctx.client.find_component(name).await? {
        return Ok((c.id.clone(), item(&c.id, Action::Exists)));
    }
    ctx.progress
        .stage(&format!("creating component configuration {name}"));
    match ctx.client.create_component(name).await {
        Ok(c) => Ok((c.id.clone(), item(&c.id, Action::Created))),
        Err(e) => {
            match ctx.client.find_component(name).await? {
                // Another publisher created it between our read and our write.
                Some(c) => Ok((c.id.clone(), item(&c.id, Action::Exists))),
                None => Err(anyhow::Error::new(e)
                    .context(format!("creating component configuration {name}"))),
            }
        }
    }
}

/// Run the loop for `t`; `known_id` is the component's id when the caller has it.
pub async fn converge(
    ctx: &Context,
    t: Target<'_>,
    known_id: Option<String>,
    policy: Policy,
) -> anyhow::Result<Convergence> {
    let mut id = match known_id {
        Some(i) => Some(i),
        None => ctx.client.find_component(t.name).await?.map(|c| c.id),
    };
    let mut items = Vec::new();
    let state = observe(ctx, id.as_deref(), t.name, t.version, t.archive).await?;
    let mut obs = Observed { state, last: None };
    let mut failure: Option<anyhow::Error> = None;
    for _ in 0..MAX_ROUNDS {
        let step = decide(&obs, policy);
        let end = match &step {
            Step::Done => Some(Converged::AlreadyPublished),
            Step::Wait => Some(Converged::Ingesting),
            _ => None,
        };
        if let Some(end) = end {
            if end == Converged::AlreadyPublished {
                items.push(
                    version_item(ctx, t, id.as_deref(), Action::Exists)
                        .detail("already published with identical content"),
                );
            }
            let component_id = id.ok_or_else(|| anyhow!("the component has no id"))?;
            return Ok(Convergence {
                end,
                component_id,
                items,
            });
        }
        if let Step::Refuse(r) = step {
            return Err(refusal(t, r, failure));
        }
        let acted = act(ctx, t, &mut id, step, &obs.state).await?;
        items.extend(acted.items);
        failure = acted.failure;
        let state = match (acted.answer, acted.attempt) {
            (Some(v), _) => state_of(ctx, t.name, Some(v), t.archive).await?,
            (None, Attempt::Uploaded) => obs.state,
            (None, _) => observe(ctx, id.as_deref(), t.name, t.version, t.archive).await?,
        };
        obs = Observed {
            state,
            last: Some(acted.attempt),
        };
    }
    Err(anyhow!(
        "version {} of component configuration {} kept changing while publishing; run the publish again",
        t.version,
        t.name
    ))
}

/// What one act did.
struct Acted {
    attempt: Attempt,
    items: Vec<Item>,
    answer: Option<ComponentVersion>,
    failure: Option<anyhow::Error>,
}

/// Carry out a writing step (create, upload, delete-failed). Create and upload failures
/// are handed back for the next observation to judge.
async fn act(
    ctx: &Context,
    t: Target<'_>,
    id: &mut Option<String>,
    step: Step,
    state: &VersionState,
) -> anyhow::Result<Acted> {
    let mut acted = Acted {
        attempt: Attempt::Created,
        items: Vec::new(),
        answer: None,
        failure: None,
    };
    match step {
        Step::Create => {
            let cid = match id.clone() {
                Some(i) => i,
                None => {
                    let (i, it) = ensure_component(ctx, t.name).await?;
                    acted.items.push(it);
                    i
                }
            };
            *id = Some(cid.clone());
            ctx.progress
                .stage(&format!("creating version {}", t.version));
            match ctx.client.create_component_version(&cid, t.version).await {
                Ok(v) => {
                    acted
                        .items
                        .push(version_item(ctx, t, Some(&cid), Action::Created));
                    acted.answer = Some(v);
                }
                Err(e) => {
                    acted.attempt = Attempt::CreateFailed;
                    acted.failure = Some(e.into());
                }
            }
        }
        Step::Upload(link) => match upload(ctx, t, &link).await {
            Ok(it) => {
                acted.attempt = Attempt::Uploaded;
                acted.items.push(it);
            }
            Err(e) => {
                acted.attempt = Attempt::UploadFailed;
                acted.failure = Some(e);
            }
        },
        _ => {
            acted.attempt = Attempt::DeletedFailed;
            acted
                .items
                .push(delete_failed(ctx, t, id.as_deref(), state).await?);
        }
    }
    Ok(acted)
}

/// The dry run: the step a real run would take first, as an item.
pub async fn plan(ctx: &Context, t: Target<'_>, policy: Policy) -> anyhow::Result<Item> {
    let id = ctx.client.find_component(t.name).await?.map(|c| c.id);
    let state = observe(ctx, id.as_deref(), t.name, t.version, t.archive).await?;
    let what = crate::publish::module::package::archive_summary(t.archive);
    let item = |action| version_item(ctx, t, id.as_deref(), action);
    Ok(match decide(&Observed { state, last: None }, policy) {
        Step::Create if id.is_none() => item(Action::Planned).detail(format!(
            "would create the component configuration and upload {what}"
        )),
        Step::Create => item(Action::Planned).detail(what),
        Step::Upload(_) => {
            item(Action::Planned).detail(format!("found in status pending; would upload {what}"))
        }
        Step::DeleteFailed => item(Action::Planned).detail(format!(
            "failed; would delete it, create it again and upload {what}"
        )),
        Step::Wait => item(Action::Exists).detail("found being parsed; would wait for it"),
        Step::Done => item(Action::Exists).detail("already published with identical content"),
        Step::Refuse(r) => return Err(refusal(t, r, None)),
    })
}

fn version_item(ctx: &Context, t: Target<'_>, id: Option<&str>, action: Action) -> Item {
    let it = Item::new(ItemKind::ComponentVersion, t.name, action).version(t.version);
    match id {
        Some(id) => it.url(format!("{}/versions/{}", component_url(ctx, id), t.version)),
        None => it,
    }
}

async fn upload(ctx: &Context, t: Target<'_>, link: &SecretUrl) -> anyhow::Result<Item> {
    let a = t.archive;
    let label = format!("{}-{}.tar.gz", t.name, t.version);
    ctx.progress.mask(link.expose().as_str());
    ctx.client
        .upload_file(link, &a.path, &label, ctx.progress.as_ref())
        .await?;
    Ok(Item::new(ItemKind::File, label, Action::Uploaded)
        .detail(format!("{} bytes, sha256 {}", a.size, a.sha256)))
}

async fn delete_failed(
    ctx: &Context,
    t: Target<'_>,
    id: Option<&str>,
    state: &VersionState,
) -> anyhow::Result<Item> {
    let id = id.ok_or_else(|| anyhow!("the component has no id"))?;
    let why = match state {
        VersionState::Failed { why, .. } => why.clone(),
        _ => String::new(),
    };
    ctx.progress
        .stage(&format!("deleting failed version {}", t.version));
    ctx.client
        .delete_component_version(id, t.version)
        .await
        .with_context(|| format!("deleting failed version {} of {}", t.version, t.name))?;
    Ok(
        Item::new(ItemKind::ComponentVersion, t.name, Action::Deleted)
            .version(t.version)
            .detail(format!("was failed: {why}")),
    )
}

fn refusal(t: Target<'_>, r: Refusal, failure: Option<anyhow::Error>) -> anyhow::Error {
    let failure = || failure.unwrap_or_else(|| anyhow!("the registry refused the write"));
    match r {
        Refusal::Failed { status, why } => super::error::ComponentError::Failed {
            name: t.name.to_string(),
            version: t.version.to_string(),
            status: status.to_string(),
            why,
        }
        .into(),
        Refusal::OtherContent { differs } => conflict(t.name, t.version, differs).into(),
        Refusal::CreateFailed => {
            failure().context(format!("creating version {} of {}", t.version, t.name))
        }
        Refusal::UploadFailed => {
            failure().context(format!("uploading the archive of {} {}", t.name, t.version))
        }
    }
}
