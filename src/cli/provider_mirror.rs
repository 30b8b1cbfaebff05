//! `tfpub provider mirror`: its clap arguments and its dispatch into
//! [`tfpub_core::publish::provider::mirror`].

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use clap::Args;

use tfpub_core::publish::provider::mirror::{self, MirrorRequest};
use tfpub_core::report::{Outcome, Progress};
use tfpub_core::sign::PublicKey;

use super::args::GlobalArgs;
use super::error::CliError;

#[derive(Debug, Args)]
pub struct MirrorArgs {
    /// A folder holding one upstream release as its release site lays it out (zips,
    /// _SHA256SUMS, _SHA256SUMS.sig or _SHA256SUMS.<KEYID8>.sig, _manifest.json); with
    /// --recursive, a tree of such folders.
    pub source_dir: PathBuf,
    /// The registry namespace to publish into: the organization (private providers
    /// live in their organization's namespace). Default: --organization.
    #[arg(long, value_name = "NS")]
    pub namespace: Option<String>,
    /// Only the releases of this provider (the NAME of terraform-provider-NAME).
    #[arg(long)]
    pub name: Option<String>,
    /// The upstream's ASCII-armored public key; every release must be signed by it
    /// (HashiCorp's provider key is 34365D9472D7468F).
    #[arg(long, value_name = "KEY.asc")]
    pub public_key: PathBuf,
    /// Protocols for a release without a _manifest.json, e.g. 5.0,6.0.
    #[arg(long, value_delimiter = ',')]
    pub protocols: Vec<String>,
    /// Walk SOURCE_DIR for every release folder under it; only what the registry lacks
    /// is uploaded.
    #[arg(long)]
    pub recursive: bool,
    /// Check every release and show what would be created and uploaded.
    #[arg(long)]
    pub dry_run: bool,
    /// Uploads in flight at once.
    #[arg(long, default_value_t = 8)]
    pub concurrency: usize,
}

/// Runs `provider mirror` against the target of `g` (the organization defaulting to
/// `--namespace`).
pub async fn run(
    g: &GlobalArgs,
    a: &MirrorArgs,
    progress: Arc<dyn Progress>,
) -> anyhow::Result<Outcome> {
    let armored = std::fs::read_to_string(&a.public_key)
        .with_context(|| format!("reading the public key {}", a.public_key.display()))?;
    let key = PublicKey::from_armored(&armored)
        .with_context(|| format!("loading the public key {}", a.public_key.display()))?;
    let req = MirrorRequest {
        source: a.source_dir.clone(),
        name: a.name.clone(),
        key,
        protocols: a.protocols.clone(),
        recursive: a.recursive,
        dry_run: a.dry_run,
        concurrency: a.concurrency,
    };
    let mut g = g.clone();
    if g.organization.is_none() {
        g.organization.clone_from(&a.namespace);
    }
    super::online(&g, progress, async |ctx| {
        if let Some(ns) = a.namespace.as_deref().filter(|ns| *ns != ctx.org()) {
            return Err(CliError::NamespaceMismatch {
                namespace: ns.to_string(),
                organization: ctx.org().to_string(),
            }
            .into());
        }
        mirror::mirror(ctx, &req).await
    })
    .await
}
