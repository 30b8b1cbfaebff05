//! `tfpub module configure`, `tfpub module link` and `tfpub module|provider curate`: the
//! clap arguments and the dispatch to `tfpub_core::commands::{configure, link, curate}`.

use std::sync::Arc;

use clap::Args;

use tfpub_core::api::VarOption;
use tfpub_core::commands::configure::{self as cmd, ConfigureRequest};
use tfpub_core::report::{Outcome, Progress};

use super::args::GlobalArgs;

pub const CONFIGURE_EXAMPLES: &str = "\
Examples:
  tfpub module configure vpc/aws --tests on
  tfpub module configure vpc/aws --tests on --agent-pool apool-yoGUFz5zcRMMz53i
  tfpub module configure vpc/aws --no-code on --version-pin 1.2.0
  tfpub module configure vpc/aws --no-code on --var-option region:string=us-east-1,eu-west-1
  tfpub module configure vpc/aws --no-code off --json";

fn on_off(s: &str) -> Result<bool, String> {
    match s {
        "on" | "true" | "yes" => Ok(true),
        "off" | "false" | "no" => Ok(false),
        _ => Err(format!("{s:?}: expected on or off")),
    }
}

#[derive(Debug, Args)]
pub struct ConfigureArgs {
    /// The module, NAME/PROVIDER.
    pub module: String,
    /// Run the module's tests in the registry (test-config.tests-enabled).
    #[arg(long, value_name = "on|off", value_parser = on_off)]
    pub tests: Option<bool>,
    /// Run the tests on this agent pool (agent execution mode) instead of remotely.
    #[arg(long, value_name = "ID", requires = "tests")]
    pub agent_pool: Option<String>,
    /// Enable or disable the module's no-code module (created when first enabled).
    #[arg(long, value_name = "on|off", value_parser = on_off)]
    pub no_code: Option<bool>,
    /// Pin the no-code module to this published version (`latest` removes the pin).
    #[arg(long, value_name = "VERSION", requires = "no_code")]
    pub version_pin: Option<String>,
    /// Allowed values of a variable in no-code workspaces: NAME:TYPE=V1,V2 (repeatable;
    /// replaces the module's variable options).
    #[arg(long = "var-option", value_name = "NAME:TYPE=V1,V2", requires = "no_code", value_parser = cmd::parse_var_option)]
    pub var_options: Vec<VarOption>,
}

impl ConfigureArgs {
    fn request(&self) -> ConfigureRequest {
        ConfigureRequest {
            module: self.module.clone(),
            tests: self.tests,
            agent_pool: self.agent_pool.clone(),
            no_code: self.no_code,
            version_pin: self.version_pin.clone(),
            variable_options: self.var_options.clone(),
        }
    }
}

/// `tfpub module configure`.
pub async fn module_configure(
    g: &GlobalArgs,
    a: &ConfigureArgs,
    progress: Arc<dyn Progress>,
) -> anyhow::Result<Outcome> {
    let req = a.request();
    super::online(g, progress, async |ctx| cmd::configure(ctx, &req).await).await
}

pub const LINK_EXAMPLES: &str = "\
Examples:
  # tag-based: versions come from semver tags pushed to the repository
  tfpub module link vpc/aws --vcs acme/terraform-aws-vpc --oauth-token-id ot-hmAyP66qk2AMVdbJ --tags
  # branch-based: `tfpub module publish --version X` creates versions from the branch
  tfpub module link vpc/aws --vcs acme/terraform-aws-vpc --oauth-token-id ot-hmAyP66qk2AMVdbJ --branch main
  # a module in a monorepo folder, with its own tag prefix
  tfpub module link vpc/aws --vcs acme/infra --oauth-token-id ot-1 --tags --source-dir modules/vpc --tag-prefix vpc/";

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("mode").required(true).args(["branch", "tags"])))]
pub struct LinkArgs {
    /// The module, NAME/PROVIDER (without --source-dir the repository must be named
    /// terraform-PROVIDER-NAME).
    pub module: String,
    /// The repository, as the VCS provider names it (ORG/REPO).
    #[arg(long = "vcs", value_name = "ID")]
    pub identifier: String,
    /// The VCS connection's OAuth token id (ot-…).
    #[arg(long, value_name = "ID")]
    pub oauth_token_id: String,
    /// Branch-based: publish versions from this branch.
    #[arg(long, value_name = "B")]
    pub branch: Option<String>,
    /// Tag-based: every semver tag becomes a version.
    #[arg(long)]
    pub tags: bool,
    /// The module's folder in the repository (monorepos).
    #[arg(long = "source-dir", value_name = "D")]
    pub source_dir: Option<String>,
    /// Only tags with this prefix are versions (monorepos).
    #[arg(long, value_name = "P", requires = "source_dir")]
    pub tag_prefix: Option<String>,
}

/// `tfpub module link`.
pub async fn module_link(
    g: &GlobalArgs,
    a: &LinkArgs,
    progress: Arc<dyn Progress>,
) -> anyhow::Result<Outcome> {
    let req = tfpub_core::commands::link::LinkRequest {
        module: a.module.clone(),
        identifier: a.identifier.clone(),
        oauth_token_id: a.oauth_token_id.clone(),
        branch: a.branch.clone(),
        source_directory: a.source_dir.clone(),
        tag_prefix: a.tag_prefix.clone(),
    };
    super::online(g, progress, async |ctx| {
        tfpub_core::commands::link::link(ctx, &req).await
    })
    .await
}

pub const MODULE_CURATE_EXAMPLES: &str = "\
Examples:
  tfpub module curate terraform-aws-modules/vpc/aws
  tfpub module curate terraform-aws-modules/vpc/aws --remove --json";

pub const PROVIDER_CURATE_EXAMPLES: &str = "\
Examples:
  tfpub provider curate hashicorp/aws
  tfpub provider curate hashicorp/aws --remove";

#[derive(Debug, Args)]
pub struct CurateArgs {
    /// The public registry address: NAMESPACE/NAME/PROVIDER for a module,
    /// NAMESPACE/NAME for a provider.
    pub entry: String,
    /// Remove the public entry instead of adding it.
    #[arg(long)]
    pub remove: bool,
}

/// `tfpub module curate` (`module` = true) and `tfpub provider curate`.
pub async fn curate(
    g: &GlobalArgs,
    a: &CurateArgs,
    module: bool,
    progress: Arc<dyn Progress>,
) -> anyhow::Result<Outcome> {
    super::online(g, progress, async |ctx| {
        tfpub_core::commands::curate::curate(ctx, &a.entry, module, a.remove).await
    })
    .await
}
