//! Stack component configuration records (stack-component-configurations.md): components
//! (`comp-…`, unique by organization and name), their versions (`compver-…`, `pending`
//! until the archive arrives, then `completed` or `failed` with an error message), and the
//! ingestion of an uploaded archive: the same streamed safety checks as a module archive,
//! then the configuration read for its providers, variables, outputs and README.
//!
//! Imports `db`, the store's `uploads`, `tarball` (the checked walk) and `component_config`;
//! no HTTP types.

use std::io::Read;
use std::path::Path;

use rusqlite::{params, Connection};
use serde_json::Value;

use super::component_config::{declared, description};
use super::tarball::walk;
use super::uploads::{self, UploadKind};
use super::{StoreError, StoreResult};
use crate::db::now;

pub(crate) struct Component {
    pub id: i64,
    pub public_id: String,
    pub org: String,
    pub name: String,
    pub created_at: String,
    pub updated_at: String,
}

pub(crate) struct CompVersion {
    pub id: i64,
    pub public_id: String,
    pub version: String,
    pub status: String,
    pub error: Option<String>,
    pub blob: Option<String>,
    pub readme: Option<String>,
    pub description: Option<String>,
    pub providers: Value,
    pub variables: Value,
    pub outputs: Value,
    pub published_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

const COMP_COLS: &str = "id, public_id, org, name, created_at, updated_at";
const VER_COLS: &str = "id, public_id, version, status, error, blob, readme, description, providers, variables, outputs, published_at, created_at, updated_at";

fn comp_row(r: &rusqlite::Row) -> rusqlite::Result<Component> {
    Ok(Component {
        id: r.get(0)?,
        public_id: r.get(1)?,
        org: r.get(2)?,
        name: r.get(3)?,
        created_at: r.get(4)?,
        updated_at: r.get(5)?,
    })
}

fn json_col(r: &rusqlite::Row, i: usize) -> rusqlite::Result<Value> {
    let s: Option<String> = r.get(i)?;
    Ok(s.and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or(Value::Array(vec![])))
}

fn ver_row(r: &rusqlite::Row) -> rusqlite::Result<CompVersion> {
    Ok(CompVersion {
        id: r.get(0)?,
        public_id: r.get(1)?,
        version: r.get(2)?,
        status: r.get(3)?,
        error: r.get(4)?,
        blob: r.get(5)?,
        readme: r.get(6)?,
        description: r.get(7)?,
        providers: json_col(r, 8)?,
        variables: json_col(r, 9)?,
        outputs: json_col(r, 10)?,
        published_at: r.get(11)?,
        created_at: r.get(12)?,
        updated_at: r.get(13)?,
    })
}

/// A public id `PREFIX-` and 16 random letters and digits, as the service writes them.
fn public_id(prefix: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let bytes = rand::random::<[u8; 16]>();
    let tail: String = bytes
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
        .collect();
    format!("{prefix}-{tail}")
}

/// The components of an organization, by name.
pub(crate) fn list(conn: &Connection, org: &str) -> StoreResult<Vec<Component>> {
    let sql = format!("SELECT {COMP_COLS} FROM components WHERE org=?1 ORDER BY name");
    super::rows(conn, &sql, [org], comp_row)
}

/// A component by its public id (any organization: the caller checks access).
pub(crate) fn find(conn: &Connection, public_id: &str) -> StoreResult<Component> {
    super::one(
        conn,
        &format!("SELECT {COMP_COLS} FROM components WHERE public_id=?1"),
        [public_id],
        comp_row,
        || format!("component configuration {public_id:?} not found"),
    )
}

/// Creates a component; a taken name is the 422 the service answers.
pub(crate) fn create(conn: &Connection, org: &str, name: &str) -> StoreResult<Component> {
    let id = public_id("comp");
    let n = conn.execute(
        "INSERT OR IGNORE INTO components (public_id, org, name, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?4)",
        params![id, org, name, now()],
    )?;
    if n == 0 {
        return Err(StoreError::Invalid("Name has already been taken".into()));
    }
    find(conn, &id)
}

/// Deletes a component, its versions and their pending upload links.
pub(crate) fn delete(conn: &Connection, c: &Component) -> StoreResult<()> {
    for v in versions_of(conn, c)? {
        uploads::forget(conn, UploadKind::Component, v.id)?;
    }
    conn.execute("DELETE FROM components WHERE id=?1", [c.id])?;
    Ok(())
}

/// A component's versions, oldest first.
pub(crate) fn versions_of(conn: &Connection, c: &Component) -> StoreResult<Vec<CompVersion>> {
    let sql =
        format!("SELECT {VER_COLS} FROM component_versions WHERE component_id=?1 ORDER BY id");
    super::rows(conn, &sql, [c.id], ver_row)
}

pub(crate) fn find_version(
    conn: &Connection,
    c: &Component,
    version: &str,
) -> StoreResult<CompVersion> {
    super::one(
        conn,
        &format!("SELECT {VER_COLS} FROM component_versions WHERE component_id=?1 AND version=?2"),
        params![c.id, version],
        ver_row,
        || {
            format!(
                "version {version} of component configuration {} not found",
                c.name
            )
        },
    )
}

/// Adds a `pending` version, waiting for its archive.
pub(crate) fn create_version(
    conn: &Connection,
    c: &Component,
    version: &str,
) -> StoreResult<CompVersion> {
    let n = conn.execute(
        "INSERT OR IGNORE INTO component_versions (public_id, component_id, version, status, created_at, updated_at) VALUES (?1, ?2, ?3, 'pending', ?4, ?4)",
        params![public_id("compver"), c.id, version, now()],
    )?;
    if n == 0 {
        return Err(StoreError::Invalid("Version has already been taken".into()));
    }
    conn.execute(
        "UPDATE components SET updated_at=?2 WHERE id=?1",
        params![c.id, now()],
    )?;
    find_version(conn, c, version)
}

pub(crate) fn delete_version(conn: &Connection, v: &CompVersion) -> StoreResult<()> {
    conn.execute("DELETE FROM component_versions WHERE id=?1", [v.id])?;
    uploads::forget(conn, UploadKind::Component, v.id)
}

/// What ingestion read from an accepted archive.
#[derive(Debug, Default)]
pub(crate) struct Parsed {
    pub readme: Option<String>,
    pub providers: Value,
    pub variables: Value,
    pub outputs: Value,
}

/// The most bytes of one configuration file or README read for parsing.
const MAX_PARSED_FILE: u64 = 1024 * 1024;

/// Checks an uploaded component archive with the walk module ingestion uses
/// ([`walk`]: streamed; entries, size and ratio bounded; nothing escaping), then requires at least
/// one `*.tfcomponent.hcl` file at its root and reads the configuration. Blocking.
pub(crate) fn ingest(path: &Path, max_unpacked: u64) -> Result<Parsed, String> {
    let mut configs = Vec::new();
    let mut readme = None;
    walk(path, max_unpacked, |entry, seen| {
        let name = seen.path.file_name().map(|n| n.to_string_lossy());
        match name.as_deref() {
            Some(n) if seen.root_file && n.ends_with(".tfcomponent.hcl") => {
                let text = read_text(entry, seen.shown)?;
                let read = text.len() as u64;
                configs.push(text);
                Ok(read)
            }
            Some("README.md") if seen.root_file => {
                let text = read_text(entry, seen.shown)?;
                let read = text.len() as u64;
                readme = Some(text);
                Ok(read)
            }
            _ => Ok(0),
        }
    })?;
    if configs.is_empty() {
        return Err("no Stack component configuration (*.tfcomponent.hcl) files at the root of the archive; the configuration must not be inside a folder".into());
    }
    let d = declared(&configs);
    Ok(Parsed {
        readme,
        providers: Value::Array(d.providers),
        variables: Value::Array(d.variables),
        outputs: Value::Array(d.outputs),
    })
}

/// The text of an entry (at most [`MAX_PARSED_FILE`] bytes; invalid UTF-8 replaced).
fn read_text(entry: &mut dyn Read, shown: &str) -> Result<String, String> {
    let mut buf = Vec::new();
    entry
        .take(MAX_PARSED_FILE)
        .read_to_end(&mut buf)
        .map_err(|e| format!("archive is truncated at {shown:?}: {e}"))?;
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

/// Records a completed upload and the outcome of its ingestion (None: still `pending`),
/// and uses up the upload token.
pub(crate) fn record_upload(
    conn: &mut Connection,
    version_id: i64,
    sha: &str,
    token: &str,
    ingested: Option<Result<Parsed, String>>,
) -> StoreResult<()> {
    let ts = now();
    let tx = conn.transaction()?;
    let (status, error, parsed) = match ingested {
        None => ("pending", None, Parsed::default()),
        Some(Ok(p)) => ("completed", None, p),
        Some(Err(e)) => ("failed", Some(e), Parsed::default()),
    };
    let published = (status == "completed").then_some(ts.as_str());
    let desc = parsed.readme.as_deref().and_then(description);
    let js = |v: &Value| (!v.is_null()).then(|| v.to_string());
    // `blob IS NULL`: an archive, once attached, is never replaced.
    let n = tx.execute(
        "UPDATE component_versions SET blob=?2, status=?3, error=?4, readme=?5, description=?6, providers=?7, variables=?8, outputs=?9, published_at=?10, updated_at=?11 WHERE id=?1 AND blob IS NULL",
        params![version_id, sha, status, error, parsed.readme, desc, js(&parsed.providers), js(&parsed.variables), js(&parsed.outputs), published, ts],
    )?;
    if n == 0 {
        return Err(StoreError::Conflict(
            "this component configuration version already has its archive, or was deleted".into(),
        ));
    }
    uploads::consume(&tx, token)?;
    tx.commit()?;
    Ok(())
}
