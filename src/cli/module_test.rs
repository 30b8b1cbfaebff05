//! The command line of module tests: `module test`, `module tests` and `module
//! test-vars list|set|delete` (clap types and their dispatch). Work is library calls.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Subcommand};

use tfpub_core::api::TestRunOptions;
use tfpub_core::commands::module_tests as cmd;
use tfpub_core::publish::module::test::{self, ModuleTestRequest};
use tfpub_core::report::{Outcome, Progress};
use tfpub_core::secret::Secret;

use super::args::GlobalArgs;
use super::online;

pub const TEST_EXAMPLES: &str = "Examples:
  tfpub module test ./terraform-aws-vpc
  tfpub module test . --filter tests/defaults.tftest.hcl --var 'replicas=2' --var 'name=\"x\"'
  tfpub --local module test . --timeout 600 --json

The module is packaged exactly as `module publish` packages it (tests/ and *.tftest.hcl
included), uploaded as a test configuration of the registry module (created if missing),
and tested there with `terraform test`. Exit code 0 only when the tests pass. Ctrl-C or
--timeout cancels the run (then force-cancels it if it does not stop). -v also asks
terraform for verbose output (plans and state of each run block).";

/// `tfpub module test [DIR]`.
#[derive(Debug, Args)]
pub struct ModuleTestArgs {
    /// Module folder (default: the current folder).
    pub dir: Option<PathBuf>,
    /// Module name (default: from the folder name terraform-<PROVIDER>-<NAME>).
    #[arg(long)]
    pub name: Option<String>,
    /// Module provider (default: from the folder name).
    #[arg(long)]
    pub provider: Option<String>,
    /// Run only this test file (repeatable), e.g. tests/defaults.tftest.hcl.
    #[arg(long = "filter", value_name = "FILE")]
    pub filters: Vec<String>,
    /// The folder of the test files inside the module (the registry's default: tests).
    #[arg(long, value_name = "DIR")]
    pub test_directory: Option<String>,
    /// A variable for this run, KEY=HCL literal (repeatable): --var 'count=2'
    /// --var 'name="web"'.
    #[arg(long = "var", value_name = "KEY=HCL")]
    pub vars: Vec<String>,
    /// How long to wait for the test run before canceling it (seconds).
    #[arg(long, default_value_t = 1800, value_name = "SECONDS")]
    pub timeout: u64,
}

#[derive(Debug, Subcommand)]
pub enum TestVarsCmd {
    /// List the module's test environment variables (sensitive values never shown).
    #[command(after_help = "Example:\n  tfpub module test-vars list vpc/aws")]
    List {
        /// NAME/PROVIDER
        module: String,
    },
    /// Create or update (by key) a test environment variable. The value comes from
    /// --from-env VAR, else from stdin.
    #[command(
        after_help = "Examples:\n  tfpub module test-vars set vpc/aws AWS_REGION --from-env AWS_REGION\n  printf %s \"$TOKEN\" | tfpub module test-vars set vpc/aws TF_VAR_token --sensitive"
    )]
    Set {
        /// NAME/PROVIDER
        module: String,
        /// The environment variable's name in the test run.
        key: String,
        /// Read the value from this environment variable of tfpub's own environment.
        #[arg(long, value_name = "VAR")]
        from_env: Option<String>,
        /// Write-only: the registry never shows the value again.
        #[arg(long)]
        sensitive: bool,
        #[arg(long)]
        description: Option<String>,
    },
    /// Delete a test environment variable.
    #[command(after_help = "Example:\n  tfpub module test-vars delete vpc/aws AWS_REGION")]
    Delete {
        /// NAME/PROVIDER
        module: String,
        key: String,
    },
}

impl ModuleTestArgs {
    fn request(&self, verbose: bool) -> anyhow::Result<ModuleTestRequest> {
        let variables = self
            .vars
            .iter()
            .map(|v| cmd::parse_var(v))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ModuleTestRequest {
            dir: self.dir.clone().unwrap_or_else(|| PathBuf::from(".")),
            name: self.name.clone(),
            provider: self.provider.clone(),
            options: TestRunOptions {
                filters: self.filters.clone(),
                test_directory: self.test_directory.clone(),
                variables,
                verbose,
            },
            timeout: Duration::from_secs(self.timeout),
        })
    }
}

/// `module test`.
pub async fn run_test(
    g: &GlobalArgs,
    a: &ModuleTestArgs,
    progress: Arc<dyn Progress>,
) -> anyhow::Result<Outcome> {
    let req = a.request(g.verbose > 0)?;
    online(g, progress, async |ctx| test::test(ctx, &req).await).await
}

/// `module tests NAME/PROVIDER`.
pub async fn list_runs(
    g: &GlobalArgs,
    module: &str,
    progress: Arc<dyn Progress>,
) -> anyhow::Result<Outcome> {
    online(g, progress, async |ctx| cmd::runs(ctx, module).await).await
}

/// `module test-vars …`.
pub async fn test_vars(
    g: &GlobalArgs,
    c: &TestVarsCmd,
    progress: Arc<dyn Progress>,
) -> anyhow::Result<Outcome> {
    match c {
        TestVarsCmd::List { module } => {
            online(g, progress, async |ctx| cmd::list_vars(ctx, module).await).await
        }
        TestVarsCmd::Set {
            module,
            key,
            from_env,
            sensitive,
            description,
        } => {
            let value = read_value(from_env.as_deref())?;
            let set = cmd::VarSet {
                key,
                value: &value,
                sensitive: *sensitive,
                description: description.as_deref(),
            };
            online(g, progress, async |ctx| {
                cmd::set_var(ctx, module, &set).await
            })
            .await
        }
        TestVarsCmd::Delete { module, key } => {
            online(g, progress, async |ctx| {
                cmd::delete_var(ctx, module, key).await
            })
            .await
        }
    }
}

/// The value of `test-vars set`: the named environment variable, else stdin (one
/// trailing newline removed).
fn read_value(from_env: Option<&str>) -> anyhow::Result<Secret<String>> {
    use std::io::Read;
    if let Some(var) = from_env {
        let v = std::env::var(var).map_err(|_| cmd::TestVarError::EnvUnset { var: var.into() })?;
        return Ok(v.into());
    }
    let mut s = String::new();
    std::io::stdin()
        .read_to_string(&mut s)
        .map_err(|e| cmd::TestVarError::Stdin {
            reason: e.to_string(),
        })?;
    if s.ends_with('\n') {
        s.pop();
        if s.ends_with('\r') {
            s.pop();
        }
    }
    Ok(s.into())
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::super::args::{Cli, Command, ModuleCmd, RegistryCmd};
    use super::TestVarsCmd;

    #[test]
    fn module_test_options_become_the_run_options() {
        let cli = Cli::try_parse_from([
            "tfpub",
            "module",
            "test",
            "dir",
            "--filter",
            "tests/a.tftest.hcl",
            "--filter",
            "tests/b.tftest.hcl",
            "--var",
            "n=2",
            "--var",
            "s=\"x\"",
            "--test-directory",
            "checks",
            "--timeout",
            "60",
            "-v",
        ])
        .unwrap();
        let Command::Module(ModuleCmd::Test(a)) = &cli.command else {
            panic!("parsed as {:?}", cli.command)
        };
        let req = a.request(cli.global.verbose > 0).unwrap();
        assert_eq!(
            req.options.filters,
            ["tests/a.tftest.hcl", "tests/b.tftest.hcl"]
        );
        assert_eq!(
            req.options.variables,
            [
                ("n".to_string(), "2".to_string()),
                ("s".into(), "\"x\"".into())
            ]
        );
        assert_eq!(req.options.test_directory.as_deref(), Some("checks"));
        assert!(req.options.verbose);
        assert_eq!(req.timeout.as_secs(), 60);
        assert_eq!(cli.command.name(), "module test");
        let bad = Cli::try_parse_from(["tfpub", "module", "test", "--var", "novalue"]).unwrap();
        let Command::Module(ModuleCmd::Test(a)) = &bad.command else {
            panic!()
        };
        assert!(a.request(false).is_err());
    }

    #[test]
    fn test_vars_and_serve_terraform_parse() {
        let cli = Cli::try_parse_from([
            "tfpub",
            "module",
            "test-vars",
            "set",
            "vpc/aws",
            "K",
            "--from-env",
            "V",
            "--sensitive",
        ])
        .unwrap();
        assert!(matches!(
            &cli.command,
            Command::Module(ModuleCmd::TestVars(TestVarsCmd::Set {
                sensitive: true,
                ..
            }))
        ));
        let cli =
            Cli::try_parse_from(["tfpub", "registry", "serve", "--terraform", "/opt/tf"]).unwrap();
        let Command::Registry(RegistryCmd::Serve { terraform, .. }) = &cli.command else {
            panic!()
        };
        assert_eq!(terraform.as_deref(), Some(std::path::Path::new("/opt/tf")));
    }
}
