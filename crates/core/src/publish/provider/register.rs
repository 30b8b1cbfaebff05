//! Stage "register": the records the plan says are missing — the GPG key and the
//! provider (side by side: they do not depend on each other), the version, then every
//! platform record at once (small API calls; the client's rate limiter still applies).
//! A create that fails because a concurrent publisher created the same record first is
//! read back and accepted when it is what this release would have created.

use anyhow::Context as _;
use futures_util::future::try_join_all;

use super::decide::{Local, Plan, PlatformStep, Step};
use super::observe::Held;
use crate::api::{Platform, ProviderVersion};
use crate::publish::Context;
use crate::report::{Action, Item, ItemKind, Outcome};
use crate::sign::Signing;
use crate::vocab::{ProviderAddress, Sha256};

/// What every acting stage works from.
pub struct Acts<'a> {
    pub ctx: &'a Context,
    pub addr: &'a ProviderAddress,
    pub local: &'a Local<'a>,
    pub plan: &'a Plan,
    pub held: &'a Held,
}

/// Register the key and create the provider, as planned. Returns whether anything was
/// created; pushes one item for each.
pub async fn key_and_provider(
    a: &Acts<'_>,
    signer: &Signing,
    outcome: &mut Outcome,
) -> anyhow::Result<bool> {
    let (key, provider) = tokio::try_join!(key(a, signer), provider(a))?;
    let item = |kind, id: &str, created: bool| {
        Item::new(
            kind,
            id,
            if created {
                Action::Created
            } else {
                Action::Exists
            },
        )
    };
    outcome.push(item(ItemKind::GpgKey, a.local.key_id.as_str(), key));
    outcome.push(item(ItemKind::Provider, &a.local.id, provider));
    Ok(key || provider)
}

async fn key(a: &Acts<'_>, signer: &Signing) -> anyhow::Result<bool> {
    if a.plan.key == Step::Exists {
        return Ok(false);
    }
    let (ctx, key_id) = (a.ctx, &a.local.key_id);
    ctx.progress.stage(&format!("registering GPG key {key_id}"));
    let Err(e) = ctx
        .client
        .add_gpg_key(ctx.org(), &signer.public_key_armored())
        .await
    else {
        return Ok(true);
    };
    let again = ctx.client.list_gpg_keys(ctx.org()).await?;
    if again.iter().any(|k| k.key_id == *key_id) {
        return Ok(false);
    }
    Err(anyhow::Error::new(e).context(format!("registering GPG key {key_id}")))
}

async fn provider(a: &Acts<'_>) -> anyhow::Result<bool> {
    if a.plan.provider == Step::Exists {
        return Ok(false);
    }
    let (ctx, id) = (a.ctx, &a.local.id);
    ctx.progress.stage(&format!("creating provider {id}"));
    let Err(e) = ctx.client.create_provider(a.addr).await else {
        return Ok(true);
    };
    if ctx.client.get_provider(a.addr).await?.is_none() {
        return Err(anyhow::Error::new(e).context(format!("creating provider {id}")));
    }
    Ok(false)
}

/// The version record: the registered one, or created now (`true`). `url` is its page.
pub async fn version(
    a: &Acts<'_>,
    url: &str,
    outcome: &mut Outcome,
) -> anyhow::Result<(ProviderVersion, bool)> {
    let (ctx, l) = (a.ctx, a.local);
    let v = &l.version;
    if let (Step::Exists, Some(ev)) = (a.plan.version, &a.held.version) {
        outcome.push(Item::new(ItemKind::ProviderVersion, &l.id, Action::Exists).version(v));
        return Ok((ev.clone(), false));
    }
    ctx.progress.stage(&format!("creating version {v}"));
    let created = ctx
        .client
        .create_provider_version(a.addr, v, &l.key_id, l.protocols)
        .await;
    match created {
        Ok(created) => {
            outcome.push(
                Item::new(ItemKind::ProviderVersion, &l.id, Action::Created)
                    .version(v)
                    .url(url),
            );
            Ok((created, true))
        }
        // A concurrent publisher created it first: fine when signed with the same key.
        Err(e) => match ctx.client.get_provider_version(a.addr, v).await? {
            Some(found) if found.key_id == l.key_id => Ok((found, false)),
            _ => Err(anyhow::Error::new(e).context(format!("creating version {v} of {}", l.id))),
        },
    }
}

/// One platform's record, and whether it was created now.
pub struct Record {
    pub platform: Platform,
    pub created: bool,
}

/// The record of every local platform (in the order of `local.platforms`): the
/// registered ones, and the missing ones created all at once.
pub async fn platforms(a: &Acts<'_>) -> anyhow::Result<Vec<Record>> {
    let each = a
        .local
        .platforms
        .iter()
        .zip(&a.plan.platforms)
        .map(|(p, step)| async move {
            if let (PlatformStep::Done | PlatformStep::Upload, Some(e)) =
                (step, a.held.platform(&p.os, &p.arch))
            {
                return Ok(Record {
                    platform: e.clone(),
                    created: false,
                });
            }
            create_platform(a.ctx, a.addr, &a.local.version, p).await
        });
    try_join_all(each).await
}

/// Create the record of platform `p` of version `v` (a concurrent publisher's identical
/// record is accepted).
pub async fn create_platform(
    ctx: &Context,
    addr: &ProviderAddress,
    v: &str,
    p: &crate::package::provider::PlatformFile,
) -> anyhow::Result<Record> {
    let sha: Sha256 = p
        .sha256
        .parse()
        .with_context(|| format!("the checksum of {}", p.filename))?;
    let created = ctx
        .client
        .create_platform(addr, v, &p.os, &p.arch, &p.filename, &sha)
        .await;
    match created {
        Ok(platform) => Ok(Record {
            platform,
            created: true,
        }),
        Err(e) => match ctx.client.get_platform(addr, v, &p.os, &p.arch).await? {
            Some(found) if found.shasum == sha => Ok(Record {
                platform: found,
                created: false,
            }),
            _ => {
                Err(anyhow::Error::new(e).context(format!("creating platform {}_{}", p.os, p.arch)))
            }
        },
    }
}
