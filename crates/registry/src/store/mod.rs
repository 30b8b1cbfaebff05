//! The registry's records and their rules, per area: SQL on a borrowed connection and the
//! checks the HCP registry applies (uniqueness, deprecate-before-revoke, declared sha256,
//! module archive ingestion). No axum or HTTP types: handlers turn a [`StoreError`] into
//! an answer.
//!
//! Imports only `db` (timestamps); must not import handlers, `jsonapi`, `auth` or state.

pub(crate) mod component_config;
pub(crate) mod components;
pub(crate) mod curation;
pub(crate) mod gpg_keys;
pub(crate) mod module_settings;
pub(crate) mod modules;
pub(crate) mod no_code;
pub(crate) mod providers;
pub(crate) mod tarball;
pub(crate) mod tests;
pub(crate) mod uploads;

/// Why a store operation refused or failed.
#[derive(Debug)]
pub(crate) enum StoreError {
    /// The record does not exist.
    NotFound(String),
    /// The request breaks a rule (taken name, wrong order, mismatching digest).
    Invalid(String),
    /// The request collides with something already done (a used upload link, content
    /// already attached).
    Conflict(String),
    /// The database or the disk failed.
    Internal(String),
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Internal(format!("database error: {e}"))
    }
}

pub(crate) type StoreResult<T> = Result<T, StoreError>;

/// Every row `sql` selects with `params`, each read by `read`.
pub(crate) fn rows<T>(
    conn: &rusqlite::Connection,
    sql: &str,
    params: impl rusqlite::Params,
    read: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> StoreResult<Vec<T>> {
    let mut st = conn.prepare(sql)?;
    let rows = st.query_map(params, read)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The one row `sql` selects with `params`, read by `read`; [`StoreError::NotFound`] with
/// the `missing` message when there is none.
pub(crate) fn one<T>(
    conn: &rusqlite::Connection,
    sql: &str,
    params: impl rusqlite::Params,
    read: impl FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    missing: impl FnOnce() -> String,
) -> StoreResult<T> {
    use rusqlite::OptionalExtension;
    conn.query_row(sql, params, read)
        .optional()?
        .ok_or_else(|| StoreError::NotFound(missing()))
}
