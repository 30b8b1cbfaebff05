//! The transport every area of the client shares: [`Client`] and its construction, one
//! request attempt, classification of the answer into [`ApiError`], the retry loop, the
//! creating POST that re-reads before it repeats, JSON:API decoding of one resource or
//! of every page of a list, and the URL builders.
//!
//! Why it looks like this:
//! - every request passes one limiter shared by clones, so bulk publishes stay below the
//!   service's 30 requests/second instead of bouncing off 429s;
//! - retries are bounded (attempts and total time) and use full-jitter backoff; a 429
//!   waits at least its `X-RateLimit-Reset`;
//! - a POST that creates something is retried only after a re-read shows the first
//!   attempt did not land, so a lost response never produces a spurious duplicate error;
//! - the token only ever goes to the configured host: redirects elsewhere are not
//!   followed, uploads and download fetches carry no `Authorization` at all;
//! - errors and the `-v` log name the method and URL path, never a query string, token or
//!   pre-signed upload link;
//! - a response body is read only up to [`MAX_API_BODY`], so a server cannot make the
//!   client buffer an unbounded answer.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::future::BoxFuture;
use reqwest::header::{HeaderMap, ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use reqwest::Method;
use serde_json::Value;
use url::Url;

use super::consumer::Services;
use super::server_text::server_text;
use super::types::{ErrorDoc, FromResource, Many, One};
use super::{ApiError, Limiter, RetryPolicy};
use crate::config::Target;
use crate::secret::Secret;

const JSONAPI: &str = "application/vnd.api+json";
pub(super) const API_TIMEOUT: Duration = Duration::from_secs(60);
const PAGE_SIZE: &str = "100";

/// The largest API response body the client reads (8 MiB). A page of 100 resources is a
/// few hundred KiB; anything far larger is a broken or hostile server, and reading it
/// whole would let that server decide how much memory tfpub uses. Archive downloads are
/// not API responses and are not held to this.
pub const MAX_API_BODY: u64 = 8 * 1024 * 1024;

/// Read a response body chunk by chunk, stopping as soon as it would exceed `limit`
/// bytes (`Ok(None)`); a `Content-Length` above the limit is refused before reading.
pub(super) async fn read_capped(
    mut resp: reqwest::Response,
    limit: u64,
) -> Result<Option<bytes::Bytes>, reqwest::Error> {
    if resp.content_length().is_some_and(|n| n > limit) {
        return Ok(None);
    }
    let mut body = bytes::BytesMut::new();
    while let Some(chunk) = resp.chunk().await? {
        if (body.len() + chunk.len()) as u64 > limit {
            return Ok(None);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Some(body.freeze()))
}

/// A request-log sink (`-v`). Receives one line per request; never secrets.
pub type LogFn = Arc<dyn Fn(&str) + Send + Sync>;

/// How the client behaves.
#[derive(Clone)]
pub struct ClientOptions {
    pub user_agent: String,
    pub retry: RetryPolicy,
    /// The server's limit on requests per second per token (HCP Terraform's: 30), until
    /// a response says otherwise (`X-RateLimit-Limit`); the client paces at two thirds
    /// of it with a third as burst ([`Limiter`]).
    pub max_rps: f64,
    pub log: Option<LogFn>,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            user_agent: format!("tfpub/{}", env!("CARGO_PKG_VERSION")),
            retry: RetryPolicy::default(),
            max_rps: 30.0,
            log: None,
        }
    }
}

impl std::fmt::Debug for ClientOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientOptions")
            .field("user_agent", &self.user_agent)
            .field("retry", &self.retry)
            .field("max_rps", &self.max_rps)
            .field("log", &self.log.is_some())
            .finish()
    }
}

/// A registry API client. Cheap to clone; clones share the limiter and request count.
#[derive(Clone)]
pub struct Client {
    pub(super) api: reqwest::Client,
    pub(super) plain: reqwest::Client,
    pub(super) base: Url,
    pub(super) organization: String,
    pub(super) token: Secret<String>,
    pub(super) opts: ClientOptions,
    pub(super) limiter: Arc<Limiter>,
    pub(super) count: Arc<AtomicU64>,
    pub(super) services: Arc<tokio::sync::OnceCell<Services>>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.base.as_str())
            .field("organization", &self.organization)
            .field("token", &self.token)
            .finish()
    }
}

/// One HTTP response, read whole.
pub(crate) struct Raw {
    pub(super) status: u16,
    pub(super) headers: HeaderMap,
    pub(super) body: bytes::Bytes,
}

fn origin(u: &Url) -> (String, String, Option<u16>) {
    (
        u.scheme().to_string(),
        u.host_str().unwrap_or_default().to_string(),
        u.port_or_known_default(),
    )
}

fn host_of(u: &Url) -> String {
    match u.port() {
        Some(p) => format!("{}:{p}", u.host_str().unwrap_or("?")),
        None => u.host_str().unwrap_or("?").to_string(),
    }
}

impl Client {
    /// Build a client for `target`. Fails when the CA certificate cannot be used.
    pub fn new(target: &Target, opts: ClientOptions) -> Result<Client, ApiError> {
        let mut roots = Vec::new();
        if let Some(path) = &target.ca_cert {
            let pem = crate::config::read_regular_file(path, crate::config::MAX_CONFIG_FILE)
                .map_err(|e| ApiError::CaCert {
                    path: path.clone(),
                    reason: e.to_string(),
                })?;
            let certs =
                reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| ApiError::CaCert {
                    path: path.clone(),
                    reason: e.without_url().to_string(),
                })?;
            if certs.is_empty() {
                return Err(ApiError::CaCert {
                    path: path.clone(),
                    reason: "no PEM certificate found".into(),
                });
            }
            roots = certs;
        }
        let build = |policy: reqwest::redirect::Policy| {
            let mut b = reqwest::Client::builder()
                .user_agent(opts.user_agent.clone())
                .connect_timeout(Duration::from_secs(15))
                .redirect(policy);
            for c in &roots {
                b = b.add_root_certificate(c.clone());
            }
            b.build()
                .map_err(|e| ApiError::Client(e.without_url().to_string()))
        };
        // Authenticated client: follow redirects only within the same origin.
        let api = build(reqwest::redirect::Policy::custom(|attempt| {
            let first = attempt.previous().first().cloned();
            if attempt.previous().len() > 5 {
                attempt.error("too many redirects")
            } else if first
                .map(|f| origin(&f) == origin(attempt.url()))
                .unwrap_or(false)
            {
                attempt.follow()
            } else {
                attempt.stop()
            }
        }))?;
        let plain = build(reqwest::redirect::Policy::limited(10))?;
        Ok(Client {
            api,
            plain,
            base: target.base_url.clone(),
            organization: target.organization.clone(),
            token: target.token.clone(),
            limiter: Arc::new(Limiter::new(opts.max_rps)),
            opts,
            count: Arc::new(AtomicU64::new(0)),
            services: Arc::new(tokio::sync::OnceCell::new()),
        })
    }

    pub fn organization(&self) -> &str {
        &self.organization
    }

    /// Requests sent so far (all attempts, all clones).
    pub fn request_count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    pub(crate) fn log(&self, line: &str) {
        if let Some(l) = &self.opts.log {
            l(line);
        }
    }

    pub(super) fn url(&self, segments: &[&str], query: &[(&str, &str)]) -> Url {
        let mut u = self.base.clone();
        {
            let mut p = u.path_segments_mut().expect("base URL has a path");
            p.pop_if_empty();
            p.extend(segments);
        }
        if !query.is_empty() {
            u.query_pairs_mut().extend_pairs(query);
        }
        u
    }

    pub(super) fn org_url(&self, rest: &[&str], query: &[(&str, &str)]) -> Url {
        let mut segs = vec!["api", "v2", "organizations", self.organization.as_str()];
        segs.extend_from_slice(rest);
        self.url(&segs, query)
    }

    /// One attempt. Auth is attached only when asked and the URL is on the API origin.
    async fn attempt(
        &self,
        method: &Method,
        url: &Url,
        body: Option<&Value>,
        auth: bool,
    ) -> Result<Raw, ApiError> {
        self.limiter.acquire().await;
        self.count.fetch_add(1, Ordering::Relaxed);
        let started = Instant::now();
        let mut req = self
            .api
            .request(method.clone(), url.clone())
            .timeout(API_TIMEOUT)
            .header(ACCEPT, JSONAPI);
        if auth && origin(url) == origin(&self.base) {
            req = req.header(AUTHORIZATION, format!("Bearer {}", self.token.expose()));
        }
        if let Some(b) = body {
            req = req.header(CONTENT_TYPE, JSONAPI).body(b.to_string());
        }
        let result = async {
            let resp = req.send().await?;
            let status = resp.status().as_u16();
            let headers = resp.headers().clone();
            Ok::<_, reqwest::Error>(read_capped(resp, MAX_API_BODY).await?.map(|body| Raw {
                status,
                headers,
                body,
            }))
        }
        .await;
        match result {
            Ok(None) => {
                self.log(&format!("{method} {} -> body too large", url.path()));
                Err(ApiError::BodyTooLarge {
                    method: method.to_string(),
                    path: url.path().to_string(),
                    limit: MAX_API_BODY,
                })
            }
            Ok(Some(raw)) => {
                let limit = raw.headers.get("x-ratelimit-limit");
                if let Some(l) = limit.and_then(|v| v.to_str().ok()?.trim().parse().ok()) {
                    self.limiter.set_limit(l);
                }
                self.log(&format!(
                    "{method} {} -> {} ({} ms)",
                    url.path(),
                    raw.status,
                    started.elapsed().as_millis()
                ));
                Ok(raw)
            }
            Err(e) => {
                self.log(&format!("{method} {} -> error", url.path()));
                Err(transport_error(method, url.path(), e))
            }
        }
    }

    pub(super) fn classify(&self, method: &Method, url: &Url, raw: Raw) -> Result<Raw, ApiError> {
        let m = method.to_string();
        let path = url.path().to_string();
        match raw.status {
            200..=299 => Ok(raw),
            300..=399 => {
                let to = raw
                    .headers
                    .get(reqwest::header::LOCATION)
                    .and_then(|l| l.to_str().ok())
                    .and_then(|l| url.join(l).ok())
                    .map(|u| host_of(&u))
                    .unwrap_or_else(|| "?".into());
                Err(ApiError::CrossHostRedirect {
                    method: m,
                    path,
                    from: host_of(&self.base),
                    to,
                })
            }
            401 => Err(ApiError::Unauthorized { method: m, path }),
            404 => Err(ApiError::NotFound { method: m, path }),
            status => {
                let doc: ErrorDoc = serde_json::from_slice(&raw.body).unwrap_or_default();
                let first = doc.errors.into_iter().next().unwrap_or_default();
                let title = first.title.unwrap_or_else(|| {
                    reqwest::StatusCode::from_u16(status)
                        .ok()
                        .and_then(|s| s.canonical_reason())
                        .unwrap_or("error")
                        .to_string()
                });
                Err(ApiError::Status {
                    status,
                    title: server_text(&title),
                    detail: first.detail.as_deref().map(server_text),
                    method: m,
                    path,
                })
            }
        }
    }

    pub(super) fn next_delay(
        &self,
        err: &ApiError,
        attempts: u32,
        started: Instant,
        floor: Option<Duration>,
    ) -> Option<Duration> {
        if !err.is_retryable() {
            return None;
        }
        let d = self.opts.retry.delay(attempts, floor);
        self.opts.retry.may_retry(attempts, started, d).then_some(d)
    }

    pub(super) fn exhausted(err: ApiError, attempts: u32) -> ApiError {
        match err {
            ApiError::Status {
                status: 429,
                method,
                path,
                ..
            } => ApiError::RateLimited {
                method,
                path,
                attempts,
            },
            e => e,
        }
    }

    async fn try_once(
        &self,
        method: &Method,
        url: &Url,
        body: Option<&Value>,
        auth: bool,
    ) -> Result<Raw, (ApiError, Option<Duration>)> {
        match self.attempt(method, url, body, auth).await {
            Ok(raw) => {
                let floor = rate_limit_reset(&raw.headers);
                self.classify(method, url, raw).map_err(|e| (e, floor))
            }
            Err(e) => Err((e, None)),
        }
    }

    /// An idempotent request with retries.
    pub(super) async fn request(
        &self,
        method: Method,
        url: Url,
        body: Option<Value>,
        auth: bool,
    ) -> Result<Raw, ApiError> {
        let started = Instant::now();
        let mut attempts = 0;
        loop {
            attempts += 1;
            let (err, floor) = match self.try_once(&method, &url, body.as_ref(), auth).await {
                Ok(raw) => return Ok(raw),
                Err(x) => x,
            };
            match self.next_delay(&err, attempts, started, floor) {
                Some(d) => {
                    self.log(&format!("retrying {method} {} in {d:?}: {err}", url.path()));
                    tokio::time::sleep(d).await;
                }
                None => return Err(Self::exhausted(err, attempts)),
            }
        }
    }

    /// A creating POST. After a failure that may have landed (5xx, transport, timeout),
    /// `reread` is consulted: if the resource now exists it is returned, otherwise the
    /// POST is repeated. A 429 was refused before processing and is retried directly.
    pub(super) async fn create<'a, T: FromResource>(
        &'a self,
        url: Url,
        body: Value,
        reread: impl Fn() -> BoxFuture<'a, Result<Option<T>, ApiError>>,
    ) -> Result<T, ApiError> {
        let started = Instant::now();
        let mut attempts = 0;
        loop {
            attempts += 1;
            let (err, floor) = match self.try_once(&Method::POST, &url, Some(&body), true).await {
                Ok(raw) => return self.decode_one(&Method::POST, &url, &raw),
                Err(x) => x,
            };
            let Some(d) = self.next_delay(&err, attempts, started, floor) else {
                return Err(Self::exhausted(err, attempts));
            };
            self.log(&format!(
                "POST {} failed ({err}); checking before retry",
                url.path()
            ));
            tokio::time::sleep(d).await;
            if err.status() != Some(429) {
                if let Some(found) = reread().await? {
                    self.log(&format!("POST {}: the first attempt landed", url.path()));
                    return Ok(found);
                }
            }
        }
    }

    fn decode_one<T: FromResource>(
        &self,
        method: &Method,
        url: &Url,
        raw: &Raw,
    ) -> Result<T, ApiError> {
        let one: One =
            serde_json::from_slice(&raw.body).map_err(|e| decode_error(method, url, e))?;
        T::from_resource(one.data).map_err(|e| decode_error(method, url, e))
    }

    pub(super) async fn get_one<T: FromResource>(&self, url: Url) -> Result<Option<T>, ApiError> {
        match self.request(Method::GET, url.clone(), None, true).await {
            Ok(raw) => self.decode_one(&Method::GET, &url, &raw).map(Some),
            Err(ApiError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub(super) async fn list<T: FromResource>(&self, url: Url) -> Result<Vec<T>, ApiError> {
        let mut out = Vec::new();
        let mut page: u64 = 1;
        loop {
            let mut u = url.clone();
            let p = page.to_string();
            u.query_pairs_mut()
                .append_pair("page[number]", &p)
                .append_pair("page[size]", PAGE_SIZE);
            let raw = self.request(Method::GET, u.clone(), None, true).await?;
            let many: Many =
                serde_json::from_slice(&raw.body).map_err(|e| decode_error(&Method::GET, &u, e))?;
            let next = many.next_page();
            for r in many.data {
                out.push(T::from_resource(r).map_err(|e| decode_error(&Method::GET, &u, e))?);
            }
            match next {
                Some(n) if n > page => page = n,
                _ => return Ok(out),
            }
        }
    }

    pub(super) async fn delete(&self, url: Url) -> Result<(), ApiError> {
        self.request(Method::DELETE, url, None, true)
            .await
            .map(|_| ())
    }
}

/// An answer that is not what the API promises; names the method and path, never the query.
pub(super) fn decode_error(method: &Method, url: &Url, reason: impl std::fmt::Display) -> ApiError {
    ApiError::Decode {
        method: method.to_string(),
        path: url.path().to_string(),
        reason: server_text(&reason.to_string()),
    }
}

/// How rustls words a server certificate it could not verify.
const CERT_FAILURE: &str = "invalid peer certificate";

pub(crate) fn transport_error(method: &Method, path: &str, e: reqwest::Error) -> ApiError {
    if e.is_timeout() {
        return ApiError::Timeout {
            method: method.to_string(),
            path: path.to_string(),
        };
    }
    let host = e.url().map(host_of);
    let e = e.without_url();
    let mut message = e.to_string();
    let mut src = std::error::Error::source(&e);
    while let Some(cause) = src {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        src = cause.source();
    }
    // rustls reports a certificate it could not verify as "invalid peer certificate:
    // CAUSE" (UnknownIssuer, NotValidForName, Expired, ...): worth its own error, which
    // names the host and is not retried (the certificate will not change in a second).
    if let (Some(host), Some(at)) = (host, message.find(CERT_FAILURE)) {
        return ApiError::Tls {
            method: method.to_string(),
            path: path.to_string(),
            host,
            reason: server_text(&message[at..]),
        };
    }
    ApiError::Transport {
        method: method.to_string(),
        path: path.to_string(),
        message: server_text(&message),
    }
}

/// `X-RateLimit-Reset` in (float) seconds.
pub(super) fn rate_limit_reset(h: &HeaderMap) -> Option<Duration> {
    h.get("x-ratelimit-reset")
        .and_then(|v| v.to_str().ok())
        .and_then(|s| s.trim().parse::<f64>().ok())
        .filter(|f| f.is_finite() && *f >= 0.0)
        .map(|f| Duration::from_secs_f64(f.min(300.0)))
}
