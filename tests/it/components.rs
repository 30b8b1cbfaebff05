//! Stack component configurations, end to end: `tfpub component …` run as the real binary
//! against the embedded registry, and the registry's API checked over plain HTTP (not
//! through tfpub's client), so a bug in one cannot hide a bug in the other.
//!
//! The Terraform CLI here cannot consume a Stack, so the proof that a published version is
//! consumable is reading its archive bytes back through the API (the version's `download`
//! link) and comparing them, file by file, with the fixture (testdata/stack-component: two
//! components, a `required_providers` block, a README).

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::fs::{hostile_tarball, tarball, write};
use crate::support::registry::{started, Api};
use crate::support::{
    copy_tree, git, module_copy, ok_json, run, testdata, TestRegistry, ORG, TEST_TOKEN,
};

const FIXTURE: &str = "stack-component";

/// A writable copy of the fixture outside any git repository.
fn fixture_copy() -> (tempfile::TempDir, std::path::PathBuf) {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("terraform-component-web");
    copy_tree(&testdata(FIXTURE), &dir);
    (t, dir)
}

fn publish_cmd(t: &TestRegistry, dir: &Path, name: &str, version: &str) -> std::process::Command {
    let mut c = t.tfpub_http();
    c.args(["--json", "component", "publish"]).arg(dir).args([
        "--name",
        name,
        "--version",
        version,
    ]);
    c
}

fn cli(t: &TestRegistry, args: &[&str]) -> std::process::Command {
    let mut c = t.tfpub_http();
    c.arg("--json").args(args);
    c
}

/// The component named `name` as the API lists it (searched with `q`), or None.
async fn listed(api: &Api, name: &str) -> Option<Value> {
    let (s, d) = api
        .get(&format!(
            "/api/v2/organizations/{ORG}/registry-components?q={name}"
        ))
        .await;
    assert_eq!(s, StatusCode::OK, "{d}");
    d["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["attributes"]["name"] == name)
        .cloned()
}

/// The files of a .tar.gz, by path.
fn unpack(bytes: &[u8]) -> BTreeMap<String, Vec<u8>> {
    let mut a = tar::Archive::new(flate2::read::GzDecoder::new(bytes));
    let mut out = BTreeMap::new();
    for e in a.entries().unwrap() {
        let mut e = e.unwrap();
        if !e.header().entry_type().is_file() {
            continue;
        }
        let p = e.path().unwrap().to_string_lossy().into_owned();
        let mut buf = Vec::new();
        e.read_to_end(&mut buf).unwrap();
        out.insert(p, buf);
    }
    out
}

/// The files of a folder, by `/`-separated path.
fn files_of(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p
                    .strip_prefix(dir)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publish_reads_back_through_the_api_and_rerun_is_a_noop() {
    let t = TestRegistry::start().await;
    let api = Api::new(&t.reg, TEST_TOKEN);
    let (_f, fixture) = fixture_copy();
    let d = ok_json(&run(publish_cmd(&t, &fixture, "web-stack", "1.0.0")).await);
    assert_eq!(d["outcome"], "published", "{d}");
    assert_eq!(d["published"], true);
    let kinds: Vec<_> = d["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["kind"].clone(), i["action"].clone()))
        .collect();
    assert!(
        kinds.contains(&(json!("component"), json!("created"))),
        "{d}"
    );
    assert!(
        kinds.contains(&(json!("component-version"), json!("updated"))),
        "{d}"
    );

    // Read back through the API: the component, its latest version and its providers.
    let c = listed(&api, "web-stack").await.expect("listed");
    let id = c["id"].as_str().unwrap().to_string();
    assert!(id.starts_with("comp-"), "{id}");
    assert_eq!(c["type"], "registry-components");
    let a = &c["attributes"];
    assert_eq!(a["status"], "completed");
    assert_eq!(a["latest-version"], "1.0.0");
    assert_eq!(a["namespace"], ORG);
    assert!(a["published-at"].is_string(), "{c}");
    assert_eq!(
        a["providers"],
        json!([
            {"name": "random", "namespace": "hashicorp", "source": "hashicorp/random"},
            {"name": "null", "namespace": "hashicorp", "source": "hashicorp/null"},
        ])
    );
    let (s, v) = api
        .get(&format!("/api/v2/registry-components/{id}/versions/1.0.0"))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let va = &v["data"]["attributes"];
    assert!(v["data"]["id"].as_str().unwrap().starts_with("compver-"));
    assert_eq!(v["data"]["type"], "registry-component-versions");
    assert_eq!(va["source"], "api");
    assert_eq!(va["status"], "completed");
    assert_eq!(va["error-message"], Value::Null);
    let readme = std::fs::read_to_string(fixture.join("README.md")).unwrap();
    assert_eq!(va["readme"], readme.as_str());
    let vars: Vec<_> = va["variables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].clone())
        .collect();
    assert_eq!(vars, vec![json!("prefix"), json!("instances")]);
    assert_eq!(va["outputs"][0]["name"], "pet_name");
    assert!(v["data"]["links"].get("upload").is_none(), "{v}");

    // The proof of consumption: the archive's bytes, read back without a token, unpack to
    // exactly the fixture's files.
    let url = v["data"]["links"]["download"]
        .as_str()
        .expect("download link");
    let bytes = reqwest::get(url).await.unwrap().bytes().await.unwrap();
    assert_eq!(unpack(&bytes), files_of(&fixture));

    // Re-run: nothing written, exit 0, already published.
    t.reg.stats().reset();
    let again = ok_json(&run(publish_cmd(&t, &fixture, "web-stack", "1.0.0")).await);
    assert_eq!(again["outcome"], "already-published", "{again}");
    assert_eq!(t.reg.stats().writes(), 0);
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_content_for_a_published_version_is_refused_and_versions_and_deletes_work() {
    let t = TestRegistry::start().await;
    let api = Api::new(&t.reg, TEST_TOKEN);
    let (_f, fixture) = fixture_copy();
    // The name comes from the folder: terraform-component-web is `web`.
    let mut first = t.tfpub_http();
    first
        .args(["--json", "component", "publish"])
        .arg(&fixture)
        .args(["--version", "1.0.0"]);
    ok_json(&run(first).await);
    let tmp = tempfile::tempdir().unwrap();
    let changed = tmp.path().join("web");
    copy_tree(&fixture, &changed);
    write(&changed, "README.md", "# web\n\nChanged.\n");

    t.reg.stats().reset();
    let r = run(publish_cmd(&t, &changed, "web", "1.0.0")).await;
    assert_eq!(r.code, 1, "{}", r.stderr);
    let d = r.json();
    assert_eq!(d["error"]["kind"], "content-conflict", "{d}");
    assert!(
        d["error"]["message"]
            .as_str()
            .unwrap()
            .contains("README.md"),
        "{d}"
    );
    assert_eq!(t.reg.stats().writes(), 0);

    // The change as a new version: published, listed, latest.
    ok_json(&run(publish_cmd(&t, &changed, "web", "1.1.0")).await);
    let d = ok_json(&run(cli(&t, &["component", "versions", "web"])).await);
    let vs: Vec<_> = d["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["version"].clone(), i["detail"].clone()))
        .collect();
    assert_eq!(
        vs,
        vec![
            (json!("1.0.0"), json!("status completed")),
            (json!("1.1.0"), json!("status completed"))
        ]
    );
    let d = ok_json(&run(cli(&t, &["component", "list", "-q", "we"])).await);
    assert_eq!(d["items"].as_array().unwrap().len(), 1, "{d}");
    assert_eq!(d["items"][0]["version"], "1.1.0");

    // Delete a version, then the component.
    let d = ok_json(&run(cli(&t, &["component", "delete", "web", "1.0.0", "--yes"])).await);
    assert_eq!(d["outcome"], "deleted");
    let id = listed(&api, "web").await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (s, _) = api
        .get(&format!("/api/v2/registry-components/{id}/versions/1.0.0"))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = api
        .get(&format!("/api/v2/registry-components/{id}/versions/1.1.0"))
        .await;
    assert_eq!(s, StatusCode::OK);
    ok_json(&run(cli(&t, &["component", "delete", "web", "--yes"])).await);
    assert!(listed(&api, "web").await.is_none());
    let (s, _) = api.get(&format!("/api/v2/registry-components/{id}")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let r = run(cli(&t, &["component", "versions", "web"])).await;
    assert_eq!(r.code, 1);
    assert_eq!(r.json()["error"]["kind"], "not-found");
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_refusals_write_nothing() {
    let t = TestRegistry::start().await;
    let (_m, module) = module_copy();
    let (_f, fixture) = fixture_copy();
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec![
                module.display().to_string(),
                "--version".into(),
                "1.0.0".into(),
            ],
            "module publish",
        ),
        (
            vec![
                fixture.display().to_string(),
                "--name=-web".into(),
                "--version".into(),
                "1.0.0".into(),
            ],
            "start and end",
        ),
        (
            vec![
                fixture.display().to_string(),
                "--name".into(),
                "x".repeat(65),
                "--version".into(),
                "1.0.0".into(),
            ],
            "64",
        ),
        (
            vec![
                fixture.display().to_string(),
                "--name".into(),
                "web".into(),
                "--version".into(),
                "one".into(),
            ],
            "semantic",
        ),
    ];
    t.reg.stats().reset();
    for (args, says) in cases {
        let mut c = t.tfpub_http();
        c.args(["--json", "component", "publish"]).args(&args);
        let r = run(c).await;
        assert_eq!(r.code, 1, "{args:?}: {}", r.stderr);
        let d = r.json();
        assert_eq!(d["error"]["kind"], "invalid-input", "{d}");
        let text = format!("{} {}", d["error"]["message"], d["error"]["hint"]);
        assert!(text.contains(says), "{args:?}: {text}");
    }
    assert_eq!(t.reg.stats().writes(), 0);
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registry_refuses_what_hcp_refuses_with_jsonapi_errors_and_no_write() {
    let (_d, reg, api) = started(TEST_TOKEN).await;
    let coll = format!("/api/v2/organizations/{ORG}/registry-components");
    let (s, c) = api.post(&coll, json!({"name": "eks-cluster"})).await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
    assert_eq!(c["data"]["attributes"]["status"], "pending");
    assert_eq!(c["data"]["attributes"]["version-statuses"], json!([]));
    let id = c["data"]["id"].as_str().unwrap().to_string();
    let vpath = format!("/api/v2/registry-components/{id}/versions");
    let (s, v) = api.post(&vpath, json!({"version": "1.0.0"})).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let before = api.get(&coll).await.1;
    let refusals = [
        (coll.clone(), json!({"name": "x".repeat(65)})),
        (coll.clone(), json!({"name": "-eks"})),
        (coll.clone(), json!({"name": "eks-"})),
        (coll.clone(), json!({"name": "eks-cluster"})),
        (coll.clone(), json!({"vcs-repo": {"identifier": "a/b"}})),
        (vpath.clone(), json!({"version": "1.0"})),
        (vpath.clone(), json!({"version": "1.0.0"})),
    ];
    for (path, attrs) in refusals {
        let (s, e) = api.post(&path, attrs.clone()).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{attrs}: {e}");
        assert_eq!(e["errors"][0]["status"], "422", "{e}");
        assert!(e["errors"][0]["detail"].is_string(), "{e}");
    }
    assert_eq!(
        api.get(&coll).await.1,
        before,
        "a refusal changed the listing"
    );
    let (_, vs) = api.get(&vpath).await;
    assert_eq!(vs["data"].as_array().unwrap().len(), 1, "{vs}");
    // Unknown ids, and another organization's token, are 404s.
    let (s, _) = api.get("/api/v2/registry-components/comp-nope").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    reg.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_archive_without_tfcomponent_files_fails_with_an_error_message() {
    let (_d, reg, api) = started(TEST_TOKEN).await;
    let (_, c) = api
        .post(
            &format!("/api/v2/organizations/{ORG}/registry-components"),
            json!({"name": "broken"}),
        )
        .await;
    let id = c["data"]["id"].as_str().unwrap();
    let vpath = format!("/api/v2/registry-components/{id}/versions");
    let (_, v) = api.post(&vpath, json!({"version": "1.0.0"})).await;
    let upload = v["data"]["links"]["upload"].as_str().unwrap();
    let tgz = tarball(&[
        ("main.tf", b"# a module, not a stack\n"),
        ("README.md", b"# x\n"),
    ]);
    assert_eq!(api.put(upload, tgz).await, StatusCode::OK);
    let (_, v) = api.get(&format!("{vpath}/1.0.0")).await;
    let a = &v["data"]["attributes"];
    assert_eq!(a["status"], "failed", "{v}");
    let msg = a["error-message"].as_str().unwrap();
    assert!(msg.contains("*.tfcomponent.hcl"), "{msg}");
    let (_, c) = api.get(&format!("/api/v2/registry-components/{id}")).await;
    assert_eq!(c["data"]["attributes"]["latest-version"], Value::Null);
    assert_eq!(
        c["data"]["attributes"]["version-statuses"],
        json!([{"version": "1.0.0", "status": "failed"}])
    );
    reg.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listing_pages_and_searches() {
    let (_d, reg, api) = started(TEST_TOKEN).await;
    let coll = format!("/api/v2/organizations/{ORG}/registry-components");
    for n in ["alpha", "beta", "alphabet"] {
        let (s, _) = api.post(&coll, json!({"name": n})).await;
        assert_eq!(s, StatusCode::CREATED);
    }
    let (_, p1) = api.get(&format!("{coll}?page%5Bsize%5D=2")).await;
    assert_eq!(p1["data"].as_array().unwrap().len(), 2);
    assert_eq!(p1["meta"]["pagination"]["total-count"], 3);
    assert_eq!(p1["meta"]["pagination"]["next-page"], 2);
    assert!(p1["links"]["next"]
        .as_str()
        .unwrap()
        .contains("page%5Bnumber%5D=2"));
    let (_, p2) = api
        .get(&format!("{coll}?page%5Bsize%5D=2&page%5Bnumber%5D=2"))
        .await;
    assert_eq!(p2["data"].as_array().unwrap().len(), 1);
    assert_eq!(p2["links"]["next"], Value::Null);
    let (_, q) = api.get(&format!("{coll}?q=alpha")).await;
    let names: Vec<_> = q["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["attributes"]["name"].clone())
        .collect();
    assert_eq!(names, vec![json!("alpha"), json!("alphabet")]);
    reg.shutdown().await;
}

/// A monorepo with one module and one Stack component configuration, each with its own tag
/// prefix, listed in tfpub.toml.
fn mixed_repo(root: &Path) -> git2::Repository {
    copy_tree(
        &testdata("modules/terraform-null-greeting"),
        &root.join("modules/greeting"),
    );
    copy_tree(&testdata(FIXTURE), &root.join("stacks/web"));
    write(
        root,
        "tfpub.toml",
        "[[module]]\npath = \"modules/greeting\"\nname = \"greeting\"\nprovider = \"null\"\ntag_prefix = \"greeting/\"\n\n[[component]]\npath = \"stacks/web\"\nname = \"web-stack\"\ntag_prefix = \"web/\"\n",
    );
    git2::Repository::init(root).unwrap()
}

/// `module sync` at the root of a repository with mixed tags publishes the module's tags as
/// module versions and the component's as component versions, neither crossing over;
/// `component sync` then has nothing to do.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_of_mixed_tags_publishes_each_to_its_own_kind() {
    let t = TestRegistry::start().await;
    let api = Api::new(&t.reg, TEST_TOKEN);
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("mono");
    let repo = mixed_repo(&root);
    let c1 = git::commit(&repo, &[], "first");
    git::tag(&repo, "greeting/v1.0.0", c1, true);
    git::tag(&repo, "web/v1.0.0", c1, false);
    let c2 = git::commit(
        &repo,
        &[("stacks/web/README.md", "# web-stack\n\nSecond.\n")],
        "second",
    );
    git::tag(&repo, "web/v1.1.0", c2, true);

    let mut plan = t.tfpub_http();
    plan.args(["--json", "component", "sync", "--dry-run"])
        .arg(&root);
    let d = ok_json(&run(plan).await);
    assert_eq!(d["outcome"], "planned", "{d}");
    let planned = d["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["action"] == "planned")
        .count();
    assert_eq!(planned, 2, "{d}");
    assert_eq!(t.reg.stats().writes(), 0);

    let mut m = t.tfpub_http();
    m.args(["--json", "module", "sync"]).arg(&root);
    let d = ok_json(&run(m).await);
    assert_eq!(d["outcome"], "published", "{d}");
    let tags: Vec<_> = d["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["kind"] == "tag")
        .map(|i| (i["id"].clone(), i["action"].clone()))
        .collect();
    assert_eq!(
        tags,
        vec![
            (json!("greeting/v1.0.0"), json!("uploaded")),
            (json!("web/v1.0.0"), json!("uploaded")),
            (json!("web/v1.1.0"), json!("uploaded")),
        ]
    );

    let comp = listed(&api, "web-stack").await.expect("component");
    assert_eq!(comp["attributes"]["latest-version"], "1.1.0");
    let statuses = comp["attributes"]["version-statuses"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(statuses, 2);
    assert!(
        listed(&api, "greeting").await.is_none(),
        "the module became a component"
    );
    assert!(api
        .module_version("greeting", "null", "1.0.0")
        .await
        .is_some());
    assert!(api
        .module_version("web-stack", "null", "1.0.0")
        .await
        .is_none());
    // The second version's archive holds the second commit's README.
    let id = comp["id"].as_str().unwrap();
    let (_, v) = api
        .get(&format!("/api/v2/registry-components/{id}/versions/1.1.0"))
        .await;
    let url = v["data"]["links"]["download"].as_str().unwrap();
    let files = unpack(&reqwest::get(url).await.unwrap().bytes().await.unwrap());
    assert_eq!(files["README.md"], b"# web-stack\n\nSecond.\n");

    // Again, as a component sync: nothing to do, nothing written.
    t.reg.stats().reset();
    let mut again = t.tfpub_http();
    again.args(["--json", "component", "sync"]).arg(&root);
    let d = ok_json(&run(again).await);
    assert_eq!(d["outcome"], "nothing-to-do", "{d}");
    assert_eq!(t.reg.stats().writes(), 0);
    t.stop().await;
}

/// `module publish` at the root publishes the component listed in tfpub.toml too, each
/// at the version of its own prefixed tag at HEAD.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn module_publish_at_the_root_publishes_both_kinds() {
    let t = TestRegistry::start().await;
    let api = Api::new(&t.reg, TEST_TOKEN);
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("mono");
    let repo = mixed_repo(&root);
    let head = git::commit(&repo, &[], "first");
    git::tag(&repo, "greeting/v2.0.0", head, true);
    git::tag(&repo, "web/v3.0.0", head, true);
    let mut c = t.tfpub_http();
    c.args(["--json", "module", "publish"]).arg(&root);
    let d = ok_json(&run(c).await);
    assert_eq!(d["outcome"], "published", "{d}");
    let done: Vec<_> = d["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["action"] == "updated")
        .map(|i| (i["kind"].clone(), i["version"].clone()))
        .collect();
    assert_eq!(
        done,
        vec![
            (json!("module-version"), json!("2.0.0")),
            (json!("component-version"), json!("3.0.0")),
        ]
    );
    assert!(api
        .module_version("greeting", "null", "2.0.0")
        .await
        .is_some());
    let comp = listed(&api, "web-stack").await.expect("component");
    assert_eq!(comp["attributes"]["latest-version"], "3.0.0");
    t.stop().await;
}

/// A version left `pending` with its upload link (a publisher that died after creating
/// it) is resumed by uploading into it; two publishers racing on a new name end with one
/// component configuration.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pending_version_is_resumed_and_racing_publishers_make_one_component() {
    let t = TestRegistry::start().await;
    let api = Api::new(&t.reg, TEST_TOKEN);
    let (_f, fixture) = fixture_copy();
    let (_, c) = api
        .post(
            &format!("/api/v2/organizations/{ORG}/registry-components"),
            json!({"name": "resumed"}),
        )
        .await;
    let id = c["data"]["id"].as_str().unwrap().to_string();
    let vpath = format!("/api/v2/registry-components/{id}/versions");
    let (s, _) = api.post(&vpath, json!({"version": "1.0.0"})).await;
    assert_eq!(s, StatusCode::CREATED);
    t.reg.stats().reset();
    let d = ok_json(&run(publish_cmd(&t, &fixture, "resumed", "1.0.0")).await);
    assert_eq!(d["outcome"], "published", "{d}");
    let stats = t.reg.stats();
    assert_eq!(
        stats.count("POST", "registry-components"),
        0,
        "no create on resume"
    );
    assert_eq!(stats.count("PUT", "/_archivist/upload/"), 1);
    let (_, v) = api.get(&format!("{vpath}/1.0.0")).await;
    assert_eq!(v["data"]["attributes"]["status"], "completed");

    let a = run(publish_cmd(&t, &fixture, "raced", "1.0.0"));
    let b = run(publish_cmd(&t, &fixture, "raced", "1.0.0"));
    let (a, b) = tokio::join!(a, b);
    ok_json(&a);
    ok_json(&b);
    let (_, all) = api
        .get(&format!(
            "/api/v2/organizations/{ORG}/registry-components?q=raced"
        ))
        .await;
    assert_eq!(all["data"].as_array().unwrap().len(), 1, "{all}");
    t.stop().await;
}

/// The GitHub Action with `command: component publish`: the same outputs and summary as a
/// module publish.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn action_publishes_a_component_configuration() {
    let t = TestRegistry::start().await;
    let host = t.host();
    let (_f, fixture) = fixture_copy();
    let tmp = tempfile::tempdir().unwrap();
    let work = tmp.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    let root = crate::support::repo_root();
    let r = tokio::task::spawn_blocking(move || {
        let yml = std::fs::read_to_string(root.join("action.yml")).unwrap();
        crate::action::run_action(
            &yml,
            &root,
            &[
                ("command", "component publish"),
                ("path", fixture.to_str().unwrap()),
                ("name", "web-stack"),
                ("version", "1.2.0"),
                ("organization", ORG),
                ("hostname", &host),
                ("token", "tok-COMP-SECRET"),
            ],
            &[("TFPUB_BINARY", env!("CARGO_BIN_EXE_tfpub"))],
            &work,
        )
        .unwrap()
    })
    .await
    .unwrap();
    let api = Api::new(&t.reg, TEST_TOKEN);
    let c = listed(&api, "web-stack").await;
    t.stop().await;
    assert_eq!(r.code, 0, "{}", r.log);
    assert_eq!(r.outputs["published"], "true", "{}", r.log);
    assert_eq!(r.outputs["version"], "1.2.0");
    assert!(
        r.outputs["registry-url"].contains("/api/v2/registry-components/comp-"),
        "{:?}",
        r.outputs
    );
    let doc: Value = serde_json::from_str(&r.outputs["result-json"]).unwrap();
    assert_eq!(doc["command"], "component publish");
    assert!(r.summary.contains("| component-version |"), "{}", r.summary);
    assert!(!r
        .log
        .replace("::add-mask::tok-COMP-SECRET", "")
        .contains("tok-COMP-SECRET"));
    assert_eq!(c.unwrap()["attributes"]["latest-version"], "1.2.0");
}

/// Attributes the registry emits for component configurations that no sample of
/// stack-component-configurations.md shows, each with its reason (docs/hcp-fidelity.md,
/// item 17).
const UNDOCUMENTED: &[(&str, &str, &str)] = &[
    (
        "registry-component-versions",
        "attributes.providers",
        "read from required_providers; the sample links them as a relationship",
    ),
    (
        "registry-component-versions",
        "attributes.providers[].name",
        "as the component's providers[]",
    ),
    (
        "registry-component-versions",
        "attributes.providers[].namespace",
        "as the component's providers[]",
    ),
    (
        "registry-component-versions",
        "attributes.providers[].source",
        "as the component's providers[]",
    ),
    (
        "registry-component-versions",
        "attributes.variables",
        "read from variable blocks; the sample links them as a relationship",
    ),
    (
        "registry-component-versions",
        "attributes.variables[].name",
        "the variable's name",
    ),
    (
        "registry-component-versions",
        "attributes.variables[].type",
        "the variable's type expression",
    ),
    (
        "registry-component-versions",
        "attributes.variables[].description",
        "the variable's description",
    ),
    (
        "registry-component-versions",
        "attributes.outputs",
        "read from output blocks; the sample links them as a relationship",
    ),
    (
        "registry-component-versions",
        "attributes.outputs[].name",
        "the output's name",
    ),
    (
        "registry-component-versions",
        "attributes.outputs[].description",
        "the output's description",
    ),
    (
        "registry-component-versions",
        "attributes.created-at",
        "as on every other versioned resource",
    ),
    (
        "registry-component-versions",
        "attributes.updated-at",
        "as on every other versioned resource",
    ),
    (
        "registry-component-versions",
        "links.download",
        "tfpub's read-back of the archive; the API documents no download",
    ),
];

/// Every field the registry emits for `registry-components` and
/// `registry-component-versions` appears in a documented sample of the page, or in
/// [`UNDOCUMENTED`]; every attribute of the documented samples is emitted; and a field
/// the samples show with a value is emitted with the same JSON kind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_emitted_component_field_is_documented_or_listed() {
    use crate::fields::{resource_kinds, resource_paths, resources, samples};
    let page = "stack-component-configurations.md";
    let mut documented: BTreeMap<String, std::collections::BTreeSet<String>> = BTreeMap::new();
    let mut doc_kinds = BTreeMap::new();
    for s in samples(page) {
        for r in resources(&s.json) {
            let ty = r["type"].as_str().unwrap_or_default().to_string();
            documented.entry(ty).or_default().extend(resource_paths(r));
            resource_kinds(r, &mut doc_kinds);
        }
    }
    assert!(
        documented.contains_key("registry-components"),
        "{documented:?}"
    );
    assert!(
        documented.contains_key("registry-component-versions"),
        "{documented:?}"
    );

    let t = TestRegistry::start().await;
    let api = Api::new(&t.reg, TEST_TOKEN);
    let (_f, fixture) = fixture_copy();
    ok_json(&run(publish_cmd(&t, &fixture, "web", "1.0.0")).await);
    let id = listed(&api, "web").await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, pending) = api
        .post(
            &format!("/api/v2/registry-components/{id}/versions"),
            json!({"version": "2.0.0"}),
        )
        .await;
    let mut docs = vec![pending];
    for p in [
        format!("/api/v2/organizations/{ORG}/registry-components"),
        format!("/api/v2/registry-components/{id}"),
        format!("/api/v2/registry-components/{id}/versions"),
        format!("/api/v2/registry-components/{id}/versions/1.0.0"),
    ] {
        let (s, d) = api.get(&p).await;
        assert_eq!(s, StatusCode::OK, "{p}: {d}");
        docs.push(d);
    }
    t.stop().await;
    let mut got: BTreeMap<String, std::collections::BTreeSet<String>> = BTreeMap::new();
    let mut got_kinds = BTreeMap::new();
    for d in &docs {
        for r in resources(d) {
            let ty = r["type"].as_str().unwrap().to_string();
            got.entry(ty).or_default().extend(resource_paths(r));
            resource_kinds(r, &mut got_kinds);
        }
    }
    let listed_extra = |ty: &str, f: &str| UNDOCUMENTED.iter().any(|(t, p, _)| *t == ty && p == &f);
    let mut unexplained = Vec::new();
    for (ty, fields) in &got {
        for f in fields {
            if !documented[ty].contains(f) && !listed_extra(ty, f) {
                unexplained.push(format!("{ty} {f}"));
            }
        }
        for f in &documented[ty] {
            // The VCS-backed samples' vcs-repo details: null here (no VCS connections).
            let vcs = f.starts_with("attributes.vcs-repo.");
            if f.starts_with("attributes.") && !vcs && !fields.contains(f) {
                unexplained.push(format!("{ty} {f}: documented, not emitted"));
            }
        }
    }
    assert!(unexplained.is_empty(), "{}", unexplained.join("\n"));
    // The list is not stale: each entry is emitted and still undocumented.
    for (ty, f, _) in UNDOCUMENTED {
        assert!(got[*ty].contains(*f), "{ty} {f} is no longer emitted");
        assert!(!documented[*ty].contains(*f), "{ty} {f} is documented now");
    }
    for (path, kinds) in &got_kinds {
        let Some(want) = doc_kinds.get(path) else {
            continue;
        };
        // Samples show some fields only as null (a new version's readme): any kind then.
        if want.iter().all(|k| *k == "null") {
            continue;
        }
        for k in kinds {
            assert!(
                *k == "null" || want.contains(k),
                "{path}: emitted {k}, documented {want:?}"
            );
        }
    }
}

/// Archives escaping their root fail ingestion with an error-message naming the entry,
/// exactly as module archives do; nothing of them becomes downloadable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_component_archives_fail_naming_the_entry() {
    let (_d, reg, api) = started(TEST_TOKEN).await;
    let (_, c) = api
        .post(
            &format!("/api/v2/organizations/{ORG}/registry-components"),
            json!({"name": "hostile"}),
        )
        .await;
    let id = c["data"]["id"].as_str().unwrap();
    let vpath = format!("/api/v2/registry-components/{id}/versions");
    let cases = [
        (
            "1.0.0",
            "../escape.tfcomponent.hcl",
            tar::EntryType::Regular,
            "",
        ),
        ("1.0.1", "passwd", tar::EntryType::Symlink, "/etc/passwd"),
        ("1.0.2", "up", tar::EntryType::Symlink, "../../x"),
    ];
    for (v, name, kind, link) in cases {
        let (_, doc) = api.post(&vpath, json!({"version": v})).await;
        let upload = doc["data"]["links"]["upload"].as_str().unwrap();
        let tgz = hostile_tarball("stack.tfcomponent.hcl", name, kind, link);
        assert_eq!(api.put(upload, tgz).await, StatusCode::OK);
        let (_, got) = api.get(&format!("{vpath}/{v}")).await;
        let a = &got["data"]["attributes"];
        assert_eq!(a["status"], "failed", "{name}: {got}");
        let msg = a["error-message"].as_str().unwrap();
        assert!(
            msg.contains(name) && msg.contains("refused"),
            "{name}: {msg}"
        );
        assert_eq!(a["providers"], json!([]));
        assert!(got["data"]["links"].get("download").is_none(), "{got}");
        assert!(got["data"]["links"].get("upload").is_none(), "{got}");
    }
    let (_, c) = api.get(&format!("/api/v2/registry-components/{id}")).await;
    assert_eq!(c["data"]["attributes"]["latest-version"], Value::Null);
    reg.shutdown().await;
}

/// `--dry-run` reports the step a real run would take and writes nothing: a new component
/// is planned with its creation, an existing identical version as already published.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_plans_and_writes_nothing() {
    let t = TestRegistry::start().await;
    let (_f, fixture) = fixture_copy();
    let mut plan = publish_cmd(&t, &fixture, "planned", "1.0.0");
    plan.arg("--dry-run");
    let d = ok_json(&run(plan).await);
    assert_eq!(d["outcome"], "planned", "{d}");
    assert_eq!(d["items"][0]["action"], "planned");
    let detail = d["items"][0]["detail"].as_str().unwrap();
    assert!(
        detail.contains("would create the component configuration"),
        "{detail}"
    );
    assert_eq!(t.reg.stats().writes(), 0);
    ok_json(&run(publish_cmd(&t, &fixture, "planned", "1.0.0")).await);
    t.reg.stats().reset();
    let mut again = publish_cmd(&t, &fixture, "planned", "1.0.0");
    again.arg("--dry-run");
    let d = ok_json(&run(again).await);
    assert_eq!(d["items"][0]["action"], "exists", "{d}");
    assert_eq!(t.reg.stats().writes(), 0);
    t.stop().await;
}
