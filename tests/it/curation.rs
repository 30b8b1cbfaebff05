//! Public curation (issue 19, point 7): `module curate` / `provider curate` add and
//! `--remove` public registry entries, read back through the API (the module list with
//! `registry-name: public`, the `…/public/…` addresses), converging; a token without the
//! public permission is refused before anything is sent and the registry answers it 403;
//! a Terraform Enterprise that answers 422 or 403 is explained.

use std::process::Command;

use axum::http::StatusCode as AxStatus;
use reqwest::StatusCode;
use serde_json::json;

use crate::support::registry::Api;
use crate::support::{clean_tfpub, ok_json, run, TestRegistry, ORG, TEST_TOKEN};

const VPC: &str = "terraform-aws-modules/vpc/aws";

fn curate(t: &TestRegistry, kind: &str, entry: &str, extra: &[&str]) -> Command {
    let mut c = t.tfpub_http();
    c.args([kind, "curate", entry, "--json"]).args(extra);
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_public_module_is_added_listed_and_removed_converging() {
    let t = TestRegistry::start().await;
    let api = Api::new(&t.reg, TEST_TOKEN);
    let doc = ok_json(&run(curate(&t, "module", VPC, &[])).await);
    assert_eq!(doc["items"][0]["action"], "created", "{doc}");
    let (s, b) = api
        .get(&format!(
            "/api/v2/organizations/{ORG}/registry-modules?filter%5Bregistry_name%5D=public"
        ))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(b["data"].as_array().unwrap().len(), 1, "{b}");
    let a = &b["data"][0]["attributes"];
    assert_eq!(a["registry-name"], "public", "{b}");
    assert_eq!(a["namespace"], "terraform-aws-modules", "{b}");
    let path = format!(
        "/api/v2/organizations/{ORG}/registry-modules/public/terraform-aws-modules/vpc/aws"
    );
    assert_eq!(api.get(&path).await.0, StatusCode::OK);

    let doc = ok_json(&run(curate(&t, "module", VPC, &[])).await);
    assert_eq!(doc["items"][0]["action"], "exists", "{doc}");

    let doc = ok_json(&run(curate(&t, "module", VPC, &["--remove"])).await);
    assert_eq!(doc["items"][0]["action"], "deleted", "{doc}");
    assert_eq!(api.get(&path).await.0, StatusCode::NOT_FOUND);
    let doc = ok_json(&run(curate(&t, "module", VPC, &["--remove"])).await);
    assert_eq!(doc["items"][0]["action"], "exists", "{doc}");

    // A malformed address is refused before anything is sent.
    let r = run(curate(&t, "module", "vpc/aws", &[])).await;
    assert_eq!(r.code, 1);
    assert_eq!(r.json()["error"]["kind"], "invalid-input");
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_public_provider_is_added_and_removed() {
    let t = TestRegistry::start().await;
    let api = Api::new(&t.reg, TEST_TOKEN);
    let doc = ok_json(&run(curate(&t, "provider", "hashicorp/aws", &[])).await);
    assert_eq!(doc["items"][0]["action"], "created", "{doc}");
    let path = format!("/api/v2/organizations/{ORG}/registry-providers/public/hashicorp/aws");
    let (s, b) = api.get(&path).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(b["data"]["attributes"]["registry-name"], "public", "{b}");
    ok_json(&run(curate(&t, "provider", "hashicorp/aws", &["--remove"])).await);
    assert_eq!(api.get(&path).await.0, StatusCode::NOT_FOUND);
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_without_the_public_permission_is_refused_before_sending_and_by_the_registry() {
    let grants = json!({TEST_TOKEN: {"organizations": [ORG],
        "permissions": {"can-manage-public-modules": false}}});
    let t = TestRegistry::with_grants(&grants).await;
    let r = run(curate(&t, "module", VPC, &[])).await;
    assert_eq!(r.code, 1);
    let e = r.json()["error"].to_string();
    assert!(e.contains("cannot manage public modules"), "{e}");

    let api = Api::new(&t.reg, TEST_TOKEN);
    let (s, b) = api
        .post(
            &format!("/api/v2/organizations/{ORG}/registry-modules"),
            json!({"name": "vpc", "namespace": "terraform-aws-modules", "provider": "aws", "registry-name": "public"}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
    // Providers stay allowed for this token.
    ok_json(&run(curate(&t, "provider", "hashicorp/aws", &[])).await);
    t.stop().await;
}

/// A stand-in for a Terraform Enterprise without public curation: 422 for a public
/// module, 403 for a public provider (the statuses modules.md and providers.md document).
async fn tfe_stub() -> (std::net::SocketAddr, tokio::task::JoinHandle<()>) {
    use axum::routing::{get, post};
    let err = |status: AxStatus, title: &'static str, detail: &'static str| {
        move || async move {
            let body = json!({"errors": [{"status": status.as_u16().to_string(), "title": title, "detail": detail}]});
            (
                status,
                [("content-type", "application/vnd.api+json")],
                body.to_string(),
            )
        }
    };
    let empty = || async {
        (
            [("content-type", "application/vnd.api+json")],
            r#"{"data":[]}"#,
        )
    };
    let app = axum::Router::new()
        .route("/api/v2/ping", get(|| async { AxStatus::NO_CONTENT }))
        .route(
            &format!("/api/v2/organizations/{ORG}/registry-modules"),
            get(empty).post(err(
                AxStatus::UNPROCESSABLE_ENTITY,
                "invalid attribute",
                "Registry name must be private",
            )),
        )
        .route(
            &format!("/api/v2/organizations/{ORG}/registry-providers"),
            post(err(
                AxStatus::FORBIDDEN,
                "forbidden",
                "public providers are not available",
            )),
        )
        .fallback(|| async {
            (
                AxStatus::NOT_FOUND,
                r#"{"errors":[{"status":"404","title":"not found"}]}"#,
            )
        });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let h = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (addr, h)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_terraform_enterprise_refusal_is_explained() {
    let (addr, server) = tfe_stub().await;
    let home = tempfile::tempdir().unwrap();
    let cmd = |kind: &str, entry: &str| {
        let mut c = clean_tfpub(home.path());
        c.env("TFE_HOSTNAME", format!("http://{addr}"))
            .env("TFE_ORGANIZATION", ORG)
            .env("TFE_TOKEN", TEST_TOKEN)
            .args([kind, "curate", entry, "--json"]);
        c
    };
    let r = run(cmd("module", VPC)).await;
    assert_eq!(r.code, 1, "{}", r.stderr);
    let e = r.json()["error"].clone();
    assert!(e["message"].as_str().unwrap().contains("HTTP 422"), "{e}");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("Registry name must be private"),
        "{e}"
    );
    assert!(
        e["hint"]
            .as_str()
            .unwrap()
            .contains("Terraform Enterprise accepts only registry-name private"),
        "{e}"
    );

    let r = run(cmd("provider", "hashicorp/aws")).await;
    assert_eq!(r.code, 1, "{}", r.stderr);
    let e = r.json()["error"].clone();
    assert!(e["message"].as_str().unwrap().contains("HTTP 403"), "{e}");
    assert!(
        e["hint"]
            .as_str()
            .unwrap()
            .contains("Manage Private Registry"),
        "{e}"
    );
    assert_eq!(e["kind"], "unauthorized", "{e}");
    server.abort();
}
