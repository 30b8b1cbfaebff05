//! What a token may do, beyond which organizations it may use: the object form of the
//! tokens file ([`TokenGrant`]), and the endpoints a client reads it through, shaped as
//! HCP Terraform answers them: `GET /organizations/:org` (its `permissions`),
//! `GET /organizations/:org/entitlement-set` (`private-module-registry`),
//! `GET /account/details` (user or service account) and
//! `GET /users/:id/authentication-tokens` (the token's `expired-at`).
//!
//! Imports `auth`, `jsonapi` and `state`; nothing imports the handlers here but `routes`
//! (the grant types are re-exported by `lib.rs`).

use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::auth::{authorize, caller};
use crate::jsonapi::{doc, Problem, Reply};
use crate::state::SharedState;

fn yes() -> bool {
    true
}

/// The organization permissions a token holds (every one granted unless the tokens file
/// says `false`), named as the organization's `permissions` object names them.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Permissions {
    #[serde(default = "yes")]
    pub can_create_module: bool,
    #[serde(default = "yes")]
    pub can_create_provider: bool,
    #[serde(default = "yes")]
    pub can_manage_public_modules: bool,
    #[serde(default = "yes")]
    pub can_manage_public_providers: bool,
}

impl Default for Permissions {
    fn default() -> Self {
        Permissions {
            can_create_module: true,
            can_create_provider: true,
            can_manage_public_modules: true,
            can_manage_public_providers: true,
        }
    }
}

/// Whose token it is: a user's (which may expire), a team's or an organization's.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TokenKind {
    User,
    #[default]
    Team,
    Organization,
}

/// One token of the tokens file's object form:
/// `{"TOKEN": {"organizations": ["acme"], "permissions": {"can-create-provider": false},
/// "kind": "user", "expired-at": "2030-01-01T00:00:00Z", "private-module-registry": true}}`.
/// The list form `{"TOKEN": ["acme"]}` is this with every default.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct TokenGrant {
    pub organizations: Vec<String>,
    #[serde(default)]
    pub permissions: Permissions,
    #[serde(default)]
    pub kind: TokenKind,
    /// RFC 3339; past it the token is refused (401).
    #[serde(default, deserialize_with = "rfc3339")]
    pub expired_at: Option<chrono::DateTime<chrono::Utc>>,
    /// The organization's `entitlement-set.private-module-registry`.
    #[serde(default = "yes")]
    pub private_module_registry: bool,
}

impl TokenGrant {
    /// The grant of a list-form entry (or of easy mode): everything, never expiring.
    pub fn all(organizations: Vec<String>) -> Self {
        TokenGrant {
            organizations,
            permissions: Permissions::default(),
            kind: TokenKind::Team,
            expired_at: None,
            private_module_registry: true,
        }
    }
}

fn rfc3339<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<chrono::DateTime<chrono::Utc>>, D::Error> {
    let Some(s) = Option::<String>::deserialize(d)? else {
        return Ok(None);
    };
    chrono::DateTime::parse_from_rfc3339(&s)
        .map(|t| Some(t.with_timezone(&chrono::Utc)))
        .map_err(|e| {
            serde::de::Error::custom(format!(
                "expired-at {s:?} is not an RFC 3339 time (e.g. 2030-01-31T00:00:00Z): {e}"
            ))
        })
}

/// One entry of the tokens file, in either form.
#[derive(Deserialize)]
#[serde(untagged)]
enum Entry {
    Orgs(Vec<String>),
    Grant(serde_json::Value),
}

/// Parses a tokens file's text: every value a list of organizations or a [`TokenGrant`]
/// object. Errors name the token's position, never the token.
pub(crate) fn parse_tokens(text: &str) -> Result<HashMap<String, TokenGrant>, serde_json::Error> {
    let raw: HashMap<String, Entry> = serde_json::from_str(text)?;
    let mut out = HashMap::new();
    for (token, entry) in raw {
        let grant = match entry {
            Entry::Orgs(orgs) => TokenGrant::all(orgs),
            Entry::Grant(v) => serde_json::from_value(v)?,
        };
        out.insert(token, grant);
    }
    Ok(out)
}

/// A stable, non-secret id for a token: the first 16 hex digits of its SHA-256.
fn token_id(token: &str) -> String {
    hex::encode(&Sha256::digest(token.as_bytes())[..8])
}

pub(crate) async fn organization(
    State(state): State<SharedState>,
    Path(org): Path<String>,
    headers: HeaderMap,
) -> Reply {
    authorize(&state, &headers, &org, false)?;
    let g = caller(&state, &headers).grant;
    let p = &g.permissions;
    Ok(doc(
        StatusCode::OK,
        json!({"data": {"id": org, "type": "organizations",
            "attributes": {"name": org, "external-id": format!("org-{org}"),
                "permissions": {
                    "can-create-module": p.can_create_module,
                    "can-create-provider": p.can_create_provider,
                    "can-manage-public-modules": p.can_manage_public_modules,
                    "can-manage-public-providers": p.can_manage_public_providers,
                    "can-update": false, "can-destroy": false, "can-traverse": true}},
            "relationships": {"entitlement-set": {"data": {
                "id": format!("org-{org}"), "type": "entitlement-sets"}}},
            "links": {"self": format!("/api/v2/organizations/{org}")}}}),
    ))
}

pub(crate) async fn entitlement_set(
    State(state): State<SharedState>,
    Path(org): Path<String>,
    headers: HeaderMap,
) -> Reply {
    authorize(&state, &headers, &org, false)?;
    let g = caller(&state, &headers).grant;
    Ok(doc(
        StatusCode::OK,
        json!({"data": {"id": format!("org-{org}"), "type": "entitlement-sets",
            "attributes": {"private-module-registry": g.private_module_registry,
                "operations": false, "state-storage": false, "vcs-integrations": false,
                "sentinel": false, "teams": false}}}),
    ))
}

pub(crate) async fn account_details(State(state): State<SharedState>, headers: HeaderMap) -> Reply {
    let c = caller(&state, &headers);
    let token = c.token.ok_or_else(Problem::unauthorized)?;
    let id = token_id(&token);
    let service = c.grant.kind != TokenKind::User;
    let username = if service {
        format!("api-{id}")
    } else {
        format!("user-{id}")
    };
    Ok(doc(
        StatusCode::OK,
        json!({"data": {"id": format!("user-{id}"), "type": "users",
            "attributes": {"username": username, "is-service-account": service}}}),
    ))
}

pub(crate) async fn user_tokens(
    State(state): State<SharedState>,
    Path(user): Path<String>,
    headers: HeaderMap,
) -> Reply {
    let c = caller(&state, &headers);
    let token = c.token.ok_or_else(Problem::unauthorized)?;
    let id = token_id(&token);
    if user != format!("user-{id}") || c.grant.kind != TokenKind::User {
        return Err(Problem::not_found(format!("user {user:?} not found")));
    }
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let expired = c
        .grant
        .expired_at
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
    Ok(doc(
        StatusCode::OK,
        json!({"data": [{"id": format!("at-{id}"), "type": "authentication-tokens",
            "attributes": {"created-at": now, "last-used-at": now,
                "description": "tfpub registry tokens file", "token": null,
                "expired-at": expired}}],
            "meta": {"pagination": {"current-page": 1, "page-size": 20, "prev-page": null,
                "next-page": null, "total-pages": 1, "total-count": 1}}}),
    ))
}
