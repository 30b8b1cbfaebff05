//! The command line as a user and a pipeline meet it: snapshot tests of the main
//! commands' human and `--json` output, the promise that no token is ever printed,
//! where the target and credentials come from (and the errors when they are wrong), exit
//! codes, shell completions, and the README's newcomer command.
//!
//! Snapshots filter what varies between runs (ports, temp folders, the checkout path,
//! sha256 digests, timings) so they only change when the output really changes.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::support::registry::item_detail;
use crate::support::{self, assert_no_secret, run, testdata, Run, TestRegistry, ORG, TEST_TOKEN};

const MODULE: &str = "modules/terraform-null-greeting";

/// Other tokens the tests use; none may ever appear in output either.
const ENV_TOKEN: &str = "tfpub-env-TF_TOKEN-secret-1";
const FILE_TOKEN: &str = "tfpub-credfile-secret-2";
const WRONG_TOKEN: &str = "tfpub-wrong-token-secret-3";

/// Runs `cmd` (support::run checks TEST_TOKEN and friends) and also checks `secrets`.
async fn run_no_leak(cmd: Command, secrets: &[&str]) -> Run {
    let r = run(cmd).await;
    for s in secrets
        .iter()
        .chain([ENV_TOKEN, FILE_TOKEN, WRONG_TOKEN].iter())
    {
        assert!(
            !r.stdout.contains(s) && !r.stderr.contains(s),
            "secret {s:?} leaked:\n{}\n{}",
            r.stdout,
            r.stderr
        );
    }
    r
}

/// Replacements for whatever varies between runs and machines.
fn filters() -> Vec<(String, String)> {
    let root = support::repo_root().display().to_string();
    vec![
        (regex_escape(&root), "[REPO]".into()),
        (r"127\.0\.0\.1:\d+".into(), "[HOST]".into()),
        (r"127_0_0_1_\d+".into(), "[HOST_VAR]".into()),
        (r"/tmp/[^\s/]+".into(), "[TMP]".into()),
        (r"\b[0-9a-f]{64}\b".into(), "[SHA256]".into()),
        (r"\(\d+ ms\)".into(), "([N] ms)".into()),
    ]
}

fn regex_escape(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '/' || c == '_' || c == '-' {
                c.to_string()
            } else {
                format!("\\{c}")
            }
        })
        .collect()
}

macro_rules! snap {
    ($name:expr, $value:expr) => {{
        let mut settings = insta::Settings::clone_current();
        for (re, with) in filters() {
            settings.add_filter(&re, with);
        }
        settings.set_prepend_module_to_snapshot(true);
        settings.bind(|| insta::assert_snapshot!($name, $value));
    }};
}

/// Human output as the user sees it: the result on stdout, progress on stderr.
fn human(r: &Run) -> String {
    format!(
        "exit code: {}\n--- stdout ---\n{}--- stderr ---\n{}",
        r.code, r.stdout, r.stderr
    )
}

fn module_dir() -> String {
    testdata(MODULE).display().to_string()
}

fn publish(reg: &TestRegistry, version: &str, extra: &[&str]) -> Command {
    let mut c = reg.tfpub();
    c.args(["module", "publish", &module_dir(), "--version", version])
        .args(extra);
    c
}

fn write_credentials(home: &Path, host: &str, token: &str) {
    let dir = home.join(".terraform.d");
    std::fs::create_dir_all(&dir).unwrap();
    let doc = serde_json::json!({"credentials": {host: {"token": token}}});
    std::fs::write(dir.join("credentials.tfrc.json"), doc.to_string()).unwrap();
}

// ---------------------------------------------------------------------------------------
// (1) snapshots

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_module_publish_versions_and_dry_run() {
    let reg = TestRegistry::start().await;

    let r = run(publish(&reg, "1.0.0", &[])).await;
    assert_eq!(r.code, 0, "{}", human(&r));
    snap!("publish_fresh_human", human(&r));

    let r = run(publish(&reg, "1.0.0", &[])).await;
    assert_eq!(r.code, 0, "{}", human(&r));
    snap!("publish_again_human", human(&r));

    let r = run(publish(&reg, "1.0.0", &["--json"])).await;
    assert_eq!(r.code, 0, "{}", human(&r));
    assert_eq!(r.json()["outcome"], "already-published");
    snap!("publish_again_json", r.stdout.clone());

    let r = run(publish(&reg, "1.1.0", &["--json"])).await;
    assert_eq!(r.code, 0, "{}", human(&r));
    let doc = r.json();
    assert_eq!(doc["outcome"], "published");
    assert_eq!(doc["published"], true);
    snap!("publish_fresh_json", r.stdout.clone());

    let r = run(publish(&reg, "1.2.0", &["--dry-run"])).await;
    assert_eq!(r.code, 0, "{}", human(&r));
    snap!("publish_dry_run_human", human(&r));
    let r = run(publish(&reg, "1.2.0", &["--json", "--dry-run"])).await;
    assert_eq!(r.code, 0, "{}", human(&r));
    assert_eq!(r.json()["outcome"], "planned");
    snap!("publish_dry_run_json", r.stdout.clone());

    let mut c = reg.tfpub();
    c.args(["module", "versions", "greeting/null"]);
    let r = run(c).await;
    assert_eq!(r.code, 0, "{}", human(&r));
    snap!("versions_human", human(&r));
    let mut c = reg.tfpub();
    c.args(["--json", "module", "versions", "greeting/null"]);
    let r = run(c).await;
    assert_eq!(r.code, 0, "{}", human(&r));
    let versions: Vec<_> = r.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["version"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        versions.len(),
        2,
        "dry run must not create 1.2.0: {versions:?}"
    );
    snap!("versions_json", r.stdout.clone());
    reg.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_whoami() {
    let reg = TestRegistry::start().await;
    let mut c = reg.tfpub();
    c.arg("whoami");
    let r = run(c).await;
    assert_eq!(r.code, 0, "{}", human(&r));
    snap!("whoami_human", human(&r));
    let mut c = reg.tfpub();
    c.args(["whoami", "--json"]);
    let r = run(c).await;
    assert_eq!(r.code, 0, "{}", human(&r));
    snap!("whoami_json", r.stdout.clone());
    reg.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_error_no_organization_shows_cause_and_hint() {
    let reg = TestRegistry::start().await;
    let mut c = publish(&reg, "1.0.0", &[]);
    c.env_remove("TFE_ORGANIZATION");
    let r = run(c).await;
    assert_eq!(r.code, 1, "{}", human(&r));
    assert!(r.stdout.is_empty(), "{}", human(&r));
    assert!(
        r.stderr
            .contains("hint: pass --organization or set TFE_ORGANIZATION"),
        "{}",
        r.stderr
    );
    snap!("error_no_org_human", human(&r));

    let mut c = publish(&reg, "1.0.0", &["--json"]);
    c.env_remove("TFE_ORGANIZATION");
    let r = run(c).await;
    assert_eq!(r.code, 1);
    let doc = r.json();
    assert_eq!(doc["ok"], false);
    assert_eq!(doc["error"]["message"], "no organization given");
    assert_eq!(
        doc["error"]["hint"],
        "pass --organization or set TFE_ORGANIZATION"
    );
    snap!("error_no_org_json", r.stdout.clone());

    // An error with a cause chain: the archive of a missing folder.
    let mut c = reg.tfpub();
    c.args([
        "module",
        "publish",
        "/nonexistent/terraform-null-x",
        "--version",
        "1.0.0",
    ]);
    let r = run(c).await;
    assert_eq!(r.code, 1, "{}", human(&r));
    assert!(r.stderr.starts_with("error: ") || r.stderr.contains("\nerror: "));
    snap!("error_missing_dir_human", human(&r));
    reg.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_help() {
    for (name, args) in [
        ("help_top", &["--help"][..]),
        ("help_module_publish", &["module", "publish", "--help"][..]),
    ] {
        let mut c = Command::new(env!("CARGO_BIN_EXE_tfpub"));
        c.args(args).env("COLUMNS", "100").env("NO_COLOR", "1");
        let r = run(c).await;
        assert_eq!(r.code, 0, "{}", human(&r));
        assert!(r.stdout.contains("Example"), "{name}: no example");
        snap!(name, r.stdout.clone());
    }
}

// ---------------------------------------------------------------------------------------
// (2) the token never appears

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_never_printed_on_success_verbose_or_error_paths() {
    let t = TestRegistry::with_token(TEST_TOKEN, ORG).await;
    let mut outputs = Vec::new();
    for args in [
        vec!["whoami"],
        vec!["-v", "whoami"],
        vec!["-vv", "--json", "whoami"],
    ] {
        let mut c = t.tfpub();
        c.args(&args);
        let r = run_no_leak(c, &[]).await;
        assert_eq!(r.code, 0, "{args:?}: {}", human(&r));
        outputs.push(r);
    }
    for extra in [&["-v"][..], &[][..], &["--json", "-v"][..]] {
        let r = run_no_leak(publish(&t, "2.0.0", extra), &[]).await;
        assert_eq!(r.code, 0, "{extra:?}: {}", human(&r));
        outputs.push(r);
    }
    let r = run_no_leak(publish(&t, "2.1.0", &["-v", "--dry-run"]), &[]).await;
    assert_eq!(r.code, 0, "{}", human(&r));
    // Verbose mode really logs requests (else this test would prove little).
    assert!(r.stderr.contains("GET /api/v2/ping"), "{}", r.stderr);
    outputs.push(r);
    let mut c = t.tfpub();
    c.args(["-v", "module", "versions", "greeting/null"]);
    let r = run_no_leak(c, &[]).await;
    assert_eq!(r.code, 0, "{}", human(&r));
    outputs.push(r);

    // 401: a token the registry does not know, from each source, plain, -v and --json.
    for (var, how) in [
        ("TFE_TOKEN", vec!["whoami"]),
        ("TFE_TOKEN", vec!["-vv", "whoami"]),
        ("TFE_TOKEN", vec!["-v", "--json", "module", "publish"]),
        ("TF_TOKEN", vec!["-v", "module", "publish"]),
    ] {
        let mut c = t.tfpub();
        if var == "TF_TOKEN" {
            c.env(
                format!("TF_TOKEN_127_0_0_1_{}", t.reg.addr().port()),
                WRONG_TOKEN,
            );
        } else {
            c.env("TFE_TOKEN", WRONG_TOKEN);
        }
        c.args(&how);
        if how.contains(&"publish") {
            c.args([&module_dir(), "--version", "3.0.0"]);
        }
        let r = run_no_leak(c, &[TEST_TOKEN]).await;
        assert_eq!(r.code, 1, "{how:?}: {}", human(&r));
        if how == ["whoami"] {
            // The error with its cause chain and hint, as a user sees it.
            assert!(r.stderr.contains("\n  caused by: "), "{}", r.stderr);
            assert!(r.stderr.contains("\n  hint: "), "{}", r.stderr);
            snap!("error_401_human", human(&r));
        }
        if how.contains(&"--json") {
            let doc = r.json();
            assert_eq!(doc["ok"], false);
            assert!(doc["error"]["hint"].is_string(), "{doc:#}");
            snap!("error_401_publish_json", r.stdout.clone());
        }
        assert!(
            r.stdout.contains("401") || r.stderr.contains("401"),
            "{how:?} does not mention the 401: {}",
            human(&r)
        );
        outputs.push(r);
    }
    // A foreign organization with a valid token.
    let mut c = t.tfpub();
    c.args(["-v", "--organization", "someone-else", "whoami"]);
    let r = run_no_leak(c, &[]).await;
    assert_eq!(r.code, 1, "{}", human(&r));
    outputs.push(r);

    for r in &outputs {
        assert_no_secret(&r.stdout);
        assert_no_secret(&r.stderr);
    }
    t.stop().await;
}

// ---------------------------------------------------------------------------------------
// (3) where the target and credentials come from

async fn whoami_json(c: Command) -> Value {
    let mut c = c;
    c.args(["whoami", "--json"]);
    let r = run_no_leak(c, &[]).await;
    assert_eq!(r.code, 0, "{}", human(&r));
    r.json()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_precedence_tf_token_then_tfe_token_then_credentials_file() {
    let reg = TestRegistry::start().await;
    let host = reg.host();
    let var = format!("TF_TOKEN_127_0_0_1_{}", reg.reg.addr().port());
    write_credentials(reg.home.path(), &host, FILE_TOKEN);

    // All three: TF_TOKEN_<host> wins.
    let mut c = reg.tfpub();
    c.env(&var, ENV_TOKEN);
    let doc = whoami_json(c).await;
    assert_eq!(item_detail(&doc, "token"), format!("from {var}"));

    // TF_TOKEN_ for the bare host name (Terraform keys credentials by name).
    let mut c = reg.tfpub();
    c.env("TF_TOKEN_127_0_0_1", ENV_TOKEN);
    let doc = whoami_json(c).await;
    assert_eq!(item_detail(&doc, "token"), "from TF_TOKEN_127_0_0_1");

    // TFE_TOKEN beats the file.
    let doc = whoami_json(reg.tfpub()).await;
    assert_eq!(item_detail(&doc, "token"), "from TFE_TOKEN");

    // Only the file.
    let mut c = reg.tfpub();
    c.env_remove("TFE_TOKEN");
    let doc = whoami_json(c).await;
    assert_eq!(
        item_detail(&doc, "token"),
        "from ~/.terraform.d/credentials.tfrc.json"
    );

    // None: a clear error naming the variables and `terraform login`.
    std::fs::remove_file(reg.home.path().join(".terraform.d/credentials.tfrc.json")).unwrap();
    let mut c = reg.tfpub();
    c.env_remove("TFE_TOKEN").arg("whoami");
    let r = run_no_leak(c, &[]).await;
    assert_eq!(r.code, 1, "{}", human(&r));
    assert!(r.stderr.contains("no API token"), "{}", r.stderr);
    assert!(r.stderr.contains(&var), "{}", r.stderr);
    assert!(r.stderr.contains("terraform login"), "{}", r.stderr);
    reg.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_and_organization_precedence() {
    let reg = TestRegistry::start().await;
    let doc = whoami_json(reg.tfpub()).await;
    assert_eq!(
        item_detail(&doc, "host"),
        format!("{} (from TFE_HOSTNAME)", reg.host())
    );
    assert_eq!(
        item_detail(&doc, "organization"),
        "acme (from TFE_ORGANIZATION)"
    );
    assert_eq!(doc["target"]["host"], reg.host());
    assert_eq!(doc["target"]["local"], false);

    // Flags beat the environment (TFE_HOSTNAME points nowhere useful).
    let mut c = reg.tfpub();
    c.env("TFE_HOSTNAME", "tfe.invalid")
        .env("TFE_ORGANIZATION", "not-this-one")
        .args(["--host", &reg.host(), "--org", "beta"]);
    let doc = whoami_json(c).await;
    assert_eq!(
        item_detail(&doc, "host"),
        format!("{} (from --host)", reg.host())
    );
    assert_eq!(
        item_detail(&doc, "organization"),
        "beta (from --organization)"
    );

    // An explicit http:// URL for loopback is accepted too.
    let mut c = reg.tfpub();
    c.args(["--host", &format!("http://{}", reg.host())]);
    let doc = whoami_json(c).await;
    assert_eq!(doc["target"]["host"], reg.host());
    reg.stop().await;
}

/// Runs a command expected to fail on configuration; returns stderr after checking the
/// exit code, that stdout is empty, and that `--json` carries the same message.
async fn config_error(reg: &TestRegistry, setup: impl Fn(&mut Command)) -> String {
    let mut c = reg.tfpub();
    setup(&mut c);
    c.arg("whoami");
    let r = run_no_leak(c, &[]).await;
    assert_eq!(r.code, 1, "{}", human(&r));
    assert!(r.stdout.is_empty(), "{}", human(&r));
    assert!(r.stderr.starts_with("error: "), "{}", r.stderr);
    assert!(r.stderr.contains("\n  hint: "), "no hint: {}", r.stderr);

    let mut c = reg.tfpub();
    setup(&mut c);
    c.args(["whoami", "--json"]);
    let j = run_no_leak(c, &[]).await;
    assert_eq!(j.code, 1, "{}", human(&j));
    let doc = j.json();
    assert_eq!(doc["ok"], false);
    let msg = doc["error"]["message"].as_str().unwrap();
    assert!(!msg.contains("hint:"), "hint not split off: {msg}");
    assert!(r.stderr.contains(msg), "{msg} vs {}", r.stderr);
    assert!(doc["error"]["hint"].is_string(), "{doc:#}");
    r.stderr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configuration_errors_name_their_source() {
    let reg = TestRegistry::start().await;

    let e = config_error(&reg, |c| {
        c.env_remove("TFE_ORGANIZATION");
    })
    .await;
    assert!(
        e.contains("no organization") && e.contains("TFE_ORGANIZATION"),
        "{e}"
    );

    let e = config_error(&reg, |c| {
        c.args(["--host", "http://example.com"]);
    })
    .await;
    assert!(e.contains("--host") && e.contains("plain http"), "{e}");

    let e = config_error(&reg, |c| {
        c.args(["--host", "a b"]);
    })
    .await;
    assert!(e.contains("malformed host") && e.contains("--host"), "{e}");

    let e = config_error(&reg, |c| {
        c.env("TFE_HOSTNAME", "ftp://tfe.example.com");
    })
    .await;
    assert!(e.contains("TFE_HOSTNAME"), "{e}");

    let e = config_error(&reg, |c| {
        c.args(["--host", "tfe.example.com/path"]);
    })
    .await;
    assert!(e.contains("--host") && e.contains("no path"), "{e}");

    // Credentials file that is not JSON (and no env token to fall back on).
    let dir = reg.home.path().join(".terraform.d");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("credentials.tfrc.json"),
        format!("{{\"credentials\": {{ \"x\": {{\"token\": \"{FILE_TOKEN}\"  oops"),
    )
    .unwrap();
    let e = config_error(&reg, |c| {
        c.env_remove("TFE_TOKEN");
    })
    .await;
    assert!(
        e.contains("credentials.tfrc.json") && e.contains("not valid JSON"),
        "{e}"
    );
    assert!(e.contains("terraform login"), "{e}");
    std::fs::remove_file(dir.join("credentials.tfrc.json")).unwrap();

    // Credentials "file" that cannot be read (a folder).
    std::fs::create_dir_all(dir.join("credentials.tfrc.json")).unwrap();
    let e = config_error(&reg, |c| {
        c.env_remove("TFE_TOKEN");
    })
    .await;
    assert!(
        e.contains("credentials.tfrc.json") && e.contains("could not be read"),
        "{e}"
    );
    std::fs::remove_dir(dir.join("credentials.tfrc.json")).unwrap();

    let e = config_error(&reg, |c| {
        c.args(["--ca-cert", "/nonexistent/ca.pem"]);
    })
    .await;
    assert!(
        e.contains("/nonexistent/ca.pem") && e.contains("--ca-cert"),
        "{e}"
    );
    let e = config_error(&reg, |c| {
        c.env("SSL_CERT_FILE", "/nonexistent/env-ca.pem");
    })
    .await;
    assert!(
        e.contains("/nonexistent/env-ca.pem") && e.contains("SSL_CERT_FILE"),
        "{e}"
    );

    let e = config_error(&reg, |c| {
        c.args(["--local", "--host", "example.com"]);
    })
    .await;
    assert!(e.contains("--local") && e.contains("--host"), "{e}");
    reg.stop().await;
}

// ---------------------------------------------------------------------------------------
// (4) exit codes, usage errors, completions

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_codes_match_the_readme_and_help() {
    let readme = std::fs::read_to_string(support::repo_root().join("README.md")).unwrap();
    assert!(
        readme.contains(
            "Exit codes: `0` success or nothing to do, `1` failure, `2` usage error, `130` stopped by Ctrl-C."
        ),
        "README no longer documents the exit codes as tested here"
    );
    let mut c = Command::new(env!("CARGO_BIN_EXE_tfpub"));
    c.arg("--help");
    let r = run(c).await;
    assert!(
        r.stdout
            .contains("Exit codes: 0 success or nothing to do, 1 failure, 2 usage error, 130 stopped by Ctrl-C."),
        "{}",
        r.stdout
    );

    let reg = TestRegistry::start().await;
    // 0: success, and 0 again when there is nothing to do.
    let r = run(publish(&reg, "1.0.0", &[])).await;
    assert_eq!(r.code, 0, "{}", human(&r));
    let r = run(publish(&reg, "1.0.0", &["--json"])).await;
    assert_eq!(r.code, 0, "{}", human(&r));
    assert_eq!(r.json()["outcome"], "already-published");
    // 1: failure (a version that does not parse).
    let r = run(publish(&reg, "not-a-version", &[])).await;
    assert_eq!(r.code, 1, "{}", human(&r));
    // 2: usage errors, with clap's message on stderr and nothing on stdout.
    for args in [
        &["module", "publish", "--bogus"][..],
        &["module", "publish", "--timeout", "soon"][..],
        &["no-such-command"][..],
        &[][..],
        &["completions", "tcsh"][..],
    ] {
        let mut c = reg.tfpub();
        c.args(args);
        let r = run(c).await;
        assert_eq!(r.code, 2, "{args:?}: {}", human(&r));
        assert!(r.stdout.is_empty(), "{args:?}: {}", human(&r));
        assert!(!r.stderr.is_empty(), "{args:?}");
    }
    // --help and --version are not errors.
    for args in [
        &["--help"][..],
        &["--version"][..],
        &["module", "--help"][..],
    ] {
        let mut c = reg.tfpub();
        c.args(args);
        let r = run(c).await;
        assert_eq!(r.code, 0, "{args:?}: {}", human(&r));
        assert!(!r.stdout.is_empty());
    }
    reg.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn completions_for_each_shell() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let mut c = Command::new(env!("CARGO_BIN_EXE_tfpub"));
        c.args(["completions", shell]);
        let r = run(c).await;
        assert_eq!(r.code, 0, "{shell}: {}", human(&r));
        assert!(r.stdout.contains("tfpub"), "{shell}");
        assert!(r.stdout.contains("publish"), "{shell}: subcommands missing");
    }
    // The bash script is valid bash and registers a completion for tfpub.
    let tmp = tempfile::tempdir().unwrap();
    let mut c = Command::new(env!("CARGO_BIN_EXE_tfpub"));
    c.args(["completions", "bash"]);
    let r = run(c).await;
    let script = tmp.path().join("tfpub.bash");
    std::fs::write(&script, &r.stdout).unwrap();
    let mut b = Command::new("bash");
    b.arg("-c")
        .arg(format!("source {} && complete -p tfpub", script.display()));
    let out = run(b).await;
    assert_eq!(out.code, 0, "{}", human(&out));
    assert!(out.stdout.contains("tfpub"), "{}", out.stdout);
}

// ---------------------------------------------------------------------------------------
// (5) the README newcomer command

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readme_newcomer_command_publishes_then_says_already_published() {
    let readme = std::fs::read_to_string(support::repo_root().join("README.md")).unwrap();
    let line = "cargo run -- --local module publish testdata/modules/terraform-null-greeting --version 1.0.0";
    assert!(readme.contains(line), "README's newcomer command changed");
    let args: Vec<&str> = line.split_whitespace().skip(3).collect();

    let data = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    let newcomer = |json: bool| {
        let mut c = support::clean_tfpub(home.path());
        c.current_dir(support::repo_root())
            .arg("--data")
            .arg(data.path())
            .args(&args);
        if json {
            c.arg("--json");
        }
        c
    };
    let r = run(newcomer(false)).await;
    assert_eq!(r.code, 0, "{}", human(&r));
    assert!(r.stdout.contains("published"), "{}", human(&r));
    snap!("newcomer_first_human", human(&r));
    let r = run(newcomer(false)).await;
    assert_eq!(r.code, 0, "{}", human(&r));
    assert!(r.stdout.contains("already published"), "{}", human(&r));
    snap!("newcomer_second_human", human(&r));
    let r = run(newcomer(true)).await;
    assert_eq!(r.code, 0, "{}", human(&r));
    let doc = r.json();
    assert_eq!(doc["outcome"], "already-published");
    assert_eq!(doc["target"]["organization"], "local");
    assert_eq!(doc["target"]["local"], true);
    // The data really landed in --data, and nothing in the scratch HOME but what the
    // user asked for.
    assert!(std::fs::read_dir(data.path()).unwrap().next().is_some());
}
