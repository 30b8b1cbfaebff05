//! Permission preflight (issue 19, point 8): the tokens file's object form grants
//! per-token permissions, entitlement and expiry; `whoami` reports them; a publish the
//! token may not do is refused before anything is built or sent, naming what is missing;
//! a token about to expire is warned about; the registry itself enforces the grants.

use std::path::Path;
use std::process::Command;

use reqwest::StatusCode;
use serde_json::{json, Value};
use tfpub_registry as registry;

use crate::support::registry::{item_detail, Api};
use crate::support::{
    ok_json, run, test_key, testdata, TestRegistry, ORG, RSA_PASSPHRASE, TEST_TOKEN,
};

/// Another token of the tests' tokens files; never printed either.
const MODULES_ONLY: &str = "tfpub-modules-only-token-NEVER-PRINTED";
const EXPIRED: &str = "tfpub-expired-token-NEVER-PRINTED";

fn rfc3339_in(d: chrono::TimeDelta) -> String {
    (chrono::Utc::now() + d).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn as_token(t: &TestRegistry, token: &str) -> Command {
    let mut c = t.tfpub_http();
    c.env("TFE_TOKEN", token);
    c
}

fn publish_module(c: &mut Command, version: &str) {
    c.args(["module", "publish", "--json"])
        .arg(testdata("modules/terraform-null-greeting"))
        .args(["--version", version]);
}

/// One raw provider binary for linux_amd64, as `provider publish --binary` takes it.
fn publish_provider(c: &mut Command, dir: &Path) {
    let bin = dir.join("terraform-provider-greet");
    std::fs::write(&bin, b"#!/bin/sh\nexit 1\n").unwrap();
    c.env("TFPUB_GPG_PRIVATE_KEY", test_key("rsa.sec.asc"))
        .env("TFPUB_GPG_PASSPHRASE", RSA_PASSPHRASE)
        .args(["provider", "publish", "--json", "--name", "greet"])
        .args(["--version", "1.0.0", "--protocols", "6.0", "--binary"])
        .arg(format!("linux_amd64={}", bin.display()));
}

fn tokens_doc() -> Value {
    json!({
        // The list form keeps working: everything granted.
        TEST_TOKEN: [ORG],
        MODULES_ONLY: {"organizations": [ORG], "kind": "user",
            "permissions": {"can-create-provider": false, "can-manage-public-modules": false},
            "expired-at": rfc3339_in(chrono::TimeDelta::days(3) + chrono::TimeDelta::hours(1))},
        EXPIRED: {"organizations": [ORG], "kind": "user",
            "expired-at": rfc3339_in(-chrono::TimeDelta::hours(1))},
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whoami_reports_permissions_and_warns_of_a_token_expiring_in_3_days() {
    let t = TestRegistry::with_grants(&tokens_doc()).await;
    let mut c = as_token(&t, MODULES_ONLY);
    c.args(["whoami", "--json"]);
    let r = run(c).await;
    let doc = ok_json(&r);
    assert_eq!(item_detail(&doc, "publish modules"), "yes");
    assert_eq!(item_detail(&doc, "publish providers"), "no");
    assert_eq!(item_detail(&doc, "curate public modules"), "no");
    assert_eq!(item_detail(&doc, "token kind"), "user token");
    let w = doc["warnings"].to_string();
    assert!(w.contains("this token expires in 3 days"), "{w}");
    assert!(
        r.stderr.contains("this token expires in 3 days"),
        "{}",
        r.stderr
    );

    // The list-form token: everything granted, a team token, no expiry.
    let mut c = t.tfpub_http();
    c.args(["whoami", "--json"]);
    let doc = ok_json(&run(c).await);
    assert_eq!(item_detail(&doc, "publish providers"), "yes");
    assert_eq!(
        item_detail(&doc, "token kind"),
        "team, organization or service account token"
    );
    assert_eq!(doc["warnings"], json!([]));
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_publish_the_token_may_not_do_is_refused_before_anything_is_built() {
    let t = TestRegistry::with_grants(&tokens_doc()).await;
    let scratch = tempfile::tempdir().unwrap();
    let mut c = as_token(&t, MODULES_ONLY);
    publish_provider(&mut c, scratch.path());
    let r = run(c).await;
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    let doc = r.json();
    let msg = doc["error"].to_string();
    assert!(
        msg.contains("this token can publish modules but not providers"),
        "{msg}"
    );
    assert!(msg.contains("Manage Private Registry"), "{msg}");
    assert_eq!(doc["error"]["kind"], "unauthorized");
    // Nothing was created: the provider does not exist.
    let api = Api::new(&t.reg, TEST_TOKEN);
    let (status, _) = api
        .get(&format!(
            "/api/v2/organizations/{ORG}/registry-providers/private/{ORG}/greet"
        ))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Nor was the signing key registered (that happens before the provider is created).
    let (status, keys) = api
        .get(&format!(
            "/api/registry/private/v2/gpg-keys?filter%5Bnamespace%5D={ORG}"
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(keys["data"], json!([]), "{keys}");
    // The same release published with a token that may: the key is registered then,
    // so the check above could have failed.
    let mut c = t.tfpub_http();
    publish_provider(&mut c, scratch.path());
    ok_json(&run(c).await);
    let (_, keys) = api
        .get(&format!(
            "/api/registry/private/v2/gpg-keys?filter%5Bnamespace%5D={ORG}"
        ))
        .await;
    assert_eq!(keys["data"].as_array().map(Vec::len), Some(1), "{keys}");

    // The same token publishes a module, with the expiry warning in the result.
    let mut c = as_token(&t, MODULES_ONLY);
    publish_module(&mut c, "1.0.0");
    let doc = ok_json(&run(c).await);
    assert!(
        doc["warnings"]
            .to_string()
            .contains("this token expires in 3 days"),
        "{doc}"
    );
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_registry_enforces_grants_and_expiry() {
    let t = TestRegistry::with_grants(&tokens_doc()).await;
    let limited = Api::new(&t.reg, MODULES_ONLY);
    let (status, body) = limited
        .post(
            &format!("/api/v2/organizations/{ORG}/registry-providers"),
            json!({"registry-name": "private", "namespace": ORG, "name": "greet"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(
        body.to_string().contains("manage private providers"),
        "{body}"
    );
    let (status, body) = limited.get(&format!("/api/v2/organizations/{ORG}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body["data"]["attributes"]["permissions"]["can-create-module"],
        true
    );
    assert_eq!(
        body["data"]["attributes"]["permissions"]["can-create-provider"],
        false
    );

    // An expired token is refused like an unknown one; tfpub says so.
    let expired = Api::new(&t.reg, EXPIRED);
    let (status, _) = expired
        .get(&format!("/api/v2/organizations/{ORG}/registry-modules"))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let mut c = as_token(&t, EXPIRED);
    publish_module(&mut c, "1.0.0");
    let r = run(c).await;
    assert_eq!(r.code, 1);
    assert_eq!(r.json()["error"]["kind"], "unauthorized");
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_private_registry_entitlement_refuses_a_module_publish() {
    let t = TestRegistry::with_grants(&json!({
        TEST_TOKEN: {"organizations": [ORG], "private-module-registry": false},
    }))
    .await;
    let mut c = t.tfpub_http();
    publish_module(&mut c, "1.0.0");
    let r = run(c).await;
    assert_eq!(r.code, 1, "{}", r.stderr);
    let msg = r.json()["error"].to_string();
    assert!(
        msg.contains("not entitled to the private registry"),
        "{msg}"
    );
    let api = Api::new(&t.reg, TEST_TOKEN);
    let (status, _) = api
        .get(&format!(
            "/api/v2/organizations/{ORG}/registry-modules/private/{ORG}/greeting/null"
        ))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    t.stop().await;
}

#[test]
fn a_bad_tokens_file_is_refused_naming_the_file_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tokens.json");
    for (doc, needle) in [
        (
            json!({"t": {"organizations": ["a"], "expired-at": "soon"}}),
            "expired-at",
        ),
        (
            json!({"t": {"organizations": ["a"], "permisions": {}}}),
            "permisions",
        ),
        (
            json!({"t": {"organizations": ["a"], "kind": "robot"}}),
            "robot",
        ),
    ] {
        std::fs::write(&file, doc.to_string()).unwrap();
        let err = registry::load_token_grants(&file).unwrap_err().to_string();
        assert!(err.contains("tokens.json"), "{err}");
        assert!(err.contains(needle), "{err}");
        assert!(!err.contains("\"t\""), "{err}");
    }
}
