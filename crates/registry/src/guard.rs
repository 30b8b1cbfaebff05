//! Checks every request passes before a handler sees it, so a handler can trust what it
//! is given: query parameters (numbers in range, bounded text), names in the path
//! (organizations and namespaces by the service's rule), and a JSON:API error shape for
//! anything axum's own extractors refuse (they answer plain text). In easy local mode
//! (any token accepted) it also stands in for the missing authentication against DNS
//! rebinding: only loopback `Host` values (or the configured public URL) are served, and
//! API writes must carry a JSON content type, which a web page cannot send cross-origin
//! without a CORS preflight this registry never grants.
//!
//! Imports `state` and `jsonapi` only; only `routes` imports this file.

use std::net::IpAddr;

use axum::extract::{RawPathParams, Request, State};
use axum::http::{header, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::jsonapi::{valid_org_name, Problem, MAX_ORG_NAME, MAX_PAGE_NUMBER};
use crate::state::SharedState;

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

/// Whether `host` (a `Host` header value, maybe with a port) names this machine's
/// loopback: 127.0.0.0/8, `[::1]`, `localhost` or a `*.localhost` name (RFC 6761 reserves
/// them for loopback, so no public DNS name can rebind to them).
fn loopback_host(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        Some(rest) => match rest.split_once(']') {
            Some((ip, _)) => ip,
            None => return false,
        },
        None => host.rsplit_once(':').map_or(host, |(h, port)| {
            if port.bytes().all(|b| b.is_ascii_digit()) {
                h
            } else {
                host
            }
        }),
    };
    if let Ok(ip) = name.parse::<IpAddr>() {
        return ip.is_loopback();
    }
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    name == "localhost" || name.ends_with(".localhost")
}

/// Whether `host` is the host (and port, if it has one) of the configured public URL.
fn public_host(public: Option<&url::Url>, host: &str) -> bool {
    public.is_some_and(|u| {
        let Some(h) = u.host_str() else { return false };
        let with_port = match u.port() {
            Some(p) => format!("{h}:{p}"),
            None => h.to_string(),
        };
        host.eq_ignore_ascii_case(&with_port) || host.eq_ignore_ascii_case(h)
    })
}

/// `application/vnd.api+json` or `application/json`, parameters allowed.
fn json_content_type(req: &Request) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .is_some_and(|m| m == "application/vnd.api+json" || m == "application/json")
}

/// In easy local mode, refuses a `Host` that is neither loopback nor the public URL's
/// (403); in every mode, refuses an API POST/PATCH whose body is not declared JSON (415).
/// Archivist uploads (PUT, any content type) are not API writes.
pub(crate) async fn origin(State(state): State<SharedState>, req: Request, next: Next) -> Response {
    if state.tokens.is_none() {
        let host = req
            .headers()
            .get(header::HOST)
            .map(|h| h.to_str().unwrap_or("\u{fffd}"));
        if let Some(host) = host {
            if !loopback_host(host) && !public_host(state.public_url.as_ref(), host) {
                return Problem::new(
                    StatusCode::FORBIDDEN,
                    "forbidden",
                    format!(
                        "host {:?} is not served: without a tokens file this registry answers only requests addressed to a loopback name (127.0.0.1, [::1], localhost) or its public URL",
                        host.chars().take(100).collect::<String>()
                    ),
                )
                .into_response();
            }
        }
    }
    let write = req.method() == Method::POST || req.method() == Method::PATCH;
    // A write without a body carries nothing to forge (it is refused as invalid anyway).
    let has_body = req.headers().contains_key(header::TRANSFER_ENCODING)
        || req
            .headers()
            .get(header::CONTENT_LENGTH)
            .is_some_and(|v| v.as_bytes() != b"0");
    if write && has_body && req.uri().path().starts_with("/api/") && !json_content_type(&req) {
        return Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported media type",
            "API writes must be sent as application/vnd.api+json",
        )
        .into_response();
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts() {
        for ok in [
            "127.0.0.1",
            "127.0.0.1:8080",
            "127.9.9.9:1",
            "[::1]:443",
            "[::1]",
            "localhost",
            "LOCALHOST:99",
            "registry.tfpub.localhost:8080",
        ] {
            assert!(loopback_host(ok), "{ok}");
        }
        for bad in [
            "evil.example",
            "evil.example:80",
            "localhost.evil.example",
            "10.0.0.1:80",
            "[::2]:80",
            "[::1",
            "127.0.0.1.nip.io",
        ] {
            assert!(!loopback_host(bad), "{bad}");
        }
    }

    #[test]
    fn public_url_host() {
        let u = url::Url::parse("https://reg.example.com:8443/").unwrap();
        assert!(public_host(Some(&u), "reg.example.com:8443"));
        assert!(!public_host(Some(&u), "other.example.com:8443"));
        assert!(!public_host(None, "reg.example.com"));
    }
}
