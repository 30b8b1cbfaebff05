//! The registry a command talks to, and the embedded registry's lifecycle.
//!
//! A [`Session`] is a resolved target and its client; with `--local` it also owns the
//! embedded registry, started in-process on a loopback port for the length of one
//! command and shut down after it. `registry serve` runs the same registry in the
//! foreground until Ctrl-C. What either says to the user goes through `render`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context as _;

use tfpub_core::api::{Client, ClientOptions};
use tfpub_core::config::{self, Environment, Target, TargetFlags};
use tfpub_core::publish::Context;
use tfpub_core::report::{Outcome, OutcomeKind, Progress};
use tfpub_registry::{RegistryOptions, RunningRegistry, TlsFiles};

use super::args::GlobalArgs;
use super::error::CliError;
use super::render;

/// The context of a resolved `target`: after the proxy preflight, its client (logging
/// HTTP with -v).
pub(super) async fn context(
    g: &GlobalArgs,
    target: Target,
    progress: Arc<dyn Progress>,
) -> anyhow::Result<Context> {
    let mut opts = ClientOptions::default();
    if g.verbose > 0 {
        opts.log = Some(Arc::new(render::http_log));
    }
    tfpub_core::proxy::preflight(&target.base_url).await?;
    let client = Client::new(&target, opts)?;
    Ok(Context::new(client, target, progress))
}

/// A resolved target plus, for --local, the in-process registry that serves it.
pub struct Session {
    pub ctx: Context,
    registry: Option<RunningRegistry>,
}

impl Session {
    /// Resolves the target from the global flags and the environment (starting the
    /// embedded registry for --local) and builds its client.
    pub async fn open(g: &GlobalArgs, progress: Arc<dyn Progress>) -> anyhow::Result<Session> {
        let env = Environment::from_process();
        let (target, registry) = if g.local {
            let (target, reg) = start_local(g, &env).await?;
            (target, Some(reg))
        } else {
            let flags = TargetFlags {
                host: g.host.clone(),
                organization: g.organization.clone(),
                ca_cert: g.ca_cert.clone(),
            };
            (config::resolve(&flags, &env)?, None)
        };
        let ctx = context(g, target, progress).await?;
        Ok(Session { ctx, registry })
    }

    /// Stops the embedded registry, if this session started one.
    pub async fn close(self) {
        if let Some(r) = self.registry {
            r.shutdown().await;
        }
    }
}

/// `--local`: the embedded registry on a free loopback port, and its target.
async fn start_local(
    g: &GlobalArgs,
    env: &Environment,
) -> anyhow::Result<(Target, RunningRegistry)> {
    if g.host.is_some() {
        return Err(CliError::LocalAndHost.into());
    }
    let (org, source) = match (&g.organization, env.vars.get("TFE_ORGANIZATION")) {
        (Some(o), _) => (o.clone(), "--organization"),
        (None, Some(o)) => (o.clone(), "TFE_ORGANIZATION"),
        (None, None) => ("local".to_string(), "default"),
    };
    config::check_organization(&org, source)?;
    let data = local_data_dir(g)?;
    let reg = tfpub_registry::start(
        RegistryOptions::new(&data),
        SocketAddr::from(([127, 0, 0, 1], 0)),
    )
    .await
    .with_context(|| format!("starting the embedded registry on {}", data.display()))?;
    Ok((config::local_target(reg.base_url(), org), reg))
}

/// The embedded registry's data folder: --data, else `<user data>/tfpub/registry`.
fn local_data_dir(g: &GlobalArgs) -> anyhow::Result<PathBuf> {
    if let Some(d) = &g.data {
        return Ok(d.clone());
    }
    let base = dirs::data_dir().ok_or(CliError::NoDataDir)?;
    Ok(base.join("tfpub").join("registry"))
}

/// The options of `registry serve`.
pub struct Serve<'a> {
    pub tokens: Option<&'a Path>,
    pub public_url: Option<url::Url>,
    /// Serve https with this certificate and key.
    pub tls: Option<TlsFiles>,
    /// The terraform CLI module test runs use (`--terraform`).
    pub terraform: Option<PathBuf>,
    /// How long uploaded module versions stay `reg_ingressing` (`--ingest-delay`).
    pub ingest_delay: std::time::Duration,
    /// API requests per token per second past which it answers 429 (`--rate-limit`).
    pub rate_limit: Option<u32>,
}

/// `registry serve`: runs the embedded registry in the foreground until Ctrl-C.
pub async fn serve(g: &GlobalArgs, listen: SocketAddr, s: Serve<'_>) -> anyhow::Result<Outcome> {
    let data = local_data_dir(g)?;
    let mut opts = RegistryOptions::new(&data);
    if let Some(t) = s.tokens {
        opts = opts.with_grants(tfpub_registry::load_token_grants(t)?);
    }
    opts.public_url = s.public_url;
    opts.tls = s.tls;
    opts.terraform = s.terraform;
    opts.ingest_delay = s.ingest_delay;
    opts.rate_limit = s.rate_limit;
    let reg = tfpub_registry::start(opts, listen).await?;
    render::serving(&data, &reg.base_url());
    let _ctrl_c_shuts_down = tfpub_core::interrupt::Claim::new();
    tokio::signal::ctrl_c().await.ok();
    reg.shutdown().await;
    let mut o = Outcome::new("registry serve");
    o.outcome = OutcomeKind::NothingToDo;
    Ok(o)
}
