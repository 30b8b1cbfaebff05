//! What tfpub promises to the tools around it: the published `tfpub.result/v1` JSON
//! Schema (schema/tfpub.result.v1.json) accepts the documents tfpub writes and refuses
//! ones that break the promise, and the hidden `tfpub man` renders the man page the
//! release ships, listing every command.

use serde_json::{json, Value};

use crate::support::registry::check_result_schema;
use crate::support::{clean_tfpub, run_blocking};

/// A failed publish as tfpub writes it: every field, an item and a typed error.
fn failed_publish() -> Value {
    json!({
        "schema": "tfpub.result/v1",
        "command": "module publish",
        "ok": false,
        "outcome": "failed",
        "published": false,
        "target": {"host": "127.0.0.1:8080", "organization": "acme", "local": false},
        "items": [{"kind": "module-version", "id": "acme/vpc/aws", "version": "1.2.0",
                   "action": "failed", "url": null, "detail": "content differs"}],
        "warnings": ["terraform.tfstate is Terraform state and was excluded"],
        "error": {"message": "version 1.2.0 is already published with other content",
                  "causes": ["archive sha256 differs"], "hint": "publish a new version",
                  "kind": "content-conflict"}
    })
}

#[test]
fn schema_accepts_a_complete_failed_result() {
    assert_eq!(check_result_schema(&failed_publish()), Ok(()));
}

/// A named way to break a valid document.
type Breakage = (&'static str, Box<dyn Fn(&mut Value)>);

#[test]
fn schema_rejects_documents_that_break_the_promise() {
    let cases: Vec<Breakage> = vec![
        (
            "unknown outcome",
            Box::new(|d| d["outcome"] = json!("maybe")),
        ),
        (
            "other schema",
            Box::new(|d| d["schema"] = json!("tfpub.result/v2")),
        ),
        (
            "missing published",
            Box::new(|d| {
                d.as_object_mut().unwrap().remove("published");
            }),
        ),
        (
            "unknown item kind",
            Box::new(|d| d["items"][0]["kind"] = json!("workspace")),
        ),
        (
            "unknown action",
            Box::new(|d| d["items"][0]["action"] = json!("teleported")),
        ),
        (
            "extra item field",
            Box::new(|d| d["items"][0]["upload_url"] = json!("https://x/")),
        ),
        (
            "unknown error kind",
            Box::new(|d| d["error"]["kind"] = json!("oops")),
        ),
        (
            "error without causes",
            Box::new(|d| {
                d["error"].as_object_mut().unwrap().remove("causes");
            }),
        ),
        ("ok not a boolean", Box::new(|d| d["ok"] = json!("false"))),
    ];
    for (what, break_it) in cases {
        let mut d = failed_publish();
        break_it(&mut d);
        let errors = check_result_schema(&d).expect_err(what);
        assert!(!errors.is_empty(), "{what}");
    }
}

#[test]
fn a_real_result_document_is_valid() {
    // `Run::json()` validates it: an offline `module package`.
    let home = tempfile::tempdir().unwrap();
    let mut c = clean_tfpub(home.path());
    c.args(["--json", "module", "package"])
        .arg(crate::support::testdata("modules/terraform-null-greeting"))
        .arg("--output")
        .arg(home.path().join("m.tar.gz"));
    let r = run_blocking(c);
    let d = r.json();
    assert_eq!(d["schema"], "tfpub.result/v1", "{d}");
}

#[test]
fn man_page_lists_every_command() {
    let home = tempfile::tempdir().unwrap();
    let mut c = clean_tfpub(home.path());
    c.arg("man");
    let r = run_blocking(c);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.starts_with(".ie") || r.stdout.contains(".TH tfpub 1"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains(".TH tfpub 1"), "{}", r.stdout);
    for sub in [
        "whoami",
        "module",
        "provider",
        "gpg\\-key",
        "registry",
        "completions",
        "ci",
    ] {
        assert!(
            r.stdout.contains(&format!("tfpub\\-{sub}(1)")),
            "man page lacks {sub}:\n{}",
            r.stdout
        );
    }
    // Hidden from --help, and not listed in its own page.
    assert!(!r.stdout.contains("tfpub\\-man"), "{}", r.stdout);

    let dir = home.path().join("man1");
    let mut c = clean_tfpub(home.path());
    c.arg("man").arg("--dir").arg(&dir);
    let r = run_blocking(c);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let page = std::fs::read_to_string(dir.join("tfpub-module-publish.1")).unwrap();
    assert!(page.contains("\\-\\-version"), "{page}");
    assert!(dir.join("tfpub.1").is_file());
}
