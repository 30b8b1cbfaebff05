//! VCS-aware modules (issue 19, point 6) against the embedded registry: `module link`
//! stores the link (read back as `vcs-repo` and `publishing-mechanism`), `module publish`
//! reads the module first and refuses to upload to a tag-based module (naming the tag to
//! push), `--wait-for-tag` stops on the registry's `setup_failed`, a branch-based module
//! gets versions created (never uploaded) that this registry cannot ingest, and says so.

use std::process::Command;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::registry::Api;
use crate::support::{ok_json, run, testdata, TestRegistry, ORG, TEST_TOKEN};

const REPO: &str = "acme-gh/terraform-null-greeting";

fn module_path() -> String {
    format!("/api/v2/organizations/{ORG}/registry-modules/private/{ORG}/greeting/null")
}

fn link(t: &TestRegistry, extra: &[&str]) -> Command {
    let mut c = t.tfpub_http();
    c.args(["module", "link", "greeting/null", "--json", "--vcs", REPO])
        .args(["--oauth-token-id", "ot-hmAyP66qk2AMVdbJ"])
        .args(extra);
    c
}

fn publish(t: &TestRegistry, extra: &[&str]) -> Command {
    let mut c = t.tfpub_http();
    c.args(["module", "publish", "--json"])
        .arg(testdata("modules/terraform-null-greeting"))
        .args(["--version", "1.0.0", "--timeout", "5"])
        .args(extra);
    c
}

async fn module(api: &Api) -> Value {
    let (status, body) = api.get(&module_path()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["data"]["attributes"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tag_based_link_is_stored_and_publish_refuses_to_upload_naming_the_tag() {
    let t = TestRegistry::start().await;
    let api = Api::new(&t.reg, TEST_TOKEN);
    let doc = ok_json(&run(link(&t, &["--tags"])).await);
    assert_eq!(doc["items"][0]["action"], "created", "{doc}");
    let a = module(&api).await;
    assert_eq!(a["vcs-repo"]["identifier"], REPO, "{a}");
    assert_eq!(
        a["vcs-repo"]["oauth-token-id"], "ot-hmAyP66qk2AMVdbJ",
        "{a}"
    );
    assert_eq!(a["publishing-mechanism"], "git_tag", "{a}");
    assert_eq!(a["status"], "setup_failed", "{a}");

    // Converges.
    let doc = ok_json(&run(link(&t, &["--tags"])).await);
    assert_eq!(doc["items"][0]["action"], "exists", "{doc}");

    let r = run(publish(&t, &[])).await;
    assert_eq!(r.code, 1, "{}", r.stdout);
    let e = r.json()["error"].clone();
    let msg = e["message"].as_str().unwrap();
    assert!(msg.contains("publishes from its tags"), "{e}");
    let hint = e["hint"].as_str().unwrap();
    assert!(hint.contains("git push origin v1.0.0"), "{e}");
    assert!(hint.contains("--wait-for-tag"), "{e}");
    assert!(
        !r.stderr.contains("packaging"),
        "nothing built: {}",
        r.stderr
    );
    assert_eq!(module(&api).await["version-statuses"], json!([]));

    // Waiting for the tag stops on the registry's verdict instead of timing out.
    let r = run(publish(&t, &["--wait-for-tag"])).await;
    assert_eq!(r.code, 1);
    let e = r.json()["error"].to_string();
    assert!(e.contains("setup_failed"), "{e}");
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_branch_based_module_gets_versions_created_not_uploaded_and_the_registry_says_it_cannot_clone(
) {
    let t = TestRegistry::start().await;
    let api = Api::new(&t.reg, TEST_TOKEN);
    ok_json(&run(link(&t, &["--branch", "main"])).await);
    let a = module(&api).await;
    assert_eq!(a["publishing-mechanism"], "branch", "{a}");
    assert_eq!(a["vcs-repo"]["branch"], "main", "{a}");

    let r = run(publish(
        &t,
        &["--commit-sha", "ea18e73d8da502870fdcbfc54155046bc0cf2679"],
    ))
    .await;
    assert_eq!(r.code, 1, "{}", r.stdout);
    let e = r.json()["error"].to_string();
    assert!(e.contains("cannot clone"), "{e}");
    assert_eq!(r.json()["error"]["kind"], "version-failed", "{e}");
    let v = api
        .module_version("greeting", "null", "1.0.0")
        .await
        .unwrap();
    let v = &v["data"];
    assert_eq!(v["attributes"]["status"], "reg_ingress_failed", "{v}");
    assert!(
        v["links"]["upload"].is_null(),
        "no upload link for a VCS version: {v}"
    );
    assert_eq!(
        v["attributes"]["commit-sha"],
        "ea18e73d8da502870fdcbfc54155046bc0cf2679"
    );

    // The branch can be switched to tags (and back) through the documented PATCH.
    let (s, b) = api
        .patch(&module_path(), json!({"vcs-repo": {"tags": true}}))
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["data"]["attributes"]["publishing-mechanism"], "git_tag");
    let (s, b) = api
        .patch(
            &module_path(),
            json!({"vcs-repo": {"branch": "main", "tags": true}}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn link_refusals_name_the_problem_and_create_nothing() {
    let t = TestRegistry::start().await;
    let api = Api::new(&t.reg, TEST_TOKEN);
    // Neither or both of --branch / --tags: usage errors.
    assert_eq!(run(link(&t, &[])).await.code, 2);
    assert_eq!(run(link(&t, &["--tags", "--branch", "main"])).await.code, 2);

    // A repository whose name names another module.
    let mut c = t.tfpub_http();
    c.args([
        "module", "link", "vpc/aws", "--json", "--vcs", REPO, "--tags",
    ])
    .args(["--oauth-token-id", "ot-1"]);
    let r = run(c).await;
    assert_eq!(r.code, 1);
    let d = r.json();
    assert_eq!(d["error"]["kind"], "invalid-input", "{d}");
    assert!(
        d["error"]["message"]
            .as_str()
            .unwrap()
            .contains("greeting/null"),
        "{d}"
    );
    let (s, _) = api
        .get(&format!(
            "/api/v2/organizations/{ORG}/registry-modules/private/{ORG}/vpc/aws"
        ))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // A monorepo folder may carry any name; it is sent with the link.
    let mut c = t.tfpub_http();
    c.args([
        "module",
        "link",
        "vpc/aws",
        "--json",
        "--vcs",
        "acme-gh/infra",
        "--tags",
    ])
    .args([
        "--oauth-token-id",
        "ot-1",
        "--source-dir",
        "modules/vpc",
        "--tag-prefix",
        "vpc/",
    ]);
    ok_json(&run(c).await);
    let (_, b) = api
        .get(&format!(
            "/api/v2/organizations/{ORG}/registry-modules/private/{ORG}/vpc/aws"
        ))
        .await;
    assert_eq!(
        b["data"]["attributes"]["vcs-repo"]["source-directory"], "modules/vpc",
        "{b}"
    );
    assert_eq!(
        b["data"]["attributes"]["vcs-repo"]["tag-prefix"], "vpc/",
        "{b}"
    );

    // An existing module without a link is not silently linked.
    ok_json(&run(publish(&t, &[])).await);
    let r = run(link(&t, &["--tags"])).await;
    assert_eq!(r.code, 1);
    assert!(r.json()["error"].to_string().contains("without a VCS link"));
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_skips_a_vcs_linked_module_saying_why_and_uploads_nothing() {
    use crate::support::git::{commit, tag};
    let t = TestRegistry::start().await;
    let api = Api::new(&t.reg, TEST_TOKEN);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("terraform-null-greeting");
    std::fs::create_dir_all(&dir).unwrap();
    let repo = git2::Repository::init(&dir).unwrap();
    let c = commit(
        &repo,
        &[("main.tf", "output \"x\" {\n  value = 1\n}\n")],
        "one",
    );
    tag(&repo, "v1.0.0", c, false);
    ok_json(&run(link(&t, &["--tags"])).await);

    let mut c = t.tfpub_http();
    c.args(["module", "sync", "--json"])
        .arg(&dir)
        .current_dir(&dir);
    let doc = ok_json(&run(c).await);
    let item = doc["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["action"] == "skipped" && i["kind"] == "module")
        .unwrap_or_else(|| panic!("no skipped module item: {doc:#}"))
        .clone();
    assert!(
        item["detail"].as_str().unwrap().contains("tag-based"),
        "{item}"
    );
    assert!(api
        .module_version("greeting", "null", "1.0.0")
        .await
        .is_none());
    t.stop().await;
}
