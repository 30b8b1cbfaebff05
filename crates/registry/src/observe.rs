//! The layer every request passes: counts it (`Stats`), lets the fault hook answer in its
//! place, and adds the rate-limit header API answers carry.
//!
//! Imports `state` only (the fault hook comes with it); only `routes` imports this file.

use axum::extract::{Request, State};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;

use crate::state::SharedState;

pub(crate) async fn layer(State(state): State<SharedState>, req: Request, next: Next) -> Response {
    let path = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_default();
    state.stats.record(req.method().as_str(), &path);
    let is_api = path.starts_with("/api/");
    if let Some(injected) = state.faults.before_request(is_api).await {
        return injected;
    }
    let started = std::time::Instant::now();
    let mut resp = next.run(req).await;
    let api_time = is_api.then(|| started.elapsed());
    state.stats.answered(resp.status().as_u16(), api_time);
    if is_api {
        resp.headers_mut()
            .insert("x-ratelimit-limit", HeaderValue::from_static("30"));
    }
    resp
}
