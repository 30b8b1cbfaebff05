//! A registry module's settings: `PATCH …/registry-modules/private/:ns/:name/:provider`
//! (`test-config`, and `vcs-repo.branch`/`tags` of a VCS-linked module), and what the
//! module's document carries about them (`test-config`, `vcs-repo`,
//! `publishing-mechanism`, `no-code` and the `no-code-modules` relationship).
//!
//! Imports `jsonapi`, `auth`, `store` and `state`; `modules` calls [`decorate`], `routes`
//! the handler.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use rusqlite::Connection;
use serde_json::{json, Map, Value};

use crate::auth::{authorize_write, Need};
use crate::jsonapi::{attributes, data_doc, Problem, Reply};
use crate::state::SharedState;
use crate::store::module_settings::{self as settings, TestConfig};
use crate::store::modules::{self as modules, Module};
use crate::store::no_code;

type ModPath = (String, String, String, String, String);

/// Adds the settings of `m` to its JSON:API resource `r` (attributes and relationships).
pub(crate) fn decorate(conn: &Connection, m: &Module, r: &mut Value) -> Result<(), Problem> {
    if let Some(t) = settings::test_config(conn, m.id)? {
        r["attributes"]["test-config"] = json!({"id": format!("tc-{}", m.id),
            "tests-enabled": t.enabled, "agent-execution-mode": t.mode, "agent-pool-id": t.pool});
    }
    if let Some(v) = settings::vcs(conn, m.id)? {
        r["attributes"]["vcs-repo"] = json!({"branch": v.branch, "tags": v.tags,
            "ingress-submodules": false, "identifier": v.identifier,
            "display-identifier": v.display_identifier, "oauth-token-id": v.oauth_token_id,
            "source-directory": v.source_directory, "tag-prefix": v.tag_prefix,
            "webhook-url": null});
        r["attributes"]["publishing-mechanism"] = json!(if v.tags { "git_tag" } else { "branch" });
        if v.tags
            && r["attributes"]["version-statuses"]
                .as_array()
                .is_some_and(Vec::is_empty)
        {
            // Nothing can ever be cloned here: say so instead of staying `pending`.
            r["attributes"]["status"] = json!("setup_failed");
        }
    }
    if let Some(n) = no_code::of_module(conn, m.id)? {
        r["attributes"]["no-code"] = json!(n.enabled);
        r["relationships"]["no-code-modules"] =
            json!({"data": [{"id": format!("nocode-{}", n.id), "type": "no-code-modules"}]});
    }
    Ok(())
}

fn bool_at(o: &Map<String, Value>, key: &str) -> Result<Option<bool>, Problem> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(Problem::invalid(format!("{key} must be a boolean"))),
    }
}

fn str_at<'a>(o: &'a Map<String, Value>, key: &str) -> Result<Option<&'a str>, Problem> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(Problem::invalid(format!("{key} must be a string"))),
    }
}

/// The new test configuration: the old one with what the request changes, checked.
fn next_test_config(
    old: Option<TestConfig>,
    t: &Map<String, Value>,
) -> Result<TestConfig, Problem> {
    let mut c = old.unwrap_or(TestConfig {
        enabled: false,
        mode: "remote".into(),
        pool: None,
    });
    if let Some(e) = bool_at(t, "tests-enabled")? {
        c.enabled = e;
    }
    if let Some(m) = str_at(t, "agent-execution-mode")? {
        if m != "remote" && m != "agent" {
            return Err(Problem::invalid(format!(
                "test-config.agent-execution-mode {m:?} must be \"remote\" or \"agent\""
            )));
        }
        c.mode = m.to_string();
        if m == "remote" {
            c.pool = None;
        }
    }
    if t.contains_key("agent-pool-id") {
        c.pool = str_at(t, "agent-pool-id")?.map(str::to_string);
    }
    match (c.mode.as_str(), &c.pool) {
        ("agent", None) => Err(Problem::invalid(
            "test-config.agent-pool-id is required when agent-execution-mode is \"agent\"",
        )),
        ("remote", Some(_)) => Err(Problem::invalid(
            "test-config.agent-pool-id must not be set when agent-execution-mode is \"remote\"",
        )),
        _ => Ok(c),
    }
}

/// `PATCH …/registry-modules/private/:ns/:name/:provider`.
pub(crate) async fn patch_module(
    State(state): State<SharedState>,
    Path((org, registry, ns, name, provider)): Path<ModPath>,
    headers: HeaderMap,
    body: Bytes,
) -> Reply {
    authorize_write(&state, &headers, &org, Need::Modules)?;
    if registry != "private" {
        return Err(Problem::not_found(format!(
            "registry {registry:?} modules cannot be updated"
        )));
    }
    let attrs = attributes(&body)?;
    let conn = state.conn();
    let m = modules::find(&conn, &org, &ns, &name, &provider)?;
    if let Some(t) = attrs.get("test-config") {
        let t = t
            .as_object()
            .ok_or_else(|| Problem::invalid("test-config must be an object"))?;
        let c = next_test_config(settings::test_config(&conn, m.id)?, t)?;
        settings::set_test_config(&conn, m.id, &c)?;
    }
    if let Some(v) = attrs.get("vcs-repo") {
        let v = v
            .as_object()
            .ok_or_else(|| Problem::invalid("vcs-repo must be an object"))?;
        patch_vcs(&conn, &m, v)?;
    }
    let base = state.base_url(&headers);
    let r = crate::modules::module_resource(&conn, &base, &m)?;
    Ok(data_doc(StatusCode::OK, r))
}

fn patch_vcs(conn: &Connection, m: &Module, v: &Map<String, Value>) -> Result<(), Problem> {
    let mut link = settings::vcs(conn, m.id)?.ok_or_else(|| {
        Problem::invalid("vcs-repo can only be changed on a module created from a VCS repository")
    })?;
    let branch = str_at(v, "branch")?;
    let tags = bool_at(v, "tags")?;
    if branch.is_some_and(|b| !b.is_empty()) && tags == Some(true) {
        return Err(Problem::invalid(
            "vcs-repo.branch cannot be used with vcs-repo.tags",
        ));
    }
    if let Some(b) = branch {
        link.branch = b.to_string();
        link.tags = b.is_empty();
    }
    if let Some(t) = tags {
        link.tags = t;
        if t {
            link.branch.clear();
        }
    }
    settings::set_vcs(conn, m.id, &link)?;
    Ok(())
}
