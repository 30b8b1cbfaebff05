//! `module configure` (issue 16's test-config, issue 19 point 5's no-code modules) and
//! `module publish --no-code [--pin-latest]`, against the embedded registry: what tfpub
//! sends is read back through the API as another client would (the module's
//! `test-config`, `no-code` and `no-code-modules` relationship; the no-code module's
//! `version-pin` and variable options), each command converges, and bad input is refused.

use std::process::Command;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::registry::Api;
use crate::support::{ok_json, run, testdata, TestRegistry, ORG, TEST_TOKEN};

const MODULE: &str = "greeting/null";

fn module_path() -> String {
    format!("/api/v2/organizations/{ORG}/registry-modules/private/{ORG}/greeting/null")
}

fn publish(t: &TestRegistry, version: &str, extra: &[&str]) -> Command {
    let mut c = t.tfpub_http();
    c.args(["module", "publish", "--json"])
        .arg(testdata("modules/terraform-null-greeting"))
        .args(["--version", version])
        .args(extra);
    c
}

fn configure(t: &TestRegistry, args: &[&str]) -> Command {
    let mut c = t.tfpub_http();
    c.args(["module", "configure", MODULE, "--json"]).args(args);
    c
}

/// The single item of a configure result that matches `detail_part`.
fn item_with(doc: &Value, detail_part: &str) -> Value {
    doc["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["detail"].as_str().unwrap_or("").contains(detail_part))
        .unwrap_or_else(|| panic!("no item saying {detail_part:?} in {doc:#}"))
        .clone()
}

async fn module_attrs(api: &Api) -> Value {
    let (status, body) = api.get(&module_path()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["data"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tests_on_remote_then_agent_then_off_each_read_back_and_converging() {
    let t = TestRegistry::start().await;
    let api = Api::new(&t.reg, TEST_TOKEN);
    ok_json(&run(publish(&t, "1.0.0", &[])).await);
    assert!(module_attrs(&api).await["attributes"]["test-config"].is_null());

    let doc = ok_json(&run(configure(&t, &["--tests", "on"])).await);
    assert_eq!(doc["outcome"], "updated");
    assert_eq!(item_with(&doc, "tests enabled")["action"], "updated");
    let tc = module_attrs(&api).await["attributes"]["test-config"].clone();
    assert_eq!(tc["tests-enabled"], true, "{tc}");
    assert_eq!(tc["agent-execution-mode"], "remote", "{tc}");

    // The same again changes nothing.
    let doc = ok_json(&run(configure(&t, &["--tests", "on"])).await);
    assert_eq!(doc["outcome"], "nothing-to-do", "{doc}");
    assert_eq!(item_with(&doc, "tests enabled")["action"], "exists");

    let doc = ok_json(
        &run(configure(
            &t,
            &["--tests", "on", "--agent-pool", "apool-yoGUFz5zcRMMz53i"],
        ))
        .await,
    );
    assert!(item_with(&doc, "agent pool apool-yoGUFz5zcRMMz53i")["action"] == "updated");
    let tc = module_attrs(&api).await["attributes"]["test-config"].clone();
    assert_eq!(tc["agent-execution-mode"], "agent", "{tc}");
    assert_eq!(tc["agent-pool-id"], "apool-yoGUFz5zcRMMz53i", "{tc}");

    let doc = ok_json(&run(configure(&t, &["--tests", "off"])).await);
    assert_eq!(item_with(&doc, "tests disabled")["action"], "updated");
    assert_eq!(
        module_attrs(&api).await["attributes"]["test-config"]["tests-enabled"],
        false
    );

    // The registry refuses what the reference forbids.
    let (status, body) = api
        .patch(
            &module_path(),
            json!({"test-config": {"agent-execution-mode": "agent", "agent-pool-id": null}}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(
        body.to_string().contains("agent-pool-id is required"),
        "{body}"
    );
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_code_on_with_a_pin_and_variable_options_then_off() {
    let t = TestRegistry::start().await;
    let api = Api::new(&t.reg, TEST_TOKEN);
    ok_json(&run(publish(&t, "1.0.0", &[])).await);
    ok_json(&run(publish(&t, "1.1.0", &[])).await);

    let args = [
        "--no-code",
        "on",
        "--version-pin",
        "1.0.0",
        "--var-option",
        "region:string=us-east-1,eu-west-1",
    ];
    let doc = ok_json(&run(configure(&t, &args)).await);
    assert_eq!(
        item_with(&doc, "no-code enabled, pinned to 1.0.0")["action"],
        "created"
    );
    let m = module_attrs(&api).await;
    assert_eq!(m["attributes"]["no-code"], true, "{m}");
    let id = m["relationships"]["no-code-modules"]["data"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, nc) = api
        .get(&format!(
            "/api/v2/no-code-modules/{id}?include=variable-options"
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(nc["data"]["attributes"]["version-pin"], "1.0.0", "{nc}");
    assert_eq!(nc["data"]["attributes"]["enabled"], true, "{nc}");
    assert_eq!(
        nc["data"]["relationships"]["registry-module"]["data"]["id"],
        m["id"]
    );
    let opt = &nc["included"][0]["attributes"];
    assert_eq!(opt["variable-name"], "region", "{nc}");
    assert_eq!(opt["options"], json!(["us-east-1", "eu-west-1"]), "{nc}");

    // Converges: the same request is a no-op.
    let doc = ok_json(&run(configure(&t, &args)).await);
    assert_eq!(doc["outcome"], "nothing-to-do", "{doc}");

    // A pin to a version the module does not have is refused, naming it.
    let r = run(configure(
        &t,
        &["--no-code", "on", "--version-pin", "9.9.9"],
    ))
    .await;
    assert_eq!(r.code, 1, "{}", r.stdout);
    let err = r.json()["error"].to_string();
    assert!(err.contains("9.9.9"), "{err}");

    // `latest` removes the pin; off disables without deleting.
    let doc = ok_json(
        &run(configure(
            &t,
            &["--no-code", "on", "--version-pin", "latest"],
        ))
        .await,
    );
    assert_eq!(
        item_with(&doc, "no-code enabled (latest version)")["action"],
        "updated"
    );
    let doc = ok_json(&run(configure(&t, &["--no-code", "off"])).await);
    assert_eq!(item_with(&doc, "no-code disabled")["action"], "updated");
    assert_eq!(module_attrs(&api).await["attributes"]["no-code"], false);
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publish_no_code_pin_latest_goes_through_the_no_code_module() {
    let t = TestRegistry::start().await;
    let api = Api::new(&t.reg, TEST_TOKEN);
    // --dry-run plans it and changes nothing.
    let doc = ok_json(
        &run(publish(
            &t,
            "1.0.0",
            &["--no-code", "--pin-latest", "--dry-run"],
        ))
        .await,
    );
    assert_eq!(
        item_with(&doc, "enable its no-code module pinned")["action"],
        "planned",
        "{doc}"
    );
    assert_eq!(api.get(&module_path()).await.0, StatusCode::NOT_FOUND);

    let doc = ok_json(&run(publish(&t, "1.0.0", &["--no-code", "--pin-latest"])).await);
    assert_eq!(
        item_with(&doc, "pinned to 1.0.0")["action"],
        "created",
        "{doc}"
    );
    let doc = ok_json(&run(publish(&t, "1.1.0", &["--no-code", "--pin-latest"])).await);
    assert_eq!(
        item_with(&doc, "pinned to 1.1.0")["action"],
        "updated",
        "{doc}"
    );
    let m = module_attrs(&api).await;
    assert_eq!(m["attributes"]["no-code"], true);
    let id = m["relationships"]["no-code-modules"]["data"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, nc) = api.get(&format!("/api/v2/no-code-modules/{id}")).await;
    assert_eq!(nc["data"]["attributes"]["version-pin"], "1.1.0", "{nc}");
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_errors_and_a_missing_module() {
    let t = TestRegistry::start().await;
    for args in [
        &["--agent-pool", "apool-1"][..],
        &["--version-pin", "1.0.0"][..],
        &["--tests", "maybe"][..],
        &["--no-code", "on", "--var-option", "region"][..],
    ] {
        let r = run(configure(&t, args)).await;
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
    }
    let r = run(configure(&t, &[])).await;
    assert_eq!(r.code, 1);
    assert!(r.json()["error"]
        .to_string()
        .contains("nothing to configure"));
    let r = run(configure(&t, &["--tests", "on"])).await;
    assert_eq!(r.code, 1);
    let d = r.json();
    assert_eq!(d["error"]["kind"], "not-found", "{d}");
    assert!(
        d["error"]["message"]
            .as_str()
            .unwrap()
            .contains("greeting/null"),
        "{d}"
    );
    t.stop().await;
}
