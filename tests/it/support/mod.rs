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
