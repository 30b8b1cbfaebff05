//! Integration tests: `tfpub module publish` and the version-management commands, run as
//! the real binary against the embedded registry, plus an end-to-end check with the real
//! `terraform` CLI that the published archive is installable (module files at the root).
//!
//! The registry is inspected over plain HTTP (not through tfpub's own client) so a bug in
//! the client cannot hide a bug in what it did.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::fs::set_mode;
use crate::support::registry::Api;
use crate::support::terraform::Terraform;
use crate::support::{
    git, module_copy, ok_json, run, testdata, Run, TestRegistry, ORG, TEST_TOKEN,
};

/// The registry's API, for what the tests set up or check behind the CLI's back.
struct Http {
    api: Api,
}

impl Http {
    fn new(t: &TestRegistry) -> Http {
        Http {
            api: Api::new(&t.reg, TEST_TOKEN),
        }
    }

    /// The version's `data`, or None on 404.
    async fn version(&self, name: &str, version: &str) -> Option<Value> {
        let doc = self.api.module_version(name, "null", version).await;
        doc.map(|d| d["data"].clone())
    }

    /// The version's `deprecation` in the module registry protocol's versions listing
    /// (where the docs put it; `null` when not deprecated), or None when not listed.
    async fn deprecation(&self, name: &str, version: &str) -> Option<Value> {
        let (_, d) = self
            .api
            .get(&format!(
                "/api/registry/v1/modules/{ORG}/{name}/null/versions"
            ))
            .await;
        d["modules"][0]["versions"]
            .as_array()?
            .iter()
            .find(|v| v["version"] == version)
            .map(|v| v["deprecation"].clone())
    }

    /// Create module `name`/null and version `version` the way a publisher that died
    /// right after creating the version would have left them; returns the upload link.
    async fn create_pending(&self, name: &str, version: &str) -> String {
        let (s, v) = self.api.create_module(name).await;
        assert_eq!(s, 201, "{v}");
        self.api.create_module_version(name, version).await
    }

    async fn put(&self, link: &str, body: Vec<u8>) -> u16 {
        self.api.put(link, body).await.as_u16()
    }
}

/// `tfpub module publish --json --version V DIR`, with a timeout that bounds a test that
/// would otherwise wait the default 300 s for a version that never becomes `ok`.
fn publish(t: &TestRegistry, dir: &Path, version: &str) -> Command {
    publish_waiting(t, dir, version, 30)
}

fn publish_waiting(t: &TestRegistry, dir: &Path, version: &str, timeout: u32) -> Command {
    let mut c = t.tfpub();
    c.args(["module", "publish", "--json", "--version", version])
        .args(["--timeout", &timeout.to_string()])
        .arg(dir);
    c
}

fn item<'a>(doc: &'a Value, kind: &str, action: &str) -> Option<&'a Value> {
    doc["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["kind"] == kind && i["action"] == action)
}

/// The error as a user sees it: message, causes and hint (JSON) plus stderr.
fn error_text(r: &Run) -> String {
    let d = r.json();
    assert_eq!(d["ok"], false, "{d}");
    assert_eq!(d["outcome"], "failed", "{d}");
    format!("{}\n{}", d["error"], r.stderr)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fresh_publish_then_rerun_changes_nothing() {
    let t = TestRegistry::start().await;
    let http = Http::new(&t);
    let (_tmp, dir) = module_copy();

    let d = ok_json(&run(publish(&t, &dir, "1.0.0")).await);
    assert_eq!(d["command"], "module publish");
    assert_eq!(d["outcome"], "published");
    assert_eq!(d["published"], true);
    assert_eq!(d["target"]["organization"], ORG);
    let m = item(&d, "module", "created").expect("module created item");
    assert_eq!(m["id"], "acme/greeting/null");
    let v = item(&d, "module-version", "created").expect("version created item");
    assert_eq!(v["version"], "1.0.0");
    assert!(item(&d, "file", "uploaded").is_some(), "{d}");
    let ver = http
        .version("greeting", "1.0.0")
        .await
        .expect("version exists");
    assert_eq!(ver["attributes"]["status"], "ok");
    // A finished version offers no upload link any more.
    assert!(ver["links"].get("upload").is_none(), "{ver}");

    // The re-run: reads only, says so plainly, exit 0.
    t.reg.stats().reset();
    let r = run(publish(&t, &dir, "1.0.0")).await;
    let d = ok_json(&r);
    assert_eq!(d["outcome"], "already-published", "{d}");
    assert_eq!(d["published"], false);
    let e = item(&d, "module-version", "exists").expect("exists item");
    assert_eq!(e["version"], "1.0.0");
    assert!(item(&d, "file", "uploaded").is_none(), "{d}");
    let stats = t.reg.stats();
    assert_eq!(stats.count("POST", ""), 0, "no POST on the re-run");
    assert_eq!(stats.count("PUT", ""), 0, "no PUT on the re-run");
    assert_eq!(stats.writes(), 0);
    assert!(stats.total() > 0, "the re-run did look at the registry");

    // Human output says it plainly too.
    let mut c = t.tfpub();
    c.args(["module", "publish", "--version", "1.0.0"])
        .arg(&dir);
    let r = run(c).await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    let all = format!("{}{}", r.stdout, r.stderr).to_lowercase();
    assert!(all.contains("already published"), "{all}");

    // Same version, different content: refused, nothing written.
    std::fs::write(dir.join("extra.tf"), "locals {\n  x = 1\n}\n").unwrap();
    t.reg.stats().reset();
    let r = run(publish(&t, &dir, "1.0.0")).await;
    assert_eq!(r.code, 1);
    let e = error_text(&r);
    assert!(e.contains("different content"), "{e}");
    assert!(e.contains("new version"), "{e}");
    assert_eq!(t.reg.stats().writes(), 0);
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rerun_after_kill_between_create_and_upload_finishes_it() {
    let t = TestRegistry::start().await;
    let http = Http::new(&t);
    let (_tmp, dir) = module_copy();
    http.create_pending("greeting", "1.2.0").await;
    let ver = http.version("greeting", "1.2.0").await.unwrap();
    assert_eq!(ver["attributes"]["status"], "pending");

    t.reg.stats().reset();
    let d = ok_json(&run(publish(&t, &dir, "1.2.0")).await);
    assert_eq!(d["outcome"], "published", "{d}");
    assert_eq!(d["published"], true);
    // It found the version rather than creating one, and uploaded into it.
    let e = item(&d, "module-version", "exists").expect("exists item");
    assert!(e["detail"].as_str().unwrap().contains("pending"), "{e}");
    assert!(item(&d, "module-version", "created").is_none(), "{d}");
    assert!(item(&d, "file", "uploaded").is_some(), "{d}");
    let stats = t.reg.stats();
    assert_eq!(stats.count("POST", ""), 0, "no create on resume");
    assert_eq!(stats.count("PUT", "/_archivist/upload/"), 1);
    let ver = http.version("greeting", "1.2.0").await.unwrap();
    assert_eq!(ver["attributes"]["status"], "ok");
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_tarball_reports_ingress_error_and_replace_failed_fixes_it() {
    let t = TestRegistry::start().await;
    let http = Http::new(&t);
    let (_tmp, dir) = module_copy();
    let link = http.create_pending("greeting", "2.0.0").await;
    assert_eq!(
        http.put(&link, b"this is not a tarball".to_vec()).await,
        200
    );
    let ver = http.version("greeting", "2.0.0").await.unwrap();
    assert_eq!(ver["attributes"]["status"], "reg_ingress_failed", "{ver}");

    // Without --replace-failed: the registry's error and the next step, nothing written.
    t.reg.stats().reset();
    let r = run(publish(&t, &dir, "2.0.0")).await;
    assert_eq!(r.code, 1);
    let e = error_text(&r);
    assert!(e.contains("reg_ingress_failed"), "{e}");
    assert!(
        e.contains("not a gzip-compressed tar archive"),
        "registry error shown: {e}"
    );
    assert!(
        e.contains("tfpub module delete greeting/null 2.0.0 --yes"),
        "delete hint: {e}"
    );
    assert!(e.contains("--replace-failed"), "{e}");
    assert_eq!(t.reg.stats().writes(), 0);

    // With --replace-failed: deleted, created again, uploaded, ok.
    let mut c = publish(&t, &dir, "2.0.0");
    c.arg("--replace-failed");
    let d = ok_json(&run(c).await);
    assert_eq!(d["outcome"], "published", "{d}");
    let del = item(&d, "module-version", "deleted").expect("deleted item");
    assert!(
        del["detail"]
            .as_str()
            .unwrap()
            .contains("reg_ingress_failed"),
        "{del}"
    );
    assert!(item(&d, "module-version", "created").is_some(), "{d}");
    let ver = http.version("greeting", "2.0.0").await.unwrap();
    assert_eq!(ver["attributes"]["status"], "ok");
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn top_level_folder_tarball_failure_names_the_cause() {
    // What another publisher gets wrong most: the module inside a folder of the archive.
    let t = TestRegistry::start().await;
    let http = Http::new(&t);
    let (_tmp, dir) = module_copy();
    // A tarball whose only .tf file sits in a folder: the classic top-level-folder bug.
    let mut b = tar::Builder::new(flate2::write::GzEncoder::new(
        Vec::new(),
        flate2::Compression::default(),
    ));
    let data = b"output \"x\" {\n  value = 1\n}\n";
    let mut h = tar::Header::new_gnu();
    h.set_size(data.len() as u64);
    h.set_mode(0o644);
    h.set_cksum();
    b.append_data(&mut h, "terraform-null-greeting/main.tf", &data[..])
        .unwrap();
    let tgz = b.into_inner().unwrap().finish().unwrap();
    let link = http.create_pending("greeting", "3.0.0").await;
    assert_eq!(http.put(&link, tgz).await, 200);

    let r = run(publish(&t, &dir, "3.0.0")).await;
    assert_eq!(r.code, 1);
    let e = error_text(&r);
    assert!(e.contains("must not be inside a folder"), "{e}");
    assert!(e.contains("--replace-failed"), "{e}");
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pending_forever_is_reported_within_the_timeout() {
    let t = TestRegistry::start().await;
    let (_tmp, dir) = module_copy();
    t.reg.faults().hold_pending(true);
    let c = publish_waiting(&t, &dir, "1.0.0", 3);
    let start = Instant::now();
    let r = run(c).await;
    let took = start.elapsed();
    eprintln!("pending-forever reported after {took:?}");
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        took < Duration::from_secs(8),
        "reported after {took:?}, timeout was 3s"
    );
    let e = error_text(&r);
    assert!(e.contains("still `pending` after 3s"), "{e}");
    assert!(e.contains("1.0.0"), "{e}");
    assert!(e.contains("raise --timeout"), "{e}");

    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn version_management_round_trips() {
    let t = TestRegistry::start().await;
    let http = Http::new(&t);
    let (_tmp, dir) = module_copy();
    ok_json(&run(publish(&t, &dir, "1.0.0")).await);
    ok_json(&run(publish(&t, &dir, "1.1.0")).await);

    let cmd = |args: &[&str]| {
        let mut c = t.tfpub();
        c.args(["module"]).args(args).arg("--json");
        c
    };
    let versions = |d: &Value| -> Vec<(String, String)> {
        d["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| {
                (
                    i["version"].as_str().unwrap().to_string(),
                    i["detail"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect()
    };

    let d = ok_json(&run(cmd(&["versions", "greeting/null"])).await);
    let vs = versions(&d);
    assert_eq!(vs.len(), 2, "{d}");
    assert_eq!(vs[0].0, "1.0.0");
    assert_eq!(vs[1].0, "1.1.0");
    assert!(vs.iter().all(|(_, s)| s == "status ok"), "{vs:?}");

    // deprecate with reason and link
    let d = ok_json(
        &run(cmd(&[
            "deprecate",
            "greeting/null",
            "1.0.0",
            "--reason",
            "use 1.1",
            "--link",
            "https://example.com/upgrade",
        ]))
        .await,
    );
    assert_eq!(d["outcome"], "updated");
    let dep = http.deprecation("greeting", "1.0.0").await.unwrap();
    assert!(dep.is_object(), "{dep}");
    assert_eq!(dep["reason"], "use 1.1");
    assert_eq!(dep["link"], "https://example.com/upgrade");
    let d = ok_json(&run(cmd(&["versions", "greeting/null"])).await);
    assert_eq!(versions(&d)[0].1, "status ok, deprecated", "{d}");
    assert_eq!(versions(&d)[1].1, "status ok", "{d}");

    // revoke (needs the deprecation) and unrevoke
    let d = ok_json(
        &run(cmd(&[
            "revoke",
            "greeting/null",
            "1.0.0",
            "--reason",
            "security issue",
            "--link",
            "https://example.com/cve",
        ]))
        .await,
    );
    assert_eq!(d["outcome"], "updated");
    let v = http.version("greeting", "1.0.0").await.unwrap();
    let rev = &v["attributes"]["revocation"];
    assert_eq!(rev["status"], "Revoked", "{v}");
    assert_eq!(rev["message"], "security issue", "{v}");
    assert_eq!(rev["link"], "https://example.com/cve", "{v}");
    let d = ok_json(&run(cmd(&["versions", "greeting/null"])).await);
    assert_eq!(versions(&d)[0].1, "status ok, revoked", "{d}");

    ok_json(&run(cmd(&["unrevoke", "greeting/null", "1.0.0"])).await);
    let v = http.version("greeting", "1.0.0").await.unwrap();
    assert!(v["attributes"]["revocation"].is_null(), "{v}");
    let dep = http.deprecation("greeting", "1.0.0").await.unwrap();
    assert_eq!(dep["reason"], "use 1.1", "still deprecated: {dep}");

    ok_json(&run(cmd(&["undeprecate", "greeting/null", "1.0.0"])).await);
    let dep = http.deprecation("greeting", "1.0.0").await.unwrap();
    assert!(dep.is_null(), "{dep}");
    let d = ok_json(&run(cmd(&["versions", "greeting/null"])).await);
    assert_eq!(versions(&d)[0].1, "status ok", "{d}");

    // revoking a version that is not deprecated: the registry's refusal is shown
    let r = run(cmd(&["revoke", "greeting/null", "1.1.0"])).await;
    assert_eq!(r.code, 1);
    let e = error_text(&r);
    assert!(e.contains("deprecated before"), "{e}");

    // delete: refused without --yes when not interactive, and nothing changes
    t.reg.stats().reset();
    let mut c = cmd(&["delete", "greeting/null", "1.0.0"]);
    c.stdin(std::process::Stdio::null());
    let r = run(c).await;
    assert_eq!(r.code, 1);
    assert!(error_text(&r).contains("--yes"), "{}", r.stderr);
    assert_eq!(t.reg.stats().writes(), 0);
    assert!(http.version("greeting", "1.0.0").await.is_some());

    let d = ok_json(&run(cmd(&["delete", "greeting/null", "1.0.0", "--yes"])).await);
    assert_eq!(d["outcome"], "deleted");
    assert!(item(&d, "module-version", "deleted").is_some(), "{d}");
    assert!(http.version("greeting", "1.0.0").await.is_none());
    let d = ok_json(&run(cmd(&["versions", "greeting/null"])).await);
    let vs = versions(&d);
    assert_eq!(vs.len(), 1, "{d}");
    assert_eq!(vs[0].0, "1.1.0");

    // the whole module
    let d = ok_json(&run(cmd(&["delete", "greeting/null", "--yes"])).await);
    assert!(item(&d, "module", "deleted").is_some(), "{d}");
    assert!(http.version("greeting", "1.1.0").await.is_none());
    let r = run(cmd(&["versions", "greeting/null"])).await;
    assert_eq!(r.code, 1);
    let e = error_text(&r);
    assert!(
        e.contains("acme/greeting/null is not in the registry"),
        "{e}"
    );
    t.stop().await;
}

/// One bad input: a clear error naming the problem, exit code 1, no registry write.
async fn assert_refused(t: &TestRegistry, mut c: Command, expect: &[&str]) {
    t.reg.stats().reset();
    c.arg("--json");
    let r = run(c).await;
    assert_ne!(r.code, 0, "stdout:\n{}\nstderr:\n{}", r.stdout, r.stderr);
    let e = error_text(&r);
    for s in expect {
        assert!(e.contains(s), "expected {s:?} in:\n{e}");
    }
    assert_eq!(t.reg.stats().writes(), 0, "a refused publish wrote: {e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_refused_before_any_write() {
    let t = TestRegistry::start().await;
    let (tmp, dir) = module_copy();
    let publish = |args: &[&str], dir: &Path| {
        let mut c = t.tfpub();
        c.args(["module", "publish"]).args(args).arg(dir);
        c
    };

    // bad name
    assert_refused(
        &t,
        publish(&["--version", "1.0.0", "--name", "bad name!"], &dir),
        &["bad name!", "name"],
    )
    .await;
    // bad provider
    assert_refused(
        &t,
        publish(&["--version", "1.0.0", "--provider", "Null-X"], &dir),
        &["Null-X", "provider"],
    )
    .await;
    // non-semver version
    assert_refused(
        &t,
        publish(&["--version", "1.0"], &dir),
        &["1.0", "not a semantic version"],
    )
    .await;
    // missing directory
    let missing = tmp.path().join("terraform-null-missing");
    assert_refused(
        &t,
        publish(&["--version", "1.0.0"], &missing),
        &["terraform-null-missing", "does not exist"],
    )
    .await;
    // empty module: the only .tf file is in a subfolder
    let empty = tmp.path().join("terraform-null-empty");
    std::fs::create_dir_all(empty.join("sub")).unwrap();
    std::fs::write(empty.join("sub/main.tf"), "locals {}\n").unwrap();
    std::fs::write(empty.join("README.md"), "# nothing at the root\n").unwrap();
    assert_refused(
        &t,
        publish(&["--version", "1.0.0"], &empty),
        &["no .tf file at the root", "terraform-null-empty"],
    )
    .await;

    // unreadable file: chmod 000. Root reads through that, so when the test runs as root
    // the CLI is started as `nobody` instead (a real unreadable file, not a stand-in).
    let secret = dir.join("locked.tf");
    std::fs::write(&secret, "locals {}\n").unwrap();
    set_mode(&secret, 0o000);
    let mut c = publish(&["--version", "1.0.0"], &dir);
    if std::fs::read(&secret).is_ok() {
        use std::os::unix::process::CommandExt;
        for p in [tmp.path(), t.home.path()] {
            set_mode(p, 0o755);
        }
        c.uid(65534).gid(65534);
    }
    assert_refused(&t, c, &["cannot read", "locked.tf"]).await;
    // The refusal came from the unreadable file, not from running as another user.
    set_mode(&secret, 0o644);
    std::fs::remove_file(&secret).unwrap();

    assert_eq!(t.reg.stats().count("POST", ""), 0);
    t.stop().await;
}

/// Publish the sample module with tfpub, then let the real Terraform CLI install it,
/// validate a configuration that reads its output, and apply it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terraform_installs_and_applies_the_published_module() {
    let t = TestRegistry::start().await;
    let module = testdata("modules/terraform-null-greeting");
    let d = ok_json(&run(publish(&t, &module, "1.0.0")).await);
    assert_eq!(d["outcome"], "published", "{d}");

    let tf = Terraform::new(
        &t.reg,
        TEST_TOKEN,
        "module \"greeting\" {\n  source  = \"registry.tfpub.test/acme/greeting/null\"\n  version = \"1.0.0\"\n  name    = \"tfpub\"\n}\n\noutput \"g\" {\n  value = module.greeting.greeting\n}\n",
    );
    let installed = tf.data_dir().join("modules/greeting/main.tf");
    let mut out = Vec::new();
    for args in [
        &["init", "-input=false", "-no-color"][..],
        &["validate", "-no-color"][..],
        &["apply", "-auto-approve", "-input=false", "-no-color"][..],
        &["output", "-raw", "g"][..],
    ] {
        out.push(tf.run(args).await.stdout);
    }
    assert!(out[1].contains("The configuration is valid"), "{}", out[1]);
    assert!(out[2].contains("Hello, tfpub!"), "{}", out[2]);
    assert_eq!(out[3], "Hello, tfpub!");
    assert!(installed.exists(), "module files at the archive root");
    t.stop().await;
}

/// Two publishers of the same new version at once (two pipeline runs of one tag): both
/// must end with the version `ok` and exit 0; neither may fail on the other's create.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_publishers_of_one_version_both_succeed() {
    let t = TestRegistry::start().await;
    let http = Http::new(&t);
    let (_tmp, dir) = module_copy();
    for round in 0..3 {
        let v = format!("1.0.{round}");
        let a = tokio::spawn(run(publish(&t, &dir, &v)));
        let b = tokio::spawn(run(publish(&t, &dir, &v)));
        let (a, b) = (a.await.unwrap(), b.await.unwrap());
        let da = ok_json(&a);
        let db = ok_json(&b);
        let outcomes = [da["outcome"].clone(), db["outcome"].clone()];
        for d in [&da, &db] {
            // Whoever found the version finished by the other says so, and does not claim
            // to have published it.
            let concurrent = d["items"]
                .as_array()
                .unwrap()
                .iter()
                .any(|i| i["detail"] == "published concurrently with identical content");
            if concurrent {
                assert_eq!(d["outcome"], "already-published", "{d}");
                assert_eq!(d["published"], false, "{d}");
            }
        }
        assert!(
            outcomes.iter().any(|o| o == "published"),
            "one of them published {v}: {outcomes:?}"
        );
        let ver = http.version("greeting", &v).await.unwrap();
        assert_eq!(ver["attributes"]["status"], "ok");
    }
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_dropped_midway_then_rerun_finishes() {
    let t = TestRegistry::start().await;
    let http = Http::new(&t);
    let (_tmp, dir) = module_copy();
    t.reg.faults().drop_next_uploads(10);
    let r = run(publish(&t, &dir, "1.0.0")).await;
    assert_eq!(r.code, 1, "{}", r.stderr);
    let e = error_text(&r);
    assert!(e.contains("uploading the archive"), "{e}");
    let ver = http.version("greeting", "1.0.0").await.unwrap();
    assert_eq!(ver["attributes"]["status"], "pending");

    t.reg.faults().drop_next_uploads(0);
    let d = ok_json(&run(publish(&t, &dir, "1.0.0")).await);
    assert_eq!(d["outcome"], "published", "{d}");
    let ver = http.version("greeting", "1.0.0").await.unwrap();
    assert_eq!(ver["attributes"]["status"], "ok");
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_lists_the_plan_and_writes_nothing() {
    let t = TestRegistry::start().await;
    let (_tmp, dir) = module_copy();
    std::fs::write(dir.join("terraform.tfstate"), "{}").unwrap();
    let mut c = publish(&t, &dir, "1.0.0");
    c.arg("--dry-run");
    let d = ok_json(&run(c).await);
    assert_eq!(d["outcome"], "planned", "{d}");
    assert_eq!(d["published"], false);
    let planned: Vec<&str> = d["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["kind"] == "file" && i["action"] == "planned")
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert!(planned.contains(&"main.tf"), "{planned:?}");
    assert!(!planned.contains(&"terraform.tfstate"), "{planned:?}");
    assert_eq!(t.reg.stats().writes(), 0);
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn version_and_commit_come_from_git_and_a_dirty_tree_is_refused() {
    let t = TestRegistry::start().await;
    let http = Http::new(&t);
    let (_tmp, dir) = module_copy();
    let repo = git2::Repository::init(&dir).unwrap();
    let first = git::commit(&repo, &[], "first");
    git::tag(&repo, "v1.4.0", first, false);
    let head = first.to_string();

    // dirty: refused before any write
    std::fs::write(dir.join("main.tf"), "locals {}\n").unwrap();
    let mut c = t.tfpub();
    c.args(["module", "publish"]).arg(&dir);
    assert_refused(&t, c, &["uncommitted changes", "main.tf", "--allow-dirty"]).await;
    git::restore(&repo, Path::new("main.tf"));

    let mut c = t.tfpub();
    c.args(["module", "publish", "--json"]).arg(&dir);
    let d = ok_json(&run(c).await);
    assert_eq!(d["outcome"], "published", "{d}");
    let ver = http
        .version("greeting", "1.4.0")
        .await
        .expect("1.4.0 from the tag");
    assert_eq!(ver["attributes"]["status"], "ok");
    assert_eq!(ver["attributes"]["commit-sha"], head.as_str());
    t.stop().await;
}

/// A dry run decides as the real run does: a version in a failed state is refused with
/// the same error (not reported as "exists"), and with --replace-failed the plan says it
/// would delete and publish it again. Nothing is written either way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_of_a_failed_version_refuses_as_the_real_run_does() {
    let t = TestRegistry::start().await;
    let http = Http::new(&t);
    let (_tmp, dir) = module_copy();
    let link = http.create_pending("greeting", "2.0.0").await;
    assert_eq!(http.put(&link, b"not a tarball".to_vec()).await, 200);

    t.reg.stats().reset();
    let real = error_text(&run(publish(&t, &dir, "2.0.0")).await);
    let mut c = publish(&t, &dir, "2.0.0");
    c.arg("--dry-run");
    let r = run(c).await;
    assert_eq!(r.code, 1, "{}", r.stdout);
    let dry = error_text(&r);
    for s in [
        "reg_ingress_failed",
        "tfpub module delete greeting/null 2.0.0 --yes",
        "--replace-failed",
    ] {
        assert!(real.contains(s), "real run: {real}");
        assert!(dry.contains(s), "dry run: {dry}");
    }
    assert_eq!(
        r.json()["error"],
        run(publish(&t, &dir, "2.0.0")).await.json()["error"]
    );

    let mut c = publish(&t, &dir, "2.0.0");
    c.args(["--dry-run", "--replace-failed"]);
    let d = ok_json(&run(c).await);
    assert_eq!(d["outcome"], "planned", "{d}");
    let plan = item(&d, "module-version", "planned").expect("planned item");
    let detail = plan["detail"].as_str().unwrap();
    assert!(
        detail.contains("reg_ingress_failed") && detail.contains("delete"),
        "{plan}"
    );
    assert_eq!(t.reg.stats().writes(), 0);
    let ver = http.version("greeting", "2.0.0").await.unwrap();
    assert_eq!(ver["attributes"]["status"], "reg_ingress_failed");
    t.stop().await;
}

/// A dry run of a version published with other content refuses it as the real run does
/// (content-conflict, exit 1) instead of answering "exists"; with the same content it
/// says so and exits 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_of_other_content_refuses_as_the_real_run_does() {
    let t = TestRegistry::start().await;
    let (_tmp, dir) = module_copy();
    ok_json(&run(publish(&t, &dir, "1.0.0")).await);

    let dry = |t: &TestRegistry| {
        let mut c = publish(t, &dir, "1.0.0");
        c.arg("--dry-run");
        c
    };
    let d = ok_json(&run(dry(&t)).await);
    let e = item(&d, "module-version", "exists").expect("exists item");
    assert_eq!(
        e["detail"], "already published with identical content",
        "{d}"
    );

    std::fs::write(dir.join("extra.tf"), "locals {\n  x = 1\n}\n").unwrap();
    t.reg.stats().reset();
    let r = run(dry(&t)).await;
    assert_eq!(r.code, 1, "{}", r.stdout);
    let e = error_text(&r);
    assert!(
        e.contains("different content") && e.contains("new version"),
        "{e}"
    );
    assert_eq!(r.json()["error"]["kind"], "content-conflict");
    assert_eq!(t.reg.stats().writes(), 0);
    let real = run(publish(&t, &dir, "1.0.0")).await;
    assert_eq!(real.json()["error"], r.json()["error"]);
    t.stop().await;
}

/// The preflight runs before packaging: with a rejected token, a folder that could not
/// be packaged (no .tf file at its root) still yields the 401, and nothing is written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_token_fails_before_packaging() {
    // A registry that knows one token (the default one accepts any).
    let t = TestRegistry::with_token(TEST_TOKEN, ORG).await;
    let tmp = tempfile::tempdir().unwrap();
    let empty = tmp.path().join("terraform-null-empty");
    std::fs::create_dir_all(empty.join("sub")).unwrap();
    std::fs::write(empty.join("sub/main.tf"), "locals {}\n").unwrap();

    // With a good token, this folder is refused by packaging.
    let e = error_text(&run(publish(&t, &empty, "1.0.0")).await);
    assert!(e.contains("no .tf file at the root"), "{e}");

    let mut c = publish(&t, &empty, "1.0.0");
    c.env("TFE_TOKEN", "tfpub-rejected-token");
    let r = run(c).await;
    assert_eq!(r.code, 1, "{}", r.stdout);
    let d = r.json();
    assert_eq!(d["error"]["kind"], "unauthorized", "{d}");
    assert!(!error_text(&r).contains("no .tf file"), "{d}");
    assert!(
        !r.stderr.contains("packaging"),
        "packaging ran: {}",
        r.stderr
    );
    assert_eq!(t.reg.stats().writes(), 0);
    t.stop().await;
}

/// The names directly in `tmpdir`, sorted.
fn run_folders(tmpdir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(tmpdir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// A publish killed with SIGKILL leaves its temporary folder behind; the next run
/// removes it, and leaves alone everything that is not a dead run's folder: a folder of
/// a run that is still alive, a look-alike name, another program's folder.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_publish_leaves_a_temp_folder_that_the_next_run_removes() {
    let t = TestRegistry::start().await;
    let (_tmp, dir) = module_copy();
    let scratch = tempfile::tempdir().unwrap();
    let tmpdir = scratch.path();
    let alive = format!("tfpub-run-{}-alive1", std::process::id());
    for keep in [alive.as_str(), "tfpub-run-notes", "other-program"] {
        std::fs::create_dir(tmpdir.join(keep)).unwrap();
        std::fs::write(tmpdir.join(keep).join("data.txt"), "keep me").unwrap();
    }
    let mut before = run_folders(tmpdir);

    // A publish slowed down by the registry (every request takes 2 s), killed once its
    // archive is built, while it talks to the registry.
    t.reg.faults().set_latency(Duration::from_secs(2));
    let mut c = publish_waiting(&t, &dir, "1.0.0", 60);
    c.env("TMPDIR", tmpdir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let mut child = c.spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let leftover = loop {
        let new: Vec<String> = run_folders(tmpdir)
            .into_iter()
            .filter(|n| !before.contains(n))
            .collect();
        let archived = new
            .iter()
            .any(|n| tmpdir.join(n).join("module.tar.gz").exists());
        if archived {
            break new;
        }
        assert!(Instant::now() < deadline, "the publish never packaged");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(leftover.len(), 1, "{leftover:?}");
    assert!(
        tmpdir.join(&leftover[0]).exists(),
        "a killed run cannot clean up"
    );

    // The next run finishes the version and removes the leftover, and only it.
    t.reg.faults().set_latency(Duration::ZERO);
    let mut c = publish(&t, &dir, "1.0.0");
    c.env("TMPDIR", tmpdir);
    ok_json(&run(c).await);
    let ver = Http::new(&t).version("greeting", "1.0.0").await.unwrap();
    assert_eq!(ver["attributes"]["status"], "ok");
    assert!(!tmpdir.join(&leftover[0]).exists(), "leftover not removed");
    before.sort();
    assert_eq!(
        run_folders(tmpdir),
        before,
        "only the dead run's folder goes"
    );
    assert!(leftover[0].starts_with("tfpub-run-"), "{leftover:?}");
    for keep in [alive.as_str(), "tfpub-run-notes", "other-program"] {
        let f = tmpdir.join(keep).join("data.txt");
        assert_eq!(std::fs::read_to_string(f).unwrap(), "keep me");
    }
    t.stop().await;
}

/// The content of `file` in the archive the registry serves for `greeting` `version`.
async fn served_file(t: &TestRegistry, version: &str, file: &str) -> String {
    let api = Api::new(&t.reg, TEST_TOKEN);
    let path = format!("/api/registry/v1/modules/{ORG}/greeting/null/{version}/download");
    let resp = api.req(reqwest::Method::GET, &path).send().await.unwrap();
    assert_eq!(resp.status(), 204, "{path}");
    let get = resp.headers()["x-terraform-get"]
        .to_str()
        .unwrap()
        .to_string();
    let gz = reqwest::get(&get).await.unwrap().bytes().await.unwrap();
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(&gz[..]));
    for entry in tar.entries().unwrap() {
        let mut entry = entry.unwrap();
        if entry.path().unwrap().to_string_lossy() == file {
            let mut s = String::new();
            std::io::Read::read_to_string(&mut entry, &mut s).unwrap();
            return s;
        }
    }
    panic!("{file} is not in the served archive of {version}");
}

/// Two publishers of one version with DIFFERENT content at once: exactly one wins and
/// says "published"; the other fails with `content-conflict` and never claims success;
/// the registry serves the winner's content. Every request is slowed down so the two
/// runs overlap from the first request to the read-back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_publishers_of_one_version_with_other_content_one_wins_one_conflicts() {
    let t = TestRegistry::start().await;
    let (_ta, dir_a) = module_copy();
    let (_tb, dir_b) = module_copy();
    for (dir, who) in [(&dir_a, "a"), (&dir_b, "b")] {
        std::fs::write(dir.join("owner.tf"), format!("# published by {who}\n")).unwrap();
    }
    t.reg.faults().set_latency(Duration::from_millis(100));
    for round in 0..3 {
        let v = format!("2.0.{round}");
        let a = tokio::spawn(run(publish(&t, &dir_a, &v)));
        let b = tokio::spawn(run(publish(&t, &dir_b, &v)));
        let (a, b) = (a.await.unwrap(), b.await.unwrap());
        let runs = [("a", &a), ("b", &b)];
        let winners: Vec<&str> = runs
            .iter()
            .filter(|(_, r)| r.code == 0)
            .map(|(w, _)| *w)
            .collect();
        assert_eq!(
            winners.len(),
            1,
            "round {round}: exactly one run may succeed:\n{}\n{}\n{}\n{}",
            a.stdout,
            a.stderr,
            b.stdout,
            b.stderr
        );
        for (who, r) in runs {
            let d = r.json();
            if who == winners[0] {
                assert_eq!(d["outcome"], "published", "{d}");
                assert_eq!(d["published"], true, "{d}");
            } else {
                assert_eq!(r.code, 1, "{}", r.stderr);
                assert_eq!(d["ok"], false, "{d}");
                assert_eq!(d["error"]["kind"], "content-conflict", "{d}");
                assert_ne!(d["published"], true, "{d}");
            }
        }
        let served = served_file(&t, &v, "owner.tf").await;
        assert_eq!(served, format!("# published by {}\n", winners[0]));
        let ver = Http::new(&t).version("greeting", &v).await.unwrap();
        assert_eq!(ver["attributes"]["status"], "ok");
    }
    t.reg.faults().set_latency(Duration::ZERO);
    t.stop().await;
}
