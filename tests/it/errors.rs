//! The error model, one layer at a time: a real error of each layer (API client,
//! configuration, packaging, signing, git and tfpub.toml, publish pipelines), rendered
//! once by `ErrorInfo::from_error` both as the human lines and as the `error` object of
//! the `tfpub.result/v1` JSON. The snapshots show that the message carries no hint,
//! that the hint is in `hint`, and which `kind` a script can branch on.

use std::sync::Arc;

use anyhow::Context as _;
use tfpub_core::api::{Client, ClientOptions};
use tfpub_core::config::{resolve, Environment, TargetFlags};
use tfpub_core::error::ErrorKind;
use tfpub_core::publish::error::PublishError;
use tfpub_core::report::{ErrorInfo, Silent};

/// The human text, then the JSON `error` object, of one error chain.
fn render(err: &anyhow::Error) -> String {
    let info = ErrorInfo::from_error(err, &|_| None);
    assert!(
        !info.message.contains("hint") && info.causes.iter().all(|c| !c.contains("hint:")),
        "a hint leaked into a message: {info:?}"
    );
    format!(
        "{}---\n{}",
        info.to_human(),
        serde_json::to_string_pretty(&info).unwrap()
    )
}

fn snap(name: &str, value: String) {
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(r"127\.0\.0\.1:\d+", "[HOST]");
    // tempfile's folders: `<temp dir>/.tmpXXXXXX`.
    settings.add_filter(r#"[^\s'"`:]*\.tmp[A-Za-z0-9]{6}"#, "[TMP]");
    settings.set_prepend_module_to_snapshot(true);
    settings.bind(|| insta::assert_snapshot!(name, value));
}

fn info(err: &anyhow::Error) -> ErrorInfo {
    ErrorInfo::from_error(err, &|_| None)
}

fn target(host: &str, org: Option<&str>) -> Result<tfpub_core::config::Target, anyhow::Error> {
    Ok(resolve(
        &TargetFlags {
            host: Some(host.into()),
            organization: org.map(str::to_owned),
            ca_cert: None,
        },
        &Environment {
            vars: [("TFE_TOKEN".to_string(), "errors-test-token".to_string())].into(),
            home: None,
        },
    )?)
}

#[tokio::test]
async fn api_layer_rejected_token() {
    // A loopback server that rejects every token.
    let app = axum::Router::new().fallback(|| async {
        (
            axum::http::StatusCode::UNAUTHORIZED,
            r#"{"errors":[{"status":"401","title":"unauthorized"}]}"#,
        )
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let target = target(&format!("http://{addr}"), Some("acme")).unwrap();
    let client = Client::new(&target, ClientOptions::default()).unwrap();
    let ctx = tfpub_core::publish::Context::new(client, target, Arc::new(Silent));
    let err = ctx
        .preflight(tfpub_core::api::Need::Modules)
        .await
        .unwrap_err();
    server.abort();

    assert_eq!(info(&err).kind, Some(ErrorKind::Unauthorized));
    assert!(!render(&err).contains("errors-test-token"));
    snap("api", render(&err));
}

#[test]
fn config_layer_no_organization() {
    let err = target("app.terraform.io", None)
        .context("resolving the target")
        .unwrap_err();
    assert_eq!(info(&err).kind, Some(ErrorKind::InvalidInput));
    snap("config", render(&err));
}

#[test]
fn package_layer_no_tf_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("README.md"), "not a module\n").unwrap();
    let out = tempfile::tempdir().unwrap();
    let err = tfpub_core::package::package_dir(
        dir.path(),
        &out.path().join("m.tar.gz"),
        &Default::default(),
    )
    .context("packaging the module")
    .unwrap_err();
    let i = info(&err);
    assert!(i.hint.as_deref().unwrap_or("").contains("main.tf"), "{i:?}");
    snap("package", render(&err));
}

#[test]
fn sign_layer_ed25519_key_refused() {
    let armored = std::fs::read_to_string(crate::support::testdata("keys/ed.sec.asc")).unwrap();
    let err = tfpub_core::sign::Signer::from_armored(&armored.into(), None)
        .map(|_| ())
        .context("loading the signing key")
        .unwrap_err();
    let i = info(&err);
    assert!(i.causes.iter().any(|c| c.contains("RSA or DSA")), "{i:?}");
    assert!(i.hint.as_deref().unwrap_or("").contains("rsa4096"), "{i:?}");
    snap("sign", render(&err));
}

#[test]
fn git_layer_not_a_repository() {
    let dir = tempfile::tempdir().unwrap();
    let err = tfpub_core::git::Repo::discover(dir.path())
        .map(|_| ())
        .context("reading the module's git history")
        .unwrap_err();
    let i = info(&err);
    assert!(
        i.causes[0].starts_with("no git work tree found at or above"),
        "{i:?}"
    );
    assert_eq!(
        i.hint.as_deref(),
        Some("run inside a git clone, or `git init`")
    );
    snap("git", render(&err));
}

#[test]
fn project_layer_unknown_key() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("tfpub.toml"),
        "[[module]]\npath = \"modules/vpc\"\nflavour = \"x\"\n",
    )
    .unwrap();
    let err = tfpub_core::project::ProjectConfig::load(dir.path())
        .map(|_| ())
        .context("reading tfpub.toml")
        .unwrap_err();
    assert_eq!(info(&err).kind, Some(ErrorKind::InvalidInput));
    snap("project", render(&err));
}

#[test]
fn publish_layer_content_conflict() {
    // Built by hand: the pipelines raise it once converted to `PublishError`; the
    // contexts are the ones the module pipeline wraps it in.
    let err = anyhow::Error::new(PublishError::ContentConflict {
        id: "acme/vpc/aws".into(),
        version: "1.0.0".into(),
        differs: "content differs: main.tf; executable bit or file type differs: run.sh".into(),
    })
    .context("publishing acme/vpc/aws 1.0.0");
    assert_eq!(info(&err).kind, Some(ErrorKind::ContentConflict));
    snap("publish", render(&err));
}

#[test]
fn the_outermost_hint_and_kind_win_and_extra_is_asked_for_unknown_types() {
    #[derive(Debug)]
    struct Foreign;
    impl std::fmt::Display for Foreign {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("the port is taken")
        }
    }
    impl std::error::Error for Foreign {}

    let err = anyhow::Error::new(Foreign).context(PublishError::ModuleNotFound {
        id: "acme/vpc/aws".into(),
    });
    let i = info(&err);
    assert_eq!(i.kind, Some(ErrorKind::NotFound));
    assert_eq!(
        i.hint.as_deref(),
        Some("check the name, provider and --organization")
    );

    let err = anyhow::Error::new(Foreign).context("serving");
    let i = ErrorInfo::from_error(&err, &|e| {
        e.downcast_ref::<Foreign>()
            .map(|_| (Some("pick another port".to_owned()), None))
    });
    assert_eq!(i.hint.as_deref(), Some("pick another port"));
    assert_eq!(i.kind, None);
    assert_eq!(
        i.to_human(),
        "error: serving\n  caused by: the port is taken\n  hint: pick another port\n"
    );
    let json = serde_json::to_value(&i).unwrap();
    assert!(json["kind"].is_null(), "{json}");
}

/// The binary's own layer (`CliError`) and the embedded registry's (`RegistryError`), as
/// the `tfpub` binary renders them: the human lines on stderr and the JSON `error` object
/// on stdout, each with its hint outside the message.
#[test]
fn cli_and_registry_layers_through_the_binary() {
    let home = tempfile::tempdir().unwrap();
    let mut out = String::new();
    for args in [
        // CliError::LocalAndHost
        &["--local", "--host", "example.com", "whoami"][..],
        // RegistryError::NonLoopbackWithoutTokens
        &["registry", "serve", "--listen", "0.0.0.0:0"][..],
    ] {
        for json in [false, true] {
            let mut cmd = crate::support::clean_tfpub(home.path());
            cmd.args(args).arg("--data").arg(home.path().join("data"));
            if json {
                cmd.arg("--json");
            }
            let r = crate::support::run_blocking(cmd);
            assert_eq!(r.code, 1, "{r:?}");
            if json {
                let e = &r.json()["error"];
                assert!(e["hint"].is_string(), "no hint in {e}");
                assert!(!e["message"].as_str().unwrap().contains("hint"), "{e}");
                out.push_str(&serde_json::to_string_pretty(e).unwrap());
                out.push('\n');
            } else {
                out.push_str(&r.stderr);
            }
        }
    }
    snap("cli_and_registry", out);
}
