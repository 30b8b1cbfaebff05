//! Public curation: public module entries in an organization's registry
//! (`POST …/registry-modules` with `registry-name: public` and a `namespace`,
//! `GET`/`DELETE …/registry-modules/public/:ns/:name/:provider`, and their rows in the
//! module list), and the permission a public provider entry needs. Refused with 403 when
//! the token may not manage public entries (`can-manage-public-modules`/`providers`).
//! No versions: the public registry maintains them, and this registry cannot proxy it.
//!
//! Imports `jsonapi`, `auth`, `store` and `state`; `modules` and `providers` delegate here.

use std::collections::HashMap;

use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use serde_json::{json, Map, Value};

use crate::auth::{authorize, authorize_write, require, Need};
use crate::jsonapi::{data_doc, link, required_str, valid_name, Problem, Reply, Search};
use crate::state::SharedState;
use crate::store::curation::{self as store, PublicModule};

fn resource(base: &url::Url, m: &PublicModule) -> Value {
    json!({
        "id": format!("mod-public-{}", m.id),
        "type": "registry-modules",
        "attributes": {
            "name": m.name, "namespace": m.namespace, "provider": m.provider,
            "registry-name": "public", "status": "setup_complete", "version-statuses": [],
            "created-at": m.created_at, "updated-at": m.created_at,
            "permissions": {"can-delete": true, "can-resync": false, "can-retry": false},
        },
        "relationships": {"organization": {"data": {"id": m.org, "type": "organizations"}}},
        "links": {"self": link(base, &format!("api/v2/organizations/{}/registry-modules/public/{}/{}/{}", m.org, m.namespace, m.name, m.provider))},
    })
}

/// A `POST …/registry-modules` with `registry-name: public`.
pub(crate) fn create_module(
    state: &SharedState,
    headers: &HeaderMap,
    org: &str,
    attrs: &Map<String, Value>,
) -> Reply {
    require(state, headers, Need::PublicModules)?;
    let name = required_str(attrs, "name")?;
    let provider = required_str(attrs, "provider")?;
    let ns = required_str(attrs, "namespace")?;
    if !valid_name(name) || !valid_name(ns) || !valid_name(provider) || provider.contains('-') {
        return Err(Problem::invalid(format!(
            "namespace {ns:?}, name {name:?} or provider {provider:?} is invalid"
        )));
    }
    let m = store::create(&state.conn(), org, ns, name, provider)?;
    Ok(data_doc(
        StatusCode::CREATED,
        resource(&state.base_url(headers), &m),
    ))
}

/// `GET …/registry-modules/public/:ns/:name/:provider`.
pub(crate) fn get_module(
    state: &SharedState,
    headers: &HeaderMap,
    path: (&str, &str, &str, &str),
) -> Reply {
    let (org, ns, name, provider) = path;
    authorize(state, headers, org, false)?;
    let m = store::find(&state.conn(), org, ns, name, provider)?;
    Ok(data_doc(
        StatusCode::OK,
        resource(&state.base_url(headers), &m),
    ))
}

/// `DELETE …/registry-modules/public/:ns/:name/:provider`.
pub(crate) fn delete_module(
    state: &SharedState,
    headers: &HeaderMap,
    path: (&str, &str, &str, &str),
) -> Reply {
    let (org, ns, name, provider) = path;
    authorize_write(state, headers, org, Need::PublicModules)?;
    let conn = state.conn();
    let m = store::find(&conn, org, ns, name, provider)?;
    store::delete(&conn, &m)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The public entries a module list shows under its `q` and `filter[...]` parameters.
pub(crate) fn listed(
    state: &SharedState,
    headers: &HeaderMap,
    org: &str,
    q: &HashMap<String, String>,
) -> Result<Vec<Value>, Problem> {
    if q.get("filter[registry_name]")
        .is_some_and(|r| r != "public")
    {
        return Ok(Vec::new());
    }
    let search = Search::of(q);
    let base = state.base_url(headers);
    Ok(store::list(&state.conn(), org)?
        .iter()
        .filter(|m| search.matches(&[&m.name, &m.namespace]))
        .filter(|m| q.get("filter[provider]").is_none_or(|p| *p == m.provider))
        .map(|m| resource(&base, m))
        .collect())
}

/// What creating or deleting a provider entry of `registry` needs.
pub(crate) fn provider_need(registry: &str) -> Need {
    if registry == "public" {
        Need::PublicProviders
    } else {
        Need::Providers
    }
}
