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

pub(crate) async fn discovery() -> Response {
    plain_json(json!({
        "modules.v1": "/api/registry/v1/modules/",
        "providers.v1": "/api/registry/v1/providers/",
    }))
}

pub(crate) async fn module_versions(
    State(state): State<SharedState>,
    Path((ns, name, provider)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Reply {
    authorize(&state, &headers, &ns, false)?;
    let conn = state.conn();
    let versions = modules::installable(&conn, &ns, &name, &provider)?
        .ok_or_else(|| Problem::not_found(format!("module {ns}/{name}/{provider} not found")))?;
    let list: Vec<_> = versions
        .iter()
        .map(|(v, _)| json!({"version": v}))
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
