//! `tfpub gpg-key ...` and `tfpub whoami [--gpg-key FILE]`: dispatch into
//! [`tfpub_core::commands::gpg_key`] and [`tfpub_core::commands::whoami`].

use std::path::Path;
use std::sync::Arc;

use tfpub_core::commands::{self, gpg_key as cmd};
use tfpub_core::report::{Outcome, Progress};

use super::args::{self, GlobalArgs, GpgKeyCmd};
use super::{online, render};

/// The `gpg-key` subcommands.
pub async fn run(
    g: &GlobalArgs,
    k: &GpgKeyCmd,
    progress: Arc<dyn Progress>,
) -> anyhow::Result<Outcome> {
    match k {
        GpgKeyCmd::Generate { user_id, output } => {
            cmd::generate(user_id, output, args::env_secret("TFPUB_GPG_PASSPHRASE"))
        }
        GpgKeyCmd::List => online(g, progress, async |ctx| cmd::list(ctx).await).await,
        GpgKeyCmd::Add { file } => online(g, progress, async |ctx| cmd::add(ctx, file).await).await,
        GpgKeyCmd::Delete { key_id, yes, force } => {
            let prompt = render::Prompt { yes: *yes };
            online(g, progress, async |ctx| {
                cmd::delete(ctx, key_id, *force, &prompt).await
            })
            .await
        }
        GpgKeyCmd::Show { key_id } => {
            online(g, progress, async |ctx| cmd::show(ctx, key_id).await).await
        }
        GpgKeyCmd::Move { key_id, to, force } => {
            online(g, progress, async |ctx| {
                cmd::move_key(ctx, key_id, to, *force).await
            })
            .await
        }
        GpgKeyCmd::Usage => online(g, progress, async |ctx| cmd::usage(ctx).await).await,
    }
}

/// `whoami`, with the expiry of `--gpg-key FILE` when given.
pub async fn whoami(
    g: &GlobalArgs,
    key: Option<&Path>,
    progress: Arc<dyn Progress>,
) -> anyhow::Result<Outcome> {
    online(g, progress, async |ctx| {
        let mut o = commands::whoami::whoami(ctx).await?;
        if let Some(f) = key {
            cmd::key_report(ctx, &mut o, f).await?;
        }
        Ok(o)
    })
    .await
}
