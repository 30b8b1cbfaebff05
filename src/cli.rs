//! The command line: clap types, dispatch, output, exit codes.
//!
//! Exit codes: 0 = success or nothing to do, 1 = failure, 2 = usage error.
//! Results go to stdout (human lines, or one JSON document with `--json`); progress,
//! warnings and errors go to stderr.

// Printing and exiting are allowed here only until the CLI is split into args/render.
#![allow(clippy::print_stdout, clippy::print_stderr, clippy::exit)]

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context as _;
use clap::{Args, CommandFactory, Parser, Subcommand};

use tfpub_core::api::{Client, ClientOptions, VersionChange};
use tfpub_core::config::{self, Environment, Target, TargetFlags};
use tfpub_core::error::{chain_messages, find_hint, hinted};
use tfpub_core::publish::module::{CoreOptions, ModulePublishRequest};
use tfpub_core::publish::provider::{ProviderInput, ProviderRequest};
use tfpub_core::publish::sync::SyncRequest;
use tfpub_core::publish::Context;
use tfpub_core::report::{Action, ErrorInfo, Item, ItemKind, Outcome, OutcomeKind, Progress};
use tfpub_core::secret::Secret;

const EXAMPLES: &str = "\
Examples:
  # try it with no account: publish the sample module into the embedded registry
  tfpub --local module publish testdata/modules/terraform-null-greeting --version 1.0.0

  # publish to HCP Terraform (token from TF_TOKEN_app_terraform_io, TFE_TOKEN or terraform login)
  tfpub --organization acme module publish ./terraform-aws-vpc

  # publish a goreleaser dist/ folder as a private provider
  TFPUB_GPG_PRIVATE_KEY=\"$(cat key.asc)\" tfpub --organization acme provider publish dist/

  # publish every semver tag the registry lacks
  tfpub --organization acme module sync .

Exit codes: 0 success or nothing to do, 1 failure, 2 usage error.";

/// Publish Terraform modules and providers to HCP Terraform / Terraform Enterprise
/// private registries, or to tfpub's embedded local registry.
#[derive(Debug, Parser)]
#[command(name = "tfpub", version, after_help = EXAMPLES)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args, Clone)]
pub struct GlobalArgs {
    /// Use the embedded local registry (no account needed). Its data lives in the user data
    /// folder unless --data is given. Never chosen silently.
    #[arg(long, global = true)]
    pub local: bool,
    /// Registry host (HCP Terraform or Terraform Enterprise), e.g. tfe.example.com.
    /// Default: TFE_HOSTNAME, else app.terraform.io. Plain http only for loopback hosts.
    #[arg(long, global = true, value_name = "HOST")]
    pub host: Option<String>,
    /// Organization (the registry namespace). Default: TFE_ORGANIZATION.
    #[arg(long, visible_alias = "org", global = true, value_name = "NAME")]
    pub organization: Option<String>,
    /// Extra CA certificate (PEM) for a Terraform Enterprise with a private CA.
    /// Default: SSL_CERT_FILE.
    #[arg(long, global = true, value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,
    /// Data folder of the embedded registry (with --local or `registry serve`).
    #[arg(long, global = true, value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// Print one JSON result document (schema tfpub.result/v1) on stdout.
    #[arg(long, global = true)]
    pub json: bool,
    /// Log every request (method, path, status, time), secrets redacted.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show which registry, organization and token source tfpub would use, and check them.
    #[command(after_help = "Example:\n  TFE_ORGANIZATION=acme tfpub whoami")]
    Whoami,
    /// Package, publish and manage modules.
    #[command(subcommand)]
    Module(ModuleCmd),
    /// Package and publish providers.
    #[command(subcommand)]
    Provider(ProviderCmd),
    /// Manage the registry's GPG keys, or generate a signing key.
    #[command(subcommand, name = "gpg-key")]
    GpgKey(GpgKeyCmd),
    /// Run the embedded registry.
    #[command(subcommand)]
    Registry(RegistryCmd),
    /// Print shell completions.
    #[command(after_help = "Example:\n  tfpub completions bash > /etc/bash_completion.d/tfpub")]
    Completions { shell: clap_complete::Shell },
    /// Helpers for CI systems.
    #[command(subcommand)]
    Ci(CiCmd),
}

#[derive(Debug, Subcommand)]
pub enum ModuleCmd {
    /// Publish a module version: package, create, upload, wait until `ok`.
    #[command(
        after_help = "Examples:\n  tfpub module publish ./terraform-aws-vpc --version 1.2.0\n  tfpub module publish            # in a repo: version from the tag at HEAD"
    )]
    Publish(ModulePublishArgs),
    /// Build the module archive offline (what publish would upload).
    #[command(after_help = "Example:\n  tfpub module package ./terraform-aws-vpc -o vpc.tar.gz")]
    Package {
        /// Module folder.
        dir: PathBuf,
        /// Output file.
        #[arg(short, long, required_unless_present = "dry_run")]
        output: Option<PathBuf>,
        /// List what would be packed, excluded and warned about.
        #[arg(long)]
        dry_run: bool,
    },
    /// Publish every semver tag of a repository that the registry lacks.
    #[command(
        after_help = "Examples:\n  tfpub module sync .\n  tfpub module sync . --dry-run --since 1.0.0\n  tfpub module sync . vpc          # one module of tfpub.toml"
    )]
    Sync(ModuleSyncArgs),
    /// List a module's versions with status, deprecation and revocation.
    #[command(after_help = "Example:\n  tfpub module versions vpc/aws")]
    Versions {
        /// NAME/PROVIDER
        module: String,
    },
    /// Deprecate a version (consumers get a warning).
    #[command(
        after_help = "Example:\n  tfpub module deprecate vpc/aws 1.0.0 --reason \"use 2.x\" --link https://example.com/upgrade"
    )]
    Deprecate {
        module: String,
        version: String,
        #[arg(long)]
        reason: Option<String>,
        #[arg(long)]
        link: Option<String>,
    },
    /// Remove a deprecation.
    Undeprecate { module: String, version: String },
    /// Revoke a (deprecated) version: new consumers cannot use it.
    Revoke {
        module: String,
        version: String,
        #[arg(long)]
        reason: Option<String>,
        #[arg(long)]
        link: Option<String>,
    },
    /// Revert a revocation (the version goes back to deprecated).
    Unrevoke { module: String, version: String },
    /// Delete a module, or one version of it.
    #[command(after_help = "Example:\n  tfpub module delete vpc/aws 1.0.1 --yes")]
    Delete {
        module: String,
        version: Option<String>,
        /// Do not ask for confirmation.
        #[arg(long, short)]
        yes: bool,
    },
}

#[derive(Debug, Args)]
pub struct ModulePublishArgs {
    /// Module folder (default: the current folder).
    pub dir: Option<PathBuf>,
    /// Module name (default: from the folder name terraform-<PROVIDER>-<NAME>).
    #[arg(long)]
    pub name: Option<String>,
    /// Module provider (default: from the folder name).
    #[arg(long)]
    pub provider: Option<String>,
    /// Version (default: the semver tag at HEAD, `v` prefix allowed).
    #[arg(long)]
    pub version: Option<String>,
    /// Commit SHA recorded on the version (default: HEAD).
    #[arg(long)]
    pub commit_sha: Option<String>,
    /// Mark the module as a no-code module when creating it.
    #[arg(long)]
    pub no_code: bool,
    /// Run every check and print the plan; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// How long to wait for the registry to report the version `ok` (seconds).
    #[arg(long, default_value_t = 300, value_name = "SECONDS")]
    pub timeout: u64,
    /// Publish even if the working tree has uncommitted changes.
    #[arg(long)]
    pub allow_dirty: bool,
    /// Delete a version left in a failed state and publish it again.
    #[arg(long)]
    pub replace_failed: bool,
    /// Tag prefix for the version at HEAD (monorepos: e.g. vpc/).
    #[arg(long, default_value = "")]
    pub tag_prefix: String,
    /// With a tfpub.toml in DIR: publish only this module (NAME or NAME/PROVIDER);
    /// without it, every configured module is published.
    #[arg(long, value_name = "NAME[/PROVIDER]")]
    pub module: Option<String>,
}

#[derive(Debug, Args)]
pub struct ModuleSyncArgs {
    /// Repository (default: the current folder).
    pub repo: Option<PathBuf>,
    /// Only this module of tfpub.toml (NAME or NAME/PROVIDER).
    pub module: Option<String>,
    /// Module path inside the repository (without tfpub.toml).
    #[arg(long)]
    pub path: Option<PathBuf>,
    #[arg(long)]
    pub name: Option<String>,
    #[arg(long)]
    pub provider: Option<String>,
    /// Tag prefix, e.g. vpc/ for tags like vpc/v1.2.0.
    #[arg(long)]
    pub tag_prefix: Option<String>,
    /// Ignore versions lower than this.
    #[arg(long)]
    pub since: Option<String>,
    /// Publish at most N versions (oldest first).
    #[arg(long)]
    pub max: Option<usize>,
    /// Print the plan: which tags, which already published, which skipped and why.
    #[arg(long)]
    pub dry_run: bool,
    #[arg(long, default_value_t = 300, value_name = "SECONDS")]
    pub timeout: u64,
    /// Delete versions left in a failed state and publish them again.
    #[arg(long)]
    pub replace_failed: bool,
}

#[derive(Debug, Args)]
pub struct ProviderFilesArgs {
    /// A goreleaser dist/ folder, or a folder of OS_ARCH/terraform-provider-NAME* binaries.
    pub path: Option<PathBuf>,
    /// A raw binary for one platform: OS_ARCH=FILE (repeatable).
    #[arg(long = "binary", value_name = "OS_ARCH=FILE")]
    pub binaries: Vec<String>,
    /// Provider name (the NAME of terraform-provider-NAME).
    #[arg(long)]
    pub name: Option<String>,
    /// Version (default: from the dist/ file names).
    #[arg(long)]
    pub version: Option<String>,
    /// Plugin protocols, e.g. 6.0 (framework) or 5.0 (SDKv2); default: the manifest's.
    #[arg(long, value_delimiter = ',')]
    pub protocols: Vec<String>,
    /// ASCII-armored secret key file (default: TFPUB_GPG_PRIVATE_KEY).
    #[arg(long, value_name = "FILE")]
    pub gpg_key: Option<PathBuf>,
    /// File holding the key's passphrase (default: TFPUB_GPG_PASSPHRASE).
    #[arg(long, value_name = "FILE")]
    pub passphrase_file: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum ProviderCmd {
    /// Publish a provider version with all its platforms.
    #[command(
        after_help = "Examples:\n  tfpub provider publish dist/\n  tfpub provider publish --name demo --version 1.0.0 --protocols 6.0 \\\n      --binary linux_amd64=bin/linux/terraform-provider-demo --binary darwin_arm64=bin/mac/terraform-provider-demo"
    )]
    Publish {
        #[command(flatten)]
        files: ProviderFilesArgs,
        #[arg(long)]
        dry_run: bool,
        /// Uploads in flight at once (platform records are all created together).
        #[arg(long, default_value_t = 8)]
        concurrency: usize,
    },
    /// Build the release files offline: zips, manifest, SHA256SUMS and its signature.
    #[command(
        after_help = "Example:\n  tfpub provider package --name demo --version 1.0.0 --protocols 6.0 --binary linux_amd64=./terraform-provider-demo -o release/"
    )]
    Package {
        #[command(flatten)]
        files: ProviderFilesArgs,
        #[arg(short, long)]
        output: PathBuf,
    },
    /// List a provider's versions.
    Versions { name: String },
    /// Delete a provider, or one version of it.
    Delete {
        name: String,
        version: Option<String>,
        #[arg(long, short)]
        yes: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum GpgKeyCmd {
    /// Generate an RSA 4096 signing key the registry accepts.
    #[command(
        after_help = "Example:\n  TFPUB_GPG_PASSPHRASE=... tfpub gpg-key generate --user-id \"Acme Releases <releases@acme.test>\" -o signing-key.asc"
    )]
    Generate {
        #[arg(long)]
        user_id: String,
        /// Where to write the secret key (created with mode 0600; never overwritten).
        #[arg(short, long)]
        output: PathBuf,
    },
    /// List the registry's keys in the organization's namespace.
    List,
    /// Register an ASCII-armored public key.
    Add { file: PathBuf },
    /// Delete a key by its 16-hex-digit ID.
    Delete {
        key_id: String,
        #[arg(long, short)]
        yes: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum RegistryCmd {
    /// Serve the embedded registry (management API, archivist, terraform's protocol).
    #[command(
        after_help = "Example:\n  tfpub registry serve --listen 127.0.0.1:8080 --data ./registry-data"
    )]
    Serve {
        /// Address to listen on. Non-loopback addresses require --tokens.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: std::net::SocketAddr,
        /// JSON file mapping tokens to organizations: {"TOKEN": ["org"]}.
        #[arg(long, value_name = "FILE")]
        tokens: Option<PathBuf>,
        /// Base URL written into links (behind a proxy).
        #[arg(long)]
        public_url: Option<url::Url>,
    },
}

#[derive(Debug, Subcommand)]
pub enum CiCmd {
    /// Write GitHub Actions outputs and a step summary from a --json result file.
    GithubReport {
        #[arg(long)]
        result: PathBuf,
    },
}

/// Entry point used by `main.rs`; returns the process exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { 2 } else { 0 };
        }
    };
    run(cli)
}

/// Run a parsed command line.
pub fn run(cli: Cli) -> i32 {
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: starting the async runtime: {e}");
            return 1;
        }
    };
    let json = cli.global.json;
    let command_name = command_name(&cli.command);
    let progress: Arc<dyn Progress> = Arc::new(CliProgress::new());
    let res = rt.block_on(dispatch(&cli, progress.clone()));
    match res {
        Ok(outcome) => {
            print_outcome(&outcome, json);
            if outcome.ok {
                0
            } else {
                1
            }
        }
        Err(err) => {
            let mut o = Outcome::new(command_name);
            o.ok = false;
            o.outcome = OutcomeKind::Failed;
            let msgs = chain_messages(&err);
            let hint = find_hint(&err).or_else(|| {
                err.chain()
                    .find_map(|c| c.downcast_ref::<tfpub_registry::RegistryError>())
                    .and_then(tfpub_registry::RegistryError::hint)
            });
            o.error = Some(ErrorInfo {
                message: msgs.first().cloned().unwrap_or_default(),
                causes: msgs.iter().skip(1).cloned().collect(),
                hint: hint.clone(),
            });
            if json {
                println!("{}", o.to_json());
            }
            let mut s = String::new();
            s.push_str(&format!(
                "error: {}\n",
                msgs.first().cloned().unwrap_or_default()
            ));
            for c in msgs.iter().skip(1) {
                s.push_str(&format!("  caused by: {c}\n"));
            }
            if let Some(h) = hint {
                s.push_str(&format!("  hint: {h}\n"));
            }
            eprint!("{s}");
            1
        }
    }
}

fn command_name(c: &Command) -> String {
    match c {
        Command::Whoami => "whoami".into(),
        Command::Module(m) => format!(
            "module {}",
            match m {
                ModuleCmd::Publish(_) => "publish",
                ModuleCmd::Package { .. } => "package",
                ModuleCmd::Sync(_) => "sync",
                ModuleCmd::Versions { .. } => "versions",
                ModuleCmd::Deprecate { .. } => "deprecate",
                ModuleCmd::Undeprecate { .. } => "undeprecate",
                ModuleCmd::Revoke { .. } => "revoke",
                ModuleCmd::Unrevoke { .. } => "unrevoke",
                ModuleCmd::Delete { .. } => "delete",
            }
        ),
        Command::Provider(p) => format!(
            "provider {}",
            match p {
                ProviderCmd::Publish { .. } => "publish",
                ProviderCmd::Package { .. } => "package",
                ProviderCmd::Versions { .. } => "versions",
                ProviderCmd::Delete { .. } => "delete",
            }
        ),
        Command::GpgKey(_) => "gpg-key".into(),
        Command::Registry(_) => "registry serve".into(),
        Command::Completions { .. } => "completions".into(),
        Command::Ci(_) => "ci github-report".into(),
    }
}

fn print_outcome(o: &Outcome, json: bool) {
    if json {
        println!("{}", o.to_json());
    } else {
        print!("{}", o.to_human());
    }
    let _ = std::io::stdout().flush();
}

/// Progress on stderr: a plain line per event in CI or when not on a terminal, a
/// redrawn transfer line on a terminal. `NO_COLOR` is honoured (no colour is used).
struct CliProgress {
    tty: bool,
    github: bool,
    last: Mutex<std::collections::HashMap<String, (u64, u64)>>,
}

impl CliProgress {
    fn new() -> Self {
        let ci = std::env::var_os("CI").is_some() || std::env::var_os("GITHUB_ACTIONS").is_some();
        CliProgress {
            tty: std::io::stderr().is_terminal() && !ci,
            github: std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true"),
            last: Mutex::new(Default::default()),
        }
    }
}

impl Progress for CliProgress {
    fn stage(&self, message: &str) {
        eprintln!("tfpub: {message}");
    }
    fn transfer_start(&self, id: &str, total: u64) {
        self.last
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id.to_string(), (0, total));
        if !self.tty {
            eprintln!("tfpub: uploading {id} ({total} bytes)");
        }
    }
    fn transfer_progress(&self, id: &str, sent: u64) {
        if !self.tty {
            return;
        }
        let mut m = self.last.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(e) = m.get_mut(id) {
            e.0 = sent;
            let pct = (sent * 100).checked_div(e.1).unwrap_or(100);
            eprint!(
                "\r\x1b[2Ktfpub: uploading {id}: {pct}% ({sent}/{} bytes)",
                e.1
            );
        }
    }
    fn transfer_done(&self, id: &str) {
        if self.tty {
            eprint!("\r\x1b[2K");
        }
        eprintln!("tfpub: uploaded {id}");
    }
    fn warn(&self, message: &str) {
        if self.github {
            eprintln!(
                "::warning title=tfpub::{}",
                message.replace('%', "%25").replace('\n', "%0A")
            );
        } else {
            eprintln!("warning: {message}");
        }
    }
    fn mask(&self, secret: &str) {
        if self.github {
            // Registered with the runner's masking before the value is used anywhere.
            eprintln!("::add-mask::{secret}");
        }
    }
}

/// A resolved target plus, for --local, the in-process registry that serves it.
struct Session {
    ctx: Context,
    registry: Option<tfpub_registry::RunningRegistry>,
}

impl Session {
    async fn close(self) {
        if let Some(r) = self.registry {
            r.shutdown().await;
        }
    }
}

fn local_data_dir(g: &GlobalArgs) -> anyhow::Result<PathBuf> {
    if let Some(d) = &g.data {
        return Ok(d.clone());
    }
    let base = dirs::data_dir().ok_or_else(|| {
        hinted(
            "cannot find a user data folder for the embedded registry",
            "pass --data DIR",
        )
    })?;
    Ok(base.join("tfpub").join("registry"))
}

async fn open_session(g: &GlobalArgs, progress: Arc<dyn Progress>) -> anyhow::Result<Session> {
    let env = Environment::from_process();
    let (target, registry) = if g.local {
        if g.host.is_some() {
            return Err(hinted(
                "--local and --host both given",
                "use --local for the embedded registry, or --host for a remote one",
            ));
        }
        let data = local_data_dir(g)?;
        let reg = tfpub_registry::start(
            tfpub_registry::RegistryOptions::new(&data),
            std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
        )
        .await
        .with_context(|| format!("starting the embedded registry on {}", data.display()))?;
        let org = g
            .organization
            .clone()
            .or_else(|| env.vars.get("TFE_ORGANIZATION").cloned())
            .unwrap_or_else(|| "local".to_string());
        (config::local_target(reg.base_url(), org), Some(reg))
    } else {
        let flags = TargetFlags {
            host: g.host.clone(),
            organization: g.organization.clone(),
            ca_cert: g.ca_cert.clone(),
        };
        (config::resolve(&flags, &env)?, None)
    };
    let mut opts = ClientOptions::default();
    if g.verbose > 0 {
        opts.log = Some(Arc::new(|line: &str| eprintln!("tfpub: http: {line}")));
    }
    let client = Client::new(&target, opts)?;
    Ok(Session {
        ctx: Context {
            client,
            target,
            progress,
        },
        registry,
    })
}

fn confirm(what: &str, yes: bool) -> anyhow::Result<()> {
    if yes {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        return Err(hinted(
            format!("refusing to {what} without confirmation"),
            "pass --yes to confirm in a script",
        ));
    }
    eprint!("{what}? Type 'yes' to confirm: ");
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    if line.trim() == "yes" {
        Ok(())
    } else {
        Err(hinted("not confirmed", "type yes, or pass --yes"))
    }
}

fn env_secret(name: &str) -> Option<Secret<String>> {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .map(Secret::new)
}

fn provider_request(
    files: &ProviderFilesArgs,
    dry_run: bool,
    concurrency: usize,
) -> anyhow::Result<ProviderRequest> {
    let input = if !files.binaries.is_empty() {
        if files.path.is_some() {
            return Err(hinted(
                "both a PATH and --binary given",
                "give either a dist/ folder, a folder of binaries, or --binary flags",
            ));
        }
        let bins = files
            .binaries
            .iter()
            .map(|b| tfpub_core::package::provider::parse_binary_arg(b))
            .collect::<Result<Vec<_>, _>>()?;
        ProviderInput::Binaries(bins)
    } else {
        let p = files.path.clone().ok_or_else(|| {
            hinted(
                "no release files given",
                "pass a goreleaser dist/ folder, a folder of OS_ARCH/ binaries, or --binary OS_ARCH=FILE",
            )
        })?;
        if !p.is_dir() {
            return Err(hinted(
                format!("{} is not a folder", p.display()),
                "pass a goreleaser dist/ folder or a folder of OS_ARCH/ binaries",
            ));
        }
        let is_dist = std::fs::read_dir(&p)
            .with_context(|| format!("reading {}", p.display()))?
            .filter_map(|e| e.ok())
            .any(|e| e.file_name().to_string_lossy().ends_with("_SHA256SUMS"));
        if is_dist {
            ProviderInput::Dist(p)
        } else {
            ProviderInput::BinariesDir(p)
        }
    };
    let signer = tfpub_core::publish::provider::load_signer(
        files.gpg_key.as_deref(),
        env_secret("TFPUB_GPG_PRIVATE_KEY"),
        files.passphrase_file.as_deref(),
        env_secret("TFPUB_GPG_PASSPHRASE"),
    )?;
    Ok(ProviderRequest {
        input,
        name: files.name.clone(),
        version: files.version.clone(),
        protocols: files.protocols.clone(),
        signer,
        dry_run,
        concurrency,
    })
}

async fn dispatch(cli: &Cli, progress: Arc<dyn Progress>) -> anyhow::Result<Outcome> {
    let g = &cli.global;
    match &cli.command {
        Command::Completions { shell } => {
            let mut cmd = Cli::command();
            clap_complete::generate(*shell, &mut cmd, "tfpub", &mut std::io::stdout());
            std::process::exit(0);
        }
        Command::Ci(CiCmd::GithubReport { result }) => {
            let text = std::fs::read_to_string(result)
                .with_context(|| format!("reading the result file {}", result.display()))?;
            let out = std::env::var_os("GITHUB_OUTPUT").map(PathBuf::from);
            let sum = std::env::var_os("GITHUB_STEP_SUMMARY").map(PathBuf::from);
            let lines = tfpub_core::gha::github_report(&text, out.as_deref(), sum.as_deref())?;
            for l in lines {
                println!("{l}");
            }
            std::process::exit(0);
        }
        Command::Module(ModuleCmd::Package {
            dir,
            output,
            dry_run,
        }) => {
            let out = output.clone().unwrap_or_default();
            return tfpub_core::publish::module::package(
                dir,
                &out,
                *dry_run,
                None,
                progress.as_ref(),
            );
        }
        Command::Provider(ProviderCmd::Package { files, output }) => {
            let req = provider_request(files, false, 1)?;
            return tfpub_core::publish::provider::package(&req, output);
        }
        Command::GpgKey(GpgKeyCmd::Generate { user_id, output }) => {
            return gpg_generate(user_id, output);
        }
        Command::Registry(RegistryCmd::Serve {
            listen,
            tokens,
            public_url,
        }) => {
            return serve(g, *listen, tokens.as_deref(), public_url.clone()).await;
        }
        _ => {}
    }

    // Commands that talk to a registry.
    let session = open_session(g, progress.clone()).await?;
    let res = with_session(cli, &session.ctx).await;
    session.close().await;
    res
}

async fn with_session(cli: &Cli, ctx: &Context) -> anyhow::Result<Outcome> {
    match &cli.command {
        Command::Whoami => whoami(ctx).await,
        Command::Module(ModuleCmd::Publish(a)) => {
            let req = ModulePublishRequest {
                dir: a.dir.clone().unwrap_or_else(|| PathBuf::from(".")),
                name: a.name.clone(),
                provider: a.provider.clone(),
                version: a.version.clone(),
                commit_sha: a.commit_sha.clone(),
                no_code: a.no_code,
                dry_run: a.dry_run,
                timeout: Duration::from_secs(a.timeout),
                allow_dirty: a.allow_dirty,
                replace_failed: a.replace_failed,
                tag_prefix: a.tag_prefix.clone(),
                max_size: None,
            };
            if a.name.is_none() && a.provider.is_none() {
                if let Some(cfg) = tfpub_core::project::ProjectConfig::load(&req.dir)? {
                    return tfpub_core::publish::module::publish_configured(
                        ctx,
                        &req,
                        cfg,
                        a.module.as_deref(),
                    )
                    .await;
                }
            }
            if let Some(m) = &a.module {
                return Err(tfpub_core::error::hinted(
                    format!("--module {m} needs a tfpub.toml in {}", req.dir.display()),
                    "run from the repository root that holds tfpub.toml, or drop --module",
                ));
            }
            tfpub_core::publish::module::publish(ctx, &req).await
        }
        Command::Module(ModuleCmd::Sync(a)) => {
            let repo_path = a.repo.clone().unwrap_or_else(|| PathBuf::from("."));
            let repo = tfpub_core::git::Repo::discover(&repo_path).with_context(|| {
                format!("opening the git repository at {}", repo_path.display())
            })?;
            let modules = tfpub_core::publish::sync::modules_for(
                &repo,
                a.module.as_deref(),
                a.path.as_deref(),
                a.name.as_deref(),
                a.provider.as_deref(),
                a.tag_prefix.as_deref(),
            )?;
            let since = a
                .since
                .as_deref()
                .map(tfpub_core::publish::parse_version)
                .transpose()?;
            let req = SyncRequest {
                repo: repo.root().to_path_buf(),
                modules,
                since,
                max: a.max,
                dry_run: a.dry_run,
                core: CoreOptions {
                    timeout: Duration::from_secs(a.timeout),
                    replace_failed: a.replace_failed,
                    no_code: false,
                    module_known: false,
                },
            };
            tfpub_core::publish::sync::sync(ctx, &req).await
        }
        Command::Module(ModuleCmd::Versions { module }) => {
            tfpub_core::publish::module::versions(ctx, module).await
        }
        Command::Module(ModuleCmd::Deprecate {
            module,
            version,
            reason,
            link,
        }) => {
            let ch = VersionChange::Deprecate {
                reason: reason.clone(),
                link: link.clone(),
            };
            tfpub_core::publish::module::change(ctx, module, version, ch, "deprecate").await
        }
        Command::Module(ModuleCmd::Undeprecate { module, version }) => {
            tfpub_core::publish::module::change(
                ctx,
                module,
                version,
                VersionChange::Undeprecate,
                "undeprecate",
            )
            .await
        }
        Command::Module(ModuleCmd::Revoke {
            module,
            version,
            reason,
            link,
        }) => {
            let ch = VersionChange::Revoke {
                reason: reason.clone(),
                link: link.clone(),
            };
            tfpub_core::publish::module::change(ctx, module, version, ch, "revoke").await
        }
        Command::Module(ModuleCmd::Unrevoke { module, version }) => {
            tfpub_core::publish::module::change(
                ctx,
                module,
                version,
                VersionChange::Unrevoke,
                "unrevoke",
            )
            .await
        }
        Command::Module(ModuleCmd::Delete {
            module,
            version,
            yes,
        }) => {
            let what = match version {
                Some(v) => format!("delete version {v} of module {module}"),
                None => format!("delete module {module} and all its versions"),
            };
            confirm(&what, *yes)?;
            tfpub_core::publish::module::delete(ctx, module, version.as_deref()).await
        }
        Command::Provider(ProviderCmd::Publish {
            files,
            dry_run,
            concurrency,
        }) => {
            let req = provider_request(files, *dry_run, *concurrency)?;
            tfpub_core::publish::provider::publish(ctx, &req).await
        }
        Command::Provider(ProviderCmd::Versions { name }) => {
            let mut o = Outcome::new("provider versions");
            o.target = Some(ctx.target_info());
            let id = format!("{}/{name}", ctx.org());
            for v in ctx.client.list_provider_versions(name).await? {
                o.push(
                    Item::new(ItemKind::ProviderVersion, &id, Action::Exists)
                        .version(&v.version)
                        .url(ctx.provider_url(name, Some(&v.version)))
                        .detail(format!(
                            "key {}, protocols {}",
                            v.key_id,
                            v.protocols.join(",")
                        )),
                );
            }
            Ok(o)
        }
        Command::Provider(ProviderCmd::Delete { name, version, yes }) => {
            let id = format!("{}/{name}", ctx.org());
            let mut o = Outcome::new("provider delete");
            o.target = Some(ctx.target_info());
            match version {
                Some(v) => {
                    confirm(&format!("delete version {v} of provider {id}"), *yes)?;
                    ctx.client.delete_provider_version(name, v).await?;
                    o.push(Item::new(ItemKind::ProviderVersion, &id, Action::Deleted).version(v));
                }
                None => {
                    confirm(&format!("delete provider {id} and all its versions"), *yes)?;
                    ctx.client.delete_provider(name).await?;
                    o.push(Item::new(ItemKind::Provider, &id, Action::Deleted));
                }
            }
            o.outcome = OutcomeKind::Deleted;
            Ok(o)
        }
        Command::GpgKey(GpgKeyCmd::List) => {
            let mut o = Outcome::new("gpg-key list");
            o.target = Some(ctx.target_info());
            for k in ctx.client.list_gpg_keys(ctx.org()).await? {
                o.push(
                    Item::new(ItemKind::GpgKey, &k.key_id, Action::Exists)
                        .detail(format!("namespace {}", k.namespace)),
                );
            }
            Ok(o)
        }
        Command::GpgKey(GpgKeyCmd::Add { file }) => {
            let armor = std::fs::read_to_string(file)
                .with_context(|| format!("reading the public key {}", file.display()))?;
            let k = ctx.client.add_gpg_key(ctx.org(), &armor).await?;
            let mut o = Outcome::new("gpg-key add");
            o.target = Some(ctx.target_info());
            o.outcome = OutcomeKind::Updated;
            o.push(Item::new(ItemKind::GpgKey, &k.key_id, Action::Created));
            Ok(o)
        }
        Command::GpgKey(GpgKeyCmd::Delete { key_id, yes }) => {
            confirm(&format!("delete GPG key {key_id}"), *yes)?;
            ctx.client.delete_gpg_key(ctx.org(), key_id).await?;
            let mut o = Outcome::new("gpg-key delete");
            o.target = Some(ctx.target_info());
            o.outcome = OutcomeKind::Deleted;
            o.push(Item::new(ItemKind::GpgKey, key_id, Action::Deleted));
            Ok(o)
        }
        _ => unreachable!("handled before a session is opened"),
    }
}

async fn whoami(ctx: &Context) -> anyhow::Result<Outcome> {
    let t: &Target = &ctx.target;
    let mut o = Outcome::new("whoami");
    o.target = Some(ctx.target_info());
    o.push(
        Item::new(ItemKind::File, "host", Action::Exists)
            .detail(format!("{} (from {})", t.host, t.host_source)),
    );
    o.push(
        Item::new(ItemKind::File, "organization", Action::Exists)
            .detail(format!("{} (from {})", t.organization, t.org_source)),
    );
    o.push(
        Item::new(ItemKind::File, "token", Action::Exists)
            .detail(format!("from {}", t.token_source)),
    );
    if let Some(ca) = &t.ca_cert {
        o.push(
            Item::new(ItemKind::File, "ca-cert", Action::Exists).detail(ca.display().to_string()),
        );
    }
    let ping = ctx
        .client
        .preflight()
        .await
        .context("checking the token and the organization")?;
    o.push(Item::new(ItemKind::File, "access", Action::Exists).detail(
        format!("ok{}", ping.api_version.map(|v| format!(", API {v}")).unwrap_or_default()),
    ));
    Ok(o)
}

fn gpg_generate(user_id: &str, output: &Path) -> anyhow::Result<Outcome> {
    if output.exists() {
        return Err(hinted(
            format!("{} already exists", output.display()),
            "choose another --output; tfpub never overwrites a key file",
        ));
    }
    let pass = env_secret("TFPUB_GPG_PASSPHRASE");
    let key = tfpub_core::sign::generate(user_id, pass.as_ref())?;
    let tmp = output.with_extension("tmp-tfpub");
    {
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts
            .open(&tmp)
            .with_context(|| format!("creating {}", tmp.display()))?;
        f.write_all(key.secret_armored.expose().as_bytes())?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, output)?;
    let public = output.with_extension("pub.asc");
    std::fs::write(&public, &key.public_armored)
        .with_context(|| format!("writing {}", public.display()))?;
    let mut o = Outcome::new("gpg-key generate");
    o.outcome = OutcomeKind::Updated;
    o.push(
        Item::new(ItemKind::GpgKey, &key.key_id, Action::Created).detail(format!(
            "secret key in {} (mode 0600), public key in {}",
            output.display(),
            public.display()
        )),
    );
    Ok(o)
}

async fn serve(
    g: &GlobalArgs,
    listen: std::net::SocketAddr,
    tokens: Option<&Path>,
    public_url: Option<url::Url>,
) -> anyhow::Result<Outcome> {
    let data = local_data_dir(g)?;
    let mut opts = tfpub_registry::RegistryOptions::new(&data);
    if let Some(t) = tokens {
        opts.tokens = Some(tfpub_registry::load_tokens_file(t)?);
    }
    opts.public_url = public_url;
    let reg = tfpub_registry::start(opts, listen).await?;
    let base = reg.base_url();
    eprintln!("tfpub: registry serving {} on {base}", data.display());
    eprintln!(
        "tfpub: to install from it with terraform, put this in a file and point TF_CLI_CONFIG_FILE at it:\n{}",
        tfpub_registry::cli_config_snippet("registry.tfpub.localhost", &base)
    );
    eprintln!("tfpub: press Ctrl-C to stop");
    tokio::signal::ctrl_c().await.ok();
    reg.shutdown().await;
    let mut o = Outcome::new("registry serve");
    o.outcome = OutcomeKind::NothingToDo;
    Ok(o)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn module_publish_flags_parse() {
        let cli = Cli::try_parse_from([
            "tfpub",
            "--local",
            "module",
            "publish",
            "dir",
            "--version",
            "1.2.3",
            "--json",
        ])
        .unwrap();
        assert!(cli.global.local && cli.global.json);
        match cli.command {
            Command::Module(ModuleCmd::Publish(a)) => {
                assert_eq!(a.version.as_deref(), Some("1.2.3"));
                assert_eq!(a.dir.as_deref(), Some(Path::new("dir")));
            }
            other => panic!("parsed as {other:?}"),
        }
    }
}
