//! The layer every request passes: counts it (`Stats`), refuses it past the per-token
//! limit (`--rate-limit`), lets the fault hook answer in its place, and adds the
//! rate-limit header API answers carry.
//!
//! Imports `state` (the fault hook and the limit come with it) and `jsonapi` (the 429
//! answer); only `routes` imports this file.

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
    let limit = state.rate_limit.as_ref().map_or(30, |rl| rl.limit());
    if let (true, Some(rl)) = (is_api, &state.rate_limit) {
        let caller = req
            .headers()
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if let Some(reset) = rl.check(caller, std::time::Instant::now()) {
            state.stats.answered(429, None);
            return crate::jsonapi::too_many_requests(reset.as_secs_f64(), limit);
        }
    }
    if let Some(injected) = state.faults.before_request(is_api).await {
        return injected;
    }
    let started = std::time::Instant::now();
    let mut resp = next.run(req).await;
    let api_time = is_api.then(|| started.elapsed());
    state.stats.answered(resp.status().as_u16(), api_time);
    if is_api {
        resp.headers_mut()
            .insert("x-ratelimit-limit", HeaderValue::from(limit));
    }
    resp
}
