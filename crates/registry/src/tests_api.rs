//! HTTP handlers of the module tests API (tests.md): test configuration versions (their
//! archive goes through the archivist), test runs (create, list, show, cancel,
//! force-cancel), the run log at its `log-read-url`, and the module's test environment
//! variables (`vars`). Parse, check access, call `store::tests` and the `runner`, shape
//! the JSON:API documents.
//!
//! Imports `jsonapi`, `auth`, `archivist` (link helper), `runner`, `store` and `state`;
//! nothing imports this file but `routes`.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use serde_json::{json, Map, Value};

use crate::archivist::upload_link;
use crate::auth::authorize;
use crate::jsonapi::{attributes, data_doc, link, page_doc, page_params, Problem, Reply};
use crate::runner::{self, Stop};
use crate::state::SharedState;
use crate::store::modules::{self as modules, Module};
use crate::store::tests::{self as store, NewRun, TestRun, TestVar};
use crate::store::uploads::UploadKind;

type ModPath = (String, String, String, String, String);
type IdPath = (String, String, String, String, String, String);

/// The module of a tests path, after the access check.
fn module(
    state: &SharedState,
    headers: &HeaderMap,
    (org, registry, ns, name, provider): &ModPath,
    write: bool,
) -> Result<Module, Problem> {
    authorize(state, headers, org, write)?;
    if registry != "private" {
        return Err(Problem::not_found(
            "tests exist for private registry modules only",
        ));
    }
    Ok(modules::find(&state.conn(), org, ns, name, provider)?)
}

fn split(p: IdPath) -> (ModPath, String) {
    let (a, b, c, d, e, id) = p;
    ((a, b, c, d, e), id)
}

/// `PREFIX-N` → N.
fn parse_id(id: &str, prefix: &str, what: &str) -> Result<i64, Problem> {
    id.strip_prefix(prefix)
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| Problem::not_found(format!("{what} {id:?} not found")))
}

fn cv_json(base: &url::Url, cv: &store::ConfigVersion, upload: Option<String>) -> Value {
    let id = format!("cv-{}", cv.id);
    json!({
        "id": id,
        "type": "configuration-versions",
        "attributes": {
            "auto-queue-runs": cv.auto_queue,
            "error": null,
            "error-message": null,
            "source": "tfe-api",
            "speculative": false,
            "status": cv.status,
            "status-timestamps": {},
            "changed-files": [],
            "provisional": false,
            "upload-url": upload,
        },
        "relationships": {"ingress-attributes": {"data": null, "links": {"related": format!("/api/v2/configuration-versions/{id}/ingress-attributes")}}},
        "links": {"self": link(base, &format!("api/v2/configuration-versions/{id}"))},
    })
}

fn run_json(base: &url::Url, r: &TestRun) -> Value {
    let c = r.counts;
    let n = |i: usize| c.map_or(Value::Null, |c| json!(c[i]));
    let cv = format!("cv-{}", r.cv_id);
    let mut attrs = json!({
        "status": r.status,
        "status-timestamps": r.timestamps,
        "created-at": r.created_at,
        "updated-at": r.updated_at,
        "test-configurable-type": "RegistryModule",
        "test-configurable-id": format!("mod-{}", r.module_id),
        "variables": r.variables,
        "filters": r.filters,
        "test-directory": r.test_directory,
        "verbose": r.verbose,
        "test-status": r.test_status,
        "tests-passed": n(0),
        "tests-failed": n(1),
        "tests-errored": n(2),
        "tests-skipped": n(3),
        "source": r.source,
        "message": r.message,
    });
    if r.has_log {
        attrs["log-read-url"] = json!(link(base, &format!("_archivist/test-logs/{}", r.log_token)));
    }
    json!({
        "id": format!("trun-{}", r.id),
        "type": "test-runs",
        "attributes": attrs,
        "relationships": {
            "configuration-version": {"data": {"id": cv, "type": "configuration-versions"}, "links": {"related": format!("/api/v2/configuration-versions/{cv}")}},
            "created-by": {"data": null},
        },
    })
}

/// `POST …/test-runs/configuration-versions`.
pub(crate) async fn create_config_version(
    State(state): State<SharedState>,
    Path(p): Path<ModPath>,
    headers: HeaderMap,
    body: Bytes,
) -> Reply {
    let m = module(&state, &headers, &p, true)?;
    // Only when asked: Terraform's `terraform test -cloud-run` creates the configuration
    // version without a body, uploads, then creates the run itself (docs/hcp-fidelity.md).
    let auto_queue = !body.is_empty()
        && attributes(&body)?
            .get("auto-queue-runs")
            .and_then(Value::as_bool)
            .unwrap_or(false);
    let base = state.base_url(&headers);
    let conn = state.conn();
    let cv = store::create_config_version(&conn, m.id, auto_queue)?;
    let upload = upload_link(&conn, &base, UploadKind::TestConfig, cv.id)?;
    Ok(data_doc(
        StatusCode::CREATED,
        cv_json(&base, &cv, Some(upload)),
    ))
}

/// `GET /api/v2/configuration-versions/{id}` (the upload URL is no longer shown).
pub(crate) async fn show_config_version(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Reply {
    let n = parse_id(&id, "cv-", "configuration version")?;
    let conn = state.conn();
    let cv = store::find_config_version(&conn, n)?;
    let org = store::config_version_org(&conn, n)?;
    drop(conn);
    authorize(&state, &headers, &org, false)?;
    let base = state.base_url(&headers);
    Ok(data_doc(StatusCode::OK, cv_json(&base, &cv, None)))
}

/// The run attributes of a create request: (variables, filters, test-directory, verbose).
fn run_options(attrs: &Map<String, Value>) -> Result<(Value, Value, String, bool), Problem> {
    let mut vars = Vec::new();
    for v in attrs
        .get("variables")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let key = v.get("key").and_then(Value::as_str).unwrap_or_default();
        if !store::valid_key(key) {
            return Err(Problem::invalid(format!("variable key {key:?} is invalid")));
        }
        let value = match v.get("value") {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Null) | None => {
                return Err(Problem::invalid(format!("variable {key:?} has no value")))
            }
            Some(other) => other.to_string(),
        };
        vars.push(json!({"key": key, "value": value}));
    }
    let mut filters = Vec::new();
    for f in attrs
        .get("filters")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let f = f
            .as_str()
            .ok_or_else(|| Problem::invalid("filters must be strings"))?;
        filters.push(json!(f));
    }
    let dir = attrs
        .get("test-directory")
        .and_then(Value::as_str)
        .filter(|d| !d.is_empty())
        .unwrap_or("tests");
    if dir.starts_with('/') || dir.split('/').any(|s| s == "..") {
        return Err(Problem::invalid(
            "test-directory must be a relative path inside the configuration",
        ));
    }
    let verbose = attrs
        .get("verbose")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    Ok((
        Value::Array(vars),
        Value::Array(filters),
        dir.to_string(),
        verbose,
    ))
}

/// `POST …/test-runs`.
pub(crate) async fn create_run(
    State(state): State<SharedState>,
    Path(p): Path<ModPath>,
    headers: HeaderMap,
    body: Bytes,
) -> Reply {
    let m = module(&state, &headers, &p, true)?;
    let v: Value = serde_json::from_slice(&body)
        .map_err(|e| Problem::invalid(format!("request body is not valid JSON: {e}")))?;
    let attrs = v
        .pointer("/data/attributes")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let cv_id = v
        .pointer("/data/relationships/configuration-version/data/id")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            Problem::invalid("data.relationships.configuration-version.data.id is required")
        })?;
    let n = parse_id(cv_id, "cv-", "configuration version")?;
    let (variables, filters, test_directory, verbose) = run_options(&attrs)?;
    let base = state.base_url(&headers);
    let run = {
        let conn = state.conn();
        let cv = store::find_config_version(&conn, n)?;
        // Another module's configuration may be promoted, within the organization only.
        if store::config_version_org(&conn, n)? != m.org {
            return Err(Problem::not_found(format!(
                "configuration version {cv_id} not found"
            )));
        }
        if cv.blob.is_none() {
            return Err(Problem::invalid(format!(
                "configuration version {cv_id} has no uploaded files yet"
            )));
        }
        let new = NewRun {
            cv_id: n,
            variables,
            filters,
            test_directory,
            verbose,
            source: "tfe-api",
            message: "Queued manually via the Terraform Enterprise API",
        };
        store::create_run(&conn, m.id, &new, &state.instance)?
    };
    runner::enqueue(&state, m.id, run.id);
    Ok(data_doc(StatusCode::CREATED, run_json(&base, &run)))
}

/// `GET …/test-runs` (newest first; `filter[source]` a comma-separated list).
pub(crate) async fn list_runs(
    State(state): State<SharedState>,
    Path(p): Path<ModPath>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Reply {
    let m = module(&state, &headers, &p, false)?;
    let (page, size) = page_params(&q)?;
    let sources: Option<Vec<&str>> = q
        .get("filter[source]")
        .map(|s| s.split(',').map(str::trim).collect());
    let base = state.base_url(&headers);
    let items = store::list_runs(&state.conn(), m.id)?
        .iter()
        .filter(|r| {
            sources
                .as_ref()
                .is_none_or(|s| s.contains(&r.source.as_str()))
        })
        .map(|r| run_json(&base, r))
        .collect();
    Ok(page_doc(items, page, size))
}

/// The test run a `…/test-runs/{id}` path names (after the module's access check), and
/// its id as given.
fn run_at(
    state: &SharedState,
    headers: &HeaderMap,
    p: IdPath,
    write: bool,
) -> Result<(TestRun, String), Problem> {
    let (mp, id) = split(p);
    let m = module(state, headers, &mp, write)?;
    let n = parse_id(&id, "trun-", "test run")?;
    Ok((store::find_run(&state.conn(), m.id, n)?, id))
}

/// `GET …/test-runs/{id}`.
pub(crate) async fn show_run(
    State(state): State<SharedState>,
    Path(p): Path<IdPath>,
    headers: HeaderMap,
) -> Reply {
    let (run, _) = run_at(&state, &headers, p, false)?;
    Ok(data_doc(
        StatusCode::OK,
        run_json(&state.base_url(&headers), &run),
    ))
}

/// `POST …/test-runs/{id}/cancel`: a queued run is canceled at once, a running one is
/// interrupted; 409 for a run that has ended.
pub(crate) async fn cancel(
    State(state): State<SharedState>,
    Path(p): Path<IdPath>,
    headers: HeaderMap,
) -> Reply {
    let (run, id) = run_at(&state, &headers, p, true)?;
    match run.status.as_str() {
        "pending" | "queued" => {
            let end = store::RunEnd {
                status: "canceled",
                test_status: None,
                counts: None,
                message: Some("The test run was canceled before it started"),
                log: None,
            };
            store::finish_run(&state.conn(), run.id, &end)?;
        }
        "running" => {
            store::request_cancel(&state.conn(), run.id)?;
            if !state.runner.signal(run.id, Stop::Cancel) {
                return Err(Problem::conflict(
                    "the test run is running in another registry process; cancel it there",
                ));
            }
        }
        s => {
            return Err(Problem::conflict(format!(
                "Test run {id} is {s}; cancel not allowed"
            )))
        }
    }
    Ok(StatusCode::ACCEPTED.into_response())
}

/// `POST …/test-runs/{id}/force-cancel`: only after a `cancel`, on a run still active.
pub(crate) async fn force_cancel(
    State(state): State<SharedState>,
    Path(p): Path<IdPath>,
    headers: HeaderMap,
) -> Reply {
    let (run, id) = run_at(&state, &headers, p, true)?;
    if run.status != "running" || !run.cancel_requested {
        return Err(Problem::conflict(format!(
            "Test run {id} is {} and {}; force-cancel is allowed on a running test after a cancel",
            run.status,
            if run.cancel_requested {
                "was canceled"
            } else {
                "was not canceled first"
            }
        )));
    }
    if !state.runner.signal(run.id, Stop::Force) {
        return Err(Problem::conflict(
            "the test run is running in another registry process",
        ));
    }
    Ok(StatusCode::ACCEPTED.into_response())
}

/// `GET /_archivist/test-logs/{token}`: the stored log, plain text (a one-per-run
/// unguessable link, like the archivist's).
pub(crate) async fn read_log(State(state): State<SharedState>, Path(token): Path<String>) -> Reply {
    let log = store::log_by_token(&state.conn(), &token)?
        .ok_or_else(|| Problem::not_found("no such log"))?;
    Ok((
        StatusCode::OK,
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; charset=utf-8",
        )],
        log,
    )
        .into_response())
}

fn var_json(base: &url::Url, v: &TestVar) -> Value {
    let value = if v.sensitive {
        Value::Null
    } else {
        json!(v.value)
    };
    json!({
        "id": format!("var-{}", v.id),
        "type": "vars",
        "attributes": {
            "key": v.key, "value": value, "sensitive": v.sensitive, "category": v.category,
            "hcl": false, "created-at": v.created_at, "description": v.description,
            "version-id": v.version_id,
        },
        "links": {"self": link(base, &format!("api/v2/vars/var-{}", v.id))},
    })
}

/// Applies the attributes of a create or update request to `v`.
fn apply_var(v: &mut TestVar, attrs: &Map<String, Value>) -> Result<(), Problem> {
    let text = |k: &str| -> Result<Option<String>, Problem> {
        match attrs.get(k) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Null) if k == "description" => Ok(Some(String::new())),
            Some(_) => Err(Problem::invalid(format!(
                "attribute {k:?} must be a string"
            ))),
        }
    };
    if let Some(k) = text("key")? {
        v.key = k;
    }
    if let Some(x) = text("value")? {
        v.value = x;
    }
    if let Some(d) = text("description")? {
        v.description = Some(d).filter(|d| !d.is_empty());
    }
    if let Some(c) = text("category")? {
        if c != "env" {
            return Err(Problem::invalid(format!(
                "Category {c:?} is invalid: module test variables must be \"env\""
            )));
        }
        v.category = c;
    }
    match attrs.get("sensitive") {
        None => {}
        Some(Value::Bool(b)) => {
            if v.sensitive && !b {
                return Err(Problem::invalid(
                    "a sensitive variable cannot be made non-sensitive",
                ));
            }
            v.sensitive = *b;
        }
        Some(_) => {
            return Err(Problem::invalid(
                "attribute \"sensitive\" must be a boolean",
            ))
        }
    }
    Ok(())
}

/// `GET …/vars`.
pub(crate) async fn list_vars(
    State(state): State<SharedState>,
    Path(p): Path<ModPath>,
    headers: HeaderMap,
) -> Reply {
    let m = module(&state, &headers, &p, false)?;
    let base = state.base_url(&headers);
    let data: Vec<Value> = store::list_vars(&state.conn(), m.id)?
        .iter()
        .map(|v| var_json(&base, v))
        .collect();
    Ok(data_doc(StatusCode::OK, data))
}

/// `POST …/vars`.
pub(crate) async fn create_var(
    State(state): State<SharedState>,
    Path(p): Path<ModPath>,
    headers: HeaderMap,
    body: Bytes,
) -> Reply {
    let m = module(&state, &headers, &p, true)?;
    let attrs = attributes(&body)?;
    if attrs.get("category").and_then(Value::as_str) != Some("env") {
        return Err(Problem::invalid(
            "attribute \"category\" is required and must be \"env\"",
        ));
    }
    let mut v = TestVar {
        id: 0,
        key: String::new(),
        value: String::new(),
        description: None,
        category: "env".into(),
        sensitive: false,
        created_at: String::new(),
        version_id: String::new(),
    };
    apply_var(&mut v, &attrs)?;
    let saved = store::save_var(&state.conn(), m.id, &v)?;
    Ok(data_doc(
        StatusCode::CREATED,
        var_json(&state.base_url(&headers), &saved),
    ))
}

/// `PATCH …/vars/{id}`.
pub(crate) async fn update_var(
    State(state): State<SharedState>,
    Path(p): Path<IdPath>,
    headers: HeaderMap,
    body: Bytes,
) -> Reply {
    let (mp, id) = split(p);
    let m = module(&state, &headers, &mp, true)?;
    let attrs = attributes(&body)?;
    let n = parse_id(&id, "var-", "variable")?;
    let conn = state.conn();
    let mut v = store::find_var(&conn, m.id, n)?;
    apply_var(&mut v, &attrs)?;
    let saved = store::save_var(&conn, m.id, &v)?;
    Ok(data_doc(
        StatusCode::OK,
        var_json(&state.base_url(&headers), &saved),
    ))
}

/// `DELETE …/vars/{id}`.
pub(crate) async fn delete_var(
    State(state): State<SharedState>,
    Path(p): Path<IdPath>,
    headers: HeaderMap,
) -> Reply {
    let (mp, id) = split(p);
    let m = module(&state, &headers, &mp, true)?;
    let n = parse_id(&id, "var-", "variable")?;
    store::delete_var(&state.conn(), m.id, n)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
