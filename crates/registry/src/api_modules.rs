//! Management API for private registry modules and their versions (no-VCS publishing:
//! create, upload a tarball through the archivist, watch the version status).

use std::collections::HashMap;
use std::io::Read;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use rusqlite::{params, Connection, OptionalExtension};
use serde_json::{json, Value};

use super::db::now;
use super::http::{
    attributes, authorize, base_url, doc, link, page_params, paginate, required_str, upload_link,
    valid_name, valid_semver, ApiError, ApiResult, UP_MODULE,
};
use super::SharedState;

struct Module {
    id: i64,
    org: String,
    namespace: String,
    name: String,
    provider: String,
    created_at: String,
    updated_at: String,
}

struct Version {
    id: i64,
    version: String,
    status: String,
    error: Option<String>,
    commit_sha: Option<String>,
    deprecated: bool,
    deprecation_reason: Option<String>,
    deprecation_link: Option<String>,
    revoked: bool,
    revocation_message: Option<String>,
    revocation_link: Option<String>,
    created_at: String,
    updated_at: String,
    blob: Option<String>,
}

const MOD_COLS: &str = "id, org, namespace, name, provider, created_at, updated_at";
const VER_COLS: &str = "id, version, status, error, commit_sha, deprecated, deprecation_reason, deprecation_link, revoked, revocation_message, revocation_link, created_at, updated_at, blob";

fn module_row(r: &rusqlite::Row) -> rusqlite::Result<Module> {
    Ok(Module {
        id: r.get(0)?,
        org: r.get(1)?,
        namespace: r.get(2)?,
        name: r.get(3)?,
        provider: r.get(4)?,
        created_at: r.get(5)?,
        updated_at: r.get(6)?,
    })
}

fn version_row(r: &rusqlite::Row) -> rusqlite::Result<Version> {
    Ok(Version {
        id: r.get(0)?,
        version: r.get(1)?,
        status: r.get(2)?,
        error: r.get(3)?,
        commit_sha: r.get(4)?,
        deprecated: r.get(5)?,
        deprecation_reason: r.get(6)?,
        deprecation_link: r.get(7)?,
        revoked: r.get(8)?,
        revocation_message: r.get(9)?,
        revocation_link: r.get(10)?,
        created_at: r.get(11)?,
        updated_at: r.get(12)?,
        blob: r.get(13)?,
    })
}

fn versions_of(conn: &Connection, module_id: i64) -> rusqlite::Result<Vec<Version>> {
    let mut st = conn.prepare(&format!(
        "SELECT {VER_COLS} FROM module_versions WHERE module_id=?1 ORDER BY id"
    ))?;
    let rows = st.query_map([module_id], version_row)?;
    rows.collect()
}

fn find_module(
    conn: &Connection,
    org: &str,
    ns: &str,
    name: &str,
    provider: &str,
) -> Result<Module, ApiError> {
    conn.query_row(
        &format!("SELECT {MOD_COLS} FROM modules WHERE org=?1 AND namespace=?2 AND name=?3 AND provider=?4"),
        params![org, ns, name, provider],
        module_row,
    )
    .optional()?
    .ok_or_else(|| ApiError::not_found(format!("module {ns}/{name}/{provider} not found in organization {org:?}")))
}

fn find_version(conn: &Connection, m: &Module, version: &str) -> Result<Version, ApiError> {
    conn.query_row(
        &format!("SELECT {VER_COLS} FROM module_versions WHERE module_id=?1 AND version=?2"),
        params![m.id, version],
        version_row,
    )
    .optional()?
    .ok_or_else(|| {
        ApiError::not_found(format!(
            "version {version} of module {}/{}/{} not found",
            m.namespace, m.name, m.provider
        ))
    })
}

fn module_json(conn: &Connection, base: &url::Url, m: &Module) -> Result<Value, ApiError> {
    let versions = versions_of(conn, m.id)?;
    let status = if versions.iter().any(|v| v.status == "ok") {
        "setup_complete"
    } else if versions.is_empty() {
        "pending"
    } else {
        "setup_complete"
    };
    let statuses: Vec<Value> = versions
        .iter()
        .map(|v| json!({"version": v.version, "status": v.status, "error": v.error.clone().unwrap_or_default()}))
        .collect();
    let revoked: Vec<&str> = versions
        .iter()
        .filter(|v| v.revoked)
        .map(|v| v.version.as_str())
        .collect();
    Ok(json!({
        "id": format!("mod-{}", m.id),
        "type": "registry-modules",
        "attributes": {
            "name": m.name,
            "namespace": m.namespace,
            "provider": m.provider,
            "registry-name": "private",
            "status": status,
            "version-statuses": statuses,
            "revoked-versions": revoked,
            "no-code": false,
            "publishing-mechanism": "tfe-api",
            "created-at": m.created_at,
            "updated-at": m.updated_at,
            "permissions": {"can-delete": true, "can-resync": true, "can-retry": true},
        },
        "relationships": {"organization": {"data": {"id": m.org, "type": "organizations"}}},
        "links": {"self": link(base, &format!("api/v2/organizations/{}/registry-modules/private/{}/{}/{}", m.org, m.namespace, m.name, m.provider))},
    }))
}

fn version_json(
    conn: &Connection,
    base: &url::Url,
    m: &Module,
    v: &Version,
) -> Result<Value, ApiError> {
    let mut links = serde_json::Map::new();
    if v.blob.is_none() {
        links.insert(
            "upload".into(),
            json!(upload_link(conn, base, UP_MODULE, v.id)?),
        );
    }
    let deprecation = if v.deprecated {
        json!({"deprecated-status": "Deprecated", "reason": v.deprecation_reason, "link": v.deprecation_link})
    } else {
        Value::Null
    };
    let revocation = if v.revoked {
        json!({"status": "Revoked", "message": v.revocation_message, "link": v.revocation_link})
    } else {
        Value::Null
    };
    Ok(json!({
        "id": format!("modver-{}", v.id),
        "type": "registry-module-versions",
        "attributes": {
            "source": "tfe-api",
            "status": v.status,
            "version": v.version,
            "error": v.error,
            "commit-sha": v.commit_sha,
            "branch": null,
            "deprecation": deprecation,
            "revocation": revocation,
            "created-at": v.created_at,
            "updated-at": v.updated_at,
        },
        "relationships": {"registry-module": {"data": {"id": format!("mod-{}", m.id), "type": "registry-modules"}}},
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
        "SELECT {MOD_COLS} FROM modules WHERE org=?1 ORDER BY namespace, name, provider"
    ))?;
    let mods: Vec<Module> = st
        .query_map([&org], module_row)?
        .collect::<Result<_, _>>()?;
    let needle = q.get("q").map(|s| s.to_lowercase());
    let mut items = Vec::new();
    for m in &mods {
        if let Some(n) = &needle {
            if !m.name.to_lowercase().contains(n) && !m.namespace.to_lowercase().contains(n) {
                continue;
            }
        }
        if q.get("filter[provider]").is_some_and(|p| *p != m.provider) {
            continue;
        }
        if q.get("filter[registry_name]")
            .is_some_and(|r| r != "private")
        {
            continue;
        }
        items.push(module_json(&conn, &base, m)?);
    }
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
    let provider = required_str(&attrs, "provider")?;
    let registry = attrs
        .get("registry-name")
        .and_then(Value::as_str)
        .unwrap_or("private");
    if registry != "private" {
        return Err(ApiError::invalid(format!(
            "registry-name {registry:?} is not supported here: only private modules can be created"
        )));
    }
    if attrs.contains_key("namespace") {
        return Err(ApiError::invalid(
            "Namespace must not be set for a private module (it is the organization name)",
        ));
    }
    if !valid_name(name) {
        return Err(ApiError::invalid(format!(
            "Name {name:?} is invalid: use letters, digits, '-' and '_'"
        )));
    }
    if !valid_name(provider) || provider.contains('-') {
        return Err(ApiError::invalid(format!(
            "Provider {provider:?} is invalid: use lower-case letters and digits"
        )));
    }
    let base = base_url(&state, &headers);
    let conn = state.db.lock().unwrap_or_else(|e| e.into_inner());
    let ts = now();
    let inserted = conn.execute(
        "INSERT OR IGNORE INTO modules (org, namespace, name, provider, created_at, updated_at) VALUES (?1, ?1, ?2, ?3, ?4, ?4)",
        params![org, name, provider, ts],
    )?;
    if inserted == 0 {
        return Err(ApiError::invalid(
            "Provider must be unique for this module name",
        ));
    }
    let m = find_module(&conn, &org, &org, name, provider)?;
    Ok(doc(
        StatusCode::CREATED,
        json!({"data": module_json(&conn, &base, &m)?}),
    ))
}

pub(crate) async fn get_module(
    State(state): State<SharedState>,
    Path((org, registry, ns, name, provider)): Path<(String, String, String, String, String)>,
    headers: HeaderMap,
) -> ApiResult {
    authorize(&state, &headers, &org, false)?;
    private_only(&registry)?;
    let base = base_url(&state, &headers);
    let conn = state.db.lock().unwrap_or_else(|e| e.into_inner());
    let m = find_module(&conn, &org, &ns, &name, &provider)?;
    Ok(doc(
        StatusCode::OK,
        json!({"data": module_json(&conn, &base, &m)?}),
    ))
}

fn private_only(registry: &str) -> Result<(), ApiError> {
    if registry == "private" {
        Ok(())
    } else {
        Err(ApiError::not_found(format!(
            "registry {registry:?} has no modules here"
        )))
    }
}

pub(crate) async fn delete_module(
    State(state): State<SharedState>,
    Path((org, registry, ns, name)): Path<(String, String, String, String)>,
    headers: HeaderMap,
) -> ApiResult {
    authorize(&state, &headers, &org, true)?;
    private_only(&registry)?;
    let conn = state.db.lock().unwrap_or_else(|e| e.into_inner());
    let n = conn.execute(
        "DELETE FROM modules WHERE org=?1 AND namespace=?2 AND name=?3",
        params![org, ns, name],
    )?;
    if n == 0 {
        return Err(ApiError::not_found(format!("module {ns}/{name} not found")));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub(crate) async fn delete_provider(
    State(state): State<SharedState>,
    Path((org, registry, ns, name, provider)): Path<(String, String, String, String, String)>,
    headers: HeaderMap,
) -> ApiResult {
    authorize(&state, &headers, &org, true)?;
    private_only(&registry)?;
    let conn = state.db.lock().unwrap_or_else(|e| e.into_inner());
    let m = find_module(&conn, &org, &ns, &name, &provider)?;
    conn.execute("DELETE FROM modules WHERE id=?1", [m.id])?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

fn create_version_in(
    state: &SharedState,
    headers: &HeaderMap,
    org: &str,
    ns: &str,
    name: &str,
    provider: &str,
    body: &[u8],
) -> ApiResult {
    authorize(state, headers, org, true)?;
    let attrs = attributes(body)?;
    let version = required_str(&attrs, "version")?;
    if !valid_semver(version) {
        return Err(ApiError::invalid(format!(
            "Version {version:?} is not a valid semantic version (e.g. 1.2.3)"
        )));
    }
    let commit = attrs.get("commit-sha").and_then(Value::as_str);
    let base = base_url(state, headers);
    let conn = state.db.lock().unwrap_or_else(|e| e.into_inner());
    let m = find_module(&conn, org, ns, name, provider)?;
    let ts = now();
    let n = conn.execute(
        "INSERT OR IGNORE INTO module_versions (module_id, version, status, commit_sha, created_at, updated_at) VALUES (?1, ?2, 'pending', ?3, ?4, ?4)",
        params![m.id, version, commit, ts],
    )?;
    if n == 0 {
        return Err(ApiError::invalid("Version has already been taken"));
    }
    let v = find_version(&conn, &m, version)?;
    Ok(doc(
        StatusCode::CREATED,
        json!({"data": version_json(&conn, &base, &m, &v)?}),
    ))
}

pub(crate) async fn create_version(
    State(state): State<SharedState>,
    Path((org, registry, ns, name, provider)): Path<(String, String, String, String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    private_only(&registry)?;
    create_version_in(&state, &headers, &org, &ns, &name, &provider, &body)
}

/// `POST /api/v2/registry-modules/:org/:name/:provider/versions` (deprecated, go-tfe).
pub(crate) async fn create_version_deprecated(
    State(state): State<SharedState>,
    Path((org, name, provider)): Path<(String, String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    create_version_in(&state, &headers, &org, &org, &name, &provider, &body)
}

pub(crate) async fn get_version(
    State(state): State<SharedState>,
    Path((org, registry, ns, name, provider)): Path<(String, String, String, String, String)>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> ApiResult {
    authorize(&state, &headers, &org, false)?;
    private_only(&registry)?;
    let version = q
        .get("module_version")
        .ok_or_else(|| ApiError::bad_request("query parameter module_version is required"))?;
    let base = base_url(&state, &headers);
    let conn = state.db.lock().unwrap_or_else(|e| e.into_inner());
    let m = find_module(&conn, &org, &ns, &name, &provider)?;
    let v = find_version(&conn, &m, version)?;
    Ok(doc(
        StatusCode::OK,
        json!({"data": version_json(&conn, &base, &m, &v)?}),
    ))
}

pub(crate) async fn delete_version(
    State(state): State<SharedState>,
    Path((org, registry, ns, name, provider, version)): Path<(
        String,
        String,
        String,
        String,
        String,
        String,
    )>,
    headers: HeaderMap,
) -> ApiResult {
    authorize(&state, &headers, &org, true)?;
    private_only(&registry)?;
    let conn = state.db.lock().unwrap_or_else(|e| e.into_inner());
    let m = find_module(&conn, &org, &ns, &name, &provider)?;
    let v = find_version(&conn, &m, &version)?;
    conn.execute("DELETE FROM module_versions WHERE id=?1", [v.id])?;
    conn.execute(
        "DELETE FROM uploads WHERE kind=?1 AND target=?2",
        params![UP_MODULE, v.id],
    )?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Deprecate / undeprecate / revoke / unrevoke (manage-module-versions).
pub(crate) async fn patch_version(
    State(state): State<SharedState>,
    Path((org, registry, ns, name, provider, version)): Path<(
        String,
        String,
        String,
        String,
        String,
        String,
    )>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    authorize(&state, &headers, &org, true)?;
    private_only(&registry)?;
    let attrs = attributes(&body)?;
    let base = base_url(&state, &headers);
    let conn = state.db.lock().unwrap_or_else(|e| e.into_inner());
    let m = find_module(&conn, &org, &ns, &name, &provider)?;
    let v = find_version(&conn, &m, &version)?;
    let ts = now();
    if let Some(dep) = attrs.get("deprecation") {
        let status = dep.get("deprecated-status").and_then(Value::as_str);
        match status {
            Some("Deprecated") => {
                conn.execute(
                    "UPDATE module_versions SET deprecated=1, deprecation_reason=?2, deprecation_link=?3, updated_at=?4 WHERE id=?1",
                    params![v.id, dep.get("reason").and_then(Value::as_str), dep.get("link").and_then(Value::as_str), ts],
                )?;
            }
            Some("Undeprecated") => {
                if v.revoked {
                    return Err(ApiError::invalid(format!(
                        "version {version} is revoked: unrevoke it before undeprecating"
                    )));
                }
                conn.execute(
                    "UPDATE module_versions SET deprecated=0, deprecation_reason=NULL, deprecation_link=NULL, updated_at=?2 WHERE id=?1",
                    params![v.id, ts],
                )?;
            }
            _ => {
                return Err(ApiError::invalid(
                    "deprecation.deprecated-status must be \"Deprecated\" or \"Undeprecated\"",
                ))
            }
        }
    } else if let Some(rev) = attrs.get("revocation") {
        match rev.get("status").and_then(Value::as_str) {
            Some("Revoked") => {
                if !v.deprecated {
                    return Err(ApiError::invalid(format!(
                        "version {version} must be deprecated before it can be revoked"
                    )));
                }
                conn.execute(
                    "UPDATE module_versions SET revoked=1, revocation_message=?2, revocation_link=?3, updated_at=?4 WHERE id=?1",
                    params![v.id, rev.get("message").and_then(Value::as_str), rev.get("link").and_then(Value::as_str), ts],
                )?;
            }
            Some("Unrevoked") => {
                conn.execute(
                    "UPDATE module_versions SET revoked=0, revocation_message=NULL, revocation_link=NULL, updated_at=?2 WHERE id=?1",
                    params![v.id, ts],
                )?;
            }
            _ => {
                return Err(ApiError::invalid(
                    "revocation.status must be \"Revoked\" or \"Unrevoked\"",
                ))
            }
        }
    } else {
        return Err(ApiError::invalid(
            "attributes must contain deprecation or revocation",
        ));
    }
    let v = find_version(&conn, &m, &version)?;
    Ok(doc(
        StatusCode::OK,
        json!({"data": version_json(&conn, &base, &m, &v)?}),
    ))
}

/// Checks an uploaded module tarball: gzip'd tar with at least one `.tf` file at its root.
fn ingest(path: &std::path::Path) -> Result<(), String> {
    let file = std::fs::File::open(path).map_err(|e| format!("cannot read upload: {e}"))?;
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let entries = archive
        .entries()
        .map_err(|e| format!("not a gzip-compressed tar archive: {e}"))?;
    let mut root_tf = false;
    let mut any = false;
    for entry in entries {
        let mut entry = entry.map_err(|e| format!("not a gzip-compressed tar archive: {e}"))?;
        any = true;
        let p = entry
            .path()
            .map_err(|e| format!("bad path in archive: {e}"))?
            .into_owned();
        let comps: Vec<_> = p
            .components()
            .filter(|c| !matches!(c, std::path::Component::CurDir))
            .collect();
        if comps.len() == 1
            && entry.header().entry_type().is_file()
            && p.extension().is_some_and(|e| e == "tf")
        {
            root_tf = true;
        }
        let mut sink = Vec::new();
        entry
            .read_to_end(&mut sink)
            .map_err(|e| format!("archive is truncated: {e}"))?;
    }
    if !any {
        return Err("archive is empty".into());
    }
    if !root_tf {
        return Err("no Terraform configuration (.tf) files at the root of the archive; the module files must not be inside a folder".into());
    }
    Ok(())
}

/// Records a completed tarball upload and ingests it.
pub(crate) fn attach_upload(
    state: &SharedState,
    version_id: i64,
    sha: &str,
    token: &str,
) -> Result<(), ApiError> {
    let path = state
        .blobs
        .path(sha)
        .ok_or_else(|| ApiError::internal("bad blob digest"))?;
    let outcome = if state.faults.holding_pending() {
        None
    } else {
        Some(ingest(&path))
    };
    let (status, error) = match outcome {
        None => ("pending", None),
        Some(Ok(())) => ("ok", None),
        Some(Err(e)) => ("reg_ingress_failed", Some(e)),
    };
    let mut conn = state.db.lock().unwrap_or_else(|e| e.into_inner());
    let tx = conn.transaction()?;
    let n = tx.execute(
        "UPDATE module_versions SET blob=?2, status=?3, error=?4, updated_at=?5 WHERE id=?1",
        params![version_id, sha, status, error, now()],
    )?;
    tx.execute("DELETE FROM uploads WHERE token=?1", [token])?;
    tx.commit()?;
    if n == 0 {
        return Err(ApiError::not_found(
            "the module version of this upload was deleted",
        ));
    }
    Ok(())
}

/// Versions installable by Terraform: (module namespace/name/provider) -> `ok`, not revoked.
pub(crate) fn installable(
    conn: &Connection,
    ns: &str,
    name: &str,
    provider: &str,
) -> Result<Option<Vec<(String, String)>>, ApiError> {
    let Some(m) = conn
        .query_row(
            &format!(
                "SELECT {MOD_COLS} FROM modules WHERE namespace=?1 AND name=?2 AND provider=?3"
            ),
            params![ns, name, provider],
            module_row,
        )
        .optional()?
    else {
        return Ok(None);
    };
    Ok(Some(
        versions_of(conn, m.id)?
            .into_iter()
            .filter(|v| v.status == "ok" && !v.revoked)
            .filter_map(|v| v.blob.map(|b| (v.version, b)))
            .collect(),
    ))
}
