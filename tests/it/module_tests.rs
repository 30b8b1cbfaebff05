//! Module tests in the registry, run for real: the embedded registry runs the `terraform`
//! on PATH (`terraform test -json`) on the uploaded configuration. The fixture
//! (testdata/module-tests) has a passing, a failing and an env-variable-dependent
//! `*.tftest.hcl`, using only `terraform_data` (no provider download); its
//! `sleep_seconds` variable makes a run slow for the cancel, timeout and restart tests.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};
use tempfile::TempDir;

use super::support::fs::tarball;
use super::support::registry::{start_edited, start_in, Api};
use super::support::{copy_tree, ok_json, run, testdata, Run, TestRegistry, ORG, TEST_TOKEN};

const MODULE: &str = "greet/null";
const SECRET: &str = "s3cr3t-Token-Value-42";

/// A writable copy of the fixture module.
fn fixture() -> (TempDir, PathBuf) {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("module");
    copy_tree(&testdata("module-tests"), &dir);
    (t, dir)
}

/// `tfpub --json module test DIR --name greet --provider null ARGS…`.
async fn module_test(r: &TestRegistry, dir: &Path, args: &[&str]) -> Run {
    let mut c = r.tfpub_http();
    c.args([
        "--json",
        "module",
        "test",
        "--name",
        "greet",
        "--provider",
        "null",
    ])
    .args(args)
    .arg(dir);
    run(c).await
}

/// The `test_run` of a result document, with the run's counts as [p, f, e, s].
fn counts(doc: &Value) -> [u64; 4] {
    let t = &doc["test_run"];
    ["passed", "failed", "errored", "skipped"].map(|k| t[k].as_u64().unwrap())
}

fn tests_path(rest: &str) -> String {
    format!("/api/v2/organizations/{ORG}/tests/registry-modules/private/{ORG}/greet/null/{rest}")
}

#[tokio::test]
async fn module_test_exits_by_the_test_status_with_the_counts_and_the_log() {
    let r = TestRegistry::start().await;
    let (_t, dir) = fixture();

    let all = module_test(&r, &dir, &[]).await;
    assert_eq!(all.code, 1, "{}\n{}", all.stdout, all.stderr);
    let doc = all.json();
    assert_eq!(doc["ok"], false);
    assert_eq!(doc["test_run"]["status"], "finished");
    assert_eq!(doc["test_run"]["test-status"], "fail");
    assert_eq!(counts(&doc), [1, 2, 0, 0], "{doc}");
    let failing = doc["test_run"]["failing"].to_string();
    assert!(
        failing.contains("tests/fail.tftest.hcl: says_goodbye"),
        "{failing}"
    );
    assert!(
        failing.contains("tests/env.tftest.hcl: has_token"),
        "{failing}"
    );
    // The log, read from log-read-url, is shown as terraform's own messages.
    assert!(
        all.stderr.contains("the module does not say goodbye"),
        "{}",
        all.stderr
    );
    assert!(
        all.stderr.contains("Failure! 1 passed, 2 failed."),
        "{}",
        all.stderr
    );
    assert!(all.stderr.contains("did not pass"), "{}", all.stderr);

    let pass = module_test(&r, &dir, &["--filter", "tests/pass.tftest.hcl"]).await;
    let doc = ok_json(&pass);
    assert_eq!(doc["outcome"], "tested");
    assert_eq!(doc["test_run"]["test-status"], "pass");
    assert_eq!(counts(&doc), [1, 0, 0, 0]);
    assert!(
        pass.stderr.contains(": finished"),
        "progress: {}",
        pass.stderr
    );

    // `module tests` lists both runs, newest first.
    let mut c = r.tfpub_http();
    c.args(["--json", "module", "tests", MODULE]);
    let list = ok_json(&run(c).await);
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{list}");
    assert!(items[0]["detail"]
        .as_str()
        .unwrap()
        .starts_with("finished (pass): 1 passed, 0 failed"));
    assert!(items[1]["detail"]
        .as_str()
        .unwrap()
        .starts_with("finished (fail): 1 passed, 2 failed"));

    // The stored log is served at log-read-url: terraform's JSON view.
    let api = Api::new(&r.reg, TEST_TOKEN);
    let (s, runs) = api.get(&tests_path("test-runs")).await;
    assert_eq!(s, StatusCode::OK);
    let newest = &runs["data"][0]["attributes"];
    assert_eq!(newest["filters"], json!(["tests/pass.tftest.hcl"]));
    assert_eq!(newest["test-directory"], "tests");
    let log = reqwest::get(newest["log-read-url"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(log.status(), StatusCode::OK);
    assert!(log.text().await.unwrap().contains("\"test_summary\""));
    r.stop().await;
}

#[tokio::test]
async fn an_env_variable_test_passes_only_after_test_vars_set_and_the_value_stays_secret() {
    let r = TestRegistry::start().await;
    let (_t, dir) = fixture();
    let env_only = ["--filter", "tests/env.tftest.hcl"];
    let before = module_test(&r, &dir, &env_only).await;
    assert_eq!(before.code, 1, "{}", before.stderr);
    assert!(
        before.stderr.contains("TF_VAR_secret_token is not set"),
        "{}",
        before.stderr
    );

    let mut set = r.tfpub_http();
    set.env("MY_TOKEN", SECRET)
        .args([
            "--json",
            "module",
            "test-vars",
            "set",
            MODULE,
            "TF_VAR_secret_token",
        ])
        .args([
            "--from-env",
            "MY_TOKEN",
            "--sensitive",
            "--description",
            "the API token",
        ]);
    let s = run(set).await;
    let doc = ok_json(&s);
    assert_eq!(doc["items"][0]["action"], "created");
    assert_eq!(
        doc["items"][0]["detail"],
        "TF_VAR_secret_token=(sensitive) (the API token)"
    );

    // set is an upsert: the value on stdin replaces the first one (PATCH).
    let mut again = r.tfpub_http();
    again
        .args([
            "--json",
            "module",
            "test-vars",
            "set",
            MODULE,
            "TF_VAR_secret_token",
            "--sensitive",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = again.spawn().unwrap();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(format!("{SECRET}\n").as_bytes()).unwrap();
    }
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    let again = Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert_eq!(ok_json(&again)["items"][0]["action"], "updated");

    let mut list = r.tfpub_http();
    list.args(["module", "test-vars", "list", MODULE]);
    let list = run(list).await;
    assert_eq!(list.code, 0, "{}", list.stderr);
    assert!(
        list.stdout.contains("TF_VAR_secret_token=(sensitive)"),
        "{}",
        list.stdout
    );

    let after = module_test(&r, &dir, &env_only).await;
    let doc = ok_json(&after);
    assert_eq!(counts(&doc), [1, 0, 0, 0]);

    let api = Api::new(&r.reg, TEST_TOKEN);
    let (_, vars) = api.get(&tests_path("vars")).await;
    assert_eq!(
        vars["data"][0]["attributes"]["value"],
        Value::Null,
        "{vars}"
    );
    let (_, runs) = api.get(&tests_path("test-runs")).await;
    let mut logs = String::new();
    for r in runs["data"].as_array().unwrap() {
        let u = r["attributes"]["log-read-url"].as_str().unwrap();
        logs.push_str(&reqwest::get(u).await.unwrap().text().await.unwrap());
    }
    for text in [
        &before.stdout,
        &before.stderr,
        &s.stdout,
        &s.stderr,
        &again.stdout,
        &again.stderr,
        &list.stdout,
        &list.stderr,
        &after.stdout,
        &after.stderr,
        &vars.to_string(),
        &runs.to_string(),
        &logs,
    ] {
        assert!(
            !text.contains(SECRET),
            "the sensitive value leaked:\n{text}"
        );
    }

    let delete = |key: &str| {
        let mut c = r.tfpub_http();
        c.args(["--json", "module", "test-vars", "delete", MODULE, key]);
        c
    };
    let deleted = ok_json(&run(delete("TF_VAR_secret_token")).await);
    assert_eq!(deleted["items"][0]["action"], "deleted");
    assert_eq!(api.get(&tests_path("vars")).await.1["data"], json!([]));
    let missing = run(delete("TF_VAR_secret_token")).await;
    assert_eq!(missing.code, 1);
    let e = &missing.json()["error"];
    assert_eq!(e["kind"], "not-found", "{e}");
    assert!(
        e["hint"]
            .as_str()
            .unwrap()
            .contains("test-vars list greet/null"),
        "{e}"
    );
    r.stop().await;
}

#[tokio::test]
async fn publish_require_tests_creates_the_version_only_when_the_tests_pass() {
    let r = TestRegistry::start().await;
    let (_t, dir) = fixture();
    let publish = |dir: &Path| {
        let mut c = r.tfpub_http();
        c.args(["module", "publish", "--name", "greet", "--provider", "null"])
            .args(["--version", "1.0.0", "--require-tests", "--timeout", "120"])
            .arg(dir);
        c
    };
    let failed = run(publish(&dir)).await;
    assert_eq!(failed.code, 1, "{}", failed.stderr);
    assert!(
        failed
            .stderr
            .contains("the tests of acme/greet/null did not pass for version 1.0.0"),
        "{}",
        failed.stderr
    );
    assert!(
        failed
            .stderr
            .contains("tests/fail.tftest.hcl: says_goodbye"),
        "{}",
        failed.stderr
    );
    assert!(
        failed.stderr.contains("the module does not say goodbye"),
        "log: {}",
        failed.stderr
    );
    let api = Api::new(&r.reg, TEST_TOKEN);
    assert!(api.module_version("greet", "null", "1.0.0").await.is_none());

    std::fs::remove_file(dir.join("tests/fail.tftest.hcl")).unwrap();
    std::fs::remove_file(dir.join("tests/env.tftest.hcl")).unwrap();
    let ok = run(publish(&dir)).await;
    assert_eq!(ok.code, 0, "{}\n{}", ok.stdout, ok.stderr);
    assert!(ok.stdout.contains("test-run"), "{}", ok.stdout);
    let v = api.module_version("greet", "null", "1.0.0").await.unwrap();
    assert_eq!(v["data"]["attributes"]["status"], "ok");
    r.stop().await;
}

/// Polls the module's newest run until its status is `want`; its id.
async fn wait_for_status(api: &Api, want: &str) -> String {
    for _ in 0..200 {
        let (_, runs) = api.get(&tests_path("test-runs")).await;
        if let Some(r) = runs["data"].as_array().and_then(|d| d.first()) {
            if r["attributes"]["status"] == want {
                return r["id"].as_str().unwrap().to_string();
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no run reached {want}");
}

/// Terraform stops at once when interrupted during its plan, but waits for a running
/// provisioner: then the run is force-canceled after the grace time. Either way the
/// output says why and what was done.
fn stopped_and_said_so(stderr: &str, why: &str) -> bool {
    [
        "the run was canceled",
        "it did not stop when canceled and was force-canceled",
    ]
    .iter()
    .any(|how| stderr.contains(&format!("{why}; {how}")))
}

/// No `sleep SECONDS` of the fixture's provisioner is left running.
fn no_sleep_left(seconds: u32) -> bool {
    let pattern = format!("sleep {seconds}$");
    let out = std::process::Command::new("pgrep")
        .args(["-f", &pattern])
        .output()
        .unwrap();
    out.stdout.is_empty()
}

#[tokio::test]
async fn timeout_and_ctrl_c_cancel_the_run_and_say_so() {
    let r = TestRegistry::start().await;
    let (_t, dir) = fixture();
    let slow = [
        "--filter",
        "tests/pass.tftest.hcl",
        "--var",
        "sleep_seconds=120",
    ];
    let started = std::time::Instant::now();
    let timed_out = module_test(&r, &dir, &[&slow[..], &["--timeout", "3"]].concat()).await;
    assert_eq!(timed_out.code, 1, "{}", timed_out.stderr);
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "the sleep ran to its end"
    );
    let doc = timed_out.json();
    assert_eq!(doc["test_run"]["status"], "canceled", "{doc}");
    assert_eq!(doc["error"]["kind"], "timed-out");
    assert!(
        stopped_and_said_so(&timed_out.stderr, "--timeout of 3s reached"),
        "{}",
        timed_out.stderr
    );

    // Ctrl-C: SIGINT to tfpub while the run is running.
    let mut c = r.tfpub_http();
    c.args(["module", "test", "--name", "greet", "--provider", "null"])
        .args(slow)
        .arg(&dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let (code, _, stderr) = ctrl_c_while_running(&r, c.spawn().unwrap()).await;
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stopped_and_said_so(&stderr, "interrupted (Ctrl-C)"),
        "{stderr}"
    );
    let api = Api::new(&r.reg, TEST_TOKEN);
    let id = wait_for_status(&api, "canceled").await;
    let (_, doc) = api.get(&tests_path(&format!("test-runs/{id}"))).await;
    assert_eq!(doc["data"]["attributes"]["status"], "canceled");
    assert!(doc["data"]["attributes"]["status-timestamps"]["canceled-at"].is_string());
    assert!(
        no_sleep_left(121),
        "a provisioner of a canceled run is still running"
    );
    r.stop().await;
}

/// Sends SIGINT (Ctrl-C) to `child` and waits for it to end; its output.
async fn sigint_and_wait(child: std::process::Child) -> std::process::Output {
    assert!(std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap()
        .success());
    tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap()
}

/// Sends SIGINT to `child` once the module's newest test run is `running`; the output.
async fn ctrl_c_while_running(
    r: &TestRegistry,
    child: std::process::Child,
) -> (Option<i32>, String, String) {
    let api = Api::new(&r.reg, TEST_TOKEN);
    wait_for_status(&api, "running").await;
    let out = sigint_and_wait(child).await;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    (
        out.status.code(),
        stdout,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn ctrl_c_during_the_test_gate_cancels_the_run_and_publishes_nothing() {
    let r = TestRegistry::start().await;
    let (_t, dir) = fixture();
    std::fs::remove_file(dir.join("tests/fail.tftest.hcl")).unwrap();
    std::fs::remove_file(dir.join("tests/env.tftest.hcl")).unwrap();
    let main = std::fs::read_to_string(dir.join("main.tf")).unwrap();
    let slow = main.replace("default     = 0\n", "default     = 130\n");
    assert_ne!(main, slow, "the fixture's sleep_seconds default moved");
    std::fs::write(dir.join("main.tf"), slow).unwrap();
    let mut c = r.tfpub_http();
    c.args(["module", "publish", "--name", "greet", "--provider", "null"])
        .args(["--version", "1.0.0", "--require-tests"])
        .arg(&dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let (code, _, stderr) = ctrl_c_while_running(&r, c.spawn().unwrap()).await;
    // The gate answered the Ctrl-C: the run is canceled, the publish fails, no version.
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stopped_and_said_so(&stderr, "interrupted (Ctrl-C)"),
        "{stderr}"
    );
    let api = Api::new(&r.reg, TEST_TOKEN);
    let (_, runs) = api.get(&tests_path("test-runs")).await;
    assert_eq!(
        runs["data"][0]["attributes"]["status"], "canceled",
        "{runs}"
    );
    assert!(api.module_version("greet", "null", "1.0.0").await.is_none());
    assert!(
        no_sleep_left(130),
        "a provisioner of a canceled run is still running"
    );
    r.stop().await;
}

#[tokio::test]
async fn an_unclaimed_ctrl_c_stops_tfpub_with_130_and_a_json_error() {
    // A registry that accepts connections and never answers: tfpub waits in its preflight.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let host = format!("127.0.0.1:{}", silent.local_addr().unwrap().port());
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_tfpub"));
    c.env_clear()
        .env("PATH", std::env::var("PATH").unwrap())
        .env("TFE_TOKEN", TEST_TOKEN)
        .args(["--host", &host, "--organization", ORG, "--json"])
        .args(["module", "publish", "--version", "1.0.0"])
        .arg(testdata("modules/terraform-null-greeting"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = c.spawn().unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let out = sigint_and_wait(child).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("interrupted (Ctrl-C)"), "{stderr}");
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["ok"], false);
    assert_eq!(doc["error"]["message"], "interrupted (Ctrl-C)");
    assert!(!stderr.contains(TEST_TOKEN) && !doc.to_string().contains(TEST_TOKEN));
    drop(silent);
}

/// Creates the module, a test configuration version with the fixture's files, and a
/// run with `attrs` through the raw API; the run's id.
async fn raw_run(api: &Api, attrs: Value) -> String {
    let (s, _) = api.create_module("greet").await;
    assert!(s == StatusCode::CREATED || s == StatusCode::UNPROCESSABLE_ENTITY);
    // Asking for the documented automatic run on upload, besides the explicit one.
    let (s, cv) = api
        .post(
            &tests_path("test-runs/configuration-versions"),
            json!({"auto-queue-runs": true}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{cv}");
    assert_eq!(cv["data"]["attributes"]["status"], "pending");
    let read = |p: &str| std::fs::read(testdata("module-tests").join(p)).unwrap();
    let (main, pass) = (read("main.tf"), read("tests/pass.tftest.hcl"));
    let body = tarball(&[("main.tf", &main), ("tests/pass.tftest.hcl", &pass)]);
    let upload = cv["data"]["attributes"]["upload-url"].as_str().unwrap();
    assert_eq!(api.put(upload, body).await, StatusCode::OK);
    let cv_id = cv["data"]["id"].as_str().unwrap();
    let (_, shown) = api
        .get(&format!("/api/v2/configuration-versions/{cv_id}"))
        .await;
    assert_eq!(shown["data"]["attributes"]["status"], "uploaded");
    assert_eq!(shown["data"]["attributes"]["upload-url"], Value::Null);
    let doc = json!({"data": {"type": "test-runs", "attributes": attrs,
        "relationships": {"configuration-version": {"data": {"id": cv_id, "type": "configuration-versions"}}}}});
    let (s, run) = api
        .send(reqwest::Method::POST, &tests_path("test-runs"), Some(doc))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{run}");
    run["data"]["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn a_run_left_running_by_a_stopped_registry_is_errored_at_the_next_start() {
    let data = tempfile::tempdir().unwrap();
    let reg = start_in(data.path()).await;
    let api = Api::new(&reg, TEST_TOKEN);
    // The auto-queued run of the upload and this one share the module's queue.
    let id = raw_run(
        &api,
        json!({"variables": [{"key": "sleep_seconds", "value": 120}]}),
    )
    .await;
    let (_, first) = api.get(&tests_path("test-runs")).await;
    assert_eq!(first["data"].as_array().unwrap().len(), 2, "{first}");
    assert_eq!(
        first["data"][1]["attributes"]["source"],
        "tfe-configuration-version"
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let (_, d) = api.get(&tests_path(&format!("test-runs/{id}"))).await;
        if d["data"]["attributes"]["status"] == "running" {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "never running: {d}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    reg.shutdown().await;
    assert!(
        no_sleep_left(120),
        "the stopped registry left a provisioner running"
    );

    let reg = start_in(data.path()).await;
    let api = Api::new(&reg, TEST_TOKEN);
    let (_, d) = api.get(&tests_path(&format!("test-runs/{id}"))).await;
    let a = &d["data"]["attributes"];
    assert_eq!(a["status"], "errored", "{d}");
    assert_eq!(a["message"], "registry restarted during the run");
    assert_eq!(
        a["variables"],
        json!([{"key": "sleep_seconds", "value": "120"}])
    );
    reg.shutdown().await;
}

/// Run `id`'s document once it is `errored`, or after `tries` reads 50 ms apart.
async fn run_once_errored(api: &Api, id: &str, tries: u32) -> Value {
    let path = tests_path(&format!("test-runs/{id}"));
    let mut d = Value::Null;
    for _ in 0..tries {
        d = api.get(&path).await.1;
        if d["data"]["attributes"]["status"] == "errored" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    d
}

#[tokio::test]
async fn a_run_over_the_registry_time_limit_is_stopped_and_errored() {
    let data = tempfile::tempdir().unwrap();
    let reg = start_edited(data.path(), |o| o.test_time_limit = Duration::from_secs(2)).await;
    let api = Api::new(&reg, TEST_TOKEN);
    let id = raw_run(
        &api,
        json!({"variables": [{"key": "sleep_seconds", "value": "122"}]}),
    )
    .await;
    let d = run_once_errored(&api, &id, 300).await;
    let a = &d["data"]["attributes"];
    assert_eq!(a["status"], "errored", "{d}");
    assert!(
        a["message"].as_str().unwrap().contains("time limit of 2 s"),
        "{d}"
    );
    assert!(a["log-read-url"].is_string(), "the log so far is kept: {d}");
    assert!(
        no_sleep_left(122),
        "the stopped run left its provisioner running"
    );
    reg.shutdown().await;
}

#[tokio::test]
async fn cancel_rules_and_a_registry_without_terraform() {
    let data = tempfile::tempdir().unwrap();
    let terraform = PathBuf::from("/nonexistent/terraform");
    let reg = start_edited(data.path(), |o| o.terraform = Some(terraform)).await;
    let api = Api::new(&reg, TEST_TOKEN);
    let id = raw_run(
        &api,
        json!({"filters": ["tests/pass.tftest.hcl"], "verbose": true}),
    )
    .await;
    let d = run_once_errored(&api, &id, 100).await;
    let a = &d["data"]["attributes"];
    assert_eq!(a["status"], "errored", "{d}");
    assert!(
        a["message"]
            .as_str()
            .unwrap()
            .contains("/nonexistent/terraform"),
        "{d}"
    );
    assert_eq!(a["test-status"], Value::Null);
    // An ended run can be neither canceled nor force-canceled.
    let path = tests_path(&format!("test-runs/{id}"));
    for action in ["cancel", "force-cancel"] {
        let (s, e) = api
            .send(reqwest::Method::POST, &format!("{path}/{action}"), None)
            .await;
        assert_eq!(s, StatusCode::CONFLICT, "{action}: {e}");
    }
    let (s, _) = api.get(&tests_path("test-runs/trun-999")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    reg.shutdown().await;
}

#[tokio::test]
async fn test_variables_follow_the_documented_rules() {
    let (_d, reg, api) = super::support::registry::started(TEST_TOKEN).await;
    api.create_module("greet").await;
    let vars = tests_path("vars");
    let bad_key = api
        .post(
            &vars,
            json!({"key": "9lives", "value": "x", "category": "env"}),
        )
        .await;
    assert_eq!(bad_key.0, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad_key.1);
    let terraform = api
        .post(
            &vars,
            json!({"key": "k", "value": "x", "category": "terraform"}),
        )
        .await;
    assert_eq!(terraform.0, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, v) = api.post(&vars, json!({"key": "some_key", "value": "some_value", "description": "d", "category": "env"})).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let a = &v["data"]["attributes"];
    assert_eq!(
        (
            a["value"].as_str(),
            a["hcl"].as_bool(),
            a["sensitive"].as_bool()
        ),
        (Some("some_value"), Some(false), Some(false))
    );
    assert!(a["version-id"].as_str().is_some_and(|s| s.len() == 64));
    let dup = api
        .post(
            &vars,
            json!({"key": "some_key", "value": "y", "category": "env"}),
        )
        .await;
    assert_eq!(dup.0, StatusCode::UNPROCESSABLE_ENTITY);
    let id = v["data"]["id"].as_str().unwrap();
    let (s, p) = api
        .patch(
            &format!("{vars}/{id}"),
            json!({"value": "mars", "sensitive": true}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{p}");
    assert_eq!(p["data"]["attributes"]["value"], Value::Null);
    assert_ne!(p["data"]["attributes"]["version-id"], a["version-id"]);
    let back = api
        .patch(&format!("{vars}/{id}"), json!({"sensitive": false}))
        .await;
    assert_eq!(back.0, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        api.delete(&format!("{vars}/{id}")).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(api.get(&vars).await.1["data"], json!([]));
    reg.shutdown().await;
}

/// `module sync` with `require_tests = true` in tfpub.toml: the tag whose tests pass is
/// published, the one whose tests fail is reported and not published.
#[tokio::test]
async fn sync_with_require_tests_publishes_only_the_tags_whose_tests_pass() {
    use super::support::git::{commit, tag};
    let r = TestRegistry::start().await;
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("repo");
    std::fs::create_dir_all(&root).unwrap();
    let repo = git2::Repository::init(&root).unwrap();
    let read = |p: &str| std::fs::read_to_string(testdata("module-tests").join(p)).unwrap();
    let toml =
        "[[module]]\npath = \"mod\"\nname = \"greet\"\nprovider = \"null\"\nrequire_tests = true\n";
    let (main, pass, fail) = (
        read("main.tf"),
        read("tests/pass.tftest.hcl"),
        read("tests/fail.tftest.hcl"),
    );
    let good = commit(
        &repo,
        &[
            ("tfpub.toml", toml),
            ("mod/main.tf", &main),
            ("mod/tests/pass.tftest.hcl", &pass),
        ],
        "good",
    );
    tag(&repo, "v1.0.0", good, false);
    let bad = commit(&repo, &[("mod/tests/fail.tftest.hcl", &fail)], "bad");
    tag(&repo, "v1.1.0", bad, false);

    let mut c = r.tfpub_http();
    c.args(["--json", "module", "sync", "--timeout", "120"])
        .arg(&root);
    let out = run(c).await;
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    let doc = out.json();
    let tags: Vec<(String, String, String)> = doc["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["kind"] == "tag")
        .map(|i| {
            (
                i["id"].as_str().unwrap().into(),
                i["action"].as_str().unwrap().into(),
                i["detail"].as_str().unwrap_or_default().into(),
            )
        })
        .collect();
    assert_eq!(tags.len(), 2, "{doc}");
    assert_eq!(
        (tags[0].0.as_str(), tags[0].1.as_str()),
        ("v1.0.0", "uploaded")
    );
    assert_eq!(
        (tags[1].0.as_str(), tags[1].1.as_str()),
        ("v1.1.0", "failed")
    );
    assert!(
        tags[1].2.contains("did not pass for version 1.1.0"),
        "{}",
        tags[1].2
    );
    assert!(
        tags[1].2.contains("tests/fail.tftest.hcl: says_goodbye"),
        "{}",
        tags[1].2
    );
    let api = Api::new(&r.reg, TEST_TOKEN);
    assert!(api.module_version("greet", "null", "1.0.0").await.is_some());
    assert!(api.module_version("greet", "null", "1.1.0").await.is_none());
    r.stop().await;
}
