//! The JSON:API shape every management endpoint shares: the error object ([`Problem`]),
//! documents, request-time links (base URL from the public URL or the `Host` header),
//! request-body attribute parsing, name/version validation and pagination.
//!
//! Imports only `store` (to turn a store refusal into an HTTP status). Must not import
//! the state, handlers, routes or faults.

use std::collections::HashMap;
use std::net::SocketAddr;

use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use crate::store::StoreError;

pub(crate) const JSONAPI: &str = "application/vnd.api+json";

/// A JSON:API error object answer: status, title and detail. (Named apart from the
/// client's `ApiError`, which is what a caller makes of such an answer.)
#[derive(Debug)]
pub(crate) struct Problem {
    status: StatusCode,
    title: String,
    detail: String,
}

impl Problem {
    pub(crate) fn new(status: StatusCode, title: &str, detail: impl Into<String>) -> Problem {
        Problem {
            status,
            title: title.to_string(),
            detail: detail.into(),
        }
    }
    pub(crate) fn not_found(detail: impl Into<String>) -> Problem {
        Self::new(StatusCode::NOT_FOUND, "not found", detail)
    }
    pub(crate) fn invalid(detail: impl Into<String>) -> Problem {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid attribute",
            detail,
        )
    }
    pub(crate) fn bad_request(detail: impl Into<String>) -> Problem {
        Self::new(StatusCode::BAD_REQUEST, "bad request", detail)
    }
    pub(crate) fn conflict(detail: impl Into<String>) -> Problem {
        Self::new(StatusCode::CONFLICT, "conflict", detail)
    }
    pub(crate) fn unauthorized() -> Problem {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "missing or invalid bearer token",
        )
    }
    pub(crate) fn internal(detail: impl Into<String>) -> Problem {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal error", detail)
    }
    pub(crate) fn status(&self) -> StatusCode {
        self.status
    }
}

/// HCP Terraform's answer past its request limit: 429, the seconds until another
/// request would be accepted (`X-RateLimit-Reset`) and the limit (`X-RateLimit-Limit`).
pub(crate) fn too_many_requests(reset_secs: f64, limit: usize) -> Response {
    let mut resp = Problem::new(
        StatusCode::TOO_MANY_REQUESTS,
        "too many requests",
        "You have exceeded the API's rate limit.",
    )
    .into_response();
    if let Ok(v) = axum::http::HeaderValue::from_str(&format!("{reset_secs:.3}")) {
        resp.headers_mut().insert("x-ratelimit-reset", v);
    }
    resp.headers_mut()
        .insert("x-ratelimit-limit", axum::http::HeaderValue::from(limit));
    resp
}

impl From<StoreError> for Problem {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(d) => Problem::not_found(d),
            StoreError::Invalid(d) => Problem::invalid(d),
            StoreError::Conflict(d) => Problem::conflict(d),
            StoreError::Internal(d) => Problem::internal(d),
        }
    }
}

impl IntoResponse for Problem {
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

/// What a handler returns.
pub(crate) type Reply = Result<Response, Problem>;

/// A JSON:API document response.
pub(crate) fn doc(status: StatusCode, body: Value) -> Response {
    (
        status,
        [(axum::http::header::CONTENT_TYPE, JSONAPI)],
        body.to_string(),
    )
        .into_response()
}

/// A JSON:API document of one primary resource (or array): `{"data": data}`.
pub(crate) fn data_doc(status: StatusCode, data: impl Into<Value>) -> Response {
    doc(status, json!({ "data": data.into() }))
}

/// A `200` listing page: `items` sliced by [`paginate`], with its `meta`.
pub(crate) fn page_doc(items: Vec<Value>, page: usize, size: usize) -> Response {
    let (data, meta) = paginate(items, page, size);
    doc(StatusCode::OK, json!({"data": data, "meta": meta}))
}

/// The base URL links are built on: the configured public URL, else the `Host` header,
/// else the bound address.
pub(crate) fn base_url(
    public_url: Option<&url::Url>,
    local_addr: SocketAddr,
    headers: &HeaderMap,
) -> url::Url {
    if let Some(u) = public_url {
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
        .unwrap_or_else(|| local_addr.to_string());
    url::Url::parse(&format!("http://{host}/"))
        .unwrap_or_else(|_| url::Url::parse(&format!("http://{local_addr}/")).expect("url"))
}

pub(crate) fn link(base: &url::Url, path: &str) -> String {
    base.join(path.trim_start_matches('/'))
        .map(|u| u.to_string())
        .unwrap_or_else(|_| format!("{base}{path}"))
}

/// Parses a JSON:API request body and returns `data.attributes` (an object).
pub(crate) fn attributes(body: &[u8]) -> Result<serde_json::Map<String, Value>, Problem> {
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| Problem::invalid(format!("request body is not valid JSON: {e}")))?;
    match v.pointer("/data/attributes") {
        Some(Value::Object(m)) => Ok(m.clone()),
        _ => Err(Problem::invalid(
            "request body has no data.attributes object",
        )),
    }
}

pub(crate) fn required_str<'a>(
    attrs: &'a serde_json::Map<String, Value>,
    key: &str,
) -> Result<&'a str, Problem> {
    match attrs.get(key) {
        Some(Value::String(s)) if !s.is_empty() => Ok(s),
        Some(_) => Err(Problem::invalid(format!(
            "attribute {key:?} must be a non-empty string"
        ))),
        None => Err(Problem::invalid(format!("attribute {key:?} is required"))),
    }
}

/// Names of organizations, namespaces, modules and providers: letters, digits, `-`, `_`.
pub(crate) fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The longest organization or namespace name accepted.
pub(crate) const MAX_ORG_NAME: usize = 100;

/// Organization names (and so private namespaces) as HCP Terraform allows them: ASCII
/// letters, digits, `-` and `_`. The service documents the character set but no length;
/// we cap at [`MAX_ORG_NAME`] so a path cannot carry kilobytes into the database and every
/// link. Conservative on purpose: `.`, spaces, `%`-escapes and NUL never reach a store.
pub(crate) fn valid_org_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_ORG_NAME
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A semantic version, or the 422 the API answers for one that is not.
pub(crate) fn require_semver(s: &str) -> Result<(), Problem> {
    if semver::Version::parse(s).is_ok() {
        Ok(())
    } else {
        Err(Problem::invalid(format!(
            "Version {s:?} is not a valid semantic version (e.g. 1.2.3)"
        )))
    }
}

/// The highest `page[number]` accepted: far beyond any real listing, low enough that no
/// offset computed from it can overflow.
pub(crate) const MAX_PAGE_NUMBER: u64 = 1_000_000;

/// `page[number]` (1..=[`MAX_PAGE_NUMBER`]) / `page[size]` (positive, capped at 100):
/// (page, size).
pub(crate) fn page_params(q: &HashMap<String, String>) -> Result<(usize, usize), Problem> {
    let num = |k: &str, d: usize, max: u64| -> Result<usize, Problem> {
        match q.get(k) {
            None => Ok(d),
            Some(s) => s
                .parse::<u64>()
                .ok()
                .filter(|n| (1..=max).contains(n))
                .and_then(|n| usize::try_from(n).ok())
                .ok_or_else(|| {
                    Problem::bad_request(format!("{k} must be a positive integer up to {max}"))
                }),
        }
    };
    Ok((
        num("page[number]", 1, MAX_PAGE_NUMBER)?,
        num("page[size]", 20, u64::MAX)?.min(100),
    ))
}

/// A listing's `q` parameter: a record matches when any of its searched fields contains
/// it, ignoring case (without `q`, every record does).
pub(crate) struct Search(Option<String>);

impl Search {
    pub(crate) fn of(q: &HashMap<String, String>) -> Search {
        Search(q.get("q").map(|s| s.to_lowercase()))
    }

    pub(crate) fn matches(&self, fields: &[&str]) -> bool {
        self.0
            .as_deref()
            .is_none_or(|n| fields.iter().any(|f| f.to_lowercase().contains(n)))
    }
}

/// Slices `items` into the requested page and builds `meta.pagination`. Saturating
/// arithmetic: a page past the end is empty, never an overflow.
pub(crate) fn paginate(items: Vec<Value>, page: usize, size: usize) -> (Vec<Value>, Value) {
    let size = size.max(1);
    let page = page.max(1);
    let total = items.len();
    let pages = total.div_ceil(size).max(1);
    let slice: Vec<Value> = items
        .into_iter()
        .skip((page - 1).saturating_mul(size))
        .take(size)
        .collect();
    let meta = json!({"pagination": {
        "current-page": page,
        "page-size": size,
        "prev-page": if page > 1 { json!(page - 1) } else { Value::Null },
        "next-page": if page < pages { json!(page.saturating_add(1)) } else { Value::Null },
        "total-pages": pages,
        "total-count": total,
    }});
    (slice, meta)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_matches_any_field_ignoring_case_and_everything_without_q() {
        let q = |v: &str| HashMap::from([("q".to_string(), v.to_string())]);
        assert!(Search::of(&q("VPC")).matches(&["network", "Vpc-Tools"]));
        assert!(!Search::of(&q("vpc")).matches(&["network", "tools"]));
        assert!(Search::of(&HashMap::new()).matches(&["anything"]));
        assert!(Search::of(&HashMap::new()).matches(&[]));
        assert!(!Search::of(&q("x")).matches(&[]));
    }
}
