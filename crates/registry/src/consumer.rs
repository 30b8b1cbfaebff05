//! The consumer side Terraform itself reads: service discovery, module versions and
//! download (204 + `X-Terraform-Get`), provider versions and download metadata with the
//! signing keys. Only fully uploaded, installable releases are listed.
//!
//! Imports `jsonapi`, `auth`, `archivist` (download links), `store` and `state`; nothing
//! imports this file but `routes`.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::archivist::download_link;
use crate::auth::authorize;
use crate::jsonapi::{Problem, Reply};
use crate::state::SharedState;
use crate::store::{gpg_keys, modules, providers};

fn plain_json(body: serde_json::Value) -> Response {
    (
        StatusCode::OK,
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// The discovery document with every service HCP Terraform lists there (wire-facts.md,
/// "Discovery"), not only the registry's: API clients (`terraform login`, HashiCorp's
/// SDKs) find the API base through `tfe.v2`. Only `modules.v1`, `providers.v1` and the
/// `tfe.v2*` registry endpoints are served here; the others are listed as HCP lists them
/// so that a client comparing the document sees the same services.
pub(crate) async fn discovery() -> Response {
    plain_json(json!({
        "modules.v1": "/api/registry/v1/modules/",
        "providers.v1": "/api/registry/v1/providers/",
        "tfe.v2": "/api/v2/",
        "tfe.v2.1": "/api/v2/",
        "tfe.v2.2": "/api/v2/",
        "state.v2": "/api/v2/",
        "motd.v1": "/api/terraform/motd",
        "versions.v1": "https://checkpoint-api.hashicorp.com/v1/versions/",
        "login.v1": {
            "client": "terraform-cli",
            "grant_types": ["authz_code"],
            "authz": "/app/oauth/authorize",
            "token": "/oauth/token",
            "ports": [10000, 10010],
        },
    }))
}

/// A version's `deprecation` in the module registry protocol (manage-module-versions.md,
/// "Fetch a module version's deprecation data"): `{reason, link}`, `null` when the
/// version is not deprecated.
fn protocol_deprecation(v: &modules::Version) -> serde_json::Value {
    if v.deprecated {
        json!({"reason": v.deprecation_reason.clone().unwrap_or_default(), "link": v.deprecation_link.clone().unwrap_or_default()})
    } else {
        serde_json::Value::Null
    }
}

/// The installable versions of a module, or the documented 404.
fn installable(
    conn: &rusqlite::Connection,
    ns: &str,
    name: &str,
    provider: &str,
) -> Result<(modules::Module, Vec<modules::Version>), Problem> {
    modules::installable_versions(conn, ns, name, provider)?
        .ok_or_else(|| Problem::not_found(format!("module {ns}/{name}/{provider} not found")))
}

/// The highest semantic version of a list (pre-releases count, as the registry's
/// "latest" is the newest installable version).
/// The highest semver version of a module, or a 404 naming it.
fn latest<'a>(
    versions: &'a [modules::Version],
    module: (&str, &str, &str),
) -> Result<&'a modules::Version, Problem> {
    versions
        .iter()
        .filter_map(|v| semver::Version::parse(&v.version).ok().map(|s| (s, v)))
        .max_by(|a, b| a.0.cmp(&b.0))
        .map(|(_, v)| v)
        .ok_or_else(|| {
            let (ns, name, provider) = module;
            Problem::not_found(format!("module {ns}/{name}/{provider} has no versions"))
        })
}

/// One module version as the registry protocol's "Get a specific module" shapes it (the
/// fields pytfe's `TerraformRegistryModule` reads, and `deprecation` per
/// manage-module-versions.md). This registry does not parse module contents, so `root`
/// and `submodules` are not emitted.
fn protocol_module(
    m: &modules::Module,
    v: &modules::Version,
    all: &[modules::Version],
) -> serde_json::Value {
    json!({
        "id": format!("{}/{}/{}/{}", m.namespace, m.name, m.provider, v.version),
        "owner": "",
        "namespace": m.namespace,
        "name": m.name,
        "version": v.version,
        "provider": m.provider,
        "description": "",
        "source": "",
        "published_at": v.created_at,
        "downloads": 0,
        "verified": false,
        "providers": [m.provider],
        "versions": all.iter().map(|x| x.version.as_str()).collect::<Vec<_>>(),
        "deprecation": protocol_deprecation(v),
    })
}

/// `GET modules.v1/:ns/:name/:provider`: the latest version.
pub(crate) async fn module_latest(
    State(state): State<SharedState>,
    Path((ns, name, provider)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Reply {
    authorize(&state, &headers, &ns, false)?;
    let conn = state.conn();
    let (m, versions) = installable(&conn, &ns, &name, &provider)?;
    let v = latest(&versions, (&ns, &name, &provider))?;
    Ok(plain_json(protocol_module(&m, v, &versions)))
}

/// `GET modules.v1/:ns/:name/:provider/:version`.
pub(crate) async fn module_version(
    State(state): State<SharedState>,
    Path((ns, name, provider, version)): Path<(String, String, String, String)>,
    headers: HeaderMap,
) -> Reply {
    authorize(&state, &headers, &ns, false)?;
    let conn = state.conn();
    let (m, versions) = installable(&conn, &ns, &name, &provider)?;
    let v = versions
        .iter()
        .find(|v| v.version == version)
        .ok_or_else(|| {
            Problem::not_found(format!(
                "version {version} of module {ns}/{name}/{provider} is not available"
            ))
        })?;
    Ok(plain_json(protocol_module(&m, v, &versions)))
}

/// `GET modules.v1/:ns/:name/:provider/download`: the registry protocol answers a
/// redirect (302) to the latest version's download endpoint.
pub(crate) async fn module_download_latest(
    State(state): State<SharedState>,
    Path((ns, name, provider)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Reply {
    authorize(&state, &headers, &ns, false)?;
    let conn = state.conn();
    let (_, versions) = installable(&conn, &ns, &name, &provider)?;
    let v = latest(&versions, (&ns, &name, &provider))?;
    let to = format!(
        "/api/registry/v1/modules/{ns}/{name}/{provider}/{}/download",
        v.version
    );
    let mut resp = StatusCode::FOUND.into_response();
    resp.headers_mut().insert(
        axum::http::header::LOCATION,
        HeaderValue::from_str(&to).map_err(|_| Problem::internal("bad redirect URL"))?,
    );
    Ok(resp)
}

pub(crate) async fn module_versions(
    State(state): State<SharedState>,
    Path((ns, name, provider)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Reply {
    authorize(&state, &headers, &ns, false)?;
    let conn = state.conn();
    let (_, versions) = installable(&conn, &ns, &name, &provider)?;
    let list: Vec<_> = versions
        .iter()
        .map(|v| json!({"version": v.version, "deprecation": protocol_deprecation(v)}))
        .collect();
    Ok(plain_json(json!({"modules": [{
        "source": format!("{ns}/{name}/{provider}"),
        "versions": list,
    }]})))
}

pub(crate) async fn module_download(
    State(state): State<SharedState>,
    Path((ns, name, provider, version)): Path<(String, String, String, String)>,
    headers: HeaderMap,
) -> Reply {
    authorize(&state, &headers, &ns, false)?;
    let base = state.base_url(&headers);
    let conn = state.conn();
    let versions = modules::installable(&conn, &ns, &name, &provider)?
        .ok_or_else(|| Problem::not_found(format!("module {ns}/{name}/{provider} not found")))?;
    let (_, blob) = versions
        .iter()
        .find(|(v, _)| *v == version)
        .ok_or_else(|| {
            Problem::not_found(format!(
                "version {version} of module {ns}/{name}/{provider} is not available"
            ))
        })?;
    let url = download_link(&base, blob, &format!("{name}-{provider}-{version}.tar.gz"));
    let mut resp = StatusCode::NO_CONTENT.into_response();
    resp.headers_mut().insert(
        "x-terraform-get",
        HeaderValue::from_str(&url).map_err(|_| Problem::internal("bad download URL"))?,
    );
    Ok(resp)
}

/// A version is installable once SHA256SUMS and its signature are uploaded; a platform
/// once its zip is.
pub(crate) async fn provider_versions(
    State(state): State<SharedState>,
    Path((ns, name)): Path<(String, String)>,
    headers: HeaderMap,
) -> Reply {
    authorize(&state, &headers, &ns, false)?;
    let conn = state.conn();
    let p = providers::find_private(&conn, &ns, &name)?
        .ok_or_else(|| Problem::not_found(format!("provider {ns}/{name} not found")))?;
    let mut out = Vec::new();
    for v in providers::versions_of(&conn, p.id)? {
        if v.shasums_blob.is_none() || v.shasums_sig_blob.is_none() {
            continue;
        }
        let platforms: Vec<_> = providers::platforms_of(&conn, v.id)?
            .into_iter()
            .filter(|pl| pl.blob.is_some())
            .map(|pl| json!({"os": pl.os, "arch": pl.arch}))
            .collect();
        if platforms.is_empty() {
            continue;
        }
        out.push(json!({"version": v.version, "protocols": v.protocols, "platforms": platforms}));
    }
    Ok(plain_json(
        json!({"id": format!("{ns}/{name}"), "versions": out, "warnings": null}),
    ))
}

pub(crate) async fn provider_download(
    State(state): State<SharedState>,
    Path((ns, name, version, os, arch)): Path<(String, String, String, String, String)>,
    headers: HeaderMap,
) -> Reply {
    authorize(&state, &headers, &ns, false)?;
    let base = state.base_url(&headers);
    let conn = state.conn();
    let not_found = || {
        Problem::not_found(format!(
            "provider {ns}/{name} {version} has no download for {os}_{arch}"
        ))
    };
    let p = providers::find_private(&conn, &ns, &name)?.ok_or_else(not_found)?;
    let v = providers::versions_of(&conn, p.id)?
        .into_iter()
        .find(|v| v.version == version)
        .ok_or_else(not_found)?;
    let (Some(sums), Some(sig)) = (&v.shasums_blob, &v.shasums_sig_blob) else {
        return Err(not_found());
    };
    let pl = providers::platforms_of(&conn, v.id)?
        .into_iter()
        .find(|pl| pl.os == os && pl.arch == arch && pl.blob.is_some())
        .ok_or_else(not_found)?;
    let key = gpg_keys::lookup(&conn, &ns, &v.key_id);
    let keys: Vec<_> = key
        .iter()
        .map(|k| json!({"key_id": k.key_id, "ascii_armor": k.ascii_armor, "trust_signature": "", "source": "", "source_url": null}))
        .collect();
    let sums_name = format!("terraform-provider-{name}_{version}_SHA256SUMS");
    Ok(plain_json(json!({
        "protocols": v.protocols,
        "os": pl.os,
        "arch": pl.arch,
        "filename": pl.filename,
        "download_url": download_link(&base, pl.blob.as_deref().unwrap_or_default(), &pl.filename),
        "shasums_url": download_link(&base, sums, &sums_name),
        "shasums_signature_url": download_link(&base, sig, &format!("{sums_name}.sig")),
        "shasum": pl.shasum,
        "signing_keys": {"gpg_public_keys": keys},
    })))
}
