//! No-code modules (`no-code-modules`): at most one per registry module, with `enabled`,
//! an optional `version-pin` (a version the module has) and variable options (a
//! variable's name, type and allowed values). The shapes are go-tfe's
//! (`registry_no_code_module.go`), recorded in docs/hcp-fidelity.md.
//!
//! Imports `db` and the module store only; no HTTP types.

use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

use super::{StoreError, StoreResult};
use crate::db::now;

/// One variable's allowed values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct VarOption {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub options: Vec<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct NoCode {
    pub id: i64,
    pub module_id: i64,
    /// The organization of the module (for access checks on `/no-code-modules/:id`).
    pub org: String,
    pub enabled: bool,
    pub version_pin: Option<String>,
    pub options: Vec<VarOption>,
    pub created_at: String,
    pub updated_at: String,
}

const COLS: &str = "n.id, n.module_id, m.org, n.enabled, n.version_pin, n.variable_options, n.created_at, n.updated_at";

fn row(r: &rusqlite::Row) -> rusqlite::Result<NoCode> {
    let opts: String = r.get(5)?;
    Ok(NoCode {
        id: r.get(0)?,
        module_id: r.get(1)?,
        org: r.get(2)?,
        enabled: r.get(3)?,
        version_pin: r.get(4)?,
        options: serde_json::from_str(&opts).unwrap_or_default(),
        created_at: r.get(6)?,
        updated_at: r.get(7)?,
    })
}

pub(crate) fn get(conn: &Connection, id: i64) -> StoreResult<Option<NoCode>> {
    Ok(conn
        .query_row(
            &format!("SELECT {COLS} FROM no_code_modules n JOIN modules m ON m.id=n.module_id WHERE n.id=?1"),
            [id],
            row,
        )
        .optional()?)
}

pub(crate) fn of_module(conn: &Connection, module_id: i64) -> StoreResult<Option<NoCode>> {
    Ok(conn
        .query_row(
            &format!("SELECT {COLS} FROM no_code_modules n JOIN modules m ON m.id=n.module_id WHERE n.module_id=?1"),
            [module_id],
            row,
        )
        .optional()?)
}

/// Creates the no-code module of `module_id`; a second one is refused (422 upstream).
pub(crate) fn create(
    conn: &Connection,
    module_id: i64,
    enabled: bool,
    version_pin: Option<&str>,
    options: &[VarOption],
) -> StoreResult<NoCode> {
    let opts = serde_json::to_string(options).map_err(|e| StoreError::Internal(e.to_string()))?;
    let n = conn.execute(
        "INSERT OR IGNORE INTO no_code_modules (module_id, enabled, version_pin, variable_options, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
        params![module_id, enabled, version_pin, opts, now()],
    )?;
    if n == 0 {
        return Err(StoreError::Invalid(
            "Registry module already has a no-code module".into(),
        ));
    }
    of_module(conn, module_id)?
        .ok_or_else(|| StoreError::Internal("no-code module vanished after insert".into()))
}

/// Changes what is given; `version_pin: Some(None)` removes the pin.
pub(crate) fn update(
    conn: &Connection,
    id: i64,
    enabled: Option<bool>,
    version_pin: Option<Option<&str>>,
    options: Option<&[VarOption]>,
) -> StoreResult<()> {
    if let Some(e) = enabled {
        conn.execute(
            "UPDATE no_code_modules SET enabled=?1 WHERE id=?2",
            params![e, id],
        )?;
    }
    if let Some(p) = version_pin {
        conn.execute(
            "UPDATE no_code_modules SET version_pin=?1 WHERE id=?2",
            params![p, id],
        )?;
    }
    if let Some(o) = options {
        let o = serde_json::to_string(o).map_err(|e| StoreError::Internal(e.to_string()))?;
        conn.execute(
            "UPDATE no_code_modules SET variable_options=?1 WHERE id=?2",
            params![o, id],
        )?;
    }
    conn.execute(
        "UPDATE no_code_modules SET updated_at=?1 WHERE id=?2",
        params![now(), id],
    )?;
    Ok(())
}

pub(crate) fn delete(conn: &Connection, id: i64) -> StoreResult<()> {
    conn.execute("DELETE FROM no_code_modules WHERE id=?1", [id])?;
    Ok(())
}
