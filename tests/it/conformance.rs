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

use crate::support::PublishArgs;
use crate::support::{module_copy, ok_json, repo_root, run, TestRegistry, ORG};
use crate::support::{RSA_KEY_ID, TEST_TOKEN};

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
    c.module_publish(&dir, "1.0.0");
    ok_json(&run(c).await);

    let bins = tempfile::tempdir().unwrap();
    let mut c = t.tfpub_http();
    c.provider_publish("greet", "1.0.0", &provider_binaries(bins.path()));
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

/// The documented endpoints real clients still call, beyond what the SDK run covers:
/// the module registry protocol's latest / one version / download-latest and the
/// `deprecation` of its versions listing (manage-module-versions.md), the deprecated
/// `show`, the VCS create this registry cannot do, and the JSON:API error shape.
#[tokio::test(flavor = "multi_thread")]
async fn documented_endpoints_and_error_shapes() {
    use crate::support::registry::Api;
    use reqwest::StatusCode;
    use serde_json::json;

    let t = TestRegistry::start().await;
    let (_keep, dir) = module_copy();
    for v in ["1.0.0", "1.2.0", "1.10.0"] {
        let mut c = t.tfpub_http();
        c.module_publish(&dir, v);
        ok_json(&run(c).await);
    }
    let api = Api::new(&t.reg, TEST_TOKEN);
    let m = format!("/api/v2/organizations/{ORG}/registry-modules/private/{ORG}/greeting/null");
    let (s, _) = api
        .patch(
            &format!("{m}/1.2.0"),
            json!({"deprecation": {"deprecated-status": "Deprecated", "reason": "use 1.10", "link": "https://example.test/up"}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);

    let proto = format!("/api/registry/v1/modules/{ORG}/greeting/null");
    let (s, v) = api.get(&format!("{proto}/versions")).await;
    assert_eq!(s, StatusCode::OK);
    let versions = v["modules"][0]["versions"].as_array().unwrap();
    let dep = |ver: &str| {
        versions
            .iter()
            .find(|x| x["version"] == ver)
            .unwrap_or_else(|| panic!("{ver} not listed: {v}"))["deprecation"]
            .clone()
    };
    assert_eq!(dep("1.0.0"), serde_json::Value::Null);
    assert_eq!(
        dep("1.2.0"),
        json!({"reason": "use 1.10", "link": "https://example.test/up"})
    );

    // latest is the highest semantic version, not the last string
    let (s, v) = api.get(&proto).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["version"], "1.10.0");
    assert_eq!(v["id"], format!("{ORG}/greeting/null/1.10.0"));
    let (s, v) = api.get(&format!("{proto}/1.2.0")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["version"], "1.2.0");
    assert_eq!(v["deprecation"]["reason"], "use 1.10");
    let (s, v) = api.get(&format!("{proto}/9.9.9")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(v["errors"][0]["status"], "404", "{v}");

    let resp = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(api.url(&format!("{proto}/download")))
        .bearer_auth(TEST_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FOUND);
    assert_eq!(
        resp.headers()["location"],
        format!("{proto}/1.10.0/download").as_str()
    );

    // deprecated show, the full discovery document
    let (s, v) = api
        .get(&format!(
            "/api/v2/registry-modules/show/{ORG}/greeting/null"
        ))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["data"]["attributes"]["publishing-mechanism"], "non_vcs");
    let (_, v) = api.get("/.well-known/terraform.json").await;
    for k in [
        "tfe.v2", "tfe.v2.1", "tfe.v2.2", "state.v2", "motd.v1", "login.v1",
    ] {
        assert!(v.get(k).is_some(), "discovery lacks {k}: {v}");
    }

    // no-code is reflected
    let (s, v) = api
        .post(
            &format!("/api/v2/organizations/{ORG}/registry-modules"),
            json!({"name": "nocode", "provider": "aws", "registry-name": "private", "no-code": true}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(v["data"]["attributes"]["no-code"], true);
    let (s, v) = api
        .post(
            &format!("/api/v2/organizations/{ORG}/registry-modules"),
            json!({"name": "bad", "provider": "aws", "no-code": "yes"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");

    // VCS publishing, deprecated path (no organization): the documented 422, JSON:API
    // shaped. The current path stores the link (issue 19; tests/it/vcs.rs).
    let vcs = json!({"vcs-repo": {"identifier": "o/terraform-aws-x", "oauth-token-id": "ot-1", "display_identifier": "o/terraform-aws-x"}});
    for p in ["/api/v2/registry-modules".to_string()] {
        let (s, v) = api.post(&p, vcs.clone()).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{p}: {v}");
        assert_eq!(v["errors"][0]["status"], "422", "{v}");
        assert!(v["errors"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("vcs-repo"));
    }
    let p = format!("/api/v2/organizations/{ORG}/registry-modules/vcs");
    let (s, v) = api.post(&p, vcs.clone()).await;
    assert_eq!(s, StatusCode::CREATED, "{p}: {v}");
    assert_eq!(
        v["data"]["attributes"]["vcs-repo"]["identifier"],
        "o/terraform-aws-x"
    );
    let (s, v) = api
        .post(&p, json!({"vcs-repo": {"oauth-token-id": "ot-1"}}))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{p}: {v}");
    assert!(v["errors"][0]["detail"]
        .as_str()
        .unwrap()
        .contains("vcs-repo"));

    // A method the endpoint does not have: the JSON:API 404, not an empty 405.
    let (s, v) = api.get(&format!("{m}/versions")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(v["errors"][0]["status"], "404", "{v}");
    t.stop().await;
}
