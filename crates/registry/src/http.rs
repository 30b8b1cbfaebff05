//! Routing and what every endpoint shares: JSON:API documents and error objects, bearer
//! authentication, request-time link building, pagination, fault injection and the
//! archivist (one-shot upload URLs and unauthenticated downloads).

use std::collections::HashMap;

use axum::body::Body;
use axum::extract::{ConnectInfo, Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::Router;
use futures_util::StreamExt;
use rusqlite::OptionalExtension;
use serde_json::{json, Value};

use super::faults::ConnControl;
use super::{api_modules, api_providers, consumer, gpg, SharedState};

pub(crate) const JSONAPI: &str = "application/vnd.api+json";

pub(crate) fn router(state: SharedState) -> Router {
    let org = "/api/v2/organizations/{org}";
    let modp = format!("{org}/registry-modules/{{registry}}/{{ns}}/{{name}}");
    let provp = format!("{org}/registry-providers/{{registry}}/{{ns}}/{{name}}");
    Router::new()
        .route("/api/v2/ping", get(ping))
        .route(
            &format!("{org}/registry-modules"),
            get(api_modules::list).post(api_modules::create),
        )
        .route(&modp, axum::routing::delete(api_modules::delete_module))
        .route(
            &format!("{modp}/{{provider}}"),
            get(api_modules::get_module).delete(api_modules::delete_provider),
        )
        .route(
            &format!("{modp}/{{provider}}/versions"),
            post(api_modules::create_version),
        )
        .route(
            &format!("{modp}/{{provider}}/version"),
            get(api_modules::get_version),
        )
        .route(
            &format!("{modp}/{{provider}}/{{version}}"),
            axum::routing::delete(api_modules::delete_version).patch(api_modules::patch_version),
        )
        .route(
            "/api/v2/registry-modules/{org}/{name}/{provider}/versions",
            post(api_modules::create_version_deprecated),
        )
        .route(
            &format!("{org}/registry-providers"),
            get(api_providers::list).post(api_providers::create),
        )
        .route(
            &provp,
            get(api_providers::get_provider).delete(api_providers::delete_provider),
        )
        .route(
            &format!("{provp}/versions"),
            get(api_providers::list_versions).post(api_providers::create_version),
        )
        .route(
            &format!("{provp}/versions/{{version}}"),
            get(api_providers::get_version).delete(api_providers::delete_version),
        )
        .route(
            &format!("{provp}/versions/{{version}}/platforms"),
            get(api_providers::list_platforms).post(api_providers::create_platform),
        )
        .route(
            &format!("{provp}/versions/{{version}}/platforms/{{os}}/{{arch}}"),
            get(api_providers::get_platform).delete(api_providers::delete_platform),
        )
        .route(
            "/api/registry/private/v2/gpg-keys",
            get(gpg::list).post(gpg::create),
        )
        .route(
            "/api/registry/private/v2/gpg-keys/{ns}/{key_id}",
            get(gpg::get_key).patch(gpg::update).delete(gpg::delete),
        )
        .route("/.well-known/terraform.json", get(consumer::discovery))
        .route(
            "/api/registry/v1/modules/{ns}/{name}/{provider}/versions",
            get(consumer::module_versions),
        )
        .route(
            "/api/registry/v1/modules/{ns}/{name}/{provider}/{version}/download",
            get(consumer::module_download),
        )
        .route(
            "/api/registry/v1/providers/{ns}/{name}/versions",
            get(consumer::provider_versions),
        )
        .route(
            "/api/registry/v1/providers/{ns}/{name}/{version}/download/{os}/{arch}",
            get(consumer::provider_download),
        )
        .route("/_archivist/upload/{token}", put(upload))
        .route("/_archivist/blobs/{sha}/{filename}", get(download))
        .fallback(fallback)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            fault_layer,
        ))
        .with_state(state)
}

/// Counts the request, applies latency and the injected 429/5xx, adds rate-limit headers.
async fn fault_layer(State(state): State<SharedState>, req: Request, next: Next) -> Response {
    let path = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_default();
    state.stats.record(req.method().as_str(), &path);
    let latency = state.faults.latency();
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let is_api = path.starts_with("/api/");
    if is_api {
        if let Some(reset) = state.faults.take_rate_limit() {
            let mut resp = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too many requests",
                "You have exceeded the API's rate limit.",
            )
            .into_response();
            if let Ok(v) = HeaderValue::from_str(&format!("{reset:.3}")) {
                resp.headers_mut().insert("x-ratelimit-reset", v);
            }
            resp.headers_mut()
                .insert("x-ratelimit-limit", HeaderValue::from_static("30"));
            return resp;
        }
        if let Some(status) = state.faults.take_fail() {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            return ApiError::new(status, "injected failure", "fault injected by the test")
                .into_response();
        }
    }
    let mut resp = next.run(req).await;
    if is_api {
        resp.headers_mut()
            .insert("x-ratelimit-limit", HeaderValue::from_static("30"));
    }
    resp
}

async fn ping() -> Response {
    let mut resp = StatusCode::NO_CONTENT.into_response();
    let h = resp.headers_mut();
    h.insert("tfp-api-version", HeaderValue::from_static("2.6"));
    h.insert("x-tfe-version", HeaderValue::from_static("tfpub-local"));
    resp
}

async fn fallback() -> ApiError {
    ApiError::not_found("no such endpoint")
}

/// A JSON:API error object response.
#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    title: String,
    detail: String,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, title: &str, detail: impl Into<String>) -> ApiError {
        ApiError {
            status,
            title: title.to_string(),
            detail: detail.into(),
        }
    }
    pub(crate) fn not_found(detail: impl Into<String>) -> ApiError {
        Self::new(StatusCode::NOT_FOUND, "not found", detail)
    }
    pub(crate) fn invalid(detail: impl Into<String>) -> ApiError {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid attribute",
            detail,
        )
    }
    pub(crate) fn bad_request(detail: impl Into<String>) -> ApiError {
        Self::new(StatusCode::BAD_REQUEST, "bad request", detail)
    }
    pub(crate) fn unauthorized() -> ApiError {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "missing or invalid bearer token",
        )
    }
    pub(crate) fn internal(detail: impl Into<String>) -> ApiError {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal error", detail)
    }
}

impl From<rusqlite::Error> for ApiError {
    fn from(e: rusqlite::Error) -> Self {
        ApiError::internal(format!("database error: {e}"))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({"errors": [{
            "status": self.status.as_u16().to_string(),
            "title": self.title,
            "detail": self.detail,
        }]});
        (
            self.status,
            [(axum::http::header::CONTENT_TYPE, JSONAPI)],
            body.to_string(),
        )
            .into_response()
    }
}

pub(crate) type ApiResult = Result<Response, ApiError>;

/// A JSON:API document response.
pub(crate) fn doc(status: StatusCode, body: Value) -> Response {
    (
        status,
        [(axum::http::header::CONTENT_TYPE, JSONAPI)],
        body.to_string(),
    )
        .into_response()
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let t = v
        .strip_prefix("Bearer ")
        .or_else(|| v.strip_prefix("bearer "))?;
    let t = t.trim();
    (!t.is_empty()).then_some(t)
}

/// Checks the caller may use organization `org`: with tokens, 401 for a missing or unknown
/// token and 404 for an org the token lacks (the API hides existence); in easy mode any
/// token works and only writes need one.
pub(crate) fn authorize(
    state: &SharedState,
    headers: &HeaderMap,
    org: &str,
    write: bool,
) -> Result<(), ApiError> {
    let token = bearer(headers);
    match &state.tokens {
        None => {
            if write && token.is_none() {
                Err(ApiError::unauthorized())
            } else {
                Ok(())
            }
        }
        Some(map) => {
            let orgs = token
                .and_then(|t| map.get(t))
                .ok_or_else(ApiError::unauthorized)?;
            if orgs.iter().any(|o| o == org) {
                Ok(())
            } else {
                Err(ApiError::not_found(format!(
                    "organization {org:?} not found or not authorized"
                )))
            }
        }
    }
}

/// The base URL links are built on: the configured public URL, else the `Host` header.
pub(crate) fn base_url(state: &SharedState, headers: &HeaderMap) -> url::Url {
    if let Some(u) = &state.public_url {
        let mut u = u.clone();
        if !u.path().ends_with('/') {
            let p = format!("{}/", u.path());
            u.set_path(&p);
        }
        return u;
    }
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_string)
        .unwrap_or_else(|| state.local_addr.to_string());
    url::Url::parse(&format!("http://{host}/"))
        .unwrap_or_else(|_| url::Url::parse(&format!("http://{}/", state.local_addr)).expect("url"))
}

pub(crate) fn link(base: &url::Url, path: &str) -> String {
    base.join(path.trim_start_matches('/'))
        .map(|u| u.to_string())
        .unwrap_or_else(|_| format!("{base}{path}"))
}

/// Parses a JSON:API request body and returns `data.attributes` (an object).
pub(crate) fn attributes(body: &[u8]) -> Result<serde_json::Map<String, Value>, ApiError> {
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::invalid(format!("request body is not valid JSON: {e}")))?;
    match v.pointer("/data/attributes") {
        Some(Value::Object(m)) => Ok(m.clone()),
        _ => Err(ApiError::invalid(
            "request body has no data.attributes object",
        )),
    }
}

pub(crate) fn required_str<'a>(
    attrs: &'a serde_json::Map<String, Value>,
    key: &str,
) -> Result<&'a str, ApiError> {
    match attrs.get(key) {
        Some(Value::String(s)) if !s.is_empty() => Ok(s),
        Some(_) => Err(ApiError::invalid(format!(
            "attribute {key:?} must be a non-empty string"
        ))),
        None => Err(ApiError::invalid(format!("attribute {key:?} is required"))),
    }
}

/// Names of organizations, namespaces, modules and providers: letters, digits, `-`, `_`.
pub(crate) fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

pub(crate) fn valid_semver(s: &str) -> bool {
    semver::Version::parse(s).is_ok()
}

/// `page[number]` / `page[size]` (max 100): (page, size).
pub(crate) fn page_params(q: &HashMap<String, String>) -> Result<(usize, usize), ApiError> {
    let num =
        |k: &str, d: usize| -> Result<usize, ApiError> {
            match q.get(k) {
                None => Ok(d),
                Some(s) => s.parse::<usize>().ok().filter(|n| *n > 0).ok_or_else(|| {
                    ApiError::bad_request(format!("{k} must be a positive integer"))
                }),
            }
        };
    Ok((num("page[number]", 1)?, num("page[size]", 20)?.min(100)))
}

/// Slices `items` into the requested page and builds `meta.pagination`.
pub(crate) fn paginate(items: Vec<Value>, page: usize, size: usize) -> (Vec<Value>, Value) {
    let total = items.len();
    let pages = total.div_ceil(size).max(1);
    let slice: Vec<Value> = items
        .into_iter()
        .skip((page - 1) * size)
        .take(size)
        .collect();
    let meta = json!({"pagination": {
        "current-page": page,
        "page-size": size,
        "prev-page": if page > 1 { json!(page - 1) } else { Value::Null },
        "next-page": if page < pages { json!(page + 1) } else { Value::Null },
        "total-pages": pages,
        "total-count": total,
    }});
    (slice, meta)
}

/// Upload kinds: what a completed archivist upload is attached to.
pub(crate) const UP_MODULE: &str = "module";
pub(crate) const UP_SHASUMS: &str = "shasums";
pub(crate) const UP_SHASUMS_SIG: &str = "shasums-sig";
pub(crate) const UP_BINARY: &str = "binary";

/// The one-shot upload URL for (kind, target), minted on first use.
pub(crate) fn upload_link(
    conn: &rusqlite::Connection,
    base: &url::Url,
    kind: &str,
    target: i64,
) -> Result<String, ApiError> {
    let existing: Option<String> = conn
        .query_row(
            "SELECT token FROM uploads WHERE kind=?1 AND target=?2",
            rusqlite::params![kind, target],
            |r| r.get(0),
        )
        .optional()?;
    let token = match existing {
        Some(t) => t,
        None => {
            let t = hex::encode(rand::random::<[u8; 24]>());
            conn.execute(
                "INSERT INTO uploads (token, kind, target) VALUES (?1, ?2, ?3)",
                rusqlite::params![t, kind, target],
            )?;
            t
        }
    };
    Ok(link(base, &format!("_archivist/upload/{token}")))
}

pub(crate) fn download_link(base: &url::Url, sha: &str, filename: &str) -> String {
    link(base, &format!("_archivist/blobs/{sha}/{filename}"))
}

async fn upload(
    State(state): State<SharedState>,
    ConnectInfo(conn_ctl): ConnectInfo<ConnControl>,
    Path(token): Path<String>,
    body: Body,
) -> ApiResult {
    let found: Option<(String, i64)> = {
        let conn = state.db.lock().unwrap_or_else(|e| e.into_inner());
        conn.query_row(
            "SELECT kind, target FROM uploads WHERE token=?1",
            [&token],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?
    };
    let Some((kind, target)) = found else {
        return Err(ApiError::not_found("unknown or already used upload URL"));
    };
    if state.faults.take_drop_upload() {
        let mut stream = body.into_data_stream();
        let _ = stream.next().await;
        conn_ctl.kill();
        return Err(ApiError::internal("upload dropped by fault"));
    }
    if state.faults.take_lose_upload() {
        let mut stream = body.into_data_stream();
        while let Some(chunk) = stream.next().await {
            if chunk.is_err() {
                break;
            }
        }
        return Ok(StatusCode::OK.into_response());
    }
    let sha = state
        .blobs
        .store(body)
        .await
        .map_err(|e| ApiError::bad_request(format!("upload did not complete: {e}")))?;
    match kind.as_str() {
        UP_MODULE => api_modules::attach_upload(&state, target, &sha, &token)?,
        _ => api_providers::attach_upload(&state, &kind, target, &sha, &token)?,
    }
    Ok(StatusCode::OK.into_response())
}

async fn download(
    State(state): State<SharedState>,
    Path((sha, _filename)): Path<(String, String)>,
) -> ApiResult {
    let path = state
        .blobs
        .path(&sha)
        .ok_or_else(|| ApiError::not_found("no such file"))?;
    let bytes = tokio::fs::read(&path)
        .await
        .map_err(|_| ApiError::not_found("no such file"))?;
    Ok((
        StatusCode::OK,
        [(axum::http::header::CONTENT_TYPE, "application/octet-stream")],
        bytes,
    )
        .into_response())
}
