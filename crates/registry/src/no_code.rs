//! HTTP handlers of no-code modules: `POST /organizations/:org/no-code-modules` and
//! `GET`/`PATCH`/`DELETE /no-code-modules/:id`, in go-tfe's shapes
//! (`registry_no_code_module.go`): attributes `enabled` and `version-pin`, relationships
//! `registry-module` (by id) and `variable-options` (full resources with
//! `variable-name`, `variable-type`, `options`, as go-tfe sends them without `included`).
//!
//! Imports `jsonapi`, `auth`, `store` and `state`; nothing imports this file but `routes`.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use rusqlite::Connection;
use serde_json::{json, Map, Value};

use crate::auth::{authorize, authorize_write, require, Need};
use crate::jsonapi::{data_doc, doc, Problem, Reply};
use crate::state::SharedState;
use crate::store::modules as module_store;
use crate::store::no_code::{self as store, NoCode, VarOption};

fn resource(n: &NoCode) -> Value {
    let opts: Vec<Value> = (0..n.options.len())
        .map(|i| json!({"id": format!("ncvo-{}-{i}", n.id), "type": "variable-options"}))
        .collect();
    json!({"id": format!("nocode-{}", n.id), "type": "no-code-modules",
        "attributes": {"enabled": n.enabled, "version-pin": n.version_pin.clone().unwrap_or_default(),
            "created-at": n.created_at, "updated-at": n.updated_at},
        "relationships": {
            "organization": {"data": {"id": n.org, "type": "organizations"}},
            "registry-module": {"data": {"id": format!("mod-{}", n.module_id), "type": "registry-modules"}},
            "variable-options": {"data": opts}},
        "links": {"self": format!("/api/v2/no-code-modules/nocode-{}", n.id)}})
}

fn included(n: &NoCode) -> Vec<Value> {
    n.options
        .iter()
        .enumerate()
        .map(|(i, o)| {
            json!({"id": format!("ncvo-{}-{i}", n.id), "type": "variable-options",
                "attributes": {"variable-name": o.name, "variable-type": o.kind, "options": o.options}})
        })
        .collect()
}

fn data(body: &[u8]) -> Result<Map<String, Value>, Problem> {
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| Problem::bad_request(format!("body is not JSON: {e}")))?;
    match v.get("data") {
        Some(Value::Object(d)) => Ok(d.clone()),
        _ => Err(Problem::bad_request(
            "body must be a JSON:API document with a data object",
        )),
    }
}

fn id_of(s: &str, prefix: &str) -> Option<i64> {
    s.strip_prefix(prefix)?.parse().ok()
}

/// `relationships.variable-options.data`, if given.
fn var_options(d: &Map<String, Value>) -> Result<Option<Vec<VarOption>>, Problem> {
    let Some(list) = d
        .get("relationships")
        .and_then(|r| r.get("variable-options"))
    else {
        return Ok(None);
    };
    let bad = || {
        Problem::invalid(
            "variable-options must be a list of {variable-name, variable-type, options}",
        )
    };
    let items = list.get("data").and_then(Value::as_array).ok_or_else(bad)?;
    let mut out = Vec::new();
    for it in items {
        let a = it.get("attributes").ok_or_else(bad)?;
        let name = a["variable-name"]
            .as_str()
            .filter(|s| !s.is_empty())
            .ok_or_else(bad)?;
        let kind = a["variable-type"]
            .as_str()
            .filter(|s| !s.is_empty())
            .ok_or_else(bad)?;
        let options = a["options"]
            .as_array()
            .ok_or_else(bad)?
            .iter()
            .map(|o| o.as_str().map(str::to_string).ok_or_else(bad))
            .collect::<Result<_, _>>()?;
        out.push(VarOption {
            name: name.into(),
            kind: kind.into(),
            options,
        });
    }
    Ok(Some(out))
}

/// `version-pin`: absent = unchanged, `""` = no pin, else a version the module has.
fn version_pin(
    conn: &Connection,
    module_id: i64,
    attrs: &Value,
) -> Result<Option<Option<String>>, Problem> {
    match attrs.get("version-pin") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(Some(None)),
        Some(Value::String(s)) => {
            let known = module_store::versions_of(conn, module_id)?
                .iter()
                .any(|v| v.version == *s);
            if known {
                Ok(Some(Some(s.clone())))
            } else {
                Err(Problem::invalid(format!(
                    "version-pin {s:?} is not a version of this module"
                )))
            }
        }
        Some(_) => Err(Problem::invalid("version-pin must be a string")),
    }
}

fn enabled(attrs: &Value) -> Result<Option<bool>, Problem> {
    match attrs.get("enabled") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(Problem::invalid("enabled must be a boolean")),
    }
}

pub(crate) async fn create(
    State(state): State<SharedState>,
    Path(org): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Reply {
    authorize_write(&state, &headers, &org, Need::Modules)?;
    let d = data(&body)?;
    let module_id = d
        .get("relationships")
        .and_then(|r| r["registry-module"]["data"]["id"].as_str())
        .and_then(|s| id_of(s, "mod-"))
        .ok_or_else(|| {
            Problem::invalid("relationships.registry-module.data.id (mod-…) is required")
        })?;
    let conn = state.conn();
    let owner: Option<String> = conn
        .query_row("SELECT org FROM modules WHERE id=?1", [module_id], |r| {
            r.get(0)
        })
        .ok();
    if owner.as_deref() != Some(org.as_str()) {
        return Err(Problem::not_found(format!(
            "registry module mod-{module_id} not found in {org:?}"
        )));
    }
    let attrs = d.get("attributes").cloned().unwrap_or(Value::Null);
    let pin = version_pin(&conn, module_id, &attrs)?.flatten();
    let options = var_options(&d)?.unwrap_or_default();
    let n = store::create(
        &conn,
        module_id,
        enabled(&attrs)?.unwrap_or(true),
        pin.as_deref(),
        &options,
    )?;
    Ok(data_doc(StatusCode::CREATED, resource(&n)))
}

/// The no-code module `id`, after checking the caller may use its organization.
fn load(
    state: &SharedState,
    headers: &HeaderMap,
    id: &str,
    write: bool,
) -> Result<NoCode, Problem> {
    let missing = || Problem::not_found(format!("no-code module {id:?} not found"));
    let n = id_of(id, "nocode-").ok_or_else(missing)?;
    let n = store::get(&state.conn(), n)?.ok_or_else(missing)?;
    authorize(state, headers, &n.org, write)?;
    if write {
        require(state, headers, Need::Modules)?;
    }
    Ok(n)
}

pub(crate) async fn get(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Reply {
    let n = load(&state, &headers, &id, false)?;
    let mut body = json!({"data": resource(&n)});
    if q.get("include")
        .is_some_and(|i| i.split(',').any(|x| x == "variable-options"))
    {
        body["included"] = json!(included(&n));
    }
    Ok(doc(StatusCode::OK, body))
}

pub(crate) async fn patch(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Reply {
    let n = load(&state, &headers, &id, true)?;
    let d = data(&body)?;
    let attrs = d.get("attributes").cloned().unwrap_or(Value::Null);
    let conn = state.conn();
    let pin = version_pin(&conn, n.module_id, &attrs)?;
    let options = var_options(&d)?;
    store::update(
        &conn,
        n.id,
        enabled(&attrs)?,
        pin.as_ref().map(|p| p.as_deref()),
        options.as_deref(),
    )?;
    let n = store::get(&conn, n.id)?.ok_or_else(|| Problem::internal("no-code module vanished"))?;
    Ok(data_doc(StatusCode::OK, resource(&n)))
}

pub(crate) async fn delete(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Reply {
    let n = load(&state, &headers, &id, true)?;
    store::delete(&state.conn(), n.id)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
