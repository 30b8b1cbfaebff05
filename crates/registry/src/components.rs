//! HTTP handlers of the Stack component configurations API
//! (stack-component-configurations.md): list (with `q` and pagination) and create (API-only
//! workflow) per organization, then everything else addressed by the component's id
//! (`comp-…`): read, delete, create a version (its `upload` link is a one-shot archivist
//! URL), read and delete a version.
//!
//! Beyond the page (documented in docs/hcp-fidelity.md): `GET …/versions` (the
//! `registry-component-versions` related link the documented resource carries), `GET
//! …/versions/:version` (the version's `self` link), and a `download` link on a version
//! that holds an archive (an unauthenticated archivist blob URL, like provider downloads),
//! so a client can read the bytes back. A failed version has `status: "failed"` and the
//! reason in `error-message`.
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
use crate::auth::authorize;
use crate::jsonapi::{
    attributes, data_doc, doc, link, page_doc, page_params, paginate, require_semver, required_str,
    Problem, Reply, Search,
};
use crate::state::SharedState;
use crate::store::components::{self as store, CompVersion, Component};
use crate::store::uploads::UploadKind;

/// The longest component configuration name the service accepts.
const MAX_NAME: usize = 64;

/// A component configuration name as the page allows it: letters and digits, with `-`
/// and `_` only in non-leading, non-trailing positions, at most [`MAX_NAME`] characters.
fn check_name(name: &str) -> Result<(), Problem> {
    let shown: String = name.chars().take(80).collect();
    if name.len() > MAX_NAME {
        return Err(Problem::invalid(format!(
            "Name {shown:?} is longer than {MAX_NAME} characters"
        )));
    }
    let inner_ok = name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    let ends_ok = name
        .bytes()
        .next()
        .zip(name.bytes().last())
        .is_some_and(|(a, z)| a.is_ascii_alphanumeric() && z.is_ascii_alphanumeric());
    if inner_ok && ends_ok {
        Ok(())
    } else {
        Err(Problem::invalid(format!(
            "Name {shown:?} is invalid: use letters and digits, with '-' and '_' only between them"
        )))
    }
}

fn self_path(c: &Component) -> String {
    format!("/api/v2/registry-components/{}", c.public_id)
}

/// The newest `completed` version by semantic version.
fn latest(versions: &[CompVersion]) -> Option<&CompVersion> {
    versions
        .iter()
        .filter(|v| v.status == "completed")
        .max_by_key(|v| semver::Version::parse(&v.version).ok())
}

fn component_json(conn: &Connection, c: &Component) -> Result<Value, Problem> {
    let versions = store::versions_of(conn, c)?;
    let latest = latest(&versions);
    let status = match (latest, versions.last()) {
        (Some(_), _) => "completed",
        (None, Some(v)) => v.status.as_str(),
        (None, None) => "pending",
    };
    let statuses: Vec<Value> = versions
        .iter()
        .map(|v| json!({"version": v.version, "status": v.status}))
        .collect();
    Ok(json!({
        "id": c.public_id,
        "type": "registry-components",
        "attributes": {
            "name": c.name,
            "namespace": c.org,
            "description": latest.and_then(|v| v.description.clone()),
            "status": status,
            "created-at": c.created_at,
            "updated-at": c.updated_at,
            "latest-version": latest.map(|v| v.version.clone()),
            "published-at": latest.and_then(|v| v.published_at.clone()),
            "providers": latest.map_or(json!([]), |v| v.providers.clone()),
            "version-statuses": statuses,
            "vcs-repo": null,
        },
        "relationships": {
            "organization": {"data": {"id": c.org, "type": "organizations"}},
            "registry-component-versions": {"links": {"related": format!("{}/versions", self_path(c))}},
        },
        "links": {"self": self_path(c)},
    }))
}

fn version_json(
    conn: &Connection,
    base: &url::Url,
    c: &Component,
    v: &CompVersion,
) -> Result<Value, Problem> {
    let vpath = format!("{}/versions/{}", self_path(c), v.version);
    let mut links = serde_json::Map::new();
    links.insert("self".into(), json!(vpath));
    match &v.blob {
        None => {
            let up = upload_link(conn, base, UploadKind::Component, v.id)?;
            links.insert("upload".into(), json!(up));
        }
        // Only a parsed configuration is offered for download, never a refused archive.
        Some(sha) if v.status == "completed" => {
            let file = format!("{}-{}.tar.gz", c.name, v.version);
            links.insert("download".into(), json!(download_link(base, sha, &file)));
        }
        Some(_) => {}
    }
    let related = |what: &str| json!({"links": {"related": format!("{vpath}/{what}")}});
    Ok(json!({
        "id": v.public_id,
        "type": "registry-component-versions",
        "attributes": {
            "source": "api",
            "status": v.status,
            "version": v.version,
            "readme": v.readme,
            "description": v.description,
            "published-at": v.published_at,
            "error-message": v.error,
            "source-url": null,
            "providers": v.providers,
            "variables": v.variables,
            "outputs": v.outputs,
            "created-at": v.created_at,
            "updated-at": v.updated_at,
        },
        "relationships": {
            "registry-component": {"links": {"related": self_path(c)}},
            "resources": related("resources"),
            "variables": related("variables"),
            "outputs": related("outputs"),
            "providers": related("providers"),
            "subcomponents": related("subcomponents"),
        },
        "links": links,
    }))
}

/// `GET /organizations/:org/registry-components` (`q` matches name or namespace).
pub(crate) async fn list(
    State(state): State<SharedState>,
    Path(org): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Reply {
    authorize(&state, &headers, &org, false)?;
    let (page, size) = page_params(&q)?;
    let base = state.base_url(&headers);
    let search = Search::of(&q);
    let conn = state.conn();
    let items = store::list(&conn, &org)?
        .iter()
        .filter(|c| search.matches(&[&c.name, &c.org]))
        .map(|c| component_json(&conn, c))
        .collect::<Result<Vec<_>, _>>()?;
    let (data, meta) = paginate(items, page, size);
    let links = page_links(&base, &org, &meta);
    Ok(doc(
        StatusCode::OK,
        json!({"data": data, "links": links, "meta": meta}),
    ))
}

/// The documented `links` of a listing page (self, first, prev, next, last).
fn page_links(base: &url::Url, org: &str, meta: &Value) -> Value {
    let p = &meta["pagination"];
    let size = p["page-size"].as_u64().unwrap_or(20);
    let at = |n: &Value| {
        n.as_u64().map(|n| {
            link(
                base,
                &format!("api/v2/organizations/{org}/registry-components?page%5Bnumber%5D={n}&page%5Bsize%5D={size}"),
            )
        })
    };
    json!({
        "self": at(&p["current-page"]),
        "first": at(&json!(1)),
        "prev": at(&p["prev-page"]),
        "next": at(&p["next-page"]),
        "last": at(&p["total-pages"]),
    })
}

/// `POST /organizations/:org/registry-components` (API-only workflow: a name).
pub(crate) async fn create(
    State(state): State<SharedState>,
    Path(org): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Reply {
    authorize(&state, &headers, &org, true)?;
    let attrs = attributes(&body)?;
    if attrs.get("vcs-repo").is_some_and(|v| !v.is_null()) {
        return Err(Problem::invalid(
            "vcs-repo: this registry has no VCS connections; create the component configuration with a name only and upload its versions",
        ));
    }
    let name = required_str(&attrs, "name")?;
    check_name(name)?;
    let conn = state.conn();
    let c = store::create(&conn, &org, name)?;
    Ok(data_doc(StatusCode::CREATED, component_json(&conn, &c)?))
}

/// The component `id`, after checking the caller may read (or write) its organization.
/// One of another organization is "not found", like one that does not exist (the API
/// hides existence); a missing or bad token stays a 401.
fn component(
    state: &SharedState,
    headers: &HeaderMap,
    id: &str,
    write: bool,
) -> Result<Component, Problem> {
    let found = store::find(&state.conn(), id);
    let c = match found {
        Ok(c) => c,
        Err(e) => {
            // Check the token first, so a bad one is a 401 whether or not the id exists.
            authorize(state, headers, "", write).or_else(|p| {
                if p.status() == StatusCode::UNAUTHORIZED {
                    Err(p)
                } else {
                    Ok(())
                }
            })?;
            return Err(e.into());
        }
    };
    authorize(state, headers, &c.org, write).map_err(|p| {
        if p.status() == StatusCode::UNAUTHORIZED {
            p
        } else {
            Problem::not_found(format!("component configuration {id:?} not found"))
        }
    })?;
    Ok(c)
}

/// `GET /api/v2/registry-components/:component_id`.
pub(crate) async fn get_component(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Reply {
    let c = component(&state, &headers, &id, false)?;
    let conn = state.conn();
    Ok(data_doc(StatusCode::OK, component_json(&conn, &c)?))
}

/// `DELETE /api/v2/registry-components/:component_id`.
pub(crate) async fn delete_component(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Reply {
    let c = component(&state, &headers, &id, true)?;
    store::delete(&state.conn(), &c)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /api/v2/registry-components/:component_id/versions`.
pub(crate) async fn create_version(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Reply {
    let c = component(&state, &headers, &id, true)?;
    let attrs = attributes(&body)?;
    let version = required_str(&attrs, "version")?;
    require_semver(version)?;
    let base = state.base_url(&headers);
    let conn = state.conn();
    let v = store::create_version(&conn, &c, version)?;
    Ok(data_doc(
        StatusCode::CREATED,
        version_json(&conn, &base, &c, &v)?,
    ))
}

/// `GET /api/v2/registry-components/:component_id/versions` (tfpub: the related link).
pub(crate) async fn list_versions(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Reply {
    let c = component(&state, &headers, &id, false)?;
    let (page, size) = page_params(&q)?;
    let base = state.base_url(&headers);
    let conn = state.conn();
    let items = store::versions_of(&conn, &c)?
        .iter()
        .map(|v| version_json(&conn, &base, &c, v))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(page_doc(items, page, size))
}

/// `GET /api/v2/registry-components/:component_id/versions/:version` (the `self` link).
pub(crate) async fn get_version(
    State(state): State<SharedState>,
    Path((id, version)): Path<(String, String)>,
    headers: HeaderMap,
) -> Reply {
    let c = component(&state, &headers, &id, false)?;
    let base = state.base_url(&headers);
    let conn = state.conn();
    let v = store::find_version(&conn, &c, &version)?;
    Ok(data_doc(
        StatusCode::OK,
        version_json(&conn, &base, &c, &v)?,
    ))
}

/// `DELETE /api/v2/registry-components/:component_id/versions/:version`.
pub(crate) async fn delete_version(
    State(state): State<SharedState>,
    Path((id, version)): Path<(String, String)>,
    headers: HeaderMap,
) -> Reply {
    let c = component(&state, &headers, &id, true)?;
    let conn = state.conn();
    let v = store::find_version(&conn, &c, &version)?;
    store::delete_version(&conn, &v)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[cfg(test)]
mod tests {
    use super::check_name;

    #[test]
    fn names_follow_the_documented_rule() {
        for ok in [
            "eks-cluster",
            "a",
            "hashibank_app-security",
            &"x".repeat(64),
        ] {
            assert!(check_name(ok).is_ok(), "{ok}");
        }
        for bad in [
            "-eks",
            "eks-",
            "_x",
            "x_",
            "",
            "a b",
            "a.b",
            &"x".repeat(65),
        ] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }
}
