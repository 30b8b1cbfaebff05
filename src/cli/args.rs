//! The command line's vocabulary: the clap types (flags, help texts, examples) and their
//! conversion into the plain request structs the library takes. Nothing here does work
//! or prints; environment variables a flag defaults to are read here, once.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use tfpub_core::api::VersionChange;
use tfpub_core::commands::module::ModuleSyncOptions;
use tfpub_core::commands::provider::ProviderFiles;
use tfpub_core::publish::module::{CoreOptions, ModulePublishRequest};
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

Exit codes: 0 success or nothing to do, 1 failure, 2 usage error, 130 stopped by Ctrl-C.";

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
    #[command(
        after_help = "Examples:\n  TFE_ORGANIZATION=acme tfpub whoami\n  tfpub whoami --gpg-key signing-key.asc   # its expiry, and whether it is registered"
    )]
    Whoami {
        /// Also report this key's expiry (an armored public or secret key file; no
        /// passphrase needed) and whether the namespace holds it.
        #[arg(long, value_name = "FILE")]
        gpg_key: Option<PathBuf>,
    },
    /// Package, publish and manage modules.
    #[command(subcommand)]
    Module(ModuleCmd),
    /// Publish, sync and manage Stack component configurations.
    #[command(subcommand)]
    Component(super::component::ComponentCmd),
    /// Package, publish, mirror and manage providers.
    #[command(subcommand)]
    Provider(ProviderCmd),
    /// Manage the registry's GPG keys, or generate a signing key.
    #[command(subcommand, name = "gpg-key")]
    GpgKey(GpgKeyCmd),
    /// Run the embedded registry, or copy between registries.
    #[command(subcommand)]
    Registry(RegistryCmd),
    /// Print shell completions.
    #[command(after_help = "Example:\n  tfpub completions bash > /etc/bash_completion.d/tfpub")]
    Completions { shell: clap_complete::Shell },
    /// Print the man page (roff) on stdout; release builds ship it as tfpub.1.
    #[command(
        hide = true,
        after_help = "Examples:\n  tfpub man > tfpub.1 && man ./tfpub.1\n  tfpub man --dir man1   # tfpub.1, tfpub-module.1, tfpub-module-publish.1, ..."
    )]
    Man {
        /// Write one page per command (tfpub.1, tfpub-module-publish.1, ...) into DIR
        /// instead of printing tfpub.1.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
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
    List(super::ops::ModuleListArgs),
    Show(super::ops::ModuleShowArgs),
    /// List a module's versions with status, deprecation and revocation.
    #[command(after_help = "Example:\n  tfpub module versions vpc/aws")]
    Versions {
        /// NAME/PROVIDER
        module: String,
    },
    Pull(super::ops::ModulePullArgs),
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
    Undeprecate {
        module: String,
        version: String,
    },
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
    Unrevoke {
        module: String,
        version: String,
    },
    /// Delete a module, or one version of it.
    #[command(after_help = "Example:\n  tfpub module delete vpc/aws 1.0.1 --yes")]
    Delete {
        module: String,
        version: Option<String>,
        /// Do not ask for confirmation.
        #[arg(long, short)]
        yes: bool,
    },
    /// Run the module's tests (`terraform test`) in the registry, publishing nothing.
    #[command(after_help = super::module_test::TEST_EXAMPLES)]
    Test(super::module_test::ModuleTestArgs),
    /// List a module's recent test runs with status and counts.
    #[command(after_help = "Example:\n  tfpub module tests vpc/aws")]
    Tests {
        /// NAME/PROVIDER
        module: String,
    },
    /// Manage a module's test environment variables.
    #[command(subcommand)]
    TestVars(super::module_test::TestVarsCmd),
    /// Configure a module's tests and no-code settings.
    #[command(after_help = super::configure::CONFIGURE_EXAMPLES)]
    Configure(super::configure::ConfigureArgs),
    /// Create a module linked to a VCS repository (branch- or tag-based).
    #[command(after_help = super::configure::LINK_EXAMPLES)]
    Link(super::configure::LinkArgs),
    /// Add a public registry module to the organization's registry (HCP Terraform), or
    /// remove it.
    #[command(after_help = super::configure::MODULE_CURATE_EXAMPLES)]
    Curate(super::configure::CurateArgs),
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
    /// Make the module a no-code module (its no-code module enabled), after publishing.
    #[arg(long)]
    pub no_code: bool,
    /// With --no-code: pin the no-code module to the version just published.
    #[arg(long, requires = "no_code")]
    pub pin_latest: bool,
    /// For a VCS-linked, tag-based module: wait (up to --timeout) until the registry has
    /// ingested the version from its pushed tag, instead of refusing.
    #[arg(long)]
    pub wait_for_tag: bool,
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
    /// Publish this module archive (.tar.gz, module at the root) built elsewhere, as it
    /// is, instead of packaging a folder: for two-stage pipelines.
    #[arg(
        long,
        value_name = "FILE.tar.gz",
        conflicts_with_all = ["dir", "allow_dirty", "module"],
        requires_all = ["name", "provider", "version"]
    )]
    pub archive: Option<PathBuf>,
    /// Run the module's tests in the registry on the exact archive first; create the
    /// version only if they pass (see `tfpub module test`).
    #[arg(long)]
    pub require_tests: bool,
    #[command(flatten)]
    pub speed: super::speed::ConcurrencyArgs,
}

/// Which tags a sync publishes and how long it waits: shared by `module sync` and
/// `component sync`.
#[derive(Debug, Args)]
pub struct SyncWindowArgs {
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
    #[command(flatten)]
    pub window: SyncWindowArgs,
    /// Delete versions left in a failed state and publish them again.
    #[arg(long)]
    pub replace_failed: bool,
    /// Test each missing tag in the registry before publishing it; a tag whose tests
    /// fail is not published and is reported.
    #[arg(long)]
    pub require_tests: bool,
    #[command(flatten)]
    pub speed: super::speed::ConcurrencyArgs,
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
    /// Signed elsewhere: verify the dist's SHA256SUMS.sig with this ASCII-armored public
    /// key (registered if missing); no secret key needed.
    #[arg(long, value_name = "FILE", group = "public", conflicts_with_all = ["gpg_key", "passphrase_file", "key_id"])]
    pub public_key: Option<PathBuf>,
    /// Signed elsewhere: verify the dist's SHA256SUMS.sig with this key, already
    /// registered in the namespace; no secret key needed.
    #[arg(long, value_name = "ID", group = "public", conflicts_with_all = ["gpg_key", "passphrase_file"])]
    pub key_id: Option<String>,
    /// Sign SHA256SUMS by running this command (no shell): {file} is replaced by the
    /// SHA256SUMS path, {sig} by where the binary signature must be written; the result
    /// is verified with --public-key / --key-id before any upload.
    #[arg(long, value_name = "COMMAND", requires = "public")]
    pub sign_command: Option<String>,
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
    /// Publish upstream releases exactly as signed upstream (air-gapped mirrors).
    #[command(
        after_help = "Examples:\n  tfpub provider mirror ./null/3.2.2 --namespace acme --name null --public-key hashicorp.asc\n  tfpub provider mirror ./mirror --recursive --namespace acme --public-key hashicorp.asc"
    )]
    Mirror(super::provider_mirror::MirrorArgs),
    List(super::ops::ProviderListArgs),
    Show(super::ops::ProviderShowArgs),
    /// List a provider's versions.
    Versions {
        name: String,
    },
    Pull(super::ops::ProviderPullArgs),
    /// Delete a provider, or one version of it.
    Delete {
        name: String,
        version: Option<String>,
        #[arg(long, short)]
        yes: bool,
    },
    /// Add a public registry provider to the organization's registry (HCP Terraform), or
    /// remove it.
    #[command(after_help = super::configure::PROVIDER_CURATE_EXAMPLES)]
    Curate(super::configure::CurateArgs),
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
    /// Delete a key by its 16-hex-digit ID (refused while provider versions use it).
    #[command(after_help = "Example:\n  tfpub gpg-key delete 7272A3BE438F9A26 --yes")]
    Delete {
        key_id: String,
        #[arg(long, short)]
        yes: bool,
        /// Delete even though provider versions are signed by it (they are listed, and
        /// terraform init can no longer verify them).
        #[arg(long)]
        force: bool,
    },
    /// Show a registered key: algorithm, fingerprint, user ids, creation and expiry.
    #[command(after_help = "Example:\n  tfpub gpg-key show 7272A3BE438F9A26")]
    Show { key_id: String },
    /// Move a key to another namespace (refused while provider versions here use it).
    #[command(
        after_help = "Example:\n  tfpub --organization acme gpg-key move 7272A3BE438F9A26 --to acme-platform"
    )]
    Move {
        key_id: String,
        /// The namespace (organization) to move the key to.
        #[arg(long, value_name = "NAMESPACE")]
        to: String,
        /// Move even though provider versions of this namespace are signed by it.
        #[arg(long)]
        force: bool,
    },
    /// Which provider versions each key signs (and versions whose key is missing).
    #[command(after_help = "Example:\n  tfpub gpg-key usage")]
    Usage,
}

#[derive(Debug, Subcommand)]
pub enum RegistryCmd {
    /// Serve the embedded registry (management API, archivist, terraform's protocol).
    #[command(
        after_help = "Examples:\n  tfpub registry serve --listen 127.0.0.1:8080 --data ./registry-data\n  tfpub registry serve --listen 0.0.0.0:8443 --tokens tokens.json \\\n    --tls-cert server.crt --tls-key server.key\n  tfpub registry serve --ingest-delay 2s   # versions stay reg_ingressing 2 s, like HCP\n  tfpub registry serve --rate-limit 30     # 429 past 30 requests a second, like HCP"
    )]
    Serve {
        /// Address to listen on. Non-loopback addresses require --tokens.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: std::net::SocketAddr,
        /// JSON file mapping tokens to organizations: {"TOKEN": ["org"]}, or per token
        /// {"organizations": ["org"], "permissions": {"can-create-provider": false},
        /// "kind": "user", "expired-at": "2030-01-01T00:00:00Z",
        /// "private-module-registry": true} (permissions default to granted).
        #[arg(long, value_name = "FILE")]
        tokens: Option<PathBuf>,
        /// Base URL written into links (behind a proxy).
        #[arg(long)]
        public_url: Option<url::Url>,
        /// Serve https with this certificate (PEM: the server certificate, then any
        /// intermediates). Needs --tls-key.
        #[arg(long, value_name = "FILE", requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        /// The private key of --tls-cert (PEM, unencrypted: PKCS#8, PKCS#1 or SEC1).
        #[arg(long, value_name = "FILE", requires = "tls_cert")]
        tls_key: Option<PathBuf>,
        /// The terraform CLI that runs module tests (default: `terraform` on PATH).
        #[arg(long, value_name = "PATH")]
        terraform: Option<PathBuf>,
        /// Keep each uploaded module version `reg_ingressing` this long before it turns
        /// `ok`, as HCP Terraform ingests asynchronously (for tests and benchmarks).
        #[arg(long, value_name = "DURATION", default_value = "0s", value_parser = super::speed::parse_duration)]
        ingest_delay: Duration,
        /// Answer 429 past this many API requests per token in any one second, as HCP
        /// Terraform does past 30 (for tests and benchmarks; default: no limit).
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
        rate_limit: Option<u32>,
    },
    Copy(super::ops::RegistryCopyArgs),
}

#[derive(Debug, Subcommand)]
pub enum CiCmd {
    /// Write GitHub Actions outputs and a step summary from a --json result file.
    GithubReport {
        #[arg(long)]
        result: PathBuf,
    },
    /// Write GitLab CI reports from a --json result file: a dotenv file of outputs
    /// (PUBLISHED, VERSION, REGISTRY_URL), a JUnit XML report, and a collapsed log section.
    #[command(
        after_help = "Example:\n  tfpub --json module publish . > result.json; tfpub ci gitlab-report result.json"
    )]
    GitlabReport {
        /// The file `tfpub --json ...` wrote.
        #[arg(value_name = "RESULT.json")]
        result: PathBuf,
        /// The dotenv file (for `artifacts: reports: dotenv`).
        #[arg(long, value_name = "FILE", default_value = "tfpub.env")]
        dotenv: PathBuf,
        /// The JUnit XML file (for `artifacts: reports: junit`).
        #[arg(long, value_name = "FILE", default_value = "tfpub-junit.xml")]
        junit: PathBuf,
    },
}

impl Command {
    /// The command's name in the result document (`"module publish"`, `"whoami"`).
    pub fn name(&self) -> String {
        match self {
            Command::Whoami { .. } => "whoami".into(),
            Command::Module(m) => format!("module {}", m.name()),
            Command::Component(c) => format!("component {}", c.name()),
            Command::Provider(p) => format!("provider {}", p.name()),
            Command::GpgKey(_) => "gpg-key".into(),
            Command::Registry(RegistryCmd::Serve { .. }) => "registry serve".into(),
            Command::Registry(RegistryCmd::Copy(_)) => "registry copy".into(),
            Command::Completions { .. } => "completions".into(),
            Command::Man { .. } => "man".into(),
            Command::Ci(CiCmd::GithubReport { .. }) => "ci github-report".into(),
            Command::Ci(CiCmd::GitlabReport { .. }) => "ci gitlab-report".into(),
        }
    }
}

impl ModuleCmd {
    pub fn name(&self) -> &'static str {
        match self {
            ModuleCmd::Publish(_) => "publish",
            ModuleCmd::Package { .. } => "package",
            ModuleCmd::Sync(_) => "sync",
            ModuleCmd::Test(_) => "test",
            ModuleCmd::Tests { .. } => "tests",
            ModuleCmd::TestVars(_) => "test-vars",
            ModuleCmd::Versions { .. } => "versions",
            ModuleCmd::Deprecate { .. } => "deprecate",
            ModuleCmd::Undeprecate { .. } => "undeprecate",
            ModuleCmd::Revoke { .. } => "revoke",
            ModuleCmd::Unrevoke { .. } => "unrevoke",
            ModuleCmd::Delete { .. } => "delete",
            ModuleCmd::List(_) => "list",
            ModuleCmd::Show(_) => "show",
            ModuleCmd::Pull(_) => "pull",
            ModuleCmd::Configure(_) => "configure",
            ModuleCmd::Link(_) => "link",
            ModuleCmd::Curate(_) => "curate",
        }
    }

    /// The lifecycle change a `deprecate|undeprecate|revoke|unrevoke` asks for, with the
    /// module and version it names; `None` for the other module commands.
    pub fn version_change(&self) -> Option<(&str, &str, VersionChange)> {
        let (module, version, change) = match self {
            ModuleCmd::Deprecate {
                module,
                version,
                reason,
                link,
            } => (
                module,
                version,
                VersionChange::Deprecate {
                    reason: reason.clone(),
                    link: link.clone(),
                },
            ),
            ModuleCmd::Undeprecate { module, version } => {
                (module, version, VersionChange::Undeprecate)
            }
            ModuleCmd::Revoke {
                module,
                version,
                reason,
                link,
            } => (
                module,
                version,
                VersionChange::Revoke {
                    reason: reason.clone(),
                    link: link.clone(),
                },
            ),
            ModuleCmd::Unrevoke { module, version } => (module, version, VersionChange::Unrevoke),
            _ => return None,
        };
        Some((module, version, change))
    }
}

impl ProviderCmd {
    fn name(&self) -> &'static str {
        match self {
            ProviderCmd::Publish { .. } => "publish",
            ProviderCmd::Package { .. } => "package",
            ProviderCmd::Mirror(_) => "mirror",
            ProviderCmd::Versions { .. } => "versions",
            ProviderCmd::Delete { .. } => "delete",
            ProviderCmd::List(_) => "list",
            ProviderCmd::Show(_) => "show",
            ProviderCmd::Pull(_) => "pull",
            ProviderCmd::Curate(_) => "curate",
        }
    }
}

impl ModulePublishArgs {
    pub fn request(&self) -> ModulePublishRequest {
        ModulePublishRequest {
            dir: self.dir.clone().unwrap_or_else(|| PathBuf::from(".")),
            name: self.name.clone(),
            provider: self.provider.clone(),
            version: self.version.clone(),
            commit_sha: self.commit_sha.clone(),
            no_code: self.no_code,
            pin_latest: self.pin_latest,
            wait_for_tag: self.wait_for_tag,
            dry_run: self.dry_run,
            timeout: Duration::from_secs(self.timeout),
            allow_dirty: self.allow_dirty,
            replace_failed: self.replace_failed,
            tag_prefix: self.tag_prefix.clone(),
            max_size: None,
            archive: self.archive.clone(),
            require_tests: self.require_tests,
            concurrency: self.speed.concurrency,
        }
    }
}

impl ModuleSyncArgs {
    pub fn options(&self) -> ModuleSyncOptions {
        ModuleSyncOptions {
            repo: self.repo.clone().unwrap_or_else(|| PathBuf::from(".")),
            module: self.module.clone(),
            path: self.path.clone(),
            name: self.name.clone(),
            provider: self.provider.clone(),
            tag_prefix: self.tag_prefix.clone(),
            since: self.window.since.clone(),
            max: self.window.max,
            dry_run: self.window.dry_run,
            core: CoreOptions {
                timeout: Duration::from_secs(self.window.timeout),
                replace_failed: self.replace_failed,
                no_code: false,
                module_known: false,
                require_tests: self.require_tests,
            },
            concurrency: self.speed.concurrency,
        }
    }
}

impl ProviderFilesArgs {
    /// The files and key as typed, with the key and passphrase from the environment.
    pub fn files(&self) -> ProviderFiles {
        ProviderFiles {
            path: self.path.clone(),
            binaries: self.binaries.clone(),
            name: self.name.clone(),
            version: self.version.clone(),
            protocols: self.protocols.clone(),
            gpg_key: self.gpg_key.clone(),
            key_env: env_secret("TFPUB_GPG_PRIVATE_KEY"),
            passphrase_file: self.passphrase_file.clone(),
            passphrase_env: env_secret("TFPUB_GPG_PASSPHRASE"),
            public_key: self.public_key.clone(),
            key_id: self.key_id.clone(),
            sign_command: self.sign_command.clone(),
        }
    }
}

/// A secret from the environment; unset and empty are the same.
pub fn env_secret(name: &str) -> Option<Secret<String>> {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .map(Secret::new)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use clap::CommandFactory;

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

    #[test]
    fn command_names_match_the_result_document() {
        let name = |args: &[&str]| Cli::try_parse_from(args).unwrap().command.name();
        assert_eq!(name(&["tfpub", "whoami"]), "whoami");
        assert_eq!(name(&["tfpub", "module", "sync"]), "module sync");
        assert_eq!(
            name(&["tfpub", "provider", "versions", "x"]),
            "provider versions"
        );
        assert_eq!(name(&["tfpub", "gpg-key", "list"]), "gpg-key");
        assert_eq!(name(&["tfpub", "registry", "serve"]), "registry serve");
    }

    #[test]
    fn lifecycle_verbs_carry_reason_and_link() {
        let cli = Cli::try_parse_from([
            "tfpub", "module", "revoke", "vpc/aws", "1.0.0", "--reason", "cve",
        ])
        .unwrap();
        let Command::Module(m) = &cli.command else {
            panic!("parsed as {:?}", cli.command)
        };
        let (module, version, change) = m.version_change().unwrap();
        assert_eq!((module, version), ("vpc/aws", "1.0.0"));
        assert!(matches!(
            change,
            VersionChange::Revoke { reason: Some(ref r), link: None } if r == "cve"
        ));
    }
}
