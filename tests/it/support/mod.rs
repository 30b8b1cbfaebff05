//! Shared helpers for the integration tests, split by concern: `fs` (repository paths,
//! test data and keys, scratch trees, hashing), `git` (repositories, commits and tags
//! built with git2), `gpg` (the system gpg in a throwaway home), `registry` (the embedded registry on a loopback port and the `tfpub` binary run
//! against it, with the no-secret check) and `terraform` (the real Terraform CLI pointed
//! at that registry). The names most tests use are re-exported here.

pub mod fs;
pub mod git;
pub mod gpg;
pub mod registry;
pub mod terraform;

use std::process::{Command, Output};

pub use fs::{copy_tree, module_copy, repo_root, sha256_hex, test_key, testdata};
pub use registry::{assert_no_secret, clean_tfpub, ok_json, run, run_blocking, Run, TestRegistry};

/// The token every CLI test uses; `assert_no_secret` greps outputs for it.
pub const TEST_TOKEN: &str = "tfpub-test-token-SHOULD-NEVER-BE-PRINTED";
/// The passphrase of testdata/keys/rsa.sec.asc.
pub const RSA_PASSPHRASE: &str = "correct horse";
/// The organization (and namespace) every registry test publishes into.
pub const ORG: &str = "acme";
/// The long key id of testdata/keys/rsa.sec.asc.
pub const RSA_KEY_ID: &str = "7272A3BE438F9A26";

/// Run a helper program (gpg, terraform, git) to completion on this thread; panic with
/// its output unless it exits 0.
pub fn command_ok(cmd: &mut Command) -> Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?} (is it on the PATH?): {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The publish command lines many tests run, on any `tfpub` command (a test registry's,
/// a stub's, a clean one).
pub trait PublishArgs {
    /// `module publish --json --version VERSION --timeout 30 DIR`.
    fn module_publish(&mut self, dir: &std::path::Path, version: &str) -> &mut Self;
    /// `provider publish --json --name NAME --version VERSION --protocols 6.0`, signed
    /// with testdata/keys/rsa.sec.asc, one `--binary` per `OS_ARCH=FILE` given.
    fn provider_publish(&mut self, name: &str, version: &str, binaries: &[String]) -> &mut Self;
}

impl PublishArgs for Command {
    fn module_publish(&mut self, dir: &std::path::Path, version: &str) -> &mut Self {
        self.args(["module", "publish", "--json", "--version", version])
            .args(["--timeout", "30"])
            .arg(dir)
    }

    fn provider_publish(&mut self, name: &str, version: &str, binaries: &[String]) -> &mut Self {
        self.env("TFPUB_GPG_PRIVATE_KEY", test_key("rsa.sec.asc"))
            .env("TFPUB_GPG_PASSPHRASE", RSA_PASSPHRASE)
            .args(["provider", "publish", "--json", "--name", name])
            .args(["--version", version, "--protocols", "6.0"]);
        for b in binaries {
            self.arg("--binary").arg(b);
        }
        self
    }
}
