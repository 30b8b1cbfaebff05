//! One-shot upload tokens: which record a pending archivist upload belongs to.
//!
//! Imports nothing from the crate but the store's error type.

use rusqlite::{params, Connection, OptionalExtension};

use super::StoreResult;

/// What a completed archivist upload is attached to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UploadKind {
    Module,
    Shasums,
    ShasumsSig,
    Binary,
}

impl UploadKind {
    fn as_str(self) -> &'static str {
        match self {
            UploadKind::Module => "module",
            UploadKind::Shasums => "shasums",
            UploadKind::ShasumsSig => "shasums-sig",
            UploadKind::Binary => "binary",
        }
    }

    fn parse(s: &str) -> Option<UploadKind> {
        [
            UploadKind::Module,
            UploadKind::Shasums,
            UploadKind::ShasumsSig,
            UploadKind::Binary,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// The upload token for (kind, target), minted on first use.
pub(crate) fn token_for(conn: &Connection, kind: UploadKind, target: i64) -> StoreResult<String> {
    let existing: Option<String> = conn
        .query_row(
            "SELECT token FROM uploads WHERE kind=?1 AND target=?2",
            params![kind.as_str(), target],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(t) = existing {
        return Ok(t);
    }
    let t = hex::encode(rand::random::<[u8; 24]>());
    conn.execute(
        "INSERT INTO uploads (token, kind, target) VALUES (?1, ?2, ?3)",
        params![t, kind.as_str(), target],
    )?;
    Ok(t)
}

/// What an upload token is for; None if unknown or already used.
pub(crate) fn lookup(conn: &Connection, token: &str) -> StoreResult<Option<(UploadKind, i64)>> {
    let found: Option<(String, i64)> = conn
        .query_row(
            "SELECT kind, target FROM uploads WHERE token=?1",
            [token],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    Ok(found.and_then(|(k, t)| UploadKind::parse(&k).map(|k| (k, t))))
}

/// Forgets the token of a completed upload.
pub(crate) fn consume(conn: &Connection, token: &str) -> StoreResult<()> {
    conn.execute("DELETE FROM uploads WHERE token=?1", [token])?;
    Ok(())
}

/// Forgets the upload token of a deleted record.
pub(crate) fn forget(conn: &Connection, kind: UploadKind, target: i64) -> StoreResult<()> {
    conn.execute(
        "DELETE FROM uploads WHERE kind=?1 AND target=?2",
        params![kind.as_str(), target],
    )?;
    Ok(())
}
