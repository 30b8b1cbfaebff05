//! Client for the HCP Terraform / Terraform Enterprise private registry API (and the
//! embedded registry, which speaks the same API).
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
//!   pre-signed upload link.

mod error;
mod retry;
mod types;
mod upload;

pub use error::ApiError;
pub use retry::{Limiter, RetryPolicy};
pub use types::*;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::future::BoxFuture;
use reqwest::header::{HeaderMap, ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use reqwest::Method;
use serde_json::{json, Value};
use url::Url;

use crate::config::Target;
use crate::secret::Secret;
use crate::vocab::{KeyId, ModuleAddress, ProviderAddress, Sha256};
use types::{ErrorDoc, FromResource, Many, One};

const JSONAPI: &str = "application/vnd.api+json";
const API_TIMEOUT: Duration = Duration::from_secs(60);
const PAGE_SIZE: &str = "100";

/// A request-log sink (`-v`). Receives one line per request; never secrets.
pub type LogFn = Arc<dyn Fn(&str) + Send + Sync>;

/// How the client behaves.
#[derive(Clone)]
pub struct ClientOptions {
    pub user_agent: String,
    pub retry: RetryPolicy,
    /// Client-side ceiling on requests per second (default 25; the service allows 30).
    pub max_rps: f64,
    pub log: Option<LogFn>,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            user_agent: format!("tfpub/{}", env!("CARGO_PKG_VERSION")),
            retry: RetryPolicy::default(),
            max_rps: 25.0,
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

#[derive(Debug, Clone)]
struct Services {
    providers: Url,
    modules: Url,
}

/// A registry API client. Cheap to clone; clones share the limiter and request count.
#[derive(Clone)]
pub struct Client {
    api: reqwest::Client,
    plain: reqwest::Client,
    base: Url,
    organization: String,
    token: Secret<String>,
    opts: ClientOptions,
    limiter: Arc<Limiter>,
    count: Arc<AtomicU64>,
    services: Arc<tokio::sync::OnceCell<Services>>,
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

pub(crate) struct Raw {
    status: u16,
    headers: HeaderMap,
    body: bytes::Bytes,
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
            let pem = std::fs::read(path).map_err(|e| ApiError::CaCert {
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

    fn url(&self, segments: &[&str], query: &[(&str, &str)]) -> Url {
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

    fn org_url(&self, rest: &[&str], query: &[(&str, &str)]) -> Url {
        let mut segs = vec!["api", "v2", "organizations", self.organization.as_str()];
        segs.extend_from_slice(rest);
        self.url(&segs, query)
    }

    // ---------------------------------------------------------------- transport

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
            let body = resp.bytes().await?;
            Ok::<_, reqwest::Error>(Raw {
                status,
                headers,
                body,
            })
        }
        .await;
        match result {
            Ok(raw) => {
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

    fn classify(&self, method: &Method, url: &Url, raw: Raw) -> Result<Raw, ApiError> {
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
                    title,
                    detail: first.detail,
                    method: m,
                    path,
                })
            }
        }
    }

    fn next_delay(
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

    fn exhausted(err: ApiError, attempts: u32) -> ApiError {
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
    async fn request(
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
    async fn create<'a, T: FromResource>(
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
        let decode = |reason: String| ApiError::Decode {
            method: method.to_string(),
            path: url.path().to_string(),
            reason,
        };
        let one: One = serde_json::from_slice(&raw.body).map_err(|e| decode(e.to_string()))?;
        T::from_resource(one.data).map_err(|e| decode(e.to_string()))
    }

    async fn get_one<T: FromResource>(&self, url: Url) -> Result<Option<T>, ApiError> {
        match self.request(Method::GET, url.clone(), None, true).await {
            Ok(raw) => self.decode_one(&Method::GET, &url, &raw).map(Some),
            Err(ApiError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn list<T: FromResource>(&self, url: Url) -> Result<Vec<T>, ApiError> {
        let mut out = Vec::new();
        let mut page: u64 = 1;
        loop {
            let mut u = url.clone();
            let p = page.to_string();
            u.query_pairs_mut()
                .append_pair("page[number]", &p)
                .append_pair("page[size]", PAGE_SIZE);
            let raw = self.request(Method::GET, u.clone(), None, true).await?;
            let many: Many = serde_json::from_slice(&raw.body).map_err(|e| ApiError::Decode {
                method: "GET".into(),
                path: u.path().to_string(),
                reason: e.to_string(),
            })?;
            let next = many.next_page();
            for r in many.data {
                out.push(T::from_resource(r).map_err(|e| ApiError::Decode {
                    method: "GET".into(),
                    path: u.path().to_string(),
                    reason: e.to_string(),
                })?);
            }
            match next {
                Some(n) if n > page => page = n,
                _ => return Ok(out),
            }
        }
    }

    async fn delete(&self, url: Url) -> Result<(), ApiError> {
        self.request(Method::DELETE, url, None, true)
            .await
            .map(|_| ())
    }

    // ---------------------------------------------------------------- health

    /// `GET /api/v2/ping`: is this a Terraform API at all, and which version.
    pub async fn ping(&self) -> Result<PingInfo, ApiError> {
        let raw = self
            .request(
                Method::GET,
                self.url(&["api", "v2", "ping"], &[]),
                None,
                true,
            )
            .await?;
        let h = |n: &str| {
            raw.headers
                .get(n)
                .and_then(|v| v.to_str().ok())
                .map(String::from)
        };
        Ok(PingInfo {
            api_version: h("tfp-api-version"),
            tfe_version: h("x-tfe-version"),
            rate_limit: h("x-ratelimit-limit"),
        })
    }

    /// Ping, then prove the token can see the organization's registry.
    pub async fn preflight(&self) -> Result<PingInfo, ApiError> {
        let url = self.org_url(&["registry-modules"], &[("page[size]", "1")]);
        // Both checks at once (one round trip); the ping's verdict on the token comes
        // first, as it is the more precise one.
        let (ping, org) = tokio::join!(
            self.ping(),
            self.request(Method::GET, url.clone(), None, true)
        );
        let info = ping?;
        match org {
            Ok(_) => Ok(info),
            Err(ApiError::NotFound { .. }) => Err(ApiError::OrganizationNotFound {
                organization: self.organization.clone(),
                path: url.path().to_string(),
            }),
            Err(e) => Err(e),
        }
    }

    // ---------------------------------------------------------------- modules

    fn module_url(&self, m: &ModuleAddress, rest: &[&str]) -> Url {
        let mut segs = vec![
            "registry-modules",
            "private",
            m.namespace(),
            m.name(),
            m.provider(),
        ];
        segs.extend_from_slice(rest);
        self.org_url(&segs, &[])
    }

    pub async fn list_modules(&self) -> Result<Vec<Module>, ApiError> {
        self.list(self.org_url(&["registry-modules"], &[])).await
    }

    pub async fn get_module(&self, m: &ModuleAddress) -> Result<Option<Module>, ApiError> {
        self.get_one(self.module_url(m, &[])).await
    }

    /// Create a private module with no VCS connection (namespace is never sent).
    pub async fn create_module(
        &self,
        m: &ModuleAddress,
        no_code: bool,
    ) -> Result<Module, ApiError> {
        let body = json!({"data": {"type": "registry-modules", "attributes": {
            "name": m.name(), "provider": m.provider(), "registry-name": "private",
            "no-code": no_code}}});
        self.create(self.org_url(&["registry-modules"], &[]), body, || {
            Box::pin(self.get_module(m))
        })
        .await
    }

    pub async fn delete_module(&self, m: &ModuleAddress) -> Result<(), ApiError> {
        self.delete(self.module_url(m, &[])).await
    }

    pub async fn create_module_version(
        &self,
        m: &ModuleAddress,
        version: &str,
        commit_sha: Option<&str>,
    ) -> Result<ModuleVersion, ApiError> {
        let mut attrs = json!({"version": version});
        if let Some(sha) = commit_sha {
            attrs["commit-sha"] = json!(sha);
        }
        let body = json!({"data": {"type": "registry-module-versions", "attributes": attrs}});
        self.create(self.module_url(m, &["versions"]), body, || {
            Box::pin(self.get_module_version(m, version))
        })
        .await
    }

    pub async fn get_module_version(
        &self,
        m: &ModuleAddress,
        version: &str,
    ) -> Result<Option<ModuleVersion>, ApiError> {
        let mut u = self.module_url(m, &["version"]);
        u.query_pairs_mut().append_pair("module_version", version);
        self.get_one(u).await
    }

    pub async fn delete_module_version(
        &self,
        m: &ModuleAddress,
        version: &str,
    ) -> Result<(), ApiError> {
        self.delete(self.module_url(m, &[version])).await
    }

    /// Deprecate/undeprecate/revoke/unrevoke a version, then return it as re-read.
    pub async fn change_module_version(
        &self,
        m: &ModuleAddress,
        version: &str,
        change: VersionChange,
    ) -> Result<ModuleVersion, ApiError> {
        let attrs = match &change {
            VersionChange::Deprecate { reason, link } => json!({"deprecation": {
                "deprecated-status": "Deprecated", "reason": reason, "link": link}}),
            VersionChange::Undeprecate => {
                json!({"deprecation": {"deprecated-status": "Undeprecated"}})
            }
            VersionChange::Revoke { reason, link } => {
                json!({"revocation": {"status": "Revoked", "message": reason, "link": link}})
            }
            VersionChange::Unrevoke => json!({"revocation": {"status": "Unrevoked"}}),
        };
        let body = json!({"data": {"type": "module-versions", "attributes": attrs}});
        let url = self.module_url(m, &[version]);
        self.request(Method::PATCH, url.clone(), Some(body), true)
            .await?;
        self.get_module_version(m, version)
            .await?
            .ok_or_else(|| ApiError::NotFound {
                method: "GET".into(),
                path: url.path().to_string(),
            })
    }

    // ---------------------------------------------------------------- providers

    fn provider_url(&self, p: &ProviderAddress, rest: &[&str]) -> Url {
        let mut segs = vec!["registry-providers", "private", p.namespace(), p.name()];
        segs.extend_from_slice(rest);
        self.org_url(&segs, &[])
    }

    pub async fn list_providers(&self) -> Result<Vec<Provider>, ApiError> {
        self.list(self.org_url(&["registry-providers"], &[])).await
    }

    pub async fn get_provider(&self, p: &ProviderAddress) -> Result<Option<Provider>, ApiError> {
        self.get_one(self.provider_url(p, &[])).await
    }

    pub async fn create_provider(&self, p: &ProviderAddress) -> Result<Provider, ApiError> {
        let body = json!({"data": {"type": "registry-providers", "attributes": {
            "name": p.name(), "namespace": p.namespace(), "registry-name": "private"}}});
        self.create(self.org_url(&["registry-providers"], &[]), body, || {
            Box::pin(self.get_provider(p))
        })
        .await
    }

    pub async fn delete_provider(&self, p: &ProviderAddress) -> Result<(), ApiError> {
        self.delete(self.provider_url(p, &[])).await
    }

    pub async fn create_provider_version(
        &self,
        p: &ProviderAddress,
        version: &str,
        key_id: &KeyId,
        protocols: &[String],
    ) -> Result<ProviderVersion, ApiError> {
        let body = json!({"data": {"type": "registry-provider-versions", "attributes": {
            "version": version, "key-id": key_id, "protocols": protocols}}});
        self.create(self.provider_url(p, &["versions"]), body, || {
            Box::pin(self.get_provider_version(p, version))
        })
        .await
    }

    pub async fn get_provider_version(
        &self,
        p: &ProviderAddress,
        version: &str,
    ) -> Result<Option<ProviderVersion>, ApiError> {
        self.get_one(self.provider_url(p, &["versions", version]))
            .await
    }

    pub async fn list_provider_versions(
        &self,
        p: &ProviderAddress,
    ) -> Result<Vec<ProviderVersion>, ApiError> {
        self.list(self.provider_url(p, &["versions"])).await
    }

    pub async fn delete_provider_version(
        &self,
        p: &ProviderAddress,
        version: &str,
    ) -> Result<(), ApiError> {
        self.delete(self.provider_url(p, &["versions", version]))
            .await
    }

    pub async fn create_platform(
        &self,
        p: &ProviderAddress,
        version: &str,
        os: &str,
        arch: &str,
        filename: &str,
        shasum: &Sha256,
    ) -> Result<Platform, ApiError> {
        let body = json!({"data": {"type": "registry-provider-version-platforms", "attributes": {
            "os": os, "arch": arch, "filename": filename, "shasum": shasum}}});
        self.create(
            self.provider_url(p, &["versions", version, "platforms"]),
            body,
            || Box::pin(self.get_platform(p, version, os, arch)),
        )
        .await
    }

    pub async fn get_platform(
        &self,
        p: &ProviderAddress,
        version: &str,
        os: &str,
        arch: &str,
    ) -> Result<Option<Platform>, ApiError> {
        self.get_one(self.provider_url(p, &["versions", version, "platforms", os, arch]))
            .await
    }

    pub async fn list_platforms(
        &self,
        p: &ProviderAddress,
        version: &str,
    ) -> Result<Vec<Platform>, ApiError> {
        self.list(self.provider_url(p, &["versions", version, "platforms"]))
            .await
    }

    // ---------------------------------------------------------------- gpg keys

    fn gpg_url(&self, rest: &[&str]) -> Url {
        let mut segs = vec!["api", "registry", "private", "v2", "gpg-keys"];
        segs.extend_from_slice(rest);
        self.url(&segs, &[])
    }

    pub async fn list_gpg_keys(&self, namespace: &str) -> Result<Vec<GpgKey>, ApiError> {
        let mut u = self.gpg_url(&[]);
        u.query_pairs_mut()
            .append_pair("filter[namespace]", namespace);
        self.list(u).await
    }

    pub async fn add_gpg_key(
        &self,
        namespace: &str,
        ascii_armor: &str,
    ) -> Result<GpgKey, ApiError> {
        let body = json!({"data": {"type": "gpg-keys", "attributes": {
            "namespace": namespace, "ascii-armor": ascii_armor}}});
        self.create(self.gpg_url(&[]), body, || {
            Box::pin(async move {
                let keys = self.list_gpg_keys(namespace).await?;
                Ok(keys
                    .into_iter()
                    .find(|k| k.ascii_armor.trim() == ascii_armor.trim()))
            })
        })
        .await
    }

    pub async fn delete_gpg_key(&self, namespace: &str, key_id: &KeyId) -> Result<(), ApiError> {
        self.delete(self.gpg_url(&[namespace, key_id.as_str()]))
            .await
    }

    // ---------------------------------------------------------------- consumer side

    async fn services(&self) -> Result<&Services, ApiError> {
        self.services
            .get_or_try_init(|| async {
                let url = self.url(&[".well-known", "terraform.json"], &[]);
                let fail = |reason: String| ApiError::Discovery {
                    url: url.to_string(),
                    reason,
                };
                let raw = self.request(Method::GET, url.clone(), None, false).await?;
                let v: Value =
                    serde_json::from_slice(&raw.body).map_err(|e| fail(e.to_string()))?;
                let get = |k: &str| -> Result<Url, ApiError> {
                    let s = v
                        .get(k)
                        .and_then(|s| s.as_str())
                        .ok_or_else(|| fail(format!("no {k} service")))?;
                    url.join(s).map_err(|e| fail(format!("{k}: {e}")))
                };
                Ok(Services {
                    providers: get("providers.v1")?,
                    modules: get("modules.v1")?,
                })
            })
            .await
    }

    fn service_url(base: &Url, segs: &[&str]) -> Url {
        let mut u = base.clone();
        {
            let mut p = u.path_segments_mut().expect("service URL has a path");
            p.pop_if_empty();
            p.extend(segs);
        }
        u
    }

    /// The providers.v1 download document, as Terraform would read it.
    pub async fn provider_download(
        &self,
        p: &ProviderAddress,
        version: &str,
        os: &str,
        arch: &str,
    ) -> Result<ProviderDownload, ApiError> {
        let s = self.services().await?;
        let u = Self::service_url(
            &s.providers,
            &[p.namespace(), p.name(), version, "download", os, arch],
        );
        let raw = self.request(Method::GET, u.clone(), None, true).await?;
        serde_json::from_slice(&raw.body).map_err(|e| ApiError::Decode {
            method: "GET".into(),
            path: u.path().to_string(),
            reason: e.to_string(),
        })
    }

    /// The `X-Terraform-Get` location of a module version (resolved to an absolute URL).
    pub async fn module_download_url(
        &self,
        m: &ModuleAddress,
        version: &str,
    ) -> Result<String, ApiError> {
        let s = self.services().await?;
        let u = Self::service_url(
            &s.modules,
            &[m.namespace(), m.name(), m.provider(), version, "download"],
        );
        let raw = self.request(Method::GET, u.clone(), None, true).await?;
        let loc = raw
            .headers
            .get("x-terraform-get")
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| ApiError::Decode {
                method: "GET".into(),
                path: u.path().to_string(),
                reason: format!("HTTP {} without an X-Terraform-Get header", raw.status),
            })?;
        Ok(u.join(loc)
            .map(|x| x.to_string())
            .unwrap_or_else(|_| loc.to_string()))
    }

    /// Unauthenticated GET of a download URL (as Terraform fetches archives).
    pub async fn fetch(&self, url: &str) -> Result<bytes::Bytes, ApiError> {
        let u = Url::parse(url).map_err(|e| ApiError::Decode {
            method: "GET".into(),
            path: "(download URL)".into(),
            reason: e.to_string(),
        })?;
        let started = Instant::now();
        let mut attempts = 0;
        loop {
            attempts += 1;
            self.count.fetch_add(1, Ordering::Relaxed);
            let res = async {
                let r = self
                    .plain
                    .get(u.clone())
                    .timeout(API_TIMEOUT * 5)
                    .send()
                    .await?;
                let status = r.status().as_u16();
                let headers = r.headers().clone();
                let body = r.bytes().await?;
                Ok::<_, reqwest::Error>(Raw {
                    status,
                    headers,
                    body,
                })
            }
            .await;
            let (err, floor) = match res {
                Ok(raw) if (200..300).contains(&raw.status) => return Ok(raw.body),
                Ok(raw) => {
                    let floor = rate_limit_reset(&raw.headers);
                    let e = self.classify(&Method::GET, &u, raw).err().expect("non-2xx");
                    (e, floor)
                }
                Err(e) => (transport_error(&Method::GET, u.path(), e), None),
            };
            match self.next_delay(&err, attempts, started, floor) {
                Some(d) => tokio::time::sleep(d).await,
                None => return Err(Self::exhausted(err, attempts)),
            }
        }
    }
}

pub(crate) fn transport_error(method: &Method, path: &str, e: reqwest::Error) -> ApiError {
    if e.is_timeout() {
        return ApiError::Timeout {
            method: method.to_string(),
            path: path.to_string(),
        };
    }
    let e = e.without_url();
    let mut message = e.to_string();
    let mut src = std::error::Error::source(&e);
    while let Some(cause) = src {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        src = cause.source();
    }
    ApiError::Transport {
        method: method.to_string(),
        path: path.to_string(),
        message,
    }
}

/// `X-RateLimit-Reset` in (float) seconds.
fn rate_limit_reset(h: &HeaderMap) -> Option<Duration> {
    h.get("x-ratelimit-reset")
        .and_then(|v| v.to_str().ok())
        .and_then(|s| s.trim().parse::<f64>().ok())
        .filter(|f| f.is_finite() && *f >= 0.0)
        .map(|f| Duration::from_secs_f64(f.min(300.0)))
}
