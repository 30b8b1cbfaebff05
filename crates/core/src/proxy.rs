//! HTTP proxies: which one a request goes through, and a fast, clear failure when it is
//! down.
//!
//! tfpub never configures a proxy itself. Both HTTP clients (the API client and the plain
//! one that uploads to archivist links) are built without `no_proxy()`, so reqwest applies
//! `HTTPS_PROXY`/`HTTP_PROXY`/`ALL_PROXY` and `NO_PROXY` (upper or lower case) as curl does.
//! This module asks the very matcher reqwest uses (hyper-util's) rather than keeping a
//! second copy of those rules, so what it reports is what the clients do.
//!
//! Why a preflight: a request through an unreachable proxy fails like an unreachable
//! registry, and the retry loop would spend several back-offs on it before an error that
//! names the registry, not the proxy. [`preflight`] opens one TCP connection to the proxy
//! first and fails at once, naming the proxy and the variable family that chose it.
//! Credentials in a proxy URL (`http://user:pass@proxy:3128`) are never shown.

use std::time::Duration;

use url::Url;

use crate::error::Hint;

/// How long the preflight waits for the proxy to accept a connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Errors from checking the proxy.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    #[error("cannot reach the proxy {proxy} that the environment sets for {target}: {reason}")]
    Unreachable {
        proxy: String,
        target: String,
        reason: String,
    },
}

impl Hint for ProxyError {
    fn hint(&self) -> Option<String> {
        Some(
            "check HTTPS_PROXY / HTTP_PROXY / ALL_PROXY (and their lower-case forms), or list \
             the registry host in NO_PROXY to connect directly"
                .into(),
        )
    }
}

/// The proxy requests to `url` go through, if any: its address for connecting and its
/// URL for messages (credentials replaced by `***`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub host: String,
    pub port: u16,
    /// `scheme://[***@]host:port`, safe to print.
    pub shown: String,
}

/// Which proxy the environment routes `url` through (`None`: a direct connection).
pub fn route(url: &Url) -> Option<Route> {
    let uri: http::Uri = url.as_str().parse().ok()?;
    let matcher = hyper_util::client::proxy::matcher::Matcher::from_system();
    let hit = matcher.intercept(&uri)?;
    let proxy = hit.uri();
    let scheme = proxy.scheme_str().unwrap_or("http");
    let host = proxy.host()?.to_string();
    let port = proxy.port_u16().unwrap_or(match scheme {
        "https" => 443,
        "http" => 80,
        _ => 1080,
    });
    let creds = if hit.basic_auth().is_some() || hit.raw_auth().is_some() {
        "***@"
    } else {
        ""
    };
    let shown = format!("{scheme}://{creds}{host}:{port}");
    Some(Route { host, port, shown })
}

/// When the environment routes `url` through a proxy, checks that the proxy accepts a TCP
/// connection (within a few seconds) and returns its route.
pub async fn preflight(url: &Url) -> Result<Option<Route>, ProxyError> {
    let Some(r) = route(url) else {
        return Ok(None);
    };
    let host = r.host.trim_start_matches('[').trim_end_matches(']');
    let connect = tokio::net::TcpStream::connect((host, r.port));
    let reason = match tokio::time::timeout(CONNECT_TIMEOUT, connect).await {
        Ok(Ok(_)) => return Ok(Some(r)),
        Ok(Err(e)) => e.to_string(),
        Err(_) => format!("no answer within {}s", CONNECT_TIMEOUT.as_secs()),
    };
    Err(ProxyError::Unreachable {
        proxy: r.shown,
        target: url.origin().ascii_serialization(),
        reason,
    })
}
