//! VCS-linked modules: `POST /organizations/:org/registry-modules/vcs` stores the link
//! (`vcs-repo`: identifier, OAuth token or GitHub App installation, branch or tags,
//! source directory, tag prefix) on a new private module. This registry has no VCS
//! connections and cannot clone: a tag-based module never gets versions (it reports
//! `setup_failed`), and a version created on a branch-based module fails ingestion with
//! an error saying so.
//!
//! Imports `jsonapi`, `auth`, `store` and `state`; `routes` uses the handler, `modules`
//! the two version hooks.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use rusqlite::Connection;
use serde_json::{Map, Value};

use crate::auth::{authorize_write, Need};
use crate::jsonapi::{attributes, data_doc, valid_name, Problem, Reply};
use crate::state::SharedState;
use crate::store::module_settings::{self as settings, VcsLink};
use crate::store::modules::{self as store, Module, Version};

/// The error of a version this registry would have to clone.
pub(crate) fn cannot_clone(link: &VcsLink) -> String {
    format!(
        "this registry cannot clone VCS repositories: version not ingested from {} (branch {}); publish without a VCS link to upload archives",
        link.identifier,
        if link.branch.is_empty() { "-" } else { &link.branch }
    )
}

fn text<'a>(o: &'a Map<String, Value>, key: &str) -> Result<Option<&'a str>, Problem> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(Problem::invalid(format!("vcs-repo.{key} must be a string"))),
    }
}

/// The link a create request asks for, checked as the reference describes it.
fn link_of(v: &Map<String, Value>) -> Result<VcsLink, Problem> {
    let identifier = text(v, "identifier")?
        .ok_or_else(|| Problem::invalid("vcs-repo.identifier is required"))?;
    let oauth = text(v, "oauth-token-id")?;
    let app = text(v, "github-app-installation-id")?;
    let connection =
        match (oauth, app) {
            (Some(o), None) => o,
            (None, Some(a)) => a,
            (Some(_), Some(_)) => return Err(Problem::invalid(
                "vcs-repo.oauth-token-id cannot be used with vcs-repo.github-app-installation-id",
            )),
            (None, None) => {
                return Err(Problem::invalid(
                    "vcs-repo.oauth-token-id or vcs-repo.github-app-installation-id is required",
                ))
            }
        };
    let branch = text(v, "branch")?.unwrap_or_default().to_string();
    let tags = match v.get("tags") {
        None | Some(Value::Null) => branch.is_empty(),
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(Problem::invalid("vcs-repo.tags must be a boolean")),
    };
    if tags && !branch.is_empty() {
        return Err(Problem::invalid(
            "vcs-repo.branch cannot be used with vcs-repo.tags",
        ));
    }
    let display = text(v, "display_identifier")?
        .or(text(v, "display-identifier")?)
        .unwrap_or(identifier);
    Ok(VcsLink {
        identifier: identifier.to_string(),
        oauth_token_id: connection.to_string(),
        display_identifier: display.to_string(),
        branch,
        tags,
        source_directory: text(v, "source-directory")?.map(str::to_string),
        tag_prefix: text(v, "tag-prefix")?.map(str::to_string),
    })
}

/// Name and provider: given (monorepos), else from the repository's
/// `terraform-<PROVIDER>-<NAME>`.
fn identity(attrs: &Map<String, Value>, link: &VcsLink) -> Result<(String, String), Problem> {
    let given = |k: &str| attrs.get(k).and_then(Value::as_str).map(str::to_string);
    if let (Some(n), Some(p)) = (given("name"), given("provider")) {
        return Ok((n, p));
    }
    let repo = link.identifier.rsplit('/').next().unwrap_or_default();
    let rest = repo.strip_prefix("terraform-").ok_or_else(|| {
        Problem::invalid(format!(
            "vcs-repo.identifier {:?}: the repository must be named terraform-<PROVIDER>-<NAME>",
            link.identifier
        ))
    })?;
    let (provider, name) = rest.split_once('-').ok_or_else(|| {
        Problem::invalid(format!(
            "vcs-repo.identifier {:?}: the repository must be named terraform-<PROVIDER>-<NAME>",
            link.identifier
        ))
    })?;
    Ok((name.to_string(), provider.to_string()))
}

/// `POST /organizations/:org/registry-modules/vcs`.
pub(crate) async fn create(
    State(state): State<SharedState>,
    Path(org): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Reply {
    authorize_write(&state, &headers, &org, Need::Modules)?;
    let attrs = attributes(&body)?;
    let v = attrs
        .get("vcs-repo")
        .and_then(Value::as_object)
        .ok_or_else(|| Problem::invalid("vcs-repo is required"))?;
    let link = link_of(v)?;
    let (name, provider) = identity(&attrs, &link)?;
    if !valid_name(&name) || !valid_name(&provider) || provider.contains('-') {
        return Err(Problem::invalid(format!(
            "module name {name:?} or provider {provider:?} is invalid"
        )));
    }
    let conn = state.conn();
    let m = store::create(&conn, &org, &name, &provider)?;
    settings::set_vcs(&conn, m.id, &link)?;
    if attrs.get("no-code") == Some(&Value::Bool(true)) {
        store::set_no_code(&conn, &m, true)?;
    }
    let base = state.base_url(&headers);
    let r = crate::modules::module_resource(&conn, &base, &m)?;
    Ok(data_doc(StatusCode::CREATED, r))
}

/// Before a version is created: a tag-based module takes its versions from tags only.
pub(crate) fn before_version(conn: &Connection, m: &Module) -> Result<(), Problem> {
    match settings::vcs(conn, m.id)? {
        Some(l) if l.tags => Err(Problem::invalid(format!(
            "module {}/{} is VCS-linked and tag-based: its versions come from tags pushed to {}",
            m.name, m.provider, l.identifier
        ))),
        _ => Ok(()),
    }
}

/// After a version is created on a branch-based module: it fails, as nothing is cloned.
pub(crate) fn after_version(conn: &Connection, m: &Module, v: Version) -> Result<Version, Problem> {
    let Some(link) = settings::vcs(conn, m.id)? else {
        return Ok(v);
    };
    settings::fail_version(conn, v.id, &cannot_clone(&link))?;
    Ok(store::find_version(conn, m, &v.version)?)
}

/// Whether `m` is linked to a repository (its versions are never uploaded).
pub(crate) fn linked(conn: &Connection, m: &Module) -> Result<bool, Problem> {
    Ok(settings::vcs(conn, m.id)?.is_some())
}
