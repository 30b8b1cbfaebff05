//! Module records: modules, their versions and each version's status (`pending` until the
//! tarball arrives, then `ok` or `reg_ingress_failed`), deprecation and revocation, and
//! the ingestion check of an uploaded archive (streamed, bounded, no entry escaping it).
//!
//! Imports `db` and the store's `uploads` only; no HTTP types.

use std::io::Read;
use std::path::{Component, Path};

use tar::EntryType;

use rusqlite::{params, Connection, OptionalExtension};

use super::uploads::{self, UploadKind};
use super::{StoreError, StoreResult};
use crate::db::now;

pub(crate) struct Module {
    pub id: i64,
    pub org: String,
    pub namespace: String,
    pub name: String,
    pub provider: String,
    pub created_at: String,
    pub updated_at: String,
}

pub(crate) struct Version {
    pub id: i64,
    pub version: String,
    pub status: String,
    pub error: Option<String>,
    pub commit_sha: Option<String>,
    pub deprecated: bool,
    pub deprecation_reason: Option<String>,
    pub deprecation_link: Option<String>,
    pub revoked: bool,
    pub revocation_message: Option<String>,
    pub revocation_link: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    pub blob: Option<String>,
}

const MOD_COLS: &str = "id, org, namespace, name, provider, created_at, updated_at";
const VER_COLS: &str = "id, version, status, error, commit_sha, deprecated, deprecation_reason, deprecation_link, revoked, revocation_message, revocation_link, created_at, updated_at, blob";

fn module_row(r: &rusqlite::Row) -> rusqlite::Result<Module> {
    Ok(Module {
        id: r.get(0)?,
        org: r.get(1)?,
        namespace: r.get(2)?,
        name: r.get(3)?,
        provider: r.get(4)?,
        created_at: r.get(5)?,
        updated_at: r.get(6)?,
    })
}

fn version_row(r: &rusqlite::Row) -> rusqlite::Result<Version> {
    Ok(Version {
        id: r.get(0)?,
        version: r.get(1)?,
        status: r.get(2)?,
        error: r.get(3)?,
        commit_sha: r.get(4)?,
        deprecated: r.get(5)?,
        deprecation_reason: r.get(6)?,
        deprecation_link: r.get(7)?,
        revoked: r.get(8)?,
        revocation_message: r.get(9)?,
        revocation_link: r.get(10)?,
        created_at: r.get(11)?,
        updated_at: r.get(12)?,
        blob: r.get(13)?,
    })
}

pub(crate) fn versions_of(conn: &Connection, module_id: i64) -> StoreResult<Vec<Version>> {
    let mut st = conn.prepare(&format!(
        "SELECT {VER_COLS} FROM module_versions WHERE module_id=?1 ORDER BY id"
    ))?;
    let rows = st.query_map([module_id], version_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The modules of an organization, by namespace, name and provider.
pub(crate) fn list(conn: &Connection, org: &str) -> StoreResult<Vec<Module>> {
    let mut st = conn.prepare(&format!(
        "SELECT {MOD_COLS} FROM modules WHERE org=?1 ORDER BY namespace, name, provider"
    ))?;
    let rows = st.query_map([org], module_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub(crate) fn find(
    conn: &Connection,
    org: &str,
    ns: &str,
    name: &str,
    provider: &str,
) -> StoreResult<Module> {
    conn.query_row(
        &format!("SELECT {MOD_COLS} FROM modules WHERE org=?1 AND namespace=?2 AND name=?3 AND provider=?4"),
        params![org, ns, name, provider],
        module_row,
    )
    .optional()?
    .ok_or_else(|| StoreError::NotFound(format!("module {ns}/{name}/{provider} not found in organization {org:?}")))
}

pub(crate) fn find_version(conn: &Connection, m: &Module, version: &str) -> StoreResult<Version> {
    conn.query_row(
        &format!("SELECT {VER_COLS} FROM module_versions WHERE module_id=?1 AND version=?2"),
        params![m.id, version],
        version_row,
    )
    .optional()?
    .ok_or_else(|| {
        StoreError::NotFound(format!(
            "version {version} of module {}/{}/{} not found",
            m.namespace, m.name, m.provider
        ))
    })
}

/// Creates a private module (its namespace is the organization).
pub(crate) fn create(
    conn: &Connection,
    org: &str,
    name: &str,
    provider: &str,
) -> StoreResult<Module> {
    let inserted = conn.execute(
        "INSERT OR IGNORE INTO modules (org, namespace, name, provider, created_at, updated_at) VALUES (?1, ?1, ?2, ?3, ?4, ?4)",
        params![org, name, provider, now()],
    )?;
    if inserted == 0 {
        return Err(StoreError::Invalid(
            "Provider must be unique for this module name".into(),
        ));
    }
    find(conn, org, org, name, provider)
}

/// Deletes every provider of a module name.
pub(crate) fn delete_all_providers(
    conn: &Connection,
    org: &str,
    ns: &str,
    name: &str,
) -> StoreResult<()> {
    let n = conn.execute(
        "DELETE FROM modules WHERE org=?1 AND namespace=?2 AND name=?3",
        params![org, ns, name],
    )?;
    if n == 0 {
        return Err(StoreError::NotFound(format!(
            "module {ns}/{name} not found"
        )));
    }
    Ok(())
}

pub(crate) fn delete(conn: &Connection, m: &Module) -> StoreResult<()> {
    conn.execute("DELETE FROM modules WHERE id=?1", [m.id])?;
    Ok(())
}

/// Adds a `pending` version, waiting for its tarball.
pub(crate) fn create_version(
    conn: &Connection,
    m: &Module,
    version: &str,
    commit: Option<&str>,
) -> StoreResult<Version> {
    let n = conn.execute(
        "INSERT OR IGNORE INTO module_versions (module_id, version, status, commit_sha, created_at, updated_at) VALUES (?1, ?2, 'pending', ?3, ?4, ?4)",
        params![m.id, version, commit, now()],
    )?;
    if n == 0 {
        return Err(StoreError::Invalid("Version has already been taken".into()));
    }
    find_version(conn, m, version)
}

pub(crate) fn delete_version(conn: &Connection, v: &Version) -> StoreResult<()> {
    conn.execute("DELETE FROM module_versions WHERE id=?1", [v.id])?;
    uploads::forget(conn, UploadKind::Module, v.id)
}

/// A change of a version's lifecycle (manage-module-versions).
pub(crate) enum Lifecycle<'a> {
    Deprecate {
        reason: Option<&'a str>,
        link: Option<&'a str>,
    },
    Undeprecate,
    Revoke {
        message: Option<&'a str>,
        link: Option<&'a str>,
    },
    Unrevoke,
}

/// Applies a lifecycle change: a revoked version cannot be undeprecated, and only a
/// deprecated one can be revoked.
pub(crate) fn change_lifecycle(
    conn: &Connection,
    v: &Version,
    change: Lifecycle<'_>,
) -> StoreResult<()> {
    let ts = now();
    match change {
        Lifecycle::Deprecate { reason, link } => conn.execute(
            "UPDATE module_versions SET deprecated=1, deprecation_reason=?2, deprecation_link=?3, updated_at=?4 WHERE id=?1",
            params![v.id, reason, link, ts],
        )?,
        Lifecycle::Undeprecate if v.revoked => {
            return Err(StoreError::Invalid(format!(
                "version {} is revoked: unrevoke it before undeprecating",
                v.version
            )))
        }
        Lifecycle::Undeprecate => conn.execute(
            "UPDATE module_versions SET deprecated=0, deprecation_reason=NULL, deprecation_link=NULL, updated_at=?2 WHERE id=?1",
            params![v.id, ts],
        )?,
        Lifecycle::Revoke { .. } if !v.deprecated => {
            return Err(StoreError::Invalid(format!(
                "version {} must be deprecated before it can be revoked",
                v.version
            )))
        }
        Lifecycle::Revoke { message, link } => conn.execute(
            "UPDATE module_versions SET revoked=1, revocation_message=?2, revocation_link=?3, updated_at=?4 WHERE id=?1",
            params![v.id, message, link, ts],
        )?,
        Lifecycle::Unrevoke => conn.execute(
            "UPDATE module_versions SET revoked=0, revocation_message=NULL, revocation_link=NULL, updated_at=?2 WHERE id=?1",
            params![v.id, ts],
        )?,
    };
    Ok(())
}

/// The most entries (files, folders, links) a module archive may hold.
pub(crate) const MAX_ENTRIES: u64 = 10_000;
/// The highest ratio of unpacked to compressed size accepted once more than
/// [`RATIO_FLOOR_BYTES`] are unpacked: source code compresses 5-20 times, a bomb 1000.
pub(crate) const MAX_RATIO: u64 = 100;
/// Unpacked bytes below which the ratio is not checked (tiny archives of repetitive text).
pub(crate) const RATIO_FLOOR_BYTES: u64 = 8 * 1024 * 1024;

/// Why an entry's path is refused: absolute, or containing `..` (which could climb out of
/// the folder it is unpacked into).
fn escaping_path(p: &Path) -> Option<&'static str> {
    p.components().find_map(|c| match c {
        Component::Prefix(_) | Component::RootDir => Some("an absolute path"),
        Component::ParentDir => Some("a path containing '..'"),
        Component::Normal(_) | Component::CurDir => None,
    })
}

/// Whether a link target, read from the folder of `entry`, stays inside the archive.
fn link_escapes(entry: &Path, target: &Path) -> bool {
    if target.has_root()
        || target
            .components()
            .any(|c| matches!(c, Component::Prefix(_)))
    {
        return true;
    }
    let mut depth = entry
        .parent()
        .map(|d| {
            d.components()
                .filter(|c| matches!(c, Component::Normal(_)))
                .count()
        })
        .unwrap_or(0);
    for c in target.components() {
        match c {
            Component::ParentDir => match depth.checked_sub(1) {
                Some(d) => depth = d,
                None => return true,
            },
            Component::Normal(_) => depth = depth.saturating_add(1),
            _ => {}
        }
    }
    false
}

/// Checks an uploaded module tarball, streaming (nothing is held in memory but one
/// buffer): a gzip'd tar with at least one `.tf` file at its root, no entry escaping the
/// archive (absolute paths, `..`, links pointing outside), no device or fifo entries, and
/// within `max_unpacked` bytes (all entries together,
/// [`RegistryOptions::max_unpacked_bytes`](crate::RegistryOptions)), [`MAX_ENTRIES`] and
/// [`MAX_RATIO`]. The error names the offending entry or the limit. Blocking: callers run
/// it off the async workers.
pub(crate) fn ingest(path: &Path, max_unpacked: u64) -> Result<(), String> {
    let mut root_tf = false;
    super::tarball::walk(path, max_unpacked, |_, seen| {
        if seen.root_file && seen.path.extension().is_some_and(|e| e == "tf") {
            root_tf = true;
        }
        Ok(0)
    })?;
    if !root_tf {
        return Err("no Terraform configuration (.tf) files at the root of the archive; the module files must not be inside a folder".into());
    }
    Ok(())
}

/// Refuses an entry whose path or link target leaves the archive, or that is a device,
/// fifo or other special file.
pub(crate) fn check_entry<R: Read>(
    entry: &tar::Entry<'_, R>,
    p: &Path,
    shown: &str,
) -> Result<(), String> {
    if let Some(why) = escaping_path(p) {
        return Err(format!("archive entry {shown:?} is {why}: refused"));
    }
    let kind = entry.header().entry_type();
    match kind {
        EntryType::Regular | EntryType::Continuous | EntryType::Directory => Ok(()),
        EntryType::XHeader | EntryType::XGlobalHeader => Ok(()),
        EntryType::Symlink | EntryType::Link => {
            let target = entry
                .link_name()
                .map_err(|e| format!("bad link target of {shown:?}: {e}"))?
                .unwrap_or_default()
                .into_owned();
            // A hard link's target is a path from the archive root; a symlink's is read
            // from the link's own folder.
            let escapes = if kind == EntryType::Link {
                escaping_path(&target).is_some()
            } else {
                link_escapes(p, &target)
            };
            if escapes {
                return Err(format!(
                    "archive entry {shown:?} links to {:?}, outside the archive: refused",
                    target.display().to_string()
                ));
            }
            Ok(())
        }
        other => Err(format!(
            "archive entry {shown:?} is a {} entry (device, fifo or other special file): refused",
            entry_kind(other)
        )),
    }
}

/// Streams one entry's data through a counter, never past the size and ratio limits;
/// returns the bytes unpacked so far, this entry included.
pub(crate) fn count_data<R: Read>(
    entry: &mut R,
    mut unpacked: u64,
    packed: u64,
    max_unpacked: u64,
    shown: &str,
) -> Result<u64, String> {
    let budget = max_unpacked.saturating_sub(unpacked).saturating_add(1);
    let mut limited = entry.take(budget);
    let mut buf = [0u8; 64 * 1024];
    loop {
        let n = limited
            .read(&mut buf)
            .map_err(|e| format!("archive is truncated: {e}"))?;
        if n == 0 {
            return Ok(unpacked);
        }
        unpacked = unpacked.saturating_add(n as u64);
        if unpacked > max_unpacked {
            return Err(format!(
                "archive unpacks to more than {} (unpacked size limit), at entry {shown:?}",
                size_text(max_unpacked)
            ));
        }
        if unpacked > RATIO_FLOOR_BYTES && unpacked / packed > MAX_RATIO {
            return Err(format!(
                "archive unpacks to more than {MAX_RATIO} times its compressed size (compression ratio limit), at entry {shown:?}"
            ));
        }
    }
}

/// A byte count as the limit errors say it: whole MiB when it is one, else bytes.
fn size_text(n: u64) -> String {
    const MIB: u64 = 1024 * 1024;
    if n >= MIB && n % MIB == 0 {
        format!("{} MiB", n / MIB)
    } else {
        format!("{n} bytes")
    }
}

fn entry_kind(t: EntryType) -> &'static str {
    match t {
        EntryType::Char => "character device",
        EntryType::Block => "block device",
        EntryType::Fifo => "fifo",
        EntryType::GNUSparse => "sparse file",
        _ => "special",
    }
}

/// Records a completed tarball upload and the outcome of its ingestion (None: still
/// `pending`), and uses up the upload token.
pub(crate) fn record_upload(
    conn: &mut Connection,
    version_id: i64,
    sha: &str,
    token: &str,
    ingested: Option<Result<(), String>>,
) -> StoreResult<()> {
    let (status, error) = match ingested {
        None => ("pending", None),
        Some(Ok(())) => ("ok", None),
        Some(Err(e)) => ("reg_ingress_failed", Some(e)),
    };
    record_upload_as(conn, version_id, sha, token, status, error)
}

/// [`record_upload`] with the status to record given (`reg_ingressing` while the
/// ingestion model of `--ingest-delay` holds a checked archive back).
pub(crate) fn record_upload_as(
    conn: &mut Connection,
    version_id: i64,
    sha: &str,
    token: &str,
    status: &str,
    error: Option<String>,
) -> StoreResult<()> {
    let tx = conn.transaction()?;
    // `blob IS NULL`: an archive, once attached, is never replaced.
    let n = tx.execute(
        "UPDATE module_versions SET blob=?2, status=?3, error=?4, updated_at=?5 WHERE id=?1 AND blob IS NULL",
        params![version_id, sha, status, error, now()],
    )?;
    if n == 0 {
        let exists = tx
            .query_row(
                "SELECT 1 FROM module_versions WHERE id=?1",
                [version_id],
                |_| Ok(()),
            )
            .optional()?
            .is_some();
        return Err(if exists {
            StoreError::Conflict("this module version already has its archive".into())
        } else {
            StoreError::NotFound("the module version of this upload was deleted".into())
        });
    }
    uploads::consume(&tx, token)?;
    tx.commit()?;
    Ok(())
}

/// Versions installable by Terraform: (module namespace/name/provider) -> `ok`, not revoked.
pub(crate) fn installable(
    conn: &Connection,
    ns: &str,
    name: &str,
    provider: &str,
) -> StoreResult<Option<Vec<(String, String)>>> {
    let Some(m) = conn
        .query_row(
            &format!(
                "SELECT {MOD_COLS} FROM modules WHERE namespace=?1 AND name=?2 AND provider=?3"
            ),
            params![ns, name, provider],
            module_row,
        )
        .optional()?
    else {
        return Ok(None);
    };
    Ok(Some(
        versions_of(conn, m.id)?
            .into_iter()
            .filter(|v| v.status == "ok" && !v.revoked)
            .filter_map(|v| v.blob.map(|b| (v.version, b)))
            .collect(),
    ))
}

/// The `no-code` flag of a module, set at creation (modules.md "Create a Module":
/// `data.attributes.no-code`).
pub(crate) fn set_no_code(conn: &Connection, m: &Module, no_code: bool) -> StoreResult<()> {
    conn.execute(
        "UPDATE modules SET no_code=?1 WHERE id=?2",
        rusqlite::params![no_code, m.id],
    )?;
    Ok(())
}

pub(crate) fn no_code(conn: &Connection, m: &Module) -> StoreResult<bool> {
    Ok(
        conn.query_row("SELECT no_code FROM modules WHERE id=?1", [m.id], |r| {
            r.get(0)
        })?,
    )
}

/// The installable versions of a module as records (for the module registry protocol's
/// listing, which carries each version's deprecation): `ok`, not revoked, uploaded.
pub(crate) fn installable_versions(
    conn: &Connection,
    ns: &str,
    name: &str,
    provider: &str,
) -> StoreResult<Option<(Module, Vec<Version>)>> {
    let Some(m) = conn
        .query_row(
            &format!(
                "SELECT {MOD_COLS} FROM modules WHERE namespace=?1 AND name=?2 AND provider=?3"
            ),
            params![ns, name, provider],
            module_row,
        )
        .optional()?
    else {
        return Ok(None);
    };
    let versions = versions_of(conn, m.id)?
        .into_iter()
        .filter(|v| v.status == "ok" && !v.revoked && v.blob.is_some())
        .collect();
    Ok(Some((m, versions)))
}

/// Ends the ingestion of version `version_id`: `reg_ingressing` becomes `ok` (nothing
/// else changes; a version deleted meanwhile is left alone). Whether it changed.
pub(crate) fn finish_ingesting(conn: &Connection, version_id: i64) -> StoreResult<bool> {
    let n = conn.execute(
        "UPDATE module_versions SET status='ok', updated_at=?2 WHERE id=?1 AND status='reg_ingressing'",
        params![version_id, now()],
    )?;
    Ok(n > 0)
}

/// Ends every ingestion a stopped registry left behind (their archives passed the check
/// before they were recorded as `reg_ingressing`). How many.
pub(crate) fn finish_all_ingesting(conn: &Connection) -> StoreResult<usize> {
    Ok(conn.execute(
        "UPDATE module_versions SET status='ok', updated_at=?1 WHERE status='reg_ingressing' AND blob IS NOT NULL",
        params![now()],
    )?)
}
