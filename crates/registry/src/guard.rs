//! Checks every request passes before a handler sees it, so a handler can trust what it
//! is given: query parameters (numbers in range, bounded text), names in the path
//! (organizations and namespaces by the service's rule), and a JSON:API error shape for
//! anything axum's own extractors refuse (they answer plain text).
//!
//! Imports `state` and `jsonapi` only; only `routes` imports this file.

use axum::extract::{RawPathParams, Request};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::jsonapi::{valid_org_name, Problem, MAX_ORG_NAME, MAX_PAGE_NUMBER};

/// The longest query parameter value accepted (search terms, filters, versions).
const MAX_QUERY_VALUE: usize = 256;

/// Query parameters: numbers must be positive integers in range, everything else bounded
/// text without control characters. The handlers read them again; this is the one place
/// that refuses what no handler should have to think about.
pub(crate) fn check_query(query: Option<&str>) -> Result<(), Problem> {
    let Some(query) = query else { return Ok(()) };
    for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
        if k.len() > MAX_QUERY_VALUE || v.len() > MAX_QUERY_VALUE {
            return Err(Problem::bad_request(format!(
                "query parameter {:?} is longer than {MAX_QUERY_VALUE} bytes",
                k.chars().take(40).collect::<String>()
            )));
        }
        if k.chars().chain(v.chars()).any(char::is_control) {
            return Err(Problem::bad_request(format!(
                "query parameter {k:?} contains control characters"
            )));
        }
        if k == "page[number]" || k == "page[size]" {
            let n = v.parse::<u64>().ok().filter(|n| *n > 0);
            match n {
                Some(n) if k == "page[size]" || n <= MAX_PAGE_NUMBER => {}
                _ => {
                    return Err(Problem::bad_request(format!(
                        "{k} must be a positive integer{}",
                        if k == "page[number]" {
                            format!(" up to {MAX_PAGE_NUMBER}")
                        } else {
                            String::new()
                        }
                    )))
                }
            }
        }
    }
    Ok(())
}

/// The layer every request passes: refuses bad query strings and turns a plain-text
/// rejection of axum's extractors into a JSON:API error.
pub(crate) async fn request(req: Request, next: Next) -> Response {
    if let Err(p) = check_query(req.uri().query()) {
        return p.into_response();
    }
    jsonapi_rejections(next.run(req).await).await
}

/// A 4xx/5xx answer that is not JSON (an extractor's rejection: bad path encoding, bad
/// query, body too large) re-shaped as a JSON:API error, its text as the detail.
async fn jsonapi_rejections(resp: Response) -> Response {
    let status = resp.status();
    let is_json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return resp;
    }
    let text = axum::body::to_bytes(resp.into_body(), 4096)
        .await
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    let title = status
        .canonical_reason()
        .unwrap_or("error")
        .to_ascii_lowercase();
    let detail = if text.trim().is_empty() {
        title.clone()
    } else {
        text
    };
    Problem::new(status, &title, detail).into_response()
}

/// Names in the matched route's path: `org` and `ns` must follow the organization-name
/// rule (see [`valid_org_name`]); 404 otherwise, as for an organization that does not
/// exist, so nothing such is ever stored or echoed into a link.
pub(crate) async fn path_names(params: RawPathParams, req: Request, next: Next) -> Response {
    for (key, value) in &params {
        if matches!(key, "org" | "ns") && !valid_org_name(value) {
            return Problem::not_found(format!(
                "{} {:?} is not a valid name: use letters, digits, '-' and '_' (at most {MAX_ORG_NAME})",
                if key == "org" { "organization" } else { "namespace" },
                value.chars().take(60).collect::<String>()
            ))
            .into_response();
        }
    }
    next.run(req).await
}
