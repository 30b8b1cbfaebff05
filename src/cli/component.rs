//! `tfpub component …`: the clap types of the Stack component configuration commands and
//! their dispatch (each a library call in `tfpub_core::publish::component` or
//! `tfpub_core::commands::component`).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Subcommand};

use tfpub_core::commands::component::{self as cmd, ComponentSyncOptions};
use tfpub_core::publish::component::{self as pipeline, ComponentPublishRequest};
use tfpub_core::report::{Outcome, Progress};

use super::args::{GlobalArgs, SyncWindowArgs};
use super::{online, render};

#[derive(Debug, Subcommand)]
pub enum ComponentCmd {
    /// Publish a Stack component configuration version: package, find or create the
    /// component by name, create the version, upload, wait until `completed`.
    #[command(
        after_help = "Examples:\n  tfpub component publish ./terraform-component-eks-cluster --version 1.0.0\n  tfpub component publish --name eks-cluster     # in a repo: version from the tag at HEAD\n  tfpub --local component publish testdata/stack-component --name web-stack --version 1.0.0"
    )]
    Publish(ComponentPublishArgs),
    /// Publish every semver tag the registry lacks, oldest first, from each tag's git
    /// tree (no checkout).
    #[command(
        after_help = "Examples:\n  tfpub component sync . --path stacks/web --name web-stack --tag-prefix web/\n  tfpub component sync            # tfpub.toml [[component]] entries, or the repository root\n  tfpub component sync --dry-run --since 1.2.0 --max 5"
    )]
    Sync(ComponentSyncArgs),
    /// List the organization's component configurations.
    #[command(
        after_help = "Examples:\n  tfpub component list\n  tfpub component list -q eks --json"
    )]
    List {
        /// Search text (matches names and namespaces).
        #[arg(short, long, value_name = "TEXT")]
        q: Option<String>,
    },
    /// List a component configuration's versions with their status and error.
    #[command(after_help = "Example:\n  tfpub component versions eks-cluster")]
    Versions { name: String },
    /// Delete a version, or the whole component configuration when no VERSION is given.
    #[command(
        after_help = "Examples:\n  tfpub component delete eks-cluster 1.0.0 --yes\n  tfpub component delete eks-cluster --yes"
    )]
    Delete {
        name: String,
        version: Option<String>,
        /// Do not ask for confirmation (required without a terminal).
        #[arg(long)]
        yes: bool,
    },
}

impl ComponentCmd {
    pub fn name(&self) -> &'static str {
        match self {
            ComponentCmd::Publish(_) => "publish",
            ComponentCmd::Sync(_) => "sync",
            ComponentCmd::List { .. } => "list",
            ComponentCmd::Versions { .. } => "versions",
            ComponentCmd::Delete { .. } => "delete",
        }
    }
}

#[derive(Debug, Args)]
pub struct ComponentPublishArgs {
    /// Folder with the *.tfcomponent.hcl files at its root (default: the current folder).
    pub dir: Option<PathBuf>,
    /// Component configuration name (default: the folder name without terraform-component-).
    #[arg(long)]
    pub name: Option<String>,
    /// Version (default: the semver tag at HEAD, `v` prefix allowed).
    #[arg(long)]
    pub version: Option<String>,
    /// Run every check and print the plan; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// How long to wait for the registry to report the version `completed` (seconds).
    #[arg(long, default_value_t = 300, value_name = "SECONDS")]
    pub timeout: u64,
    /// Publish even if the working tree has uncommitted changes.
    #[arg(long)]
    pub allow_dirty: bool,
    /// Delete a version left failed and publish it again.
    #[arg(long)]
    pub replace_failed: bool,
    /// Tag prefix for the version at HEAD (monorepos: e.g. web/).
    #[arg(long, default_value = "")]
    pub tag_prefix: String,
}

#[derive(Debug, Args)]
pub struct ComponentSyncArgs {
    /// Repository (default: the current folder).
    pub repo: Option<PathBuf>,
    /// Only this [[component]] of tfpub.toml (by name).
    #[arg(long)]
    pub component: Option<String>,
    /// Path of the configuration inside the repository (without tfpub.toml).
    #[arg(long)]
    pub path: Option<PathBuf>,
    #[arg(long)]
    pub name: Option<String>,
    /// Tag prefix, e.g. web/ for tags like web/v1.2.0.
    #[arg(long)]
    pub tag_prefix: Option<String>,
    #[command(flatten)]
    pub window: SyncWindowArgs,
    /// Delete versions left failed and publish them again.
    #[arg(long)]
    pub replace_failed: bool,
}

impl ComponentPublishArgs {
    fn request(&self) -> ComponentPublishRequest {
        ComponentPublishRequest {
            dir: self.dir.clone().unwrap_or_else(|| PathBuf::from(".")),
            name: self.name.clone(),
            version: self.version.clone(),
            dry_run: self.dry_run,
            timeout: Duration::from_secs(self.timeout),
            allow_dirty: self.allow_dirty,
            replace_failed: self.replace_failed,
            tag_prefix: self.tag_prefix.clone(),
            max_size: None,
        }
    }
}

impl ComponentSyncArgs {
    fn options(&self) -> ComponentSyncOptions {
        ComponentSyncOptions {
            repo: self.repo.clone().unwrap_or_else(|| PathBuf::from(".")),
            component: self.component.clone(),
            path: self.path.clone(),
            name: self.name.clone(),
            tag_prefix: self.tag_prefix.clone(),
            since: self.window.since.clone(),
            max: self.window.max,
            dry_run: self.window.dry_run,
            timeout: Duration::from_secs(self.window.timeout),
            replace_failed: self.replace_failed,
        }
    }
}

/// Dispatch of `tfpub component …`.
pub(super) async fn run(
    g: &GlobalArgs,
    c: &ComponentCmd,
    progress: Arc<dyn Progress>,
) -> anyhow::Result<Outcome> {
    match c {
        ComponentCmd::Publish(a) => {
            let req = a.request();
            online(g, progress, async |ctx| pipeline::publish(ctx, &req).await).await
        }
        ComponentCmd::Sync(a) => {
            let opts = a.options();
            online(g, progress, async |ctx| cmd::sync(ctx, &opts).await).await
        }
        ComponentCmd::List { q } => {
            let q = q.as_deref();
            online(g, progress, async |ctx| {
                pipeline::manage::list(ctx, q).await
            })
            .await
        }
        ComponentCmd::Versions { name } => {
            online(g, progress, async |ctx| {
                pipeline::manage::versions(ctx, name).await
            })
            .await
        }
        ComponentCmd::Delete { name, version, yes } => {
            let prompt = render::Prompt { yes: *yes };
            let version = version.as_deref();
            online(g, progress, async |ctx| {
                cmd::delete(ctx, name, version, &prompt).await
            })
            .await
        }
    }
}
