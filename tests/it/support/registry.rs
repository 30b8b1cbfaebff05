//! The embedded registry for a test: started in-process on an ephemeral loopback port with
//! its own data folder, and the `tfpub` binary run against it with a recognisable token
//! and a scratch HOME, every output checked for leaked secrets.

use std::path::Path;
use std::process::Command;

use reqwest::StatusCode;
use serde_json::{json, Value};
use tempfile::TempDir;
use tfpub_registry::{self as registry, RegistryOptions, RunningRegistry};

use super::{ORG, RSA_PASSPHRASE, TEST_TOKEN};

/// Start a registry that keeps its data in `dir`, on 127.0.0.1 and a free port.
pub async fn start_in(dir: &Path) -> RunningRegistry {
    start_edited(dir, |_| {}).await
}

/// Start a registry on 127.0.0.1 and a free port with `opts`.
pub async fn start_opts(opts: RegistryOptions) -> RunningRegistry {
    registry::start(opts, "127.0.0.1:0".parse().unwrap())
        .await
        .expect("registry starts")
}

/// Start a registry that keeps its data in `dir`, its options changed by `edit`.
pub async fn start_edited(dir: &Path, edit: impl FnOnce(&mut RegistryOptions)) -> RunningRegistry {
    let mut opts = RegistryOptions::new(dir);
    edit(&mut opts);
    start_opts(opts).await
}

/// A registry with its own temporary data folder (kept alive by the returned TempDir).
pub struct TestRegistry {
    pub reg: RunningRegistry,
    pub data: TempDir,
    /// A scratch HOME for the CLI, so no real credentials file is read.
    pub home: TempDir,
}

impl TestRegistry {
    pub async fn start() -> TestRegistry {
        Self::start_with(|d| RegistryOptions::new(d)).await
    }

    /// A registry whose options `opts` makes from its data folder.
    pub async fn start_with(opts: impl FnOnce(&Path) -> RegistryOptions) -> TestRegistry {
        let data = tempfile::tempdir().unwrap();
        let reg = start_opts(opts(data.path())).await;
        TestRegistry {
            reg,
            data,
            home: tempfile::tempdir().unwrap(),
        }
    }

    /// A registry that accepts only `token`, for organization `org` (the default one
    /// accepts any token).
    pub async fn with_token(token: &str, org: &str) -> TestRegistry {
        Self::start_with(|d| {
            let mut o = RegistryOptions::new(d);
            o.tokens = Some([(token.to_string(), vec![org.to_string()])].into());
            o
        })
        .await
    }

    /// A registry whose tokens and permissions are the token file `doc` (written in the
    /// data folder; the registry's own data below it, in `reg/`).
    pub async fn with_grants(doc: &Value) -> TestRegistry {
        Self::start_with(|d| {
            let file = d.join("tokens.json");
            std::fs::write(&file, doc.to_string()).unwrap();
            let grants = registry::load_token_grants(&file).unwrap();
            RegistryOptions::new(d.join("reg")).with_grants(grants)
        })
        .await
    }

    /// host:port as given to `--host`.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.reg.addr().port())
    }

    /// A `tfpub` command aimed at this registry through the environment a pipeline would
    /// set (TFE_HOSTNAME, TFE_ORGANIZATION, TFE_TOKEN), with a clean HOME and no CI vars.
    pub fn tfpub(&self) -> Command {
        let mut c = clean_tfpub(self.home.path());
        c.env("TFE_HOSTNAME", self.host())
            .env("TFE_ORGANIZATION", ORG)
            .env("TFE_TOKEN", TEST_TOKEN)
            .env("NO_COLOR", "1");
        c
    }

    /// `tfpub()` aimed at the registry over plain http (a bare `host:port` means https).
    pub fn tfpub_http(&self) -> Command {
        let mut c = self.tfpub();
        c.env("TFE_HOSTNAME", format!("http://{}", self.host()));
        c
    }

    pub async fn stop(self) {
        self.reg.shutdown().await;
    }
}

/// A `tfpub` command with none of the caller's credentials, CI or data-folder variables,
/// HOME set to `home` (so no real credentials file is read) and NO_COLOR.
pub fn clean_tfpub(home: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_tfpub"));
    for (k, _) in std::env::vars() {
        if k.starts_with("TF_TOKEN_")
            || k.starts_with("TFE_")
            || k.starts_with("TFPUB_")
            || k.starts_with("GITHUB_")
            || k.starts_with("XDG_")
            || k == "CI"
            || k == "SSL_CERT_FILE"
        {
            c.env_remove(k);
        }
    }
    c.env("HOME", home).env("NO_COLOR", "1");
    c
}

/// The registry's HTTP API driven directly with reqwest, as a client (or a publisher that
/// died half-way) would: JSON:API bodies, the bearer token when there is one, and
/// uploads without it.
pub struct Api {
    http: reqwest::Client,
    base: url::Url,
    /// The bearer token sent with API calls (`None`: no Authorization header).
    pub token: Option<String>,
}

impl Api {
    pub fn new(reg: &RunningRegistry, token: &str) -> Api {
        Api {
            // Idle pooled connections are dropped well before any server idle timeout a
            // test sets (the shortest is 800 ms), so a reused connection is never one the
            // server is closing at that moment.
            http: reqwest::Client::builder()
                .pool_idle_timeout(std::time::Duration::from_millis(300))
                .build()
                .unwrap(),
            base: reg.base_url(),
            token: Some(token.into()),
        }
    }

    pub fn url(&self, p: &str) -> String {
        self.base
            .join(p.trim_start_matches('/'))
            .unwrap()
            .to_string()
    }

    pub fn req(&self, m: reqwest::Method, p: &str) -> reqwest::RequestBuilder {
        let r = self.http.request(m, self.url(p));
        match &self.token {
            Some(t) => r.bearer_auth(t),
            None => r,
        }
    }

    /// Send `body` (if any) as JSON:API; the status and the body parsed (Null if not JSON).
    pub async fn send(
        &self,
        m: reqwest::Method,
        p: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut r = self.req(m, p);
        if let Some(b) = body {
            r = r
                .header("content-type", "application/vnd.api+json")
                .body(b.to_string());
        }
        let resp = r.send().await.unwrap();
        let status = resp.status();
        let text = resp.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    pub async fn get(&self, p: &str) -> (StatusCode, Value) {
        self.send(reqwest::Method::GET, p, None).await
    }

    pub async fn post(&self, p: &str, attrs: Value) -> (StatusCode, Value) {
        self.send(reqwest::Method::POST, p, Some(jsonapi(attrs)))
            .await
    }

    pub async fn patch(&self, p: &str, attrs: Value) -> (StatusCode, Value) {
        self.send(reqwest::Method::PATCH, p, Some(jsonapi(attrs)))
            .await
    }

    pub async fn delete(&self, p: &str) -> StatusCode {
        self.send(reqwest::Method::DELETE, p, None).await.0
    }

    /// PUT with no Authorization header, as a real client must.
    pub async fn put(&self, url: &str, body: Vec<u8>) -> StatusCode {
        self.http
            .put(url)
            .header("content-type", "application/octet-stream")
            .body(body)
            .send()
            .await
            .unwrap()
            .status()
    }

    /// POST module `name`/null in ORG; the status and document as the registry answered.
    pub async fn create_module(&self, name: &str) -> (StatusCode, Value) {
        self.post(
            &format!("/api/v2/organizations/{ORG}/registry-modules"),
            json!({"name": name, "provider": "null", "registry-name": "private"}),
        )
        .await
    }

    /// POST version `version` of module `name`/null, which must be created `pending` by the
    /// API; returns its upload link (left unused by a test playing a publisher that died).
    pub async fn create_module_version(&self, name: &str, version: &str) -> String {
        let (s, v) = self
            .post(
                &format!("/api/v2/organizations/{ORG}/registry-modules/private/{ORG}/{name}/null/versions"),
                json!({"version": version}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        assert_eq!(v["data"]["attributes"]["status"], "pending");
        assert_eq!(v["data"]["attributes"]["source"], "tfe-api");
        v["data"]["links"]["upload"].as_str().unwrap().to_string()
    }

    /// The document of module version `name`/`provider` `version` in ORG, or None on 404.
    pub async fn module_version(&self, name: &str, provider: &str, version: &str) -> Option<Value> {
        let (s, v) = self
            .get(&format!(
                "/api/v2/organizations/{ORG}/registry-modules/private/{ORG}/{name}/{provider}/version?module_version={version}"
            ))
            .await;
        match s {
            StatusCode::OK => Some(v),
            StatusCode::NOT_FOUND => None,
            _ => panic!("GET version {version}: {s} {v}"),
        }
    }
}

/// A JSON:API request document carrying `attrs`.
fn jsonapi(attrs: Value) -> Value {
    json!({"data": {"type": "x", "attributes": attrs}})
}

/// What a CLI run produced.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// stdout parsed as the JSON result document, which must be valid against the
    /// published schema (schema/tfpub.result.v1.json): every test that reads a result
    /// checks the schema's promise too.
    pub fn json(&self) -> Value {
        let doc = serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        });
        if let Err(violations) = check_result_schema(&doc) {
            panic!(
                "stdout violates schema/tfpub.result.v1.json:\n{}\ndocument:\n{}",
                violations.join("\n"),
                self.stdout
            );
        }
        doc
    }
}

/// The published `tfpub.result/v1` JSON Schema, compiled once per test binary.
fn result_validator() -> &'static jsonschema::Validator {
    static V: std::sync::OnceLock<jsonschema::Validator> = std::sync::OnceLock::new();
    V.get_or_init(|| {
        let text = include_str!("../../../schema/tfpub.result.v1.json");
        let schema: Value = serde_json::from_str(text).expect("the schema file is JSON");
        jsonschema::draft202012::new(&schema).expect("the schema file is a valid JSON Schema")
    })
}

/// Validate `doc` against schema/tfpub.result.v1.json; each violation as
/// "`path`: message".
pub fn check_result_schema(doc: &Value) -> Result<(), Vec<String>> {
    let errors: Vec<String> = result_validator()
        .iter_errors(doc)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// A successful `--json` run: exit 0 and a `tfpub.result/v1` document with `ok: true`,
/// which is returned.
pub fn ok_json(r: &Run) -> Value {
    assert_eq!(r.code, 0, "stdout:\n{}\nstderr:\n{}", r.stdout, r.stderr);
    let d = r.json();
    assert_eq!(d["schema"], "tfpub.result/v1");
    assert_eq!(d["ok"], true, "{d}");
    d
}

/// Run a command to completion on a blocking thread (the registry keeps serving on the
/// test's runtime), check no secret leaked, and return its output.
pub async fn run(cmd: Command) -> Run {
    tokio::task::spawn_blocking(move || run_blocking(cmd))
        .await
        .unwrap()
}

/// Run a command to completion on this thread (no registry to keep serving), check no
/// secret leaked, and return its output.
pub fn run_blocking(mut cmd: Command) -> Run {
    let out = cmd.output().expect("tfpub runs");
    let r = Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert_no_secret(&r.stdout);
    assert_no_secret(&r.stderr);
    r
}

/// No token, passphrase, private key or upload URL in `text`.
pub fn assert_no_secret(text: &str) {
    for s in [
        TEST_TOKEN,
        RSA_PASSPHRASE,
        "PRIVATE KEY BLOCK",
        "/_archivist/upload/",
    ] {
        assert!(
            !text.contains(s),
            "secret {s:?} leaked into output:\n{text}"
        );
    }
}

/// A registry on a fresh temp data folder and an API client with `token`.
pub async fn started(token: &str) -> (tempfile::TempDir, RunningRegistry, Api) {
    let dir = tempfile::tempdir().unwrap();
    let reg = start_in(dir.path()).await;
    let api = Api::new(&reg, token);
    (dir, reg, api)
}

/// The first item of `kind` in the result document `j` (panics, showing `j`, when none).
pub fn item_of<'a>(j: &'a Value, kind: &str) -> &'a Value {
    j["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} item in {j}"))
}

/// The `detail` of the item with id `id` in the result document `doc`.
pub fn item_detail(doc: &Value, id: &str) -> String {
    doc["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == id)
        .unwrap_or_else(|| panic!("no {id} item in {doc:#}"))["detail"]
        .as_str()
        .unwrap()
        .to_owned()
}
