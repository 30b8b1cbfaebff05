//! The registry operations on the command line: `module list|show|pull`,
//! `provider list|show|pull` and `registry copy` (their clap arguments, help examples,
//! and the calls into `tfpub_core::commands::{list, show, pull}` and
//! `tfpub_core::publish::copy`). Like the rest of the binary, nothing here does work.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use clap::Args;

use tfpub_core::commands::ops_error::OpsError;
use tfpub_core::commands::{list, pull, show};
use tfpub_core::config::{self, Environment, TargetFlags};
use tfpub_core::publish::copy::{self, CopyRequest};
use tfpub_core::publish::Context;
use tfpub_core::report::{Outcome, Progress};

use super::args::GlobalArgs;
use super::online;

/// List the organization's private modules.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  tfpub module list\n  tfpub module list -q vpc --provider aws\n  tfpub --json module list | jq -r '.items[].id'"
)]
pub struct ModuleListArgs {
    /// Search text (matches name, namespace and provider).
    #[arg(short, long = "query", value_name = "TEXT")]
    pub q: Option<String>,
    /// Only modules of this provider (e.g. aws).
    #[arg(long)]
    pub provider: Option<String>,
}

/// Show a module: status, no-code, VCS link, test config, and every version with its
/// status, commit, deprecation and revocation.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  tfpub module show vpc/aws\n  tfpub --json module show vpc/aws"
)]
pub struct ModuleShowArgs {
    /// NAME/PROVIDER
    pub module: String,
}

/// Download a module version's archive (as terraform would) to a file.
#[derive(Debug, Args)]
#[command(after_help = "Example:\n  tfpub module pull vpc/aws 1.2.0 -o vpc-1.2.0.tar.gz")]
pub struct ModulePullArgs {
    /// NAME/PROVIDER
    pub module: String,
    pub version: String,
    /// The file to write (replaced atomically).
    #[arg(short, long, value_name = "FILE")]
    pub output: PathBuf,
}

/// List the organization's private providers with their versions.
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  tfpub provider list\n  tfpub provider list -q demo")]
pub struct ProviderListArgs {
    /// Search text (matches name and namespace).
    #[arg(short, long = "query", value_name = "TEXT")]
    pub q: Option<String>,
}

/// Show a provider's versions: key id, protocols, and every platform with its file name
/// and SHA-256.
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  tfpub provider show demo\n  tfpub provider show demo 1.0.0")]
pub struct ProviderShowArgs {
    pub name: String,
    pub version: Option<String>,
}

/// Download a provider version (every platform zip, SHA256SUMS and its signature), each
/// file verified as terraform verifies it, into a folder `provider publish` accepts.
#[derive(Debug, Args)]
#[command(after_help = "Example:\n  tfpub provider pull demo 1.0.0 -o dist/")]
pub struct ProviderPullArgs {
    pub name: String,
    pub version: String,
    /// The folder to write into (created if missing).
    #[arg(short, long, value_name = "DIR")]
    pub output: PathBuf,
}

pub async fn module_list(
    g: &GlobalArgs,
    a: &ModuleListArgs,
    progress: Arc<dyn Progress>,
) -> anyhow::Result<Outcome> {
    let (q, p) = (a.q.as_deref(), a.provider.as_deref());
    online(g, progress, async |ctx| list::modules(ctx, q, p).await).await
}

pub async fn module_show(
    g: &GlobalArgs,
    a: &ModuleShowArgs,
    progress: Arc<dyn Progress>,
) -> anyhow::Result<Outcome> {
    online(g, progress, async |ctx| show::module(ctx, &a.module).await).await
}

pub async fn module_pull(
    g: &GlobalArgs,
    a: &ModulePullArgs,
    progress: Arc<dyn Progress>,
) -> anyhow::Result<Outcome> {
    online(g, progress, async |ctx| {
        pull::module(ctx, &a.module, &a.version, &a.output).await
    })
    .await
}

pub async fn provider_list(
    g: &GlobalArgs,
    a: &ProviderListArgs,
    progress: Arc<dyn Progress>,
) -> anyhow::Result<Outcome> {
    online(g, progress, async |ctx| {
        list::providers(ctx, a.q.as_deref()).await
    })
    .await
}

pub async fn provider_show(
    g: &GlobalArgs,
    a: &ProviderShowArgs,
    progress: Arc<dyn Progress>,
) -> anyhow::Result<Outcome> {
    online(g, progress, async |ctx| {
        show::provider(ctx, &a.name, a.version.as_deref()).await
    })
    .await
}

pub async fn provider_pull(
    g: &GlobalArgs,
    a: &ProviderPullArgs,
    progress: Arc<dyn Progress>,
) -> anyhow::Result<Outcome> {
    online(g, progress, async |ctx| {
        pull::provider(ctx, &a.name, &a.version, &a.output).await
    })
    .await
}

/// Copy every module and provider version from one registry to another, converging:
/// what the target has with the same content is skipped, conflicts are reported and
/// skipped, a re-run finishes an interrupted copy.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  tfpub registry copy --from tfe.example.com/acme --to app.terraform.io/acme --dry-run\n  tfpub registry copy --from tfe.example.com/acme --to app.terraform.io/acme --modules --only vpc/aws\n  tfpub registry copy --from http://127.0.0.1:8080/local --to app.terraform.io/acme\n\nCredentials per host, as for every command: TF_TOKEN_<host>, the credentials file of\n`terraform login`, else TFE_TOKEN."
)]
pub struct RegistryCopyArgs {
    /// The source: HOST/ORGANIZATION (http:// only for loopback hosts).
    #[arg(long, value_name = "HOST/ORG")]
    pub from: String,
    /// The target: HOST/ORGANIZATION.
    #[arg(long, value_name = "HOST/ORG")]
    pub to: String,
    /// Copy modules (without --modules or --providers: both).
    #[arg(long)]
    pub modules: bool,
    /// Copy providers.
    #[arg(long)]
    pub providers: bool,
    /// Only these modules (NAME or NAME/PROVIDER) and providers (NAME).
    #[arg(long, value_name = "NAME", num_args = 1..)]
    pub only: Vec<String>,
    /// Show what would be copied; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// How long to wait for each module version to become `ok` in the target (seconds).
    #[arg(long, default_value_t = 300, value_name = "SECONDS")]
    pub timeout: u64,
}

/// HOST/ORG → (host, organization).
fn split_ref(s: &str) -> anyhow::Result<(String, String)> {
    let bad = || OpsError::BadRegistryRef {
        input: s.to_string(),
    };
    let t = s.trim_end_matches('/');
    let (host, org) = t.rsplit_once('/').ok_or_else(bad)?;
    if host.is_empty() || org.is_empty() || host.ends_with(':') || host.ends_with(":/") {
        return Err(bad().into());
    }
    Ok((host.to_string(), org.to_string()))
}

/// The context of one side of a copy: its own host, organization and token.
async fn side(g: &GlobalArgs, r: &str, progress: Arc<dyn Progress>) -> anyhow::Result<Context> {
    let (host, org) = split_ref(r)?;
    let flags = TargetFlags {
        host: Some(host),
        organization: Some(org),
        ca_cert: g.ca_cert.clone(),
    };
    let target = config::resolve(&flags, &Environment::from_process())?;
    super::session::context(g, target, progress).await
}

pub async fn registry_copy(
    g: &GlobalArgs,
    a: &RegistryCopyArgs,
    progress: Arc<dyn Progress>,
) -> anyhow::Result<Outcome> {
    let given = [
        (g.local, "--local"),
        (g.host.is_some(), "--host"),
        (g.organization.is_some(), "--organization"),
        (g.data.is_some(), "--data"),
    ];
    if let Some((_, flag)) = given.iter().find(|(on, _)| *on) {
        return Err(OpsError::CopyGlobalFlag {
            flag: flag.to_string(),
        }
        .into());
    }
    let from = side(g, &a.from, progress.clone()).await.context("--from")?;
    let to = side(g, &a.to, progress).await.context("--to")?;
    let req = CopyRequest {
        modules: a.modules,
        providers: a.providers,
        only: a.only.clone(),
        dry_run: a.dry_run,
        timeout: Duration::from_secs(a.timeout),
    };
    copy::copy(&from, &to, &req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_refs_split_at_the_last_slash() {
        let r = split_ref("http://127.0.0.1:8080/acme").unwrap();
        assert_eq!(r, ("http://127.0.0.1:8080".into(), "acme".into()));
        let r = split_ref("app.terraform.io/acme/").unwrap();
        assert_eq!(r, ("app.terraform.io".into(), "acme".into()));
        for bad in ["acme", "/acme", "app.terraform.io/", "http://acme"] {
            assert!(split_ref(bad).is_err(), "{bad}");
        }
    }
}
