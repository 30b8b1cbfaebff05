//! The real Terraform CLI against the embedded registry: a scratch folder holding a CLI
//! config file that maps `registry.tfpub.test` to the registry's base URL (with a
//! credentials block), a HOME of its own, no shared plugin cache, and a work folder with
//! the test's `main.tf`. Commands (`init`, `validate`, `apply`, `providers lock`, …) run
//! on a blocking thread so the in-process registry keeps serving.

use std::path::PathBuf;
use std::process::Command;

use tempfile::TempDir;
use tfpub_registry::RunningRegistry;

use super::command_ok;

/// The host name configurations use in `source` addresses.
pub const TF_HOST: &str = "registry.tfpub.test";

/// A Terraform working folder wired to one registry.
pub struct Terraform {
    dir: TempDir,
}

/// What one successful Terraform command printed.
pub struct TfOutput {
    pub stdout: String,
    pub stderr: String,
}

impl Terraform {
    /// A work folder holding `main_tf`, and a CLI config that sends `registry.tfpub.test`
    /// to `reg` with `token`.
    pub fn new(reg: &RunningRegistry, token: &str, main_tf: &str) -> Terraform {
        let dir = tempfile::tempdir().unwrap();
        let t = Terraform { dir };
        for d in [t.work(), t.home()] {
            std::fs::create_dir_all(d).unwrap();
        }
        std::fs::write(
            t.cli_config(),
            format!(
                "{}credentials \"{TF_HOST}\" {{\n  token = \"{token}\"\n}}\n",
                tfpub_registry::cli_config_snippet(TF_HOST, &reg.base_url())
            ),
        )
        .unwrap();
        std::fs::write(t.work().join("main.tf"), main_tf).unwrap();
        t
    }

    /// The folder Terraform runs in (holds main.tf and .terraform.lock.hcl).
    pub fn work(&self) -> PathBuf {
        self.dir.path().join("work")
    }

    /// TF_DATA_DIR: installed modules and providers land below it.
    pub fn data_dir(&self) -> PathBuf {
        self.work().join(".terraform")
    }

    fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    fn cli_config(&self) -> PathBuf {
        self.dir.path().join("terraformrc")
    }

    /// The dependency lock file `init` / `providers lock` wrote.
    pub fn lock_file(&self) -> String {
        std::fs::read_to_string(self.work().join(".terraform.lock.hcl")).unwrap()
    }

    /// `terraform ARGS…` in the work folder, with this config, HOME and data folder, no
    /// plugin cache, no checkpoint calls.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new("terraform");
        c.current_dir(self.work())
            .args(args)
            .env("TF_CLI_CONFIG_FILE", self.cli_config())
            .env("TF_DATA_DIR", self.data_dir())
            .env("HOME", self.home())
            .env("TF_IN_AUTOMATION", "1")
            .env("CHECKPOINT_DISABLE", "1")
            .env_remove("TF_PLUGIN_CACHE_DIR");
        c
    }

    /// Run `terraform ARGS…` on a blocking thread; panic with its output unless it
    /// succeeds.
    pub async fn run(&self, args: &[&str]) -> TfOutput {
        let mut c = self.command(args);
        let out = tokio::task::spawn_blocking(move || command_ok(&mut c))
            .await
            .unwrap();
        TfOutput {
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}
