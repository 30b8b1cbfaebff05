//! `tfpub module configure NAME/PROVIDER`: the clap arguments and the dispatch to
//! `tfpub_core::commands::configure`.

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
