//! GPG keys under `/api/registry/private/v2/gpg-keys`. Keys are parsed with
//! sequoia-openpgp so the stored `key-id` is the primary key's real id, and only RSA/DSA
//! primary keys are accepted, like the HCP registry.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use rusqlite::{params, Connection, OptionalExtension};
use sequoia_openpgp as openpgp;
use serde_json::{json, Value};

use super::db::now;
use super::http::{attributes, authorize, doc, required_str, ApiError, ApiResult};
use super::SharedState;

pub(crate) struct Key {
    pub id: i64,
    pub namespace: String,
    pub key_id: String,
    pub ascii_armor: String,
    pub created_at: String,
    pub updated_at: String,
}

const K_COLS: &str = "id, namespace, key_id, ascii_armor, created_at, updated_at";

fn k_row(r: &rusqlite::Row) -> rusqlite::Result<Key> {
    Ok(Key {
        id: r.get(0)?,
        namespace: r.get(1)?,
        key_id: r.get(2)?,
        ascii_armor: r.get(3)?,
        created_at: r.get(4)?,
        updated_at: r.get(5)?,
    })
}

/// The primary key id (16 upper-case hex) of an armored RSA or DSA public key.
fn parse_key(armor: &str) -> Result<String, ApiError> {
    use openpgp::parse::Parse;
    use openpgp::types::PublicKeyAlgorithm as A;
    let cert = openpgp::Cert::from_bytes(armor.as_bytes())
        .map_err(|e| ApiError::invalid(format!("ascii-armor is not an OpenPGP public key: {e}")))?;
    if cert.is_tsk() {
        return Err(ApiError::invalid(
            "ascii-armor contains secret key material: upload the public key only",
        ));
    }
    let algo = cert.primary_key().key().pk_algo();
    #[allow(deprecated)]
    let ok = matches!(
        algo,
        A::RSAEncryptSign | A::RSASign | A::RSAEncrypt | A::DSA
    );
    if !ok {
        return Err(ApiError::invalid(format!(
            "key algorithm {algo} is not supported: the registry accepts RSA or DSA keys only"
        )));
    }
    Ok(cert.keyid().to_hex().to_ascii_uppercase())
}

pub(crate) fn key_json(k: &Key) -> Value {
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

fn find(conn: &Connection, ns: &str, key_id: &str) -> Result<Key, ApiError> {
    conn.query_row(
        &format!("SELECT {K_COLS} FROM gpg_keys WHERE namespace=?1 AND key_id=?2"),
        params![ns, key_id.to_ascii_uppercase()],
        k_row,
    )
    .optional()?
    .ok_or_else(|| ApiError::not_found(format!("GPG key {key_id} not found in namespace {ns:?}")))
}

/// A key by id within a namespace (for the consumer protocol).
pub(crate) fn lookup(conn: &Connection, ns: &str, key_id: &str) -> Result<Option<Key>, ApiError> {
    match find(conn, ns, key_id) {
        Ok(k) => Ok(Some(k)),
        Err(_) => Ok(None),
    }
}

pub(crate) async fn list(
    State(state): State<SharedState>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> ApiResult {
    let Some(filter) = q.get("filter[namespace]").filter(|s| !s.is_empty()) else {
        return Err(ApiError::bad_request(
            "filter[namespace] is required when listing GPG keys",
        ));
    };
    let namespaces: Vec<&str> = filter.split(',').map(str::trim).collect();
    for ns in &namespaces {
        authorize(&state, &headers, ns, false)?;
    }
    let conn = state.db.lock().unwrap_or_else(|e| e.into_inner());
    let mut st = conn.prepare(&format!(
        "SELECT {K_COLS} FROM gpg_keys WHERE namespace=?1 ORDER BY id"
    ))?;
    let mut data = Vec::new();
    for ns in namespaces {
        for k in st.query_map([ns], k_row)? {
            data.push(key_json(&k?));
        }
    }
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
) -> ApiResult {
    let attrs = attributes(&body)?;
    let ns = required_str(&attrs, "namespace")?;
    authorize(&state, &headers, ns, true)?;
    let armor = required_str(&attrs, "ascii-armor")?;
    let key_id = parse_key(armor)?;
    let conn = state.db.lock().unwrap_or_else(|e| e.into_inner());
    let ts = now();
    let n = conn.execute(
        "INSERT OR IGNORE INTO gpg_keys (namespace, key_id, ascii_armor, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?4)",
        params![ns, key_id, armor, ts],
    )?;
    if n == 0 {
        return Err(ApiError::invalid(format!(
            "Key {key_id} has already been taken in namespace {ns:?}"
        )));
    }
    let k = find(&conn, ns, &key_id)?;
    Ok(doc(StatusCode::CREATED, json!({"data": key_json(&k)})))
}

pub(crate) async fn get_key(
    State(state): State<SharedState>,
    Path((ns, key_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> ApiResult {
    authorize(&state, &headers, &ns, false)?;
    let conn = state.db.lock().unwrap_or_else(|e| e.into_inner());
    let k = find(&conn, &ns, &key_id)?;
    Ok(doc(StatusCode::OK, json!({"data": key_json(&k)})))
}

/// Moves a key to another namespace (the only updatable attribute).
pub(crate) async fn update(
    State(state): State<SharedState>,
    Path((ns, key_id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    authorize(&state, &headers, &ns, true)?;
    let attrs = attributes(&body)?;
    let new_ns = required_str(&attrs, "namespace")?;
    authorize(&state, &headers, new_ns, true)?;
    let conn = state.db.lock().unwrap_or_else(|e| e.into_inner());
    let k = find(&conn, &ns, &key_id)?;
    conn.execute(
        "UPDATE gpg_keys SET namespace=?2, updated_at=?3 WHERE id=?1",
        params![k.id, new_ns, now()],
    )
    .map_err(|_| {
        ApiError::invalid(format!(
            "Key {key_id} already exists in namespace {new_ns:?}"
        ))
    })?;
    let k = find(&conn, new_ns, &key_id)?;
    Ok(doc(StatusCode::OK, json!({"data": key_json(&k)})))
}

pub(crate) async fn delete(
    State(state): State<SharedState>,
    Path((ns, key_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> ApiResult {
    authorize(&state, &headers, &ns, true)?;
    let conn = state.db.lock().unwrap_or_else(|e| e.into_inner());
    let k = find(&conn, &ns, &key_id)?;
    conn.execute("DELETE FROM gpg_keys WHERE id=?1", [k.id])?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
