//! HTTP handlers for GPG keys under `/api/registry/private/v2/gpg-keys`: parse the
//! request, check access to the namespace, call `store::gpg_keys`, shape the JSON.
//!
//! Imports `jsonapi`, `auth`, `store` and `state`; nothing imports this file but `routes`.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use serde_json::{json, Value};

use crate::auth::authorize;
use crate::jsonapi::{attributes, data_doc, doc, required_str, Problem, Reply};
use crate::state::SharedState;
use crate::store::gpg_keys::{self as store, Key};

fn key_json(k: &Key) -> Value {
    json!({
        "type": "gpg-keys",
        "id": k.id.to_string(),
        "attributes": {
            "ascii-armor": k.ascii_armor,
            "created-at": k.created_at,
            "key-id": k.key_id,
            "namespace": k.namespace,
            "source": "",
            "source-url": null,
            "trust-signature": "",
            "updated-at": k.updated_at,
        },
        "links": {"self": format!("/v2/gpg-keys/{}", k.id)},
    })
}

pub(crate) async fn list(
    State(state): State<SharedState>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Reply {
    let Some(filter) = q.get("filter[namespace]").filter(|s| !s.is_empty()) else {
        return Err(Problem::bad_request(
            "filter[namespace] is required when listing GPG keys",
        ));
    };
    let namespaces: Vec<&str> = filter.split(',').map(str::trim).collect();
    for ns in &namespaces {
        authorize(&state, &headers, ns, false)?;
    }
    let data: Vec<Value> = store::list(&state.conn(), &namespaces)?
        .iter()
        .map(key_json)
        .collect();
    let total = data.len();
    Ok(doc(
        StatusCode::OK,
        json!({"data": data, "meta": {"pagination": {"current-page": 1, "page-size": total.max(1), "prev-page": null, "next-page": null, "total-pages": 1, "total-count": total}}}),
    ))
}

pub(crate) async fn create(
    State(state): State<SharedState>,
    headers: HeaderMap,
    body: Bytes,
) -> Reply {
    let attrs = attributes(&body)?;
    let ns = required_str(&attrs, "namespace")?;
    authorize(&state, &headers, ns, true)?;
    let armor = required_str(&attrs, "ascii-armor")?;
    let k = store::create(&state.conn(), ns, armor)?;
    Ok(data_doc(StatusCode::CREATED, key_json(&k)))
}

pub(crate) async fn get_key(
    State(state): State<SharedState>,
    Path((ns, key_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Reply {
    authorize(&state, &headers, &ns, false)?;
    let k = store::find(&state.conn(), &ns, &key_id)?;
    Ok(data_doc(StatusCode::OK, key_json(&k)))
}

/// Moves a key to another namespace (the only updatable attribute); answered 201 with
/// the key, as the reference's gpg-keys page documents for this PATCH.
pub(crate) async fn update(
    State(state): State<SharedState>,
    Path((ns, key_id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Reply {
    authorize(&state, &headers, &ns, true)?;
    let attrs = attributes(&body)?;
    let new_ns = required_str(&attrs, "namespace")?;
    authorize(&state, &headers, new_ns, true)?;
    let conn = state.conn();
    let k = store::find(&conn, &ns, &key_id)?;
    let k = store::move_to(&conn, &k, &key_id, new_ns)?;
    Ok(data_doc(StatusCode::CREATED, key_json(&k)))
}

pub(crate) async fn delete(
    State(state): State<SharedState>,
    Path((ns, key_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Reply {
    authorize(&state, &headers, &ns, true)?;
    let conn = state.conn();
    let k = store::find(&conn, &ns, &key_id)?;
    store::delete(&conn, &k)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
