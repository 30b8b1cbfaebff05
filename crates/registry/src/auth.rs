//! Who may use which organization: the bearer token against the tokens file, or easy
//! local mode (any token; writes need one).
//!
//! Imports `state`, `jsonapi` and the grant types of `permissions` only; must not import
//! handlers or stores.

use axum::http::HeaderMap;

use crate::jsonapi::Problem;
use crate::permissions::TokenGrant;
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
            if expired(state, token) {
                return Err(Problem::unauthorized());
            }
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

/// The caller of a request: its bearer token (if any) and what the token may do.
pub(crate) struct Caller {
    pub token: Option<String>,
    pub grant: TokenGrant,
}

/// The grant of the request's token: its object-form entry in the tokens file, else
/// everything on the organizations of its list-form entry (or, in easy mode, on any).
pub(crate) fn caller(state: &AppState, headers: &HeaderMap) -> Caller {
    let token = bearer(headers);
    let grant = token
        .and_then(|t| state.grants.get(t).cloned())
        .unwrap_or_else(|| {
            let orgs = token
                .and_then(|t| state.tokens.as_ref()?.get(t).cloned())
                .unwrap_or_default();
            TokenGrant::all(orgs)
        });
    Caller {
        token: token.map(str::to_string),
        grant,
    }
}

fn expired(state: &AppState, token: Option<&str>) -> bool {
    let now = chrono::Utc::now();
    token
        .and_then(|t| state.grants.get(t))
        .and_then(|g| g.expired_at)
        .is_some_and(|at| at <= now)
}

/// What a write needs beyond access to the organization.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Need {
    /// Create or change private modules (Manage Private Registry).
    Modules,
    /// Create or change private providers (Manage Private Registry).
    Providers,
    /// Add or remove public registry entries (curation).
    PublicModules,
    PublicProviders,
}

/// A write to organization `org` ([`authorize`]) that the token's grant must allow
/// ([`require`]), checked in that order.
pub(crate) fn authorize_write(
    state: &AppState,
    headers: &HeaderMap,
    org: &str,
    need: Need,
) -> Result<(), Problem> {
    authorize(state, headers, org, true)?;
    require(state, headers, need)
}

/// Refuses (403, as HCP Terraform does) a write the token's grant does not allow.
pub(crate) fn require(state: &AppState, headers: &HeaderMap, need: Need) -> Result<(), Problem> {
    let g = caller(state, headers).grant;
    let p = &g.permissions;
    let (ok, what) = match need {
        Need::Modules => (p.can_create_module, "manage private modules"),
        Need::Providers => (p.can_create_provider, "manage private providers"),
        Need::PublicModules => (p.can_manage_public_modules, "manage public modules"),
        Need::PublicProviders => (p.can_manage_public_providers, "manage public providers"),
    };
    if ok && g.private_module_registry {
        return Ok(());
    }
    let why = if g.private_module_registry {
        format!("this token may not {what} in this organization")
    } else {
        "the organization is not entitled to the private registry".to_string()
    };
    Err(Problem::new(
        axum::http::StatusCode::FORBIDDEN,
        "forbidden",
        why,
    ))
}
