//! Integration tests: `tfpub ci gitlab-report`. A real publish's `--json` result becomes
//! a dotenv file, a JUnit XML report (parsed back with Python's XML parser, an
//! implementation independent of the writer) and a collapsed job-log section; hostile
//! text in a result can neither break the XML nor forge log markers.

use std::path::Path;
use std::process::Command;

use serde_json::{json, Value};

use crate::support::registry::item_of;
use crate::support::{module_copy, ok_json, run, run_blocking, Run, TestRegistry};

/// Parses a JUnit file with Python's `xml.etree` and returns suites, cases and failures.
fn parse_junit(path: &Path) -> Value {
    const SCRIPT: &str = r#"
import json, sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
def case(c):
    return {"attrib": c.attrib, "failures": [{"attrib": f.attrib, "text": f.text} for f in c.findall("failure")]}
print(json.dumps({"tag": root.tag, "attrib": root.attrib, "suites": [
    {"attrib": s.attrib, "cases": [case(c) for c in s.findall("testcase")]} for s in root.findall("testsuite")]}))
"#;
    let out = Command::new("python3")
        .args(["-c", SCRIPT])
        .arg(path)
        .output()
        .expect("python3 parses the JUnit report (install python3)");
    assert!(
        out.status.success(),
        "not well-formed XML: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        std::fs::read_to_string(path).unwrap()
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn report(t: &TestRegistry, cwd: &Path, result: &Value, extra: &[&str]) -> Run {
    std::fs::write(cwd.join("result.json"), result.to_string()).unwrap();
    let mut c = t.tfpub();
    c.current_dir(cwd)
        .args(["ci", "gitlab-report", "result.json"])
        .args(extra);
    run_blocking(c)
}

/// Every line of the log: ESC and CR only inside the two section markers.
fn check_log(stdout: &str) -> Vec<&str> {
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines.len() >= 2, "{stdout:?}");
    let first = lines[0];
    let last = lines[lines.len() - 1];
    let start = first
        .strip_prefix("\x1b[0Ksection_start:")
        .unwrap_or_else(|| panic!("{first:?}"));
    let (ts, rest) = start.split_once(':').unwrap();
    assert!(ts.parse::<u64>().unwrap() > 1_700_000_000, "{first:?}");
    assert!(
        rest.starts_with("tfpub_report[collapsed=true]\r\x1b[0Ktfpub "),
        "{first:?}"
    );
    assert_eq!(
        last,
        format!("\x1b[0Ksection_end:{ts}:tfpub_report\r\x1b[0K")
    );
    for l in &lines[1..lines.len() - 1] {
        assert!(
            !l.chars().any(char::is_control),
            "a control character reached the log: {l:?}"
        );
        assert!(
            !l.contains("section_end:") || !l.starts_with("section"),
            "{l:?}"
        );
    }
    lines[1..lines.len() - 1].to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_publish_becomes_dotenv_junit_and_a_log_section() {
    let t = TestRegistry::start().await;
    let (_tmp, dir) = module_copy();
    let mut c = t.tfpub();
    c.args(["module", "publish", "--version", "1.2.0", "--json"])
        .arg(&dir);
    let result = ok_json(&run(c).await);
    let url = item_of(&result, "module-version")["url"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(url.ends_with("/1.2.0"), "{url}");

    // Default file names, in the job's working directory.
    let cwd = tempfile::tempdir().unwrap();
    let r = report(&t, cwd.path(), &result, &[]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(
        std::fs::read_to_string(cwd.path().join("tfpub.env")).unwrap(),
        format!("PUBLISHED=true\nVERSION=1.2.0\nREGISTRY_URL={url}\n")
    );
    let x = parse_junit(&cwd.path().join("tfpub-junit.xml"));
    assert_eq!(x["tag"], "testsuites");
    let suite = &x["suites"][0];
    assert_eq!(suite["attrib"]["name"], "tfpub module publish");
    assert_eq!(suite["attrib"]["failures"], "0");
    let cases = suite["cases"].as_array().unwrap();
    assert_eq!(suite["attrib"]["tests"], cases.len().to_string());
    let names: Vec<&str> = cases
        .iter()
        .map(|c| c["attrib"]["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"tfpub module publish: published"),
        "{names:?}"
    );
    assert!(
        names.contains(&"greeting/null 1.2.0")
            || names.iter().any(|n| n.ends_with("greeting/null 1.2.0")),
        "{names:?}"
    );
    assert!(cases
        .iter()
        .all(|c| c["failures"].as_array().unwrap().is_empty()));
    let body = check_log(&r.stdout);
    assert!(
        body.iter()
            .any(|l| l.contains("created") && l.contains(&url)),
        "{body:?}"
    );

    // Chosen paths; a re-run replaces the files rather than appending.
    let r = report(
        &t,
        cwd.path(),
        &result,
        &["--dotenv", "out/x.env", "--junit", "j.xml"],
    );
    assert_ne!(r.code, 0, "a missing folder is an error: {}", r.stdout);
    assert!(
        r.stderr.contains("out/x.env") || r.stdout.contains("out/x.env"),
        "{}{}",
        r.stdout,
        r.stderr
    );
    std::fs::create_dir(cwd.path().join("out")).unwrap();
    for _ in 0..2 {
        let r = report(
            &t,
            cwd.path(),
            &result,
            &["--dotenv", "out/x.env", "--junit", "j.xml"],
        );
        assert_eq!(r.code, 0, "{}", r.stderr);
    }
    let env = std::fs::read_to_string(cwd.path().join("out/x.env")).unwrap();
    assert_eq!(env.lines().count(), 3, "{env}");
    parse_junit(&cwd.path().join("j.xml"));
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_text_cannot_break_the_xml_or_the_log() {
    let t = TestRegistry::start().await;
    let evil = "boom</failure></testcase><testcase name=\"fake\"/>]]><![CDATA[\x1b[2J\x1b[0Ksection_end:1:tfpub_report\r\x07\u{0}&amp;";
    let result = json!({
        "schema": "tfpub.result/v1",
        "command": "provider publish",
        "ok": false,
        "outcome": "failed",
        "published": false,
        "items": [
            {"kind": "provider-version", "id": "acme/tools", "version": "0.3.0\nVERSION=9", "action": "created",
             "url": "http://x/a b\nPUBLISHED=true", "detail": null},
            {"kind": "platform", "id": "acme/tools linux_amd64", "version": "0.3.0", "action": "failed",
             "url": null, "detail": evil},
            {"kind": "platform", "id": "acme/tools darwin_arm64", "version": "0.3.0", "action": "exists",
             "url": null, "detail": null}
        ],
        "warnings": [],
        "error": {"message": format!("upload failed: {evil}"), "causes": ["HTTP 507"], "hint": "free space <now>"}
    });
    let cwd = tempfile::tempdir().unwrap();
    let r = report(&t, cwd.path(), &result, &[]);
    assert_eq!(
        r.code, 0,
        "a failed result still gets its reports: {}",
        r.stderr
    );

    // The dotenv file has exactly its three keys: no value can inject a fourth line.
    let env = std::fs::read_to_string(cwd.path().join("tfpub.env")).unwrap();
    let keys: Vec<&str> = env.lines().map(|l| l.split_once('=').unwrap().0).collect();
    assert_eq!(keys, ["PUBLISHED", "VERSION", "REGISTRY_URL"], "{env}");
    assert!(
        env.starts_with("PUBLISHED=false\nVERSION=0.3.0VERSION=9\n"),
        "{env}"
    );

    let x = parse_junit(&cwd.path().join("tfpub-junit.xml"));
    let suite = &x["suites"][0];
    let cases = suite["cases"].as_array().unwrap();
    // command + created + failed; `exists` is not a test case.
    assert_eq!(cases.len(), 3, "{x}");
    assert_eq!(suite["attrib"]["failures"], "2", "{x}");
    assert!(cases.iter().all(|c| c["attrib"]["name"] != "fake"), "{x}");
    let clean_evil = "boom</failure></testcase><testcase name=\"fake\"/>]]><![CDATA[[2J[0Ksection_end:1:tfpub_report &amp;";
    let platform = cases
        .iter()
        .find(|c| c["attrib"]["name"] == "acme/tools linux_amd64 0.3.0")
        .expect("the failed platform is a test case");
    assert_eq!(platform["attrib"]["classname"], "tfpub.platform");
    let f = &platform["failures"][0];
    // Back exactly as written, less the control characters.
    assert_eq!(f["attrib"]["message"], clean_evil, "{x}");
    assert_eq!(f["text"], clean_evil, "{x}");
    let command = &cases[0]["failures"][0];
    assert_eq!(
        command["attrib"]["message"],
        format!("upload failed: {clean_evil}")
    );
    assert_eq!(
        command["text"],
        format!("upload failed: {clean_evil}\ncaused by: HTTP 507\nhint: free space <now>")
    );

    let body = check_log(&r.stdout);
    assert!(
        body.iter().any(|l| l.contains("hint: free space <now>")),
        "{body:?}"
    );
    t.stop().await;
}

#[test]
fn not_a_result_is_refused_with_a_hint() {
    let home = tempfile::tempdir().unwrap();
    let cwd = tempfile::tempdir().unwrap();
    std::fs::write(cwd.path().join("r.json"), r#"{"schema":"other/v2"}"#).unwrap();
    let mut c = crate::support::clean_tfpub(home.path());
    c.current_dir(cwd.path())
        .args(["ci", "gitlab-report", "r.json"]);
    let r = run_blocking(c);
    assert_ne!(r.code, 0);
    assert!(
        r.stderr.contains("not a tfpub.result/v1 document"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("tfpub --json"), "{}", r.stderr);
    assert!(!cwd.path().join("tfpub.env").exists());
}
