//! Management API for private registry providers: providers, versions (SHA256SUMS and its
//! signature uploaded through the archivist) and platforms (one zip each, checked against
//! the declared sha256 before it counts as uploaded).

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use rusqlite::{params, Connection, OptionalExtension};
use serde_json::{json, Value};

use super::db::now;
use super::http::{
    attributes, authorize, base_url, doc, download_link, link, page_params, paginate, required_str,
    upload_link, valid_name, valid_semver, ApiError, ApiResult, UP_BINARY, UP_SHASUMS,
    UP_SHASUMS_SIG,
};
use super::SharedState;

pub(crate) struct Provider {
    pub id: i64,
    pub org: String,
    pub registry: String,
    pub namespace: String,
    pub name: String,
    pub created_at: String,
    pub updated_at: String,
}

pub(crate) struct PVersion {
    pub id: i64,
    pub version: String,
    pub key_id: String,
    pub protocols: Vec<String>,
    pub shasums_blob: Option<String>,
    pub shasums_sig_blob: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

pub(crate) struct Platform {
    pub id: i64,
    pub os: String,
    pub arch: String,
    pub filename: String,
    pub shasum: String,
    pub blob: Option<String>,
}

const P_COLS: &str = "id, org, registry_name, namespace, name, created_at, updated_at";
const V_COLS: &str =
    "id, version, key_id, protocols, shasums_blob, shasums_sig_blob, created_at, updated_at";
const PL_COLS: &str = "id, os, arch, filename, shasum, blob";

fn p_row(r: &rusqlite::Row) -> rusqlite::Result<Provider> {
    Ok(Provider {
        id: r.get(0)?,
        org: r.get(1)?,
        registry: r.get(2)?,
        namespace: r.get(3)?,
        name: r.get(4)?,
        created_at: r.get(5)?,
        updated_at: r.get(6)?,
    })
}

fn v_row(r: &rusqlite::Row) -> rusqlite::Result<PVersion> {
    let protocols: String = r.get(3)?;
    Ok(PVersion {
        id: r.get(0)?,
        version: r.get(1)?,
        key_id: r.get(2)?,
        protocols: serde_json::from_str(&protocols).unwrap_or_default(),
        shasums_blob: r.get(4)?,
        shasums_sig_blob: r.get(5)?,
        created_at: r.get(6)?,
        updated_at: r.get(7)?,
    })
}

fn pl_row(r: &rusqlite::Row) -> rusqlite::Result<Platform> {
    Ok(Platform {
        id: r.get(0)?,
        os: r.get(1)?,
        arch: r.get(2)?,
        filename: r.get(3)?,
        shasum: r.get(4)?,
        blob: r.get(5)?,
    })
}

fn find_provider(
    conn: &Connection,
    org: &str,
    registry: &str,
    ns: &str,
    name: &str,
) -> Result<Provider, ApiError> {
    conn.query_row(
        &format!("SELECT {P_COLS} FROM providers WHERE org=?1 AND registry_name=?2 AND namespace=?3 AND name=?4"),
        params![org, registry, ns, name],
        p_row,
    )
    .optional()?
    .ok_or_else(|| ApiError::not_found(format!("provider {registry}/{ns}/{name} not found in organization {org:?}")))
}

pub(crate) fn versions_of(conn: &Connection, provider_id: i64) -> rusqlite::Result<Vec<PVersion>> {
    let mut st = conn.prepare(&format!(
        "SELECT {V_COLS} FROM provider_versions WHERE provider_id=?1 ORDER BY id"
    ))?;
    let rows = st.query_map([provider_id], v_row)?;
    rows.collect()
}

fn find_version(conn: &Connection, p: &Provider, version: &str) -> Result<PVersion, ApiError> {
    conn.query_row(
        &format!("SELECT {V_COLS} FROM provider_versions WHERE provider_id=?1 AND version=?2"),
        params![p.id, version],
        v_row,
    )
    .optional()?
    .ok_or_else(|| {
        ApiError::not_found(format!(
            "version {version} of provider {}/{} not found",
            p.namespace, p.name
        ))
    })
}

pub(crate) fn platforms_of(conn: &Connection, version_id: i64) -> rusqlite::Result<Vec<Platform>> {
    let mut st = conn.prepare(&format!(
        "SELECT {PL_COLS} FROM platforms WHERE version_id=?1 ORDER BY os, arch"
    ))?;
    let rows = st.query_map([version_id], pl_row)?;
    rows.collect()
}

fn find_platform(
    conn: &Connection,
    v: &PVersion,
    os: &str,
    arch: &str,
) -> Result<Platform, ApiError> {
    conn.query_row(
        &format!("SELECT {PL_COLS} FROM platforms WHERE version_id=?1 AND os=?2 AND arch=?3"),
        params![v.id, os, arch],
        pl_row,
    )
    .optional()?
    .ok_or_else(|| {
        ApiError::not_found(format!(
            "platform {os}_{arch} of version {} not found",
            v.version
        ))
    })
}

/// Finds a private provider by namespace/name for the consumer protocol.
pub(crate) fn find_private(
    conn: &Connection,
    ns: &str,
    name: &str,
) -> Result<Option<Provider>, ApiError> {
    Ok(conn
        .query_row(
            &format!("SELECT {P_COLS} FROM providers WHERE registry_name='private' AND namespace=?1 AND name=?2"),
            params![ns, name],
            p_row,
        )
        .optional()?)
}

fn self_path(p: &Provider) -> String {
    format!(
        "api/v2/organizations/{}/registry-providers/{}/{}/{}",
        p.org, p.registry, p.namespace, p.name
    )
}

fn provider_json(base: &url::Url, p: &Provider) -> Value {
    json!({
        "id": format!("prov-{}", p.id),
        "type": "registry-providers",
        "attributes": {
            "name": p.name,
            "namespace": p.namespace,
            "registry-name": p.registry,
            "created-at": p.created_at,
            "updated-at": p.updated_at,
            "permissions": {"can-delete": true},
        },
        "relationships": {"organization": {"data": {"id": p.org, "type": "organizations"}}},
        "links": {"self": link(base, &self_path(p))},
    })
}

fn version_json(
    conn: &Connection,
    base: &url::Url,
    p: &Provider,
    v: &PVersion,
) -> Result<Value, ApiError> {
    let file = format!("terraform-provider-{}_{}_SHA256SUMS", p.name, v.version);
    let mut links = serde_json::Map::new();
    match &v.shasums_blob {
        Some(sha) => links.insert(
            "shasums-download".into(),
            json!(download_link(base, sha, &file)),
        ),
        None => links.insert(
            "shasums-upload".into(),
            json!(upload_link(conn, base, UP_SHASUMS, v.id)?),
        ),
    };
    match &v.shasums_sig_blob {
        Some(sha) => links.insert(
            "shasums-sig-download".into(),
            json!(download_link(base, sha, &format!("{file}.sig"))),
        ),
        None => links.insert(
            "shasums-sig-upload".into(),
            json!(upload_link(conn, base, UP_SHASUMS_SIG, v.id)?),
        ),
    };
    let platforms: Vec<Value> = platforms_of(conn, v.id)?
        .iter()
        .map(|pl| json!({"id": format!("provpltfrm-{}", pl.id), "type": "registry-provider-platforms"}))
        .collect();
    Ok(json!({
        "id": format!("provver-{}", v.id),
        "type": "registry-provider-versions",
        "attributes": {
            "version": v.version,
            "key-id": v.key_id,
            "protocols": v.protocols,
            "shasums-uploaded": v.shasums_blob.is_some(),
            "shasums-sig-uploaded": v.shasums_sig_blob.is_some(),
            "created-at": v.created_at,
            "updated-at": v.updated_at,
            "permissions": {"can-delete": true, "can-upload-asset": true},
        },
        "relationships": {
            "registry-provider": {"data": {"id": format!("prov-{}", p.id), "type": "registry-providers"}},
            "platforms": {"data": platforms},
        },
        "links": links,
    }))
}

fn platform_json(
    conn: &Connection,
    base: &url::Url,
    v: &PVersion,
    pl: &Platform,
) -> Result<Value, ApiError> {
    let mut links = serde_json::Map::new();
    match &pl.blob {
        Some(sha) => links.insert(
            "provider-binary-download".into(),
            json!(download_link(base, sha, &pl.filename)),
        ),
        None => links.insert(
            "provider-binary-upload".into(),
            json!(upload_link(conn, base, UP_BINARY, pl.id)?),
        ),
    };
    Ok(json!({
        "id": format!("provpltfrm-{}", pl.id),
        "type": "registry-provider-platforms",
        "attributes": {
            "os": pl.os,
            "arch": pl.arch,
            "filename": pl.filename,
            "shasum": pl.shasum,
            "permissions": {"can-delete": true, "can-upload-asset": true},
            "provider-binary-uploaded": pl.blob.is_some(),
        },
        "relationships": {"registry-provider-version": {"data": {"id": format!("provver-{}", v.id), "type": "registry-provider-versions"}}},
        "links": links,
    }))
}

pub(crate) async fn list(
    State(state): State<SharedState>,
    Path(org): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> ApiResult {
    authorize(&state, &headers, &org, false)?;
    let (page, size) = page_params(&q)?;
    let base = base_url(&state, &headers);
    let conn = state.db.lock().unwrap_or_else(|e| e.into_inner());
    let mut st = conn.prepare(&format!(
        "SELECT {P_COLS} FROM providers WHERE org=?1 ORDER BY registry_name, namespace, name"
    ))?;
    let all: Vec<Provider> = st.query_map([&org], p_row)?.collect::<Result<_, _>>()?;
    let needle = q.get("q").map(|s| s.to_lowercase());
    let items = all
        .iter()
        .filter(|p| {
            needle
                .as_ref()
                .is_none_or(|n| p.name.to_lowercase().contains(n))
        })
        .filter(|p| {
            q.get("filter[registry_name]")
                .is_none_or(|r| *r == p.registry)
        })
        .map(|p| provider_json(&base, p))
        .collect();
    let (data, meta) = paginate(items, page, size);
    Ok(doc(StatusCode::OK, json!({"data": data, "meta": meta})))
}

pub(crate) async fn create(
    State(state): State<SharedState>,
    Path(org): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    authorize(&state, &headers, &org, true)?;
    let attrs = attributes(&body)?;
    let name = required_str(&attrs, "name")?;
    let ns = required_str(&attrs, "namespace")?;
    let registry = required_str(&attrs, "registry-name")?;
    if registry != "private" && registry != "public" {
        return Err(ApiError::invalid(format!(
            "registry-name must be \"private\" or \"public\", not {registry:?}"
        )));
    }
    if registry == "private" && ns != org {
        return Err(ApiError::invalid(format!(
            "Namespace of a private provider must be the organization name {org:?}, not {ns:?}"
        )));
    }
    if !valid_name(name) || !valid_name(ns) {
        return Err(ApiError::invalid(format!(
            "Name {name:?} or namespace {ns:?} is invalid: use letters, digits, '-' and '_'"
        )));
    }
    let base = base_url(&state, &headers);
    let conn = state.db.lock().unwrap_or_else(|e| e.into_inner());
    let ts = now();
    let n = conn.execute(
        "INSERT OR IGNORE INTO providers (org, registry_name, namespace, name, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
        params![org, registry, ns, name, ts],
    )?;
    if n == 0 {
        return Err(ApiError::invalid("Name has already been taken"));
    }
    let p = find_provider(&conn, &org, registry, ns, name)?;
    Ok(doc(
        StatusCode::CREATED,
        json!({"data": provider_json(&base, &p)}),
    ))
}

type ProvPath = (String, String, String, String);

pub(crate) async fn get_provider(
    State(state): State<SharedState>,
    Path((org, registry, ns, name)): Path<ProvPath>,
    headers: HeaderMap,
) -> ApiResult {
    authorize(&state, &headers, &org, false)?;
    let base = base_url(&state, &headers);
    let conn = state.db.lock().unwrap_or_else(|e| e.into_inner());
    let p = find_provider(&conn, &org, &registry, &ns, &name)?;
    Ok(doc(
        StatusCode::OK,
        json!({"data": provider_json(&base, &p)}),
    ))
}

pub(crate) async fn delete_provider(
    State(state): State<SharedState>,
    Path((org, registry, ns, name)): Path<ProvPath>,
    headers: HeaderMap,
) -> ApiResult {
    authorize(&state, &headers, &org, true)?;
    let conn = state.db.lock().unwrap_or_else(|e| e.into_inner());
    let p = find_provider(&conn, &org, &registry, &ns, &name)?;
    conn.execute("DELETE FROM providers WHERE id=?1", [p.id])?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

fn valid_key_id(s: &str) -> bool {
    s.len() == 16 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

fn valid_protocol(s: &str) -> bool {
    let mut parts = s.split('.');
    let ok =
        |p: Option<&str>| p.is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    ok(parts.next()) && ok(parts.next()) && parts.next().is_none()
}

pub(crate) async fn create_version(
    State(state): State<SharedState>,
    Path((org, registry, ns, name)): Path<ProvPath>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    authorize(&state, &headers, &org, true)?;
    let attrs = attributes(&body)?;
    let version = required_str(&attrs, "version")?;
    let key_id = required_str(&attrs, "key-id")?;
    if !valid_semver(version) {
        return Err(ApiError::invalid(format!(
            "Version {version:?} is not a valid semantic version (e.g. 1.2.3)"
        )));
    }
    if !valid_key_id(key_id) {
        return Err(ApiError::invalid(format!(
            "key-id {key_id:?} must be 16 hexadecimal digits"
        )));
    }
    let protocols: Vec<String> = match attrs.get("protocols") {
        Some(Value::Array(a)) if !a.is_empty() => a
            .iter()
            .map(|p| {
                p.as_str()
                    .filter(|s| valid_protocol(s))
                    .map(str::to_string)
                    .ok_or_else(|| {
                        ApiError::invalid(format!(
                            "protocols entry {p} must be a string like \"5.0\" or \"6.0\""
                        ))
                    })
            })
            .collect::<Result<_, _>>()?,
        Some(_) => {
            return Err(ApiError::invalid(
                "protocols must be a non-empty array of strings like [\"6.0\"]",
            ))
        }
        None => return Err(ApiError::invalid("attribute \"protocols\" is required")),
    };
    let base = base_url(&state, &headers);
    let conn = state.db.lock().unwrap_or_else(|e| e.into_inner());
    let p = find_provider(&conn, &org, &registry, &ns, &name)?;
    if p.registry != "private" {
        return Err(ApiError::invalid(
            "versions can only be added to private providers",
        ));
    }
    let key_id = key_id.to_ascii_uppercase();
    let ts = now();
    let n = conn.execute(
        "INSERT OR IGNORE INTO provider_versions (provider_id, version, key_id, protocols, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
        params![p.id, version, key_id, serde_json::to_string(&protocols).unwrap_or_default(), ts],
    )?;
    if n == 0 {
        return Err(ApiError::invalid("Version has already been taken"));
    }
    let v = find_version(&conn, &p, version)?;
    Ok(doc(
        StatusCode::CREATED,
        json!({"data": version_json(&conn, &base, &p, &v)?}),
    ))
}

pub(crate) async fn list_versions(
    State(state): State<SharedState>,
    Path((org, registry, ns, name)): Path<ProvPath>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> ApiResult {
    authorize(&state, &headers, &org, false)?;
    let (page, size) = page_params(&q)?;
    let base = base_url(&state, &headers);
    let conn = state.db.lock().unwrap_or_else(|e| e.into_inner());
    let p = find_provider(&conn, &org, &registry, &ns, &name)?;
    let items = versions_of(&conn, p.id)?
        .iter()
        .map(|v| version_json(&conn, &base, &p, v))
        .collect::<Result<Vec<_>, _>>()?;
    let (data, meta) = paginate(items, page, size);
    Ok(doc(StatusCode::OK, json!({"data": data, "meta": meta})))
}

type VerPath = (String, String, String, String, String);

pub(crate) async fn get_version(
    State(state): State<SharedState>,
    Path((org, registry, ns, name, version)): Path<VerPath>,
    headers: HeaderMap,
) -> ApiResult {
    authorize(&state, &headers, &org, false)?;
    let base = base_url(&state, &headers);
    let conn = state.db.lock().unwrap_or_else(|e| e.into_inner());
    let p = find_provider(&conn, &org, &registry, &ns, &name)?;
    let v = find_version(&conn, &p, &version)?;
    Ok(doc(
        StatusCode::OK,
        json!({"data": version_json(&conn, &base, &p, &v)?}),
    ))
}

pub(crate) async fn delete_version(
    State(state): State<SharedState>,
    Path((org, registry, ns, name, version)): Path<VerPath>,
    headers: HeaderMap,
) -> ApiResult {
    authorize(&state, &headers, &org, true)?;
    let conn = state.db.lock().unwrap_or_else(|e| e.into_inner());
    let p = find_provider(&conn, &org, &registry, &ns, &name)?;
    let v = find_version(&conn, &p, &version)?;
    conn.execute("DELETE FROM provider_versions WHERE id=?1", [v.id])?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

const OSES: &[&str] = &[
    "linux", "darwin", "windows", "freebsd", "openbsd", "netbsd", "solaris",
];
const ARCHES: &[&str] = &["amd64", "arm64", "386", "arm"];

pub(crate) async fn create_platform(
    State(state): State<SharedState>,
    Path((org, registry, ns, name, version)): Path<VerPath>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    authorize(&state, &headers, &org, true)?;
    let attrs = attributes(&body)?;
    let os = required_str(&attrs, "os")?;
    let arch = required_str(&attrs, "arch")?;
    let shasum = required_str(&attrs, "shasum")?;
    let filename = required_str(&attrs, "filename")?;
    if !OSES.contains(&os) {
        return Err(ApiError::invalid(format!(
            "os {os:?} is not supported (one of {OSES:?})"
        )));
    }
    if !ARCHES.contains(&arch) {
        return Err(ApiError::invalid(format!(
            "arch {arch:?} is not supported (one of {ARCHES:?})"
        )));
    }
    if shasum.len() != 64 || !shasum.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ApiError::invalid(format!(
            "shasum {shasum:?} must be 64 hexadecimal digits (sha256)"
        )));
    }
    if filename.contains('/') || !filename.ends_with(".zip") {
        return Err(ApiError::invalid(format!(
            "filename {filename:?} must be a plain .zip file name"
        )));
    }
    let base = base_url(&state, &headers);
    let conn = state.db.lock().unwrap_or_else(|e| e.into_inner());
    let p = find_provider(&conn, &org, &registry, &ns, &name)?;
    let v = find_version(&conn, &p, &version)?;
    let n = conn.execute(
        "INSERT OR IGNORE INTO platforms (version_id, os, arch, filename, shasum) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![v.id, os, arch, filename, shasum.to_ascii_lowercase()],
    )?;
    if n == 0 {
        return Err(ApiError::invalid(
            "Platform has already been taken for this version",
        ));
    }
    let pl = find_platform(&conn, &v, os, arch)?;
    Ok(doc(
        StatusCode::CREATED,
        json!({"data": platform_json(&conn, &base, &v, &pl)?}),
    ))
}

pub(crate) async fn list_platforms(
    State(state): State<SharedState>,
    Path((org, registry, ns, name, version)): Path<VerPath>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> ApiResult {
    authorize(&state, &headers, &org, false)?;
    let (page, size) = page_params(&q)?;
    let base = base_url(&state, &headers);
    let conn = state.db.lock().unwrap_or_else(|e| e.into_inner());
    let p = find_provider(&conn, &org, &registry, &ns, &name)?;
    let v = find_version(&conn, &p, &version)?;
    let items = platforms_of(&conn, v.id)?
        .iter()
        .map(|pl| platform_json(&conn, &base, &v, pl))
        .collect::<Result<Vec<_>, _>>()?;
    let (data, meta) = paginate(items, page, size);
    Ok(doc(StatusCode::OK, json!({"data": data, "meta": meta})))
}

type PlatPath = (String, String, String, String, String, String, String);

pub(crate) async fn get_platform(
    State(state): State<SharedState>,
    Path((org, registry, ns, name, version, os, arch)): Path<PlatPath>,
    headers: HeaderMap,
) -> ApiResult {
    authorize(&state, &headers, &org, false)?;
    let base = base_url(&state, &headers);
    let conn = state.db.lock().unwrap_or_else(|e| e.into_inner());
    let p = find_provider(&conn, &org, &registry, &ns, &name)?;
    let v = find_version(&conn, &p, &version)?;
    let pl = find_platform(&conn, &v, &os, &arch)?;
    Ok(doc(
        StatusCode::OK,
        json!({"data": platform_json(&conn, &base, &v, &pl)?}),
    ))
}

pub(crate) async fn delete_platform(
    State(state): State<SharedState>,
    Path((org, registry, ns, name, version, os, arch)): Path<PlatPath>,
    headers: HeaderMap,
) -> ApiResult {
    authorize(&state, &headers, &org, true)?;
    let conn = state.db.lock().unwrap_or_else(|e| e.into_inner());
    let p = find_provider(&conn, &org, &registry, &ns, &name)?;
    let v = find_version(&conn, &p, &version)?;
    let pl = find_platform(&conn, &v, &os, &arch)?;
    conn.execute("DELETE FROM platforms WHERE id=?1", [pl.id])?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Records a completed SHA256SUMS, signature or zip upload. A zip whose sha256 differs
/// from the platform's declared shasum is refused and the platform stays not uploaded.
pub(crate) fn attach_upload(
    state: &SharedState,
    kind: &str,
    target: i64,
    sha: &str,
    token: &str,
) -> Result<(), ApiError> {
    let mut conn = state.db.lock().unwrap_or_else(|e| e.into_inner());
    let tx = conn.transaction()?;
    let n = match kind {
        UP_SHASUMS => tx.execute(
            "UPDATE provider_versions SET shasums_blob=?2, updated_at=?3 WHERE id=?1",
            params![target, sha, now()],
        )?,
        UP_SHASUMS_SIG => tx.execute(
            "UPDATE provider_versions SET shasums_sig_blob=?2, updated_at=?3 WHERE id=?1",
            params![target, sha, now()],
        )?,
        UP_BINARY => {
            let declared: Option<String> = tx
                .query_row("SELECT shasum FROM platforms WHERE id=?1", [target], |r| {
                    r.get(0)
                })
                .optional()?;
            match declared {
                Some(d) if d.eq_ignore_ascii_case(sha) => tx.execute(
                    "UPDATE platforms SET blob=?2 WHERE id=?1",
                    params![target, sha],
                )?,
                Some(d) => {
                    return Err(ApiError::invalid(format!(
                        "uploaded file has sha256 {sha} but the platform declares shasum {d}"
                    )))
                }
                None => 0,
            }
        }
        _ => 0,
    };
    tx.execute("DELETE FROM uploads WHERE token=?1", [token])?;
    tx.commit()?;
    if n == 0 {
        return Err(ApiError::not_found("the target of this upload was deleted"));
    }
    Ok(())
}
