//! HTTP handlers of the management API for private registry providers: providers,
//! versions (SHA256SUMS and its signature uploaded through the archivist) and platforms
//! (one zip each). Parse the request, check access, call `store::providers`, shape JSON.
//!
//! Imports `jsonapi`, `auth`, `archivist` (link helpers), `store` and `state`; nothing
//! imports this file but `routes`.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use rusqlite::Connection;
use serde_json::{json, Value};

use crate::archivist::{download_link, upload_link};
use crate::auth::{authorize, authorize_write, Need};
use crate::curation::provider_need;
use crate::jsonapi::{
    attributes, data_doc, link, page_doc, page_params, require_semver, required_str, valid_name,
    Problem, Reply, Search,
};
use crate::state::SharedState;
use crate::store::providers::{self as store, NewPlatform, PVersion, Platform, Provider};
use crate::store::uploads::UploadKind;

type ProvPath = (String, String, String, String);
type VerPath = (String, String, String, String, String);
type PlatPath = (String, String, String, String, String, String, String);

fn provider_json(base: &url::Url, p: &Provider) -> Value {
    let self_path = format!(
        "api/v2/organizations/{}/registry-providers/{}/{}/{}",
        p.org, p.registry, p.namespace, p.name
    );
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
        "links": {"self": link(base, &self_path)},
    })
}

/// A version's links: download links for what was uploaded, upload links for the rest.
fn version_links(
    conn: &Connection,
    base: &url::Url,
    p: &Provider,
    v: &PVersion,
) -> Result<serde_json::Map<String, Value>, Problem> {
    let file = format!("terraform-provider-{}_{}_SHA256SUMS", p.name, v.version);
    let mut links = serde_json::Map::new();
    match &v.shasums_blob {
        Some(sha) => links.insert(
            "shasums-download".into(),
            json!(download_link(base, sha, &file)),
        ),
        None => links.insert(
            "shasums-upload".into(),
            json!(upload_link(conn, base, UploadKind::Shasums, v.id)?),
        ),
    };
    match &v.shasums_sig_blob {
        Some(sha) => links.insert(
            "shasums-sig-download".into(),
            json!(download_link(base, sha, &format!("{file}.sig"))),
        ),
        None => links.insert(
            "shasums-sig-upload".into(),
            json!(upload_link(conn, base, UploadKind::ShasumsSig, v.id)?),
        ),
    };
    Ok(links)
}

fn version_json(
    conn: &Connection,
    base: &url::Url,
    p: &Provider,
    v: &PVersion,
) -> Result<Value, Problem> {
    let links = version_links(conn, base, p, v)?;
    let platforms: Vec<Value> = store::platforms_of(conn, v.id)?
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
) -> Result<Value, Problem> {
    let mut links = serde_json::Map::new();
    match &pl.blob {
        Some(sha) => links.insert(
            "provider-binary-download".into(),
            json!(download_link(base, sha, &pl.filename)),
        ),
        None => links.insert(
            "provider-binary-upload".into(),
            json!(upload_link(conn, base, UploadKind::Binary, pl.id)?),
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
) -> Reply {
    authorize(&state, &headers, &org, false)?;
    let (page, size) = page_params(&q)?;
    let base = state.base_url(&headers);
    let all = store::list(&state.conn(), &org)?;
    let search = Search::of(&q);
    let items = all
        .iter()
        // providers.md: "searchable by both their name and their namespace fields".
        .filter(|p| search.matches(&[&p.name, &p.namespace]))
        .filter(|p| {
            q.get("filter[registry_name]")
                .is_none_or(|r| *r == p.registry)
        })
        .filter(|p| {
            q.get("filter[organization_name]")
                .is_none_or(|o| *o == p.org)
        })
        .map(|p| provider_json(&base, p))
        .collect();
    Ok(page_doc(items, page, size))
}

pub(crate) async fn create(
    State(state): State<SharedState>,
    Path(org): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Reply {
    authorize(&state, &headers, &org, true)?;
    let attrs = attributes(&body)?;
    let name = required_str(&attrs, "name")?;
    let ns = required_str(&attrs, "namespace")?;
    let registry = required_str(&attrs, "registry-name")?;
    crate::auth::require(&state, &headers, provider_need(registry))?;
    if registry != "private" && registry != "public" {
        return Err(Problem::invalid(format!(
            "registry-name must be \"private\" or \"public\", not {registry:?}"
        )));
    }
    if registry == "private" && ns != org {
        return Err(Problem::invalid(format!(
            "Namespace of a private provider must be the organization name {org:?}, not {ns:?}"
        )));
    }
    if !valid_name(name) || !valid_name(ns) {
        return Err(Problem::invalid(format!(
            "Name {name:?} or namespace {ns:?} is invalid: use letters, digits, '-' and '_'"
        )));
    }
    let base = state.base_url(&headers);
    let p = store::create(&state.conn(), &org, registry, ns, name)?;
    Ok(data_doc(StatusCode::CREATED, provider_json(&base, &p)))
}

pub(crate) async fn get_provider(
    State(state): State<SharedState>,
    Path((org, registry, ns, name)): Path<ProvPath>,
    headers: HeaderMap,
) -> Reply {
    authorize(&state, &headers, &org, false)?;
    let base = state.base_url(&headers);
    let p = store::find(&state.conn(), &org, &registry, &ns, &name)?;
    Ok(data_doc(StatusCode::OK, provider_json(&base, &p)))
}

pub(crate) async fn delete_provider(
    State(state): State<SharedState>,
    Path((org, registry, ns, name)): Path<ProvPath>,
    headers: HeaderMap,
) -> Reply {
    authorize_write(&state, &headers, &org, provider_need(&registry))?;
    let conn = state.conn();
    let p = store::find(&conn, &org, &registry, &ns, &name)?;
    store::delete(&conn, &p)?;
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

/// The `protocols` attribute: a non-empty array of "MAJOR.MINOR" strings.
fn protocols(attrs: &serde_json::Map<String, Value>) -> Result<Vec<String>, Problem> {
    match attrs.get("protocols") {
        Some(Value::Array(a)) if !a.is_empty() => a
            .iter()
            .map(|p| {
                p.as_str()
                    .filter(|s| valid_protocol(s))
                    .map(str::to_string)
                    .ok_or_else(|| {
                        Problem::invalid(format!(
                            "protocols entry {p} must be a string like \"5.0\" or \"6.0\""
                        ))
                    })
            })
            .collect(),
        Some(_) => Err(Problem::invalid(
            "protocols must be a non-empty array of strings like [\"6.0\"]",
        )),
        None => Err(Problem::invalid("attribute \"protocols\" is required")),
    }
}

pub(crate) async fn create_version(
    State(state): State<SharedState>,
    Path((org, registry, ns, name)): Path<ProvPath>,
    headers: HeaderMap,
    body: Bytes,
) -> Reply {
    authorize_write(&state, &headers, &org, Need::Providers)?;
    let attrs = attributes(&body)?;
    let version = required_str(&attrs, "version")?;
    let key_id = required_str(&attrs, "key-id")?;
    require_semver(version)?;
    if !valid_key_id(key_id) {
        return Err(Problem::invalid(format!(
            "key-id {key_id:?} must be 16 hexadecimal digits"
        )));
    }
    let protocols = protocols(&attrs)?;
    let base = state.base_url(&headers);
    let conn = state.conn();
    let p = store::find(&conn, &org, &registry, &ns, &name)?;
    let v = store::create_version(&conn, &p, version, key_id, &protocols)?;
    Ok(data_doc(
        StatusCode::CREATED,
        version_json(&conn, &base, &p, &v)?,
    ))
}

pub(crate) async fn list_versions(
    State(state): State<SharedState>,
    Path((org, registry, ns, name)): Path<ProvPath>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Reply {
    authorize(&state, &headers, &org, false)?;
    let (page, size) = page_params(&q)?;
    let base = state.base_url(&headers);
    let conn = state.conn();
    let p = store::find(&conn, &org, &registry, &ns, &name)?;
    let items = store::versions_of(&conn, p.id)?
        .iter()
        .map(|v| version_json(&conn, &base, &p, v))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(page_doc(items, page, size))
}

pub(crate) async fn get_version(
    State(state): State<SharedState>,
    Path((org, registry, ns, name, version)): Path<VerPath>,
    headers: HeaderMap,
) -> Reply {
    authorize(&state, &headers, &org, false)?;
    let base = state.base_url(&headers);
    let conn = state.conn();
    let p = store::find(&conn, &org, &registry, &ns, &name)?;
    let v = store::find_version(&conn, &p, &version)?;
    Ok(data_doc(
        StatusCode::OK,
        version_json(&conn, &base, &p, &v)?,
    ))
}

pub(crate) async fn delete_version(
    State(state): State<SharedState>,
    Path((org, registry, ns, name, version)): Path<VerPath>,
    headers: HeaderMap,
) -> Reply {
    authorize(&state, &headers, &org, true)?;
    let conn = state.conn();
    let p = store::find(&conn, &org, &registry, &ns, &name)?;
    let v = store::find_version(&conn, &p, &version)?;
    store::delete_version(&conn, &v)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Go's GOOS values but the mobile and WebAssembly ones (`go tool dist list`): where a
/// Terraform CLI, and so a provider, can run.
const OSES: &[&str] = &[
    "aix",
    "darwin",
    "dragonfly",
    "freebsd",
    "illumos",
    "linux",
    "netbsd",
    "openbsd",
    "plan9",
    "solaris",
    "windows",
];
/// Go's GOARCH values but WebAssembly.
const ARCHES: &[&str] = &[
    "386", "amd64", "arm", "arm64", "loong64", "mips", "mips64", "mips64le", "mipsle", "ppc64",
    "ppc64le", "riscv64", "s390x",
];

/// The platform a create request describes, checked.
fn new_platform(attrs: &serde_json::Map<String, Value>) -> Result<NewPlatform<'_>, Problem> {
    let os = required_str(attrs, "os")?;
    let arch = required_str(attrs, "arch")?;
    let shasum = required_str(attrs, "shasum")?;
    let filename = required_str(attrs, "filename")?;
    if !OSES.contains(&os) {
        return Err(Problem::invalid(format!(
            "os {os:?} is not supported (one of {OSES:?})"
        )));
    }
    if !ARCHES.contains(&arch) {
        return Err(Problem::invalid(format!(
            "arch {arch:?} is not supported (one of {ARCHES:?})"
        )));
    }
    if shasum.len() != 64 || !shasum.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(Problem::invalid(format!(
            "shasum {shasum:?} must be 64 hexadecimal digits (sha256)"
        )));
    }
    if filename.contains('/') || !filename.ends_with(".zip") {
        return Err(Problem::invalid(format!(
            "filename {filename:?} must be a plain .zip file name"
        )));
    }
    Ok(NewPlatform {
        os,
        arch,
        filename,
        shasum,
    })
}

pub(crate) async fn create_platform(
    State(state): State<SharedState>,
    Path((org, registry, ns, name, version)): Path<VerPath>,
    headers: HeaderMap,
    body: Bytes,
) -> Reply {
    authorize(&state, &headers, &org, true)?;
    let attrs = attributes(&body)?;
    let new = new_platform(&attrs)?;
    let base = state.base_url(&headers);
    let conn = state.conn();
    let p = store::find(&conn, &org, &registry, &ns, &name)?;
    let v = store::find_version(&conn, &p, &version)?;
    let pl = store::create_platform(&conn, &v, &new)?;
    Ok(data_doc(
        StatusCode::CREATED,
        platform_json(&conn, &base, &v, &pl)?,
    ))
}

pub(crate) async fn list_platforms(
    State(state): State<SharedState>,
    Path((org, registry, ns, name, version)): Path<VerPath>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Reply {
    authorize(&state, &headers, &org, false)?;
    let (page, size) = page_params(&q)?;
    let base = state.base_url(&headers);
    let conn = state.conn();
    let p = store::find(&conn, &org, &registry, &ns, &name)?;
    let v = store::find_version(&conn, &p, &version)?;
    let items = store::platforms_of(&conn, v.id)?
        .iter()
        .map(|pl| platform_json(&conn, &base, &v, pl))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(page_doc(items, page, size))
}

pub(crate) async fn get_platform(
    State(state): State<SharedState>,
    Path((org, registry, ns, name, version, os, arch)): Path<PlatPath>,
    headers: HeaderMap,
) -> Reply {
    authorize(&state, &headers, &org, false)?;
    let base = state.base_url(&headers);
    let conn = state.conn();
    let p = store::find(&conn, &org, &registry, &ns, &name)?;
    let v = store::find_version(&conn, &p, &version)?;
    let pl = store::find_platform(&conn, &v, &os, &arch)?;
    Ok(data_doc(
        StatusCode::OK,
        platform_json(&conn, &base, &v, &pl)?,
    ))
}

pub(crate) async fn delete_platform(
    State(state): State<SharedState>,
    Path((org, registry, ns, name, version, os, arch)): Path<PlatPath>,
    headers: HeaderMap,
) -> Reply {
    authorize(&state, &headers, &org, true)?;
    let conn = state.conn();
    let p = store::find(&conn, &org, &registry, &ns, &name)?;
    let v = store::find_version(&conn, &p, &version)?;
    let pl = store::find_platform(&conn, &v, &os, &arch)?;
    store::delete_platform(&conn, &pl)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
