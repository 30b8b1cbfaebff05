//! Integration tests for the registry API client, against an in-process axum stub that
//! records every request and answers from a per-test script.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use tfpub_core::api::{ApiError, Client, ClientOptions, RetryPolicy, VersionChange};
use tfpub_core::config::{resolve, Environment, TargetFlags};
use tfpub_core::error::Hint;
use tfpub_core::report::Progress;
use tfpub_core::secret::SecretUrl;
use tfpub_core::vocab::{ModuleAddress, ProviderAddress};

const TOK: &str = "tok-INTEGRATION-5e6f7a8b";

#[derive(Clone, Debug)]
struct Req {
    method: String,
    path: String,
    query: String,
    headers: HeaderMap,
    body: Vec<u8>,
    /// When the stub received it.
    at: Instant,
}

struct Resp {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: String,
}

fn resp(status: u16, body: serde_json::Value) -> Resp {
    Resp {
        status,
        headers: vec![],
        body: if body.is_null() {
            String::new()
        } else {
            body.to_string()
        },
    }
}

type Script = Arc<dyn Fn(&Req, usize) -> Resp + Send + Sync>;

#[derive(Clone)]
struct StubState {
    reqs: Arc<Mutex<Vec<Req>>>,
    script: Script,
}

struct Stub {
    base: String,
    reqs: Arc<Mutex<Vec<Req>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Stub {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Stub {
    /// The script gets the request and its 0-based index among requests with the same
    /// method and path.
    async fn start(script: impl Fn(&Req, usize) -> Resp + Send + Sync + 'static) -> Stub {
        let reqs = Arc::new(Mutex::new(Vec::new()));
        let state = StubState {
            reqs: reqs.clone(),
            script: Arc::new(script),
        };
        let app = axum::Router::new().fallback(handle).with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Stub {
            base: format!("http://{addr}"),
            reqs,
            task,
        }
    }

    fn requests(&self) -> Vec<Req> {
        self.reqs.lock().unwrap().clone()
    }

    fn count(&self, method: &str, path: &str) -> usize {
        self.requests()
            .iter()
            .filter(|r| r.method == method && r.path == path)
            .count()
    }
}

async fn handle(
    State(s): State<StubState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let req = Req {
        method: method.to_string(),
        path: uri.path().to_string(),
        query: uri.query().unwrap_or("").to_string(),
        headers,
        body: body.to_vec(),
        at: Instant::now(),
    };
    let n = {
        let mut all = s.reqs.lock().unwrap();
        let n = all
            .iter()
            .filter(|r| r.method == req.method && r.path == req.path)
            .count();
        all.push(req.clone());
        n
    };
    let r = (s.script)(&req, n);
    let mut out = (StatusCode::from_u16(r.status).unwrap(), r.body).into_response();
    for (k, v) in r.headers {
        out.headers_mut().insert(k, v.parse().unwrap());
    }
    out
}

fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 6,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(50),
        total: Duration::from_secs(10),
    }
}

fn env_with(vars: &[(&str, &str)]) -> Environment {
    Environment {
        vars: vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<HashMap<_, _>>(),
        home: None,
    }
}

fn greeting() -> ModuleAddress {
    ModuleAddress::new("acme", "greeting", "null")
}

fn hello() -> ProviderAddress {
    ProviderAddress::new("acme", "hello")
}

const SHA: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

fn client_for(stub: &Stub) -> Client {
    client_with(stub, 1000.0)
}

fn client_with(stub: &Stub, max_rps: f64) -> Client {
    client_at(
        &stub.base,
        ClientOptions {
            retry: fast_retry(),
            max_rps,
            ..ClientOptions::default()
        },
    )
}

/// A client for org `acme` at `base` with the test token, which its Debug never shows.
fn client_at(base: &str, options: ClientOptions) -> Client {
    let target = resolve(
        &TargetFlags {
            host: Some(base.to_string()),
            organization: Some("acme".into()),
            ca_cert: None,
        },
        &env_with(&[("TFE_TOKEN", TOK)]),
    )
    .unwrap();
    let c = Client::new(&target, options).unwrap();
    assert!(!format!("{c:?} {target:?}").contains(TOK));
    c
}

fn assert_no_token(e: &ApiError) {
    let shown = format!("{e} {e:?} {:?}", e.hint());
    assert!(!shown.contains(TOK), "token leaked: {shown}");
}

fn auth(r: &Req) -> Option<String> {
    r.headers
        .get("authorization")
        .map(|v| v.to_str().unwrap().to_string())
}

#[tokio::test]
async fn token_from_tf_token_var_is_sent_as_bearer() {
    let stub = Stub::start(|_, _| resp(204, serde_json::Value::Null)).await;
    let host = stub.base.trim_start_matches("http://").to_string();
    let var = tfpub_core::config::tf_token_var_name(&host);
    let target = resolve(
        &TargetFlags {
            host: Some(stub.base.clone()),
            organization: Some("acme".into()),
            ca_cert: None,
        },
        &env_with(&[(var.as_str(), TOK), ("TFE_TOKEN", "loser")]),
    )
    .unwrap();
    assert_eq!(target.token_source, var);
    let c = Client::new(&target, ClientOptions::default()).unwrap();
    c.ping().await.unwrap();
    let reqs = stub.requests();
    assert_eq!(reqs[0].path, "/api/v2/ping");
    assert_eq!(
        auth(&reqs[0]).as_deref(),
        Some(format!("Bearer {TOK}").as_str())
    );
}

#[tokio::test]
async fn unauthorized_says_token_rejected() {
    let stub = Stub::start(|_, _| {
        resp(
            401,
            serde_json::json!({"errors":[{"status":"401","title":"unauthorized"}]}),
        )
    })
    .await;
    let e = client_for(&stub).preflight().await.unwrap_err();
    assert!(matches!(e, ApiError::Unauthorized { .. }), "{e:?}");
    assert_eq!(e.status(), Some(401));
    assert!(e.to_string().contains("token was rejected"));
    assert!(e.hint().unwrap().contains("TFE_TOKEN"));
    assert_no_token(&e);
    // The preflight sends the ping and the organization check together; neither 401 is
    // retried.
    assert_eq!(stub.count("GET", "/api/v2/ping"), 1, "401 is not retried");
    assert_eq!(stub.requests().len(), 2, "401 is not retried");
}

#[tokio::test]
async fn preflight_404_means_foreign_org() {
    let stub = Stub::start(|r, _| {
        if r.path == "/api/v2/ping" {
            resp(204, serde_json::Value::Null)
        } else {
            resp(
                404,
                serde_json::json!({"errors":[{"status":"404","title":"not found"}]}),
            )
        }
    })
    .await;
    let e = client_for(&stub).preflight().await.unwrap_err();
    assert!(matches!(e, ApiError::OrganizationNotFound { .. }), "{e:?}");
    assert!(e.to_string().contains("\"acme\""));
    assert!(e.hint().unwrap().contains("--organization"));
    let reqs = stub.requests();
    let org = reqs
        .iter()
        .find(|r| r.path == "/api/v2/organizations/acme/registry-modules")
        .expect("organization check sent");
    assert!(org.query.contains("page%5Bsize%5D=1") || org.query.contains("page[size]=1"));
    assert_no_token(&e);
}

#[tokio::test]
async fn unprocessable_shows_detail_and_duplicates() {
    let stub = Stub::start(|_, _| {
        resp(422, serde_json::json!({"errors":[{"status":"422","title":"invalid attribute","detail":"Version has already been taken"}]}))
    })
    .await;
    let c = client_for(&stub);
    let e = c
        .create_module_version(&greeting(), "1.0.0", None)
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(422));
    assert!(
        e.to_string().contains("Version has already been taken"),
        "{e}"
    );
    assert!(e
        .to_string()
        .contains("/registry-modules/private/acme/greeting/null/versions"));
    assert!(e.is_duplicate());
    assert_no_token(&e);
    assert_eq!(stub.requests().len(), 1, "422 is not retried");
    let body: serde_json::Value = serde_json::from_slice(&stub.requests()[0].body).unwrap();
    assert_eq!(body["data"]["type"], "registry-module-versions");
    assert_eq!(body["data"]["attributes"]["version"], "1.0.0");
}

#[tokio::test]
async fn burst_of_429_survived_within_reset() {
    let stub = Stub::start(|_, n| {
        if n < 3 {
            Resp {
                status: 429,
                headers: vec![("x-ratelimit-reset", "0.2".into())],
                body: r#"{"errors":[{"status":"429","title":"Too many requests"}]}"#.into(),
            }
        } else {
            resp(204, serde_json::Value::Null)
        }
    })
    .await;
    let started = Instant::now();
    client_for(&stub).ping().await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(600),
        "waited only {:?}",
        started.elapsed()
    );
    assert_eq!(stub.count("GET", "/api/v2/ping"), 4);
}

#[tokio::test]
async fn endless_429_gives_rate_limited() {
    let stub = Stub::start(|_, _| Resp {
        status: 429,
        headers: vec![("x-ratelimit-reset", "0.01".into())],
        body: String::new(),
    })
    .await;
    let e = client_for(&stub).ping().await.unwrap_err();
    assert!(
        matches!(e, ApiError::RateLimited { attempts: 6, .. }),
        "{e:?}"
    );
    assert_eq!(stub.requests().len(), 6);
}

#[tokio::test]
async fn server_errors_are_retried() {
    let stub = Stub::start(|_, n| {
        if n < 2 {
            resp(502, serde_json::Value::Null)
        } else {
            resp(200, serde_json::json!({"data":{"id":"prov-1","type":"registry-providers","attributes":{"name":"hello","namespace":"acme","registry-name":"private"}}}))
        }
    })
    .await;
    let p = client_for(&stub)
        .get_provider(&hello())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(p.id, "prov-1");
    assert_eq!(p.name, "hello");
    assert_eq!(
        stub.count(
            "GET",
            "/api/v2/organizations/acme/registry-providers/private/acme/hello"
        ),
        3
    );
}

fn provider_doc() -> serde_json::Value {
    serde_json::json!({"data":{"id":"prov-9","type":"registry-providers","attributes":{"name":"hello","namespace":"acme","registry-name":"private"}}})
}

#[tokio::test]
async fn post_retried_when_reread_finds_nothing() {
    let stub = Stub::start(|r, n| match (r.method.as_str(), n) {
        ("POST", 0) => resp(503, serde_json::Value::Null),
        ("POST", _) => resp(201, provider_doc()),
        _ => resp(404, serde_json::Value::Null),
    })
    .await;
    let p = client_for(&stub).create_provider(&hello()).await.unwrap();
    assert_eq!(p.id, "prov-9");
    assert_eq!(
        stub.count("POST", "/api/v2/organizations/acme/registry-providers"),
        2
    );
    assert_eq!(
        stub.count(
            "GET",
            "/api/v2/organizations/acme/registry-providers/private/acme/hello"
        ),
        1
    );
    let body: serde_json::Value = serde_json::from_slice(&stub.requests()[0].body).unwrap();
    assert_eq!(body["data"]["attributes"]["registry-name"], "private");
}

#[tokio::test]
async fn post_not_repeated_when_first_attempt_landed() {
    let stub = Stub::start(|r, _| match r.method.as_str() {
        "POST" => resp(500, serde_json::Value::Null),
        _ => resp(200, provider_doc()),
    })
    .await;
    let p = client_for(&stub).create_provider(&hello()).await.unwrap();
    assert_eq!(p.id, "prov-9");
    assert_eq!(
        stub.count("POST", "/api/v2/organizations/acme/registry-providers"),
        1
    );
}

#[tokio::test]
async fn module_create_never_sends_namespace() {
    let stub = Stub::start(|_, _| {
        resp(201, serde_json::json!({"data":{"id":"mod-1","type":"registry-modules","attributes":{"name":"greeting","provider":"null","namespace":"acme","registry-name":"private","status":"pending","version-statuses":[]}}}))
    })
    .await;
    let m = client_for(&stub)
        .create_module(&greeting(), false)
        .await
        .unwrap();
    assert_eq!(m.status, "pending");
    let body: serde_json::Value = serde_json::from_slice(&stub.requests()[0].body).unwrap();
    assert!(body["data"]["attributes"].get("namespace").is_none());
    assert_eq!(
        stub.requests()[0].headers["content-type"],
        "application/vnd.api+json"
    );
}

#[tokio::test]
async fn pagination_follows_three_pages() {
    let stub = Stub::start(|r, _| {
        let page: u64 = r
            .query
            .split('&')
            .find_map(|kv| {
                let (k, v) = kv.split_once('=')?;
                (k == "page%5Bnumber%5D" || k == "page[number]").then(|| v.parse().unwrap())
            })
            .unwrap_or(1);
        let next = if page < 3 { serde_json::json!(page + 1) } else { serde_json::Value::Null };
        resp(200, serde_json::json!({
            "data": [
                {"id": format!("mod-{page}a"), "type":"registry-modules","attributes":{"name":format!("m{page}a"),"provider":"null"}},
                {"id": format!("mod-{page}b"), "type":"registry-modules","attributes":{"name":format!("m{page}b"),"provider":"null"}}
            ],
            "meta": {"pagination": {"current-page": page, "next-page": next, "total-pages": 3, "total-count": 6}}
        }))
    })
    .await;
    let mods = client_for(&stub).list_modules().await.unwrap();
    assert_eq!(mods.len(), 6);
    assert_eq!(mods[5].id, "mod-3b");
    assert_eq!(stub.requests().len(), 3);
}

#[tokio::test]
async fn cross_host_redirect_keeps_the_token_home() {
    let other = Stub::start(|_, _| resp(204, serde_json::Value::Null)).await;
    let target = format!("{}/api/v2/ping", other.base);
    let stub = Stub::start(move |_, _| Resp {
        status: 302,
        headers: vec![("location", target.clone())],
        body: String::new(),
    })
    .await;
    let e = client_for(&stub).ping().await.unwrap_err();
    assert!(matches!(e, ApiError::CrossHostRedirect { .. }), "{e:?}");
    assert_no_token(&e);
    assert!(
        other.requests().iter().all(|r| auth(r).is_none()),
        "token sent to another host"
    );
    assert!(other.requests().is_empty());
}

#[derive(Default)]
struct Recorder {
    masked: Mutex<Vec<String>>,
    events: Mutex<Vec<String>>,
}
impl Progress for Recorder {
    fn transfer_start(&self, id: &str, total: u64) {
        self.events
            .lock()
            .unwrap()
            .push(format!("start {id} {total}"));
    }
    fn transfer_done(&self, id: &str) {
        self.events.lock().unwrap().push(format!("done {id}"));
    }
    fn mask(&self, secret: &str) {
        self.masked.lock().unwrap().push(secret.to_string());
    }
}

#[tokio::test]
async fn upload_has_no_authorization_and_full_body() {
    let stub = Stub::start(|_, _| resp(200, serde_json::Value::Null)).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("m.tar.gz");
    let data: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(&file, &data).unwrap();
    let url = SecretUrl::parse(&format!("{}/v1/object/SIGNED-abc", stub.base)).unwrap();
    let rec = Recorder::default();
    client_for(&stub)
        .upload_file(&url, &file, "module archive", &rec)
        .await
        .unwrap();
    let reqs = stub.requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].method, "PUT");
    assert!(auth(&reqs[0]).is_none());
    assert_eq!(reqs[0].headers["content-type"], "application/octet-stream");
    assert_eq!(reqs[0].body, data);
    assert!(rec.masked.lock().unwrap()[0].contains("SIGNED-abc"));
    let ev = rec.events.lock().unwrap().join("|");
    assert!(ev.contains("start module archive 300000") && ev.contains("done module archive"));
    assert!(!ev.contains("SIGNED"));
}

/// A raw TCP server: the first connection is dropped after part of the body, later
/// ones get the whole body read and a 200.
async fn dropping_server() -> (
    String,
    Arc<Mutex<Vec<Vec<u8>>>>,
    Arc<AtomicUsize>,
    tokio::task::JoinHandle<()>,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let bodies = Arc::new(Mutex::new(Vec::new()));
    let conns = Arc::new(AtomicUsize::new(0));
    let (b2, c2) = (bodies.clone(), conns.clone());
    let task = tokio::spawn(async move {
        loop {
            let (mut sock, _) = listener.accept().await.unwrap();
            let n = c2.fetch_add(1, Ordering::SeqCst);
            let mut buf = Vec::new();
            let mut chunk = [0u8; 8192];
            // Read headers.
            let header_end = loop {
                let k = sock.read(&mut chunk).await.unwrap();
                if k == 0 {
                    break None;
                }
                buf.extend_from_slice(&chunk[..k]);
                if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                    break Some(p + 4);
                }
            };
            let Some(header_end) = header_end else {
                continue;
            };
            let head = String::from_utf8_lossy(&buf[..header_end]).to_lowercase();
            let len: usize = head
                .lines()
                .find_map(|l| {
                    l.strip_prefix("content-length:")
                        .map(|v| v.trim().parse().unwrap())
                })
                .unwrap_or(0);
            assert!(
                !head.contains("authorization"),
                "upload carried Authorization"
            );
            let mut body = buf[header_end..].to_vec();
            if n == 0 {
                while body.len() < len / 4 {
                    let k = sock.read(&mut chunk).await.unwrap();
                    if k == 0 {
                        break;
                    }
                    body.extend_from_slice(&chunk[..k]);
                }
                drop(sock); // mid-body
                continue;
            }
            while body.len() < len {
                let k = sock.read(&mut chunk).await.unwrap();
                if k == 0 {
                    break;
                }
                body.extend_from_slice(&chunk[..k]);
            }
            b2.lock().unwrap().push(body);
            sock.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                .await
                .unwrap();
        }
    });
    (format!("http://{addr}"), bodies, conns, task)
}

#[tokio::test]
async fn dropped_upload_restarts_from_the_start() {
    let (base, bodies, conns, task) = dropping_server().await;
    let api = Stub::start(|_, _| resp(204, serde_json::Value::Null)).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("p.zip");
    let data: Vec<u8> = (0..4_000_000u32).map(|i| (i * 7 % 253) as u8).collect();
    std::fs::write(&file, &data).unwrap();
    let url = SecretUrl::parse(&format!("{base}/v1/object/SIGNED-xyz")).unwrap();
    let r = client_for(&api)
        .upload_file(&url, &file, "linux_amd64 zip", &tfpub_core::report::Silent)
        .await;
    task.abort();
    r.unwrap();
    assert!(conns.load(Ordering::SeqCst) >= 2);
    let bodies = bodies.lock().unwrap();
    assert_eq!(bodies.len(), 1);
    assert!(
        bodies[0] == data,
        "final body incomplete: {} bytes",
        bodies[0].len()
    );
}

#[tokio::test]
async fn upload_failure_names_id_not_url() {
    let stub = Stub::start(|_, _| resp(403, serde_json::Value::Null)).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("f");
    std::fs::write(&file, b"x").unwrap();
    let url = SecretUrl::parse(&format!("{}/v1/object/SIGNED-q", stub.base)).unwrap();
    let e = client_for(&stub)
        .upload_file(&url, &file, "SHA256SUMS", &tfpub_core::report::Silent)
        .await
        .unwrap_err();
    let shown = format!("{e} {e:?}");
    assert!(
        shown.contains("SHA256SUMS") && !shown.contains("SIGNED"),
        "{shown}"
    );
    assert_eq!(e.status(), Some(403));
    let missing = client_for(&stub)
        .upload_file(
            &url,
            &dir.path().join("nope"),
            "nope",
            &tfpub_core::report::Silent,
        )
        .await
        .unwrap_err();
    assert!(missing.to_string().contains("nope"));
}

#[tokio::test]
async fn limiter_keeps_any_second_under_the_rate() {
    let stub = Stub::start(|_, _| resp(204, serde_json::Value::Null)).await;
    let c = client_with(&stub, 30.0);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..2 {
        let c = c.clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..30 {
                c.ping().await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(c.request_count(), 60);
    // Against a limit of 30: a burst of 9, then 19.8 a second, so 60 requests take at
    // least (60 - 9) / 19.8 s ...
    assert!(
        started.elapsed() >= Duration::from_millis(2500),
        "{:?}",
        started.elapsed()
    );
    // ... and the server never sees 31 within a second.
    let mut at: Vec<Instant> = stub.requests().iter().map(|r| r.at).collect();
    at.sort();
    assert_eq!(at.len(), 60);
    for i in 30..at.len() {
        assert!(
            at[i] - at[i - 30] >= Duration::from_millis(1000),
            "31 requests within {:?}",
            at[i] - at[i - 30]
        );
    }
}

/// The embedded registry refusing past 30 requests a second per token, as HCP Terraform
/// does: three callers sending as fast as the client lets them are never refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registry_that_enforces_hcps_limit_never_refuses_the_paced_client() {
    let t = crate::support::TestRegistry::start_with(|d| {
        let mut o = tfpub_registry::RegistryOptions::new(d);
        o.rate_limit = Some(30);
        o
    })
    .await;
    let c = client_at(t.reg.base_url().as_str(), ClientOptions::default());
    let mut tasks = Vec::new();
    for _ in 0..3 {
        let c = c.clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..30 {
                c.ping().await.unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    assert_eq!(c.request_count(), 90, "a 429 was retried");
    assert_eq!(t.reg.stats().too_many_requests(), 0);
    assert!(t.reg.stats().api_peak(Duration::from_secs(1)) <= 30);
    t.stop().await;
}

/// The limit is the registry's: past it a caller gets HCP's 429 with when to retry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_registry_answers_429_with_reset_past_its_limit() {
    let t = crate::support::TestRegistry::start_with(|d| {
        let mut o = tfpub_registry::RegistryOptions::new(d);
        o.rate_limit = Some(5);
        o
    })
    .await;
    let http = reqwest::Client::new();
    let url = format!("{}api/v2/ping", t.reg.base_url());
    let mut statuses = Vec::new();
    let mut reset = None;
    for _ in 0..6 {
        let r = http.get(&url).bearer_auth("tok-a").send().await.unwrap();
        statuses.push(r.status().as_u16());
        assert_eq!(r.headers()["x-ratelimit-limit"], "5");
        if r.status() == 429 {
            reset = r
                .headers()
                .get("x-ratelimit-reset")
                .map(|v| v.to_str().unwrap().to_string());
            let body: serde_json::Value = r.json().await.unwrap();
            assert_eq!(body["errors"][0]["status"], "429", "{body}");
        }
    }
    assert_eq!(statuses[..5], [204; 5][..], "{statuses:?}");
    assert_eq!(statuses[5], 429, "{statuses:?}");
    let reset: f64 = reset.unwrap().parse().unwrap();
    assert!(reset > 0.0 && reset <= 1.0, "{reset}");
    // Another token has its own allowance.
    let r = http.get(&url).bearer_auth("tok-b").send().await.unwrap();
    assert_eq!(r.status(), 204);
    t.stop().await;
}

#[tokio::test]
async fn consumer_side_discovery_and_downloads() {
    let stub = Stub::start(|r, _| match r.path.as_str() {
        "/.well-known/terraform.json" => resp(200, serde_json::json!({
            "providers.v1": "/api/registry/v1/providers/", "modules.v1": "/api/registry/v1/modules/"})),
        "/api/registry/v1/providers/acme/hello/1.0.0/download/linux/amd64" => resp(200, serde_json::json!({
            "protocols": ["6.0"], "os": "linux", "arch": "amd64", "filename": "f.zip",
            "download_url": "/dl/f.zip", "shasums_url": "/dl/S", "shasums_signature_url": "/dl/S.sig",
            "shasum": SHA, "signing_keys": {"gpg_public_keys": [{"key_id": "7272a3be438f9a26", "ascii_armor": "---"}]}})),
        "/api/registry/v1/modules/acme/greeting/null/1.0.0/download" => Resp {
            status: 204, headers: vec![("x-terraform-get", "/dl/m.tar.gz".into())], body: String::new() },
        "/dl/m.tar.gz" => Resp { status: 200, headers: vec![], body: "TARBALL".into() },
        _ => resp(404, serde_json::Value::Null),
    })
    .await;
    let c = client_for(&stub);
    let d = c
        .provider_download(&hello(), "1.0.0", "linux", "amd64")
        .await
        .unwrap();
    assert_eq!(d.protocols, vec!["6.0"]);
    assert_eq!(d.signing_keys.gpg_public_keys[0].key_id, "7272A3BE438F9A26");
    assert_eq!(d.shasum, SHA);
    let u = c.module_download_url(&greeting(), "1.0.0").await.unwrap();
    assert_eq!(u, format!("{}/dl/m.tar.gz", stub.base));
    assert_eq!(&c.fetch(&u).await.unwrap()[..], b"TARBALL");
    let fetched = stub
        .requests()
        .into_iter()
        .find(|r| r.path == "/dl/m.tar.gz")
        .unwrap();
    assert!(
        auth(&fetched).is_none(),
        "download fetch must be unauthenticated"
    );
    assert_eq!(
        stub.count("GET", "/.well-known/terraform.json"),
        1,
        "discovery cached"
    );
}

#[tokio::test]
async fn version_change_patches_then_rereads() {
    let stub = Stub::start(|r, _| match r.method.as_str() {
        "PATCH" => resp(200, serde_json::json!({"data":{"type":"module-versions","id":"1"}})),
        _ => resp(200, serde_json::json!({"data":{"id":"modver-1","type":"registry-module-versions","attributes":{
            "version":"1.0.0","status":"ok","revocation":{"status":"Revoked","message":"old"}}}})),
    })
    .await;
    let v = client_for(&stub)
        .change_module_version(
            &greeting(),
            "1.0.0",
            VersionChange::Revoke {
                reason: Some("old".into()),
                link: None,
            },
        )
        .await
        .unwrap();
    assert!(v.revoked());
    let reqs = stub.requests();
    assert_eq!(
        reqs[0].path,
        "/api/v2/organizations/acme/registry-modules/private/acme/greeting/null/1.0.0"
    );
    assert_eq!(
        reqs[1].path,
        "/api/v2/organizations/acme/registry-modules/private/acme/greeting/null/version"
    );
    assert!(reqs[1].query.contains("module_version=1.0.0"));
}

#[tokio::test]
async fn transport_error_is_named_and_clean() {
    // A port nobody listens on.
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", l.local_addr().unwrap());
    drop(l);
    let c = client_at(
        &base,
        ClientOptions {
            retry: RetryPolicy {
                max_attempts: 2,
                ..fast_retry()
            },
            ..Default::default()
        },
    );
    let e = c.list_gpg_keys("acme").await.unwrap_err();
    assert!(matches!(e, ApiError::Transport { .. }), "{e:?}");
    assert!(
        e.to_string().contains("/api/registry/private/v2/gpg-keys"),
        "{e}"
    );
    assert_no_token(&e);
}

#[tokio::test]
async fn malformed_typed_fields_are_decode_errors() {
    let stub = Stub::start(|r, _| match r.path.as_str() {
        p if p.ends_with("/versions/1.0.0") => resp(200, serde_json::json!({"data":{"id":"provver-1",
            "type":"registry-provider-versions","attributes":{"version":"1.0.0","key-id":"ABCD","protocols":["6.0"]}}})),
        _ => resp(404, serde_json::Value::Null),
    })
    .await;
    let e = client_for(&stub)
        .get_provider_version(&hello(), "1.0.0")
        .await
        .unwrap_err();
    assert!(matches!(e, ApiError::Decode { .. }), "{e:?}");
    assert!(e.to_string().contains("key id \"ABCD\""), "{e}");
}
