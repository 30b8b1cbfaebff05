//! Provider records: providers, versions (key id, protocols, SHA256SUMS and signature
//! blobs) and platforms (declared sha256, zip blob). A zip whose digest differs from the
//! declared shasum is refused.
//!
//! Imports `db` and the store's `uploads` only; no HTTP types.

use rusqlite::{params, Connection, OptionalExtension};

use super::uploads::{self, UploadKind};
use super::{StoreError, StoreResult};
use crate::db::now;

pub(crate) struct Provider {
    pub id: i64,
    pub org: String,
    pub registry: String,
    pub namespace: String,
    pub name: String,
    pub created_at: String,
    pub updated_at: String,
}

pub(crate) struct PVersion {
    pub id: i64,
    pub version: String,
    pub key_id: String,
    pub protocols: Vec<String>,
    pub shasums_blob: Option<String>,
    pub shasums_sig_blob: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

pub(crate) struct Platform {
    pub id: i64,
    pub os: String,
    pub arch: String,
    pub filename: String,
    pub shasum: String,
    pub blob: Option<String>,
}

/// A platform to add to a version (already validated by the caller).
pub(crate) struct NewPlatform<'a> {
    pub os: &'a str,
    pub arch: &'a str,
    pub filename: &'a str,
    pub shasum: &'a str,
}

const P_COLS: &str = "id, org, registry_name, namespace, name, created_at, updated_at";
const V_COLS: &str =
    "id, version, key_id, protocols, shasums_blob, shasums_sig_blob, created_at, updated_at";
const PL_COLS: &str = "id, os, arch, filename, shasum, blob";

fn p_row(r: &rusqlite::Row) -> rusqlite::Result<Provider> {
    Ok(Provider {
        id: r.get(0)?,
        org: r.get(1)?,
        registry: r.get(2)?,
        namespace: r.get(3)?,
        name: r.get(4)?,
        created_at: r.get(5)?,
        updated_at: r.get(6)?,
    })
}

fn v_row(r: &rusqlite::Row) -> rusqlite::Result<PVersion> {
    let protocols: String = r.get(3)?;
    Ok(PVersion {
        id: r.get(0)?,
        version: r.get(1)?,
        key_id: r.get(2)?,
        protocols: serde_json::from_str(&protocols).unwrap_or_default(),
        shasums_blob: r.get(4)?,
        shasums_sig_blob: r.get(5)?,
        created_at: r.get(6)?,
        updated_at: r.get(7)?,
    })
}

fn pl_row(r: &rusqlite::Row) -> rusqlite::Result<Platform> {
    Ok(Platform {
        id: r.get(0)?,
        os: r.get(1)?,
        arch: r.get(2)?,
        filename: r.get(3)?,
        shasum: r.get(4)?,
        blob: r.get(5)?,
    })
}

/// The providers of an organization, by registry, namespace and name.
pub(crate) fn list(conn: &Connection, org: &str) -> StoreResult<Vec<Provider>> {
    let sql = format!(
        "SELECT {P_COLS} FROM providers WHERE org=?1 ORDER BY registry_name, namespace, name"
    );
    super::rows(conn, &sql, [org], p_row)
}

pub(crate) fn find(
    conn: &Connection,
    org: &str,
    registry: &str,
    ns: &str,
    name: &str,
) -> StoreResult<Provider> {
    super::one(
        conn,
        &format!("SELECT {P_COLS} FROM providers WHERE org=?1 AND registry_name=?2 AND namespace=?3 AND name=?4"),
        params![org, registry, ns, name],
        p_row,
        || format!("provider {registry}/{ns}/{name} not found in organization {org:?}"),
    )
}

/// A private provider by namespace/name, for the consumer protocol.
pub(crate) fn find_private(
    conn: &Connection,
    ns: &str,
    name: &str,
) -> StoreResult<Option<Provider>> {
    Ok(conn
        .query_row(
            &format!("SELECT {P_COLS} FROM providers WHERE registry_name='private' AND namespace=?1 AND name=?2"),
            params![ns, name],
            p_row,
        )
        .optional()?)
}

pub(crate) fn create(
    conn: &Connection,
    org: &str,
    registry: &str,
    ns: &str,
    name: &str,
) -> StoreResult<Provider> {
    let n = conn.execute(
        "INSERT OR IGNORE INTO providers (org, registry_name, namespace, name, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
        params![org, registry, ns, name, now()],
    )?;
    if n == 0 {
        return Err(StoreError::Invalid("Name has already been taken".into()));
    }
    find(conn, org, registry, ns, name)
}

pub(crate) fn delete(conn: &Connection, p: &Provider) -> StoreResult<()> {
    conn.execute("DELETE FROM providers WHERE id=?1", [p.id])?;
    Ok(())
}

pub(crate) fn versions_of(conn: &Connection, provider_id: i64) -> StoreResult<Vec<PVersion>> {
    let sql = format!("SELECT {V_COLS} FROM provider_versions WHERE provider_id=?1 ORDER BY id");
    super::rows(conn, &sql, [provider_id], v_row)
}

pub(crate) fn find_version(
    conn: &Connection,
    p: &Provider,
    version: &str,
) -> StoreResult<PVersion> {
    super::one(
        conn,
        &format!("SELECT {V_COLS} FROM provider_versions WHERE provider_id=?1 AND version=?2"),
        params![p.id, version],
        v_row,
        || {
            format!(
                "version {version} of provider {}/{} not found",
                p.namespace, p.name
            )
        },
    )
}

/// Adds a version to a private provider; the key id is stored upper-case.
pub(crate) fn create_version(
    conn: &Connection,
    p: &Provider,
    version: &str,
    key_id: &str,
    protocols: &[String],
) -> StoreResult<PVersion> {
    if p.registry != "private" {
        return Err(StoreError::Invalid(
            "versions can only be added to private providers".into(),
        ));
    }
    let n = conn.execute(
        "INSERT OR IGNORE INTO provider_versions (provider_id, version, key_id, protocols, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
        params![p.id, version, key_id.to_ascii_uppercase(), serde_json::to_string(protocols).unwrap_or_default(), now()],
    )?;
    if n == 0 {
        return Err(StoreError::Invalid("Version has already been taken".into()));
    }
    find_version(conn, p, version)
}

pub(crate) fn delete_version(conn: &Connection, v: &PVersion) -> StoreResult<()> {
    conn.execute("DELETE FROM provider_versions WHERE id=?1", [v.id])?;
    Ok(())
}

pub(crate) fn platforms_of(conn: &Connection, version_id: i64) -> StoreResult<Vec<Platform>> {
    let sql = format!("SELECT {PL_COLS} FROM platforms WHERE version_id=?1 ORDER BY os, arch");
    super::rows(conn, &sql, [version_id], pl_row)
}

pub(crate) fn find_platform(
    conn: &Connection,
    v: &PVersion,
    os: &str,
    arch: &str,
) -> StoreResult<Platform> {
    super::one(
        conn,
        &format!("SELECT {PL_COLS} FROM platforms WHERE version_id=?1 AND os=?2 AND arch=?3"),
        params![v.id, os, arch],
        pl_row,
        || format!("platform {os}_{arch} of version {} not found", v.version),
    )
}

/// Adds a platform; its shasum is stored lower-case.
pub(crate) fn create_platform(
    conn: &Connection,
    v: &PVersion,
    new: &NewPlatform<'_>,
) -> StoreResult<Platform> {
    let n = conn.execute(
        "INSERT OR IGNORE INTO platforms (version_id, os, arch, filename, shasum) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![v.id, new.os, new.arch, new.filename, new.shasum.to_ascii_lowercase()],
    )?;
    if n == 0 {
        return Err(StoreError::Invalid(
            "Platform has already been taken for this version".into(),
        ));
    }
    find_platform(conn, v, new.os, new.arch)
}

pub(crate) fn delete_platform(conn: &Connection, pl: &Platform) -> StoreResult<()> {
    conn.execute("DELETE FROM platforms WHERE id=?1", [pl.id])?;
    Ok(())
}

/// Records a completed SHA256SUMS, signature or zip upload and uses up its token; a file
/// already attached is never replaced (conflict). A zip
/// whose sha256 differs from the platform's declared shasum is refused and the platform
/// stays not uploaded.
pub(crate) fn record_upload(
    conn: &mut Connection,
    kind: UploadKind,
    target: i64,
    sha: &str,
    token: &str,
) -> StoreResult<()> {
    let tx = conn.transaction()?;
    let n = match kind {
        UploadKind::Shasums => tx.execute(
            "UPDATE provider_versions SET shasums_blob=?2, updated_at=?3 WHERE id=?1 AND shasums_blob IS NULL",
            params![target, sha, now()],
        )?,
        UploadKind::ShasumsSig => tx.execute(
            "UPDATE provider_versions SET shasums_sig_blob=?2, updated_at=?3 WHERE id=?1 AND shasums_sig_blob IS NULL",
            params![target, sha, now()],
        )?,
        UploadKind::Binary => {
            let declared: Option<String> = tx
                .query_row("SELECT shasum FROM platforms WHERE id=?1", [target], |r| {
                    r.get(0)
                })
                .optional()?;
            match declared {
                Some(d) if d.eq_ignore_ascii_case(sha) => tx.execute(
                    "UPDATE platforms SET blob=?2 WHERE id=?1 AND blob IS NULL",
                    params![target, sha],
                )?,
                Some(d) => {
                    return Err(StoreError::Invalid(format!(
                        "uploaded file has sha256 {sha} but the platform declares shasum {d}"
                    )))
                }
                None => 0,
            }
        }
        UploadKind::Module | UploadKind::Component | UploadKind::TestConfig => 0,
    };
    if n == 0 {
        let table = match kind {
            UploadKind::Binary => "platforms",
            _ => "provider_versions",
        };
        let exists = tx
            .query_row(
                &format!("SELECT 1 FROM {table} WHERE id=?1"),
                [target],
                |_| Ok(()),
            )
            .optional()?
            .is_some();
        return Err(if exists && kind != UploadKind::Module {
            StoreError::Conflict("this file was already uploaded; it cannot be replaced".into())
        } else {
            StoreError::NotFound("the target of this upload was deleted".into())
        });
    }
    uploads::consume(&tx, token)?;
    tx.commit()?;
    Ok(())
}

/// The most entries a provider zip may hold (a release zip holds one binary and maybe a
/// licence or two).
pub(crate) const MAX_ZIP_ENTRIES: usize = 1_000;

/// Checks an uploaded platform zip's directory (nothing is decompressed): a zip archive,
/// at most [`MAX_ZIP_ENTRIES`] entries, none named with an absolute path or `..` (Terraform
/// would refuse to unpack it, or worse). The error names the offending entry. Blocking:
/// callers run it off the async workers.
pub(crate) fn check_zip(path: &std::path::Path) -> Result<(), String> {
    let file = std::fs::File::open(path).map_err(|e| format!("cannot read upload: {e}"))?;
    let mut zip =
        zip::ZipArchive::new(file).map_err(|e| format!("the upload is not a zip archive: {e}"))?;
    if zip.len() > MAX_ZIP_ENTRIES {
        return Err(format!(
            "the zip has {} entries, more than {MAX_ZIP_ENTRIES} (entry count limit)",
            zip.len()
        ));
    }
    for i in 0..zip.len() {
        let entry = zip
            .by_index_raw(i)
            .map_err(|e| format!("the zip is damaged: {e}"))?;
        let name = entry.name().to_string();
        let bad = name.starts_with('/')
            || name.starts_with('\\')
            || name.as_bytes().get(1) == Some(&b':')
            || name.split(['/', '\\']).any(|c| c == "..")
            || entry.enclosed_name().is_none();
        if bad {
            return Err(format!(
                "zip entry {name:?} has an absolute path or '..': refused"
            ));
        }
    }
    Ok(())
}
