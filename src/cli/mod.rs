//! The command line: parse, dispatch once, render, and hand an exit [`Status`] to `main`.
//!
//! Exit codes: 0 = success or nothing to do, 1 = failure, 2 = usage error, 130 = stopped
//! by Ctrl-C.
//! Results go to stdout (human lines, or one JSON document with `--json`); progress,
//! warnings and errors go to stderr.
//!
//! - `args.rs`: clap types and their conversion into the library's request structs.
//! - `render.rs`: all output; the only module that prints.
//! - `session.rs`: the target a command talks to, and the embedded registry's lifecycle.
//! - `provider_mirror.rs`, `gpg_key.rs`: the arguments and dispatch of `provider mirror`,
//!   and of `gpg-key ...` / `whoami --gpg-key`.
//!
//! Every command is a library call (`tfpub_core::commands`, `tfpub_core::publish`); this
//! module only routes to it.

mod args;
mod component;
mod configure;
mod error;
mod gpg_key;
mod module_test;
mod ops;
mod provider_mirror;
mod render;
mod session;
mod speed;

use std::sync::Arc;

use clap::Parser;

use tfpub_core::commands;
use tfpub_core::publish::{self, Context};
use tfpub_core::report::{Outcome, Progress};

use args::{CiCmd, Cli, Command, GlobalArgs, ModuleCmd, ProviderCmd, RegistryCmd};
use session::Session;

/// How the command ended; `main` turns it into the process exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Success or nothing to do (also `--help` and `--version`).
    Success,
    /// The command failed, or a batch had a failure.
    Failure,
    /// The command line itself was wrong.
    Usage,
    /// Stopped by Ctrl-C (the shells' 128 + SIGINT).
    Interrupted,
}

impl Status {
    pub fn code(self) -> u8 {
        match self {
            Status::Success => 0,
            Status::Failure => 1,
            Status::Usage => 2,
            Status::Interrupted => 130,
        }
    }
}

/// What a command produced: a result to render, or output it already wrote itself
/// (completion scripts, `ci github-report` lines).
enum Reply {
    Outcome(Box<Outcome>),
    Printed,
}

/// Entry point used by `main.rs`.
pub fn main() -> Status {
    match Cli::try_parse() {
        Ok(cli) => run(cli),
        Err(e) if render::usage(&e) => Status::Usage,
        Err(_) => Status::Success,
    }
}

/// Runs a parsed command line: one dispatch, then one rendering of its result or error.
fn run(cli: Cli) -> Status {
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            render::fatal(&format!("starting the async runtime: {e}"));
            return Status::Failure;
        }
    };
    let json = cli.global.json;
    let progress: Arc<dyn Progress> = Arc::new(render::CliProgress::new());
    let reply = rt.block_on(async {
        tokio::select! {
            r = dispatch(&cli, progress) => Some(r),
            () = unclaimed_ctrl_c() => None,
        }
    });
    let Some(reply) = reply else {
        let err = anyhow::anyhow!("interrupted (Ctrl-C)");
        render::failure(cli.command.name(), &err, json);
        return Status::Interrupted;
    };
    match reply {
        Ok(Reply::Printed) => Status::Success,
        Ok(Reply::Outcome(o)) => {
            render::outcome(&o, json);
            if o.ok {
                Status::Success
            } else {
                Status::Failure
            }
        }
        Err(err) => {
            render::failure(cli.command.name(), &err, json);
            Status::Failure
        }
    }
}

/// Resolves at a Ctrl-C that no stage claimed ([`tfpub_core::interrupt`]): a module test
/// run cancels itself in the registry, `registry serve` shuts down cleanly; anything else
/// is stopped where it is (dropping the command's future removes its temp files).
async fn unclaimed_ctrl_c() {
    loop {
        if tokio::signal::ctrl_c().await.is_err() {
            return std::future::pending().await;
        }
        if !tfpub_core::interrupt::claimed() {
            return;
        }
    }
}

/// The one match over [`Command`].
async fn dispatch(cli: &Cli, progress: Arc<dyn Progress>) -> anyhow::Result<Reply> {
    let g = &cli.global;
    let outcome = match &cli.command {
        Command::Completions { shell } => {
            render::completions(*shell);
            return Ok(Reply::Printed);
        }
        Command::Man { dir } => {
            render::man(dir.as_deref())?;
            return Ok(Reply::Printed);
        }
        Command::Ci(CiCmd::GithubReport { result }) => {
            let out = std::env::var_os("GITHUB_OUTPUT").map(std::path::PathBuf::from);
            let sum = std::env::var_os("GITHUB_STEP_SUMMARY").map(std::path::PathBuf::from);
            let lines = commands::ci::github_report(result, out.as_deref(), sum.as_deref())?;
            render::lines(&lines);
            return Ok(Reply::Printed);
        }
        Command::Ci(CiCmd::GitlabReport {
            result,
            dotenv,
            junit,
        }) => {
            let lines = commands::ci::gitlab_report(result, dotenv, junit)?;
            render::lines(&lines);
            return Ok(Reply::Printed);
        }
        Command::Registry(RegistryCmd::Serve {
            listen,
            tokens,
            public_url,
            tls_cert,
            tls_key,
            terraform,
            ingest_delay,
            rate_limit,
        }) => {
            let tls = tls_cert
                .clone()
                .zip(tls_key.clone())
                .map(|(cert, key)| tfpub_registry::TlsFiles { cert, key });
            let serve = session::Serve {
                tokens: tokens.as_deref(),
                public_url: public_url.clone(),
                tls,
                terraform: terraform.clone(),
                ingest_delay: *ingest_delay,
                rate_limit: *rate_limit,
            };
            session::serve(g, *listen, serve).await?
        }
        Command::Registry(RegistryCmd::Copy(a)) => ops::registry_copy(g, a, progress).await?,
        Command::Whoami { gpg_key } => gpg_key::whoami(g, gpg_key.as_deref(), progress).await?,
        Command::Module(m) => module(g, m, progress).await?,
        Command::Component(c) => component::run(g, c, progress).await?,
        Command::Provider(p) => provider(g, p, progress).await?,
        Command::GpgKey(k) => gpg_key::run(g, k, progress).await?,
    };
    Ok(Reply::Outcome(Box::new(outcome)))
}

/// Runs `f` against the target of the global flags; with `--local`, the embedded
/// registry lives exactly as long as `f`.
async fn online<F>(g: &GlobalArgs, progress: Arc<dyn Progress>, f: F) -> anyhow::Result<Outcome>
where
    F: AsyncFnOnce(&Context) -> anyhow::Result<Outcome>,
{
    let session = Session::open(g, progress).await?;
    let res = f(&session.ctx).await;
    session.close().await;
    res
}

async fn module(
    g: &GlobalArgs,
    m: &ModuleCmd,
    progress: Arc<dyn Progress>,
) -> anyhow::Result<Outcome> {
    use commands::module as cmd;
    match m {
        ModuleCmd::Package {
            dir,
            output,
            dry_run,
        } => {
            let out = output.clone().unwrap_or_default();
            publish::module::package(dir, &out, *dry_run, None, progress.as_ref())
        }
        ModuleCmd::Publish(a) => {
            let req = a.request();
            let only = a.module.as_deref();
            online(g, progress, async |ctx| cmd::publish(ctx, &req, only).await).await
        }
        ModuleCmd::Sync(a) => {
            let opts = a.options();
            online(g, progress, async |ctx| cmd::sync(ctx, &opts).await).await
        }
        ModuleCmd::Test(a) => module_test::run_test(g, a, progress).await,
        ModuleCmd::Tests { module } => module_test::list_runs(g, module, progress).await,
        ModuleCmd::TestVars(c) => module_test::test_vars(g, c, progress).await,
        ModuleCmd::Versions { module } => {
            online(g, progress, async |ctx| {
                publish::module::versions(ctx, module).await
            })
            .await
        }
        ModuleCmd::Configure(a) => configure::module_configure(g, a, progress).await,
        ModuleCmd::Link(a) => configure::module_link(g, a, progress).await,
        ModuleCmd::Curate(a) => configure::curate(g, a, true, progress).await,
        ModuleCmd::Delete {
            module,
            version,
            yes,
        } => {
            let prompt = render::Prompt { yes: *yes };
            let version = version.as_deref();
            online(g, progress, async |ctx| {
                cmd::delete(ctx, module, version, &prompt).await
            })
            .await
        }
        ModuleCmd::Deprecate { .. }
        | ModuleCmd::Undeprecate { .. }
        | ModuleCmd::Revoke { .. }
        | ModuleCmd::Unrevoke { .. } => {
            let Some((module, version, change)) = m.version_change() else {
                anyhow::bail!(
                    "internal error: `module {}` is not a lifecycle command",
                    m.name()
                );
            };
            online(g, progress, async |ctx| {
                cmd::change(ctx, module, version, change).await
            })
            .await
        }
        ModuleCmd::List(a) => ops::module_list(g, a, progress).await,
        ModuleCmd::Show(a) => ops::module_show(g, a, progress).await,
        ModuleCmd::Pull(a) => ops::module_pull(g, a, progress).await,
    }
}

async fn provider(
    g: &GlobalArgs,
    p: &ProviderCmd,
    progress: Arc<dyn Progress>,
) -> anyhow::Result<Outcome> {
    use commands::provider as cmd;
    match p {
        ProviderCmd::Package { files, output } => {
            let req = cmd::request(files.files(), false, 1)?;
            publish::provider::package(&req, output)
        }
        ProviderCmd::Publish {
            files,
            dry_run,
            concurrency,
        } => {
            online(g, progress, async |ctx| {
                let req = cmd::request(files.files(), *dry_run, *concurrency)?;
                publish::provider::publish(ctx, &req).await
            })
            .await
        }
        ProviderCmd::Mirror(a) => provider_mirror::run(g, a, progress).await,
        ProviderCmd::Versions { name } => {
            online(g, progress, async |ctx| cmd::versions(ctx, name).await).await
        }
        ProviderCmd::Curate(a) => configure::curate(g, a, false, progress).await,
        ProviderCmd::Delete { name, version, yes } => {
            let prompt = render::Prompt { yes: *yes };
            let version = version.as_deref();
            online(g, progress, async |ctx| {
                cmd::delete(ctx, name, version, &prompt).await
            })
            .await
        }
        ProviderCmd::List(a) => ops::provider_list(g, a, progress).await,
        ProviderCmd::Show(a) => ops::provider_show(g, a, progress).await,
        ProviderCmd::Pull(a) => ops::provider_pull(g, a, progress).await,
    }
}
