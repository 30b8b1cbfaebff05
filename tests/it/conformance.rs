//! Conformance against a client nobody on this project wrote: HashiCorp's official Python
//! SDK (`pytfe`, pinned in tests/conformance/requirements.txt) drives the embedded
//! registry through tests/conformance/sdk_conformance.py — modules (create, version,
//! upload, read, list, list versions, the deprecated deletes), providers (create,
//! version, platforms, uploads, reads, deletes) and reads of what the `tfpub` binary
//! itself published into the same registry.
//!
//! The interpreter comes from `TFPUB_CONFORMANCE_PYTHON` (`.ci/run` sets it to its
//! throwaway venv), else `.ci/venv/bin/python` in the repository. Without an interpreter
//! that can import the SDK the test FAILS with the command that installs it: a
//! conformance check that silently skips proves nothing.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::{module_copy, ok_json, repo_root, run, test_key, TestRegistry, ORG};
use crate::support::{RSA_KEY_ID, RSA_PASSPHRASE, TEST_TOKEN};

const INSTALL: &str =
    "python3 -m venv .ci/venv && .ci/venv/bin/pip install -r tests/conformance/requirements.txt \
     (then run the tests again, or set TFPUB_CONFORMANCE_PYTHON to that venv's python)";

/// The Python that has the pinned SDK, or a panic saying how to get one.
fn sdk_python() -> PathBuf {
    let py = std::env::var_os("TFPUB_CONFORMANCE_PYTHON")
        .map(PathBuf::from)
        .map(|p| {
            if p.is_relative() {
                repo_root().join(p)
            } else {
                p
            }
        })
        .unwrap_or_else(|| repo_root().join(".ci/venv/bin/python"));
    let probe = Command::new(&py)
        .args([
            "-c",
            "import importlib.metadata as m; print(m.version('pytfe'))",
        ])
        .output();
    match probe {
        Ok(out) if out.status.success() => py,
        Ok(out) => panic!(
            "{} cannot import HashiCorp's Python SDK (pytfe): {}\ninstall it with: {INSTALL}",
            py.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        ),
        Err(e) => panic!(
            "no Python for the SDK conformance test at {} ({e})\ninstall it with: {INSTALL}",
            py.display()
        ),
    }
}

/// One executable per platform, as `provider publish --binary` takes them.
fn provider_binaries(dir: &Path) -> Vec<String> {
    ["linux_amd64", "darwin_arm64"]
        .iter()
        .map(|p| {
            let d = dir.join(p);
            std::fs::create_dir_all(&d).unwrap();
            let f = d.join("terraform-provider-greet");
            std::fs::write(&f, format!("#!/bin/sh\necho {p}\n")).unwrap();
            crate::support::fs::set_mode(&f, 0o755);
            format!("{p}={}", f.display())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn hashicorp_python_sdk_drives_the_embedded_registry() {
    let py = sdk_python();
    let t = TestRegistry::start().await;

    // What tfpub itself publishes, for the SDK to read back.
    let (_keep, dir) = module_copy();
    let mut c = t.tfpub_http();
    c.args([
        "module",
        "publish",
        "--json",
        "--version",
        "1.0.0",
        "--timeout",
        "30",
    ])
    .arg(&dir);
    ok_json(&run(c).await);

    let bins = tempfile::tempdir().unwrap();
    let mut c = t.tfpub_http();
    c.env("TFPUB_GPG_PRIVATE_KEY", test_key("rsa.sec.asc"))
        .env("TFPUB_GPG_PASSPHRASE", RSA_PASSPHRASE)
        .args([
            "provider",
            "publish",
            "--json",
            "--name",
            "greet",
            "--version",
            "1.0.0",
        ])
        .args(["--protocols", "6.0"]);
    for b in provider_binaries(bins.path()) {
        c.arg("--binary").arg(b);
    }
    ok_json(&run(c).await);

    let mut script = Command::new(py);
    script
        .arg(repo_root().join("tests/conformance/sdk_conformance.py"))
        .env("TFE_ADDRESS", format!("http://{}", t.host()))
        .env("TFE_TOKEN", TEST_TOKEN)
        .env("CONFORMANCE_ORG", ORG)
        .env("CONFORMANCE_KEY_ID", RSA_KEY_ID)
        .env("CONFORMANCE_PUBLISHED_MODULE", "greeting/null@1.0.0")
        .env("CONFORMANCE_PUBLISHED_PROVIDER", "greet@1.0.0")
        .env("PYTHONDONTWRITEBYTECODE", "1");
    let out = tokio::task::spawn_blocking(move || script.output().unwrap())
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the SDK conformance script failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains(" 0 failed"), "{stdout}\n{stderr}");
    t.stop().await;
}
