//! The client side of issue 14: inputs and servers that try to make the CLI leak, hang,
//! lose files or print what a server chose. Each test pins one class of the issue and
//! fails on the code before the fix: organization names checked before any request
//! (point 9), server text neutralised before it reaches a terminal or a workflow log
//! (15), response bodies capped (14), and `module sync` getting past a tag whose tree
//! is too deep to pack (17). The packager's own refusals (non-UTF-8 names, deep trees,
//! `..` entries and escaping links in git trees: 16, 17, 10) are unit tests in
//! `crates/core/src/package/module.rs`; the credentials-file and `TF_TOKEN_*` points
//! (11, 12, 13) are unit tests in `crates/core/src/config.rs`.

use crate::support::{run, TestRegistry};

/// Point 9 (client side): `--organization` and `TFE_ORGANIZATION` are checked with the
/// service's rule before any request, for a remote host and for `--local`, and the
/// refusal names where the value came from.
#[tokio::test]
async fn invalid_organization_is_refused_naming_its_source() {
    let reg = TestRegistry::start().await;
    for bad in ["..", "a b", "a%00b", "a/../b"] {
        let mut c = reg.tfpub();
        c.args(["--organization", bad, "whoami"]);
        let r = run(c).await;
        assert_ne!(r.code, 0, "{bad:?} accepted:\n{}", r.stdout);
        assert!(
            r.stderr.contains("--organization") && r.stderr.contains("not valid"),
            "{bad:?}: {}",
            r.stderr
        );

        let mut c = reg.tfpub();
        c.env("TFE_ORGANIZATION", bad).arg("whoami");
        let r = run(c).await;
        assert_ne!(r.code, 0);
        assert!(r.stderr.contains("TFE_ORGANIZATION"), "{}", r.stderr);
    }
    // --local: refused before the embedded registry touches the data folder.
    let data = tempfile::tempdir().unwrap();
    let folder = data.path().join("never-created");
    let mut c = reg.tfpub();
    c.arg("--local")
        .arg("--data")
        .arg(&folder)
        .args(["--organization", "../x", "whoami"]);
    let r = run(c).await;
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("--organization"), "{}", r.stderr);
    assert!(!folder.exists(), "the data folder was created");
    reg.stop().await;
}

/// What the hostile server answers to one request.
#[derive(Clone)]
enum Answer {
    /// A complete response: status, content type, body.
    Full(u16, &'static str, Vec<u8>),
    /// A 200 JSON:API response whose body never ends (until the client hangs up).
    Endless,
}

/// A registry impostor on a loopback port: answers every request with `answer(path)`.
/// Returns its `host:port`; the task ends with the test's runtime.
async fn hostile_server(answer: fn(&str) -> Answer) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 4096];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match sock.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&head).into_owned();
                let path = head.split_whitespace().nth(1).unwrap_or("/").to_string();
                match answer(&path) {
                    Answer::Full(status, ctype, body) => {
                        let msg = format!(
                            "HTTP/1.1 {status} X\r\ncontent-type: {ctype}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                            body.len()
                        );
                        let _ = sock.write_all(msg.as_bytes()).await;
                        let _ = sock.write_all(&body).await;
                    }
                    Answer::Endless => {
                        let msg = "HTTP/1.1 200 OK\r\ncontent-type: application/vnd.api+json\r\nconnection: close\r\n\r\n{\"data\":[\"";
                        if sock.write_all(msg.as_bytes()).await.is_err() {
                            return;
                        }
                        let chunk = vec![b'x'; 1 << 20];
                        // At most 1 GiB, as in the report; the client must hang up long before.
                        for _ in 0..1024 {
                            if sock.write_all(&chunk).await.is_err() {
                                return;
                            }
                        }
                    }
                }
                let _ = sock.shutdown().await;
            });
        }
    });
    format!("127.0.0.1:{}", addr.port())
}

/// A `tfpub` command aimed at `host` with a token, an organization and a clean HOME.
fn tfpub_at(host: &str, home: &std::path::Path) -> std::process::Command {
    let mut c = crate::support::clean_tfpub(home);
    c.env("TFE_HOSTNAME", format!("http://{host}"))
        .env("TFE_ORGANIZATION", crate::support::ORG)
        .env("TFE_TOKEN", crate::support::TEST_TOKEN);
    c
}

/// The text a hostile registry puts in its answers: a fake annotation on a new line,
/// terminal escapes (clear screen, retitle, CSI in its C1 form) and a bidi override.
const EVIL: &str = "denied\n::error file=x::owned\r\u{1b}[2J\u{1b}]0;pwned\u{7}\u{9b}31m\u{202e}";

/// Nothing a server wrote may start a workflow command or reach the terminal raw.
fn assert_neutralised(out: &str) {
    for line in out.lines() {
        let t = line.trim_start();
        assert!(
            !t.starts_with("::") || t.starts_with("::error title=tfpub::"),
            "injected workflow command: {line:?}"
        );
        assert!(!line.contains("::error file=x"), "{line:?}");
    }
    assert!(
        !out.chars()
            .any(|c| c.is_control() && c != '\n' || c == '\u{202e}'),
        "raw control character in {out:?}"
    );
}

/// Point 15: server-supplied text (a JSON:API error's title and detail, and any
/// header tfpub shows) is neutralised before it is printed, in human output, in
/// `--json` and in a GitHub Actions run.
#[tokio::test]
async fn server_text_cannot_inject_annotations_or_escapes() {
    fn answer(_path: &str) -> Answer {
        let body =
            serde_json::json!({"errors": [{"status": "403", "title": EVIL, "detail": EVIL}]});
        Answer::Full(
            403,
            "application/vnd.api+json",
            body.to_string().into_bytes(),
        )
    }
    let host = hostile_server(answer).await;
    let home = tempfile::tempdir().unwrap();
    for args in [&["whoami"][..], &["--json", "whoami"][..]] {
        for gha in [false, true] {
            let mut c = tfpub_at(&host, home.path());
            c.args(args);
            if gha {
                c.env("GITHUB_ACTIONS", "true");
            }
            let r = run(c).await;
            assert_ne!(r.code, 0);
            assert!(
                r.stdout.contains("denied") || r.stderr.contains("denied"),
                "{}",
                r.stderr
            );
            assert_neutralised(&r.stdout);
            assert_neutralised(&r.stderr);
        }
    }
}

/// Point 14: a server that streams an endless (1 GiB) answer to an API call is cut off
/// at the client's body limit, with an error naming the request path and the limit,
/// instead of being read whole.
#[tokio::test]
async fn endless_api_response_is_cut_off_at_the_body_limit() {
    fn answer(path: &str) -> Answer {
        if path.starts_with("/api/v2/ping") {
            Answer::Full(200, "application/vnd.api+json", b"{}".to_vec())
        } else {
            Answer::Endless
        }
    }
    let host = hostile_server(answer).await;
    let home = tempfile::tempdir().unwrap();
    let mut c = tfpub_at(&host, home.path());
    c.args(["--json", "module", "versions", "greeting/null"]);
    let started = std::time::Instant::now();
    let r = run(c).await;
    assert_ne!(r.code, 0, "{}", r.stdout);
    let all = format!("{}{}", r.stdout, r.stderr);
    let limit = tfpub_core::api::MAX_API_BODY.to_string();
    assert!(
        all.contains("larger than the") && all.contains(&limit) && all.contains("/api/v2/"),
        "{all}"
    );
    // Reading 1 GiB over loopback takes seconds; stopping at the limit is immediate.
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
}

/// A raw git tree object, written straight to the object database.
fn raw_tree(repo: &git2::Repository, entries: &[(&str, &str, git2::Oid)]) -> git2::Oid {
    let mut data = Vec::new();
    for (mode, name, oid) in entries {
        data.extend_from_slice(format!("{mode} {name}\0").as_bytes());
        data.extend_from_slice(oid.as_bytes());
    }
    repo.odb()
        .unwrap()
        .write(git2::ObjectType::Tree, &data)
        .unwrap()
}

/// Point 17 with `module sync`: a tag whose tree is 20,000 folders deep used to crash
/// the process (stack overflow) on every run, so sync never got past it. Now that tag
/// fails with a packaging error, is reported, and the tags around it are published.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_skips_a_tag_with_a_too_deep_tree_and_goes_on() {
    use crate::support::git::{commit, sig, tag};
    let reg = TestRegistry::start().await;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("terraform-null-deep");
    std::fs::create_dir_all(&dir).unwrap();
    let repo = git2::Repository::init(&dir).unwrap();
    let main = "output \"m\" {\n  value = \"a\"\n}\n";
    let c1 = commit(&repo, &[("main.tf", main)], "a");
    tag(&repo, "v1.0.0", c1, false);

    // v1.1.0: the same root plus d/d/.../d/x.tf, 20,000 levels, off HEAD.
    let blob = repo.blob(main.as_bytes()).unwrap();
    let mut deep = raw_tree(&repo, &[("100644", "x.tf", blob)]);
    for _ in 0..20_000 {
        deep = raw_tree(&repo, &[("40000", "d", deep)]);
    }
    let root = raw_tree(&repo, &[("40000", "d", deep), ("100644", "main.tf", blob)]);
    let parent = repo.find_commit(c1).unwrap();
    let c2 = repo
        .commit(
            None,
            &sig(),
            &sig(),
            "deep",
            &repo.find_tree(root).unwrap(),
            &[&parent],
        )
        .unwrap();
    tag(&repo, "v1.1.0", c2, false);

    let c3 = commit(
        &repo,
        &[("main.tf", "output \"m\" {\n  value = \"b\"\n}\n")],
        "b",
    );
    tag(&repo, "v1.2.0", c3, false);

    let mut c = reg.tfpub_http();
    c.args(["module", "sync"]).arg(&dir).current_dir(&dir);
    let r = run(c).await;
    assert_eq!(
        r.code, 1,
        "a failed tag gives exit code 1: {}\n{}",
        r.stdout, r.stderr
    );
    let all = format!("{}{}", r.stdout, r.stderr);
    assert!(
        all.contains("v1.1.0") && all.contains("128 folders deep"),
        "{all}"
    );
    let api = crate::support::registry::Api::new(&reg.reg, crate::support::TEST_TOKEN);
    for v in ["1.0.0", "1.2.0"] {
        assert!(
            api.module_version("deep", "null", v).await.is_some(),
            "{v} not published:\n{all}"
        );
    }
    reg.stop().await;
}
