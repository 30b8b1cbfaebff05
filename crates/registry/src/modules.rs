//! HTTP handlers of the management API for private registry modules and their versions
//! (no-VCS publishing: create, upload a tarball through the archivist, watch the status).
//! Parse the request, check access, call `store::modules`, shape the JSON:API document.
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

use crate::archivist::upload_link;
use crate::auth::{authorize, authorize_write, Need};
use crate::jsonapi::{
    attributes, data_doc, doc, link, page_doc, page_params, require_semver, required_str,
    valid_name, Problem, Reply, Search,
};
use crate::state::SharedState;
use crate::store::modules::{self as store, Lifecycle, Module, Version};
use crate::store::uploads::UploadKind;

type ModPath = (String, String, String, String, String);
type VerPath = (String, String, String, String, String, String);

fn module_json(conn: &Connection, base: &url::Url, m: &Module) -> Result<Value, Problem> {
    let versions = store::versions_of(conn, m.id)?;
    // A module with versions is set up whatever their statuses; one without is pending.
    let status = if versions.is_empty() {
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
    let no_code = store::no_code(conn, m)?;
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
            "no-code": no_code,
            // The documented non-VCS samples (modules.md "Create a Module") carry no
            // publishing-mechanism; HashiCorp's Python SDK (pytfe 1.5.0,
            // models/registry_module.py `PublishingMechanism`) accepts only `branch`,
            // `git_tag` and `non_vcs`, and rejected the `tfe-api` this used to say.
            "publishing-mechanism": "non_vcs",
            "created-at": m.created_at,
            "updated-at": m.updated_at,
            "permissions": {"can-delete": true, "can-resync": true, "can-retry": true},
        },
        "relationships": {"organization": {"data": {"id": m.org, "type": "organizations"}}},
        "links": {"self": link(base, &format!("api/v2/organizations/{}/registry-modules/private/{}/{}/{}", m.org, m.namespace, m.name, m.provider))},
    }))
}

/// The module's resource with its settings (test config, VCS link, no-code module).
pub(crate) fn module_resource(
    conn: &Connection,
    base: &url::Url,
    m: &Module,
) -> Result<Value, Problem> {
    let mut r = module_json(conn, base, m)?;
    crate::module_settings::decorate(conn, m, &mut r)?;
    Ok(r)
}

fn version_json(
    conn: &Connection,
    base: &url::Url,
    m: &Module,
    v: &Version,
) -> Result<Value, Problem> {
    let mut links = serde_json::Map::new();
    // A VCS-linked module's versions are ingested from the repository, never uploaded.
    if v.blob.is_none() && !crate::vcs::linked(conn, m)? {
        links.insert(
            "upload".into(),
            json!(upload_link(conn, base, UploadKind::Module, v.id)?),
        );
    }
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
            // No `deprecation`: no documented version resource has it; deprecation data
            // is served by the protocol's versions listing (consumer.rs).
            "revocation": revocation,
            "created-at": v.created_at,
            "updated-at": v.updated_at,
        },
        "relationships": {"registry-module": {"data": {"id": format!("mod-{}", m.id), "type": "registry-modules"}}},
        "links": links,
    }))
}

fn version_doc(
    conn: &Connection,
    base: &url::Url,
    m: &Module,
    v: &Version,
    status: StatusCode,
) -> Reply {
    Ok(data_doc(status, version_json(conn, base, m, v)?))
}

/// Whether a module passes the list's `q` and `filter[...]` parameters.
fn listed(q: &HashMap<String, String>, search: &Search, m: &Module) -> bool {
    // modules.md: "Modules are searchable by name, namespace, provider fields."
    search.matches(&[&m.name, &m.namespace, &m.provider])
        && q.get("filter[provider]").is_none_or(|p| *p == m.provider)
        && q.get("filter[registry_name]")
            .is_none_or(|r| r == "private")
        && q.get("filter[organization_name]")
            .is_none_or(|o| *o == m.org)
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
    let conn = state.conn();
    let search = Search::of(&q);
    let mut items = store::list(&conn, &org)?
        .iter()
        .filter(|m| listed(&q, &search, m))
        .map(|m| module_resource(&conn, &base, m))
        .collect::<Result<Vec<_>, _>>()?;
    drop(conn);
    items.extend(crate::curation::listed(&state, &headers, &org, &q)?);
    Ok(page_doc(items, page, size))
}

/// The checks of a create request: a private module, valid name and provider.
fn check_new_module(
    attrs: &serde_json::Map<String, Value>,
    name: &str,
    provider: &str,
) -> Result<(), Problem> {
    let registry = attrs
        .get("registry-name")
        .and_then(Value::as_str)
        .unwrap_or("private");
    if registry != "private" {
        return Err(Problem::invalid(format!(
            "registry-name {registry:?} is not supported here: only private modules can be created"
        )));
    }
    if attrs.contains_key("namespace") {
        return Err(Problem::invalid(
            "Namespace must not be set for a private module (it is the organization name)",
        ));
    }
    if !valid_name(name) {
        return Err(Problem::invalid(format!(
            "Name {name:?} is invalid: use letters, digits, '-' and '_'"
        )));
    }
    if !valid_name(provider) || provider.contains('-') {
        return Err(Problem::invalid(format!(
            "Provider {provider:?} is invalid: use lower-case letters and digits"
        )));
    }
    Ok(())
}

pub(crate) async fn create(
    State(state): State<SharedState>,
    Path(org): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Reply {
    authorize(&state, &headers, &org, true)?;
    let attrs = attributes(&body)?;
    if attrs.get("registry-name").and_then(Value::as_str) == Some("public") {
        return crate::curation::create_module(&state, &headers, &org, &attrs);
    }
    crate::auth::require(&state, &headers, crate::auth::Need::Modules)?;
    let name = required_str(&attrs, "name")?;
    let provider = required_str(&attrs, "provider")?;
    check_new_module(&attrs, name, provider)?;
    let base = state.base_url(&headers);
    let conn = state.conn();
    let no_code = match attrs.get("no-code") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(Problem::invalid("no-code must be a boolean")),
    };
    let m = store::create(&conn, &org, name, provider)?;
    store::set_no_code(&conn, &m, no_code)?;
    Ok(data_doc(
        StatusCode::CREATED,
        module_resource(&conn, &base, &m)?,
    ))
}

fn private_only(registry: &str) -> Result<(), Problem> {
    if registry == "private" {
        Ok(())
    } else {
        Err(Problem::not_found(format!(
            "registry {registry:?} has no modules here"
        )))
    }
}

pub(crate) async fn get_module(
    State(state): State<SharedState>,
    Path((org, registry, ns, name, provider)): Path<ModPath>,
    headers: HeaderMap,
) -> Reply {
    if registry == "public" {
        return crate::curation::get_module(&state, &headers, (&org, &ns, &name, &provider));
    }
    authorize(&state, &headers, &org, false)?;
    private_only(&registry)?;
    let base = state.base_url(&headers);
    let conn = state.conn();
    let m = store::find(&conn, &org, &ns, &name, &provider)?;
    Ok(data_doc(StatusCode::OK, module_resource(&conn, &base, &m)?))
}

pub(crate) async fn delete_module(
    State(state): State<SharedState>,
    Path((org, registry, ns, name)): Path<(String, String, String, String)>,
    headers: HeaderMap,
) -> Reply {
    authorize(&state, &headers, &org, true)?;
    private_only(&registry)?;
    store::delete_all_providers(&state.conn(), &org, &ns, &name)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub(crate) async fn delete_provider(
    State(state): State<SharedState>,
    Path((org, registry, ns, name, provider)): Path<ModPath>,
    headers: HeaderMap,
) -> Reply {
    if registry == "public" {
        return crate::curation::delete_module(&state, &headers, (&org, &ns, &name, &provider));
    }
    authorize(&state, &headers, &org, true)?;
    private_only(&registry)?;
    let conn = state.conn();
    let m = store::find(&conn, &org, &ns, &name, &provider)?;
    store::delete(&conn, &m)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The module a version is created in: (org, namespace, name, provider).
struct Target<'a>(&'a str, &'a str, &'a str, &'a str);

fn create_version_in(
    state: &SharedState,
    headers: &HeaderMap,
    t: Target<'_>,
    body: &[u8],
) -> Reply {
    let Target(org, ns, name, provider) = t;
    authorize_write(state, headers, org, Need::Modules)?;
    let attrs = attributes(body)?;
    let version = required_str(&attrs, "version")?;
    require_semver(version)?;
    let commit = attrs.get("commit-sha").and_then(Value::as_str);
    let base = state.base_url(headers);
    let conn = state.conn();
    let m = store::find(&conn, org, ns, name, provider)?;
    crate::vcs::before_version(&conn, &m)?;
    let v = store::create_version(&conn, &m, version, commit)?;
    let v = crate::vcs::after_version(&conn, &m, v)?;
    version_doc(&conn, &base, &m, &v, StatusCode::CREATED)
}

pub(crate) async fn create_version(
    State(state): State<SharedState>,
    Path((org, registry, ns, name, provider)): Path<ModPath>,
    headers: HeaderMap,
    body: Bytes,
) -> Reply {
    private_only(&registry)?;
    create_version_in(&state, &headers, Target(&org, &ns, &name, &provider), &body)
}

/// `POST /api/v2/registry-modules/:org/:name/:provider/versions` (deprecated, go-tfe).
pub(crate) async fn create_version_deprecated(
    State(state): State<SharedState>,
    Path((org, name, provider)): Path<(String, String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Reply {
    create_version_in(
        &state,
        &headers,
        Target(&org, &org, &name, &provider),
        &body,
    )
}

pub(crate) async fn get_version(
    State(state): State<SharedState>,
    Path((org, registry, ns, name, provider)): Path<ModPath>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Reply {
    authorize(&state, &headers, &org, false)?;
    private_only(&registry)?;
    let version = q
        .get("module_version")
        .ok_or_else(|| Problem::bad_request("query parameter module_version is required"))?;
    let base = state.base_url(&headers);
    let conn = state.conn();
    let m = store::find(&conn, &org, &ns, &name, &provider)?;
    let v = store::find_version(&conn, &m, version)?;
    version_doc(&conn, &base, &m, &v, StatusCode::OK)
}

pub(crate) async fn delete_version(
    State(state): State<SharedState>,
    Path((org, registry, ns, name, provider, version)): Path<VerPath>,
    headers: HeaderMap,
) -> Reply {
    authorize(&state, &headers, &org, true)?;
    private_only(&registry)?;
    let conn = state.conn();
    let m = store::find(&conn, &org, &ns, &name, &provider)?;
    let v = store::find_version(&conn, &m, &version)?;
    store::delete_version(&conn, &v)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The lifecycle change a PATCH body asks for.
fn lifecycle(attrs: &serde_json::Map<String, Value>) -> Result<Lifecycle<'_>, Problem> {
    if let Some(dep) = attrs.get("deprecation") {
        match dep.get("deprecated-status").and_then(Value::as_str) {
            Some("Deprecated") => Ok(Lifecycle::Deprecate {
                reason: dep.get("reason").and_then(Value::as_str),
                link: dep.get("link").and_then(Value::as_str),
            }),
            Some("Undeprecated") => Ok(Lifecycle::Undeprecate),
            _ => Err(Problem::invalid(
                "deprecation.deprecated-status must be \"Deprecated\" or \"Undeprecated\"",
            )),
        }
    } else if let Some(rev) = attrs.get("revocation") {
        match rev.get("status").and_then(Value::as_str) {
            Some("Revoked") => Ok(Lifecycle::Revoke {
                message: rev.get("message").and_then(Value::as_str),
                link: rev.get("link").and_then(Value::as_str),
            }),
            Some("Unrevoked") => Ok(Lifecycle::Unrevoke),
            _ => Err(Problem::invalid(
                "revocation.status must be \"Revoked\" or \"Unrevoked\"",
            )),
        }
    } else {
        Err(Problem::invalid(
            "attributes must contain deprecation or revocation",
        ))
    }
}

/// Deprecate / undeprecate / revoke / unrevoke (manage-module-versions).
pub(crate) async fn patch_version(
    State(state): State<SharedState>,
    Path((org, registry, ns, name, provider, version)): Path<VerPath>,
    headers: HeaderMap,
    body: Bytes,
) -> Reply {
    authorize(&state, &headers, &org, true)?;
    private_only(&registry)?;
    let attrs = attributes(&body)?;
    let base = state.base_url(&headers);
    let conn = state.conn();
    let m = store::find(&conn, &org, &ns, &name, &provider)?;
    let v = store::find_version(&conn, &m, &version)?;
    let change = lifecycle(&attrs)?;
    let answer = match change {
        Lifecycle::Deprecate { .. } => Answer::Deprecated,
        Lifecycle::Undeprecate => Answer::Undeprecated,
        Lifecycle::Revoke { .. } => Answer::Revoked,
        Lifecycle::Unrevoke => Answer::Unrevoked,
    };
    store::change_lifecycle(&conn, &v, change)?;
    let v = store::find_version(&conn, &m, &version)?;
    lifecycle_doc(&conn, &base, &m, &v, answer)
}

/// Which PATCH sample of manage-module-versions.md the answer follows.
enum Answer {
    Deprecated,
    Undeprecated,
    Revoked,
    Unrevoked,
}

/// The PATCH answers, each in the shape of its sample (manage-module-versions.md):
/// deprecate answers a `module-versions` document with a `deprecation` relationship and
/// the `deprecations` resource (`link`, `reason`) in `included`; undeprecate the bare
/// `module-versions` identifier; revoke and unrevoke the `registry-module-versions`
/// resource, the latter with `revocation: {"status": "Unrevoked"}`.
fn lifecycle_doc(
    conn: &Connection,
    base: &url::Url,
    m: &Module,
    v: &Version,
    answer: Answer,
) -> Reply {
    let id = format!("modver-{}", v.id);
    let body = match answer {
        Answer::Deprecated => {
            let dep = format!("moddep-{}", v.id);
            json!({
                "data": {
                    "type": "module-versions",
                    "id": id,
                    "relationships": {"deprecation": {"data": {"id": dep, "type": "deprecations"}}},
                },
                "included": [{
                    "type": "deprecations",
                    "id": dep,
                    "attributes": {"link": v.deprecation_link, "reason": v.deprecation_reason},
                }],
            })
        }
        Answer::Undeprecated => json!({"data": {"type": "module-versions", "id": id}}),
        Answer::Revoked => json!({"data": version_json(conn, base, m, v)?}),
        Answer::Unrevoked => {
            let mut data = version_json(conn, base, m, v)?;
            data["attributes"]["revocation"] = json!({"status": "Unrevoked"});
            json!({"data": data})
        }
    };
    Ok(doc(StatusCode::OK, body))
}

/// `GET /api/v2/registry-modules/show/:org/:name/:provider` (deprecated in modules.md
/// "Get a Module", still live): the private module whose namespace is the organization.
pub(crate) async fn show_deprecated(
    State(state): State<SharedState>,
    Path((org, name, provider)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Reply {
    authorize(&state, &headers, &org, false)?;
    let base = state.base_url(&headers);
    let conn = state.conn();
    let m = store::find(&conn, &org, &org, &name, &provider)?;
    Ok(data_doc(StatusCode::OK, module_resource(&conn, &base, &m)?))
}

/// `POST /api/v2/registry-modules` (deprecated in modules.md "Publish a Private Module from
/// a VCS"; pytfe's `create_with_vcs_connection` still posts here): it names no
/// organization, so it answers the documented 422. Its replacement
/// `POST /organizations/:org/registry-modules/vcs` stores the link (`vcs.rs`).
pub(crate) async fn create_vcs_unsupported(body: Bytes) -> Reply {
    let attrs = attributes(&body)?;
    if attrs.get("vcs-repo").is_none_or(Value::is_null) {
        return Err(Problem::invalid("vcs-repo is required"));
    }
    Err(Problem::invalid(
        "vcs-repo: this registry has no VCS connections; create the module without VCS and upload its versions",
    ))
}

/// `POST /api/v2/registry-modules/actions/delete/:org/:name` (deprecated, modules.md
/// "Delete a Module"; pytfe `delete`/`delete_by_name`): the whole module.
pub(crate) async fn delete_module_deprecated(
    State(state): State<SharedState>,
    Path((org, name)): Path<(String, String)>,
    headers: HeaderMap,
    // Read (and ignore) the `{}` body pytfe sends, so the connection stays reusable.
    _body: Bytes,
) -> Reply {
    authorize(&state, &headers, &org, true)?;
    store::delete_all_providers(&state.conn(), &org, &org, &name)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /api/v2/registry-modules/actions/delete/:org/:name/:provider` (deprecated).
pub(crate) async fn delete_provider_deprecated(
    State(state): State<SharedState>,
    Path((org, name, provider)): Path<(String, String, String)>,
    headers: HeaderMap,
    // Read (and ignore) the `{}` body pytfe sends, so the connection stays reusable.
    _body: Bytes,
) -> Reply {
    authorize(&state, &headers, &org, true)?;
    let conn = state.conn();
    let m = store::find(&conn, &org, &org, &name, &provider)?;
    store::delete(&conn, &m)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /api/v2/registry-modules/actions/delete/:org/:name/:provider/:version`
/// (deprecated).
pub(crate) async fn delete_version_deprecated(
    State(state): State<SharedState>,
    Path((org, name, provider, version)): Path<(String, String, String, String)>,
    headers: HeaderMap,
    // Read (and ignore) the `{}` body pytfe sends, so the connection stays reusable.
    _body: Bytes,
) -> Reply {
    authorize(&state, &headers, &org, true)?;
    let conn = state.conn();
    let m = store::find(&conn, &org, &org, &name, &provider)?;
    let v = store::find_version(&conn, &m, &version)?;
    store::delete_version(&conn, &v)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
