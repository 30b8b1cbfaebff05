//! Integration tests: `tfpub registry copy` between two running embedded registries,
//! each with its own tokens file and organization (so each side's token must come from
//! its own `TF_TOKEN_<host>`), killed half way through and run again until it converges;
//! then a conflict, a re-run that changes nothing, and a revocation carried over.

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::ops::{publish_module, publish_provider, tfpub_json};
use crate::support::registry::{clean_tfpub, Api};
use crate::support::terraform::Terraform;
use crate::support::{module_copy, ok_json, run, Run, TestRegistry, ORG, RSA_KEY_ID, TEST_TOKEN};

const DST_ORG: &str = "platform";
const DST_TOKEN: &str = "dst-token-for-the-target";

/// `tfpub --json registry copy` from `src`/acme to `dst`/platform, each host's token in
/// its own TF_TOKEN_ variable and no TFE_TOKEN.
fn copy_cmd(src: &TestRegistry, dst: &TestRegistry, extra: &[&str]) -> Command {
    let mut c = clean_tfpub(dst.home.path());
    let var = |t: &TestRegistry| format!("TF_TOKEN_127_0_0_1_{}", t.reg.addr().port());
    c.env(var(src), TEST_TOKEN)
        .env(var(dst), DST_TOKEN)
        .env("NO_COLOR", "1")
        .args(["--json", "registry", "copy"])
        .arg("--from")
        .arg(format!("http://{}/{ORG}", src.host()))
        .arg("--to")
        .arg(format!("http://{}/{DST_ORG}", dst.host()))
        .args(extra);
    c
}

/// (action, detail) of the item for `id` `version`.
fn action(d: &Value, id: &str, version: &str) -> (String, String) {
    let it = d["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == id && i["version"] == version)
        .unwrap_or_else(|| panic!("no item {id} {version} in {d}"));
    (
        it["action"].as_str().unwrap().to_string(),
        it["detail"].as_str().unwrap_or("").to_string(),
    )
}

async fn dst_has(api: &Api, path: &str) -> bool {
    let (s, v) = api.get(path).await;
    s == 200
        && v["data"]["attributes"]["status"]
            .as_str()
            .is_none_or(|s| s == "ok")
}

fn module_path(name: &str, provider: &str, v: &str) -> String {
    format!("/api/v2/organizations/{DST_ORG}/registry-modules/private/{DST_ORG}/{name}/{provider}/version?module_version={v}")
}

fn provider_path(v: &str) -> String {
    format!(
        "/api/v2/organizations/{DST_ORG}/registry-providers/private/{DST_ORG}/greet/versions/{v}"
    )
}

/// The source: greeting/null 1.0.0 (deprecated), 1.1.0, 1.2.0; network/aws 0.1.0;
/// provider greet 1.0.0 and 1.1.0.
async fn fill_source(src: &TestRegistry, work: &std::path::Path) {
    let (_tmp, dir) = module_copy();
    publish_module(src, &dir, "greeting", "null", "1.0.0").await;
    std::fs::write(dir.join("more.tf"), "locals {\n  more = true\n}\n").unwrap();
    publish_module(src, &dir, "greeting", "null", "1.1.0").await;
    publish_module(src, &dir, "greeting", "null", "1.2.0").await;
    publish_module(src, &dir, "network", "aws", "0.1.0").await;
    let c = tfpub_json(
        src,
        &[
            "module",
            "deprecate",
            "greeting/null",
            "1.0.0",
            "--reason",
            "old",
        ],
    );
    ok_json(&run(c).await);
    publish_provider(src, work, "1.0.0").await;
    publish_provider(src, work, "1.1.0").await;
}

/// Runs the copy as a child process and kills it once the first module version is in
/// the target (the target answers slowly meanwhile); returns when it is dead.
async fn copy_and_kill_half_way(src: &TestRegistry, dst: &TestRegistry, dst_api: &Api) {
    dst.reg.faults().set_latency(Duration::from_millis(150));
    let mut child = copy_cmd(src, dst, &[])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while !dst_has(dst_api, &module_path("greeting", "null", "1.0.0")).await {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "copy never got going"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "copy ended before it was killed"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();
    dst.reg.faults().set_latency(Duration::ZERO);
    assert!(
        !dst_has(dst_api, &provider_path("1.1.0")).await,
        "the copy was not interrupted half way"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_between_two_registries_survives_a_kill_and_converges() {
    let src = TestRegistry::with_token(TEST_TOKEN, ORG).await;
    let dst = TestRegistry::with_token(DST_TOKEN, DST_ORG).await;
    let dst_api = Api::new(&dst.reg, DST_TOKEN);
    let work = tempfile::tempdir().unwrap();
    fill_source(&src, work.path()).await;

    // The target already holds network/aws 0.1.0 with other content: a conflict.
    let (_t2, other) = module_copy();
    std::fs::write(other.join("other.tf"), "locals {}\n").unwrap();
    let mut c = tfpub_json(
        &dst,
        &[
            "module",
            "publish",
            "--name",
            "network",
            "--provider",
            "aws",
        ],
    );
    c.env("TFE_TOKEN", DST_TOKEN)
        .env("TFE_ORGANIZATION", DST_ORG);
    c.args(["--version", "0.1.0"]).arg(&other);
    ok_json(&run(c).await);

    // A dry run changes nothing and plans every version.
    dst.reg.stats().reset();
    let d = ok_json(&run(copy_cmd(&src, &dst, &["--dry-run"])).await);
    assert_eq!(d["outcome"], "planned");
    assert_eq!(action(&d, "platform/greeting/null", "1.0.0").0, "planned");
    assert_eq!(action(&d, "platform/network/aws", "0.1.0").0, "exists");
    assert_eq!(dst.reg.stats().writes(), 0);

    copy_and_kill_half_way(&src, &dst, &dst_api).await;

    // The re-run finishes: what arrived before the kill is skipped as the same content.
    let r = run(copy_cmd(&src, &dst, &[])).await;
    let d = ok_json(&r);
    assert!(!format!("{}{}", r.stdout, r.stderr).contains(DST_TOKEN));
    assert_eq!(d["outcome"], "published", "{d}");
    let (a, why) = action(&d, "platform/greeting/null", "1.0.0");
    assert!(a == "skipped" || a == "updated", "{a}: {why}");
    t_done(&d);
    let (a, why) = action(&d, "platform/network/aws", "0.1.0");
    assert_eq!(a, "skipped");
    assert!(why.contains("conflict"), "{why}");
    assert!(d["warnings"].to_string().contains("conflict"), "{d}");
    check_target(&src, &dst).await;

    // Once more: nothing to write.
    dst.reg.stats().reset();
    let d = ok_json(&run(copy_cmd(&src, &dst, &[])).await);
    assert_eq!(d["outcome"], "nothing-to-do", "{d}");
    assert_eq!(dst.reg.stats().writes(), 0, "a converged copy wrote");

    // A revocation in the source is carried over to the version the target has.
    for verb in ["deprecate", "revoke"] {
        let c = tfpub_json(
            &src,
            &["module", verb, "greeting/null", "1.2.0", "--reason", "cve"],
        );
        ok_json(&run(c).await);
    }
    let d = ok_json(&run(copy_cmd(&src, &dst, &["--modules", "--only", "greeting"])).await);
    let (a, why) = action(&d, "platform/greeting/null", "1.2.0");
    assert_eq!(
        (a.as_str(), why.contains("revoked")),
        ("updated", true),
        "{why}"
    );
    assert!(d["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|i| i["kind"] == "module-version"));
    let r = run(copy_cmd(&src, &dst, &["--local"])).await;
    assert_eq!(r.code, 1);
    assert_eq!(r.json()["error"]["kind"], "invalid-input", "{}", r.stdout);
    let r = run(copy_cmd(&src, &dst, &["--to", "nohost"])).await;
    assert_eq!(r.code, 2, "--to twice is a usage error");
    let d = ok_json(
        &run(copy_cmd(
            &src,
            &dst,
            &["--only", "no-such-thing", "--dry-run"],
        ))
        .await,
    );
    assert!(d["items"].as_array().unwrap().is_empty(), "{d}");
    assert!(
        d["warnings"].to_string().contains("--only no-such-thing"),
        "{d}"
    );
    let v = dst_api
        .get(&module_path("greeting", "null", "1.2.0"))
        .await
        .1;
    assert_eq!(
        v["data"]["attributes"]["revocation"]["status"], "Revoked",
        "{v}"
    );
    src.stop().await;
    dst.stop().await;
}

/// Every copied version is reported created or skipped, none failed.
fn t_done(d: &Value) {
    for it in d["items"].as_array().unwrap() {
        assert_ne!(it["action"], "failed", "{it}");
    }
}

/// The target serves what the source does: module commits and deprecation, provider
/// files with the same signature, the key registered in the target's namespace.
async fn check_target(src: &TestRegistry, dst: &TestRegistry) {
    let mut c = tfpub_json(dst, &["module", "show", "greeting/null"]);
    c.env("TFE_TOKEN", DST_TOKEN)
        .env("TFE_ORGANIZATION", DST_ORG);
    let d = ok_json(&run(c).await);
    let v = |ver: &str| {
        d["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["kind"] == "module-version" && i["version"] == ver)
            .unwrap()
            .clone()
    };
    assert_eq!(v("1.0.0")["facts"]["deprecation-reason"], "old", "{d}");
    assert_eq!(v("1.1.0")["facts"]["deprecated"], false);
    assert_eq!(v("1.2.0")["facts"]["commit-sha"], format!("{:0>40}", "120"));
    assert_eq!(v("1.2.0")["facts"]["status"], "ok");

    let pull = |t: &TestRegistry, token: &str, org: &str, out: &std::path::Path| {
        let mut c = tfpub_json(t, &["provider", "pull", "greet", "1.1.0", "-o"]);
        c.arg(out)
            .env("TFE_TOKEN", token)
            .env("TFE_ORGANIZATION", org);
        c
    };
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("src"), tmp.path().join("dst"));
    ok_json(&run(pull(src, TEST_TOKEN, ORG, &a)).await);
    let r: Run = run(pull(dst, DST_TOKEN, DST_ORG, &b)).await;
    ok_json(&r);
    for f in [
        "terraform-provider-greet_1.1.0_SHA256SUMS.sig",
        "terraform-provider-greet_1.1.0_SHA256SUMS",
        "terraform-provider-greet_1.1.0_linux_amd64.zip",
    ] {
        assert_eq!(
            std::fs::read(a.join(f)).unwrap(),
            std::fs::read(b.join(f)).unwrap(),
            "{f}"
        );
    }
    // The real terraform installs the copies from the target, checking the signature.
    let tf = Terraform::new(
        &dst.reg,
        DST_TOKEN,
        &format!("terraform {{\n  required_providers {{\n    greet = {{\n      source  = \"registry.tfpub.test/{DST_ORG}/greet\"\n      version = \"1.1.0\"\n    }}\n  }}\n}}\n\nmodule \"greeting\" {{\n  source  = \"registry.tfpub.test/{DST_ORG}/greeting/null\"\n  version = \"1.1.0\"\n  name    = \"copy\"\n}}\n"),
    );
    let init = tf.run(&["init", "-input=false", "-no-color"]).await;
    assert!(init.stdout.contains("greet v1.1.0"), "{}", init.stdout);
    assert!(tf.data_dir().join("modules/greeting/more.tf").exists());
    let api = Api::new(&dst.reg, DST_TOKEN);
    let (_, keys) = api
        .get(&format!(
            "/api/registry/private/v2/gpg-keys?filter%5Bnamespace%5D={DST_ORG}"
        ))
        .await;
    assert_eq!(
        keys["data"][0]["attributes"]["key-id"], RSA_KEY_ID,
        "{keys}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_item_fails_the_copy_and_the_rerun_finishes_it() {
    let src = TestRegistry::start().await;
    let dst = TestRegistry::start().await;
    let work = tempfile::tempdir().unwrap();
    publish_provider(&src, work.path(), "1.0.0").await;
    publish_provider(&src, work.path(), "1.1.0").await;

    // Every upload to the target is cut off: each version fails on its own.
    dst.reg.faults().drop_next_uploads(1000);
    let r = run(copy_cmd(&src, &dst, &["--providers"])).await;
    assert_eq!(r.code, 1, "{}", r.stderr);
    let d = r.json();
    assert_eq!(
        (d["ok"].as_bool(), d["outcome"].as_str()),
        (Some(false), Some("failed"))
    );
    assert_eq!(action(&d, "platform/greet", "1.0.0").0, "failed", "{d}");
    assert_eq!(action(&d, "platform/greet", "1.1.0").0, "failed", "{d}");
    assert!(
        d["error"]["message"].as_str().unwrap().contains("2 of 2"),
        "{d}"
    );

    dst.reg.faults().drop_next_uploads(0);
    let d = ok_json(&run(copy_cmd(&src, &dst, &["--providers"])).await);
    assert_eq!(d["outcome"], "published", "{d}");
    for v in ["1.0.0", "1.1.0"] {
        let (a, why) = action(&d, "platform/greet", v);
        assert_eq!(a, "created", "{why}");
    }
    let mut c = tfpub_json(&dst, &["provider", "show", "greet"]);
    c.env("TFE_ORGANIZATION", DST_ORG);
    let d = ok_json(&run(c).await);
    let uploaded: Vec<&Value> = d["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["kind"] == "platform")
        .collect();
    assert_eq!(uploaded.len(), 4, "{d}");
    assert!(
        uploaded.iter().all(|p| p["facts"]["uploaded"] == true),
        "{d}"
    );
    src.stop().await;
    dst.stop().await;
}

/// A no-code module in the source (enabled, pinned, with variable options) is a no-code
/// module in the target after the copy, read back through the no-code endpoint; a re-run
/// changes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_code_settings_are_copied_after_the_versions() {
    let src = TestRegistry::start().await;
    let dst = TestRegistry::start().await;
    let (_tmp, dir) = module_copy();
    publish_module(&src, &dir, "greeting", "null", "1.0.0").await;
    publish_module(&src, &dir, "greeting", "null", "1.1.0").await;
    let c = tfpub_json(
        &src,
        &[
            "module",
            "configure",
            "greeting/null",
            "--no-code",
            "on",
            "--version-pin",
            "1.0.0",
            "--var-option",
            "region:string=us-east-1,eu-west-1",
        ],
    );
    ok_json(&run(c).await);

    let d = ok_json(&run(copy_cmd(&src, &dst, &["--modules"])).await);
    let id = format!("{DST_ORG}/greeting/null");
    let module_item = |d: &Value| -> Value {
        d["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["kind"] == "module" && i["id"] == id.as_str())
            .unwrap_or_else(|| panic!("no module item in {d}"))
            .clone()
    };
    let it = module_item(&d);
    assert_eq!(it["action"], "created", "{d}");
    assert!(
        it["detail"].as_str().unwrap().contains("pinned to 1.0.0"),
        "{it}"
    );

    let api = Api::new(&dst.reg, DST_TOKEN);
    let (s, m) = api
        .get(&format!(
            "/api/v2/organizations/{DST_ORG}/registry-modules/private/{DST_ORG}/greeting/null"
        ))
        .await;
    assert_eq!(s, 200, "{m}");
    assert_eq!(m["data"]["attributes"]["no-code"], true, "{m}");
    let nc_id = m["data"]["relationships"]["no-code-modules"]["data"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (s, nc) = api
        .get(&format!(
            "/api/v2/no-code-modules/{nc_id}?include=variable-options"
        ))
        .await;
    assert_eq!(s, 200, "{nc}");
    assert_eq!(nc["data"]["attributes"]["enabled"], true, "{nc}");
    assert_eq!(nc["data"]["attributes"]["version-pin"], "1.0.0", "{nc}");
    let opt = &nc["included"][0]["attributes"];
    assert_eq!(opt["variable-name"], "region", "{nc}");
    assert_eq!(
        opt["options"],
        serde_json::json!(["us-east-1", "eu-west-1"]),
        "{nc}"
    );

    let d = ok_json(&run(copy_cmd(&src, &dst, &["--modules"])).await);
    assert_eq!(module_item(&d)["action"], "exists", "{d}");
    src.stop().await;
    dst.stop().await;
}
