//! One-shot upload tokens: which record a pending archivist upload belongs to, and who is
//! using one right now. A PUT must *claim* its token (one atomic compare-and-set in the
//! database, so it holds across processes sharing a data folder) before a byte of its body
//! is stored: the first claimant wins, every other PUT on the same link is refused, and
//! the claim is released if the winner's upload fails so a retry can use the link again.
//! A claim whose owner process is gone (killed mid-upload) or that is older than
//! [`STALE_CLAIM_SECS`] can be taken over.
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
    /// A Stack component configuration version's archive.
    Component,
    /// A module test configuration version's archive.
    TestConfig,
}

impl UploadKind {
    fn as_str(self) -> &'static str {
        match self {
            UploadKind::Module => "module",
            UploadKind::Shasums => "shasums",
            UploadKind::ShasumsSig => "shasums-sig",
            UploadKind::Binary => "binary",
            UploadKind::Component => "component",
            UploadKind::TestConfig => "test-config",
        }
    }

    fn parse(s: &str) -> Option<UploadKind> {
        [
            UploadKind::Module,
            UploadKind::Shasums,
            UploadKind::ShasumsSig,
            UploadKind::Binary,
            UploadKind::Component,
            UploadKind::TestConfig,
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

/// A claim older than this (seconds) is presumed abandoned: no upload of a release file
/// takes an hour on a link that is only handed out to one publisher.
pub(crate) const STALE_CLAIM_SECS: i64 = 3600;

/// The outcome of trying to claim an upload token.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Claim {
    /// This caller owns the link now.
    Won(UploadKind, i64),
    /// Another upload on the same link is in progress.
    Busy,
    /// No such token (never minted, or already used up).
    Unknown,
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Whether the process that wrote `owner` (`PID-RANDOM`) is certainly gone. Only Linux
/// can tell (through /proc); elsewhere a claim only goes stale with age.
fn owner_is_dead(owner: &str, me: &str) -> bool {
    if owner == me {
        return false;
    }
    let Some(pid) = owner.split('-').next().and_then(|p| p.parse::<u32>().ok()) else {
        return true;
    };
    if pid == std::process::id() {
        // Same pid, other instance: a registry started earlier in this process.
        return false;
    }
    let proc_root = std::path::Path::new("/proc/self");
    proc_root.exists() && !std::path::Path::new(&format!("/proc/{pid}")).exists()
}

/// Claims `token` for `owner` (a per-process instance id) with a compare-and-set, so two
/// concurrent PUTs, in this process or another, cannot both win.
pub(crate) fn claim(conn: &Connection, token: &str, owner: &str) -> StoreResult<Claim> {
    let row: Option<(String, i64, Option<String>, Option<i64>)> = conn
        .query_row(
            "SELECT kind, target, claimed_by, claimed_at FROM uploads WHERE token=?1",
            [token],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()?;
    let Some((kind, target, held_by, held_at)) = row else {
        return Ok(Claim::Unknown);
    };
    let Some(kind) = UploadKind::parse(&kind) else {
        return Ok(Claim::Unknown);
    };
    let now = unix_now();
    if let Some(holder) = &held_by {
        let stale = held_at.is_none_or(|t| now.saturating_sub(t) > STALE_CLAIM_SECS)
            || owner_is_dead(holder, owner);
        if !stale {
            return Ok(Claim::Busy);
        }
    }
    let n = conn.execute(
        "UPDATE uploads SET claimed_by=?2, claimed_at=?3 WHERE token=?1 AND claimed_by IS ?4",
        params![token, owner, now, held_by],
    )?;
    Ok(if n == 1 {
        Claim::Won(kind, target)
    } else {
        Claim::Busy
    })
}

/// Gives up `owner`'s claim on `token` (its upload failed; the link may be used again).
pub(crate) fn release(conn: &Connection, token: &str, owner: &str) -> StoreResult<()> {
    conn.execute(
        "UPDATE uploads SET claimed_by=NULL, claimed_at=NULL WHERE token=?1 AND claimed_by=?2",
        [token, owner],
    )?;
    Ok(())
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
