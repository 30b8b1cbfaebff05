//! Public registry entries an organization curates (`registry-name: public` modules):
//! records only, as this registry cannot proxy the public registry. Public providers are
//! rows of the providers store (it has a registry name).
//!
//! Imports `db` only; no HTTP types.

use rusqlite::{params, Connection};

use super::{StoreError, StoreResult};
use crate::db::now;

pub(crate) struct PublicModule {
    pub id: i64,
    pub org: String,
    pub namespace: String,
    pub name: String,
    pub provider: String,
    pub created_at: String,
}

const COLS: &str = "id, org, namespace, name, provider, created_at";

fn row(r: &rusqlite::Row) -> rusqlite::Result<PublicModule> {
    Ok(PublicModule {
        id: r.get(0)?,
        org: r.get(1)?,
        namespace: r.get(2)?,
        name: r.get(3)?,
        provider: r.get(4)?,
        created_at: r.get(5)?,
    })
}

pub(crate) fn list(conn: &Connection, org: &str) -> StoreResult<Vec<PublicModule>> {
    let sql = format!(
        "SELECT {COLS} FROM curated_modules WHERE org=?1 ORDER BY namespace, name, provider"
    );
    super::rows(conn, &sql, [org], row)
}

pub(crate) fn find(
    conn: &Connection,
    org: &str,
    ns: &str,
    name: &str,
    provider: &str,
) -> StoreResult<PublicModule> {
    super::one(
        conn,
        &format!("SELECT {COLS} FROM curated_modules WHERE org=?1 AND namespace=?2 AND name=?3 AND provider=?4"),
        params![org, ns, name, provider],
        row,
        || format!("public module {ns}/{name}/{provider} is not in the registry of {org:?}"),
    )
}

pub(crate) fn create(
    conn: &Connection,
    org: &str,
    ns: &str,
    name: &str,
    provider: &str,
) -> StoreResult<PublicModule> {
    let n = conn.execute(
        "INSERT OR IGNORE INTO curated_modules (org, namespace, name, provider, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![org, ns, name, provider, now()],
    )?;
    if n == 0 {
        return Err(StoreError::Invalid(
            "Provider must be unique for this module name".into(),
        ));
    }
    find(conn, org, ns, name, provider)
}

pub(crate) fn delete(conn: &Connection, m: &PublicModule) -> StoreResult<()> {
    conn.execute("DELETE FROM curated_modules WHERE id=?1", [m.id])?;
    Ok(())
}
