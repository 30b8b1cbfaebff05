//! Who may use which organization: the bearer token against the tokens file, or easy
//! local mode (any token; writes need one).
//!
//! Imports `state` and `jsonapi` only; must not import handlers or stores.

use axum::http::HeaderMap;

use crate::jsonapi::Problem;
use crate::state::AppState;

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
    state: &AppState,
    headers: &HeaderMap,
    org: &str,
    write: bool,
) -> Result<(), Problem> {
    let token = bearer(headers);
    match &state.tokens {
        None => {
            if write && token.is_none() {
                Err(Problem::unauthorized())
            } else {
                Ok(())
            }
        }
        Some(map) => {
            let orgs = token
                .and_then(|t| map.get(t))
                .ok_or_else(Problem::unauthorized)?;
            if orgs.iter().any(|o| o == org) {
                Ok(())
            } else {
                Err(Problem::not_found(format!(
                    "organization {org:?} not found or not authorized"
                )))
            }
        }
    }
}
